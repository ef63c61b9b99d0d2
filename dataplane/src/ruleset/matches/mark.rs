//! `-m mark` and `-m connmark`: `(mark & mask) == value` on the packet or connection mark.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkMatch {
    pub inv: bool,
    pub value: u32,
    pub mask: u32,
}

impl MarkMatch {
    #[inline]
    pub fn matches_mark(&self, mark: u32) -> bool {
        ((mark & self.mask) == self.value) != self.inv
    }
}
