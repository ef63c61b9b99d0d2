//! The IPv6 test network of the route and match tests.

use super::{Fib, PortId, PortTable};
use crate::port::MacAddr;
use std::net::Ipv6Addr;

/// The ports of `lan_wan6`.
pub const LAN: PortId = PortId(0);
pub const WAN: PortId = PortId(1);

pub fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// lan0 (port 0, 2001:db8:1::1/64) and wan0 (port 1, `wan`/64), both MTU 1500.
pub fn lan_wan6(wan: &str) -> PortTable {
    let mut t = PortTable::new();
    let lan = t
        .add("lan0", MacAddr([2, 0, 0, 0, 1, 1]), vec![], 1500)
        .unwrap();
    let wan_port = t
        .add("wan0", MacAddr([2, 0, 0, 0, 2, 1]), vec![], 1500)
        .unwrap();
    t.set_ipv6(lan, vec![("2001:db8:1::1".parse().unwrap(), 64)]);
    t.set_ipv6(wan_port, vec![(wan.parse().unwrap(), 64)]);
    t
}

/// A FIB on `lan_wan6` with wan0 2001:db8:2::1/64 and (`default`) ::/0 via 2001:db8:2::fe.
pub fn fib6(default: bool) -> Fib {
    let mut f = Fib::new(lan_wan6("2001:db8:2::1"));
    if default {
        let gw: Ipv6Addr = "2001:db8:2::fe".parse().unwrap();
        f.add_static6(Ipv6Addr::UNSPECIFIED, 0, Some(gw), None, 1024)
            .unwrap();
    }
    f
}
