//! The kernel's packet log line (nf_log_syslog's `dump_ipv4_packet`), shared by the LOG
//! target and TRACE: `IN=lan0 OUT=wan0 MAC=... SRC=... DST=... LEN=... TOS=... PREC=...
//! TTL=... ID=... DF PROTO=TCP SPT=... DPT=... WINDOW=... RES=0x00 SYN URGP=0 `.

use crate::ruleset::targets::log::flags;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// The flags TRACE logs with (NF_LOG_DEFAULT_MASK without the socket owner).
pub const TRACE_FLAGS: u8 = flags::TCPSEQ | flags::TCPOPT | flags::IPOPT;

/// Writes `IN=.. OUT=.. [MAC=..] ` and the packet. `mac` is the received link header
/// (printed only for packets that came in on an interface, as the kernel does).
pub fn format_packet(
    out: &mut String,
    in_iface: Option<&str>,
    out_iface: Option<&str>,
    mac: Option<&[u8]>,
    ip: &[u8],
    log_flags: u8,
    mark: u32,
) {
    let _ = write!(
        out,
        "IN={} OUT={} ",
        in_iface.unwrap_or(""),
        out_iface.unwrap_or("")
    );
    if in_iface.is_some() {
        out.push_str("MAC=");
        match mac {
            Some(m) if !m.is_empty() => {
                for (i, b) in m.iter().enumerate() {
                    let sep = if i + 1 == m.len() { ' ' } else { ':' };
                    let _ = write!(out, "{b:02x}{sep}");
                }
            }
            _ => out.push(' '),
        }
    }
    dump_ipv4(out, ip, log_flags, true);
    if mark != 0 {
        let _ = write!(out, "MARK=0x{mark:x} ");
    }
}

fn hex_upper(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
}

