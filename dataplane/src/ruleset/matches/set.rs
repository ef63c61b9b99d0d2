//! `-m set`: whether the packet is in an IP set (xt_set, revision 4). The rule holds the
//! set's index in the `SetTable`, resolved when the rule is read; the set's elements are
//! in the workers' set snapshot, not in the ruleset.

use crate::ipset::elem::TestFlags;
use crate::ipset::{Dirs, MAX_DIRS};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetMatch {
    /// `! --match-set`.
    pub inv: bool,
    pub name: String,
    /// The set's index in the set table.
    pub index: u32,
    /// `src,dst,...`: which address/port each dimension is taken from.
    pub dirs: Dirs,
    pub flags: TestFlags,
}

impl SetMatch {
    pub fn validate(&self) -> Result<(), String> {
        if self.dirs.count == 0 || usize::from(self.dirs.count) > MAX_DIRS {
            return Err(format!(
                "set: between 1 and {MAX_DIRS} src/dst directions required"
            ));
        }
        Ok(())
    }
}

impl crate::ruleset::ext::MatchExt for SetMatch {
    const NAME: &'static str = "set";
    const REVISION: u8 = 4;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        SetMatch::validate(self)
    }
}

impl crate::ruleset::ext::PacketMatch for SetMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        cx.sets.test_packet(
            self.index,
            &crate::ipset::packet_fields(cx.view),
            self.dirs,
            &self.flags,
            cx.now_ns,
        ) != self.inv
    }
}
