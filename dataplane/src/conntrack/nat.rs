//! NAT bindings (nf_nat_core): the first packet of a connection chooses how its source
//! (SNAT, MASQUERADE) or destination (DNAT, REDIRECT) is rewritten; the choice is kept as
//! the connection's reply tuple, and every later packet of either direction is rewritten
//! so that it looks like the inverse of the other direction's tuple. The binding is
//! generic over the address family (`Conntrack<A>`, monomorphised: IPv4 and IPv6 each get
//! their own code); only the address pick differs (`CtAddr::nat_pick`).

use super::tuple::PortRange;
use super::{ConnEntry, Conntrack, CtAddr, Tuple};
use crate::hash::{jhash2, mix64};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Status bits beside the conntrack ones (`IPS_SRC_NAT`, ...).
pub mod bits {
    pub const SRC_NAT: u8 = 1 << 4;
    pub const DST_NAT: u8 = 1 << 5;
    pub const SRC_NAT_DONE: u8 = 1 << 6;
    pub const DST_NAT_DONE: u8 = 1 << 7;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manip {
    Src,
    Dst,
}

impl Manip {
    fn done_bit(self) -> u8 {
        match self {
            Manip::Src => bits::SRC_NAT_DONE,
            Manip::Dst => bits::DST_NAT_DONE,
        }
    }
    fn nat_bit(self) -> u8 {
        match self {
            Manip::Src => bits::SRC_NAT,
            Manip::Dst => bits::DST_NAT,
        }
    }
}

/// What a NAT target asks for, in address family `A` (IPv4 unless said otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatRequest<A = Ipv4Addr> {
    pub manip: Manip,
    /// Inclusive address range; `None` keeps the address.
    pub addrs: Option<(A, A)>,
    /// Inclusive port (or ICMP id) range; `None` keeps the port when it is free.
    pub ports: Option<PortRange>,
    /// A shifted port map (NF_NAT_RANGE_PROTO_OFFSET): the search starts at the original
    /// port's offset from this base, and the port is mapped even when it is in range.
    pub port_base: Option<u16>,
    pub random: bool,
    pub persistent: bool,
}

/// find_best_ips_proto: the address of `lo..=hi` for a connection from `src` to `dst`,
/// `jhash2` of the source (a 16-byte `nf_inet_addr`, IPv4 in its first word) seeded with
/// the destination (zone 0), scaled onto the range. The kernel hashes the addresses as
/// they lie in memory, read as host-order words; that is the little-endian reading here,
/// as on the x86 and arm64 routers people compare with.
pub(super) fn pick_addr(
    lo: Ipv4Addr,
    hi: Ipv4Addr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    persistent: bool,
) -> Ipv4Addr {
    if lo == hi {
        return lo;
    }
    let word = |a: Ipv4Addr| u32::from_le_bytes(a.octets());
    let seed = if persistent { 0 } else { word(dst) };
    let j = jhash2(&[word(src), 0, 0, 0], seed);
    let dist = u32::from(hi).wrapping_sub(u32::from(lo)).wrapping_add(1);
    // reciprocal_scale
    let offset = ((u64::from(j) * u64::from(dist)) >> 32) as u32;
    Ipv4Addr::from(u32::from(lo).wrapping_add(offset))
}

