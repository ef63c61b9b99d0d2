//! `-m ecn [!] --ecn-tcp-cwr [!] --ecn-tcp-ece [!] --ecn-ip-ect 0-3`: the ECN bits of the
//! IP header and of the TCP flags (xt_ecn). The TCP bits need `-p tcp` (the kernel refuses
//! them otherwise); a packet without a TCP header (a later fragment) does not match them.

/// One bit test: `Some(want)`, the bit must be set (`true`) or clear.
pub type BitTest = Option<bool>;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EcnMatch {
    pub ece: BitTest,
    pub cwr: BitTest,
    /// The IP header's ECN field (`tos & 3`) and whether it is negated.
    pub ip_ect: Option<(u8, bool)>,
}

const TCP_ECE: u8 = 0x40;
const TCP_CWR: u8 = 0x80;

impl EcnMatch {
    pub fn tests_tcp(&self) -> bool {
        self.ece.is_some() || self.cwr.is_some()
    }

    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        if let Some((ect, inv)) = self.ip_ect {
            if (pkt.tos & 0x03 == ect) == inv {
                return false;
            }
        }
        if !self.tests_tcp() {
            return true;
        }
        let Some(flags) = pkt.tcp_flags() else {
            return false;
        };
        let bit_ok = |test: BitTest, bit: u8| test.is_none_or(|want| (flags & bit != 0) == want);
        bit_ok(self.ece, TCP_ECE) && bit_ok(self.cwr, TCP_CWR)
    }
}

impl crate::ruleset::ext::MatchExt for EcnMatch {
    const NAME: &'static str = "ecn";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        if self.tests_tcp() && spec.exact_proto() != Some(super::IPPROTO_TCP) {
            return Err("ECN match: cannot match TCP bits in rule for non-tcp packets".into());
        }
        Ok(())
    }
}

impl crate::ruleset::ext::PacketMatch for EcnMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, tcp, view};

    #[test]
    fn ip_and_tcp_bits() {
        let mut p = ipv4(
            6,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &tcp(1, 2, 0x02 | TCP_ECE, &[], &[]),
        );
        p[1] = 0x01; // ECT(1)
        let m = |ece, cwr, ip_ect| EcnMatch { ece, cwr, ip_ect };
        assert!(m(Some(true), None, None).matches(&view(&p)));
        assert!(!m(None, Some(true), None).matches(&view(&p)));
        assert!(m(Some(true), Some(false), Some((1, false))).matches(&view(&p)));
        assert!(!m(None, None, Some((1, true))).matches(&view(&p)));
        assert!(m(None, None, Some((3, true))).matches(&view(&p)));
        // No TCP header: the TCP bits do not match.
        let u = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]);
        assert!(!m(Some(false), None, None).matches(&view(&u)));
        assert!(m(None, None, Some((0, false))).matches(&view(&u)));
    }

    /// xt_ecn's ecn_mt6: the ECN bits of the traffic class, the TCP flags past the
    /// extension headers.
    #[test]
    fn ipv6_traffic_class_and_tcp_flags() {
        use crate::ruleset::packet::tests::{ipv6, opts_header};
        let mut pl = opts_header(6);
        pl.extend(tcp(1, 2, 0x02 | 0x40 | 0x80, &[], &[]));
        let mut p = ipv6(0, "::1", "::2", &pl);
        p[1] = 0x30; // traffic class 0x03: CE
        let v = view(&p);
        let m = |ip_ect, ece, cwr| EcnMatch { ece, cwr, ip_ect };
        assert!(m(Some((3, false)), None, None).matches(&v));
        assert!(!m(Some((3, true)), None, None).matches(&v));
        assert!(!m(Some((1, false)), None, None).matches(&v));
        assert!(m(None, Some(true), Some(true)).matches(&v));
        assert!(!m(None, Some(false), None).matches(&v));
        // A non-first fragment has no TCP header to test.
        let f = ipv6(44, "::1", "::2", &[6, 0, 0, 8, 0, 0, 0, 1, 0xaa, 0xbb]);
        assert!(!m(None, Some(true), None).matches(&view(&f)));
        assert!(m(Some((0, false)), None, None).matches(&view(&f)));
    }
}
