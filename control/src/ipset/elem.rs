//! Elements as ipset 7 reads and prints them: `ADDR`, `NET/CIDR`, `ADDR-ADDR`,
//! `ADDR,[PROTO:]PORT`, ICMP and ICMPv6 by name or `type/code`, a set name for list:set.
//! A `family inet6` set takes IPv6 addresses and networks, never a range: ipset's
//! parser refuses `ADDR-ADDR` (and a network where a host is wanted) for IPv6.

use crate::iptables::names;
use dataplane::ipset::{Elem, SetTable, SetType};
use dataplane::ruleset::matches::{
    IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
};
use dataplane::ruleset::Family;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The most elements one `add`/`del` of a range or network may expand into.
pub const MAX_EXPANSION: u64 = 1 << 16;

/// ipset's ICMP names (lib/icmp.c), the first of a type/code pair is printed.
const ICMP_NAMES: &[(&str, u8, u8)] = &[
    ("echo-reply", 0, 0),
    ("pong", 0, 0),
    ("network-unreachable", 3, 0),
    ("host-unreachable", 3, 1),
    ("protocol-unreachable", 3, 2),
    ("port-unreachable", 3, 3),
    ("fragmentation-needed", 3, 4),
    ("source-route-failed", 3, 5),
    ("network-unknown", 3, 6),
    ("host-unknown", 3, 7),
    ("network-prohibited", 3, 9),
    ("host-prohibited", 3, 10),
    ("TOS-network-unreachable", 3, 11),
    ("TOS-host-unreachable", 3, 12),
    ("communication-prohibited", 3, 13),
    ("host-precedence-violation", 3, 14),
    ("precedence-cutoff", 3, 15),
    ("source-quench", 4, 0),
    ("network-redirect", 5, 0),
    ("host-redirect", 5, 1),
    ("TOS-network-redirect", 5, 2),
    ("TOS-host-redirect", 5, 3),
    ("echo-request", 8, 0),
    ("ping", 8, 0),
    ("router-advertisement", 9, 0),
    ("router-solicitation", 10, 0),
    ("ttl-zero-during-transit", 11, 0),
    ("ttl-zero-during-reassembly", 11, 1),
    ("ip-header-bad", 12, 0),
    ("required-option-missing", 12, 1),
    ("timestamp-request", 13, 0),
    ("timestamp-reply", 14, 0),
    ("address-mask-request", 17, 0),
    ("address-mask-reply", 18, 0),
];

/// ipset's ICMPv6 names (lib/icmpv6.c), the first of a type/code pair is printed.
const ICMPV6_NAMES: &[(&str, u8, u8)] = &[
    ("no-route", 1, 0),
    ("communication-prohibited", 1, 1),
    ("address-unreachable", 1, 3),
    ("port-unreachable", 1, 4),
    ("packet-too-big", 2, 0),
    ("ttl-zero-during-transit", 3, 0),
    ("ttl-zero-during-reassembly", 3, 1),
    ("bad-header", 4, 0),
    ("unknown-header-type", 4, 1),
    ("unknown-option", 4, 2),
    ("echo-request", 128, 0),
    ("ping", 128, 0),
    ("echo-reply", 129, 0),
    ("pong", 129, 0),
    ("router-solicitation", 133, 0),
    ("router-advertisement", 134, 0),
    ("neighbour-solicitation", 135, 0),
    ("neigbour-solicitation", 135, 0),
    ("neighbour-advertisement", 136, 0),
    ("neigbour-advertisement", 136, 0),
    ("redirect", 137, 0),
];

fn syntax(msg: String) -> String {
    format!("Syntax error: {msg}")
}

fn parse_ip(s: &str) -> Result<Ipv4Addr, String> {
    s.parse::<Ipv4Addr>().map_err(|_| {
        syntax(format!(
            "cannot parse {s}: resolving to IPv4 address failed"
        ))
    })
}

