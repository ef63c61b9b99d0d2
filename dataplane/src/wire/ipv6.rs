//! IPv6 headers (RFC 8200): the fixed header, the walk over the extension header chain, and the
//! TLV options of hop-by-hop and destination options headers.

use std::net::Ipv6Addr;

use super::ipv4::Protocol;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// Next-header values of the extension headers (and of ICMPv6), as the kernel's `NEXTHDR_*`.
pub mod next_header {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AUTH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const NONE: u8 = 59;
    pub const DST_OPTS: u8 = 60;
}

mod field {
    use core::ops::Range;

    /// Version (4 bits), traffic class (8 bits), flow label (20 bits).
    pub const VER_TC_FLOW: usize = 0;
    pub const LENGTH: usize = 4;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;

    // Extension headers, relative to their start.
    pub const EXT_NXT_HDR: usize = 0;
    pub const EXT_LEN: usize = 1;
    pub const EXT_OPTIONS: usize = 2;
    pub const RT_TYPE: usize = 2;
    pub const RT_SEGS_LEFT: usize = 3;
    pub const FRAG_OFF_M: usize = 2;
    pub const FRAG_IDENT: usize = 4;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;
/// Length of a fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// Most extension headers [`ExtHeaders::parse`] walks before refusing the packet as
/// `Malformed`. RFC 8200 section 4.1 allows each header once (destination options twice), so a
/// legitimate chain has at most 7 (hop-by-hop, destination options, routing, fragment, AH,
/// destination options, and ESP or no-next-header as the last); 16 leaves room for that and
/// ends a hostile chain of thousands of empty 8-byte headers after 16 steps.
pub const MAX_EXT_HEADERS: usize = 16;

const FLOW_LABEL_MASK: u32 = 0x000f_ffff;

/// A view of an IPv6 packet.
///
/// `check_len` guarantees version 6, the 40-byte header in the buffer and `40 + payload_len()
/// <= buffer.len()`, so the payload (`40..40 + payload_len`) can be sliced directly. Bytes past
/// it (Ethernet padding) are not part of the payload, as with IPv4's total length.
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

    /// Validates the header within the buffer, version 6 (IPv6 has no header checksum, so
    /// the view is where a damaged header is caught) and the payload length within the buffer.
    ///
    /// A payload length of 0 with a hop-by-hop header next is `Malformed`: that is a jumbogram
    /// (RFC 2675, the real length in a hop-by-hop option), or a hop-by-hop header that does not
    /// fit. Jumbograms need links with an MTU above 65575 bytes; nfdp's ports (Ethernet, at
    /// most 9000-byte jumbo frames) never carry them, and the kernel's forwarding path drops
    /// them too.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::Malformed);
        }
        if self.payload_len() == 0 && self.next_header_raw() == next_header::HOP_BY_HOP {
            return Err(Error::Malformed);
        }
        if len < HEADER_LEN + self.payload_len() as usize {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn ver_tc_flow(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::VER_TC_FLOW)
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW] >> 4
    }

    /// The traffic class byte (DSCP << 2 | ECN), as `--tos`/`-m dscp` see it.
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & FLOW_LABEL_MASK
    }

    /// Length of everything after the fixed header (extension headers included).
    #[inline]
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    fn next_header_raw(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }

    /// The next header of the fixed header: an extension header or the upper layer (see
    /// [`Packet::ext_headers`] for the protocol at the end of the chain).
    pub fn next_header(&self) -> Protocol {
        Protocol::from(self.next_header_raw())
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// The fixed header.
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..HEADER_LEN]
    }

    /// The payload up to the payload length (padding after it excluded), extension headers
    /// included.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + self.payload_len() as usize]
    }

    /// Walk the extension headers of the payload.
    pub fn ext_headers(&self) -> Result<ExtHeaders> {
        ExtHeaders::parse(self.next_header_raw(), self.payload())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_ver_tc_flow(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::VER_TC_FLOW, v);
    }

    pub fn set_version(&mut self, v: u8) {
        let w = (self.ver_tc_flow() & 0x0fff_ffff) | (u32::from(v & 0x0f) << 28);
        self.set_ver_tc_flow(w);
    }

    pub fn set_traffic_class(&mut self, tc: u8) {
        let w = (self.ver_tc_flow() & 0xf00f_ffff) | (u32::from(tc) << 20);
        self.set_ver_tc_flow(w);
    }

    pub fn set_dscp(&mut self, dscp: u8) {
        let tc = (self.traffic_class() & 0x03) | (dscp << 2);
        self.set_traffic_class(tc);
    }

    pub fn set_ecn(&mut self, ecn: u8) {
        let tc = (self.traffic_class() & !0x03) | (ecn & 0x03);
        self.set_traffic_class(tc);
    }

    /// Sets the flow label (the low 20 bits of `label`).
    pub fn set_flow_label(&mut self, label: u32) {
        let w = (self.ver_tc_flow() & !FLOW_LABEL_MASK) | (label & FLOW_LABEL_MASK);
        self.set_ver_tc_flow(w);
    }

    pub fn set_payload_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH, len);
    }

    pub fn set_next_header(&mut self, p: Protocol) {
        self.buffer.as_mut()[field::NXT_HDR] = p.into();
    }

    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hop_limit;
    }

    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// Decrement the hop limit when forwarding; returns the new value. A hop limit already at
    /// 0 is left alone (the caller sends time-exceeded before getting here). There is no
    /// header checksum to patch.
    pub fn decrement_hop_limit(&mut self) -> u8 {
        let h = self.hop_limit().saturating_sub(1);
        self.set_hop_limit(h);
        h
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + self.payload_len() as usize;
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// An IPv6 address from 16 bytes the caller has bounds-checked.
pub(crate) fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

/// A parsed fixed IPv6 header. Extension headers are not represented: a router forwards them
/// untouched in the original buffer, and headers it builds itself carry none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub next_header: Protocol,
    /// Length of the payload (extension headers included).
    pub payload_len: usize,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
}

