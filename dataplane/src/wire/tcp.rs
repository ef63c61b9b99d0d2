//! TCP headers (RFC 9293) and their options.

use core::fmt;
use core::ops;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::ipv4::Protocol;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// The eight TCP flag bits (byte 13 of the header). A newtype with constants rather than a
/// bitflags dependency: `--tcp-flags MASK COMP` is `flags & mask == comp`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    pub const FIN: Flags = Flags(0x01);
    pub const SYN: Flags = Flags(0x02);
    pub const RST: Flags = Flags(0x04);
    pub const PSH: Flags = Flags(0x08);
    pub const ACK: Flags = Flags(0x10);
    pub const URG: Flags = Flags(0x20);
    pub const ECE: Flags = Flags(0x40);
    pub const CWR: Flags = Flags(0x80);

    const NAMES: [(Flags, &'static str); 8] = [
        (Flags::FIN, "FIN"),
        (Flags::SYN, "SYN"),
        (Flags::RST, "RST"),
        (Flags::PSH, "PSH"),
        (Flags::ACK, "ACK"),
        (Flags::URG, "URG"),
        (Flags::ECE, "ECE"),
        (Flags::CWR, "CWR"),
    ];

    pub const fn empty() -> Flags {
        Flags(0)
    }

    pub const fn all() -> Flags {
        Flags(0xff)
    }

    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits)
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// All bits of `other` are set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Any bit of `other` is set.
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }

    pub fn set(&mut self, other: Flags, value: bool) {
        if value {
            self.insert(other)
        } else {
            self.remove(other)
        }
    }
}

impl ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl ops::Not for Flags {
    type Output = Flags;
    fn not(self) -> Flags {
        Flags(!self.0)
    }
}

/// Comma-separated names, as iptables prints `--tcp-flags` (`SYN,ACK`; `NONE` when empty).
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("NONE");
        }
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

pub mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ_NUM: usize = 4;
    pub const ACK_NUM: usize = 8;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
    pub const OPTIONS: usize = 20;

    pub const OPT_END: u8 = 0;
    pub const OPT_NOP: u8 = 1;
    pub const OPT_MSS: u8 = 2;
    pub const OPT_WS: u8 = 3;
    pub const OPT_SACKPERM: u8 = 4;
    pub const OPT_SACKRNG: u8 = 5;
    pub const OPT_TSTAMP: u8 = 8;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::OPTIONS;
/// Most option bytes a header can carry (data offset 15).
pub const MAX_OPTIONS_LEN: usize = 40;
/// Most SACK blocks an option can carry (4 * 8 + 2 = 34 of the 40 option bytes).
pub const MAX_SACK_RANGES: usize = 4;

/// One TCP option. Borrowed so that iterating the options of a packet never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    EndOfList,
    NoOp,
    MaxSegmentSize(u16),
    WindowScale(u8),
    SackPermitted,
    /// SACK blocks (left, right edge), in order; `None` past the last block present.
    SackRange([Option<(u32, u32)>; MAX_SACK_RANGES]),
    Timestamps {
        tsval: u32,
        tsecr: u32,
    },
    /// Any other kind; `data` is the option body after the kind and length bytes.
    Unknown {
        kind: u8,
        data: &'a [u8],
    },
}

