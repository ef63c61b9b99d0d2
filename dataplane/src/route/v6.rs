//! IPv6 routes: the connected prefixes of the ports'
//! configured addresses (main table) and static routes of any table, longest prefix first.
//! Forwarded packets and the appliance's own take the same longest-prefix match in the
//! table the policy rules pick (`Fib::route6`), a scan of the connected prefixes and
//! static routes sized for the tens of routes a gateway configures (no allocation per
//! lookup).

use std::net::Ipv6Addr;

use super::MAIN_TABLE;
use crate::port::{is_link_local6, PortId, PortTable};

/// A static IPv6 route (`ip -6 route add DST/LEN [via GW] [dev DEV] [metric M] [table T]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route6 {
    /// The network (host bits clear).
    pub dst: Ipv6Addr,
    pub len: u8,
    pub via: Option<Ipv6Addr>,
    pub dev: PortId,
    pub metric: u32,
    pub table: u32,
}

/// The kernel's metric for an IPv6 route added without one (or with 0): IP6_RT_PRIO_USER,
/// as ip6_route_info_create sets it.
pub const USER_METRIC: u32 = 1024;

/// Why a static IPv6 route was refused (iproute2's wording where it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route6Error {
    /// A link-local gateway needs its device.
    LinkLocalNeedsDev(Ipv6Addr),
    /// The gateway is on no connected prefix (of `dev`, if one was named).
    InvalidGateway(Ipv6Addr),
    /// The gateway is one of the appliance's addresses.
    LocalGateway(Ipv6Addr),
    /// Same destination and metric already in that table.
    Exists(Ipv6Addr, u8, u32),
    /// Table 0 (RT_TABLE_UNSPEC) or the local table (its routes are the addresses').
    BadTable(u32),
    /// The device is not a port.
    UnknownPort(PortId),
    /// Neither a gateway nor a device.
    NoDevice,
    /// The device has no IPv6 (MTU below 1280).
    NoIpv6(PortId),
}

impl std::fmt::Display for Route6Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route6Error::LinkLocalNeedsDev(gw) => {
                write!(f, "gateway {gw} is link-local: name its `dev`")
            }
            Route6Error::InvalidGateway(gw) => write!(
                f,
                "gateway {gw} is not on a connected IPv6 network (Nexthop has invalid gateway)"
            ),
            Route6Error::LocalGateway(gw) => {
                write!(f, "gateway {gw} is an address of the appliance")
            }
            Route6Error::Exists(dst, len, m) => {
                write!(
                    f,
                    "a route to {dst}/{len} with metric {m} exists (File exists)"
                )
            }
            Route6Error::NoDevice => write!(f, "needs a gateway (via) or a device (dev)"),
            Route6Error::BadTable(t) => write!(f, "invalid routing table {t}"),
            Route6Error::UnknownPort(p) => write!(f, "unknown port {p}"),
            Route6Error::NoIpv6(p) => write!(f, "{p} has no IPv6 (MTU below 1280)"),
        }
    }
}

impl std::error::Error for Route6Error {}