impl Repr {
    /// Requires the checks of [`Packet::check_len`] (version 6 included).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.payload_len() as usize,
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Always 40: emitted headers carry no extension headers.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the 40-byte fixed header.
    ///
    /// # Panics
    /// If the buffer is shorter than 40 bytes or `payload_len` does not fit 16 bits (no
    /// jumbograms).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let len = u16::try_from(self.payload_len).expect("IPv6 payload_len exceeds 65535");
        packet.set_ver_tc_flow(0x6000_0000);
        packet.set_traffic_class(self.traffic_class);
        packet.set_flow_label(self.flow_label);
        packet.set_payload_len(len);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

/// A set of extension header kinds, with the bit values of ip6tables' `-m ipv6header`
/// (`MASK_HOPOPTS` .. `MASK_PROTO` of `ip6t_ipv6header.h`), so the match can test the bits
/// directly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct HeaderSet(pub u8);

impl HeaderSet {
    pub const HOP_BY_HOP: HeaderSet = HeaderSet(0x80);
    pub const DST_OPTS: HeaderSet = HeaderSet(0x40);
    pub const ROUTING: HeaderSet = HeaderSet(0x20);
    pub const FRAGMENT: HeaderSet = HeaderSet(0x10);
    pub const AUTH: HeaderSet = HeaderSet(0x08);
    pub const ESP: HeaderSet = HeaderSet(0x04);
    pub const NONE: HeaderSet = HeaderSet(0x02);
    /// The chain ended in an upper-layer protocol (not ESP, not no-next-header).
    pub const PROTO: HeaderSet = HeaderSet(0x01);

    pub const fn empty() -> HeaderSet {
        HeaderSet(0)
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn contains(self, other: HeaderSet) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: HeaderSet) {
        self.0 |= other.0;
    }
}

/// The fragment header of a packet (RFC 8200 section 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentInfo {
    /// Offset of the fragment header from the start of the IPv6 header.
    pub header_offset: usize,
    /// Fragment offset in 8-byte units, as carried on the wire.
    pub frag_offset: u16,
    pub more_frags: bool,
    pub ident: u32,
    /// The two reserved bits beside the M flag and the reserved byte (`-m frag --fragres`).
    pub reserved: u8,
}

impl FragmentInfo {
    pub fn is_first_fragment(&self) -> bool {
        self.frag_offset == 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset_bytes(&self) -> u16 {
        self.frag_offset << 3
    }
}

/// The first routing header of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoutingInfo {
    /// Offset of the routing header from the start of the IPv6 header.
    pub header_offset: usize,
    pub routing_type: u8,
    pub segments_left: u8,
    /// Header length in bytes.
    pub header_len: usize,
}

/// What [`ExtHeaders::parse`] found in the extension header chain, as the kernel's
/// `ipv6_find_hdr(skb, &off, -1, &frag_off, &flags)` reports it for ip6tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtHeaders {
    /// The last next-header value of the chain: the upper-layer protocol, ESP (50) or
    /// no-next-header (59); for a non-first fragment, the next header of its fragment header.
    /// This is what `-p` matches.
    pub protocol: Protocol,
    /// Offset of the upper-layer header (or ESP header, or where a no-next-header chain
    /// ends) from the start of the IPv6 header; `None` for a non-first fragment, which carries
    /// no upper-layer header.
    pub upper_offset: Option<usize>,
    /// The kinds of extension headers passed (and how the chain ended).
    pub seen: HeaderSet,
    /// Offset of the hop-by-hop header, if any (always 40).
    pub hop_by_hop: Option<usize>,
    /// Offset of the first destination options header, if any.
    pub dst_opts: Option<usize>,
    /// Offset of the (first) authentication header, if any.
    pub auth: Option<usize>,
    pub routing: Option<RoutingInfo>,
    pub fragment: Option<FragmentInfo>,
    /// Number of extension headers passed (ESP and no-next-header not counted).
    pub count: usize,
}

