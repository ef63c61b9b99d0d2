//! The printers of `iptables-save` and `iptables -S`: the canonical rule text.

use super::ext::{self, fmt_net, fmt_net6};
use super::names;
use dataplane::ruleset::{Chain, Inv, Ipv4Net, Ipv6Net, Rule, RuleSpec, Ruleset, Table};
use std::fmt::Write;

fn neg(out: &mut String, inv: bool) {
    if inv {
        out.push_str(" !");
    }
}

fn addr(out: &mut String, flag: &str, a: &Option<Inv<Ipv4Net>>) {
    if let Some(a) = a {
        neg(out, a.inv);
        let _ = write!(out, " {flag} {}", fmt_net(&a.val));
    }
}

fn addr6(out: &mut String, flag: &str, a: Option<&Inv<Ipv6Net>>) {
    if let Some(a) = a {
        neg(out, a.inv);
        let _ = write!(out, " {flag} {}", fmt_net6(&a.val));
    }
}

/// The rule's criteria and target as iptables prints them after `-A CHAIN`:
/// `-s -d -i -o -p -f`, the matches in order, then the target.
pub fn spec_to_string(spec: &RuleSpec) -> String {
    let mut out = spec_criteria(spec);
    ext::save_target(&spec.target, &mut out);
    out
}

/// `spec_to_string` without the target (`-S -v` puts the counters between the two).
fn spec_criteria(spec: &RuleSpec) -> String {
    let mut out = String::new();
    addr(&mut out, "-s", &spec.src);
    addr(&mut out, "-d", &spec.dst);
    addr6(&mut out, "-s", spec.src6());
    addr6(&mut out, "-d", spec.dst6());
    for (flag, iface) in [("-i", &spec.in_iface), ("-o", &spec.out_iface)] {
        if let Some(i) = iface {
            neg(&mut out, i.inv);
            let _ = write!(out, " {flag} {}", i.val.as_str());
        }
    }
    if let Some(p) = spec.proto {
        neg(&mut out, p.inv);
        let _ = write!(out, " -p {}", names::proto_name(p.val));
    }
    match spec.fragment {
        Some(true) => out.push_str(" -f"),
        Some(false) => out.push_str(" ! -f"),
        None => {}
    }
    for m in &spec.matches {
        ext::save_match(m, &mut out);
    }
    out
}

/// `-A CHAIN ...` (with a `[p:b] ` prefix when `counters`).
pub fn rule_to_string(chain: &str, rule: &Rule, counters: bool) -> String {
    let mut out = String::new();
    if counters {
        let _ = write!(out, "[{}:{}] ", rule.counters.packets, rule.counters.bytes);
    }
    let _ = write!(out, "-A {chain}{}", spec_to_string(&rule.spec));
    out
}

fn chain_line(c: &Chain, counters: bool) -> String {
    let (p, b) = if counters {
        (c.counters.packets, c.counters.bytes)
    } else {
        (0, 0)
    };
    let policy = c.policy.map_or("-", |p| p.name());
    format!(":{} {policy} [{p}:{b}]", c.name)
}

/// One table in iptables-save form (`*table` ... `COMMIT`), without the comment lines.
pub fn save_table(t: &Table, counters: bool, out: &mut String) {
    let _ = writeln!(out, "*{}", t.kind.name());
    for c in &t.chains {
        let _ = writeln!(out, "{}", chain_line(c, counters));
    }
    for c in &t.chains {
        for r in &c.rules {
            let _ = writeln!(out, "{}", rule_to_string(&c.name, r, counters));
        }
    }
    out.push_str("COMMIT\n");
}

/// Every table, in the order raw, mangle, nat, filter (security last when present).
pub fn save_ruleset(rs: &Ruleset, counters: bool) -> String {
    let mut out = String::new();
    for t in &rs.tables {
        save_table(t, counters, &mut out);
    }
    out
}

/// `iptables -S [chain]`: policies / chain creations, then the rules; `-v` adds
/// `-c packets bytes` to each.
pub fn list_rules(t: &Table, chain: Option<&str>, verbose: bool) -> Result<String, String> {
    let chains: Vec<&Chain> = match chain {
        Some(name) => vec![t
            .chain(name)
            .ok_or_else(|| "No chain/target/match by that name.".to_string())?],
        None => t.chains.iter().collect(),
    };
    let mut out = String::new();
    for c in &chains {
        match c.policy {
            Some(p) => {
                let _ = write!(out, "-P {} {}", c.name, p.name());
                if verbose {
                    let _ = write!(out, " -c {} {}", c.counters.packets, c.counters.bytes);
                }
                out.push('\n');
            }
            None => {
                let _ = writeln!(out, "-N {}", c.name);
            }
        }
    }
    for c in &chains {
        for r in &c.rules {
            list_rule(&c.name, r, verbose, &mut out);
        }
    }
    Ok(out)
}

/// One rule of `-S`: `-A CHAIN ...`, with `-v` its counters before the target (as
/// iptables prints them).
pub fn list_rule(chain: &str, r: &Rule, verbose: bool, out: &mut String) {
    if verbose {
        let _ = write!(
            out,
            "-A {chain}{} -c {} {}",
            spec_criteria(&r.spec),
            r.counters.packets,
            r.counters.bytes
        );
        ext::save_target(&r.spec.target, out);
    } else {
        let _ = write!(out, "-A {chain}{}", spec_to_string(&r.spec));
    }
    out.push('\n');
}
