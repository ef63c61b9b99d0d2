//! Neighbour tables. `NeighCache` is what both families share (Linux's `neigh_table`):
//! entries by (port, address), each with a small bounded queue of packets waiting for its
//! resolution, a bounded number of them, and the counters; each family runs its own state
//! machine over the entries, with time passed in by the caller (a monotonic nanosecond
//! count) so it is deterministic under test. `NeighTable` is the ARP one (IPv6's is
//! `nd::NdTable`): static entries from the config and entries learned from ARP, with the
//! kernel's states reduced to what a router needs.
//!
//! Simplifications against the kernel: DELAY and PROBE are folded into STALE (a stale entry
//! that is used is re-probed by unicast every `retrans_ns`, and dropped after `max_probes`
//! unanswered probes), and FAILED entries are removed at once.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::{BuildHasher, BuildHasherDefault, Hash};
use std::net::Ipv4Addr;

use crate::port::{MacAddr, PortId};
use crate::route::U32Hasher;

pub(crate) const SEC: u64 = 1_000_000_000;

/// A neighbour table's address family: how the cache keys and hashes its entries.
pub trait NeighAddr: Copy + Eq + Debug {
    type Key: Copy + Eq + Hash + Debug;
    type Hasher: BuildHasher + Default + Clone + Debug;
    fn key(port: PortId, addr: Self) -> Self::Key;
    fn unkey(key: Self::Key) -> (PortId, Self);
}

impl NeighAddr for Ipv4Addr {
    /// Port and address in one word, hashed as the routes are: looked up per packet.
    type Key = u64;
    type Hasher = BuildHasherDefault<U32Hasher>;

    #[inline]
    fn key(port: PortId, ip: Ipv4Addr) -> u64 {
        (u64::from(port.0) << 32) | u64::from(u32::from(ip))
    }

    fn unkey(key: u64) -> (PortId, Ipv4Addr) {
        (PortId((key >> 32) as u16), Ipv4Addr::from(key as u32))
    }
}

/// The states of a family's machine the shared cache acts on.
pub trait CacheStates: Copy + Eq {
    /// Configured: never ages, never overwritten, kept when the link goes down.
    const PERMANENT: Self;
    /// Being resolved; packets wait in the queue.
    const INCOMPLETE: Self;
    /// Resolved, not confirmed lately: evicted first when idle and the table is full.
    const STALE: Self;
}

/// One neighbour: `S` is its family's states, `X` the family's own timers, `T` the queued
/// packet type (`PacketBuf` in the data plane; the table never looks inside it).
#[derive(Debug, Clone)]
pub struct Neighbour<S, X, T> {
    /// Known unless INCOMPLETE.
    pub mac: Option<MacAddr>,
    pub state: S,
    /// Last confirmation or change by a message (or creation).
    pub updated_ns: u64,
    /// Last time a packet used (or waited for) the entry.
    pub used_ns: u64,
    /// Solicitations sent in the current state.
    pub(crate) probes: u8,
    pub(crate) timers: X,
    queue: VecDeque<T>,
}

impl<S, X: Default, T> Neighbour<S, X, T> {
    fn new(state: S, mac: Option<MacAddr>, now: u64) -> Self {
        Neighbour {
            mac,
            state,
            updated_ns: now,
            used_ns: now,
            probes: 0,
            timers: X::default(),
            queue: VecDeque::new(),
        }
    }
}

impl<S, X, T> Neighbour<S, X, T> {
    /// Packets waiting for resolution.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Solicitations sent in the current state.
    pub fn probes(&self) -> u8 {
        self.probes
    }

    /// The newest waiting packet (`skb_peek_tail`: Linux solicits from its source address).
    pub fn newest_queued(&self) -> Option<&T> {
        self.queue.back()
    }

    /// The waiting packets, oldest first, now ready to send.
    pub(crate) fn release(&mut self) -> Vec<T> {
        self.queue.drain(..).collect()
    }

    /// Resolution failed (FAILED, removed by the caller): what waited goes to `dropped`,
    /// counted.
    pub(crate) fn fail(&mut self, stats: &mut NeighStats, dropped: &mut Vec<T>) {
        stats.unresolved_drops += self.queue.len() as u64;
        stats.removed += 1;
        dropped.extend(self.queue.drain(..));
    }
}

