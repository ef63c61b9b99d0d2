//! The owner directory of multi-core NAT (DESIGN.md "Multi-core NAT"): which worker
//! holds a connection whose reply owner cannot be computed from the packet (its reply
//! tuple, as it arrives on the wire, maps to the worker). Conntrack registers a
//! connection here when it confirms one other workers may receive packets of, and
//! leaves it when the connection dies; the handoff reads it to steer packets.
//!
//! A reply tuple is registered by at most one worker: a second registration of the
//! same tuple by another worker is refused (the connection clashes and its packet is
//! dropped, as the kernel drops a packet whose confirm clashes).
//!
//! One directory per address family (`OwnerDirectory<A>`): a slot keeps the tuple's
//! addresses whole (`CtAddr::DirWords`: one word for IPv4, four for IPv6), so a key
//! matches exactly, and IPv4's slots stay as small as they were.

use super::family::CtAddr;
use super::Tuple;
use crate::hash::mix64;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};

/// Slots looked at for one key at most: bounds every lookup, however many tombstones
/// the table collects. A key that finds no free slot this close is refused (`Full`).
pub const MAX_PROBE: usize = 64;

const LIVE: u64 = 1 << 63;
const TOMBSTONE: u64 = 1 << 62;
/// Mask of the key part of a slot's second word (proto, sport, dport).
const KEY_BITS: u64 = 0x00ff_ffff_ffff_0000;

/// The address words of a directory key: `N` words, kept in a slot as `N` atomics.
pub trait AddrWords: Copy + Eq + Send + Sync + 'static {
    type Atomic: Send + Sync;
    fn new_atomic() -> Self::Atomic;
    fn load(a: &Self::Atomic) -> Self;
    fn store(a: &Self::Atomic, v: Self);
    fn words(&self) -> &[u64];
}

impl<const N: usize> AddrWords for [u64; N] {
    type Atomic = [AtomicU64; N];

    fn new_atomic() -> [AtomicU64; N] {
        std::array::from_fn(|_| AtomicU64::new(0))
    }

    #[inline(always)]
    fn load(a: &[AtomicU64; N]) -> [u64; N] {
        std::array::from_fn(|i| a[i].load(SeqCst))
    }

    #[inline(always)]
    fn store(a: &[AtomicU64; N], v: [u64; N]) {
        for (a, v) in a.iter().zip(v) {
            a.store(v, SeqCst);
        }
    }

    #[inline(always)]
    fn words(&self) -> &[u64] {
        self
    }
}

/// A tuple's addresses as the directory keeps them: (src << 32 | dst) for IPv4; the
/// halves of source and destination for IPv6.
#[inline(always)]
pub fn v4_words(t: &Tuple<Ipv4Addr>) -> [u64; 1] {
    [u64::from(u32::from(t.src)) << 32 | u64::from(u32::from(t.dst))]
}

#[inline(always)]
pub fn v6_words(t: &Tuple<Ipv6Addr>) -> [u64; 4] {
    let (s, d) = (u128::from(t.src), u128::from(t.dst));
    [(s >> 64) as u64, s as u64, (d >> 64) as u64, d as u64]
}

/// One table slot: a seqlock over the address words `addrs` and `rest` (state bits,
/// proto << 48, sport << 32, dport << 16, owner). Readers never block; a writer holds
/// the slot by making `seq` odd.
struct Slot<W: AddrWords> {
    seq: AtomicU32,
    addrs: W::Atomic,
    rest: AtomicU64,
}

impl<W: AddrWords> Default for Slot<W> {
    fn default() -> Self {
        Slot {
            seq: AtomicU32::new(0),
            addrs: W::new_atomic(),
            rest: AtomicU64::new(0),
        }
    }
}

impl<W: AddrWords> Slot<W> {
    /// A consistent (addrs, rest) pair, or `None` while a writer keeps the slot busy.
    #[inline(always)]
    fn read(&self) -> Option<(W, u64)> {
        for _ in 0..16 {
            let s1 = self.seq.load(SeqCst);
            if s1 & 1 == 0 {
                let a = W::load(&self.addrs);
                let r = self.rest.load(SeqCst);
                if self.seq.load(SeqCst) == s1 {
                    return Some((a, r));
                }
            }
            std::hint::spin_loop();
        }
        None
    }

