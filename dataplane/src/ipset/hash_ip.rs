//! hash:ip: single addresses (`u32` for `family inet`, `u128` for `family inet6`),
//! each masked to the set's `netmask` (the kernel's hash:ip stores and looks up
//! `ip & netmask`, so one element stands for its whole block).

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::store::{Map, SetAddr};

#[derive(Clone, Debug)]
pub struct HashIp<A: SetAddr = u32> {
    pub(super) elems: Map<A>,
    /// The `netmask` as a mask (all ones without one).
    mask: A,
}

impl<A: SetAddr> Default for HashIp<A> {
    fn default() -> Self {
        HashIp::with_netmask(A::BITS)
    }
}

impl<A: SetAddr> HashIp<A> {
    pub fn with_netmask(netmask: u8) -> HashIp<A> {
        HashIp {
            elems: Map::default(),
            mask: A::mask(netmask),
        }
    }

    /// The key `addr` is stored under.
    #[inline]
    pub fn key(&self, addr: A) -> A {
        addr & self.mask
    }

    #[inline]
    pub fn lookup(&self, addr: A, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
        self.elems
            .get(&self.key(addr))
            .map_or(Lookup::Miss, |e| match_extensions(e, flags, bytes, now_ns))
    }

    pub fn get(&self, addr: A) -> Option<&ElemExt> {
        self.elems.get(&self.key(addr))
    }
}
