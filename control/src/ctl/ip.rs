//! `nfdpctl ip route|rule|neigh|link ...` over the Net service: iproute2's syntax for the
//! subset nfdp has, and its listing formats.

use super::connect::Conn;
use super::{status_message, Io};
use crate::api::pb::net_client::NetClient;
use crate::api::pb::{
    Interface, ListInterfacesRequest, ListNeighborsRequest, ListPolicyRulesRequest,
    ListRoutesRequest, Neighbor, PolicyRule, Route,
};

/// A parsed `ip` command.
#[derive(Clone, Debug, PartialEq)]
pub enum IpCommand {
    /// `family`: 6 for `ip -6 route`, else IPv4.
    RouteShow {
        table: u32,
        family: u8,
    },
    /// `ip [-6] route add|replace` (`replace` set in the request).
    RouteAdd(Route),
    RouteDel(Route),
    /// `family`: 6 for `ip -6 rule`, else IPv4.
    RuleShow {
        family: u8,
    },
    RuleAdd(PolicyRule),
    RuleDel(PolicyRule),
    /// `family`: 4 or 6 for `ip -4|-6 neigh`, 0 for both.
    NeighShow {
        dev: String,
        family: u8,
    },
    NeighAdd(Neighbor),
    NeighDel(Neighbor),
    LinkShow,
}

fn table_id(s: &str) -> Result<u32, String> {
    match s {
        "main" => Ok(254),
        "local" => Ok(255),
        "default" => Ok(253),
        "all" => Ok(u32::MAX),
        _ => s
            .parse()
            .map_err(|_| format!("Error: argument \"{s}\" is wrong: \"table\" value is invalid")),
    }
}

fn table_name(t: u32) -> String {
    match t {
        0 | 254 => "main".into(),
        255 => "local".into(),
        253 => "default".into(),
        n => n.to_string(),
    }
}

fn num(s: &str, what: &str) -> Result<u32, String> {
    let parsed = match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    parsed.ok_or_else(|| format!("Error: argument \"{s}\" is wrong: \"{what}\" value is invalid"))
}

fn is_verb(s: &str, full: &str) -> bool {
    !s.is_empty() && full.starts_with(s)
}

