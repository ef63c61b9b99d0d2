//! libxt_NAT / MASQUERADE / REDIRECT: `--to-source`, `--to-destination`
//! (`[a[-b]][:p[-q][/base]]`), `--to-ports p[-q]`, `--random`, `--random-fully`,
//! `--persistent`. Ports may be service names (`ssh`, `ftp-data`), as iptables resolves
//! them with getservbyname.

use super::{fmt_addr6, parse_addr, Args};
use crate::iptables::names;
use dataplane::ruleset::targets::nat::{NatRange, NatTarget};
use dataplane::ruleset::{Family, PortRange};
use std::fmt::Write;
use std::net::Ipv6Addr;

pub const SNAT_OPTIONS: &[&str] = &["--to-source", "--random", "--random-fully", "--persistent"];
pub const DNAT_OPTIONS: &[&str] = &["--to-destination", "--random", "--persistent"];
pub const PORTS_OPTIONS: &[&str] = &["--to-ports", "--random", "--random-fully"];

/// One port: a number or a service name (any protocol, as libxt_NAT asks for none).
fn parse_port(s: &str) -> Result<u16, String> {
    if let Some(v) = super::parse_uint(s).and_then(|v| u16::try_from(v).ok()) {
        return Ok(v);
    }
    names::parse_port(s, None).ok_or_else(|| format!("Port `{s}' not valid"))
}

fn parse_ports(s: &str) -> Result<PortRange, String> {
    // A service name may contain '-' (`ftp-data`): the whole string is tried first.
    let (lo, hi) = match (parse_port(s).ok(), s.split_once('-')) {
        (Some(p), _) => (p, p),
        (None, Some((a, b))) => (parse_port(a)?, parse_port(b)?),
        (None, None) => return Err(format!("Port `{s}' not valid")),
    };
    if lo > hi {
        return Err(format!("Port range `{s}' is reversed"));
    }
    Ok(PortRange { lo, hi })
}

/// `p[-q][/base]` after `--to-source` / `--to-destination`'s colon: the base of a shifted
/// map needs a range (libxt_NAT refuses it after a single port).
fn parse_port_map(s: &str) -> Result<(PortRange, Option<u16>), String> {
    let Some((ports, base)) = s.split_once('/') else {
        return Ok((parse_ports(s)?, None));
    };
    let r = parse_ports(ports)?;
    if r.lo == r.hi {
        return Err(format!("Garbage after port value: `/{base}'"));
    }
    Ok((r, Some(parse_port(base)?)))
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
    let map = ports.map(parse_port_map).transpose()?;
    if addrs.is_none() && map.is_none() {
        return Err(format!("{o}: missing address or port"));
    }
    // libxt_SNAT keeps the shifted flag but not the base (iptables-save prints `/0`).
    let port_base = map
        .and_then(|(_, b)| b)
        .map(|b| if o == "--to-source" { 0 } else { b });
    Ok(NatRange {
        addrs,
        addrs6: None,
        ports: map.map(|(r, _)| r),
        port_base,
    })
}

/// ip6tables' `a[-b]` or `[a[-b]][:p[-q][/base]]` (libxt_NAT's parse_to for IPv6: ports
/// only after a bracketed range; numeric addresses only).
fn parse_range6(s: &str, o: &str) -> Result<NatRange, String> {
    let (addrs, ports) = match s.strip_prefix('[') {
        Some(rest) => {
            let (a, after) = rest
                .split_once(']')
                .ok_or_else(|| "Invalid address format".to_string())?;
            let ports = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| "Invalid address format".to_string())?,
                ),
            };
            (a, ports)
        }
        None if s.starts_with(':') => ("", Some(&s[1..])),
        None => (s, None),
    };
    let addr = |a: &str| {
        a.parse::<Ipv6Addr>()
            .map_err(|_| format!("Bad IP address \"{a}\""))
    };
    let addrs6 = if addrs.is_empty() {
        None
    } else {
        Some(match addrs.split_once('-') {
            Some((lo, hi)) => (addr(lo)?, addr(hi)?),
            None => {
                let a = addr(addrs)?;
                (a, a)
            }
        })
    };
    let map = ports.map(parse_port_map).transpose()?;
    // ip6tables reads the base as a port, and port 0 is none.
    if map.is_some_and(|(_, b)| b == Some(0)) {
        return Err("Port `0' not valid".into());
    }
    if addrs6.is_none() && map.is_none() {
        return Err(format!("{o}: missing address or port"));
    }
    let port_base = map
        .and_then(|(_, b)| b)
        .map(|b| if o == "--to-source" { 0 } else { b });
    Ok(NatRange {
        addrs: None,
        addrs6,
        ports: map.map(|(r, _)| r),
        port_base,
    })
}

