//! The generated frames: Ethernet + IPv4 + UDP with a stamp at the start of the payload
//! (magic, flow id, per-flow sequence number, transmit time) that survives NAT, so the
//! receive side can count loss, reordering and latency per flow.
//!
//! Sizes follow RFC 2544: a "64-byte" frame is 64 bytes on the wire including the 4-byte
//! FCS the NIC appends, so 60 bytes are written. IPv6 frames (`write_udp6`) carry the
//! same stamp after a 40-byte header, so the smallest is 84 bytes (80 written).

use super::fields::{FlowTuple, FlowTuple6};
use dataplane::port::MacAddr;
use dataplane::wire::checksum;
use dataplane::wire::ipv4::Protocol;
use std::str::FromStr;

/// Stamp bytes at the start of the UDP payload.
pub const STAMP_LEN: usize = 18;
/// "NF": marks a payload as ours.
pub const MAGIC: [u8; 2] = *b"NF";
const ETH: usize = 14;
const IP: usize = 20;
const UDP: usize = 8;
/// Headers plus the stamp: the smallest frame the generator writes.
pub const MIN_FRAME: usize = ETH + IP + UDP + STAMP_LEN;
/// The Ethernet FCS, counted in sizes but written by the NIC.
pub const FCS: usize = 4;
/// Wire size (with FCS) of the smallest and largest frames.
pub const MIN_SIZE: u16 = (MIN_FRAME + FCS) as u16;
pub const MAX_SIZE: u16 = 1518;
const IP6: usize = 40;
/// The smallest IPv6 frame: headers plus the stamp.
pub const MIN_FRAME6: usize = ETH + IP6 + UDP + STAMP_LEN;
/// Its wire size (with FCS).
pub const MIN_SIZE6: u16 = (MIN_FRAME6 + FCS) as u16;

/// IMIX 7:4:1 of 64/570/1518-byte frames, interleaved so every window of 12 frames has
/// the mix.
const IMIX: [u16; 12] = [64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 64, 570];

/// Frame sizes on the wire (FCS included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizes {
    Fixed(u16),
    /// 7:4:1 of 64, 570 and 1518 bytes.
    Imix,
}

impl Sizes {
    /// Mean wire size, for converting bits/s to packets/s.
    pub fn mean(&self) -> f64 {
        match self {
            Sizes::Fixed(s) => f64::from(*s),
            Sizes::Imix => IMIX.iter().map(|&s| f64::from(s)).sum::<f64>() / IMIX.len() as f64,
        }
    }

    /// The wire size of packet number `n`.
    #[inline]
    pub fn nth(&self, n: u64) -> u16 {
        match self {
            Sizes::Fixed(s) => *s,
            Sizes::Imix => IMIX[(n % IMIX.len() as u64) as usize],
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match self {
            Sizes::Fixed(s) if !(MIN_SIZE..=MAX_SIZE).contains(s) => Err(format!(
                "frame size {s} out of range: {MIN_SIZE}..{MAX_SIZE} bytes (on the wire, FCS included)"
            )),
            _ => Ok(()),
        }
    }
}

impl FromStr for Sizes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("imix") {
            return Ok(Sizes::Imix);
        }
        let n: u16 = s
            .parse()
            .map_err(|_| format!("bad size `{s}`: a byte count or `imix`"))?;
        let sizes = Sizes::Fixed(n);
        sizes.validate()?;
        Ok(sizes)
    }
}

/// What the receive side reads back from a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub flow: u32,
    pub seq: u32,
    /// Transmit time, nanoseconds on the generator's clock.
    pub tx_ns: u64,
}

/// Ethernet addresses of the generated frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Macs {
    pub src: MacAddr,
    pub dst: MacAddr,
}

/// Writes one UDP frame of `frame_len` bytes (wire size minus FCS, at least `MIN_FRAME`)
/// into `buf` and returns its length, or 0 if `buf` is too small. Bytes after the stamp
/// are left as they are (the content of a load test's payload does not matter).
#[inline]
pub fn write_udp(
    buf: &mut [u8],
    macs: &Macs,
    t: &FlowTuple,
    frame_len: usize,
    stamp: &Stamp,
) -> usize {
    let frame_len = frame_len.max(MIN_FRAME);
    if buf.len() < frame_len {
        return 0;
    }
    let ip_len = (frame_len - ETH) as u16;
    buf[0..6].copy_from_slice(&macs.dst.0);
    buf[6..12].copy_from_slice(&macs.src.0);
    buf[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut buf[ETH..ETH + IP];
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[4..8].copy_from_slice(&[0, 0, 0x40, 0]); // id 0, DF
    ip[8] = 64;
    ip[9] = 17;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&t.src.octets());
    ip[16..20].copy_from_slice(&t.dst.octets());
    let c = !checksum::data(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let udp = &mut buf[ETH + IP..ETH + IP + UDP];
    udp[0..2].copy_from_slice(&t.sport.to_be_bytes());
    udp[2..4].copy_from_slice(&t.dport.to_be_bytes());
    udp[4..6].copy_from_slice(&(ip_len - IP as u16).to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]); // no checksum: legal for UDP over IPv4
    write_stamp(&mut buf[ETH + IP + UDP..], stamp);
    frame_len
}

