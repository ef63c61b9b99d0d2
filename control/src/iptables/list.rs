//! `iptables -L [-n] [-v] [-x] [--line-numbers]`: the tabular listing, column for column
//! what iptables 1.8.9 prints (xshared's `print_header` / `print_firewall`).
//!
//! Without `-n` iptables would resolve addresses to host names; the appliance has no
//! resolver to ask, so addresses always print numerically (with `anywhere` for 0/0 as
//! iptables does), while protocols, ports and ICMP types get their names.

use super::command::ListOptions;
use super::ext;
use super::names;
use dataplane::ruleset::{Chain, Family, Inv, Ipv4Net, Ipv6Net, Rule, Table, Target};
use std::fmt::Write;
use std::net::Ipv4Addr;

/// `xtables_print_num`: exact with `-x`, else K/M/G/T after 99999.
fn num(out: &mut String, n: u64, exact: bool, table: bool) {
    if exact {
        let _ = if table {
            write!(out, "{n:8} ")
        } else {
            write!(out, "{n} ")
        };
        return;
    }
    if n <= 99_999 {
        let _ = if table {
            write!(out, "{n:5} ")
        } else {
            write!(out, "{n} ")
        };
        return;
    }
    let mut v = n;
    for unit in ["K", "M", "G"] {
        v = (v + 500) / 1000;
        if v <= 9999 {
            let _ = if table {
                write!(out, "{v:4}{unit} ")
            } else {
                write!(out, "{v}{unit} ")
            };
            return;
        }
    }
    v = (v + 500) / 1000;
    let _ = if table {
        write!(out, "{v:4}T ")
    } else {
        write!(out, "{v}T ")
    };
}

fn header(out: &mut String, c: &Chain, refs: usize, o: ListOptions) {
    let _ = write!(out, "Chain {}", c.name);
    match c.policy {
        Some(p) => {
            let _ = write!(out, " (policy {}", p.name());
            if o.verbose {
                out.push(' ');
                num(out, c.counters.packets, o.exact, false);
                out.push_str("packets, ");
                num(out, c.counters.bytes, o.exact, false);
                out.push_str("bytes");
            }
            out.push_str(")\n");
        }
        None => {
            let _ = writeln!(out, " ({refs} references)");
        }
    }
    if o.line_numbers {
        out.push_str("num  ");
    }
    if o.verbose {
        if o.exact {
            let _ = write!(out, "{:>8} {:>10} ", "pkts", "bytes");
        } else {
            let _ = write!(out, "{:>5} {:>5} ", "pkts", "bytes");
        }
    }
    let _ = write!(out, "{:<9}  prot opt", "target");
    if o.verbose {
        let _ = write!(out, " {:<6} {:<6} ", "in", "out");
    }
    let _ = writeln!(out, " {:<19}  {:<19} ", "source", "destination");
}

fn address(out: &mut String, a: &Option<Inv<Ipv4Net>>, numeric: bool) {
    let (inv, net) = match a {
        Some(a) => (a.inv, a.val),
        None => (false, Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0)),
    };
    out.push(if inv { '!' } else { ' ' });
    let text = if net.mask == 0 && !numeric {
        "anywhere".to_string()
    } else {
        ext::fmt_net_bare_host(&net)
    };
    let _ = write!(out, "{text:<19} ");
}

/// ip6tables' column: `::/0` (or `anywhere`), a host bare, a network `addr/len`.
fn address6(out: &mut String, a: Option<&Inv<Ipv6Net>>, numeric: bool) {
    let (inv, net) = a.map_or((false, Ipv6Net::new(0.into(), 0)), |a| (a.inv, a.val));
    out.push(if inv { '!' } else { ' ' });
    // ip6tables says `anywhere` for the unspecified address, whatever its mask.
    let text = if net.addr.is_unspecified() && !numeric {
        "anywhere".to_string()
    } else if net.mask == u128::MAX {
        ext::fmt_addr6(&net.addr)
    } else {
        ext::fmt_net6(&net)
    };
    let _ = write!(out, "{text:<19} ");
}

