//! The field engine: which 5-tuple each generated packet carries. A flow index `0..flows`
//! maps to one tuple by mixed-radix counting over the address and port ranges (source
//! address fastest, then source port, destination address, destination port), so `flows`
//! distinct tuples exist whenever the ranges hold that many; packets visit the flows in
//! order or at random from a fixed seed. `FlowSpec6` does the same over IPv6 ranges.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address family the generator counts over: its addresses as integers, so that one
/// range, tuple and spec type serves IPv4 and IPv6.
pub trait FlowAddr: Copy + Eq + fmt::Display + FromStr {
    /// Address width in bits.
    const BITS: u32;
    /// The shortest prefix a `/LEN` range may have: at most 2^31 addresses fit the count.
    const MIN_PREFIX: u32;
    /// How an error names the family's ranges ("address range", "IPv6 address range").
    const RANGE_NAME: &'static str;
    /// The accepted spellings, for errors.
    const SYNTAX: &'static str;
    fn to_bits(self) -> u128;
    /// The address of the low `BITS` bits of `v`.
    fn from_bits(v: u128) -> Self;
    /// `self + off`, wrapping within the family's address space.
    fn offset(self, off: u64) -> Self;
}

impl FlowAddr for Ipv4Addr {
    const BITS: u32 = 32;
    const MIN_PREFIX: u32 = 8;
    const RANGE_NAME: &'static str = "address range";
    const SYNTAX: &'static str = "expected A.B.C.D, A.B.C.D-A.B.C.D or A.B.C.D/LEN";
    fn to_bits(self) -> u128 {
        u128::from(u32::from(self))
    }
    fn from_bits(v: u128) -> Self {
        Ipv4Addr::from(v as u32)
    }
    #[inline]
    fn offset(self, off: u64) -> Self {
        Ipv4Addr::from(u32::from(self).wrapping_add(off as u32))
    }
}

impl FlowAddr for Ipv6Addr {
    const BITS: u32 = 128;
    // /96 would be 2^32 addresses, one more than the count holds.
    const MIN_PREFIX: u32 = 97;
    const RANGE_NAME: &'static str = "IPv6 address range";
    const SYNTAX: &'static str = "expected ADDR, ADDR-ADDR or ADDR/LEN";
    fn to_bits(self) -> u128 {
        u128::from(self)
    }
    fn from_bits(v: u128) -> Self {
        Ipv6Addr::from(v)
    }
    #[inline]
    fn offset(self, off: u64) -> Self {
        Ipv6Addr::from(u128::from(self).wrapping_add(u128::from(off)))
    }
}

/// `count` addresses from `first`, `step` apart (counted in the low bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRangeOf<A> {
    pub first: A,
    pub count: u32,
    /// Distance between consecutive addresses (1: every address).
    pub step: u32,
}

/// `count` IPv4 addresses from `first`.
pub type AddrRange = AddrRangeOf<Ipv4Addr>;
/// `count` IPv6 addresses from `first`.
pub type AddrRange6 = AddrRangeOf<Ipv6Addr>;

impl<A: FlowAddr> AddrRangeOf<A> {
    pub fn single(a: A) -> Self {
        AddrRangeOf {
            first: a,
            count: 1,
            step: 1,
        }
    }

    /// `count` addresses from `first`, `step` apart (e.g. one per /24 with 256).
    pub fn strided(first: A, count: u32, step: u32) -> Self {
        AddrRangeOf {
            first,
            count,
            step: step.max(1),
        }
    }

    #[inline]
    fn nth(&self, i: u32) -> A {
        self.first.offset(u64::from(i) * u64::from(self.step))
    }
}

impl<A: FlowAddr> FromStr for AddrRangeOf<A> {
    type Err = String;

    /// `ADDR`, `ADDR-ADDR` or `ADDR/LEN` (every address of the prefix): `10.0.0.0/24`,
    /// `2001:db8::1-2001:db8::ff`. At most 2^32 addresses.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("bad {} `{s}`: {why}", A::RANGE_NAME);
        let ip = |t: &str| {
            t.trim()
                .parse::<A>()
                .map(A::to_bits)
                .map_err(|_| bad(A::SYNTAX))
        };
        if let Some((a, b)) = s.split_once('-') {
            let (a, b) = (ip(a)?, ip(b)?);
            let n = b
                .checked_sub(a)
                .ok_or_else(|| bad("the last address is below the first"))?;
            let count = u32::try_from(n + 1).map_err(|_| bad("more than 2^32 addresses"))?;
            return Ok(AddrRangeOf {
                first: A::from_bits(a),
                count,
                step: 1,
            });
        }
        if let Some((a, len)) = s.split_once('/') {
            let len: u32 = len
                .parse()
                .ok()
                .filter(|l| (A::MIN_PREFIX..=A::BITS).contains(l))
                .ok_or_else(|| {
                    bad(&format!(
                        "prefix length must be {}..{}",
                        A::MIN_PREFIX,
                        A::BITS
                    ))
                })?;
            let mask = u128::MAX.checked_shl(A::BITS - len).unwrap_or(0);
            return Ok(AddrRangeOf {
                first: A::from_bits(ip(a)? & mask),
                count: 1u32 << (A::BITS - len),
                step: 1,
            });
        }
        Ok(AddrRangeOf::single(A::from_bits(ip(s)?)))
    }
}

