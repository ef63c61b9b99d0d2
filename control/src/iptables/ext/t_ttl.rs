//! libipt_TTL: `--ttl-set`, `--ttl-dec`, `--ttl-inc`.

use super::{parse_bounded, Args};
use dataplane::ruleset::targets::ttl::TtlTarget;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--ttl-set", "--ttl-dec", "--ttl-inc"];

pub fn parse(t: &mut TtlTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let v = parse_bounded(&args.value(o)?, o, 0, 255)? as u8;
    *t = match o {
        "--ttl-set" => TtlTarget::Set(v),
        "--ttl-dec" => TtlTarget::Dec(v),
        _ => TtlTarget::Inc(v),
    };
    Ok(())
}

impl super::TargetText for TtlTarget {
    fn new() -> Self {
        TtlTarget::Set(0)
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
            0 => Err("TTL: You must specify an action".into()),
            1 => Ok(()),
            _ => Err("TTL: You can only specify one action".into()),
        }
    }

    fn save(&self, out: &mut String) {
        let _ = match self {
            TtlTarget::Set(v) => write!(out, " --ttl-set {v}"),
            TtlTarget::Dec(v) => write!(out, " --ttl-dec {v}"),
            TtlTarget::Inc(v) => write!(out, " --ttl-inc {v}"),
        };
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = match self {
            TtlTarget::Set(v) => write!(out, " TTL set to {v}"),
            TtlTarget::Dec(v) => write!(out, " TTL decrement by {v}"),
            TtlTarget::Inc(v) => write!(out, " TTL increment by {v}"),
        };
    }
}
