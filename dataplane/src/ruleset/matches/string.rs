//! `-m string`: a byte pattern in the packet between two offsets (xt_string).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringAlgo {
    Bm,
    Kmp,
}

impl StringAlgo {
    pub fn name(self) -> &'static str {
        match self {
            StringAlgo::Bm => "bm",
            StringAlgo::Kmp => "kmp",
        }
    }
}

/// XT_STRING_MAX_PATTERN_SIZE.
pub const MAX_PATTERN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringMatch {
    pub inv: bool,
    pub algo: StringAlgo,
    pub pattern: Vec<u8>,
    pub from: u16,
    pub to: u16,
    pub icase: bool,
}

impl StringMatch {
    /// xt_string: the pattern lies entirely within bytes `from..to` of the packet,
    /// counted from the start of the IP header.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let data = pkt.ip;
        let start = usize::from(self.from).min(data.len());
        let end = (usize::from(self.to)).min(data.len());
        let n = self.pattern.len();
        let found = start <= end
            && end - start >= n
            && data[start..end].windows(n).any(|w| {
                if self.icase {
                    w.eq_ignore_ascii_case(&self.pattern)
                } else {
                    w == self.pattern.as_slice()
                }
            });
        found != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for StringMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "string";
    const REVISION: u8 = 1;
}

impl crate::ruleset::ext::PacketMatch for StringMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    fn m(pattern: &[u8], from: u16, to: u16, icase: bool, inv: bool) -> StringMatch {
        StringMatch {
            inv,
            algo: StringAlgo::Bm,
            pattern: pattern.to_vec(),
            from,
            to,
            icase,
        }
    }

    #[test]
    fn window_offsets_and_case() {
        // "GET /" starts at byte 28 (20 IP + 8 UDP).
        let mut l4 = vec![0u8; 8];
        l4.extend_from_slice(b"GET /index.html");
        let p = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &l4);
        let v = view(&p);
        assert!(m(b"GET /", 0, 65535, false, false).matches(&v));
        assert!(
            m(b"GET /", 28, 33, false, false).matches(&v),
            "exactly fits"
        );
        assert!(
            !m(b"GET /", 29, 65535, false, false).matches(&v),
            "starts before the window"
        );
        assert!(
            !m(b"GET /", 0, 32, false, false).matches(&v),
            "ends after the window"
        );
        assert!(!m(b"get /", 0, 65535, false, false).matches(&v));
        assert!(m(b"get /", 0, 65535, true, false).matches(&v));
        assert!(m(b"POST", 0, 65535, false, true).matches(&v));
    }

    /// The offsets count from the IPv6 header as they do from IPv4's.
    #[test]
    fn ipv6_offsets_from_the_network_header() {
        use crate::ruleset::packet::tests::ipv6;
        let mut pl = vec![0, 1, 0, 2, 0, 13, 0, 0];
        pl.extend_from_slice(b"hello");
        let p = ipv6(17, "::1", "::2", &pl);
        let m = |from, to, inv| StringMatch {
            inv,
            algo: StringAlgo::Bm,
            pattern: b"hello".to_vec(),
            from,
            to,
            icase: false,
        };
        assert!(m(0, 65535, false).matches(&view(&p)));
        assert!(m(48, 53, false).matches(&view(&p)));
        assert!(!m(49, 65535, false).matches(&view(&p)));
        assert!(m(49, 65535, true).matches(&view(&p)));
    }
}
