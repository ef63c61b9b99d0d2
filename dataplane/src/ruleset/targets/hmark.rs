//! `-j HMARK` (xt_HMARK, any table): the packet mark set from a hash of the flow, so both
//! directions of a flow get the same mark. The hash is the kernel's, bit for bit:
//! `jhash_3words(lo_addr, hi_addr, ports, rnd)` over the masked addresses (the smaller
//! first) and the masked ports (or ESP/AH SPI) put in order (the larger in the high half),
//! XOR the protocol under `--hmark-proto-mask`, scaled onto `--hmark-mod` as
//! `reciprocal_scale` does and `--hmark-offset` added.
//!
//! From the packet (the default): an ICMP error is hashed by the header it quotes; ICMP
//! and fragments have no ports; a packet too short for its ports hashes them as zero, and
//! an ICMP error too short for the quoted IP header leaves the mark alone. With
//! `--hmark-tuple ct`: the connection's original source and reply source, and their
//! ports (none for ICMP); a packet without a connection keeps its mark. IPv6 (hmark_tg_v6)
//! folds each masked address to 32 bits by XOR of its words before the same hash.

use crate::hash::jhash_3words;

/// libxt_HMARK's option bits (`XT_HMARK_*`), kept as iptables sets them: they say what
/// `iptables-save` prints.
pub mod flag {
    pub const SADDR_MASK: u32 = 1 << 0;
    pub const DADDR_MASK: u32 = 1 << 1;
    pub const SPI: u32 = 1 << 2;
    pub const SPI_MASK: u32 = 1 << 3;
    pub const SPORT: u32 = 1 << 4;
    pub const DPORT: u32 = 1 << 5;
    pub const SPORT_MASK: u32 = 1 << 6;
    pub const DPORT_MASK: u32 = 1 << 7;
    pub const PROTO_MASK: u32 = 1 << 8;
    pub const RND: u32 = 1 << 9;
    pub const MODULUS: u32 = 1 << 10;
    pub const OFFSET: u32 = 1 << 11;
    pub const CT: u32 = 1 << 12;
}

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_ICMPV6: u8 = 58;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HmarkTarget {
    /// `flag::*` bits.
    pub flags: u32,
    /// Address masks as the kernel's `union nf_inet_addr` holds them, read big-endian:
    /// an IPv4 mask in the top 32 bits, an IPv6 one all 128.
    pub src_mask: u128,
    pub dst_mask: u128,
    /// The 4 bytes at the ports (or SPI) read big-endian: source port mask in the high
    /// half, destination port mask in the low half; `--hmark-spi-mask` the whole word.
    pub port_mask: u32,
    /// ORed in after the mask, laid out as `port_mask`.
    pub port_set: u32,
    pub proto_mask: u16,
    pub rnd: u32,
    /// Never 0 (iptables and the kernel refuse it).
    pub modulus: u32,
    pub offset: u32,
    /// In ip6tables (hmark_tg_v6; libxt_HMARK's IPv6 prefixes, 0 to 128).
    pub v6: bool,
}

/// An IPv4 mask or address in the top 32 bits of a `union nf_inet_addr` word.
pub fn v4_mask(m: u32) -> u128 {
    u128::from(m) << 96
}

/// hmark_addr6_mask: the masked IPv6 address folded to 32 bits (its four words XORed).
fn fold6(addr: u128, mask: u128) -> u32 {
    let a = addr & mask;
    (a >> 96) as u32 ^ (a >> 64) as u32 ^ (a >> 32) as u32 ^ a as u32
}

/// Where a protocol's ports (or SPI) start in its header (`proto_ports_offset`).
fn ports_offset(proto: u8) -> Option<usize> {
    match proto {
        // TCP, UDP, DCCP, ESP (its SPI), SCTP, UDP-Lite.
        6 | 17 | 33 | 50 | 132 | 136 => Some(0),
        // AH: the SPI after next header, length and reserved.
        51 => Some(4),
        _ => None,
    }
}

