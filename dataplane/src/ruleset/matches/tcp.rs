//! `-m tcp`: ports, flags and option presence (xt_tcpudp).

use crate::ruleset::{Inv, PortRange};

/// TCP flag bits as they sit in the header's flags byte.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
    /// `ALL` as iptables spells it: the six classic flags.
    pub const ALL: u8 = 0x3f;
    /// The names in the order iptables prints them.
    pub const NAMES: [(&str, u8); 8] = [
        ("FIN", FIN),
        ("SYN", SYN),
        ("RST", RST),
        ("PSH", PSH),
        ("ACK", ACK),
        ("URG", URG),
        ("ECE", ECE),
        ("CWR", CWR),
    ];
}

/// `--tcp-flags MASK COMP`: the flags in `mask` must equal `comp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFlags {
    pub mask: u8,
    pub comp: u8,
}

impl TcpFlags {
    /// What `--syn` means: SYN set, FIN, RST and ACK clear.
    pub const SYN: TcpFlags = TcpFlags {
        mask: flags::FIN | flags::SYN | flags::RST | flags::ACK,
        comp: flags::SYN,
    };
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TcpMatch {
    pub sport: Option<Inv<PortRange>>,
    pub dport: Option<Inv<PortRange>>,
    pub flags: Option<Inv<TcpFlags>>,
    /// `--tcp-option N`: an option of kind N is present.
    pub option: Option<Inv<u8>>,
}

impl TcpMatch {
    /// xt_tcpudp: ports, flags and option presence of a first fragment's TCP header.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let Some(h) = pkt.tcp_header() else {
            return false;
        };
        let (sp, dp) = (
            u16::from_be_bytes([h[0], h[1]]),
            u16::from_be_bytes([h[2], h[3]]),
        );
        self.sport.is_none_or(|r| r.apply(r.val.contains(sp)))
            && self.dport.is_none_or(|r| r.apply(r.val.contains(dp)))
            && self
                .flags
                .is_none_or(|f| f.apply(h[13] & f.val.mask == f.val.comp))
            && self.option.is_none_or(|o| {
                o.apply(crate::ruleset::packet::tcp_options(&h[20..]).any(|(k, _)| k == o.val))
            })
    }
}

impl crate::ruleset::ext::MatchExt for TcpMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "tcp";
    const REVISION: u8 = 0;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "tcp", &[super::IPPROTO_TCP])
    }
}

impl crate::ruleset::ext::PacketMatch for TcpMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, tcp, view};

    #[test]
    fn ports_flags_options_and_negation() {
        let syn = ipv4(
            6,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &tcp(40000, 22, flags::SYN, &[2, 4, 5, 0xb4], &[]),
        );
        let synack = ipv4(
            6,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &tcp(40000, 22, flags::SYN | flags::ACK, &[], &[]),
        );
        fn m(f: impl FnOnce(&mut TcpMatch)) -> TcpMatch {
            let mut t = TcpMatch::default();
            f(&mut t);
            t
        }
        fn dport(lo: u16, hi: u16, inv: bool) -> Option<Inv<PortRange>> {
            Some(Inv::new(inv, PortRange { lo, hi }))
        }
        assert!(m(|t| t.dport = dport(22, 22, false)).matches(&view(&syn)));
        assert!(m(|t| t.dport = dport(1, 22, false)).matches(&view(&syn)));
        assert!(!m(|t| t.dport = dport(23, 65535, false)).matches(&view(&syn)));
        assert!(!m(|t| t.dport = dport(22, 22, true)).matches(&view(&syn)));
        assert!(m(|t| t.sport = dport(40000, 40000, false)).matches(&view(&syn)));
        let syn_only = |t: &mut TcpMatch| t.flags = Some(Inv::plain(TcpFlags::SYN));
        assert!(m(syn_only).matches(&view(&syn)));
        assert!(
            !m(syn_only).matches(&view(&synack)),
            "--syn excludes SYN/ACK"
        );
        assert!(m(|t| t.flags = Some(Inv::new(true, TcpFlags::SYN))).matches(&view(&synack)));
        assert!(m(|t| t.option = Some(Inv::plain(2))).matches(&view(&syn)));
        assert!(!m(|t| t.option = Some(Inv::plain(2))).matches(&view(&synack)));
        // A UDP packet or a truncated header never matches.
        let udp = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]);
        assert!(!TcpMatch::default().matches(&view(&udp)));
        let short = ipv4(6, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 12]);
        assert!(!TcpMatch::default().matches(&view(&short)));
    }

    #[test]
    fn ipv6_ports_past_extension_headers_and_fragments() {
        use crate::ruleset::packet::tests::{ipv6, opts_header};
        let mut pl = opts_header(44);
        pl.extend_from_slice(&[6, 0, 0, 1, 0, 0, 0, 9]); // first fragment
        pl.extend(tcp(40000, 22, flags::SYN, &[], &[]));
        let p = ipv6(0, "::1", "::2", &pl);
        let dport = |lo, hi, inv| Some(Inv::new(inv, PortRange { lo, hi }));
        let m = |d| TcpMatch {
            dport: d,
            ..Default::default()
        };
        assert!(m(dport(22, 22, false)).matches(&view(&p)));
        assert!(!m(dport(22, 22, true)).matches(&view(&p)));
        assert!(m(dport(80, 80, true)).matches(&view(&p)));
        // A later fragment never matches, inverted or not.
        let f = ipv6(
            44,
            "::1",
            "::2",
            &[6, 0, 0, 8, 0, 0, 0, 9, 0x9c, 0x40, 0, 22],
        );
        assert!(!m(dport(22, 22, false)).matches(&view(&f)));
        assert!(!m(dport(80, 80, true)).matches(&view(&f)));
        // A TCP header cut short.
        let short = ipv6(6, "::1", "::2", &tcp(40000, 22, flags::SYN, &[], &[])[..12]);
        assert!(!m(dport(22, 22, false)).matches(&view(&short)));
    }
}
