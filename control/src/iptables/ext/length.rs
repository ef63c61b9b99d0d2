//! libxt_length: `--length a[:b]`.

use super::{opt, parse_bounded, Args};
use dataplane::ruleset::matches::length::LengthMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--length"];

impl super::MatchText for LengthMatch {
    fn new(_name: &str) -> Self {
        LengthMatch {
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
        let num = |s: &str, dflt: u64| {
            if s.is_empty() {
                Ok(dflt)
            } else {
                parse_bounded(s, o, 0, 65535)
            }
        };
        let (min, max) = match v.split_once(':') {
            Some((a, b)) => (num(a, 0)?, num(b, 65535)?),
            None => {
                let n = num(&v, 0)?;
                (n, n)
            }
        };
        if min > max {
            return Err(format!("length: invalid range `{v}' (min > max)"));
        }
        *self = LengthMatch {
            inv,
            min: min as u16,
            max: max as u16,
        };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("length: option \"--length\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        opt(out, self.inv, "--length");
        if self.min == self.max {
            let _ = write!(out, " {}", self.min);
        } else {
            let _ = write!(out, " {}:{}", self.min, self.max);
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(out, " length {}", if self.inv { "!" } else { "" });
        if self.min == self.max {
            let _ = write!(out, "{}", self.min);
        } else {
            let _ = write!(out, "{}:{}", self.min, self.max);
        }
    }
}