/// `count` consecutive ports from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub count: u32,
}

impl PortRange {
    pub fn single(p: u16) -> PortRange {
        PortRange { first: p, count: 1 }
    }

    fn nth(&self, i: u32) -> u16 {
        self.first.wrapping_add(i as u16)
    }
}

impl FromStr for PortRange {
    type Err = String;

    /// `53` or `1024-65535`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad port range `{s}`: expected N or N-M (0..65535)");
        let p = |t: &str| t.trim().parse::<u16>().map_err(|_| bad());
        match s.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (p(a)?, p(b)?);
                if b < a {
                    return Err(bad());
                }
                Ok(PortRange {
                    first: a,
                    count: u32::from(b - a) + 1,
                })
            }
            None => Ok(PortRange::single(p(s)?)),
        }
    }
}

/// In which order packets visit the flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// 0, 1, ..., flows-1, 0, ...
    Sequential,
    /// Uniformly at random (xorshift64*), from this seed.
    Random { seed: u64 },
}

/// The addresses and ports of one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowTupleOf<A> {
    pub src: A,
    pub dst: A,
    pub sport: u16,
    pub dport: u16,
}

pub type FlowTuple = FlowTupleOf<Ipv4Addr>;
pub type FlowTuple6 = FlowTupleOf<Ipv6Addr>;

impl<A: FlowAddr> fmt::Display for FlowTupleOf<A> {
    /// `10.0.0.1:100 -> 198.19.0.1:9`, `[2001:db8::1]:100 -> [2001:db8::2]:53`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (src, sport, dst, dport) = (self.src, self.sport, self.dst, self.dport);
        if A::BITS == 32 {
            write!(f, "{src}:{sport} -> {dst}:{dport}")
        } else {
            write!(f, "[{src}]:{sport} -> [{dst}]:{dport}")
        }
    }
}

/// What the generator varies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpecOf<A> {
    pub src: AddrRangeOf<A>,
    pub dst: AddrRangeOf<A>,
    pub sport: PortRange,
    pub dport: PortRange,
    pub flows: u32,
    pub order: Order,
}

pub type FlowSpec = FlowSpecOf<Ipv4Addr>;
/// `FlowSpec` over IPv6 ranges (the same mixed-radix order).
pub type FlowSpec6 = FlowSpecOf<Ipv6Addr>;

impl Default for FlowSpec {
    /// One flow 198.18.0.1:1024 -> 198.19.0.1:9 (RFC 2544's benchmarking addresses).
    fn default() -> Self {
        FlowSpec {
            src: AddrRange::single(Ipv4Addr::new(198, 18, 0, 1)),
            dst: AddrRange::single(Ipv4Addr::new(198, 19, 0, 1)),
            sport: PortRange::single(1024),
            dport: PortRange::single(9),
            flows: 1,
            order: Order::Sequential,
        }
    }
}

impl<A: FlowAddr> FlowSpecOf<A> {
    fn counts(&self) -> [u32; 4] {
        [
            self.src.count,
            self.sport.count,
            self.dst.count,
            self.dport.count,
        ]
    }

    /// How many distinct tuples the ranges hold (saturating).
    pub fn capacity(&self) -> u64 {
        self.counts()
            .iter()
            .fold(1u64, |acc, &c| acc.saturating_mul(u64::from(c)))
    }

    /// Refuses zero flows, empty ranges and more flows than distinct tuples.
    pub fn validate(&self) -> Result<(), String> {
        let (flows, capacity) = (self.flows, self.capacity());
        if flows == 0 {
            return Err("flows must be at least 1".into());
        }
        if capacity == 0 {
            return Err("an address or port range is empty".into());
        }
        if u64::from(flows) > capacity {
            return Err(format!(
                "{flows} flows asked for, but the address and port ranges hold only {capacity} distinct tuples"
            ));
        }
        Ok(())
    }

    /// The tuple of flow `i` (taken modulo `flows`): its digit in each range, source
    /// address fastest.
    #[inline]
    pub fn tuple(&self, i: u32) -> FlowTupleOf<A> {
        let mut r = i % self.flows.max(1);
        let [s, sp, d, dp] = self.counts().map(|n| {
            let d = r % n.max(1);
            r /= n.max(1);
            d
        });
        FlowTupleOf {
            src: self.src.nth(s),
            dst: self.dst.nth(d),
            sport: self.sport.nth(sp),
            dport: self.dport.nth(dp),
        }
    }

    pub fn picker(&self) -> FlowPicker {
        FlowPicker::new(self.flows, self.order)
    }
}

