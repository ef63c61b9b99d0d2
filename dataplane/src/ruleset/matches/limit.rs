//! `-m limit`: a token bucket shared by all packets of the rule (xt_limit).

/// XT_LIMIT_SCALE: the period is kept in 1/10000 s per packet.
pub const LIMIT_SCALE: u32 = 10000;
pub const DEFAULT_BURST: u32 = 5;
/// The default `--limit 3/hour`.
pub const DEFAULT_AVG: u32 = LIMIT_SCALE * 3600 / 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitMatch {
    /// Average period between packets in 1/10000 s (`--limit 3/hour` = 12_000_000).
    pub avg: u32,
    pub burst: u32,
}

impl Default for LimitMatch {
    fn default() -> Self {
        LimitMatch {
            avg: DEFAULT_AVG,
            burst: DEFAULT_BURST,
        }
    }
}

/// The units of `N/unit` in the order iptables tries them when printing, with their
/// period in 1/10000 s.
pub const RATE_UNITS: [(&str, u32); 4] = [
    ("day", LIMIT_SCALE * 24 * 60 * 60),
    ("hour", LIMIT_SCALE * 60 * 60),
    ("min", LIMIT_SCALE * 60),
    ("sec", LIMIT_SCALE),
];
