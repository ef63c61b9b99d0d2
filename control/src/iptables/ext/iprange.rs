//! libxt_iprange: `--src-range a-b`, `--dst-range a-b` (IPv6 ranges in ip6tables).

use super::{fmt_addr6, once, opt, parse_addr, Args};
use dataplane::ruleset::matches::iprange::{AddrRange, AddrRange6, IprangeMatch};
use dataplane::ruleset::{Family, Inv};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--src-range", "--dst-range"];

fn parse_range(s: &str) -> Result<AddrRange, String> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (parse_addr(a)?, parse_addr(b)?),
        None => (parse_addr(s)?, parse_addr(s)?),
    };
    Ok(AddrRange { lo, hi })
}

/// ip6tables' range: numeric addresses only (libxt_iprange's
/// `xtables_numeric_to_ip6addr`); a bare address is a range of one.
fn parse_range6(s: &str, o: &str) -> Result<AddrRange6, String> {
    let addr = |a: &str| {
        a.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("iprange: Bad value for \"{o}\" option: \"{a}\""))
    };
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (addr(a)?, addr(b)?),
        None => (addr(s)?, addr(s)?),
    };
    Ok(AddrRange6 { lo, hi })
}

/// `lo-hi` of either family's range.
fn fmt_ranges(m: &IprangeMatch) -> [Option<(bool, String)>; 2] {
    let v4 = |r: Option<Inv<AddrRange>>| r.map(|r| (r.inv, format!("{}-{}", r.val.lo, r.val.hi)));
    let v6 = |r: Option<Inv<AddrRange6>>| {
        r.map(|r| {
            (
                r.inv,
                format!("{}-{}", fmt_addr6(&r.val.lo), fmt_addr6(&r.val.hi)),
            )
        })
    };
    [v4(m.src).or(v6(m.src6)), v4(m.dst).or(v6(m.dst6))]
}

impl super::MatchText for IprangeMatch {
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
        ctx: &super::Ctx,
    ) -> Result<(), String> {
        let v = args.value(o)?;
        if ctx.family == Family::V6 {
            let r = Inv::new(inv, parse_range6(&v, o)?);
            let slot = if o == "--src-range" {
                &mut self.src6
            } else {
                &mut self.dst6
            };
            once(slot, o)?;
            *slot = Some(r);
            return Ok(());
        }
        let r = Inv::new(inv, parse_range(&v)?);
        if o == "--src-range" {
            once(&self.src, o)?;
            self.src = Some(r);
        } else {
            once(&self.dst, o)?;
            self.dst = Some(r);
        }
        Ok(())
    }

    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        if fmt_ranges(self).iter().all(Option::is_none) {
            return Err("iprange match: You must specify `--src-range' or `--dst-range'".into());
        }
        Ok(())
    }

    /// libxtables' guided parser (both families).
    fn repeated(opt: &str) -> String {
        format!("iprange: option \"{opt}\" can only be used once.\n")
    }

    fn save(&self, out: &mut String) {
        let [src, dst] = fmt_ranges(self);
        for (name, r) in [("--src-range", src), ("--dst-range", dst)] {
            if let Some((inv, text)) = r {
                opt(out, inv, name);
                let _ = write!(out, " {text}");
            }
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let [src, dst] = fmt_ranges(self);
        for (name, r) in [(" source IP range", src), (" destination IP range", dst)] {
            if let Some((inv, text)) = r {
                out.push_str(name);
                if inv {
                    out.push_str(" !");
                }
                let _ = write!(out, " {text}");
            }
        }
    }
}
