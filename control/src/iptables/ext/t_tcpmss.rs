//! libxt_TCPMSS: `--set-mss N`, `--clamp-mss-to-pmtu`.

use super::{parse_bounded, Args};
use dataplane::ruleset::targets::tcpmss::TcpmssTarget;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--set-mss", "--clamp-mss-to-pmtu"];

pub fn parse(t: &mut TcpmssTarget, o: &str, args: &mut Args) -> Result<(), String> {
    *t = if o == "--set-mss" {
        TcpmssTarget::SetMss(parse_bounded(&args.value(o)?, o, 0, 65535 - 40)? as u16)
    } else {
        TcpmssTarget::ClampPmtu
    };
    Ok(())
}

impl super::TargetText for TcpmssTarget {
    fn new() -> Self {
        TcpmssTarget::ClampPmtu
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse(self, opt, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        match seen.len() {
            0 => Err("TCPMSS target: At least one parameter is required".into()),
            1 => Ok(()),
            _ => Err("TCPMSS target: Only one option may be specified".into()),
        }
    }

    fn save(&self, out: &mut String) {
        let _ = match self {
            TcpmssTarget::SetMss(v) => write!(out, " --set-mss {v}"),
            TcpmssTarget::ClampPmtu => write!(out, " --clamp-mss-to-pmtu"),
        };
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = match self {
            TcpmssTarget::SetMss(v) => write!(out, " TCPMSS set {v}"),
            TcpmssTarget::ClampPmtu => write!(out, " TCPMSS clamp to PMTU"),
        };
    }
}
