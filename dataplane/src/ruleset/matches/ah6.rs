//! `-m ah` of ip6tables (ip6t_ah): the IPv6 authentication header's SPI range, header
//! length and reserved field. Its own type beside ipt_ah's (`ah.rs`): the kernel
//! registers one ah match per family, and IPv6's reads more of the header.
//!
//! Per packet: the pipeline's `PacketView` is an IPv4 view (IPv6 frames are dropped before
//! any rule), so `decide` is false until an IPv6 view with its extension headers joins
//! the pipeline; `matches_header` is the kernel's test on an AH header.

use super::esp::SpiRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ah6Match {
    pub spis: SpiRange,
    /// `--ahlen`: the header's length field (0 and not negated: any).
    pub len: u32,
    pub len_inv: bool,
    /// `--ahres`: the reserved field must be zero.
    pub res: bool,
}

impl Default for Ah6Match {
    fn default() -> Ah6Match {
        Ah6Match {
            spis: SpiRange::ANY,
            len: 0,
            len_inv: false,
            res: false,
        }
    }
}

impl Ah6Match {
    /// ip6t_ah's test on the first 8 bytes of an AH header.
    pub fn matches_header(&self, h: &[u8]) -> bool {
        let Some(h) = h.get(..8) else {
            return false;
        };
        let spi = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let spi_ok = (self.spis.min..=self.spis.max).contains(&spi) != self.spis.inv;
        let any_len = self.len == 0 && !self.len_inv;
        let len_ok = any_len || ((u32::from(h[1]) == self.len) != self.len_inv);
        let res_ok = !self.res || (h[2] == 0 && h[3] == 0);
        spi_ok && len_ok && res_ok
    }
}

impl crate::ruleset::ext::MatchExt for Ah6Match {
    const NAME: &'static str = "ah";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for Ah6Match {
    /// The view is IPv4 (module doc).
    fn decide(&self, _cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spi_len_and_reserved() {
        let h = [6, 4, 0, 0, 0, 0, 1, 0];
        let m = Ah6Match {
            spis: SpiRange {
                min: 256,
                max: 256,
                inv: false,
            },
            len: 4,
            len_inv: false,
            res: true,
        };
        assert!(m.matches_header(&h));
        assert!(!Ah6Match { len: 5, ..m }.matches_header(&h));
        assert!(Ah6Match::default().matches_header(&h));
        assert!(!Ah6Match::default().matches_header(&h[..4]));
    }
}