/// `ADDR[/CIDR]` or `ADDR-ADDR` as (first, last) addresses and the CIDR given.
fn parse_ip_range(s: &str) -> Result<(u32, u32, Option<u8>), String> {
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (u32::from(parse_ip(a)?), u32::from(parse_ip(b)?));
        if a > b {
            return Err(syntax(format!("{s} is not a valid range")));
        }
        return Ok((a, b, None));
    }
    match s.split_once('/') {
        Some((a, c)) => {
            let cidr = c
                .parse::<u8>()
                .ok()
                .filter(|c| *c <= 32)
                .ok_or_else(|| syntax(format!("'{c}' is out of range 0-32")))?;
            let base = u32::from(parse_ip(a)?) & dataplane::ruleset::prefix_mask(cidr);
            let last = base | !dataplane::ruleset::prefix_mask(cidr);
            Ok((base, last, Some(cidr)))
        }
        None => {
            let a = u32::from(parse_ip(s)?);
            Ok((a, a, None))
        }
    }
}

/// An IPv6 `ADDR[/CIDR]` as the network (masked) and its prefix length (128 for an
/// address). `host` (hash:ip, hash:ip,port) takes an address only, as ipset's
/// `parse_ip6_single` / `ipset_parse_ip6` refuse everything else; no IPv6 ranges.
fn parse_net6(s: &str, host: bool) -> Result<(Ipv6Addr, u8, bool), String> {
    let refuse = || {
        syntax(if host {
            format!("plain IP address must be supplied: {s}")
        } else {
            format!("IP address or IP/cidr must be specified: {s}")
        })
    };
    if s.contains('-') {
        return Err(refuse());
    }
    let (a, cidr) = match s.split_once('/') {
        Some((a, c)) => {
            let cidr = c
                .parse::<u8>()
                .ok()
                .filter(|c| *c <= 128)
                .ok_or_else(|| syntax(format!("'{c}' is out of range 0-128")))?;
            (a, Some(cidr))
        }
        None => (s, None),
    };
    let addr = a.parse::<Ipv6Addr>().map_err(|_| {
        syntax(format!(
            "cannot parse {a}: resolving to IPv6 address failed"
        ))
    })?;
    let len = cidr.unwrap_or(128);
    if host && len != 128 {
        return Err(refuse());
    }
    let net = u128::from(addr) & dataplane::ruleset::prefix_mask6(len);
    Ok((Ipv6Addr::from(net), len, cidr.is_some()))
}

/// The largest aligned blocks covering first..=last, as ipset splits a range for hash:net.
fn cidrs(first: u32, last: u32) -> Vec<(u32, u8)> {
    let mut out = Vec::new();
    let mut a = u64::from(first);
    let end = u64::from(last) + 1;
    while a < end {
        let mut len = 32u8;
        while len > 0 {
            let size = 1u64 << (33 - len);
            if a % size != 0 || a + size > end {
                break;
            }
            len -= 1;
        }
        out.push((a as u32, len));
        a += 1u64 << (32 - len);
    }
    out
}

fn too_many() -> String {
    "Syntax error: the range or network is too large".into()
}

/// `[PROTO:]PORT[-PORT]`: the protocol and the ports (ICMP: type << 8 | code).
fn parse_proto_port(s: &str, ports_only: bool, family: Family) -> Result<(u8, u16, u16), String> {
    let (proto, rest) = match s.split_once(':') {
        Some((p, r)) => {
            let proto = names::parse_proto(p)
                .ok_or_else(|| syntax(format!("cannot parse '{p}' as a protocol")))?;
            (proto, r)
        }
        None => (IPPROTO_TCP, s),
    };
    if ports_only && !matches!(proto, IPPROTO_TCP | IPPROTO_UDP) {
        return Err(syntax(format!("cannot parse '{s}' as a port")));
    }
    let proto_name = names::proto_name(proto);
    match (proto, family) {
        (IPPROTO_ICMP, Family::V6) => {
            return Err(syntax(
                "Protocol ICMP can be used with family inet only".into(),
            ))
        }
        (IPPROTO_ICMPV6, Family::V4) => {
            return Err(syntax(
                "Protocol ICMPv6 can be used with family inet6 only".into(),
            ))
        }
        _ => {}
    }
    match proto {
        IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_UDPLITE => {
            let port = |p: &str| {
                names::parse_port(p, Some(&proto_name))
                    .ok_or_else(|| syntax(format!("cannot parse '{p}' as a {proto_name} port")))
            };
            let (a, b) = match rest.split_once('-') {
                Some((a, b)) => (port(a)?, port(b)?),
                None => {
                    let p = port(rest)?;
                    (p, p)
                }
            };
            let (a, b) = (a.min(b), a.max(b));
            Ok((proto, a, b))
        }
        IPPROTO_ICMP | IPPROTO_ICMPV6 => {
            let names = if proto == IPPROTO_ICMP {
                ICMP_NAMES
            } else {
                ICMPV6_NAMES
            };
            let tc = match names.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(rest)) {
                Some((_, t, c)) => u16::from(*t) << 8 | u16::from(*c),
                None => {
                    let what = if proto == IPPROTO_ICMP {
                        "ICMP"
                    } else {
                        "ICMPv6"
                    };
                    let bad = || format!("Cannot parse {rest} as an {what} type/code.");
                    let (t, c) = rest.split_once('/').ok_or_else(bad)?;
                    let t: u8 = t.parse().map_err(|_| bad())?;
                    let c: u8 = c.parse().map_err(|_| bad())?;
                    u16::from(t) << 8 | u16::from(c)
                }
            };
            Ok((proto, tc, tc))
        }
        _ => {
            if rest != "0" {
                return Err(syntax(format!(
                    "Protocol {proto_name} can be used with pseudo port value 0 only."
                )));
            }
            Ok((proto, 0, 0))
        }
    }
}

