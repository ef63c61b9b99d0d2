//! What the table needs from an address family (the kernel's l3proto part of
//! nf_conntrack: nf_conntrack_ipv4 / nf_conntrack_ipv6). The table is generic over it and
//! monomorphized per family, so IPv4 pays for no dispatch and keeps its one-line entry.

use super::tuple::Tuple;
use super::CtConfig;
use crate::wire::{checksum, ipv6, IpProtocol};
use std::fmt::Debug;
use std::hash::{BuildHasher, Hash};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The L3 facts conntrack reads from a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L3<A> {
    pub src: A,
    pub dst: A,
    /// The upper-layer protocol.
    pub proto: u8,
    /// Where the upper-layer header starts and where the packet's payload ends.
    pub l4_start: usize,
    pub l4_end: usize,
    /// May start or match a connection: not a fragment (those are reassembled first) and
    /// well formed as an outermost header. A quoted packet in an ICMP error is read
    /// whatever this says, as the kernel reads it.
    pub trackable: bool,
}

/// How an ICMP message of the family is tracked (by its type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpClass {
    /// RELATED to the connection of the packet it quotes.
    Error,
    /// Never tracked (IPv6 neighbour discovery and MLD: `noct_valid_new`).
    Untracked,
    /// A query, reply or other message, tracked by id.
    Query,
}

/// `Into<IpAddr>`: what reads an address of either family (conntrack's filters).
pub trait CtAddr:
    Copy + Eq + Hash + Debug + std::fmt::Display + Send + Sync + 'static + Into<std::net::IpAddr>
{
    /// The first two columns of /proc/net/nf_conntrack: `ipv4     2 `.
    const PROC_PREFIX: &'static str;
    /// The family's ICMP protocol number and its name in listings.
    const ICMP_PROTO: u8;
    const ICMP_NAME: &'static str;

    /// The L3 facts of a packet (or of one quoted in an ICMP error); `None` when the
    /// header is truncated or the upper-layer header cannot be found.
    fn l3(ip: &[u8]) -> Option<L3<Self>>;

    fn icmp_class(icmp_type: u8) -> IcmpClass;

    /// The timeout of the family's ICMP queries.
    fn icmp_timeout(cfg: &CtConfig) -> u32;

    /// ICMP query types and the type of their reply (the kernel's `invmap`).
    fn icmp_reply_type(icmp_type: u8) -> Option<u8>;

    /// The requests that may start a connection (the kernel's `valid_new`).
    fn icmp_starts_connection(icmp_type: u8) -> bool;

    /// The L4 checksum (TCP, UDP, ICMP) of `ip` is right or not checked for its protocol.
    fn l4_checksum_ok(ip: &[u8], l3: &L3<Self>) -> bool;

    fn hash_tuple(hasher: &impl BuildHasher, t: &Tuple<Self>) -> u64;

    /// The address as /proc/net/nf_conntrack prints it.
    fn write_proc(self, out: &mut String);

    /// The address as conntrack-tools print it (glibc's inet_ntop).
    fn write_user(self, out: &mut String);

    /// The tuple when the family is IPv4: what only IPv4 has (FTP expectations, the
    /// conntrack filters' addresses) reads it.
    fn as_v4(t: &Tuple<Self>) -> Option<&Tuple<Ipv4Addr>>;

    /// The tuple's addresses as the multi-core owner directory keeps them (exactly).
    type DirWords: super::owners::AddrWords;
    fn dir_words(t: &Tuple<Self>) -> Self::DirWords;

    /// NAT's address of `lo..=hi` for a connection from `src` to `dst`
    /// (find_best_ips_proto: `nat::pick_addr`, `nat::pick_addr6`).
    fn nat_pick(lo: Self, hi: Self, src: Self, dst: Self, persistent: bool) -> Self;

    /// The address folded to at most 48 bits, to seed NAT's port search.
    fn seed_word(self) -> u64;
}