/// find_best_ips_proto for IPv6: the four words of the address are picked in turn,
/// each from the range's word while the words before it sit at the range's maximum, from
/// the whole word once one does not (`full_range`); the hash is the source's, seeded with
/// the destination's last word and stirred with each destination word in turn. Words are
/// read as `pick_addr` reads them (host order, little-endian) for the hash, in network
/// order for the range.
pub(super) fn pick_addr6(
    lo: Ipv6Addr,
    hi: Ipv6Addr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    persistent: bool,
) -> Ipv6Addr {
    if lo == hi {
        return lo;
    }
    let words = |a: Ipv6Addr, read: fn([u8; 4]) -> u32| {
        let o = a.octets();
        [0, 1, 2, 3].map(|i| read([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]]))
    };
    let (s, d) = (
        words(src, u32::from_le_bytes),
        words(dst, u32::from_le_bytes),
    );
    let (min, max) = (words(lo, u32::from_be_bytes), words(hi, u32::from_be_bytes));
    let mut j = jhash2(&s, if persistent { 0 } else { d[3] });
    let mut out = [0u8; 16];
    let mut full_range = false;
    for i in 0..4 {
        let (minip, dist) = if full_range {
            (0, u32::MAX)
        } else {
            (min[i], max[i].wrapping_sub(min[i]).wrapping_add(1))
        };
        // reciprocal_scale
        let w = minip.wrapping_add(((u64::from(j) * u64::from(dist)) >> 32) as u32);
        out[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        if w != max[i] {
            full_range = true;
        }
        if !persistent {
            j ^= d[i];
        }
    }
    Ipv6Addr::from(out)
}

/// Protocols whose tuple has a port (or an ICMP id) NAT may choose.
fn has_ports<A: CtAddr>(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 136) || proto == A::ICMP_PROTO
}

impl<A: CtAddr> ConnEntry<A> {
    pub fn nat_done(&self, m: Manip) -> bool {
        self.status & m.done_bit() != 0
    }

    /// How a packet of direction `reply` must look once rewritten: the inverse of the
    /// other direction's tuple.
    pub fn target_tuple(&self, reply: bool) -> Option<Tuple<A>> {
        if reply {
            self.orig.invert()
        } else {
            self.reply.invert()
        }
    }
}

impl<A: CtAddr> Conntrack<A> {
    /// A tuple the original direction may take: its reply is not some other connection's.
    fn is_free(&self, t: &Tuple<A>) -> bool {
        t.invert().is_some_and(|r| self.lookup(&r).is_none())
    }

    /// Chooses the binding of a new connection for `req` and records it in the entry's
    /// reply tuple. `false`: no free tuple in the range (the packet is dropped).
    pub fn bind(&mut self, e: &mut ConnEntry<A>, req: &NatRequest<A>) -> bool {
        let Some(mut t) = e.reply.invert() else {
            return false;
        };
        if let Some((lo, hi)) = req.addrs {
            let a = A::nat_pick(lo, hi, e.orig.src, e.orig.dst, req.persistent);
            match req.manip {
                Manip::Src => t.src = a,
                Manip::Dst => t.dst = a,
            }
        }
        if !self.choose_port(&mut t, e, req) {
            return false;
        }
        self.install(e, t, req.manip);
        true
    }

    /// The binding a new connection gets when no rule of that NAT hook chose one: the
    /// identity, except that a source port already in use is remapped so every
    /// connection stays unique.
    pub fn bind_identity(&mut self, e: &mut ConnEntry<A>, manip: Manip) -> bool {
        // The destination side keeps the tuple as it is: without ICMP's type mapping,
        // inverting the reply twice gives it back, so only the status bits change.
        if manip == Manip::Dst && e.reply.proto != A::ICMP_PROTO {
            e.status |= manip.done_bit();
            if (e.reply.src, e.reply.sport) != (e.orig.dst, e.orig.dport) {
                e.status |= manip.nat_bit();
            }
            return true;
        }
        let Some(mut t) = e.reply.invert() else {
            return false;
        };
        if manip == Manip::Src && !self.is_free(&t) {
            let req = NatRequest {
                manip,
                addrs: None,
                ports: None,
                port_base: None,
                random: false,
                persistent: false,
            };
            if !self.choose_port(&mut t, e, &req) {
                return false;
            }
        }
        self.install(e, t, manip);
        true
    }

    fn install(&self, e: &mut ConnEntry<A>, t: Tuple<A>, manip: Manip) {
        let Some(reply) = t.invert() else { return };
        let changed = match manip {
            Manip::Src => (t.src, t.sport) != (e.orig.src, e.orig.sport),
            Manip::Dst => (t.dst, t.dport) != (e.orig.dst, e.orig.dport),
        };
        e.reply = reply;
        e.status |= manip.done_bit();
        if changed {
            e.status |= manip.nat_bit();
        }
    }

