//! `-m addrtype`: the routing type of the source/destination address (xt_addrtype rev 1).

use crate::ruleset::{Hook, Inv, Usable};

/// Address types in the order iptables prints them (bit n = RTN_n).
pub const TYPE_NAMES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

pub const UNSPEC: u16 = 1 << 0;
pub const UNICAST: u16 = 1 << 1;
pub const LOCAL: u16 = 1 << 2;
pub const BROADCAST: u16 = 1 << 3;
pub const MULTICAST: u16 = 1 << 5;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddrtypeMatch {
    pub src: Option<Inv<u16>>,
    pub dst: Option<Inv<u16>>,
    pub limit_iface_in: bool,
    pub limit_iface_out: bool,
}

impl AddrtypeMatch {
    pub fn usable(&self) -> Usable {
        if self.limit_iface_in {
            Usable::hooks(&[Hook::Prerouting, Hook::Input, Hook::Forward])
        } else if self.limit_iface_out {
            Usable::hooks(&[Hook::Postrouting, Hook::Output, Hook::Forward])
        } else {
            Usable::ANYWHERE
        }
    }
}
