//! hash:net: networks of any prefix length 1-32 (IPv4) or 1-128 (IPv6), `nomatch`
//! entries carving holes. A packet is looked up once per prefix length present, longest
//! first; the first live entry decides (a nomatch entry makes the test fail), as the
//! kernel's `mtype_test_cidrs`.

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::store::{masked, NetKey, PrefixStore, SetAddr};

#[derive(Clone, Debug)]
pub struct HashNet<A: SetAddr = u32>
where
    A: NetKey<Addr = A>,
{
    pub(super) elems: PrefixStore<A>,
}

impl<A: SetAddr + NetKey<Addr = A>> Default for HashNet<A> {
    fn default() -> Self {
        HashNet {
            elems: PrefixStore::default(),
        }
    }
}

impl<A: SetAddr + NetKey<Addr = A>> HashNet<A> {
    #[inline]
    pub fn lookup(&self, addr: A, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
        if !self.elems.may_hold(addr) {
            return Lookup::Miss;
        }
        for &len in self.elems.prefixes() {
            if let Some(e) = self.elems.get(len, &masked(addr, len)) {
                let r = match_extensions(e, flags, bytes, now_ns);
                if r != Lookup::Miss {
                    return r;
                }
            }
        }
        Lookup::Miss
    }

    pub fn get(&self, addr: A, len: u8) -> Option<&ElemExt> {
        self.elems.get(len, &masked(addr, len))
    }
}
