//! `nfdp ruleset --check FILE`: load an iptables-restore file offline, print the whole
//! ruleset in iptables-save form, or the first error as `FILE:LINE: message`.

use crate::iptables::{restore, save_ruleset, RestoreOptions};
use dataplane::ruleset::{Family, Ruleset};

/// Loads `text` into an empty ruleset; returns the iptables-save text or
/// `(line, message)`.
pub fn check_text(text: &str) -> Result<String, (usize, String)> {
    check_text_with_sets(None, text)
}

/// `check_text` over the sets of an `ipset restore` text (loaded first, as
/// `[rules] ipset_file` is); an error in it is `(0, message)`.
pub fn check_text_with_sets(sets: Option<&str>, text: &str) -> Result<String, (usize, String)> {
    check_family_text_with_sets(Family::V4, sets, text)
}

/// `nfdp ruleset -6 --check FILE`: `check_text` in ip6tables' language.
pub fn check_text6(text: &str) -> Result<String, (usize, String)> {
    check_family_text_with_sets(Family::V6, None, text)
}

/// `check_text_with_sets` in the language of `family`.
pub fn check_family_text_with_sets(
    family: Family,
    sets: Option<&str>,
    text: &str,
) -> Result<String, (usize, String)> {
    let mut rs = Ruleset::new(family);
    if let Some(sets) = sets {
        crate::ipset::restore(&mut rs, sets, false, 0)
            .map_err(|e| (0, format!("ipset text line {}: {}", e.line, e.message)))?;
    }
    restore(text, &mut rs, RestoreOptions::default()).map_err(|e| (e.line, e.message))?;
    Ok(save_ruleset(&rs, false))
}
