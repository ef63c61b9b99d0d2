//! `-m udp`: source and destination ports (xt_tcpudp).

use crate::ruleset::{Inv, PortRange};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UdpMatch {
    pub sport: Option<Inv<PortRange>>,
    pub dport: Option<Inv<PortRange>>,
}

impl UdpMatch {
    /// xt_tcpudp for UDP: ports of a first fragment with at least the 8-byte header.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let Some(l4) = pkt.l4.filter(|l| pkt.proto == 17 && l.len() >= 8) else {
            return false;
        };
        let (sp, dp) = (
            u16::from_be_bytes([l4[0], l4[1]]),
            u16::from_be_bytes([l4[2], l4[3]]),
        );
        self.sport.is_none_or(|r| r.apply(r.val.contains(sp)))
            && self.dport.is_none_or(|r| r.apply(r.val.contains(dp)))
    }
}

impl crate::ruleset::ext::MatchExt for UdpMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "udp";
    const REVISION: u8 = 0;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "udp", &[super::IPPROTO_UDP])
    }
}

impl crate::ruleset::ext::PacketMatch for UdpMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn ports_with_edges() {
        let p = ipv4(
            17,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &[0x30, 0x39, 0, 53, 0, 8, 0, 0],
        );
        let d = |lo, hi, inv| UdpMatch {
            sport: None,
            dport: Some(Inv::new(inv, PortRange { lo, hi })),
        };
        assert!(d(53, 53, false).matches(&view(&p)));
        assert!(d(53, 100, false).matches(&view(&p)));
        assert!(!d(54, 100, false).matches(&view(&p)));
        assert!(!d(1, 52, false).matches(&view(&p)));
        assert!(d(1, 52, true).matches(&view(&p)));
        let short = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 7]);
        assert!(!UdpMatch::default().matches(&view(&short)));
    }

    #[test]
    fn ipv6_ports_and_later_fragments() {
        use crate::ruleset::packet::tests::{ipv6, opts_header};
        let mut pl = opts_header(17);
        pl.extend_from_slice(&[0x13, 0x88, 0, 53, 0, 8, 0, 0]);
        let p = ipv6(60, "::1", "::2", &pl);
        let r = |lo, hi, inv| Some(Inv::new(inv, PortRange { lo, hi }));
        let m = |sport, dport| UdpMatch { sport, dport };
        assert!(m(r(5000, 5000, false), r(53, 53, false)).matches(&view(&p)));
        assert!(!m(None, r(53, 53, true)).matches(&view(&p)));
        let f = ipv6(
            44,
            "::1",
            "::2",
            &[17, 0, 0, 8, 0, 0, 0, 1, 0x13, 0x88, 0, 53],
        );
        assert!(!m(None, r(53, 53, false)).matches(&view(&f)));
        assert!(!m(None, r(54, 54, true)).matches(&view(&f)));
        let short = ipv6(17, "::1", "::2", &[0x13, 0x88, 0, 53]);
        assert!(!m(None, None).matches(&view(&short)));
    }
}