/// Hands out flow indices in the spec's order.
#[derive(Debug, Clone)]
pub struct FlowPicker {
    flows: u32,
    next: u32,
    rng: Option<u64>,
}

impl FlowPicker {
    pub fn new(flows: u32, order: Order) -> FlowPicker {
        FlowPicker {
            flows: flows.max(1),
            next: 0,
            // xorshift's state must not be zero.
            rng: match order {
                Order::Sequential => None,
                Order::Random { seed } => Some(seed ^ 0x9e37_79b9_7f4a_7c15 | 1),
            },
        }
    }

    #[inline]
    pub fn next_flow(&mut self) -> u32 {
        match self.rng.as_mut() {
            None => {
                let f = self.next;
                self.next = if f + 1 == self.flows { 0 } else { f + 1 };
                f
            }
            Some(x) => {
                *x ^= *x >> 12;
                *x ^= *x << 25;
                *x ^= *x >> 27;
                let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
                // Lemire's multiply-shift: uniform enough over 32-bit draws.
                ((r * u64::from(self.flows)) >> 32) as u32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        let r: AddrRange = "10.0.0.1-10.0.0.10".parse().unwrap();
        assert_eq!((r.first, r.count), (Ipv4Addr::new(10, 0, 0, 1), 10));
        let r: AddrRange = "10.1.2.3/24".parse().unwrap();
        assert_eq!((r.first, r.count), (Ipv4Addr::new(10, 1, 2, 0), 256));
        assert!("10.0.0.9-10.0.0.1".parse::<AddrRange>().is_err());
        assert!("10.0.0.0/40".parse::<AddrRange>().is_err());
        let p: PortRange = "1000-1999".parse().unwrap();
        assert_eq!((p.first, p.count), (1000, 1000));
        assert!("70000".parse::<PortRange>().is_err());
    }

    #[test]
    fn flows_are_distinct_and_bounded() {
        let spec = FlowSpec {
            src: "10.0.0.1-10.0.0.3".parse().unwrap(),
            sport: "100-104".parse().unwrap(),
            flows: 15,
            ..FlowSpec::default()
        };
        spec.validate().unwrap();
        let all: std::collections::HashSet<_> = (0..15).map(|i| spec.tuple(i)).collect();
        assert_eq!(all.len(), 15);
        assert_eq!(spec.tuple(0).to_string(), "10.0.0.1:100 -> 198.19.0.1:9");
        assert_eq!(spec.tuple(4).to_string(), "10.0.0.2:101 -> 198.19.0.1:9");
        assert_eq!(spec.tuple(15), spec.tuple(0));
        let too_many = FlowSpec { flows: 16, ..spec };
        assert!(too_many.validate().unwrap_err().contains("only 15"));
    }

    #[test]
    fn pickers_are_deterministic() {
        let mut s = FlowPicker::new(3, Order::Sequential);
        assert_eq!(
            (0..5).map(|_| s.next_flow()).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1]
        );
        let draw = |seed| {
            let mut p = FlowPicker::new(1000, Order::Random { seed });
            (0..1000).map(|_| p.next_flow()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let d = draw(7);
        assert!(d.iter().all(|&f| f < 1000));
        let distinct: std::collections::HashSet<_> = d.iter().collect();
        assert!(distinct.len() > 500, "random draws cover the flows");
    }

    #[test]
    fn ipv6_flows() {
        let r: AddrRange6 = "2001:db8:1::1-2001:db8:1::10".parse().unwrap();
        assert_eq!((r.first, r.count), ("2001:db8:1::1".parse().unwrap(), 16));
        let r: AddrRange6 = "2001:db8:1::77/112".parse().unwrap();
        assert_eq!((r.first, r.count), ("2001:db8:1::".parse().unwrap(), 65536));
        assert!("2001:db8::/64".parse::<AddrRange6>().is_err());
        assert!("2001:db8::9-2001:db8::1".parse::<AddrRange6>().is_err());
        let spec = FlowSpec6 {
            src: "2001:db8:1::ffff-2001:db8:1::1:1".parse().unwrap(),
            dst: AddrRange6::single("2001:db8:ff::53".parse().unwrap()),
            sport: "100-101".parse().unwrap(),
            dport: PortRange::single(53),
            flows: 6,
            order: Order::Sequential,
        };
        spec.validate().unwrap();
        let all: std::collections::HashSet<_> = (0..6).map(|i| spec.tuple(i)).collect();
        assert_eq!(all.len(), 6);
        // The count carries into the upper 16 bits.
        assert_eq!(
            spec.tuple(1).to_string(),
            "[2001:db8:1::1:0]:100 -> [2001:db8:ff::53]:53"
        );
        assert_eq!(
            spec.tuple(5).to_string(),
            "[2001:db8:1::1:1]:101 -> [2001:db8:ff::53]:53"
        );
        assert!(FlowSpec6 { flows: 7, ..spec }
            .validate()
            .unwrap_err()
            .contains("only 6"));
    }
}
