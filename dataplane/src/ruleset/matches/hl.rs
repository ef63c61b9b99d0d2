//! `-m hl`: compare the IPv6 hop limit (ip6t_hl), for ip6tables rulesets only.
//! `! --hl-eq` is the kernel's "not equal".
//!
//! Per packet: the pipeline's `PacketView` is an IPv4 view (IPv6 frames are dropped before
//! any rule), so `decide` is false until an IPv6 view joins the pipeline; the comparison
//! itself is `matches_hop_limit`.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HlOp {
    Eq,
    Ne,
    Lt,
    Gt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HlMatch {
    pub op: HlOp,
    pub value: u8,
}

impl HlMatch {
    pub fn matches_hop_limit(&self, hl: u8) -> bool {
        match self.op {
            HlOp::Eq => hl == self.value,
            HlOp::Ne => hl != self.value,
            HlOp::Lt => hl < self.value,
            HlOp::Gt => hl > self.value,
        }
    }
}

impl crate::ruleset::ext::MatchExt for HlMatch {
    const NAME: &'static str = "hl";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for HlMatch {
    /// The view is IPv4 (module doc): it has no hop limit.
    fn decide(&self, _cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        let m = |op, value| HlMatch { op, value };
        assert!(m(HlOp::Eq, 64).matches_hop_limit(64));
        assert!(!m(HlOp::Ne, 64).matches_hop_limit(64));
        assert!(m(HlOp::Lt, 65).matches_hop_limit(64));
        assert!(!m(HlOp::Lt, 64).matches_hop_limit(64));
        assert!(m(HlOp::Gt, 63).matches_hop_limit(64));
        assert!(!m(HlOp::Gt, 64).matches_hop_limit(64));
    }
}
