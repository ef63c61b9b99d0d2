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

impl crate::ruleset::ext::MatchExt for AddrtypeMatch {
    const NAME: &'static str = "addrtype";
    const REVISION: u8 = 1;

    fn usable(&self) -> Usable {
        AddrtypeMatch::usable(self)
    }
}

impl crate::ruleset::ext::WorkerMatch for AddrtypeMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        view: &crate::ruleset::packet::PacketView<'_>,
        env: &mut crate::ruleset::ext::MatchEnv<'_, A>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        let ok = |sel: Option<Inv<u16>>, addr, port| match sel {
            None => true,
            Some(s) => s.apply(env.fib.addr_type(addr, port).bit() & s.val != 0),
        };
        let src_port = if self.limit_iface_in {
            env.in_port
        } else {
            None
        };
        let dst_port = if self.limit_iface_out {
            env.out_port
        } else {
            src_port
        };
        ok(self.src, view.src, src_port) && ok(self.dst, view.dst, dst_port)
    }
}
