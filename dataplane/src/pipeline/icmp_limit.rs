//! `icmp_send`'s rate limits (net/ipv4/icmp.c), which keep a flood of packets that each
//! earn an ICMP error (REJECT, TTL exceeded, no route) from turning into a flood of answers.
//! An error of a type in the kernel's default `icmp_ratemask` (destination unreachable but
//! fragmentation needed, source quench, time exceeded, parameter problem) must pass:
//! - the global token bucket (`icmp_global_allow`): `icmp_msgs_per_sec` 1000, up to
//!   `icmp_msgs_burst` 50 held, refilled at most every 20 ms;
//! - the bucket of its destination host (`inet_peer_xrlim_allow`): one message per
//!   `icmp_ratelimit` (1000 ms), a burst of 6.
//!
//! ICMPv6 errors (icmp6_send, net/ipv6/icmp.c) share the global bucket and have their own
//! destination buckets: every error but packet too big is limited (`net.ipv6.icmp.
//! ratemask` 0-1,3-127), and the interval (`net.ipv6.icmp.ratelimit`, 1000 ms) is halved
//! for every 32 bits the route to the destination leaves open ("more bandwidth to wider
//! prefixes": 250 ms through a /64, 62 ms through the default route).
//!
//! Differences, written down: the buckets are per worker (the kernel's are per network
//! namespace), and a message takes one global credit (the kernel takes 0 to 2 at random
//! against timing side channels, 1 on average). TCP resets are not ICMP: never limited.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const NS: u64 = 1_000_000_000;
/// `net.ipv4.icmp_msgs_per_sec`.
pub const MSGS_PER_SEC: u64 = 1000;
/// `net.ipv4.icmp_msgs_burst`.
pub const MSGS_BURST: i64 = 50;
/// `net.ipv4.icmp_ratelimit`, in nanoseconds (1000 ms).
pub const RATELIMIT_NS: u64 = NS;
/// `XRLIM_BURST_FACTOR`: a destination's bucket holds this many messages.
const BURST_FACTOR: u64 = 6;
/// Destinations tracked at most (the kernel's inet_peer cache is bounded too); when full
/// and nothing is idle enough to forget, a new destination is not limited, as the kernel
/// does when it cannot get a peer.
const MAX_PEERS: usize = 4096;

#[derive(Debug, Default)]
pub struct IcmpRateLimit {
    /// Global credit; it may go below zero (the kernel's may too).
    credit: i64,
    /// When the global bucket was last refilled; `None` before the first message.
    stamp_ns: Option<u64>,
    /// Per destination: tokens (nanoseconds of allowance) and when they were counted.
    peers: HashMap<IpAddr, (u64, u64)>,
}

/// Whether errors of this type and code are rate limited (the default `icmp_ratemask`,
/// 0x1818, without fragmentation needed: path MTU discovery is never held back).
pub fn limited_type(icmp_type: u8, code: u8) -> bool {
    matches!(icmp_type, 3 | 4 | 11 | 12) && !(icmp_type == 3 && code == 4)
}

impl IcmpRateLimit {
    /// Whether an ICMP error of `icmp_type`/`code` to `dst` may be sent at `now_ns`; one
    /// that may is counted against both buckets.
    pub fn allow(&mut self, dst: Ipv4Addr, icmp_type: u8, code: u8, now_ns: u64) -> bool {
        if !limited_type(icmp_type, code) {
            return true;
        }
        if !self.global_allow(now_ns) || !self.peer_allow(IpAddr::V4(dst), RATELIMIT_NS, now_ns) {
            return false;
        }
        self.credit -= 1;
        true
    }

    /// As `allow`, for an ICMPv6 error of `icmp_type` to `dst`, routed by a route of
    /// `prefix_len` bits (icmpv6_xrlim_allow).
    pub fn allow6(&mut self, dst: Ipv6Addr, icmp_type: u8, prefix_len: u8, now_ns: u64) -> bool {
        // Informational messages (128 and up) and packet too big pass.
        if icmp_type >= 128 || icmp_type == 2 {
            return true;
        }
        let interval = if prefix_len < 128 {
            RATELIMIT_NS >> ((128 - u32::from(prefix_len)) >> 5)
        } else {
            RATELIMIT_NS
        };
        if !self.global_allow(now_ns) || !self.peer_allow(IpAddr::V6(dst), interval, now_ns) {
            return false;
        }
        self.credit -= 1;
        true
    }

    /// `icmp_global_allow`: credit left, or a refill of up to a second's worth after at
    /// least 20 ms.
    fn global_allow(&mut self, now_ns: u64) -> bool {
        if self.credit > 0 {
            return true;
        }
        let delta = self
            .stamp_ns
            .map_or(NS, |s| now_ns.saturating_sub(s).min(NS));
        if delta < NS / 50 {
            return false;
        }
        let incr = (MSGS_PER_SEC * delta / NS) as i64;
        if incr == 0 {
            return false;
        }
        self.stamp_ns = Some(now_ns);
        self.credit = (self.credit + incr).min(MSGS_BURST);
        true
    }

