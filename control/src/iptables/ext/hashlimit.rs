//! libxt_hashlimit (rev 3): `--hashlimit-upto|above RATE`, `-burst`, `-mode`, `-name`,
//! `-srcmask`, `-dstmask`, `-htable-size|max|gcinterval|expire`.

use super::limit::{fmt_rate, parse_rate};
use super::{no_inv, parse_bounded, parse_u32, Args};
use dataplane::ruleset::matches::hashlimit::{mode, HashlimitMatch, DEFAULT_BURST, DEFAULT_GC_MS, SCALE};
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
];

const UNITS: [(&str, u64); 4] = [
    ("day", SCALE * 86400),
    ("hour", SCALE * 3600),
    ("min", SCALE * 60),
    ("sec", SCALE),
];

pub fn new() -> HashlimitMatch {
    HashlimitMatch {
        name: String::new(),
        above: false,
        avg: 0,
        burst: DEFAULT_BURST,
        mode: 0,
        srcmask: 32,
        dstmask: 32,
        htable_size: 0,
        htable_max: 0,
        gc_interval: DEFAULT_GC_MS,
        expire: 0,
    }
}

/// The length in ms of the unit `fmt_rate` prints the rate in: the default expiry.
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

pub fn parse(m: &mut HashlimitMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    match o {
        "--hashlimit" | "--hashlimit-upto" | "--hashlimit-above" => {
            if v.contains('b') {
                return Err(format!("hashlimit: byte rates (`{v}') are not supported"));
            }
            m.avg = parse_rate(&v, SCALE)?;
            m.above = (o == "--hashlimit-above") != inv;
            return Ok(());
        }
        _ => no_inv(inv, o)?,
    }
    match o {
        "--hashlimit-burst" => m.burst = parse_bounded(&v, o, 1, 10000)? as u32,
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
        "--hashlimit-srcmask" => m.srcmask = parse_bounded(&v, o, 0, 32)? as u8,
        "--hashlimit-dstmask" => m.dstmask = parse_bounded(&v, o, 0, 32)? as u8,
        "--hashlimit-name" => {
            if v.is_empty() || v.len() > 255 {
                return Err("hashlimit: --hashlimit-name must be 1 to 255 characters".into());
            }
            m.name = v;
        }
        "--hashlimit-htable-size" => m.htable_size = parse_u32(&v, o)?,
        "--hashlimit-htable-max" => m.htable_max = parse_u32(&v, o)?,
        "--hashlimit-htable-gcinterval" => m.gc_interval = parse_u32(&v, o)?,
        _ => m.expire = parse_u32(&v, o)?,
    }
    Ok(())
}

pub fn finish(m: &mut HashlimitMatch, seen: &[&str]) -> Result<(), String> {
    if m.avg == 0 {
        return Err("hashlimit: option \"--hashlimit-upto\" or \"--hashlimit-above\" must be specified".into());
    }
    if m.name.is_empty() {
        return Err("hashlimit: option \"--hashlimit-name\" must be specified".into());
    }
    if !seen.contains(&"--hashlimit-htable-expire") {
        m.expire = quantum_ms(m.avg);
    }
    Ok(())
}

pub fn save(m: &HashlimitMatch, out: &mut String) {
    let which = if m.above { "above" } else { "upto" };
    let _ = write!(
        out,
        " --hashlimit-{which} {} --hashlimit-burst {}",
        fmt_rate(m.avg, &UNITS),
        m.burst
    );
    if m.mode != 0 {
        let names: Vec<&str> = mode::NAMES
            .iter()
            .filter(|(_, b)| m.mode & b != 0)
            .map(|(n, _)| *n)
            .collect();
        let _ = write!(out, " --hashlimit-mode {}", names.join(","));
    }
    let _ = write!(out, " --hashlimit-name {}", m.name);
    if m.htable_size != 0 {
        let _ = write!(out, " --hashlimit-htable-size {}", m.htable_size);
    }
    if m.htable_max != 0 {
        let _ = write!(out, " --hashlimit-htable-max {}", m.htable_max);
    }
    if m.gc_interval != DEFAULT_GC_MS {
        let _ = write!(out, " --hashlimit-htable-gcinterval {}", m.gc_interval);
    }
    if m.expire != quantum_ms(m.avg) {
        let _ = write!(out, " --hashlimit-htable-expire {}", m.expire);
    }
    if m.srcmask != 32 {
        let _ = write!(out, " --hashlimit-srcmask {}", m.srcmask);
    }
    if m.dstmask != 32 {
        let _ = write!(out, " --hashlimit-dstmask {}", m.dstmask);
    }
}
