//! Zero-copy typed views over packet bytes.
//!
//! Every protocol has a `Packet<T: AsRef<[u8]>>` (or `Frame`) view that borrows or owns a buffer
//! and reads fields in place, so the packet path never copies a header to look at it. A view is
//! built with `new_checked`, which validates every length the accessors depend on; after that
//! the getters index the buffer directly and cannot go out of bounds. `new_unchecked` exists for
//! emitting into a buffer the caller has sized with `Repr::buffer_len`.
//!
//! A `Repr` is the parsed, owned form of a header: `parse` validates semantics (versions,
//! lengths, known values), `emit` writes it back. Checksums can be verified, filled in full, or
//! updated incrementally (RFC 1624, see [`checksum`]) when NAT rewrites addresses and ports.
//!
//! Parsing never panics and never allocates, on any input; `tests/wire_fuzz.rs` holds that
//! line. Emitting into a buffer that is too short is a caller bug and panics, as documented on
//! each `emit`.

use core::fmt;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

pub use self::arp::{Operation as ArpOperation, Packet as ArpPacket, Repr as ArpRepr};
pub use self::ethernet::{
    Address as EthernetAddress, EtherType, Frame as EthernetFrame, L3Header, Repr as EthernetRepr,
    VlanRepr, VlanTag,
};
pub use self::icmpv4::{
    Message as Icmpv4Message, Packet as Icmpv4Packet, Quoted as Icmpv4Quoted, Repr as Icmpv4Repr,
};
pub use self::icmpv6::{
    Message as Icmpv6Message, NdOption, NdOptionsIter, Packet as Icmpv6Packet,
    PrefixInfo as NdPrefixInfo, Quoted as Icmpv6Quoted, Repr as Icmpv6Repr,
};
pub use self::ipv4::{Packet as Ipv4Packet, Protocol as IpProtocol, Repr as Ipv4Repr};
pub use self::ipv6::{
    ExtHeaders as Ipv6ExtHeaders, FragmentInfo as Ipv6FragmentInfo, HeaderSet as Ipv6HeaderSet,
    Ipv6Option, OptionsHeader as Ipv6OptionsHeader, OptionsIter as Ipv6OptionsIter,
    Packet as Ipv6Packet, Repr as Ipv6Repr, RoutingInfo as Ipv6RoutingInfo,
};
pub use self::tcp::{
    Flags as TcpFlags, OptionsIter as TcpOptionsIter, Packet as TcpPacket, Repr as TcpRepr,
    TcpOption,
};
pub use self::udp::{Packet as UdpPacket, Repr as UdpRepr};

/// Why a buffer could not be viewed or parsed as a given protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the header (or than a length field inside it) says.
    Truncated,
    /// A field has a value the protocol does not allow (bad version, length below minimum...).
    Malformed,
    /// A checksum did not verify.
    Checksum,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated packet",
            Error::Malformed => "malformed packet",
            Error::Checksum => "checksum error",
        })
    }
}

impl std::error::Error for Error {}

/// Result of the wire parsers.
pub type Result<T> = core::result::Result<T, Error>;

/// Big-endian field helpers: the accessors index with ranges that `check_len` guarantees, so
/// the conversions from slices of the right length cannot fail.
#[inline]
pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

#[inline]
pub(crate) fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

#[inline]
pub(crate) fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

#[inline]
pub(crate) fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_display() {
        assert_eq!(Error::Truncated.to_string(), "truncated packet");
        assert_eq!(Error::Malformed.to_string(), "malformed packet");
        assert_eq!(Error::Checksum.to_string(), "checksum error");
        let e: Box<dyn std::error::Error> = Box::new(Error::Checksum);
        assert_eq!(e.to_string(), "checksum error");
    }

    #[test]
    fn be_helpers() {
        let mut b = [0u8; 6];
        write_u16(&mut b, 0, 0x1234);
        write_u32(&mut b, 2, 0xdeadbeef);
        assert_eq!(b, [0x12, 0x34, 0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(read_u16(&b, 0), 0x1234);
        assert_eq!(read_u32(&b, 2), 0xdeadbeef);
    }
}
