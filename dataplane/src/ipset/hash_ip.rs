//! hash:ip: single addresses (`u32` for `family inet`, `u128` for `family inet6`).

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::store::{Map, SetAddr};

#[derive(Clone, Debug)]
pub struct HashIp<A = u32> {
    pub(super) elems: Map<A>,
}

impl<A> Default for HashIp<A> {
    fn default() -> Self {
        HashIp {
            elems: Map::default(),
        }
    }
}

impl<A: SetAddr> HashIp<A> {
    #[inline]
    pub fn lookup(&self, addr: A, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
        self.elems
            .get(&addr)
            .map_or(Lookup::Miss, |e| match_extensions(e, flags, bytes, now_ns))
    }

    pub fn get(&self, addr: A) -> Option<&ElemExt> {
        self.elems.get(&addr)
    }
}
