//! libxt_tcpmss: `--mss a[:b]`; an open end is 0 or 65535 (`:42`, `42:`).

use super::{opt, Args};
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
        let (min, max) = super::parse_u16_range(&v, o, false)?;
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
        super::write_u16_range(out, " ", self.min, self.max);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(out, " tcpmss match {}", if self.inv { "!" } else { "" });
        super::write_u16_range(out, "", self.min, self.max);
    }
}
