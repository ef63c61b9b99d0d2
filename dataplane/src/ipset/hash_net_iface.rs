//! hash:net,iface: an IPv4 or IPv6 network with an interface name (the packet's input interface for a
//! `src` second dimension, its output interface for `dst`); longest prefix first, nomatch
//! honoured. `physdev:` elements name bridge ports, which nfdp has none of: they are kept
//! and listed but match no packet.

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};
use super::store::{masked, PrefixStore, SetAddr};

/// Interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const MAX_IFACE_LEN: usize = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IfaceKey<A = u32> {
    pub addr: A,
    /// The name, NUL-padded.
    pub iface: [u8; 16],
    pub physdev: bool,
}

/// `name` as a key's NUL-padded field; `None` when it is empty or too long.
pub fn iface_bytes(name: &str) -> Option<[u8; 16]> {
    if name.is_empty() || name.len() > MAX_IFACE_LEN {
        return None;
    }
    let mut b = [0u8; 16];
    b[..name.len()].copy_from_slice(name.as_bytes());
    Some(b)
}

#[derive(Clone, Debug)]
pub struct HashNetIface<A: SetAddr = u32> {
    pub(super) elems: PrefixStore<IfaceKey<A>>,
}

impl<A: SetAddr> Default for HashNetIface<A> {
    fn default() -> Self {
        HashNetIface {
            elems: PrefixStore::default(),
        }
    }
}

impl<A: SetAddr> HashNetIface<A> {
    pub fn lookup(
        &self,
        addr: A,
        iface: &str,
        flags: &TestFlags,
        bytes: u64,
        now_ns: u64,
    ) -> Lookup {
        let Some(iface) = iface_bytes(iface) else {
            return Lookup::Miss;
        };
        if !self.elems.may_hold(addr) {
            return Lookup::Miss;
        }
        for &len in self.elems.prefixes() {
            let k = IfaceKey {
                addr: masked(addr, len),
                iface,
                physdev: false,
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

    pub fn get(&self, key: IfaceKey<A>, len: u8) -> Option<&ElemExt> {
        let k = IfaceKey {
            addr: masked(key.addr, len),
            ..key
        };
        self.elems.get(len, &k)
    }
}

impl<A: SetAddr> super::store::NetKey for IfaceKey<A> {
    type Addr = A;
    fn net(&self) -> A {
        self.addr
    }
}