pub fn parse(t: &mut NatTarget, o: &str, args: &mut Args) -> Result<(), String> {
    match o {
        "--random" => t.random = true,
        "--random-fully" => t.random_fully = true,
        "--persistent" => t.persistent = true,
        "--to-ports" => {
            let v = args.value(o)?;
            // MASQUERADE and REDIRECT have no shifted map (libxt_REDIRECT's words).
            if v.contains('/') {
                return Err("Shifted portmap ranges not supported with this kernel".into());
            }
            t.range = Some(NatRange {
                addrs: None,
                addrs6: None,
                ports: Some(parse_ports(&v)?),
                port_base: None,
            })
        }
        _ => {
            if t.range.is_some() {
                return Err(format!("Multiple {o} not supported"));
            }
            let v = args.value(o)?;
            t.range = Some(if t.v6 {
                parse_range6(&v, o)?
            } else {
                parse_range(&v, o)?
            });
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

/// `a[-b][:p[-q][/base]]`, or for IPv6 `[a[-b]]:p...` (brackets only with ports).
fn fmt_range(r: &NatRange, out: &mut String) {
    let v4 = r
        .addrs
        .map(|(lo, hi)| (lo.to_string(), hi.to_string(), lo == hi));
    let v6 = r
        .addrs6
        .map(|(lo, hi)| (fmt_addr6(&lo), fmt_addr6(&hi), lo == hi));
    let bracket = v6.is_some() && r.ports.is_some();
    if let Some((lo, hi, single)) = v4.or(v6) {
        if bracket {
            out.push('[');
        }
        out.push_str(&lo);
        if !single {
            let _ = write!(out, "-{hi}");
        }
        if bracket {
            out.push(']');
        }
    }
    if let Some(p) = &r.ports {
        let _ = write!(out, ":{}", fmt_ports(p));
    }
    if let Some(b) = r.port_base {
        let _ = write!(out, "/{b}");
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
            fmt_range(r, out);
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
        fmt_range(r, out);
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

/// The four NAT targets share libxt_NAT's functions; each has its own options, the
/// option iptables-save prints its range with, and its `-L` words.
macro_rules! nat_text {
    ($($ty:ident: $opts:expr, $save_opt:literal, |$t:ident, $out:ident| $list:expr, |$f:ident| $finish:expr;)*) => {
        $(
            impl super::TargetText for dataplane::ruleset::targets::nat::$ty {
                fn new() -> Self {
                    Default::default()
                }

                fn options(&self) -> &'static [&'static str] {
                    $opts
                }

                fn parse(
                    &mut self,
                    opt: &str,
                    inv: bool,
                    args: &mut Args,
                ) -> Result<(), String> {
                    super::no_inv(inv, opt)?;
                    parse(&mut self.0, opt, args)
                }

                fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
                    let $f = &mut self.0;
                    $finish
                }

                fn save(&self, out: &mut String) {
                    save(&self.0, $save_opt, out);
                }

                fn list(&self, _numeric: bool, out: &mut String) {
                    let ($t, $out) = (&self.0, out);
                    $list
                }

                fn for_family(&mut self, family: Family) {
                    self.0.v6 = family == Family::V6;
                }
            }
        )*
    };
}

nat_text! {
    DnatTarget: DNAT_OPTIONS, "--to-destination", |t, out| list_to(t, out), |n| finish("DNAT", n);
    SnatTarget: SNAT_OPTIONS, "--to-source", |t, out| list_to(t, out), |n| finish("SNAT", n);
    MasqueradeTarget: PORTS_OPTIONS, "--to-ports", |t, out| list_ports(t, "masq ports:", out), |_n| Ok(());
    RedirectTarget: PORTS_OPTIONS, "--to-ports", |t, out| list_ports(t, "redir ports", out), |_n| Ok(());
}
