//! `-m mh`: the IPv6 mobility header's type range (ip6t_mh), for ip6tables rulesets
//! only; the rule must pin `-p mh`.
//!
//! Per packet, as ip6t_mh's `mh_mt6`: a non-first fragment never matches; the 6-byte
//! mobility header at the upper-layer offset must be whole and carry payload protocol 59
//! (IPPROTO_NONE). The kernel hotdrops a packet failing either; `decide` can only say
//! "no match" (docs/deviations.md).

/// IPPROTO_MH.
pub const IPPROTO_MH: u8 = 135;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MhMatch {
    pub min: u8,
    pub max: u8,
    pub inv: bool,
}

impl Default for MhMatch {
    fn default() -> MhMatch {
        MhMatch {
            min: 0,
            max: 0xff,
            inv: false,
        }
    }
}

impl MhMatch {
    pub fn matches_type(&self, t: u8) -> bool {
        (self.min..=self.max).contains(&t) != self.inv
    }

    /// The match on a packet (module doc).
    pub fn matches(&self, view: &crate::ruleset::packet::PacketView<'_>) -> bool {
        if view.family != crate::ruleset::Family::V6
            || view.proto != IPPROTO_MH
            || view.frag_offset != 0
        {
            return false;
        }
        // struct ip6_mh: payload proto, length, type, reserved, checksum.
        match view.l4.and_then(|l4| l4.get(..6)) {
            Some(h) if h[0] == 59 => self.matches_type(h[2]),
            _ => false,
        }
    }
}

impl crate::ruleset::ext::MatchExt for MhMatch {
    const NAME: &'static str = "mh";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;

    /// The kernel's mh checkentry: the rule must pin `-p mh`.
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "mh", &[IPPROTO_MH])
    }
}

impl crate::ruleset::ext::PacketMatch for MhMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv6, opts_header, view};

    #[test]
    fn type_range() {
        let m = MhMatch {
            min: 1,
            max: 3,
            inv: false,
        };
        assert!(m.matches_type(1) && m.matches_type(3) && !m.matches_type(4));
        assert!(MhMatch { inv: true, ..m }.matches_type(4));
    }

    #[test]
    fn decides_on_the_mobility_header() {
        // Binding update (type 5), payload protocol 59.
        let bu = [59, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let p = ipv6(IPPROTO_MH, "::1", "::2", &bu);
        let m = |min, max, inv| MhMatch { min, max, inv };
        assert!(m(5, 5, false).matches(&view(&p)));
        assert!(!m(6, 255, false).matches(&view(&p)));
        assert!(m(6, 255, true).matches(&view(&p)));
        assert!(!m(5, 5, true).matches(&view(&p)));
        let mut dst = opts_header(IPPROTO_MH);
        dst.extend_from_slice(&bu);
        assert!(m(5, 5, false).matches(&view(&ipv6(60, "::1", "::2", &dst))));
        // Another payload protocol, a header cut short: the kernel's hotdrop.
        let mut other = bu;
        other[0] = 6;
        assert!(!m(0, 255, false).matches(&view(&ipv6(IPPROTO_MH, "::1", "::2", &other))));
        let short = ipv6(IPPROTO_MH, "::1", "::2", &bu[..5]);
        assert!(!m(0, 255, false).matches(&view(&short)));
        assert!(!m(9, 9, true).matches(&view(&short)));
        // Non-first fragment.
        let mut frag = vec![IPPROTO_MH, 0, 0, 8, 0, 0, 0, 1];
        frag.extend_from_slice(&bu);
        assert!(!m(0, 255, false).matches(&view(&ipv6(44, "::1", "::2", &frag))));
        // Not the mobility protocol.
        assert!(!m(0, 255, false).matches(&view(&ipv6(17, "::1", "::2", &bu))));
    }
}
