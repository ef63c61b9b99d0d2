//! libxt_tcp: `--sport`, `--dport`, `--tcp-flags`, `--syn`, `--tcp-option`.

use super::{fmt_port_range, no_inv, once, opt, parse_port_range, val, Args};

pub fn no_alias_twice(set: bool, name: &str) -> Result<(), String> {
    if set {
        Err(format!("multiple {name} flags not allowed"))
    } else {
        Ok(())
    }
}
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

/// iptables-nft turns a negated range that starts at 0 into the complementary range
/// (`! --sport :1023` is saved as `--sport 1024:65535`); `! 0:65535` is dropped.
pub fn nft_port_range(inv: bool, r: PortRange) -> Option<Inv<PortRange>> {
    match (inv, r.lo, r.hi) {
        (true, 0, 65535) => None,
        (true, 0, hi) if hi > 0 => Some(Inv::plain(PortRange {
            lo: hi + 1,
            hi: 65535,
        })),
        _ => Some(Inv::new(inv, r)),
    }
}

/// A match whose only criteria vanished (`! --dport 0:65535`) disappears with them.
pub fn vanished(seen: &[&str], empty: bool) -> bool {
    empty && seen.iter().any(|o| o.ends_with("port"))
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

/// `-L` form of a port: the service name unless numeric.
pub fn list_port(out: &mut String, port: u16, proto: &str, numeric: bool) {
    match (numeric, crate::iptables::names::service_name(port, proto)) {
        (false, Some(name)) => out.push_str(name),
        _ => {
            let _ = std::fmt::Write::write_fmt(out, format_args!("{port}"));
        }
    }
}

/// libxt_tcp's `print_ports`: ` spt:22`, ` dpts:!1:1023`.
pub fn list_ports(
    out: &mut String,
    name: &str,
    r: &Option<Inv<PortRange>>,
    proto: &str,
    numeric: bool,
) {
    let Some(r) = r else { return };
    if !r.inv && r.val == PortRange::ANY {
        return;
    }
    let inv = if r.inv { "!" } else { "" };
    if r.val.lo == r.val.hi {
        out.push_str(&format!(" {name}:{inv}"));
        list_port(out, r.val.lo, proto, numeric);
    } else {
        out.push_str(&format!(" {name}s:{inv}"));
        list_port(out, r.val.lo, proto, numeric);
        out.push(':');
        list_port(out, r.val.hi, proto, numeric);
    }
}

impl super::MatchText for TcpMatch {
    fn new(_name: &str) -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let m = self;
        match o {
            "--source-port" | "--sport" => {
                no_alias_twice(m.sport.is_some(), "--sport")?;
                m.sport = nft_port_range(inv, parse_port_range(&args.value(o)?, "tcp")?);
            }
            "--destination-port" | "--dport" => {
                no_alias_twice(m.dport.is_some(), "--dport")?;
                m.dport = nft_port_range(inv, parse_port_range(&args.value(o)?, "tcp")?);
            }
            "--tcp-flags" => {
                once(&m.flags, "--tcp-flags")?;
                let mask = parse_flags(&args.value(o)?)?;
                let comp = parse_flags(
                    &args
                        .take_word()
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

    fn vanishes(&self, seen: &[&'static str]) -> bool {
        vanished(seen, *self == TcpMatch::default())
    }

    fn save(&self, out: &mut String) {
        save_ports(out, "--sport", &self.sport);
        save_ports(out, "--dport", &self.dport);
        if let Some(o) = self.option {
            opt(out, o.inv, "--tcp-option");
            val(out, o.val);
        }
        if let Some(f) = self.flags {
            opt(out, f.inv, "--tcp-flags");
            val(out, fmt_flags(f.val.mask));
            val(out, fmt_flags(f.val.comp));
        }
    }

    fn list(&self, numeric: bool, out: &mut String) {
        out.push_str(" tcp");
        list_ports(out, "spt", &self.sport, "tcp", numeric);
        list_ports(out, "dpt", &self.dport, "tcp", numeric);
        if let Some(o) = self.option {
            out.push_str(&format!(
                " option={}{}",
                if o.inv { "!" } else { "" },
                o.val
            ));
        }
        if let Some(f) = self.flags {
            out.push_str(" flags:");
            if f.inv {
                out.push('!');
            }
            if numeric {
                out.push_str(&format!("0x{:02X}/0x{:02X}", f.val.mask, f.val.comp));
            } else {
                out.push_str(&format!(
                    "{}/{}",
                    fmt_flags(f.val.mask),
                    fmt_flags(f.val.comp)
                ));
            }
        }
    }
}