    /// nf_nat_l4proto_unique_tuple: keep the port when it is in range and free, else
    /// search the range (or the port's class: 1-511, 600-1023, 1024-65535) from an offset,
    /// bounded as the kernel bounds it (`bounded_search`). `false`: no free port was met;
    /// the caller drops the packet and `insert_failed` counts it, as the kernel's confirm
    /// does with the clashing tuple the search left.
    fn choose_port(&mut self, t: &mut Tuple<A>, e: &ConnEntry<A>, req: &NatRequest<A>) -> bool {
        if !has_ports::<A>(t.proto) {
            return self.is_free(t);
        }
        // ICMP: only the id (the source side) can change.
        if t.proto == A::ICMP_PROTO && req.manip == Manip::Dst {
            return true;
        }
        let cur = *key(t, req.manip);
        let (min, max) = match req.ports {
            Some(r) => (r.lo.min(r.hi), r.lo.max(r.hi)),
            None if req.manip == Manip::Dst => return true,
            None if t.proto == A::ICMP_PROTO => (0, 65535),
            None if cur < 512 => (1, 511),
            None if cur < 1024 => (600, 1023),
            None => (1024, 65535),
        };
        // Source ports come from this worker's slice of the range, so that replies (which
        // carry the port) can be steered to the worker that owns the connection.
        let (me, workers) = if req.manip == Manip::Dst {
            (0, 1)
        } else {
            self.worker
        };
        let pool = PortPool::new(min, max, me, workers);
        let in_range = (min..=max).contains(&cur);
        let mine = workers <= 1 || cur % workers == me;
        // A shifted map always maps; otherwise a port in range and free is kept.
        if req.port_base.is_none()
            && !req.random
            && in_range
            && mine
            && (min == max || self.is_free(t))
        {
            return true;
        }
        // The first offset hashes the original source (the same flow gets the same port
        // back); later rounds draw fresh offsets from it.
        let seed = mix64(e.orig.src.seed_word() << 16 | u64::from(e.orig.sport));
        // The search's first probe is tested here (most searches end on it: an S2
        // connection whose source port another host holds), so that only the searches
        // going on past it pay for the walk's set-up, out of line in `search_port`.
        // `bounded_search` probes `offset(0) % size` first, as this does.
        let first_failed = if req.port_base.is_none() && pool.size > 0 {
            let h = if req.manip == Manip::Dst && !req.random {
                0
            } else {
                (seed % u64::from(pool.size)) as u32
            };
            let port = pool.port(h % pool.size);
            self.stats.nat_port_probes += 1;
            let free = t.invert().is_some_and(|mut r| {
                set_reply_port(&mut r, req.manip, port);
                !self.may_hold(&r)
            });
            if free {
                *key(t, req.manip) = port;
                return true;
            }
            true
        } else {
            false
        };
        self.search_port(t, req, pool, seed, first_failed)
    }

