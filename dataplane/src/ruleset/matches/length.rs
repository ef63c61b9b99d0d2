//! `-m length`: the IP total length within an inclusive range (xt_length).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthMatch {
    pub inv: bool,
    pub min: u16,
    pub max: u16,
}

impl LengthMatch {
    /// The IP total length, as xt_length reads it.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        (self.min..=self.max).contains(&pkt.total_len) != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for LengthMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "length";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::PacketMatch for LengthMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn total_length_range() {
        let p = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 80]); // 100 bytes
        let m = |min, max, inv| LengthMatch { inv, min, max };
        assert!(m(100, 100, false).matches(&view(&p)));
        assert!(m(0, 100, false).matches(&view(&p)));
        assert!(!m(101, 65535, false).matches(&view(&p)));
        assert!(!m(0, 99, false).matches(&view(&p)));
        assert!(m(0, 99, true).matches(&view(&p)));
    }

    /// length_mt6: payload length plus the 40-byte header (extension headers count).
    #[test]
    fn ipv6_payload_plus_header() {
        use crate::ruleset::packet::tests::{ipv6, opts_header};
        let mut pl = opts_header(17);
        pl.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
        let mut p = ipv6(0, "::1", "::2", &pl);
        p.extend_from_slice(&[0; 6]); // link padding is not counted
        let m = |min, max, inv| LengthMatch { inv, min, max };
        assert!(m(56, 56, false).matches(&view(&p)));
        assert!(!m(57, 100, false).matches(&view(&p)));
        assert!(m(57, 100, true).matches(&view(&p)));
    }
}
