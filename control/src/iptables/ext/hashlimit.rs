//! libxt_hashlimit (rev 3): `--hashlimit-upto|above RATE`, `-burst`, `-mode`, `-name`,
//! `-srcmask`, `-dstmask`, `-htable-size|max|gcinterval|expire`, `-rate-match`,
//! `-rate-interval`.

use super::limit::{fmt_rate, parse_rate};
use super::{no_inv, parse_bounded, parse_u32, Args};
use dataplane::ruleset::matches::hashlimit::{
    bytes_to_cost, cost_to_bytes, mode, HashlimitMatch, BYTE_EXPIRE_MS, DEFAULT_BURST,
    DEFAULT_GC_MS, SCALE,
};
use dataplane::ruleset::Family;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--hashlimit",
    "--hashlimit-upto",
    "--hashlimit-above",
    "--hashlimit-burst",
    "--hashlimit-mode",
    "--hashlimit-srcmask",
    "--hashlimit-dstmask",
    "--hashlimit-name",
    "--hashlimit-htable-size",
    "--hashlimit-htable-max",
    "--hashlimit-htable-gcinterval",
    "--hashlimit-htable-expire",
    "--hashlimit-rate-match",
    "--hashlimit-rate-interval",
];

const UNITS: [(&str, u64); 4] = [
    ("day", SCALE * 86400),
    ("hour", SCALE * 3600),
    ("min", SCALE * 60),
    ("sec", SCALE),
];

/// What an expiry is compared with to be shown (the `quantum` libxt_hashlimit's print
/// functions return): the length in ms of the unit the rate prints in for packet rates
/// (`period` is the average the caller prints), the byte expiries for byte rates.
fn shown_quantum(m: &HashlimitMatch, period: u64) -> u32 {
    match (m.bytes, m.burst) {
        (true, 0) => BYTE_EXPIRE_MS,
        (true, _) => BYTE_BURST_EXPIRE_MS,
        (false, _) => quantum_ms(period),
    }
}

/// XT_HASHLIMIT_BYTE_EXPIRE_BURST: the default expiry of byte rates with a burst.
const BYTE_BURST_EXPIRE_MS: u32 = 60_000;

/// Marks a burst given in bytes until `finish` turns it into a multiple of the rate.
const BYTE_BURST: u32 = 0x8000_0000;

const BYTE_UNITS: [(&str, u64); 3] = [("m", 1 << 20), ("k", 1 << 10), ("", 1)];

/// `N[k|m]b/s` (rate) or `N[k|m]b` (burst) to bytes.
fn parse_byte_amount(s: &str, suffix: &str) -> Option<u64> {
    let body = s.strip_suffix(suffix)?;
    let (num, factor) = match body.as_bytes().last()? {
        b'k' => (&body[..body.len() - 1], 1u64 << 10),
        b'm' => (&body[..body.len() - 1], 1u64 << 20),
        _ => (body, 1),
    };
    // An amount past 2^64 bytes is refused (libxt_hashlimit multiplies in 64 bits and
    // wraps; the kernel then takes or refuses the wrapped rate depending on its value).
    num.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(factor))
}

fn fmt_byte_rate(cost: u64) -> (u64, String) {
    let r = cost_to_bytes(cost);
    let (name, thresh) = BYTE_UNITS
        .iter()
        .take(BYTE_UNITS.len() - 1)
        .find(|(_, t)| r >= *t && bytes_to_cost(r & !(t - 1)) == cost)
        .copied()
        .unwrap_or(("", 1));
    (r, format!("{}{name}b/s", r / thresh))
}

/// A byte count in the largest unit it reaches (`11kb`), as iptables prints bursts.
fn byte_amount(total: u64) -> String {
    let (name, thresh) = BYTE_UNITS
        .iter()
        .take(BYTE_UNITS.len() - 1)
        .find(|(_, t)| total >= *t)
        .copied()
        .unwrap_or(("", 1));
    format!("{}{name}b", total / thresh)
}

/// The length in ms of the unit `fmt_rate` prints the rate in.
fn quantum_ms(avg: u64) -> u32 {
    let mut i = 1;
    while i < UNITS.len() {
        let mult = UNITS[i].1;
        if avg == 0 || avg > mult || mult / avg < mult % avg {
            break;
        }
        i += 1;
    }
    (UNITS[i - 1].1 / SCALE * 1000) as u32
}

