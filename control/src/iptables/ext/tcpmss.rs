//! libxt_tcpmss: `--mss a[:b]`; an open end is 0 or 65535 (`:42`, `42:`).

use super::{opt, parse_bounded, Args};
use dataplane::ruleset::matches::tcpmss::TcpmssMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--mss"];

impl super::MatchText for TcpmssMatch {
    fn new(_name: &str) -> Self {
        TcpmssMatch {
            inv: false,
            min: 0,
            max: 65535,
        }
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
        let v = args.value(o)?;
        let (min, max) = match v.split_once(':') {
            Some((a, b)) => (
                if a.is_empty() {
                    0
                } else {
                    parse_bounded(a, o, 0, 65535)?
                },
                if b.is_empty() {
                    65535
                } else {
                    parse_bounded(b, o, 0, 65535)?
                },
            ),
            None => {
                let n = parse_bounded(&v, o, 0, 65535)?;
                (n, n)
            }
        };
        if min > max {
            return Err(format!("tcpmss: invalid range `{v}'"));
        }
        *self = TcpmssMatch {
            inv,
            min: min as u16,
            max: max as u16,
        };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("tcpmss: option \"--mss\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        opt(out, self.inv, "--mss");
        if self.min == self.max {
            let _ = write!(out, " {}", self.min);
        } else {
            let _ = write!(out, " {}:{}", self.min, self.max);
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(out, " tcpmss match {}", if self.inv { "!" } else { "" });
        if self.min == self.max {
            let _ = write!(out, "{}", self.min);
        } else {
            let _ = write!(out, "{}:{}", self.min, self.max);
        }
    }
}
