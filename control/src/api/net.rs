//! The Net service: interfaces, routes, policy rules and neighbours. The control plane
//! owns the FIB; a change is made on a copy, checked, sent to every worker and only then
//! kept (each worker's route cache is keyed by the FIB generation, so no stale lookup
//! survives the change).

use super::pb::net_server::Net;
use super::pb::{
    Interface, ListInterfacesReply, ListInterfacesRequest, ListNeighborsReply,
    ListNeighborsRequest, ListPolicyRulesReply, ListPolicyRulesRequest, ListRoutesReply,
    ListRoutesRequest, Neighbor, NetReply, PolicyRule, Route,
};
use super::{blocking, workers_status};
use crate::daemon::worker::Command;
use crate::daemon::Control;
use dataplane::port::{MacAddr, PortId};
use dataplane::route::v6::Route6Error;
use dataplane::route::RouteKind;
use dataplane::route::{Fib, Prefix, RouteError};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use tonic::{Request, Response, Status};

const MAIN_TABLE: u32 = 254;
const ALL_TABLES: u32 = u32::MAX;

pub struct NetService {
    control: Arc<Control>,
}

impl NetService {
    pub fn new(control: Arc<Control>) -> NetService {
        NetService { control }
    }
}

fn invalid(msg: impl Into<String>) -> Status {
    Status::invalid_argument(msg.into())
}

fn parse_ip(s: &str, what: &str) -> Result<Ipv4Addr, Status> {
    s.trim().parse().map_err(|_| {
        invalid(format!(
            "Error: inet address is expected rather than \"{s}\" ({what})."
        ))
    })
}

fn port_by_name(control: &Control, dev: &str) -> Result<PortId, Status> {
    control
        .config
        .ports
        .iter()
        .position(|p| p.name == dev)
        .map(|i| PortId(i as u16))
        .ok_or_else(|| invalid(format!("Cannot find device \"{dev}\"")))
}

fn port_name(control: &Control, id: PortId) -> String {
    control
        .config
        .ports
        .get(usize::from(id.0))
        .map_or_else(|| format!("port{}", id.0), |p| p.name.clone())
}

pub fn interfaces(control: &Control) -> ListInterfacesReply {
    let net = control.net();
    let interfaces = control
        .config
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let info = net.fib.ports().get(PortId(i as u16));
            Interface {
                name: p.name.clone(),
                index: i as u32 + 1,
                mac: info.map(|x| x.mac.to_string()).unwrap_or_default(),
                mtu: u32::from(p.mtu),
                up: control.ports.get(i).is_some_and(|c| c.link_up()),
                // IPv4 first, then IPv6 as `ip addr` lists it: the configured ones, then
                // the link-local one.
                addresses: p
                    .addresses
                    .iter()
                    .map(|(a, l)| format!("{a}/{l}"))
                    .chain(info.into_iter().flat_map(|x| {
                        let configured = x.addresses6.iter().map(|(a, l)| format!("{a}/{l}"));
                        let link = x.link_local().map(|a| format!("{a}/64"));
                        configured.chain(link).filter(|_| x.ipv6_enabled())
                    }))
                    .collect(),
                driver: p.driver.clone(),
            }
        })
        .collect();
    ListInterfacesReply { interfaces }
}

pub fn routes(control: &Control, table: u32) -> ListRoutesReply {
    let net = control.net();
    let want = if table == 0 { MAIN_TABLE } else { table };
    let tables: Vec<u32> = if want == ALL_TABLES {
        net.fib.table_ids()
    } else {
        vec![want]
    };
    let mut out = Vec::new();
    for t in tables {
        let Some(rt) = net.fib.table(t) else { continue };
        for r in rt.iter() {
            let src = net
                .fib
                .ports()
                .get(r.dev)
                .and_then(|p| p.source_for(r.via.unwrap_or(r.dst.addr())))
                .map(|a| a.to_string())
                .unwrap_or_default();
            out.push(Route {
                dst: r.dst.to_string(),
                via: r.via.map(|v| v.to_string()).unwrap_or_default(),
                dev: port_name(control, r.dev),
                table: r.table,
                metric: r.metric,
                proto: match r.kind {
                    RouteKind::Connected => "kernel".into(),
                    RouteKind::Static => "static".into(),
                },
                src: if r.kind == RouteKind::Connected {
                    src
                } else {
                    String::new()
                },
                replace: false,
            });
        }
    }
    ListRoutesReply { routes: out }
}

