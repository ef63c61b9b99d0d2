//! `-j LOG`: a kernel-shaped log line per packet (xt_LOG, IPv4 and IPv6); the packet goes
//! on.

use core::fmt::Write;

/// The kernel's limit on `--log-prefix` (30 bytes with the terminating NUL).
pub const MAX_PREFIX_LEN: usize = 29;
/// `warning`, the default `--log-level`.
pub const DEFAULT_LEVEL: u8 = 4;

pub mod flags {
    pub const TCPSEQ: u8 = 0x01;
    pub const TCPOPT: u8 = 0x02;
    pub const IPOPT: u8 = 0x04;
    pub const UID: u8 = 0x08;
    pub const MACDECODE: u8 = 0x20;
}

/// Syslog level names iptables accepts for `--log-level`.
pub const LEVEL_NAMES: [(&str, u8); 8] = [
    ("emerg", 0),
    ("alert", 1),
    ("crit", 2),
    ("error", 3),
    ("warning", 4),
    ("notice", 5),
    ("info", 6),
    ("debug", 7),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTarget {
    pub level: u8,
    pub prefix: String,
    pub flags: u8,
}

impl Default for LogTarget {
    fn default() -> Self {
        LogTarget {
            level: DEFAULT_LEVEL,
            prefix: String::new(),
            flags: 0,
        }
    }
}

impl LogTarget {
    /// The line the kernel logs for this rule (at syslog level `self.level`): the prefix
    /// directly followed by [`format_packet`]'s text, trailing space included.
    pub fn log_line(
        &self,
        in_iface: Option<&str>,
        out_iface: Option<&str>,
        mac: Option<&[u8]>,
        ip: &[u8],
        mark: u32,
    ) -> String {
        let mut s = String::with_capacity(self.prefix.len() + 256);
        s.push_str(&self.prefix);
        format_packet(&mut s, in_iface, out_iface, mac, ip, self.flags, mark);
        s
    }
}

const IP_CE: u16 = 0x8000;
const IP_DF: u16 = 0x4000;
const IP_MF: u16 = 0x2000;
const IP_OFFSET: u16 = 0x1fff;

/// `required_len` of nf_log_syslog.c: bytes of ICMP message needed to print a type's fields.
fn icmp_required_len(t: u8) -> usize {
    match t {
        0 | 8 => 4,
        3 | 4 | 5 | 11 | 12 => 8 + 20,
        13 | 14 => 20,
        17 | 18 => 12,
        _ => 0,
    }
}

fn get(skb: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    skb.get(off..off.checked_add(len)?)
}

/// `skb->len - off` as the kernel prints it (unsigned int arithmetic).
fn rest(skb: &[u8], off: usize) -> u32 {
    (skb.len() as u32).wrapping_sub(off as u32)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn hex_upper(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
}

/// The kernel's nf_log text for an IPv4 packet (`nf_log_ip_packet` in nf_log_syslog.c,
/// Linux 6.18), without the syslog level and the prefix:
/// `IN=eth0 OUT= MAC=aa:bb:..:08:00 SRC=1.2.3.4 DST=5.6.7.8 LEN=60 TOS=0x00 PREC=0x00 TTL=64
/// ID=54321 DF PROTO=TCP SPT=40000 DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0 ` (the kernel's
/// trailing space included), appended to `out`. An IPv6 packet (version 6) is printed as
/// `nf_log_ip6_packet` does: `SRC=2001:0db8:0000:.. DST=.. LEN=.. TC=.. HOPLIMIT=..
/// FLOWLBL=.. ` (addresses in full), its extension headers, then the upper layer
/// (`dump_ipv6`).
///
/// - `in_iface` / `out_iface`: the hook's devices (`IN=` empty on OUTPUT / POSTROUTING, `OUT=`
///   empty on PREROUTING / INPUT). The MAC part is printed only with an input device: `mac`
///   is the link-layer header (14 bytes for Ethernet, printed `MAC=xx:..` in full), None for
///   no header (`MAC= `). With [`flags::MACDECODE`] and a 14-byte header: `MACSRC= MACDST=
///   MACPROTO=`.
/// - `ip`: the packet from its IP header; bytes past the total length are ignored (the
///   kernel trims them); fields beyond the end of the buffer print as the kernel prints
///   missing bytes (`TRUNCATED`, `INCOMPLETE [n bytes]`).
/// - `flags`: the [`flags`] bits (`--log-tcp-sequence`, `--log-tcp-options`,
///   `--log-ip-options`, `--log-macdecode`); `UID` prints nothing (no local sockets here).
/// - `mark`: the packet mark, printed `MARK=0x..` when non-zero.
///
/// The TRACE target's lines use the same text after their own prefix.
pub fn format_packet(
    out: &mut String,
    in_iface: Option<&str>,
    out_iface: Option<&str>,
    mac: Option<&[u8]>,
    ip: &[u8],
    flags: u8,
    mark: u32,
) {
    let _ = write!(
        out,
        "IN={} OUT={} ",
        in_iface.unwrap_or(""),
        out_iface.unwrap_or("")
    );
    if ip.first().is_some_and(|b| b >> 4 == 6) {
        if in_iface.is_some() {
            dump_mac(out, mac, flags);
        }
        // skb->len: the payload length plus the header when it fits (ip6_rcv trims).
        let skb = match ip.get(4..6) {
            Some(l) => &ip[..(usize::from(be16(l, 0)) + 40).min(ip.len())],
            None => ip,
        };
        dump_ipv6(out, skb, 0, flags, mark);
        return;
    }
    if in_iface.is_some() {
        dump_mac(out, mac, flags);
    }
    // skb->len: the IP total length when it fits the buffer (ip_rcv trims the rest).
    let skb = match ip.get(2..4) {
        Some(l) => {
            &ip[..usize::from(be16(l, 0))
                .clamp(20, ip.len().max(20))
                .min(ip.len())]
        }
        None => ip,
    };
    dump_ipv4(out, skb, 0, flags, mark);
}

/// `dump_mac_header` (IPv4) and `dump_ipv6_mac_header` (the same text on 6.18).
fn dump_mac(out: &mut String, mac: Option<&[u8]>, flags: u8) {
    if flags & self::flags::MACDECODE != 0 {
        if let Some(h) = mac.filter(|h| h.len() >= 14) {
            let m = |out: &mut String, b: &[u8]| {
                let _ = write!(
                    out,
                    "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    b[0], b[1], b[2], b[3], b[4], b[5]
                );
            };
            out.push_str("MACSRC=");
            m(out, &h[6..12]);
            out.push_str(" MACDST=");
            m(out, &h[0..6]);
            let _ = write!(out, " MACPROTO={:04x} ", be16(h, 12));
            return;
        }
    }
    out.push_str("MAC=");
    if let Some(h) = mac {
        for (i, b) in h.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            let _ = write!(out, "{b:02x}");
        }
    }
    out.push(' ');
}

/// `dump_ipv4_packet`: the IP header at `iphoff` of `skb`, and its L4 header; recursion once
/// into the packet an ICMP error quotes.
fn dump_ipv4(out: &mut String, skb: &[u8], iphoff: usize, flags: u8, mark: u32) {
    let Some(ih) = get(skb, iphoff, 20) else {
        out.push_str("TRUNCATED");
        return;
    };
    let _ = write!(
        out,
        "SRC={}.{}.{}.{} DST={}.{}.{}.{} ",
        ih[12], ih[13], ih[14], ih[15], ih[16], ih[17], ih[18], ih[19]
    );
    let _ = write!(
        out,
        "LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
        be16(ih, 2),
        ih[1] & 0x1e,
        ih[1] & 0xe0,
        ih[8],
        be16(ih, 4)
    );
    let frag_off = be16(ih, 6);
    if frag_off & IP_CE != 0 {
        out.push_str("CE ");
    }
    if frag_off & IP_DF != 0 {
        out.push_str("DF ");
    }
    if frag_off & IP_MF != 0 {
        out.push_str("MF ");
    }
    let fragment = frag_off & IP_OFFSET != 0;
    if fragment {
        let _ = write!(out, "FRAG:{} ", frag_off & IP_OFFSET);
    }
    let ihl = usize::from(ih[0] & 0x0f) * 4;
    if flags & self::flags::IPOPT != 0 && ihl > 20 {
        let Some(op) = get(skb, iphoff + 20, ihl - 20) else {
            out.push_str("TRUNCATED");
            return;
        };
        out.push_str("OPT (");
        hex_upper(out, op);
        out.push_str(") ");
    }
    let l4 = iphoff + ihl;
    match ih[9] {
        6 => {
            if !dump_tcp(out, skb, fragment, l4, flags) {
                return;
            }
        }
        17 | 136 => {
            if !dump_udp(out, skb, ih[9], fragment, l4) {
                return;
            }
        }
        1 => dump_icmp(out, skb, iphoff, fragment, l4, flags),
        51 => {
            if !fragment {
                out.push_str("PROTO=AH ");
                match get(skb, l4, 12) {
                    None => {
                        let _ = write!(out, "INCOMPLETE [{} bytes] ", rest(skb, l4));
                    }
                    Some(ah) => {
                        let _ = write!(out, "SPI=0x{:x} ", be32(ah, 4));
                    }
                }
            }
        }
        50 => {
            out.push_str("PROTO=ESP ");
            if !fragment {
                match get(skb, l4, 8) {
                    None => {
                        let _ = write!(out, "INCOMPLETE [{} bytes] ", rest(skb, l4));
                    }
                    Some(eh) => {
                        let _ = write!(out, "SPI=0x{:x} ", be32(eh, 0));
                    }
                }
            }
        }
        p => {
            let _ = write!(out, "PROTO={p} ");
        }
    }
    if iphoff == 0 && mark != 0 {
        let _ = write!(out, "MARK=0x{mark:x} ");
    }
}

/// `nf_log_dump_udp_header` (UDP and UDP-Lite); false where the kernel returns 1.
fn dump_udp(out: &mut String, skb: &[u8], proto: u8, fragment: bool, off: usize) -> bool {
    out.push_str(if proto == 17 {
        "PROTO=UDP "
    } else {
        "PROTO=UDPLITE "
    });
    if fragment {
        return true;
    }
    let Some(uh) = get(skb, off, 8) else {
        let _ = write!(out, "INCOMPLETE [{} bytes] ", rest(skb, off));
        return false;
    };
    let _ = write!(
        out,
        "SPT={} DPT={} LEN={} ",
        be16(uh, 0),
        be16(uh, 2),
        be16(uh, 4)
    );
    true
}

/// `%pI6`: eight groups of four lower-case hex digits, nothing compressed.
fn write_ipv6(out: &mut String, a: &[u8]) {
    for (i, g) in a.chunks_exact(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{:02x}{:02x}", g[0], g[1]);
    }
}

/// `dump_ipv6_packet` (nf_log_syslog.c, Linux 6.18): the IPv6 header at `ip6hoff` of
/// `skb`, its extension headers (`OPT ( .. ) ` each with `--log-ip-options`; a fragment
/// header's `FRAG:` always), and the upper layer; recursion once into the packet an ICMPv6
/// error quotes. Where the kernel returns early (ESP, a header after a later fragment's,
/// a truncated one) the line ends there, without `MARK=`.
fn dump_ipv6(out: &mut String, skb: &[u8], ip6hoff: usize, flags: u8, mark: u32) {
    use crate::wire::ipv6::next_header as nh;
    let ipopt = flags & self::flags::IPOPT != 0;
    let Some(ih) = get(skb, ip6hoff, 40) else {
        out.push_str("TRUNCATED");
        return;
    };
    out.push_str("SRC=");
    write_ipv6(out, &ih[8..24]);
    out.push_str(" DST=");
    write_ipv6(out, &ih[24..40]);
    let word = be32(ih, 0);
    let _ = write!(
        out,
        " LEN={} TC={} HOPLIMIT={} FLOWLBL={} ",
        usize::from(be16(ih, 4)) + 40,
        (word & 0x0ff0_0000) >> 20,
        ih[7],
        word & 0x000f_ffff
    );
    let mut fragment = false;
    let mut ptr = ip6hoff + 40;
    let mut current = ih[6];
    // nf_ip6_ext_hdr: the extension headers, ESP included, no-next-header excluded.
    while matches!(
        current,
        nh::HOP_BY_HOP | nh::ROUTING | nh::FRAGMENT | nh::ESP | nh::AUTH | nh::DST_OPTS
    ) {
        let Some(hp) = get(skb, ptr, 2) else {
            out.push_str("TRUNCATED");
            return;
        };
        if ipopt {
            out.push_str("OPT ( ");
        }
        let hdrlen = match current {
            nh::FRAGMENT => {
                out.push_str("FRAG:");
                let Some(fh) = get(skb, ptr, 8) else {
                    out.push_str("TRUNCATED ");
                    return;
                };
                let off = be16(fh, 2);
                let _ = write!(out, "{} ", off & 0xfff8);
                if off & 1 != 0 {
                    out.push_str("INCOMPLETE ");
                }
                let _ = write!(out, "ID:{:08x} ", be32(fh, 4));
                if off & 0xfff8 != 0 {
                    fragment = true;
                }
                8
            }
            nh::AUTH => {
                if ipopt {
                    out.push_str("AH ");
                    if fragment {
                        out.push(')');
                        return;
                    }
                    let Some(ah) = get(skb, ptr, 12) else {
                        let _ = write!(out, "INCOMPLETE [{} bytes] )", rest(skb, ptr));
                        return;
                    };
                    let _ = write!(out, "SPI=0x{:x} ", be32(ah, 4));
                }
                (usize::from(hp[1]) + 2) * 4
            }
            nh::ESP => {
                if ipopt {
                    out.push_str("ESP ");
                    if fragment {
                        out.push(')');
                        return;
                    }
                    match get(skb, ptr, 8) {
                        None => {
                            let _ = write!(out, "INCOMPLETE [{} bytes] )", rest(skb, ptr));
                        }
                        Some(eh) => {
                            let _ = write!(out, "SPI=0x{:x} )", be32(eh, 0));
                        }
                    }
                }
                return;
            }
            // Hop-by-hop, routing, destination options.
            _ => {
                if fragment {
                    if ipopt {
                        out.push(')');
                    }
                    return;
                }
                (usize::from(hp[1]) + 1) * 8
            }
        };
        if ipopt {
            out.push_str(") ");
        }
        current = hp[0];
        ptr += hdrlen;
    }
    match current {
        6 => {
            if !dump_tcp(out, skb, fragment, ptr, flags) {
                return;
            }
        }
        17 | 136 => {
            if !dump_udp(out, skb, current, fragment, ptr) {
                return;
            }
        }
        58 => {
            out.push_str("PROTO=ICMPv6 ");
            if !fragment {
                let Some(ic) = get(skb, ptr, 8) else {
                    let _ = write!(out, "INCOMPLETE [{} bytes] ", rest(skb, ptr));
                    return;
                };
                let _ = write!(out, "TYPE={} CODE={} ", ic[0], ic[1]);
                match ic[0] {
                    128 | 129 => {
                        let _ = write!(out, "ID={} SEQ={} ", be16(ic, 4), be16(ic, 6));
                    }
                    1..=4 => {
                        if ic[0] == 4 {
                            let _ = write!(out, "POINTER={:08x} ", be32(ic, 4));
                        }
                        if ip6hoff == 0 {
                            out.push('[');
                            dump_ipv6(out, skb, ptr + 8, flags, 0);
                            out.push_str("] ");
                        }
                        if ic[0] == 2 {
                            let _ = write!(out, "MTU={} ", be32(ic, 4));
                        }
                    }
                    _ => {}
                }
            }
        }
        p => {
            let _ = write!(out, "PROTO={p} ");
        }
    }
    if ip6hoff == 0 && mark != 0 {
        let _ = write!(out, "MARK=0x{mark:x} ");
    }
}

/// `nf_log_dump_tcp_header`; false where the kernel returns 1 (stop the line).
fn dump_tcp(out: &mut String, skb: &[u8], fragment: bool, off: usize, flags: u8) -> bool {
    out.push_str("PROTO=TCP ");
    if fragment {
        return true;
    }
    let Some(th) = get(skb, off, 20) else {
        let _ = write!(out, "INCOMPLETE [{} bytes] ", rest(skb, off));
        return false;
    };
    let _ = write!(out, "SPT={} DPT={} ", be16(th, 0), be16(th, 2));
    if flags & self::flags::TCPSEQ != 0 {
        let _ = write!(out, "SEQ={} ACK={} ", be32(th, 4), be32(th, 8));
    }
    let _ = write!(out, "WINDOW={} ", be16(th, 14));
    let _ = write!(out, "RES=0x{:02x} ", (th[12] & 0x0e) << 2);
    if th[12] & 0x01 != 0 {
        out.push_str("AE ");
    }
    for (bit, name) in [
        (0x80, "CWR "),
        (0x40, "ECE "),
        (0x20, "URG "),
        (0x10, "ACK "),
        (0x08, "PSH "),
        (0x04, "RST "),
        (0x02, "SYN "),
        (0x01, "FIN "),
    ] {
        if th[13] & bit != 0 {
            out.push_str(name);
        }
    }
    let _ = write!(out, "URGP={} ", be16(th, 18));
    let hl = usize::from(th[12] >> 4) * 4;
    if flags & self::flags::TCPOPT != 0 && hl > 20 {
        let Some(op) = get(skb, off + 20, hl - 20) else {
            out.push_str("OPT (TRUNCATED)");
            return false;
        };
        out.push_str("OPT (");
        hex_upper(out, op);
        out.push_str(") ");
    }
    true
}

fn dump_icmp(out: &mut String, skb: &[u8], iphoff: usize, fragment: bool, off: usize, flags: u8) {
    out.push_str("PROTO=ICMP ");
    if fragment {
        return;
    }
    let Some(ich) = get(skb, off, 8) else {
        let _ = write!(out, "INCOMPLETE [{} bytes] ", rest(skb, off));
        return;
    };
    let (t, code) = (ich[0], ich[1]);
    let _ = write!(out, "TYPE={t} CODE={code} ");
    let req = icmp_required_len(t);
    if req != 0 && (rest(skb, off) as usize) < req {
        let _ = write!(out, "INCOMPLETE [{} bytes] ", rest(skb, off));
        return;
    }
    match t {
        0 | 8 => {
            let _ = write!(out, "ID={} SEQ={} ", be16(ich, 4), be16(ich, 6));
        }
        12 => {
            let _ = write!(out, "PARAMETER={} ", ich[4]);
        }
        3 | 4 | 5 | 11 => {
            if t == 5 {
                let _ = write!(out, "GATEWAY={}.{}.{}.{} ", ich[4], ich[5], ich[6], ich[7]);
            }
            if iphoff == 0 {
                out.push('[');
                dump_ipv4(out, skb, off + 8, flags, 0);
                out.push_str("] ");
            }
            if t == 3 && code == 4 {
                let _ = write!(out, "MTU={} ", be16(ich, 6));
            }
        }
        _ => {}
    }
}

impl crate::ruleset::ext::TargetExt for LogTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "LOG";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        let mut line = self.prefix.clone();
        cx.describe(&mut line, self.flags);
        match self.level {
            0..=3 => tracing::error!(target: "nfdp::log", "{line}"),
            4 => tracing::warn!(target: "nfdp::log", "{line}"),
            5 | 6 => tracing::info!(target: "nfdp::log", "{line}"),
            _ => tracing::debug!(target: "nfdp::log", "{line}"),
        }
        cx.collect_log(line);
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::targets::reject::tests::hex;
    use crate::wire::Ipv4Packet;

    struct Case {
        in_: &'static str,
        out: &'static str,
        eth: &'static str,
        ip: &'static str,
        dec_ttl: bool,
        flags: u8,
        mark: u32,
        line: &'static str,
    }

    /// Lines the kernel (6.18, iptables 1.8.9 nft) wrote to dmesg, with the packets that
    /// caused them: namespaces nfdptgt-a (10.77.1.1, MAC 02:00:00:00:01:01) -- nfdptgt-r
    /// (ra 10.77.1.2, 02:00:00:00:01:02; rb 10.77.2.2) -- nfdptgt-b (10.77.2.1); in r,
    /// `-A INPUT -p tcp --dport 9 -j LOG --log-prefix "NTG1: "` (flags 0), `--dport 10 ...
    /// --log-tcp-sequence --log-tcp-options --log-ip-options` (flags 7), `--dport 11 ...
    /// --log-macdecode` (0x20), `-p udp` / `-p icmp` / `-p 253` / other TCP with plain LOG,
    /// `-m ttl --ttl-eq 99 -j LOG` with flags 7, `-t mangle -A PREROUTING -p udp --dport 12 -j
    /// MARK --set-mark 0x2a`, and in FORWARD `-p udp --dport 9 -j LOG` and
    /// `-p tcp -j LOG --log-tcp-options` (after the mangle TCPMSS/TTL/TOS/DSCP rules, so `ip`
    /// there is the packet captured behind the router). Packets were sent with scapy and
    /// captured with tcpdump on a's side (`eth` + `ip`); `line` is the dmesg text after the
    /// prefix, its trailing space kept. `dec_ttl`: the FORWARD hook sees the TTL decremented.
    const CASES: &[Case] = &[
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002d00644000400623cb0a4d01010a4d01029c410009000003e800001388501804009d9e000068656c6c6f", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=45 TOS=0x00 PREC=0x00 TTL=64 ID=100 DF PROTO=TCP SPT=40001 DPT=9 WINDOW=1024 RES=0x00 ACK PSH URGP=0 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002b00650000400663cc0a4d01010a4d01029c420009fffffffe0000000050230000386e0007616263", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=43 TOS=0x00 PREC=0x00 TTL=64 ID=101 PROTO=TCP SPT=40002 DPT=9 WINDOW=0 RES=0x00 URG SYN FIN URGP=7 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002800660000400663ce0a4d01010a4d01029c430009000000050000000050042000dcf20000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=102 PROTO=TCP SPT=40003 DPT=9 WINDOW=8192 RES=0x00 RST URGP=0 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "461f004000670000400660950a4d01010a4d0102010101009c44000a0000004d00000058a0c2020061770000020405b40402080a000030390000000001030307", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=64 TOS=0x1E PREC=0x00 TTL=64 ID=103 OPT (01010100) PROTO=TCP SPT=40004 DPT=10 SEQ=77 ACK=88 WINDOW=512 RES=0x00 CWR ECE SYN URGP=0 OPT (020405B40402080A000030390000000001030307) " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "451f002600680000211182a40a4d01010a4d0102138800090012d09230313233343536373839", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=38 TOS=0x1E PREC=0x00 TTL=33 ID=104 PROTO=UDP SPT=5000 DPT=9 LEN=18 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450004040069400040111fe40a4d01010a4d01021389000a03f08d1f000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=1028 TOS=0x00 PREC=0x00 TTL=64 ID=105 DF PROTO=UDP SPT=5001 DPT=10 LEN=1008 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000024006a0000400163d30a4d01010a4d010208002e311234000770696e6764617461", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=36 TOS=0x00 PREC=0x00 TTL=64 ID=106 PROTO=ICMP TYPE=8 CODE=0 ID=4660 SEQ=7 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000040006b0000400163b60a4d01010a4d0102030313bb000000004500002403e700003d1163460a4d01020a4d01010035829a0010a09c7171717171717171", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=64 TOS=0x00 PREC=0x00 TTL=64 ID=107 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.77.1.2 DST=10.77.1.1 LEN=36 TOS=0x00 PREC=0x00 TTL=61 ID=999 PROTO=UDP SPT=53 DPT=33434 LEN=16 ] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000018006d000040fd62e00a4d01010a4d010200010203", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=24 TOS=0x00 PREC=0x00 TTL=64 ID=109 PROTO=253 " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500001f006e0000401162c50a4d01010a4d0201138b0009000b0a31667764", dec_ttl: true, flags: 0, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=31 TOS=0x00 PREC=0x00 TTL=63 ID=110 PROTO=UDP SPT=5003 DPT=9 LEN=11 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000020006f0000401163c20a4d01010a4d0102138c000c000cf5d46d61726b", dec_ttl: false, flags: 0, mark: 0x2a, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=32 TOS=0x00 PREC=0x00 TTL=64 ID=111 PROTO=UDP SPT=5004 DPT=12 LEN=12 MARK=0x2a " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001e00700000400663ce0a4d01010a4d01029c40000c000000010000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=30 TOS=0x00 PREC=0x00 TTL=64 ID=112 PROTO=TCP INCOMPLETE [10 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002800710000400663c30a4d01010a4d01029c45000b000000010000000050020064fc900000", dec_ttl: false, flags: 32, mark: 0x0, line: "IN=ra OUT= MACSRC=02:00:00:00:01:01 MACDST=02:00:00:00:01:02 MACPROTO=0800 SRC=10.77.1.1 DST=10.77.1.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=113 PROTO=TCP SPT=40005 DPT=11 WINDOW=100 RES=0x00 SYN URGP=0 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001600720000400163d90a4d01010a4d01020000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=22 TOS=0x00 PREC=0x00 TTL=64 ID=114 PROTO=ICMP INCOMPLETE [2 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500004400730000400163aa0a4d01010a4d010203040eb3000005004500002803e600004006604e0a4d01020a4d010100169c400000002a0000000050102000dcb70000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=68 TOS=0x00 PREC=0x00 TTL=64 ID=115 PROTO=ICMP TYPE=3 CODE=4 [SRC=10.77.1.2 DST=10.77.1.1 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=998 PROTO=TCP SPT=22 DPT=40000 WINDOW=8192 RES=0x00 ACK URGP=0 ] MTU=1280 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500003800740000400163b50a4d01010a4d01020501ef360a4d01094500001c03e5000040115b8e0a4d0102080808080035003500080000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=56 TOS=0x00 PREC=0x00 TTL=64 ID=116 PROTO=ICMP TYPE=5 CODE=1 GATEWAY=10.77.1.9 [SRC=10.77.1.2 DST=8.8.8.8 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=997 PROTO=UDP SPT=53 DPT=53 LEN=8 ] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002800750000400663bf0a4d01010a4d01029c46000900000001000000025010200012340000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=117 PROTO=TCP SPT=40006 DPT=9 WINDOW=8192 RES=0x00 ACK URGP=0 " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500003c00c800003f0663590a4d01010a4d0201a0291b590000000100000000a002006446100000020403e80402080a000030390000000001030307", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=200 PROTO=TCP SPT=41001 DPT=7001 WINDOW=100 RES=0x00 SYN URGP=0 OPT (020403E80402080A000030390000000001030307) " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500002c00c900003f0663680a4d01010a4d0201a02a1b59000000010000000060020064c83e000002040218", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=44 TOS=0x00 PREC=0x00 TTL=63 ID=201 PROTO=TCP SPT=41002 DPT=7001 WINDOW=100 RES=0x00 SYN URGP=0 OPT (02040218) " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500002c00ca00003f0663670a4d01010a4d0201a02b1b59000000010000000060020064c83d000002040218", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=44 TOS=0x00 PREC=0x00 TTL=63 ID=202 PROTO=TCP SPT=41003 DPT=7001 WINDOW=100 RES=0x00 SYN URGP=0 OPT (02040218) " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500003000cb00003f0663620a4d01010a4d0201a02c1b5a000000010000000070020064b43200000204021801030302", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=48 TOS=0x00 PREC=0x00 TTL=63 ID=203 PROTO=TCP SPT=41004 DPT=7002 WINDOW=100 RES=0x00 SYN URGP=0 OPT (0204021801030302) " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500003c00cc00003f0663550a4d01010a4d0201a02d1b5a0000000100000000a002006444a30000020405500402080a000030390000000001030307", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=204 PROTO=TCP SPT=41005 DPT=7002 WINDOW=100 RES=0x00 SYN URGP=0 OPT (020405500402080A000030390000000001030307) " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500002f00cd00003f0663610a4d01010a4d0201a02e1b590000000100000000500200643801000073796e64617461", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=47 TOS=0x00 PREC=0x00 TTL=63 ID=205 PROTO=TCP SPT=41006 DPT=7001 WINDOW=100 RES=0x00 SYN URGP=0 " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500002800ce00000006a2670a4d01010a4d0201a02f1b5b000000010000000050100064dc490000", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=40 TOS=0x00 PREC=0x00 TTL=0 ID=206 PROTO=TCP SPT=41007 DPT=7003 WINDOW=100 RES=0x00 ACK URGP=0 " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500002800cf0000ff06a3650a4d01010a4d0201a0301b5c000000010000000050100064dc470000", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=40 TOS=0x00 PREC=0x00 TTL=255 ID=207 PROTO=TCP SPT=41008 DPT=7004 WINDOW=100 RES=0x00 ACK URGP=0 " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "45d0002800d000003f0662950a4d01010a4d0201a0311b5d000000010000000050100064dc450000", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=40 TOS=0x10 PREC=0xC0 TTL=63 ID=208 PROTO=TCP SPT=41009 DPT=7005 WINDOW=100 RES=0x00 ACK URGP=0 " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "45bb002800d100003f0662a90a4d01010a4d0201a0321b5e000000010000000050100064dc430000", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=40 TOS=0x1A PREC=0xA0 TTL=63 ID=209 PROTO=TCP SPT=41010 DPT=7006 WINDOW=100 RES=0x00 ACK URGP=0 " },
        Case { in_: "ra", out: "rb", eth: "0200000001020200000001010800", ip: "4500003000d200003f06635b0a4d01010a4d0201a0331b590000000100000000701200640502000001020403e8000000", dec_ttl: false, flags: 2, mark: 0x0, line: "IN=ra OUT=rb MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.2.1 LEN=48 TOS=0x00 PREC=0x00 TTL=63 ID=210 PROTO=TCP SPT=41011 DPT=7001 WINDOW=100 RES=0x00 ACK SYN URGP=0 OPT (01020403E8000000) " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000028012d0000630640070a4d01010a4d01020001000200000003000000045f0200058a370000", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=40 TOS=0x00 PREC=0x00 TTL=99 ID=301 PROTO=TCP SPT=1 DPT=2 SEQ=3 ACK=4 WINDOW=5 RES=0x38 AE SYN URGP=0 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000028012d0000630640070a4d01010a4d01020001000200000003000000045f0200058a370000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=40 TOS=0x00 PREC=0x00 TTL=99 ID=301 PROTO=TCP SPT=1 DPT=2 WINDOW=5 RES=0x38 AE SYN URGP=0 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001c012e80006311c0060a4d01010a4d0102000100020008e93e", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=28 TOS=0x00 PREC=0x00 TTL=99 ID=302 CE PROTO=UDP SPT=1 DPT=2 LEN=8 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001c012e80006311c0060a4d01010a4d0102000100020008e93e", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=28 TOS=0x00 PREC=0x00 TTL=99 ID=302 CE PROTO=UDP SPT=1 DPT=2 LEN=8 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002c012f0000630640010a4d01010a4d0102000100020000000000000000f002200000000000020405b4", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=44 TOS=0x00 PREC=0x00 TTL=99 ID=303 PROTO=TCP SPT=1 DPT=2 SEQ=0 ACK=0 WINDOW=8192 RES=0x00 SYN URGP=0 OPT (TRUNCATED)" },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002c012f0000630640010a4d01010a4d0102000100020000000000000000f002200000000000020405b4", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=44 TOS=0x00 PREC=0x00 TTL=99 ID=303 PROTO=TCP SPT=1 DPT=2 WINDOW=8192 RES=0x00 SYN URGP=0 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001801300000631140090a4d01010a4d010200010002", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=24 TOS=0x00 PREC=0x00 TTL=99 ID=304 PROTO=UDP INCOMPLETE [4 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001801300000631140090a4d01010a4d010200010002", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=24 TOS=0x00 PREC=0x00 TTL=99 ID=304 PROTO=UDP INCOMPLETE [4 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500003001310000630140000a4d01010a4d01020d0094520000000001e9c85001e9c85001e9c8500000000000000000", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=48 TOS=0x00 PREC=0x00 TTL=99 ID=305 PROTO=ICMP TYPE=13 CODE=0 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500003001310000630140000a4d01010a4d01020d0094520000000001e9c85001e9c85001e9c8500000000000000000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=48 TOS=0x00 PREC=0x00 TTL=99 ID=305 PROTO=ICMP TYPE=13 CODE=0 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450000380132000063013ff70a4d01010a4d01020c00eef4050000004500001c00010000401164340a4d01020a4d01010001000200080000", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=56 TOS=0x00 PREC=0x00 TTL=99 ID=306 PROTO=ICMP TYPE=12 CODE=0 PARAMETER=5 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450000380132000063013ff70a4d01010a4d01020c00eef4050000004500001c00010000401164340a4d01020a4d01010001000200080000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=56 TOS=0x00 PREC=0x00 TTL=99 ID=306 PROTO=ICMP TYPE=12 CODE=0 PARAMETER=5 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002601330000630140080a4d01010a4d01020b006fd00000000045000028000100004006", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=38 TOS=0x00 PREC=0x00 TTL=99 ID=307 PROTO=ICMP TYPE=11 CODE=0 INCOMPLETE [18 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500002601330000630140080a4d01010a4d01020b006fd00000000045000028000100004006", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=38 TOS=0x00 PREC=0x00 TTL=99 ID=307 PROTO=ICMP TYPE=11 CODE=0 INCOMPLETE [18 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450000380134000063013ff50a4d01010a4d0102030160a7000000004500003c000200004006641e0a4d01020a4d010100169c4000000001", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=56 TOS=0x00 PREC=0x00 TTL=99 ID=308 PROTO=ICMP TYPE=3 CODE=1 [SRC=10.77.1.2 DST=10.77.1.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=TCP INCOMPLETE [8 bytes] ] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450000380134000063013ff50a4d01010a4d0102030160a7000000004500003c000200004006641e0a4d01020a4d010100169c4000000001", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=56 TOS=0x00 PREC=0x00 TTL=99 ID=308 PROTO=ICMP TYPE=3 CODE=1 [SRC=10.77.1.2 DST=10.77.1.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=TCP INCOMPLETE [8 bytes] ] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001c0135000063323fdf0a4d01010a4d01021234567800000001", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=28 TOS=0x00 PREC=0x00 TTL=99 ID=309 PROTO=ESP SPI=0x12345678 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450000200136000063333fd90a4d01010a4d010206040000abcdef0100000001", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=32 TOS=0x00 PREC=0x00 TTL=99 ID=310 PROTO=AH SPI=0xabcdef01 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001c0137000063883f870a4d01010a4d01020007000800080000", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=28 TOS=0x00 PREC=0x00 TTL=99 ID=311 PROTO=UDPLITE SPT=7 DPT=8 LEN=8 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450000340138000063013ff50a4d01010a4d01020302f4fd000000004500001800030000402f64180a4d01020a4d010100000800", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=52 TOS=0x00 PREC=0x00 TTL=99 ID=312 PROTO=ICMP TYPE=3 CODE=2 [SRC=10.77.1.2 DST=10.77.1.1 LEN=24 TOS=0x00 PREC=0x00 TTL=64 ID=3 PROTO=47 ] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450000340138000063013ff50a4d01010a4d01020302f4fd000000004500001800030000402f64180a4d01020a4d010100000800", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=52 TOS=0x00 PREC=0x00 TTL=99 ID=312 PROTO=ICMP TYPE=3 CODE=2 [SRC=10.77.1.2 DST=10.77.1.1 LEN=24 TOS=0x00 PREC=0x00 TTL=64 ID=3 PROTO=47 ] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "450000160139000063333fe00a4d01010a4d01020604", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=22 TOS=0x00 PREC=0x00 TTL=99 ID=313 PROTO=AH INCOMPLETE [2 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001c013a00006301400b0a4d01010a4d01020000ffec0009000a", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=28 TOS=0x00 PREC=0x00 TTL=99 ID=314 PROTO=ICMP TYPE=0 CODE=0 ID=9 SEQ=10 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001c013a00006301400b0a4d01010a4d01020000ffec0009000a", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=28 TOS=0x00 PREC=0x00 TTL=99 ID=314 PROTO=ICMP TYPE=0 CODE=0 ID=9 SEQ=10 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000038013b000063013fee0a4d01010a4d01020303fcfc000000004500001c00040000400164410a4d01020a4d01010800f7f400050006", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=56 TOS=0x00 PREC=0x00 TTL=99 ID=315 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.77.1.2 DST=10.77.1.1 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=4 PROTO=ICMP TYPE=8 CODE=0 ID=5 SEQ=6 ] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000038013b000063013fee0a4d01010a4d01020303fcfc000000004500001c00040000400164410a4d01020a4d01010800f7f400050006", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=56 TOS=0x00 PREC=0x00 TTL=99 ID=315 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.77.1.2 DST=10.77.1.1 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=4 PROTO=ICMP TYPE=8 CODE=0 ID=5 SEQ=6 ] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000018013c00006301400d0a4d01010a4d010203030000", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=24 TOS=0x00 PREC=0x00 TTL=99 ID=316 PROTO=ICMP INCOMPLETE [4 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000018013c00006301400d0a4d01010a4d010203030000", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=24 TOS=0x00 PREC=0x00 TTL=99 ID=316 PROTO=ICMP INCOMPLETE [4 bytes] " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001e013d0000630140060a4d01010a4d0102c809bd7b000000007a7a", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=30 TOS=0x00 PREC=0x00 TTL=99 ID=317 PROTO=ICMP TYPE=200 CODE=9 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500001e013d0000630140060a4d01010a4d0102c809bd7b000000007a7a", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=30 TOS=0x00 PREC=0x00 TTL=99 ID=317 PROTO=ICMP TYPE=200 CODE=9 " },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000028013e000063063ff60a4d01010a4d01020001000a00000000000000006010200000000000", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=40 TOS=0x00 PREC=0x00 TTL=99 ID=318 PROTO=TCP SPT=1 DPT=10 SEQ=0 ACK=0 WINDOW=8192 RES=0x00 ACK URGP=0 OPT (TRUNCATED)" },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "45000028013e000063063ff60a4d01010a4d01020001000a00000000000000006010200000000000", dec_ttl: false, flags: 7, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=40 TOS=0x00 PREC=0x00 TTL=99 ID=318 PROTO=TCP SPT=1 DPT=10 SEQ=0 ACK=0 WINDOW=8192 RES=0x00 ACK URGP=0 OPT (TRUNCATED)" },
        Case { in_: "ra", out: "", eth: "0200000001020200000001010800", ip: "4500003cd431400040064fee0a4d01010a4d01029c400009000003e800000000a002faf066080000020405b40402080a000030390000000001030307", dec_ttl: false, flags: 0, mark: 0x0, line: "IN=ra OUT= MAC=02:00:00:00:01:02:02:00:00:00:01:01:08:00 SRC=10.77.1.1 DST=10.77.1.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=54321 DF PROTO=TCP SPT=40000 DPT=9 WINDOW=64240 RES=0x00 SYN URGP=0 " },
    ];

    #[test]
    fn matches_kernel_lines() {
        for c in CASES {
            let mut ip = hex(c.ip);
            if c.dec_ttl {
                Ipv4Packet::new_unchecked(&mut ip[..]).decrement_ttl();
            }
            let eth = hex(c.eth);
            let mut s = String::new();
            let opt = |x: &'static str| if x.is_empty() { None } else { Some(x) };
            format_packet(
                &mut s,
                opt(c.in_),
                opt(c.out),
                Some(&eth),
                &ip,
                c.flags,
                c.mark,
            );
            assert_eq!(s, c.line);
        }
    }

    #[test]
    fn prefix_and_output_path() {
        let c = &CASES[0];
        let t = LogTarget {
            prefix: "T: ".into(),
            ..LogTarget::default()
        };
        let ip = hex(c.ip);
        let line = t.log_line(None, Some("eth1"), None, &ip, 0);
        assert!(line.starts_with("T: IN= OUT=eth1 SRC=10.77.1.1 "), "{line}");
        // An input device without a link-layer header.
        let line = t.log_line(Some("tun0"), None, None, &ip, 0);
        assert!(line.starts_with("T: IN=tun0 OUT= MAC= SRC="), "{line}");
        // Padding past the total length is not part of the packet.
        let mut padded = ip.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(
            t.log_line(None, None, None, &padded, 0),
            t.log_line(None, None, None, &ip, 0)
        );
    }

    fn log(ip: &[u8], flags: u8) -> String {
        let mut s = String::new();
        format_packet(&mut s, None, None, None, ip, flags, 0);
        s
    }

    #[test]
    fn fragments_and_truncation() {
        // UDP first fragment: MF; a later fragment: FRAG:<offset in 8-byte units>, no ports.
        let mut p =
            hex("4500002c006c20004011000a0a4d01010a4d0102138a000b00280000787878787878787878787878");
        assert_eq!(
            log(&p, 0),
            "IN= OUT= SRC=10.77.1.1 DST=10.77.1.2 LEN=44 TOS=0x00 PREC=0x00 TTL=64 ID=108 MF PROTO=UDP SPT=5002 DPT=11 LEN=40 "
        );
        p[6] = 0x00;
        p[7] = 0x03;
        assert_eq!(
            log(&p, 0),
            "IN= OUT= SRC=10.77.1.1 DST=10.77.1.2 LEN=44 TOS=0x00 PREC=0x00 TTL=64 ID=108 FRAG:3 PROTO=UDP "
        );
        p[9] = 6;
        assert!(log(&p, 0).ends_with("FRAG:3 PROTO=TCP "));
        p[9] = 1;
        assert!(log(&p, 0).ends_with("FRAG:3 PROTO=ICMP "));
        p[9] = 51;
        assert!(
            log(&p, 0).ends_with("FRAG:3 "),
            "AH prints nothing for fragments"
        );
        p[9] = 50;
        assert!(log(&p, 0).ends_with("FRAG:3 PROTO=ESP "));
        // Shorter than an IP header.
        assert_eq!(log(&p[..19], 0), "IN= OUT= TRUNCATED");
        assert_eq!(log(&[], 0), "IN= OUT= TRUNCATED");
        // IP options cut short by the buffer.
        let mut o = p[..20].to_vec();
        o[0] = 0x46;
        assert!(log(&o, flags::IPOPT).ends_with("FRAG:3 TRUNCATED"));
    }

    /// Lines the kernel (6.18, ip6tables 1.8.9 nft) wrote to dmesg, with the packets that
    /// caused them: namespaces m6-a (MAC 02:00:00:00:06:01) -- m6-r (02:00:00:00:06:02); in
    /// m6-r, `-t raw -A PREROUTING -i m6r -j LOG` with flags 0, then with
    /// `--log-ip-options --log-tcp-sequence --log-tcp-options` (7), then
    /// `--log-macdecode` (0x20). The packets were written to m6a by a raw socket behind the
    /// Ethernet header `CASE6_ETH`; `line` is the dmesg text after the prefix.
    const CASE6_ETH: &str = "02000000060202000000060186dd";

    struct Case6 {
        ip: &'static str,
        flags: u8,
        line: &'static str,
    }

    const CASES6: &[Case6] = &[
        Case6 { ip: "60b123450018064020010db800000000000000000000000120010db80000000000000000000000029c40001600000001000000006002faf0a57d0000020405a0", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=11 HOPLIMIT=64 FLOWLBL=74565 PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 " },
        Case6 { ip: "60b123450018064020010db800000000000000000000000120010db80000000000000000000000029c40001600000001000000006002faf0a57d0000020405a0", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=11 HOPLIMIT=64 FLOWLBL=74565 PROTO=TCP SPT=40000 DPT=22 SEQ=1 ACK=0 WINDOW=64240 RES=0x00 SYN URGP=0 OPT (020405A0) " },
        Case6 { ip: "60b123450018064020010db800000000000000000000000120010db80000000000000000000000029c40001600000001000000006002faf0a57d0000020405a0", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=11 HOPLIMIT=64 FLOWLBL=74565 PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 " },
        Case6 { ip: "60000000001c004020010db800000000000000000000000120010db80000000000000000000000023c00010400000000110001040000000013880035000ccbdd61626364", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=68 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=5000 DPT=53 LEN=12 " },
        Case6 { ip: "60000000001c004020010db800000000000000000000000120010db80000000000000000000000023c00010400000000110001040000000013880035000ccbdd61626364", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=68 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( ) OPT ( ) PROTO=UDP SPT=5000 DPT=53 LEN=12 " },
        Case6 { ip: "60000000001c004020010db800000000000000000000000120010db80000000000000000000000023c00010400000000110001040000000013880035000ccbdd61626364", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=68 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=5000 DPT=53 LEN=12 " },
        Case6 { ip: "60000000000c3a4020010db800000000000000000000000120010db8000000000000000000000002800033381234000770696e67", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=52 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=4660 SEQ=7 " },
        Case6 { ip: "60000000000c3a4020010db800000000000000000000000120010db8000000000000000000000002800033381234000770696e67", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=52 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=4660 SEQ=7 " },
        Case6 { ip: "60000000000c3a4020010db800000000000000000000000120010db8000000000000000000000002800033381234000770696e67", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=52 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=4660 SEQ=7 " },
        Case6 { ip: "6000000000443a4020010db800000000000000000000000120010db8000000000000000000000002020036d200000500600000000014064020010db800000000000000000000000220010db800000000000000000000000100169c4000000001000000005010200098080000", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=108 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=2 CODE=0 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=60 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP SPT=22 DPT=40000 WINDOW=8192 RES=0x00 ACK URGP=0 ] MTU=1280 " },
        Case6 { ip: "6000000000443a4020010db800000000000000000000000120010db8000000000000000000000002020036d200000500600000000014064020010db800000000000000000000000220010db800000000000000000000000100169c4000000001000000005010200098080000", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=108 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=2 CODE=0 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=60 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP SPT=22 DPT=40000 SEQ=1 ACK=0 WINDOW=8192 RES=0x00 ACK URGP=0 ] MTU=1280 " },
        Case6 { ip: "6000000000443a4020010db800000000000000000000000120010db8000000000000000000000002020036d200000500600000000014064020010db800000000000000000000000220010db800000000000000000000000100169c4000000001000000005010200098080000", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=108 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=2 CODE=0 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=60 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP SPT=22 DPT=40000 WINDOW=8192 RES=0x00 ACK URGP=0 ] MTU=1280 " },
        Case6 { ip: "6000000000202c4020010db800000000000000000000000120010db8000000000000000000000002110000010000abcd138900090018ccf378787878787878787878787878787878", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=72 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:0 INCOMPLETE ID:0000abcd PROTO=UDP SPT=5001 DPT=9 LEN=24 " },
        Case6 { ip: "6000000000202c4020010db800000000000000000000000120010db8000000000000000000000002110000010000abcd138900090018ccf378787878787878787878787878787878", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=72 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( FRAG:0 INCOMPLETE ID:0000abcd ) PROTO=UDP SPT=5001 DPT=9 LEN=24 " },
        Case6 { ip: "6000000000202c4020010db800000000000000000000000120010db8000000000000000000000002110000010000abcd138900090018ccf378787878787878787878787878787878", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=72 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:0 INCOMPLETE ID:0000abcd PROTO=UDP SPT=5001 DPT=9 LEN=24 " },
        Case6 { ip: "6000000000182c4020010db800000000000000000000000120010db8000000000000000000000002110005a80000abcd79797979797979797979797979797979", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:1448 ID:0000abcd PROTO=UDP " },
        Case6 { ip: "6000000000182c4020010db800000000000000000000000120010db8000000000000000000000002110005a80000abcd79797979797979797979797979797979", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( FRAG:1448 ID:0000abcd ) PROTO=UDP " },
        Case6 { ip: "6000000000182c4020010db800000000000000000000000120010db8000000000000000000000002110005a80000abcd79797979797979797979797979797979", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:1448 ID:0000abcd PROTO=UDP " },
        Case6 { ip: "60000000000c324020010db800000000000000000000000120010db8000000000000000000000002123456780000000100000000", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=52 TC=0 HOPLIMIT=64 FLOWLBL=0 " },
        Case6 { ip: "60000000000c324020010db800000000000000000000000120010db8000000000000000000000002123456780000000100000000", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=52 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( ESP SPI=0x12345678 )" },
        Case6 { ip: "60000000000c324020010db800000000000000000000000120010db8000000000000000000000002123456780000000100000000", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=52 TC=0 HOPLIMIT=64 FLOWLBL=0 " },
        Case6 { ip: "600000000016334020010db800000000000000000000000120010db800000000000000000000000211010000abcdef0100000001138a0009000a2f6a6168", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=62 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=5002 DPT=9 LEN=10 " },
        Case6 { ip: "600000000016334020010db800000000000000000000000120010db800000000000000000000000211010000abcdef0100000001138a0009000a2f6a6168", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=62 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( AH SPI=0xabcdef01 ) PROTO=UDP SPT=5002 DPT=9 LEN=10 " },
        Case6 { ip: "600000000016334020010db800000000000000000000000120010db800000000000000000000000211010000abcdef0100000001138a0009000a2f6a6168", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=62 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=5002 DPT=9 LEN=10 " },
        Case6 { ip: "6000000000383a4020010db800000000000000000000000120010db8000000000000000000000002040141ce00000028600000000014064020010db800000000000000000000000220010db800000000000000000000000100169c4000000001", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=96 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=4 CODE=1 POINTER=00000028 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=60 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP INCOMPLETE [8 bytes] ] " },
        Case6 { ip: "6000000000383a4020010db800000000000000000000000120010db8000000000000000000000002040141ce00000028600000000014064020010db800000000000000000000000220010db800000000000000000000000100169c4000000001", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=96 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=4 CODE=1 POINTER=00000028 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=60 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP INCOMPLETE [8 bytes] ] " },
        Case6 { ip: "6000000000383a4020010db800000000000000000000000120010db8000000000000000000000002040141ce00000028600000000014064020010db800000000000000000000000220010db800000000000000000000000100169c4000000001", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=96 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=4 CODE=1 POINTER=00000028 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=60 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP INCOMPLETE [8 bytes] ] " },
        Case6 { ip: "60000000000a064020010db800000000000000000000000120010db800000000000000000000000200010002000000010000", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=50 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP INCOMPLETE [10 bytes] " },
        Case6 { ip: "60000000000a064020010db800000000000000000000000120010db800000000000000000000000200010002000000010000", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=50 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP INCOMPLETE [10 bytes] " },
        Case6 { ip: "60000000000a064020010db800000000000000000000000120010db800000000000000000000000200010002000000010000", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=50 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP INCOMPLETE [10 bytes] " },
        Case6 { ip: "6000000000003b4020010db800000000000000000000000120010db8000000000000000000000002", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=40 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=59 " },
        Case6 { ip: "6000000000003b4020010db800000000000000000000000120010db8000000000000000000000002", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=40 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=59 " },
        Case6 { ip: "6000000000003b4020010db800000000000000000000000120010db8000000000000000000000002", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=40 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=59 " },
        Case6 { ip: "6000000000182c4020010db800000000000000000000000120010db80000000000000000000000023c0005a80000abcd11000104000000007a7a7a7a7a7a7a7a", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:1448 ID:0000abcd " },
        Case6 { ip: "6000000000182c4020010db800000000000000000000000120010db80000000000000000000000023c0005a80000abcd11000104000000007a7a7a7a7a7a7a7a", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( FRAG:1448 ID:0000abcd ) OPT ( )" },
        Case6 { ip: "6000000000182c4020010db800000000000000000000000120010db80000000000000000000000023c0005a80000abcd11000104000000007a7a7a7a7a7a7a7a", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=64 TC=0 HOPLIMIT=64 FLOWLBL=0 FRAG:1448 ID:0000abcd " },
        Case6 { ip: "6000000000222b4020010db800000000000000000000000120010db8000000000000000000000002110200010000000020010db8000000000000000000000002138b0009000a1e5d7274", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=74 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=5003 DPT=9 LEN=10 " },
        Case6 { ip: "6000000000222b4020010db800000000000000000000000120010db8000000000000000000000002110200010000000020010db8000000000000000000000002138b0009000a1e5d7274", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=74 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( ) PROTO=UDP SPT=5003 DPT=9 LEN=10 " },
        Case6 { ip: "6000000000222b4020010db800000000000000000000000120010db8000000000000000000000002110200010000000020010db8000000000000000000000002138b0009000a1e5d7274", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=74 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=5003 DPT=9 LEN=10 " },
        Case6 { ip: "6000000000403a4020010db800000000000000000000000120010db8000000000000000000000002010431dd00000000600000000010114020010db800000000000000000000000220010db80000000000000000000000010035829a00105bc47171717171717171", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=1 CODE=4 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=56 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=53 DPT=33434 LEN=16 ] " },
        Case6 { ip: "6000000000403a4020010db800000000000000000000000120010db8000000000000000000000002010431dd00000000600000000010114020010db800000000000000000000000220010db80000000000000000000000010035829a00105bc47171717171717171", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=1 CODE=4 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=56 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=53 DPT=33434 LEN=16 ] " },
        Case6 { ip: "6000000000403a4020010db800000000000000000000000120010db8000000000000000000000002010431dd00000000600000000010114020010db800000000000000000000000220010db80000000000000000000000010035829a00105bc47171717171717171", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=1 CODE=4 [SRC=2001:0db8:0000:0000:0000:0000:0000:0002 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=56 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=53 DPT=33434 LEN=16 ] " },
        Case6 { ip: "6000000000263a4020010db800000000000000000000000120010db80000000000000000000000020300df6100000000600000000014064020010db800000000000000000000000220010db80000", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=78 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=3 CODE=0 [TRUNCATED] " },
        Case6 { ip: "6000000000263a4020010db800000000000000000000000120010db80000000000000000000000020300df6100000000600000000014064020010db800000000000000000000000220010db80000", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=78 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=3 CODE=0 [TRUNCATED] " },
        Case6 { ip: "6000000000263a4020010db800000000000000000000000120010db80000000000000000000000020300df6100000000600000000014064020010db800000000000000000000000220010db80000", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=78 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=3 CODE=0 [TRUNCATED] " },
        Case6 { ip: "600000000004114020010db800000000000000000000000120010db800000000000000000000000200070008", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=44 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP INCOMPLETE [4 bytes] " },
        Case6 { ip: "600000000004114020010db800000000000000000000000120010db800000000000000000000000200070008", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=44 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP INCOMPLETE [4 bytes] " },
        Case6 { ip: "600000000004114020010db800000000000000000000000120010db800000000000000000000000200070008", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=44 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP INCOMPLETE [4 bytes] " },
        Case6 { ip: "600000000004fd4020010db800000000000000000000000120010db800000000000000000000000200010203", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=44 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=253 " },
        Case6 { ip: "600000000004fd4020010db800000000000000000000000120010db800000000000000000000000200010203", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=44 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=253 " },
        Case6 { ip: "600000000004fd4020010db800000000000000000000000120010db800000000000000000000000200010203", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=44 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=253 " },
        Case6 { ip: "6000000000063a4020010db800000000000000000000000120010db80000000000000000000000028700ef7c0000", flags: 0, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=46 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 INCOMPLETE [6 bytes] " },
        Case6 { ip: "6000000000063a4020010db800000000000000000000000120010db80000000000000000000000028700ef7c0000", flags: 7, line: "IN=m6r OUT= MAC=02:00:00:00:06:02:02:00:00:00:06:01:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=46 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 INCOMPLETE [6 bytes] " },
        Case6 { ip: "6000000000063a4020010db800000000000000000000000120010db80000000000000000000000028700ef7c0000", flags: 32, line: "IN=m6r OUT= MACSRC=02:00:00:00:06:01 MACDST=02:00:00:00:06:02 MACPROTO=86dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=46 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 INCOMPLETE [6 bytes] " },
    ];

    #[test]
    fn matches_kernel_ipv6_lines() {
        let eth = hex(CASE6_ETH);
        for c in CASES6 {
            let mut s = String::new();
            format_packet(
                &mut s,
                Some("m6r"),
                None,
                Some(&eth),
                &hex(c.ip),
                c.flags,
                0,
            );
            assert_eq!(s, c.line);
        }
    }

    #[test]
    fn ipv6_mark_padding_and_truncation() {
        let c = &CASES6[3]; // UDP behind hop-by-hop and destination options
        let ip = hex(c.ip);
        let mut s = String::new();
        format_packet(&mut s, None, Some("eth1"), None, &ip, 0, 0x2a);
        assert!(s.starts_with("IN= OUT=eth1 SRC=2001:0db8:0000:"), "{s}");
        assert!(
            s.ends_with("PROTO=UDP SPT=5000 DPT=53 LEN=12 MARK=0x2a "),
            "{s}"
        );
        // Link padding after the payload length is not part of the packet.
        let mut padded = ip.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(log(&padded, 0), log(&ip, 0));
        // Every cut of every packet prints without panicking.
        for c in CASES6 {
            let ip = hex(c.ip);
            for n in 0..ip.len() {
                let _ = log(&ip[..n], 7);
            }
        }
        assert_eq!(log(&ip[..39], 0), "IN= OUT= TRUNCATED");
        // Extension headers cut by the buffer: the next one's two bytes are missing.
        assert!(log(&ip[..41], 7).ends_with("FLOWLBL=0 TRUNCATED"));
        assert!(log(&ip[..44], 7).ends_with("FLOWLBL=0 OPT ( ) TRUNCATED"));
    }
}
