//! libipt_ECN: `--ecn-tcp-remove` (the one operation nfdp takes; the bit-setting options
//! `--ecn-tcp-cwr N`, `--ecn-tcp-ece N`, `--ecn-ip-ect N` are refused as unknown,
//! docs/deviations.md).

use super::Args;
use dataplane::ruleset::targets::ecn::EcnTarget;

pub const OPTIONS: &[&str] = &["--ecn-tcp-remove"];

pub fn parse(_: &mut EcnTarget, _: &str, _: &mut Args) -> Result<(), String> {
    Ok(())
}

pub fn finish(seen: &[&str]) -> Result<(), String> {
    if seen.is_empty() {
        return Err("ECN target: An operation is required".into());
    }
    Ok(())
}

pub fn save(_: &EcnTarget, out: &mut String) {
    out.push_str(" --ecn-tcp-remove");
}

pub fn list(_: &EcnTarget, out: &mut String) {
    out.push_str(" ECN TCP remove");
}