fn mask(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

fn within(addr: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    u128::from(addr) & mask(len) == u128::from(net) & mask(len)
}

/// The network of `addr` at `len`: `None` when host bits are set (`ip route`'s "Invalid
/// prefix for given prefix length") or `len` is over 128.
pub fn network6(addr: Ipv6Addr, len: u8) -> Option<Ipv6Addr> {
    (len <= 128 && u128::from(addr) & !mask(len) == 0).then_some(addr)
}

/// The IPv6 routes of a FIB.
#[derive(Debug, Clone, Default)]
pub struct Routes6 {
    statics: Vec<Route6>,
}

impl Routes6 {
    pub fn statics(&self) -> &[Route6] {
        &self.statics
    }

    /// Adds a static route to the main table (`add_to` with MAIN_TABLE).
    pub fn add(
        &mut self,
        ports: &PortTable,
        dst: Ipv6Addr,
        len: u8,
        via: Option<Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
    ) -> Result<(), Route6Error> {
        self.add_to(ports, dst, len, via, dev, metric, MAIN_TABLE)
            .map(|_| ())
    }

    /// The route `add_to` would add, checked: its device found from the gateway when not
    /// named, metric 0 made USER_METRIC (ip6_route_info_create).
    #[allow(clippy::too_many_arguments)]
    pub fn check(
        ports: &PortTable,
        dst: Ipv6Addr,
        len: u8,
        via: Option<Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
        table: u32,
    ) -> Result<Route6, Route6Error> {
        if table == 0 || table == super::LOCAL_TABLE {
            return Err(Route6Error::BadTable(table));
        }
        if let Some(d) = dev {
            if ports.get(d).is_none() {
                return Err(Route6Error::UnknownPort(d));
            }
        }
        let dst = Ipv6Addr::from(u128::from(dst) & mask(len));
        let dev = match (via, dev) {
            (None, None) => return Err(Route6Error::NoDevice),
            (None, Some(d)) => d,
            (Some(gw), _) if ports.ipv6_owner(gw).is_some() => {
                return Err(Route6Error::LocalGateway(gw))
            }
            (Some(gw), None) if is_link_local6(gw) => {
                return Err(Route6Error::LinkLocalNeedsDev(gw))
            }
            (Some(gw), Some(d)) if is_link_local6(gw) => d,
            (Some(gw), dev) => connected(ports, gw)
                .filter(|(p, _)| dev.is_none_or(|d| d == *p))
                .map(|(p, _)| p)
                .ok_or(Route6Error::InvalidGateway(gw))?,
        };
        if !ports.get(dev).is_some_and(|p| p.ipv6_enabled()) {
            return Err(Route6Error::NoIpv6(dev));
        }
        Ok(Route6 {
            dst,
            len,
            via,
            dev,
            metric: if metric == 0 { USER_METRIC } else { metric },
            table,
        })
    }

    /// Adds a static route to `table` (`ip -6 route add`): File exists when one to the
    /// same prefix with the same metric is there.
    #[allow(clippy::too_many_arguments)]
    pub fn add_to(
        &mut self,
        ports: &PortTable,
        dst: Ipv6Addr,
        len: u8,
        via: Option<Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
        table: u32,
    ) -> Result<Route6, Route6Error> {
        let route = Self::check(ports, dst, len, via, dev, metric, table)?;
        if self.position(&route).is_some() {
            return Err(Route6Error::Exists(route.dst, len, route.metric));
        }
        self.statics.push(route);
        Ok(route)
    }

    /// `ip -6 route replace`: the route to the same prefix with the same metric in that
    /// table is replaced in place (fib6_add_rt2node with NLM_F_REPLACE), else it is added.
    #[allow(clippy::too_many_arguments)]
    pub fn replace(
        &mut self,
        ports: &PortTable,
        dst: Ipv6Addr,
        len: u8,
        via: Option<Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
        table: u32,
    ) -> Result<Route6, Route6Error> {
        let route = Self::check(ports, dst, len, via, dev, metric, table)?;
        match self.position(&route) {
            Some(i) => self.statics[i] = route,
            None => self.statics.push(route),
        }
        Ok(route)
    }

    fn position(&self, route: &Route6) -> Option<usize> {
        self.statics.iter().position(|r| {
            (r.dst, r.len, r.metric, r.table) == (route.dst, route.len, route.metric, route.table)
        })
    }

    /// `ip -6 route del`: the first route of `table` to the prefix whose metric, gateway
    /// and device agree with those given (0 / `None`: any), as ip6_route_del matches.
    pub fn remove(
        &mut self,
        dst: Ipv6Addr,
        len: u8,
        via: Option<Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
        table: u32,
    ) -> Option<Route6> {
        let i = self.statics.iter().position(|r| {
            r.table == table
                && (r.dst, r.len) == (dst, len)
                && (metric == 0 || r.metric == metric)
                && via.is_none_or(|v| r.via == Some(v))
                && dev.is_none_or(|d| r.dev == d)
        })?;
        Some(self.statics.remove(i))
    }

    /// Whether `table` has a static route (the main table always has the connected ones).
    pub fn has_table(&self, table: u32) -> bool {
        self.statics.iter().any(|r| r.table == table)
    }

    /// The port and next hop for `dst` in the main table (`lookup_route` without the
    /// prefix length).
    pub fn lookup(&self, ports: &PortTable, dst: Ipv6Addr) -> Option<(PortId, Ipv6Addr)> {
        self.lookup_route(ports, dst).map(|h| (h.port, h.next_hop))
    }

    /// The main table's route for `dst` (`lookup_route_via` without a port).
    pub fn lookup_route(&self, ports: &PortTable, dst: Ipv6Addr) -> Option<Hop6> {
        self.lookup_route_via(ports, dst, None, MAIN_TABLE)
    }

    /// The route for `dst` in `table`: the longest match among the connected prefixes (main
    /// table only) and the table's static routes (a connected prefix first on a tie, then
    /// the lower metric, then the first configured), through `via` only when given (the
    /// kernel's lookup with `flowi6_oif` and RT6_LOOKUP_F_IFACE, where a shorter prefix
    /// through the port wins over a longer one elsewhere). Link-local and multicast
    /// destinations are not routed (their port is the caller's to know). Allocates
    /// nothing: it runs per forwarded packet.
    pub fn lookup_route_via(
        &self,
        ports: &PortTable,
        dst: Ipv6Addr,
        via: Option<PortId>,
        table: u32,
    ) -> Option<Hop6> {
        if is_link_local6(dst) || dst.is_multicast() {
            return None;
        }
        let connected = if table == MAIN_TABLE {
            connected_via(ports, dst, via)
        } else {
            None
        };
        let mut best = connected.map(|(port, len)| {
            (
                (len, 1u8, 0u32),
                Hop6 {
                    port,
                    next_hop: dst,
                    prefix_len: len,
                    on_link: true,
                },
            )
        });
        let statics = self
            .statics
            .iter()
            .filter(|r| r.table == table)
            .filter(|r| via.is_none_or(|v| v == r.dev) && within(dst, r.dst, r.len));
        for r in statics {
            let key = (r.len, 0u8, u32::MAX - r.metric);
            // Strictly better only: the first configured of equals stays.
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                let hop = Hop6 {
                    port: r.dev,
                    next_hop: r.via.unwrap_or(dst),
                    prefix_len: r.len,
                    on_link: r.via.is_none(),
                };
                best = Some((key, hop));
            }
        }
        best.map(|(_, h)| h)
    }

    /// The port of the route rt6_device_match picks among those of `table`'s longest
    /// prefix holding `dst` (the kernel's fib6 leaf, in `lookup_route_via`'s order): the
    /// first whose port `prefer` takes, else the first. `None`: no route.
    pub fn leaf_port(
        &self,
        ports: &PortTable,
        dst: Ipv6Addr,
        table: u32,
        prefer: impl Fn(PortId) -> bool,
    ) -> Option<PortId> {
        let len = self.lookup_route_via(ports, dst, None, table)?.prefix_len;
        // Connected prefixes in port order first, then statics by metric, then order.
        let connected = ports
            .iter()
            .filter(|p| p.ipv6_enabled() && table == MAIN_TABLE)
            .filter(|p| {
                p.addresses6
                    .iter()
                    .any(|&(a, l)| l == len && within(dst, a, l))
            })
            .map(|p| ((0u8, 0u32, usize::from(p.id.0)), p.id));
        let statics = self
            .statics
            .iter()
            .enumerate()
            .filter(|(_, r)| r.table == table && r.len == len && within(dst, r.dst, r.len))
            .map(|(i, r)| ((1u8, r.metric, i), r.dev));
        let mut first: Option<((u8, u32, usize), PortId)> = None;
        let mut preferred: Option<((u8, u32, usize), PortId)> = None;
        for (key, port) in connected.chain(statics) {
            if first.is_none_or(|(k, _)| key < k) {
                first = Some((key, port));
            }
            if prefer(port) && preferred.is_none_or(|(k, _)| key < k) {
                preferred = Some((key, port));
            }
        }
        preferred.or(first).map(|(_, p)| p)
    }
}

