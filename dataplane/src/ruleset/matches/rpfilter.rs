//! `-m rpfilter [--loose] [--validmark] [--accept-local] [--invert]`: reverse path
//! filtering (xt_rpfilter, raw and mangle PREROUTING only): the route back to the
//! packet's source must leave by the port it arrived on (`--loose`: any route will do;
//! `--validmark`: the route for the packet's mark; `--accept-local`: a source that is one
//! of the appliance's own addresses counts, on the port that has it). The lookup itself is
//! the pipeline's (`eval::rpfilter_matches`), which has the FIB. IPv6 packets are looked
//! up as ip6t_rpfilter does (`rpfilter_matches6`).

use crate::ruleset::ext::MatchEnv;
use crate::ruleset::packet::PacketView;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpfilterMatch {
    pub loose: bool,
    pub validmark: bool,
    pub accept_local: bool,
    pub invert: bool,
}

/// `-m rpfilter` (rpfilter_mt): the FIB's route back to the packet's source.
pub fn rpfilter_matches<A: crate::conntrack::family::CtAddr>(
    r: &RpfilterMatch,
    view: &PacketView<'_>,
    env: &MatchEnv<'_, A>,
) -> bool {
    use crate::route::AddrType;
    if view.family == crate::ruleset::Family::V6 {
        let mark = if r.validmark { env.mark } else { 0 };
        return rpfilter_matches6(r, view.src6(), mark, env.fib, env.in_port) != r.invert;
    }
    let (src, dst) = (view.src, view.dst);
    // DHCP and the like: from 0.0.0.0/8 to the limited broadcast or 224.0.0.0/24.
    let zeronet_ok = src.octets()[0] == 0
        && (dst == std::net::Ipv4Addr::BROADCAST || u32::from(dst) >> 8 == 0xe0_00_00);
    let ok = zeronet_ok
        || match env.fib.addr_type(src, None) {
            // A local route is good with --accept-local, by the port holding the address
            // (127/8 has none: only --loose takes it).
            AddrType::Local => {
                r.accept_local && (r.loose || env.fib.local_port(src) == env.in_port)
            }
            AddrType::Unicast => {
                let mark = if r.validmark { env.mark } else { 0 };
                env.fib
                    .lookup(src, mark)
                    .is_some_and(|hop| r.loose || Some(hop.port) == env.in_port)
            }
            _ => false,
        };
    ok != r.invert
}

/// ip6t_rpfilter's rpfilter_mt and rpfilter_lookup_reverse6, before `--invert`: the route
/// back to `src` (local table, then the IPv6 rules' tables). An unspecified source matches (the forward
/// path drops it), as does a packet not from a port (the kernel's loopback case). A
/// link-local source is looked up on the receiving port only (RT6_LOOKUP_F_IFACE);
/// another is, without `--loose`, the route of its longest prefix that rt6_device_match
/// picks (`flowi6_oif`): the first on the receiving port, else the first, which then
/// leaves by another. (The packet's destination, the lookup's `saddr`, only chooses
/// among routes when there is no `oif`: with `--loose`, where any route will do.) A local
/// route matches only with `--accept-local` (on any port, unlike IPv4), an anycast route
/// never. The IPv6 rules pick the table by `mark`: the packet's with `--validmark`, else
/// 0 (`flowi6_mark`).
pub fn rpfilter_matches6(
    r: &RpfilterMatch,
    src: std::net::Ipv6Addr,
    mark: u32,
    fib: &crate::route::Fib,
    in_port: Option<crate::port::PortId>,
) -> bool {
    use crate::port::is_link_local6;
    let Some(in_port) = in_port else {
        return true;
    };
    if src.is_unspecified() {
        return true;
    }
    let ports = fib.ports();
    let link_local = is_link_local6(src);
    if src == std::net::Ipv6Addr::LOCALHOST {
        return r.accept_local;
    }
    if let Some(owner) = ports.ipv6_owner(src) {
        // Another port's link-local address: its local route is not on the receiving
        // port, and the lookup goes on to that port's fe80::/64.
        if !link_local || owner.id == in_port {
            return r.accept_local;
        }
    }
    if link_local {
        if crate::route::v6::is_subnet_anycast(ports, src, Some(in_port)) {
            return false;
        }
        let in_fe80_64 = src.segments()[1..4] == [0, 0, 0];
        return in_fe80_64 && ports.get(in_port).is_some_and(|p| p.ipv6_enabled());
    }
    if crate::route::v6::is_subnet_anycast(ports, src, None) {
        return false;
    }
    if src.is_multicast() {
        // The ff00::/8 route of every IPv6 port.
        let on = |p: &crate::port::PortInfo| p.ipv6_enabled() && (r.loose || p.id == in_port);
        return ports.iter().any(on);
    }
    fib.leaf_port6(src, mark, |p| p == in_port)
        .is_some_and(|p| r.loose || p == in_port)
}

