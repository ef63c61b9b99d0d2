//! `-m hl`: compare the IPv6 hop limit (ip6t_hl), for ip6tables rulesets only.
//! `! --hl-eq` is the kernel's "not equal".
//!
//! Per packet: the hop limit of the fixed header (the view's `ttl`), as xt_hl's
//! `hl_mt6` reads `ipv6_hdr(skb)->hop_limit`; an IPv4 view never matches.

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
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        cx.view.family == crate::ruleset::Family::V6 && self.matches_hop_limit(cx.view.ttl)
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

    #[test]
    fn decides_on_the_ipv6_hop_limit() {
        use crate::ruleset::ext::{PacketCx, PacketMatch};
        use crate::ruleset::packet::tests::{ipv4, ipv6, view};
        let sets = crate::ipset::SetTable::default();
        let decide = |m: HlMatch, p: &[u8]| {
            m.decide(&PacketCx {
                view: &view(p),
                sets: &sets,
                now_ns: 0,
            })
        };
        let mut p = ipv6(17, "::1", "::2", &[0, 1, 0, 2, 0, 8, 0, 0]);
        p[7] = 1;
        let m = |op, value| HlMatch { op, value };
        assert!(decide(m(HlOp::Eq, 1), &p));
        assert!(!decide(m(HlOp::Ne, 1), &p));
        assert!(decide(m(HlOp::Lt, 2), &p));
        assert!(!decide(m(HlOp::Gt, 1), &p));
        // A non-first fragment still has its hop limit.
        let mut frag = ipv6(44, "::1", "::2", &[17, 0, 0, 8, 0, 0, 0, 1, 0xaa, 0xbb]);
        frag[7] = 1;
        assert!(decide(m(HlOp::Eq, 1), &frag));
        // An IPv4 TTL is not a hop limit.
        let v4 = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]);
        assert!(!decide(m(HlOp::Eq, 64), &v4));
    }
}
