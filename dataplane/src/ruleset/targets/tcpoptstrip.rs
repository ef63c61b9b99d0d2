//! `-j TCPOPTSTRIP [--strip-options KIND,...]` (xt_TCPOPTSTRIP; mangle, `-p tcp`): every
//! TCP option of a listed kind is overwritten with NOPs, the checksum patched for each
//! byte as the kernel patches it. Options are walked as `optlen` walks them: EOL and NOP
//! are one byte, an option claiming length 0 counts as one (finite progress), one running
//! past the header ends the walk. A later fragment passes unchanged; a first fragment or
//! packet whose TCP header is truncated is dropped.

use crate::wire::{checksum, read_u16, write_u16};

const NOP: u8 = 1;

/// The kinds to strip, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpoptstripTarget {
    pub kinds: [u64; 4],
}

/// What the target did to a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StripOutcome {
    Unchanged,
    Stripped,
    /// The TCP header is shorter than it says (`NF_DROP`).
    Drop,
}

impl TcpoptstripTarget {
    pub fn strips(&self, kind: u8) -> bool {
        self.kinds[usize::from(kind >> 6)] >> (kind & 63) & 1 == 1
    }

    pub fn add(&mut self, kind: u8) {
        self.kinds[usize::from(kind >> 6)] |= 1 << (kind & 63);
    }

    /// The kinds, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&k| self.strips(k))
    }

    /// Applies to an IPv4 packet (trimmed to its total length), or an IPv6 one with TCP
    /// past its extension headers (tcpoptstrip_tg6; a non-first fragment passes).
    pub fn apply_to_packet(&self, ip: &mut [u8]) -> StripOutcome {
        let tcp = if ip.first().is_some_and(|b| b >> 4 == 6) {
            let Some(seg) = super::tcp_segment(ip) else {
                return StripOutcome::Unchanged;
            };
            &mut ip[seg.tcp..seg.end]
        } else {
            if ip.len() < 20 || ip[9] != 6 || read_u16(ip, 6) & 0x1fff != 0 {
                return StripOutcome::Unchanged;
            }
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let Some(tcp) = ip.get_mut(ihl..) else {
                return StripOutcome::Drop;
            };
            tcp
        };
        if tcp.len() < 20 {
            return StripOutcome::Drop;
        }
        let hdr = usize::from(tcp[12] >> 4) * 4;
        if tcp.len() < hdr {
            return StripOutcome::Drop;
        }
        let mut changed = false;
        let mut i = 20;
        // `i < tcp_hdrlen - 1`: an option needs its kind and length bytes.
        while i + 1 < hdr {
            let kind = tcp[i];
            let len = if kind <= NOP || tcp[i + 1] == 0 {
                1
            } else {
                usize::from(tcp[i + 1])
            };
            if i + len > hdr {
                break;
            }
            if self.strips(kind) {
                for j in i..i + len {
                    // The byte's place in its 16-bit word of the checksum.
                    let (old, new) = if j % 2 == 0 {
                        (u16::from(tcp[j]) << 8, u16::from(NOP) << 8)
                    } else {
                        (u16::from(tcp[j]), u16::from(NOP))
                    };
                    let c = checksum::update_u16(read_u16(tcp, 16), old, new);
                    write_u16(tcp, 16, c);
                    tcp[j] = NOP;
                }
                changed = true;
            }
            i += len;
        }
        if changed {
            StripOutcome::Stripped
        } else {
            StripOutcome::Unchanged
        }
    }
}