/// hash:ip's elements with a `netmask`: one per block, in order (an address range
/// stands for the blocks it touches, as hash_ip4_uadt steps through it).
pub fn netmasked(elems: Vec<Elem>, netmask: Option<u8>) -> Vec<Elem> {
    let Some(m) = netmask else {
        return elems;
    };
    let mut out: Vec<Elem> = Vec::with_capacity(elems.len());
    for e in elems {
        let e = match e {
            Elem::Ip(IpAddr::V4(a)) => Elem::Ip(IpAddr::V4(Ipv4Addr::from(
                u32::from(a) & dataplane::ruleset::prefix_mask(m),
            ))),
            Elem::Ip(IpAddr::V6(a)) => Elem::Ip(IpAddr::V6(Ipv6Addr::from(
                u128::from(a) & dataplane::ruleset::prefix_mask6(m),
            ))),
            other => other,
        };
        if out.last() != Some(&e) {
            out.push(e);
        }
    }
    out
}

/// The elements one `add`/`del`/`test` argument stands for in a set of `set_type` and
/// `family`.
pub fn parse(
    set_type: SetType,
    family: Family,
    s: &str,
    sets: &SetTable,
) -> Result<Vec<Elem>, String> {
    if family == Family::V6 && set_type.is_hash() {
        return parse6(set_type, s);
    }
    let mut out = Vec::new();
    let v4 = |a: u32| IpAddr::V4(Ipv4Addr::from(a));
    let check = |n: u64| {
        if n > MAX_EXPANSION {
            Err(too_many())
        } else {
            Ok(())
        }
    };
    match set_type {
        SetType::HashIp => {
            let (a, b, _) = parse_ip_range(s)?;
            check(u64::from(b - a) + 1)?;
            out.extend((a..=b).map(|x| Elem::Ip(v4(x))));
        }
        SetType::HashNet => match parse_ip_range(s)? {
            (a, _, Some(c)) => {
                if c == 0 {
                    return Err(
                        "The value of the CIDR parameter of the IP address is invalid".into(),
                    );
                }
                out.push(Elem::Net(v4(a), c))
            }
            (a, b, None) => {
                let blocks = cidrs(a, b);
                check(blocks.len() as u64)?;
                out.extend(blocks.into_iter().map(|(x, l)| Elem::Net(v4(x), l)));
            }
        },
        SetType::HashIpPort | SetType::HashNetPort => {
            let (ip, pp) = s
                .split_once(',')
                .ok_or_else(|| syntax(format!("cannot parse {s}: missing port")))?;
            let (proto, p1, p2) = parse_proto_port(pp, false, Family::V4)?;
            let addrs: Vec<(u32, u8)> = match (set_type, parse_ip_range(ip)?) {
                (SetType::HashNetPort, (a, _, Some(c))) => {
                    if c == 0 {
                        return Err(
                            "The value of the CIDR parameter of the IP address is invalid".into(),
                        );
                    }
                    vec![(a, c)]
                }
                (SetType::HashNetPort, (a, b, None)) => cidrs(a, b),
                (_, (a, b, _)) => {
                    check(u64::from(b - a) + 1)?;
                    (a..=b).map(|x| (x, 32)).collect()
                }
            };
            check(addrs.len() as u64 * (u64::from(p2 - p1) + 1))?;
            for (a, l) in addrs {
                for p in p1..=p2 {
                    out.push(if set_type == SetType::HashIpPort {
                        Elem::IpPort(v4(a), proto, p)
                    } else {
                        Elem::NetPort(v4(a), l, proto, p)
                    });
                }
            }
        }
        SetType::HashNetIface => {
            let (net, iface) = s
                .split_once(',')
                .ok_or_else(|| syntax(format!("Second element is missing from {s}.")))?;
            let (name, physdev) = parse_iface(s, iface)?;
            // /0 is allowed here, unlike hash:net.
            let nets = match parse_ip_range(net)? {
                (a, _, Some(c)) => vec![(a, c)],
                (a, b, None) => cidrs(a, b),
            };
            check(nets.len() as u64)?;
            out.extend(
                nets.into_iter()
                    .map(|(a, l)| Elem::NetIface(v4(a), l, name.to_string(), physdev)),
            );
        }
        SetType::BitmapPort => {
            let (_, a, b) = parse_proto_port(s, true, Family::V4)?;
            out.extend((a..=b).map(Elem::Port));
        }
        SetType::ListSet => {
            let i = sets
                .index(s)
                .ok_or("Set to be added/deleted/tested as element does not exist.")?;
            let member = sets.get(i).map(|m| m.set.set_type);
            if member == Some(SetType::ListSet) {
                return Err("Sets with list:set type cannot be added to the set.".into());
            }
            out.push(Elem::Set(i));
        }
    }
    Ok(out)
}