/// Parses `ip OBJECT [COMMAND [ARGS]]`; Err: the message (exit 255, as ip's usage errors).
pub fn parse(args: &[String]) -> Result<IpCommand, String> {
    // `ip -4|-6 OBJECT`: the family of the routes and rules, and what `neigh show` lists
    // (a route's own prefix says its family too, as in ip).
    let (family, args) = match args.first().map(String::as_str) {
        Some("-4") => (4, &args[1..]),
        Some("-6") => (6, &args[1..]),
        _ => (0, args),
    };
    let obj = args.first().map(String::as_str).unwrap_or("");
    let verb = args.get(1).map(String::as_str).unwrap_or("show");
    let rest = if args.len() > 2 { &args[2..] } else { &[] };
    let mut kv = rest.iter().map(String::as_str);
    let object = match obj {
        o if is_verb(o, "route") => "route",
        o if is_verb(o, "rule") && o.len() >= 2 => "rule",
        o if is_verb(o, "neighbour") || is_verb(o, "neighbor") => "neigh",
        o if is_verb(o, "link") || is_verb(o, "address") => "link",
        _ => return Err(format!("Object \"{obj}\" is unknown, try \"ip help\".")),
    };
    let replace = verb == "replace";
    let verb = match verb {
        v if is_verb(v, "show") || is_verb(v, "list") => "show",
        v if is_verb(v, "add") || v == "replace" => "add",
        v if is_verb(v, "delete") => "del",
        v => {
            return Err(format!(
                "Command \"{v}\" is unknown, try \"ip {object} help\"."
            ))
        }
    };
    let need = |v: Option<&str>, what: &str| {
        v.map(str::to_string)
            .ok_or_else(|| format!("Command line is not complete. Try option \"help\" ({what})"))
    };
    match (object, verb) {
        ("route", "show") => {
            let mut table = 254;
            while let Some(k) = kv.next() {
                if k == "table" {
                    table = table_id(&need(kv.next(), "table")?)?;
                }
            }
            Ok(IpCommand::RouteShow { table, family })
        }
        ("route", _) => {
            let mut r = Route {
                table: 254,
                replace,
                ..Default::default()
            };
            while let Some(k) = kv.next() {
                match k {
                    "via" => r.via = need(kv.next(), "via")?,
                    "dev" => r.dev = need(kv.next(), "dev")?,
                    "table" => r.table = table_id(&need(kv.next(), "table")?)?,
                    "metric" | "preference" | "priority" => {
                        r.metric = num(&need(kv.next(), "metric")?, "metric")?
                    }
                    "proto" => r.proto = need(kv.next(), "proto")?,
                    "src" => r.src = need(kv.next(), "src")?,
                    "to" => r.dst = need(kv.next(), "to")?,
                    d if r.dst.is_empty() => {
                        r.dst = match (d, family) {
                            ("default", 6) => "::/0".into(),
                            ("default", _) => "0.0.0.0/0".into(),
                            _ => d.to_string(),
                        }
                    }
                    other => {
                        return Err(format!(
                            "Error: either \"to\" is duplicate, or \"{other}\" is a garbage."
                        ))
                    }
                }
            }
            if r.dst.is_empty() {
                return Err("Command line is not complete. Try option \"help\"".into());
            }
            Ok(if verb == "add" {
                IpCommand::RouteAdd(r)
            } else {
                IpCommand::RouteDel(r)
            })
        }
        ("rule", "show") => Ok(IpCommand::RuleShow { family }),
        ("rule", _) => {
            // Without `fwmark` a rule matches every mark (mask 0), as ip's.
            let mut p = PolicyRule {
                family: u32::from(family),
                ..Default::default()
            };
            while let Some(k) = kv.next() {
                match k {
                    "priority" | "pref" | "preference" | "prio" => {
                        p.priority = num(&need(kv.next(), k)?, "preference")?
                    }
                    "fwmark" => {
                        let v = need(kv.next(), "fwmark")?;
                        let (m, mask) = match v.split_once('/') {
                            Some((m, mask)) => (num(m, "fwmark")?, num(mask, "fwmark")?),
                            None => (num(&v, "fwmark")?, u32::MAX),
                        };
                        p.fwmark = m;
                        p.mask = mask;
                    }
                    "table" | "lookup" => p.table = table_id(&need(kv.next(), "table")?)?,
                    "from" | "to" => {
                        let v = need(kv.next(), k)?;
                        if !matches!(v.as_str(), "all" | "0.0.0.0/0" | "::/0") {
                            return Err(format!(
                                "Error: nfdp policy rules match fwmark only (\"{k} {v}\")."
                            ));
                        }
                    }
                    other => {
                        return Err(format!(
                            "Error: argument \"{other}\" is wrong: Failed to parse rule type"
                        ))
                    }
                }
            }
            Ok(if verb == "add" {
                IpCommand::RuleAdd(p)
            } else {
                IpCommand::RuleDel(p)
            })
        }
        ("neigh", "show") => {
            let mut dev = String::new();
            while let Some(k) = kv.next() {
                if k == "dev" {
                    dev = need(kv.next(), "dev")?;
                }
            }
            Ok(IpCommand::NeighShow { dev, family })
        }
        ("neigh", _) => {
            let mut n = Neighbor {
                state: "PERMANENT".into(),
                ..Default::default()
            };
            while let Some(k) = kv.next() {
                match k {
                    "lladdr" => n.mac = need(kv.next(), "lladdr")?,
                    "dev" => n.dev = need(kv.next(), "dev")?,
                    "nud" => n.state = need(kv.next(), "nud")?.to_ascii_uppercase(),
                    "to" => n.ip = need(kv.next(), "to")?,
                    a if n.ip.is_empty() => n.ip = a.to_string(),
                    other => {
                        return Err(format!(
                            "Error: either \"to\" is duplicate, or \"{other}\" is a garbage."
                        ))
                    }
                }
            }
            if n.ip.is_empty() || n.dev.is_empty() {
                return Err("Device and destination are required arguments.".into());
            }
            Ok(if verb == "add" {
                IpCommand::NeighAdd(n)
            } else {
                IpCommand::NeighDel(n)
            })
        }
        ("link", "show") => Ok(IpCommand::LinkShow),
        (o, v) => Err(format!("Command \"{v}\" is unknown, try \"ip {o} help\".")),
    }
}

