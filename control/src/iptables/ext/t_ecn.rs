//! libipt_ECN: `--ecn-tcp-remove` (the one operation nfdp takes; the bit-setting options
//! `--ecn-tcp-cwr N`, `--ecn-tcp-ece N`, `--ecn-ip-ect N` are refused as unknown,
//! docs/deviations.md).

use super::Args;
use dataplane::ruleset::targets::ecn::EcnTarget;

pub const OPTIONS: &[&str] = &["--ecn-tcp-remove"];

pub fn parse(_: &mut EcnTarget, _: &str, _: &mut Args) -> Result<(), String> {
    Ok(())
}

impl super::TargetText for EcnTarget {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse(self, opt, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("ECN target: An operation is required".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --ecn-tcp-remove");
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" ECN TCP remove");
    }
}