/// hash:net,iface's `IFACE` or `physdev:IFACE` (of the whole element `s`).
fn parse_iface<'a>(s: &str, iface: &'a str) -> Result<(&'a str, bool), String> {
    let (name, physdev) = match iface.strip_prefix("physdev:") {
        Some(n) => (n, true),
        None => (iface, false),
    };
    if name.len() > dataplane::ipset::hash_net_iface::MAX_IFACE_LEN {
        return Err(syntax(format!(
            "interface name '{name}' is longer than 15 characters"
        )));
    }
    if name.is_empty() {
        return Err(syntax(format!("Second element is missing from {s}.")));
    }
    Ok((name, physdev))
}

fn zero_cidr() -> String {
    "The value of the CIDR parameter of the IP address is invalid".into()
}

/// The elements of a `family inet6` hash set (an address or network each: IPv6 has no
/// address ranges; a port range still expands).
fn parse6(set_type: SetType, s: &str) -> Result<Vec<Elem>, String> {
    let v6 = IpAddr::V6;
    Ok(vec![match set_type {
        SetType::HashIp => Elem::Ip(v6(parse_net6(s, true)?.0)),
        SetType::HashNet => match parse_net6(s, false)? {
            (_, 0, true) => return Err(zero_cidr()),
            (a, l, _) => Elem::Net(v6(a), l),
        },
        SetType::HashIpPort | SetType::HashNetPort => {
            let (ip, pp) = s
                .split_once(',')
                .ok_or_else(|| syntax(format!("cannot parse {s}: missing port")))?;
            let (proto, p1, p2) = parse_proto_port(pp, false, Family::V6)?;
            let elem: Box<dyn Fn(u16) -> Elem> = if set_type == SetType::HashIpPort {
                let a = v6(parse_net6(ip, true)?.0);
                Box::new(move |p| Elem::IpPort(a, proto, p))
            } else {
                match parse_net6(ip, false)? {
                    (_, 0, true) => return Err(zero_cidr()),
                    (a, l, _) => Box::new(move |p| Elem::NetPort(v6(a), l, proto, p)),
                }
            };
            if u64::from(p2 - p1) + 1 > MAX_EXPANSION {
                return Err(too_many());
            }
            return Ok((p1..=p2).map(elem).collect());
        }
        SetType::HashNetIface => {
            let (net, iface) = s
                .split_once(',')
                .ok_or_else(|| syntax(format!("Second element is missing from {s}.")))?;
            let (name, physdev) = parse_iface(s, iface)?;
            // /0 is allowed here, unlike hash:net.
            let (a, l, _) = parse_net6(net, false)?;
            Elem::NetIface(v6(a), l, name.to_string(), physdev)
        }
        SetType::BitmapPort | SetType::ListSet => return Err(syntax(format!("cannot parse {s}"))),
    }])
}

