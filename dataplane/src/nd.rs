//! The IPv6 neighbour cache (RFC 4861 section 7.3): entries learned from neighbour
//! solicitations and advertisements, with Neighbour Unreachability Detection's states and
//! Linux's timers, time passed in by the caller (a monotonic nanosecond count) so it is
//! deterministic under test, and a small bounded queue of packets waiting for each
//! unresolved address (as the ARP table's).
//!
//! The transitions are Linux's (`neigh_timer_handler`, `__neigh_event_send`,
//! `ndisc_recv_ns`/`ndisc_recv_na` through `neigh_update`):
//! - a packet to an unknown address creates INCOMPLETE and a multicast solicitation, resent
//!   every `retrans_ns`; after `mcast_solicit` unanswered ones the entry fails;
//! - a solicited advertisement confirms (REACHABLE); one without S, or a solicitation that
//!   carries the sender's link-layer address, leaves the entry STALE;
//! - REACHABLE ages after the reachable time (random in [base/2, 3*base/2), drawn again every
//!   300 s) to DELAY when used within `delay_ns`, else STALE;
//! - a STALE entry that is used goes to DELAY; DELAY turns REACHABLE if confirmed meanwhile,
//!   else PROBE after `delay_ns`; PROBE sends `ucast_solicit` unicast solicitations
//!   `retrans_ns` apart, then the entry fails.
//!
//! Simplifications against Linux: FAILED entries are removed at once (their packets dropped),
//! an idle STALE entry is removed after `gc_stale_ns` (the kernel's garbage collector only
//! runs above `gc_thresh1`), and the IsRouter flag is not kept (nfdp learns no routes from
//! neighbours).

use std::collections::hash_map::RandomState;
use std::net::Ipv6Addr;

use crate::neigh::{
    CacheStates, Enqueued, NeighAddr, NeighCache, NeighStats, Neighbour, TickOf, SEC,
};
use crate::port::{MacAddr, PortId};

/// Linux draws a new reachable time this often (`neigh_periodic_work`).
const REACHABLE_REDRAW_NS: u64 = 300 * SEC;

/// Timers and bounds; the defaults are Linux's for IPv6 (`base_reachable_time_ms` 30000,
/// `retrans_time_ms` 1000, `delay_first_probe_time` 5 s, `mcast_solicit` 3, `ucast_solicit`
/// 3, `gc_stale_time` 60 s); the queue is kept short as the ARP table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdConfig {
    /// The reachable time is drawn in [base/2, 3*base/2).
    pub base_reachable_ns: u64,
    /// Interval between solicitations.
    pub retrans_ns: u64,
    /// DELAY lasts this long before probing.
    pub delay_ns: u64,
    /// Multicast solicitations for an INCOMPLETE entry.
    pub mcast_solicit: u8,
    /// Unicast solicitations in PROBE.
    pub ucast_solicit: u8,
    /// An unused STALE entry is removed after this long.
    pub gc_stale_ns: u64,
    /// Packets held per unresolved entry; more drop the oldest.
    pub queue_len: usize,
    /// Entries (all kinds); beyond this an idle STALE one is evicted, or the new one refused.
    pub max_entries: usize,
}

impl Default for NdConfig {
    fn default() -> Self {
        NdConfig {
            base_reachable_ns: 30 * SEC,
            retrans_ns: SEC,
            delay_ns: 5 * SEC,
            mcast_solicit: 3,
            ucast_solicit: 3,
            gc_stale_ns: 60 * SEC,
            queue_len: 3,
            max_entries: 4096,
        }
    }
}

/// An entry's NUD state (`ip -6 neigh` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NudState {
    /// Solicited by multicast, no answer yet; packets wait in the queue.
    Incomplete,
    /// Confirmed within the reachable time.
    Reachable,
    /// Not confirmed lately; still used.
    Stale,
    /// Used while STALE: waiting `delay_ns` for a confirmation before probing.
    Delay,
    /// Being probed by unicast solicitations.
    Probe,
    /// Configured; never ages, never overwritten.
    Permanent,
}

impl NudState {
    /// The name `ip -6 neigh` prints.
    pub fn name(self) -> &'static str {
        match self {
            NudState::Incomplete => "INCOMPLETE",
            NudState::Reachable => "REACHABLE",
            NudState::Stale => "STALE",
            NudState::Delay => "DELAY",
            NudState::Probe => "PROBE",
            NudState::Permanent => "PERMANENT",
        }
    }
}