    /// The rest of `choose_port`'s search (`bounded_search` from its start;
    /// `first_failed`: its first probe was made, and failed).
    #[inline(never)]
    fn search_port(
        &mut self,
        t: &mut Tuple<A>,
        req: &NatRequest<A>,
        pool: PortPool,
        seed: u64,
        first_failed: bool,
    ) -> bool {
        let cur = *key(t, req.manip);
        // A shifted map starts at the port's offset from the base (u16 arithmetic, as
        // nf_nat_l4proto_unique_tuple's `off`) and walks on port by port.
        let shifted = req.port_base.map(|b| u32::from(cur.wrapping_sub(b)));
        let offset = |round: u32| -> u32 {
            if let (0, Some(off)) = (round, shifted) {
                off
            } else if round == 0 && req.manip == Manip::Dst && !req.random {
                0
            } else if round == 0 {
                (seed % u64::from(pool.size.max(1))) as u32
            } else {
                mix64(seed ^ u64::from(round).wrapping_mul(0x9e37_79b9_7f4a_7c15)) as u32
            }
        };
        let mut probes = 0u64;
        let mut skip_first = first_failed;
        let base = *t;
        let candidate = |k: u32| {
            let mut c = base;
            *key(&mut c, req.manip) = pool.port(k);
            c
        };
        // The candidates' reply tuples differ from the base's only in the port the search
        // sets (on the reply's destination side for SNAT, its source side for DNAT and
        // for an ICMP id): inverted once, not per probe.
        let base_reply = base.invert();
        let reply_of = |k: u32| {
            base_reply.map(|mut r| {
                set_reply_port(&mut r, req.manip, pool.port(k));
                r
            })
        };
        let found = bounded_search(
            pool.size,
            shifted.is_some(),
            offset,
            // A candidate whose reply tuple's tag is indexed counts as taken without its
            // entry being read (`may_hold`): a port search probes a pool that is mostly
            // in use, and each entry read is a cache miss; a tag shared by another tuple
            // (1 in 2^32) only skips a free port.
            |k| {
                // choose_port made (and counted) the first probe already.
                if std::mem::take(&mut skip_first) {
                    return false;
                }
                probes += 1;
                reply_of(k).is_some_and(|r| !self.may_hold(&r))
            },
            |k, entry| {
                if let (false, Some(r)) = (entry, reply_of(k)) {
                    self.prefetch_lookup(&r, false);
                }
            },
        );
        self.stats.nat_port_probes += probes;
        match found {
            Some(k) => {
                *t = candidate(k);
                true
            }
            None => {
                self.stats.insert_failed += 1;
                false
            }
        }
    }
}

/// The port of a tuple's `manip` side (its source port for SNAT, destination port for
/// DNAT).
fn key<A>(t: &mut Tuple<A>, m: Manip) -> &mut u16 {
    match m {
        Manip::Src => &mut t.sport,
        Manip::Dst => &mut t.dport,
    }
}

/// Sets in a candidate's reply tuple the port the search chose: on the reply's
/// destination side for SNAT, its source side for DNAT and for an ICMP id.
fn set_reply_port<A: CtAddr>(r: &mut Tuple<A>, manip: Manip, port: u16) {
    match manip {
        Manip::Src if r.proto != A::ICMP_PROTO => r.dport = port,
        _ => r.sport = port,
    }
}

/// Probes of a port search whose index slots are on their way while one is tested.
const LOOKAHEAD: u32 = 4;

/// The kernel's NF_NAT_MAX_ATTEMPTS: the first window of the port search.
const MAX_ATTEMPTS: u32 = 128;

/// The ports of `min..=max` one worker may hand out: those with `p % workers == worker`,
/// numbered 0..size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PortPool {
    first: u32,
    step: u32,
    size: u32,
}

impl PortPool {
    fn new(min: u16, max: u16, worker: u16, workers: u16) -> PortPool {
        let (min, max) = (u32::from(min), u32::from(max));
        // One worker hands out the whole range (no divisions).
        if workers <= 1 {
            return PortPool {
                first: min,
                step: 1,
                size: if min > max { 0 } else { max - min + 1 },
            };
        }
        let step = u32::from(workers.max(1));
        let worker = u32::from(worker) % step;
        let first = min + (worker + step - min % step) % step;
        let size = if first > max {
            0
        } else {
            (max - first) / step + 1
        };
        PortPool { first, step, size }
    }

    fn port(&self, k: u32) -> u16 {
        (self.first + k * self.step) as u16
    }
}