impl crate::ruleset::ext::TargetExt for TcpoptstripTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "TCPOPTSTRIP";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Mangle)
    }

    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        if spec.exact_proto() != Some(crate::ruleset::matches::IPPROTO_TCP) {
            return Err("TCPOPTSTRIP target: only valid for protocol 6".into());
        }
        Ok(())
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        if self.apply_to_packet(cx.packet_mut()) == StripOutcome::Drop {
            return cx.drop_for(crate::pipeline::DropReason::Malformed);
        }
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, tcp};
    use std::net::Ipv4Addr;

    fn checksum_ok(ip: &[u8]) -> bool {
        let l4 = &ip[20..];
        let ph = checksum::pseudo_header(
            Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            crate::wire::IpProtocol::Tcp,
            l4.len() as u32,
        );
        checksum::combine(&[ph, checksum::data(l4)]) == 0xffff
    }

    /// `ipv4` with the TCP checksum filled in.
    fn packet(opts: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut p = ipv4(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &tcp(40000, 80, 0x02, opts, payload),
        );
        p[36..38].copy_from_slice(&[0, 0]);
        let ph = checksum::pseudo_header(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            crate::wire::IpProtocol::Tcp,
            (p.len() - 20) as u32,
        );
        let c = !checksum::combine(&[ph, checksum::data(&p[20..])]);
        p[36..38].copy_from_slice(&c.to_be_bytes());
        p
    }

    fn strip(kinds: &[u8]) -> TcpoptstripTarget {
        let mut t = TcpoptstripTarget::default();
        for &k in kinds {
            t.add(k);
        }
        t
    }

    /// A SYN with Linux's options: MSS 1460, SACK permitted, timestamps, NOP, wscale 7.
    fn syn() -> Vec<u8> {
        let opts = [
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        packet(&opts, b"")
    }

    #[test]
    fn listed_kinds_become_nops_and_the_checksum_stays_valid() {
        let mut p = syn();
        assert!(checksum_ok(&p));
        assert_eq!(
            strip(&[3, 8]).apply_to_packet(&mut p),
            StripOutcome::Stripped
        );
        assert!(checksum_ok(&p));
        assert_eq!(
            &p[40..60],
            &[2, 4, 0x05, 0xb4, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
        );
        // Nothing listed is there: unchanged.
        let before = p.clone();
        assert_eq!(
            strip(&[19, 30]).apply_to_packet(&mut p),
            StripOutcome::Unchanged
        );
        assert_eq!(p, before);
        assert_eq!(strip(&[2]).apply_to_packet(&mut p), StripOutcome::Stripped);
        assert!(checksum_ok(&p));
        assert_eq!(&p[40..44], &[1, 1, 1, 1]);
    }

    #[test]
    fn walks_options_as_the_kernel_and_drops_truncated_headers() {
        // EOL then a "zero-length" option then MSS: EOL and the 0-length one are a byte
        // each, so the walk reaches the MSS and strips it.
        let opts = [0, 30, 0, 1, 2, 4, 5, 0xb4];
        let mut p = packet(&opts, b"");
        assert!(checksum_ok(&p));
        assert_eq!(
            strip(&[2, 30]).apply_to_packet(&mut p),
            StripOutcome::Stripped
        );
        assert_eq!(&p[40..48], &[0, 1, 0, 1, 1, 1, 1, 1]);
        assert!(checksum_ok(&p));
        // An option running past the header ends the walk.
        let opts = [1, 1, 8, 10, 0, 0];
        let mut p = packet(&opts, b"xy");
        assert_eq!(strip(&[8]).apply_to_packet(&mut p), StripOutcome::Unchanged);
        // A header claiming more than the packet has: dropped.
        let mut p = syn();
        p.truncate(50);
        p[2..4].copy_from_slice(&50u16.to_be_bytes());
        assert_eq!(strip(&[2]).apply_to_packet(&mut p), StripOutcome::Drop);
        // A later fragment: untouched.
        let mut p = syn();
        p[6..8].copy_from_slice(&[0, 4]);
        assert_eq!(strip(&[2]).apply_to_packet(&mut p), StripOutcome::Unchanged);
    }

    /// `packet`'s TCP segment in an IPv6 packet behind a destination options header.
    fn packet6(opts: &[u8]) -> Vec<u8> {
        let (src, dst) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        let mut seg = tcp(40000, 80, 0x02, opts, b"");
        seg[16..18].copy_from_slice(&[0, 0]);
        let ph =
            checksum::pseudo_header_ipv6(src, dst, crate::wire::IpProtocol::Tcp, seg.len() as u32);
        let c = !checksum::combine(&[ph, checksum::data(&seg)]);
        seg[16..18].copy_from_slice(&c.to_be_bytes());
        let mut p = vec![0x60, 0, 0, 0, 0, 0, 60, 64];
        p[4..6].copy_from_slice(&((8 + seg.len()) as u16).to_be_bytes());
        p.extend_from_slice(&std::net::Ipv6Addr::octets(&src));
        p.extend_from_slice(&std::net::Ipv6Addr::octets(&dst));
        p.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&seg);
        p
    }

    fn checksum6_ok(p: &[u8]) -> bool {
        let (src, dst) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        let l4 = &p[48..];
        let ph =
            checksum::pseudo_header_ipv6(src, dst, crate::wire::IpProtocol::Tcp, l4.len() as u32);
        checksum::combine(&[ph, checksum::data(l4)]) == 0xffff
    }

    #[test]
    fn ipv6_tcp_past_extension_headers_and_fragments() {
        let opts = [
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let mut p = packet6(&opts);
        assert!(checksum6_ok(&p));
        assert_eq!(
            strip(&[8, 4]).apply_to_packet(&mut p),
            StripOutcome::Stripped
        );
        assert!(checksum6_ok(&p));
        assert_eq!(
            &p[68..88],
            &[2, 4, 0x05, 0xb4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 7]
        );
        // The destination options header's bytes are not options to strip.
        assert_eq!(&p[40..48], &[6, 0, 1, 4, 0, 0, 0, 0]);
        // A non-first fragment (a fragment header at offset 8) carries no TCP header.
        let mut f = packet6(&opts);
        f[6] = 44;
        f[40..48].copy_from_slice(&[6, 0, 0, 8, 0, 0, 0, 1]);
        let before = f.clone();
        assert_eq!(strip(&[2]).apply_to_packet(&mut f), StripOutcome::Unchanged);
        assert_eq!(f, before);
        // A TCP header claiming more than the packet holds: dropped.
        let mut t = packet6(&opts);
        t[60] = 0xf0;
        assert_eq!(strip(&[2]).apply_to_packet(&mut t), StripOutcome::Drop);
    }
}
