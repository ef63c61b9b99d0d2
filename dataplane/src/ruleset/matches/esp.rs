//! `-m esp [!] --espspi SPI[:SPI]` (xt_esp, `-p esp` required): the Security Parameters
//! Index of an ESP header within a range. The range type is shared with `-m ah` and
//! `-m ipcomp`, which test their own headers' SPI (CPI) the same way (`spi_match`).

pub const IPPROTO_ESP: u8 = 50;

/// An inclusive SPI range, negated or not. A range with `min > max` matches nothing (or
/// everything, negated), as the kernel's `spi_match` has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiRange {
    pub min: u32,
    pub max: u32,
    pub inv: bool,
}

impl SpiRange {
    /// Every SPI: what `-m esp` and `-m ah` test without an option.
    pub const ANY: SpiRange = SpiRange {
        min: 0,
        max: u32::MAX,
        inv: false,
    };

    pub fn matches(&self, spi: u32) -> bool {
        (self.min <= spi && spi <= self.max) != self.inv
    }
}

/// The field at `at..at + N` of the first fragment's transport header (`None` for a later
/// fragment or one too short: xt_esp and its kin drop such a packet, nfdp's rule just
/// does not match it).
pub(crate) fn header_field<const N: usize>(
    pkt: &crate::ruleset::packet::PacketView,
    at: usize,
) -> Option<[u8; N]> {
    pkt.l4?.get(at..at + N)?.try_into().ok()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EspMatch {
    pub spis: SpiRange,
}

impl EspMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        header_field::<4>(pkt, 0).is_some_and(|b| self.spis.matches(u32::from_be_bytes(b)))
    }
}

impl crate::ruleset::ext::MatchExt for EspMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "esp";
    const REVISION: u8 = 0;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "esp", &[IPPROTO_ESP])
    }
}

impl crate::ruleset::ext::PacketMatch for EspMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn spi_ranges() {
        let p = ipv4(
            IPPROTO_ESP,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &[0, 0, 1, 0xf4, 0, 0, 0, 1],
        );
        let m = |min, max, inv| EspMatch {
            spis: SpiRange { min, max, inv },
        };
        assert!(m(500, 500, false).matches(&view(&p)));
        assert!(m(0, u32::MAX, false).matches(&view(&p)));
        assert!(!m(100, 200, false).matches(&view(&p)));
        assert!(m(100, 200, true).matches(&view(&p)));
        assert!(
            !m(9, 5, false).matches(&view(&p)),
            "min > max matches nothing"
        );
        let short = ipv4(IPPROTO_ESP, [1, 1, 1, 1], [2, 2, 2, 2], &[0, 0, 1]);
        assert!(!m(0, u32::MAX, false).matches(&view(&short)));
    }

    /// ESP ends the IPv6 header walk: its header is the view's upper layer.
    #[test]
    fn ipv6_esp_after_extension_headers() {
        use crate::ruleset::packet::tests::{ipv6, opts_header};
        let mut pl = opts_header(50);
        pl.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 1]);
        let p = ipv6(60, "::1", "::2", &pl);
        let m = |min, max, inv| EspMatch {
            spis: SpiRange { min, max, inv },
        };
        assert!(m(256, 256, false).matches(&view(&p)));
        assert!(!m(256, 256, true).matches(&view(&p)));
        let short = ipv6(50, "::1", "::2", &[0, 0, 1]);
        assert!(!m(0, u32::MAX, false).matches(&view(&short)));
        let f = ipv6(44, "::1", "::2", &[50, 0, 0, 8, 0, 0, 0, 1, 0, 0, 1, 0]);
        assert!(!m(0, u32::MAX, false).matches(&view(&f)));
    }
}
