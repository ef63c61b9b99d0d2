//! `-m frag`: the IPv6 fragment header (ip6t_frag), for ip6tables rulesets only: its
//! identification range, header length, reserved bits and first / more / last flags.
//!
//! Per packet, as ip6t_frag's `frag_mt6`: the fragment header `ipv6_find_hdr(..,
//! NEXTHDR_FRAGMENT, ..)` finds (none: no match), tested by `matches_header`. The
//! kernel ignores `--fraglen` (its length field is parsed, printed and never compared),
//! and so does nfdp.

use super::esp::SpiRange;
use crate::ruleset::Inv;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragMatch {
    /// `--fragid`: the identification range (every one by default).
    pub ids: SpiRange,
    /// `--fraglen`: kept for save and list; the kernel's match never compares it.
    pub len: Option<Inv<u32>>,
    pub res: bool,
    pub first: bool,
    pub more: bool,
    pub last: bool,
}

impl Default for FragMatch {
    fn default() -> FragMatch {
        FragMatch {
            ids: SpiRange::ANY,
            len: None,
            res: false,
            first: false,
            more: false,
            last: false,
        }
    }
}

impl FragMatch {
    /// ip6t_frag's test on the 8 bytes of a fragment header.
    pub fn matches_header(&self, h: &[u8]) -> bool {
        let Some(h) = h.get(..8) else {
            return false;
        };
        let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let off = u16::from_be_bytes([h[2], h[3]]);
        let ids_ok = ((self.ids.min..=self.ids.max).contains(&id)) != self.ids.inv;
        let res_ok = !self.res || (h[1] == 0 && off & 0x6 == 0);
        let first_ok = !self.first || off & 0xfff8 == 0;
        let more_ok = !self.more || off & 1 == 1;
        let last_ok = !self.last || off & 1 == 0;
        ids_ok && res_ok && first_ok && more_ok && last_ok
    }
}

impl FragMatch {
    /// The match on a packet (module doc); an IPv4 view has no fragment header.
    pub fn matches(&self, view: &crate::ruleset::packet::PacketView<'_>) -> bool {
        let Some(f) = view.ext_headers().and_then(|e| e.fragment) else {
            return false;
        };
        view.ip
            .get(f.header_offset..)
            .is_some_and(|h| self.matches_header(h))
    }
}

impl crate::ruleset::ext::MatchExt for FragMatch {
    const NAME: &'static str = "frag";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for FragMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, ipv6, opts_header, view};

    #[test]
    fn ids_and_flags() {
        // Next header 6, offset 0 with MF, id 5.
        let first = [6, 0, 0, 1, 0, 0, 0, 5];
        let m = FragMatch {
            ids: SpiRange {
                min: 1,
                max: 10,
                inv: false,
            },
            first: true,
            more: true,
            ..Default::default()
        };
        assert!(m.matches_header(&first));
        assert!(!FragMatch { last: true, ..m }.matches_header(&first));
        let later = [6, 0, 0, 8, 0, 0, 0, 5];
        assert!(!m.matches_header(&later));
        assert!(!m.matches_header(&first[..7]));
    }

    #[test]
    fn decides_on_the_fragment_header() {
        let ids = |min, max, inv| SpiRange { min, max, inv };
        // First fragment (offset 0, M), id 0x1234, behind a hop-by-hop header.
        let mut first = opts_header(44);
        first.extend_from_slice(&[17, 0, 0, 1, 0, 0, 0x12, 0x34]);
        first.extend_from_slice(&[0, 1, 0, 2, 0, 16, 0, 0]);
        let first = ipv6(0, "::1", "::2", &first);
        let m = FragMatch {
            ids: ids(0x1234, 0x1234, false),
            ..Default::default()
        };
        assert!(m.matches(&view(&first)));
        assert!(!FragMatch {
            ids: ids(0x1234, 0x1234, true),
            ..m
        }
        .matches(&view(&first)));
        assert!(FragMatch {
            ids: ids(1, 2, true),
            ..m
        }
        .matches(&view(&first)));
        assert!(FragMatch {
            first: true,
            more: true,
            ..m
        }
        .matches(&view(&first)));
        assert!(!FragMatch { last: true, ..m }.matches(&view(&first)));
        // --fraglen is not compared (the kernel's frag_mt6).
        let len = Some(Inv::new(false, 99));
        assert!(FragMatch { len, ..m }.matches(&view(&first)));
        // A non-first, last fragment with reserved bits set.
        let last = ipv6(44, "::1", "::2", &[17, 3, 0, 0x12, 0, 0, 0x12, 0x34, 0xaa]);
        assert!(FragMatch { last: true, ..m }.matches(&view(&last)));
        assert!(!FragMatch { first: true, ..m }.matches(&view(&last)));
        assert!(!FragMatch { more: true, ..m }.matches(&view(&last)));
        assert!(!FragMatch { res: true, ..m }.matches(&view(&last)));
        assert!(FragMatch { res: true, ..m }.matches(&view(&first)));
        // No fragment header: no match, even with the ids inverted.
        let plain = ipv6(17, "::1", "::2", &[0, 1, 0, 2, 0, 8, 0, 0]);
        assert!(!FragMatch {
            ids: ids(1, 2, true),
            ..m
        }
        .matches(&view(&plain)));
        let v4 = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]);
        assert!(!FragMatch::default().matches(&view(&v4)));
    }
}
