//! NAT bindings (nf_nat_core): the first packet of a connection chooses how its source
//! (SNAT, MASQUERADE) or destination (DNAT, REDIRECT) is rewritten; the choice is kept as
//! the connection's reply tuple, and every later packet of either direction is rewritten
//! so that it looks like the inverse of the other direction's tuple.

use super::{ConnEntry, Conntrack, Tuple};
use crate::hash::mix64;
use crate::ruleset::PortRange;
use std::net::Ipv4Addr;

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

/// What a NAT target asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatRequest {
    pub manip: Manip,
    /// Inclusive address range; `None` keeps the address.
    pub addrs: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Inclusive port (or ICMP id) range; `None` keeps the port when it is free.
    pub ports: Option<PortRange>,
    pub random: bool,
    pub persistent: bool,
}

/// The kernel's `jhash2` (Bob Jenkins' lookup3 over 32-bit words): hashing as Linux does
/// makes an address range pick the same address for a flow as a Linux router would.
fn jhash2(k: &[u32], initval: u32) -> u32 {
    let init = 0xdead_beef_u32
        .wrapping_add((k.len() as u32) << 2)
        .wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = k;
    while rest.len() > 3 {
        a = a.wrapping_add(rest[0]);
        b = b.wrapping_add(rest[1]);
        c = c.wrapping_add(rest[2]);
        // __jhash_mix
        a = a.wrapping_sub(c) ^ c.rotate_left(4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a) ^ a.rotate_left(6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b) ^ b.rotate_left(8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c) ^ c.rotate_left(16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a) ^ a.rotate_left(19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b) ^ b.rotate_left(4);
        b = b.wrapping_add(a);
        rest = &rest[3..];
    }
    if rest.is_empty() {
        return c;
    }
    if rest.len() == 3 {
        c = c.wrapping_add(rest[2]);
    }
    if rest.len() >= 2 {
        b = b.wrapping_add(rest[1]);
    }
    a = a.wrapping_add(rest[0]);
    // __jhash_final
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c.wrapping_sub(b.rotate_left(24))
}

/// find_best_ips_proto: the address of `lo..=hi` for a connection from `src` to `dst`,
/// `jhash2` of the source (a 16-byte `nf_inet_addr`, IPv4 in its first word) seeded with
/// the destination (zone 0), scaled onto the range. The kernel hashes the addresses as
/// they lie in memory, read as host-order words; that is the little-endian reading here,
/// as on the x86 and arm64 routers people compare with.
fn pick_addr(
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

fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 136 | 1)
}

impl ConnEntry {
    pub fn nat_done(&self, m: Manip) -> bool {
        self.status & m.done_bit() != 0
    }

    /// How a packet of direction `reply` must look once rewritten: the inverse of the
    /// other direction's tuple.
    pub fn target_tuple(&self, reply: bool) -> Option<Tuple> {
        if reply {
            self.orig.invert()
        } else {
            self.reply.invert()
        }
    }
}

impl Conntrack {
    /// A tuple the original direction may take: its reply is not some other connection's.
    fn is_free(&self, t: &Tuple) -> bool {
        t.invert().is_some_and(|r| !self.map.contains_key(&r))
    }

    /// Chooses the binding of a new connection for `req` and records it in the entry's
    /// reply tuple. `false`: no free tuple in the range (the packet is dropped).
    pub fn bind(&self, e: &mut ConnEntry, req: &NatRequest) -> bool {
        let Some(mut t) = e.reply.invert() else {
            return false;
        };
        if let Some((lo, hi)) = req.addrs {
            let a = pick_addr(lo, hi, e.orig.src, e.orig.dst, req.persistent);
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
    pub fn bind_identity(&self, e: &mut ConnEntry, manip: Manip) -> bool {
        let Some(mut t) = e.reply.invert() else {
            return false;
        };
        if manip == Manip::Src && !self.is_free(&t) {
            let req = NatRequest {
                manip,
                addrs: None,
                ports: None,
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

    fn install(&self, e: &mut ConnEntry, t: Tuple, manip: Manip) {
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
    /// search the range (or the port's class: 1-511, 600-1023, 1024-65535) from an offset.
    fn choose_port(&self, t: &mut Tuple, e: &ConnEntry, req: &NatRequest) -> bool {
        if !has_ports(t.proto) {
            return self.is_free(t);
        }
        // ICMP: only the id (the source side) can change.
        if t.proto == 1 && req.manip == Manip::Dst {
            return true;
        }
        fn key(t: &mut Tuple, m: Manip) -> &mut u16 {
            match m {
                Manip::Src => &mut t.sport,
                Manip::Dst => &mut t.dport,
            }
        }
        let cur = *key(t, req.manip);
        let (min, max) = match req.ports {
            Some(r) => (r.lo.min(r.hi), r.lo.max(r.hi)),
            None if req.manip == Manip::Dst => return true,
            None if t.proto == 1 => (0, 65535),
            None if cur < 512 => (1, 511),
            None if cur < 1024 => (600, 1023),
            None => (1024, 65535),
        };
        // Source ports come from this worker's slice of the range, so that replies (which
        // carry the port) can be steered to the worker that owns the connection.
        let (me, workers) = self.worker;
        let mine = |p: u16| req.manip == Manip::Dst || workers == 1 || p % workers == me;
        let in_range = (min..=max).contains(&cur);
        if !req.random && in_range && mine(cur) && (min == max || self.is_free(t)) {
            return true;
        }
        let size = u32::from(max - min) + 1;
        let start = if req.manip == Manip::Dst && !req.random {
            0
        } else {
            (mix64(u64::from(u32::from(e.orig.src)) << 16 | u64::from(e.orig.sport))
                % u64::from(size)) as u32
        };
        for i in 0..size.min(65536) {
            let p = (u32::from(min) + (start + i) % size) as u16;
            if !mine(p) {
                continue;
            }
            *key(t, req.manip) = p;
            if self.is_free(t) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn single_address_and_whole_space() {
        let a = ip("198.51.100.7");
        assert_eq!(pick_addr(a, a, ip("10.0.0.1"), ip("10.0.0.2"), false), a);
        // 0.0.0.0-255.255.255.255: the distance wraps to 0, the kernel then adds nothing.
        let any = pick_addr(ip("0.0.0.0"), ip("255.255.255.255"), a, a, true);
        assert_eq!(any, ip("0.0.0.0"));
    }
}