impl ExtHeaders {
    /// Walk the chain starting with `first` (the fixed header's next header) over `payload`
    /// (the IPv6 payload); offsets in the result count from the start of the IPv6 header.
    ///
    /// Hop-by-hop, routing, fragment, destination options and AH are passed; ESP and
    /// no-next-header end the walk as the kernel's `ipv6_skip_exthdr` does (ESP's contents are
    /// encrypted, nothing follows 59); any other value is the upper-layer protocol. A fragment
    /// header with a non-zero offset ends the walk too: what follows it is the middle of the
    /// original payload. `Truncated` if a header does not fit the payload; `Malformed` for a
    /// hop-by-hop header other than first (RFC 8200 section 4.1), a jumbo payload option (see
    /// [`Packet::check_len`]) or a chain longer than [`MAX_EXT_HEADERS`].
    pub fn parse(first: u8, payload: &[u8]) -> Result<ExtHeaders> {
        let mut ext = ExtHeaders {
            protocol: Protocol::from(first),
            upper_offset: None,
            seen: HeaderSet::empty(),
            hop_by_hop: None,
            dst_opts: None,
            auth: None,
            routing: None,
            fragment: None,
            count: 0,
        };
        let mut nh = first;
        let mut at = 0usize;
        loop {
            let kind = match nh {
                next_header::HOP_BY_HOP => HeaderSet::HOP_BY_HOP,
                next_header::ROUTING => HeaderSet::ROUTING,
                next_header::FRAGMENT => HeaderSet::FRAGMENT,
                next_header::DST_OPTS => HeaderSet::DST_OPTS,
                next_header::AUTH => HeaderSet::AUTH,
                next_header::ESP => {
                    ext.seen.insert(HeaderSet::ESP);
                    break;
                }
                next_header::NONE => {
                    ext.seen.insert(HeaderSet::NONE);
                    break;
                }
                _ => {
                    ext.seen.insert(HeaderSet::PROTO);
                    break;
                }
            };
            if ext.count == MAX_EXT_HEADERS {
                return Err(Error::Malformed);
            }
            if nh == next_header::HOP_BY_HOP && ext.count != 0 {
                return Err(Error::Malformed);
            }
            let rest = payload.get(at..).ok_or(Error::Truncated)?;
            if rest.len() < 2 {
                return Err(Error::Truncated);
            }
            let len = match nh {
                next_header::FRAGMENT => FRAGMENT_HEADER_LEN,
                next_header::AUTH => (usize::from(rest[field::EXT_LEN]) + 2) * 4,
                _ => (usize::from(rest[field::EXT_LEN]) + 1) * 8,
            };
            let hdr = rest.get(..len).ok_or(Error::Truncated)?;
            let offset = HEADER_LEN + at;
            ext.seen.insert(kind);
            ext.count += 1;
            match nh {
                next_header::HOP_BY_HOP => {
                    ext.hop_by_hop = Some(offset);
                    for opt in OptionsIter::new(&hdr[field::EXT_OPTIONS..]) {
                        if opt?.option_type() == option_type::JUMBO_PAYLOAD {
                            return Err(Error::Malformed);
                        }
                    }
                }
                next_header::DST_OPTS => {
                    ext.dst_opts.get_or_insert(offset);
                }
                next_header::AUTH => {
                    ext.auth.get_or_insert(offset);
                }
                next_header::ROUTING => {
                    ext.routing.get_or_insert(RoutingInfo {
                        header_offset: offset,
                        routing_type: hdr[field::RT_TYPE],
                        segments_left: hdr[field::RT_SEGS_LEFT],
                        header_len: len,
                    });
                }
                _ => {
                    // A second fragment header is refused as the kernel's reassembly does.
                    if ext.fragment.is_some() {
                        return Err(Error::Malformed);
                    }
                    let off_m = read_u16(hdr, field::FRAG_OFF_M);
                    let frag = FragmentInfo {
                        header_offset: offset,
                        frag_offset: off_m >> 3,
                        more_frags: off_m & 1 != 0,
                        ident: read_u32(hdr, field::FRAG_IDENT),
                        reserved: hdr[1],
                    };
                    ext.fragment = Some(frag);
                    if !frag.is_first_fragment() {
                        ext.protocol = Protocol::from(hdr[field::EXT_NXT_HDR]);
                        return Ok(ext);
                    }
                }
            }
            nh = hdr[field::EXT_NXT_HDR];
            at += len;
        }
        ext.protocol = Protocol::from(nh);
        ext.upper_offset = Some(HEADER_LEN + at);
        Ok(ext)
    }