/// nf_nat_l4proto_unique_tuple's search over candidates `0..size`: up to 128 of them from
/// `offset(0)`; if none is free and the window was smaller than the pool, half as many
/// from `offset(1)`, and so on while the window stays at least 16. At most
/// 128 + 64 + 32 + 16 + 8 = 248 probes, however large and full the pool: a busy pool or a
/// flood of new connections cannot make one packet scan 65,536 ports.
///
/// One deviation: where the kernel walks a window port by port, a pool larger than the
/// window is walked with a stride of the search's own (`probe_stride`). Walking in a row
/// makes taken ports clump into runs (linear probing's primary clustering), and at 90%
/// occupancy a search then meets ~30-50 taken ports before a free one; with strides
/// ~10 (1 / (1 - 0.9); the suite's S2 occupancy run measures it). A pool the first window covers is walked in a row, as
/// the kernel does, so small `--to-ports` ranges pick the kernel's ports.
fn bounded_search(
    size: u32,
    in_a_row: bool,
    mut offset: impl FnMut(u32) -> u32,
    mut free: impl FnMut(u32) -> bool,
    mut prefetch: impl FnMut(u32, bool),
) -> Option<u32> {
    if size == 0 {
        return None;
    }
    let mut attempts = size.min(MAX_ATTEMPTS);
    let mut round = 0;
    loop {
        let h = offset(round);
        // k walks off, off + stride, ... modulo size, by additions (no division per probe).
        let mut k = h % size;
        // Most searches end on their first probe: the stride is drawn only after it.
        if free(k) {
            return Some(k);
        }
        let stride = if in_a_row && round == 0 {
            1
        } else {
            probe_stride(size, h)
        };
        let step = |k: u32| {
            if k >= size - stride {
                k - (size - stride)
            } else {
                k + stride
            }
        };
        // A busy pool takes many probes, each a cache miss or two in the tuple index:
        // the walk is known in advance, so the index slot of the probe LOOKAHEAD on is
        // loaded while this one is tested, and the entry the next one's slot names.
        let mut far = k;
        for _ in 0..LOOKAHEAD.min(attempts) {
            far = step(far);
            prefetch(far, false);
        }
        for _ in 1..attempts {
            k = step(k);
            far = step(far);
            prefetch(far, false);
            prefetch(step(k), true);
            if free(k) {
                return Some(k);
            }
        }
        if attempts >= size || attempts < 16 {
            return None;
        }
        attempts /= 2;
        round += 1;
    }
}