impl CacheStates for NudState {
    const PERMANENT: Self = NudState::Permanent;
    const INCOMPLETE: Self = NudState::Incomplete;
    const STALE: Self = NudState::Stale;
}

impl NeighAddr for Ipv6Addr {
    /// SipHash: the addresses come from the network (solicitations create entries).
    type Key = (PortId, Ipv6Addr);
    type Hasher = RandomState;

    #[inline]
    fn key(port: PortId, ip: Ipv6Addr) -> Self::Key {
        (port, ip)
    }

    fn unkey(key: Self::Key) -> (PortId, Ipv6Addr) {
        key
    }
}

/// NUD's own timers of an entry.
#[derive(Debug, Clone, Copy, Default)]
pub struct NdTimers {
    /// Last reachability confirmation (a solicited advertisement); `None`: never.
    confirmed_ns: Option<u64>,
    /// When the state's timer fires (INCOMPLETE, DELAY, PROBE).
    timer_ns: u64,
}

/// One IPv6 neighbour.
pub type NdEntry<T> = Neighbour<NudState, NdTimers, T>;

impl<T> NdEntry<T> {
    /// Last reachability confirmation (a solicited advertisement); `None`: never.
    pub fn confirmed_ns(&self) -> Option<u64> {
        self.timers.confirmed_ns
    }
}

/// What a received advertisement said (RFC 4861 section 4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    /// The target link-layer address option, if present.
    pub mac: Option<MacAddr>,
    pub solicited: bool,
    pub override_: bool,
}

/// Solicitations due after `tick`: (port, target, unicast destination or `None` for the
/// solicited-node multicast group).
pub type Solicitation = (PortId, Ipv6Addr, Option<MacAddr>);

/// Work for the caller after `tick`: solicitations due, packets of entries that failed.
pub type NdTick<T> = TickOf<Ipv6Addr, T>;

/// IPv6 neighbours by (port, address). `T` is the queued packet type.
#[derive(Debug, Clone)]
pub struct NdTable<T> {
    cfg: NdConfig,
    cache: NeighCache<Ipv6Addr, NudState, NdTimers, T>,
    /// The current reachable time, and when it is drawn again.
    reachable_ns: u64,
    redraw_at_ns: u64,
    rng: u64,
    /// The last `lookup` that found a MAC, as in the ARP table (`NeighTable`): a lookup of
    /// the same neighbour at the same `now` answers from here (the use is recorded, a
    /// STALE entry already in DELAY); every other `&mut` method forgets it.
    last_hit: Option<(PortId, Ipv6Addr, u64, MacAddr)>,
}

impl<T> Default for NdTable<T> {
    fn default() -> Self {
        Self::new(NdConfig::default())
    }
}

/// Linux's `neigh_rand_reach_time`: uniform in [base/2, 3*base/2).
fn rand_reach_time(base: u64, rng: &mut u64) -> u64 {
    let mut x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    if base == 0 {
        return 0;
    }
    base / 2 + x % base
}

impl<T> NdTable<T> {
    pub fn new(cfg: NdConfig) -> Self {
        Self::with_seed(cfg, 0x2545_f491_4f6c_dd1d)
    }

    /// A table whose reachable times are drawn from `seed` (tests pin it).
    pub fn with_seed(cfg: NdConfig, seed: u64) -> Self {
        let mut rng = seed | 1;
        let reachable_ns = rand_reach_time(cfg.base_reachable_ns, &mut rng);
        NdTable {
            cfg,
            cache: NeighCache::new(cfg.max_entries, cfg.queue_len),
            reachable_ns,
            redraw_at_ns: REACHABLE_REDRAW_NS,
            rng,
            last_hit: None,
        }
    }

    pub fn config(&self) -> &NdConfig {
        &self.cfg
    }

    pub fn stats(&self) -> NeighStats {
        self.cache.stats
    }

