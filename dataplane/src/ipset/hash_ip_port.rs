//! hash:ip,port: an address with a protocol and port (ICMP/ICMPv6: type and code as the
//! port).

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::store::{Map, SetAddr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPortKey<A = u32> {
    pub addr: A,
    pub proto: u8,
    pub port: u16,
}

#[derive(Clone, Debug)]
pub struct HashIpPort<A = u32> {
    pub(super) elems: Map<IpPortKey<A>>,
}

impl<A> Default for HashIpPort<A> {
    fn default() -> Self {
        HashIpPort {
            elems: Map::default(),
        }
    }
}

impl<A: SetAddr> HashIpPort<A> {
    pub fn lookup(&self, key: IpPortKey<A>, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
        self.elems
            .get(&key)
            .map_or(Lookup::Miss, |e| match_extensions(e, flags, bytes, now_ns))
    }

    pub fn get(&self, key: IpPortKey<A>) -> Option<&ElemExt> {
        self.elems.get(&key)
    }
}

impl<A: SetAddr> super::store::NetKey for IpPortKey<A> {
    type Addr = A;
    fn net(&self) -> A {
        self.addr
    }
}
