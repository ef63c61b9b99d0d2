//! list:set: an ordered list of other sets (by index); a packet matches when one member
//! set matches it, tried in order, as the kernel's `list_set_ktest`.

use super::elem::ElemExt;

#[derive(Clone, Debug, Default)]
pub struct ListSet {
    /// The most members (`size`).
    pub size: u32,
    /// Member set indices, in order, with their own extensions.
    pub(super) members: Vec<(u32, ElemExt)>,
}

impl ListSet {
    pub fn position(&self, index: u32) -> Option<usize> {
        self.members.iter().position(|(i, _)| *i == index)
    }

    pub fn contains(&self, index: u32) -> bool {
        self.position(index).is_some()
    }
}
