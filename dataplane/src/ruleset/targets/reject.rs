//! `-j REJECT`: drop and answer with an ICMP error or a TCP RST (ipt_REJECT).

use crate::ruleset::matches::{
    IPPROTO_DCCP, IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
};
use crate::ruleset::RuleSpec;
use crate::wire::{checksum, read_u16, read_u32, write_u16, write_u32, IpProtocol, Ipv4Packet};
use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RejectWith {
    NetUnreachable,
    HostUnreachable,
    #[default]
    PortUnreachable,
    ProtoUnreachable,
    NetProhibited,
    HostProhibited,
    AdminProhibited,
    TcpReset,
}

impl RejectWith {
    /// Canonical name (what iptables prints) and the aliases it accepts.
    pub const NAMES: [(RejectWith, &'static str, &'static str); 8] = [
        (
            RejectWith::NetUnreachable,
            "icmp-net-unreachable",
            "net-unreach",
        ),
        (
            RejectWith::HostUnreachable,
            "icmp-host-unreachable",
            "host-unreach",
        ),
        (
            RejectWith::PortUnreachable,
            "icmp-port-unreachable",
            "port-unreach",
        ),
        (
            RejectWith::ProtoUnreachable,
            "icmp-proto-unreachable",
            "proto-unreach",
        ),
        (
            RejectWith::NetProhibited,
            "icmp-net-prohibited",
            "net-prohib",
        ),
        (
            RejectWith::HostProhibited,
            "icmp-host-prohibited",
            "host-prohib",
        ),
        (
            RejectWith::AdminProhibited,
            "icmp-admin-prohibited",
            "admin-prohib",
        ),
        (RejectWith::TcpReset, "tcp-reset", "tcp-rst"),
    ];