/// ICMP types whose body quotes the offending packet.
fn is_icmp_error(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

fn read_be32(b: &[u8], at: usize) -> Option<u32> {
    let w = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
}

impl HmarkTarget {
    pub fn ct(&self) -> bool {
        self.flags & flag::CT != 0
    }

    /// The ports word once masked, set and ordered (`hmark_swap_ports`).
    fn ports(&self, raw: u32) -> u32 {
        let v = (raw & self.port_mask) | self.port_set;
        let (src, dst) = (v >> 16, v & 0xffff);
        if dst > src {
            dst << 16 | src
        } else {
            src << 16 | dst
        }
    }

    /// The mark for the flow (`hmark_hash`); addresses host order, `ports` as `ports`
    /// returns it (0 when there are none).
    fn mark(&self, src: u32, dst: u32, ports: u32, proto: u8) -> u32 {
        let (lo, hi) = if dst < src { (dst, src) } else { (src, dst) };
        let hash =
            jhash_3words(lo, hi, ports, self.rnd) ^ (u32::from(proto) & u32::from(self.proto_mask));
        // reciprocal_scale
        let scaled = ((u64::from(hash) * u64::from(self.modulus)) >> 32) as u32;
        scaled.wrapping_add(self.offset)
    }

    /// The mark for an IPv4 packet (trimmed to its total length), hashed from its
    /// headers; `None` leaves the mark as it is.
    pub fn mark_for_packet(&self, ip: &[u8]) -> Option<u32> {
        if ip.len() < 20 {
            return None;
        }
        // The header hashed: the packet's, or the one an ICMP error quotes.
        let mut nh = 0usize;
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ip[9] == IPPROTO_ICMP {
            if let Some(icmp) = ip.get(ihl..ihl + 8) {
                if is_icmp_error(icmp[0]) {
                    nh = ihl + 8;
                    if ip.len() < nh + 20 {
                        return None;
                    }
                }
            }
        }
        let h = &ip[nh..];
        let src = read_be32(h, 12)? & (self.src_mask >> 96) as u32;
        let dst = read_be32(h, 16)? & (self.dst_mask >> 96) as u32;
        let proto = h[9];
        let frag = u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0;
        let mut ports = 0;
        if proto != IPPROTO_ICMP && !frag {
            if let Some(off) = ports_offset(proto) {
                let at = nh + usize::from(h[0] & 0x0f) * 4 + off;
                if let Some(raw) = read_be32(ip, at) {
                    ports = self.ports(raw);
                }
            }
        }
        Some(self.mark(src, dst, ports, proto))
    }

    /// The mark from a connection (`--hmark-tuple ct`, hmark_ct_set_htuple): the original
    /// direction's source and port, the reply direction's source and port (IPv4
    /// addresses in the top 32 bits, as `v4_mask`). Only ICMP goes without ports: an
    /// ICMPv6 connection hashes its identifier as the kernel does.
    pub fn mark_for_conn(
        &self,
        proto: u8,
        orig_src: u128,
        orig_sport: u16,
        reply_src: u128,
        reply_sport: u16,
    ) -> u32 {
        let ports = if proto == IPPROTO_ICMP {
            0
        } else {
            self.ports(u32::from(orig_sport) << 16 | u32::from(reply_sport))
        };
        let (src, dst) = if self.v6 {
            (
                fold6(orig_src, self.src_mask),
                fold6(reply_src, self.dst_mask),
            )
        } else {
            (
                ((orig_src & self.src_mask) >> 96) as u32,
                ((reply_src & self.dst_mask) >> 96) as u32,
            )
        };
        self.mark(src, dst, ports, proto)
    }

    /// The mark for an IPv6 packet (trimmed to its payload length), hashed from its
    /// headers as hmark_pkt_set_htuple_ipv6: the header chain walked as ipv6_find_hdr with
    /// IP6_FH_F_AUTH (an AH header ends it: its SPI stands for the ports), an ICMPv6 error
    /// hashed by the packet it quotes, no ports for ICMPv6 or any fragment (the first
    /// included). `None` leaves the mark (a quoted header that is not there); a chain the
    /// walk refuses hashes all zeros, as the kernel's zeroed tuple does.
    pub fn mark_for_packet6(&self, ip: &[u8]) -> Option<u32> {
        let Some(mut found) = find_hdr6(ip, 0) else {
            return Some(self.mark(0, 0, 0, 0));
        };
        let mut hdr = 0usize;
        if !found.frag && found.proto == IPPROTO_ICMPV6 {
            let at = found.offset;
            if let Some(&t) = ip.get(at) {
                // get_inner6_hdr: an error (type 1..127) with its 8 bytes there.
                if t != 0 && t < 128 && ip.len() >= at + 8 {
                    hdr = at + 8;
                    found = find_hdr6(ip, hdr)?;
                }
            }
        }
        let h = ip.get(hdr..hdr + 40)?;
        let addr = |at: usize| u128::from_be_bytes(h[at..at + 16].try_into().unwrap_or([0; 16]));
        let src = fold6(addr(8), self.src_mask);
        let dst = fold6(addr(24), self.dst_mask);
        let mut ports = 0;
        if found.proto != IPPROTO_ICMPV6 && !found.frag {
            if let Some(off) = ports_offset(found.proto) {
                if let Some(raw) = read_be32(ip, found.offset + off) {
                    ports = self.ports(raw);
                }
            }
        }
        Some(self.mark(src, dst, ports, found.proto))
    }

    /// The kernel's `checkentry`: a set SPI and set ports do not go together (iptables
    /// itself refuses a mod of 0 and an SPI mask beside port masks).
    pub fn validate(&self) -> Result<(), String> {
        if self.modulus == 0 {
            return Err("HMARK: modulus must not be 0".into());
        }
        if self.flags & flag::SPI_MASK != 0
            && self.flags & (flag::SPORT_MASK | flag::DPORT_MASK) != 0
        {
            return Err("HMARK: SPI mask and port masks can't be combined".into());
        }
        if self.flags & flag::SPI != 0 && self.flags & (flag::SPORT | flag::DPORT) != 0 {
            return Err("xt_HMARK: spi-set and port-set can't be combined".into());
        }
        Ok(())
    }
}

/// What ipv6_find_hdr(skb, &off, -1, &fragoff, IP6_FH_F_AUTH) reports.
struct Found6 {
    proto: u8,
    /// Offset of the header `proto` names.
    offset: usize,
    /// A fragment header was passed (IP6_FH_F_FRAG), first fragment or not.
    frag: bool,
}

/// ipv6_find_hdr with no target and IP6_FH_F_AUTH over the IPv6 header at `start`: the
/// extension headers passed up to the upper layer, AH (where it stops), ESP or
/// no-next-header; a non-first fragment ends at its fragment header's next header.
/// `None` where the kernel returns an error (a header cut short, not version 6, a
/// non-first fragment followed by another extension header).
fn find_hdr6(ip: &[u8], start: usize) -> Option<Found6> {
    const HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const DSTOPTS: u8 = 60;
    let is_ext = |nh: u8| matches!(nh, HOP | ROUTING | FRAGMENT | DSTOPTS | 51 | 59);
    let fixed = ip.get(start..start.checked_add(40)?)?;
    if fixed[0] >> 4 != 6 {
        return None;
    }
    let mut nh = fixed[6];
    let mut at = start + 40;
    let mut frag = false;
    loop {
        let len = match nh {
            HOP | ROUTING | DSTOPTS => (usize::from(*ip.get(at + 1)?) + 1) * 8,
            FRAGMENT => {
                frag = true;
                let off = u16::from_be_bytes([*ip.get(at + 2)?, *ip.get(at + 3)?]) & !7;
                let next = ip[at];
                if off != 0 {
                    if is_ext(next) && next != 59 {
                        return None;
                    }
                    return Some(Found6 {
                        proto: next,
                        offset: at,
                        frag,
                    });
                }
                8
            }
            // AH with IP6_FH_F_AUTH, and every non-extension header, end the walk.
            _ => break,
        };
        nh = *ip.get(at)?;
        at = at.checked_add(len)?;
    }
    Some(Found6 {
        proto: nh,
        offset: at,
        frag,
    })
}

impl crate::ruleset::ext::TargetExt for HmarkTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "HMARK";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        HmarkTarget::validate(self)
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        let mark = match (self.ct(), cx.is_ipv6()) {
            (true, false) => cx.entry().map(|e| {
                self.mark_for_conn(
                    e.orig.proto,
                    v4_mask(u32::from(e.orig.src)),
                    e.orig.sport,
                    v4_mask(u32::from(e.reply.src)),
                    e.reply.sport,
                )
            }),
            (true, true) => cx.entry6().map(|e| {
                self.mark_for_conn(
                    e.orig.proto,
                    u128::from(e.orig.src),
                    e.orig.sport,
                    u128::from(e.reply.src),
                    e.reply.sport,
                )
            }),
            (false, false) => self.mark_for_packet(cx.packet()),
            (false, true) => self.mark_for_packet6(cx.packet()),
        };
        if let Some(m) = mark {
            cx.set_mark(m);
        }
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 header (20 bytes) and `l4`.
    fn ip(proto: u8, src: [u8; 4], dst: [u8; 4], frag: u16, l4: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x45,
            0,
            0,
            0,
            0,
            0,
            (frag >> 8) as u8,
            frag as u8,
            64,
            proto,
            0,
            0,
        ];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(l4);
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p
    }

    fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut l4 = Vec::new();
        l4.extend_from_slice(&sport.to_be_bytes());
        l4.extend_from_slice(&dport.to_be_bytes());
        l4.extend_from_slice(&[0, 9, 0, 0, b'x']);
        ip(17, src, dst, 0, &l4)
    }

    /// `--hmark-tuple src,dst,sport,dport,proto --hmark-rnd 0xfeedcafe --hmark-mod
    /// 4294967295`.
    fn five_tuple() -> HmarkTarget {
        HmarkTarget {
            flags: flag::SADDR_MASK
                | flag::DADDR_MASK
                | flag::SPORT_MASK
                | flag::DPORT_MASK
                | flag::PROTO_MASK
                | flag::RND
                | flag::MODULUS,
            src_mask: u128::MAX,
            dst_mask: u128::MAX,
            port_mask: u32::MAX,
            proto_mask: 0xffff,
            rnd: 0xfeed_cafe,
            modulus: u32::MAX,
            ..Default::default()
        }
    }

    /// `--hmark-src-prefix 16 --hmark-tuple dst --hmark-rnd 0x12345678 --hmark-mod
    /// 1000003 --hmark-offset 100`.
    fn addresses_only() -> HmarkTarget {
        HmarkTarget {
            flags: flag::SADDR_MASK | flag::DADDR_MASK | flag::RND | flag::MODULUS | flag::OFFSET,
            src_mask: v4_mask(0xffff_0000),
            dst_mask: u128::MAX,
            rnd: 0x1234_5678,
            modulus: 1_000_003,
            offset: 100,
            ..Default::default()
        }
    }

    /// Marks Linux 6.18 gave these packets (`-j CONNMARK --save-mark` after the rule,
    /// read back with `conntrack -L`), all 32 bits.
    #[test]
    fn marks_are_the_kernels() {
        let h = five_tuple();
        let cases = [
            ([10, 1, 2, 3], [10, 1, 2, 3], 40000, 80, 1_542_267_054),
            ([127, 0, 0, 1], [127, 0, 0, 1], 5353, 53, 1_255_617_589),
            ([10, 1, 2, 3], [10, 200, 0, 1], 1, 65535, 3_268_233_845),
        ];
        for (s, d, sp, dp, mark) in cases {
            assert_eq!(h.mark_for_packet(&udp(s, d, sp, dp)), Some(mark));
            // The other direction hashes alike.
            assert_eq!(h.mark_for_packet(&udp(d, s, dp, sp)), Some(mark));
        }
        // An echo request: no ports.
        let echo = ip(
            1,
            [10, 1, 2, 3],
            [10, 9, 8, 7],
            0,
            &[8, 0, 0, 0, 0, 1, 0, 1],
        );
        assert_eq!(addresses_only().mark_for_packet(&echo), Some(725_527));
        // A port unreachable is hashed by the header it quotes (proto not in the hash).
        for (s, d, mark) in [
            ([10, 1, 2, 3], [10, 1, 2, 3], 274_457),
            ([127, 0, 0, 1], [127, 0, 0, 1], 970_586),
            ([10, 1, 2, 3], [10, 200, 0, 1], 889_087),
        ] {
            let mut l4 = vec![3, 3, 0, 0, 0, 0, 0, 0];
            l4.extend_from_slice(&udp(s, d, 1, 2));
            let err = ip(1, d, s, 0, &l4);
            assert_eq!(addresses_only().mark_for_packet(&err), Some(mark));
        }
    }

    #[test]
    fn fragments_and_short_headers_hash_no_ports() {
        let h = five_tuple();
        let whole = udp([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000);
        let none = h.mark(0x0a00_0001, 0x0a00_0002, 0, 17);
        assert_ne!(h.mark_for_packet(&whole), Some(none));
        let mut first = whole.clone();
        first[6] = 0x20; // MF
        assert_eq!(h.mark_for_packet(&first), Some(none));
        let short = ip(17, [10, 0, 0, 1], [10, 0, 0, 2], 0, &[0x03, 0xe8]);
        assert_eq!(h.mark_for_packet(&short), Some(none));
        // An ICMP error too short for the header it quotes leaves the mark alone.
        let cut = ip(
            1,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            0,
            &[3, 1, 0, 0, 0, 0, 0, 0, 0x45, 0],
        );
        assert_eq!(h.mark_for_packet(&cut), None);
        assert_eq!(h.mark_for_packet(&whole[..19]), None);
    }

    #[test]
    fn spi_masks_and_sets_as_ports() {
        // ESP: the SPI is the ports word; AH: 4 bytes in.
        let mut h = five_tuple();
        h.port_mask = 0xffff_00ff;
        h.port_set = 0x500;
        let spi = [0xab, 0xcd, 0x00, 0x09];
        let esp = ip(50, [10, 0, 0, 1], [10, 0, 0, 2], 0, &spi);
        let mut ah_l4 = vec![6, 4, 0, 0];
        ah_l4.extend_from_slice(&spi);
        let ah = ip(51, [10, 0, 0, 1], [10, 0, 0, 2], 0, &ah_l4);
        // (0xabcd0009 & 0xffff00ff) | 0x500 = 0xabcd0509, halves in order.
        let ports = 0xabcd_0509;
        assert_eq!(
            h.mark_for_packet(&esp),
            Some(h.mark(0x0a00_0001, 0x0a00_0002, ports, 50))
        );
        assert_eq!(
            h.mark_for_packet(&ah),
            Some(h.mark(0x0a00_0001, 0x0a00_0002, ports, 51))
        );
        // Halves swapped when the low one is larger.
        assert_eq!(h.ports(0x0001_0002), 0x0502_0001);
    }

    #[test]
    fn conntrack_tuple_both_directions() {
        let h = five_tuple();
        // DNAT: the reply comes from the server behind it; every packet of the flow
        // hashes the original source and the reply source.
        let m = h.mark_for_conn(6, v4_mask(0xc633_6409), 33333, v4_mask(0xc0a8_0114), 80);
        assert_eq!(m, h.mark(0xc0a8_0114, 0xc633_6409, 33333 << 16 | 80, 6));
        // ICMP: no ports even where the tuple has an id.
        assert_eq!(
            h.mark_for_conn(1, v4_mask(1), 77, v4_mask(2), 77),
            h.mark(1, 2, 0, 1)
        );
    }

    #[test]
    fn kernel_checks() {
        let mut h = five_tuple();
        assert!(h.validate().is_ok());
        h.flags |= flag::SPI | flag::SPORT;
        assert!(h.validate().is_err());
        let h = HmarkTarget {
            modulus: 0,
            ..five_tuple()
        };
        assert!(h.validate().is_err());
    }

    /// An IPv6 header from `src` to `dst` (the last 16-bit group of 2001:db8::/32 given)
    /// with `next` and `rest` (extension headers and upper layer) after it.
    fn ip6(src: u16, dst: u16, next: u8, rest: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 0, next, 64];
        p[4..6].copy_from_slice(&(rest.len() as u16).to_be_bytes());
        for a in [src, dst] {
            p.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            p.extend_from_slice(&a.to_be_bytes());
        }
        p.extend_from_slice(rest);
        p
    }

    fn udp6(src: u16, dst: u16, sport: u16, dport: u16) -> Vec<u8> {
        let mut l4 = Vec::new();
        l4.extend_from_slice(&sport.to_be_bytes());
        l4.extend_from_slice(&dport.to_be_bytes());
        l4.extend_from_slice(&[0, 9, 0, 0, b'x']);
        ip6(src, dst, 17, &l4)
    }

    fn five_tuple6() -> HmarkTarget {
        HmarkTarget {
            v6: true,
            ..five_tuple()
        }
    }

    /// 2001:db8::X folded: the words XORed (0x20010db8 ^ 0 ^ 0 ^ X).
    fn folded(x: u16) -> u32 {
        0x2001_0db8 ^ u32::from(x)
    }

    #[test]
    fn ipv6_folds_masked_addresses_and_hashes_both_directions_alike() {
        let h = five_tuple6();
        let p = udp6(1, 2, 1000, 53);
        let want = h.mark(folded(1), folded(2), 1000 << 16 | 53, 17);
        assert_eq!(h.mark_for_packet6(&p), Some(want));
        assert_eq!(h.mark_for_packet6(&udp6(2, 1, 53, 1000)), Some(want));
        // A /64 source prefix: hosts of one /64 hash alike.
        let h64 = HmarkTarget {
            src_mask: u128::MAX << 64,
            ..h
        };
        assert_eq!(
            h64.mark_for_packet6(&udp6(1, 2, 1000, 53)),
            h64.mark_for_packet6(&udp6(7, 2, 1000, 53))
        );
        assert_eq!(
            h64.mark_for_packet6(&p),
            Some(h64.mark(0x2001_0db8, folded(2), 1000 << 16 | 53, 17))
        );
        // Behind a destination options header: the same ports.
        let mut l4 = vec![17, 0, 1, 4, 0, 0, 0, 0];
        l4.extend_from_slice(&p[40..]);
        assert_eq!(h.mark_for_packet6(&ip6(1, 2, 60, &l4)), Some(want));
    }

    #[test]
    fn ipv6_icmp_errors_ah_and_fragments() {
        let h = five_tuple6();
        // A port unreachable quoting the datagram: hashed by the quote, protocol and all.
        let quoted = udp6(1, 2, 1000, 53);
        let mut err = vec![1, 4, 0, 0, 0, 0, 0, 0];
        err.extend_from_slice(&quoted);
        let err = ip6(9, 1, 58, &err);
        assert_eq!(h.mark_for_packet6(&err), h.mark_for_packet6(&quoted));
        // Cut inside the quoted header: the mark stays.
        assert_eq!(h.mark_for_packet6(&err[..40 + 8 + 30]), None);
        // An echo request: no ports.
        let echo = ip6(1, 2, 58, &[128, 0, 0, 0, 0, 7, 0, 1]);
        assert_eq!(
            h.mark_for_packet6(&echo),
            Some(h.mark(folded(1), folded(2), 0, 58))
        );
        // AH ends the walk (IP6_FH_F_AUTH): its SPI, 4 bytes in, stands for the ports.
        let mut ah = vec![6, 1, 0, 0, 0xab, 0xcd, 0x00, 0x09, 0, 0, 0, 1];
        ah.extend_from_slice(&[0; 20]);
        assert_eq!(
            h.mark_for_packet6(&ip6(1, 2, 51, &ah)),
            Some(h.mark(folded(1), folded(2), 0xabcd_0009, 51))
        );
        // Any fragment, the first included: no ports.
        let mut frag = vec![17, 0, 0, 1, 0, 0, 0, 5];
        frag.extend_from_slice(&quoted[40..]);
        let none = Some(h.mark(folded(1), folded(2), 0, 17));
        assert_eq!(h.mark_for_packet6(&ip6(1, 2, 44, &frag)), none);
        frag[2..4].copy_from_slice(&[0, 8]);
        assert_eq!(h.mark_for_packet6(&ip6(1, 2, 44, &frag)), none);
        // A header cut short: the kernel's zeroed tuple.
        assert_eq!(
            h.mark_for_packet6(&ip6(1, 2, 60, &[17])),
            Some(h.mark(0, 0, 0, 0))
        );
    }

    #[test]
    fn ipv6_conntrack_tuple_keeps_icmpv6_ids() {
        let h = five_tuple6();
        let (a, b) = (0x2001_0db8_u128 << 96 | 1, 0x2001_0db8_u128 << 96 | 2);
        assert_eq!(
            h.mark_for_conn(58, a, 77, b, 77),
            h.mark(folded(1), folded(2), 77 << 16 | 77, 58)
        );
    }
}
