//! Packets the appliance sends in answer to another: the ICMP errors of `icmp_send`
//! (REJECT's icmp-* kinds, TTL expiry, no route) and the TCP reset of `nf_send_reset`.
//! Field for field what the Linux kernel sends; checked against it in a namespace (see
//! the tests).

use crate::port::{PacketBuf, DEFAULT_HEADROOM};
use crate::wire::checksum;
use crate::wire::IpProtocol as Protocol;
use std::net::Ipv4Addr;

/// `ip_default_ttl`.
pub const DEFAULT_TTL: u8 = 64;
/// ICMP errors quote at most this much: the reply fits in 576 bytes (RFC 1812).
pub const ICMP_ERROR_MAX: usize = 576;

fn ip_ok(orig: &[u8]) -> Option<usize> {
    if orig.len() < 20 || orig[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(orig[0] & 0x0f) * 4;
    (ihl >= 20 && orig.len() >= ihl).then_some(ihl)
}

fn is_non_first_fragment(orig: &[u8]) -> bool {
    u16::from_be_bytes([orig[6], orig[7]]) & 0x1fff != 0
}

fn addr(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// The one's complement sum of the transport segment with its pseudo header is zero.
fn l4_checksum_ok(orig: &[u8], ihl: usize, proto: u8) -> bool {
    let seg = &orig[ihl..];
    let pseudo = checksum::pseudo_header(
        addr(&orig[12..16]),
        addr(&orig[16..20]),
        Protocol::from(proto),
        seg.len() as u32,
    );
    checksum::combine(&[pseudo, checksum::data(seg)]) == 0xffff
}

/// Whether the kernel would answer this packet with an ICMP error at all: not for ICMP
/// errors, non-first fragments, or a source that cannot receive one.
pub fn may_send_icmp_error(orig: &[u8]) -> bool {
    let Some(ihl) = ip_ok(orig) else {
        return false;
    };
    if is_non_first_fragment(orig) {
        return false;
    }
    let src = addr(&orig[12..16]);
    if src.is_unspecified() || src.is_broadcast() || src.is_multicast() || src.is_loopback() {
        return false;
    }
    if orig[9] == 1 {
        // Only queries (echo, timestamp, info, address mask) may be answered with errors.
        match orig.get(ihl) {
            Some(0 | 8 | 9 | 10 | 13 | 14 | 15 | 16 | 17 | 18) => {}
            _ => return false,
        }
    }
    true
}

/// An ICMP error about `orig` from `src`, as `__icmp_send` builds it: TOS keeps the
/// original's TOS bits with precedence "internetwork control", TTL 64, no DF, the
/// original datagram quoted up to 576 bytes in all.
pub fn icmp_error(
    orig: &[u8],
    icmp_type: u8,
    code: u8,
    src: Ipv4Addr,
    ident: u16,
) -> Option<PacketBuf> {
    if !may_send_icmp_error(orig) {
        return None;
    }
    let quote = orig.len().min(ICMP_ERROR_MAX - 28);
    let total = 28 + quote;
    let mut buf = PacketBuf::new(DEFAULT_HEADROOM + total, DEFAULT_HEADROOM);
    let p = buf.append(total);
    p[0] = 0x45;
    p[1] = (orig[1] & 0x1e) | 0xc0;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[8] = DEFAULT_TTL;
    p[9] = 1;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&orig[12..16]);
    p[20] = icmp_type;
    p[21] = code;
    p[28..].copy_from_slice(&orig[..quote]);
    let c = !checksum::data(&p[20..]);
    p[22..24].copy_from_slice(&c.to_be_bytes());
    let c = !checksum::data(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    Some(buf)
}

/// REJECT's icmp-* answers need a transport checksum that verifies (nf_send_unreach);
/// UDP without a checksum and other protocols are not checked.
pub fn unreach_checksum_ok(orig: &[u8]) -> bool {
    let Some(ihl) = ip_ok(orig) else {
        return false;
    };
    match orig[9] {
        6 => l4_checksum_ok(orig, ihl, 6),
        17 => orig.get(ihl + 6..ihl + 8) == Some(&[0, 0][..]) || l4_checksum_ok(orig, ihl, 17),
        _ => true,
    }
}

/// `nf_send_reset`: a RST for a TCP segment (not for a RST, not for a non-first
/// fragment, not when the segment's checksum is bad). With the original's ACK the
/// reset takes its sequence number from it; without, it acknowledges what was sent.
pub fn tcp_reset(orig: &[u8]) -> Option<PacketBuf> {
    let ihl = ip_ok(orig)?;
    if orig[9] != 6 || is_non_first_fragment(orig) {
        return None;
    }
    let th = orig.get(ihl..ihl + 20)?;
    let doff = usize::from(th[12] >> 4) * 4;
    let flags = th[13];
    if flags & 0x04 != 0 || doff < 20 || orig.len() < ihl + doff || !l4_checksum_ok(orig, ihl, 6) {
        return None;
    }
    let mut buf = PacketBuf::new(DEFAULT_HEADROOM + 40, DEFAULT_HEADROOM);
    let p = buf.append(40);
    p[0] = 0x45;
    p[2..4].copy_from_slice(&40u16.to_be_bytes());
    p[6] = 0x40; // DF, ID 0
    p[8] = DEFAULT_TTL;
    p[9] = 6;
    p[12..16].copy_from_slice(&orig[16..20]);
    p[16..20].copy_from_slice(&orig[12..16]);
    p[20..22].copy_from_slice(&th[2..4]);
    p[22..24].copy_from_slice(&th[0..2]);
    if flags & 0x10 != 0 {
        p[24..28].copy_from_slice(&th[8..12]);
        p[33] = 0x04;
    } else {
        let seq = u32::from_be_bytes([th[4], th[5], th[6], th[7]]);
        let payload = (orig.len() - ihl - doff) as u32;
        let ack = seq
            .wrapping_add(u32::from(flags & 0x02 != 0))
            .wrapping_add(u32::from(flags & 0x01 != 0))
            .wrapping_add(payload);
        p[28..32].copy_from_slice(&ack.to_be_bytes());
        p[33] = 0x14;
    }
    p[32] = 0x50;
    let pseudo = checksum::pseudo_header(addr(&p[12..16]), addr(&p[16..20]), Protocol::Tcp, 20);
    let c = !checksum::combine(&[pseudo, checksum::data(&p[20..40])]);
    p[36..38].copy_from_slice(&c.to_be_bytes());
    let c = !checksum::data(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix_tcp(p: &mut [u8]) {
        p[36] = 0;
        p[37] = 0;
        let pseudo = checksum::pseudo_header(
            addr(&p[12..16]),
            addr(&p[16..20]),
            Protocol::Tcp,
            (p.len() - 20) as u32,
        );
        let c = !checksum::combine(&[pseudo, checksum::data(&p[20..])]);
        p[36..38].copy_from_slice(&c.to_be_bytes());
        p[10] = 0;
        p[11] = 0;
        let c = !checksum::data(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    }

    fn segment(flags: u8, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
        p[6] = 0x40;
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[10, 9, 0, 1]);
        p[16..20].copy_from_slice(&[10, 9, 0, 2]);
        p[20..22].copy_from_slice(&40000u16.to_be_bytes());
        p[22..24].copy_from_slice(&9u16.to_be_bytes());
        p[24..28].copy_from_slice(&seq.to_be_bytes());
        p[28..32].copy_from_slice(&ack.to_be_bytes());
        p[32] = 0x50;
        p[33] = flags;
        p[34..36].copy_from_slice(&1024u16.to_be_bytes());
        p.extend_from_slice(payload);
        fix_tcp(&mut p);
        p
    }

    fn valid(p: &[u8]) -> bool {
        checksum::data(&p[..20]) == 0xffff && l4_checksum_ok(p, 20, p[9])
    }

    /// Expectations from the kernel (6.x) in a namespace: `iptables -A INPUT -p tcp
    /// --dport 9 -j REJECT --reject-with tcp-reset`, answers logged with
    /// `-A OUTPUT -j LOG --log-tcp-sequence`:
    /// SYN seq=1647476119 -> `LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=9
    /// DPT=37544 SEQ=0 ACK=1647476120 WINDOW=0 RES=0x00 ACK RST URGP=0`;
    /// PSH/ACK seq=1000 ack=5000 with 5 bytes -> `... SEQ=5000 ACK=0 WINDOW=0 RES=0x00
    /// RST URGP=0`.
    #[test]
    fn reset_like_the_kernel() {
        let syn = segment(0x02, 1_647_476_119, 0, &[]);
        let r = tcp_reset(&syn).unwrap();
        let r = r.data();
        assert_eq!(r.len(), 40);
        assert_eq!(
            (r[1], r[8], &r[4..6], r[6] & 0x40),
            (0, 64, &[0u8, 0][..], 0x40),
            "TOS 0, TTL 64, ID 0, DF"
        );
        assert_eq!(
            (&r[12..16], &r[16..20]),
            (&[10, 9, 0, 2][..], &[10, 9, 0, 1][..])
        );
        assert_eq!(
            (&r[20..22], &r[22..24]),
            (&9u16.to_be_bytes()[..], &40000u16.to_be_bytes()[..])
        );
        assert_eq!(u32::from_be_bytes([r[24], r[25], r[26], r[27]]), 0);
        assert_eq!(
            u32::from_be_bytes([r[28], r[29], r[30], r[31]]),
            1_647_476_120
        );
        assert_eq!(
            (r[32], r[33], &r[34..36]),
            (0x50, 0x14, &[0u8, 0][..]),
            "ACK RST, window 0"
        );
        assert!(valid(r));

        let data = segment(0x18, 1000, 5000, b"hello");
        let r = tcp_reset(&data).unwrap();
        let r = r.data();
        assert_eq!(u32::from_be_bytes([r[24], r[25], r[26], r[27]]), 5000);
        assert_eq!(u32::from_be_bytes([r[28], r[29], r[30], r[31]]), 0);
        assert_eq!(r[33], 0x04, "RST only");
        assert!(valid(r));

        // FIN and payload count in the ACK of a reset to a segment without ACK.
        let fin = segment(0x01, 7, 0, b"abc");
        let r = tcp_reset(&fin).unwrap();
        assert_eq!(
            u32::from_be_bytes(r.data()[28..32].try_into().unwrap()),
            7 + 1 + 3
        );

        assert!(
            tcp_reset(&segment(0x04, 1, 0, &[])).is_none(),
            "never answer a RST"
        );
        let mut bad = segment(0x02, 1, 0, &[]);
        bad[37] ^= 1;
        assert!(tcp_reset(&bad).is_none(), "bad checksum: no reset");
    }

    /// Kernel: UDP to a closed port with REJECT (default) from 10.9.0.2 -> `LEN=58
    /// TOS=0x00 PREC=0xC0 TTL=64 ID=33780 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.9.0.1
    /// DST=10.9.0.2 LEN=30 ... PROTO=UDP SPT=54140 DPT=9 LEN=10 ]` (no DF; the ID is the
    /// kernel's choice).
    #[test]
    fn port_unreachable_like_the_kernel() {
        let mut udp = vec![
            0x45, 0x10, 0, 30, 0x3f, 0x6a, 0x40, 0, 64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2,
        ];
        udp.extend_from_slice(&[0xd3, 0x7c, 0, 9, 0, 10, 0, 0, b'x', b'\n']);
        let c = !checksum::data(&udp[..20]);
        udp[10..12].copy_from_slice(&c.to_be_bytes());
        let e = icmp_error(&udp, 3, 3, Ipv4Addr::new(10, 9, 0, 2), 33780).unwrap();
        let e = e.data();
        assert_eq!(e.len(), 58);
        assert_eq!(
            (e[1], e[6], e[8], e[9]),
            (0xd0, 0, 64, 1),
            "TOS bits kept, PREC 0xC0, no DF"
        );
        assert_eq!(
            (&e[12..16], &e[16..20]),
            (&[10, 9, 0, 2][..], &[10, 9, 0, 1][..])
        );
        assert_eq!((e[20], e[21], &e[24..28]), (3, 3, &[0u8; 4][..]));
        assert_eq!(&e[28..], &udp[..]);
        assert_eq!(checksum::data(&e[..20]), 0xffff);
        assert_eq!(checksum::data(&e[20..]), 0xffff);
        // Big packets are cut so the error is 576 bytes.
        let mut big = udp.clone();
        big.resize(1400, 0);
        big[2..4].copy_from_slice(&1400u16.to_be_bytes());
        assert_eq!(
            icmp_error(&big, 3, 3, Ipv4Addr::new(10, 9, 0, 2), 1)
                .unwrap()
                .len(),
            576
        );
        // Never about an ICMP error or a non-first fragment.
        let mut icmp_err = e.to_vec();
        icmp_err[12..16].copy_from_slice(&[10, 9, 0, 3]);
        assert!(icmp_error(&icmp_err, 3, 3, Ipv4Addr::new(10, 9, 0, 2), 1).is_none());
        let mut frag = udp.clone();
        frag[7] = 1;
        assert!(icmp_error(&frag, 3, 3, Ipv4Addr::new(10, 9, 0, 2), 1).is_none());
    }
}
