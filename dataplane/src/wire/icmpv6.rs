//! ICMP for IPv6 (RFC 4443): echo, the four error messages that quote the offending packet,
//! and the neighbour discovery messages of RFC 4861 (router and neighbour solicitation and
//! advertisement) with their options.
//!
//! Unlike ICMPv4, the checksum covers the IPv6 pseudo-header (RFC 8200 section 8.1), so
//! verifying, filling and emitting take the source and destination addresses.

use core::fmt;
use std::net::Ipv6Addr;

use super::checksum;
use super::ethernet::Address as EthernetAddress;
use super::ipv4::Protocol;
use super::ipv6::{self, next_header, ExtHeaders};
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// The ICMPv6 type. A newtype with constants so unknown types round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Message(pub u8);

impl Message {
    pub const DST_UNREACHABLE: Message = Message(1);
    pub const PACKET_TOO_BIG: Message = Message(2);
    pub const TIME_EXCEEDED: Message = Message(3);
    pub const PARAM_PROBLEM: Message = Message(4);
    pub const ECHO_REQUEST: Message = Message(128);
    pub const ECHO_REPLY: Message = Message(129);
    pub const MLD_QUERY: Message = Message(130);
    pub const MLD_REPORT: Message = Message(131);
    pub const MLD_DONE: Message = Message(132);
    pub const ROUTER_SOLICIT: Message = Message(133);
    pub const ROUTER_ADVERT: Message = Message(134);
    pub const NEIGHBOR_SOLICIT: Message = Message(135);
    pub const NEIGHBOR_ADVERT: Message = Message(136);
    pub const REDIRECT: Message = Message(137);
    pub const MLD_V2_REPORT: Message = Message(143);

    /// Error messages (types 0-127, RFC 4443 section 2.1) carry a quote of the packet that
    /// caused them, and conntrack treats them as RELATED to its connection.
    pub fn is_error(self) -> bool {
        self.0 < 128
    }

    /// Query messages whose reply echoes the identifier (conntrack tracks them by it).
    pub fn is_query(self) -> bool {
        matches!(self, Self::ECHO_REQUEST | Self::ECHO_REPLY)
    }

    /// Neighbour discovery messages (RFC 4861), which a router must not forward.
    pub fn is_ndisc(self) -> bool {
        (133..=137).contains(&self.0)
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
    /// The names ip6tables' `--icmpv6-type` uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::DST_UNREACHABLE => "destination-unreachable",
            Self::PACKET_TOO_BIG => "packet-too-big",
            Self::TIME_EXCEEDED => "time-exceeded",
            Self::PARAM_PROBLEM => "parameter-problem",
            Self::ECHO_REQUEST => "echo-request",
            Self::ECHO_REPLY => "echo-reply",
            Self::ROUTER_SOLICIT => "router-solicitation",
            Self::ROUTER_ADVERT => "router-advertisement",
            Self::NEIGHBOR_SOLICIT => "neighbour-solicitation",
            Self::NEIGHBOR_ADVERT => "neighbour-advertisement",
            Self::REDIRECT => "redirect",
            Message(v) => return write!(f, "{v}"),
        };
        f.write_str(name)
    }
}

/// Codes of destination-unreachable (type 1).
pub mod unreachable {
    pub const NO_ROUTE: u8 = 0;
    /// Communication administratively prohibited: `REJECT --reject-with icmp6-adm-prohibited`.
    pub const ADMIN_PROHIBITED: u8 = 1;
    pub const BEYOND_SCOPE: u8 = 2;
    pub const ADDRESS: u8 = 3;
    pub const PORT: u8 = 4;
    pub const FAILED_POLICY: u8 = 5;
    pub const REJECT_ROUTE: u8 = 6;
}

/// Codes of time-exceeded (type 3).
pub mod time_exceeded {
    pub const HOP_LIMIT: u8 = 0;
    pub const FRAG_REASSEMBLY: u8 = 1;
}

/// Codes of parameter-problem (type 4).
pub mod param_problem {
    pub const HEADER_FIELD: u8 = 0;
    pub const UNRECOGNIZED_NEXT_HEADER: u8 = 1;
    pub const UNRECOGNIZED_OPTION: u8 = 2;
}

/// Neighbour advertisement flags (the high bits of the first word after the checksum).
pub mod na_flags {
    pub const ROUTER: u8 = 0x80;
    pub const SOLICITED: u8 = 0x40;
    pub const OVERRIDE: u8 = 0x20;
}

/// Router advertisement flags.
pub mod ra_flags {
    pub const MANAGED: u8 = 0x80;
    pub const OTHER: u8 = 0x40;
}

mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    /// The 4 type-specific bytes.
    pub const REST: usize = 4;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQNO: usize = 6;
    pub const MTU: usize = 4;
    pub const POINTER: usize = 4;
    pub const DATA: usize = 8;

    // Neighbour discovery.
    pub const NA_FLAGS: usize = 4;
    pub const TARGET: Range<usize> = 8..24;
    pub const RA_HOP_LIMIT: usize = 4;
    pub const RA_FLAGS: usize = 5;
    pub const RA_LIFETIME: usize = 6;
    pub const RA_REACHABLE: usize = 8;
    pub const RA_RETRANS: usize = 12;

    /// Fixed part of each ND message (the options follow).
    pub const RS_LEN: usize = 8;
    pub const RA_LEN: usize = 16;
    pub const NS_NA_LEN: usize = 24;
    pub const REDIRECT_LEN: usize = 40;

    // Options, relative to their start.
    pub const OPT_TYPE: usize = 0;
    pub const OPT_LEN: usize = 1;
}

pub const HEADER_LEN: usize = field::DATA;

/// Length of the fixed part of an ND message type, if it is one.
fn ndisc_fixed_len(t: Message) -> Option<usize> {
    match t {
        Message::ROUTER_SOLICIT => Some(field::RS_LEN),
        Message::ROUTER_ADVERT => Some(field::RA_LEN),
        Message::NEIGHBOR_SOLICIT | Message::NEIGHBOR_ADVERT => Some(field::NS_NA_LEN),
        Message::REDIRECT => Some(field::REDIRECT_LEN),
        _ => None,
    }
}

/// The options of the ND message in `buf` (empty for other types).
fn nd_options_of(buf: &[u8]) -> &[u8] {
    buf.first()
        .and_then(|&t| ndisc_fixed_len(Message(t)))
        .and_then(|n| buf.get(n..))
        .unwrap_or(&[])
}