impl<'a> TcpOption<'a> {
    /// Parse the option at the start of `data` (which must not be empty) and return its length
    /// with it. A length byte below 2 is `Malformed` (it could never advance); an option
    /// running past `data` is `Truncated`; a known kind with the wrong length is `Malformed`.
    pub fn parse(data: &'a [u8]) -> Result<(usize, TcpOption<'a>)> {
        let kind = *data.first().ok_or(Error::Truncated)?;
        match kind {
            field::OPT_END => return Ok((1, TcpOption::EndOfList)),
            field::OPT_NOP => return Ok((1, TcpOption::NoOp)),
            _ => {}
        }
        let len = *data.get(1).ok_or(Error::Truncated)? as usize;
        if len < 2 {
            return Err(Error::Malformed);
        }
        let body = data.get(2..len).ok_or(Error::Truncated)?;
        let opt = match (kind, body.len()) {
            (field::OPT_MSS, 2) => TcpOption::MaxSegmentSize(read_u16(body, 0)),
            (field::OPT_WS, 1) => TcpOption::WindowScale(body[0]),
            (field::OPT_SACKPERM, 0) => TcpOption::SackPermitted,
            (field::OPT_TSTAMP, 8) => TcpOption::Timestamps {
                tsval: read_u32(body, 0),
                tsecr: read_u32(body, 4),
            },
            (field::OPT_SACKRNG, n) if n % 8 == 0 && (8..=8 * MAX_SACK_RANGES).contains(&n) => {
                let mut ranges = [None; MAX_SACK_RANGES];
                for (slot, block) in ranges.iter_mut().zip(body.chunks_exact(8)) {
                    *slot = Some((read_u32(block, 0), read_u32(block, 4)));
                }
                TcpOption::SackRange(ranges)
            }
            (
                field::OPT_MSS
                | field::OPT_WS
                | field::OPT_SACKPERM
                | field::OPT_TSTAMP
                | field::OPT_SACKRNG,
                _,
            ) => return Err(Error::Malformed),
            (kind, _) => TcpOption::Unknown { kind, data: body },
        };
        Ok((len, opt))
    }

    /// Bytes this option takes on the wire.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOp => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(r) => 2 + 8 * r.iter().flatten().count(),
            TcpOption::Timestamps { .. } => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Write the option at the start of `buf` and return its length. `Truncated` if `buf` is
    /// too short, `Malformed` for an unknown option whose body does not fit a length byte.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if len > usize::from(u8::MAX) {
            return Err(Error::Malformed);
        }
        let out = buf.get_mut(..len).ok_or(Error::Truncated)?;
        let kind = match self {
            TcpOption::EndOfList => {
                out[0] = field::OPT_END;
                return Ok(1);
            }
            TcpOption::NoOp => {
                out[0] = field::OPT_NOP;
                return Ok(1);
            }
            TcpOption::MaxSegmentSize(mss) => {
                write_u16(out, 2, *mss);
                field::OPT_MSS
            }
            TcpOption::WindowScale(ws) => {
                out[2] = *ws;
                field::OPT_WS
            }
            TcpOption::SackPermitted => field::OPT_SACKPERM,
            TcpOption::SackRange(ranges) => {
                for (i, (l, r)) in ranges.iter().flatten().enumerate() {
                    write_u32(out, 2 + 8 * i, *l);
                    write_u32(out, 6 + 8 * i, *r);
                }
                field::OPT_SACKRNG
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                write_u32(out, 2, *tsval);
                write_u32(out, 6, *tsecr);
                field::OPT_TSTAMP
            }
            TcpOption::Unknown { kind, data } => {
                out[2..].copy_from_slice(data);
                *kind
            }
        };
        out[0] = kind;
        out[1] = len as u8;
        Ok(len)
    }
}

