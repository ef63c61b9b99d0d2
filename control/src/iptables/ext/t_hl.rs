//! libip6t_HL: `--hl-set`, `--hl-dec`, `--hl-inc` (one of them; dec and inc by 1..255).
//! A guided-option extension: its refusals are libxtables' words.

use super::{parse_uint, Args};
use dataplane::ruleset::targets::hl::HlTarget;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--hl-set", "--hl-dec", "--hl-inc"];

impl super::TargetText for HlTarget {
    fn new() -> Self {
        HlTarget::Set(0)
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        if inv {
            return Err(format!("HL: option \"{o}\" cannot be inverted."));
        }
        let min = if o == "--hl-set" { 0 } else { 1 };
        let v = args.value(o)?;
        let v = parse_uint(&v)
            .filter(|v| (min..=255).contains(v))
            .map(|v| v as u8)
            .ok_or_else(|| {
                format!("HL: bad value for option \"{o}\", or out of range ({min}-255).")
            })?;
        *self = match o {
            "--hl-set" => HlTarget::Set(v),
            "--hl-dec" => HlTarget::Dec(v),
            _ => HlTarget::Inc(v),
        };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("HL: You must specify an action".into());
        }
        super::exclusive_options("HL", OPTIONS, OPTIONS, seen)
    }

    fn save(&self, out: &mut String) {
        let _ = match self {
            HlTarget::Set(v) => write!(out, " --hl-set {v}"),
            HlTarget::Dec(v) => write!(out, " --hl-dec {v}"),
            HlTarget::Inc(v) => write!(out, " --hl-inc {v}"),
        };
    }

    /// ` HL set to 64` (libip6t_HL's print).
    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = match self {
            HlTarget::Set(v) => write!(out, " HL set to {v}"),
            HlTarget::Dec(v) => write!(out, " HL decrement by {v}"),
            HlTarget::Inc(v) => write!(out, " HL increment by {v}"),
        };
    }

    fn repeated(opt: &str) -> String {
        format!("HL: option \"{opt}\" can only be used once.\n")
    }
}
