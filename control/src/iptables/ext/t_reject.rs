//! libipt_REJECT: `--reject-with TYPE`.

use super::Args;
use dataplane::ruleset::targets::reject::{RejectTarget, RejectWith};

pub const OPTIONS: &[&str] = &["--reject-with"];

pub fn parse(t: &mut RejectTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    t.with = RejectWith::NAMES
        .iter()
        .find(|(_, name, alias)| *name == v || *alias == v)
        .map(|(k, _, _)| *k)
        .ok_or_else(|| format!("unknown reject type \"{v}\""))?;
    Ok(())
}

impl super::TargetText for RejectTarget {
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

    fn save(&self, out: &mut String) {
        out.push_str(" --reject-with ");
        out.push_str(self.with.name());
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" reject-with ");
        out.push_str(self.with.name());
    }
}