    /// The reachable time in force (drawn from the base).
    pub fn reachable_time(&self) -> u64 {
        self.reachable_ns
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    pub fn get(&self, port: PortId, ip: Ipv6Addr) -> Option<&NdEntry<T>> {
        self.cache.get(port, ip)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (PortId, Ipv6Addr, &NdEntry<T>)> {
        self.cache.iter()
    }

    /// Adds or replaces a permanent entry; packets that waited are released.
    pub fn add_static(&mut self, port: PortId, ip: Ipv6Addr, mac: MacAddr, now: u64) -> Vec<T> {
        self.last_hit = None;
        self.cache.add_static(port, ip, mac, now)
    }

    /// The MAC to send to, if known (`neigh_event_send`): records the use, and a STALE
    /// entry goes to DELAY.
    #[inline]
    pub fn lookup(&mut self, port: PortId, ip: Ipv6Addr, now: u64) -> Option<MacAddr> {
        if let Some((p, a, t, mac)) = self.last_hit {
            if (p, a, t) == (port, ip, now) {
                return Some(mac);
            }
        }
        let e = self.cache.get_mut(port, ip)?;
        let mac = e.mac?;
        e.used_ns = now;
        if e.state == NudState::Stale {
            e.state = NudState::Delay;
            e.timers.timer_ns = now.saturating_add(self.cfg.delay_ns);
        }
        self.last_hit = Some((port, ip, now, mac));
        Some(mac)
    }

    /// Holds `pkt` until `ip` on `port` resolves (after `lookup` missed): see
    /// `NeighCache::enqueue`; the caller sends the first multicast solicitation, the next
    /// is due `retrans_ns` later.
    pub fn enqueue(&mut self, port: PortId, ip: Ipv6Addr, pkt: T, now: u64) -> Enqueued<T> {
        self.last_hit = None;
        let timers = NdTimers {
            confirmed_ns: None,
            timer_ns: now.saturating_add(self.cfg.retrans_ns),
        };
        self.cache.enqueue(port, ip, pkt, now, timers)
    }

    /// A solicitation from `ip` (not the unspecified address) carrying its link-layer
    /// address `mac` (RFC 4861 7.2.3, Linux's `neigh_update(.., NUD_STALE, OVERRIDE)`):
    /// creates the entry STALE, or makes it STALE when the address is new or differs.
    /// Returns the packets that waited for it.
    pub fn learn_solicitation(
        &mut self,
        port: PortId,
        ip: Ipv6Addr,
        mac: MacAddr,
        now: u64,
    ) -> Vec<T> {
        self.last_hit = None;
        let Some(e) = self.cache.get_mut(port, ip) else {
            self.cache.insert(port, ip, NudState::Stale, mac, now);
            return Vec::new();
        };
        match e.state {
            NudState::Permanent => Vec::new(),
            _ if e.mac == Some(mac) => Vec::new(),
            _ => {
                e.state = NudState::Stale;
                e.mac = Some(mac);
                e.updated_ns = now;
                e.probes = 0;
                let waiting = e.release();
                self.cache.changed();
                waiting
            }
        }
    }

    /// An advertisement for `ip` (RFC 4861 7.2.5; Linux's `ndisc_recv_na`). Creates
    /// nothing (an unsolicited advertisement for an unknown address is ignored). Returns
    /// the packets that waited for it.
    pub fn learn_advert(&mut self, port: PortId, ip: Ipv6Addr, na: Advert, now: u64) -> Vec<T> {
        self.last_hit = None;
        // An entry may turn STALE (or empty its queue) below: a victim for `make_room`.
        self.cache.changed();
        let Some(e) = self.cache.get_mut(port, ip) else {
            return Vec::new();
        };
        match e.state {
            NudState::Permanent => Vec::new(),
            NudState::Incomplete => {
                // Without the target's address the advertisement resolves nothing.
                let Some(mac) = na.mac else {
                    return Vec::new();
                };
                e.mac = Some(mac);
                e.updated_ns = now;
                e.probes = 0;
                if na.solicited {
                    e.state = NudState::Reachable;
                    e.timers.confirmed_ns = Some(now);
                } else {
                    e.state = NudState::Stale;
                }
                e.release()
            }
            state => {
                let differs = na.mac.is_some_and(|m| Some(m) != e.mac);
                if differs && !na.override_ {
                    // Not allowed to replace a known address: only doubt it.
                    if state == NudState::Reachable {
                        e.state = NudState::Stale;
                        e.updated_ns = now;
                    }
                    return Vec::new();
                }
                if let Some(m) = na.mac {
                    e.mac = Some(m);
                }
                if na.solicited {
                    e.state = NudState::Reachable;
                    e.timers.confirmed_ns = Some(now);
                    e.probes = 0;
                    e.updated_ns = now;
                } else if differs {
                    e.state = NudState::Stale;
                    e.probes = 0;
                    e.updated_ns = now;
                }
                Vec::new()
            }
        }
    }

    /// Removes an entry, returning its waiting packets.
    pub fn remove(&mut self, port: PortId, ip: Ipv6Addr) -> Option<Vec<T>> {
        self.last_hit = None;
        self.cache.remove(port, ip)
    }

    /// Forgets every learned entry of `port` (link down); permanent ones stay.
    pub fn flush_port(&mut self, port: PortId) -> Vec<T> {
        self.last_hit = None;
        self.cache.flush_port(port)
    }

    /// Advances the timers to `now` (`neigh_timer_handler` for every entry). Call it every
    /// few hundred ms.
    pub fn tick(&mut self, now: u64) -> NdTick<T> {
        self.last_hit = None;
        if now >= self.redraw_at_ns {
            self.reachable_ns = rand_reach_time(self.cfg.base_reachable_ns, &mut self.rng);
            self.redraw_at_ns = now.saturating_add(REACHABLE_REDRAW_NS);
        }
        let cfg = self.cfg;
        let reachable_ns = self.reachable_ns;
        self.cache.changed();
        let mut out = NdTick::default();
        let stats = &mut self.cache.stats;
        self.cache.entries.retain(|&(port, ip), e| {
            match e.state {
                NudState::Permanent => return true,
                NudState::Reachable => {
                    if e.timers
                        .confirmed_ns
                        .is_some_and(|c| now < c.saturating_add(reachable_ns))
                    {
                        return true;
                    }
                    if now < e.used_ns.saturating_add(cfg.delay_ns) {
                        e.state = NudState::Delay;
                        e.timers.timer_ns = now.saturating_add(cfg.delay_ns);
                    } else {
                        e.state = NudState::Stale;
                    }
                    return true;
                }
                NudState::Stale => {
                    let idle = now.saturating_sub(e.used_ns.max(e.updated_ns));
                    if idle >= cfg.gc_stale_ns {
                        stats.removed += 1;
                        return false;
                    }
                    return true;
                }
                NudState::Delay => {
                    if now < e.timers.timer_ns {
                        return true;
                    }
                    if e.timers
                        .confirmed_ns
                        .is_some_and(|c| now < c.saturating_add(cfg.delay_ns))
                    {
                        e.state = NudState::Reachable;
                        return true;
                    }
                    // Entering PROBE sends the first unicast probe at once.
                    e.state = NudState::Probe;
                    e.probes = 0;
                }
                NudState::Incomplete | NudState::Probe => {
                    if now < e.timers.timer_ns {
                        return true;
                    }
                }
            }
            let max = if e.state == NudState::Incomplete {
                cfg.mcast_solicit
            } else {
                cfg.ucast_solicit
            };
            if e.probes >= max {
                // FAILED: what waited is dropped.
                e.fail(stats, &mut out.dropped);
                return false;
            }
            e.probes += 1;
            e.timers.timer_ns = now.saturating_add(cfg.retrans_ns);
            let to = if e.state == NudState::Probe {
                e.mac
            } else {
                None
            };
            out.solicit.push((port, ip, to));
            true
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PortId = PortId(0);
    const M1: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const M2: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    fn ip(n: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n)
    }

    fn state(t: &NdTable<u32>, n: u16) -> Option<NudState> {
        t.get(P, ip(n)).map(|e| e.state)
    }

    fn solicited(mac: MacAddr) -> Advert {
        Advert {
            mac: Some(mac),
            solicited: true,
            override_: true,
        }
    }

    #[test]
    fn reachable_time_is_drawn_between_half_and_one_and_a_half_base() {
        for seed in 0..200 {
            let t: NdTable<u32> = NdTable::with_seed(NdConfig::default(), seed);
            let r = t.reachable_time();
            assert!((15 * SEC..45 * SEC).contains(&r), "{r}");
        }
        // Redrawn every 300 s.
        let mut t: NdTable<u32> = NdTable::with_seed(NdConfig::default(), 7);
        let first = t.reachable_time();
        t.tick(299 * SEC);
        assert_eq!(t.reachable_time(), first);
        t.tick(300 * SEC);
        assert_ne!(t.reachable_time(), first);
    }

    #[test]
    fn incomplete_solicits_three_times_one_second_apart_then_fails() {
        let mut t: NdTable<u32> = NdTable::default();
        assert_eq!(t.lookup(P, ip(9), 0), None);
        let q = t.enqueue(P, ip(9), 1, 0);
        assert!(q.solicit && q.dropped.is_none());
        assert!(
            !t.enqueue(P, ip(9), 2, 0).solicit,
            "one entry, one solicitation"
        );
        assert_eq!(state(&t, 9), Some(NudState::Incomplete));
        assert!(t.tick(SEC - 1).solicit.is_empty());
        assert_eq!(t.tick(SEC).solicit, vec![(P, ip(9), None)]);
        assert_eq!(t.tick(2 * SEC).solicit, vec![(P, ip(9), None)]);
        assert_eq!(t.get(P, ip(9)).unwrap().probes(), 3);
        let last = t.tick(3 * SEC);
        assert!(last.solicit.is_empty());
        assert_eq!(last.dropped, vec![1, 2]);
        assert_eq!(state(&t, 9), None);
        assert_eq!((t.stats().unresolved_drops, t.stats().removed), (2, 1));
    }

    #[test]
    fn incomplete_to_reachable_or_stale_and_the_queue_in_order() {
        let mut t: NdTable<u32> = NdTable::default();
        t.enqueue(P, ip(1), 1, 0);
        t.enqueue(P, ip(1), 2, 0);
        t.enqueue(P, ip(2), 3, 0);
        // No target link-layer address: nothing resolved.
        let bare = Advert {
            mac: None,
            solicited: true,
            override_: true,
        };
        assert!(t.learn_advert(P, ip(1), bare, 1).is_empty());
        assert_eq!(state(&t, 1), Some(NudState::Incomplete));
        assert_eq!(t.learn_advert(P, ip(1), solicited(M1), 1), vec![1, 2]);
        assert_eq!(state(&t, 1), Some(NudState::Reachable));
        assert_eq!(t.lookup(P, ip(1), 1), Some(M1));
        // Unsolicited (S clear): resolved but STALE.
        let unsolicited = Advert {
            mac: Some(M2),
            solicited: false,
            override_: true,
        };
        assert_eq!(t.learn_advert(P, ip(2), unsolicited, 1), vec![3]);
        assert_eq!(state(&t, 2), Some(NudState::Stale));
        // A solicitation with the sender's address resolves too (STALE).
        t.enqueue(P, ip(3), 4, 0);
        assert_eq!(t.learn_solicitation(P, ip(3), M1, 2), vec![4]);
        assert_eq!(state(&t, 3), Some(NudState::Stale));
    }

    #[test]
    fn reachable_ages_to_stale_or_to_delay_when_used() {
        let mut t: NdTable<u32> = NdTable::default();
        let r = t.reachable_time();
        t.enqueue(P, ip(1), 1, 0);
        t.learn_advert(P, ip(1), solicited(M1), 0);
        t.enqueue(P, ip(2), 2, 0);
        t.learn_advert(P, ip(2), solicited(M1), 0);
        t.tick(r - 1);
        assert_eq!(state(&t, 1), Some(NudState::Reachable));
        // ip(2) was used lately: DELAY, not STALE.
        t.lookup(P, ip(2), r - 1);
        t.tick(r);
        assert_eq!(state(&t, 1), Some(NudState::Stale));
        assert_eq!(state(&t, 2), Some(NudState::Delay));
    }

    #[test]
    fn lookups_at_the_same_time_see_every_change_in_between() {
        let mut t: NdTable<u32> = NdTable::new(NdConfig::default());
        t.learn_solicitation(P, ip(5), M1, 0);
        // A burst: one neighbour looked up again and again at one time; the first use
        // starts DELAY, the others change nothing.
        for _ in 0..3 {
            assert_eq!(t.lookup(P, ip(5), 10 * SEC), Some(M1));
        }
        assert_eq!(state(&t, 5), Some(NudState::Delay));
        assert_eq!(t.get(P, ip(5)).unwrap().used_ns, 10 * SEC);
        // Changes at the same time are seen: a new address (STALE again, then DELAY on
        // the next use), a removal.
        t.learn_solicitation(P, ip(5), M2, 10 * SEC);
        assert_eq!(state(&t, 5), Some(NudState::Stale));
        assert_eq!(t.lookup(P, ip(5), 10 * SEC), Some(M2));
        assert_eq!(state(&t, 5), Some(NudState::Delay));
        assert_eq!(t.remove(P, ip(5)), Some(vec![]));
        assert_eq!(t.lookup(P, ip(5), 10 * SEC), None);
    }

    #[test]
    fn stale_used_goes_delay_then_probe_by_unicast_then_fails() {
        let cfg = NdConfig::default();
        let mut t: NdTable<u32> = NdTable::new(cfg);
        t.learn_solicitation(P, ip(5), M1, 0);
        assert_eq!(state(&t, 5), Some(NudState::Stale));
        // STALE still sends; the use starts DELAY.
        assert_eq!(t.lookup(P, ip(5), 10 * SEC), Some(M1));
        assert_eq!(state(&t, 5), Some(NudState::Delay));
        assert!(t.tick(15 * SEC - 1).solicit.is_empty());
        // DELAY over, no confirmation: PROBE, the first unicast solicitation at once.
        assert_eq!(t.tick(15 * SEC).solicit, vec![(P, ip(5), Some(M1))]);
        assert_eq!(state(&t, 5), Some(NudState::Probe));
        assert_eq!(t.lookup(P, ip(5), 15 * SEC), Some(M1), "PROBE still sends");
        assert!(t.tick(16 * SEC - 1).solicit.is_empty());
        assert_eq!(t.tick(16 * SEC).solicit, vec![(P, ip(5), Some(M1))]);
        assert_eq!(t.tick(17 * SEC).solicit, vec![(P, ip(5), Some(M1))]);
        // Three unanswered: FAILED, removed.
        let last = t.tick(18 * SEC);
        assert!(last.solicit.is_empty());
        assert_eq!(state(&t, 5), None);
    }

    #[test]
    fn a_never_confirmed_entry_is_probed_even_on_a_clock_that_starts_at_zero() {
        let mut t: NdTable<u32> = NdTable::default();
        t.learn_solicitation(P, ip(5), M1, 0);
        t.lookup(P, ip(5), 0);
        assert_eq!(t.tick(4 * SEC).solicit, vec![]);
        assert_eq!(state(&t, 5), Some(NudState::Delay));
        assert_eq!(t.tick(5 * SEC).solicit, vec![(P, ip(5), Some(M1))]);
        assert_eq!(state(&t, 5), Some(NudState::Probe));
    }

    #[test]
    fn probe_and_delay_answered_become_reachable() {
        let mut t: NdTable<u32> = NdTable::default();
        t.learn_solicitation(P, ip(5), M1, 0);
        t.lookup(P, ip(5), 0);
        t.tick(5 * SEC);
        assert_eq!(state(&t, 5), Some(NudState::Probe));
        t.learn_advert(P, ip(5), solicited(M1), 5 * SEC + 1);
        assert_eq!(state(&t, 5), Some(NudState::Reachable));
        // A confirmation while in DELAY: REACHABLE at once.
        let r = t.reachable_time();
        let now = 5 * SEC + 1 + r;
        t.lookup(P, ip(5), now - 1);
        t.tick(now);
        assert_eq!(state(&t, 5), Some(NudState::Delay));
        t.learn_advert(P, ip(5), solicited(M1), now + 1);
        assert_eq!(state(&t, 5), Some(NudState::Reachable));
    }

    #[test]
    fn delay_confirmed_meanwhile_returns_to_reachable_at_its_timer() {
        let mut t: NdTable<u32> = NdTable::default();
        let r = t.reachable_time();
        t.enqueue(P, ip(1), 1, 0);
        t.learn_advert(P, ip(1), solicited(M1), 0);
        t.lookup(P, ip(1), r - 1);
        t.tick(r);
        assert_eq!(state(&t, 1), Some(NudState::Delay));
        // Confirmed without passing through learn_advert's state change (as an upper
        // layer's confirmation would): the DELAY timer finds it fresh.
        t.cache.get_mut(P, ip(1)).unwrap().timers.confirmed_ns = Some(r + 1);
        t.tick(r + 5 * SEC);
        assert_eq!(state(&t, 1), Some(NudState::Reachable));
    }

    #[test]
    fn advertisement_rules_of_rfc4861_7_2_5() {
        let mut t: NdTable<u32> = NdTable::default();
        // Unknown address: nothing created.
        assert!(t.learn_advert(P, ip(1), solicited(M1), 0).is_empty());
        assert!(t.is_empty());
        t.enqueue(P, ip(1), 1, 0);
        t.learn_advert(P, ip(1), solicited(M1), 0);
        // O clear with a different address: REACHABLE doubts (STALE), address kept.
        let other_no_override = Advert {
            mac: Some(M2),
            solicited: true,
            override_: false,
        };
        t.learn_advert(P, ip(1), other_no_override, 1);
        let e = t.get(P, ip(1)).unwrap();
        assert_eq!((e.state, e.mac), (NudState::Stale, Some(M1)));
        // Again while STALE: ignored.
        t.learn_advert(P, ip(1), other_no_override, 2);
        let e = t.get(P, ip(1)).unwrap();
        assert_eq!((e.state, e.mac), (NudState::Stale, Some(M1)));
        // O set, S clear, new address: updated, STALE.
        let moved = Advert {
            mac: Some(M2),
            solicited: false,
            override_: true,
        };
        t.learn_advert(P, ip(1), moved, 3);
        let e = t.get(P, ip(1)).unwrap();
        assert_eq!((e.state, e.mac), (NudState::Stale, Some(M2)));
        // S set, same address, no O: confirmed.
        let confirm = Advert {
            mac: Some(M2),
            solicited: true,
            override_: false,
        };
        t.learn_advert(P, ip(1), confirm, 4);
        assert_eq!(state(&t, 1), Some(NudState::Reachable));
        // S set without the option: confirmed, address kept.
        let bare = Advert {
            mac: None,
            solicited: true,
            override_: false,
        };
        t.learn_advert(P, ip(1), bare, 5);
        let e = t.get(P, ip(1)).unwrap();
        assert_eq!((e.state, e.mac), (NudState::Reachable, Some(M2)));
        // Unsolicited, same address: no change.
        let same = Advert {
            mac: Some(M2),
            solicited: false,
            override_: true,
        };
        t.learn_advert(P, ip(1), same, 6);
        assert_eq!(state(&t, 1), Some(NudState::Reachable));
    }

    #[test]
    fn solicitations_update_only_on_a_new_address() {
        let mut t: NdTable<u32> = NdTable::default();
        t.enqueue(P, ip(1), 1, 0);
        t.learn_advert(P, ip(1), solicited(M1), 0);
        t.learn_solicitation(P, ip(1), M1, 1);
        assert_eq!(
            state(&t, 1),
            Some(NudState::Reachable),
            "same address: kept"
        );
        t.learn_solicitation(P, ip(1), M2, 2);
        let e = t.get(P, ip(1)).unwrap();
        assert_eq!((e.state, e.mac), (NudState::Stale, Some(M2)));
    }

    #[test]
    fn permanent_entries_never_change_and_gc_takes_idle_stale() {
        let cfg = NdConfig::default();
        let mut t: NdTable<u32> = NdTable::new(cfg);
        t.add_static(P, ip(1), M1, 0);
        t.learn_advert(P, ip(1), solicited(M2), 0);
        t.learn_solicitation(P, ip(1), M2, 0);
        assert_eq!(t.lookup(P, ip(1), 0), Some(M1));
        assert_eq!(state(&t, 1), Some(NudState::Permanent));
        t.learn_solicitation(P, ip(2), M2, 0);
        t.tick(cfg.gc_stale_ns - 1);
        assert_eq!(state(&t, 2), Some(NudState::Stale));
        t.tick(cfg.gc_stale_ns);
        assert_eq!(state(&t, 2), None);
        assert_eq!(state(&t, 1), Some(NudState::Permanent));
    }

    #[test]
    fn queue_and_table_bounds() {
        let cfg = NdConfig {
            max_entries: 2,
            ..NdConfig::default()
        };
        let mut t: NdTable<u32> = NdTable::new(cfg);
        for i in 0..3 {
            assert!(t.enqueue(P, ip(1), i, 0).dropped.is_none());
        }
        assert_eq!(t.enqueue(P, ip(1), 3, 0).dropped, Some(0));
        assert_eq!(t.stats().queue_overflow_drops, 1);
        t.enqueue(P, ip(2), 20, 0);
        let q = t.enqueue(P, ip(3), 30, 0);
        assert_eq!((q.solicit, q.dropped), (false, Some(30)));
        assert_eq!(t.stats().table_full_drops, 1);
        assert_eq!(t.flush_port(P).len(), 4);
        assert!(t.is_empty());
    }
}
