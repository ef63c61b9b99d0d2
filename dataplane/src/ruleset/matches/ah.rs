//! `-m ah [!] --ahspi SPI[:SPI]` (xt_ah for IPv4, `-p ah` required): the SPI of an
//! Authentication Header (bytes 4-7), as `-m esp` tests its own.

use super::esp::{header_field, SpiRange};

pub const IPPROTO_AH: u8 = 51;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhMatch {
    pub spis: SpiRange,
}

impl AhMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        header_field::<4>(pkt, 4).is_some_and(|b| self.spis.matches(u32::from_be_bytes(b)))
    }
}

impl crate::ruleset::ext::MatchExt for AhMatch {
    const NAME: &'static str = "ah";
    const REVISION: u8 = 0;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "ah", &[IPPROTO_AH])
    }
}

impl crate::ruleset::ext::PacketMatch for AhMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn the_spi_after_the_length_and_reserved_bytes() {
        let p = ipv4(
            IPPROTO_AH,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &[6, 4, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1],
        );
        let m = |min, max, inv| AhMatch {
            spis: SpiRange { min, max, inv },
        };
        assert!(m(9, 9, false).matches(&view(&p)));
        assert!(!m(1, 2, false).matches(&view(&p)));
        assert!(m(1, 2, true).matches(&view(&p)));
    }
}
