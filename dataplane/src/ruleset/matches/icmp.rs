//! `-m icmp --icmp-type`: ICMP type and code range (ip_tables' icmp match).

/// Type 255 is iptables' wildcard `any`.
pub const ICMP_ANY: u8 = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpMatch {
    pub inv: bool,
    pub icmp_type: u8,
    pub code_min: u8,
    pub code_max: u8,
}

impl IcmpMatch {
    pub fn any() -> IcmpMatch {
        IcmpMatch {
            inv: false,
            icmp_type: ICMP_ANY,
            code_min: 0,
            code_max: 255,
        }
    }
}

impl IcmpMatch {
    /// ip_tables' icmp match: type (255 = any) and code range, negatable.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let Some((t, c)) = pkt.icmp_type_code() else {
            return false;
        };
        let hit = self.icmp_type == ICMP_ANY
            || (t == self.icmp_type && (self.code_min..=self.code_max).contains(&c));
        hit != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for IcmpMatch {
    const NAME: &'static str = "icmp";
    const REVISION: u8 = 0;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "icmp", &[super::IPPROTO_ICMP])
    }
}

impl crate::ruleset::ext::PacketMatch for IcmpMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn type_code_and_any() {
        let port_unreach = ipv4(1, [1, 1, 1, 1], [2, 2, 2, 2], &[3, 3, 0, 0, 0, 0, 0, 0]);
        let m = |t, lo, hi, inv| IcmpMatch {
            inv,
            icmp_type: t,
            code_min: lo,
            code_max: hi,
        };
        assert!(m(3, 0, 255, false).matches(&view(&port_unreach)));
        assert!(m(3, 3, 3, false).matches(&view(&port_unreach)));
        assert!(!m(3, 4, 4, false).matches(&view(&port_unreach)));
        assert!(!m(8, 0, 255, false).matches(&view(&port_unreach)));
        assert!(m(8, 0, 255, true).matches(&view(&port_unreach)));
        assert!(IcmpMatch::any().matches(&view(&port_unreach)));
        let tcp = ipv4(6, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 20]);
        assert!(!IcmpMatch::any().matches(&view(&tcp)));
    }
}
