//! `-m multiport`: up to 15 ports or ranges (a range takes two slots), xt_multiport rev 1.

use super::{IPPROTO_DCCP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE};
use crate::ruleset::{PortRange, RuleSpec};

/// XT_MULTI_PORTS: the slots in the kernel's structure.
pub const MAX_SLOTS: usize = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultiportDir {
    Source,
    Destination,
    Either,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MultiportMatch {
    pub inv: bool,
    pub dir: MultiportDir,
    pub ports: Vec<PortRange>,
}

impl MultiportMatch {
    pub fn slots(&self) -> usize {
        self.ports
            .iter()
            .map(|r| if r.lo == r.hi { 1 } else { 2 })
            .sum()
    }

    pub fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        let ok = matches!(
            spec.exact_proto(),
            Some(IPPROTO_TCP | IPPROTO_UDP | IPPROTO_UDPLITE | IPPROTO_SCTP | IPPROTO_DCCP)
        );
        if !ok {
            return Err(
                "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'".into(),
            );
        }
        if self.ports.is_empty() || self.slots() > MAX_SLOTS {
            return Err(
                "multiport: too many ports specified (at most 15, a range counts as 2)".into(),
            );
        }
        Ok(())
    }
}

impl MultiportMatch {
    /// xt_multiport rev 1: any listed port or range, on the chosen side(s).
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let Some((sp, dp)) = pkt.ports() else {
            return false;
        };
        let hit = self.ports.iter().any(|r| match self.dir {
            MultiportDir::Source => r.contains(sp),
            MultiportDir::Destination => r.contains(dp),
            MultiportDir::Either => r.contains(sp) || r.contains(dp),
        });
        hit != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for MultiportMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "multiport";
    const REVISION: u8 = 1;
    fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        MultiportMatch::validate(self, spec)
    }
}

impl crate::ruleset::ext::PacketMatch for MultiportMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, tcp, view};

    #[test]
    fn lists_ranges_sides() {
        let p = ipv4(6, [1, 1, 1, 1], [2, 2, 2, 2], &tcp(1000, 8080, 2, &[], &[]));
        let m = |dir, inv| MultiportMatch {
            inv,
            dir,
            ports: vec![PortRange::single(22), PortRange { lo: 8000, hi: 8080 }],
        };
        assert!(m(MultiportDir::Destination, false).matches(&view(&p)));
        assert!(!m(MultiportDir::Source, false).matches(&view(&p)));
        assert!(m(MultiportDir::Either, false).matches(&view(&p)));
        assert!(!m(MultiportDir::Destination, true).matches(&view(&p)));
        let q = ipv4(6, [1, 1, 1, 1], [2, 2, 2, 2], &tcp(1000, 8081, 2, &[], &[]));
        assert!(!m(MultiportDir::Destination, false).matches(&view(&q)));
        let icmp = ipv4(1, [1, 1, 1, 1], [2, 2, 2, 2], &[8, 0, 0, 0]);
        assert!(
            !m(MultiportDir::Either, true).matches(&view(&icmp)),
            "no ports, no match even inverted"
        );
    }

    #[test]
    fn ipv6_ports_and_later_fragments() {
        use crate::ruleset::packet::tests::{ipv6, opts_header};
        let mut pl = opts_header(6);
        pl.extend(tcp(40000, 443, 2, &[], &[]));
        let p = ipv6(0, "::1", "::2", &pl);
        let m = |inv| MultiportMatch {
            inv,
            dir: MultiportDir::Destination,
            ports: vec![PortRange { lo: 80, hi: 80 }, PortRange { lo: 440, hi: 450 }],
        };
        assert!(m(false).matches(&view(&p)));
        assert!(!m(true).matches(&view(&p)));
        let f = ipv6(
            44,
            "::1",
            "::2",
            &[6, 0, 0, 8, 0, 0, 0, 1, 0x9c, 0x40, 1, 0xbb],
        );
        assert!(!m(false).matches(&view(&f)) && !m(true).matches(&view(&f)));
    }
}
