//! bitmap:port: TCP/UDP ports within the set's `range`, indexed directly.

use super::elem::{match_extensions, ElemExt, Lookup, TestFlags};

#[derive(Clone, Debug, Default)]
pub struct BitmapPort {
    pub first: u16,
    pub last: u16,
    /// One slot per port of the range.
    pub(super) slots: Vec<Option<ElemExt>>,
    pub(super) len: usize,
}

impl BitmapPort {
    pub fn new(first: u16, last: u16) -> BitmapPort {
        BitmapPort {
            first,
            last,
            slots: vec![None; usize::from(last - first) + 1],
            len: 0,
        }
    }

    pub fn slot(&self, port: u16) -> Option<usize> {
        (self.first..=self.last)
            .contains(&port)
            .then(|| usize::from(port - self.first))
    }

    pub fn get(&self, port: u16) -> Option<&ElemExt> {
        self.slots.get(self.slot(port)?)?.as_ref()
    }

    pub fn lookup(&self, port: u16, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
        self.get(port)
            .map_or(Lookup::Miss, |e| match_extensions(e, flags, bytes, now_ns))
    }
}
