//! The hash tables behind the hash:* types: exact keys in one table, and for the types
//! with a network part one table per prefix length present, probed longest first (the
//! kernel keeps the same per-set list of CIDRs in use).

use super::elem::ElemExt;
use super::PacketAddrs;
use crate::hash::mix64;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Keys here are a few integers: fold them and finish with `mix64` instead of SipHash.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u8(&mut self, v: u8) {
        self.0 = self.0.rotate_left(8) ^ u64::from(v);
    }
    fn write_u16(&mut self, v: u16) {
        self.0 = self.0.rotate_left(16) ^ u64::from(v);
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(v);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix64(self.0 ^ v);
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = mix64(self.0 ^ (v >> 64) as u64) ^ v as u64;
    }
}

pub type Map<K> = hashbrown::HashMap<K, ElemExt, BuildHasherDefault<KeyHasher>>;

/// A set's address type: `u32` for `family inet`, `u128` for `family inet6` (the
/// kernel's `ipv4`/`ipv6` variants of each hash type, here one generic code path).
pub trait SetAddr:
    Copy
    + Eq
    + Ord
    + Hash
    + Default
    + std::fmt::Debug
    + std::ops::BitAnd<Output = Self>
    + Send
    + Sync
    + 'static
{
    /// The host prefix length (the kernel's HOST_MASK).
    const BITS: u8;
    /// The netmask of `len` bits.
    fn mask(len: u8) -> Self;
    /// The network part at `len` bits.
    fn masked(self, len: u8) -> Self;
    /// The last address of the network `self`/`len`.
    fn last(self, len: u8) -> Self;
    /// The /16 this address is in (its top 16 bits): the prefix filter's index.
    fn slash16(self) -> u32;
    fn to_ip(self) -> IpAddr;
    /// `None` for an address of the other family.
    fn from_ip(a: IpAddr) -> Option<Self>;
    /// The packet's source or destination address, `None` for a packet of the other
    /// family (`ip_set_test`'s family check: no match).
    fn of_packet(addrs: &PacketAddrs, src: bool) -> Option<Self>;
}

impl SetAddr for u32 {
    const BITS: u8 = 32;
    fn mask(len: u8) -> u32 {
        crate::ruleset::prefix_mask(len)
    }
    #[inline]
    fn masked(self, len: u8) -> u32 {
        crate::ruleset::prefix_mask(len) & self
    }
    fn last(self, len: u8) -> u32 {
        self | !crate::ruleset::prefix_mask(len)
    }
    #[inline]
    fn slash16(self) -> u32 {
        self >> 16
    }
    fn to_ip(self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(self))
    }
    fn from_ip(a: IpAddr) -> Option<u32> {
        match a {
            IpAddr::V4(a) => Some(u32::from(a)),
            IpAddr::V6(_) => None,
        }
    }
    #[inline]
    fn of_packet(addrs: &PacketAddrs, src: bool) -> Option<u32> {
        match *addrs {
            PacketAddrs::V4 { src: s, dst: d } => Some(if src { s } else { d }),
            PacketAddrs::V6 { .. } => None,
        }
    }
}

impl SetAddr for u128 {
    const BITS: u8 = 128;
    fn mask(len: u8) -> u128 {
        crate::ruleset::prefix_mask6(len)
    }
    #[inline]
    fn masked(self, len: u8) -> u128 {
        crate::ruleset::prefix_mask6(len) & self
    }
    fn last(self, len: u8) -> u128 {
        self | !crate::ruleset::prefix_mask6(len)
    }
    #[inline]
    fn slash16(self) -> u32 {
        (self >> 112) as u32
    }
    fn to_ip(self) -> IpAddr {
        IpAddr::V6(Ipv6Addr::from(self))
    }
    fn from_ip(a: IpAddr) -> Option<u128> {
        match a {
            IpAddr::V6(a) => Some(u128::from(a)),
            IpAddr::V4(_) => None,
        }
    }
    #[inline]
    fn of_packet(addrs: &PacketAddrs, src: bool) -> Option<u128> {
        match *addrs {
            PacketAddrs::V6 { src: s, dst: d } => Some(if src { s } else { d }),
            PacketAddrs::V4 { .. } => None,
        }
    }
}

/// A key with a network address in it.
pub trait NetKey {
    type Addr: SetAddr;
    fn net(&self) -> Self::Addr;
}

impl NetKey for u32 {
    type Addr = u32;
    fn net(&self) -> u32 {
        *self
    }
}

impl NetKey for u128 {
    type Addr = u128;
    fn net(&self) -> u128 {
        *self
    }
}

/// Bits of the /16 filter: one per /16 of the address space.
const SLASH16_WORDS: usize = (1 << 16) / 64;

