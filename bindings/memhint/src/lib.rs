//! Memory (and scheduler) hints safe Rust lacks. A table larger than the caches costs a cache miss and,
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

/// A zeroed `u64` array straight from the kernel (an anonymous mapping on Linux): its
/// pages cost no memory until touched, huge pages back it from 4 MiB (a conntrack index
/// sized for the default 262,144 connections is 8 MiB: on 4 KiB pages each lookup of a
/// small table also missed the TLB; S1 measured it), and dropping it
/// returns it to the kernel. A large heap block would instead become free memory the
/// allocator keeps resident after a table grows out of it (glibc serves blocks below
/// its dynamic mmap threshold, raised by every large free, from the heap).
pub struct ZeroedU64s {
    #[cfg(target_os = "linux")]
    ptr: core::ptr::NonNull<u64>,
    #[cfg(target_os = "linux")]
    len: usize,
    #[cfg(not(target_os = "linux"))]
    v: alloc::vec::Vec<u64>,
}

#[cfg(not(target_os = "linux"))]
extern crate alloc;

// SAFETY: `ZeroedU64s` owns its mapping exclusively, as a `Box<[u64]>` owns its block;
// shared access only reads.
#[cfg(target_os = "linux")]
unsafe impl Send for ZeroedU64s {}
// SAFETY: as above; `&ZeroedU64s` gives only `&[u64]`.
#[cfg(target_os = "linux")]
unsafe impl Sync for ZeroedU64s {}

impl ZeroedU64s {
    /// `len` zeros. Panics when the kernel has no memory for the mapping.
    #[cfg(target_os = "linux")]
    pub fn new(len: usize) -> ZeroedU64s {
        let bytes = len.checked_mul(8).expect("size in bytes").max(1);
        // SAFETY: a fresh private anonymous mapping aliases nothing; its pages read as
        // zeros, a valid u64 each.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "mmap of {bytes} bytes failed");
        let ptr = core::ptr::NonNull::new(p.cast::<u64>()).expect("mmap returned null");
        let z = ZeroedU64s { ptr, len };
        if bytes >= 2 * HUGE_PAGE {
            advise_huge_pages(&z);
        }
        z
    }

    #[cfg(not(target_os = "linux"))]
    pub fn new(len: usize) -> ZeroedU64s {
        ZeroedU64s {
            v: alloc::vec![0; len],
        }
    }
}

impl core::ops::Deref for ZeroedU64s {
    type Target = [u64];
    #[inline]
    fn deref(&self) -> &[u64] {
        #[cfg(target_os = "linux")]
        // SAFETY: `ptr` is the start of a live mapping of at least `len` u64s, all
        // initialised (zeros or written since), aligned (page aligned).
        return unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) };
        #[cfg(not(target_os = "linux"))]
        return &self.v;
    }
}

impl core::ops::DerefMut for ZeroedU64s {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u64] {
        #[cfg(target_os = "linux")]
        // SAFETY: as in `deref`, and `&mut self` makes this the only access.
        return unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) };
        #[cfg(not(target_os = "linux"))]
        return &mut self.v;
    }
}

#[cfg(target_os = "linux")]
impl Drop for ZeroedU64s {
    fn drop(&mut self) {
        let bytes = (self.len * 8).max(1);
        // SAFETY: the mapping `new` made, unmapped once; no reference to it outlives
        // `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), bytes);
        }
    }
}

/// Sets the calling thread's timer slack (`PR_SET_TIMERSLACK`): how late the kernel may
/// wake it from a sleep so that wake-ups can be grouped (50 µs by default). A worker that
/// sleeps when idle for a few microseconds (`[dataplane] max_sleep_us`) asks for 1 µs, as
/// OVS-DPDK's PMD threads do. False when refused; a no-op (false) off Linux.
pub fn set_timer_slack_ns(ns: u64) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_TIMERSLACK takes one integer argument by value and changes only
        // the calling thread's timer slack; no memory is passed to the kernel.
        let r = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0) };
        r == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = ns;
        false
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

    #[test]
    fn zeroed_reads_zeros_and_keeps_writes() {
        for len in [0, 2, 513, 3 << 20] {
            let mut z = super::ZeroedU64s::new(len);
            assert_eq!(z.len(), len);
            assert!(z.iter().all(|&x| x == 0));
            if len > 0 {
                z[len - 1] = 42;
                z[0] += 1;
                assert_eq!((z[0], z[len - 1]), (1, 42));
            }
        }
    }
}