fn rule_line(out: &mut String, num_: usize, r: &Rule, o: ListOptions, family: Family) {
    let s = &r.spec;
    if o.line_numbers {
        let _ = write!(out, "{num_:<4} ");
    }
    if o.verbose {
        num(out, r.counters.packets, o.exact, true);
        num(out, r.counters.bytes, o.exact, true);
    }
    let target = match &s.target {
        Target::None => "",
        t => ext::list_target_name(t),
    };
    let _ = write!(out, "{target:<9} ");
    let (pinv, proto) = s.proto.map_or((false, 0), |p| (p.inv, p.val));
    out.push(if pinv { '!' } else { ' ' });
    let pname = if o.numeric {
        proto.to_string()
    } else if proto == 0 {
        "all".to_string()
    } else {
        names::proto_name(proto)
    };
    let _ = write!(out, "{pname:<4} ");
    out.push(if s.fragment == Some(false) { '!' } else { '-' });
    out.push(if s.fragment.is_some() { 'f' } else { '-' });
    out.push(' ');
    if o.verbose {
        let any = if o.numeric { "*" } else { "any" };
        let iface = |i: &Option<Inv<dataplane::ruleset::Iface>>| match i {
            Some(i) => format!("{}{}", if i.inv { "!" } else { "" }, i.val.as_str()),
            None => any.to_string(),
        };
        let _ = write!(
            out,
            " {:<6} {:<6} ",
            iface(&s.in_iface),
            iface(&s.out_iface)
        );
    }
    match family {
        Family::V4 => {
            address(out, &s.src, o.numeric);
            address(out, &s.dst, o.numeric);
        }
        Family::V6 => {
            address6(out, s.src6(), o.numeric);
            address6(out, s.dst6(), o.numeric);
        }
    }
    if matches!(s.target, Target::Goto(_)) {
        out.push_str("[goto] ");
    }
    for m in &s.matches {
        match m {
            // libxt_multiport names ports as services of the rule's protocol.
            dataplane::ruleset::Match::Multiport(mp) => {
                let proto = s.exact_proto().map_or("tcp".into(), names::proto_name);
                ext::multiport::list_for_proto(mp, &proto, o.numeric, out);
            }
            m => ext::list_match(m, o.numeric, out),
        }
    }
    ext::list_target(&s.target, o.numeric, out);
    out.push('\n');
}

/// `-L CHAIN RULENUM`: that rule's line alone (nothing when there is no such rule, as
/// iptables 1.8.9 prints).
pub fn list_one(
    t: &Table,
    chain: &str,
    num_: usize,
    o: ListOptions,
    family: Family,
) -> Result<String, String> {
    let c = t
        .chain(chain)
        .ok_or_else(|| "No chain/target/match by that name.".to_string())?;
    let mut out = String::new();
    if let Some(r) = c.rules.get(num_ - 1) {
        rule_line(&mut out, num_, r, o, family);
    }
    Ok(out)
}

/// The listing of one table (or one chain of it).
pub fn list_table(t: &Table, chain: Option<&str>, o: ListOptions) -> Result<String, String> {
    list_table_in(t, chain, o, Family::V4)
}

/// `list_table` of an iptables or an ip6tables table (`family`).
pub fn list_table_in(
    t: &Table,
    chain: Option<&str>,
    o: ListOptions,
    family: Family,
) -> Result<String, String> {
    let chains: Vec<&Chain> = match chain {
        Some(name) => vec![t
            .chain(name)
            .ok_or_else(|| "No chain/target/match by that name.".to_string())?],
        None => t.chains.iter().collect(),
    };
    let mut out = String::new();
    for (i, c) in chains.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        header(&mut out, c, t.references(&c.name), o);
        for (n, r) in c.rules.iter().enumerate() {
            rule_line(&mut out, n + 1, r, o, family);
        }
    }
    Ok(out)
}

/// Counter formatting is easy to get subtly wrong; pin it to what iptables printed.
#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u64, exact: bool, table: bool) -> String {
        let mut s = String::new();
        num(&mut s, v, exact, table);
        s
    }

    #[test]
    fn counters_like_xtables_print_num() {
        // Seen from iptables 1.8.9 after `iptables-restore --counters` of these values.
        assert_eq!(n(5, false, true), "    5 ");
        assert_eq!(n(99_999, false, true), "99999 ");
        assert_eq!(n(100_000, false, true), " 100K ");
        assert_eq!(n(123_456_789_012, false, true), " 123G ");
        assert_eq!(n(123_456_789, false, false), "123M ");
        assert_eq!(n(98_765_432_100, false, false), "99G ");
        assert_eq!(n(123_456_789_012, true, true), "123456789012 ");
        assert_eq!(n(600, true, true), "     600 ");
    }
}