/// `write_udp` for IPv6 (hop limit 64, no extension headers, at least `MIN_FRAME6`). The
/// UDP checksum, mandatory over IPv6, covers the whole payload as it is in `buf`.
#[inline]
pub fn write_udp6(
    buf: &mut [u8],
    macs: &Macs,
    t: &FlowTuple6,
    frame_len: usize,
    stamp: &Stamp,
) -> usize {
    let frame_len = frame_len.max(MIN_FRAME6);
    if buf.len() < frame_len {
        return 0;
    }
    let udp_len = (frame_len - ETH - IP6) as u16;
    buf[0..6].copy_from_slice(&macs.dst.0);
    buf[6..12].copy_from_slice(&macs.src.0);
    buf[12..14].copy_from_slice(&[0x86, 0xdd]);
    let ip = &mut buf[ETH..ETH + IP6];
    ip[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    ip[4..6].copy_from_slice(&udp_len.to_be_bytes());
    ip[6] = 17;
    ip[7] = 64;
    ip[8..24].copy_from_slice(&t.src.octets());
    ip[24..40].copy_from_slice(&t.dst.octets());
    let seg = &mut buf[ETH + IP6..frame_len];
    seg[0..2].copy_from_slice(&t.sport.to_be_bytes());
    seg[2..4].copy_from_slice(&t.dport.to_be_bytes());
    seg[4..6].copy_from_slice(&udp_len.to_be_bytes());
    seg[6..8].copy_from_slice(&[0, 0]);
    write_stamp(&mut seg[UDP..], stamp);
    let pseudo = checksum::pseudo_header_ipv6(t.src, t.dst, Protocol::Udp, u32::from(udp_len));
    let c = match checksum::finish(&[pseudo, checksum::data(seg)]) {
        // RFC 8200 8.1: a computed zero is sent as all ones (zero means none).
        0 => 0xffff,
        c => c,
    };
    seg[6..8].copy_from_slice(&c.to_be_bytes());
    frame_len
}

#[inline]
fn write_stamp(p: &mut [u8], s: &Stamp) {
    p[0..2].copy_from_slice(&MAGIC);
    p[2..6].copy_from_slice(&s.flow.to_be_bytes());
    p[6..10].copy_from_slice(&s.seq.to_be_bytes());
    p[10..18].copy_from_slice(&s.tx_ns.to_be_bytes());
}

/// The stamp of a frame the generator wrote (after any NAT or 5-tuple swap in between):
/// Ethernet, IPv4 (any header length, first fragment), UDP or TCP, then the stamp. IPv6
/// frames: `read_stamp6`.
#[inline]
pub fn read_stamp(frame: &[u8]) -> Option<Stamp> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = frame.get(ETH..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ihl < IP || u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x1fff != 0 {
        return None;
    }
    let l4 = match ip.get(9)? {
        17 => UDP,
        6 => usize::from(ip.get(ihl + 12)? >> 4) * 4,
        _ => return None,
    };
    stamp_of(ip.get(ihl + l4..ihl + l4 + STAMP_LEN)?)
}

/// `read_stamp` of an Ethernet/IPv6 frame without extension headers.
#[inline]
pub fn read_stamp6(frame: &[u8]) -> Option<Stamp> {
    if frame.get(12..14)? != [0x86, 0xdd] {
        return None;
    }
    let ip = frame.get(ETH..)?;
    let l4 = match ip.get(6)? {
        17 => UDP,
        6 => usize::from(ip.get(IP6 + 12)? >> 4) * 4,
        _ => return None,
    };
    stamp_of(ip.get(IP6 + l4..IP6 + l4 + STAMP_LEN)?)
}

#[inline(always)]
fn stamp_of(p: &[u8]) -> Option<Stamp> {
    if p[0..2] != MAGIC {
        return None;
    }
    let u32_at = |o: usize| u32::from_be_bytes([p[o], p[o + 1], p[o + 2], p[o + 3]]);
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&p[10..18]);
    Some(Stamp {
        flow: u32_at(2),
        seq: u32_at(6),
        tx_ns: u64::from_be_bytes(ts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const MACS: Macs = Macs {
        src: MacAddr([2, 0, 0, 0, 0, 1]),
        dst: MacAddr([2, 0, 0, 0, 0, 2]),
    };
    const STAMP: Stamp = Stamp {
        flow: 7,
        seq: 99,
        tx_ns: 123_456_789,
    };

    #[test]
    fn frame_round_trip() {
        let t = FlowTuple {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 1, 1),
            sport: 1234,
            dport: 53,
        };
        let (macs, s) = (MACS, STAMP);
        let mut buf = [0u8; 128];
        assert_eq!(write_udp(&mut buf, &macs, &t, 60, &s), 60);
        assert_eq!(checksum::data(&buf[14..34]), 0xffff, "valid IPv4 checksum");
        assert_eq!(&buf[16..18], &46u16.to_be_bytes());
        assert_eq!(&buf[38..40], &26u16.to_be_bytes());
        assert_eq!(read_stamp(&buf[..60]), Some(s));
        assert_eq!(read_stamp(&buf[..59]), None, "truncated stamp");
        assert_eq!(write_udp(&mut buf[..50], &macs, &t, 60, &s), 0);
        buf[42] = b'X';
        assert_eq!(read_stamp(&buf[..60]), None, "no magic");
    }

    #[test]
    fn ipv6_frame() {
        let t = FlowTuple6 {
            src: "2001:db8:1::10".parse().unwrap(),
            dst: "2001:db8:ff::53".parse().unwrap(),
            sport: 10_000,
            dport: 53,
        };
        let (macs, s) = (MACS, STAMP);
        let mut buf = [0xaau8; 160];
        // Asked for less than the minimum: the minimum.
        assert_eq!(write_udp6(&mut buf, &macs, &t, 60, &s), MIN_FRAME6);
        assert_eq!(MIN_SIZE6, 84);
        let f = &buf[..80];
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(&f[14..22], &[0x60, 0, 0, 0, 0, 26, 17, 64]);
        assert_eq!(&f[22..38], &t.src.octets());
        assert_eq!(&f[38..54], &t.dst.octets());
        assert_eq!(&f[54..60], &[0x27, 0x10, 0, 53, 0, 26]);
        assert_eq!(&f[62..64], b"NF");
        let pseudo = checksum::pseudo_header_ipv6(t.src, t.dst, Protocol::Udp, 26);
        assert_eq!(
            checksum::combine(&[pseudo, checksum::data(&f[54..80])]),
            0xffff,
            "valid UDP checksum over the pseudo-header"
        );
        assert_ne!(&f[60..62], &[0, 0]);
        // The dataplane's parser agrees.
        let ip = dataplane::wire::Ipv6Packet::new_checked(&f[14..]).unwrap();
        let udp = dataplane::wire::UdpPacket::new_checked(ip.payload()).unwrap();
        assert!(udp.verify_checksum_ipv6(ip.src_addr(), ip.dst_addr()));
        assert_eq!(read_stamp6(f), Some(s));
        assert_eq!(read_stamp(f), None, "IPv4 only");
        assert_eq!(read_stamp6(&buf[..79]), None, "truncated stamp");
        // A larger frame: the checksum covers the payload after the stamp too.
        assert_eq!(write_udp6(&mut buf, &macs, &t, 150, &s), 150);
        assert_eq!(&buf[18..20], &96u16.to_be_bytes());
        let pseudo = checksum::pseudo_header_ipv6(t.src, t.dst, Protocol::Udp, 96);
        assert_eq!(
            checksum::combine(&[pseudo, checksum::data(&buf[54..150])]),
            0xffff
        );
        assert_eq!(read_stamp6(&buf[..150]), Some(s));
        assert_eq!(write_udp6(&mut buf[..79], &macs, &t, 80, &s), 0);
    }

    #[test]
    fn sizes() {
        assert_eq!("64".parse::<Sizes>(), Ok(Sizes::Fixed(64)));
        assert!("63".parse::<Sizes>().is_err());
        assert!("1519".parse::<Sizes>().is_err());
        let imix: Sizes = "IMIX".parse().unwrap();
        let n64 = (0..12).filter(|&n| imix.nth(n) == 64).count();
        let n570 = (0..12).filter(|&n| imix.nth(n) == 570).count();
        assert_eq!((n64, n570), (7, 4));
        assert!((imix.mean() - 353.833).abs() < 0.01);
    }
}
