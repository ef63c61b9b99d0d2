//! `-m icmp6 --icmpv6-type`: ICMPv6 type and code range (ip6_tables' icmp6 match), for
//! ip6tables rulesets only.
//!
//! Per packet: the pipeline's `PacketView` is an IPv4 view (IPv6 frames are dropped before
//! any rule, and ip6tables rulesets are only loaded and checked so far), so an icmp6 rule
//! never matches the packets a view exists for: `decide` is false, honestly, until an
//! IPv6 view joins the pipeline.

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
    /// The view is IPv4 (module doc): no IPv4 packet is ICMPv6.
    fn decide(&self, _cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
