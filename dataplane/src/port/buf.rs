//! Owned packet buffers with headroom, and a free-list pool that recycles them so the fast path
//! does not allocate per packet. With DPDK a received packet stays in its mbuf (the buffer
//! *is* the mbuf: edited in place, transmitted as it is, returned to its mempool when
//! dropped); in-memory ports and generated packets use a heap store behind the same type.

use super::PortId;

/// Room kept in front of received data, as DPDK's `RTE_PKTMBUF_HEADROOM`: enough to push an
/// encapsulation or build an ICMP error around a packet without moving it.
pub const DEFAULT_HEADROOM: usize = 128;
/// Total size of a pooled buffer (headroom included): a full 1500-byte frame plus room to grow.
pub const DEFAULT_BUF_SIZE: usize = 2048;

/// Checksums the NIC verified on receive (DPDK's `RTE_MBUF_F_RX_*_CKSUM_GOOD`), so the
/// pipeline need not sum them again. Only "good" is kept: anything else is checked in
/// software, which also finds the bad ones. Used once, at ingress, then cleared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxChecksum {
    pub ip_good: bool,
    pub l4_good: bool,
}

/// Where a packet's bytes live.
#[derive(Debug)]
enum Store {
    Heap(Vec<u8>),
    /// The mbuf it was received in (whole buffer: headroom, data, tailroom).
    #[cfg(feature = "dpdk")]
    Mbuf(super::dpdk::Mbuf),
}

impl Store {
    #[inline]
    fn bytes(&self) -> &[u8] {
        match self {
            Store::Heap(v) => v,
            #[cfg(feature = "dpdk")]
            Store::Mbuf(m) => m.buffer(),
        }
    }

    #[inline]
    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Store::Heap(v) => v,
            #[cfg(feature = "dpdk")]
            Store::Mbuf(m) => m.buffer_mut(),
        }
    }

    /// The heap vector, copying an mbuf's buffer into one first (growth past the buffer).
    fn heap(&mut self) -> &mut Vec<u8> {
        #[cfg(feature = "dpdk")]
        if let Store::Mbuf(m) = self {
            *self = Store::Heap(m.buffer().to_vec());
        }
        match self {
            Store::Heap(v) => v,
            #[cfg(feature = "dpdk")]
            Store::Mbuf(_) => unreachable!("converted above"),
        }
    }
}

/// A copy never shares the mbuf: it lives on the heap.
impl Clone for Store {
    fn clone(&self) -> Store {
        Store::Heap(self.bytes().to_vec())
    }
}

impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Store {}

/// The most bytes a buffer's backing store holds: offsets are kept in 32 bits, so that a
/// `PacketBuf` is 64 bytes (it is moved by value through every stage of a packet's path);
/// a frame is at most 64 KiB.
const MAX_STORE: usize = u32::MAX as usize;

/// A position or length within a backing store (at most `MAX_STORE`).
#[inline(always)]
fn pos(n: usize) -> u32 {
    debug_assert!(n <= MAX_STORE);
    n as u32
}

/// One packet: a fixed backing store with the frame at `[off, off + len)`, plus the metadata
/// the pipeline carries along. Growing at either end within the backing store never
/// reallocates; growing past it does (a slow path that keeps correctness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketBuf {
    store: Store,
    off: u32,
    len: u32,
    /// Headroom restored by `reset` (the pool's setting).
    default_headroom: u32,
    /// Ingress port.
    pub port: PortId,
    /// Ingress rx queue.
    pub queue: u16,
    /// Receive time in nanoseconds of the caller's monotonic clock (0 if unknown).
    pub timestamp_ns: u64,
    /// The packet mark (`-j MARK`, `-m mark`, policy routing).
    pub mark: u32,
    /// What the NIC verified on receive.
    pub rx_csum: RxChecksum,
}

