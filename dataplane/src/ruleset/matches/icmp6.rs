//! `-m icmp6 --icmpv6-type`: ICMPv6 type and code range (ip6_tables' icmp6 match), for
//! ip6tables rulesets only.
//!
//! Per packet, as ip6_tables' `icmp6_match`: a non-first fragment never matches; the
//! 8-byte ICMPv6 header at the upper-layer offset gives type and code. The kernel
//! hotdrops a packet whose ICMPv6 header is cut short; `decide` can only say "no match"
//! (docs/deviations.md).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp6Match {
    pub inv: bool,
    pub icmp_type: u8,
    pub code_min: u8,
    pub code_max: u8,
}

impl Default for Icmp6Match {
    /// Every code of type 0 (what the kernel's struct holds before `--icmpv6-type`).
    fn default() -> Icmp6Match {
        Icmp6Match {
            inv: false,
            icmp_type: 0,
            code_min: 0,
            code_max: 0xff,
        }
    }
}

impl Icmp6Match {
    /// ip6_tables' icmp6_type_code_match on an ICMPv6 header's type and code.
    pub fn matches_type_code(&self, icmp_type: u8, code: u8) -> bool {
        let hit = icmp_type == self.icmp_type && (self.code_min..=self.code_max).contains(&code);
        hit != self.inv
    }
}

impl Icmp6Match {
    /// The match on a packet: ICMPv6 (the rule pins `-p ipv6-icmp`, checked again so an
    /// IPv4 view never matches), not a later fragment, a whole 8-byte header.
    pub fn matches(&self, view: &crate::ruleset::packet::PacketView<'_>) -> bool {
        if view.family != crate::ruleset::Family::V6
            || view.proto != super::IPPROTO_ICMPV6
            || view.frag_offset != 0
        {
            return false;
        }
        // icmp6_match reads sizeof(struct icmp6hdr); shorter is its hotdrop.
        match view.l4.and_then(|l4| l4.get(..8)) {
            Some(h) => self.matches_type_code(h[0], h[1]),
            None => false,
        }
    }
}

impl crate::ruleset::ext::MatchExt for Icmp6Match {
    const NAME: &'static str = "icmp6";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;

    /// The kernel's icmp6 checkentry: the rule must pin `-p ipv6-icmp`.
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "icmp6", &[super::IPPROTO_ICMPV6])
    }
}

impl crate::ruleset::ext::PacketMatch for Icmp6Match {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, ipv6, opts_header, view};

    #[test]
    fn type_code_range_and_negation() {
        let m = Icmp6Match {
            inv: false,
            icmp_type: 1,
            code_min: 3,
            code_max: 4,
        };
        assert!(m.matches_type_code(1, 3) && m.matches_type_code(1, 4));
        assert!(!m.matches_type_code(1, 5) && !m.matches_type_code(2, 3));
        let not = Icmp6Match { inv: true, ..m };
        assert!(not.matches_type_code(128, 0) && !not.matches_type_code(1, 3));
    }

    #[test]
    fn decides_on_ipv6_packets() {
        let echo = [128, 0, 0, 0, 0, 1, 0, 2];
        let p = ipv6(58, "2001:db8::1", "2001:db8::2", &echo);
        let m = |t, lo, hi, inv| Icmp6Match {
            inv,
            icmp_type: t,
            code_min: lo,
            code_max: hi,
        };
        assert!(m(128, 0, 255, false).matches(&view(&p)));
        assert!(!m(129, 0, 255, false).matches(&view(&p)));
        assert!(m(129, 0, 255, true).matches(&view(&p)));
        assert!(!m(128, 0, 255, true).matches(&view(&p)));
        assert!(!m(128, 1, 2, false).matches(&view(&p)));
        // Past a hop-by-hop header.
        let mut hbh = opts_header(58);
        hbh.extend_from_slice(&echo);
        assert!(m(128, 0, 0, false).matches(&view(&ipv6(0, "::1", "::2", &hbh))));
        // A header shorter than 8 bytes: the kernel's hotdrop, no match here (either way).
        let short = ipv6(58, "::1", "::2", &echo[..4]);
        assert!(!m(128, 0, 255, false).matches(&view(&short)));
        assert!(!m(1, 0, 255, true).matches(&view(&short)));
        // A non-first fragment of ICMPv6 never matches, even inverted.
        let mut frag = vec![58, 0, 0, 8, 0, 0, 0, 1];
        frag.extend_from_slice(&echo);
        let later = ipv6(44, "::1", "::2", &frag);
        assert!(!m(128, 0, 255, false).matches(&view(&later)));
        assert!(!m(1, 0, 255, true).matches(&view(&later)));
        // ICMPv4 with the same bytes is not ICMPv6.
        let v4 = ipv4(58, [1, 1, 1, 1], [2, 2, 2, 2], &echo);
        assert!(!m(128, 0, 255, false).matches(&view(&v4)));
    }
}