    pub fn is_fragment(&self) -> bool {
        self.fragment.is_some()
    }

    /// False for non-first fragments, whose upper-layer header (ports) must not be read.
    pub fn is_first_fragment(&self) -> bool {
        !matches!(self.fragment, Some(f) if !f.is_first_fragment())
    }
}

/// Option types of hop-by-hop and destination options headers.
pub mod option_type {
    pub const PAD1: u8 = 0;
    pub const PADN: u8 = 1;
    /// Router alert (RFC 2711), in MLD's hop-by-hop header.
    pub const ROUTER_ALERT: u8 = 0x05;
    /// Jumbo payload (RFC 2675), refused.
    pub const JUMBO_PAYLOAD: u8 = 0xc2;
    pub const TUNNEL_ENCAP_LIMIT: u8 = 0x04;
    pub const HOME_ADDRESS: u8 = 0xc9;
}

/// One TLV option of a hop-by-hop or destination options header (RFC 8200 section 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6Option<'a> {
    Pad1,
    /// PadN with its data length (the padding is `2 + len` bytes).
    PadN(u8),
    Other {
        option_type: u8,
        data: &'a [u8],
    },
}

impl<'a> Ipv6Option<'a> {
    /// Parse the option at the start of `data`; returns its length on the wire and the option.
    pub fn parse(data: &'a [u8]) -> Result<(usize, Ipv6Option<'a>)> {
        match *data {
            [] => Err(Error::Truncated),
            [option_type::PAD1, ..] => Ok((1, Ipv6Option::Pad1)),
            [_] => Err(Error::Truncated),
            [t, len, ref rest @ ..] => {
                let body = rest.get(..usize::from(len)).ok_or(Error::Truncated)?;
                let opt = if t == option_type::PADN {
                    Ipv6Option::PadN(len)
                } else {
                    Ipv6Option::Other {
                        option_type: t,
                        data: body,
                    }
                };
                Ok((2 + usize::from(len), opt))
            }
        }
    }

    pub fn option_type(&self) -> u8 {
        match *self {
            Ipv6Option::Pad1 => option_type::PAD1,
            Ipv6Option::PadN(_) => option_type::PADN,
            Ipv6Option::Other { option_type, .. } => option_type,
        }
    }

    /// The option's data length (0 for Pad1, which has no length byte).
    pub fn data_len(&self) -> u8 {
        match *self {
            Ipv6Option::Pad1 => 0,
            Ipv6Option::PadN(len) => len,
            Ipv6Option::Other { data, .. } => data.len() as u8,
        }
    }

    /// What a node that does not know the option must do: the two high bits of the type
    /// (0 skip, 1 discard, 2 discard and send parameter problem, 3 as 2 unless multicast).
    pub fn unknown_action(&self) -> u8 {
        self.option_type() >> 6
    }

    /// The option's data may change en route (third-highest bit of the type).
    pub fn may_change(&self) -> bool {
        self.option_type() & 0x20 != 0
    }
}

/// Iterator over the options of a hop-by-hop or destination options header (the bytes after
/// its next-header and length fields). Yields `Err` once and stops on a truncated option. Each
/// step consumes at least one byte, so it always terminates.
#[derive(Debug, Clone)]
pub struct OptionsIter<'a> {
    data: &'a [u8],
}

impl<'a> OptionsIter<'a> {
    pub fn new(data: &'a [u8]) -> OptionsIter<'a> {
        OptionsIter { data }
    }
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = Result<Ipv6Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        match Ipv6Option::parse(self.data) {
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

/// A view of a hop-by-hop or destination options header (the buffer starts at the header;
/// what follows it is ignored). `check_len` guarantees the whole header in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> OptionsHeader<T> {
    pub const fn new_unchecked(buffer: T) -> OptionsHeader<T> {
        OptionsHeader { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<OptionsHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < 2 || len < self.header_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn next_header(&self) -> Protocol {
        Protocol::from(self.buffer.as_ref()[field::EXT_NXT_HDR])
    }

    /// Header length in bytes ((length field + 1) * 8).
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[field::EXT_LEN]) + 1) * 8
    }

    /// The option bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::EXT_OPTIONS..self.header_len()]
    }

    pub fn options_iter(&self) -> OptionsIter<'_> {
        OptionsIter::new(self.options())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Captured with tcpdump on a veth pair between two Linux network namespaces
    // (fd00:1::2 -> router -> fd00:2::2), Ethernet header removed.

    /// `ping -6 -c 1 -p 4e46 -s 16 fd00:2::2`: echo request id 0x3736 seq 1, flow label
    /// 0x34af0, hop limit 64.
    pub(crate) const ECHO_REQUEST: [u8; 64] = [
        0x60, 0x03, 0x4a, 0xf0, 0x00, 0x18, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00, 0x98, 0x09, 0x37,
        0x36, 0x00, 0x01, 0xd9, 0xb2, 0x15, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xbf, 0x45, 0x08, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];