/// Counters for the metrics endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NeighStats {
    /// Packets dropped because an unresolved entry's queue was full (the oldest goes).
    pub queue_overflow_drops: u64,
    /// Packets dropped because their entry never resolved.
    pub unresolved_drops: u64,
    /// Packets dropped because the table was full of entries that could not be evicted.
    pub table_full_drops: u64,
    /// Entries removed: failed resolution, unanswered re-probes, idle stale, evicted.
    pub removed: u64,
}

/// What `enqueue` did with a packet whose next hop is unresolved.
#[derive(Debug)]
pub struct Enqueued<T> {
    /// True when the caller should solicit now (a new entry).
    pub solicit: bool,
    /// A packet the table let go (the oldest one on overflow, or the new one if the table is
    /// full), for the caller to recycle; already counted.
    pub dropped: Option<T>,
}

/// Work for the caller after a table's `tick`.
#[derive(Debug)]
pub struct TickOf<A, T> {
    /// Solicitations to send: (port, address, unicast target or `None` for the family's
    /// broadcast or multicast).
    pub solicit: Vec<(PortId, A, Option<MacAddr>)>,
    /// Packets of entries that failed to resolve, for the caller to recycle; already counted.
    pub dropped: Vec<T>,
}

impl<A, T> Default for TickOf<A, T> {
    fn default() -> Self {
        TickOf {
            solicit: Vec::new(),
            dropped: Vec::new(),
        }
    }
}

/// The neighbours of one family by (port, address), bounded in number and in packets
/// queued per entry; the family's table drives their states.
#[derive(Debug, Clone)]
pub struct NeighCache<A: NeighAddr, S, X, T> {
    pub(crate) entries: HashMap<A::Key, Neighbour<S, X, T>, A::Hasher>,
    pub(crate) stats: NeighStats,
    max_entries: usize,
    queue_len: usize,
    /// The last `make_room` scan found no idle STALE entry, and no entry has changed
    /// state or emptied its queue since: a full table refuses at once instead of
    /// scanning every entry again for each packet to a new address (a flood toward
    /// thousands of unresolved next hops cost a 4096-entry scan per packet).
    no_victim: bool,
}