/// The IPv6 routes as `ip -6 route` lists them. The main table: each IPv6 port's
/// connected prefixes and fe80::/64 (proto kernel, metric 256, as the kernel adds them),
/// then its static routes; another table: its static routes; all tables: those of the
/// numbered tables, then main's (the local table's routes, the addresses', are not
/// listed). Static routes are `proto boot`, which `ip` does not print. A table that holds
/// nothing is "FIB table does not exist", as fib6_get_table answers.
pub fn routes6(control: &Control, table: u32) -> Result<ListRoutesReply, Status> {
    let net = control.net();
    let table = if table == 0 { MAIN_TABLE } else { table };
    let tables: Vec<u32> = match table {
        ALL_TABLES => {
            let mut ids: Vec<u32> = net.fib.routes6().iter().map(|r| r.table).collect();
            ids.push(MAIN_TABLE);
            ids.sort_unstable();
            ids.dedup();
            ids
        }
        MAIN_TABLE => vec![MAIN_TABLE],
        t if net.fib.routes6().iter().any(|r| r.table == t) => vec![t],
        _ => {
            return Err(invalid(
                "Error: ipv6: FIB table does not exist.\nDump terminated",
            ))
        }
    };
    let mut out = Vec::new();
    let ports = net.fib.ports();
    let connected = |dst: String, dev: PortId| Route {
        dst,
        dev: port_name(control, dev),
        table: MAIN_TABLE,
        metric: 256,
        proto: "kernel".into(),
        ..Default::default()
    };
    for t in tables {
        if t == MAIN_TABLE {
            for p in ports.iter().filter(|p| p.ipv6_enabled()) {
                for &(a, len) in &p.addresses6 {
                    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                    let net6 = Ipv6Addr::from(u128::from(a) & mask);
                    out.push(connected(format!("{net6}/{len}"), p.id));
                }
            }
            for p in ports.iter().filter(|p| p.ipv6_enabled()) {
                out.push(connected("fe80::/64".into(), p.id));
            }
        }
        for r in net.fib.routes6().iter().filter(|r| r.table == t) {
            out.push(Route {
                dst: format!("{}/{}", r.dst, r.len),
                via: r.via.map(|v| v.to_string()).unwrap_or_default(),
                dev: port_name(control, r.dev),
                table: r.table,
                metric: r.metric,
                ..Default::default()
            });
        }
    }
    Ok(ListRoutesReply { routes: out })
}

/// An `ip -6 route` destination: `default`, `ADDR/LEN` (host bits are cleared, as the
/// kernel's ipv6_addr_prefix does) or an address (/128).
fn prefix6(s: &str) -> Result<(Ipv6Addr, u8), Status> {
    let bad = || {
        invalid(format!(
            "Error: inet6 prefix is expected rather than \"{s}\"."
        ))
    };
    if s == "default" {
        return Ok((Ipv6Addr::UNSPECIFIED, 0));
    }
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>().ok().filter(|&l| l <= 128).ok_or_else(bad)?,
        ),
        None => (s, 128),
    };
    Ok((a.parse().map_err(|_| bad())?, len))
}

/// An IPv6 route request's prefix, gateway, device and table (0 is main).
type Route6Key = (Ipv6Addr, u8, Option<Ipv6Addr>, Option<PortId>, u32);

fn route6_key(control: &Control, r: &Route) -> Result<Route6Key, Status> {
    let (dst, len) = prefix6(r.dst.trim())?;
    let via = match r.via.trim() {
        "" => None,
        v => Some(v.parse().map_err(|_| {
            invalid(format!(
                "Error: inet6 address is expected rather than \"{v}\"."
            ))
        })?),
    };
    let dev = match r.dev.as_str() {
        "" => None,
        d => Some(port_by_name(control, d)?),
    };
    let table = if r.table == 0 { MAIN_TABLE } else { r.table };
    Ok((dst, len, via, dev, table))
}

