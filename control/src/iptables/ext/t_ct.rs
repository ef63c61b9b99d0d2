//! libxt_CT: `--notrack`, `--helper NAME`, `--zone N`.

use super::{parse_bounded, Args};
use dataplane::ruleset::targets::ct::CtTarget;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--notrack", "--helper", "--zone"];

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
        _ => t.zone = Some(parse_bounded(&args.value(o)?, o, 0, 65535)? as u16),
    }
    Ok(())
}

pub fn finish(t: &mut CtTarget) -> Result<(), String> {
    if t.notrack && (t.helper.is_some() || t.zone.is_some()) {
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
    if let Some(z) = t.zone {
        if z != 0 {
            let _ = write!(out, " --zone {z}");
        }
    }
}
