//! libxt_CT: `--notrack`, `--helper NAME`, `--zone N`.

use super::{parse_bounded, Args};
use dataplane::ruleset::targets::ct::{CtTarget, EVENT_NAMES};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--notrack", "--helper", "--zone", "--ctevents"];

/// The helpers nfdp implements.
const HELPERS: [&str; 1] = ["ftp"];

pub fn parse(t: &mut CtTarget, o: &str, args: &mut Args) -> Result<(), String> {
    match o {
        "--notrack" => t.notrack = true,
        "--helper" => {
            let h = args.value(o)?;
            if !HELPERS.contains(&h.as_str()) {
                return Err(format!("CT: unknown helper \"{h}\""));
            }
            t.helper = Some(h);
        }
        "--ctevents" => {
            for w in args.value(o)?.split(',') {
                let i = EVENT_NAMES
                    .iter()
                    .position(|n| *n == w)
                    .ok_or_else(|| format!("CT: unknown event \"{w}\""))?;
                t.ctevents |= 1 << i;
            }
        }
        _ => t.zone = Some(parse_bounded(&args.value(o)?, o, 0, 65535)? as u16),
    }
    Ok(())
}

pub fn finish(t: &mut CtTarget) -> Result<(), String> {
    if t.notrack && (t.helper.is_some() || t.zone.is_some() || t.ctevents != 0) {
        return Err("CT: You must not use --notrack with other options".into());
    }
    Ok(())
}

pub fn save(t: &CtTarget, out: &mut String) {
    if t.notrack {
        out.push_str(" --notrack");
    }
    if let Some(h) = &t.helper {
        let _ = write!(out, " --helper {h}");
    }
    if t.ctevents != 0 {
        let names: Vec<&str> = EVENT_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| t.ctevents & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect();
        let _ = write!(out, " --ctevents {}", names.join(","));
    }
    if let Some(z) = t.zone {
        if z != 0 {
            let _ = write!(out, " --zone {z}");
        }
    }
}

/// ` CT notrack`, ` CT helper ftp zone 1`: save's words without the dashes.
pub fn list(t: &CtTarget, out: &mut String) {
    let mut save = String::new();
    self::save(t, &mut save);
    out.push_str(" CT");
    out.push_str(&save.replace(" --", " "));
}
