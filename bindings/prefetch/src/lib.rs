//! Software prefetch. Stable safe Rust has none, and a table larger than the caches
//! needs it: a burst's lookups issue their loads before any of them is needed, so the
//! misses overlap instead of being paid one after another.
#![no_std]

/// Asks the CPU to bring the cache line holding `x` into every cache level. A hint only:
/// it changes no value, never faults, and costs one instruction. A no-op off x86_64.
#[inline(always)]
pub fn prefetch_read<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` only hints the cache hierarchy: it performs no architectural
    // memory access and cannot fault (the address comes from a live reference anyway).
    // SSE, which provides it, is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefetch_changes_nothing() {
        let v = [1u64, 2, 3];
        super::prefetch_read(&v[1]);
        super::prefetch_read(&v);
        assert_eq!(v, [1, 2, 3]);
    }
}