/// Whether `addr` is the subnet-router anycast address (the prefix itself, RFC 4291
/// 2.6.1) of an address of a port (through `via` only, when given), link-local ones
/// included: a forwarding device joins it (addrconf_join_anycast, prefixes shorter than
/// /127), and its route in the local table has RTF_ANYCAST.
pub fn is_subnet_anycast(ports: &PortTable, addr: Ipv6Addr, via: Option<PortId>) -> bool {
    ports
        .iter()
        .filter(|p| p.ipv6_enabled() && via.is_none_or(|v| v == p.id))
        .flat_map(|p| {
            let link_local = p.link_local().map(|a| (a, 64));
            link_local.into_iter().chain(p.addresses6.iter().copied())
        })
        .any(|(a, len)| len < 127 && within(addr, a, len) && u128::from(addr) & !mask(len) == 0)
}

/// The kind of route the kernel's IPv6 lookup finds for an address (`Fib::route6_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route6Kind {
    /// An address of the appliance, or ::1 (RTF_LOCAL, the local table).
    Local,
    /// A subnet-router anycast address of a port's prefix (RTF_ANYCAST, the local table).
    Anycast,
    /// A multicast address (the ff00::/8 route of every IPv6 port, local table).
    Multicast,
    /// A unicast route of the main table; `anycast_dst`: the address is the prefix of
    /// a route without a gateway shorter than /127 (ipv6_anycast_destination).
    Unicast { anycast_dst: bool },
}

