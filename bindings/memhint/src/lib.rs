//! Memory hints safe Rust lacks. A table larger than the caches costs a cache miss and,
//! with 4 KiB pages, a page walk per random access: prefetch lets a burst's lookups have
//! their misses in flight together, and huge pages take the page walks away.
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

/// The huge page size `advise_huge_pages` works in.
pub const HUGE_PAGE: usize = 2 << 20;

/// Asks the kernel to back the 2 MiB-aligned part of `mem` (its capacity: pass the
/// spare capacity too) with transparent huge pages (`MADV_HUGEPAGE`; effective where
/// THP is `madvise` or `always`). Best before the memory is first touched. Contents are
/// unchanged; a refusal is ignored (it is only a hint). A no-op off Linux.
pub fn advise_huge_pages<T>(mem: &[T]) {
    let start = mem.as_ptr() as usize;
    let end = start + core::mem::size_of_val(mem);
    let from = start.next_multiple_of(HUGE_PAGE);
    let to = end & !(HUGE_PAGE - 1);
    if to <= from {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies inside `mem`, memory this process owns and keeps mapped
    // while the borrow lasts, and is page aligned; MADV_HUGEPAGE changes only how the
    // kernel backs it, never its contents or its mapping.
    unsafe {
        libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn hints_change_nothing() {
        let v = [1u64, 2, 3];
        super::prefetch_read(&v[1]);
        super::prefetch_read(&v);
        assert_eq!(v, [1, 2, 3]);
        let mut big: Vec<u64> = Vec::with_capacity(1 << 20);
        super::advise_huge_pages(big.spare_capacity_mut());
        big.extend(0..1 << 20);
        assert_eq!(big[12345], 12345);
        let small = [7u32; 16];
        super::advise_huge_pages(&small);
        assert_eq!(small, [7; 16]);
    }
}