impl crate::ruleset::ext::MatchExt for RpfilterMatch {
    const NAME: &'static str = "rpfilter";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::hooks(&[crate::ruleset::Hook::Prerouting])
    }

    fn tables(&self) -> Option<&'static [crate::ruleset::TableKind]> {
        use crate::ruleset::TableKind;
        Some(&[TableKind::Raw, TableKind::Mangle])
    }
}

impl crate::ruleset::ext::WorkerMatch for RpfilterMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        view: &PacketView<'_>,
        env: &mut MatchEnv<'_, A>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        rpfilter_matches(self, view, env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::testing::{a, fib6, LAN, WAN};
    use crate::route::Fib;

    /// lan0 2001:db8:1::1/64, wan0 2001:db8:2::1/64, 2001:db8:50::/48 by both ports
    /// (lan0 first), and (`default`) ::/0 via 2001:db8:2::fe.
    fn fib(default: bool) -> Fib {
        let mut f = fib6(default);
        f.add_static6(a("2001:db8:50::"), 48, None, Some(LAN), 100)
            .unwrap();
        f.add_static6(a("2001:db8:50::"), 48, None, Some(WAN), 200)
            .unwrap();
        f
    }

    const STRICT: RpfilterMatch = RpfilterMatch {
        loose: false,
        validmark: false,
        accept_local: false,
        invert: false,
    };
    const LOOSE: RpfilterMatch = RpfilterMatch {
        loose: true,
        ..STRICT
    };
    const LOCAL_OK: RpfilterMatch = RpfilterMatch {
        accept_local: true,
        ..STRICT
    };

    #[test]
    fn the_route_back_must_leave_by_the_arrival_port_unless_loose() {
        let f = fib(true);
        let ok =
            |r: &RpfilterMatch, src: &str, port| rpfilter_matches6(r, a(src), 0, &f, Some(port));
        assert!(ok(&STRICT, "2001:db8:1::10", LAN));
        assert!(
            !ok(&STRICT, "2001:db8:1::10", WAN),
            "a LAN source from the WAN"
        );
        assert!(ok(&LOOSE, "2001:db8:1::10", WAN));
        assert!(ok(&STRICT, "2001:db8:99::5", WAN) && !ok(&STRICT, "2001:db8:99::5", LAN));
        // A prefix routed by both ports: either is the way back (rt6_device_match).
        assert!(ok(&STRICT, "2001:db8:50::1", LAN) && ok(&STRICT, "2001:db8:50::1", WAN));
        let no_default = fib(false);
        assert!(!rpfilter_matches6(
            &LOOSE,
            a("2001:db8:99::5"),
            0,
            &no_default,
            Some(WAN)
        ));
    }

    /// The kernel's special cases: an unspecified source and a packet not from a port
    /// pass; a local source needs --accept-local (on any port, unlike IPv4); an anycast
    /// one never passes; a link-local one is looked up on the arrival port alone.
    #[test]
    fn local_anycast_link_local_and_unspecified_sources() {
        let f = fib(true);
        let ok =
            |r: &RpfilterMatch, src: &str, port| rpfilter_matches6(r, a(src), 0, &f, Some(port));
        assert!(
            ok(&STRICT, "::", WAN) && rpfilter_matches6(&STRICT, a("2001:db8:99::5"), 0, &f, None)
        );
        for own in ["2001:db8:2::1", "2001:db8:1::1", "::1", "fe80::ff:fe00:101"] {
            assert!(!ok(&LOOSE, own, LAN) && ok(&LOCAL_OK, own, LAN), "{own}");
        }
        assert!(
            !ok(&LOOSE, "2001:db8:1::", LAN) && !ok(&LOOSE, "fe80::", LAN),
            "anycast"
        );
        assert!(ok(&STRICT, "fe80::5", LAN) && ok(&STRICT, "fe80::5", WAN));
        // wan0's link-local address coming in on lan0: the fe80::/64 of lan0.
        assert!(ok(&STRICT, "fe80::ff:fe00:201", LAN));
        assert!(!ok(&LOOSE, "fe80:1::5", LAN), "outside fe80::/64: no route");
        assert!(ok(&STRICT, "ff02::1", LAN));
    }

    /// `--validmark`: the way back is the one the packet's mark takes through the IPv6
    /// rules; without it, mark 0's.
    #[test]
    fn validmark_looks_up_the_table_of_the_packets_mark() {
        let mut f = fib(true);
        f.add_route6(a("2001:db8:99::"), 48, None, Some(LAN), 0, 100)
            .unwrap();
        f.add_rule6(crate::route::PolicyRule {
            fwmark: 7,
            mask: u32::MAX,
            table: 100,
            priority: 10,
        })
        .unwrap();
        let valid = RpfilterMatch {
            validmark: true,
            ..STRICT
        };
        let ok = |r: &RpfilterMatch, mark, port| {
            rpfilter_matches6(r, a("2001:db8:99::5"), mark, &f, Some(port))
        };
        assert!(ok(&valid, 7, LAN) && !ok(&valid, 7, WAN));
        assert!(ok(&valid, 0, WAN) && !ok(&valid, 0, LAN));
        assert!(ok(&STRICT, 0, WAN));
    }
}
