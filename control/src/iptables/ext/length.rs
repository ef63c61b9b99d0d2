//! libxt_length: `--length a[:b]`.

use super::{opt, Args};
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
        let (min, max) = super::parse_u16_range(&v, o, true)?;
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
        super::write_u16_range(out, " ", self.min, self.max);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(out, " length {}", if self.inv { "!" } else { "" });
        super::write_u16_range(out, "", self.min, self.max);
    }
}
