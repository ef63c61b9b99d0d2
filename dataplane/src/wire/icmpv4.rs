//! ICMP for IPv4 (RFC 792): echo, and the error messages that quote the offending packet.
//!
//! Errors matter to a NAT box beyond their own fields: conntrack finds the connection an
//! error belongs to from the quoted header, and NAT must rewrite that quote. [`Quoted`] reads
//! it, tolerating the truncation that quoting implies (often only 8 bytes of L4 header).

use core::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::{self, Protocol};
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// The ICMP type. A newtype with constants so unknown types round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Message(pub u8);

impl Message {
    pub const ECHO_REPLY: Message = Message(0);
    pub const DST_UNREACHABLE: Message = Message(3);
    pub const SOURCE_QUENCH: Message = Message(4);
    pub const REDIRECT: Message = Message(5);
    pub const ECHO_REQUEST: Message = Message(8);
    pub const ROUTER_ADVERT: Message = Message(9);
    pub const ROUTER_SOLICIT: Message = Message(10);
    pub const TIME_EXCEEDED: Message = Message(11);
    pub const PARAM_PROBLEM: Message = Message(12);
    pub const TIMESTAMP: Message = Message(13);
    pub const TIMESTAMP_REPLY: Message = Message(14);
    pub const INFO_REQUEST: Message = Message(15);
    pub const INFO_REPLY: Message = Message(16);
    pub const ADDRESS_MASK_REQUEST: Message = Message(17);
    pub const ADDRESS_MASK_REPLY: Message = Message(18);

    /// Error messages carry a quote of the packet that caused them (and conntrack treats
    /// them as RELATED to that packet's connection).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Self::DST_UNREACHABLE
                | Self::SOURCE_QUENCH
                | Self::REDIRECT
                | Self::TIME_EXCEEDED
                | Self::PARAM_PROBLEM
        )
    }

    /// Query messages whose reply echoes the identifier (conntrack tracks these like a
    /// connection keyed by the identifier).
    pub fn is_query(self) -> bool {
        matches!(
            self,
            Self::ECHO_REQUEST
                | Self::ECHO_REPLY
                | Self::TIMESTAMP
                | Self::TIMESTAMP_REPLY
                | Self::INFO_REQUEST
                | Self::INFO_REPLY
                | Self::ADDRESS_MASK_REQUEST
                | Self::ADDRESS_MASK_REPLY
        )
    }
}

impl From<u8> for Message {
    fn from(v: u8) -> Self {
        Message(v)
    }
}

impl From<Message> for u8 {
    fn from(v: Message) -> Self {
        v.0
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::ECHO_REPLY => "echo-reply",
            Self::DST_UNREACHABLE => "destination-unreachable",
            Self::SOURCE_QUENCH => "source-quench",
            Self::REDIRECT => "redirect",
            Self::ECHO_REQUEST => "echo-request",
            Self::ROUTER_ADVERT => "router-advertisement",
            Self::ROUTER_SOLICIT => "router-solicitation",
            Self::TIME_EXCEEDED => "time-exceeded",
            Self::PARAM_PROBLEM => "parameter-problem",
            Self::TIMESTAMP => "timestamp-request",
            Self::TIMESTAMP_REPLY => "timestamp-reply",
            Self::INFO_REQUEST => "info-request",
            Self::INFO_REPLY => "info-reply",
            Self::ADDRESS_MASK_REQUEST => "address-mask-request",
            Self::ADDRESS_MASK_REPLY => "address-mask-reply",
            Message(v) => return write!(f, "{v}"),
        };
        f.write_str(name)
    }
}

/// Codes of destination-unreachable (type 3).
pub mod unreachable {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const PROTOCOL: u8 = 2;
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set; the header carries the next-hop MTU (RFC 1191).
    pub const FRAG_NEEDED: u8 = 4;
    pub const SOURCE_ROUTE_FAILED: u8 = 5;
    pub const NET_UNKNOWN: u8 = 6;
    pub const HOST_UNKNOWN: u8 = 7;
    pub const HOST_ISOLATED: u8 = 8;
    pub const NET_PROHIBITED: u8 = 9;
    pub const HOST_PROHIBITED: u8 = 10;
    pub const NET_TOS: u8 = 11;
    pub const HOST_TOS: u8 = 12;
    /// Communication administratively prohibited (RFC 1812): `REJECT --reject-with
    /// icmp-admin-prohibited`.
    pub const ADMIN_PROHIBITED: u8 = 13;
    pub const HOST_PRECEDENCE: u8 = 14;
    pub const PRECEDENCE_CUTOFF: u8 = 15;
}

