//! The tuple index: both tuples of every connection map to its id and direction.
//! Open addressing with linear probing over one `u64` a slot: the hash's high 32 bits
//! (tag, and the home slot below the mask) above `value + 1` (0 is an empty slot, so a
//! fresh table is zeroed memory whose pages cost nothing until used). 8 bytes a tuple
//! at a load of at most 3/4, and a lookup's first touch is one known slot, which a burst
//! can load for all its packets before it looks at any (`candidate`). Keys live in the
//! entries: the caller verifies a tag match there.

pub struct TupleIndex {
    /// Straight from the kernel: a table that grows returns the old slots, and huge
    /// pages back a large one (a random probe then costs no page walk).
    slots: memhint::ZeroedU64s,
    len: usize,
}

/// Slots in a 64-byte cache line (the mapping is page aligned).
const SLOTS_PER_LINE: usize = 8;

/// `TupleIndex::candidate`'s answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Candidate {
    /// The first value with the tag (its entry still to be verified).
    Value(u32),
    /// The tag is not indexed.
    Absent,
    /// Neither is known before the next cache line.
    Beyond,
}

/// A hash's tag (which also picks its home slot).
#[inline]
fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl TupleIndex {
    /// A table for `tuples` tuples without growing.
    pub fn with_capacity(tuples: usize) -> TupleIndex {
        let slots = (tuples.max(12) * 4 / 3 + 1).next_power_of_two();
        TupleIndex {
            slots: memhint::ZeroedU64s::new(slots),
            len: 0,
        }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Starts loading the slot where a search for `hash` starts.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        memhint::prefetch_read(&self.slots[tag(hash) as usize & self.mask()]);
    }

    /// What the home slot's cache line (the line `prefetch` loads) says about `hash`:
    /// the first value with its tag from the home slot on, that no such value is
    /// indexed (an empty slot comes first), or that the search goes on past the line.
    /// A burst reads it to prefetch the entry `find` will most likely end at: 3 in 10
    /// keys at a load of 0.6 sit past their home slot, about 1 in 12 past its line.
    #[inline]
    pub fn candidate(&self, hash: u64) -> Candidate {
        let t = tag(hash);
        let mut i = t as usize & self.mask();
        loop {
            let s = self.slots[i];
            if s == 0 {
                return Candidate::Absent;
            }
            if tag(s) == t {
                return Candidate::Value((s as u32).wrapping_sub(1));
            }
            i += 1;
            if i.is_multiple_of(SLOTS_PER_LINE) {
                return Candidate::Beyond;
            }
        }
    }

    /// Starts loading the cache line after the home slot's (a `Candidate::Beyond`).
    #[inline]
    pub fn prefetch_next_line(&self, hash: u64) {
        let next = (tag(hash) as usize | (SLOTS_PER_LINE - 1)) + 1;
        memhint::prefetch_read(&self.slots[next & self.mask()]);
    }

    /// The first value with `hash`'s tag, wherever its search ends (no entry read).
    #[inline]
    pub fn first_with_tag(&self, hash: u64) -> Option<u32> {
        self.find(hash, |_| true)
    }

    /// The first value with `hash`'s tag for which `eq` holds.
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let mask = self.mask();
        let t = tag(hash);
        let mut i = t as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if tag(s) == t {
                let v = (s as u32).wrapping_sub(1);
                if eq(v) {
                    return Some(v);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether some tuple with `hash`'s tag is indexed: `find` without reading any entry.
    /// A tag names its tuple but for a 1 in 2^32 collision, so a `true` is taken as "in
    /// use" where a wrong answer only costs a skipped candidate (the NAT port search).
    #[inline]
    pub fn has_tag(&self, hash: u64) -> bool {
        self.first_with_tag(hash).is_some()
    }

    /// Adds `value` (< u32::MAX) under `hash`; the caller knows the key is absent.
    /// Inlined without `grow` (cold): every new connection inserts two tuples.
    #[inline]
    pub fn insert(&mut self, hash: u64, value: u32) {
        debug_assert!(value != u32::MAX);
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.place(u64::from(tag(hash)) << 32 | u64::from(value + 1));
        self.len += 1;
    }

    #[inline]
    fn place(&mut self, s: u64) {
        let mask = self.mask();
        let mut i = tag(s) as usize & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = s;
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let bigger = memhint::ZeroedU64s::new(self.slots.len() * 2);
        let old = std::mem::replace(&mut self.slots, bigger);
        for &s in old.iter().filter(|&&s| s != 0) {
            self.place(s);
        }
    }

    /// Removes `value` stored under `hash`; false when it is not there.
    pub fn remove(&mut self, hash: u64, value: u32) -> bool {
        let mask = self.mask();
        let want = u64::from(tag(hash)) << 32 | u64::from(value.wrapping_add(1));
        let mut hole = tag(hash) as usize & mask;
        loop {
            let s = self.slots[hole];
            if s == 0 {
                return false;
            }
            if s == want {
                break;
            }
            hole = (hole + 1) & mask;
        }
        // Backward shift (no tombstones): pull up every later slot of the run whose
        // home is not between the hole and it.
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s == 0 {
                break;
            }
            let home = tag(s) as usize & mask;
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = 0;
        self.len -= 1;
        true
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes of the slot array.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.slots.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::mix64;

    /// Pairs of keys share a whole hash and many share a home: long runs, wrap-around,
    /// backward shifts and tag matches the key check must reject.
    fn hash_of(key: u64) -> u64 {
        let pair = key / 2;
        u64::from(mix64(pair) as u32 & 0xffff_ff00 | (pair % 251) as u32) << 32
    }

    /// Against a std map: fixed-seed random inserts and removes.
    #[test]
    fn matches_a_map_under_churn() {
        let mut ix = TupleIndex::with_capacity(0);
        let mut model = std::collections::HashMap::new();
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut beyond = 0;
        for step in 0..100_000u64 {
            x = mix64(x.wrapping_add(step));
            let key = x % 2000;
            if let Some(&v) = model.get(&key) {
                if x & 0x100 == 0 {
                    assert!(ix.remove(hash_of(key), v));
                    model.remove(&key);
                }
            } else {
                let v = (key as u32) * 2 + 1;
                ix.insert(hash_of(key), v);
                model.insert(key, v);
            }
            if step % 997 == 0 {
                for k in 0..2000u64 {
                    let got = ix.find(hash_of(k), |v| u64::from(v / 2) == k);
                    assert_eq!(got, model.get(&k).copied(), "key {k} at step {step}");
                }
                assert!(!ix.remove(hash_of(3000), 6001));
                for k in 0..2000u64 {
                    // A present key's tag is always there; an absent key's only when it
                    // shares its tag with a present one (these hashes collide on purpose).
                    let shares_tag = model.keys().any(|p| hash_of(*p) >> 32 == hash_of(k) >> 32);
                    assert_eq!(ix.has_tag(hash_of(k)), shares_tag, "key {k}");
                    // The home line's answer agrees with the whole search.
                    let first = ix.first_with_tag(hash_of(k));
                    match ix.candidate(hash_of(k)) {
                        Candidate::Value(v) => assert_eq!(Some(v), first, "key {k}"),
                        Candidate::Absent => assert_eq!(first, None, "key {k}"),
                        Candidate::Beyond => beyond += 1,
                    }
                }
            }
        }
        assert_eq!(ix.len(), model.len());
        assert!(beyond > 0, "no search went past its home line");
    }

    #[test]
    fn stays_under_three_quarters() {
        let mut ix = TupleIndex::with_capacity(0);
        for i in 0..100_000u32 {
            ix.insert(mix64(u64::from(i)), i);
        }
        assert!(ix.len() * 4 <= ix.bytes() / 8 * 3);
        assert_eq!(ix.bytes(), 131_072 * 2 * 8);
    }
}
