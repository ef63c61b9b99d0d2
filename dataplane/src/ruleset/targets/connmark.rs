//! `-j CONNMARK`: set the connection mark, or copy between packet and connection mark.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnmarkTarget {
    /// `ctmark = (ctmark & !mask) ^ value`.
    SetXmark { value: u32, mask: u32 },
    /// `ctmark = (ctmark & !ctmask) ^ (nfmark & nfmask)`.
    Save { nfmask: u32, ctmask: u32 },
    /// `nfmark = (nfmark & !nfmask) ^ (ctmark & ctmask)`.
    Restore { nfmask: u32, ctmask: u32 },
}
