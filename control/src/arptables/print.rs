//! arptables' output: `arptables-save`, `-S` and `-L` as arptables 1.8.9 (nf_tables)
//! prints them (tests/golden/arptables).

use super::parse::{ListFlags, OPCODES};
use dataplane::arptables::{
    ArpChain, ArpMatch, ArpRule, ArpTable, ArpTarget, MacMatch, MangleVerdict,
};
use dataplane::port::MacAddr;
use dataplane::ruleset::Ipv4Net;
use std::fmt::Write;

fn mac(m: MacAddr) -> String {
    crate::iptables::ext::mac::fmt_mac(&m.0)
}

fn bang(inv: bool) -> &'static str {
    if inv {
        "! "
    } else {
        ""
    }
}

fn net(n: &Ipv4Net) -> String {
    match n.prefix_len() {
        Some(32) => n.addr.to_string(),
        Some(len) => format!("{}/{len}", n.addr),
        None => format!("{}/{}", n.addr, std::net::Ipv4Addr::from(n.mask)),
    }
}

fn mac_match(m: &MacMatch) -> String {
    if m.mask == MacAddr::BROADCAST {
        mac(m.addr)
    } else {
        format!("{}/{}", mac(m.addr), mac(m.mask))
    }
}

/// How a rule is written: for save and `-S` (`list: None`), or for `-L`.
fn rule_body(r: &ArpRule, list: Option<ListFlags>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(t) = &r.target {
        parts.push(format!("-j {}", t.name()));
    }
    let s: &ArpMatch = &r.spec;
    let verbose = list.is_some_and(|l| l.verbose);
    let any = if list.is_some_and(|l| l.numeric) {
        "*"
    } else {
        "any"
    };
    for (flag, m) in [("-i", &s.in_iface), ("-o", &s.out_iface)] {
        match m {
            Some((i, inv)) => parts.push(format!("{}{flag} {}", bang(*inv), i.as_str())),
            None if verbose => parts.push(format!("{flag} {any}")),
            None => {}
        }
    }
    if let Some((n, inv)) = &s.src_ip {
        parts.push(format!("{}-s {}", bang(*inv), net(n)));
    }
    if let Some(m) = &s.src_mac {
        parts.push(format!("{}--src-mac {}", bang(m.inv), mac_match(m)));
    }
    if let Some((n, inv)) = &s.dst_ip {
        parts.push(format!("{}-d {}", bang(*inv), net(n)));
    }
    if let Some(m) = &s.dst_mac {
        parts.push(format!("{}--dst-mac {}", bang(m.inv), mac_match(m)));
    }
    let names = list.is_some_and(|l| !l.numeric);
    if let Some(o) = s.opcode {
        let v = match OPCODES.get(usize::from(o.value).wrapping_sub(1)) {
            Some(n) if names => n.to_string(),
            _ => o.value.to_string(),
        };
        parts.push(format!("{}--opcode {v}", bang(o.inv)));
    }
    if let Some(h) = s.htype {
        parts.push(format!("{}--h-type {}", bang(h.inv), h.value));
    }
    if let Some(p) = s.ptype {
        let v = if names && p.value == 0x800 {
            "IPv4".to_string()
        } else {
            format!("{:#x}", p.value)
        };
        parts.push(format!("{}--proto-type {v}", bang(p.inv)));
    }
    match &r.target {
        Some(ArpTarget::Mangle(m)) => {
            if let Some(a) = m.src_ip {
                parts.push(format!("--mangle-ip-s {a}"));
            }
            if let Some(a) = m.src_mac {
                parts.push(format!("--mangle-mac-s {}", mac(a)));
            }
            if let Some(a) = m.dst_ip {
                parts.push(format!("--mangle-ip-d {a}"));
            }
            if let Some(a) = m.dst_mac {
                parts.push(format!("--mangle-mac-d {}", mac(a)));
            }
            match m.verdict {
                MangleVerdict::Accept => {}
                MangleVerdict::Drop => parts.push("--mangle-target DROP".into()),
                MangleVerdict::Continue => parts.push("--mangle-target CONTINUE".into()),
            }
        }
        Some(ArpTarget::Classify { major, minor }) => {
            parts.push(format!("--set-class {major:x}:{minor:x}"))
        }
        _ => {}
    }
    parts.join(" ")
}

fn policy(p: bool) -> &'static str {
    if p {
        "ACCEPT"
    } else {
        "DROP"
    }
}

/// A rule as save and `-S` print it: `-A CHAIN ...`.
pub fn rule_line(chain: &str, r: &ArpRule) -> String {
    let body = rule_body(r, None);
    if body.is_empty() {
        format!("-A {chain}")
    } else {
        format!("-A {chain} {body}")
    }
}

/// `arptables-save [-c]` without its comment lines (the caller adds them): no COMMIT,
/// as arptables-save writes none.
pub fn save_body(t: &ArpTable, counters: bool) -> String {
    let mut out = String::from("*filter\n");
    for c in &t.chains {
        let _ = writeln!(out, ":{} {}", c.name, c.policy.map_or("-", policy));
    }
    for c in &t.chains {
        for r in &c.rules {
            if counters {
                let _ = write!(out, "[{}:{}] ", r.packets, r.bytes);
            }
            out.push_str(&rule_line(&c.name, r));
            out.push('\n');
        }
    }
    out
}

/// `arptables -S [CHAIN]`.
pub fn list_rules(chains: &[&ArpChain]) -> String {
    let mut out = String::new();
    for c in chains {
        match c.policy {
            Some(p) => {
                let _ = writeln!(out, "-P {} {}", c.name, policy(p));
            }
            None => {
                let _ = writeln!(out, "-N {}", c.name);
            }
        }
    }
    for c in chains {
        for r in &c.rules {
            out.push_str(&rule_line(&c.name, r));
            out.push('\n');
        }
    }
    out
}

/// `arptables -L [CHAIN]`: chains separated by a blank line. Counters are the rules' own
/// (the caller adds the workers' counts to the table it passes).
pub fn list(t: &ArpTable, chains: &[&ArpChain], flags: ListFlags) -> String {
    let mut out = String::new();
    for (k, c) in chains.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        match c.policy {
            Some(p) if flags.verbose => {
                // arptables-nft shows no policy counts: nf_tables base chains keep none.
                let _ = writeln!(
                    out,
                    "Chain {} (policy {} 0 packets, 0 bytes)",
                    c.name,
                    policy(p)
                );
            }
            Some(p) => {
                let _ = writeln!(out, "Chain {} (policy {})", c.name, policy(p));
            }
            None => {
                let _ = writeln!(
                    out,
                    "Chain {} ({} references)",
                    c.name,
                    t.references(&c.name)
                );
            }
        }
        for (n, r) in c.rules.iter().enumerate() {
            if flags.line_numbers {
                let _ = write!(out, "{} ", n + 1);
            }
            out.push_str(&rule_body(r, Some(flags)));
            if flags.verbose {
                let _ = write!(out, " , pcnt={} -- bcnt={} ", r.packets, r.bytes);
            }
            out.push('\n');
        }
    }
    out
}