/// The unit of a packet rate in seconds (`10/min`: 60), as libxt_hashlimit's
/// `parse_rate` sets `udata->mult`.
fn rate_unit_s(rate: &str) -> u32 {
    rate.split_once('/')
        .and_then(|(_, u)| super::limit::unit_seconds(u))
        .map_or(1, |s| s as u32)
}

/// `atoi` > 0, as libxt_hashlimit's `parse_interval`.
fn parse_interval(v: &str) -> Option<u32> {
    let digits: String = v
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse::<u32>().ok().filter(|n| *n > 0)
}

pub fn parse(m: &mut HashlimitMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    if o == "--hashlimit-rate-match" {
        no_inv(inv, o)?;
        m.rate_match = true;
        return Ok(());
    }
    let v = args.value(o)?;
    match o {
        "--hashlimit" | "--hashlimit-upto" | "--hashlimit-above" => {
            if let Some(b) = parse_byte_amount(&v, "b/s") {
                m.bytes = true;
                m.avg = bytes_to_cost(b);
                m.burst = 0;
                m.unit_s = BYTE_EXPIRE_MS / 1000;
            } else {
                m.avg = parse_rate(&v, SCALE)?;
                m.unit_s = rate_unit_s(&v);
            }
            m.above = (o == "--hashlimit-above") != inv;
            return Ok(());
        }
        _ => no_inv(inv, o)?,
    }
    match o {
        "--hashlimit-burst" => {
            // A byte burst is converted once the rate is known (in `finish`).
            m.burst = match parse_byte_amount(&v, "b") {
                Some(b) => {
                    u32::try_from(b).map_err(|_| format!("hashlimit: burst `{v}' too large"))?
                        | BYTE_BURST
                }
                None => parse_bounded(&v, o, 1, 10000)? as u32,
            };
        }
        "--hashlimit-mode" => {
            m.mode = 0;
            for w in v.split(',') {
                m.mode |= mode::NAMES
                    .iter()
                    .find(|(n, _)| *n == w)
                    .map(|(_, b)| *b)
                    .ok_or_else(|| format!("hashlimit: bad mode `{w}'"))?;
            }
        }
        "--hashlimit-srcmask" => m.srcmask = parse_mask(m, &v, o)?,
        "--hashlimit-dstmask" => m.dstmask = parse_mask(m, &v, o)?,
        "--hashlimit-name" => {
            if v.is_empty() || v.len() > 255 {
                return Err("hashlimit: --hashlimit-name must be 1 to 255 characters".into());
            }
            m.name = v;
        }
        "--hashlimit-htable-size" => m.htable_size = parse_u32(&v, o)?,
        "--hashlimit-htable-max" => m.htable_max = parse_u32(&v, o)?,
        "--hashlimit-htable-gcinterval" => m.gc_interval = parse_u32(&v, o)?,
        "--hashlimit-rate-interval" => {
            m.interval = parse_interval(&v).ok_or_else(|| {
                format!("hashlimit: Bad value for \"--hashlimit-rate-interval\" option: \"{v}\"")
            })?;
        }
        _ => m.expire = parse_u32(&v, o)?,
    }
    Ok(())
}

/// `--hashlimit-srcmask|dstmask` (XTTYPE_PLENMASK): a prefix length up to the family's
/// width; ip6tables also takes a contiguous mask in address form (`ffff:ffff::`).
fn parse_mask(m: &HashlimitMatch, v: &str, o: &str) -> Result<u8, String> {
    if m.family == Family::V4 {
        return Ok(parse_bounded(v, o, 0, 32)? as u8);
    }
    let bad = || {
        format!(
            "hashlimit: bad value for option \"{o}\", neither a valid network mask nor valid CIDR (0-128)."
        )
    };
    if let Ok(mask) = v.parse::<std::net::Ipv6Addr>() {
        let mask = u128::from(mask);
        let len = mask.leading_ones();
        return if mask.checked_shl(len).unwrap_or(0) == 0 {
            Ok(len as u8)
        } else {
            Err(bad())
        };
    }
    match super::parse_uint(v) {
        Some(len) if len <= 128 => Ok(len as u8),
        _ => Err(bad()),
    }
}

/// -L prints a rate-match (rev 3) rate per its interval: the average times the interval.
fn listed_period(m: &HashlimitMatch) -> u64 {
    if m.interval == 0 {
        m.avg
    } else {
        m.avg.saturating_mul(u64::from(m.interval))
    }
}

