//! libxt_quota: `[!] --quota BYTES` (0 to 2^64 - 1), listed as `quota: N bytes`.

use super::Args;
use dataplane::ruleset::matches::quota::QuotaMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--quota"];

pub fn new() -> QuotaMatch {
    QuotaMatch {
        inv: false,
        quota: 0,
    }
}

pub fn parse(m: &mut QuotaMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    let quota = v.parse::<u64>().map_err(|_| {
        format!(
            "quota: bad value for option \"--quota\", or out of range (0-{}).",
            u64::MAX
        )
    })?;
    *m = QuotaMatch { inv, quota };
    Ok(())
}

pub fn finish(seen: &[&str]) -> Result<(), String> {
    if seen.is_empty() {
        return Err("quota: option \"--quota\" must be specified".into());
    }
    Ok(())
}

pub fn save(m: &QuotaMatch, out: &mut String) {
    if m.inv {
        out.push_str(" !");
    }
    let _ = write!(out, " --quota {}", m.quota);
}

pub fn list(m: &QuotaMatch, out: &mut String) {
    let _ = write!(out, " quota: {} bytes", m.quota);
}

impl super::MatchText for dataplane::ruleset::matches::quota::QuotaMatch {
    fn new(_name: &str) -> Self {
        new()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut super::Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        parse(self, opt, inv, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        finish(seen)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }
}