/// A view of an ICMPv6 message (the buffer is exactly the upper-layer payload, which the
/// checksum covers). `check_len` guarantees the 8-byte header, and for neighbour discovery
/// messages their whole fixed part (24 bytes for NS/NA, 16 for RA, 40 for redirect).
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
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if len < ndisc_fixed_len(self.msg_type()).unwrap_or(0) {
            return Err(Error::Truncated);
        }
        Ok(())
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

    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO)
    }

    /// MTU of a packet-too-big message.
    pub fn mtu(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::MTU)
    }

    /// Octet pointer of a parameter-problem message (into the invoking packet).
    pub fn pointer(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::POINTER)
    }

    /// Everything after the 8-byte header (echo data, the quote of an error, or the rest of
    /// an ND message).
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// The quoted packet of an error message. `Malformed` if this is not an error message or
    /// the quote is not IPv6; `Truncated` if the quote does not hold a whole IPv6 header.
    pub fn quoted(&self) -> Result<Quoted<&[u8]>> {
        if !self.msg_type().is_error() {
            return Err(Error::Malformed);
        }
        Quoted::new_checked(self.data())
    }

    /// R, S and O flags of a neighbour advertisement ([`na_flags`]).
    pub fn na_flags(&self) -> u8 {
        self.buffer.as_ref()[field::NA_FLAGS] & 0xe0
    }

    /// Target address of a neighbour solicitation or advertisement (or redirect); the
    /// unspecified address when the message is too short to hold one (another type).
    pub fn target_addr(&self) -> Ipv6Addr {
        self.buffer
            .as_ref()
            .get(field::TARGET)
            .map_or(Ipv6Addr::UNSPECIFIED, ipv6::addr)
    }

    /// Destination address of a redirect (unspecified when too short).
    pub fn redirect_dst_addr(&self) -> Ipv6Addr {
        self.buffer
            .as_ref()
            .get(24..40)
            .map_or(Ipv6Addr::UNSPECIFIED, ipv6::addr)
    }

    /// Cur hop limit of a router advertisement.
    pub fn ra_hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::RA_HOP_LIMIT]
    }

    /// The flags byte of a router advertisement ([`ra_flags`]).
    pub fn ra_flags(&self) -> u8 {
        self.buffer.as_ref()[field::RA_FLAGS]
    }

    pub fn ra_managed(&self) -> bool {
        self.ra_flags() & ra_flags::MANAGED != 0
    }

    pub fn ra_other(&self) -> bool {
        self.ra_flags() & ra_flags::OTHER != 0
    }

    /// Router lifetime of a router advertisement, in seconds.
    pub fn ra_router_lifetime(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::RA_LIFETIME)
    }

    /// Reachable time of a router advertisement, in milliseconds (0 when too short).
    pub fn ra_reachable_time(&self) -> u32 {
        let d = self.buffer.as_ref();
        d.get(field::RA_REACHABLE..field::RA_REACHABLE + 4)
            .map_or(0, |b| read_u32(b, 0))
    }

    /// Retrans timer of a router advertisement, in milliseconds (0 when too short).
    pub fn ra_retrans_time(&self) -> u32 {
        let d = self.buffer.as_ref();
        d.get(field::RA_RETRANS..field::RA_RETRANS + 4)
            .map_or(0, |b| read_u32(b, 0))
    }

    /// The option bytes of a neighbour discovery message (empty for other types).
    pub fn nd_options(&self) -> &[u8] {
        nd_options_of(self.buffer.as_ref())
    }

    pub fn nd_options_iter(&self) -> NdOptionsIter<'_> {
        NdOptionsIter::new(self.nd_options())
    }

    fn sum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
        let data = self.buffer.as_ref();
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let icmp = Protocol::from(next_header::ICMPV6);
        checksum::combine(&[
            checksum::pseudo_header_ipv6(src, dst, icmp, len),
            checksum::data(data),
        ])
    }

    /// Verify the checksum over the IPv6 pseudo-header and the whole buffer.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.sum(src, dst) == 0xffff
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

    pub fn set_mtu(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::MTU, v);
    }

    pub fn set_pointer(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::POINTER, v);
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Mutable access to the quote, for NAT to rewrite the embedded addresses and ports
    /// (refill the ICMPv6 checksum afterwards).
    pub fn quoted_mut(&mut self) -> Result<Quoted<&mut [u8]>> {
        if !self.msg_type().is_error() {
            return Err(Error::Malformed);
        }
        Quoted::new_checked(self.data_mut())
    }

    /// Set the echo identifier and patch the checksum (NAT of pings).
    pub fn rewrite_echo_ident(&mut self, new: u16) {
        let c = checksum::update_u16(self.checksum(), self.echo_ident(), new);
        self.set_echo_ident(new);
        self.set_checksum(c);
    }

    /// Patch the checksum for an address change in the pseudo-header (NAT66).
    pub fn update_checksum_addr(&mut self, old: Ipv6Addr, new: Ipv6Addr) {
        let c = checksum::update_addr_ipv6(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Recompute the checksum over the pseudo-header and the whole buffer.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let c = !self.sum(src, dst);
        self.set_checksum(c);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The IPv6 packet quoted in an ICMPv6 error: a whole fixed header, then as much of the rest
/// as fits the minimum MTU (RFC 4443 section 2.4: the error is at most 1280 bytes). The claimed
/// payload length is not trusted to match.
///
/// `check_len` guarantees version 6 and the 40-byte header in the buffer; the upper-layer
/// accessors walk the quoted extension headers and return `None` when the bytes they need were
/// not quoted.
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
        if data.len() < ipv6::HEADER_LEN {
            return Err(Error::Truncated);
        }
        if data[0] >> 4 != 6 {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The quoted header as an IPv6 view. Its header accessors are all in bounds, but its
    /// `payload()` may not be: use [`Quoted::payload`] instead.
    fn ip(&self) -> ipv6::Packet<&[u8]> {
        ipv6::Packet::new_unchecked(self.buffer.as_ref())
    }

    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..ipv6::HEADER_LEN]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        self.ip().src_addr()
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        self.ip().dst_addr()
    }

    /// The next header of the quoted fixed header (see [`Quoted::ext_headers`]).
    pub fn next_header(&self) -> Protocol {
        self.ip().next_header()
    }

    pub fn hop_limit(&self) -> u8 {
        self.ip().hop_limit()
    }

    pub fn traffic_class(&self) -> u8 {
        self.ip().traffic_class()
    }

    pub fn flow_label(&self) -> u32 {
        self.ip().flow_label()
    }

    /// The payload length the quoted packet had (not what was quoted).
    pub fn payload_len(&self) -> u16 {
        self.ip().payload_len()
    }

    /// The quoted part of the payload: from the end of the fixed header to the end of the
    /// quote or the quoted packet's payload length, whichever comes first.
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let end = (ipv6::HEADER_LEN + self.payload_len() as usize).min(data.len());
        &data[ipv6::HEADER_LEN..end]
    }

    /// Walk the quoted extension headers (`Truncated` if the quote ends inside them).
    pub fn ext_headers(&self) -> Result<ExtHeaders> {
        ExtHeaders::parse(self.ip().next_header().into(), self.payload())
    }

    /// The upper-layer protocol and the offset of its quoted bytes in the quote, if the
    /// chain could be walked and this is not a non-first fragment.
    fn upper(&self) -> Option<(Protocol, usize)> {
        let ext = self.ext_headers().ok()?;
        Some((ext.protocol, ext.upper_offset?))
    }

    /// The upper-layer protocol of the quoted packet and its quoted bytes (possibly empty),
    /// or `None` when it cannot be reached (quote cut inside the extension headers, or a
    /// non-first fragment).
    pub fn upper_layer(&self) -> Option<(Protocol, &[u8])> {
        let (proto, at) = self.upper()?;
        let payload_end = ipv6::HEADER_LEN + self.payload().len();
        Some((
            proto,
            self.buffer.as_ref().get(at..payload_end).unwrap_or(&[]),
        ))
    }

    /// Offset in the quote of `len` bytes at `at` of a quoted TCP/UDP header.
    fn port_at(&self, at: usize) -> Option<usize> {
        let (proto, l4) = self.upper_layer()?;
        let ok = matches!(proto, Protocol::Tcp | Protocol::Udp) && l4.len() >= at + 2;
        ok.then(|| self.upper().map(|(_, off)| off + at))?
    }

    /// Source port of a quoted TCP/UDP first fragment, if quoted.
    pub fn src_port(&self) -> Option<u16> {
        self.port_at(0).map(|at| read_u16(self.buffer.as_ref(), at))
    }

    /// Destination port of a quoted TCP/UDP first fragment, if quoted.
    pub fn dst_port(&self) -> Option<u16> {
        self.port_at(2).map(|at| read_u16(self.buffer.as_ref(), at))
    }

    /// Offset in the quote of the identifier of a quoted echo request or reply.
    fn icmp_ident_at(&self) -> Option<usize> {
        let (proto, l4) = self.upper_layer()?;
        let ok =
            u8::from(proto) == next_header::ICMPV6 && l4.len() >= 6 && Message(l4[0]).is_query();
        ok.then(|| self.upper().map(|(_, off)| off + 4))?
    }

    /// Identifier of a quoted echo request or reply (a ping whose error came back).
    pub fn icmp_ident(&self) -> Option<u16> {
        self.icmp_ident_at()
            .map(|at| read_u16(self.buffer.as_ref(), at))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Quoted<T> {
    fn ip_mut(&mut self) -> ipv6::Packet<&mut [u8]> {
        ipv6::Packet::new_unchecked(self.buffer.as_mut())
    }

    /// Rewrite the quoted source address (IPv6 has no header checksum to patch).
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.ip_mut().set_src_addr(a);
    }

    /// Rewrite the quoted destination address.
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.ip_mut().set_dst_addr(a);
    }

    /// Set the quoted source port; false (nothing written) if it was not quoted.
    pub fn set_src_port(&mut self, port: u16) -> bool {
        self.write_at(self.port_at(0), port)
    }

    /// Set the quoted destination port; false (nothing written) if it was not quoted.
    pub fn set_dst_port(&mut self, port: u16) -> bool {
        self.write_at(self.port_at(2), port)
    }

    /// Set the identifier of a quoted echo; false if it was not quoted.
    pub fn set_icmp_ident(&mut self, ident: u16) -> bool {
        self.write_at(self.icmp_ident_at(), ident)
    }

    fn write_at(&mut self, at: Option<usize>, v: u16) -> bool {
        match at {
            Some(at) => {
                write_u16(self.buffer.as_mut(), at, v);
                true
            }
            None => false,
        }
    }
}

