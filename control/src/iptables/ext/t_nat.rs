//! libxt_NAT / MASQUERADE / REDIRECT: `--to-source`, `--to-destination`
//! (`[a[-b]][:p[-q]]`), `--to-ports p[-q]`, `--random`, `--random-fully`, `--persistent`.

use super::{parse_addr, parse_bounded, Args};
use dataplane::ruleset::targets::nat::{NatRange, NatTarget};
use dataplane::ruleset::PortRange;
use std::fmt::Write;

pub const SNAT_OPTIONS: &[&str] = &["--to-source", "--random", "--random-fully", "--persistent"];
pub const DNAT_OPTIONS: &[&str] = &["--to-destination", "--random", "--persistent"];
pub const PORTS_OPTIONS: &[&str] = &["--to-ports", "--random", "--random-fully"];

fn parse_ports(s: &str, o: &str) -> Result<PortRange, String> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (
            parse_bounded(a, o, 0, 65535)?,
            parse_bounded(b, o, 0, 65535)?,
        ),
        None => {
            let p = parse_bounded(s, o, 0, 65535)?;
            (p, p)
        }
    };
    if lo > hi {
        return Err(format!("Port range `{s}' is reversed"));
    }
    Ok(PortRange {
        lo: lo as u16,
        hi: hi as u16,
    })
}

/// `[a[-b]][:p[-q]]`.
fn parse_range(s: &str, o: &str) -> Result<NatRange, String> {
    let (addrs, ports) = match s.split_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addrs = if addrs.is_empty() {
        None
    } else {
        Some(match addrs.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (parse_addr(lo)?, parse_addr(hi)?);
                if lo > hi {
                    return Err(format!("Bad IP address range \"{addrs}\""));
                }
                (lo, hi)
            }
            None => {
                let a = parse_addr(addrs)?;
                (a, a)
            }
        })
    };
    let ports = ports.map(|p| parse_ports(p, o)).transpose()?;
    if addrs.is_none() && ports.is_none() {
        return Err(format!("{o}: missing address or port"));
    }
    Ok(NatRange { addrs, ports })
}

pub fn parse(t: &mut NatTarget, o: &str, args: &mut Args) -> Result<(), String> {
    match o {
        "--random" => t.random = true,
        "--random-fully" => t.random_fully = true,
        "--persistent" => t.persistent = true,
        "--to-ports" => {
            t.range = Some(NatRange {
                addrs: None,
                ports: Some(parse_ports(&args.value(o)?, o)?),
            })
        }
        _ => {
            if t.range.is_some() {
                return Err(format!("Multiple {o} not supported"));
            }
            t.range = Some(parse_range(&args.value(o)?, o)?);
        }
    }
    Ok(())
}

pub fn finish(name: &str, t: &mut NatTarget) -> Result<(), String> {
    if t.range.is_none() {
        let opt = if name == "SNAT" {
            "--to-source"
        } else {
            "--to-destination"
        };
        return Err(format!("{name}: option \"{opt}\" must be specified"));
    }
    Ok(())
}

fn fmt_ports(p: &PortRange) -> String {
    if p.lo == p.hi {
        p.lo.to_string()
    } else {
        format!("{}-{}", p.lo, p.hi)
    }
}

pub fn save(t: &NatTarget, opt: &str, out: &mut String) {
    if let Some(r) = &t.range {
        let _ = write!(out, " {opt} ");
        if opt == "--to-ports" {
            if let Some(p) = &r.ports {
                out.push_str(&fmt_ports(p));
            }
        } else {
            if let Some((lo, hi)) = r.addrs {
                let _ = write!(out, "{lo}");
                if hi != lo {
                    let _ = write!(out, "-{hi}");
                }
            }
            if let Some(p) = &r.ports {
                let _ = write!(out, ":{}", fmt_ports(p));
            }
        }
    }
    if t.random {
        out.push_str(" --random");
    }
    if t.random_fully {
        out.push_str(" --random-fully");
    }
    if t.persistent {
        out.push_str(" --persistent");
    }
}

fn list_flags(t: &NatTarget, out: &mut String) {
    if t.random {
        out.push_str(" random");
    }
    if t.random_fully {
        out.push_str(" random-fully");
    }
    if t.persistent {
        out.push_str(" persistent");
    }
}

/// SNAT/DNAT: ` to:ADDR[-ADDR][:PORT[-PORT]]` then the flags.
pub fn list_to(t: &NatTarget, out: &mut String) {
    if let Some(r) = &t.range {
        out.push_str(" to:");
        if let Some((lo, hi)) = r.addrs {
            let _ = write!(out, "{lo}");
            if hi != lo {
                let _ = write!(out, "-{hi}");
            }
        }
        if let Some(p) = &r.ports {
            let _ = write!(out, ":{}", fmt_ports(p));
        }
    }
    list_flags(t, out);
}

/// MASQUERADE (` masq ports: P-Q`) and REDIRECT (` redir ports P-Q`).
pub fn list_ports(t: &NatTarget, label: &str, out: &mut String) {
    if let Some(p) = t.range.and_then(|r| r.ports) {
        let _ = write!(out, " {label} {}", fmt_ports(&p));
    }
    list_flags(t, out);
}
