//! `-m iprange`: inclusive address ranges (xt_iprange).

use crate::ruleset::Inv;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrRange {
    pub lo: Ipv4Addr,
    pub hi: Ipv4Addr,
}

impl AddrRange {
    #[inline]
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.lo <= ip && ip <= self.hi
    }
}

/// An ip6tables rule's range (read and printed; the IPv6 packet path refuses the rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrRange6 {
    pub lo: Ipv6Addr,
    pub hi: Ipv6Addr,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IprangeMatch {
    pub src: Option<Inv<AddrRange>>,
    pub dst: Option<Inv<AddrRange>>,
    /// ip6tables' `--src-range` / `--dst-range`.
    pub src6: Option<Inv<AddrRange6>>,
    pub dst6: Option<Inv<AddrRange6>>,
}

impl IprangeMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        self.src.is_none_or(|r| r.apply(r.val.contains(pkt.src)))
            && self.dst.is_none_or(|r| r.apply(r.val.contains(pkt.dst)))
    }
}

impl crate::ruleset::ext::MatchExt for IprangeMatch {
    const NAME: &'static str = "iprange";
    const REVISION: u8 = 1;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
}

impl crate::ruleset::ext::PacketMatch for IprangeMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn inclusive_edges() {
        let r = |lo: [u8; 4], hi: [u8; 4], inv| IprangeMatch {
            src: Some(Inv::new(
                inv,
                AddrRange {
                    lo: lo.into(),
                    hi: hi.into(),
                },
            )),
            dst: None,
            ..Default::default()
        };
        let p = ipv4(17, [10, 0, 0, 5], [2, 2, 2, 2], &[0; 8]);
        assert!(r([10, 0, 0, 5], [10, 0, 0, 9], false).matches(&view(&p)));
        assert!(r([10, 0, 0, 1], [10, 0, 0, 5], false).matches(&view(&p)));
        assert!(!r([10, 0, 0, 6], [10, 0, 0, 9], false).matches(&view(&p)));
        assert!(r([10, 0, 0, 6], [10, 0, 0, 9], true).matches(&view(&p)));
    }
}
