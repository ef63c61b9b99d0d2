//! Policy rules over routing tables, plus the appliance's own addresses.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use super::table::FastMap;
use super::{
    mask, PortId, PortTable, Prefix, Route, RouteError, RouteKind, RouteTable, DEFAULT_TABLE,
    LOCAL_TABLE, MAIN_TABLE,
};

/// An `ip rule fwmark F/M lookup T pref P`: packets whose mark agrees with `fwmark` on the
/// bits of `mask` look up `table`. Rules run in ascending priority; if the table has no route
/// the next rule is tried, as in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyRule {
    pub fwmark: u32,
    pub mask: u32,
    pub table: u32,
    pub priority: u32,
}

impl PolicyRule {
    /// The kernel's test, `(mark ^ fwmark) & mask == 0`: the same as `mark & mask == fwmark`
    /// whenever `fwmark` has no bits outside `mask`; bits outside are ignored, not fatal.
    pub fn matches(&self, mark: u32) -> bool {
        (mark ^ self.fwmark) & self.mask == 0
    }
}

impl fmt::Display for PolicyRule {
    /// `ip rule show` style.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:\tfrom all", self.priority)?;
        if self.mask != 0 {
            write!(f, " fwmark {:#x}", self.fwmark)?;
            if self.mask != u32::MAX {
                write!(f, "/{:#x}", self.mask)?;
            }
        }
        match self.table {
            LOCAL_TABLE => write!(f, " lookup local"),
            MAIN_TABLE => write!(f, " lookup main"),
            DEFAULT_TABLE => write!(f, " lookup default"),
            t => write!(f, " lookup {t}"),
        }
    }
}

/// Where a routed packet goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    pub port: PortId,
    /// The router to send to; `None` means the destination is on-link (ARP for it directly).
    pub gateway: Option<Ipv4Addr>,
    /// The egress port's primary address (0.0.0.0 if it has none), for locally generated
    /// packets and MASQUERADE.
    pub src: Ipv4Addr,
}

/// The kernel's route types (`RTN_*`), as `-m addrtype` names them; the discriminant is the
/// kernel's number, so `1 << t as u16` is the addrtype match's bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AddrType {
    Unspec = 0,
    Unicast = 1,
    Local = 2,
    Broadcast = 3,
    Anycast = 4,
    Multicast = 5,
    Blackhole = 6,
    Unreachable = 7,
    Prohibit = 8,
    Throw = 9,
    Nat = 10,
    XResolve = 11,
}

impl AddrType {
    pub const ALL: [AddrType; 12] = [
        AddrType::Unspec,
        AddrType::Unicast,
        AddrType::Local,
        AddrType::Broadcast,
        AddrType::Anycast,
        AddrType::Multicast,
        AddrType::Blackhole,
        AddrType::Unreachable,
        AddrType::Prohibit,
        AddrType::Throw,
        AddrType::Nat,
        AddrType::XResolve,
    ];

    /// The bit of this type in an addrtype match's type set.
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The name iptables prints and accepts.
    pub fn name(self) -> &'static str {
        match self {
            AddrType::Unspec => "UNSPEC",
            AddrType::Unicast => "UNICAST",
            AddrType::Local => "LOCAL",
            AddrType::Broadcast => "BROADCAST",
            AddrType::Anycast => "ANYCAST",
            AddrType::Multicast => "MULTICAST",
            AddrType::Blackhole => "BLACKHOLE",
            AddrType::Unreachable => "UNREACHABLE",
            AddrType::Prohibit => "PROHIBIT",
            AddrType::Throw => "THROW",
            AddrType::Nat => "NAT",
            AddrType::XResolve => "XRESOLVE",
        }
    }
}

impl fmt::Display for AddrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AddrType {
    type Err = String;

    /// Case-insensitive, like iptables.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AddrType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown address type `{s}`"))
    }
}

/// Tables plus rules plus the appliance's addresses: everything a routing decision needs.
/// Built by the control plane, then read-only on the fast path (cloned per generation).
#[derive(Debug, Clone)]
pub struct Fib {
    ports: PortTable,
    tables: FastMap<u32, RouteTable>,
    /// Sorted by priority, equal priorities in insertion order; includes the kernel's three
    /// default rules (0 local, 32766 main, 32767 default).
    rules: Vec<PolicyRule>,
    /// The local table's content: own addresses (Local) and subnet broadcasts (Broadcast),
    /// each with the port that owns it (the first, if several do).
    local: FastMap<u32, (AddrType, PortId)>,
    /// One bit per `local_bit` of each key of `local`: an address whose bit is clear (a
    /// forwarded packet's, mostly) is not in it, without a hash probe. 1024 bits (two
    /// cache lines): with a few addresses, under 1% of other destinations pay the probe
    /// (with 64 bits and four, one in 16 did).
    local_filter: [u64; LOCAL_FILTER_WORDS],
    /// IPv6 routes: the connected prefixes (main table) and static routes of any table.
    routes6: super::v6::Routes6,
    /// The IPv6 policy rules (`ip -6 rule`), as `rules`: the kernel's two defaults (0 local,
    /// 32766 main; fib6_rules_net_init adds no default-table rule).
    rules6: Vec<PolicyRule>,
    /// Changes with every mutation, never repeating in the process: a cached lookup made
    /// under another generation may be stale (`RouteCache`).
    generation: u64,
}