/// Write `options` into `buf`, padded with end-of-list bytes to a multiple of 4 as the data
/// offset requires. Returns the padded length.
pub fn emit_options(options: &[TcpOption<'_>], buf: &mut [u8]) -> Result<usize> {
    let mut at = 0;
    for opt in options {
        let rest = buf.get_mut(at..).ok_or(Error::Truncated)?;
        at += opt.emit(rest)?;
    }
    let padded = at.div_ceil(4) * 4;
    buf.get_mut(at..padded)
        .ok_or(Error::Truncated)?
        .fill(field::OPT_END);
    Ok(padded)
}

/// Iterator over the options of a header. Yields `Err` once and stops on a malformed or
/// truncated option; stops after `EndOfList`. Every step consumes at least one byte, so it
/// always terminates.
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
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        match TcpOption::parse(self.data) {
            Ok((_, TcpOption::EndOfList)) => {
                self.data = &[];
                Some(Ok(TcpOption::EndOfList))
            }
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

/// Offset (within `options`) of the value of the first well-formed MSS option.
fn find_mss(options: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(rest) = options.get(at..).filter(|r| !r.is_empty()) {
        match TcpOption::parse(rest) {
            Ok((_, TcpOption::EndOfList)) | Err(_) => return None,
            Ok((_, TcpOption::MaxSegmentSize(_))) => return Some(at + 2),
            Ok((len, _)) => at += len,
        }
    }
    None
}

/// A view of a TCP segment (header, options and payload; the buffer is the IP payload).
///
/// `check_len` guarantees `20 <= header_len() <= buffer.len()`.
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

    /// The fixed header present, data offset >= 5 and the options within the buffer.
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

    pub fn seq_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::SEQ_NUM)
    }

    pub fn ack_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::ACK_NUM)
    }

    /// Header length in bytes (data offset * 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS])
    }

    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WIN_SIZE)
    }

    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    pub fn urgent_at(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT)
    }

    /// The raw option bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len() as usize]
    }

    pub fn options_iter(&self) -> OptionsIter<'_> {
        OptionsIter::new(self.options())
    }

    /// The advertised MSS, if the header carries a well-formed MSS option before any
    /// malformed one.
    pub fn mss(&self) -> Option<u16> {
        let at = find_mss(self.options())?;
        Some(read_u16(self.options(), at))
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len() as usize..]
    }

    /// Sequence space the segment occupies: payload plus one each for SYN and FIN.
    pub fn segment_len(&self) -> usize {
        let f = self.flags();
        self.payload().len()
            + usize::from(f.contains(Flags::SYN))
            + usize::from(f.contains(Flags::FIN))
    }

    /// Length for the pseudo-header. A segment longer than u32::MAX cannot come from an IP
    /// packet; saturate rather than truncate so it simply fails verification.
    fn pseudo_len(&self) -> u32 {
        u32::try_from(self.buffer.as_ref().len()).unwrap_or(u32::MAX)
    }

    fn sum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let pseudo = checksum::pseudo_header(src, dst, Protocol::Tcp, self.pseudo_len());
        checksum::combine(&[pseudo, checksum::data(self.buffer.as_ref())])
    }

    fn sum_ipv6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
        let pseudo = checksum::pseudo_header_ipv6(src, dst, Protocol::Tcp, self.pseudo_len());
        checksum::combine(&[pseudo, checksum::data(self.buffer.as_ref())])
    }

    /// Verify the checksum over the pseudo-header and the whole buffer (the caller passes
    /// exactly the IP payload).
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.sum(src, dst) == 0xffff
    }

    /// As [`Packet::verify_checksum`], over the IPv6 pseudo-header (the caller passes exactly
    /// the upper-layer bytes, after any extension headers).
    pub fn verify_checksum_ipv6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.sum_ipv6(src, dst) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT, v);
    }

    pub fn set_dst_port(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT, v);
    }

    pub fn set_seq_number(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::SEQ_NUM, v);
    }

    pub fn set_ack_number(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::ACK_NUM, v);
    }

    /// Sets the data offset from a length in bytes (multiple of 4, 20..=60); keeps the
    /// reserved bits.
    pub fn set_header_len(&mut self, len: u8) {
        let b = &mut self.buffer.as_mut()[field::DATA_OFF];
        *b = (*b & 0x0f) | ((len / 4) << 4);
    }

    pub fn set_flags(&mut self, flags: Flags) {
        self.buffer.as_mut()[field::FLAGS] = flags.0;
    }

    pub fn set_window_len(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::WIN_SIZE, v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, v);
    }

    pub fn set_urgent_at(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT, v);
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len() as usize;
        &mut self.buffer.as_mut()[field::OPTIONS..hl]
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len() as usize;
        &mut self.buffer.as_mut()[hl..]
    }

    /// Recompute the checksum over the pseudo-header and the whole buffer.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let c = !self.sum(src, dst);
        self.set_checksum(c);
    }

    /// As [`Packet::fill_checksum`], over the IPv6 pseudo-header.
    pub fn fill_checksum_ipv6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let c = !self.sum_ipv6(src, dst);
        self.set_checksum(c);
    }

    /// Set the source port and patch the checksum incrementally (SNAT / masquerade).
    pub fn rewrite_src_port(&mut self, new: u16) {
        let c = checksum::update_u16(self.checksum(), self.src_port(), new);
        self.set_src_port(new);
        self.set_checksum(c);
    }

    /// Set the destination port and patch the checksum incrementally (DNAT / REDIRECT).
    pub fn rewrite_dst_port(&mut self, new: u16) {
        let c = checksum::update_u16(self.checksum(), self.dst_port(), new);
        self.set_dst_port(new);
        self.set_checksum(c);
    }

    /// Patch the checksum for an address change in the pseudo-header (the IP header was
    /// rewritten; the segment bytes were not).
    pub fn update_checksum_addr(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        let c = checksum::update_addr(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Patch the checksum for an IPv6 address change in the pseudo-header (NAT66).
    pub fn update_checksum_addr_ipv6(&mut self, old: Ipv6Addr, new: Ipv6Addr) {
        let c = checksum::update_addr_ipv6(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Rewrite the value of the MSS option in place and patch the checksum; returns the old
    /// value, or `None` (nothing changed) when there is no well-formed MSS option.
    pub fn rewrite_mss(&mut self, new: u16) -> Option<u16> {
        let at = field::OPTIONS + find_mss(self.options())?;
        let old = read_u16(self.buffer.as_ref(), at);
        // The option may sit at an odd offset (after a single NOP): its two bytes then
        // straddle two checksum words, contributing the byte-swapped value.
        let (o, n) = if at & 1 == 0 {
            (old, new)
        } else {
            (old.swap_bytes(), new.swap_bytes())
        };
        let c = checksum::update_u16(self.checksum(), o, n);
        write_u16(self.buffer.as_mut(), at, new);
        self.set_checksum(c);
        Some(old)
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed TCP header. Options the packet path acts on are kept; unknown options are not
/// represented (they stay in the original buffer when a packet is forwarded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq_number: u32,
    pub ack_number: u32,
    pub flags: Flags,
    pub window_len: u16,
    pub urgent_at: u16,
    pub max_seg_size: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: Option<(u32, u32)>,
    pub sack_ranges: [Option<(u32, u32)>; MAX_SACK_RANGES],
    pub payload_len: usize,
}

impl Repr {
    /// Fails with the options iterator's error on a malformed option.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        let mut repr = Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_at: packet.urgent_at(),
            payload_len: packet.payload().len(),
            ..Repr::default()
        };
        for opt in packet.options_iter() {
            match opt? {
                TcpOption::MaxSegmentSize(v) => repr.max_seg_size = Some(v),
                TcpOption::WindowScale(v) => repr.window_scale = Some(v),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::SackRange(r) => repr.sack_ranges = r,
                TcpOption::Timestamps { tsval, tsecr } => repr.timestamps = Some((tsval, tsecr)),
                TcpOption::EndOfList | TcpOption::NoOp | TcpOption::Unknown { .. } => {}
            }
        }
        Ok(repr)
    }

    /// The options in the order Linux sends them on a SYN: MSS, SACK-permitted, timestamps,
    /// NOP + window scale, then NOP NOP + SACK blocks. Returns how many of `out` were filled.
    fn options<'a>(&self, out: &mut [TcpOption<'a>; 9]) -> usize {
        let mut n = 0;
        let mut push = |o| {
            out[n] = o;
            n += 1;
        };
        if let Some(mss) = self.max_seg_size {
            push(TcpOption::MaxSegmentSize(mss));
        }
        if self.sack_permitted {
            push(TcpOption::SackPermitted);
        }
        if let Some((tsval, tsecr)) = self.timestamps {
            push(TcpOption::Timestamps { tsval, tsecr });
        }
        if let Some(ws) = self.window_scale {
            push(TcpOption::NoOp);
            push(TcpOption::WindowScale(ws));
        }
        if self.sack_ranges.iter().any(Option::is_some) {
            push(TcpOption::NoOp);
            push(TcpOption::NoOp);
            push(TcpOption::SackRange(self.sack_ranges));
        }
        n
    }

    /// Header length with options, padded to a multiple of 4.
    pub fn header_len(&self) -> usize {
        let mut opts = [TcpOption::EndOfList; 9];
        let n = self.options(&mut opts);
        let len: usize = opts[..n].iter().map(TcpOption::buffer_len).sum();
        HEADER_LEN + len.div_ceil(4) * 4
    }

    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Write the header and options. The checksum is left 0: it covers the payload and the
    /// pseudo-header, so call [`Packet::fill_checksum`] once the payload is in place.
    ///
    /// # Panics
    /// If the buffer is shorter than `header_len()`, or the options exceed 40 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let header_len = self.header_len();
        assert!(
            header_len <= HEADER_LEN + MAX_OPTIONS_LEN,
            "TCP options exceed 40 bytes"
        );
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.buffer.as_mut()[field::DATA_OFF] = 0;
        packet.set_header_len(header_len as u8);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_at);
        let mut opts = [TcpOption::EndOfList; 9];
        let n = self.options(&mut opts);
        emit_options(&opts[..n], packet.options_mut()).expect("options sized by header_len");
    }
}

