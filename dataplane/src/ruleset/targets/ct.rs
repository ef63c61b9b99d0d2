//! `-j CT` (raw only): per-connection settings before conntrack sees the packet
//! (xt_CT). `--notrack` is the modern spelling of `-j NOTRACK`.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtTarget {
    pub notrack: bool,
    pub helper: Option<String>,
    pub zone: Option<u16>,
    /// Conntrack events to deliver (bit i = `EVENT_NAMES[i]`); 0 = all.
    pub ctevents: u16,
    /// Expectation events to deliver (bit i = `EXP_EVENT_NAMES[i]`); 0 = all. nfdp
    /// sends no expectation events, so this only round-trips.
    pub expevents: u8,
}

/// `--expevents` names (libxt_CT's `exp_event_tbl`: the kernel's `IPEXP_NEW` alone).
pub const EXP_EVENT_NAMES: [&str; 1] = ["new"];

/// `--ctevents` names in the order iptables prints them.
pub const EVENT_NAMES: [&str; 10] = [
    "new",
    "related",
    "destroy",
    "reply",
    "assured",
    "protoinfo",
    "helper",
    "mark",
    "natseqinfo",
    "secmark",
];

/// `-j NOTRACK`: the old spelling of `-j CT --notrack` (listed as CT by iptables-nft).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotrackTarget;

impl crate::ruleset::ext::TargetExt for NotrackTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "NOTRACK";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Raw)
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        cx.set_notrack();
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

impl crate::ruleset::ext::TargetExt for CtTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "CT";
    const REVISION: u8 = 2;
    const TERMINAL: bool = false;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Raw)
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        if self.notrack {
            cx.set_notrack();
        }
        if self.helper.as_deref() == Some("ftp") {
            cx.set_helper(crate::conntrack::HELPER_FTP);
        }
        crate::ruleset::ext::TargetOutcome::Continue
    }
}
