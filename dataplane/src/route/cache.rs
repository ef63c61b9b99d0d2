//! A small direct-mapped cache of forwarding lookups, one per worker and family: an
//! established flow's packets find their next hop without walking the policy rules and
//! prefixes again. Entries are keyed by everything a lookup depends on (destination,
//! mark, FIB generation), so a hit is always what `Fib::lookup` / `Fib::route6` would
//! answer.

use super::v6::Hop6;
use super::{Fib, NextHop};
use std::net::{Ipv4Addr, Ipv6Addr};

const SLOTS: usize = 256;

/// A destination address the cache can key on.
pub trait CacheKey: Copy + Eq {
    /// The slot of `(self, mark)`, below `SLOTS`.
    fn slot(self, mark: u32) -> usize;
}

impl CacheKey for Ipv4Addr {
    #[inline]
    fn slot(self, mark: u32) -> usize {
        ((u32::from(self) ^ mark.rotate_left(16)).wrapping_mul(0x9e37_79b1) >> 24) as usize
    }
}

impl CacheKey for Ipv6Addr {
    #[inline]
    fn slot(self, mark: u32) -> usize {
        // The interface identifier varies most between hosts; the prefix between sites.
        let a = u128::from(self);
        let folded = (a as u64 ^ (a >> 64) as u64) as u32 ^ (a >> 32) as u32;
        ((folded ^ mark.rotate_left(16)).wrapping_mul(0x9e37_79b1) >> 24) as usize
    }
}

#[derive(Clone, Copy)]
struct Cached<A, H> {
    generation: u64,
    dst: A,
    mark: u32,
    hop: H,
}

/// The cache of one family: `A` the destination, `H` what the lookup answers.
pub struct LookupCache<A, H> {
    slots: Box<[Option<Cached<A, H>>]>,
}

/// IPv4's: `Fib::lookup`.
pub type RouteCache = LookupCache<Ipv4Addr, NextHop>;
/// IPv6's: `Fib::route6`.
pub type RouteCache6 = LookupCache<Ipv6Addr, Hop6>;

impl<A: CacheKey, H: Copy> Default for LookupCache<A, H> {
    fn default() -> Self {
        LookupCache {
            slots: vec![None; SLOTS].into_boxed_slice(),
        }
    }
}

impl<A: CacheKey, H: Copy> LookupCache<A, H> {
    /// The cached answer for `(dst, mark)` under `generation`, else `lookup`'s, kept.
    /// Misses (no route) are not kept: they end in an ICMP error anyway.
    #[inline]
    fn get_or(
        &mut self,
        generation: u64,
        dst: A,
        mark: u32,
        lookup: impl FnOnce() -> Option<H>,
    ) -> Option<H> {
        let slot = self.slots.get_mut(dst.slot(mark))?;
        if let Some(c) = slot {
            if c.generation == generation && c.dst == dst && c.mark == mark {
                return Some(c.hop);
            }
        }
        let hop = lookup()?;
        *slot = Some(Cached {
            generation,
            dst,
            mark,
            hop,
        });
        Some(hop)
    }
}

impl RouteCache {
    /// `fib.lookup(dst, mark)`, from the cache when it holds the answer.
    pub fn lookup(&mut self, fib: &Fib, dst: Ipv4Addr, mark: u32) -> Option<NextHop> {
        self.get_or(fib.generation(), dst, mark, || fib.lookup(dst, mark))
    }
}

