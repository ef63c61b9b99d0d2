//! `nfdp ruleset --check FILE`: load an iptables-restore file offline, print the whole
//! ruleset in iptables-save form, or the first error as `FILE:LINE: message`.

use crate::iptables::{restore, save_ruleset, RestoreOptions};
use dataplane::ruleset::Ruleset;

/// Loads `text` into an empty ruleset; returns the iptables-save text or
/// `(line, message)`.
pub fn check_text(text: &str) -> Result<String, (usize, String)> {
    let mut rs = Ruleset::default();
    restore(text, &mut rs, RestoreOptions::default()).map_err(|e| (e.line, e.message))?;
    Ok(save_ruleset(&rs, false))
}