/// The table tunables that differ from their defaults: `--hashlimit-NAME N` in save form
/// (`prefix` = "--hashlimit-"), `NAME N` in -L form (`prefix` = ""); the expiry is shown
/// when it is not `quantum`. Then rate-match and its interval (when not 1 s).
fn table_options(m: &HashlimitMatch, prefix: &str, quantum: u32, out: &mut String) {
    let options = [
        ("htable-size", m.htable_size, m.htable_size != 0),
        ("htable-max", m.htable_max, m.htable_max != 0),
        (
            "htable-gcinterval",
            m.gc_interval,
            m.gc_interval != DEFAULT_GC_MS,
        ),
        ("htable-expire", m.expire, m.expire != quantum),
        ("srcmask", u32::from(m.srcmask), m.srcmask != m.full_mask()),
        ("dstmask", u32::from(m.dstmask), m.dstmask != m.full_mask()),
    ];
    for (name, value, shown) in options {
        if shown {
            let _ = write!(out, " {prefix}{name} {value}");
        }
    }
    if m.rate_match {
        let _ = write!(out, " {prefix}rate-match");
        if m.interval != 1 {
            let _ = write!(out, " {prefix}rate-interval {}", m.interval);
        }
    }
}

impl super::MatchText for HashlimitMatch {
    fn new(_name: &str) -> Self {
        HashlimitMatch {
            name: String::new(),
            above: false,
            bytes: false,
            avg: 0,
            burst: DEFAULT_BURST,
            mode: 0,
            srcmask: 32,
            dstmask: 32,
            htable_size: 0,
            htable_max: 0,
            gc_interval: DEFAULT_GC_MS,
            expire: 0,
            rate_match: false,
            interval: 0,
            unit_s: 1,
            family: Family::V4,
        }
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn for_family(&mut self, family: Family) {
        self.family = family;
        self.srcmask = self.full_mask();
        self.dstmask = self.full_mask();
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

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if self.avg == 0 {
            return Err(
                "hashlimit: option \"--hashlimit-upto\" or \"--hashlimit-above\" must be specified"
                    .into(),
            );
        }
        if self.name.is_empty() {
            return Err("hashlimit: option \"--hashlimit-name\" must be specified".into());
        }
        if self.bytes {
            if !seen.contains(&"--hashlimit-burst") {
                self.burst = 0;
            } else {
                // The burst in bytes becomes a whole number of rate units, rounded up.
                let burst_bytes = u64::from(self.burst & !BYTE_BURST);
                let unit = cost_to_bytes(self.avg).max(1);
                if burst_bytes < unit {
                    return Err(format!("hashlimit: burst cannot be smaller than {unit}b"));
                }
                self.burst = burst_bytes.div_ceil(unit) as u32;
            }
        } else if self.burst & BYTE_BURST != 0 {
            // A packet rate with a burst written in bytes (`3kb`): libxt_hashlimit keeps
            // the byte count as the packet burst. Past 10000 it saves a burst its own
            // restore refuses; nfdp refuses it here so that every saved rule restores.
            let burst = self.burst & !BYTE_BURST;
            if !(1..=10000).contains(&burst) {
                return Err(
                    "hashlimit: bad value for option \"--hashlimit-burst\", or out of range (1-10000)."
                        .into(),
                );
            }
            self.burst = burst;
        }
        if !seen.contains(&"--hashlimit-htable-expire") {
            // The unit the rate was typed in (`60/min`: 60 s), a minute for a byte burst.
            self.expire = if self.bytes && seen.contains(&"--hashlimit-burst") {
                BYTE_BURST_EXPIRE_MS
            } else {
                self.unit_s * 1000
            };
        }
        if self.rate_match {
            // Rate-match counts per interval: the rate per second, over the unit typed.
            if !self.bytes {
                self.avg /= u64::from(self.unit_s.max(1));
            }
            if self.interval == 0 {
                self.interval = if self.bytes { 1 } else { self.unit_s };
            }
        }
        self.unit_s = 0;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let m = self;
        let which = if m.above { "above" } else { "upto" };
        if m.bytes {
            let (r, rate) = fmt_byte_rate(m.avg);
            let _ = write!(out, " --hashlimit-{which} {rate}");
            if m.burst != 0 {
                let _ = write!(
                    out,
                    " --hashlimit-burst {}",
                    byte_amount(r * u64::from(m.burst))
                );
            }
        } else {
            let _ = write!(
                out,
                " --hashlimit-{which} {} --hashlimit-burst {}",
                fmt_rate(m.avg, &UNITS),
                m.burst
            );
        }
        if m.mode != 0 {
            let names: Vec<&str> = mode::NAMES
                .iter()
                .filter(|(_, b)| m.mode & b != 0)
                .map(|(n, _)| *n)
                .collect();
            let _ = write!(out, " --hashlimit-mode {}", names.join(","));
        }
        let _ = write!(out, " --hashlimit-name {}", m.name);
        table_options(m, "--hashlimit-", shown_quantum(m, m.avg), out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let m = self;
        out.push_str(if m.above {
            " limit: above"
        } else {
            " limit: up to"
        });
        if m.bytes {
            let (r, rate) = fmt_byte_rate(m.avg);
            let _ = write!(out, " {rate}");
            if m.burst != 0 {
                let _ = write!(out, " burst {}", byte_amount(r * u64::from(m.burst)));
            }
        } else {
            let _ = write!(
                out,
                " {} burst {}",
                fmt_rate(listed_period(m), &UNITS),
                m.burst
            );
        }
        if m.mode != 0 {
            let names: Vec<&str> = mode::NAMES
                .iter()
                .filter(|(_, b)| m.mode & b != 0)
                .map(|(n, _)| *n)
                .collect();
            let _ = write!(out, " mode {}", names.join("-"));
        }
        table_options(m, "", shown_quantum(m, listed_period(m)), out);
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables::command::{parse_command, Source};

    fn parse(rule: &str) -> Result<(), String> {
        let words = rule.split_whitespace().map(String::from).collect();
        parse_command(words, Source::CommandLine).map(|_| ())
    }

    /// Found by the `iptables` fuzz target: a byte rate or burst past 2^64 bytes
    /// overflowed the multiplication by its unit (a panic in debug builds). It is refused.
    #[test]
    fn byte_amounts_past_two_to_the_64_are_refused() {
        for rule in [
            "-A INPUT -m hashlimit --hashlimit-upto 8198552921648689508kb/s --hashlimit-name x -j ACCEPT",
            "-A INPUT -m hashlimit --hashlimit-above 17592186044416mb/s --hashlimit-name x -j ACCEPT",
            "-A INPUT -m hashlimit --hashlimit-upto 1kb/s --hashlimit-burst 18014398509481984kb --hashlimit-name x -j ACCEPT",
        ] {
            assert!(parse(rule).is_err(), "{rule}");
        }
        assert!(
            parse("-A INPUT -m hashlimit --hashlimit-upto 1mb/s --hashlimit-name x -j ACCEPT")
                .is_ok()
        );
    }

    /// Found by the `iptables` fuzz target: a packet rate with a burst in bytes kept the
    /// byte-burst flag and saved `--hashlimit-burst 2147483651`, which does not restore.
    /// iptables 1.8.9 takes `3b` as a burst of 3 and `3kb` as 3072 (checked in a
    /// namespace: `iptables-save` prints those); above 10000 nfdp refuses it.
    #[test]
    fn a_byte_burst_with_a_packet_rate_is_a_packet_burst() {
        use crate::iptables::command::Command;
        for (burst, saved) in [("3b", "3"), ("3kb", "3072")] {
            let rule = format!(
                "-A INPUT -m hashlimit --hashlimit-above 1/hour --hashlimit-burst {burst} --hashlimit-name h3 -j DROP"
            );
            let words = rule.split_whitespace().map(String::from).collect();
            let parsed = parse_command(words, Source::CommandLine).expect("accepted");
            let Command::Append { rules, .. } = parsed.command else {
                panic!("an append");
            };
            let line = crate::iptables::save::spec_to_string(&rules[0]);
            assert!(
                line.contains(&format!("--hashlimit-burst {saved} ")),
                "{line}"
            );
        }
        assert!(parse("-A INPUT -m hashlimit --hashlimit-above 1/hour --hashlimit-burst 11kb --hashlimit-name h3 -j DROP").is_err());
        assert!(parse("-A INPUT -m hashlimit --hashlimit-above 1/hour --hashlimit-burst 0b --hashlimit-name h3 -j DROP").is_err());
    }
}
