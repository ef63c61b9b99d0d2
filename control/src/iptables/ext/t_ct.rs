//! libxt_CT (revision 2): `--notrack`, `--helper NAME`, `--zone N`, `--ctevents LIST`,
//! `--expevents LIST`. `--notrack` goes with the other options (the kernel then ignores
//! them), and save prints them all: notrack, helper, ctevents, expevents, zone.

use super::{parse_bounded, Args};
use dataplane::ruleset::targets::ct::{CtTarget, EVENT_NAMES, EXP_EVENT_NAMES};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--notrack",
    "--helper",
    "--zone",
    "--ctevents",
    "--expevents",
];

/// The helpers nfdp implements.
const HELPERS: [&str; 1] = ["ftp"];

/// `ct_parse_events`: a comma-separated list of `names`, as a bit mask.
fn events(list: &str, names: &[&str]) -> Result<u16, String> {
    let mut mask = 0;
    for w in list.split(',') {
        let i = names
            .iter()
            .position(|n| *n == w)
            .ok_or_else(|| format!("Unknown event type \"{w}\""))?;
        mask |= 1 << i;
    }
    Ok(mask)
}

pub fn parse(t: &mut CtTarget, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    if inv {
        return Err(format!("CT: option \"{o}\" cannot be inverted."));
    }
    match o {
        "--notrack" => t.notrack = true,
        "--helper" => {
            let h = args.value(o)?;
            if !HELPERS.contains(&h.as_str()) {
                return Err(format!("CT: unknown helper \"{h}\""));
            }
            t.helper = Some(h);
        }
        "--ctevents" => t.ctevents = events(&args.value(o)?, &EVENT_NAMES)?,
        "--expevents" => t.expevents = events(&args.value(o)?, &EXP_EVENT_NAMES)? as u8,
        _ => t.zone = Some(parse_bounded(&args.value(o)?, o, 0, 65535)? as u16),
    }
    Ok(())
}

fn print_events(out: &mut String, opt: &str, mask: u16, names: &[&str]) {
    if mask == 0 {
        return;
    }
    let names: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    let _ = write!(out, " {opt} {}", names.join(","));
}

pub fn save(t: &CtTarget, out: &mut String) {
    if t.notrack {
        out.push_str(" --notrack");
    }
    if let Some(h) = &t.helper {
        let _ = write!(out, " --helper {h}");
    }
    print_events(out, "--ctevents", t.ctevents, &EVENT_NAMES);
    print_events(out, "--expevents", u16::from(t.expevents), &EXP_EVENT_NAMES);
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

impl super::TargetText for CtTarget {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        parse(self, opt, inv, args)
    }

    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }

    /// An option given twice, as `xtables_option_parse` words it.
    fn repeated(opt: &str) -> String {
        format!("CT: option \"{opt}\" can only be used once.\n")
    }
}

impl super::TargetText for dataplane::ruleset::targets::ct::NotrackTarget {
    fn new() -> Self {
        dataplane::ruleset::targets::ct::NotrackTarget
    }

    fn options(&self) -> &'static [&'static str] {
        &[]
    }

    fn parse(&mut self, opt: &str, _inv: bool, _args: &mut Args) -> Result<(), String> {
        Err(format!("unknown option \"{opt}\""))
    }

    fn save(&self, out: &mut String) {
        let _ = out;
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" NOTRACK");
    }

    /// iptables-nft lists NOTRACK as CT.
    fn list_name(&self) -> &'static str {
        "CT"
    }
}