/// The kernel's priority for a rule of `rules` added without one (default_rule_priority):
/// one less than the second rule's (32765, then 32764, ... with the default rules), or 0.
fn default_rule_priority(rules: &[PolicyRule]) -> u32 {
    match rules.get(1) {
        Some(r) if r.priority != 0 => r.priority - 1,
        _ => 0,
    }
}

/// Inserts `rule` after every rule of lower or equal priority (table 0 refused).
fn insert_rule(rules: &mut Vec<PolicyRule>, rule: PolicyRule) -> Result<(), RouteError> {
    if rule.table == 0 {
        return Err(RouteError::BadTable(rule.table));
    }
    let at = rules.partition_point(|r| r.priority <= rule.priority);
    rules.insert(at, rule);
    Ok(())
}

/// Removes the first rule equal to `rule`; false if there is none.
fn remove_rule(rules: &mut Vec<PolicyRule>, rule: &PolicyRule) -> bool {
    match rules.iter().position(|r| r == rule) {
        Some(i) => {
            rules.remove(i);
            true
        }
        None => false,
    }
}

/// The next FIB generation (process-wide, so two FIBs never share one unless cloned).
fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Fib {
    /// A FIB with the connected routes of `ports` in the main table and the default rules.
    /// As the kernel does: a `/32` address adds no prefix route, an address in 0.0.0.0/8 adds
    /// neither a route nor a broadcast, and only prefixes shorter than /31 have a broadcast.
    pub fn new(ports: PortTable) -> Fib {
        let mut fib = Fib {
            ports,
            tables: FastMap::default(),
            rules: vec![
                PolicyRule {
                    fwmark: 0,
                    mask: 0,
                    table: LOCAL_TABLE,
                    priority: 0,
                },
                PolicyRule {
                    fwmark: 0,
                    mask: 0,
                    table: MAIN_TABLE,
                    priority: 32766,
                },
                PolicyRule {
                    fwmark: 0,
                    mask: 0,
                    table: DEFAULT_TABLE,
                    priority: 32767,
                },
            ],
            local: FastMap::default(),
            local_filter: [0; LOCAL_FILTER_WORDS],
            routes6: Default::default(),
            rules6: vec![
                PolicyRule {
                    fwmark: 0,
                    mask: 0,
                    table: LOCAL_TABLE,
                    priority: 0,
                },
                PolicyRule {
                    fwmark: 0,
                    mask: 0,
                    table: MAIN_TABLE,
                    priority: 32766,
                },
            ],
            generation: next_generation(),
        };
        let mut connected = Vec::new();
        for p in fib.ports.iter() {
            for &(addr, len) in &p.addresses {
                fib.local
                    .entry(u32::from(addr))
                    .or_insert((AddrType::Local, p.id));
                let Some(net) = Prefix::new(addr, len) else {
                    continue;
                };
                if net.addr().octets()[0] == 0 || (net.addr() == addr && len == 32) {
                    continue;
                }
                connected.push(Route {
                    dst: net,
                    via: None,
                    dev: p.id,
                    metric: 0,
                    table: MAIN_TABLE,
                    kind: RouteKind::Connected,
                });
                if len < 31 {
                    // A local address keeps priority over a broadcast of the same value.
                    fib.local
                        .entry(u32::from(net.broadcast()))
                        .or_insert((AddrType::Broadcast, p.id));
                }
            }
        }
        for r in connected {
            // Two ports on one network: the first keeps the route, like the kernel's append.
            let _ = fib.tables.entry(MAIN_TABLE).or_default().insert(r);
        }
        fib.local_filter = [0; LOCAL_FILTER_WORDS];
        for &a in fib.local.keys() {
            let (word, bit) = local_bit(a);
            fib.local_filter[word] |= bit;
        }
        fib
    }

    pub fn ports(&self) -> &PortTable {
        &self.ports
    }

    /// Adds a static IPv6 route (main table).
    pub fn add_static6(
        &mut self,
        dst: std::net::Ipv6Addr,
        len: u8,
        via: Option<std::net::Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
    ) -> Result<(), super::v6::Route6Error> {
        self.add_route6(dst, len, via, dev, metric, MAIN_TABLE)
            .map(|_| ())
    }

    /// Adds a static IPv6 route to `table` (`ip -6 route add`); metric 0 is 1024.
    pub fn add_route6(
        &mut self,
        dst: std::net::Ipv6Addr,
        len: u8,
        via: Option<std::net::Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
        table: u32,
    ) -> Result<super::v6::Route6, super::v6::Route6Error> {
        let r = self
            .routes6
            .add_to(&self.ports, dst, len, via, dev, metric, table)?;
        self.generation = next_generation();
        Ok(r)
    }

    /// `ip -6 route replace`: the route of `table` to the prefix with that metric is
    /// replaced, or the route added.
    pub fn replace_route6(
        &mut self,
        dst: std::net::Ipv6Addr,
        len: u8,
        via: Option<std::net::Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
        table: u32,
    ) -> Result<super::v6::Route6, super::v6::Route6Error> {
        let r = self
            .routes6
            .replace(&self.ports, dst, len, via, dev, metric, table)?;
        self.generation = next_generation();
        Ok(r)
    }

    /// `ip -6 route del`: the first static route of `table` to the prefix that agrees with
    /// the metric, gateway and device given (0 / `None`: any).
    pub fn remove_route6(
        &mut self,
        dst: std::net::Ipv6Addr,
        len: u8,
        via: Option<std::net::Ipv6Addr>,
        dev: Option<PortId>,
        metric: u32,
        table: u32,
    ) -> Option<super::v6::Route6> {
        self.generation = next_generation();
        self.routes6.remove(dst, len, via, dev, metric, table)
    }

    /// The port and next hop of an IPv6 destination in the main table (connected or
    /// static; not link-local).
    pub fn lookup6(&self, dst: std::net::Ipv6Addr) -> Option<(PortId, std::net::Ipv6Addr)> {
        self.routes6.lookup(&self.ports, dst)
    }

    /// The IPv6 route of `dst` for a packet with mark `fwmark`, with its prefix length:
    /// the IPv6 rules in priority order, the first table with a matching route wins
    /// (fib6_rule_lookup / fib6_rule_action, where a table without one falls through to
    /// the next rule). The local table is the caller's (`route6_kind`, `ipv6_owner`).
    /// Allocates nothing.
    pub fn route6(&self, dst: std::net::Ipv6Addr, fwmark: u32) -> Option<super::v6::Hop6> {
        self.route6_via(dst, fwmark, None)
    }

    /// `route6` through `via` only, when given (`flowi6_oif` with RT6_LOOKUP_F_IFACE).
    pub fn route6_via(
        &self,
        dst: std::net::Ipv6Addr,
        fwmark: u32,
        via: Option<PortId>,
    ) -> Option<super::v6::Hop6> {
        self.table6_for(fwmark, |t| {
            self.routes6.lookup_route_via(&self.ports, dst, via, t)
        })
    }

    /// The first answer of `lookup` over the tables of the IPv6 rules `fwmark` matches,
    /// in priority order (the local table skipped).
    fn table6_for<T>(&self, fwmark: u32, lookup: impl Fn(u32) -> Option<T>) -> Option<T> {
        self.rules6
            .iter()
            .filter(|r| r.table != LOCAL_TABLE && r.matches(fwmark))
            .find_map(|r| lookup(r.table))
    }

    /// The kernel's priority for an IPv6 rule added without one (`default_rule_priority`
    /// over the IPv6 rules).
    pub fn default_rule_priority6(&self) -> u32 {
        default_rule_priority(&self.rules6)
    }

    /// Adds an IPv6 policy rule after every rule of lower or equal priority.
    pub fn add_rule6(&mut self, rule: PolicyRule) -> Result<(), RouteError> {
        insert_rule(&mut self.rules6, rule)?;
        self.generation = next_generation();
        Ok(())
    }

    /// Removes the first IPv6 rule equal to `rule`; false if there is none.
    pub fn remove_rule6(&mut self, rule: &PolicyRule) -> bool {
        self.generation = next_generation();
        remove_rule(&mut self.rules6, rule)
    }

    /// The IPv6 rules in evaluation order, the default ones included (`ip -6 rule show`).
    pub fn rules6(&self) -> &[PolicyRule] {
        &self.rules6
    }

    /// What the kernel's IPv6 route lookup (ip6_route_output: the local table, then the
    /// tables of the IPv6 rules for mark 0) finds for `addr`, through `via` only when given (`flowi6_oif` with
    /// RT6_LOOKUP_F_IFACE); `None`: no route (the null entry, -ENETUNREACH). Each IPv6
    /// port has fe80::/64 and ff00::/8 routes, as Linux adds them.
    pub fn route6_kind(
        &self,
        addr: std::net::Ipv6Addr,
        via: Option<PortId>,
    ) -> Option<super::v6::Route6Kind> {
        use super::v6::Route6Kind;
        if addr == std::net::Ipv6Addr::LOCALHOST {
            return via.is_none().then_some(Route6Kind::Local);
        }
        if let Some(owner) = self.ports.ipv6_owner(addr) {
            if via.is_none_or(|v| v == owner.id) {
                return Some(Route6Kind::Local);
            }
        }
        if super::v6::is_subnet_anycast(&self.ports, addr, via) {
            return Some(Route6Kind::Anycast);
        }
        let any_port = self
            .ports
            .iter()
            .any(|p| p.ipv6_enabled() && via.is_none_or(|v| v == p.id));
        if addr.is_multicast() {
            return any_port.then_some(Route6Kind::Multicast);
        }
        if crate::port::is_link_local6(addr) {
            let in_fe80_64 = addr.segments()[1..4] == [0, 0, 0];
            return (any_port && in_fe80_64).then_some(Route6Kind::Unicast { anycast_dst: false });
        }
        let hop = self.route6_via(addr, 0, via)?;
        let host_bits = u128::MAX
            .checked_shr(u32::from(hop.prefix_len))
            .unwrap_or(0);
        let anycast_dst = hop.on_link && hop.prefix_len < 127 && u128::from(addr) & host_bits == 0;
        Some(Route6Kind::Unicast { anycast_dst })
    }

    /// The IPv6 routes of the longest prefix holding `dst` in the table the rules pick
    /// for `fwmark`: the port of the one the kernel's rt6_device_match picks
    /// (`Routes6::leaf_port`).
    pub fn leaf_port6(
        &self,
        dst: std::net::Ipv6Addr,
        fwmark: u32,
        prefer: impl Fn(PortId) -> bool,
    ) -> Option<PortId> {
        self.table6_for(fwmark, |t| {
            self.routes6.leaf_port(&self.ports, dst, t, &prefer)
        })
    }

    /// The static IPv6 routes of every table, in the order they were added.
    pub fn routes6(&self) -> &[super::v6::Route6] {
        self.routes6.statics()
    }

    /// Equal generations mean equal routes, rules and addresses.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Adds a static route. Without `dev` the port is the one whose connected network holds
    /// the gateway; with both, the gateway must be on a connected network of `dev`
    /// (`ip route`'s "Nexthop has invalid gateway" otherwise).
    pub fn add_static(
        &mut self,
        dst: Prefix,
        via: Option<Ipv4Addr>,
        dev: Option<PortId>,
        metric: u32,
        table: u32,
    ) -> Result<Route, RouteError> {
        if table == 0 {
            return Err(RouteError::BadTable(table));
        }
        self.generation = next_generation();
        if let Some(d) = dev {
            if self.ports.get(d).is_none() {
                return Err(RouteError::UnknownPort(d));
            }
        }
        let dev = match (via, dev) {
            (None, None) => return Err(RouteError::NoDevice(dst)),
            (None, Some(d)) => d,
            (Some(gw), dev) => {
                if self
                    .local
                    .get(&u32::from(gw))
                    .is_some_and(|&(t, _)| t == AddrType::Local)
                {
                    return Err(RouteError::LocalGateway(gw));
                }
                self.connected_port(gw, dev)
                    .ok_or(RouteError::InvalidGateway(gw))?
            }
        };
        let route = Route {
            dst,
            via,
            dev,
            metric,
            table,
            kind: RouteKind::Static,
        };
        self.tables
            .entry(table)
            .or_default()
            .insert(route.clone())?;
        Ok(route)
    }

    /// The port with the most specific connected network holding `addr` (restricted to `dev`
    /// if given): where a gateway or a static neighbour must live. Control-plane only: scans
    /// the few port addresses.
    pub fn connected_port(&self, addr: Ipv4Addr, dev: Option<PortId>) -> Option<PortId> {
        self.ports
            .iter()
            .filter(|p| dev.is_none() || dev == Some(p.id))
            .flat_map(|p| p.addresses.iter().map(move |&(a, l)| (p.id, a, l)))
            .filter(|&(_, a, l)| {
                // The same networks `new` makes connected routes for.
                let net = u32::from(a) & mask(l);
                l < 32 && net >> 24 != 0 && u32::from(addr) & mask(l) == net
            })
            .max_by_key(|&(id, _, l)| (l, std::cmp::Reverse(id)))
            .map(|(id, _, _)| id)
    }

    /// Removes the route to `dst` with `metric` from `table`.
    pub fn remove_route(&mut self, dst: Prefix, metric: u32, table: u32) -> Option<Route> {
        self.generation = next_generation();
        self.tables.get_mut(&table)?.remove(dst, metric)
    }

    /// The kernel's priority for a rule added without one: one less than the second rule's
    /// (32765, then 32764, ... with the default rules), or 0.
    pub fn default_rule_priority(&self) -> u32 {
        default_rule_priority(&self.rules)
    }

    /// Adds a policy rule after every rule of lower or equal priority.
    pub fn add_rule(&mut self, rule: PolicyRule) -> Result<(), RouteError> {
        insert_rule(&mut self.rules, rule)?;
        self.generation = next_generation();
        Ok(())
    }

    /// Removes the first rule equal to `rule`; false if there is none.
    pub fn remove_rule(&mut self, rule: &PolicyRule) -> bool {
        self.generation = next_generation();
        remove_rule(&mut self.rules, rule)
    }

    /// All rules in evaluation order, the default ones included (like `ip rule show`).
    pub fn rules(&self) -> &[PolicyRule] {
        &self.rules
    }

    /// Routing table `table`, if it has ever had a route.
    /// The ids of the tables that hold routes, ascending.
    pub fn table_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.tables.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn table(&self, table: u32) -> Option<&RouteTable> {
        self.tables.get(&table)
    }

    /// The route chosen for `dst` and a packet mark: rules in priority order, the first table
    /// with a matching route wins. Local delivery is decided separately (`is_local`) before
    /// this is asked.
    pub fn route(&self, dst: Ipv4Addr, fwmark: u32) -> Option<&Route> {
        self.rules
            .iter()
            .filter(|r| r.matches(fwmark))
            .find_map(|r| self.tables.get(&r.table)?.lookup(dst))
    }

    /// The next hop for forwarding a packet to `dst` with mark `fwmark`.
    pub fn lookup(&self, dst: Ipv4Addr, fwmark: u32) -> Option<NextHop> {
        let r = self.route(dst, fwmark)?;
        let src = self
            .ports
            .get(r.dev)
            .and_then(|p| p.primary())
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        Some(NextHop {
            port: r.dev,
            gateway: r.via,
            src,
        })
    }

    /// True when `addr` is one of the appliance's interface addresses (INPUT, not FORWARD).
    pub fn is_local(&self, addr: Ipv4Addr) -> bool {
        self.local_port(addr).is_some()
    }

    /// The port that owns the local address `addr`.
    pub fn local_port(&self, addr: Ipv4Addr) -> Option<PortId> {
        match self.local.get(&u32::from(addr)) {
            Some(&(AddrType::Local, p)) => Some(p),
            _ => None,
        }
    }

    /// Whether a received packet to `addr` is for the host: one of its own addresses
    /// (`is_local`) or a broadcast (`addr_type(addr, None)` is BROADCAST), with one
    /// lookup of the local table.
    pub fn is_local_or_broadcast(&self, addr: Ipv4Addr) -> bool {
        let o = addr.octets();
        if o[0] == 0 || addr == Ipv4Addr::BROADCAST {
            return true;
        }
        let a = u32::from(addr);
        let (word, bit) = local_bit(a);
        if self.local_filter[word] & bit == 0 {
            return false;
        }
        match self.local.get(&a) {
            Some(&(AddrType::Local, _)) => true,
            Some(&(AddrType::Broadcast, _)) => !addr.is_multicast(),
            _ => false,
        }
    }

    /// Classifies `addr` as the kernel's `inet_dev_addr_type` does for `-m addrtype`
    /// (with `port` for `--limit-iface-in/out`): 0.0.0.0/8 and 255.255.255.255 are BROADCAST
    /// (the kernel never answers UNSPEC for IPv4), 224.0.0.0/4 MULTICAST, own addresses LOCAL
    /// and subnet broadcasts BROADCAST when they belong to `port` (or any port if `None`),
    /// 127.0.0.0/8 LOCAL (the loopback route) only without a port, anything else UNICAST.
    pub fn addr_type(&self, addr: Ipv4Addr, port: Option<PortId>) -> AddrType {
        let o = addr.octets();
        if o[0] == 0 || addr == Ipv4Addr::BROADCAST {
            return AddrType::Broadcast;
        }
        if addr.is_multicast() {
            return AddrType::Multicast;
        }
        if let Some(&(t, owner)) = self.local.get(&u32::from(addr)) {
            if port.is_none() || port == Some(owner) {
                return t;
            }
            return AddrType::Unicast;
        }
        if o[0] == 127 && port.is_none() {
            return AddrType::Local;
        }
        AddrType::Unicast
    }
}

