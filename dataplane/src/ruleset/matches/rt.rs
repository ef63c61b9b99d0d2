//! `-m rt`: the IPv6 routing header (ip6t_rt), for ip6tables rulesets only: its type,
//! segments left, length, and for type 0 the reserved field and the addresses listed.
//!
//! Per packet, as ip6t_rt's `rt_mt6`: the first routing header (`ipv6_find_hdr(..,
//! NEXTHDR_ROUTING, ..)`; none: no match). `--rt-len` is compared with the header's
//! length in bytes (`ipv6_optlen`), as the kernel does with the number ip6tables
//! passes. The reserved word and the address list are read the type 0 way whatever the
//! header's type (the kernel does not look at it there): strict, the listed addresses
//! must be the header's whole list in order; not strict, they must appear in it in order,
//! other addresses between them allowed.

use super::esp::SpiRange;
use crate::ruleset::Inv;
use std::net::Ipv6Addr;

/// IP6T_RT_HOPS: the most addresses `--rt-0-addrs` lists.
pub const MAX_ADDRS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtMatch {
    pub rt_type: Option<Inv<u32>>,
    /// `--rt-segsleft`: every value by default.
    pub segsleft: SpiRange,
    pub len: Option<Inv<u32>>,
    /// `--rt-0-res`: type 0's reserved field must be zero.
    pub res: bool,
    /// `--rt-0-addrs`: type 0's addresses, in order.
    pub addrs: Vec<Ipv6Addr>,
    /// `--rt-0-not-strict`: the addresses may appear anywhere in the header's list.
    pub not_strict: bool,
}

impl Default for RtMatch {
    fn default() -> RtMatch {
        RtMatch {
            rt_type: None,
            segsleft: SpiRange::ANY,
            len: None,
            res: false,
            addrs: Vec::new(),
            not_strict: false,
        }
    }
}

impl RtMatch {
    /// The match on a packet (module doc); an IPv4 view has no routing header.
    pub fn matches(&self, view: &crate::ruleset::packet::PacketView<'_>) -> bool {
        let Some(rt) = view.ext_headers().and_then(|e| e.routing) else {
            return false;
        };
        // The walk that found it checked the whole header is in the packet.
        match view
            .ip
            .get(rt.header_offset..rt.header_offset + rt.header_len)
        {
            Some(h) => self.matches_header(h),
            None => false,
        }
    }

    /// ip6t_rt's test on a whole routing header (its length field gives `h.len()`).
    pub fn matches_header(&self, h: &[u8]) -> bool {
        if h.len() < 8 {
            return false;
        }
        let hdrlen = h.len() as u32;
        let ok = self.segsleft.matches(u32::from(h[3]))
            && self.len.is_none_or(|l| l.apply(l.val == hdrlen))
            && self
                .rt_type
                .is_none_or(|t| t.apply(t.val == u32::from(h[2])))
            && !(self.res && h[4..8] != [0; 4]);
        if !ok || self.addrs.is_empty() {
            return ok;
        }
        let listed = h[8..].chunks_exact(16);
        if self.addrs.len() > listed.len() {
            return false;
        }
        let eq = |a: &[u8], b: &Ipv6Addr| a == b.octets();
        if self.not_strict {
            let mut want = self.addrs.iter().peekable();
            for a in listed {
                if want.peek().is_some_and(|w| eq(a, w)) {
                    want.next();
                }
            }
            want.peek().is_none()
        } else {
            listed.len() == self.addrs.len() && listed.zip(&self.addrs).all(|(a, w)| eq(a, w))
        }
    }
}

impl crate::ruleset::ext::MatchExt for RtMatch {
    const NAME: &'static str = "rt";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for RtMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, ipv6, opts_header, view};

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// A type 0 routing header listing `addrs`, segments left 1, then UDP.
    fn rt0(addrs: &[&str], reserved: u8) -> Vec<u8> {
        let mut h = vec![17, (addrs.len() * 2) as u8, 0, 1, 0, 0, 0, reserved];
        for s in addrs {
            h.extend_from_slice(&a(s).octets());
        }
        h.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
        h
    }

