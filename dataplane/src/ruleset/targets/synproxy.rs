//! `-j SYNPROXY` (xt_SYNPROXY; INPUT and FORWARD of any table that has them, `-p tcp`):
//! the rule's options, as `struct xt_synproxy_info` holds them. The packet work (SYN
//! cookies, the three steps, sequence adjustment) lives in `pipeline::synproxy`.

use crate::ruleset::matches::IPPROTO_TCP;
use crate::ruleset::{Hook, RuleSpec, Usable};

/// `XT_SYNPROXY_OPT_*`: the option bits of the rule (and of a parsed TCP header).
pub mod opt {
    pub const MSS: u8 = 0x01;
    pub const WSCALE: u8 = 0x02;
    pub const SACK_PERM: u8 = 0x04;
    pub const TIMESTAMP: u8 = 0x08;
    pub const ECN: u8 = 0x10;
}

/// `--mss N --wscale N --sack-perm --timestamp --ecn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SynproxyTarget {
    /// `opt::*` bits of the options given.
    pub options: u8,
    /// `--wscale` (libxt_SYNPROXY keeps the low 8 bits of the number).
    pub wscale: u8,
    /// `--mss` (the low 16 bits of the number).
    pub mss: u16,
}

impl SynproxyTarget {
    pub fn has(&self, bit: u8) -> bool {
        self.options & bit != 0
    }
}

impl crate::ruleset::ext::TargetExt for SynproxyTarget {
    const NAME: &'static str = "SYNPROXY";
    const REVISION: u8 = 0;
    /// A SYN is answered and consumed, an ACK with a good cookie goes on.
    const TERMINAL: bool = false;

    /// xt_SYNPROXY's `.hooks`: LOCAL_IN and FORWARD, no `.table` (mangle, nat INPUT and
    /// security have them too).
    fn usable(&self) -> Usable {
        Usable::hooks(&[Hook::Input, Hook::Forward])
    }

    /// xt_check_target's `.proto = IPPROTO_TCP` (not inverted): the kernel says only
    /// EINVAL, as the other refusals of the rule.
    fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        if spec.exact_proto() != Some(IPPROTO_TCP) {
            return Err("SYNPROXY target: only valid for protocol 6".into());
        }
        Ok(())
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        cx.synproxy(self)
    }
}
