//! UDP headers (RFC 768).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::ipv4::Protocol;
use super::{read_u16, write_u16, Error, Result};

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

pub const HEADER_LEN: usize = 8;

/// A view of a UDP datagram. `check_len` guarantees `8 <= len() <= buffer.len()`; the
/// datagram is `..len()`, anything after it is ignored.
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

    /// Header present, length field >= 8 and within the buffer.
    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = self.len() as usize;
        if len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if buf_len < len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The length field: header plus payload.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.len() as usize]
    }

    fn sum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let len = self.len();
        self.sum_with(checksum::pseudo_header(
            src,
            dst,
            Protocol::Udp,
            u32::from(len),
        ))
    }

    fn sum_ipv6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
        let len = self.len();
        self.sum_with(checksum::pseudo_header_ipv6(
            src,
            dst,
            Protocol::Udp,
            u32::from(len),
        ))
    }

    fn sum_with(&self, pseudo: u16) -> u16 {
        let len = self.len();
        checksum::combine(&[
            pseudo,
            checksum::data(&self.buffer.as_ref()[..len as usize]),
        ])
    }

    /// True when the checksum is 0 ("none", allowed over IPv4) or verifies.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() == 0 || self.sum(src, dst) == 0xffff
    }

    /// Over IPv6 the checksum is mandatory (RFC 8200 section 8.1): 0 does not verify.
    pub fn verify_checksum_ipv6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.checksum() != 0 && self.sum_ipv6(src, dst) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT, v);
    }

    pub fn set_dst_port(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT, v);
    }

    pub fn set_len(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH, v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.len() as usize;
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }

    /// Compute and store the checksum; a computed 0 is sent as 0xffff so it does not read as
    /// "no checksum".
    ///
    /// # Panics
    /// If the length field exceeds the buffer (only possible with `new_unchecked`).
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let c = checksum::nonzero(!self.sum(src, dst));
        self.set_checksum(c);
    }

    /// As [`Packet::fill_checksum`], over the IPv6 pseudo-header (a computed 0 is sent as
    /// 0xffff there too, RFC 8200 section 8.1).
    ///
    /// # Panics
    /// If the length field exceeds the buffer (only possible with `new_unchecked`).
    pub fn fill_checksum_ipv6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let c = checksum::nonzero(!self.sum_ipv6(src, dst));
        self.set_checksum(c);
    }

    /// Set the source port and patch the checksum (which stays 0 if it was absent).
    pub fn rewrite_src_port(&mut self, new: u16) {
        let c = checksum::udp_update_u16(self.checksum(), self.src_port(), new);
        self.set_src_port(new);
        self.set_checksum(c);
    }

    /// Set the destination port and patch the checksum (which stays 0 if it was absent).
    pub fn rewrite_dst_port(&mut self, new: u16) {
        let c = checksum::udp_update_u16(self.checksum(), self.dst_port(), new);
        self.set_dst_port(new);
        self.set_checksum(c);
    }

    /// Patch the checksum for a pseudo-header address change (stays 0 if absent).
    pub fn update_checksum_addr(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        let c = checksum::udp_update_addr(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Patch the checksum for an IPv6 pseudo-header address change (NAT66). A zero checksum,
    /// invalid over IPv6, stays zero.
    pub fn update_checksum_addr_ipv6(&mut self, old: Ipv6Addr, new: Ipv6Addr) {
        let c = checksum::udp_update_addr_ipv6(self.checksum(), old, new);
        self.set_checksum(c);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.payload().len(),
        })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write the header with checksum 0 ("none"); call [`Packet::fill_checksum`] (or
    /// [`Packet::fill_checksum_ipv6`], where one is mandatory) once the payload is in place to
    /// add one.
    ///
    /// # Panics
    /// If the buffer is shorter than 8 bytes or the length does not fit 16 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let len = u16::try_from(self.buffer_len()).expect("UDP datagram longer than 65535");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len);
        packet.set_checksum(0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A DNS query for example.com A, 10.0.0.2:40000 -> 10.0.0.1:53 (IPv4 header included).
    pub(crate) const DNS_QUERY: [u8; 57] = [
        0x45, 0x00, 0x00, 0x39, 0x30, 0x39, 0x40, 0x00, 0x40, 0x11, 0xf6, 0x78, 0x0a, 0x00, 0x00,
        0x02, 0x0a, 0x00, 0x00, 0x01, 0x9c, 0x40, 0x00, 0x35, 0x00, 0x25, 0xd3, 0xf0, 0xab, 0xcd,
        0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d,
        0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
    ];

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

    #[test]
    fn parse_dns_query() {
        let p = Packet::new_checked(&DNS_QUERY[20..]).unwrap();
        assert_eq!(p.src_port(), 40000);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.len(), 37);
        assert_eq!(p.checksum(), 0xd3f0);
        assert_eq!(p.payload(), &DNS_QUERY[28..]);
        assert!(p.verify_checksum(SRC, DST));
        assert!(!p.verify_checksum(DST, Ipv4Addr::new(10, 0, 0, 3)));
        assert_eq!(
            Repr::parse(&p).unwrap(),
            Repr {
                src_port: 40000,
                dst_port: 53,
                payload_len: 29
            }
        );
    }

    #[test]
    fn emit_dns_query() {
        let r = Repr {
            src_port: 40000,
            dst_port: 53,
            payload_len: 29,
        };
        assert_eq!(r.buffer_len(), 37);
        let mut out = [0u8; 37];
        out[8..].copy_from_slice(&DNS_QUERY[28..]);
        let mut p = Packet::new_unchecked(&mut out[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        p.fill_checksum(SRC, DST);
        assert_eq!(&out[..], &DNS_QUERY[20..]);
    }

    #[test]
    fn length_checks() {
        let d = &DNS_QUERY[20..];
        assert_eq!(Packet::new_checked(&d[..7]).err(), Some(Error::Truncated));
        assert_eq!(Packet::new_checked(&d[..36]).err(), Some(Error::Truncated));
        let mut b = d.to_vec();
        b[5] = 7;
        assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Malformed));
        b[5] = 8;
        assert!(Packet::new_checked(&b[..]).unwrap().payload().is_empty());
        // Bytes past the length field are not payload and not summed.
        let mut b = d.to_vec();
        b.extend_from_slice(&[1, 2, 3]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 29);
        assert!(p.verify_checksum(SRC, DST));
    }

    #[test]
    fn zero_checksum_means_none() {
        let mut b: [u8; 37] = DNS_QUERY[20..].try_into().unwrap();
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_checksum(0);
        assert!(p.verify_checksum(SRC, Ipv4Addr::new(1, 2, 3, 4)));
        p.rewrite_src_port(1);
        p.rewrite_dst_port(2);
        p.update_checksum_addr(SRC, Ipv4Addr::new(9, 9, 9, 9));
        assert_eq!(p.checksum(), 0);
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        let mut b: [u8; 37] = DNS_QUERY[20..].try_into().unwrap();
        let mut p = Packet::new_unchecked(&mut b[..]);
        // Choose the DNS id so that the one's-complement sum is 0xffff (checksum 0).
        p.payload_mut()[..2].fill(0);
        p.set_checksum(0);
        let s = checksum::combine(&[
            checksum::pseudo_header(SRC, DST, Protocol::Udp, 37),
            checksum::data(p.as_ref()),
        ]);
        let id = 0xffff - s;
        p.payload_mut()[..2].copy_from_slice(&id.to_be_bytes());
        p.fill_checksum(SRC, DST);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum(SRC, DST));
        // An incremental update landing on 0 must also give 0xffff: change the id away and
        // back again.
        p.payload_mut()[..2].copy_from_slice(&(id ^ 0x0101).to_be_bytes());
        p.fill_checksum(SRC, DST);
        let c = checksum::udp_update_u16(p.checksum(), id ^ 0x0101, id);
        assert_eq!(c, 0xffff);
    }

    /// `sendto(b"nfdp-v6")` from fd00:1::2:40000 to fd00:1::3:9999 (a closed port) between two
    /// Linux network namespaces, captured with tcpdump on the veth with `ethtool -K tx off` (so
    /// the kernel filled the checksum in software). IPv6 header included.
    pub(crate) const UDP_V6: [u8; 55] = [
        0x60, 0x07, 0x6f, 0xbb, 0x00, 0x0f, 0x11, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x9c, 0x40, 0x27, 0x0f, 0x00,
        0x0f, 0x0c, 0x2b, 0x6e, 0x66, 0x64, 0x70, 0x2d, 0x76, 0x36,
    ];

    pub(crate) const V6_SRC: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
    pub(crate) const V6_DST: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 3);

    #[test]
    fn ipv6_checksum() {
        let p = Packet::new_checked(&UDP_V6[40..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (40000, 9999, 15));
        assert_eq!(p.payload(), b"nfdp-v6");
        assert_eq!(p.checksum(), 0x0c2b);
        assert!(p.verify_checksum_ipv6(V6_SRC, V6_DST));
        assert!(!p.verify_checksum_ipv6(V6_DST, Ipv6Addr::LOCALHOST));
        // The IPv4 verification of the same bytes fails: the pseudo-header differs.
        assert!(!p.verify_checksum(SRC, DST));
        let r = Repr::parse(&p).unwrap();
        let mut out = [0u8; 15];
        out[8..].copy_from_slice(b"nfdp-v6");
        let mut q = Packet::new_unchecked(&mut out[..]);
        r.emit(&mut q);
        q.fill_checksum_ipv6(V6_SRC, V6_DST);
        assert_eq!(&out[..], &UDP_V6[40..]);
        // Over IPv6 a zero checksum is invalid, not "none" (RFC 8200 section 8.1).
        let mut b: [u8; 15] = UDP_V6[40..].try_into().unwrap();
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_checksum(0);
        assert!(!p.verify_checksum_ipv6(V6_SRC, V6_DST));
        p.update_checksum_addr_ipv6(V6_SRC, V6_DST);
        assert_eq!(p.checksum(), 0);
        assert!(p.verify_checksum(SRC, DST));
    }

    #[test]
    fn ipv6_after_extension_headers() {
        // The checksum of a datagram behind a destination options header covers only the
        // UDP bytes; the pseudo-header's next header is UDP, not 60.
        use crate::wire::ipv6::tests::{UDP_DSTOPTS, UDP_HBH};
        let (a, b) = (
            Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2),
            Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 2),
        );
        for pkt in [&UDP_DSTOPTS[..], &UDP_HBH[..]] {
            let p = Packet::new_checked(&pkt[48..]).unwrap();
            assert!(p.verify_checksum_ipv6(a, b));
        }
    }

    #[test]
    fn ipv6_computed_zero_is_sent_as_ffff() {
        let mut b: [u8; 15] = UDP_V6[40..].try_into().unwrap();
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.payload_mut()[..2].fill(0);
        p.set_checksum(0);
        let s = checksum::combine(&[
            checksum::pseudo_header_ipv6(V6_SRC, V6_DST, Protocol::Udp, 15),
            checksum::data(p.as_ref()),
        ]);
        p.payload_mut()[..2].copy_from_slice(&(0xffff - s).to_be_bytes());
        p.fill_checksum_ipv6(V6_SRC, V6_DST);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_ipv6(V6_SRC, V6_DST));
    }

    proptest! {
        #[test]
        fn ipv6_incremental_matches_full(
            sport: u16, dport: u16, src: u128, dst: u128,
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut buf = vec![0u8; 8 + payload.len()];
            buf[8..].copy_from_slice(&payload);
            let r = Repr { src_port: 40000, dst_port: 53, payload_len: payload.len() };
            let mut p = Packet::new_unchecked(&mut buf[..]);
            r.emit(&mut p);
            p.fill_checksum_ipv6(V6_SRC, V6_DST);
            p.rewrite_src_port(sport);
            p.rewrite_dst_port(dport);
            let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
            p.update_checksum_addr_ipv6(V6_SRC, src);
            p.update_checksum_addr_ipv6(V6_DST, dst);
            let incremental = p.checksum();
            p.fill_checksum_ipv6(src, dst);
            prop_assert_eq!(incremental, p.checksum());
            prop_assert!(p.verify_checksum_ipv6(src, dst));
        }
    }

    proptest! {
        #[test]
        fn incremental_matches_full(
            sport: u16, dport: u16, src: u32, dst: u32, zero in any::<bool>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut buf = vec![0u8; 8 + payload.len()];
            buf[8..].copy_from_slice(&payload);
            let r = Repr { src_port: 40000, dst_port: 53, payload_len: payload.len() };
            let mut p = Packet::new_unchecked(&mut buf[..]);
            r.emit(&mut p);
            if !zero {
                p.fill_checksum(SRC, DST);
            }
            p.rewrite_src_port(sport);
            p.rewrite_dst_port(dport);
            p.update_checksum_addr(SRC, Ipv4Addr::from(src));
            p.update_checksum_addr(DST, Ipv4Addr::from(dst));
            let incremental = p.checksum();
            if zero {
                prop_assert_eq!(incremental, 0);
            } else {
                p.fill_checksum(Ipv4Addr::from(src), Ipv4Addr::from(dst));
                prop_assert_eq!(incremental, p.checksum());
                prop_assert!(p.verify_checksum(Ipv4Addr::from(src), Ipv4Addr::from(dst)));
            }
        }
    }
}
