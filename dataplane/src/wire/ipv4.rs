//! IPv4 headers (RFC 791), options included.

use core::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use super::{read_u16, write_u16, Error, Result};

/// The IP protocol number. The three protocols the packet path looks inside are named; any
/// other number is kept so it round-trips and can still be matched (`-p 47`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Icmp,
    Tcp,
    Udp,
    Unknown(u8),
}

impl From<u8> for Protocol {
    fn from(v: u8) -> Self {
        match v {
            1 => Protocol::Icmp,
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            v => Protocol::Unknown(v),
        }
    }
}

impl From<Protocol> for u8 {
    fn from(v: Protocol) -> Self {
        match v {
            Protocol::Icmp => 1,
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Unknown(v) => v,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Unknown(v) => write!(f, "{v}"),
        }
    }
}

mod field {
    use core::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet.
///
/// `check_len` guarantees `20 <= header_len() <= total_len() <= buffer.len()`, so the header,
/// its options and the payload (`header_len..total_len`) can be sliced directly. Bytes past
/// `total_len` (Ethernet padding) are not part of the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Validates IHL >= 5, the header within the buffer, total length >= header length and the
    /// total length within the buffer. The version is a semantic check done by [`Repr::parse`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len() as usize;
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < header_len {
            return Err(Error::Truncated);
        }
        let total_len = self.total_len() as usize;
        if total_len < header_len {
            return Err(Error::Malformed);
        }
        if len < total_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The whole type-of-service byte (DSCP << 2 | ECN), as `--tos` matches it.
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    #[inline]
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT)
    }

    fn flg_off(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLG_OFF)
    }

    pub fn dont_frag(&self) -> bool {
        self.flg_off() & FLAG_DF != 0
    }

    pub fn more_frags(&self) -> bool {
        self.flg_off() & FLAG_MF != 0
    }

    /// Fragment offset in 8-byte units, as carried on the wire.
    pub fn frag_offset(&self) -> u16 {
        self.flg_off() & OFFSET_MASK
    }

    /// Fragment offset in bytes.
    pub fn frag_offset_bytes(&self) -> u16 {
        self.frag_offset() << 3
    }

    /// Part of a fragmented datagram (first, middle or last fragment).
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Whether the L4 header is at the start of the payload: false for non-first fragments,
    /// whose ports must not be read.
    pub fn is_first_fragment(&self) -> bool {
        self.frag_offset() == 0
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn protocol(&self) -> Protocol {
        Protocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The option bytes between the fixed header and the payload (empty when IHL = 5).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len() as usize]
    }

    /// The header, options included.
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.header_len() as usize]
    }

    /// The header checksum sums to 0xffff over the header.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.header()) == 0xffff
    }

    /// The payload up to the total length (padding after it excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len() as usize..self.total_len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Sets IHL from a length in bytes (a multiple of 4 between 20 and 60).
    pub fn set_header_len(&mut self, len: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) & 0x0f);
    }

    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }

    pub fn set_dscp(&mut self, dscp: u8) {
        let tos = (self.tos() & 0x03) | (dscp << 2);
        self.set_tos(tos);
    }

    pub fn set_ecn(&mut self, ecn: u8) {
        let tos = (self.tos() & !0x03) | (ecn & 0x03);
        self.set_tos(tos);
    }

    pub fn set_total_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH, len);
    }

    pub fn set_ident(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT, v);
    }

    fn set_flg_off(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::FLG_OFF, v);
    }

    pub fn set_dont_frag(&mut self, df: bool) {
        let v = (self.flg_off() & !FLAG_DF) | if df { FLAG_DF } else { 0 };
        self.set_flg_off(v);
    }

    pub fn set_more_frags(&mut self, mf: bool) {
        let v = (self.flg_off() & !FLAG_MF) | if mf { FLAG_MF } else { 0 };
        self.set_flg_off(v);
    }

    /// Sets the fragment offset in 8-byte units.
    pub fn set_frag_offset(&mut self, units: u16) {
        let v = (self.flg_off() & !OFFSET_MASK) | (units & OFFSET_MASK);
        self.set_flg_off(v);
    }

    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    pub fn set_protocol(&mut self, p: Protocol) {
        self.buffer.as_mut()[field::PROTOCOL] = p.into();
    }

    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// Recompute the header checksum from scratch.
    ///
    /// # Panics
    /// If the buffer is shorter than `header_len()` (only possible with `new_unchecked`).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = !checksum::data(self.header());
        self.set_checksum(c);
    }

    /// Rewrite the source address and patch the header checksum incrementally (SNAT). The
    /// L4 checksum, which covers the address through the pseudo-header, is the caller's.
    pub fn rewrite_src_addr(&mut self, new: Ipv4Addr) {
        let old = self.src_addr();
        self.set_src_addr(new);
        let c = checksum::update_addr(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// As [`Packet::rewrite_src_addr`], for the destination (DNAT).
    pub fn rewrite_dst_addr(&mut self, new: Ipv4Addr) {
        let old = self.dst_addr();
        self.set_dst_addr(new);
        let c = checksum::update_addr(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Decrement the TTL when forwarding and patch the checksum; returns the new TTL. A TTL
    /// already at 0 is left alone (the caller sends time-exceeded before getting here).
    #[inline]
    pub fn decrement_ttl(&mut self) -> u8 {
        // The fixed header as an array: one bounds check for the TTL, protocol and
        // checksum bytes below.
        let Some(h) = self.buffer.as_mut().first_chunk_mut::<HEADER_LEN>() else {
            return self.decrement_ttl_short();
        };
        let ttl = h[field::TTL];
        if ttl == 0 {
            return 0;
        }
        let old_word = u16::from_be_bytes([ttl, h[field::TTL + 1]]);
        let new_word = u16::from_be_bytes([ttl - 1, h[field::TTL + 1]]);
        h[field::TTL] = ttl - 1;
        let old_sum = u16::from_be_bytes([h[field::CHECKSUM], h[field::CHECKSUM + 1]]);
        let c = checksum::update_u16(old_sum, old_word, new_word);
        [h[field::CHECKSUM], h[field::CHECKSUM + 1]] = c.to_be_bytes();
        ttl - 1
    }

    /// `decrement_ttl` on a buffer shorter than a header (its accessors panic there, as
    /// they did before).
    #[cold]
    fn decrement_ttl_short(&mut self) -> u8 {
        let ttl = self.ttl();
        if ttl == 0 {
            return 0;
        }
        let old_word = read_u16(self.buffer.as_ref(), field::TTL);
        self.set_ttl(ttl - 1);
        let new_word = read_u16(self.buffer.as_ref(), field::TTL);
        let c = checksum::update_u16(self.checksum(), old_word, new_word);
        self.set_checksum(c);
        ttl - 1
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len() as usize;
        &mut self.buffer.as_mut()[HEADER_LEN..hl]
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len() as usize..self.total_len() as usize;
        &mut self.buffer.as_mut()[range]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed IPv4 header. Options are not represented: a router forwards them untouched in
/// the original buffer, and headers it builds itself (ICMP errors, RSTs) carry none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: Protocol,
    /// Length of the payload (total length minus header length).
    pub payload_len: usize,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub more_frags: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: u16,
}

impl Repr {
    /// Requires version 4 (`Malformed`) and a valid header checksum (`Checksum`): like the
    /// kernel's `ip_rcv`, a router drops packets whose IP header is damaged.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error::Malformed);
        }
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: packet.payload().len(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset_bytes(),
        })
    }

    /// Always 20: emitted headers carry no options.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes a 20-byte header with a valid checksum.
    ///
    /// # Panics
    /// If the buffer is shorter than 20 bytes or `payload_len` does not fit the total length.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let total = u16::try_from(self.buffer_len()).expect("IPv4 payload_len exceeds 65515");
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN as u8);
        packet.set_tos(self.tos);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.set_flg_off(0);
        packet.set_dont_frag(self.dont_frag);
        packet.set_more_frags(self.more_frags);
        packet.set_frag_offset(self.frag_offset >> 3);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A Linux TCP SYN 10.0.0.2:54321 -> 93.184.216.34:80 (MSS, SACK-permitted, timestamps,
    /// window scale), with valid IP and TCP checksums.
    pub(crate) const TCP_SYN: [u8; 60] = [
        0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0xde, 0x99, 0x0a, 0x00, 0x00,
        0x02, 0x5d, 0xb8, 0xd8, 0x22, 0xd4, 0x31, 0x00, 0x50, 0x6b, 0x8b, 0x45, 0x67, 0x00, 0x00,
        0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x3d, 0x05, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04,
        0x02, 0x08, 0x0a, 0x00, 0x9c, 0x4a, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    /// An IGMPv2 report to 224.0.0.251 with the Router Alert option (IHL = 6).
    const IGMP_RA: [u8; 32] = [
        0x46, 0x00, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x42, 0x2a, 0xc0, 0xa8, 0x01,
        0x0a, 0xe0, 0x00, 0x00, 0xfb, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0x09, 0x04, 0xe0, 0x00,
        0x00, 0xfb,
    ];

    fn syn_repr() -> Repr {
        Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 2),
            dst_addr: Ipv4Addr::new(93, 184, 216, 34),
            protocol: Protocol::Tcp,
            payload_len: 40,
            ttl: 64,
            tos: 0,
            ident: 0x1c46,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        }
    }

    #[test]
    fn parse_syn_header() {
        let p = Packet::new_checked(&TCP_SYN[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!((p.tos(), p.dscp(), p.ecn()), (0, 0, 0));
        assert_eq!(p.total_len(), 60);
        assert_eq!(p.ident(), 0x1c46);
        assert!(p.dont_frag() && !p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment() && p.is_first_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), Protocol::Tcp);
        assert_eq!(p.checksum(), 0xde99);
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(93, 184, 216, 34));
        assert!(p.options().is_empty());
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &TCP_SYN[20..]);
        assert_eq!(Repr::parse(&p).unwrap(), syn_repr());
    }

    #[test]
    fn emit_syn_header() {
        let mut out = TCP_SYN;
        out[..20].fill(0xaa);
        let r = syn_repr();
        assert_eq!(r.buffer_len(), 60);
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, TCP_SYN);
    }

    #[test]
    fn options_and_padding() {
        // Ethernet padding after the datagram is not payload.
        let mut padded = IGMP_RA.to_vec();
        padded.extend_from_slice(&[0; 14]);
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.protocol(), Protocol::Unknown(2));
        assert_eq!(p.ttl(), 1);
        assert_eq!(p.payload(), &IGMP_RA[24..]);
        assert!(p.verify_checksum());
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.payload_len, 8);
        assert_eq!(r.dst_addr, Ipv4Addr::new(224, 0, 0, 251));
    }

    #[test]
    fn length_checks() {
        assert_eq!(
            Packet::new_checked(&TCP_SYN[..19]).err(),
            Some(Error::Truncated)
        );
        // Buffer shorter than total length.
        assert_eq!(
            Packet::new_checked(&TCP_SYN[..59]).err(),
            Some(Error::Truncated)
        );
        // IHL < 5.
        let mut b = TCP_SYN;
        b[0] = 0x44;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Malformed));
        // IHL pointing past the buffer.
        let mut b = TCP_SYN;
        b[0] = 0x4f;
        assert_eq!(Packet::new_checked(&b[..40]).err(), Some(Error::Truncated));
        // Total length below the header length.
        let mut b = TCP_SYN;
        b[3] = 19;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Malformed));
        // Header with options exactly filling the total length is fine.
        let mut b = IGMP_RA;
        b[3] = 24;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.payload().is_empty());
    }

    #[test]
    fn repr_rejects_version_and_checksum() {
        let mut b = TCP_SYN;
        b[0] = 0x65;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::Malformed)
        );
        let mut b = TCP_SYN;
        b[8] = 63;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(Repr::parse(&p), Err(Error::Checksum));
    }

    #[test]
    fn setters_and_fragments() {
        let mut b = TCP_SYN;
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_dscp(46);
        p.set_ecn(1);
        assert_eq!((p.tos(), p.dscp(), p.ecn()), (0xb9, 46, 1));
        p.set_dont_frag(false);
        p.set_more_frags(true);
        p.set_frag_offset(185);
        assert_eq!(p.frag_offset_bytes(), 1480);
        assert!(p.is_fragment() && !p.is_first_fragment() && !p.dont_frag() && p.more_frags());
        p.set_more_frags(false);
        assert!(p.is_fragment() && !p.more_frags());
        assert_eq!(p.frag_offset(), 185);
        p.fill_checksum();
        assert!(p.verify_checksum());
        let r = Repr::parse(&p).unwrap();
        assert_eq!((r.frag_offset, r.more_frags, r.tos), (1480, false, 0xb9));
    }

    #[test]
    fn incremental_rewrites_match_full() {
        let mut b = TCP_SYN;
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.rewrite_src_addr(Ipv4Addr::new(203, 0, 113, 7));
        p.rewrite_dst_addr(Ipv4Addr::new(10, 1, 2, 3));
        assert_eq!(p.decrement_ttl(), 63);
        assert!(p.verify_checksum());
        let incremental = p.checksum();
        p.fill_checksum();
        assert_eq!(p.checksum(), incremental);
        assert_eq!(p.src_addr(), Ipv4Addr::new(203, 0, 113, 7));
        p.set_ttl(0);
        assert_eq!(p.decrement_ttl(), 0);
    }

    #[test]
    fn protocol_numbers() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(Protocol::from(v)), v);
        }
        assert_eq!(Protocol::from(1), Protocol::Icmp);
        assert_eq!(Protocol::from(6), Protocol::Tcp);
        assert_eq!(Protocol::from(17), Protocol::Udp);
        assert_eq!(Protocol::from(47).to_string(), "47");
        assert_eq!(Protocol::Udp.to_string(), "udp");
    }

    proptest::proptest! {
        #[test]
        fn rewrite_matches_full_recompute(src: u32, dst: u32, ttl in 1u8.., tos: u8) {
            let mut b = TCP_SYN;
            let mut p = Packet::new_unchecked(&mut b[..]);
            p.set_ttl(ttl);
            p.set_tos(tos);
            p.fill_checksum();
            p.rewrite_src_addr(Ipv4Addr::from(src));
            p.rewrite_dst_addr(Ipv4Addr::from(dst));
            p.decrement_ttl();
            let incremental = p.checksum();
            p.fill_checksum();
            proptest::prop_assert_eq!(incremental, p.checksum());
        }
    }
}
