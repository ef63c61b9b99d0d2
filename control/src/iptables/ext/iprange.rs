//! libxt_iprange: `--src-range a-b`, `--dst-range a-b`.

use super::{once, opt, parse_addr, Args};
use dataplane::ruleset::matches::iprange::{AddrRange, IprangeMatch};
use dataplane::ruleset::Inv;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--src-range", "--dst-range"];

fn parse_range(s: &str) -> Result<AddrRange, String> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (parse_addr(a)?, parse_addr(b)?),
        None => (parse_addr(s)?, parse_addr(s)?),
    };
    Ok(AddrRange { lo, hi })
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
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let r = Inv::new(inv, parse_range(&args.value(o)?)?);
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
        if self.src.is_none() && self.dst.is_none() {
            return Err("iprange match: You must specify `--src-range' or `--dst-range'".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        for (name, r) in [("--src-range", self.src), ("--dst-range", self.dst)] {
            if let Some(r) = r {
                opt(out, r.inv, name);
                let _ = write!(out, " {}-{}", r.val.lo, r.val.hi);
            }
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        for (name, r) in [
            (" source IP range", self.src),
            (" destination IP range", self.dst),
        ] {
            if let Some(r) = r {
                out.push_str(name);
                if r.inv {
                    out.push_str(" !");
                }
                let _ = write!(out, " {}-{}", r.val.lo, r.val.hi);
            }
        }
    }
}
