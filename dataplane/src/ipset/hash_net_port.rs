//! hash:net,port: an IPv4 or IPv6 network with a protocol and port; longest prefix first, nomatch
//! honoured, as hash:net.

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::hash_ip_port::IpPortKey;
use super::store::{masked, PrefixStore, SetAddr};

#[derive(Clone, Debug)]
pub struct HashNetPort<A: SetAddr = u32> {
    /// Keys hold the network address (masked to the table's prefix length).
    pub(super) elems: PrefixStore<IpPortKey<A>>,
}

impl<A: SetAddr> Default for HashNetPort<A> {
    fn default() -> Self {
        HashNetPort {
            elems: PrefixStore::default(),
        }
    }
}

impl<A: SetAddr> HashNetPort<A> {
    pub fn lookup(&self, key: IpPortKey<A>, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
        if !self.elems.may_hold(key.addr) {
            return Lookup::Miss;
        }
        for &len in self.elems.prefixes() {
            let k = IpPortKey {
                addr: masked(key.addr, len),
                ..key
            };
            if let Some(e) = self.elems.get(len, &k) {
                let r = match_extensions(e, flags, bytes, now_ns);
                if r != Lookup::Miss {
                    return r;
                }
            }
        }
        Lookup::Miss
    }

    pub fn get(&self, key: IpPortKey<A>, len: u8) -> Option<&ElemExt> {
        let k = IpPortKey {
            addr: masked(key.addr, len),
            ..key
        };
        self.elems.get(len, &k)
    }
}