/// One route as `ip route` prints it (`ip -6 route` for an IPv6 one: a connected route
/// has no `scope link`, and every route ends with its router preference, `pref medium`).
pub fn route_line(r: &Route, show_table: bool) -> String {
    let v6 = r.dst.contains(':');
    let mut s = if r.dst == "0.0.0.0/0" || r.dst == "::/0" || r.dst.is_empty() {
        "default".to_string()
    } else {
        r.dst.clone()
    };
    if show_table && r.table != 0 && r.table != 254 {
        // `ip route show table all` prints the table of non-main routes.
    }
    if !r.via.is_empty() {
        s.push_str(&format!(" via {}", r.via));
    }
    if !r.dev.is_empty() {
        s.push_str(&format!(" dev {}", r.dev));
    }
    if show_table && r.table != 0 && r.table != 254 {
        s.push_str(&format!(" table {}", table_name(r.table)));
    }
    match r.proto.as_str() {
        "connected" | "kernel" if v6 => s.push_str(" proto kernel"),
        "connected" | "kernel" => {
            s.push_str(" proto kernel scope link");
        }
        "" => {}
        p => s.push_str(&format!(" proto {p}")),
    }
    if !r.src.is_empty() {
        s.push_str(&format!(" src {}", r.src));
    }
    if r.metric != 0 {
        s.push_str(&format!(" metric {}", r.metric));
    }
    if v6 {
        s.push_str(" pref medium");
    }
    s
}

/// One policy rule as `ip rule` prints it: `100:\tfrom all fwmark 0x1/0xff lookup 100`.
pub fn rule_line(p: &PolicyRule) -> String {
    let mut s = format!("{}:\tfrom all", p.priority);
    if p.fwmark != 0 || (p.mask != 0 && p.mask != u32::MAX) {
        s.push_str(&format!(" fwmark {:#x}", p.fwmark));
        if p.mask != u32::MAX {
            s.push_str(&format!("/{:#x}", p.mask));
        }
    }
    s.push_str(&format!(" lookup {}", table_name(p.table)));
    s
}

/// One neighbour as `ip neigh` prints it.
pub fn neigh_line(n: &Neighbor) -> String {
    let mut s = format!("{} dev {}", n.ip, n.dev);
    if !n.mac.is_empty() {
        s.push_str(&format!(" lladdr {}", n.mac));
    }
    s.push_str(&format!(" {}", n.state));
    s
}

/// One interface as `ip addr` prints it (link line, link/ether line, inet lines).
pub fn link_lines(i: &Interface) -> String {
    let flags = if i.up {
        "BROADCAST,MULTICAST,UP,LOWER_UP"
    } else {
        "BROADCAST,MULTICAST"
    };
    let state = if i.up { "UP" } else { "DOWN" };
    let mut s = format!(
        "{}: {}: <{flags}> mtu {} state {state}\n",
        i.index, i.name, i.mtu
    );
    s.push_str(&format!("    link/ether {} brd ff:ff:ff:ff:ff:ff\n", i.mac));
    for a in &i.addresses {
        if !a.contains(':') {
            s.push_str(&format!("    inet {a} scope global {}\n", i.name));
        } else if a.starts_with("fe80:") {
            s.push_str(&format!("    inet6 {a} scope link\n"));
        } else {
            s.push_str(&format!("    inet6 {a} scope global\n"));
        }
    }
    s
}