    pub fn name(self) -> &'static str {
        RejectWith::NAMES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("icmp-port-unreachable")
    }

    /// ICMP destination-unreachable code, or None for a TCP reset.
    pub fn icmp_code(self) -> Option<u8> {
        match self {
            RejectWith::NetUnreachable => Some(0),
            RejectWith::HostUnreachable => Some(1),
            RejectWith::ProtoUnreachable => Some(2),
            RejectWith::PortUnreachable => Some(3),
            RejectWith::NetProhibited => Some(9),
            RejectWith::HostProhibited => Some(10),
            RejectWith::AdminProhibited => Some(13),
            RejectWith::TcpReset => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectTarget {
    pub with: RejectWith,
}

impl RejectTarget {
    pub fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        if self.with == RejectWith::TcpReset && spec.exact_proto() != Some(IPPROTO_TCP) {
            return Err("REJECT: --reject-with tcp-reset is only valid with -p tcp".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The packet the kernel sends (nf_reject_ipv4.c: nf_send_unreach / nf_send_reset, and
// icmp.c: __icmp_send).
// ---------------------------------------------------------------------------------------------

/// TTL of every reply: `ip4_dst_hoplimit` and the ICMP socket both use the default
/// `net.ipv4.ip_default_ttl`.
pub const REPLY_TTL: u8 = 64;
/// `icmp_send` quotes at most this much of the offending datagram, so that the whole error
/// stays within 576 bytes (RFC 1812 4.3.2.3): 576 - 20 (IP) - 8 (ICMP).
pub const MAX_QUOTE: usize = 576 - 20 - 8;
/// IPTOS_PREC_INTERNETCONTROL, ORed into the TOS of ICMP errors.
const PREC_INTERNETCONTROL: u8 = 0xc0;
/// IPTOS_TOS_MASK: the part of the original TOS an ICMP error keeps.
const TOS_MASK: u8 = 0x1e;

/// ICMP types the kernel treats as errors (`icmp_pointers[type].error`): no error is sent in
/// reply to one of these. Types above 18 (NR_ICMP_TYPES) count as errors too.
pub fn icmp_type_is_error(t: u8) -> bool {
    !matches!(t, 0 | 8 | 13..=18)
}

/// The IPv4 header and the L4 bytes up to the total length, when `ip` is a well-formed IPv4
/// packet (version 4, IHL >= 5, total length within the buffer; bytes past it are padding).
fn split_ipv4(ip: &[u8]) -> Option<(&[u8], &[u8])> {
    let p = Ipv4Packet::new_checked(ip).ok()?;
    if p.version() != 4 {
        return None;
    }
    let hl = usize::from(p.header_len());
    let total = usize::from(p.total_len());
    Some((&ip[..hl], &ip[hl..total]))
}

fn addr(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// What `nf_send_unreach` / `nf_reject_ip_tcphdr_get` check before answering: the L4 checksum
/// (`nf_reject_verify_csum` + `nf_ip_checksum` on a packet whose checksum was not verified by
/// the NIC). Protocols without a full 16-bit one's-complement checksum are not checked, nor
/// UDP with checksum 0. Any other protocol (ICMP, and also unknown ones) must have a payload
/// that sums to zero, exactly as the kernel sums it.
fn l4_checksum_ok(hdr: &[u8], l4: &[u8]) -> bool {
    let proto = hdr[9];
    let (src, dst) = (addr(&hdr[12..16]), addr(&hdr[16..20]));
    let len = l4.len() as u32; // at most 65535
    match proto {
        IPPROTO_TCP => {
            checksum::combine(&[
                checksum::pseudo_header(src, dst, IpProtocol::Tcp, len),
                checksum::data(l4),
            ]) == 0xffff
        }
        IPPROTO_UDP => {
            if l4.len() >= 8 && l4[6] == 0 && l4[7] == 0 {
                return true;
            }
            checksum::combine(&[
                checksum::pseudo_header(src, dst, IpProtocol::Udp, len),
                checksum::data(l4),
            ]) == 0xffff
        }
        // GRE, ESP, AH, SCTP, UDP-Lite, DCCP: other integrity checks or partial checksums.
        47 | 50 | 51 | IPPROTO_SCTP | IPPROTO_UDPLITE | IPPROTO_DCCP => true,
        // The kernel sums the valid IP header (0xffff) with the payload.
        _ => checksum::combine(&[0xffff, checksum::data(l4)]) == 0xffff,
    }
}

/// Addresses the kernel never answers: a broadcast or multicast destination (`RTCF_BROADCAST |
/// RTCF_MULTICAST` on the input route), and sources that `ip_route_input` drops as martians
/// before any hook (multicast, limited broadcast, 0.0.0.0).
fn addresses_answerable(hdr: &[u8]) -> bool {
    let (src, dst) = (addr(&hdr[12..16]), addr(&hdr[16..20]));
    !(dst.is_broadcast()
        || dst.is_multicast()
        || src.is_broadcast()
        || src.is_multicast()
        || src.is_unspecified())
}

impl RejectTarget {
    /// Builds into `out` (cleared first) the IPv4 packet, without link-layer header, that the
    /// kernel sends when this REJECT rule matches `orig_ip` (the packet as the hook sees it:
    /// IPv4 header first; bytes past its total length are ignored). Returns false, with `out`
    /// empty, when the kernel sends nothing; the packet is dropped either way.
    ///
    /// Nothing is sent for: a non-IPv4 or truncated packet, a non-first fragment, a broadcast
    /// or multicast destination, a martian source, a bad L4 checksum (as checked by
    /// `nf_send_unreach` / `nf_reject_ip_tcphdr_get`), and
    /// - ICMP errors: an ICMP error (or an ICMP packet too short to read its type);
    /// - `tcp-reset`: a non-TCP packet, a TCP header shorter than 20 bytes, a RST.
    ///
    /// ICMP error (`icmp_send(skb, ICMP_DEST_UNREACH, code, 0)`):
    /// - source `reply_src`: for a packet to this host (INPUT) the kernel uses the original
    ///   destination; for a FORWARDed one, the address it picks for the route back to the
    ///   sender (the preferred source of the interface the error leaves by). The caller knows
    ///   which; pass the original destination for INPUT.
    /// - destination the original source; TTL 64; TOS `(tos & 0x1e) | 0xc0`; no DF (the ICMP
    ///   socket is IP_PMTUDISC_DONT); IP ID `ident` (the kernel draws it from its per-destination
    ///   ID generator, so any value is faithful; the caller may keep a counter); no IP options
    ///   (deviation: the kernel echoes record-route / timestamp / source-route options of the
    ///   original; NOP/EOL-only options are not echoed, as here).
    /// - ICMP type 3, `code`, unused field 0, then the original datagram from its IP header,
    ///   truncated to [`MAX_QUOTE`] bytes (the egress MTU is assumed to be >= 576).
    ///
    /// TCP reset (`nf_send_reset`): source the original destination (also when forwarding;
    /// `reply_src` and `ident` are not used), destination the original source, ports swapped,
    /// TTL 64, TOS 0, ID 0, DF, a 20-byte TCP header without options, window 0, urgent 0. If
    /// the original had ACK: `seq = ack_seq`, flags RST. Otherwise `seq = 0`, flags RST|ACK,
    /// `ack_seq = seq + SYN + FIN + payload length` (mod 2^32, payload = total length - IP
    /// header - TCP data offset, as the kernel computes it).
    ///
    /// ICMP rate limiting (`icmp_ratelimit`, `icmp_msgs_per_sec`: `pipeline::icmp_limit`)
    /// and link-layer broadcast (`pkt_type != PACKET_HOST`) are the caller's business.
    pub fn build(
        &self,
        orig_ip: &[u8],
        reply_src: Ipv4Addr,
        ident: u16,
        out: &mut Vec<u8>,
    ) -> bool {
        out.clear();
        let Some((hdr, l4)) = split_ipv4(orig_ip) else {
            return false;
        };
        if read_u16(hdr, 6) & 0x1fff != 0 || !addresses_answerable(hdr) {
            return false;
        }
        match self.with.icmp_code() {
            // nf_send_unreach answers only datagrams whose transport checksum verifies.
            Some(code) => {
                l4_checksum_ok(hdr, l4) && build_icmp_error(hdr, l4, 3, code, reply_src, ident, out)
            }
            None => build_reset(hdr, l4, out),
        }
    }
}

/// `icmp_send`: the ICMP error of type `icmp_type` about `orig_ip` the appliance itself
/// sends (REJECT's kinds, TTL expiry, no route), with the same rules as `build`'s ICMP
/// case but no transport checksum check (the router does not look at it).
pub fn icmp_error(
    orig_ip: &[u8],
    icmp_type: u8,
    code: u8,
    src: Ipv4Addr,
    ident: u16,
    out: &mut Vec<u8>,
) -> bool {
    out.clear();
    let Some((hdr, l4)) = split_ipv4(orig_ip) else {
        return false;
    };
    if read_u16(hdr, 6) & 0x1fff != 0 || !addresses_answerable(hdr) {
        return false;
    }
    build_icmp_error(hdr, l4, icmp_type, code, src, ident, out)
}

fn build_icmp_error(
    hdr: &[u8],
    l4: &[u8],
    icmp_type: u8,
    code: u8,
    src: Ipv4Addr,
    ident: u16,
    out: &mut Vec<u8>,
) -> bool {
    if hdr[9] == IPPROTO_ICMP && !matches!(l4.first(), Some(&t) if !icmp_type_is_error(t)) {
        return false;
    }
    let datagram_len = hdr.len() + l4.len();
    let quote = datagram_len.min(MAX_QUOTE);
    let total = 20 + 8 + quote;
    out.resize(total, 0);
    out[0] = 0x45;
    out[1] = (hdr[1] & TOS_MASK) | PREC_INTERNETCONTROL;
    write_u16(out, 2, total as u16);
    write_u16(out, 4, ident);
    // flags/fragment 0: no DF.
    out[8] = REPLY_TTL;
    out[9] = IPPROTO_ICMP;
    out[12..16].copy_from_slice(&src.octets());
    out[16..20].copy_from_slice(&hdr[12..16]);
    let c = !checksum::data(&out[..20]);
    write_u16(out, 10, c);
    out[20] = icmp_type;
    out[21] = code;
    // checksum and the unused word stay 0 for now.
    let split = hdr.len().min(quote);
    out[28..28 + split].copy_from_slice(&hdr[..split]);
    out[28 + split..total].copy_from_slice(&l4[..quote - split]);
    let c = !checksum::data(&out[20..]);
    write_u16(out, 22, c);
    true
}

/// The reset's 20-byte TCP header in `t` (zeroed) answering the segment `l4` with
/// `flags`, either family (nf_reject_ip_tcphdr_put, nf_reject_ip6_tcphdr_put): ports
/// swapped; `seq = ack_seq` and RST for a segment with ACK, otherwise `seq = 0`, RST|ACK
/// and `ack_seq = seq + SYN + FIN + payload`. The checksum is the caller's.
pub(crate) fn reset_tcp_header(t: &mut [u8], l4: &[u8], flags: u8) {
    t[0..2].copy_from_slice(&l4[2..4]);
    t[2..4].copy_from_slice(&l4[0..2]);
    t[12] = 5 << 4;
    if flags & 0x10 != 0 {
        t[4..8].copy_from_slice(&l4[8..12]);
        t[13] = 0x04; // RST
    } else {
        let seq = read_u32(l4, 4);
        let doff = u32::from(l4[12] >> 4) * 4;
        let payload = (l4.len() as u32).wrapping_sub(doff);
        let ack = seq
            .wrapping_add(u32::from(flags & 0x02 != 0))
            .wrapping_add(u32::from(flags & 0x01 != 0))
            .wrapping_add(payload);
        write_u32(t, 8, ack);
        t[13] = 0x14; // RST | ACK
    }
}

fn build_reset(hdr: &[u8], l4: &[u8], out: &mut Vec<u8>) -> bool {
    if hdr[9] != IPPROTO_TCP || l4.len() < 20 {
        return false;
    }
    let flags = l4[13];
    if flags & 0x04 != 0 || !l4_checksum_ok(hdr, l4) {
        return false;
    }
    out.resize(40, 0);
    out[0] = 0x45;
    write_u16(out, 2, 40);
    write_u16(out, 6, 0x4000); // DF
    out[8] = REPLY_TTL;
    out[9] = IPPROTO_TCP;
    out[12..16].copy_from_slice(&hdr[16..20]);
    out[16..20].copy_from_slice(&hdr[12..16]);
    let c = !checksum::data(&out[..20]);
    write_u16(out, 10, c);
    reset_tcp_header(&mut out[20..], l4, flags);
    let (src, dst) = (addr(&hdr[16..20]), addr(&hdr[12..16]));
    let c = checksum::finish(&[
        checksum::pseudo_header(src, dst, IpProtocol::Tcp, 20),
        checksum::data(&out[20..]),
    ]);
    write_u16(out, 36, c);
    true
}

impl crate::ruleset::ext::TargetExt for RejectTarget {
    const NAME: &'static str = "REJECT";
    const REVISION: u8 = 0;
    const TERMINAL: bool = true;

    fn usable(&self) -> crate::ruleset::Usable {
        use crate::ruleset::Hook::*;
        crate::ruleset::Usable::in_table(
            crate::ruleset::TableKind::Filter,
            &[Input, Forward, Output],
        )
    }

    fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        RejectTarget::validate(self, spec)
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        let src = cx.reply_source();
        let ident = cx.next_ident();
        let mut out = Vec::new();
        if self.build(cx.packet(), src, ident, &mut out) {
            match self.with.icmp_code() {
                // nf_send_unreach answers through icmp_send and its rate limits, and
                // icmp_send not to a frame sent to a link-layer broadcast.
                Some(_) if cx.link_broadcast() => {}
                Some(code) => cx.send_icmp_error(out, 3, code),
                None => cx.send_generated(&out),
            }
        }
        crate::ruleset::ext::TargetOutcome::Verdict(crate::pipeline::Verdict::Drop)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    struct Case {
        name: &'static str,
        with: RejectWith,
        orig: &'static str,
        reply: Option<&'static str>,
    }

    /// Captured from the kernel (6.18, iptables 1.8.9 nft): namespaces nfdptgt-a (10.77.1.1)
    /// -- nfdptgt-r (10.77.1.2 / 10.77.2.2) -- nfdptgt-b (10.77.2.1) on veth pairs; in r,
    /// `iptables -A INPUT -p tcp --dport 9 -j REJECT --reject-with tcp-reset`,
    /// `--dport 10 -j REJECT --reject-with icmp-net-unreachable`, `-p udp --dport 9 -j REJECT`,
    /// `-p udp --dport 10 ... icmp-host-prohibited`, `-p icmp ... icmp-admin-prohibited`,
    /// `-p 253 ... icmp-proto-unreachable`, `-p udp ... icmp-net-prohibited` and
    /// `-A FORWARD -p udp --dport 9 -j REJECT --reject-with icmp-host-unreachable`, with
    /// `net.ipv4.icmp_ratelimit=0`. Packets were sent from a with scapy and both directions
    /// captured with tcpdump on a's interface; `orig` is the IP packet as sent, `reply` what r
    /// sent back (None: tcpdump saw no reply within the run).
    /// The IP ID of an ICMP error is the kernel's random choice: the test passes the captured
    /// ID in as `ident`, so every other byte (checksums included) is compared exactly.
    /// The RST leaves the kernel CHECKSUM_PARTIAL (the TCP checksum field holds only the
    /// pseudo-header sum, for the NIC to complete) and veth forwards it as is: for RSTs the
    /// test checks that the captured field is that seed, and compares the rest of the packet
    /// exactly, with the checksum verified in full.
    const CASES: &[Case] = &[
    Case {
        name: "syn",
        with: RejectWith::TcpReset,
        orig: "4500003cd431400040064fee0a4d01010a4d01029c400009000003e800000000a002faf066080000020405b40402080a000030390000000001030307",
        reply: Some("4500002800004000400624340a4d01020a4d010100099c4000000000000003e95014000016b70000"),
    },
    Case {
        name: "ack_psh_data",
        with: RejectWith::TcpReset,
        orig: "4500002d00644000400623cb0a4d01010a4d01029c410009000003e800001388501804009d9e000068656c6c6f",
        reply: Some("4500002800004000400624340a4d01020a4d010100099c4100001388000000005004000016b70000"),
    },
    Case {
        name: "syn_fin_urg_data_seq_wraps",
        with: RejectWith::TcpReset,
        orig: "4500002b00650000400663cc0a4d01010a4d01029c420009fffffffe0000000050230000386e0007616263",
        reply: Some("4500002800004000400624340a4d01020a4d010100099c4200000000000000035014000016b70000"),
    },
    Case {
        name: "rst",
        with: RejectWith::TcpReset,
        orig: "4500002800660000400663ce0a4d01010a4d01029c430009000000050000000050042000dcf20000",
        reply: None,
    },
    Case {
        name: "tcp_with_ip_options_tos_1f",
        with: RejectWith::NetUnreachable,
        orig: "461f004000670000400660950a4d01010a4d0102010101009c44000a0000004d00000058a0c2020061770000020405b40402080a000030390000000001030307",
        reply: Some("45de005c23c9000040013f5e0a4d01020a4d0101030013cb00000000461f004000670000400660950a4d01010a4d0102010101009c44000a0000004d00000058a0c2020061770000020405b40402080a000030390000000001030307"),
    },
    Case {
        name: "udp_tos_1f",
        with: RejectWith::PortUnreachable,
        orig: "451f002600680000211182a40a4d01010a4d0102138800090012d09230313233343536373839",
        reply: Some("45de00422406000040013f3b0a4d01020a4d0101030313bd00000000451f002600680000211182a40a4d01010a4d0102138800090012d09230313233343536373839"),
    },
    Case {
        name: "udp_1000_bytes_truncated",
        with: RejectWith::HostProhibited,
        orig: "450004040069400040111fe40a4d01010a4d01021389000a03f08d1f000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        reply: Some("45c002402427000040013d3a0a4d01020a4d0101030acbc300000000450004040069400040111fe40a4d01010a4d01021389000a03f08d1f000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff0001020304050607"),
    },
    Case {
        name: "icmp_echo",
        with: RejectWith::AdminProhibited,
        orig: "45000024006a0000400163d30a4d01010a4d010208002e311234000770696e6764617461",
        reply: Some("45c00040244f000040013f120a4d01020a4d0101030dfcf20000000045000024006a0000400163d30a4d01010a4d010208002e311234000770696e6764617461"),
    },
    Case {
        name: "icmp_error",
        with: RejectWith::AdminProhibited,
        orig: "45000040006b0000400163b60a4d01010a4d0102030313bb000000004500002403e700003d1163460a4d01020a4d01010035829a0010a09c7171717171717171",
        reply: None,
    },
    Case {
        name: "proto_253_payload_not_summing_to_zero",
        with: RejectWith::ProtoUnreachable,
        orig: "45000018006d000040fd62e00a4d01010a4d010200010203",
        reply: None,
    },
    Case {
        name: "forwarded_udp",
        with: RejectWith::HostUnreachable,
        orig: "4500001f006e0000401162c50a4d01010a4d0201138b0009000b0a31667764",
        reply: Some("45c0003b24d6000040013e900a4d01020a4d0101030114b7000000004500001f006e00003f1163c50a4d01010a4d0201138b0009000b0a31667764"),
    },
    Case {
        name: "udp_marked",
        with: RejectWith::NetProhibited,
        orig: "45000020006f0000401163c20a4d01010a4d0102138c000c000cf5d46d61726b",
        reply: Some("45c0003c24fb000040013e6a0a4d01020a4d0101030913b10000000045000020006f0000401163c20a4d01010a4d0102138c000c000cf5d46d61726b"),
    },
    Case {
        name: "icmp_echo_reply_2_bytes",
        with: RejectWith::AdminProhibited,
        orig: "4500001600720000400163d90a4d01010a4d01020000",
        reply: Some("45c000322561000040013e0e0a4d01020a4d0101030dfcf2000000004500001600720000400163d90a4d01010a4d01020000"),
    },
    Case {
        name: "icmp_frag_needed",
        with: RejectWith::AdminProhibited,
        orig: "4500004400730000400163aa0a4d01010a4d010203040eb3000005004500002803e600004006604e0a4d01020a4d010100169c400000002a0000000050102000dcb70000",
        reply: None,
    },
    Case {
        name: "icmp_redirect",
        with: RejectWith::AdminProhibited,
        orig: "4500003800740000400163b50a4d01010a4d01020501ef360a4d01094500001c03e5000040115b8e0a4d0102080808080035003500080000",
        reply: None,
    },
    Case {
        name: "tcp_bad_checksum",
        with: RejectWith::TcpReset,
        orig: "4500002800750000400663bf0a4d01010a4d01029c46000900000001000000025010200012340000",
        reply: None,
    },
    ];

    const R: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);

    /// The packet as the FORWARD hook sees it: the TTL already decremented by forwarding.
    fn at_hook(name: &str, mut orig: Vec<u8>) -> Vec<u8> {
        if name.starts_with("forwarded") {
            Ipv4Packet::new_unchecked(&mut orig[..]).decrement_ttl();
        }
        orig
    }

    #[test]
    fn matches_kernel_captures() {
        let mut out = Vec::new();
        for c in CASES {
            let orig = at_hook(c.name, hex(c.orig));
            let expected = c.reply.map(hex);
            let ident = expected.as_ref().map_or(0, |r| read_u16(r, 4));
            let sent = RejectTarget { with: c.with }.build(&orig, R, ident, &mut out);
            match expected {
                Some(mut e) => {
                    assert!(sent, "{}: no reply built", c.name);
                    if e[9] == IPPROTO_TCP {
                        let (src, dst) = (addr(&e[12..16]), addr(&e[16..20]));
                        let seed = checksum::pseudo_header(src, dst, IpProtocol::Tcp, 20);
                        assert_eq!(read_u16(&e, 36), seed, "{}: partial checksum", c.name);
                        let ip = Ipv4Packet::new_checked(&out[..]).unwrap();
                        let tcp = crate::wire::TcpPacket::new_checked(ip.payload()).unwrap();
                        assert!(tcp.verify_checksum(src, dst), "{}", c.name);
                        e[36..38].copy_from_slice(&out[36..38]);
                    }
                    assert_eq!(hex_of(&out), hex_of(&e), "{}", c.name);
                }
                None => {
                    assert!(!sent, "{}: the kernel sent nothing", c.name);
                    assert!(out.is_empty());
                }
            }
        }
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn case(name: &str) -> Vec<u8> {
        let c = CASES.iter().find(|c| c.name == name).unwrap();
        hex(c.orig)
    }

    #[test]
    fn rst_fields() {
        let mut out = Vec::new();
        let syn = case("syn");
        assert!(RejectTarget {
            with: RejectWith::TcpReset
        }
        .build(&syn, R, 7, &mut out));
        let ip = Ipv4Packet::new_checked(&out[..]).unwrap();
        assert_eq!(
            (ip.src_addr(), ip.dst_addr()),
            (R, Ipv4Addr::new(10, 77, 1, 1))
        );
        assert_eq!(
            (ip.ttl(), ip.tos(), ip.ident(), ip.dont_frag()),
            (64, 0, 0, true)
        );
        assert!(ip.verify_checksum());
        let tcp = crate::wire::TcpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((tcp.src_port(), tcp.dst_port()), (9, 40000));
        assert_eq!((tcp.seq_number(), tcp.ack_number()), (0, 1001));
        assert_eq!(tcp.flags().bits(), 0x14);
        assert_eq!((tcp.window_len(), tcp.header_len()), (0, 20));
        assert!(tcp.verify_checksum(ip.src_addr(), ip.dst_addr()));
        // Trailing Ethernet padding is not payload.
        let mut padded = case("ack_psh_data");
        padded.extend_from_slice(&[0; 9]);
        let mut a = Vec::new();
        assert!(RejectTarget {
            with: RejectWith::TcpReset
        }
        .build(&padded, R, 0, &mut a));
        let mut b = Vec::new();
        assert!(RejectTarget {
            with: RejectWith::TcpReset
        }
        .build(&case("ack_psh_data"), R, 0, &mut b));
        assert_eq!(a, b);
    }

    #[test]
    fn refusals() {
        let t = |w, p: &[u8]| RejectTarget { with: w }.build(p, R, 0, &mut Vec::new());
        let udp = case("udp_tos_1f");
        assert!(t(RejectWith::PortUnreachable, &udp));
        // tcp-reset only answers TCP.
        assert!(!t(RejectWith::TcpReset, &udp));
        // Non-first fragment: no answer; a first fragment (MF) is answered.
        let mut frag = udp.clone();
        Ipv4Packet::new_unchecked(&mut frag[..]).set_frag_offset(1);
        Ipv4Packet::new_unchecked(&mut frag[..]).fill_checksum();
        assert!(!t(RejectWith::PortUnreachable, &frag));
        let mut first = udp.clone();
        Ipv4Packet::new_unchecked(&mut first[..]).set_more_frags(true);
        assert!(t(RejectWith::PortUnreachable, &first));
        // Broadcast / multicast destinations and martian sources.
        for (at, a) in [
            (16, [255, 255, 255, 255]),
            (16, [224, 0, 0, 1]),
            (12, [0, 0, 0, 0]),
            (12, [239, 1, 1, 1]),
        ] {
            let mut p = udp.clone();
            p[at..at + 4].copy_from_slice(&a);
            // Keep the UDP checksum out of the way: 0 means none.
            p[26] = 0;
            p[27] = 0;
            assert!(!t(RejectWith::PortUnreachable, &p), "{a:?}");
        }
        // UDP without checksum is answered; with a wrong one it is not.
        let mut p = udp.clone();
        p[26] = 0;
        p[27] = 0;
        assert!(t(RejectWith::PortUnreachable, &p));
        p[26] = 1;
        assert!(!t(RejectWith::PortUnreachable, &p));
        // GRE is not checksum-checked.
        let mut gre = hex("4500001800010000402f0000");
        gre.extend_from_slice(&[10, 77, 1, 1, 10, 77, 1, 2, 0, 0, 8, 1]);
        Ipv4Packet::new_unchecked(&mut gre[..]).fill_checksum();
        assert!(t(RejectWith::ProtoUnreachable, &gre));
        gre[9] = 253;
        Ipv4Packet::new_unchecked(&mut gre[..]).fill_checksum();
        assert!(!t(RejectWith::ProtoUnreachable, &gre));
        // Truncated or not IPv4.
        assert!(!t(RejectWith::PortUnreachable, &udp[..udp.len() - 1]));
        assert!(!t(RejectWith::PortUnreachable, &[]));
        let mut v6 = udp.clone();
        v6[0] = 0x65;
        assert!(!t(RejectWith::PortUnreachable, &v6));
        // A TCP header shorter than 20 bytes gets no RST.
        let syn = case("syn");
        let mut short = syn[..36].to_vec();
        Ipv4Packet::new_unchecked(&mut short[..]).set_total_len(36);
        assert!(!t(RejectWith::TcpReset, &short));
    }

    #[test]
    fn icmp_error_types() {
        for ty in 0..=255u8 {
            let expected = matches!(ty, 0 | 8 | 13..=18);
            assert_eq!(!icmp_type_is_error(ty), expected, "{ty}");
        }
        // An ICMP echo request with an empty payload? The type byte is needed.
        let mut p = hex("4500001400010000400100000a4d01010a4d0102");
        Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
        assert!(!RejectTarget::default().build(&p, R, 0, &mut Vec::new()));
    }

    #[test]
    fn quote_is_capped_at_576() {
        let mut out = Vec::new();
        let big = case("udp_1000_bytes_truncated");
        assert!(RejectTarget {
            with: RejectWith::HostProhibited
        }
        .build(&big, R, 1, &mut out));
        assert_eq!(out.len(), 576);
        assert_eq!(&out[28..], &big[..MAX_QUOTE]);
        let small = case("udp_tos_1f");
        assert!(RejectTarget::default().build(&small, R, 1, &mut out));
        assert_eq!(out.len(), 28 + small.len());
        assert_eq!(out[1], 0xde);
        assert_eq!(read_u16(&out, 6), 0, "no DF on ICMP errors");
    }
}
