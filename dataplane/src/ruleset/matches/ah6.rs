//! `-m ah` of ip6tables (ip6t_ah): the IPv6 authentication header's SPI range, header
//! length and reserved field. Its own type beside ipt_ah's (`ah.rs`): the kernel
//! registers one ah match per family, and IPv6's reads more of the header.
//!
//! Per packet, as ip6t_ah's `ah_mt6`: the first AH header (`ipv6_find_hdr(..,
//! NEXTHDR_AUTH, ..)`; none: no match), its 12 fixed bytes read from the packet (they
//! may run past a short header's length into what follows), tested by `matches_header`.
//! `--ahlen` is compared with the header's length in bytes (`ipv6_authlen`), as the
//! kernel does with the number ip6tables passes. The kernel hotdrops a packet that ends
//! inside those 12 bytes; `decide` can only say "no match" (docs/deviations.md).

use super::esp::SpiRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ah6Match {
    pub spis: SpiRange,
    /// `--ahlen`: the header's length in bytes, `(len field + 2) * 4` (0: any, negated
    /// or not, as the kernel's `!ahinfo->hdrlen ||`).
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
    /// ip6t_ah's test on the 12 fixed bytes of an AH header (`struct ip_auth_hdr`).
    pub fn matches_header(&self, h: &[u8]) -> bool {
        let Some(h) = h.get(..12) else {
            return false;
        };
        let spi = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let spi_ok = (self.spis.min..=self.spis.max).contains(&spi) != self.spis.inv;
        let bytes = (u32::from(h[1]) + 2) * 4;
        let len_ok = self.len == 0 || ((bytes == self.len) != self.len_inv);
        let res_ok = !self.res || (h[2] == 0 && h[3] == 0);
        spi_ok && len_ok && res_ok
    }
}

impl Ah6Match {
    /// The match on a packet (module doc); an IPv4 view has no IPv6 AH header.
    pub fn matches(&self, view: &crate::ruleset::packet::PacketView<'_>) -> bool {
        let Some(at) = view.ext_headers().and_then(|e| e.auth) else {
            return false;
        };
        view.ip.get(at..).is_some_and(|h| self.matches_header(h))
    }
}

impl crate::ruleset::ext::MatchExt for Ah6Match {
    const NAME: &'static str = "ah";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for Ah6Match {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spi_len_and_reserved() {
        let h = [6, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        let m = Ah6Match {
            spis: SpiRange {
                min: 256,
                max: 256,
                inv: false,
            },
            len: 24,
            len_inv: false,
            res: true,
        };
        assert!(m.matches_header(&h));
        assert!(!Ah6Match { len: 4, ..m }.matches_header(&h));
        assert!(Ah6Match {
            len: 4,
            len_inv: true,
            ..m
        }
        .matches_header(&h));
        assert!(!Ah6Match { len_inv: true, ..m }.matches_header(&h));
        // Length 0 is "any", inverted or not (the kernel's `!ahinfo->hdrlen ||`).
        let any = Ah6Match {
            len: 0,
            len_inv: true,
            ..m
        };
        assert!(any.matches_header(&h));
        assert!(Ah6Match::default().matches_header(&h));
        assert!(!Ah6Match::default().matches_header(&h[..11]));
        let mut reserved = h;
        reserved[3] = 1;
        assert!(!m.matches_header(&reserved));
        assert!(Ah6Match { res: false, ..m }.matches_header(&reserved));
    }

    #[test]
    fn decides_on_the_first_ah_header() {
        use crate::ruleset::packet::tests::{ipv4, ipv6, opts_header, view};
        // Destination options, AH (len field 1: 12 bytes, SPI 7), UDP.
        let mut pl = opts_header(51);
        pl.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1]);
        pl.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
        let p = ipv6(60, "::1", "::2", &pl);
        let spis = |min, max, inv| SpiRange { min, max, inv };
        let m = Ah6Match {
            spis: spis(7, 7, false),
            ..Default::default()
        };
        assert!(m.matches(&view(&p)));
        assert!(Ah6Match { len: 12, ..m }.matches(&view(&p)));
        assert!(!Ah6Match {
            spis: spis(7, 7, true),
            ..m
        }
        .matches(&view(&p)));
        assert!(Ah6Match {
            spis: spis(8, 9, true),
            ..m
        }
        .matches(&view(&p)));
        // An 8-byte AH (len field 0) at the end of the packet: its 12 fixed bytes are
        // not there (the kernel's hotdrop), no match either way.
        let short = ipv6(51, "::1", "::2", &[59, 0, 0, 0, 0, 0, 0, 7]);
        assert!(!m.matches(&view(&short)));
        assert!(!Ah6Match {
            spis: spis(1, 1, true),
            ..m
        }
        .matches(&view(&short)));
        // ... and with 4 more bytes after it, they are read as the kernel reads them.
        let long = ipv6(51, "::1", "::2", &[59, 0, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4]);
        assert!(Ah6Match { len: 8, ..m }.matches(&view(&long)));
        // No AH, an IPv4 view, a non-first fragment with AH after the fragment header.
        let udp = ipv6(17, "::1", "::2", &[0, 1, 0, 2, 0, 8, 0, 0]);
        assert!(!Ah6Match::default().matches(&view(&udp)));
        let v4 = ipv4(51, [1, 1, 1, 1], [2, 2, 2, 2], &pl[8..]);
        assert!(!Ah6Match::default().matches(&view(&v4)));
        let mut frag = vec![51, 0, 0, 8, 0, 0, 0, 1];
        frag.extend_from_slice(&pl[8..]);
        assert!(!Ah6Match::default().matches(&view(&ipv6(44, "::1", "::2", &frag))));
    }
}
