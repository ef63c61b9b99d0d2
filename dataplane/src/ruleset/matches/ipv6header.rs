//! `-m ipv6header`: which IPv6 extension headers a packet carries (ip6t_ipv6header), for
//! ip6tables rulesets only. `--header` names a set of headers; without `--soft` the
//! packet's set must be exactly that one, with it the packet must carry at least those.
//!
//! Per packet: the pipeline's `PacketView` is an IPv4 view (IPv6 frames are dropped before
//! any rule), so `decide` is false until an IPv6 view with its extension headers joins
//! the pipeline; `matches_headers` is the kernel's test on the set found.

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
        let hit = if self.soft {
            found & self.headers == self.headers
        } else {
            found == self.headers
        };
        hit != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for Ipv6headerMatch {
    const NAME: &'static str = "ipv6header";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for Ipv6headerMatch {
    /// The view is IPv4 (module doc): it has no IPv6 headers.
    fn decide(&self, _cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        false
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
        assert_eq!(Ipv6headerMatch::bit_of(44), Some(16));
        assert_eq!(Ipv6headerMatch::bit_of(6), None);
    }
}
