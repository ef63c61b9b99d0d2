//! Ethernet II frames, MAC addresses and 802.1Q / 802.1ad VLAN tags.

use core::fmt;
use core::str::FromStr;

use super::{read_u16, write_u16, Error, Result};

/// A 48-bit MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 6]);

impl Address {
    /// ff:ff:ff:ff:ff:ff, the target of ARP requests.
    pub const BROADCAST: Address = Address([0xff; 6]);
    /// 00:00:00:00:00:00, the "unknown" target hardware address of ARP requests.
    pub const UNSPECIFIED: Address = Address([0; 6]);

    /// The address from the first 6 bytes of `data`, or `None` if there are fewer.
    pub fn from_bytes(data: &[u8]) -> Option<Address> {
        let b: [u8; 6] = data.get(..6)?.try_into().ok()?;
        Some(Address(b))
    }

    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Group bit set (includes broadcast).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// An individual (non-group) address.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Locally administered (e.g. generated for a TAP or virtual port).
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for Address {
    type Err = Error;

    /// Six groups of two hex digits separated by `:` (or `-`, as some tools print them).
    fn from_str(s: &str) -> Result<Address> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for byte in out.iter_mut() {
            let part = parts.next().ok_or(Error::Malformed)?;
            if part.len() != 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::Malformed);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| Error::Malformed)?;
        }
        if parts.next().is_some() {
            return Err(Error::Malformed);
        }
        Ok(Address(out))
    }
}

/// The ethertype field. A newtype rather than an enum so that any value round-trips and
/// matching against the constants is a plain integer compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EtherType(pub u16);

impl EtherType {
    pub const IPV4: EtherType = EtherType(0x0800);
    pub const ARP: EtherType = EtherType(0x0806);
    /// 802.1Q customer VLAN tag.
    pub const VLAN: EtherType = EtherType(0x8100);
    /// 802.1ad service tag (outer tag of a QinQ stack).
    pub const QINQ: EtherType = EtherType(0x88a8);
    pub const IPV6: EtherType = EtherType(0x86dd);

    /// Whether a VLAN tag (not an L3 header) follows this ethertype.
    pub fn is_vlan(self) -> bool {
        self == Self::VLAN || self == Self::QINQ
    }
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        EtherType(v)
    }
}

impl From<EtherType> for u16 {
    fn from(v: EtherType) -> Self {
        v.0
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::IPV4 => f.write_str("IPv4"),
            Self::ARP => f.write_str("ARP"),
            Self::VLAN => f.write_str("802.1Q"),
            Self::QINQ => f.write_str("802.1ad"),
            Self::IPV6 => f.write_str("IPv6"),
            EtherType(v) => write!(f, "0x{v:04x}"),
        }
    }
}

mod field {
    use core::ops::{Range, RangeFrom};

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: usize = 12;
    pub const PAYLOAD: RangeFrom<usize> = 14..;

    // 802.1Q tag, relative to the tag start (right after the TPID).
    pub const TCI: usize = 0;
    pub const INNER_ETHERTYPE: usize = 2;
    pub const TAG_PAYLOAD: RangeFrom<usize> = 4..;
}

/// Length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// Length of one VLAN tag (TCI + inner ethertype), not counting the TPID it follows.
pub const VLAN_TAG_LEN: usize = field::TAG_PAYLOAD.start;
/// Most VLAN tags [`Frame::l3_header`] walks through (one QinQ stack).
pub const MAX_VLAN_TAGS: usize = 2;

/// A view of an Ethernet II frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

/// Where the L3 header of a (possibly VLAN-tagged) frame starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L3Header {
    /// Ethertype of the L3 header (after the last tag).
    pub ethertype: EtherType,
    /// Byte offset of the L3 header from the start of the frame.
    pub offset: usize,
    /// VLAN ids of the tags passed, outermost first; `None` past `tag_count`.
    pub vids: [Option<u16>; MAX_VLAN_TAGS],
}

impl L3Header {
    /// Number of VLAN tags between the MAC addresses and the L3 header.
    pub fn tag_count(&self) -> usize {
        self.vids.iter().filter(|v| v.is_some()).count()
    }
}