/// Option types of neighbour discovery (RFC 4861 section 4.6).
pub mod nd_option_type {
    pub const SOURCE_LL_ADDR: u8 = 1;
    pub const TARGET_LL_ADDR: u8 = 2;
    pub const PREFIX_INFO: u8 = 3;
    pub const REDIRECTED_HEADER: u8 = 4;
    pub const MTU: u8 = 5;
}

/// Prefix information option flags.
pub mod prefix_flags {
    pub const ON_LINK: u8 = 0x80;
    pub const AUTONOMOUS: u8 = 0x40;
}

/// The prefix information option of a router advertisement (RFC 4861 section 4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixInfo {
    pub prefix_len: u8,
    /// L and A flags ([`prefix_flags`]), and the reserved bits as received.
    pub flags: u8,
    /// Seconds (0xffffffff: infinity).
    pub valid_lifetime: u32,
    pub preferred_lifetime: u32,
    pub prefix: Ipv6Addr,
}

impl PrefixInfo {
    pub fn on_link(&self) -> bool {
        self.flags & prefix_flags::ON_LINK != 0
    }

    pub fn autonomous(&self) -> bool {
        self.flags & prefix_flags::AUTONOMOUS != 0
    }
}

/// One neighbour discovery option. Link-layer address options are typed for Ethernet (length
/// 1, 8 bytes); one of another length is kept as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdOption<'a> {
    SourceLinkLayerAddr(EthernetAddress),
    TargetLinkLayerAddr(EthernetAddress),
    PrefixInformation(PrefixInfo),
    Mtu(u32),
    /// Any other option: its type and the bytes after the type and length.
    Other {
        option_type: u8,
        data: &'a [u8],
    },
}

impl<'a> NdOption<'a> {
    /// Parse the option at the start of `data`; returns its length on the wire and the
    /// option. A length field of 0 is `Malformed` (RFC 4861 section 4.6: the packet must be
    /// discarded); a length past the end of `data` is `Truncated`; a prefix information or
    /// MTU option of the wrong length is `Malformed`.
    pub fn parse(data: &'a [u8]) -> Result<(usize, NdOption<'a>)> {
        if data.len() < 2 {
            return Err(Error::Truncated);
        }
        let len = usize::from(data[field::OPT_LEN]) * 8;
        if len == 0 {
            return Err(Error::Malformed);
        }
        let opt = data.get(..len).ok_or(Error::Truncated)?;
        let t = opt[field::OPT_TYPE];
        let parsed = match t {
            nd_option_type::SOURCE_LL_ADDR | nd_option_type::TARGET_LL_ADDR if len == 8 => {
                let mut a = [0u8; 6];
                a.copy_from_slice(&opt[2..8]);
                if t == nd_option_type::SOURCE_LL_ADDR {
                    NdOption::SourceLinkLayerAddr(EthernetAddress(a))
                } else {
                    NdOption::TargetLinkLayerAddr(EthernetAddress(a))
                }
            }
            nd_option_type::PREFIX_INFO if len == 32 => NdOption::PrefixInformation(PrefixInfo {
                prefix_len: opt[2],
                flags: opt[3],
                valid_lifetime: read_u32(opt, 4),
                preferred_lifetime: read_u32(opt, 8),
                prefix: ipv6::addr(&opt[16..32]),
            }),
            nd_option_type::MTU if len == 8 => NdOption::Mtu(read_u32(opt, 4)),
            nd_option_type::PREFIX_INFO | nd_option_type::MTU => return Err(Error::Malformed),
            _ => NdOption::Other {
                option_type: t,
                data: &opt[2..],
            },
        };
        Ok((len, parsed))
    }

    pub fn option_type(&self) -> u8 {
        match *self {
            NdOption::SourceLinkLayerAddr(_) => nd_option_type::SOURCE_LL_ADDR,
            NdOption::TargetLinkLayerAddr(_) => nd_option_type::TARGET_LL_ADDR,
            NdOption::PrefixInformation(_) => nd_option_type::PREFIX_INFO,
            NdOption::Mtu(_) => nd_option_type::MTU,
            NdOption::Other { option_type, .. } => option_type,
        }
    }

    /// Length on the wire (a multiple of 8 for a well-formed `Other`).
    pub fn buffer_len(&self) -> usize {
        match *self {
            NdOption::SourceLinkLayerAddr(_)
            | NdOption::TargetLinkLayerAddr(_)
            | NdOption::Mtu(_) => 8,
            NdOption::PrefixInformation(_) => 32,
            NdOption::Other { data, .. } => 2 + data.len(),
        }
    }

    /// Write the option at the start of `buf` (reserved fields zero); returns its length.
    /// `Truncated` if `buf` is too short, `Malformed` for an `Other` whose length is not a
    /// non-zero multiple of 8 that fits the length byte.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if len & 7 != 0 || len == 0 || len > 255 * 8 {
            return Err(Error::Malformed);
        }
        let out = buf.get_mut(..len).ok_or(Error::Truncated)?;
        out.fill(0);
        out[field::OPT_TYPE] = self.option_type();
        out[field::OPT_LEN] = (len / 8) as u8;
        match *self {
            NdOption::SourceLinkLayerAddr(a) | NdOption::TargetLinkLayerAddr(a) => {
                out[2..8].copy_from_slice(&a.0);
            }
            NdOption::PrefixInformation(p) => {
                out[2] = p.prefix_len;
                out[3] = p.flags;
                write_u32(out, 4, p.valid_lifetime);
                write_u32(out, 8, p.preferred_lifetime);
                out[16..32].copy_from_slice(&p.prefix.octets());
            }
            NdOption::Mtu(mtu) => write_u32(out, 4, mtu),
            NdOption::Other { data, .. } => out[2..].copy_from_slice(data),
        }
        Ok(len)
    }
}

