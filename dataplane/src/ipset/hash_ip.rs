//! hash:ip: single IPv4 addresses.

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::store::Map;

#[derive(Clone, Debug, Default)]
pub struct HashIp {
    pub(super) elems: Map<u32>,
}

impl HashIp {
    pub fn lookup(&self, addr: u32, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
        self.elems
            .get(&addr)
            .map_or(Lookup::Miss, |e| match_extensions(e, flags, bytes, now_ns))
    }

    pub fn get(&self, addr: u32) -> Option<&ElemExt> {
        self.elems.get(&addr)
    }
}