/// Binary gcd: shifts and subtractions, no division (a search computes a few).
fn gcd(mut a: u32, mut b: u32) -> u32 {
    if a == 0 || b == 0 {
        return a | b;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// The step between probes of a window: 1 for a pool the first window covers; otherwise
/// drawn from the search's own hash `h` (double hashing: searches that start near each
/// other part at once) and moved to the next number coprime with the pool size, so a
/// window never meets a port twice.
fn probe_stride(size: u32, h: u32) -> u32 {
    if size <= MAX_ATTEMPTS {
        return 1;
    }
    let mut s = 1 + (mix64(u64::from(h)) % u64::from(size - 1)) as u32;
    // Only odd strides can be coprime with an even size (most pools: 1024-65535 holds
    // 64,512 ports), and only the size's odd part is left to test: about half the gcds,
    // each shorter.
    let odd = size >> size.trailing_zeros();
    let step = if odd == size { 1 } else { 2 };
    if step == 2 {
        s |= 1;
    }
    while gcd(s, odd) != 1 {
        s += step;
        if s >= size {
            s = 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The search loads ahead exactly the probes it makes next (the slot LOOKAHEAD
    /// probes on, the entry of the next one), and finds what it finds without them.
    #[test]
    fn the_port_search_prefetches_the_probes_it_makes() {
        for (size, free_at) in [(64_512u32, 40_000u32), (1000, 3), (7, 5)] {
            let mut probed = Vec::new();
            let mut slots = Vec::new();
            let mut entries = Vec::new();
            let found = bounded_search(
                size,
                false,
                |_| 12_345,
                |k| {
                    probed.push(k);
                    k == free_at
                },
                |k, entry| {
                    if entry {
                        entries.push(k)
                    } else {
                        slots.push(k)
                    }
                },
            );
            assert_eq!(found, search(size, false, |_| 12_345, |k| k == free_at));
            // Every probe of the first round after its first had its slot asked for before,
            // and from the third on its entry (a later round starts from a new offset).
            let first_round = probed.len().min(MAX_ATTEMPTS as usize);
            for (n, k) in probed.iter().enumerate().take(first_round).skip(1) {
                assert!(slots[..(n + LOOKAHEAD as usize - 1).min(slots.len())].contains(k));
                if n >= 2 {
                    assert_eq!(entries.get(n - 2), Some(k));
                }
            }
        }
    }

    /// `bounded_search` without prefetching.
    fn search(
        size: u32,
        in_a_row: bool,
        offset: impl FnMut(u32) -> u32,
        free: impl FnMut(u32) -> bool,
    ) -> Option<u32> {
        bounded_search(size, in_a_row, offset, free, |_, _| {})
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    // The addresses a Linux 6.18 router in a network namespace chose for these flows
    // (tests/conformance/scenarios/nat_snat_addr_range.toml, nat_dnat_addr_range.toml).
    #[test]
    fn range_picks_the_address_linux_picks() {
        let snat = pick_addr(
            ip("203.0.113.10"),
            ip("203.0.113.20"),
            ip("192.168.1.10"),
            ip("93.184.216.34"),
            false,
        );
        assert_eq!(snat, ip("203.0.113.17"));
        for client in ["8.8.4.4", "9.9.9.9"] {
            let dnat = pick_addr(
                ip("192.168.1.10"),
                ip("192.168.1.11"),
                ip(client),
                ip("203.0.113.1"),
                false,
            );
            assert_eq!(dnat, ip("192.168.1.10"), "{client}");
        }
    }

    // A Linux 6.x router in a network namespace, `ip6tables -t nat -A POSTROUTING -j SNAT
    // --to-source 2001:db8:2::100-2001:db8:2::1ff`, a UDP flow from 2001:db8:1::10 to
    // 2001:db8:2::20: its /proc/net/nf_conntrack reply tuple had dst=...:01f8.
    #[test]
    fn range_picks_the_ipv6_address_linux_picks() {
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let (lo, hi) = (a("2001:db8:2::100"), a("2001:db8:2::1ff"));
        let src = a("2001:db8:1::10");
        let got = pick_addr6(lo, hi, src, a("2001:db8:2::20"), false);
        assert_eq!(got, a("2001:db8:2::1f8"));
        // Always inside the range; a single address is itself.
        for last in 0..200u16 {
            let dst = Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, last);
            let p = pick_addr6(lo, hi, src, dst, false);
            assert!((lo..=hi).contains(&p), "{p}");
        }
        assert_eq!(pick_addr6(lo, lo, src, src, false), lo);
        // --persistent: the destination is left out of the hash.
        let (x, y) = (a("2001:db8:9::1"), a("2001:db8:7::2"));
        assert_eq!(
            pick_addr6(lo, hi, src, x, true),
            pick_addr6(lo, hi, src, y, true)
        );
    }

    #[test]
    fn single_address_and_whole_space() {
        let a = ip("198.51.100.7");
        assert_eq!(pick_addr(a, a, ip("10.0.0.1"), ip("10.0.0.2"), false), a);
        // 0.0.0.0-255.255.255.255: the distance wraps to 0, the kernel then adds nothing.
        let any = pick_addr(ip("0.0.0.0"), ip("255.255.255.255"), a, a, true);
        assert_eq!(any, ip("0.0.0.0"));
    }

    #[test]
    fn a_full_pool_is_given_up_after_248_probes() {
        // 1024-65535, every port taken: 128 + 64 + 32 + 16 + 8 probes, not 64,512.
        for seed in 0..50u32 {
            let mut probes = 0;
            let found = search(
                64_512,
                false,
                |round| mix64(u64::from(seed) << 8 | u64::from(round)) as u32,
                |_| {
                    probes += 1;
                    false
                },
            );
            assert_eq!((found, probes), (None, 248), "seed {seed}");
        }
        // A pool no larger than the first window is searched whole, once.
        let mut probes = 0;
        let found = search(
            100,
            false,
            |_| 7,
            |_| {
                probes += 1;
                false
            },
        );
        assert_eq!((found, probes), (None, 100));
        assert_eq!(search(0, false, |_| 0, |_| true), None);
    }

    #[test]
    fn probes_spread_so_a_busy_pool_does_not_clump() {
        // Fill 1024-65535 to 90% the way connections do (each takes the first free port
        // its search meets), then count what the next 2,000 searches probe: ~1/(1 - 0.9)
        // when the taken ports are spread, ~50 when they clump into runs.
        let size = 64_512u32;
        let mut taken = vec![false; size as usize];
        let search = |conn: u64, taken: &[bool], probes: &mut u64| {
            search(
                size,
                false,
                |round| mix64(conn << 8 | u64::from(round)) as u32,
                |k| {
                    *probes += 1;
                    !taken[k as usize]
                },
            )
        };
        let mut probes = 0;
        for conn in 0..(size as u64 * 9 / 10) {
            let k = search(conn, &taken, &mut probes).expect("room left");
            taken[k as usize] = true;
        }
        let mut probes = 0;
        for conn in 0..2_000u64 {
            assert!(search(1 << 40 | conn, &taken, &mut probes).is_some());
        }
        let mean = probes as f64 / 2_000.0;
        // 10.0 with a stride per search. (A table of 64 prime strides stayed under this
        // bound here yet probed 16-17 ports and refused connections in the suite's S2 at
        // 90%, where kept source ports fill a block: run that scenario for such changes.)
        assert!(mean < 12.0, "{mean} probes per connection at 90%");
        // Every stride walks the whole pool before it repeats a port.
        for (size, h) in [
            (129u32, 5u32),
            (1000, 77),
            (4096, 0),
            (64_512, 9),
            (65_536, 1),
        ] {
            let s = u64::from(probe_stride(size, h));
            let mut seen = vec![false; size as usize];
            for i in 0..u64::from(size) {
                let k = (i * s % u64::from(size)) as usize;
                assert!(!seen[k], "size {size}: {k} twice");
                seen[k] = true;
            }
        }
    }

    #[test]
    fn a_nearly_full_pool_still_yields_its_free_ports() {
        // A pool of 128 (`--to-ports 2000-2127`) with one port free: found from any offset,
        // as the kernel's first window covers the pool.
        for free in 0..128u32 {
            for off in [0u32, 1, 77, 127, 65_535] {
                let found = search(128, false, |_| off, |k| k == free);
                assert_eq!(found, Some(free), "free {free} offset {off}");
            }
        }
        // 1024-65535 at 90% occupancy (every tenth port free, by a fixed hash): each of
        // 1,000 connections finds a free port within the bound.
        let is_free = |k: u32| mix64(u64::from(k)).is_multiple_of(10);
        for conn in 0..1_000u64 {
            let mut probes = 0;
            let found = search(
                64_512,
                false,
                |round| mix64(conn << 8 | u64::from(round)) as u32,
                |k| {
                    probes += 1;
                    is_free(k)
                },
            );
            let k = found.expect("a free port");
            assert!(
                is_free(k) && probes <= 248,
                "conn {conn}: {k} after {probes}"
            );
        }
    }

    #[test]
    fn binary_gcd_is_gcd() {
        let euclid = |mut a: u32, mut b: u32| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        for a in (0..2000).chain([64_511, 64_512, 65_535, u32::MAX]) {
            for b in [
                0,
                1,
                2,
                3,
                6,
                7,
                48,
                63,
                1024,
                64_512,
                65_536,
                4_000_000_000,
            ] {
                assert_eq!(gcd(a, b), euclid(a, b), "gcd({a}, {b})");
            }
        }
    }

    #[test]
    fn worker_pools_hold_exactly_their_ports() {
        for (min, max, workers) in [(1024u16, 65535u16, 2u16), (1, 511, 3), (2000, 2003, 4)] {
            for me in 0..workers {
                let pool = PortPool::new(min, max, me, workers);
                let ports: Vec<u16> = (0..pool.size).map(|k| pool.port(k)).collect();
                let want: Vec<u16> = (min..=max).filter(|p| p % workers == me).collect();
                assert_eq!(ports, want, "{min}-{max} worker {me} of {workers}");
            }
        }
        // A range smaller than the number of workers leaves some of them nothing.
        assert_eq!(PortPool::new(2001, 2001, 0, 2).size, 0);
        assert_eq!(PortPool::new(65535, 65535, 1, 2).size, 1);
    }
}
