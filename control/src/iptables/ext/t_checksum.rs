//! libxt_CHECKSUM: `--checksum-fill` (required), listed as `CHECKSUM fill`.

use super::Args;
use dataplane::ruleset::targets::checksum::ChecksumTarget;

pub const OPTIONS: &[&str] = &["--checksum-fill"];

pub fn parse(_: &mut ChecksumTarget, _: &str, _: &mut Args) -> Result<(), String> {
    Ok(())
}

pub fn finish(seen: &[&str]) -> Result<(), String> {
    if seen.is_empty() {
        return Err("CHECKSUM: option \"--checksum-fill\" must be specified".into());
    }
    Ok(())
}

pub fn save(_: &ChecksumTarget, out: &mut String) {
    out.push_str(" --checksum-fill");
}

pub fn list(_: &ChecksumTarget, out: &mut String) {
    out.push_str(" CHECKSUM fill");
}

impl super::TargetText for dataplane::ruleset::targets::checksum::ChecksumTarget {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut super::Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse(self, opt, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        finish(seen)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }
}
