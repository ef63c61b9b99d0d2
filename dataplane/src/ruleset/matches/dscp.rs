//! `-m dscp` and `-m tos`: the DS field / TOS byte of the IP header.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DscpMatch {
    pub inv: bool,
    /// The 6-bit DSCP value.
    pub dscp: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TosMatch {
    pub inv: bool,
    pub value: u8,
    pub mask: u8,
}

impl DscpMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        (pkt.tos >> 2 == self.dscp) != self.inv
    }
}

impl TosMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        (pkt.tos & self.mask == self.value) != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for DscpMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "dscp";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::PacketMatch for DscpMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

impl crate::ruleset::ext::MatchExt for TosMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "tos";
    const REVISION: u8 = 1;
}

impl crate::ruleset::ext::PacketMatch for TosMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn ds_field_and_tos_mask() {
        let mut p = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]);
        p[1] = 0xb9; // DSCP 46 (EF), ECN 1
        assert!(DscpMatch {
            inv: false,
            dscp: 46
        }
        .matches(&view(&p)));
        assert!(!DscpMatch {
            inv: false,
            dscp: 10
        }
        .matches(&view(&p)));
        assert!(DscpMatch {
            inv: true,
            dscp: 10
        }
        .matches(&view(&p)));
        assert!(TosMatch {
            inv: false,
            value: 0xb8,
            mask: 0xfc
        }
        .matches(&view(&p)));
        assert!(!TosMatch {
            inv: false,
            value: 0xb8,
            mask: 0xff
        }
        .matches(&view(&p)));
    }

    /// ip6t: the traffic class (`ipv6_get_dsfield`) in place of the TOS byte.
    #[test]
    fn ipv6_traffic_class() {
        use crate::ruleset::packet::tests::ipv6;
        let mut p = ipv6(17, "::1", "::2", &[0, 1, 0, 2, 0, 8, 0, 0]);
        // Traffic class 0xb9: DSCP 46 (EF), ECN 1, split across the first two bytes.
        p[0] = 0x6b;
        p[1] = 0x90;
        let v = view(&p);
        assert!(DscpMatch {
            inv: false,
            dscp: 46
        }
        .matches(&v));
        assert!(!DscpMatch {
            inv: true,
            dscp: 46
        }
        .matches(&v));
        assert!(!DscpMatch {
            inv: false,
            dscp: 45
        }
        .matches(&v));
        let tos = |value, mask, inv| TosMatch { inv, value, mask };
        assert!(tos(0xb8, 0xfc, false).matches(&v));
        assert!(tos(0x01, 0x03, false).matches(&v));
        assert!(!tos(0xb9, 0xff, true).matches(&v));
        // A non-first fragment has its traffic class too.
        let mut f = ipv6(44, "::1", "::2", &[17, 0, 0, 8, 0, 0, 0, 1, 0xaa]);
        f[0] = 0x6b;
        f[1] = 0x90;
        assert!(DscpMatch {
            inv: false,
            dscp: 46
        }
        .matches(&view(&f)));
    }
}
