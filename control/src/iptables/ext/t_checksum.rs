//! libxt_CHECKSUM: `--checksum-fill` (required), listed as `CHECKSUM fill`.

use super::Args;
use dataplane::ruleset::targets::checksum::ChecksumTarget;

pub const OPTIONS: &[&str] = &["--checksum-fill"];

pub fn parse(_: &mut ChecksumTarget, _: &str, _: &mut Args) -> Result<(), String> {
    Ok(())
}

impl super::TargetText for ChecksumTarget {
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
            return Err("CHECKSUM: option \"--checksum-fill\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --checksum-fill");
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" CHECKSUM fill");
    }
}