/// Elements keyed by `K`, which includes a network masked to `len` bits; one table per
/// prefix length in use, and a filter of the /16s (the top 16 bits of the address, for
/// IPv6 too) any element overlaps, so that an
/// address no element can hold (most of a blocklist's traffic) is answered without a
/// probe per prefix length.
#[derive(Clone, Debug)]
pub struct PrefixStore<K> {
    /// Indexed by prefix length 0..=BITS.
    tables: Vec<Map<K>>,
    /// Prefix lengths with at least one element, longest first.
    lens: Vec<u8>,
    len: usize,
    /// Bit `a >> 16`: some element overlaps that /16 (empty until the first insert; a
    /// delete leaves its bits: the filter may say yes wrongly, never no).
    slash16: Vec<u64>,
}

impl<K: NetKey> Default for PrefixStore<K> {
    fn default() -> Self {
        PrefixStore {
            tables: (0..=K::Addr::BITS).map(|_| Map::default()).collect(),
            lens: Vec::new(),
            len: 0,
            slash16: Vec::new(),
        }
    }
}

impl<K: Hash + Eq + Clone + NetKey> PrefixStore<K> {
    /// Whether some element may hold `addr` (false: none does).
    #[inline]
    pub fn may_hold(&self, addr: K::Addr) -> bool {
        let i = addr.slash16() as usize;
        self.slash16
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn cover(&mut self, net: K::Addr, prefix: u8) {
        if self.slash16.is_empty() {
            self.slash16 = vec![0; SLASH16_WORDS];
        }
        for i in net.slash16()..=net.last(prefix).slash16() {
            self.slash16[i as usize / 64] |= 1 << (i % 64);
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn get(&self, prefix: u8, key: &K) -> Option<&ElemExt> {
        self.tables.get(usize::from(prefix))?.get(key)
    }
    pub fn insert(&mut self, prefix: u8, key: K, ext: ElemExt) {
        let Some(t) = self.tables.get_mut(usize::from(prefix)) else {
            return;
        };
        let net = masked(key.net(), prefix);
        if t.insert(key, ext).is_none() {
            self.cover(net, prefix);
            self.len += 1;
            if !self.lens.contains(&prefix) {
                self.lens.push(prefix);
                self.lens.sort_unstable_by(|a, b| b.cmp(a));
            }
        }
    }
    pub fn remove(&mut self, prefix: u8, key: &K) -> bool {
        let Some(t) = self.tables.get_mut(usize::from(prefix)) else {
            return false;
        };
        if t.remove(key).is_none() {
            return false;
        }
        self.len -= 1;
        if t.is_empty() {
            self.lens.retain(|l| *l != prefix);
        }
        true
    }
    /// Prefix lengths in use, longest first.
    pub fn prefixes(&self) -> &[u8] {
        &self.lens
    }
    /// Every element with its prefix length.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &K, &ElemExt)> {
        self.lens.iter().flat_map(move |l| {
            self.tables[usize::from(*l)]
                .iter()
                .map(move |(k, e)| (*l, k, e))
        })
    }
    pub fn clear(&mut self) {
        *self = PrefixStore::default();
    }
}

/// The network part of `addr` at `prefix` bits.
#[inline]
pub fn masked<A: SetAddr>(addr: A, prefix: u8) -> A {
    addr.masked(prefix)
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    fn a(s: &str) -> u32 {
        u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
    }

    /// The /16 filter never says no for an address an element holds, at any prefix
    /// length, and says no for the /16s no element touches.
    #[test]
    fn the_slash16_filter_covers_every_element() {
        let mut s: PrefixStore<u32> = PrefixStore::default();
        assert!(!s.may_hold(a("10.0.0.1")), "an empty set holds nothing");
        for (net, len) in [("10.1.2.0", 24), ("172.16.0.0", 12), ("192.168.7.7", 32)] {
            s.insert(len, masked(a(net), len), ElemExt::default());
        }
        for yes in [
            "10.1.2.200",
            "10.1.99.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.7.7",
        ] {
            assert!(s.may_hold(a(yes)), "{yes}");
        }
        for no in [
            "10.2.0.1",
            "172.32.0.0",
            "172.15.255.255",
            "192.169.0.1",
            "8.8.8.8",
        ] {
            assert!(!s.may_hold(a(no)), "{no}");
        }
        // A /0 covers everything; a delete leaves the filter conservative.
        s.insert(0, 0, ElemExt::default());
        assert!(s.may_hold(a("8.8.8.8")));
        assert!(s.remove(0, &0));
        assert!(s.may_hold(a("8.8.8.8")));
        s.clear();
        assert!(!s.may_hold(a("10.1.2.200")));
    }
}
