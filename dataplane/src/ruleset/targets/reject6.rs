//! `-j REJECT` of ip6tables (ip6t_REJECT): drop and answer with an ICMPv6 destination
//! unreachable or a TCP RST. Its own type beside ipt_REJECT's: the kernel registers one
//! REJECT per family, with its own answer types.
//!
//! Per packet: an ICMPv6 answer goes through the pipeline's `icmp6_send` (its rules for
//! which packets earn an error, and its rate limits), after `reject6_csum_ok`; a TCP reset
//! is built here as nf_send_reset6 builds it and sent through OUTPUT.

use crate::ruleset::matches::IPPROTO_TCP;
use crate::ruleset::RuleSpec;
use crate::wire::checksum;
use crate::wire::ipv6::{ExtHeaders, HEADER_LEN};
use crate::wire::IpProtocol;
use std::net::Ipv6Addr;

/// The hop limit of a reset (`ip6_dst_hoplimit`: the device's 64).
const RESET_HOP_LIMIT: u8 = 64;

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[..16]);
    Ipv6Addr::from(o)
}

/// The transport header's offset and protocol, as `ipv6_skip_exthdr` finds them: `None`
/// for a later fragment or a chain that does not hold together.
fn transport(ip: &[u8]) -> Option<(usize, u8)> {
    let ext = ExtHeaders::parse(*ip.get(6)?, ip.get(HEADER_LEN..)?).ok()?;
    if !ext.is_first_fragment() {
        return None;
    }
    Some((ext.upper_offset?, u8::from(ext.protocol)))
}

/// The transport checksum over the IPv6 pseudo-header verifies.
fn l4_checksum_ok(ip: &[u8], off: usize, proto: u8) -> bool {
    let Some(l4) = ip.get(off..) else {
        return false;
    };
    let sum = checksum::combine(&[
        checksum::pseudo_header_ipv6(
            addr(&ip[8..24]),
            addr(&ip[24..40]),
            IpProtocol::from(proto),
            l4.len() as u32,
        ),
        checksum::data(l4),
    ]);
    sum == 0xffff
}

/// nf_send_unreach6's `reject6_csum_ok`: a later fragment or a broken chain earns no
/// answer, nor a datagram whose checksum does not verify (protocols whose checksum does
/// not cover the payload this way, and UDP without one, are not checked).
pub fn reject6_csum_ok(ip: &[u8]) -> bool {
    let Some((off, proto)) = transport(ip) else {
        return false;
    };
    if off >= ip.len() {
        return false;
    }
    let verify = match proto {
        17 => ip.get(off + 6..off + 8).is_none_or(|c| c != [0, 0]),
        47 | 51 | 50 | 132 | 136 | 33 => false,
        _ => true,
    };
    !verify || l4_checksum_ok(ip, off, proto)
}