    #[test]
    fn type_segments_length_and_reserved() {
        let p = ipv6(43, "::1", "::2", &rt0(&["::a", "::b"], 0));
        let v = view(&p);
        let m = RtMatch {
            rt_type: Some(Inv::new(false, 0)),
            ..Default::default()
        };
        assert!(m.matches(&v));
        assert!(!RtMatch {
            rt_type: Some(Inv::new(true, 0)),
            ..Default::default()
        }
        .matches(&v));
        assert!(RtMatch {
            rt_type: Some(Inv::new(true, 2)),
            ..Default::default()
        }
        .matches(&v));
        let segs = |min, max, inv| SpiRange { min, max, inv };
        assert!(RtMatch {
            segsleft: segs(1, 1, false),
            ..m.clone()
        }
        .matches(&v));
        assert!(!RtMatch {
            segsleft: segs(1, 1, true),
            ..m.clone()
        }
        .matches(&v));
        assert!(RtMatch {
            segsleft: segs(2, 9, true),
            ..m.clone()
        }
        .matches(&v));
        // Length in bytes: 8 + 2 * 16.
        assert!(RtMatch {
            len: Some(Inv::new(false, 40)),
            ..m.clone()
        }
        .matches(&v));
        assert!(!RtMatch {
            len: Some(Inv::new(false, 4)),
            ..m.clone()
        }
        .matches(&v));
        assert!(RtMatch {
            len: Some(Inv::new(true, 4)),
            ..m.clone()
        }
        .matches(&v));
        assert!(RtMatch {
            res: true,
            ..m.clone()
        }
        .matches(&v));
        let dirty = ipv6(43, "::1", "::2", &rt0(&["::a"], 1));
        assert!(!RtMatch {
            res: true,
            ..m.clone()
        }
        .matches(&view(&dirty)));
        // Behind a hop-by-hop header.
        let mut hbh = opts_header(43);
        hbh.extend(rt0(&["::a"], 0));
        assert!(m.matches(&view(&ipv6(0, "::1", "::2", &hbh))));
    }

    #[test]
    fn addresses_strict_and_not() {
        let p = ipv6(43, "::1", "::2", &rt0(&["::a", "::b", "::c"], 0));
        let v = view(&p);
        let m = |list: &[&str], not_strict| RtMatch {
            addrs: list.iter().map(|s| a(s)).collect(),
            not_strict,
            ..Default::default()
        };
        assert!(m(&["::a", "::b", "::c"], false).matches(&v));
        assert!(
            !m(&["::a", "::b"], false).matches(&v),
            "strict: the whole list"
        );
        assert!(!m(&["::b", "::a", "::c"], false).matches(&v));
        assert!(m(&["::a", "::c"], true).matches(&v));
        assert!(m(&["::b"], true).matches(&v));
        assert!(!m(&["::c", "::a"], true).matches(&v), "in order");
        assert!(!m(&["::a", "::b", "::c", "::d"], true).matches(&v));
        assert!(!m(&["::d"], true).matches(&v));
    }

    #[test]
    fn no_routing_header_later_fragments_and_ipv4() {
        let any = RtMatch::default();
        let inv = RtMatch {
            rt_type: Some(Inv::new(true, 9)),
            ..Default::default()
        };
        let udp = ipv6(17, "::1", "::2", &[0, 1, 0, 2, 0, 8, 0, 0]);
        assert!(!any.matches(&view(&udp)) && !inv.matches(&view(&udp)));
        // A routing header after a non-first fragment's header is not looked for.
        let mut frag = vec![43, 0, 0, 8, 0, 0, 0, 1];
        frag.extend(rt0(&["::a"], 0));
        assert!(!any.matches(&view(&ipv6(44, "::1", "::2", &frag))));
        let v4 = ipv4(43, [1, 1, 1, 1], [2, 2, 2, 2], &rt0(&[], 0));
        assert!(!any.matches(&view(&v4)));
        assert!(!any.matches_header(&[17, 0, 0, 1]));
    }
}
