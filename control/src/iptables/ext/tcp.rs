//! libxt_tcp: `--sport`, `--dport`, `--tcp-flags`, `--syn`, `--tcp-option`.

use super::{fmt_port_range, no_inv, once, opt, parse_port_range, val, Args};
use dataplane::ruleset::matches::tcp::{flags, TcpFlags, TcpMatch};
use dataplane::ruleset::{Inv, PortRange};

pub const OPTIONS: &[&str] = &[
    "--source-port",
    "--sport",
    "--destination-port",
    "--dport",
    "--tcp-flags",
    "--syn",
    "--tcp-option",
];

fn parse_flags(s: &str) -> Result<u8, String> {
    let mut f = 0u8;
    for name in s.split(',') {
        f |= match name.to_ascii_uppercase().as_str() {
            "ALL" => flags::ALL,
            "NONE" => 0,
            n => flags::NAMES
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("Unknown TCP flag `{name}'"))?,
        };
    }
    Ok(f)
}

pub fn fmt_flags(f: u8) -> String {
    if f == 0 {
        return "NONE".into();
    }
    flags::NAMES
        .iter()
        .filter(|(_, v)| f & v != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn parse(m: &mut TcpMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    match o {
        "--source-port" | "--sport" => {
            once(&m.sport, "--sport")?;
            m.sport = Some(Inv::new(inv, parse_port_range(&args.value(o)?, "tcp")?));
        }
        "--destination-port" | "--dport" => {
            once(&m.dport, "--dport")?;
            m.dport = Some(Inv::new(inv, parse_port_range(&args.value(o)?, "tcp")?));
        }
        "--tcp-flags" => {
            once(&m.flags, "--tcp-flags")?;
            let mask = parse_flags(&args.value(o)?)?;
            let comp = parse_flags(
                &args
                    .next()
                    .ok_or("--tcp-flags requires two args.".to_string())?,
            )?;
            m.flags = Some(Inv::new(inv, TcpFlags { mask, comp }));
        }
        "--syn" => {
            if m.flags.is_some() {
                return Err("multiple --tcp-flags flags not allowed".into());
            }
            m.flags = Some(Inv::new(inv, TcpFlags::SYN));
        }
        "--tcp-option" => {
            once(&m.option, "--tcp-option")?;
            let v = args.value(o)?;
            let n = super::parse_bounded(&v, o, 1, 255)? as u8;
            m.option = Some(Inv::new(inv, n));
        }
        _ => no_inv(true, o)?,
    }
    Ok(())
}

/// Shared with udp: a port criterion that is not the full range prints.
pub fn save_ports(out: &mut String, name: &str, r: &Option<Inv<PortRange>>) {
    if let Some(p) = r {
        if p.inv || p.val != PortRange::ANY {
            opt(out, p.inv, name);
            val(out, fmt_port_range(&p.val));
        }
    }
}

pub fn save(m: &TcpMatch, out: &mut String) {
    save_ports(out, "--sport", &m.sport);
    save_ports(out, "--dport", &m.dport);
    if let Some(o) = m.option {
        opt(out, o.inv, "--tcp-option");
        val(out, o.val);
    }
    if let Some(f) = m.flags {
        opt(out, f.inv, "--tcp-flags");
        val(out, fmt_flags(f.val.mask));
        val(out, fmt_flags(f.val.comp));
    }
}