    /// `read`, waiting out a writer (writers hold a slot for a few stores only).
    fn read_waiting(&self) -> (W, u64) {
        loop {
            if let Some(x) = self.read() {
                return x;
            }
        }
    }

    fn try_lock(&self) -> Option<u32> {
        let s = self.seq.load(SeqCst);
        if s & 1 == 1 {
            return None;
        }
        // Hands back the odd value the slot holds while locked.
        self.seq
            .compare_exchange(s, s.wrapping_add(1), SeqCst, SeqCst)
            .ok()
            .map(|_| s.wrapping_add(1))
    }

    /// Writers of one slot only ever overlap briefly (an inserter checking a slot it
    /// saw free): wait for it.
    fn lock(&self) -> u32 {
        loop {
            if let Some(s) = self.try_lock() {
                return s;
            }
            std::hint::spin_loop();
        }
    }

    fn unlock(&self, locked: u32) {
        self.seq.store(locked.wrapping_add(1), SeqCst);
    }
}

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// Another worker registered this tuple first.
    Taken(u16),
    /// No free slot within `MAX_PROBE` of the tuple's home.
    Full,
}

/// Maps a reply-direction tuple of family `A`, as it arrives on the wire, to the worker
/// owning its connection. Shared by all workers; lookups are lock-free reads.
pub struct OwnerDirectory<A: CtAddr = Ipv4Addr> {
    slots: Box<[Slot<A::DirWords>]>,
    mask: usize,
    seed: u64,
    live: AtomicUsize,
    refused_full: AtomicU64,
    refused_taken: AtomicU64,
}

/// The IPv6 tuples' directory.
pub type OwnerDirectory6 = OwnerDirectory<Ipv6Addr>;

#[inline(always)]
fn key<A: CtAddr>(t: &Tuple<A>) -> (A::DirWords, u64) {
    let r = u64::from(t.proto) << 48 | u64::from(t.sport) << 32 | u64::from(t.dport) << 16;
    (A::dir_words(t), r)
}

impl<A: CtAddr> OwnerDirectory<A> {
    /// A directory of at least `capacity` slots (a power of two). Keep it at most half
    /// full: linear probing stays short then.
    pub fn new(capacity: usize) -> OwnerDirectory<A> {
        let n = capacity.max(MAX_PROBE).next_power_of_two();
        // A per-process random seed: tuples an outsider chooses cannot pile up on
        // one probe chain.
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        OwnerDirectory {
            slots: (0..n).map(|_| Slot::default()).collect(),
            mask: n - 1,
            seed,
            live: AtomicUsize::new(0),
            refused_full: AtomicU64::new(0),
            refused_taken: AtomicU64::new(0),
        }
    }