impl RouteCache6 {
    /// `fib.route6(dst, mark)`, from the cache when it holds the answer.
    pub fn route6(&mut self, fib: &Fib, dst: Ipv6Addr, mark: u32) -> Option<Hop6> {
        self.get_or(fib.generation(), dst, mark, || fib.route6(dst, mark))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::{MacAddr, PortTable};
    use crate::route::{PolicyRule, Prefix, MAIN_TABLE};

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn fib() -> Fib {
        let mut ports = PortTable::new();
        for (name, addr) in [("lan0", "192.168.1.1"), ("wan0", "203.0.113.1")] {
            ports
                .add(
                    name,
                    MacAddr([2, 0, 0, 0, 0, 1]),
                    vec![(ip(addr), 24)],
                    1500,
                )
                .unwrap();
        }
        let mut f = Fib::new(ports);
        let default = Prefix::new(ip("0.0.0.0"), 0).unwrap();
        f.add_static(default, Some(ip("203.0.113.254")), None, 0, MAIN_TABLE)
            .unwrap();
        f
    }

    #[test]
    fn answers_what_the_fib_answers_across_changes() {
        let mut f = fib();
        let mut c = RouteCache::default();
        let dst = ip("8.8.8.8");
        for _ in 0..2 {
            assert_eq!(c.lookup(&f, dst, 0), f.lookup(dst, 0));
            assert_eq!(
                c.lookup(&f, dst, 0).unwrap().gateway,
                Some(ip("203.0.113.254"))
            );
        }
        // A more specific route and a mark rule change the answer: no stale hit.
        let net = Prefix::new(ip("8.8.8.0"), 24).unwrap();
        f.add_static(net, Some(ip("192.168.1.254")), None, 0, MAIN_TABLE)
            .unwrap();
        assert_eq!(
            c.lookup(&f, dst, 0).unwrap().gateway,
            Some(ip("192.168.1.254"))
        );
        f.add_static(net, Some(ip("203.0.113.9")), None, 0, 7)
            .unwrap();
        f.add_rule(PolicyRule {
            fwmark: 1,
            mask: 1,
            table: 7,
            priority: 100,
        })
        .unwrap();
        assert_eq!(
            c.lookup(&f, dst, 1).unwrap().gateway,
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            c.lookup(&f, dst, 0).unwrap().gateway,
            Some(ip("192.168.1.254"))
        );
        f.remove_route(net, 0, MAIN_TABLE).unwrap();
        assert_eq!(
            c.lookup(&f, dst, 0).unwrap().gateway,
            Some(ip("203.0.113.254"))
        );
        // Another FIB (a new generation) is never answered from the old one's entries.
        let other = Fib::new(PortTable::default());
        assert_eq!(c.lookup(&other, dst, 0), None);
        // Many destinations share the slots: every answer is still the FIB's.
        for i in 0..2000u32 {
            let d = Ipv4Addr::from(0x0800_0000 + i * 7919);
            assert_eq!(c.lookup(&f, d, i & 1), f.lookup(d, i & 1), "{d}");
        }
    }

    #[test]
    fn ipv6_answers_what_the_fib_answers_across_changes() {
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let mut ports = fib().ports().clone();
        let (lan, wan) = (crate::port::PortId(0), crate::port::PortId(1));
        ports.set_ipv6(lan, vec![(a("2001:db8:1::1"), 64)]);
        ports.set_ipv6(wan, vec![(a("2001:db8:ff::1"), 64)]);
        let mut f = Fib::new(ports);
        f.add_route6(a("::"), 0, Some(a("2001:db8:ff::fe")), None, 0, MAIN_TABLE)
            .unwrap();
        let mut c = RouteCache6::default();
        let dst = a("2001:db8:77::5");
        let gw = |c: &mut RouteCache6, f: &Fib, mark| c.route6(f, dst, mark).unwrap().next_hop;
        for _ in 0..2 {
            assert_eq!(c.route6(&f, dst, 0), f.route6(dst, 0));
            assert_eq!(gw(&mut c, &f, 0), a("2001:db8:ff::fe"));
        }
        // A more specific route, then a mark rule to another table: no stale hit.
        f.add_route6(
            a("2001:db8:77::"),
            48,
            Some(a("2001:db8:1::fe")),
            None,
            0,
            MAIN_TABLE,
        )
        .unwrap();
        assert_eq!(gw(&mut c, &f, 0), a("2001:db8:1::fe"));
        f.add_route6(a("::"), 0, Some(a("2001:db8:1::9")), None, 0, 7)
            .unwrap();
        f.add_rule6(PolicyRule {
            fwmark: 1,
            mask: 1,
            table: 7,
            priority: 100,
        })
        .unwrap();
        assert_eq!(gw(&mut c, &f, 1), a("2001:db8:1::9"));
        assert_eq!(gw(&mut c, &f, 0), a("2001:db8:1::fe"));
        f.remove_route6(a("2001:db8:77::"), 48, None, None, 0, MAIN_TABLE)
            .unwrap();
        assert_eq!(gw(&mut c, &f, 0), a("2001:db8:ff::fe"));
        // On a connected prefix the next hop is the destination itself.
        let host = a("2001:db8:1::10");
        assert_eq!(c.route6(&f, host, 0).unwrap().next_hop, host);
        // Another FIB is never answered from this one's entries.
        let other = Fib::new(PortTable::default());
        assert_eq!(c.route6(&other, dst, 0), None);
        for i in 0..2000u128 {
            let d = Ipv6Addr::from((0x2001_0db8_0077u128 << 80) + i * 7919);
            assert_eq!(
                c.route6(&f, d, (i & 1) as u32),
                f.route6(d, (i & 1) as u32),
                "{d}"
            );
        }
    }
}
