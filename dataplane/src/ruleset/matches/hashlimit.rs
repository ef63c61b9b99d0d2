//! `-m hashlimit`: a token bucket per hashed group of packets (xt_hashlimit rev 1+).

/// Hash keys (`--hashlimit-mode`), printed in this order.
pub mod mode {
    pub const SRCIP: u32 = 1 << 0;
    pub const SRCPORT: u32 = 1 << 1;
    pub const DSTIP: u32 = 1 << 2;
    pub const DSTPORT: u32 = 1 << 3;
    pub const NAMES: [(&str, u32); 4] = [
        ("srcip", SRCIP),
        ("srcport", SRCPORT),
        ("dstip", DSTIP),
        ("dstport", DSTPORT),
    ];
}

pub const DEFAULT_BURST: u32 = 5;
pub const DEFAULT_GC_MS: u32 = 1_000;
/// The scale of `avg`: periods are kept in microseconds.
pub const SCALE: u64 = 1_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashlimitMatch {
    pub name: String,
    /// `--hashlimit-above` (true) or `--hashlimit-upto`.
    pub above: bool,
    /// Average period between packets in microseconds (XT_HASHLIMIT_SCALE_v2).
    pub avg: u64,
    pub burst: u32,
    pub mode: u32,
    pub srcmask: u8,
    pub dstmask: u8,
    pub htable_size: u32,
    pub htable_max: u32,
    pub gc_interval: u32,
    pub expire: u32,
}