    /// The kernel's MLDv2 report when the interface came up: a hop-by-hop header with router
    /// alert (type 5, value 0) and PadN, then ICMPv6 type 143.
    pub(crate) const MLD_REPORT_HBH: [u8; 96] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x0a, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x3a, 0x00, 0x05, 0x02, 0x00,
        0x00, 0x01, 0x00, 0x8f, 0x00, 0x6f, 0xd9, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x00, 0x00,
        0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00,
        0x02, 0x04, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0xff, 0x00, 0x00, 0x0a,
    ];

    /// UDP 40000 -> 9998 "dstopt", sent by Python with `IPV6_DSTOPTS` ancillary data: a
    /// destination options header with option 0x1e (skip if unknown) `ab cd` and PadN.
    pub(crate) const UDP_DSTOPTS: [u8; 62] = [
        0x60, 0x00, 0xbf, 0xad, 0x00, 0x16, 0x3c, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x00, 0x1e, 0x02, 0xab,
        0xcd, 0x01, 0x00, 0x9c, 0x40, 0x27, 0x0e, 0x00, 0x0e, 0xf9, 0x23, 0x64, 0x73, 0x74, 0x6f,
        0x70, 0x74,
    ];

    /// UDP 40000 -> 9997 "hbh" with `IPV6_HOPOPTS`: router alert and PadN. 59 bytes, not
    /// padded (veth does not pad).
    pub(crate) const UDP_HBH: [u8; 59] = [
        0x60, 0x03, 0x6e, 0x83, 0x00, 0x13, 0x00, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x00, 0x05, 0x02, 0x00,
        0x00, 0x01, 0x00, 0x9c, 0x40, 0x27, 0x0d, 0x00, 0x0b, 0x72, 0x1f, 0x68, 0x62, 0x68,
    ];

    /// `ping -6 -M dont -s 1300` over a path MTU of 1280: the second fragment (offset 1232,
    /// last, id 0x6d5acb58).
    pub(crate) const FRAG_SECOND: [u8; 124] = [
        0x60, 0x03, 0x4a, 0xf0, 0x00, 0x54, 0x2c, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3a, 0x00, 0x04, 0xd0, 0x6d,
        0x5a, 0xcb, 0x58, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3,
        0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2,
        0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
        0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0x10, 0x11, 0x12, 0x13,
    ];

    /// The first 64 bytes of the first fragment of the same ping (1280 bytes on the wire):
    /// fixed header, fragment header (offset 0, M), start of the echo request.
    pub(crate) const FRAG_FIRST_HEAD: [u8; 64] = [
        0x60, 0x03, 0x4a, 0xf0, 0x04, 0xd8, 0x2c, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3a, 0x00, 0x00, 0x01, 0x6d,
        0x5a, 0xcb, 0x58, 0x80, 0x00, 0xa7, 0x6b, 0x37, 0x3b, 0x00, 0x01, 0xd9, 0xb2, 0x15, 0x6b,
        0x00, 0x00, 0x00, 0x00,
    ];

    pub(crate) const A: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
    pub(crate) const B: Ipv6Addr = Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 2);

    fn echo_repr() -> Repr {
        Repr {
            src_addr: A,
            dst_addr: B,
            next_header: Protocol::Unknown(58),
            payload_len: 24,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0x34af0,
        }
    }

    #[test]
    fn parse_echo_header() {
        let p = Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!((p.traffic_class(), p.dscp(), p.ecn()), (0, 0, 0));
        assert_eq!(p.flow_label(), 0x34af0);
        assert_eq!(p.payload_len(), 24);
        assert_eq!(p.next_header(), Protocol::Unknown(next_header::ICMPV6));
        assert_eq!(p.hop_limit(), 64);
        assert_eq!((p.src_addr(), p.dst_addr()), (A, B));
        assert_eq!(p.header(), &ECHO_REQUEST[..40]);
        assert_eq!(p.payload(), &ECHO_REQUEST[40..]);
        assert_eq!(Repr::parse(&p).unwrap(), echo_repr());
        let ext = p.ext_headers().unwrap();
        assert_eq!(ext.protocol, Protocol::Unknown(58));
        assert_eq!(ext.upper_offset, Some(40));
        assert_eq!(ext.seen, HeaderSet::PROTO);
        assert_eq!(ext.count, 0);
        assert!(!ext.is_fragment() && ext.is_first_fragment());
    }

    #[test]
    fn emit_echo_header() {
        let mut out = ECHO_REQUEST;
        out[..40].fill(0xaa);
        let r = echo_repr();
        assert_eq!(r.buffer_len(), 64);
        assert_eq!(r.header_len(), 40);
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, ECHO_REQUEST);
    }

    #[test]
    fn length_and_version_checks() {
        for len in 0..40 {
            assert_eq!(
                Packet::new_checked(&ECHO_REQUEST[..len]).err(),
                Some(Error::Truncated),
                "{len}"
            );
        }
        // Payload length past the buffer.
        for len in 40..64 {
            assert_eq!(
                Packet::new_checked(&ECHO_REQUEST[..len]).err(),
                Some(Error::Truncated),
                "{len}"
            );
        }
        // Bad versions.
        for v in [0u8, 4, 5, 7, 15] {
            let mut b = ECHO_REQUEST;
            b[0] = (v << 4) | (b[0] & 0x0f);
            assert_eq!(Packet::new_checked(&b[..]).err(), Some(Error::Malformed));
            assert_eq!(
                Repr::parse(&Packet::new_unchecked(&b[..])),
                Err(Error::Malformed)
            );
        }
        // Trailing padding is not payload.
        let mut padded = UDP_HBH.to_vec();
        padded.extend_from_slice(&[0; 5]);
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.payload(), &UDP_HBH[40..]);
        // A payload length of 0 is fine, except with a hop-by-hop header next (jumbogram).
        let mut b = ECHO_REQUEST;
        b[4] = 0;
        b[5] = 0;
        let p = Packet::new_checked(&b[..40]).unwrap();
        assert!(p.payload().is_empty());
        let mut jumbo = MLD_REPORT_HBH;
        jumbo[4] = 0;
        jumbo[5] = 0;
        assert_eq!(
            Packet::new_checked(&jumbo[..]).err(),
            Some(Error::Malformed)
        );
        // A jumbo payload option in a hop-by-hop header with a payload length.
        let mut b = MLD_REPORT_HBH;
        b[42] = option_type::JUMBO_PAYLOAD;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.ext_headers(), Err(Error::Malformed));
    }

    #[test]
    fn setters() {
        let mut b = ECHO_REQUEST;
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_dscp(46);
        p.set_ecn(1);
        assert_eq!((p.traffic_class(), p.dscp(), p.ecn()), (0xb9, 46, 1));
        assert_eq!(p.flow_label(), 0x34af0);
        p.set_flow_label(0xfff_ffff);
        assert_eq!(p.flow_label(), 0xf_ffff);
        assert_eq!((p.version(), p.traffic_class()), (6, 0xb9));
        p.set_traffic_class(0);
        p.set_flow_label(0x34af0);
        p.set_src_addr(B);
        p.set_dst_addr(A);
        assert_eq!((p.src_addr(), p.dst_addr()), (B, A));
        assert_eq!(p.decrement_hop_limit(), 63);
        p.set_hop_limit(0);
        assert_eq!(p.decrement_hop_limit(), 0);
        p.set_payload_len(8);
        p.set_next_header(Protocol::Udp);
        assert_eq!(p.payload_mut().len(), 8);
        p.set_version(4);
        assert_eq!(p.version(), 4);
        assert_eq!(&b[1..4], &ECHO_REQUEST[1..4]);
    }

    #[test]
    fn hop_by_hop_and_options() {
        let p = Packet::new_checked(&MLD_REPORT_HBH[..]).unwrap();
        assert_eq!(p.next_header(), Protocol::Unknown(0));
        assert_eq!(p.hop_limit(), 1);
        let ext = p.ext_headers().unwrap();
        assert_eq!(ext.protocol, Protocol::Unknown(next_header::ICMPV6));
        assert_eq!(ext.upper_offset, Some(48));
        assert_eq!(ext.hop_by_hop, Some(40));
        assert_eq!(ext.seen.bits(), 0x81);
        assert_eq!(ext.count, 1);
        let h = OptionsHeader::new_checked(&MLD_REPORT_HBH[40..]).unwrap();
        assert_eq!(h.next_header(), Protocol::Unknown(58));
        assert_eq!(h.header_len(), 8);
        let opts: Vec<_> = h.options_iter().collect();
        assert_eq!(
            opts,
            [
                Ok(Ipv6Option::Other {
                    option_type: option_type::ROUTER_ALERT,
                    data: &[0, 0]
                }),
                Ok(Ipv6Option::PadN(0)),
            ]
        );
        let ra = opts[0].unwrap();
        assert_eq!(
            (ra.unknown_action(), ra.may_change(), ra.data_len()),
            (0, false, 2)
        );

        let p = Packet::new_checked(&UDP_HBH[..]).unwrap();
        let ext = p.ext_headers().unwrap();
        assert_eq!((ext.protocol, ext.upper_offset), (Protocol::Udp, Some(48)));
    }

    #[test]
    fn destination_options() {
        let p = Packet::new_checked(&UDP_DSTOPTS[..]).unwrap();
        let ext = p.ext_headers().unwrap();
        assert_eq!(ext.protocol, Protocol::Udp);
        assert_eq!(ext.upper_offset, Some(48));
        assert_eq!(ext.dst_opts, Some(40));
        assert!(ext.seen.contains(HeaderSet::DST_OPTS) && ext.seen.contains(HeaderSet::PROTO));
        assert!(!ext.seen.contains(HeaderSet::HOP_BY_HOP));
        let h = OptionsHeader::new_checked(&UDP_DSTOPTS[40..48]).unwrap();
        let mut it = h.options_iter();
        let o = it.next().unwrap().unwrap();
        assert_eq!(
            o,
            Ipv6Option::Other {
                option_type: 0x1e,
                data: &[0xab, 0xcd]
            }
        );
        assert_eq!(o.option_type(), 0x1e);
        assert_eq!(it.next(), Some(Ok(Ipv6Option::PadN(0))));
        assert_eq!(it.next(), None);
        assert_eq!(
            OptionsHeader::new_checked(&UDP_DSTOPTS[40..47]).err(),
            Some(Error::Truncated)
        );
    }

    #[test]
    fn options_iter_edges() {
        let all: Vec<_> = OptionsIter::new(&[0, 0, 1, 1, 0, 0x9e, 0]).collect();
        assert_eq!(
            all,
            [
                Ok(Ipv6Option::Pad1),
                Ok(Ipv6Option::Pad1),
                Ok(Ipv6Option::PadN(1)),
                Ok(Ipv6Option::Other {
                    option_type: 0x9e,
                    data: &[]
                }),
            ]
        );
        assert_eq!(all[3].unwrap().unknown_action(), 2);
        assert_eq!(Ipv6Option::Pad1.data_len(), 0);
        // Truncated: a type without its length, and a length past the end.
        let t: Vec<_> = OptionsIter::new(&[0, 5]).collect();
        assert_eq!(t, [Ok(Ipv6Option::Pad1), Err(Error::Truncated)]);
        let t: Vec<_> = OptionsIter::new(&[5, 9, 0, 0, 1, 0]).collect();
        assert_eq!(t, [Err(Error::Truncated)]);
        assert_eq!(Ipv6Option::parse(&[]), Err(Error::Truncated));
        assert!(Ipv6Option::Other {
            option_type: 0x3e,
            data: &[]
        }
        .may_change());
    }

    #[test]
    fn fragments() {
        let p = Packet::new_checked(&FRAG_SECOND[..]).unwrap();
        let ext = p.ext_headers().unwrap();
        // A non-first fragment names the protocol but exposes no upper-layer header.
        assert_eq!(ext.protocol, Protocol::Unknown(58));
        assert_eq!(ext.upper_offset, None);
        assert!(ext.is_fragment() && !ext.is_first_fragment());
        let f = ext.fragment.unwrap();
        assert_eq!(
            f,
            FragmentInfo {
                header_offset: 40,
                frag_offset: 154,
                more_frags: false,
                ident: 0x6d5a_cb58,
                reserved: 0,
            }
        );
        assert_eq!(f.frag_offset_bytes(), 1232);
        assert_eq!(ext.seen, HeaderSet::FRAGMENT);

        // The first fragment, walked over the head of its payload.
        let ext = ExtHeaders::parse(FRAG_FIRST_HEAD[6], &FRAG_FIRST_HEAD[40..]).unwrap();
        assert_eq!(ext.protocol, Protocol::Unknown(58));
        assert_eq!(ext.upper_offset, Some(48));
        let f = ext.fragment.unwrap();
        assert!(f.more_frags && f.is_first_fragment());
        assert_eq!(f.ident, 0x6d5a_cb58);
        assert!(ext.is_first_fragment());
        assert_eq!(ext.seen, HeaderSet(0x11));
    }

    /// Builds `next header, len` extension headers of 8 bytes each.
    fn chain(kinds: &[u8], last: u8) -> Vec<u8> {
        let mut v = Vec::new();
        for (i, _) in kinds.iter().enumerate() {
            let nh = kinds.get(i + 1).copied().unwrap_or(last);
            v.extend_from_slice(&[nh, 0, 0, 0, 0, 0, 0, 0]);
        }
        v
    }

    #[test]
    fn routing_auth_esp_and_none() {
        // Synthetic (Linux refuses to send type 0 routing headers): a routing header of type
        // 0 with 2 segments left and two addresses, then AH (length 4 = 24 bytes), then TCP.
        let mut v = vec![next_header::AUTH, 4, 0, 2];
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&A.octets());
        v.extend_from_slice(&B.octets());
        v.extend_from_slice(&[6, 4, 0, 0]);
        v.extend_from_slice(&[0; 20]);
        v.extend_from_slice(&[0; 20]);
        let ext = ExtHeaders::parse(next_header::ROUTING, &v).unwrap();
        assert_eq!(
            ext.routing,
            Some(RoutingInfo {
                header_offset: 40,
                routing_type: 0,
                segments_left: 2,
                header_len: 40
            })
        );
        assert_eq!(ext.auth, Some(80));
        assert_eq!((ext.protocol, ext.upper_offset), (Protocol::Tcp, Some(104)));
        assert_eq!(ext.seen.bits(), 0x20 | 0x08 | 0x01);
        // The AH cut short.
        assert_eq!(
            ExtHeaders::parse(next_header::ROUTING, &v[..60]),
            Err(Error::Truncated)
        );
        // ESP ends the walk, whatever follows.
        let v = chain(&[next_header::DST_OPTS], next_header::ESP);
        let ext = ExtHeaders::parse(next_header::DST_OPTS, &v).unwrap();
        assert_eq!(
            (ext.protocol, ext.upper_offset),
            (Protocol::Unknown(50), Some(48))
        );
        assert_eq!(ext.seen, HeaderSet(0x40 | 0x04));
        // No next header: the walk ends there, trailing bytes ignored.
        let mut v = chain(&[next_header::HOP_BY_HOP], next_header::NONE);
        v.extend_from_slice(&[0xff; 7]);
        let ext = ExtHeaders::parse(next_header::HOP_BY_HOP, &v).unwrap();
        assert_eq!(
            (ext.protocol, ext.upper_offset),
            (Protocol::Unknown(59), Some(48))
        );
        assert_eq!(ext.seen, HeaderSet(0x80 | 0x02));
        assert!(ext.seen.contains(HeaderSet::NONE) && !ext.seen.contains(HeaderSet::PROTO));
        // ESP and 59 straight after the fixed header.
        let ext = ExtHeaders::parse(next_header::ESP, &[]).unwrap();
        assert_eq!(ext.upper_offset, Some(40));
        assert_eq!(HeaderSet::empty().bits(), 0);
    }

    #[test]
    fn malformed_chains() {
        // Hop-by-hop only first.
        let v = chain(&[next_header::DST_OPTS, next_header::HOP_BY_HOP], 6);
        assert_eq!(
            ExtHeaders::parse(next_header::DST_OPTS, &v),
            Err(Error::Malformed)
        );
        // Two fragment headers.
        let v = chain(&[next_header::FRAGMENT, next_header::FRAGMENT], 17);
        assert_eq!(
            ExtHeaders::parse(next_header::FRAGMENT, &v),
            Err(Error::Malformed)
        );
        // Truncated at every length.
        let v = chain(
            &[
                next_header::HOP_BY_HOP,
                next_header::ROUTING,
                next_header::FRAGMENT,
            ],
            17,
        );
        for len in 0..v.len() {
            assert_eq!(
                ExtHeaders::parse(next_header::HOP_BY_HOP, &v[..len]),
                Err(Error::Truncated),
                "{len}"
            );
        }
        assert!(ExtHeaders::parse(next_header::HOP_BY_HOP, &v).is_ok());
        // A hostile chain of thousands of empty destination options headers ends at the bound.
        let kinds = vec![next_header::DST_OPTS; 8000];
        let v = chain(&kinds, 17);
        assert_eq!(
            ExtHeaders::parse(next_header::DST_OPTS, &v),
            Err(Error::Malformed)
        );
        let ok = chain(&kinds[..MAX_EXT_HEADERS], 17);
        let ext = ExtHeaders::parse(next_header::DST_OPTS, &ok).unwrap();
        assert_eq!(ext.count, MAX_EXT_HEADERS);
        assert_eq!(ext.upper_offset, Some(40 + 8 * MAX_EXT_HEADERS));
        let over = chain(&kinds[..MAX_EXT_HEADERS + 1], 17);
        assert_eq!(
            ExtHeaders::parse(next_header::DST_OPTS, &over),
            Err(Error::Malformed)
        );
        // A truncated option inside the hop-by-hop header.
        let mut v = chain(&[next_header::HOP_BY_HOP], 17);
        v[2] = 5;
        v[3] = 9;
        assert_eq!(
            ExtHeaders::parse(next_header::HOP_BY_HOP, &v),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn repr_roundtrip_with_every_field() {
        let r = Repr {
            src_addr: B,
            dst_addr: Ipv6Addr::LOCALHOST,
            next_header: Protocol::Tcp,
            payload_len: 3,
            hop_limit: 255,
            traffic_class: 0xfe,
            flow_label: 0xf_ffff,
        };
        let mut out = [0u8; 43];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(Repr::parse(&Packet::new_checked(&out[..]).unwrap()), Ok(r));
        assert_eq!(&out[..4], &[0x6f, 0xef, 0xff, 0xff]);
    }
}
