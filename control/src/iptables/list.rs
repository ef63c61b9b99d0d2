//! `iptables -L`: the tabular listing.

use super::command::ListOptions;
use dataplane::ruleset::Table;

pub fn list_table(_t: &Table, _chain: Option<&str>, _opts: ListOptions) -> Result<String, String> {
    Err("-L is not implemented yet; use -S".into())
}