fn route6_error(control: &Control, e: Route6Error) -> Status {
    match e {
        Route6Error::Exists(..) => Status::already_exists("RTNETLINK answers: File exists"),
        Route6Error::InvalidGateway(gw) => invalid(format!(
            "RTNETLINK answers: No route to host (gateway {gw} is on no connected IPv6 prefix of the device)"
        )),
        Route6Error::LocalGateway(_) => invalid("Error: Gateway can not be a local address."),
        Route6Error::LinkLocalNeedsDev(gw) => invalid(format!(
            "Error: Nexthop has invalid gateway (the link-local {gw} needs its dev)."
        )),
        Route6Error::NoDevice => invalid("Error: Device for nexthop is not up."),
        Route6Error::BadTable(t) => invalid(format!(
            "Error: table {t} is not one for static routes (the local table is the addresses')."
        )),
        Route6Error::NoIpv6(p) => invalid(format!(
            "Error: {} has no IPv6 (MTU below 1280).",
            port_name(control, p)
        )),
        Route6Error::UnknownPort(p) => invalid(format!(
            "Cannot find device \"{}\"",
            port_name(control, p)
        )),
    }
}

/// `ip -6 route add|replace`.
fn add_route6(control: &Control, r: &Route) -> Result<NetReply, Status> {
    let (dst, len, via, dev, table) = route6_key(control, r)?;
    change_fib(control, |fib| {
        if r.replace {
            fib.replace_route6(dst, len, via, dev, r.metric, table)
        } else {
            fib.add_route6(dst, len, via, dev, r.metric, table)
        }
        .map(|_| ())
        .map_err(|e| route6_error(control, e))
    })
}

/// `ip -6 route del`: the metric, gateway and device narrow the match when given.
fn delete_route6(control: &Control, r: &Route) -> Result<NetReply, Status> {
    let (dst, len, via, dev, table) = route6_key(control, r)?;
    let dst =
        Ipv6Addr::from(u128::from(dst) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0));
    change_fib(control, |fib| {
        fib.remove_route6(dst, len, via, dev, r.metric, table)
            .map(|_| ())
            .ok_or_else(|| Status::not_found("RTNETLINK answers: No such process"))
    })
}

/// Whether a route request is an IPv6 one (`ip -6 route`, or an IPv6 prefix).
fn is_route6(r: &Route) -> bool {
    r.dst.contains(':')
}

fn route_error(e: RouteError) -> Status {
    match e {
        RouteError::Exists(..) => Status::already_exists("RTNETLINK answers: File exists"),
        RouteError::InvalidGateway(_) => invalid("Error: Nexthop has invalid gateway."),
        RouteError::LocalGateway(_) => invalid("Error: Nexthop has invalid gateway."),
        RouteError::NoDevice(_) => invalid("Error: Device for nexthop is not up."),
        RouteError::BadTable(_) => invalid("Error: Invalid table id."),
        e => invalid(e.to_string()),
    }
}

/// Makes `change` on a copy of the FIB, sends the copy to every worker and keeps it.
fn change_fib(
    control: &Control,
    change: impl FnOnce(&mut Fib) -> Result<(), Status>,
) -> Result<NetReply, Status> {
    let _g = control.lock_changes();
    let mut fib = control.net().fib.clone();
    change(&mut fib)?;
    control
        .workers
        .broadcast(|done| Command::SetFib {
            fib: Box::new(fib.clone()),
            done,
        })
        .map_err(workers_status)?;
    control.net().fib = fib;
    Ok(NetReply {})
}

/// A route request's destination and table (public for the API fuzz target, fuzz/).
pub fn route_key(r: &Route) -> Result<(Prefix, u32), Status> {
    let dst = if r.dst == "default" {
        "0.0.0.0/0"
    } else {
        r.dst.as_str()
    };
    let dst = Prefix::parse_exact(dst).map_err(|_| {
        invalid(format!(
            "Error: any valid prefix is expected rather than \"{}\".",
            r.dst
        ))
    })?;
    let table = if r.table == 0 { MAIN_TABLE } else { r.table };
    Ok((dst, table))
}

pub fn add_route(control: &Control, r: &Route) -> Result<NetReply, Status> {
    if is_route6(r) {
        return add_route6(control, r);
    }
    let (dst, table) = route_key(r)?;
    let via = if r.via.is_empty() {
        None
    } else {
        Some(parse_ip(&r.via, "via")?)
    };
    let dev = if r.dev.is_empty() {
        None
    } else {
        Some(port_by_name(control, &r.dev)?)
    };
    change_fib(control, |fib| {
        if r.replace {
            // fib_table_insert with NLM_F_REPLACE: the route of that metric goes.
            fib.remove_route(dst, r.metric, table);
        }
        fib.add_static(dst, via, dev, r.metric, table)
            .map(|_| ())
            .map_err(route_error)
    })
}