impl<T: AsRef<[u8]>> Frame<T> {
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// The buffer must hold the 14-byte header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn header_len() -> usize {
        HEADER_LEN
    }

    /// Length of a frame with an untagged header and `payload_len` bytes of payload.
    pub fn buffer_len(payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    pub fn dst_addr(&self) -> Address {
        let d = self.buffer.as_ref();
        let mut a = [0u8; 6];
        a.copy_from_slice(&d[field::DESTINATION]);
        Address(a)
    }

    pub fn src_addr(&self) -> Address {
        let d = self.buffer.as_ref();
        let mut a = [0u8; 6];
        a.copy_from_slice(&d[field::SOURCE]);
        Address(a)
    }

    /// The outer ethertype (a TPID if the frame is VLAN tagged).
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }

    /// Everything after the outer ethertype (a VLAN tag if the frame is tagged).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }

    /// Walk zero, one or two VLAN tags and report where the L3 header starts. A tag cut short
    /// by the end of the buffer is `Truncated`; a third stacked tag is `Malformed` (we do not
    /// forward deeper stacks).
    #[inline(always)]
    pub fn l3_header(&self) -> Result<L3Header> {
        // Most frames carry no tag: answered here, the walk out of line.
        let ethertype = self.ethertype();
        if !ethertype.is_vlan() {
            return Ok(L3Header {
                ethertype,
                offset: HEADER_LEN,
                vids: [None; MAX_VLAN_TAGS],
            });
        }
        self.l3_header_tagged()
    }

    /// `l3_header` of a tagged frame.
    #[inline(never)]
    fn l3_header_tagged(&self) -> Result<L3Header> {
        let data = self.buffer.as_ref();
        let mut ethertype = self.ethertype();
        let mut offset = HEADER_LEN;
        let mut vids = [None; MAX_VLAN_TAGS];
        let mut n = 0;
        while ethertype.is_vlan() {
            if n == MAX_VLAN_TAGS {
                return Err(Error::Malformed);
            }
            let tag = data
                .get(offset..offset + VLAN_TAG_LEN)
                .ok_or(Error::Truncated)?;
            vids[n] = Some(read_u16(tag, field::TCI) & 0x0fff);
            ethertype = EtherType(read_u16(tag, field::INNER_ETHERTYPE));
            offset += VLAN_TAG_LEN;
            n += 1;
        }
        Ok(L3Header {
            ethertype,
            offset,
            vids,
        })
    }

    /// The bytes of the L3 header and what follows, after any VLAN tags.
    pub fn l3_payload(&self) -> Result<(EtherType, &[u8])> {
        let l3 = self.l3_header()?;
        Ok((l3.ethertype, &self.buffer.as_ref()[l3.offset..]))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_dst_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    pub fn set_src_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE, ethertype.0);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed outer Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_addr: Address,
    pub dst_addr: Address,
    pub ethertype: EtherType,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        frame.check_len()?;
        Ok(Repr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub const fn buffer_len(&self, payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    /// # Panics
    /// If the frame buffer is shorter than the header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

/// A view of one 802.1Q tag: the 4 bytes after a VLAN TPID (TCI, then the inner ethertype).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    pub const fn new_unchecked(buffer: T) -> VlanTag<T> {
        VlanTag { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<VlanTag<T>> {
        let t = Self::new_unchecked(buffer);
        t.check_len()?;
        Ok(t)
    }

    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < VLAN_TAG_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole tag control information word.
    pub fn tci(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::TCI)
    }

    /// Priority code point (802.1p class, 0..=7).
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier (0..=4095).
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// Ethertype of what follows the tag (another tag's TPID for QinQ).
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::INNER_ETHERTYPE))
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::TAG_PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    pub fn set_tci(&mut self, tci: u16) {
        write_u16(self.buffer.as_mut(), field::TCI, tci);
    }

    pub fn set_pcp(&mut self, pcp: u8) {
        let tci = (self.tci() & 0x1fff) | (u16::from(pcp & 0x7) << 13);
        self.set_tci(tci);
    }

    pub fn set_dei(&mut self, dei: bool) {
        let tci = (self.tci() & !0x1000) | if dei { 0x1000 } else { 0 };
        self.set_tci(tci);
    }

    pub fn set_vid(&mut self, vid: u16) {
        let tci = (self.tci() & 0xf000) | (vid & 0x0fff);
        self.set_tci(tci);
    }

    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write_u16(self.buffer.as_mut(), field::INNER_ETHERTYPE, ethertype.0);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::TAG_PAYLOAD]
    }
}

/// A parsed 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanRepr {
    pub pcp: u8,
    pub dei: bool,
    pub vid: u16,
    /// Ethertype of what follows the tag.
    pub ethertype: EtherType,
}

impl VlanRepr {
    pub fn parse<T: AsRef<[u8]>>(tag: &VlanTag<T>) -> Result<VlanRepr> {
        tag.check_len()?;
        Ok(VlanRepr {
            pcp: tag.pcp(),
            dei: tag.dei(),
            vid: tag.vid(),
            ethertype: tag.ethertype(),
        })
    }

    pub const fn header_len(&self) -> usize {
        VLAN_TAG_LEN
    }

