//! One routing table: longest-prefix match, then lowest metric.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;

use super::{Prefix, Route, RouteError};

/// A multiplicative hash for the u32 keys of the per-length maps: the keys are network
/// addresses we chose ourselves (not attacker-controlled lookups into a growing table), so
/// SipHash's DoS resistance buys nothing and costs a few ns per probe on the fast path.
#[derive(Default, Clone, Copy)]
pub struct U32Hasher(u64);

impl Hasher for U32Hasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 ^= self.0 >> 29;
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 ^= self.0 >> 29;
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<U32Hasher>>;

/// Routes of one table, kept in one hash map per prefix length so a lookup probes at most the
/// 33 lengths present (longest first) instead of scanning routes. Several routes may share a
/// destination with different metrics; the lowest metric is used.
#[derive(Debug, Clone)]
pub struct RouteTable {
    by_len: Vec<FastMap<u32, Vec<Route>>>,
    /// Bit `n` set when some route has prefix length `n`: lookups skip empty lengths.
    present: u64,
    count: usize,
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable {
            by_len: (0..=32).map(|_| FastMap::default()).collect(),
            present: 0,
            count: 0,
        }
    }
}

impl RouteTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route. A second route with the same destination and metric is refused, as the
    /// kernel answers "File exists".
    pub fn insert(&mut self, route: Route) -> Result<(), RouteError> {
        let len = usize::from(route.dst.len());
        let Some(map) = self.by_len.get_mut(len) else {
            return Err(RouteError::Exists(route.dst, route.metric, route.table));
        };
        let key = u32::from(route.dst.addr());
        let list = map.entry(key).or_default();
        if list.iter().any(|r| r.metric == route.metric) {
            return Err(RouteError::Exists(route.dst, route.metric, route.table));
        }
        let at = list.partition_point(|r| r.metric <= route.metric);
        list.insert(at, route);
        self.present |= 1 << len;
        self.count += 1;
        Ok(())
    }

    /// Removes the route to `dst` with `metric`, returning it.
    pub fn remove(&mut self, dst: Prefix, metric: u32) -> Option<Route> {
        let len = usize::from(dst.len());
        let map = self.by_len.get_mut(len)?;
        let key = u32::from(dst.addr());
        let list = map.get_mut(&key)?;
        let at = list.iter().position(|r| r.metric == metric)?;
        let route = list.remove(at);
        if list.is_empty() {
            map.remove(&key);
            if map.is_empty() {
                self.present &= !(1 << len);
            }
        }
        self.count -= 1;
        Some(route)
    }

    /// The most specific route containing `addr`, lowest metric among equals.
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<&Route> {
        let a = u32::from(addr);
        let mut bits = self.present;
        while bits != 0 {
            let len = 63 - bits.leading_zeros();
            bits &= !(1u64 << len);
            let len = len as u8;
            let map = self.by_len.get(usize::from(len))?;
            if let Some(r) = map
                .get(&(a & super::prefix::mask(len)))
                .and_then(|l| l.first())
            {
                return Some(r);
            }
        }
        None
    }

    /// Every route, most specific prefix first, then by metric.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.by_len.iter().rev().flat_map(|m| {
            let mut lists: Vec<&Vec<Route>> = m.values().collect();
            lists.sort_by_key(|l| l.first().map(|r| r.dst));
            lists.into_iter().flatten()
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::PortId;
    use crate::route::{RouteKind, MAIN_TABLE};

    fn r(dst: &str, dev: u16, metric: u32) -> Route {
        Route {
            dst: dst.parse().unwrap(),
            via: None,
            dev: PortId(dev),
            metric,
            table: MAIN_TABLE,
            kind: RouteKind::Static,
        }
    }

    fn dev(t: &RouteTable, a: &str) -> Option<u16> {
        t.lookup(a.parse().unwrap()).map(|r| r.dev.0)
    }

    #[test]
    fn longest_prefix_wins_over_overlaps() {
        let mut t = RouteTable::new();
        // Inserted shortest-last to show order of insertion does not matter.
        t.insert(r("10.1.2.3/32", 32, 0)).unwrap();
        t.insert(r("10.1.2.0/24", 24, 0)).unwrap();
        t.insert(r("10.1.0.0/16", 16, 0)).unwrap();
        t.insert(r("10.0.0.0/8", 8, 0)).unwrap();
        t.insert(r("0.0.0.0/0", 0, 0)).unwrap();
        assert_eq!(dev(&t, "10.1.2.3"), Some(32));
        assert_eq!(dev(&t, "10.1.2.4"), Some(24));
        assert_eq!(dev(&t, "10.1.3.4"), Some(16));
        assert_eq!(dev(&t, "10.2.0.1"), Some(8));
        assert_eq!(dev(&t, "11.0.0.1"), Some(0));
        assert_eq!(t.len(), 5);
        t.remove("10.1.0.0/16".parse().unwrap(), 0).unwrap();
        assert_eq!(dev(&t, "10.1.3.4"), Some(8));
        t.remove("0.0.0.0/0".parse().unwrap(), 0).unwrap();
        assert_eq!(dev(&t, "11.0.0.1"), None);
        assert!(t.remove("0.0.0.0/0".parse().unwrap(), 0).is_none());
        assert_eq!(t.len(), 3);
        let order: Vec<String> = t.iter().map(|r| r.dst.to_string()).collect();
        assert_eq!(order, ["10.1.2.3/32", "10.1.2.0/24", "10.0.0.0/8"]);
    }

    #[test]
    fn lowest_metric_breaks_ties_and_duplicates_are_refused() {
        let mut t = RouteTable::new();
        t.insert(r("0.0.0.0/0", 1, 200)).unwrap();
        t.insert(r("0.0.0.0/0", 2, 100)).unwrap();
        t.insert(r("0.0.0.0/0", 3, 300)).unwrap();
        assert_eq!(dev(&t, "8.8.8.8"), Some(2));
        assert!(matches!(
            t.insert(r("0.0.0.0/0", 4, 100)),
            Err(RouteError::Exists(..))
        ));
        t.remove(Prefix::DEFAULT, 100).unwrap();
        assert_eq!(dev(&t, "8.8.8.8"), Some(1));
        // A more specific route beats a lower metric.
        t.insert(r("8.0.0.0/8", 5, 1000)).unwrap();
        assert_eq!(dev(&t, "8.8.8.8"), Some(5));
    }
}
