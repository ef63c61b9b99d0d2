//! ARP for Ethernet / IPv4 (RFC 826): the only combination a router needs to resolve next hops
//! and answer for its own addresses.

use core::fmt;
use std::net::Ipv4Addr;

use super::ethernet::{Address as EthernetAddress, EtherType};
use super::{read_u16, write_u16, Error, Result};

/// ARP hardware type for Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;

/// The ARP operation field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Request,
    Reply,
    /// Any other value (RARP and friends), kept so it round-trips.
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(v: u16) -> Self {
        match v {
            1 => Operation::Request,
            2 => Operation::Reply,
            v => Operation::Unknown(v),
        }
    }
}

impl From<Operation> for u16 {
    fn from(v: Operation) -> Self {
        match v {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(v) => v,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Request => f.write_str("request"),
            Operation::Reply => f.write_str("reply"),
            Operation::Unknown(v) => write!(f, "op {v}"),
        }
    }
}

mod field {
    use core::ops::Range;

    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    // Fixed offsets for hlen = 6, plen = 4.
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = field::TPA.end;

/// A view of an Ethernet/IPv4 ARP packet. `check_len` requires the 28 bytes of that layout;
/// whether hlen/plen really are 6/4 is a semantic check left to [`Repr::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn ipv4_at(data: &[u8], r: core::ops::Range<usize>) -> Ipv4Addr {
    let b = &data[r];
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

fn mac_at(data: &[u8], r: core::ops::Range<usize>) -> EthernetAddress {
    let mut a = [0u8; 6];
    a.copy_from_slice(&data[r]);
    EthernetAddress(a)
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

    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < PACKET_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn hardware_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE)
    }

    pub fn protocol_type(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::PTYPE))
    }

    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    pub fn operation(&self) -> Operation {
        Operation::from(read_u16(self.buffer.as_ref(), field::OPER))
    }

    pub fn source_hardware_addr(&self) -> EthernetAddress {
        mac_at(self.buffer.as_ref(), field::SHA)
    }

    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), field::SPA)
    }

    pub fn target_hardware_addr(&self) -> EthernetAddress {
        mac_at(self.buffer.as_ref(), field::THA)
    }

    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), field::TPA)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_hardware_type(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::HTYPE, v);
    }

    pub fn set_protocol_type(&mut self, v: EtherType) {
        write_u16(self.buffer.as_mut(), field::PTYPE, v.0);
    }

    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v;
    }

    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v;
    }

    pub fn set_operation(&mut self, v: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER, v.into());
    }

    pub fn set_source_hardware_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&a.0);
    }

    pub fn set_source_protocol_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&a.octets());
    }

    pub fn set_target_hardware_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&a.0);
    }

    pub fn set_target_protocol_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&a.octets());
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub operation: Operation,
    pub source_hardware_addr: EthernetAddress,
    pub source_protocol_addr: Ipv4Addr,
    pub target_hardware_addr: EthernetAddress,
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Rejects (`Malformed`) anything but Ethernet hardware with IPv4 protocol addresses.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != EtherType::IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Malformed);
        }
        Ok(Repr {
            operation: packet.operation(),
            source_hardware_addr: packet.source_hardware_addr(),
            source_protocol_addr: packet.source_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    /// The reply a host owning `target_protocol_addr` with MAC `mac` sends to this request.
    pub fn reply(&self, mac: EthernetAddress) -> Repr {
        Repr {
            operation: Operation::Reply,
            source_hardware_addr: mac,
            source_protocol_addr: self.target_protocol_addr,
            target_hardware_addr: self.source_hardware_addr,
            target_protocol_addr: self.source_protocol_addr,
        }
    }

    pub const fn header_len(&self) -> usize {
        PACKET_LEN
    }

    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// # Panics
    /// If the buffer is shorter than 28 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(EtherType::IPV4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr);
        packet.set_source_protocol_addr(self.source_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::Frame;

    /// A captured broadcast ARP request: who-has 192.168.1.1 tell 192.168.1.10, padded to 60.
    const REQUEST_FRAME: [u8; 60] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c, 0x08, 0x06, //
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, //
        0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c, 0xc0, 0xa8, 0x01, 0x0a, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01, //
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    const SENDER: EthernetAddress = EthernetAddress([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c]);

    #[test]
    fn parse_request() {
        let frame = Frame::new_checked(&REQUEST_FRAME[..]).unwrap();
        assert_eq!(frame.ethertype(), EtherType::ARP);
        let p = Packet::new_checked(frame.payload()).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), EtherType::IPV4);
        assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
        assert_eq!(p.operation(), Operation::Request);
        assert_eq!(p.source_hardware_addr(), SENDER);
        assert_eq!(p.source_protocol_addr(), Ipv4Addr::new(192, 168, 1, 10));
        assert_eq!(p.target_hardware_addr(), EthernetAddress::UNSPECIFIED);
        assert_eq!(p.target_protocol_addr(), Ipv4Addr::new(192, 168, 1, 1));
        let r = Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Repr {
                operation: Operation::Request,
                source_hardware_addr: SENDER,
                source_protocol_addr: Ipv4Addr::new(192, 168, 1, 10),
                target_hardware_addr: EthernetAddress::UNSPECIFIED,
                target_protocol_addr: Ipv4Addr::new(192, 168, 1, 1),
            }
        );
    }

    #[test]
    fn emit_request_and_reply() {
        let p = Packet::new_checked(&REQUEST_FRAME[14..]).unwrap();
        let r = Repr::parse(&p).unwrap();
        let mut out = [0u8; PACKET_LEN];
        assert_eq!(r.buffer_len(), 28);
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &REQUEST_FRAME[14..42]);

        let me = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
        let reply = r.reply(me);
        reply.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(
            out,
            [
                0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0xc0, 0xa8,
                0x01, 0x01, 0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c, 0xc0, 0xa8, 0x01, 0x0a
            ]
        );
    }

    #[test]
    fn rejects_bad_packets() {
        assert_eq!(
            Packet::new_checked(&REQUEST_FRAME[14..41]).err(),
            Some(Error::Truncated)
        );
        let mut b = REQUEST_FRAME;
        b[14 + 5] = 16; // plen 16: IPv6-sized, not ours
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[14..])),
            Err(Error::Malformed)
        );
        let mut b = REQUEST_FRAME;
        b[14 + 1] = 6; // htype 6 (IEEE 802)
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[14..])),
            Err(Error::Malformed)
        );
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[14..20])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn operation_roundtrip() {
        for v in 0..5u16 {
            assert_eq!(u16::from(Operation::from(v)), v);
        }
        assert_eq!(Operation::from(3), Operation::Unknown(3));
        assert_eq!(Operation::Reply.to_string(), "reply");
    }
}
