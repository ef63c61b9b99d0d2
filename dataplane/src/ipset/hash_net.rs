//! hash:net: IPv4 networks of any prefix length 1-32, `nomatch` entries carving holes.
//! A packet is looked up once per prefix length present, longest first; the first live
//! entry decides (a nomatch entry makes the test fail), as the kernel's
//! `mtype_test_cidrs`.

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::store::{masked, PrefixStore};

#[derive(Clone, Debug, Default)]
pub struct HashNet {
    pub(super) elems: PrefixStore<u32>,
}

impl HashNet {
    pub fn lookup(&self, addr: u32, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
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

    pub fn get(&self, addr: u32, len: u8) -> Option<&ElemExt> {
        self.elems.get(len, &masked(addr, len))
    }
}