    /// `inet_peer_xrlim_allow` for the destination, one message per `interval`: a new
    /// one starts with a full bucket.
    fn peer_allow(&mut self, dst: IpAddr, interval: u64, now_ns: u64) -> bool {
        let cap = BURST_FACTOR * interval;
        if !self.peers.contains_key(&dst) && self.peers.len() >= MAX_PEERS {
            // A destination idle for a full burst's time has a full bucket: forgetting it
            // changes nothing.
            self.peers
                .retain(|_, (_, last)| now_ns.saturating_sub(*last) < cap);
            if self.peers.len() >= MAX_PEERS {
                return true;
            }
        }
        let (tokens, last) = self.peers.entry(dst).or_insert((cap, now_ns));
        let mut t = (*tokens + now_ns.saturating_sub(*last)).min(cap);
        *last = now_ns;
        let ok = t >= interval;
        if ok {
            t -= interval;
        }
        *tokens = t;
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_000 * NS;

    fn sent(l: &mut IcmpRateLimit, dst: [u8; 4], n: usize, now: u64) -> usize {
        (0..n)
            .filter(|_| l.allow(Ipv4Addr::from(dst), 3, 3, now))
            .count()
    }

    #[test]
    fn a_destination_gets_six_at_once_then_one_a_second() {
        let mut l = IcmpRateLimit::default();
        assert_eq!(sent(&mut l, [10, 0, 0, 1], 10, T0), 6);
        assert_eq!(sent(&mut l, [10, 0, 0, 1], 10, T0 + NS / 2), 0);
        assert_eq!(sent(&mut l, [10, 0, 0, 1], 10, T0 + NS), 1);
        assert_eq!(sent(&mut l, [10, 0, 0, 1], 10, T0 + 3 * NS), 2);
        // Another destination has its own bucket.
        assert_eq!(sent(&mut l, [10, 0, 0, 2], 10, T0 + 3 * NS), 6);
    }

    #[test]
    fn all_destinations_together_get_the_global_burst_then_a_thousand_a_second() {
        let mut l = IcmpRateLimit::default();
        let mut n = 0;
        for i in 0..200u32 {
            n += sent(&mut l, (0x0a00_0000 + i).to_be_bytes(), 1, T0);
        }
        // The first message finds no credit and refills 1000, capped at the burst of 50.
        assert_eq!(n, 50);
        // 100 ms later: 100 more credits, capped at 50 again.
        let mut n = 0;
        for i in 200..400u32 {
            n += sent(&mut l, (0x0a00_0000 + i).to_be_bytes(), 1, T0 + NS / 10);
        }
        assert_eq!(n, 50);
        // Within 20 ms of a refill there is none.
        let mut n = 0;
        for i in 400..600u32 {
            n += sent(
                &mut l,
                (0x0a00_0000 + i).to_be_bytes(),
                1,
                T0 + NS / 10 + NS / 100,
            );
        }
        assert_eq!(n, 0);
    }

    #[test]
    fn icmpv6_errors_are_limited_by_the_width_of_their_route() {
        let mut l = IcmpRateLimit::default();
        let d: Ipv6Addr = "2001:db8::1".parse().unwrap();
        // Through a /64: 250 ms per message, a burst of 6.
        let n =
            |l: &mut IcmpRateLimit, t: u8, now| (0..10).filter(|_| l.allow6(d, t, 64, now)).count();
        assert_eq!(n(&mut l, 3, T0), 6);
        assert_eq!(n(&mut l, 1, T0 + NS / 4), 1);
        // Packet too big and echo replies are never limited.
        assert_eq!(n(&mut l, 2, T0 + NS / 4), 10);
        assert_eq!(n(&mut l, 129, T0 + NS / 4), 10);
        // A host route keeps the whole second.
        let h: Ipv6Addr = "2001:db8::2".parse().unwrap();
        assert_eq!((0..10).filter(|_| l.allow6(h, 1, 128, T0)).count(), 6);
        assert_eq!(
            (0..10).filter(|_| l.allow6(h, 1, 128, T0 + NS / 2)).count(),
            0
        );
    }

    #[test]
    fn fragmentation_needed_and_other_types_are_not_limited() {
        let mut l = IcmpRateLimit::default();
        let d = Ipv4Addr::new(10, 0, 0, 1);
        assert!((0..100).all(|_| l.allow(d, 3, 4, T0)));
        assert!((0..100).all(|_| l.allow(d, 0, 0, T0)));
        assert!((0..100).all(|_| l.allow(d, 5, 1, T0)));
        assert_eq!((0..100).filter(|_| l.allow(d, 11, 0, T0)).count(), 6);
    }
}