/// The words of `Fib::local_filter`.
const LOCAL_FILTER_WORDS: usize = 16;

/// `Fib::local_filter`'s word and bit for an address (the top ten bits of a
/// multiplicative hash).
#[inline]
fn local_bit(addr: u32) -> (usize, u64) {
    let h = addr.wrapping_mul(0x9e37_79b1) >> 22;
    ((h >> 6) as usize % LOCAL_FILTER_WORDS, 1 << (h & 63))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::MacAddr;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// lan0 192.168.1.1/24 (+ 10.9.0.1/16), wan0 203.0.113.1/24, dmz0 with a /32 only.
    fn fib() -> Fib {
        let mut ports = PortTable::new();
        ports
            .add(
                "lan0",
                MacAddr([2, 0, 0, 0, 1, 1]),
                vec![(ip("192.168.1.1"), 24), (ip("10.9.0.1"), 16)],
                1500,
            )
            .unwrap();
        ports
            .add(
                "wan0",
                MacAddr([2, 0, 0, 0, 2, 1]),
                vec![(ip("203.0.113.1"), 24)],
                1500,
            )
            .unwrap();
        ports
            .add(
                "dmz0",
                MacAddr([2, 0, 0, 0, 3, 1]),
                vec![(ip("198.51.100.7"), 32)],
                1500,
            )
            .unwrap();
        Fib::new(ports)
    }

    const LAN: PortId = PortId(0);
    const WAN: PortId = PortId(1);
    const DMZ: PortId = PortId(2);

    #[test]
    fn connected_routes_come_from_addresses() {
        let f = fib();
        let main = f.table(MAIN_TABLE).unwrap();
        let shown: Vec<String> = main.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            shown,
            [
                "192.168.1.0/24 dev port0 proto kernel scope link",
                "203.0.113.0/24 dev port1 proto kernel scope link",
                "10.9.0.0/16 dev port0 proto kernel scope link",
            ]
        );
        let nh = f.lookup(ip("192.168.1.77"), 0).unwrap();
        assert_eq!(
            nh,
            NextHop {
                port: LAN,
                gateway: None,
                src: ip("192.168.1.1")
            }
        );
        // The secondary network still uses the port's primary address as source.
        assert_eq!(f.lookup(ip("10.9.3.3"), 0).unwrap().src, ip("192.168.1.1"));
        assert_eq!(f.lookup(ip("8.8.8.8"), 0), None, "no default route yet");
    }

    #[test]
    fn static_routes_need_a_reachable_gateway() {
        let mut f = fib();
        let r = f
            .add_static(
                Prefix::DEFAULT,
                Some(ip("203.0.113.254")),
                None,
                0,
                MAIN_TABLE,
            )
            .unwrap();
        assert_eq!(r.dev, WAN);
        assert_eq!(r.to_string(), "default via 203.0.113.254 dev port1");
        let nh = f.lookup(ip("8.8.8.8"), 0).unwrap();
        assert_eq!(
            nh,
            NextHop {
                port: WAN,
                gateway: Some(ip("203.0.113.254")),
                src: ip("203.0.113.1")
            }
        );
        let p: Prefix = "172.16.0.0/12".parse().unwrap();
        assert_eq!(
            f.add_static(p, Some(ip("192.0.2.1")), None, 0, MAIN_TABLE),
            Err(RouteError::InvalidGateway(ip("192.0.2.1")))
        );
        // On a connected network, but of another port than the one named.
        assert_eq!(
            f.add_static(p, Some(ip("192.168.1.9")), Some(WAN), 0, MAIN_TABLE),
            Err(RouteError::InvalidGateway(ip("192.168.1.9")))
        );
        // The /32 on dmz0 makes no connected network.
        assert_eq!(
            f.add_static(p, Some(ip("198.51.100.8")), Some(DMZ), 0, MAIN_TABLE),
            Err(RouteError::InvalidGateway(ip("198.51.100.8")))
        );
        assert_eq!(
            f.add_static(p, Some(ip("192.168.1.1")), None, 0, MAIN_TABLE),
            Err(RouteError::LocalGateway(ip("192.168.1.1")))
        );
        assert_eq!(
            f.add_static(p, None, None, 0, MAIN_TABLE),
            Err(RouteError::NoDevice(p))
        );
        assert_eq!(
            f.add_static(p, None, Some(PortId(9)), 0, MAIN_TABLE),
            Err(RouteError::UnknownPort(PortId(9)))
        );
        assert_eq!(
            f.add_static(p, None, Some(LAN), 0, 0),
            Err(RouteError::BadTable(0))
        );
        // Device route: on-link, no gateway.
        f.add_static(p, None, Some(DMZ), 0, MAIN_TABLE).unwrap();
        assert_eq!(
            f.lookup(ip("172.16.5.5"), 0).unwrap(),
            NextHop {
                port: DMZ,
                gateway: None,
                src: ip("198.51.100.7")
            }
        );
        assert!(matches!(
            f.add_static(p, None, Some(LAN), 0, MAIN_TABLE),
            Err(RouteError::Exists(..))
        ));
        // A static route cannot shadow the connected one at the same metric, but can at another.
        let lan: Prefix = "192.168.1.0/24".parse().unwrap();
        assert!(matches!(
            f.add_static(lan, None, Some(WAN), 0, MAIN_TABLE),
            Err(RouteError::Exists(..))
        ));
        f.add_static(lan, None, Some(WAN), 10, MAIN_TABLE).unwrap();
        assert_eq!(f.lookup(ip("192.168.1.5"), 0).unwrap().port, LAN);
        assert!(f.remove_route(lan, 0, MAIN_TABLE).is_some());
        assert_eq!(f.lookup(ip("192.168.1.5"), 0).unwrap().port, WAN);
    }

    #[test]
    fn metric_picks_among_equal_prefixes() {
        let mut f = fib();
        f.add_static(
            Prefix::DEFAULT,
            Some(ip("203.0.113.254")),
            None,
            100,
            MAIN_TABLE,
        )
        .unwrap();
        f.add_static(
            Prefix::DEFAULT,
            Some(ip("192.168.1.254")),
            None,
            50,
            MAIN_TABLE,
        )
        .unwrap();
        assert_eq!(
            f.lookup(ip("1.1.1.1"), 0).unwrap().gateway,
            Some(ip("192.168.1.254"))
        );
        f.remove_route(Prefix::DEFAULT, 50, MAIN_TABLE).unwrap();
        assert_eq!(
            f.lookup(ip("1.1.1.1"), 0).unwrap().gateway,
            Some(ip("203.0.113.254"))
        );
    }

    #[test]
    fn policy_routing_by_fwmark() {
        let mut f = fib();
        f.add_static(
            Prefix::DEFAULT,
            Some(ip("203.0.113.254")),
            None,
            0,
            MAIN_TABLE,
        )
        .unwrap();
        f.add_static(Prefix::DEFAULT, Some(ip("192.168.1.254")), None, 0, 10)
            .unwrap();
        let prio = f.default_rule_priority();
        assert_eq!(prio, 32765);
        f.add_rule(PolicyRule {
            fwmark: 1,
            mask: 0xff,
            table: 10,
            priority: prio,
        })
        .unwrap();
        assert_eq!(f.default_rule_priority(), 32764);
        let gw = |f: &Fib, mark| f.lookup(ip("8.8.8.8"), mark).unwrap().gateway.unwrap();
        assert_eq!(gw(&f, 1), ip("192.168.1.254"));
        assert_eq!(
            gw(&f, 0x1201),
            ip("192.168.1.254"),
            "bits outside the mask are ignored"
        );
        assert_eq!(gw(&f, 0), ip("203.0.113.254"));
        assert_eq!(gw(&f, 2), ip("203.0.113.254"));
        assert_eq!(gw(&f, 0x103), ip("203.0.113.254"));
        // Table 10's default covers the LAN too (as in the kernel: copy the connected route
        // into the table to avoid that); a route only in main is reached by falling through.
        assert_eq!(
            f.lookup(ip("192.168.1.20"), 1).unwrap().gateway,
            Some(ip("192.168.1.254"))
        );
        f.remove_route(Prefix::DEFAULT, 0, 10).unwrap();
        f.add_static(
            "8.0.0.0/8".parse().unwrap(),
            Some(ip("192.168.1.254")),
            None,
            0,
            10,
        )
        .unwrap();
        assert_eq!(f.lookup(ip("192.168.1.20"), 1).unwrap().gateway, None);
        assert_eq!(
            f.lookup(ip("9.9.9.9"), 1).unwrap().gateway,
            Some(ip("203.0.113.254"))
        );
        let shown: Vec<String> = f.rules().iter().map(|r| r.to_string()).collect();
        assert_eq!(
            shown,
            [
                "0:\tfrom all lookup local",
                "32765:\tfrom all fwmark 0x1/0xff lookup 10",
                "32766:\tfrom all lookup main",
                "32767:\tfrom all lookup default",
            ]
        );
        // An earlier rule wins; a rule with no table content falls through.
        f.add_rule(PolicyRule {
            fwmark: 1,
            mask: u32::MAX,
            table: 20,
            priority: 100,
        })
        .unwrap();
        assert_eq!(gw(&f, 1), ip("192.168.1.254"));
        f.add_static(Prefix::DEFAULT, None, Some(DMZ), 0, 20)
            .unwrap();
        assert_eq!(f.lookup(ip("8.8.8.8"), 1).unwrap().port, DMZ);
        assert!(f.remove_rule(&PolicyRule {
            fwmark: 1,
            mask: u32::MAX,
            table: 20,
            priority: 100
        }));
        assert_eq!(gw(&f, 1), ip("192.168.1.254"));
        assert_eq!(
            f.add_rule(PolicyRule {
                fwmark: 0,
                mask: 0,
                table: 0,
                priority: 5
            }),
            Err(RouteError::BadTable(0))
        );
    }

    #[test]
    fn local_addresses() {
        let f = fib();
        for a in ["192.168.1.1", "10.9.0.1", "203.0.113.1", "198.51.100.7"] {
            assert!(f.is_local(ip(a)), "{a}");
        }
        for a in [
            "192.168.1.2",
            "192.168.1.255",
            "203.0.113.254",
            "0.0.0.0",
            "127.0.0.1",
        ] {
            assert!(!f.is_local(ip(a)), "{a}");
        }
        assert_eq!(f.local_port(ip("203.0.113.1")), Some(WAN));
        assert_eq!(f.local_port(ip("10.9.0.1")), Some(LAN));
    }

    #[test]
    fn addr_types() {
        let f = fib();
        let t = |a: &str, p| f.addr_type(ip(a), p);
        assert_eq!(t("255.255.255.255", None), AddrType::Broadcast);
        assert_eq!(t("255.255.255.255", Some(WAN)), AddrType::Broadcast);
        assert_eq!(t("192.168.1.255", None), AddrType::Broadcast);
        assert_eq!(t("10.9.255.255", Some(LAN)), AddrType::Broadcast);
        assert_eq!(
            t("192.168.1.255", Some(WAN)),
            AddrType::Unicast,
            "another port's broadcast"
        );
        assert_eq!(
            t("192.168.1.0", None),
            AddrType::Unicast,
            "no network-address broadcast"
        );
        assert_eq!(t("224.0.0.1", None), AddrType::Multicast);
        assert_eq!(t("239.255.255.250", Some(LAN)), AddrType::Multicast);
        assert_eq!(
            t("0.0.0.0", None),
            AddrType::Broadcast,
            "kernel: zeronet is broadcast"
        );
        assert_eq!(t("192.168.1.1", None), AddrType::Local);
        assert_eq!(t("192.168.1.1", Some(LAN)), AddrType::Local);
        assert_eq!(t("192.168.1.1", Some(WAN)), AddrType::Unicast);
        assert_eq!(t("127.0.0.1", None), AddrType::Local);
        assert_eq!(t("127.0.0.1", Some(LAN)), AddrType::Unicast);
        assert_eq!(t("8.8.8.8", None), AddrType::Unicast);
        assert_eq!(
            t("198.51.100.255", None),
            AddrType::Unicast,
            "a /32 has no broadcast"
        );
        assert_eq!(AddrType::Broadcast.bit(), 8);
        assert_eq!("multicast".parse::<AddrType>(), Ok(AddrType::Multicast));
        assert!("FOO".parse::<AddrType>().is_err());
    }

    #[test]
    fn local_or_broadcast_is_local_or_addrtype_broadcast() {
        let f = fib();
        for a in [
            "255.255.255.255",
            "192.168.1.255",
            "192.168.1.0",
            "192.168.1.1",
            "10.9.255.255",
            "224.0.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "8.8.8.8",
            "198.51.100.255",
        ] {
            let want = f.is_local(ip(a)) || f.addr_type(ip(a), None) == AddrType::Broadcast;
            assert_eq!(f.is_local_or_broadcast(ip(a)), want, "{a}");
        }
        assert!(f.is_local_or_broadcast(ip("192.168.1.1")));
        assert!(f.is_local_or_broadcast(ip("192.168.1.255")));
        assert!(!f.is_local_or_broadcast(ip("8.8.8.8")));
    }

    #[test]
    fn ipv6_policy_routing_by_fwmark() {
        use std::net::Ipv6Addr;
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let mut f = fib();
        let mut ports = f.ports().clone();
        ports.set_ipv6(LAN, vec![(a("2001:db8:1::1"), 64)]);
        ports.set_ipv6(WAN, vec![(a("2001:db8:ff::1"), 64)]);
        f = Fib::new(ports);
        let shown = |f: &Fib| -> Vec<String> { f.rules6().iter().map(|r| r.to_string()).collect() };
        assert_eq!(
            shown(&f),
            ["0:\tfrom all lookup local", "32766:\tfrom all lookup main"],
            "IPv6 has no default-table rule"
        );
        f.add_route6(a("::"), 0, Some(a("2001:db8:ff::fe")), None, 0, MAIN_TABLE)
            .unwrap();
        f.add_route6(a("::"), 0, Some(a("2001:db8:1::fe")), None, 0, 100)
            .unwrap();
        let gw = |f: &Fib, mark| f.route6(a("2001:db8:77::5"), mark).unwrap().next_hop;
        assert_eq!(gw(&f, 1), a("2001:db8:ff::fe"), "no rule yet");
        let prio = f.default_rule_priority6();
        assert_eq!(prio, 32765);
        let rule = PolicyRule {
            fwmark: 1,
            mask: 0xff,
            table: 100,
            priority: prio,
        };
        let g = f.generation();
        f.add_rule6(rule).unwrap();
        assert_ne!(f.generation(), g);
        assert_eq!(gw(&f, 1), a("2001:db8:1::fe"));
        assert_eq!(gw(&f, 0x301), a("2001:db8:1::fe"), "bits outside the mask");
        assert_eq!(gw(&f, 2), a("2001:db8:ff::fe"));
        assert_eq!(gw(&f, 0), a("2001:db8:ff::fe"));
        // The IPv4 rules are another list.
        assert_eq!(f.rules().len(), 3);
        assert_eq!(f.lookup(ip("8.8.8.8"), 1), None);
        // A table without a matching route falls through to the next rule.
        f.remove_route6(a("::"), 0, None, None, 0, 100).unwrap();
        f.add_route6(a("2001:db8:50::"), 48, None, Some(WAN), 0, 100)
            .unwrap();
        assert_eq!(gw(&f, 1), a("2001:db8:ff::fe"));
        assert_eq!(
            f.route6(a("2001:db8:50::9"), 1).unwrap().port,
            WAN,
            "the table's own route"
        );
        assert_eq!(
            f.route6(a("2001:db8:50::9"), 0).unwrap().port,
            WAN,
            "main's default"
        );
        assert_eq!(
            f.route6(a("2001:db8:50::9"), 0).unwrap().next_hop,
            a("2001:db8:ff::fe")
        );
        assert_eq!(
            shown(&f),
            [
                "0:\tfrom all lookup local",
                "32765:\tfrom all fwmark 0x1/0xff lookup 100",
                "32766:\tfrom all lookup main"
            ]
        );
        // Without main's rule only marked packets have a route.
        assert!(f.remove_rule6(&PolicyRule {
            fwmark: 0,
            mask: 0,
            table: MAIN_TABLE,
            priority: 32766
        }));
        assert_eq!(f.route6(a("2001:db8:77::5"), 0), None);
        assert_eq!(f.route6(a("2001:db8:50::9"), 1).unwrap().port, WAN);
        assert!(f.remove_rule6(&rule));
        assert_eq!(f.route6(a("2001:db8:50::9"), 1), None);
        assert_eq!(
            f.add_rule6(PolicyRule {
                fwmark: 0,
                mask: 0,
                table: 0,
                priority: 5
            }),
            Err(RouteError::BadTable(0))
        );
    }
}