impl<A: NeighAddr, S: CacheStates, X: Default, T> NeighCache<A, S, X, T> {
    /// At most `max_entries` entries of at most `queue_len` waiting packets each.
    pub fn new(max_entries: usize, queue_len: usize) -> Self {
        NeighCache {
            entries: HashMap::default(),
            stats: NeighStats::default(),
            max_entries,
            queue_len,
            no_victim: false,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, port: PortId, ip: A) -> Option<&Neighbour<S, X, T>> {
        self.entries.get(&A::key(port, ip))
    }

    #[inline]
    pub fn get_mut(&mut self, port: PortId, ip: A) -> Option<&mut Neighbour<S, X, T>> {
        self.entries.get_mut(&A::key(port, ip))
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (PortId, A, &Neighbour<S, X, T>)> {
        self.entries.iter().map(|(k, e)| {
            let (port, ip) = A::unkey(*k);
            (port, ip, e)
        })
    }

    /// An entry may have become evictable (turned STALE or emptied its queue): a full
    /// table looks for a victim again.
    pub fn changed(&mut self) {
        self.no_victim = false;
    }

    /// Adds or replaces a permanent entry. Packets waiting on a previous unresolved entry
    /// are released for transmission.
    pub fn add_static(&mut self, port: PortId, ip: A, mac: MacAddr, now: u64) -> Vec<T> {
        let e = self
            .entries
            .entry(A::key(port, ip))
            .or_insert_with(|| Neighbour::new(S::PERMANENT, Some(mac), now));
        e.state = S::PERMANENT;
        e.mac = Some(mac);
        e.updated_ns = now;
        e.release()
    }

    /// Creates an entry learned from a message, if there is room; false if not.
    pub fn insert(&mut self, port: PortId, ip: A, state: S, mac: MacAddr, now: u64) -> bool {
        if !self.make_room() {
            return false;
        }
        let e = Neighbour::new(state, Some(mac), now);
        self.entries.insert(A::key(port, ip), e);
        self.no_victim = false;
        true
    }

    /// Holds `pkt` until `ip` on `port` resolves (call after `lookup` missed). Creates an
    /// INCOMPLETE entry with one solicitation sent and the family's `timers`, and asks the
    /// caller to solicit, if there is none. A full queue drops its oldest packet (as the
    /// kernel's `unres_qlen` does); a full table drops `pkt`.
    pub fn enqueue(&mut self, port: PortId, ip: A, pkt: T, now: u64, timers: X) -> Enqueued<T> {
        let k = A::key(port, ip);
        let mut solicit = false;
        if !self.entries.contains_key(&k) {
            if !self.make_room() {
                self.stats.table_full_drops += 1;
                return Enqueued {
                    solicit: false,
                    dropped: Some(pkt),
                };
            }
            let mut e = Neighbour::new(S::INCOMPLETE, None, now);
            e.probes = 1;
            e.timers = timers;
            self.entries.insert(k, e);
            solicit = true;
        }
        let Some(e) = self.entries.get_mut(&k) else {
            return Enqueued {
                solicit: false,
                dropped: Some(pkt),
            };
        };
        e.used_ns = now;
        if self.queue_len == 0 {
            self.stats.queue_overflow_drops += 1;
            return Enqueued {
                solicit,
                dropped: Some(pkt),
            };
        }
        let mut dropped = None;
        if e.queue.len() >= self.queue_len {
            dropped = e.queue.pop_front();
            self.stats.queue_overflow_drops += 1;
        }
        e.queue.push_back(pkt);
        Enqueued { solicit, dropped }
    }

    /// Ensures there is room for one more entry, evicting the least recently used idle STALE
    /// entry if the table is full. The scan only happens when full.
    fn make_room(&mut self) -> bool {
        if self.entries.len() < self.max_entries {
            return true;
        }
        if self.no_victim {
            return false;
        }
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.state == S::STALE && e.queue.is_empty())
            .min_by_key(|(_, e)| e.used_ns.max(e.updated_ns))
            .map(|(k, _)| *k);
        match victim {
            Some(k) => {
                self.entries.remove(&k);
                self.stats.removed += 1;
                true
            }
            None => {
                self.no_victim = true;
                false
            }
        }
    }

    /// Removes an entry (e.g. `ip neigh del`), returning its waiting packets for recycling.
    pub fn remove(&mut self, port: PortId, ip: A) -> Option<Vec<T>> {
        self.no_victim = false;
        self.entries
            .remove(&A::key(port, ip))
            .map(|mut e| e.release())
    }

    /// Forgets every learned entry of `port` (link down); permanent ones stay.
    pub fn flush_port(&mut self, port: PortId) -> Vec<T> {
        self.no_victim = false;
        let mut out = Vec::new();
        self.entries.retain(|k, e| {
            if A::unkey(*k).0 != port || e.state == S::PERMANENT {
                return true;
            }
            out.extend(e.queue.drain(..));
            false
        });
        out
    }
}

/// Timers and bounds; the defaults are the kernel's (`base_reachable_time` 30 s,
/// `retrans_time` 1 s, `mcast_solicit` 3, `gc_stale_time` 60 s) except the queue, which is
/// kept short (a few packets) so a dead next hop cannot hold many buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighConfig {
    /// A confirmed entry turns STALE after this long without confirmation.
    pub reachable_ns: u64,
    /// Interval between probes.
    pub retrans_ns: u64,
    /// Probes before an unresolved (or stale and used) entry is given up.
    pub max_probes: u8,
    /// An unused STALE entry is removed after this long.
    pub gc_stale_ns: u64,
    /// Packets held per unresolved entry; more drop the oldest.
    pub queue_len: usize,
    /// Entries (all kinds); beyond this an idle STALE one is evicted, or the new one refused.
    pub max_entries: usize,
}