    /// Sized for `nf_conntrack_max` (one shard's maximum): twice as many slots.
    pub fn for_conntrack_max(max: u32) -> OwnerDirectory<A> {
        OwnerDirectory::new((max as usize).saturating_mul(2).min(1 << 26))
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Registered tuples.
    pub fn len(&self) -> usize {
        self.live.load(SeqCst)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Registrations refused for want of a slot, and because another worker had the
    /// tuple.
    pub fn refused(&self) -> (u64, u64) {
        (
            self.refused_full.load(SeqCst),
            self.refused_taken.load(SeqCst),
        )
    }

    #[inline(always)]
    fn home(&self, a: A::DirWords, r: u64) -> usize {
        let mut h = mix64(r ^ self.seed);
        for w in a.words() {
            h = mix64(h ^ w);
        }
        (h as usize) & self.mask
    }

    #[inline(always)]
    fn slot(&self, home: usize, i: usize) -> &Slot<A::DirWords> {
        &self.slots[(home + i) & self.mask]
    }

    /// The worker owning the connection whose packets carry `t`, if registered.
    pub fn lookup(&self, t: &Tuple<A>) -> Option<u16> {
        let (a, r) = key(t);
        let home = self.home(a, r);
        for i in 0..MAX_PROBE {
            // A slot busy under a writer is being inserted or removed right now:
            // whichever it is, the answer may be either; move on.
            let Some((sa, sr)) = self.slot(home, i).read() else {
                continue;
            };
            if sr == 0 {
                return None; // never used: the end of every chain through here
            }
            if sr & LIVE != 0 && sa == a && sr & KEY_BITS == r {
                return Some(sr as u16);
            }
        }
        None
    }

    /// Records that worker `owner` holds the connection whose packets carry `t`.
    /// Registering a tuple again for the same owner is a no-op.
    pub fn register(&self, t: &Tuple<A>, owner: u16) -> Result<(), RegisterError> {
        let (a, r) = key(t);
        let home = self.home(a, r);
        let value = LIVE | r | u64::from(owner);
        'retry: for _ in 0..8 {
            let mut free = None;
            for i in 0..MAX_PROBE {
                let Some((sa, sr)) = self.slot(home, i).read() else {
                    continue 'retry;
                };
                if sr & LIVE != 0 {
                    if sa == a && sr & KEY_BITS == r {
                        let other = sr as u16;
                        if other == owner {
                            return Ok(());
                        }
                        self.refused_taken.fetch_add(1, SeqCst);
                        return Err(RegisterError::Taken(other));
                    }
                } else if free.is_none() {
                    free = Some(i);
                }
                if sr == 0 {
                    break;
                }
            }
            let Some(i) = free else {
                self.refused_full.fetch_add(1, SeqCst);
                return Err(RegisterError::Full);
            };
            let slot = self.slot(home, i);
            let Some(locked) = slot.try_lock() else {
                continue;
            };
            if slot.rest.load(SeqCst) & LIVE != 0 {
                slot.unlock(locked); // taken since we looked
                continue;
            }
            A::DirWords::store(&slot.addrs, a);
            slot.rest.store(value, SeqCst);
            slot.unlock(locked);
            self.live.fetch_add(1, SeqCst);
            // Two workers may have claimed two slots for one tuple at once. Both
            // published before looking again, so at least one sees the other: whoever
            // sees another withdraws (both may; then both packets are dropped, which
            // is a clash, never a duplicate).
            for j in 0..MAX_PROBE {
                if j == i {
                    continue;
                }
                let (sa, sr) = self.slot(home, j).read_waiting();
                if sr == 0 {
                    break;
                }
                if sr & LIVE != 0 && sa == a && sr & KEY_BITS == r {
                    self.remove_at(slot, a, value);
                    self.refused_taken.fetch_add(1, SeqCst);
                    return Err(RegisterError::Taken(sr as u16));
                }
            }
            return Ok(());
        }
        self.refused_full.fetch_add(1, SeqCst);
        Err(RegisterError::Full)
    }

    fn remove_at(&self, slot: &Slot<A::DirWords>, a: A::DirWords, value: u64) -> bool {
        let locked = slot.lock();
        let ours = A::DirWords::load(&slot.addrs) == a && slot.rest.load(SeqCst) == value;
        if ours {
            slot.rest.store(TOMBSTONE, SeqCst);
            self.live.fetch_sub(1, SeqCst);
        }
        slot.unlock(locked);
        ours
    }

    /// Forgets `t` if `owner` registered it; `true` when it did.
    pub fn unregister(&self, t: &Tuple<A>, owner: u16) -> bool {
        let (a, r) = key(t);
        let home = self.home(a, r);
        let value = LIVE | r | u64::from(owner);
        for i in 0..MAX_PROBE {
            let slot = self.slot(home, i);
            // Only this owner removes its tuple, so a busy slot here is someone else's
            // insert: wait for it rather than skip what may be ours.
            let (sa, sr) = slot.read_waiting();
            if sr == 0 {
                return false;
            }
            if sa == a && sr == value {
                return self.remove_at(slot, a, value);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn t(i: u32, port: u16) -> Tuple {
        Tuple {
            src: Ipv4Addr::from(0x0a00_0000 + i),
            dst: Ipv4Addr::new(192, 168, 1, 10),
            proto: 6,
            sport: 80,
            dport: port,
        }
    }

    #[test]
    fn register_lookup_unregister() {
        let d = OwnerDirectory::new(1024);
        assert_eq!(d.lookup(&t(1, 1000)), None);
        assert_eq!(d.register(&t(1, 1000), 3), Ok(()));
        assert_eq!(d.register(&t(1, 1000), 3), Ok(()), "same owner again");
        assert_eq!(d.register(&t(1, 1000), 2), Err(RegisterError::Taken(3)));
        assert_eq!(d.lookup(&t(1, 1000)), Some(3));
        assert_eq!(d.lookup(&t(1, 1001)), None);
        assert_eq!(
            d.lookup(&Tuple {
                proto: 17,
                ..t(1, 1000)
            }),
            None
        );
        assert!(!d.unregister(&t(1, 1000), 2), "only the owner removes it");
        assert!(d.unregister(&t(1, 1000), 3));
        assert_eq!(d.lookup(&t(1, 1000)), None);
        assert_eq!(d.len(), 0);
        assert_eq!(d.refused(), (0, 1));
    }

    fn t6(src: &str, dst: &str, sport: u16) -> Tuple<Ipv6Addr> {
        Tuple {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: 6,
            sport,
            dport: 443,
        }
    }

    /// IPv6 keys are the whole addresses: tuples that differ in any half of either
    /// address, or only by which end is which, never match one another.
    #[test]
    fn ipv6_tuples_match_exactly_and_a_clash_is_refused() {
        let d = OwnerDirectory6::new(1024);
        let a = t6("2001:db8:1::10", "2001:db8:99::5", 40000);
        assert_eq!(d.register(&a, 1), Ok(()));
        assert_eq!(d.register(&a, 0), Err(RegisterError::Taken(1)));
        assert_eq!(d.lookup(&a), Some(1));
        let near = [
            t6("2001:db8:1::11", "2001:db8:99::5", 40000),
            t6("2001:db8:2::10", "2001:db8:99::5", 40000),
            t6("2001:db8:1::10", "2001:db8:99::4", 40000),
            t6("2001:db8:1::10", "2001:db9:99::5", 40000),
            t6("2001:db8:99::5", "2001:db8:1::10", 40000),
            // The halves of the source swapped.
            t6("0:0:0:10:2001:db8:1:0", "2001:db8:99::5", 40000),
            t6("2001:db8:1::10", "2001:db8:99::5", 40001),
        ];
        for n in &near {
            assert_eq!(d.lookup(n), None, "{n:?}");
            assert_eq!(d.register(n, 0), Ok(()), "{n:?} is another key");
        }
        assert_eq!(d.len(), 1 + near.len());
        assert!(!d.unregister(&a, 0), "only the owner removes it");
        assert!(d.unregister(&a, 1));
        assert_eq!(d.lookup(&a), None);
        assert_eq!(d.refused(), (0, 1));
    }

    #[test]
    fn tombstones_are_reused_and_lookups_stay_bounded() {
        let d = OwnerDirectory::new(256);
        // Churn far more tuples through the table than it has slots.
        for round in 0..50u32 {
            for i in 0..100 {
                assert_eq!(d.register(&t(round * 100 + i, 7), (i % 4) as u16), Ok(()));
            }
            for i in 0..100 {
                assert_eq!(d.lookup(&t(round * 100 + i, 7)), Some((i % 4) as u16));
                assert!(d.unregister(&t(round * 100 + i, 7), (i % 4) as u16));
            }
        }
        assert!(d.is_empty());
        assert_eq!(d.lookup(&t(1, 7)), None);
    }

    #[test]
    fn a_full_neighbourhood_is_refused() {
        let d = OwnerDirectory::new(64);
        let mut ok = 0;
        for i in 0..200 {
            if d.register(&t(i, 9), 0).is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 64);
        assert_eq!(d.refused().0, 136);
    }

    #[test]
    fn concurrent_registration_of_one_tuple_has_one_winner() {
        for round in 0..200u32 {
            let d = Arc::new(OwnerDirectory::new(1024));
            let tuple = t(round, 5);
            let results: Vec<_> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..2u16)
                    .map(|w| {
                        let d = &d;
                        s.spawn(move || d.register(&tuple, w))
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let winners = results.iter().filter(|r| r.is_ok()).count();
            assert!(winners <= 1, "{results:?}");
            assert_eq!(d.len(), winners);
            if winners == 1 {
                let w = results.iter().position(|r| r.is_ok()).unwrap() as u16;
                assert_eq!(d.lookup(&tuple), Some(w));
            }
        }
    }
}
