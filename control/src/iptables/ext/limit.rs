//! libxt_limit: `--limit N[/second|/minute|/hour|/day]`, `--limit-burst N`.

use super::{no_inv, parse_bounded, Args};
use dataplane::ruleset::matches::limit::{LimitMatch, DEFAULT_BURST, LIMIT_SCALE, RATE_UNITS};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--limit", "--limit-burst"];

/// Seconds per unit; the unit may be any prefix of its name, as iptables accepts.
pub fn unit_seconds(unit: &str) -> Option<u64> {
    let u = unit.to_ascii_lowercase();
    if u.is_empty() {
        return None;
    }
    [
        ("second", 1),
        ("minute", 60),
        ("hour", 3600),
        ("day", 86400),
    ]
    .iter()
    .find(|(name, _)| name.starts_with(&u))
    .map(|(_, s)| *s)
}

/// `N/unit` to a period in `scale` units per packet.
pub fn parse_rate(s: &str, scale: u64) -> Result<u64, String> {
    let (n, secs) = match s.split_once('/') {
        Some((n, unit)) => (
            n,
            unit_seconds(unit).ok_or_else(|| format!("bad rate `{s}'"))?,
        ),
        None => (s, 1),
    };
    let r: u64 = n
        .parse()
        .ok()
        .filter(|r| *r > 0)
        .ok_or_else(|| format!("bad rate `{s}'"))?;
    let period = scale * secs / r;
    if period == 0 {
        return Err(format!("Rate too fast \"{s}\""));
    }
    Ok(period)
}

/// iptables' `print_rate`: the largest unit that still shows the rate as a whole number.
pub fn fmt_rate(period: u64, units: &[(&str, u64)]) -> String {
    if period == 0 {
        return "inf".into();
    }
    let mut i = 1;
    while i < units.len() {
        let mult = units[i].1;
        if period > mult || mult / period < mult % period {
            break;
        }
        i += 1;
    }
    format!("{}/{}", units[i - 1].1 / period, units[i - 1].0)
}

pub fn limit_units() -> [(&'static str, u64); 4] {
    RATE_UNITS.map(|(n, m)| (n, u64::from(m)))
}

pub fn parse(m: &mut LimitMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    no_inv(inv, o)?;
    let v = args.value(o)?;
    match o {
        "--limit" => {
            let p = parse_rate(&v, u64::from(LIMIT_SCALE))?;
            m.avg = u32::try_from(p).map_err(|_| format!("bad rate `{v}'"))?;
        }
        _ => m.burst = parse_bounded(&v, o, 0, 10000)? as u32,
    }
    Ok(())
}

impl super::MatchText for LimitMatch {
    fn new(_name: &str) -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        parse(self, opt, inv, args)
    }

    fn save(&self, out: &mut String) {
        let _ = write!(
            out,
            " --limit {}",
            fmt_rate(u64::from(self.avg), &limit_units())
        );
        if self.burst != DEFAULT_BURST {
            let _ = write!(out, " --limit-burst {}", self.burst);
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(
            out,
            " limit: avg {} burst {}",
            fmt_rate(u64::from(self.avg), &limit_units()),
            self.burst
        );
    }
}
