//! `-m ipv6header`: which IPv6 extension headers a packet carries (ip6t_ipv6header), for
//! ip6tables rulesets only. `--header` names a set of headers; without `--soft` the
//! packet's set must be exactly that one, with it the packet must carry at least those;
//! `! --soft` means none of those (the kernel's inverted flags are all ones).
//!
//! Per packet, `headers_found` is ip6t_ipv6header's own walk, not the view's: it goes on
//! past a non-first fragment's header (with the next header that header names), stops
//! at no-next-header, at ESP (when 2 bytes of it are there: fewer, no match) and at
//! anything else (the upper layer), and when a header's length runs past the packet
//! (the protocol bit then comes from the next header of the one that ran over).
//! `matches_headers` is the kernel's test on the set found.

/// The header bits of ip6t_ipv6header (`MASK_*`), in the order ip6tables prints them,
/// with the protocol number each stands for (255: a non-extension "protocol" header).
pub const HEADER_BITS: [(u8, u8); 8] = [
    (0, 128), // hop-by-hop options
    (60, 64), // destination options
    (43, 32), // routing
    (44, 16), // fragment
    (51, 8),  // authentication
    (50, 4),  // ESP
    (59, 2),  // no next header
    (255, 1), // an upper-layer protocol
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ipv6headerMatch {
    /// The `MASK_*` bits of the headers named.
    pub headers: u8,
    pub inv: bool,
    /// `--soft`: at least these headers, instead of exactly these.
    pub soft: bool,
}

impl Ipv6headerMatch {
    /// The bit of a header's protocol number, if ipv6header knows it.
    pub fn bit_of(proto: u8) -> Option<u8> {
        HEADER_BITS
            .iter()
            .find(|(p, _)| *p == proto)
            .map(|(_, b)| *b)
    }

    /// ip6t_ipv6header's test on the set of header bits a packet carries.
    pub fn matches_headers(&self, found: u8) -> bool {
        match (self.soft, self.inv) {
            (true, false) => found & self.headers == self.headers,
            // Every listed bit must differ from the (all-ones) inverted flag.
            (true, true) => found & self.headers == 0,
            (false, inv) => (found == self.headers) != inv,
        }
    }

    /// The `MASK_*` bits of the headers ip6t_ipv6header finds in an IPv6 packet (module
    /// doc); `None` where the kernel returns "no match" before testing.
    pub fn headers_found(ip: &[u8]) -> Option<u8> {
        use crate::wire::ipv6::{next_header as nh, HeaderSet};
        let mut next = *ip.get(6)?;
        let mut ptr = 40usize;
        let mut found = 0u8;
        loop {
            let bit = match next {
                nh::NONE => {
                    found |= HeaderSet::NONE.bits();
                    break;
                }
                nh::HOP_BY_HOP => HeaderSet::HOP_BY_HOP,
                nh::ROUTING => HeaderSet::ROUTING,
                nh::FRAGMENT => HeaderSet::FRAGMENT,
                nh::AUTH => HeaderSet::AUTH,
                nh::DST_OPTS => HeaderSet::DST_OPTS,
                nh::ESP => HeaderSet::ESP,
                _ => break,
            };
            // `len < sizeof(struct ipv6_opt_hdr)` comes before ESP's bit.
            let hp = ip.get(ptr..ptr + 2)?;
            found |= bit.bits();
            if next == nh::ESP {
                break;
            }
            let hdrlen = match next {
                nh::FRAGMENT => 8,
                nh::AUTH => (usize::from(hp[1]) + 2) * 4,
                _ => (usize::from(hp[1]) + 1) * 8,
            };
            next = hp[0];
            ptr += hdrlen;
            if ptr > ip.len() {
                break;
            }
        }
        if next != nh::NONE && next != nh::ESP {
            found |= HeaderSet::PROTO.bits();
        }
        Some(found)
    }

    /// The match on a packet; an IPv4 view never matches.
    pub fn matches(&self, view: &crate::ruleset::packet::PacketView<'_>) -> bool {
        view.family == crate::ruleset::Family::V6
            && Self::headers_found(view.ip).is_some_and(|f| self.matches_headers(f))
    }
}

impl crate::ruleset::ext::MatchExt for Ipv6headerMatch {
    const NAME: &'static str = "ipv6header";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for Ipv6headerMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_soft_and_negated() {
        let hop_frag = 128 | 16;
        let exact = Ipv6headerMatch {
            headers: hop_frag,
            inv: false,
            soft: false,
        };
        assert!(exact.matches_headers(hop_frag));
        assert!(!exact.matches_headers(hop_frag | 1));
        let soft = Ipv6headerMatch {
            soft: true,
            ..exact
        };
        assert!(soft.matches_headers(hop_frag | 1) && !soft.matches_headers(16));
        let not = Ipv6headerMatch { inv: true, ..exact };
        assert!(not.matches_headers(16));
        assert!(!not.matches_headers(hop_frag));
        // `! --soft`: none of the headers (not "not all of them").
        let none_of = Ipv6headerMatch { inv: true, ..soft };
        assert!(!none_of.matches_headers(16 | 1));
        assert!(none_of.matches_headers(64 | 1));
        assert_eq!(Ipv6headerMatch::bit_of(44), Some(16));
        assert_eq!(Ipv6headerMatch::bit_of(6), None);
    }

    #[test]
    fn headers_found_as_the_kernel_walks() {
        use crate::ruleset::packet::tests::{ipv4, ipv6, opts_header, view};
        let found = |p: &[u8]| Ipv6headerMatch::headers_found(p);
        let udp = [0, 1, 0, 2, 0, 8, 0, 0];
        let mut pl = opts_header(60);
        pl.extend(opts_header(44));
        pl.extend_from_slice(&[17, 0, 0, 1, 0, 0, 0, 1]);
        pl.extend_from_slice(&udp);
        let p = ipv6(0, "::1", "::2", &pl);
        assert_eq!(found(&p), Some(128 | 64 | 16 | 1));
        let m = |headers, soft, inv| Ipv6headerMatch { headers, inv, soft };
        assert!(m(128 | 64 | 16 | 1, false, false).matches(&view(&p)));
        assert!(!m(128 | 64 | 16, false, false).matches(&view(&p)));
        assert!(m(128 | 64 | 16, false, true).matches(&view(&p)));
        assert!(m(128 | 16, true, false).matches(&view(&p)));
        assert!(!m(128 | 32, true, false).matches(&view(&p)));
        assert!(!m(32 | 16, true, true).matches(&view(&p)));
        assert!(m(32 | 8, true, true).matches(&view(&p)));
        // No next header: no protocol bit; ESP ends the walk.
        assert_eq!(found(&ipv6(59, "::1", "::2", &[])), Some(2));
        assert_eq!(
            found(&ipv6(0, "::1", "::2", &opts_header(59))),
            Some(128 | 2)
        );
        let esp = ipv6(50, "::1", "::2", &[0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(found(&esp), Some(4));
        // ESP with fewer than 2 bytes: the kernel's "no match", inverted or not.
        let esp_short = ipv6(50, "::1", "::2", &[0]);
        assert_eq!(found(&esp_short), None);
        assert!(!m(4, false, true).matches(&view(&esp_short)));
        // AH's length is in 4-byte units plus 2.
        let mut ah = vec![17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
        ah.extend_from_slice(&udp);
        assert_eq!(found(&ipv6(51, "::1", "::2", &ah)), Some(8 | 1));
        // A non-first fragment: the walk goes on with the fragment header's next header.
        let mut later = vec![60, 0, 0, 8, 0, 0, 0, 1];
        later.extend(opts_header(17));
        assert_eq!(found(&ipv6(44, "::1", "::2", &later)), Some(16 | 64 | 1));
        // A header running past the packet ends the walk; its next header gives the
        // protocol bit (59 gives none, and no NONE bit either).
        let over = |next| ipv6(44, "::1", "::2", &[60, 0, 0, 8, 0, 0, 0, 1, next, 9, 0, 0]);
        assert_eq!(found(&over(6)), Some(16 | 64 | 1));
        assert_eq!(found(&over(59)), Some(16 | 64));
        // A truncated fixed header or chain never panics.
        assert_eq!(found(&p[..41]), None);
        assert_eq!(found(&p[..6]), None);
        let v4 = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &udp);
        assert!(!m(1, false, false).matches(&view(&v4)));
    }
}
