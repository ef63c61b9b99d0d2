//! `-m tcpmss --mss`: the MSS option of SYN segments in a range (xt_tcpmss).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpmssMatch {
    pub inv: bool,
    pub min: u16,
    pub max: u16,
}

impl TcpmssMatch {
    /// xt_tcpmss: the MSS option of the TCP header in range; without one, only the
    /// inverted match holds.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let Some(opts) = pkt.tcp_options() else {
            return false;
        };
        match crate::ruleset::packet::tcp_options(opts).find(|(k, b)| *k == 2 && b.len() == 2) {
            Some((_, b)) => {
                let mss = u16::from_be_bytes([b[0], b[1]]);
                (self.min..=self.max).contains(&mss) != self.inv
            }
            None => self.inv,
        }
    }
}

impl crate::ruleset::ext::MatchExt for TcpmssMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "tcpmss";
    const REVISION: u8 = 0;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "tcpmss", &[super::IPPROTO_TCP])
    }
}

impl crate::ruleset::ext::PacketMatch for TcpmssMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, tcp, view};

    #[test]
    fn mss_option_range() {
        let syn = ipv4(
            6,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &tcp(1, 2, 2, &[1, 1, 2, 4, 0x05, 0xb4], &[]),
        );
        let m = |min, max, inv| TcpmssMatch { inv, min, max };
        assert!(m(1460, 1460, false).matches(&view(&syn)));
        assert!(m(1000, 1500, false).matches(&view(&syn)));
        assert!(!m(1461, 1500, false).matches(&view(&syn)));
        assert!(m(1461, 1500, true).matches(&view(&syn)));
        let none = ipv4(6, [1, 1, 1, 1], [2, 2, 2, 2], &tcp(1, 2, 2, &[], &[]));
        assert!(!m(0, 65535, false).matches(&view(&none)));
        assert!(
            m(0, 65535, true).matches(&view(&none)),
            "no MSS: only the inverted match holds"
        );
    }

    #[test]
    fn ipv6_syn_behind_extension_headers() {
        use crate::ruleset::packet::tests::{ipv6, opts_header};
        let mut pl = opts_header(6);
        pl.extend(tcp(1, 2, 2, &[2, 4, 0x05, 0xa0], &[]));
        let p = ipv6(60, "::1", "::2", &pl);
        let m = |min, max, inv| TcpmssMatch { inv, min, max };
        assert!(m(1440, 1440, false).matches(&view(&p)));
        assert!(!m(1441, 1500, false).matches(&view(&p)));
        assert!(m(1441, 1500, true).matches(&view(&p)));
        let f = ipv6(44, "::1", "::2", &[6, 0, 0, 8, 0, 0, 0, 1, 2, 4, 5, 0xa0]);
        assert!(!m(0, 65535, false).matches(&view(&f)));
    }
}
