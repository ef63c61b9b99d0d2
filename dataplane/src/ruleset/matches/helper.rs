//! `-m helper --helper NAME`: a connection that a helper announced, by that helper's name
//! (xt_helper: the packet's connection has a master whose helper is NAME). The FTP helper
//! is the only one that announces connections, so an EXPECTED connection's master helper
//! is "ftp".

use crate::conntrack::{status, ConnEntry};

/// The helper whose expectations made EXPECTED connections.
pub const MASTER_HELPER: &str = "ftp";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelperMatch {
    pub inv: bool,
    /// Compared over the helper's name length (xt_helper's strncmp: "ftp-21" matches the
    /// "ftp" helper); empty matches any helper.
    pub name: String,
}

impl HelperMatch {
    /// xt_helper's `helper_mt`: no connection, no master or no helper: `inv`.
    pub fn matches_entry<A>(&self, entry: Option<&ConnEntry<A>>) -> bool {
        let Some(helper) = entry
            .filter(|e| e.status & status::EXPECTED != 0)
            .map(|_| MASTER_HELPER)
        else {
            return self.inv;
        };
        let hit = self.name.is_empty() || self.name.starts_with(helper);
        hit != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for HelperMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "helper";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::ConnMatch for HelperMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        cx: &mut crate::ruleset::ext::ConnCx<'_, A>,
    ) -> bool {
        self.matches_entry(cx.entry)
    }
}
