//! hash:ip,port: an address with a protocol and port (ICMP: type and code as the port).

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::store::Map;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPortKey {
    pub addr: u32,
    pub proto: u8,
    pub port: u16,
}

#[derive(Clone, Debug, Default)]
pub struct HashIpPort {
    pub(super) elems: Map<IpPortKey>,
}

impl HashIpPort {
    pub fn lookup(&self, key: IpPortKey, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
        self.elems
            .get(&key)
            .map_or(Lookup::Miss, |e| match_extensions(e, flags, bytes, now_ns))
    }

    pub fn get(&self, key: IpPortKey) -> Option<&ElemExt> {
        self.elems.get(&key)
    }
}

impl super::store::NetKey for IpPortKey {
    fn net(&self) -> u32 {
        self.addr
    }
}