impl PacketBuf {
    /// An empty buffer with `size` bytes of backing store and `headroom` reserved in front.
    /// A headroom larger than `size` is clamped to `size`.
    pub fn new(size: usize, headroom: usize) -> Self {
        let size = size.min(MAX_STORE);
        let headroom = pos(headroom.min(size));
        PacketBuf {
            store: Store::Heap(vec![0; size]),
            off: headroom,
            len: 0,
            default_headroom: headroom,
            port: PortId(0),
            queue: 0,
            timestamp_ns: 0,
            mark: 0,
            rx_csum: RxChecksum::default(),
        }
    }

    /// A buffer holding a copy of `data` with the default headroom, sized to fit whatever
    /// `data`'s length (test and injection path; allocates).
    pub fn from_slice(data: &[u8]) -> Self {
        let size = DEFAULT_BUF_SIZE.max(DEFAULT_HEADROOM + data.len());
        let mut b = PacketBuf::new(size, DEFAULT_HEADROOM);
        let off = b.headroom();
        b.store.bytes_mut()[off..off + data.len()].copy_from_slice(data);
        b.len = pos(data.len());
        b
    }

    /// A packet received in `mbuf`, its data at `[off, off + len)` of the buffer (checked).
    #[cfg(feature = "dpdk")]
    pub(crate) fn from_mbuf(mbuf: super::dpdk::Mbuf, off: usize, len: usize) -> Option<Self> {
        if off + len > mbuf.buffer().len() {
            return None;
        }
        let off = pos(off);
        Some(PacketBuf {
            store: Store::Mbuf(mbuf),
            off,
            len: pos(len),
            default_headroom: off,
            port: PortId(0),
            queue: 0,
            timestamp_ns: 0,
            mark: 0,
            rx_csum: RxChecksum::default(),
        })
    }

    /// The mbuf the packet lives in, if it does.
    #[cfg(feature = "dpdk")]
    pub(crate) fn mbuf_mut(&mut self) -> Option<&mut super::dpdk::Mbuf> {
        match &mut self.store {
            Store::Mbuf(m) => Some(m),
            Store::Heap(_) => None,
        }
    }

    /// Gives up the mbuf the packet lives in without freeing it (the driver took it); the
    /// buffer is left empty. Nothing for a heap buffer.
    #[cfg(feature = "dpdk")]
    #[inline]
    pub(crate) fn release_mbuf(&mut self) {
        if let Store::Mbuf(_) = self.store {
            if let Store::Mbuf(m) = std::mem::replace(&mut self.store, Store::Heap(Vec::new())) {
                m.release();
            }
            (self.off, self.len) = (0, 0);
        }
    }

    /// Moves the packet out, leaving an empty buffer (no allocation) behind: for a path
    /// that works on a packet in place and hands it on at the end.
    #[inline]
    pub fn take(&mut self) -> PacketBuf {
        // What `new(0, 0)` makes, without its zero-length `vec!`.
        let empty = PacketBuf {
            store: Store::Heap(Vec::new()),
            off: 0,
            len: 0,
            default_headroom: 0,
            port: PortId(0),
            queue: 0,
            timestamp_ns: 0,
            mark: 0,
            rx_csum: RxChecksum::default(),
        };
        std::mem::replace(self, empty)
    }

    /// Moves the bytes out of their mbuf (if they live in one) into a heap buffer and
    /// returns the mbuf to its pool: for packets held beyond the burst (waiting for ARP,
    /// handed to the host stack), so that holding them cannot drain the rx mempool.
    pub fn detach(&mut self) {
        self.store.heap();
    }

    /// Whether the bytes live in a DPDK mbuf (false for in-memory ports and copies).
    pub fn in_mbuf(&self) -> bool {
        match self.store {
            Store::Heap(_) => false,
            #[cfg(feature = "dpdk")]
            Store::Mbuf(_) => true,
        }
    }