fn fmt_proto_port(proto: u8, port: u16) -> String {
    let names = match proto {
        IPPROTO_ICMP => ICMP_NAMES,
        IPPROTO_ICMPV6 => ICMPV6_NAMES,
        _ => return format!("{}:{port}", names::proto_name(proto)),
    };
    let (t, c) = ((port >> 8) as u8, port as u8);
    let proto = names::proto_name(proto);
    match names.iter().find(|(_, tt, cc)| *tt == t && *cc == c) {
        Some((n, _, _)) => format!("{proto}:{n}"),
        None => format!("{proto}:{t}/{c}"),
    }
}

/// An address as ipset prints it (glibc's `inet_ntop`: an IPv4-compatible IPv6 address
/// `::a.b.c.d` in dotted form too, which Rust's `Display` prints in hex).
fn fmt_addr(a: IpAddr) -> String {
    match a {
        IpAddr::V6(a) => {
            let w = a.segments();
            if w[..6] == [0; 6] && w[6] != 0 {
                let [.., b0, b1, b2, b3] = a.octets();
                return format!("::{}", Ipv4Addr::new(b0, b1, b2, b3));
            }
            a.to_string()
        }
        IpAddr::V4(a) => a.to_string(),
    }
}

fn fmt_net(a: IpAddr, len: u8) -> String {
    let host = if a.is_ipv6() { 128 } else { 32 };
    if len == host {
        fmt_addr(a)
    } else {
        format!("{}/{len}", fmt_addr(a))
    }
}

/// An element as `ipset save` / `list` print it.
pub fn format(e: &Elem, sets: &SetTable) -> String {
    match e {
        Elem::Ip(a) => fmt_addr(*a),
        Elem::Net(a, l) => fmt_net(*a, *l),
        Elem::IpPort(a, proto, port) => {
            format!("{},{}", fmt_addr(*a), fmt_proto_port(*proto, *port))
        }
        Elem::NetPort(a, l, proto, port) => {
            format!("{},{}", fmt_net(*a, *l), fmt_proto_port(*proto, *port))
        }
        Elem::NetIface(a, l, iface, physdev) => format!(
            "{},{}{iface}",
            fmt_net(*a, *l),
            if *physdev { "physdev:" } else { "" }
        ),
        Elem::Port(p) => p.to_string(),
        Elem::Set(i) => sets.get(*i).map_or_else(String::new, |s| s.name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_aligned_networks() {
        assert_eq!(
            cidrs(
                u32::from(Ipv4Addr::new(10, 0, 0, 1)),
                u32::from(Ipv4Addr::new(10, 0, 0, 6))
            ),
            vec![
                (u32::from(Ipv4Addr::new(10, 0, 0, 1)), 32),
                (u32::from(Ipv4Addr::new(10, 0, 0, 2)), 31),
                (u32::from(Ipv4Addr::new(10, 0, 0, 4)), 31),
                (u32::from(Ipv4Addr::new(10, 0, 0, 6)), 32),
            ]
        );
        assert_eq!(cidrs(0, u32::MAX), vec![(0, 0)]);
    }

    #[test]
    fn ports_and_icmp_print_as_ipset() {
        let t = SetTable::default();
        let e = parse(SetType::HashIpPort, Family::V4, "1.2.3.4,icmp:ping", &t).unwrap();
        assert_eq!(format(&e[0], &t), "1.2.3.4,icmp:echo-request");
        let e = parse(SetType::HashIpPort, Family::V4, "1.2.3.4,80", &t).unwrap();
        assert_eq!(format(&e[0], &t), "1.2.3.4,tcp:80");
        let e = parse(SetType::HashIpPort, Family::V4, "1.2.3.4,udp:1-3", &t).unwrap();
        assert_eq!(e.len(), 3);
        let e = parse(SetType::HashNetPort, Family::V4, "10.0.0.0/24,icmp:3/1", &t).unwrap();
        assert_eq!(format(&e[0], &t), "10.0.0.0/24,icmp:host-unreachable");
        assert!(parse(SetType::HashNet, Family::V4, "10.0.0.0/33", &t).is_err());
        assert!(parse(SetType::HashNet, Family::V4, "10.0.0.0/0", &t).is_err());
        assert!(parse(SetType::HashIp, Family::V4, "0.0.0.0/0", &t).is_err());
    }
}
