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
/// XT_HASHLIMIT_BYTE_SHIFT: byte rates are counted in 16-byte units.
pub const BYTE_SHIFT: u32 = 4;
/// Default expiry of byte-rate entries (XT_HASHLIMIT_BYTE_EXPIRE, in ms).
pub const BYTE_EXPIRE_MS: u32 = 15_000;

/// Bytes per second to the kernel's cost per unit (libxt_hashlimit's `bytes_to_cost`).
pub fn bytes_to_cost(bytes: u64) -> u64 {
    let r = (bytes >> BYTE_SHIFT) as u32;
    u64::from(u32::MAX / r.saturating_add(1))
}

/// The inverse, rounded as iptables rounds it (`cost_to_bytes`).
pub fn cost_to_bytes(cost: u64) -> u64 {
    let r = u64::from(u32::MAX)
        .checked_div(cost)
        .map_or(u32::MAX, |q| q as u32);
    u64::from(r.saturating_sub(1)) << BYTE_SHIFT
}

impl HashlimitMatch {
    pub fn validate(&self) -> Result<(), String> {
        if self.avg == 0 || self.avg > u64::from(u32::MAX) {
            return Err("hashlimit: rate out of range (Numerical result out of range)".into());
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashlimitMatch {
    pub name: String,
    /// `--hashlimit-above` (true) or `--hashlimit-upto`.
    pub above: bool,
    /// A byte rate (`1mb/s`): `avg` is then the kernel's per-byte cost and `burst` a
    /// multiple of the rate (0 = none given).
    pub bytes: bool,
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
