//! libxt_TCPMSS: `--set-mss N`, `--clamp-mss-to-pmtu`.

use super::{parse_bounded, Args};
use dataplane::ruleset::targets::tcpmss::TcpmssTarget;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--set-mss", "--clamp-mss-to-pmtu"];

pub fn new() -> TcpmssTarget {
    TcpmssTarget::ClampPmtu
}

pub fn parse(t: &mut TcpmssTarget, o: &str, args: &mut Args) -> Result<(), String> {
    *t = if o == "--set-mss" {
        TcpmssTarget::SetMss(parse_bounded(&args.value(o)?, o, 0, 65535 - 40)? as u16)
    } else {
        TcpmssTarget::ClampPmtu
    };
    Ok(())
}

pub fn finish(_: &mut TcpmssTarget, seen: &[&str]) -> Result<(), String> {
    match seen.len() {
        0 => Err("TCPMSS target: At least one parameter is required".into()),
        1 => Ok(()),
        _ => Err("TCPMSS target: Only one option may be specified".into()),
    }
}

pub fn save(t: &TcpmssTarget, out: &mut String) {
    let _ = match t {
        TcpmssTarget::SetMss(v) => write!(out, " --set-mss {v}"),
        TcpmssTarget::ClampPmtu => write!(out, " --clamp-mss-to-pmtu"),
    };
}

pub fn list(t: &TcpmssTarget, out: &mut String) {
    let _ = match t {
        TcpmssTarget::SetMss(v) => write!(out, " TCPMSS set {v}"),
        TcpmssTarget::ClampPmtu => write!(out, " TCPMSS clamp to PMTU"),
    };
}
