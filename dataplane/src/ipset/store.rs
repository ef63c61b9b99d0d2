//! The hash tables behind the hash:* types: exact keys in one table, and for the types
//! with a network part one table per prefix length present, probed longest first (the
//! kernel keeps the same per-set list of CIDRs in use).

use super::elem::ElemExt;
use crate::hash::mix64;
use std::hash::{BuildHasherDefault, Hash, Hasher};

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
}

pub type Map<K> = hashbrown::HashMap<K, ElemExt, BuildHasherDefault<KeyHasher>>;

/// Elements keyed by `K`, which includes a network masked to `len` bits; one table per
/// prefix length in use.
#[derive(Clone, Debug)]
pub struct PrefixStore<K> {
    /// Indexed by prefix length 0..=32.
    tables: Vec<Map<K>>,
    /// Prefix lengths with at least one element, longest first.
    lens: Vec<u8>,
    len: usize,
}

impl<K> Default for PrefixStore<K> {
    fn default() -> Self {
        PrefixStore {
            tables: (0..=32).map(|_| Map::default()).collect(),
            lens: Vec::new(),
            len: 0,
        }
    }
}

impl<K: Hash + Eq + Clone> PrefixStore<K> {
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
        if t.insert(key, ext).is_none() {
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
pub fn masked(addr: u32, prefix: u8) -> u32 {
    crate::ruleset::prefix_mask(prefix) & addr
}