pub fn delete_route(control: &Control, r: &Route) -> Result<NetReply, Status> {
    if is_route6(r) {
        return delete_route6(control, r);
    }
    let (dst, table) = route_key(r)?;
    change_fib(control, |fib| {
        fib.remove_route(dst, r.metric, table)
            .map(|_| ())
            .ok_or_else(|| Status::not_found("RTNETLINK answers: No such process"))
    })
}

/// A policy rule request as the FIB's (public for the API fuzz target, fuzz/).
pub fn policy(r: &PolicyRule) -> dataplane::route::PolicyRule {
    dataplane::route::PolicyRule {
        fwmark: r.fwmark,
        mask: if r.mask == 0 && r.fwmark != 0 {
            u32::MAX
        } else {
            r.mask
        },
        table: if r.table == 0 { MAIN_TABLE } else { r.table },
        priority: r.priority,
    }
}

/// The rules of `family` (6: `ip -6 rule`, else `ip rule`).
pub fn policy_rules(control: &Control, family: u32) -> ListPolicyRulesReply {
    let net = control.net();
    let rules = if family == 6 {
        net.fib.rules6()
    } else {
        net.fib.rules()
    };
    ListPolicyRulesReply {
        rules: rules
            .iter()
            .map(|r| PolicyRule {
                priority: r.priority,
                fwmark: r.fwmark,
                mask: r.mask,
                table: r.table,
                family: if family == 6 { 6 } else { 4 },
            })
            .collect(),
    }
}

pub fn add_policy_rule(control: &Control, r: &PolicyRule) -> Result<NetReply, Status> {
    change_fib(control, |fib| {
        let mut rule = policy(r);
        if r.family == 6 {
            if r.priority == 0 {
                rule.priority = fib.default_rule_priority6();
            }
            return fib.add_rule6(rule).map_err(route_error);
        }
        if r.priority == 0 {
            rule.priority = fib.default_rule_priority();
        }
        fib.add_rule(rule).map_err(route_error)
    })
}

/// The first rule a delete request names, as the kernel's rule_find matches: the
/// priority, table, fwmark and mask only where given (not 0).
fn rule_find(
    rules: &[dataplane::route::PolicyRule],
    r: &PolicyRule,
) -> Option<dataplane::route::PolicyRule> {
    let given = |want: u32, have: u32| want == 0 || want == have;
    rules
        .iter()
        .find(|x| {
            given(r.priority, x.priority)
                && given(r.table, x.table)
                && given(r.fwmark, x.fwmark)
                && given(
                    if r.fwmark != 0 && r.mask == 0 {
                        u32::MAX
                    } else {
                        r.mask
                    },
                    x.mask,
                )
        })
        .copied()
}

pub fn delete_policy_rule(control: &Control, r: &PolicyRule) -> Result<NetReply, Status> {
    change_fib(control, |fib| {
        let removed = if r.family == 6 {
            rule_find(fib.rules6(), r).is_some_and(|x| fib.remove_rule6(&x))
        } else {
            rule_find(fib.rules(), r).is_some_and(|x| fib.remove_rule(&x))
        };
        if removed {
            Ok(())
        } else {
            Err(Status::not_found(
                "RTNETLINK answers: No such file or directory",
            ))
        }
    })
}

pub fn neighbors(control: &Control, dev: &str) -> Result<ListNeighborsReply, Status> {
    let only = if dev.is_empty() {
        None
    } else {
        Some(port_by_name(control, dev)?)
    };
    let reports = control.workers.reports(true).map_err(workers_status)?;
    // Each worker learns on its own: one row per (port, address), the first worker's.
    let mut seen = std::collections::BTreeMap::new();
    for r in &reports {
        for e in &r.neighbor_entries {
            if only.is_some_and(|p| p != e.port) {
                continue;
            }
            seen.entry((e.port.0, e.ip)).or_insert_with(|| Neighbor {
                ip: e.ip.to_string(),
                mac: e.mac.map(|m| m.to_string()).unwrap_or_default(),
                dev: port_name(control, e.port),
                state: e.state.to_string(),
            });
        }
    }
    Ok(ListNeighborsReply {
        neighbors: seen.into_values().collect(),
    })
}