/// Iterator over neighbour discovery options. Yields `Err` once and stops on a malformed or
/// truncated option; each step consumes at least 8 bytes, so it always terminates.
#[derive(Debug, Clone)]
pub struct NdOptionsIter<'a> {
    data: &'a [u8],
}

impl<'a> NdOptionsIter<'a> {
    pub fn new(data: &'a [u8]) -> NdOptionsIter<'a> {
        NdOptionsIter { data }
    }
}

impl<'a> Iterator for NdOptionsIter<'a> {
    type Item = Result<NdOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        match NdOption::parse(self.data) {
            Ok((len, opt)) => {
                self.data = self.data.get(len..).unwrap_or(&[]);
                Some(Ok(opt))
            }
            Err(e) => {
                self.data = &[];
                Some(Err(e))
            }
        }
    }
}

/// Every option of `options` parses.
fn check_nd_options(options: &[u8]) -> Result<()> {
    for opt in NdOptionsIter::new(options) {
        opt?;
    }
    Ok(())
}

/// A parsed ICMPv6 message. Data and ND options are borrowed from the packet (options as
/// their raw, validated bytes: iterate them with [`NdOptionsIter`]), so `emit` can copy them
/// into a new message.
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
    DstUnreachable {
        code: u8,
        data: &'a [u8],
    },
    PacketTooBig {
        mtu: u32,
        data: &'a [u8],
    },
    TimeExceeded {
        code: u8,
        data: &'a [u8],
    },
    ParamProblem {
        code: u8,
        pointer: u32,
        data: &'a [u8],
    },
    RouterSolicit {
        options: &'a [u8],
    },
    RouterAdvert {
        hop_limit: u8,
        /// M, O and the other flag bits ([`ra_flags`]).
        flags: u8,
        router_lifetime: u16,
        reachable_time: u32,
        retrans_time: u32,
        options: &'a [u8],
    },
    NeighborSolicit {
        target: Ipv6Addr,
        options: &'a [u8],
    },
    NeighborAdvert {
        /// R, S and O ([`na_flags`]).
        flags: u8,
        target: Ipv6Addr,
        options: &'a [u8],
    },
    /// Any other type (or a known one with a code or unused bits it must not have), kept
    /// whole so it round-trips.
    Other {
        msg_type: Message,
        code: u8,
        rest: u32,
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Does not verify the checksum (a router forwards ICMPv6 it did not originate without
    /// looking at it; use [`Packet::verify_checksum`] for messages addressed to us).
    ///
    /// Neighbour discovery messages are validated as RFC 4861 section 6.1/7.1 asks of the
    /// ICMPv6 part (the hop limit of 255 is the IP layer's): a non-zero code makes them
    /// `Other`; a bad option is `Malformed` or `Truncated`; a multicast target is `Malformed`.
    /// Their reserved bits are ignored, as receivers must, and emitted as zero.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        packet.check_len()?;
        let buf = T::as_ref(packet.buffer);
        let data = &buf[field::DATA..];
        let code = packet.msg_code();
        let rest = packet.rest_of_header();
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
            (Message::DST_UNREACHABLE, _) if rest == 0 => Repr::DstUnreachable { code, data },
            (Message::PACKET_TOO_BIG, 0) => Repr::PacketTooBig {
                mtu: packet.mtu(),
                data,
            },
            (Message::TIME_EXCEEDED, _) if rest == 0 => Repr::TimeExceeded { code, data },
            (Message::PARAM_PROBLEM, _) => Repr::ParamProblem {
                code,
                pointer: packet.pointer(),
                data,
            },
            (Message::ROUTER_SOLICIT, 0) => {
                let options = nd_options_of(buf);
                check_nd_options(options)?;
                Repr::RouterSolicit { options }
            }
            (Message::ROUTER_ADVERT, 0) => {
                let options = nd_options_of(buf);
                check_nd_options(options)?;
                Repr::RouterAdvert {
                    hop_limit: packet.ra_hop_limit(),
                    flags: packet.ra_flags(),
                    router_lifetime: packet.ra_router_lifetime(),
                    reachable_time: packet.ra_reachable_time(),
                    retrans_time: packet.ra_retrans_time(),
                    options,
                }
            }
            (Message::NEIGHBOR_SOLICIT, 0) | (Message::NEIGHBOR_ADVERT, 0) => {
                let target = packet.target_addr();
                if target.is_multicast() {
                    return Err(Error::Malformed);
                }
                let options = nd_options_of(buf);
                check_nd_options(options)?;
                if packet.msg_type() == Message::NEIGHBOR_SOLICIT {
                    Repr::NeighborSolicit { target, options }
                } else {
                    Repr::NeighborAdvert {
                        flags: packet.na_flags(),
                        target,
                        options,
                    }
                }
            }
            (msg_type, code) => Repr::Other {
                msg_type,
                code,
                rest,
                data,
            },
        })
    }

    /// Type, code, the 4 type-specific bytes, the fixed ND fields after them (if any), and
    /// the data or options.
    fn parts(&self) -> (Message, u8, u32, Option<NdFixed>, &'a [u8]) {
        let echo = |ident: u16, seq_no: u16| (u32::from(ident) << 16) | u32::from(seq_no);
        match *self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => (Message::ECHO_REQUEST, 0, echo(ident, seq_no), None, data),
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => (Message::ECHO_REPLY, 0, echo(ident, seq_no), None, data),
            Repr::DstUnreachable { code, data } => (Message::DST_UNREACHABLE, code, 0, None, data),
            Repr::PacketTooBig { mtu, data } => (Message::PACKET_TOO_BIG, 0, mtu, None, data),
            Repr::TimeExceeded { code, data } => (Message::TIME_EXCEEDED, code, 0, None, data),
            Repr::ParamProblem {
                code,
                pointer,
                data,
            } => (Message::PARAM_PROBLEM, code, pointer, None, data),
            Repr::RouterSolicit { options } => (Message::ROUTER_SOLICIT, 0, 0, None, options),
            Repr::RouterAdvert {
                hop_limit,
                flags,
                router_lifetime,
                reachable_time,
                retrans_time,
                options,
            } => (
                Message::ROUTER_ADVERT,
                0,
                (u32::from(hop_limit) << 24)
                    | (u32::from(flags) << 16)
                    | u32::from(router_lifetime),
                Some(NdFixed::Timers(reachable_time, retrans_time)),
                options,
            ),
            Repr::NeighborSolicit { target, options } => (
                Message::NEIGHBOR_SOLICIT,
                0,
                0,
                Some(NdFixed::Target(target)),
                options,
            ),
            Repr::NeighborAdvert {
                flags,
                target,
                options,
            } => (
                Message::NEIGHBOR_ADVERT,
                0,
                u32::from(flags & 0xe0) << 24,
                Some(NdFixed::Target(target)),
                options,
            ),
            Repr::Other {
                msg_type,
                code,
                rest,
                data,
            } => (msg_type, code, rest, None, data),
        }
    }

    pub fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub fn buffer_len(&self) -> usize {
        let (_, _, _, fixed, data) = self.parts();
        HEADER_LEN + fixed.map_or(0, |f| f.len()) + data.len()
    }

    /// Write the message and its checksum (over the pseudo-header of `src` and `dst`). The
    /// buffer must be exactly `buffer_len()` long, since the checksum covers all of it.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        packet: &mut Packet<T>,
    ) {
        let (msg_type, code, rest, fixed, data) = self.parts();
        packet.set_msg_type(msg_type);
        packet.set_msg_code(code);
        packet.set_rest_of_header(rest);
        let out = packet.data_mut();
        let at = match fixed {
            None => 0,
            Some(NdFixed::Target(t)) => {
                out[..16].copy_from_slice(&t.octets());
                16
            }
            Some(NdFixed::Timers(reachable, retrans)) => {
                write_u32(out, 0, reachable);
                write_u32(out, 4, retrans);
                8
            }
        };
        out[at..at + data.len()].copy_from_slice(data);
        packet.fill_checksum(src, dst);
    }
}

