//! nfdp's load-testing tools as a library: the packet generator engine (`pktgen`), shared
//! by the `nfdp-pktgen` binary, the benchmark suite and the tests, and a small JSON writer.

pub mod json;
pub mod pktgen;
#[cfg(feature = "dpdk")]
pub mod suite;

/// Resident memory in bytes (Linux /proc/self/statm).
pub fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The middle value of repeated measurements (the upper one of an even count); 0 for none.
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