fn neighbor_key(control: &Control, n: &Neighbor) -> Result<(PortId, Ipv4Addr), Status> {
    let ip = parse_ip(&n.ip, "ip")?;
    let port = if n.dev.is_empty() {
        control.net().fib.connected_port(ip, None).ok_or_else(|| {
            invalid(format!(
                "Error: {ip} is not on a connected network; name its dev."
            ))
        })?
    } else {
        port_by_name(control, &n.dev)?
    };
    Ok((port, ip))
}

pub fn add_neighbor(control: &Control, n: &Neighbor) -> Result<NetReply, Status> {
    let (port, ip) = neighbor_key(control, n)?;
    let mac: MacAddr = n
        .mac
        .parse()
        .map_err(|_| invalid(format!("Error: \"{}\" is not a valid lladdr.", n.mac)))?;
    if !mac.is_unicast() {
        return Err(invalid(format!(
            "Error: \"{}\" is not a valid lladdr.",
            n.mac
        )));
    }
    let _g = control.lock_changes();
    control
        .workers
        .broadcast(|done| Command::SetNeighbor {
            port,
            ip,
            mac: Some(mac),
            done,
        })
        .map_err(workers_status)?;
    control.net().static_neighbors.insert((port, ip), mac);
    Ok(NetReply {})
}

pub fn delete_neighbor(control: &Control, n: &Neighbor) -> Result<NetReply, Status> {
    let (port, ip) = neighbor_key(control, n)?;
    let _g = control.lock_changes();
    let reports = control.workers.reports(true).map_err(workers_status)?;
    let known = reports.iter().any(|r| {
        r.neighbor_entries
            .iter()
            .any(|e| e.port == port && e.ip == ip)
    });
    if !known {
        return Err(Status::not_found(
            "RTNETLINK answers: No such file or directory",
        ));
    }
    control
        .workers
        .broadcast(|done| Command::SetNeighbor {
            port,
            ip,
            mac: None,
            done,
        })
        .map_err(workers_status)?;
    control.net().static_neighbors.remove(&(port, ip));
    Ok(NetReply {})
}

macro_rules! blocking_call {
    ($self:ident, $req:ident, $f:expr) => {{
        let c = Arc::clone(&$self.control);
        let r = $req.into_inner();
        blocking(move || $f(&c, &r)).await.map(Response::new)
    }};
}

#[tonic::async_trait]
impl Net for NetService {
    async fn list_interfaces(
        &self,
        _r: Request<ListInterfacesRequest>,
    ) -> Result<Response<ListInterfacesReply>, Status> {
        Ok(Response::new(interfaces(&self.control)))
    }
    async fn list_routes(
        &self,
        r: Request<ListRoutesRequest>,
    ) -> Result<Response<ListRoutesReply>, Status> {
        let r = r.into_inner();
        if r.family == 6 {
            return routes6(&self.control, r.table).map(Response::new);
        }
        Ok(Response::new(routes(&self.control, r.table)))
    }
    async fn add_route(&self, r: Request<Route>) -> Result<Response<NetReply>, Status> {
        blocking_call!(self, r, add_route)
    }
    async fn delete_route(&self, r: Request<Route>) -> Result<Response<NetReply>, Status> {
        blocking_call!(self, r, delete_route)
    }
    async fn list_policy_rules(
        &self,
        r: Request<ListPolicyRulesRequest>,
    ) -> Result<Response<ListPolicyRulesReply>, Status> {
        let family = r.into_inner().family;
        Ok(Response::new(policy_rules(&self.control, family)))
    }
    async fn add_policy_rule(&self, r: Request<PolicyRule>) -> Result<Response<NetReply>, Status> {
        blocking_call!(self, r, add_policy_rule)
    }
    async fn delete_policy_rule(
        &self,
        r: Request<PolicyRule>,
    ) -> Result<Response<NetReply>, Status> {
        blocking_call!(self, r, delete_policy_rule)
    }
    async fn list_neighbors(
        &self,
        r: Request<ListNeighborsRequest>,
    ) -> Result<Response<ListNeighborsReply>, Status> {
        let c = Arc::clone(&self.control);
        let dev = r.into_inner().dev;
        blocking(move || neighbors(&c, &dev))
            .await
            .map(Response::new)
    }
    async fn add_neighbor(&self, r: Request<Neighbor>) -> Result<Response<NetReply>, Status> {
        blocking_call!(self, r, add_neighbor)
    }
    async fn delete_neighbor(&self, r: Request<Neighbor>) -> Result<Response<NetReply>, Status> {
        blocking_call!(self, r, delete_neighbor)
    }
}