    #[inline]
    pub fn data(&self) -> &[u8] {
        let (off, len) = (self.headroom(), self.len());
        &self.store.bytes()[off..off + len]
    }

    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let (off, len) = (self.headroom(), self.len());
        &mut self.store.bytes_mut()[off..off + len]
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Free bytes in front of the data.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.off as usize
    }

    /// Free bytes after the data.
    pub fn tailroom(&self) -> usize {
        self.capacity() - self.headroom() - self.len()
    }

    /// Size of the backing store.
    pub fn capacity(&self) -> usize {
        self.store.bytes().len()
    }

    /// Grows the data by `n` bytes at the front (a header push) and returns the new front
    /// bytes for the caller to fill. Uses headroom; only reallocates if there is not enough.
    #[inline(always)]
    pub fn prepend(&mut self, n: usize) -> &mut [u8] {
        if n > self.headroom() {
            self.grow_front(n);
        }
        // n <= off: fits in 32 bits.
        self.off -= n as u32;
        self.len += n as u32;
        let off = self.headroom();
        &mut self.store.bytes_mut()[off..off + n]
    }

    /// `prepend`'s slow path: rebuilds the store with room for `n` bytes in front plus
    /// the default headroom again.
    #[cold]
    #[inline(never)]
    fn grow_front(&mut self, n: usize) {
        let (off, len) = (self.headroom(), self.len());
        let extra = n - off + self.default_headroom as usize;
        let mut store = vec![0; self.capacity() + extra];
        store[off + extra..off + extra + len].copy_from_slice(self.data());
        self.store = Store::Heap(store);
        self.off = pos(off + extra);
    }

    /// Removes `n` bytes from the front (a header pull). Returns false, changing nothing, if
    /// the packet is shorter than `n`.
    pub fn pull(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        // n <= len: fits in 32 bits.
        self.off += n as u32;
        self.len -= n as u32;
        true
    }

    /// Grows the data by `n` bytes at the end and returns them for the caller to fill.
    /// Uses tailroom; only reallocates if there is not enough.
    pub fn append(&mut self, n: usize) -> &mut [u8] {
        let end = self.headroom() + self.len();
        if n > self.tailroom() {
            self.store.heap().resize(end + n, 0);
        }
        self.len = pos(self.len() + n);
        &mut self.store.bytes_mut()[end..end + n]
    }

    /// Appends a copy of `bytes`.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.append(bytes.len()).copy_from_slice(bytes);
    }

    /// Shortens the data to `len` bytes (no-op if already shorter).
    pub fn truncate(&mut self, len: usize) {
        self.len = pos(self.len().min(len));
    }

    /// Replaces the data with a copy of `bytes`, keeping the default headroom and the
    /// metadata.
    pub fn set_data(&mut self, bytes: &[u8]) {
        self.off = pos((self.default_headroom as usize).min(self.capacity()));
        self.len = 0;
        self.extend_from_slice(bytes);
    }

    /// Empties the buffer and clears the metadata, ready for reuse from a pool.
    pub fn reset(&mut self) {
        self.off = pos((self.default_headroom as usize).min(self.capacity()));
        self.len = 0;
        self.port = PortId(0);
        self.queue = 0;
        self.timestamp_ns = 0;
        self.mark = 0;
        self.rx_csum = RxChecksum::default();
    }
}

/// A fixed-size free list of equally sized buffers, like a DPDK mempool: `alloc` hands out a
/// recycled buffer and fails when all are in use, which bounds memory and makes a leak visible.
#[derive(Debug)]
pub struct PacketPool {
    free: Vec<PacketBuf>,
    size: usize,
    headroom: usize,
    total: usize,
    alloc_failures: u64,
}

impl PacketPool {
    /// Pre-allocates `count` buffers of `size` bytes with `headroom` bytes reserved.
    pub fn new(count: usize, size: usize, headroom: usize) -> Self {
        let free = (0..count).map(|_| PacketBuf::new(size, headroom)).collect();
        PacketPool {
            free,
            size,
            headroom: headroom.min(size),
            total: count,
            alloc_failures: 0,
        }
    }

    /// `count` buffers of the default size and headroom.
    pub fn with_defaults(count: usize) -> Self {
        Self::new(count, DEFAULT_BUF_SIZE, DEFAULT_HEADROOM)
    }

    /// A clean buffer, or `None` (counted) when the pool is exhausted.
    pub fn alloc(&mut self) -> Option<PacketBuf> {
        let b = self.free.pop();
        if b.is_none() {
            self.alloc_failures += 1;
        }
        b
    }

