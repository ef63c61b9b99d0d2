//! `-m ipcomp [!] --ipcompspi CPI[:CPI] [--compres]` (xt_ipcomp, `-p ipcomp` required):
//! the 16-bit Compression Parameter Index of an IPComp header (bytes 2-3). Without
//! `--ipcompspi` iptables leaves the range at 0:0, so only CPI 0 matches. `--compres`
//! ("reserved") is kept and printed; the kernel's match does not test it.

use super::esp::{header_field, SpiRange};

pub const IPPROTO_COMP: u8 = 108;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpcompMatch {
    pub spis: SpiRange,
    pub hdrres: bool,
}

impl IpcompMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        header_field::<2>(pkt, 2)
            .is_some_and(|b| self.spis.matches(u32::from(u16::from_be_bytes(b))))
    }
}

impl crate::ruleset::ext::MatchExt for IpcompMatch {
    const NAME: &'static str = "ipcomp";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "ipcomp", &[IPPROTO_COMP])
    }
}

impl crate::ruleset::ext::PacketMatch for IpcompMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn the_cpi() {
        let p = ipv4(
            IPPROTO_COMP,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &[4, 0, 0, 7, 0, 0, 0, 0],
        );
        let m = |min, max, inv| IpcompMatch {
            spis: SpiRange { min, max, inv },
            hdrres: false,
        };
        assert!(m(7, 7, false).matches(&view(&p)));
        assert!(!m(0, 0, false).matches(&view(&p)));
        assert!(m(1, 6, true).matches(&view(&p)));
    }

    #[test]
    fn ipv6_cpi() {
        use crate::ruleset::packet::tests::ipv6;
        let p = ipv6(IPPROTO_COMP, "::1", "::2", &[4, 0, 0x12, 0x34]);
        let m = |min, max, inv| IpcompMatch {
            spis: SpiRange { min, max, inv },
            hdrres: false,
        };
        assert!(m(0x1234, 0x1234, false).matches(&view(&p)));
        assert!(!m(0x1234, 0x1234, true).matches(&view(&p)));
        let f = ipv6(
            44,
            "::1",
            "::2",
            &[IPPROTO_COMP, 0, 0, 8, 0, 0, 0, 1, 4, 0, 0x12, 0x34],
        );
        assert!(!m(0, u32::MAX, false).matches(&view(&f)));
    }
}