/// nf_send_reset6: the TCP reset answering `ip` (an IPv6 packet), or `None` when it earns
/// none (not TCP, a later fragment, a RST, a bad checksum). From the original destination
/// to its source, ports swapped, hop limit 64, traffic class and flow label 0, a 20-byte
/// header: `seq = ack_seq` and RST for a segment with ACK; otherwise `seq = 0`, RST|ACK
/// and `ack_seq = seq + SYN + FIN + payload`.
pub fn tcp_reset6(ip: &[u8]) -> Option<Vec<u8>> {
    let (off, proto) = transport(ip)?;
    let l4 = ip.get(off..)?;
    if proto != IPPROTO_TCP || l4.len() < 20 {
        return None;
    }
    let flags = l4[13];
    if flags & 0x04 != 0 || !l4_checksum_ok(ip, off, proto) {
        return None;
    }
    let mut out = vec![0u8; HEADER_LEN + 20];
    out[0] = 0x60;
    out[4..6].copy_from_slice(&20u16.to_be_bytes());
    out[6] = IPPROTO_TCP;
    out[7] = RESET_HOP_LIMIT;
    out[8..24].copy_from_slice(&ip[24..40]);
    out[24..40].copy_from_slice(&ip[8..24]);
    let t = &mut out[HEADER_LEN..];
    super::reject::reset_tcp_header(t, l4, flags);
    let c = checksum::finish(&[
        checksum::pseudo_header_ipv6(addr(&ip[24..40]), addr(&ip[8..24]), IpProtocol::Tcp, 20),
        checksum::data(t),
    ]);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    Some(out)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reject6With {
    NoRoute,
    AdmProhibited,
    AddrUnreachable,
    #[default]
    PortUnreachable,
    TcpReset,
    PolicyFail,
    RejectRoute,
}

impl Reject6With {
    /// Canonical name (what ip6tables prints) and the alias it accepts (libip6t_REJECT's
    /// table; `tcp-reset` has none).
    pub const NAMES: [(Reject6With, &'static str, Option<&'static str>); 7] = [
        (Reject6With::NoRoute, "icmp6-no-route", Some("no-route")),
        (
            Reject6With::AdmProhibited,
            "icmp6-adm-prohibited",
            Some("adm-prohibited"),
        ),
        (
            Reject6With::AddrUnreachable,
            "icmp6-addr-unreachable",
            Some("addr-unreach"),
        ),
        (
            Reject6With::PortUnreachable,
            "icmp6-port-unreachable",
            Some("port-unreach"),
        ),
        (Reject6With::TcpReset, "tcp-reset", None),
        (
            Reject6With::PolicyFail,
            "icmp6-policy-fail",
            Some("policy-fail"),
        ),
        (
            Reject6With::RejectRoute,
            "icmp6-reject-route",
            Some("reject-route"),
        ),
    ];

    pub fn name(self) -> &'static str {
        Reject6With::NAMES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("icmp6-port-unreachable", |(_, n, _)| *n)
    }

    /// The ICMPv6 destination-unreachable code (RFC 4443), or None for a TCP reset.
    pub fn icmp6_code(self) -> Option<u8> {
        match self {
            Reject6With::NoRoute => Some(0),
            Reject6With::AdmProhibited => Some(1),
            Reject6With::AddrUnreachable => Some(3),
            Reject6With::PortUnreachable => Some(4),
            Reject6With::PolicyFail => Some(5),
            Reject6With::RejectRoute => Some(6),
            Reject6With::TcpReset => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reject6Target {
    pub with: Reject6With,
}

impl crate::ruleset::ext::TargetExt for Reject6Target {
    const NAME: &'static str = "REJECT";
    const REVISION: u8 = 0;
    const TERMINAL: bool = true;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;

    fn usable(&self) -> crate::ruleset::Usable {
        use crate::ruleset::Hook::*;
        crate::ruleset::Usable::in_table(
            crate::ruleset::TableKind::Filter,
            &[Input, Forward, Output],
        )
    }

    /// ip6t_REJECT's checkentry: a TCP reset needs `-p tcp` (not negated).
    fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        if self.with == Reject6With::TcpReset && spec.exact_proto() != Some(IPPROTO_TCP) {
            return Err("REJECT: --reject-with tcp-reset is only valid with -p tcp".into());
        }
        Ok(())
    }

    /// Drops, answering with the ICMPv6 error or the reset (module doc).
    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        match self.with.icmp6_code() {
            Some(code) => {
                if reject6_csum_ok(cx.packet()) {
                    cx.send_icmp6_error(1, code);
                }
            }
            None => {
                if let Some(reset) = tcp_reset6(cx.packet()) {
                    cx.send_generated(&reset);
                }
            }
        }
        crate::ruleset::ext::TargetOutcome::Verdict(crate::pipeline::Verdict::Drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes() {
        assert_eq!(Reject6With::default().name(), "icmp6-port-unreachable");
        assert_eq!(Reject6With::NoRoute.icmp6_code(), Some(0));
        assert_eq!(Reject6With::TcpReset.icmp6_code(), None);
        let reset = Reject6Target {
            with: Reject6With::TcpReset,
        };
        let mut spec = RuleSpec::default();
        assert!(crate::ruleset::ext::TargetExt::validate(&reset, &spec).is_err());
        spec.proto = Some(crate::ruleset::Inv::plain(IPPROTO_TCP));
        assert!(crate::ruleset::ext::TargetExt::validate(&reset, &spec).is_ok());
    }
}