impl Default for NeighConfig {
    fn default() -> Self {
        NeighConfig {
            reachable_ns: 30 * SEC,
            retrans_ns: SEC,
            max_probes: 3,
            gc_stale_ns: 60 * SEC,
            queue_len: 3,
            max_entries: 4096,
        }
    }
}

/// An entry's state (`ip neigh` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighState {
    /// Request sent, no answer yet; packets wait in the queue.
    Incomplete,
    /// Confirmed within `reachable_ns`.
    Reachable,
    /// Not confirmed lately; still used, re-probed when used.
    Stale,
    /// Configured; never ages, never overwritten by ARP.
    Permanent,
}

impl CacheStates for NeighState {
    const PERMANENT: Self = NeighState::Permanent;
    const INCOMPLETE: Self = NeighState::Incomplete;
    const STALE: Self = NeighState::Stale;
}

/// ARP's own timers of an entry.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArpTimers {
    last_probe_ns: u64,
    used_while_stale: bool,
}

/// One ARP neighbour.
pub type NeighEntry<T> = Neighbour<NeighState, ArpTimers, T>;

/// How an ARP message taught us an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learn {
    /// A reply to our request: confirms (REACHABLE). An unrequested reply creates nothing,
    /// as with the kernel's `arp_accept=0`.
    Reply,
    /// The sender of a request for one of our addresses: creates or updates as STALE (we
    /// will answer it, and probably talk to it).
    Request,
    /// A gratuitous announcement: updates an existing entry (STALE), creates nothing.
    Gratuitous,
}

/// ARP work for the caller after `tick`: requests to send (unicast target or `None` for
/// broadcast), packets of entries that failed.
pub type Tick<T> = TickOf<Ipv4Addr, T>;

/// IPv4 neighbours by (port, address). `T` is the queued packet type.
#[derive(Debug, Clone)]
pub struct NeighTable<T> {
    cfg: NeighConfig,
    cache: NeighCache<Ipv4Addr, NeighState, ArpTimers, T>,
    /// The last `lookup` that found a MAC: (port, address, its `now`, the MAC). A lookup
    /// of the same neighbour at the same `now` (the rest of a burst) answers from here
    /// without the hash probe: the entry's use is recorded already (`used_ns` is that
    /// `now`, a STALE one's flag set), and every other change to the table (the `&mut`
    /// methods below) forgets it.
    last_hit: Option<(PortId, Ipv4Addr, u64, MacAddr)>,
}

impl<T> Default for NeighTable<T> {
    fn default() -> Self {
        Self::new(NeighConfig::default())
    }
}

impl<T> NeighTable<T> {
    pub fn new(cfg: NeighConfig) -> Self {
        NeighTable {
            cfg,
            cache: NeighCache::new(cfg.max_entries, cfg.queue_len),
            last_hit: None,
        }
    }

    pub fn config(&self) -> &NeighConfig {
        &self.cfg
    }