/// Walks TCP options as the kernel does: kinds 0 and 1 are one byte, others carry a
/// length; a zero or overrunning length ends the walk. Yields (kind, body).
pub fn walk_options(opts: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = 0usize;
    std::iter::from_fn(move || {
        while i < opts.len() {
            let kind = opts[i];
            if kind == 0 {
                return None;
            }
            if kind == 1 {
                i += 1;
                continue;
            }
            let len = usize::from(*opts.get(i + 1)?);
            if len < 2 || i + len > opts.len() {
                return None;
            }
            let body = &opts[i + 2..i + len];
            i += len;
            return Some((kind, body));
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::tests::TCP_SYN;
    use proptest::prelude::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const DST: Ipv4Addr = Ipv4Addr::new(93, 184, 216, 34);

    fn syn() -> [u8; 40] {
        TCP_SYN[20..].try_into().unwrap()
    }

    fn syn_repr() -> Repr {
        Repr {
            src_port: 54321,
            dst_port: 80,
            seq_number: 0x6b8b4567,
            ack_number: 0,
            flags: Flags::SYN,
            window_len: 64240,
            urgent_at: 0,
            max_seg_size: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((0x009c4a1d, 0)),
            sack_ranges: [None; 4],
            payload_len: 0,
        }
    }

    #[test]
    fn parse_syn() {
        let b = syn();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.src_port(), 54321);
        assert_eq!(p.dst_port(), 80);
        assert_eq!(p.seq_number(), 0x6b8b4567);
        assert_eq!(p.ack_number(), 0);
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), Flags::SYN);
        assert!(p.flags().contains(Flags::SYN) && !p.flags().contains(Flags::ACK));
        assert_eq!(p.window_len(), 64240);
        assert_eq!(p.checksum(), 0x3d05);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(p.options().len(), 20);
        assert!(p.payload().is_empty());
        assert_eq!(p.segment_len(), 1);
        assert_eq!(p.mss(), Some(1460));
        assert!(p.verify_checksum(SRC, DST));
        assert!(!p.verify_checksum(SRC, Ipv4Addr::new(93, 184, 216, 35)));

        let opts: Vec<_> = p.options_iter().collect();
        assert_eq!(
            opts,
            vec![
                Ok(TcpOption::MaxSegmentSize(1460)),
                Ok(TcpOption::SackPermitted),
                Ok(TcpOption::Timestamps {
                    tsval: 0x009c4a1d,
                    tsecr: 0
                }),
                Ok(TcpOption::NoOp),
                Ok(TcpOption::WindowScale(7)),
            ]
        );
        assert_eq!(Repr::parse(&p).unwrap(), syn_repr());
    }

    #[test]
    fn emit_syn() {
        let r = syn_repr();
        assert_eq!(r.header_len(), 40);
        assert_eq!(r.buffer_len(), 40);
        let mut out = [0xaau8; 40];
        let mut p = Packet::new_unchecked(&mut out[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        p.fill_checksum(SRC, DST);
        assert_eq!(out, syn());
    }

    #[test]
    fn repr_sack_roundtrip_and_padding() {
        let r = Repr {
            flags: Flags::ACK,
            sack_ranges: [Some((1, 2)), Some((3, 4)), None, None],
            timestamps: Some((5, 6)),
            payload_len: 3,
            ..Repr::default()
        };
        // TS 10 + NOP NOP + SACK 18 = 30 -> padded to 32.
        assert_eq!(r.header_len(), 52);
        let mut out = vec![0xffu8; r.buffer_len()];
        let mut p = Packet::new_unchecked(&mut out[..]);
        r.emit(&mut p);
        assert_eq!(&p.options()[10..12], &[1, 1]);
        assert_eq!(&p.options()[30..], &[0, 0]);
        assert_eq!(Repr::parse(&p).unwrap(), r);

        let r = Repr {
            window_scale: Some(14),
            ..Repr::default()
        };
        assert_eq!(r.header_len(), 24);
        let mut out = [0u8; 24];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[20..], &[1, 3, 3, 14]);
    }

    #[test]
    fn length_checks() {
        let b = syn();
        assert_eq!(Packet::new_checked(&b[..19]).err(), Some(Error::Truncated));
        assert_eq!(Packet::new_checked(&b[..39]).err(), Some(Error::Truncated));
        let mut m = b;
        m[12] = 0x40;
        assert_eq!(Packet::new_checked(&m[..]).err(), Some(Error::Malformed));
        m[12] = 0x50;
        let p = Packet::new_checked(&m[..]).unwrap();
        assert_eq!(p.payload().len(), 20);
        assert!(p.options().is_empty());
        assert_eq!(p.mss(), None);
    }

    fn collect(data: &[u8]) -> Vec<Result<TcpOption<'_>>> {
        OptionsIter::new(data).collect()
    }

    #[test]
    fn malformed_options_stop() {
        // Length 0 and 1 would never advance.
        assert_eq!(
            collect(&[1, 2, 0, 1, 1]),
            vec![Ok(TcpOption::NoOp), Err(Error::Malformed)]
        );
        assert_eq!(collect(&[30, 1, 1]), vec![Err(Error::Malformed)]);
        // Overruns the buffer.
        assert_eq!(collect(&[2, 4, 5]), vec![Err(Error::Truncated)]);
        assert_eq!(collect(&[8]), vec![Err(Error::Truncated)]);
        // Known kind, wrong length.
        assert_eq!(collect(&[2, 3, 5]), vec![Err(Error::Malformed)]);
        assert_eq!(
            collect(&[5, 9, 0, 0, 0, 0, 0, 0, 0]),
            vec![Err(Error::Malformed)]
        );
        assert_eq!(collect(&[5, 2]), vec![Err(Error::Malformed)]);
        // End of list stops, whatever follows.
        assert_eq!(collect(&[0, 2, 0]), vec![Ok(TcpOption::EndOfList)]);
        assert_eq!(collect(&[]), vec![]);
        // Unknown kinds keep their body.
        assert_eq!(
            collect(&[34, 4, 0xde, 0xad, 1]),
            vec![
                Ok(TcpOption::Unknown {
                    kind: 34,
                    data: &[0xde, 0xad]
                }),
                Ok(TcpOption::NoOp)
            ]
        );
        // A malformed option makes Repr::parse fail.
        let mut b = syn();
        b[21] = 1;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p), Err(Error::Malformed));
        assert_eq!(p.mss(), None);
    }

    #[test]
    fn sack_blocks() {
        let data = [
            1, 1, 5, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6,
        ];
        let want = TcpOption::SackRange([Some((1, 2)), Some((3, 4)), Some((5, 6)), None]);
        assert_eq!(
            collect(&data),
            vec![Ok(TcpOption::NoOp), Ok(TcpOption::NoOp), Ok(want)]
        );
        let mut out = [0u8; 26];
        assert_eq!(want.emit(&mut out), Ok(26));
        assert_eq!(out, data[2..]);
    }

    #[test]
    fn option_emit_errors() {
        let mut small = [0u8; 3];
        assert_eq!(
            TcpOption::MaxSegmentSize(1).emit(&mut small),
            Err(Error::Truncated)
        );
        let big = [0u8; 254];
        let opt = TcpOption::Unknown {
            kind: 99,
            data: &big,
        };
        assert_eq!(opt.emit(&mut [0u8; 300]), Err(Error::Malformed));
        let mut buf = [0xffu8; 8];
        assert_eq!(
            emit_options(
                &[
                    TcpOption::NoOp,
                    TcpOption::WindowScale(2),
                    TcpOption::SackPermitted
                ],
                &mut buf
            ),
            Ok(8)
        );
        assert_eq!(buf, [1, 3, 3, 2, 4, 2, 0, 0]);
        assert_eq!(
            emit_options(&[TcpOption::Timestamps { tsval: 1, tsecr: 2 }], &mut buf),
            Err(Error::Truncated)
        );
        // Padding that does not fit is an error too.
        assert_eq!(
            emit_options(&[TcpOption::WindowScale(2)], &mut [0u8; 3]),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn flags_ops_and_display() {
        let mut f = Flags::SYN | Flags::ACK;
        assert_eq!(f.bits(), 0x12);
        assert_eq!(f.to_string(), "SYN,ACK");
        assert!(f.contains(Flags::SYN) && f.intersects(Flags::ACK | Flags::FIN));
        assert!(!f.contains(Flags::SYN | Flags::FIN));
        f.insert(Flags::FIN);
        f.remove(Flags::SYN);
        f.set(Flags::CWR, true);
        assert_eq!(f, Flags::from_bits(0x91));
        assert_eq!(f & !Flags::ACK, Flags::FIN | Flags::CWR);
        assert_eq!(Flags::empty().to_string(), "NONE");
        assert_eq!(Flags::all().to_string(), "FIN,SYN,RST,PSH,ACK,URG,ECE,CWR");
        assert_eq!(format!("{:?}", Flags::RST), "Flags(RST)");
        let mut g = Flags::empty();
        g |= Flags::PSH;
        assert!(!g.is_empty() && g.contains(Flags::PSH));
    }

    #[test]
    fn rewrite_mss_even_and_odd_offsets() {
        let mut b = syn();
        let mut p = Packet::new_unchecked(&mut b[..]);
        assert_eq!(p.rewrite_mss(1400), Some(1460));
        assert_eq!(p.mss(), Some(1400));
        assert!(p.verify_checksum(SRC, DST));

        // NOP, MSS at an odd offset, NOP NOP NOP.
        let mut odd = [0u8; 28];
        odd[..20].copy_from_slice(&syn()[..20]);
        odd[12] = 0x70;
        odd[20..].copy_from_slice(&[1, 2, 4, 0x05, 0xb4, 1, 1, 1]);
        let mut p = Packet::new_unchecked(&mut odd[..]);
        p.fill_checksum(SRC, DST);
        assert_eq!(p.rewrite_mss(1200), Some(1460));
        assert_eq!(&p.options()[..5], &[1, 2, 4, 0x04, 0xb0]);
        assert!(p.verify_checksum(SRC, DST));

        let mut none = syn();
        none[12] = 0x50;
        assert_eq!(Packet::new_unchecked(&mut none[..]).rewrite_mss(1), None);
    }

    #[test]
    fn nat_rewrites_match_full() {
        let mut b = syn();
        let mut p = Packet::new_unchecked(&mut b[..]);
        let new_src = Ipv4Addr::new(198, 51, 100, 9);
        p.rewrite_src_port(61000);
        p.rewrite_dst_port(8080);
        p.update_checksum_addr(SRC, new_src);
        assert!(p.verify_checksum(new_src, DST));
        let incremental = p.checksum();
        p.fill_checksum(new_src, DST);
        assert_eq!(incremental, p.checksum());
        assert_eq!((p.src_port(), p.dst_port()), (61000, 8080));
    }

    /// A Linux TCP SYN fd00:1::2:48414 -> fd00:1::3:8080 and the data segment "hello v6" of the
    /// same connection (Python sockets between two network namespaces, captured with tcpdump
    /// on the veth with `ethtool -K tx off` so the checksums are whole). IPv6 header included.
    const TCP_SYN_V6: [u8; 80] = [
        0x60, 0x0e, 0x14, 0x07, 0x00, 0x28, 0x06, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xbd, 0x1e, 0x1f, 0x90, 0x4f,
        0x13, 0x12, 0xfa, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfd, 0x20, 0x7c, 0x7a, 0x00, 0x00,
        0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, 0x08, 0x0a, 0x0d, 0x0a, 0x88, 0xa7, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x03, 0x03, 0x0a,
    ];

    const TCP_DATA_V6: [u8; 80] = [
        0x60, 0x0e, 0x14, 0x07, 0x00, 0x28, 0x06, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xbd, 0x1e, 0x1f, 0x90, 0x4f,
        0x13, 0x12, 0xfb, 0xea, 0xb5, 0xb9, 0xcb, 0x80, 0x18, 0x00, 0x40, 0x42, 0xfa, 0x00, 0x00,
        0x01, 0x01, 0x08, 0x0a, 0x0d, 0x0a, 0x88, 0xa7, 0x57, 0x50, 0xaf, 0x01, 0x68, 0x65, 0x6c,
        0x6c, 0x6f, 0x20, 0x76, 0x36,
    ];

    const V6_SRC: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
    const V6_DST: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 3);

    #[test]
    fn ipv6_checksums() {
        for (seg, flags, payload) in [
            (&TCP_SYN_V6, Flags::SYN, &b""[..]),
            (&TCP_DATA_V6, Flags::PSH | Flags::ACK, &b"hello v6"[..]),
        ] {
            let p = Packet::new_checked(&seg[40..]).unwrap();
            assert_eq!((p.src_port(), p.dst_port()), (48414, 8080));
            assert_eq!(p.flags(), flags);
            assert_eq!(p.payload(), payload);
            assert!(p.verify_checksum_ipv6(V6_SRC, V6_DST));
            assert!(!p.verify_checksum_ipv6(V6_DST, Ipv6Addr::LOCALHOST));
            let r = Repr::parse(&p).unwrap();
            let mut out = vec![0u8; r.buffer_len()];
            let mut q = Packet::new_unchecked(&mut out[..]);
            r.emit(&mut q);
            q.payload_mut().copy_from_slice(payload);
            q.fill_checksum_ipv6(V6_SRC, V6_DST);
            assert!(q.verify_checksum_ipv6(V6_SRC, V6_DST));
            assert_eq!(Repr::parse(&q).unwrap(), r);
            // The emitter lays out options its own way (NOP, NOP, timestamps becomes
            // timestamps, padding), so only the SYN comes back byte for byte.
            if flags == Flags::SYN {
                assert_eq!(&out[..], &seg[40..]);
            }
        }
        assert_eq!(
            Packet::new_checked(&TCP_SYN_V6[40..]).unwrap().mss(),
            Some(1440)
        );
    }

    proptest! {
        #[test]
        fn ipv6_incremental_matches_full(sport: u16, dport: u16, src: u128, dst: u128) {
            let mut b = TCP_DATA_V6;
            let mut p = Packet::new_unchecked(&mut b[40..]);
            p.rewrite_src_port(sport);
            p.rewrite_dst_port(dport);
            let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
            p.update_checksum_addr_ipv6(V6_SRC, src);
            p.update_checksum_addr_ipv6(V6_DST, dst);
            prop_assert!(p.verify_checksum_ipv6(src, dst));
            let incremental = p.checksum();
            p.fill_checksum_ipv6(src, dst);
            prop_assert_eq!(incremental, p.checksum());
        }
    }

    proptest! {
        #[test]
        fn incremental_matches_full(
            sport: u16, dport: u16, src: u32, dst: u32, mss: u16, nop in any::<bool>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut buf = vec![0u8; 28 + payload.len()];
            buf[..20].copy_from_slice(&syn()[..20]);
            buf[12] = 0x70;
            let opts: &[u8] = if nop { &[1, 2, 4, 5, 0xb4, 0, 0, 0] } else { &[2, 4, 5, 0xb4, 1, 1, 1, 0] };
            buf[20..28].copy_from_slice(opts);
            buf[28..].copy_from_slice(&payload);
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            p.fill_checksum(SRC, DST);
            p.rewrite_src_port(sport);
            p.rewrite_dst_port(dport);
            p.update_checksum_addr(SRC, Ipv4Addr::from(src));
            p.update_checksum_addr(DST, Ipv4Addr::from(dst));
            prop_assert_eq!(p.rewrite_mss(mss), Some(1460));
            let incremental = p.checksum();
            p.fill_checksum(Ipv4Addr::from(src), Ipv4Addr::from(dst));
            prop_assert_eq!(incremental, p.checksum());
        }
    }
}
