//! `-j MARK`: set the packet mark. Every spelling reduces to the kernel's
//! `mark = (mark & !mask) ^ value` (what `--set-xmark value/mask` says).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkTarget {
    pub value: u32,
    pub mask: u32,
}

impl MarkTarget {
    #[inline]
    pub fn apply(&self, mark: u32) -> u32 {
        (mark & !self.mask) ^ self.value
    }
}