/// The fields of an ND message between its first 8 bytes and its options.
#[derive(Debug, Clone, Copy)]
enum NdFixed {
    Target(Ipv6Addr),
    Timers(u32, u32),
}

impl NdFixed {
    fn len(self) -> usize {
        match self {
            NdFixed::Target(_) => 16,
            NdFixed::Timers(..) => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv6::tests::{A, B, ECHO_REQUEST, FRAG_SECOND};
    use crate::wire::udp::tests::{UDP_V6, V6_DST, V6_SRC};
    use crate::wire::Ipv6Packet;

    // Captured with tcpdump on veth pairs between Linux network namespaces (fd00:1::2 ->
    // router fd00:1::1 / fd00:2::1 -> fd00:2::2), Ethernet header removed: the IPv6 header is
    // included, the ICMPv6 message starts at byte 40.

    /// The reply to `ipv6::tests::ECHO_REQUEST` (hop limit 63: it crossed the router).
    const ECHO_REPLY: [u8; 64] = [
        0x60, 0x02, 0xd4, 0x37, 0x00, 0x18, 0x3a, 0x3f, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x81, 0x00, 0x97, 0x09, 0x37,
        0x36, 0x00, 0x01, 0xd9, 0xb2, 0x15, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xbf, 0x45, 0x08, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];

    /// `ping -6 -t 1 -s 8 fd00:2::2`: the forwarding namespace fd00:1::1 answers hop limit
    /// exceeded in transit, quoting the whole echo request (id 0x3738).
    const TIME_EXCEEDED: [u8; 104] = [
        0x60, 0x05, 0xd1, 0x30, 0x00, 0x40, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x00, 0x1d, 0xc4, 0x00,
        0x00, 0x00, 0x00, 0x60, 0x03, 0x4a, 0xf0, 0x00, 0x10, 0x3a, 0x01, 0xfd, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00,
        0x42, 0x63, 0x37, 0x38, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    ];

    /// fd00:1::3 answers `udp::tests::UDP_V6` (to its closed port 9999) with port unreachable,
    /// quoting all of it (captured with `ethtool -K tx off`).
    const PORT_UNREACH: [u8; 103] = [
        0x60, 0x07, 0xb6, 0x1c, 0x00, 0x3f, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x04, 0x23, 0x88, 0x00,
        0x00, 0x00, 0x00, 0x60, 0x07, 0x6f, 0xbb, 0x00, 0x0f, 0x11, 0x40, 0xfd, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x9c, 0x40,
        0x27, 0x0f, 0x00, 0x0f, 0x0c, 0x2b, 0x6e, 0x66, 0x64, 0x70, 0x2d, 0x76, 0x36,
    ];

    /// `ip6tables -A INPUT -p tcp --dport 81 -j REJECT --reject-with icmp6-adm-prohibited` in
    /// fd00:2::2 answers a TCP SYN from fd00:1::2:44666 (whose TCP checksum in the quote was
    /// left partial by the veth offload).
    const ADMIN_PROHIBITED: [u8; 128] = [
        0x60, 0x00, 0x2a, 0x11, 0x00, 0x58, 0x3a, 0x3f, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0xad, 0x8b, 0x00,
        0x00, 0x00, 0x00, 0x60, 0x03, 0x20, 0x9f, 0x00, 0x28, 0x06, 0x3f, 0xfd, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xae, 0x7a,
        0x00, 0x51, 0x8c, 0xd3, 0x8b, 0x64, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfc, 0x94, 0xfa,
        0x36, 0x00, 0x00, 0x02, 0x04, 0x04, 0xc4, 0x04, 0x02, 0x08, 0x0a, 0x19, 0xd8, 0x47, 0x3a,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
    ];

    /// A UDP datagram with a destination option of unknown type 0x9e (action 10: discard and
    /// report) draws parameter problem code 2, pointer 42 (the option type).
    const PARAM_PROBLEM_OPTION: [u8; 106] = [
        0x60, 0x07, 0xea, 0xd0, 0x00, 0x42, 0x3a, 0x3f, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x02, 0xbb, 0x55, 0x00,
        0x00, 0x00, 0x2a, 0x60, 0x0d, 0xf9, 0xb2, 0x00, 0x12, 0x3c, 0x3f, 0xfd, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x00,
        0x9e, 0x02, 0x00, 0x00, 0x01, 0x00, 0x9c, 0x40, 0x27, 0x0c, 0x00, 0x0a, 0xd2, 0x14, 0x70,
        0x70,
    ];

    /// A raw datagram of protocol 253 draws parameter problem code 1, pointer 6 (next header).
    const PARAM_PROBLEM_NEXT_HEADER: [u8; 96] = [
        0x60, 0x02, 0xa3, 0x95, 0x00, 0x38, 0x3a, 0x3f, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x01, 0x03, 0x12, 0x00,
        0x00, 0x00, 0x06, 0x60, 0x0a, 0xa7, 0x10, 0x00, 0x08, 0xfd, 0x3f, 0xfd, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// fd00:1::2 resolves its router fd00:1::1: neighbour solicitation to the
    /// solicited-node group, with a source link-layer address option (02:00:00:00:00:0a).
    const NEIGHBOR_SOLICIT: [u8; 72] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x01, 0x87, 0x00, 0x7d, 0x8d, 0x00,
        0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
    ];

    /// The router's answer: R, S and O set, target link-layer address 02:00:00:00:00:01.
    const NEIGHBOR_ADVERT: [u8; 72] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x88, 0x00, 0x9c, 0x98, 0xe0,
        0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    ];

    /// A unicast reachability confirmation: S set, no option.
    const NEIGHBOR_ADVERT_BARE: [u8; 64] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x3a, 0xff, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01, 0x88, 0x00, 0x40, 0x23, 0x40,
        0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x02,
    ];