/// Where a routed IPv6 packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop6 {
    pub port: PortId,
    /// The gateway, or the destination itself on a connected prefix.
    pub next_hop: Ipv6Addr,
    /// The matching route's prefix length (ICMPv6 rate limits scale with it).
    pub prefix_len: u8,
    /// A route without a gateway (connected, or a static one by `dev` alone).
    pub on_link: bool,
}

/// The port whose configured prefix holds `addr` (the longest), with that prefix length.
fn connected(ports: &PortTable, addr: Ipv6Addr) -> Option<(PortId, u8)> {
    connected_via(ports, addr, None)
}

/// `connected` among the prefixes of `via` only, when given.
fn connected_via(ports: &PortTable, addr: Ipv6Addr, via: Option<PortId>) -> Option<(PortId, u8)> {
    ports
        .iter()
        .filter(|p| p.ipv6_enabled() && via.is_none_or(|v| v == p.id))
        .flat_map(|p| p.addresses6.iter().map(move |&(a, len)| (p.id, a, len)))
        .filter(|&(_, a, len)| within(addr, a, len))
        .fold(None, |best: Option<(PortId, u8)>, (p, _, len)| match best {
            Some((_, l)) if l >= len => best,
            _ => Some((p, len)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::MacAddr;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn ports() -> PortTable {
        let mut t = crate::route::testing::lan_wan6("2001:db8:ff::1");
        t.add("ser0", MacAddr([2, 0, 0, 0, 3, 1]), vec![], 1000)
            .unwrap();
        t
    }

    #[test]
    fn connected_then_longest_static_then_metric() {
        let p = ports();
        let mut r = Routes6::default();
        let (lan, wan) = (PortId(0), PortId(1));
        assert_eq!(
            r.lookup(&p, a("2001:db8:1::5")),
            Some((lan, a("2001:db8:1::5")))
        );
        assert_eq!(r.lookup(&p, a("2001:db8:9::5")), None);
        r.add(&p, a("::"), 0, Some(a("2001:db8:ff::fe")), None, 1024)
            .unwrap();
        r.add(
            &p,
            a("2001:db8:9::"),
            48,
            Some(a("fe80::99")),
            Some(lan),
            1024,
        )
        .unwrap();
        r.add(&p, a("::"), 0, Some(a("2001:db8:ff::fd")), None, 100)
            .unwrap();
        assert_eq!(r.lookup(&p, a("2001:db8:9::5")), Some((lan, a("fe80::99"))));
        assert_eq!(
            r.lookup(&p, a("2001:db8:77::5")),
            Some((wan, a("2001:db8:ff::fd"))),
            "the lower metric"
        );
        assert_eq!(
            r.lookup(&p, a("2001:db8:1::5")),
            Some((lan, a("2001:db8:1::5")))
        );
        assert_eq!(r.lookup(&p, a("fe80::5")), None);
    }

    #[test]
    fn refusals() {
        let p = ports();
        let mut r = Routes6::default();
        let e = |r: &mut Routes6, via: &str, dev: Option<u16>| {
            r.add(&p, a("::"), 0, Some(a(via)), dev.map(PortId), 1)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e(&mut r, "fe80::1", None),
            "gateway fe80::1 is link-local: name its `dev`"
        );
        assert!(e(&mut r, "2001:db8:5::1", None).contains("Nexthop has invalid gateway"));
        assert!(e(&mut r, "2001:db8:ff::fe", Some(0)).contains("Nexthop has invalid gateway"));
        assert!(e(&mut r, "2001:db8:1::1", None).contains("an address of the appliance"));
        assert!(e(&mut r, "fe80::1", Some(2)).contains("no IPv6"));
        r.add(&p, a("::"), 0, Some(a("2001:db8:ff::fe")), None, 1)
            .unwrap();
        assert!(e(&mut r, "2001:db8:ff::fd", None).contains("File exists"));
        assert_eq!(
            r.add(&p, a("::"), 0, None, None, 5),
            Err(Route6Error::NoDevice)
        );
        assert_eq!(network6(a("2001:db8::1"), 64), None);
        assert_eq!(network6(a("2001:db8::"), 64), Some(a("2001:db8::")));
        assert_eq!(network6(a("2001:db8::"), 129), None);
    }

    #[test]
    fn tables_hold_their_own_routes() {
        let p = ports();
        let mut r = Routes6::default();
        let (lan, wan) = (PortId(0), PortId(1));
        r.add_to(&p, a("::"), 0, Some(a("2001:db8:1::fe")), None, 0, 10)
            .unwrap();
        assert_eq!(r.statics()[0].metric, USER_METRIC, "metric 0 is 1024");
        assert_eq!(r.lookup(&p, a("2001:db8:77::5")), None, "not in main");
        let hop = |r: &Routes6, d: &str, t| r.lookup_route_via(&p, a(d), None, t);
        assert_eq!(hop(&r, "2001:db8:77::5", 10).unwrap().port, lan);
        assert_eq!(
            hop(&r, "2001:db8:ff::5", 10).unwrap().next_hop,
            a("2001:db8:1::fe"),
            "connected prefixes are main's only"
        );
        // The same prefix and metric in another table is no clash.
        r.add_to(
            &p,
            a("::"),
            0,
            Some(a("2001:db8:ff::fe")),
            None,
            1024,
            MAIN_TABLE,
        )
        .unwrap();
        assert!(matches!(
            r.add_to(
                &p,
                a("::"),
                0,
                Some(a("2001:db8:ff::fd")),
                None,
                1024,
                MAIN_TABLE
            ),
            Err(Route6Error::Exists(..))
        ));
        // replace swaps the route with that metric in place, or adds.
        r.replace(
            &p,
            a("::"),
            0,
            Some(a("2001:db8:ff::fd")),
            None,
            1024,
            MAIN_TABLE,
        )
        .unwrap();
        assert_eq!(r.statics().len(), 2);
        assert_eq!(
            hop(&r, "2001:db8:77::5", MAIN_TABLE).unwrap().next_hop,
            a("2001:db8:ff::fd")
        );
        r.replace(&p, a("2001:db8:9::"), 48, None, Some(wan), 5, 10)
            .unwrap();
        assert_eq!(r.statics().len(), 3);
        assert_eq!(hop(&r, "2001:db8:9::1", 10).unwrap().port, wan);
        // del: the metric, gateway and device narrow it when given.
        assert_eq!(r.remove(a("::"), 0, None, None, 0, 20), None);
        assert_eq!(
            r.remove(a("::"), 0, Some(a("2001:db8:1::fe")), None, 0, MAIN_TABLE),
            None
        );
        let gone = r.remove(a("::"), 0, None, None, 0, 10).unwrap();
        assert_eq!((gone.table, gone.dev), (10, lan));
        assert_eq!(hop(&r, "2001:db8:77::5", 10), None);
        assert!(r.has_table(10) && !r.has_table(20));
        assert_eq!(
            r.add_to(&p, a("::"), 0, None, Some(lan), 1, 0),
            Err(Route6Error::BadTable(0))
        );
        assert_eq!(
            r.add_to(&p, a("::"), 0, None, Some(lan), 1, 255),
            Err(Route6Error::BadTable(255))
        );
        assert_eq!(
            r.add_to(&p, a("::"), 0, None, Some(PortId(7)), 1, 10),
            Err(Route6Error::UnknownPort(PortId(7)))
        );
    }
}
