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

pub fn save(t: &RejectTarget, out: &mut String) {
    out.push_str(" --reject-with ");
    out.push_str(t.with.name());
}

pub fn list(t: &RejectTarget, out: &mut String) {
    out.push_str(" reject-with ");
    out.push_str(t.with.name());
}
