//! `-m addrtype`: the routing type of the source/destination address (xt_addrtype rev 1),
//! for IPv4 (`addrtype_mt_v1`) and IPv6 (`addrtype_mt6`).

use crate::route::v6::Route6Kind;
use crate::ruleset::{Family, Hook, Inv, Usable};
use std::net::Ipv6Addr;

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
pub const ANYCAST: u16 = 1 << 4;
pub const MULTICAST: u16 = 1 << 5;
pub const BLACKHOLE: u16 = 1 << 6;
pub const UNREACHABLE: u16 = 1 << 7;
pub const PROHIBIT: u16 = 1 << 8;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddrtypeMatch {
    pub src: Option<Inv<u16>>,
    pub dst: Option<Inv<u16>>,
    pub limit_iface_in: bool,
    pub limit_iface_out: bool,
    /// The rule's family (the kernel's `par->family`: IPv6 refuses some types).
    pub family: Family,
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
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;

    fn usable(&self) -> Usable {
        AddrtypeMatch::usable(self)
    }

    /// addrtype_mt_checkentry_v1's IPv6 part: types no IPv6 route has.
    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        if self.family != Family::V6 {
            return Ok(());
        }
        let types = self.src.map_or(0, |t| t.val) | self.dst.map_or(0, |t| t.val);
        if types & BLACKHOLE != 0 {
            return Err("addrtype: ipv6 BLACKHOLE matching not supported".into());
        }
        if types >= PROHIBIT {
            return Err("addrtype: ipv6 PROHIBIT (THROW, NAT ..) matching not supported".into());
        }
        if types & BROADCAST != 0 {
            return Err("addrtype: ipv6 does not support BROADCAST matching".into());
        }
        Ok(())
    }
}

/// match_type6: whether `addr` is of every class in `mask` that ipv6_addr_type tells
/// (MULTICAST, UNICAST, UNSPEC), and of one of those only a route tells (LOCAL,
/// ANYCAST, UNREACHABLE: match_lookup_rt6), through `port` when the rule limits it.
pub fn match_type6(
    fib: &crate::route::Fib,
    port: Option<crate::port::PortId>,
    addr: Ipv6Addr,
    mask: u16,
) -> bool {
    if mask & MULTICAST != 0 && !addr.is_multicast() {
        return false;
    }
    if mask & UNICAST != 0 && !is_unicast6(addr) {
        return false;
    }
    if mask & UNSPEC != 0 && !addr.is_unspecified() {
        return false;
    }
    if mask & (LOCAL | ANYCAST | UNREACHABLE) == 0 {
        return true;
    }
    mask & lookup_rt6(fib, port, addr, mask) != 0
}

/// __ipv6_addr_type's IPV6_ADDR_UNICAST: neither unspecified, multicast nor IPv4-mapped.
pub fn is_unicast6(addr: Ipv6Addr) -> bool {
    !addr.is_unspecified() && !addr.is_multicast() && addr.to_ipv4_mapped().is_none()
}

