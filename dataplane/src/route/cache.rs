//! A small direct-mapped cache of forwarding lookups, one per worker: an established
//! flow's packets find their next hop without walking the policy rules and prefix
//! lengths again. Entries are keyed by everything a lookup depends on (destination,
//! mark, FIB generation), so a hit is always what `Fib::lookup` would answer.

use super::{Fib, NextHop};
use std::net::Ipv4Addr;

const SLOTS: usize = 256;

#[derive(Clone, Copy)]
struct Cached {
    generation: u64,
    dst: u32,
    mark: u32,
    hop: NextHop,
}

pub struct RouteCache {
    slots: Box<[Option<Cached>]>,
}

impl Default for RouteCache {
    fn default() -> Self {
        RouteCache {
            slots: vec![None; SLOTS].into_boxed_slice(),
        }
    }
}

impl RouteCache {
    /// `fib.lookup(dst, mark)`, from the cache when it holds the answer.
    pub fn lookup(&mut self, fib: &Fib, dst: Ipv4Addr, mark: u32) -> Option<NextHop> {
        let d = u32::from(dst);
        let at = (d ^ mark.rotate_left(16)).wrapping_mul(0x9e37_79b1) >> 24;
        let slot = self.slots.get_mut(at as usize)?;
        if let Some(c) = slot {
            if c.generation == fib.generation() && c.dst == d && c.mark == mark {
                return Some(c.hop);
            }
        }
        // Misses (no route) are not kept: they end in an ICMP error anyway.
        let hop = fib.lookup(dst, mark)?;
        *slot = Some(Cached {
            generation: fib.generation(),
            dst: d,
            mark,
            hop,
        });
        Some(hop)
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
}