    /// The router solicitation of fe80::ff:fe00:a to ff02::2 when its link came up, with a
    /// source link-layer address option.
    const ROUTER_SOLICIT: [u8; 56] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x0a, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x85, 0x00, 0x7b, 0x1a, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
    ];

    /// A router advertisement from fe80::ff:fe00:1 to ff02::1, built by a Python raw ICMPv6
    /// socket in the router namespace (the kernel computed the checksum): hop limit 64, M and O,
    /// lifetime 1800, reachable 30000 ms, retrans 1000 ms; source link-layer address, MTU 1500,
    /// prefix fd00:1::/64 (L, A, valid 86400, preferred 14400).
    const ROUTER_ADVERT: [u8; 104] = [
        0x60, 0x01, 0xcc, 0x6f, 0x00, 0x40, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0x00, 0xe3, 0xb7, 0x40,
        0xc0, 0x07, 0x08, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x03, 0xe8, 0x01, 0x01, 0x02, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc, 0x03, 0x04, 0x40,
        0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// `ping -6 -M do -s 1400` through a 1280-byte link: the router fd00:1::1 sends packet too
    /// big (MTU 1280), quoting as much of the echo request as fits 1280 bytes.
    const PACKET_TOO_BIG: [u8; 1280] = [
        0x60, 0x05, 0xc5, 0x56, 0x04, 0xd8, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0xee, 0x31, 0x00,
        0x00, 0x05, 0x00, 0x60, 0x03, 0x4a, 0xf0, 0x05, 0x80, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00,
        0xbd, 0x63, 0x37, 0x3a, 0x00, 0x01, 0xd9, 0xb2, 0x15, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x29,
        0x63, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26,
        0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
        0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44,
        0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53,
        0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
        0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71,
        0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80,
        0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
        0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e,
        0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
        0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc,
        0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb,
        0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
        0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9,
        0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
        0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
        0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34,
        0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43,
        0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52,
        0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61,
        0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
        0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
        0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e,
        0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d,
        0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac,
        0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb,
        0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
        0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9,
        0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
        0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
        0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
        0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42,
        0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51,
        0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60,
        0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
        0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e,
        0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
        0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c,
        0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
        0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba,
        0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9,
        0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8,
        0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
        0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6,
        0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
        0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
        0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
        0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32,
        0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41,
        0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50,
        0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
        0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e,
        0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d,
        0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c,
        0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
        0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
        0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9,
        0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8,
        0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
        0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6,
        0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5,
        0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04,
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
        0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22,
        0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31,
        0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
        0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e,
        0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
        0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c,
        0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
        0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a,
        0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    ];

    const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 1);
    const LL_A: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0xa);
    const LL_R: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1);

    /// The ICMPv6 message of a captured packet and its addresses, checked through the IPv6
    /// view.
    fn icmp(pkt: &[u8]) -> (Packet<&[u8]>, Ipv6Addr, Ipv6Addr) {
        let ip = Ipv6Packet::new_checked(pkt).unwrap();
        let ext = ip.ext_headers().unwrap();
        assert_eq!(u8::from(ext.protocol), next_header::ICMPV6);
        let at = ext.upper_offset.unwrap();
        let p = Packet::new_checked(&pkt[at..40 + ip.payload_len() as usize]).unwrap();
        (p, ip.src_addr(), ip.dst_addr())
    }

    /// Parse, emit into a fresh buffer and compare with the captured bytes.
    fn roundtrip(pkt: &[u8]) -> Repr<'_> {
        let (p, src, dst) = icmp(pkt);
        assert!(p.verify_checksum(src, dst));
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.buffer_len(), pkt.len() - 40);
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(src, dst, &mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &pkt[40..]);
        r
    }

    #[test]
    fn echo_request_and_reply() {
        let (p, src, dst) = icmp(&ECHO_REQUEST);
        assert_eq!((src, dst), (A, B));
        assert_eq!((p.msg_type(), p.msg_code()), (Message::ECHO_REQUEST, 0));
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x3736, 1));
        assert_eq!(p.checksum(), 0x9809);
        assert!(p.verify_checksum(A, B));
        assert!(!p.verify_checksum(A, ROUTER));
        assert_eq!(
            roundtrip(&ECHO_REQUEST),
            Repr::EchoRequest {
                ident: 0x3736,
                seq_no: 1,
                data: &ECHO_REQUEST[48..]
            }
        );
        assert_eq!(
            roundtrip(&ECHO_REPLY),
            Repr::EchoReply {
                ident: 0x3736,
                seq_no: 1,
                data: &ECHO_REQUEST[48..]
            }
        );
        assert_eq!(p.quoted().err(), Some(Error::Malformed));
        assert!(p.nd_options().is_empty());
        // NAT of the identifier and of the addresses, incrementally.
        let mut b = ECHO_REQUEST;
        let mut p = Packet::new_unchecked(&mut b[40..]);
        p.rewrite_echo_ident(0xbeef);
        p.update_checksum_addr(A, V6_SRC);
        p.update_checksum_addr(B, V6_DST);
        assert!(p.verify_checksum(V6_SRC, V6_DST));
        assert_eq!(p.echo_ident(), 0xbeef);
    }

    #[test]
    fn port_unreachable_quotes_udp() {
        let (p, src, dst) = icmp(&PORT_UNREACH);
        assert_eq!((src, dst), (V6_DST, V6_SRC));
        assert_eq!(
            (p.msg_type(), p.msg_code()),
            (Message::DST_UNREACHABLE, unreachable::PORT)
        );
        assert_eq!(p.data(), &UDP_V6[..]);
        let q = p.quoted().unwrap();
        assert_eq!((q.src_addr(), q.dst_addr()), (V6_SRC, V6_DST));
        assert_eq!(q.next_header(), Protocol::Udp);
        assert_eq!((q.hop_limit(), q.traffic_class()), (64, 0));
        assert_eq!((q.flow_label(), q.payload_len()), (0x76fbb, 15));
        assert_eq!(q.header(), &UDP_V6[..40]);
        assert_eq!(q.payload(), &UDP_V6[40..]);
        assert_eq!(q.upper_layer(), Some((Protocol::Udp, &UDP_V6[40..])));
        assert_eq!((q.src_port(), q.dst_port()), (Some(40000), Some(9999)));
        assert_eq!(q.icmp_ident(), None);
        assert_eq!(
            roundtrip(&PORT_UNREACH),
            Repr::DstUnreachable {
                code: unreachable::PORT,
                data: &UDP_V6
            }
        );
    }

    #[test]
    fn admin_prohibited_quotes_tcp() {
        let r = roundtrip(&ADMIN_PROHIBITED);
        assert!(matches!(
            r,
            Repr::DstUnreachable {
                code: unreachable::ADMIN_PROHIBITED,
                ..
            }
        ));
        let (p, ..) = icmp(&ADMIN_PROHIBITED);
        let q = p.quoted().unwrap();
        assert_eq!(q.next_header(), Protocol::Tcp);
        assert_eq!((q.src_port(), q.dst_port()), (Some(44666), Some(81)));
    }

    #[test]
    fn time_exceeded_quotes_echo() {
        let r = roundtrip(&TIME_EXCEEDED);
        assert_eq!(
            r,
            Repr::TimeExceeded {
                code: time_exceeded::HOP_LIMIT,
                data: &TIME_EXCEEDED[48..]
            }
        );
        let (p, src, _) = icmp(&TIME_EXCEEDED);
        assert_eq!(src, ROUTER);
        let q = p.quoted().unwrap();
        assert_eq!(q.hop_limit(), 1);
        assert_eq!(q.icmp_ident(), Some(0x3738));
        assert_eq!((q.src_port(), q.dst_port()), (None, None));
    }

    #[test]
    fn packet_too_big() {
        let (p, ..) = icmp(&PACKET_TOO_BIG);
        assert_eq!(PACKET_TOO_BIG.len(), 1280);
        assert_eq!(p.mtu(), 1280);
        let q = p.quoted().unwrap();
        assert_eq!(q.payload_len(), 1408);
        assert_eq!(q.payload().len(), 1280 - 48 - 40);
        assert_eq!(q.icmp_ident(), Some(0x373a));
        assert_eq!(
            roundtrip(&PACKET_TOO_BIG),
            Repr::PacketTooBig {
                mtu: 1280,
                data: &PACKET_TOO_BIG[48..]
            }
        );
    }

    #[test]
    fn parameter_problems() {
        let r = roundtrip(&PARAM_PROBLEM_OPTION);
        assert_eq!(
            r,
            Repr::ParamProblem {
                code: param_problem::UNRECOGNIZED_OPTION,
                pointer: 42,
                data: &PARAM_PROBLEM_OPTION[48..]
            }
        );
        let (p, ..) = icmp(&PARAM_PROBLEM_OPTION);
        let q = p.quoted().unwrap();
        // The pointer points at the option type inside the quoted destination options.
        assert_eq!(q.header().len() + 2, 42);
        let ext = q.ext_headers().unwrap();
        assert_eq!(ext.dst_opts, Some(40));
        assert_eq!((q.src_port(), q.dst_port()), (Some(40000), Some(9996)));

        let r = roundtrip(&PARAM_PROBLEM_NEXT_HEADER);
        assert_eq!(
            r,
            Repr::ParamProblem {
                code: param_problem::UNRECOGNIZED_NEXT_HEADER,
                pointer: 6,
                data: &PARAM_PROBLEM_NEXT_HEADER[48..]
            }
        );
        let (p, ..) = icmp(&PARAM_PROBLEM_NEXT_HEADER);
        let q = p.quoted().unwrap();
        assert_eq!(
            q.upper_layer(),
            Some((Protocol::Unknown(253), &[0u8; 8][..]))
        );
        assert_eq!(q.src_port(), None);
    }

    #[test]
    fn truncated_quotes() {
        let icmp = &PORT_UNREACH[40..];
        // Fixed header + 4 bytes: both ports.
        let p = Packet::new_checked(&icmp[..52]).unwrap();
        let q = p.quoted().unwrap();
        assert_eq!((q.src_port(), q.dst_port()), (Some(40000), Some(9999)));
        // Only the source port.
        let p = Packet::new_checked(&icmp[..51]).unwrap();
        let q = p.quoted().unwrap();
        assert_eq!((q.src_port(), q.dst_port()), (Some(40000), None));
        // Header only.
        let p = Packet::new_checked(&icmp[..48]).unwrap();
        let q = p.quoted().unwrap();
        assert!(q.payload().is_empty());
        assert_eq!(q.upper_layer(), Some((Protocol::Udp, &[][..])));
        assert_eq!(q.src_port(), None);
        for len in 8..48 {
            assert_eq!(
                Packet::new_checked(&icmp[..len]).unwrap().quoted().err(),
                Some(Error::Truncated),
                "{len}"
            );
        }
        for len in 0..8 {
            assert_eq!(
                Packet::new_checked(&icmp[..len]).err(),
                Some(Error::Truncated)
            );
        }
        // Quote cut inside an extension header: no upper layer.
        let p = Packet::new_checked(&PARAM_PROBLEM_OPTION[40..92]).unwrap();
        let q = p.quoted().unwrap();
        assert_eq!(q.ext_headers(), Err(Error::Truncated));
        assert_eq!((q.upper_layer(), q.src_port()), (None, None));
        // Quoted version 4.
        let mut b = icmp.to_vec();
        b[8] = 0x45;
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap().quoted().err(),
            Some(Error::Malformed)
        );
        // A bogus quoted payload length longer than the quote: payload stops at the quote.
        let mut b = icmp.to_vec();
        b[8 + 4] = 0xff;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.quoted().unwrap().payload(), &UDP_V6[40..]);
    }

    #[test]
    fn non_first_fragment_hides_ports() {
        let mut err = vec![1, 4, 0, 0, 0, 0, 0, 0];
        err.extend_from_slice(&FRAG_SECOND);
        let p = Packet::new_checked(&err[..]).unwrap();
        let q = p.quoted().unwrap();
        assert_eq!(q.ext_headers().unwrap().upper_offset, None);
        assert_eq!(q.upper_layer(), None);
        assert_eq!(q.icmp_ident(), None);
    }

    #[test]
    fn rewrite_quote() {
        let mut b = PORT_UNREACH[40..].to_vec();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        {
            let mut q = p.quoted_mut().unwrap();
            q.set_src_addr(A);
            q.set_dst_addr(B);
            assert!(q.set_src_port(5353));
            assert!(q.set_dst_port(5354));
            assert!(!q.set_icmp_ident(1));
        }
        p.fill_checksum(V6_DST, V6_SRC);
        assert!(p.verify_checksum(V6_DST, V6_SRC));
        let q = p.quoted().unwrap();
        assert_eq!((q.src_addr(), q.dst_addr()), (A, B));
        assert_eq!((q.src_port(), q.dst_port()), (Some(5353), Some(5354)));
        let mut b = TIME_EXCEEDED[40..].to_vec();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let mut q = p.quoted_mut().unwrap();
        assert!(q.set_icmp_ident(7));
        assert!(!q.set_src_port(1));
        assert_eq!(p.quoted().unwrap().icmp_ident(), Some(7));
        let mut e = ECHO_REQUEST;
        assert_eq!(
            Packet::new_checked(&mut e[40..])
                .unwrap()
                .quoted_mut()
                .err(),
            Some(Error::Malformed)
        );
    }

    #[test]
    fn neighbour_solicitation() {
        let (p, src, dst) = icmp(&NEIGHBOR_SOLICIT);
        assert_eq!(src, A);
        assert_eq!(dst, "ff02::1:ff00:1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.msg_type(), Message::NEIGHBOR_SOLICIT);
        assert_eq!(p.target_addr(), ROUTER);
        let opts: Vec<_> = p.nd_options_iter().collect();
        let mac = EthernetAddress([2, 0, 0, 0, 0, 0x0a]);
        assert_eq!(opts, [Ok(NdOption::SourceLinkLayerAddr(mac))]);
        assert_eq!(
            roundtrip(&NEIGHBOR_SOLICIT),
            Repr::NeighborSolicit {
                target: ROUTER,
                options: &NEIGHBOR_SOLICIT[64..]
            }
        );
    }

    #[test]
    fn neighbour_advertisements() {
        let (p, src, dst) = icmp(&NEIGHBOR_ADVERT);
        assert_eq!((src, dst), (ROUTER, A));
        assert_eq!(
            p.na_flags(),
            na_flags::ROUTER | na_flags::SOLICITED | na_flags::OVERRIDE
        );
        assert_eq!(p.target_addr(), ROUTER);
        let opts: Vec<_> = p.nd_options_iter().collect();
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        assert_eq!(opts, [Ok(NdOption::TargetLinkLayerAddr(mac))]);
        assert_eq!(
            roundtrip(&NEIGHBOR_ADVERT),
            Repr::NeighborAdvert {
                flags: 0xe0,
                target: ROUTER,
                options: &NEIGHBOR_ADVERT[64..]
            }
        );
        assert_eq!(
            roundtrip(&NEIGHBOR_ADVERT_BARE),
            Repr::NeighborAdvert {
                flags: na_flags::SOLICITED,
                target: A,
                options: &[]
            }
        );
    }

    #[test]
    fn router_solicitation_and_advertisement() {
        let (p, src, _) = icmp(&ROUTER_SOLICIT);
        assert_eq!(src, LL_A);
        let mac = EthernetAddress([2, 0, 0, 0, 0, 0x0a]);
        assert_eq!(
            p.nd_options_iter().collect::<Vec<_>>(),
            [Ok(NdOption::SourceLinkLayerAddr(mac))]
        );
        assert_eq!(
            roundtrip(&ROUTER_SOLICIT),
            Repr::RouterSolicit {
                options: &ROUTER_SOLICIT[48..]
            }
        );

        let (p, src, _) = icmp(&ROUTER_ADVERT);
        assert_eq!(src, LL_R);
        assert_eq!(p.ra_hop_limit(), 64);
        assert!(p.ra_managed() && p.ra_other());
        assert_eq!(p.ra_router_lifetime(), 1800);
        assert_eq!((p.ra_reachable_time(), p.ra_retrans_time()), (30000, 1000));
        let opts: Vec<_> = p.nd_options_iter().map(|o| o.unwrap()).collect();
        let prefix = PrefixInfo {
            prefix_len: 64,
            flags: prefix_flags::ON_LINK | prefix_flags::AUTONOMOUS,
            valid_lifetime: 86400,
            preferred_lifetime: 14400,
            prefix: Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 0),
        };
        assert!(prefix.on_link() && prefix.autonomous());
        assert_eq!(
            opts,
            [
                NdOption::SourceLinkLayerAddr(EthernetAddress([2, 0, 0, 0, 0, 1])),
                NdOption::Mtu(1500),
                NdOption::PrefixInformation(prefix),
            ]
        );
        // Options emit back to the captured bytes.
        let mut out = [0u8; 48];
        let mut at = 0;
        for o in &opts {
            at += o.emit(&mut out[at..]).unwrap();
        }
        assert_eq!(&out[..at], &ROUTER_ADVERT[56..]);
        assert_eq!(
            roundtrip(&ROUTER_ADVERT),
            Repr::RouterAdvert {
                hop_limit: 64,
                flags: ra_flags::MANAGED | ra_flags::OTHER,
                router_lifetime: 1800,
                reachable_time: 30000,
                retrans_time: 1000,
                options: &ROUTER_ADVERT[56..]
            }
        );
    }

    #[test]
    fn malformed_nd() {
        let base = &NEIGHBOR_SOLICIT[40..];
        // Zero-length option.
        let mut b = base.to_vec();
        b[25] = 0;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p), Err(Error::Malformed));
        assert_eq!(
            p.nd_options_iter().collect::<Vec<_>>(),
            [Err(Error::Malformed)]
        );
        // Option longer than the message.
        let mut b = base.to_vec();
        b[25] = 2;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()),
            Err(Error::Truncated)
        );
        // One byte of option.
        assert_eq!(
            Repr::parse(&Packet::new_checked(&base[..25]).unwrap()),
            Err(Error::Truncated)
        );
        // Truncated fixed part, at every length.
        for len in 8..24 {
            assert_eq!(
                Packet::new_checked(&base[..len]).err(),
                Some(Error::Truncated)
            );
        }
        for len in 8..16 {
            assert_eq!(
                Packet::new_checked(&ROUTER_ADVERT[40..40 + len]).err(),
                Some(Error::Truncated)
            );
        }
        // Multicast target.
        let mut b = base.to_vec();
        b[8] = 0xff;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()),
            Err(Error::Malformed)
        );
        // A non-zero code makes it Other.
        let mut b = base.to_vec();
        b[1] = 1;
        assert!(matches!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()),
            Ok(Repr::Other { .. })
        ));
        // Wrong lengths of the MTU and prefix options.
        assert_eq!(
            NdOption::parse(&[5, 2, 0, 0, 0, 0, 5, 0xdc, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::Malformed)
        );
        assert_eq!(
            NdOption::parse(&[3, 1, 0, 0, 0, 0, 0, 0]),
            Err(Error::Malformed)
        );
        assert_eq!(NdOption::parse(&[3]), Err(Error::Truncated));
        // A link-layer address of another length is kept as Other.
        let long = [1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            NdOption::parse(&long),
            Ok((
                16,
                NdOption::Other {
                    option_type: 1,
                    data: &long[2..]
                }
            ))
        );
        let mut out = [0u8; 16];
        let o = NdOption::parse(&long).unwrap().1;
        assert_eq!(o.emit(&mut out), Ok(16));
        assert_eq!(out, long);
        assert_eq!(o.emit(&mut out[..15]), Err(Error::Truncated));
        let odd = NdOption::Other {
            option_type: 9,
            data: &[1, 2, 3],
        };
        assert_eq!(odd.emit(&mut out), Err(Error::Malformed));
    }

    #[test]
    fn other_reprs_roundtrip() {
        let quote = &PORT_UNREACH[48..];
        let reprs = [
            Repr::Other {
                msg_type: Message::MLD_V2_REPORT,
                code: 0,
                rest: 2,
                data: &[0; 20],
            },
            Repr::Other {
                msg_type: Message::ECHO_REQUEST,
                code: 1,
                rest: 5,
                data: &[],
            },
            Repr::Other {
                msg_type: Message::DST_UNREACHABLE,
                code: 4,
                rest: 1,
                data: quote,
            },
            Repr::Other {
                msg_type: Message::PACKET_TOO_BIG,
                code: 1,
                rest: 1280,
                data: quote,
            },
            Repr::Other {
                msg_type: Message::TIME_EXCEEDED,
                code: 0,
                rest: 1,
                data: &[],
            },
            Repr::Other {
                msg_type: Message::NEIGHBOR_SOLICIT,
                code: 3,
                rest: 0,
                data: &[0; 16],
            },
            Repr::Other {
                msg_type: Message::REDIRECT,
                code: 0,
                rest: 0,
                data: &[0; 32],
            },
            Repr::NeighborAdvert {
                flags: na_flags::OVERRIDE,
                target: B,
                options: &[],
            },
        ];
        for r in reprs {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(A, B, &mut Packet::new_unchecked(&mut out[..]));
            let p = Packet::new_checked(&out[..]).unwrap();
            assert!(p.verify_checksum(A, B));
            assert_eq!(Repr::parse(&p).unwrap(), r);
        }
        // Reserved bits of ND messages are ignored.
        let mut b = NEIGHBOR_ADVERT_BARE[40..].to_vec();
        b[4] |= 0x1f;
        b[7] = 0xff;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(matches!(
            Repr::parse(&p),
            Ok(Repr::NeighborAdvert {
                flags: na_flags::SOLICITED,
                ..
            })
        ));
        // A redirect's addresses.
        let mut b = [0u8; 40];
        b[0] = 137;
        b[8..24].copy_from_slice(&ROUTER.octets());
        b[24..40].copy_from_slice(&B.octets());
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.target_addr(), p.redirect_dst_addr()), (ROUTER, B));
        assert_eq!(Packet::new_checked(&b[..39]).err(), Some(Error::Truncated));
        // ND accessors on a short message of another type do not panic.
        let p = Packet::new_checked(&ECHO_REQUEST[40..48]).unwrap();
        assert_eq!(p.target_addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(p.redirect_dst_addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!((p.ra_reachable_time(), p.ra_retrans_time()), (0, 0));
    }

    #[test]
    fn message_kinds() {
        for t in [1u8, 2, 3, 4, 0, 127] {
            assert!(Message(t).is_error() && !Message(t).is_query(), "{t}");
        }
        for t in [128u8, 129] {
            assert!(!Message(t).is_error() && Message(t).is_query(), "{t}");
        }
        for t in 133u8..=137 {
            assert!(Message(t).is_ndisc() && !Message(t).is_error());
        }
        assert!(!Message(143).is_ndisc());
        assert_eq!(Message::PACKET_TOO_BIG.to_string(), "packet-too-big");
        assert_eq!(
            Message::NEIGHBOR_SOLICIT.to_string(),
            "neighbour-solicitation"
        );
        assert_eq!(Message(200).to_string(), "200");
        assert_eq!(u8::from(Message::from(135)), 135);
    }
}