/// match_lookup_rt6: LOCAL when the address is the port's (with a port) or has a local
/// route (without), ANYCAST for an anycast route or destination, UNREACHABLE without a
/// route.
fn lookup_rt6(
    fib: &crate::route::Fib,
    port: Option<crate::port::PortId>,
    addr: Ipv6Addr,
    mask: u16,
) -> u16 {
    let mut ret = 0;
    if let Some(p) = port {
        if mask & LOCAL != 0 && fib.ports().get(p).is_some_and(|p| p.has_ipv6(addr)) {
            ret = LOCAL;
        }
    }
    match fib.route6_kind(addr, port) {
        None => UNREACHABLE,
        Some(Route6Kind::Local) if port.is_none() => ret | LOCAL,
        Some(Route6Kind::Anycast) | Some(Route6Kind::Unicast { anycast_dst: true }) => {
            ret | ANYCAST
        }
        Some(_) => ret,
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
        if view.family == Family::V6 {
            // addrtype_mt6: one device for both addresses.
            let fib = env.fib;
            let ok6 = |sel: Option<Inv<u16>>, addr| {
                sel.is_none_or(|s| s.apply(match_type6(fib, dst_port, addr, s.val)))
            };
            return ok6(self.src, view.src6()) && ok6(self.dst, view.dst6());
        }
        ok(self.src, view.src, src_port) && ok(self.dst, view.dst, dst_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::testing::{a, fib6, LAN, WAN};
    use crate::route::Fib;

    /// lan0 2001:db8:1::1/64 (link-local fe80::ff:fe00:101), wan0 2001:db8:2::1/64,
    /// 2001:db8:9::/48 by lan0 alone, and (`default`) ::/0 via 2001:db8:2::fe.
    fn fib(default: bool) -> Fib {
        let mut f = fib6(default);
        f.add_static6(a("2001:db8:9::"), 48, None, Some(LAN), 1024)
            .unwrap();
        f
    }

    /// What the kernel's addrtype_mt6 answered for these destinations on a namespace
    /// router with the same addresses and routes (OUTPUT, one rule per type).
    #[test]
    fn types_as_the_kernel_tells_them() {
        let f = fib(true);
        let t = |addr: &str, mask| match_type6(&f, None, a(addr), mask);
        for own in ["2001:db8:1::1", "2001:db8:2::1", "::1", "fe80::ff:fe00:101"] {
            assert!(t(own, LOCAL) && t(own, UNICAST), "{own}");
        }
        assert!(!t("2001:db8:1::10", LOCAL) && t("2001:db8:1::10", UNICAST));
        // Subnet-router anycast: of a port's prefix, link-local included, and of a
        // route by device alone.
        for any in ["2001:db8:1::", "fe80::", "2001:db8:9::"] {
            assert!(t(any, ANYCAST) && !t(any, LOCAL), "{any}");
        }
        assert!(!t("2001:db8:9::5", ANYCAST) && !t("fe80::1", ANYCAST));
        assert!(t("ff02::1", MULTICAST) && !t("ff02::1", UNICAST) && !t("ff02::1", LOCAL));
        assert!(
            !t("::ffff:192.0.2.1", UNICAST),
            "IPv4-mapped is not unicast"
        );
        assert!(t("::", UNSPEC) && !t("::1", UNSPEC) && !t("::", UNICAST));
        // Classes ipv6_addr_type tells must all hold: UNICAST and LOCAL is a local one.
        assert!(t("2001:db8:1::1", UNICAST | LOCAL) && !t("2001:db8:1::10", UNICAST | LOCAL));
        assert!(!t("2001:db8:77::1", UNREACHABLE), "the default route");
        let no_default = fib(false);
        assert!(match_type6(
            &no_default,
            None,
            a("2001:db8:77::1"),
            UNREACHABLE
        ));
        assert!(!match_type6(
            &no_default,
            None,
            a("2001:db8:1::10"),
            UNREACHABLE
        ));
    }

    /// --limit-iface-in/out: LOCAL is an address of that port; the route is looked up
    /// through it alone (the default route leaves by wan0: unreachable by lan0).
    #[test]
    fn limited_to_a_port() {
        let f = fib(true);
        let t = |addr: &str, mask, port| match_type6(&f, Some(port), a(addr), mask);
        assert!(t("2001:db8:1::1", LOCAL, LAN) && !t("2001:db8:2::1", LOCAL, LAN));
        assert!(t("2001:db8:2::1", LOCAL, WAN));
        assert!(t("2001:db8:77::1", UNREACHABLE, LAN) && !t("2001:db8:77::1", UNREACHABLE, WAN));
        assert!(t("2001:db8:1::", ANYCAST, LAN) && !t("2001:db8:1::", ANYCAST, WAN));
    }

    /// addrtype_mt_checkentry_v1 refuses, for IPv6 only, the types no IPv6 route has.
    #[test]
    fn ipv6_refuses_blackhole_prohibit_and_broadcast() {
        use crate::ruleset::ext::MatchExt;
        let spec = crate::ruleset::RuleSpec::default();
        let m = |family, dst| AddrtypeMatch {
            dst: Some(Inv::new(false, dst)),
            family,
            ..Default::default()
        };
        for bad in [BROADCAST, BLACKHOLE, PROHIBIT, 1 << 10, LOCAL | 1 << 11] {
            assert!(m(Family::V6, bad).validate(&spec).is_err(), "{bad:#x}");
            assert!(m(Family::V4, bad).validate(&spec).is_ok());
        }
        for good in [UNSPEC, UNICAST, LOCAL, ANYCAST, MULTICAST, UNREACHABLE] {
            assert!(m(Family::V6, good).validate(&spec).is_ok(), "{good:#x}");
        }
    }
}