/// Runs the command; errors print as `RTNETLINK answers: ...` with exit 2, as ip does.
pub async fn run(conn: Conn, cmd: IpCommand, io: &mut Io<'_>) -> i32 {
    let mut c = NetClient::new(conn);
    // ip prints the kernel's extended ack ("Error: ...") as it is, an errno after
    // "RTNETLINK answers: ".
    let fail = |io: &mut Io<'_>, s: tonic::Status| {
        let m = status_message(&s);
        let whole = ["Error: ", "RTNETLINK answers: ", "Cannot find device"];
        if whole.iter().any(|w| m.starts_with(w)) {
            io.err_line(&m);
        } else {
            io.err_line(&format!("RTNETLINK answers: {m}"));
        }
        2
    };
    match cmd {
        IpCommand::RouteShow { table, family } => match c
            .list_routes(ListRoutesRequest {
                table,
                family: u32::from(family),
            })
            .await
        {
            Ok(r) => {
                for route in &r.into_inner().routes {
                    io.out_line(&route_line(route, table == u32::MAX));
                }
                0
            }
            Err(s) => fail(io, s),
        },
        IpCommand::RouteAdd(r) => c.add_route(r).await.map_or_else(|s| fail(io, s), |_| 0),
        IpCommand::RouteDel(r) => c.delete_route(r).await.map_or_else(|s| fail(io, s), |_| 0),
        IpCommand::RuleShow { family } => match c
            .list_policy_rules(ListPolicyRulesRequest {
                family: u32::from(family),
            })
            .await
        {
            Ok(r) => {
                for p in &r.into_inner().rules {
                    io.out_line(&rule_line(p));
                }
                0
            }
            Err(s) => fail(io, s),
        },
        IpCommand::RuleAdd(p) => c
            .add_policy_rule(p)
            .await
            .map_or_else(|s| fail(io, s), |_| 0),
        IpCommand::RuleDel(p) => c
            .delete_policy_rule(p)
            .await
            .map_or_else(|s| fail(io, s), |_| 0),
        IpCommand::NeighShow { dev, family } => {
            match c.list_neighbors(ListNeighborsRequest { dev }).await {
                Ok(r) => {
                    for n in &r.into_inner().neighbors {
                        let v6 = n.ip.contains(':');
                        if (family == 4 && v6) || (family == 6 && !v6) {
                            continue;
                        }
                        io.out_line(&neigh_line(n));
                    }
                    0
                }
                Err(s) => fail(io, s),
            }
        }
        IpCommand::NeighAdd(n) => c.add_neighbor(n).await.map_or_else(|s| fail(io, s), |_| 0),
        IpCommand::NeighDel(n) => c
            .delete_neighbor(n)
            .await
            .map_or_else(|s| fail(io, s), |_| 0),
        IpCommand::LinkShow => match c.list_interfaces(ListInterfacesRequest {}).await {
            Ok(r) => {
                for i in &r.into_inner().interfaces {
                    io.out(link_lines(i).as_bytes());
                }
                0
            }
            Err(s) => fail(io, s),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn route_commands() {
        assert_eq!(
            parse(&v("route")).unwrap(),
            IpCommand::RouteShow {
                table: 254,
                family: 0
            }
        );
        assert_eq!(
            parse(&v("r s table all")).unwrap(),
            IpCommand::RouteShow {
                table: u32::MAX,
                family: 0
            }
        );
        assert_eq!(
            parse(&v("route add default via 10.0.0.1 dev wan0 metric 5")).unwrap(),
            IpCommand::RouteAdd(Route {
                dst: "0.0.0.0/0".into(),
                via: "10.0.0.1".into(),
                dev: "wan0".into(),
                table: 254,
                metric: 5,
                ..Default::default()
            })
        );
        assert_eq!(
            parse(&v("route del 192.168.0.0/16 table 100")).unwrap(),
            IpCommand::RouteDel(Route {
                dst: "192.168.0.0/16".into(),
                table: 100,
                ..Default::default()
            })
        );
        assert!(parse(&v("route add")).is_err());
        assert!(parse(&v("bogus")).is_err());
    }

    #[test]
    fn rule_and_neigh_commands() {
        assert_eq!(
            parse(&v("rule add priority 100 fwmark 0x1/0xff table 100")).unwrap(),
            IpCommand::RuleAdd(PolicyRule {
                priority: 100,
                fwmark: 1,
                mask: 0xff,
                table: 100,
                family: 0
            })
        );
        assert_eq!(
            parse(&v("neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev lan0")).unwrap(),
            IpCommand::NeighAdd(Neighbor {
                ip: "10.0.0.2".into(),
                mac: "02:00:00:00:00:02".into(),
                dev: "lan0".into(),
                state: "PERMANENT".into()
            })
        );
        assert_eq!(
            parse(&v("neigh show dev lan0")).unwrap(),
            IpCommand::NeighShow {
                dev: "lan0".into(),
                family: 0
            }
        );
        assert_eq!(
            parse(&v("-6 route")).unwrap(),
            IpCommand::RouteShow {
                table: 254,
                family: 6
            }
        );
        let default6 = Route {
            dst: "::/0".into(),
            via: "fe80::1".into(),
            dev: "wan0".into(),
            table: 254,
            metric: 1024,
            ..Default::default()
        };
        assert_eq!(
            route_line(&default6, false),
            "default via fe80::1 dev wan0 metric 1024 pref medium"
        );
        assert_eq!(
            parse(&v("-6 neigh")).unwrap(),
            IpCommand::NeighShow {
                dev: String::new(),
                family: 6
            }
        );
        assert_eq!(parse(&v("link")).unwrap(), IpCommand::LinkShow);
    }

    /// `ip -6 route` / `ip -6 rule` as iproute2 6.1 parses and prints them (checked
    /// against the kernel's in a namespace).
    #[test]
    fn ipv6_route_and_rule_commands() {
        assert_eq!(
            parse(&v(
                "-6 route add default via 2001:db8:1::fe dev lan0 table 100 metric 5"
            ))
            .unwrap(),
            IpCommand::RouteAdd(Route {
                dst: "::/0".into(),
                via: "2001:db8:1::fe".into(),
                dev: "lan0".into(),
                table: 100,
                metric: 5,
                ..Default::default()
            })
        );
        assert_eq!(
            parse(&v("-6 route replace 2001:db8:9::/48 via fe80::1 dev lan0")).unwrap(),
            IpCommand::RouteAdd(Route {
                dst: "2001:db8:9::/48".into(),
                via: "fe80::1".into(),
                dev: "lan0".into(),
                table: 254,
                replace: true,
                ..Default::default()
            })
        );
        assert_eq!(
            parse(&v("-6 r s table 100")).unwrap(),
            IpCommand::RouteShow {
                table: 100,
                family: 6
            }
        );
        assert_eq!(
            parse(&v("-6 rule")).unwrap(),
            IpCommand::RuleShow { family: 6 }
        );
        assert_eq!(
            parse(&v("-6 rule del from ::/0 fwmark 0x2 lookup 100 pref 100")).unwrap(),
            IpCommand::RuleDel(PolicyRule {
                priority: 100,
                fwmark: 2,
                mask: u32::MAX,
                table: 100,
                family: 6
            })
        );
        assert_eq!(
            parse(&v("rule add table 7")).unwrap(),
            IpCommand::RuleAdd(PolicyRule {
                table: 7,
                ..Default::default()
            }),
            "without fwmark every mark"
        );
        let r = |dst: &str, via: &str, table, metric, proto: &str| Route {
            dst: dst.into(),
            via: via.into(),
            dev: "d0".into(),
            table,
            metric,
            proto: proto.into(),
            ..Default::default()
        };
        let lines = [
            (
                r("2001:db8:1::/64", "", 254, 256, "kernel"),
                false,
                "2001:db8:1::/64 dev d0 proto kernel metric 256 pref medium",
            ),
            (
                r("::/0", "2001:db8:1::fe", 254, 1024, ""),
                false,
                "default via 2001:db8:1::fe dev d0 metric 1024 pref medium",
            ),
            (
                r("2001:db8:9::/48", "2001:db8:1::fe", 100, 5, ""),
                false,
                "2001:db8:9::/48 via 2001:db8:1::fe dev d0 metric 5 pref medium",
            ),
            (
                r("2001:db8:9::/48", "2001:db8:1::fe", 100, 5, ""),
                true,
                "2001:db8:9::/48 via 2001:db8:1::fe dev d0 table 100 metric 5 pref medium",
            ),
        ];
        for (route, all, want) in lines {
            assert_eq!(route_line(&route, all), want);
        }
        assert_eq!(
            rule_line(&PolicyRule {
                priority: 100,
                fwmark: 2,
                mask: u32::MAX,
                table: 100,
                family: 6
            }),
            "100:\tfrom all fwmark 0x2 lookup 100"
        );
    }

    #[test]
    fn interface_lines_list_inet6_after_inet() {
        let i = Interface {
            name: "lan0".into(),
            index: 1,
            mac: "02:00:00:00:01:01".into(),
            mtu: 1500,
            up: true,
            addresses: vec![
                "192.168.1.1/24".into(),
                "2001:db8:1::1/64".into(),
                "fe80::ff:fe00:101/64".into(),
            ],
            driver: "mem".into(),
        };
        assert_eq!(
            link_lines(&i),
            "1: lan0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP\n    link/ether 02:00:00:00:01:01 brd ff:ff:ff:ff:ff:ff\n    inet 192.168.1.1/24 scope global lan0\n    inet6 2001:db8:1::1/64 scope global\n    inet6 fe80::ff:fe00:101/64 scope link\n"
        );
    }

    #[test]
    fn listing_formats() {
        let r = Route {
            dst: "0.0.0.0/0".into(),
            via: "10.0.0.1".into(),
            dev: "wan0".into(),
            proto: "static".into(),
            metric: 5,
            ..Default::default()
        };
        assert_eq!(
            route_line(&r, false),
            "default via 10.0.0.1 dev wan0 proto static metric 5"
        );
        let r = Route {
            dst: "10.0.0.0/24".into(),
            dev: "lan0".into(),
            proto: "connected".into(),
            src: "10.0.0.1".into(),
            ..Default::default()
        };
        assert_eq!(
            route_line(&r, false),
            "10.0.0.0/24 dev lan0 proto kernel scope link src 10.0.0.1"
        );
        assert_eq!(
            rule_line(&PolicyRule {
                priority: 100,
                fwmark: 1,
                mask: 0xff,
                table: 100,
                family: 0
            }),
            "100:\tfrom all fwmark 0x1/0xff lookup 100"
        );
        assert_eq!(
            rule_line(&PolicyRule {
                priority: 32766,
                fwmark: 0,
                mask: 0,
                table: 254,
                family: 6
            }),
            "32766:\tfrom all lookup main"
        );
        let n = Neighbor {
            ip: "10.0.0.2".into(),
            mac: "02:00:00:00:00:02".into(),
            dev: "lan0".into(),
            state: "REACHABLE".into(),
        };
        assert_eq!(
            neigh_line(&n),
            "10.0.0.2 dev lan0 lladdr 02:00:00:00:00:02 REACHABLE"
        );
    }
}
