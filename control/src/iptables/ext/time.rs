//! libxt_time: `--timestart`, `--timestop`, `--weekdays`, `--monthdays`, `--datestart`,
//! `--datestop`, `--kerneltz`, `--contiguous` (times in UTC unless --kerneltz).

use super::{no_inv, Args};
use dataplane::ruleset::matches::time::{
    TimeMatch, ALL_MONTHDAYS, ALL_WEEKDAYS, DATE_MAX, DAYTIME_MAX,
};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--datestart",
    "--datestop",
    "--timestart",
    "--timestop",
    "--weekdays",
    "--monthdays",
    "--localtz",
    "--utc",
    "--kerneltz",
    "--contiguous",
];

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `hh:mm[:ss]` to seconds since midnight.
fn parse_daytime(s: &str) -> Result<u32, String> {
    let bad = || format!("invalid time \"{s}\" specified, should be hh:mm[:ss] format");
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let mut v = [0u32; 3];
    for (i, p) in parts.iter().enumerate() {
        v[i] = p.parse().map_err(|_| bad())?;
    }
    if v[0] > 23 || v[1] > 59 || v[2] > 59 {
        return Err(bad());
    }
    Ok(v[0] * 3600 + v[1] * 60 + v[2])
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY[-MM[-DD[Thh[:mm[:ss]]]]]` (UTC) to seconds since the epoch.
fn parse_date(s: &str) -> Result<u32, String> {
    let bad = || {
        format!("invalid date \"{s}\" specified, should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]] format")
    };
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let dp: Vec<&str> = date.split('-').collect();
    if dp.is_empty() || dp.len() > 3 || dp[0].len() != 4 {
        return Err(bad());
    }
    let y: i64 = dp[0].parse().map_err(|_| bad())?;
    let mo: u32 = dp.get(1).map_or(Ok(1), |v| v.parse()).map_err(|_| bad())?;
    let d: u32 = dp.get(2).map_or(Ok(1), |v| v.parse()).map_err(|_| bad())?;
    if !(1970..=2038).contains(&y) || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, mo, d) * 86400;
    if let Some(t) = time {
        let tp: Vec<&str> = t.split(':').collect();
        if tp.is_empty() || tp.len() > 3 {
            return Err(bad());
        }
        let mut v = [0i64; 3];
        for (i, p) in tp.iter().enumerate() {
            v[i] = p.parse().map_err(|_| bad())?;
        }
        if v[0] > 23 || v[1] > 59 || v[2] > 59 {
            return Err(bad());
        }
        secs += v[0] * 3600 + v[1] * 60 + v[2];
    }
    u32::try_from(secs)
        .ok()
        .filter(|s| *s <= DATE_MAX)
        .ok_or_else(bad)
}

pub fn fmt_date(secs: u32) -> String {
    let days = i64::from(secs) / 86400;
    let rem = secs % 86400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

pub fn fmt_daytime(secs: u32) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

pub fn parse(m: &mut TimeMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    match o {
        "--localtz" | "--kerneltz" => {
            no_inv(inv, o)?;
            m.kerneltz = true;
            return Ok(());
        }
        "--utc" => {
            no_inv(inv, o)?;
            m.kerneltz = false;
            return Ok(());
        }
        "--contiguous" => {
            no_inv(inv, o)?;
            m.contiguous = true;
            return Ok(());
        }
        _ => {}
    }
    let v = args.value(o)?;
    match o {
        "--datestart" => {
            no_inv(inv, o)?;
            m.date_start = parse_date(&v)?
        }
        "--datestop" => {
            no_inv(inv, o)?;
            m.date_stop = parse_date(&v)?
        }
        "--timestart" => {
            no_inv(inv, o)?;
            m.daytime_start = parse_daytime(&v)?
        }
        "--timestop" => {
            no_inv(inv, o)?;
            m.daytime_stop = parse_daytime(&v)?
        }
        "--weekdays" => {
            let mut bits = 0u8;
            for w in v.split(',') {
                let i = match w.parse::<usize>() {
                    Ok(n) if (1..=7).contains(&n) => n - 1,
                    _ => WEEKDAYS
                        .iter()
                        .position(|d| d.eq_ignore_ascii_case(w))
                        .ok_or_else(|| format!("No, \"{w}\" is not a weekday."))?,
                };
                bits |= 1 << (i + 1);
            }
            m.weekdays = if inv { !bits & ALL_WEEKDAYS } else { bits };
        }
        _ => {
            let mut bits = 0u32;
            for w in v.split(',') {
                match w.parse::<u32>() {
                    Ok(n) if (1..=31).contains(&n) => bits |= 1 << n,
                    _ => return Err(format!("invalid monthday \"{w}\"")),
                }
            }
            m.monthdays = if inv { !bits & ALL_MONTHDAYS } else { bits };
        }
    }
    Ok(())
}

pub fn finish(m: &mut TimeMatch) -> Result<(), String> {
    if m.contiguous && m.daytime_stop >= m.daytime_start {
        return Err(
            "time: --contiguous only makes sense when stoptime is smaller than starttime".into(),
        );
    }
    Ok(())
}

fn list_date(secs: u32) -> String {
    fmt_date(secs).replacen('T', " ", 1)
}

impl super::MatchText for TimeMatch {
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
        let m = self;
        if m.daytime_start != 0 || m.daytime_stop != DAYTIME_MAX {
            let _ = write!(
                out,
                " --timestart {} --timestop {}",
                fmt_daytime(m.daytime_start),
                fmt_daytime(m.daytime_stop)
            );
        }
        if m.monthdays != ALL_MONTHDAYS {
            let days: Vec<String> = (1..=31)
                .filter(|d| m.monthdays & (1 << d) != 0)
                .map(|d| d.to_string())
                .collect();
            let _ = write!(out, " --monthdays {}", days.join(","));
        }
        if m.weekdays != ALL_WEEKDAYS {
            let days: Vec<&str> = (0..7)
                .filter(|d| m.weekdays & (1 << (d + 1)) != 0)
                .map(|d| WEEKDAYS[d])
                .collect();
            let _ = write!(out, " --weekdays {}", days.join(","));
        }
        if m.date_start != 0 {
            let _ = write!(out, " --datestart {}", fmt_date(m.date_start));
        }
        if m.date_stop != 0 {
            let _ = write!(out, " --datestop {}", fmt_date(m.date_stop));
        }
        if m.kerneltz {
            out.push_str(" --kerneltz");
        }
        if m.contiguous {
            out.push_str(" --contiguous");
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let m = self;
        out.push_str(" TIME");
        if m.daytime_start != 0 || m.daytime_stop != DAYTIME_MAX {
            let _ = write!(
                out,
                " from {} to {}",
                fmt_daytime(m.daytime_start),
                fmt_daytime(m.daytime_stop)
            );
        }
        if m.weekdays != ALL_WEEKDAYS {
            let days: Vec<&str> = (0..7)
                .filter(|d| m.weekdays & (1 << (d + 1)) != 0)
                .map(|d| WEEKDAYS[d])
                .collect();
            let _ = write!(out, " on {}", days.join(","));
        }
        if m.monthdays != ALL_MONTHDAYS {
            // iptables' ordinal suffix looks only at the last digit ("11st", "12nd").
            let days: Vec<String> = (1..=31u32)
                .filter(|d| m.monthdays & (1 << d) != 0)
                .map(|d| {
                    let suffix = match d % 10 {
                        1 => "st",
                        2 => "nd",
                        3 => "rd",
                        _ => "th",
                    };
                    format!("{d}{suffix}")
                })
                .collect();
            let _ = write!(out, " on {}", days.join(","));
        }
        if m.date_start != 0 {
            let _ = write!(out, " starting from {}", list_date(m.date_start));
        }
        if m.date_stop != DATE_MAX {
            let _ = write!(out, " until date {}", list_date(m.date_stop));
        }
        if !m.kerneltz {
            out.push_str(" UTC");
        }
        if m.contiguous {
            out.push_str(" contiguous");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01").unwrap(), 0);
        assert_eq!(fmt_date(DATE_MAX), "2038-01-19T03:14:07");
        let t = parse_date("2025-01-01T10:00:00").unwrap();
        assert_eq!(fmt_date(t), "2025-01-01T10:00:00");
        assert_eq!(
            fmt_date(parse_date("2024-02-29").unwrap()),
            "2024-02-29T00:00:00"
        );
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("1969-12-31").is_err());
    }
}
