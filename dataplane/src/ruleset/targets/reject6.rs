//! `-j REJECT` of ip6tables (ip6t_REJECT): drop and answer with an ICMPv6 destination
//! unreachable or a TCP RST. Its own type beside ipt_REJECT's: the kernel registers one
//! REJECT per family, with its own answer types.
//!
//! Per packet: the answer is not built yet (no ICMPv6 or IPv6 RST writer in the pipeline,
//! which drops IPv6 before any rule today): `run` drops without answering.

use crate::ruleset::matches::IPPROTO_TCP;
use crate::ruleset::RuleSpec;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reject6With {
    NoRoute,
    AdmProhibited,
    AddrUnreachable,
    #[default]
    PortUnreachable,
    TcpReset,
    PolicyFail,
    RejectRoute,
}

impl Reject6With {
    /// Canonical name (what ip6tables prints) and the alias it accepts (libip6t_REJECT's
    /// table; `tcp-reset` has none).
    pub const NAMES: [(Reject6With, &'static str, Option<&'static str>); 7] = [
        (Reject6With::NoRoute, "icmp6-no-route", Some("no-route")),
        (
            Reject6With::AdmProhibited,
            "icmp6-adm-prohibited",
            Some("adm-prohibited"),
        ),
        (
            Reject6With::AddrUnreachable,
            "icmp6-addr-unreachable",
            Some("addr-unreach"),
        ),
        (
            Reject6With::PortUnreachable,
            "icmp6-port-unreachable",
            Some("port-unreach"),
        ),
        (Reject6With::TcpReset, "tcp-reset", None),
        (
            Reject6With::PolicyFail,
            "icmp6-policy-fail",
            Some("policy-fail"),
        ),
        (
            Reject6With::RejectRoute,
            "icmp6-reject-route",
            Some("reject-route"),
        ),
    ];

    pub fn name(self) -> &'static str {
        Reject6With::NAMES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("icmp6-port-unreachable", |(_, n, _)| *n)
    }

    /// The ICMPv6 destination-unreachable code (RFC 4443), or None for a TCP reset.
    pub fn icmp6_code(self) -> Option<u8> {
        match self {
            Reject6With::NoRoute => Some(0),
            Reject6With::AdmProhibited => Some(1),
            Reject6With::AddrUnreachable => Some(3),
            Reject6With::PortUnreachable => Some(4),
            Reject6With::PolicyFail => Some(5),
            Reject6With::RejectRoute => Some(6),
            Reject6With::TcpReset => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reject6Target {
    pub with: Reject6With,
}

impl crate::ruleset::ext::TargetExt for Reject6Target {
    const NAME: &'static str = "REJECT";
    const REVISION: u8 = 0;
    const TERMINAL: bool = true;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;

    fn usable(&self) -> crate::ruleset::Usable {
        use crate::ruleset::Hook::*;
        crate::ruleset::Usable::in_table(
            crate::ruleset::TableKind::Filter,
            &[Input, Forward, Output],
        )
    }

    /// ip6t_REJECT's checkentry: a TCP reset needs `-p tcp` (not negated).
    fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        if self.with == Reject6With::TcpReset && spec.exact_proto() != Some(IPPROTO_TCP) {
            return Err("REJECT: --reject-with tcp-reset is only valid with -p tcp".into());
        }
        Ok(())
    }

    /// Drops without an answer (module doc).
    fn run(
        &self,
        _cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        crate::ruleset::ext::TargetOutcome::Verdict(crate::pipeline::Verdict::Drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes() {
        assert_eq!(Reject6With::default().name(), "icmp6-port-unreachable");
        assert_eq!(Reject6With::NoRoute.icmp6_code(), Some(0));
        assert_eq!(Reject6With::TcpReset.icmp6_code(), None);
        let reset = Reject6Target {
            with: Reject6With::TcpReset,
        };
        let mut spec = RuleSpec::default();
        assert!(crate::ruleset::ext::TargetExt::validate(&reset, &spec).is_err());
        spec.proto = Some(crate::ruleset::Inv::plain(IPPROTO_TCP));
        assert!(crate::ruleset::ext::TargetExt::validate(&reset, &spec).is_ok());
    }
}
