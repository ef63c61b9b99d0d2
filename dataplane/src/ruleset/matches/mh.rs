//! `-m mh`: the IPv6 mobility header's type range (ip6t_mh), for ip6tables rulesets
//! only; the rule must pin `-p mh`.
//!
//! Per packet: the pipeline's `PacketView` is an IPv4 view (IPv6 frames are dropped before
//! any rule), so `decide` is false until an IPv6 view joins the pipeline.

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
    /// The view is IPv4 (module doc).
    fn decide(&self, _cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