/// Codes of time-exceeded (type 11).
pub mod time_exceeded {
    pub const TTL: u8 = 0;
    pub const FRAG_REASSEMBLY: u8 = 1;
}

/// Codes of redirect (type 5).
pub mod redirect {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const TOS_NET: u8 = 2;
    pub const TOS_HOST: u8 = 3;
}

/// Codes of parameter-problem (type 12).
pub mod param_problem {
    pub const POINTER: u8 = 0;
    pub const MISSING_OPTION: u8 = 1;
    pub const BAD_LENGTH: u8 = 2;
}

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    /// The 4 type-specific bytes ("rest of header").
    pub const REST: usize = 4;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQNO: usize = 6;
    pub const MTU: usize = 6;
    pub const POINTER: usize = 4;
    pub const DATA: usize = 8;
}

pub const HEADER_LEN: usize = field::DATA;

/// A view of an ICMP message (the buffer is exactly the IP payload, which the checksum
/// covers). `check_len` guarantees the 8-byte header.
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

    pub fn msg_type(&self) -> Message {
        Message(self.buffer.as_ref()[field::TYPE])
    }

    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The 4 type-specific header bytes as one word.
    pub fn rest_of_header(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::REST)
    }

    /// Identifier of echo (and other query) messages.
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO)
    }

    /// Next-hop MTU of a fragmentation-needed message (0 from pre-RFC 1191 routers).
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::MTU)
    }

    /// Octet pointer of a parameter-problem message.
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[field::POINTER]
    }

    /// Gateway address of a redirect.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.rest_of_header())
    }

    /// Everything after the 8-byte header (echo data, or the quote of an error).
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// The quoted packet of an error message. `Malformed` if this is not an error message or
    /// the quote is not IPv4; `Truncated` if the quote does not hold a whole IP header.
    pub fn quoted(&self) -> Result<Quoted<&[u8]>> {
        if !self.msg_type().is_error() {
            return Err(Error::Malformed);
        }
        Quoted::new_checked(self.data())
    }

    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_msg_type(&mut self, t: Message) {
        self.buffer.as_mut()[field::TYPE] = t.0;
    }

    pub fn set_msg_code(&mut self, code: u8) {
        self.buffer.as_mut()[field::CODE] = code;
    }

    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    pub fn set_rest_of_header(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::REST, v);
    }

    pub fn set_echo_ident(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT, v);
    }

    pub fn set_echo_seq_no(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQNO, v);
    }

    pub fn set_next_hop_mtu(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::MTU, v);
    }

    pub fn set_pointer(&mut self, v: u8) {
        self.buffer.as_mut()[field::POINTER] = v;
    }

    pub fn set_gateway(&mut self, a: Ipv4Addr) {
        self.set_rest_of_header(u32::from(a));
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Mutable access to the quote, for NAT to rewrite the embedded addresses and ports
    /// (refill the ICMP checksum afterwards).
    pub fn quoted_mut(&mut self) -> Result<Quoted<&mut [u8]>> {
        if !self.msg_type().is_error() {
            return Err(Error::Malformed);
        }
        Quoted::new_checked(self.data_mut())
    }

    /// Set the echo identifier and patch the checksum (NAT of pings, which maps the
    /// identifier like a port).
    pub fn rewrite_echo_ident(&mut self, new: u16) {
        let c = checksum::update_u16(self.checksum(), self.echo_ident(), new);
        self.set_echo_ident(new);
        self.set_checksum(c);
    }

    /// Recompute the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = !checksum::data(self.buffer.as_ref());
        self.set_checksum(c);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The IPv4 packet quoted in an ICMP error: a whole IPv4 header, then as much of its payload
/// as the sender included (at least 8 bytes by RFC 792, possibly fewer from broken senders,
/// possibly more per RFC 1812). The claimed total length is not trusted to match.
///
/// `check_len` guarantees version 4, IHL >= 5 and the whole header (options included) in the
/// buffer; the L4 accessors return `None` when their bytes were not quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quoted<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Quoted<T> {
    pub const fn new_unchecked(buffer: T) -> Quoted<T> {
        Quoted { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Quoted<T>> {
        let q = Self::new_unchecked(buffer);
        q.check_len()?;
        Ok(q)
    }

    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < ipv4::HEADER_LEN {
            return Err(Error::Truncated);
        }
        if data[0] >> 4 != 4 {
            return Err(Error::Malformed);
        }
        let hl = self.header_len();
        if hl < ipv4::HEADER_LEN {
            return Err(Error::Malformed);
        }
        if data.len() < hl {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The quoted header as an IPv4 view. Its header accessors are all in bounds, but its
    /// `payload()` may not be (the quote is usually shorter than the total length): use
    /// [`Quoted::payload`] instead.
    fn ip(&self) -> ipv4::Packet<&[u8]> {
        ipv4::Packet::new_unchecked(self.buffer.as_ref())
    }

    pub fn header_len(&self) -> usize {
        usize::from(self.ip().header_len())
    }

    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.header_len()]
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        self.ip().src_addr()
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        self.ip().dst_addr()
    }

    pub fn protocol(&self) -> Protocol {
        self.ip().protocol()
    }

    pub fn ttl(&self) -> u8 {
        self.ip().ttl()
    }

    pub fn tos(&self) -> u8 {
        self.ip().tos()
    }

    pub fn ident(&self) -> u16 {
        self.ip().ident()
    }

    /// The total length the quoted packet had (not what was quoted).
    pub fn total_len(&self) -> u16 {
        self.ip().total_len()
    }

    pub fn header_checksum(&self) -> u16 {
        self.ip().checksum()
    }

    pub fn is_first_fragment(&self) -> bool {
        self.ip().is_first_fragment()
    }

    pub fn verify_header_checksum(&self) -> bool {
        checksum::data(self.header()) == 0xffff
    }

    /// The quoted part of the payload: from the end of the header to the end of the quote or
    /// the quoted packet's total length, whichever comes first (RFC 4884 extensions may
    /// follow a full quote).
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let hl = self.header_len();
        let end = (self.total_len() as usize).clamp(hl, data.len());
        &data[hl..end]
    }

    /// Up to the first 8 bytes of the quoted payload (all that RFC 792 promises).
    pub fn l4_head(&self) -> &[u8] {
        let p = self.payload();
        &p[..p.len().min(8)]
    }

    /// Whether the quoted payload starts with a TCP/UDP header whose ports we may read.
    fn has_ports(&self) -> bool {
        matches!(self.protocol(), Protocol::Tcp | Protocol::Udp) && self.is_first_fragment()
    }

    /// Source port of a quoted TCP/UDP first fragment, if quoted.
    pub fn src_port(&self) -> Option<u16> {
        let p = self.payload();
        (self.has_ports() && p.len() >= 2).then(|| read_u16(p, 0))
    }

    /// Destination port of a quoted TCP/UDP first fragment, if quoted.
    pub fn dst_port(&self) -> Option<u16> {
        let p = self.payload();
        (self.has_ports() && p.len() >= 4).then(|| read_u16(p, 2))
    }

    /// Identifier of a quoted ICMP query (a ping whose error came back), if quoted.
    pub fn icmp_ident(&self) -> Option<u16> {
        let p = self.payload();
        let is_query = self.protocol() == Protocol::Icmp
            && self.is_first_fragment()
            && p.len() >= 6
            && Message(p[0]).is_query();
        is_query.then(|| read_u16(p, 4))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Quoted<T> {
    fn ip_mut(&mut self) -> ipv4::Packet<&mut [u8]> {
        ipv4::Packet::new_unchecked(self.buffer.as_mut())
    }

    /// Rewrite the quoted source address, patching the quoted header checksum.
    pub fn rewrite_src_addr(&mut self, a: Ipv4Addr) {
        self.ip_mut().rewrite_src_addr(a);
    }

    /// Rewrite the quoted destination address, patching the quoted header checksum.
    pub fn rewrite_dst_addr(&mut self, a: Ipv4Addr) {
        self.ip_mut().rewrite_dst_addr(a);
    }

    /// Set the quoted source port; false (nothing written) if it was not quoted.
    pub fn set_src_port(&mut self, port: u16) -> bool {
        self.set_port(0, port)
    }

    /// Set the quoted destination port; false (nothing written) if it was not quoted.
    pub fn set_dst_port(&mut self, port: u16) -> bool {
        self.set_port(2, port)
    }

    fn set_port(&mut self, at: usize, port: u16) -> bool {
        if !self.has_ports() || self.payload().len() < at + 2 {
            return false;
        }
        let hl = self.header_len();
        write_u16(self.buffer.as_mut(), hl + at, port);
        true
    }

    /// Set the identifier of a quoted ICMP query; false if it was not quoted.
    pub fn set_icmp_ident(&mut self, ident: u16) -> bool {
        if self.icmp_ident().is_none() {
            return false;
        }
        let hl = self.header_len();
        write_u16(self.buffer.as_mut(), hl + 4, ident);
        true
    }

    pub fn fill_header_checksum(&mut self) {
        self.ip_mut().fill_checksum();
    }
}

/// A parsed ICMP message. Data is borrowed from the packet, so `emit` can copy an echo
/// payload or a quote into a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr<'a> {
    EchoRequest {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    /// `next_hop_mtu` is meaningful for [`unreachable::FRAG_NEEDED`] and 0 otherwise.
    DstUnreachable {
        code: u8,
        next_hop_mtu: u16,
        data: &'a [u8],
    },
    TimeExceeded {
        code: u8,
        data: &'a [u8],
    },
    ParamProblem {
        code: u8,
        pointer: u8,
        data: &'a [u8],
    },
    Redirect {
        code: u8,
        gateway: Ipv4Addr,
        data: &'a [u8],
    },
    /// Any other type (or echo with a non-zero code), kept whole so it round-trips.
    Other {
        msg_type: Message,
        code: u8,
        rest: u32,
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Does not verify the checksum: a router forwards ICMP it did not originate without
    /// looking at it; use [`Packet::verify_checksum`] for messages addressed to us.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        packet.check_len()?;
        let data = &T::as_ref(packet.buffer)[field::DATA..];
        let code = packet.msg_code();
        Ok(match (packet.msg_type(), code) {
            (Message::ECHO_REQUEST, 0) => Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Message::ECHO_REPLY, 0) => Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Message::DST_UNREACHABLE, _) if packet.echo_ident() == 0 => Repr::DstUnreachable {
                code,
                next_hop_mtu: packet.next_hop_mtu(),
                data,
            },
            (Message::TIME_EXCEEDED, _) if packet.rest_of_header() == 0 => {
                Repr::TimeExceeded { code, data }
            }
            (Message::PARAM_PROBLEM, _) if packet.rest_of_header() & 0x00ff_ffff == 0 => {
                Repr::ParamProblem {
                    code,
                    pointer: packet.pointer(),
                    data,
                }
            }
            (Message::REDIRECT, _) => Repr::Redirect {
                code,
                gateway: packet.gateway(),
                data,
            },
            (msg_type, code) => Repr::Other {
                msg_type,
                code,
                rest: packet.rest_of_header(),
                data,
            },
        })
    }

    fn parts(&self) -> (Message, u8, u32, &'a [u8]) {
        match *self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => (
                Message::ECHO_REQUEST,
                0,
                (u32::from(ident) << 16) | u32::from(seq_no),
                data,
            ),
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => (
                Message::ECHO_REPLY,
                0,
                (u32::from(ident) << 16) | u32::from(seq_no),
                data,
            ),
            Repr::DstUnreachable {
                code,
                next_hop_mtu,
                data,
            } => (
                Message::DST_UNREACHABLE,
                code,
                u32::from(next_hop_mtu),
                data,
            ),
            Repr::TimeExceeded { code, data } => (Message::TIME_EXCEEDED, code, 0, data),
            Repr::ParamProblem {
                code,
                pointer,
                data,
            } => (Message::PARAM_PROBLEM, code, u32::from(pointer) << 24, data),
            Repr::Redirect {
                code,
                gateway,
                data,
            } => (Message::REDIRECT, code, u32::from(gateway), data),
            Repr::Other {
                msg_type,
                code,
                rest,
                data,
            } => (msg_type, code, rest, data),
        }
    }

    pub fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.parts().3.len()
    }

    /// Write the message and its checksum. The buffer must be exactly `buffer_len()` long,
    /// since the checksum covers all of it.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let (msg_type, code, rest, data) = self.parts();
        packet.set_msg_type(msg_type);
        packet.set_msg_code(code);
        packet.set_rest_of_header(rest);
        packet.data_mut()[..data.len()].copy_from_slice(data);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::udp::tests::DNS_QUERY;
    use crate::wire::{Ipv4Packet, Ipv4Repr};

    /// 10.0.0.1 answers the DNS query of `udp::tests::DNS_QUERY` with port unreachable,
    /// quoting all of it (as Linux does for short packets). IPv4 header included.
    const PORT_UNREACH: [u8; 85] = [
        0x45, 0xc0, 0x00, 0x55, 0xb1, 0xe2, 0x00, 0x00, 0x40, 0x01, 0xb4, 0x03, 0x0a, 0x00, 0x00,
        0x01, 0x0a, 0x00, 0x00, 0x02, 0x03, 0x03, 0x11, 0x36, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00,
        0x00, 0x39, 0x30, 0x39, 0x40, 0x00, 0x40, 0x11, 0xf6, 0x78, 0x0a, 0x00, 0x00, 0x02, 0x0a,
        0x00, 0x00, 0x01, 0x9c, 0x40, 0x00, 0x35, 0x00, 0x25, 0xd3, 0xf0, 0xab, 0xcd, 0x01, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
        0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
    ];

    /// Linux ping: echo request id 0x1234 seq 1 with 40 bytes of data.
    const ECHO_REQUEST: [u8; 48] = [
        0x08, 0x00, 0x26, 0xf8, 0x12, 0x34, 0x00, 0x01, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
        0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34,
        0x35, 0x36, 0x37,
    ];

    /// Fragmentation needed (MTU 1400) for the TCP SYN of `ipv4::tests::TCP_SYN`, quoting the
    /// header and 8 bytes (RFC 792 minimum).
    const FRAG_NEEDED: [u8; 36] = [
        0x03, 0x04, 0x72, 0x0f, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40,
        0x00, 0x40, 0x06, 0xde, 0x99, 0x0a, 0x00, 0x00, 0x02, 0x5d, 0xb8, 0xd8, 0x22, 0xd4, 0x31,
        0x00, 0x50, 0x6b, 0x8b, 0x45, 0x67,
    ];

    #[test]
    fn parse_port_unreachable() {
        let ip = Ipv4Packet::new_checked(&PORT_UNREACH[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&ip).unwrap().protocol, Protocol::Icmp);
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(p.msg_type(), Message::DST_UNREACHABLE);
        assert_eq!(p.msg_code(), unreachable::PORT);
        assert_eq!(p.checksum(), 0x1136);
        assert!(p.verify_checksum());
        assert_eq!(p.data(), &DNS_QUERY[..]);

        let q = p.quoted().unwrap();
        assert_eq!(q.src_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(q.dst_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(q.protocol(), Protocol::Udp);
        assert_eq!(
            (q.ttl(), q.tos(), q.ident(), q.total_len()),
            (64, 0, 0x3039, 57)
        );
        assert_eq!(q.header_len(), 20);
        assert_eq!(q.header(), &DNS_QUERY[..20]);
        assert!(q.verify_header_checksum());
        assert_eq!(q.header_checksum(), 0xf678);
        assert_eq!(q.payload(), &DNS_QUERY[20..]);
        assert_eq!(q.l4_head(), &DNS_QUERY[20..28]);
        assert_eq!(q.src_port(), Some(40000));
        assert_eq!(q.dst_port(), Some(53));
        assert_eq!(q.icmp_ident(), None);

        assert_eq!(
            Repr::parse(&p).unwrap(),
            Repr::DstUnreachable {
                code: unreachable::PORT,
                next_hop_mtu: 0,
                data: &DNS_QUERY
            }
        );
    }

    #[test]
    fn emit_port_unreachable() {
        let repr = Repr::DstUnreachable {
            code: unreachable::PORT,
            next_hop_mtu: 0,
            data: &DNS_QUERY,
        };
        assert_eq!(repr.buffer_len(), 65);
        let mut out = [0u8; 65];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &PORT_UNREACH[20..]);
    }

    #[test]
    fn truncated_quotes() {
        let icmp = &PORT_UNREACH[20..];
        // Header + 8 bytes: ports present, payload cut.
        let p = Packet::new_checked(&icmp[..36]).unwrap();
        let q = p.quoted().unwrap();
        assert_eq!(q.payload().len(), 8);
        assert_eq!((q.src_port(), q.dst_port()), (Some(40000), Some(53)));
        // Only the source port quoted.
        let p = Packet::new_checked(&icmp[..31]).unwrap();
        let q = p.quoted().unwrap();
        assert_eq!((q.src_port(), q.dst_port()), (Some(40000), None));
        assert_eq!(q.l4_head(), &[0x9c, 0x40, 0x00]);
        // Header only.
        let p = Packet::new_checked(&icmp[..28]).unwrap();
        let q = p.quoted().unwrap();
        assert!(q.payload().is_empty());
        assert_eq!(q.src_port(), None);
        // Not even a whole IP header.
        assert_eq!(
            Packet::new_checked(&icmp[..27]).unwrap().quoted().err(),
            Some(Error::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&icmp[..7]).err(),
            Some(Error::Truncated)
        );
        // Quote longer than the quoted packet (RFC 4884 extension): payload stops at total len.
        let mut ext = icmp.to_vec();
        ext.extend_from_slice(&[0x20, 0, 0, 0]);
        let p = Packet::new_checked(&ext[..]).unwrap();
        assert_eq!(p.quoted().unwrap().payload(), &DNS_QUERY[20..]);
        // Bogus quoted total length below the header length: empty payload, no panic.
        let mut bogus = icmp[..36].to_vec();
        bogus[8 + 3] = 4;
        let p = Packet::new_checked(&bogus[..]).unwrap();
        assert!(p.quoted().unwrap().payload().is_empty());
    }

    #[test]
    fn quote_errors() {
        let mut b = PORT_UNREACH[20..].to_vec();
        b[8] = 0x65; // quoted version 6
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap().quoted().err(),
            Some(Error::Malformed)
        );
        b[8] = 0x44; // IHL 4
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap().quoted().err(),
            Some(Error::Malformed)
        );
        b[8] = 0x4f; // IHL 15 = 60 bytes > quote of 57
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap().quoted().err(),
            Some(Error::Truncated)
        );
        // Echo is not an error message.
        assert_eq!(
            Packet::new_checked(&ECHO_REQUEST[..])
                .unwrap()
                .quoted()
                .err(),
            Some(Error::Malformed)
        );
    }

    #[test]
    fn non_first_fragment_hides_ports() {
        let mut b = PORT_UNREACH[20..].to_vec();
        b[8 + 7] = 0x10; // quoted fragment offset 16
        let p = Packet::new_checked(&b[..]).unwrap();
        let q = p.quoted().unwrap();
        assert!(!q.is_first_fragment());
        assert_eq!((q.src_port(), q.dst_port()), (None, None));
    }

    #[test]
    fn rewrite_quote() {
        let mut b = PORT_UNREACH[20..].to_vec();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        {
            let mut q = p.quoted_mut().unwrap();
            q.rewrite_src_addr(Ipv4Addr::new(192, 168, 1, 50));
            assert!(q.set_src_port(5353));
            assert!(q.set_dst_port(5354));
            assert!(!q.set_icmp_ident(1));
            assert!(q.verify_header_checksum());
            q.rewrite_dst_addr(Ipv4Addr::new(8, 8, 8, 8));
            assert!(q.verify_header_checksum());
        }
        p.fill_checksum();
        let q = p.quoted().unwrap();
        assert_eq!(q.src_addr(), Ipv4Addr::new(192, 168, 1, 50));
        assert_eq!(q.dst_addr(), Ipv4Addr::new(8, 8, 8, 8));
        assert_eq!((q.src_port(), q.dst_port()), (Some(5353), Some(5354)));
        assert!(p.verify_checksum());
        let mut short = PORT_UNREACH[20..30].to_vec();
        short.extend_from_slice(&[0; 18]);
        short[8] = 0x45;
        short[17] = 17;
        let mut p = Packet::new_checked(&mut short[..]).unwrap();
        let mut q = p.quoted_mut().unwrap();
        assert!(!q.set_src_port(1));
        q.fill_header_checksum();
        assert!(q.verify_header_checksum());
    }

    #[test]
    fn echo_parse_emit_and_ident() {
        let p = Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(p.msg_type(), Message::ECHO_REQUEST);
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1234, 1));
        assert!(p.verify_checksum());
        let r = Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
                data: &ECHO_REQUEST[8..]
            }
        );
        let mut out = [0u8; 48];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, ECHO_REQUEST);

        let reply = Repr::EchoReply {
            ident: 0x1234,
            seq_no: 1,
            data: &ECHO_REQUEST[8..],
        };
        reply.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out[0], 0);
        // Type 8 -> 0 lowers the first word by 0x0800: checksum rises by the same.
        assert_eq!(&out[2..4], &[0x2e, 0xf8]);

        let mut p = Packet::new_unchecked(&mut out[..]);
        p.rewrite_echo_ident(0xbeef);
        assert!(p.verify_checksum());
        assert_eq!(p.echo_ident(), 0xbeef);

        // A quoted ping exposes its identifier.
        let mut err = vec![3, 1, 0, 0, 0, 0, 0, 0];
        err.extend_from_slice(&PORT_UNREACH[..20]);
        err[8 + 9] = 1;
        err.extend_from_slice(&ECHO_REQUEST[..8]);
        let p = Packet::new_checked(&err[..]).unwrap();
        assert_eq!(p.quoted().unwrap().icmp_ident(), Some(0x1234));
        assert_eq!(p.quoted().unwrap().src_port(), None);
        let mut p = Packet::new_checked(&mut err[..]).unwrap();
        assert!(p.quoted_mut().unwrap().set_icmp_ident(7));
        assert_eq!(p.quoted().unwrap().icmp_ident(), Some(7));
    }

    #[test]
    fn frag_needed() {
        let p = Packet::new_checked(&FRAG_NEEDED[..]).unwrap();
        assert_eq!(
            (p.msg_type(), p.msg_code()),
            (Message::DST_UNREACHABLE, unreachable::FRAG_NEEDED)
        );
        assert_eq!(p.next_hop_mtu(), 1400);
        assert!(p.verify_checksum());
        let q = p.quoted().unwrap();
        assert_eq!(q.protocol(), Protocol::Tcp);
        assert_eq!((q.src_port(), q.dst_port()), (Some(54321), Some(80)));
        let r = Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Repr::DstUnreachable {
                code: unreachable::FRAG_NEEDED,
                next_hop_mtu: 1400,
                data: &FRAG_NEEDED[8..]
            }
        );
        let mut out = [0u8; 36];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, FRAG_NEEDED);
    }

    #[test]
    fn other_reprs_roundtrip() {
        let quote = &FRAG_NEEDED[8..];
        let reprs = [
            Repr::TimeExceeded {
                code: time_exceeded::TTL,
                data: quote,
            },
            Repr::ParamProblem {
                code: param_problem::POINTER,
                pointer: 9,
                data: quote,
            },
            Repr::Redirect {
                code: redirect::HOST,
                gateway: Ipv4Addr::new(10, 0, 0, 254),
                data: quote,
            },
            Repr::Other {
                msg_type: Message::TIMESTAMP,
                code: 0,
                rest: 0x00010002,
                data: &[0; 12],
            },
            Repr::Other {
                msg_type: Message::ECHO_REQUEST,
                code: 1,
                rest: 5,
                data: &[],
            },
            Repr::Other {
                msg_type: Message::TIME_EXCEEDED,
                code: 0,
                rest: 1,
                data: &[],
            },
        ];
        for r in reprs {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut out[..]));
            let p = Packet::new_checked(&out[..]).unwrap();
            assert!(p.verify_checksum());
            assert_eq!(Repr::parse(&p).unwrap(), r);
        }
        let mut out = [0u8; 36];
        Repr::ParamProblem {
            code: 0,
            pointer: 9,
            data: quote,
        }
        .emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(Packet::new_unchecked(&out[..]).pointer(), 9);
        Repr::Redirect {
            code: 1,
            gateway: Ipv4Addr::new(1, 2, 3, 4),
            data: quote,
        }
        .emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(
            Packet::new_unchecked(&out[..]).gateway(),
            Ipv4Addr::new(1, 2, 3, 4)
        );
    }

    #[test]
    fn message_kinds() {
        for t in [3u8, 4, 5, 11, 12] {
            assert!(Message(t).is_error() && !Message(t).is_query(), "{t}");
        }
        for t in [0u8, 8, 13, 14, 15, 16, 17, 18] {
            assert!(!Message(t).is_error() && Message(t).is_query(), "{t}");
        }
        assert!(!Message(9).is_error() && !Message(9).is_query());
        assert_eq!(
            Message::DST_UNREACHABLE.to_string(),
            "destination-unreachable"
        );
        assert_eq!(Message(42).to_string(), "42");
        assert_eq!(u8::from(Message::from(11)), 11);
        assert_eq!(
            (
                unreachable::NET_PROHIBITED,
                unreachable::HOST_PROHIBITED,
                unreachable::ADMIN_PROHIBITED
            ),
            (9, 10, 13)
        );
    }
}