    pub fn stats(&self) -> NeighStats {
        self.cache.stats
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Adds or replaces a permanent entry (config `[[neighbor]]`). Packets waiting on a
    /// previous unresolved entry are released for transmission.
    pub fn add_static(&mut self, port: PortId, ip: Ipv4Addr, mac: MacAddr, now: u64) -> Vec<T> {
        self.last_hit = None;
        self.cache.add_static(port, ip, mac, now)
    }

    /// The entry for `ip` on `port`, for listing.
    pub fn get(&self, port: PortId, ip: Ipv4Addr) -> Option<&NeighEntry<T>> {
        self.cache.get(port, ip)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (PortId, Ipv4Addr, &NeighEntry<T>)> {
        self.cache.iter()
    }

    /// Fast path: the MAC to send to, if known. Records the use (a used STALE entry gets
    /// re-probed by `tick`).
    #[inline(always)]
    pub fn lookup(&mut self, port: PortId, ip: Ipv4Addr, now: u64) -> Option<MacAddr> {
        if let Some((p, a, t, mac)) = self.last_hit {
            if (p, a, t) == (port, ip, now) {
                return Some(mac);
            }
        }
        self.lookup_probe(port, ip, now)
    }

    /// `lookup` past the last hit (the first of a burst): the table's probe.
    #[inline(never)]
    fn lookup_probe(&mut self, port: PortId, ip: Ipv4Addr, now: u64) -> Option<MacAddr> {
        let e = self.cache.get_mut(port, ip)?;
        let mac = e.mac?;
        e.used_ns = now;
        if e.state == NeighState::Stale {
            e.timers.used_while_stale = true;
        }
        self.last_hit = Some((port, ip, now, mac));
        Some(mac)
    }

    /// Holds `pkt` until `ip` on `port` resolves (call after `lookup` missed): see
    /// `NeighCache::enqueue`; the caller broadcasts the first request.
    pub fn enqueue(&mut self, port: PortId, ip: Ipv4Addr, pkt: T, now: u64) -> Enqueued<T> {
        self.last_hit = None;
        let timers = ArpTimers {
            last_probe_ns: now,
            used_while_stale: false,
        };
        self.cache.enqueue(port, ip, pkt, now, timers)
    }

    /// Takes in what an ARP message said about `ip` on `port` and returns the packets that
    /// were waiting for it, now ready to send. Permanent entries are never changed.
    pub fn learn(
        &mut self,
        port: PortId,
        ip: Ipv4Addr,
        mac: MacAddr,
        how: Learn,
        now: u64,
    ) -> Vec<T> {
        self.last_hit = None;
        let Some(e) = self.cache.get_mut(port, ip) else {
            if how == Learn::Request {
                self.cache.insert(port, ip, NeighState::Stale, mac, now);
            }
            return Vec::new();
        };
        match (e.state, how) {
            (NeighState::Permanent, _) => return Vec::new(),
            (_, Learn::Reply) => e.state = NeighState::Reachable,
            (NeighState::Incomplete, _) => e.state = NeighState::Stale,
            (_, _) => {
                // An announcement only demotes a confirmed entry when the address moved.
                if e.mac != Some(mac) || e.state == NeighState::Stale {
                    e.state = NeighState::Stale;
                } else {
                    return Vec::new();
                }
            }
        }
        e.mac = Some(mac);
        e.updated_ns = now;
        e.probes = 0;
        e.timers.used_while_stale = false;
        let waiting = e.release();
        self.cache.changed();
        waiting
    }

    /// Removes an entry (e.g. `ip neigh del`), returning its waiting packets for recycling.
    pub fn remove(&mut self, port: PortId, ip: Ipv4Addr) -> Option<Vec<T>> {
        self.last_hit = None;
        self.cache.remove(port, ip)
    }

    /// Forgets every learned entry of `port` (link down); permanent ones stay.
    pub fn flush_port(&mut self, port: PortId) -> Vec<T> {
        self.last_hit = None;
        self.cache.flush_port(port)
    }

    /// Advances the timers to `now`: ages REACHABLE to STALE, re-sends or gives up requests,
    /// re-probes used STALE entries, and removes idle ones. Call it every few hundred ms.
    pub fn tick(&mut self, now: u64) -> Tick<T> {
        self.last_hit = None;
        self.cache.changed();
        let cfg = self.cfg;
        let mut out = Tick::default();
        let stats = &mut self.cache.stats;
        self.cache.entries.retain(|&k, e| {
            let since_probe = now.saturating_sub(e.timers.last_probe_ns);
            match e.state {
                NeighState::Permanent => true,
                NeighState::Incomplete => {
                    if since_probe < cfg.retrans_ns {
                        return true;
                    }
                    if e.probes >= cfg.max_probes {
                        e.fail(stats, &mut out.dropped);
                        return false;
                    }
                    e.probes += 1;
                    e.timers.last_probe_ns = now;
                    let (port, ip) = Ipv4Addr::unkey(k);
                    out.solicit.push((port, ip, None));
                    true
                }
                NeighState::Reachable => {
                    if now.saturating_sub(e.updated_ns) >= cfg.reachable_ns {
                        e.state = NeighState::Stale;
                        e.timers.used_while_stale = false;
                        e.probes = 0;
                    }
                    true
                }
                NeighState::Stale => {
                    if e.timers.used_while_stale {
                        if since_probe < cfg.retrans_ns {
                            return true;
                        }
                        if e.probes >= cfg.max_probes {
                            stats.removed += 1;
                            return false;
                        }
                        e.probes += 1;
                        e.timers.last_probe_ns = now;
                        let (port, ip) = Ipv4Addr::unkey(k);
                        out.solicit.push((port, ip, e.mac));
                        return true;
                    }
                    let idle = now.saturating_sub(e.used_ns.max(e.updated_ns));
                    if idle >= cfg.gc_stale_ns {
                        stats.removed += 1;
                        return false;
                    }
                    true
                }
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PortId = PortId(1);
    const M1: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const M2: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    fn ip(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 1, n)
    }

    #[test]
    fn static_entries_resolve_and_never_age() {
        let mut t: NeighTable<u32> = NeighTable::default();
        assert!(t.add_static(P, ip(254), M1, 0).is_empty());
        assert_eq!(t.lookup(P, ip(254), 0), Some(M1));
        assert_eq!(
            t.lookup(PortId(2), ip(254), 0),
            None,
            "entries are per port"
        );
        let tick = t.tick(1_000 * SEC);
        assert!(tick.solicit.is_empty() && tick.dropped.is_empty());
        assert_eq!(t.get(P, ip(254)).unwrap().state, NeighState::Permanent);
        // ARP cannot override a configured entry.
        assert!(t.learn(P, ip(254), M2, Learn::Reply, 0).is_empty());
        assert_eq!(t.lookup(P, ip(254), 0), Some(M1));
    }

    #[test]
    fn resolution_releases_the_queue_in_order() {
        let mut t: NeighTable<u32> = NeighTable::default();
        assert_eq!(t.lookup(P, ip(7), 0), None);
        let q = t.enqueue(P, ip(7), 1, 0);
        assert!(q.solicit && q.dropped.is_none());
        let q = t.enqueue(P, ip(7), 2, 10);
        assert!(!q.solicit, "one request per entry, not per packet");
        assert_eq!(t.get(P, ip(7)).unwrap().state, NeighState::Incomplete);
        assert_eq!(t.lookup(P, ip(7), 20), None);
        assert_eq!(t.learn(P, ip(7), M1, Learn::Reply, 100), vec![1, 2]);
        assert_eq!(t.lookup(P, ip(7), 100), Some(M1));
        assert_eq!(t.get(P, ip(7)).unwrap().state, NeighState::Reachable);
    }

    #[test]
    fn queue_overflow_drops_the_oldest_and_counts() {
        let mut t: NeighTable<u32> = NeighTable::default();
        for i in 0..3 {
            assert!(t.enqueue(P, ip(7), i, 0).dropped.is_none());
        }
        assert_eq!(t.enqueue(P, ip(7), 3, 0).dropped, Some(0));
        assert_eq!(t.enqueue(P, ip(7), 4, 0).dropped, Some(1));
        assert_eq!(t.stats().queue_overflow_drops, 2);
        assert_eq!(t.get(P, ip(7)).unwrap().queued(), 3);
        assert_eq!(t.learn(P, ip(7), M1, Learn::Reply, 1), vec![2, 3, 4]);
    }

    #[test]
    fn unanswered_requests_are_retried_then_given_up() {
        let mut t: NeighTable<u32> = NeighTable::default();
        t.enqueue(P, ip(9), 1, 0);
        t.enqueue(P, ip(9), 2, 0);
        assert!(
            t.tick(SEC / 2).solicit.is_empty(),
            "not before retrans_time"
        );
        assert_eq!(t.tick(SEC).solicit, vec![(P, ip(9), None)]);
        assert_eq!(t.tick(2 * SEC).solicit, vec![(P, ip(9), None)]);
        let last = t.tick(3 * SEC);
        assert!(last.solicit.is_empty());
        assert_eq!(last.dropped, vec![1, 2]);
        assert!(t.get(P, ip(9)).is_none());
        let s = t.stats();
        assert_eq!((s.unresolved_drops, s.removed), (2, 1));
        // A later packet starts over with a fresh request.
        assert!(t.enqueue(P, ip(9), 3, 4 * SEC).solicit);
    }

    #[test]
    fn aging_reachable_stale_reprobe_and_gc() {
        let cfg = NeighConfig::default();
        let mut t: NeighTable<u32> = NeighTable::new(cfg);
        t.enqueue(P, ip(5), 1, 0);
        t.learn(P, ip(5), M1, Learn::Reply, 0);
        t.tick(cfg.reachable_ns - 1);
        assert_eq!(t.get(P, ip(5)).unwrap().state, NeighState::Reachable);
        t.tick(cfg.reachable_ns);
        assert_eq!(t.get(P, ip(5)).unwrap().state, NeighState::Stale);
        // Stale still forwards; being used earns a unicast probe.
        let now = cfg.reachable_ns + SEC;
        assert_eq!(t.lookup(P, ip(5), now), Some(M1));
        assert_eq!(t.tick(now).solicit, vec![(P, ip(5), Some(M1))]);
        // The answer confirms it again, with a new MAC if it moved.
        assert!(t.learn(P, ip(5), M2, Learn::Reply, now + 1).is_empty());
        assert_eq!(t.get(P, ip(5)).unwrap().state, NeighState::Reachable);
        assert_eq!(t.lookup(P, ip(5), now + 1), Some(M2));
        // Used while stale and never answering: dropped after max_probes.
        let mut now = now + 1 + cfg.reachable_ns;
        t.tick(now);
        t.lookup(P, ip(5), now);
        for _ in 0..cfg.max_probes {
            now += cfg.retrans_ns;
            assert_eq!(t.tick(now).solicit.len(), 1);
        }
        now += cfg.retrans_ns;
        t.tick(now);
        assert!(t.get(P, ip(5)).is_none());
        // An idle stale entry is collected after gc_stale_time.
        t.learn(P, ip(6), M1, Learn::Request, now);
        assert_eq!(t.get(P, ip(6)).unwrap().state, NeighState::Stale);
        t.tick(now + cfg.gc_stale_ns - 1);
        assert!(t.get(P, ip(6)).is_some());
        t.tick(now + cfg.gc_stale_ns);
        assert!(t.get(P, ip(6)).is_none());
    }

    #[test]
    fn lookups_at_the_same_time_see_every_change_in_between() {
        let mut t: NeighTable<u32> = NeighTable::default();
        t.learn(P, ip(3), M1, Learn::Request, 0);
        t.learn(P, ip(4), M2, Learn::Request, 0);
        // A burst: the same neighbour looked up again and again at one time.
        for _ in 0..3 {
            assert_eq!(t.lookup(P, ip(3), 5), Some(M1));
        }
        assert_eq!(t.get(P, ip(3)).unwrap().used_ns, 5);
        assert!(t.get(P, ip(3)).unwrap().timers.used_while_stale);
        assert_eq!(t.lookup(P, ip(4), 5), Some(M2));
        assert_eq!(t.get(P, ip(4)).unwrap().used_ns, 5);
        // A later time records the use again.
        assert_eq!(t.lookup(P, ip(3), 6), Some(M1));
        assert_eq!(t.get(P, ip(3)).unwrap().used_ns, 6);
        // Changes at the same time are seen: a moved address, a removal.
        t.learn(P, ip(3), M2, Learn::Gratuitous, 6);
        assert!(!t.get(P, ip(3)).unwrap().timers.used_while_stale);
        assert_eq!(t.lookup(P, ip(3), 6), Some(M2));
        assert!(t.get(P, ip(3)).unwrap().timers.used_while_stale);
        assert_eq!(t.remove(P, ip(3)), Some(vec![]));
        assert_eq!(t.lookup(P, ip(3), 6), None);
        // A reply confirms, aging at the same time turns it STALE: the next lookup at
        // that time marks it used while stale.
        t.learn(P, ip(4), M2, Learn::Reply, 7);
        assert_eq!(t.lookup(P, ip(4), 7), Some(M2));
        let late = 7 + t.config().reachable_ns;
        assert_eq!(t.lookup(P, ip(4), late), Some(M2));
        t.tick(late);
        assert_eq!(t.get(P, ip(4)).unwrap().state, NeighState::Stale);
        assert!(!t.get(P, ip(4)).unwrap().timers.used_while_stale);
        assert_eq!(t.lookup(P, ip(4), late), Some(M2));
        assert!(t.get(P, ip(4)).unwrap().timers.used_while_stale);
    }

    #[test]
    fn learning_rules() {
        let mut t: NeighTable<u32> = NeighTable::default();
        // Unrequested replies and announcements create nothing (arp_accept=0).
        assert!(t.learn(P, ip(3), M1, Learn::Reply, 0).is_empty());
        assert!(t.learn(P, ip(3), M1, Learn::Gratuitous, 0).is_empty());
        assert!(t.is_empty());
        t.learn(P, ip(3), M1, Learn::Request, 0);
        t.learn(P, ip(3), M1, Learn::Reply, 0);
        assert_eq!(t.get(P, ip(3)).unwrap().state, NeighState::Reachable);
        // Same address announced again: stays confirmed; a moved address goes stale.
        t.learn(P, ip(3), M1, Learn::Gratuitous, 1);
        assert_eq!(t.get(P, ip(3)).unwrap().state, NeighState::Reachable);
        t.learn(P, ip(3), M2, Learn::Gratuitous, 2);
        let e = t.get(P, ip(3)).unwrap();
        assert_eq!((e.state, e.mac), (NeighState::Stale, Some(M2)));
        assert_eq!(t.remove(P, ip(3)), Some(vec![]));
        assert_eq!(t.remove(P, ip(3)), None);
    }

    #[test]
    fn full_table_evicts_idle_stale_or_refuses() {
        let cfg = NeighConfig {
            max_entries: 2,
            ..NeighConfig::default()
        };
        let mut t: NeighTable<u32> = NeighTable::new(cfg);
        t.add_static(P, ip(1), M1, 0);
        t.enqueue(P, ip(2), 20, 0);
        // Full of a permanent and an incomplete entry: nothing can go.
        let q = t.enqueue(P, ip(3), 30, 0);
        assert_eq!((q.solicit, q.dropped), (false, Some(30)));
        assert_eq!(t.stats().table_full_drops, 1);
        t.learn(P, ip(2), M2, Learn::Reply, 0);
        t.tick(cfg.reachable_ns);
        assert_eq!(t.get(P, ip(2)).unwrap().state, NeighState::Stale);
        assert!(t.enqueue(P, ip(3), 31, cfg.reachable_ns).solicit);
        assert!(
            t.get(P, ip(2)).is_none(),
            "the idle stale entry was evicted"
        );
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn flush_port_keeps_static_entries() {
        let mut t: NeighTable<u32> = NeighTable::default();
        t.add_static(P, ip(1), M1, 0);
        t.enqueue(P, ip(2), 7, 0);
        t.enqueue(PortId(2), ip(2), 8, 0);
        assert_eq!(t.flush_port(P), vec![7]);
        assert!(t.get(P, ip(1)).is_some());
        assert!(t.get(PortId(2), ip(2)).is_some());
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_full_table_of_unresolved_entries_refuses_without_rescanning_until_one_turns_stale() {
        let cfg = NeighConfig {
            max_entries: 8,
            ..NeighConfig::default()
        };
        let mut t: NeighTable<u32> = NeighTable::new(cfg);
        for i in 0..8u8 {
            assert!(t.enqueue(P, ip(i), u32::from(i), 0).dropped.is_none());
        }
        for i in 8..20u8 {
            assert_eq!(
                t.enqueue(P, ip(i), u32::from(i), 0).dropped,
                Some(u32::from(i))
            );
        }
        assert!(t.cache.no_victim);
        assert_eq!((t.len(), t.stats().table_full_drops), (8, 12));
        // One resolves, then ages to STALE with an empty queue: it is evicted for a new one.
        assert_eq!(t.learn(P, ip(0), M1, Learn::Reply, 0), vec![0]);
        t.tick(cfg.reachable_ns);
        assert!(!t.cache.no_victim);
        assert!(t.enqueue(P, ip(30), 30, cfg.reachable_ns).dropped.is_none());
        assert!(t.get(P, ip(0)).is_none());
        assert_eq!(t.len(), 8);
    }
}