/// The tuple hash through a full avalanche. foldhash's fast hasher leaves the high bits
/// (the index's tag and home slot) weakly mixed for tuples that differ in a few low bits
/// (a flood's sequential sources and ports): with some of its per-process random seeds
/// the index then forms long runs (a full S6 table averaged ~95 probes per lookup under
/// one seed, against ~2), so how fast conntrack is would depend on the seed the process
/// drew. MurmurHash3's finaliser spreads every input bit over every output bit.
#[inline]
fn spread(hash: u64) -> u64 {
    crate::hash::mix64(hash)
}

impl CtAddr for Ipv4Addr {
    const PROC_PREFIX: &'static str = "ipv4     2 ";
    const ICMP_PROTO: u8 = 1;
    const ICMP_NAME: &'static str = "icmp";

    #[inline]
    fn l3(ip: &[u8]) -> Option<L3<Ipv4Addr>> {
        if ip.len() < 20 {
            return None;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ip.len() < ihl {
            return None;
        }
        Some(L3 {
            src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            proto: ip[9],
            l4_start: ihl,
            l4_end: ip.len(),
            trackable: u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff == 0 && ihl >= 20,
        })
    }

    #[inline]
    fn icmp_class(icmp_type: u8) -> IcmpClass {
        if matches!(icmp_type, 3 | 4 | 5 | 11 | 12) {
            IcmpClass::Error
        } else {
            IcmpClass::Query
        }
    }

    #[inline]
    fn icmp_timeout(cfg: &CtConfig) -> u32 {
        cfg.icmp_timeout
    }

    #[inline]
    fn icmp_reply_type(icmp_type: u8) -> Option<u8> {
        match icmp_type {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    }

    #[inline]
    fn icmp_starts_connection(icmp_type: u8) -> bool {
        matches!(icmp_type, 8 | 13 | 15 | 17)
    }

    #[inline]
    fn l4_checksum_ok(ip: &[u8], l3: &L3<Ipv4Addr>) -> bool {
        let seg = &ip[l3.l4_start..l3.l4_end];
        match l3.proto {
            1 => checksum::data(seg) == 0xffff,
            6 | 17 => {
                if l3.proto == 17 && seg.get(6..8) == Some(&[0, 0][..]) {
                    return true;
                }
                let p = checksum::pseudo_header(
                    l3.src,
                    l3.dst,
                    IpProtocol::from(l3.proto),
                    seg.len() as u32,
                );
                checksum::combine(&[p, checksum::data(seg)]) == 0xffff
            }
            _ => true,
        }
    }

    #[inline]
    fn hash_tuple(hasher: &impl BuildHasher, t: &Tuple<Ipv4Addr>) -> u64 {
        let addrs = u64::from(u32::from(t.src)) << 32 | u64::from(u32::from(t.dst));
        let rest = u64::from(t.sport) << 24 | u64::from(t.dport) << 8 | u64::from(t.proto);
        spread(hasher.hash_one((addrs, rest)))
    }

    fn write_proc(self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }

    fn write_user(self, out: &mut String) {
        self.write_proc(out);
    }

    #[inline]
    fn as_v4(t: &Tuple<Ipv4Addr>) -> Option<&Tuple<Ipv4Addr>> {
        Some(t)
    }

    type DirWords = [u64; 1];
    #[inline(always)]
    fn dir_words(t: &Tuple<Ipv4Addr>) -> [u64; 1] {
        super::owners::v4_words(t)
    }

    #[inline]
    fn nat_pick(lo: Self, hi: Self, src: Self, dst: Self, persistent: bool) -> Self {
        super::nat::pick_addr(lo, hi, src, dst, persistent)
    }

    #[inline]
    fn seed_word(self) -> u64 {
        u64::from(u32::from(self))
    }
}

impl CtAddr for Ipv6Addr {
    const PROC_PREFIX: &'static str = "ipv6     10 ";
    const ICMP_PROTO: u8 = 58;
    const ICMP_NAME: &'static str = "icmpv6";

    /// Skips hop-by-hop, routing, destination options and AH headers to the upper-layer
    /// protocol as the kernel's `ipv6_skip_exthdr` does (reusing `ExtHeaders::parse`, which
    /// also bounds the chain). A fragment is not `trackable`: nf_defrag_ipv6 reassembles
    /// before conntrack (`Defrag6`); an atomic fragment (RFC 6946) is a whole datagram.
    /// A first fragment quoted in an ICMPv6 error is still read, as the kernel reads it;
    /// a later fragment (no upper-layer header) and no-next-header (59) are `None`. For
    /// an outermost packet the payload length must fit (`Packet::check_len`); a quoted one
    /// may be cut short after its headers.
    fn l3(ip: &[u8]) -> Option<L3<Ipv6Addr>> {
        let head = ip.get(..ipv6::HEADER_LEN)?;
        let view = ipv6::Packet::new_unchecked(head);
        let whole = ipv6::Packet::new_checked(ip).is_ok();
        let end = if whole {
            ipv6::HEADER_LEN + usize::from(view.payload_len())
        } else {
            ip.len()
        };
        let ext = ipv6::ExtHeaders::parse(head[6], &ip[ipv6::HEADER_LEN..end]).ok()?;
        let proto = u8::from(ext.protocol);
        let l4_start = ext.upper_offset?;
        if proto == ipv6::next_header::NONE {
            return None;
        }
        Some(L3 {
            src: view.src_addr(),
            dst: view.dst_addr(),
            proto,
            l4_start,
            l4_end: end,
            trackable: whole
                && !ext
                    .fragment
                    .is_some_and(|f| f.more_frags || f.frag_offset != 0),
        })
    }

    /// nf_conntrack_icmpv6_error: types below 128 are errors; neighbour discovery and
    /// MLD (`noct_valid_new`: 130-136, 143) are left untracked.
    #[inline]
    fn icmp_class(icmp_type: u8) -> IcmpClass {
        match icmp_type {
            0..=127 => IcmpClass::Error,
            130..=136 | 143 => IcmpClass::Untracked,
            _ => IcmpClass::Query,
        }
    }

    #[inline]
    fn icmp_timeout(cfg: &CtConfig) -> u32 {
        cfg.icmpv6_timeout
    }

    /// Echo and node information (nf_conntrack_proto_icmpv6's `invmap`).
    #[inline]
    fn icmp_reply_type(icmp_type: u8) -> Option<u8> {
        match icmp_type {
            128 => Some(129),
            129 => Some(128),
            139 => Some(140),
            140 => Some(139),
            _ => None,
        }
    }

    #[inline]
    fn icmp_starts_connection(icmp_type: u8) -> bool {
        matches!(icmp_type, 128 | 139)
    }

    /// TCP, UDP and ICMPv6 over the IPv6 pseudo-header. A zero UDP checksum passes as in
    /// the kernel's udp_error, which does not tell the families apart there.
    fn l4_checksum_ok(ip: &[u8], l3: &L3<Ipv6Addr>) -> bool {
        let seg = &ip[l3.l4_start..l3.l4_end];
        match l3.proto {
            6 | 17 | 58 => {
                if l3.proto == 17 && seg.get(6..8) == Some(&[0, 0][..]) {
                    return true;
                }
                let p = checksum::pseudo_header_ipv6(
                    l3.src,
                    l3.dst,
                    IpProtocol::from(l3.proto),
                    seg.len() as u32,
                );
                checksum::combine(&[p, checksum::data(seg)]) == 0xffff
            }
            _ => true,
        }
    }

    #[inline]
    fn hash_tuple(hasher: &impl BuildHasher, t: &Tuple<Ipv6Addr>) -> u64 {
        let rest = u64::from(t.sport) << 24 | u64::from(t.dport) << 8 | u64::from(t.proto);
        spread(hasher.hash_one((u128::from(t.src), u128::from(t.dst), rest)))
    }

    /// The kernel prints `%pI6`: eight groups of four hex digits, nothing compressed
    /// (`conntrack -L`, through inet_ntop, compresses; Display does that).
    fn write_proc(self, out: &mut String) {
        use std::fmt::Write;
        let s = self.segments();
        let _ = write!(
            out,
            "{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}",
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
        );
    }

    /// Display compresses as inet_ntop does, but for the deprecated IPv4-compatible
    /// form (`::a.b.c.d`, six zero groups then a non-zero one), which glibc prints
    /// dotted and Display in hex (`::102:304`). IPv4-mapped ones agree (`::ffff:a.b.c.d`).
    fn write_user(self, out: &mut String) {
        use std::fmt::Write;
        let s = self.segments();
        let _ = if s[..6] == [0; 6] && s[6] != 0 {
            let [.., a, b, c, d] = self.octets();
            write!(out, "::{}", Ipv4Addr::new(a, b, c, d))
        } else {
            write!(out, "{self}")
        };
    }

    #[inline]
    fn as_v4(_: &Tuple<Ipv6Addr>) -> Option<&Tuple<Ipv4Addr>> {
        None
    }

    type DirWords = [u64; 4];
    #[inline(always)]
    fn dir_words(t: &Tuple<Ipv6Addr>) -> [u64; 4] {
        super::owners::v6_words(t)
    }

    #[inline]
    fn nat_pick(lo: Self, hi: Self, src: Self, dst: Self, persistent: bool) -> Self {
        super::nat::pick_addr6(lo, hi, src, dst, persistent)
    }

    #[inline]
    fn seed_word(self) -> u64 {
        let v = u128::from(self);
        u64::from(crate::hash::mix64(v as u64 ^ (v >> 64) as u64) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foldhash::fast::FixedState;

    /// Linear probing as `TupleIndex` places tuples (home: the hash's high 32 bits),
    /// into 2^18 slots: the mean probes per insert.
    fn mean_probes(hash: impl Fn(&Tuple<Ipv4Addr>) -> u64, tuples: &[Tuple<Ipv4Addr>]) -> f64 {
        let mask = (1usize << 18) - 1;
        let mut used = vec![false; mask + 1];
        let mut probes = 0;
        for t in tuples {
            let mut i = (hash(t) >> 32) as usize & mask;
            probes += 1;
            while used[i] {
                i = (i + 1) & mask;
                probes += 1;
            }
            used[i] = true;
        }
        probes as f64 / tuples.len() as f64
    }

    /// S6's flood, 131,072 SYNs (sequential sources in 100.64.0.0/12 over 1024 source
    /// ports, one server) at a load of 0.5, under 64 fixed hasher seeds: every seed spreads
    /// them as a uniform hash would (~1.4 probes per insert, 1.51 the worst of these 64).
    /// foldhash alone: 5 of these seeds over 1.7, the worst 2.30 (and 7.65 in one of 40
    /// random seeds tried by hand).
    #[test]
    fn the_tuple_hash_spreads_a_floods_sequential_tuples_under_every_seed() {
        let tuples: Vec<Tuple<Ipv4Addr>> = (0..131_072u32)
            .map(|k| Tuple {
                src: Ipv4Addr::from(0x6440_0000 + k / 1024),
                dst: Ipv4Addr::new(198, 51, 100, 80),
                proto: 6,
                sport: 1024 + (k % 1024) as u16,
                dport: 80,
            })
            .collect();
        let mut worst_unspread = 0.0f64;
        for seed in 0..64u64 {
            let h = FixedState::with_seed(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let spread = mean_probes(|t| Ipv4Addr::hash_tuple(&h, t), &tuples);
            assert!(spread < 1.6, "seed {seed}: {spread:.2} probes per insert");
            let unspread = mean_probes(
                |t| {
                    let addrs = u64::from(u32::from(t.src)) << 32 | u64::from(u32::from(t.dst));
                    let rest = u64::from(t.sport) << 24 | u64::from(t.dport) << 8 | 6;
                    h.hash_one((addrs, rest))
                },
                &tuples,
            );
            worst_unspread = worst_unspread.max(unspread);
        }
        // The case the finaliser is for: without it some of these seeds cluster.
        assert!(
            worst_unspread > 1.7,
            "foldhash alone: worst {worst_unspread:.2}"
        );
    }
}
