//! libxt_quota: `[!] --quota BYTES` (0 to 2^64 - 1), listed as `quota: N bytes`.

use super::Args;
use dataplane::ruleset::matches::quota::QuotaMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--quota"];

impl super::MatchText for QuotaMatch {
    fn new(_name: &str) -> Self {
        QuotaMatch {
            inv: false,
            quota: 0,
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
        let quota = v.parse::<u64>().map_err(|_| {
            format!(
                "quota: bad value for option \"--quota\", or out of range (0-{}).",
                u64::MAX
            )
        })?;
        *self = QuotaMatch { inv, quota };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("quota: option \"--quota\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        let _ = write!(out, " --quota {}", self.quota);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(out, " quota: {} bytes", self.quota);
    }
}