    /// Returns a buffer to the pool. Buffers of another shape (e.g. grown past the pool size,
    /// or not from this pool) are dropped instead, so the pool stays uniform; a pool that is
    /// already full drops the extra as well.
    pub fn free(&mut self, mut buf: PacketBuf) {
        // An mbuf goes back to its mempool (dropped here), never onto this list.
        if buf.in_mbuf()
            || buf.capacity() != self.size
            || buf.default_headroom as usize != self.headroom
            || self.free.len() >= self.total
        {
            return;
        }
        buf.reset();
        self.free.push(buf);
    }

    /// Returns every buffer in `bufs` to the pool (leaves `bufs` empty).
    pub fn free_all(&mut self, bufs: &mut Vec<PacketBuf>) {
        for b in bufs.drain(..) {
            self.free(b);
        }
    }

    /// Buffers ready to hand out.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Buffers the pool was created with.
    pub fn total(&self) -> usize {
        self.total
    }

    /// `alloc` calls that found the pool empty.
    pub fn alloc_failures(&self) -> u64 {
        self.alloc_failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_and_pull_use_headroom_without_reallocating() {
        let mut b = PacketBuf::new(256, 64);
        b.extend_from_slice(&[1, 2, 3, 4]);
        let cap = b.capacity();
        b.prepend(14).copy_from_slice(&[9; 14]);
        assert_eq!(b.len(), 18);
        assert_eq!(b.headroom(), 50);
        assert_eq!(b.capacity(), cap);
        assert_eq!(&b.data()[..14], &[9; 14]);
        assert_eq!(&b.data()[14..], &[1, 2, 3, 4]);
        assert!(b.pull(14));
        assert_eq!(b.data(), &[1, 2, 3, 4]);
        assert!(!b.pull(5));
        assert_eq!(b.data(), &[1, 2, 3, 4]);
    }

    #[test]
    fn growth_past_the_store_keeps_data() {
        let mut b = PacketBuf::new(16, 4);
        b.extend_from_slice(&[7; 10]);
        b.prepend(8).fill(1);
        assert_eq!(b.len(), 18);
        assert_eq!(&b.data()[..8], &[1; 8]);
        assert_eq!(&b.data()[8..], &[7; 10]);
        assert!(b.headroom() >= 4);
        b.append(100).fill(2);
        assert_eq!(b.len(), 118);
        assert_eq!(b.data()[117], 2);
        b.truncate(8);
        assert_eq!(b.data(), &[1; 8]);
    }

    #[test]
    fn a_buffer_is_one_cache_line_and_take_leaves_an_empty_one() {
        // Moved by value at every stage of a packet's path: 32-bit offsets keep it small.
        #[cfg(target_pointer_width = "64")]
        assert!(std::mem::size_of::<PacketBuf>() <= 64);
        let mut b = PacketBuf::from_slice(&[5; 60]);
        b.mark = 7;
        let taken = b.take();
        assert_eq!(taken.data(), &[5; 60][..]);
        assert_eq!(taken.mark, 7);
        assert_eq!(b, PacketBuf::new(0, 0));
        assert!(b.is_empty());
        // The emptied buffer still grows like any other.
        b.prepend(3).copy_from_slice(&[1, 2, 3]);
        assert_eq!(b.data(), &[1, 2, 3]);
    }

    #[test]
    fn pool_recycles_and_bounds() {
        let mut p = PacketPool::new(2, 512, 64);
        let mut a = p.alloc().unwrap();
        let b = p.alloc().unwrap();
        assert!(p.alloc().is_none());
        assert_eq!(p.alloc_failures(), 1);
        a.extend_from_slice(b"hello");
        a.mark = 7;
        a.pull(2);
        p.free(a);
        let a = p.alloc().unwrap();
        assert!(a.is_empty());
        assert_eq!(a.mark, 0);
        assert_eq!(a.headroom(), 64);
        p.free(a);
        p.free(b);
        // Not from this pool (other size): refused, so the pool never exceeds its size.
        p.free(PacketBuf::new(100, 0));
        assert_eq!(p.available(), 2);
    }
}