/// `dump_ipv4_packet`; `outer` is false inside the brackets of an ICMP error.
fn dump_ipv4(out: &mut String, ip: &[u8], log_flags: u8, outer: bool) {
    if ip.len() < 20 {
        let _ = write!(out, "TRUNCATED ");
        return;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    let _ = write!(
        out,
        "SRC={src} DST={dst} LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
        u16::from_be_bytes([ip[2], ip[3]]),
        ip[1] & 0x1e,
        ip[1] & 0xe0,
        ip[8],
        u16::from_be_bytes([ip[4], ip[5]])
    );
    if frag & 0x8000 != 0 {
        out.push_str("CE ");
    }
    if frag & 0x4000 != 0 {
        out.push_str("DF ");
    }
    if frag & 0x2000 != 0 {
        out.push_str("MF ");
    }
    let offset = frag & 0x1fff;
    if offset != 0 {
        let _ = write!(out, "FRAG:{offset} ");
    }
    if log_flags & flags::IPOPT != 0 && ihl > 20 && ip.len() >= ihl {
        out.push_str("OPT (");
        hex_upper(out, &ip[20..ihl]);
        out.push_str(") ");
    }
    let l4 = ip.get(ihl..).unwrap_or(&[]);
    match ip[9] {
        6 => {
            out.push_str("PROTO=TCP ");
            if offset != 0 {
                return;
            }
            if l4.len() < 20 {
                let _ = write!(out, "INCOMPLETE [{} bytes] ", l4.len());
                return;
            }
            let _ = write!(
                out,
                "SPT={} DPT={} ",
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]])
            );
            if log_flags & flags::TCPSEQ != 0 {
                let _ = write!(
                    out,
                    "SEQ={} ACK={} ",
                    u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
                    u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]])
                );
            }
            let _ = write!(
                out,
                "WINDOW={} RES=0x{:02x} ",
                u16::from_be_bytes([l4[14], l4[15]]),
                l4[12] & 0x0f
            );
            let f = l4[13];
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
                if f & bit != 0 {
                    out.push_str(name);
                }
            }
            let _ = write!(out, "URGP={} ", u16::from_be_bytes([l4[18], l4[19]]));
            let doff = usize::from(l4[12] >> 4) * 4;
            if log_flags & flags::TCPOPT != 0 && doff > 20 && l4.len() >= doff {
                out.push_str("OPT (");
                hex_upper(out, &l4[20..doff]);
                out.push_str(") ");
            }
        }
        17 | 136 => {
            out.push_str(if ip[9] == 17 {
                "PROTO=UDP "
            } else {
                "PROTO=UDPLITE "
            });
            if offset != 0 {
                return;
            }
            if l4.len() < 8 {
                let _ = write!(out, "INCOMPLETE [{} bytes] ", l4.len());
                return;
            }
            let _ = write!(
                out,
                "SPT={} DPT={} LEN={} ",
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
                u16::from_be_bytes([l4[4], l4[5]])
            );
        }
        1 => {
            out.push_str("PROTO=ICMP ");
            if offset != 0 {
                return;
            }
            if l4.len() < 4 {
                let _ = write!(out, "INCOMPLETE [{} bytes] ", l4.len());
                return;
            }
            let (t, code) = (l4[0], l4[1]);
            let _ = write!(out, "TYPE={t} CODE={code} ");
            // The kernel's required_len: echo and errors need the 8-byte header.
            if matches!(t, 0 | 3 | 4 | 5 | 8 | 11 | 12) && l4.len() < 8 {
                let _ = write!(out, "INCOMPLETE [{} bytes] ", l4.len());
                return;
            }
            match t {
                0 | 8 => {
                    let _ = write!(
                        out,
                        "ID={} SEQ={} ",
                        u16::from_be_bytes([l4[4], l4[5]]),
                        u16::from_be_bytes([l4[6], l4[7]])
                    );
                }
                12 => {
                    let _ = write!(out, "PARAMETER={} ", l4[4]);
                }
                3 | 4 | 5 | 11 => {
                    if t == 5 {
                        let _ = write!(
                            out,
                            "GATEWAY={} ",
                            Ipv4Addr::new(l4[4], l4[5], l4[6], l4[7])
                        );
                    }
                    if outer {
                        out.push('[');
                        dump_ipv4(out, &l4[8..], log_flags, false);
                        out.push_str("] ");
                    }
                    if t == 3 && code == 4 {
                        let _ = write!(out, "MTU={} ", u16::from_be_bytes([l4[6], l4[7]]));
                    }
                }
                _ => {}
            }
        }
        p => {
            let _ = write!(out, "PROTO={p} ");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines from the kernel's log (dmesg) for the same packets; see each case.
    #[test]
    fn matches_kernel_lines() {
        // `-A INPUT -j LOG --log-prefix "T1: "`, a TCP SYN from 10.9.0.1 over a veth.
        let mac = [
            0x02, 0x9e, 0xb3, 0x37, 0xba, 0x78, 0x5a, 0x75, 0x44, 0xc1, 0xef, 0x33, 0x08, 0x00,
        ];
        let mut syn = vec![
            0x45, 0x00, 0x00, 0x3c, 0x0d, 0x07, 0x40, 0x00, 0x40, 0x06, 0, 0, 10, 9, 0, 1, 10, 9,
            0, 2,
        ];
        let mut th = vec![0u8; 20];
        th[0..2].copy_from_slice(&54192u16.to_be_bytes());
        th[2..4].copy_from_slice(&9u16.to_be_bytes());
        th[4..8].copy_from_slice(&2_630_385_730u32.to_be_bytes());
        th[12] = 0xa0;
        th[13] = 0x02;
        th[14..16].copy_from_slice(&64240u16.to_be_bytes());
        syn.extend_from_slice(&th);
        syn.extend_from_slice(&[
            0x02, 0x04, 0x05, 0xB4, 0x04, 0x02, 0x08, 0x0A, 0x8B, 0x24, 0xD4, 0xC8, 0, 0, 0, 0,
            0x01, 0x03, 0x03, 0x0A,
        ]);
        let mut s = String::from("T1: ");
        format_packet(&mut s, Some("vb"), None, Some(&mac), &syn, 0, 0);
        assert_eq!(
            s,
            "T1: IN=vb OUT= MAC=02:9e:b3:37:ba:78:5a:75:44:c1:ef:33:08:00 SRC=10.9.0.1 DST=10.9.0.2 \
             LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=3335 DF PROTO=TCP SPT=54192 DPT=9 WINDOW=64240 \
             RES=0x00 SYN URGP=0 "
        );
        // The same with --log-tcp-sequence --log-tcp-options.
        let mut s = String::new();
        format_packet(
            &mut s,
            Some("vb"),
            None,
            Some(&mac),
            &syn,
            flags::TCPSEQ | flags::TCPOPT,
            0,
        );
        assert!(s.ends_with(
            "SPT=54192 DPT=9 SEQ=2630385730 ACK=0 WINDOW=64240 RES=0x00 SYN URGP=0 \
             OPT (020405B40402080A8B24D4C8000000000103030A) "
        ));
    }

    #[test]
    fn icmp_error_with_quoted_udp_from_output() {
        // `-A OUTPUT -j LOG --log-prefix "O: "`: the port unreachable REJECT sent.
        let mut udp = vec![
            0x45, 0, 0, 30, 0x3f, 0x6a, 0x40, 0, 64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2,
        ];
        udp.extend_from_slice(&[0xd3, 0x7c, 0, 9, 0, 10, 0, 0, b'x', b'\n']);
        let mut icmp = vec![
            0x45, 0xc0, 0, 58, 0x83, 0xf4, 0, 0, 64, 1, 0, 0, 10, 9, 0, 2, 10, 9, 0, 1,
        ];
        icmp.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
        icmp.extend_from_slice(&udp);
        let mut s = String::from("O: ");
        format_packet(&mut s, None, Some("vb"), None, &icmp, 0, 0);
        assert_eq!(
            s,
            "O: IN= OUT=vb SRC=10.9.0.2 DST=10.9.0.1 LEN=58 TOS=0x00 PREC=0xC0 TTL=64 ID=33780 \
             PROTO=ICMP TYPE=3 CODE=3 [SRC=10.9.0.1 DST=10.9.0.2 LEN=30 TOS=0x00 PREC=0x00 TTL=64 \
             ID=16234 DF PROTO=UDP SPT=54140 DPT=9 LEN=10 ] "
        );
    }

    #[test]
    fn never_panics_on_truncation() {
        let ip = [
            0x45u8, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1,
        ];
        for n in 0..ip.len() {
            let mut s = String::new();
            format_packet(&mut s, Some("x"), None, None, &ip[..n], 0xff, 1);
        }
    }
}
