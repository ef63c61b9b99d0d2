//! `-m frag`: the IPv6 fragment header (ip6t_frag), for ip6tables rulesets only: its
//! identification range, header length, reserved bits and first / more / last flags.
//!
//! Per packet: the pipeline's `PacketView` is an IPv4 view (IPv6 frames are dropped before
//! any rule), so `decide` is false until an IPv6 view with its extension headers joins
//! the pipeline; `matches_header` is the kernel's test on a fragment header.

use super::esp::SpiRange;
use crate::ruleset::Inv;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragMatch {
    /// `--fragid`: the identification range (every one by default).
    pub ids: SpiRange,
    /// `--fraglen`: the header length field.
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
        // The kernel compares the length with 0 (a fragment header's is always 0).
        let len_ok = self.len.is_none_or(|l| l.apply(l.val == 0));
        let res_ok = !self.res || (h[1] == 0 && off & 0x6 == 0);
        let first_ok = !self.first || off & 0xfff8 == 0;
        let more_ok = !self.more || off & 1 == 1;
        let last_ok = !self.last || off & 1 == 0;
        ids_ok && len_ok && res_ok && first_ok && more_ok && last_ok
    }
}

impl crate::ruleset::ext::MatchExt for FragMatch {
    const NAME: &'static str = "frag";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for FragMatch {
    /// The view is IPv4 (module doc): it has no fragment header.
    fn decide(&self, _cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