    pub const fn buffer_len(&self, payload_len: usize) -> usize {
        VLAN_TAG_LEN + payload_len
    }

    /// # Panics
    /// If the tag buffer is shorter than 4 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut VlanTag<T>) {
        let tci = (u16::from(self.pcp & 0x7) << 13)
            | if self.dei { 0x1000 } else { 0 }
            | (self.vid & 0x0fff);
        tag.set_tci(tci);
        tag.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An 802.1Q tagged ARP request as captured on a trunk port: VLAN 100, PCP 5, padded to
    /// the 64-byte minimum (without FCS).
    const TAGGED_ARP: [u8; 64] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst
        0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c, // src
        0x81, 0x00, // TPID
        0xa0, 0x64, // TCI: pcp 5, dei 0, vid 100
        0x08, 0x06, // ARP
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // htype ptype hlen plen op=request
        0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c, 0xc0, 0xa8, 0x64, 0x0a, // sha spa
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x64, 0x01, // tha tpa
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
    ];

    /// QinQ: S-tag 0x88a8 vid 10, C-tag 0x8100 vid 20 pcp 3 dei 1, IPv4.
    const QINQ_HDR: [u8; 26] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x88, 0xa8, 0x00,
        0x0a, 0x81, 0x00, 0x70, 0x14, 0x08, 0x00, 0x45, 0x00, 0x00, 0x14,
    ];

    #[test]
    fn address_display_and_parse() {
        let a = Address([0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff]);
        assert_eq!(a.to_string(), "aa:bb:cc:0d:ee:ff");
        assert_eq!("aa:bb:cc:0d:ee:ff".parse::<Address>(), Ok(a));
        assert_eq!("AA-BB-CC-0D-EE-FF".parse::<Address>(), Ok(a));
        for bad in [
            "",
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:ff:00",
            "aa:bb:cc:dd:ee:f",
            "g0:bb:cc:dd:ee:ff",
            "+a:bb:cc:dd:ee:ff",
            "aa:bb:cc:dd:ee:fff",
        ] {
            assert_eq!(bad.parse::<Address>(), Err(Error::Malformed), "{bad}");
        }
        assert!(Address::BROADCAST.is_broadcast());
        assert!(Address::BROADCAST.is_multicast());
        assert!(a.is_unicast() && a.is_local());
        assert!(!Address([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c]).is_local());
        assert!(Address([0x02, 0, 0, 0, 0, 1]).is_local());
        assert_eq!(Address::from_bytes(&[1, 2, 3, 4, 5]), None);
        assert_eq!(
            Address::from_bytes(&[1, 2, 3, 4, 5, 6, 7]),
            Some(Address([1, 2, 3, 4, 5, 6]))
        );
    }

    #[test]
    fn ethertype_display() {
        assert_eq!(EtherType::IPV4.to_string(), "IPv4");
        assert_eq!(EtherType(0x88cc).to_string(), "0x88cc");
        assert_eq!(u16::from(EtherType::ARP), 0x0806);
        assert_eq!(EtherType::from(0x8100), EtherType::VLAN);
    }

    #[test]
    fn parse_tagged_frame() {
        let f = Frame::new_checked(&TAGGED_ARP[..]).unwrap();
        assert_eq!(f.dst_addr(), Address::BROADCAST);
        assert_eq!(f.src_addr(), Address([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c]));
        assert_eq!(f.ethertype(), EtherType::VLAN);
        let l3 = f.l3_header().unwrap();
        assert_eq!(l3.ethertype, EtherType::ARP);
        assert_eq!(l3.offset, 18);
        assert_eq!(l3.vids, [Some(100), None]);
        assert_eq!(l3.tag_count(), 1);
        let (et, payload) = f.l3_payload().unwrap();
        assert_eq!(et, EtherType::ARP);
        assert_eq!(&payload[..4], &[0x00, 0x01, 0x08, 0x00]);

        let tag = VlanTag::new_checked(f.payload()).unwrap();
        assert_eq!(tag.tci(), 0xa064);
        assert_eq!(tag.pcp(), 5);
        assert!(!tag.dei());
        assert_eq!(tag.vid(), 100);
        assert_eq!(tag.ethertype(), EtherType::ARP);
        assert_eq!(tag.payload().len(), 64 - 18);
        assert_eq!(
            VlanRepr::parse(&tag).unwrap(),
            VlanRepr {
                pcp: 5,
                dei: false,
                vid: 100,
                ethertype: EtherType::ARP
            }
        );
    }

    #[test]
    fn parse_untagged_and_qinq() {
        let mut untagged = TAGGED_ARP;
        untagged[12] = 0x08;
        untagged[13] = 0x00;
        let l3 = Frame::new_checked(&untagged[..])
            .unwrap()
            .l3_header()
            .unwrap();
        assert_eq!(
            l3,
            L3Header {
                ethertype: EtherType::IPV4,
                offset: 14,
                vids: [None, None]
            }
        );
        assert_eq!(l3.tag_count(), 0);

        let f = Frame::new_checked(&QINQ_HDR[..]).unwrap();
        let l3 = f.l3_header().unwrap();
        assert_eq!(l3.ethertype, EtherType::IPV4);
        assert_eq!(l3.offset, 22);
        assert_eq!(l3.vids, [Some(10), Some(20)]);
        let inner = VlanTag::new_checked(&QINQ_HDR[18..]).unwrap();
        assert_eq!((inner.pcp(), inner.dei(), inner.vid()), (3, true, 20));
    }

    #[test]
    fn vlan_errors() {
        // Tag cut short.
        assert_eq!(
            Frame::new_checked(&TAGGED_ARP[..17]).unwrap().l3_header(),
            Err(Error::Truncated)
        );
        // Three stacked tags.
        let mut triple = QINQ_HDR.to_vec();
        triple[20] = 0x81;
        triple[21] = 0x00;
        triple.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            Frame::new_checked(&triple[..]).unwrap().l3_header(),
            Err(Error::Malformed)
        );
        assert_eq!(
            Frame::new_checked(&TAGGED_ARP[..13]).err(),
            Some(Error::Truncated)
        );
        assert_eq!(
            VlanTag::new_checked(&[0u8; 3][..]).err(),
            Some(Error::Truncated)
        );
    }

    #[test]
    fn emit_matches_capture() {
        let f = Frame::new_checked(&TAGGED_ARP[..]).unwrap();
        let repr = Repr::parse(&f).unwrap();
        assert_eq!(repr.ethertype, EtherType::VLAN);
        let tag = VlanRepr::parse(&VlanTag::new_checked(f.payload()).unwrap()).unwrap();

        let mut out = [0u8; 64];
        out[18..].copy_from_slice(&TAGGED_ARP[18..]);
        assert_eq!(repr.buffer_len(50), 64);
        let mut frame = Frame::new_unchecked(&mut out[..]);
        repr.emit(&mut frame);
        let mut t = VlanTag::new_unchecked(frame.payload_mut());
        tag.emit(&mut t);
        assert_eq!(out, TAGGED_ARP);
    }

    #[test]
    fn tci_setters() {
        let mut b = [0u8; 4];
        let mut t = VlanTag::new_unchecked(&mut b[..]);
        t.set_vid(0xfff);
        t.set_pcp(7);
        t.set_dei(true);
        assert_eq!(t.tci(), 0xffff);
        t.set_dei(false);
        t.set_pcp(2);
        t.set_vid(5);
        t.set_ethertype(EtherType::IPV4);
        assert_eq!(b, [0x40, 0x05, 0x08, 0x00]);
    }

    /// A neighbour solicitation for fd00:1::1 from 02:00:00:00:00:0a to the solicited-node
    /// group's MAC 33:33:ff:00:00:01, captured with tcpdump on a veth between two Linux network
    /// namespaces.
    const NS_FRAME: [u8; 86] = [
        0x33, 0x33, 0xff, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x86, 0xdd, 0x60,
        0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x01, 0x87, 0x00, 0x7d, 0x8d, 0x00, 0x00,
        0x00, 0x00, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
    ];

    #[test]
    fn ipv6_frames_dispatch() {
        use crate::wire::Ipv6Packet;
        let f = Frame::new_checked(&NS_FRAME[..]).unwrap();
        assert_eq!(f.ethertype(), EtherType::IPV6);
        assert!(f.dst_addr().is_multicast());
        let l3 = f.l3_header().unwrap();
        assert_eq!(
            (l3.ethertype, l3.offset, l3.tag_count()),
            (EtherType::IPV6, 14, 0)
        );
        let (et, payload) = f.l3_payload().unwrap();
        assert_eq!(et, EtherType::IPV6);
        let ip = Ipv6Packet::new_checked(payload).unwrap();
        assert_eq!(ip.hop_limit(), 255);
        // Behind a VLAN tag.
        let mut tagged = NS_FRAME[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
        tagged.extend_from_slice(&NS_FRAME[12..]);
        let f = Frame::new_checked(&tagged[..]).unwrap();
        let (et, payload) = f.l3_payload().unwrap();
        assert_eq!(et, EtherType::IPV6);
        assert_eq!(payload, &NS_FRAME[14..]);
        assert_eq!(f.l3_header().unwrap().vids, [Some(7), None]);
    }
}
