//! IPv4 reassembly before conntrack (nf_defrag_ipv4, ip_fragment.c) and fragmentation on
//! output (ip_fragment): conntrack and NAT only ever see whole datagrams, and what leaves
//! is cut again to the egress MTU, never into pieces larger than the largest fragment that
//! arrived.

use hashbrown::HashMap;
use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// ipfrag_time: an incomplete datagram is dropped after 30 s.
pub const FRAG_TIMEOUT_NS: u64 = 30 * 1_000_000_000;
/// ipfrag_high_thresh: bytes held in incomplete datagrams at most (4 MiB), each fragment
/// charged its payload and `FRAG_TRUESIZE`.
pub const FRAG_MEMORY: usize = 4 * 1024 * 1024;
/// What a held fragment costs beyond its payload (the kernel charges an skb's truesize):
/// its datagram's map slot, the part list, the header copy, the allocator's rounding.
/// Measured with a flood of one-fragment datagrams of 8 bytes: about 400 bytes of RSS
/// each; charging the payload alone let 524,288 of them (over 200 MB) count as 4 MiB.
pub const FRAG_TRUESIZE: usize = 512;
/// Fragments per datagram at most (bounds the work an attacker can cause per datagram).
pub const MAX_FRAGMENTS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ident: u16,
}

#[derive(Debug, Default)]
struct Queue {
    /// (byte offset, payload), kept sorted by offset.
    parts: Vec<(usize, Vec<u8>)>,
    /// The first fragment's header (offset 0), once seen.
    header: Option<Vec<u8>>,
    /// The payload length, once the last fragment (MF clear) is seen.
    total: Option<usize>,
    bytes: usize,
    max_frag: usize,
    first_ns: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    pub reassembled: u64,
    /// Datagrams dropped: overlapping fragments, too many fragments, bad lengths.
    pub failed: u64,
    pub timeouts: u64,
    /// Fragments dropped because the memory limit was reached.
    pub memory_drops: u64,
    /// Incomplete datagrams dropped, oldest first, to make room for a new fragment when
    /// the memory limit was reached (as the kernel's inet_frag_evictor did before 4.17):
    /// a flood of fragments that never complete cannot keep real datagrams, whose
    /// fragments arrive close together, from being reassembled.
    pub evicted: u64,
    pub duplicates: u64,
}

/// What `Defrag::push` made of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Reassembly {
    /// Not a fragment: go on with it unchanged.
    NotFragment,
    /// Held until the rest arrives.
    Held,
    /// The whole datagram, and the size of the largest fragment it came in.
    Complete(Vec<u8>, usize),
    /// Dropped (overlap, limits, malformed).
    Dropped,
}

#[derive(Default)]
pub struct Defrag {
    held: HeldDatagrams<Key, Queue>,
    pub stats: DefragStats,
}

/// Whether `parts` (sorted by offset) cover 0..`total` without holes.
pub(crate) fn covers(parts: &[(usize, Vec<u8>)], total: usize) -> bool {
    let mut covered = 0;
    for (o, p) in parts {
        if *o != covered {
            return false;
        }
        covered += p.len();
    }
    covered == total
}

/// Where a fragment goes in a datagram being reassembled, either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A new part: to be inserted.
    New,
    /// An exact copy of a part held: ignored.
    Duplicate,
    /// Inconsistent with what is held: the whole datagram is dropped.
    Fail,
}

/// Checks the fragment `payload` at `offset` (`more`: not the last) against the parts
/// held and the datagram's `total` length, which the last fragment sets. A second,
/// different end is an inconsistency; an exact duplicate is ignored; any other overlap
/// drops the whole datagram, as Linux does since 4.19 for IPv4 and RFC 5722 asks for
/// IPv6 (overlaps are an attack, not a retransmission); so does a part beyond
/// `MAX_FRAGMENTS`.
pub(crate) fn place(
    total: &mut Option<usize>,
    parts: &[(usize, Vec<u8>)],
    offset: usize,
    payload: &[u8],
    more: bool,
) -> Place {
    let end = offset + payload.len();
    if !more {
        if total.is_some_and(|t| t != end) || parts.iter().any(|(o, p)| o + p.len() > end) {
            return Place::Fail;
        }
        *total = Some(end);
    } else if total.is_some_and(|t| end > t) {
        return Place::Fail;
    }
    for (o, p) in parts {
        let (a, b) = (*o, o + p.len());
        if a == offset && b == end && p.as_slice() == payload {
            return Place::Duplicate;
        }
        if offset < b && a < end {
            return Place::Fail;
        }
    }
    if parts.len() >= MAX_FRAGMENTS {
        return Place::Fail;
    }
    Place::New
}

/// What the reassembly tables (IPv4's here, IPv6's in defrag6.rs) keep of a datagram in
/// the making, for the bookkeeping they share.
pub(crate) trait Held {
    /// Bytes charged against `FRAG_MEMORY`.
    fn charged(&self) -> usize;
    /// When its first fragment came.
    fn started_ns(&self) -> u64;
    /// An empty queue started at `now_ns`.
    fn start(now_ns: u64) -> Self;
}

/// Incomplete datagrams by key: their memory, their age order, their timeouts.
#[derive(Debug)]
pub(crate) struct HeldDatagrams<K, Q> {
    pub queues: HashMap<K, Q>,
    pub bytes: usize,
    /// The queues in the order they were started (entries of queues gone since are
    /// skipped, and pruned when they outnumber the live ones).
    pub order: VecDeque<(K, u64)>,
    /// No queue started before this (it may be older than the oldest left): `expire`
    /// has nothing to do until this is the timeout old.
    pub oldest_ns: u64,
}

impl<K, Q> Default for HeldDatagrams<K, Q> {
    fn default() -> Self {
        HeldDatagrams {
            queues: HashMap::new(),
            bytes: 0,
            order: VecDeque::new(),
            oldest_ns: 0,
        }
    }
}

impl<K: Copy + Eq + std::hash::Hash, Q: Held> HeldDatagrams<K, Q> {
    /// The queue of `key`'s datagram with room for `charge` more bytes (the oldest others
    /// evicted for it), started at `now_ns` if new; `None` (counted) when it cannot fit.
    pub fn admit(
        &mut self,
        key: K,
        charge: usize,
        now_ns: u64,
        stats: &mut DefragStats,
    ) -> Option<&mut Q> {
        if self.bytes + charge > FRAG_MEMORY && !self.evict(charge, key, stats) {
            stats.memory_drops += 1;
            return None;
        }
        if !self.queues.contains_key(&key) {
            if self.order.len() >= 2 * self.queues.len() + 64 {
                let queues = &self.queues;
                self.order
                    .retain(|(k, t)| queues.get(k).is_some_and(|q| q.started_ns() == *t));
            }
            self.order.push_back((key, now_ns));
            self.oldest_ns = if self.queues.is_empty() {
                now_ns
            } else {
                self.oldest_ns.min(now_ns)
            };
        }
        Some(self.queues.entry(key).or_insert_with(|| Q::start(now_ns)))
    }

    /// Drops the oldest incomplete datagrams (not `keep`'s) until `charge` more bytes
    /// fit; false if they cannot.
    pub fn evict(&mut self, charge: usize, keep: K, stats: &mut DefragStats) -> bool {
        let kept = self.queues.remove(&keep);
        while self.bytes + charge > FRAG_MEMORY {
            let Some((k, t)) = self.order.pop_front() else {
                break;
            };
            if self.queues.get(&k).is_some_and(|q| q.started_ns() == t) {
                if let Some(q) = self.queues.remove(&k) {
                    self.bytes -= q.charged();
                    stats.evicted += 1;
                }
            }
        }
        if let Some(q) = kept {
            self.order.push_back((keep, q.started_ns()));
            self.queues.insert(keep, q);
        }
        self.bytes + charge <= FRAG_MEMORY
    }

    /// Forgets a datagram that failed, counting it.
    pub fn fail(&mut self, key: K, stats: &mut DefragStats) {
        if let Some(q) = self.queues.remove(&key) {
            self.bytes -= q.charged();
        }
        stats.failed += 1;
    }

    /// Drops datagrams that waited `timeout_ns` or longer.
    pub fn expire(&mut self, now_ns: u64, timeout_ns: u64, stats: &mut DefragStats) {
        // Called per packet: skip the scan when no queue can be due yet.
        if self.queues.is_empty() || now_ns.saturating_sub(self.oldest_ns) < timeout_ns {
            return;
        }
        let before = self.queues.len();
        let mut freed = 0;
        let mut oldest = u64::MAX;
        self.queues.retain(|_, q| {
            let keep = now_ns.saturating_sub(q.started_ns()) < timeout_ns;
            if !keep {
                freed += q.charged();
            } else {
                oldest = oldest.min(q.started_ns());
            }
            keep
        });
        self.oldest_ns = oldest;
        self.bytes -= freed;
        let queues = &self.queues;
        self.order
            .retain(|(k, t)| queues.get(k).is_some_and(|q| q.started_ns() == *t));
        stats.timeouts += (before - self.queues.len()) as u64;
    }
}

impl Held for Queue {
    fn charged(&self) -> usize {
        self.bytes
    }
    fn started_ns(&self) -> u64 {
        self.first_ns
    }
    fn start(now_ns: u64) -> Queue {
        Queue {
            first_ns: now_ns,
            ..Default::default()
        }
    }
}

impl Defrag {
    /// Offers a packet (a whole IPv4 packet, trimmed to its total length).
    pub fn push(&mut self, ip: &[u8], now_ns: u64) -> Reassembly {
        self.expire(now_ns);
        if ip.len() < 20 {
            return Reassembly::NotFragment;
        }
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        let more = frag & 0x2000 != 0;
        let offset = usize::from(frag & 0x1fff) * 8;
        if !more && offset == 0 {
            return Reassembly::NotFragment;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ihl < 20 || ip.len() < ihl {
            return Reassembly::Dropped;
        }
        let payload = &ip[ihl..];
        let key = Key {
            src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            proto: ip[9],
            ident: u16::from_be_bytes([ip[4], ip[5]]),
        };
        // Every fragment but the last carries a multiple of 8 bytes; the datagram fits
        // in 64 KiB.
        if (more && (payload.is_empty() || !payload.len().is_multiple_of(8)))
            || offset + payload.len() > 65535 - ihl
        {
            return self.fail(key);
        }
        let charge = payload.len() + FRAG_TRUESIZE;
        let Some(q) = self.held.admit(key, charge, now_ns, &mut self.stats) else {
            return Reassembly::Dropped;
        };
        match place(&mut q.total, &q.parts, offset, payload, more) {
            Place::New => {}
            Place::Duplicate => {
                self.stats.duplicates += 1;
                return Reassembly::Held;
            }
            Place::Fail => return self.fail(key),
        }
        if offset == 0 {
            q.header = Some(ip[..ihl].to_vec());
        }
        let at = q.parts.partition_point(|(o, _)| *o < offset);
        q.parts.insert(at, (offset, payload.to_vec()));
        q.bytes += charge;
        q.max_frag = q.max_frag.max(ip.len());
        let complete = q.header.is_some() && q.total.is_some_and(|t| covers(&q.parts, t));
        self.held.bytes += charge;
        if !complete {
            return Reassembly::Held;
        }
        let Some(q) = self.held.queues.remove(&key) else {
            return Reassembly::Held;
        };
        self.held.bytes -= q.bytes;
        let header = q.header.unwrap_or_default();
        let mut whole = header;
        let hlen = whole.len();
        for (_, p) in &q.parts {
            whole.extend_from_slice(p);
        }
        let len = whole.len() as u16;
        whole[2..4].copy_from_slice(&len.to_be_bytes());
        let df = whole[6] & 0x40;
        whole[6] = df;
        whole[7] = 0;
        whole[10] = 0;
        whole[11] = 0;
        let c = !crate::wire::checksum::data(&whole[..hlen]);
        whole[10..12].copy_from_slice(&c.to_be_bytes());
        self.stats.reassembled += 1;
        Reassembly::Complete(whole, q.max_frag)
    }

    fn fail(&mut self, key: Key) -> Reassembly {
        self.held.fail(key, &mut self.stats);
        Reassembly::Dropped
    }

    /// Drops datagrams that waited longer than `FRAG_TIMEOUT_NS`.
    pub fn expire(&mut self, now_ns: u64) {
        self.held.expire(now_ns, FRAG_TIMEOUT_NS, &mut self.stats);
    }

    pub fn pending(&self) -> usize {
        self.held.queues.len()
    }

    /// Bytes held in incomplete datagrams (what `FRAG_MEMORY` bounds).
    pub fn memory(&self) -> usize {
        self.held.bytes
    }
}

/// Cuts `ip` into fragments of at most `mtu` bytes (ip_fragment): the first keeps the
/// options, later ones carry the 20-byte header; offsets in 8-byte units; MF on all but
/// the last (and on the last too when the datagram was itself a non-final fragment).
pub fn fragment(ip: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let payload = &ip[ihl..];
    let base_frag = u16::from_be_bytes([ip[6], ip[7]]);
    let base_off = usize::from(base_frag & 0x1fff) * 8;
    let base_more = base_frag & 0x2000 != 0;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < payload.len() {
        let hlen = if pos == 0 { ihl } else { 20 };
        let room = (mtu.saturating_sub(hlen)) & !7;
        let room = room.max(8);
        let take = room.min(payload.len() - pos);
        let last = pos + take == payload.len();
        let mut f = Vec::with_capacity(hlen + take);
        f.extend_from_slice(&ip[..20]);
        if pos == 0 {
            f.extend_from_slice(&ip[20..ihl]);
        }
        f[0] = 0x40 | (hlen / 4) as u8;
        f.extend_from_slice(&payload[pos..pos + take]);
        let len = f.len() as u16;
        f[2..4].copy_from_slice(&len.to_be_bytes());
        let off = ((base_off + pos) / 8) as u16;
        let mf = if !last || base_more { 0x2000 } else { 0 };
        let fl = (base_frag & 0x4000) | mf | off;
        f[6..8].copy_from_slice(&fl.to_be_bytes());
        f[10] = 0;
        f[11] = 0;
        let c = !crate::wire::checksum::data(&f[..hlen]);
        f[10..12].copy_from_slice(&c.to_be_bytes());
        out.push(f);
        pos += take;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(len: usize) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend((0..len).map(|i| i as u8));
        let l = p.len() as u16;
        p[2..4].copy_from_slice(&l.to_be_bytes());
        let c = !crate::wire::checksum::data(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    #[test]
    fn fragment_then_reassemble_in_any_order() {
        let d = datagram(3000);
        let frags = fragment(&d, 1500);
        assert_eq!(frags.len(), 3);
        assert!(frags.iter().all(|f| f.len() <= 1500));
        assert_eq!(frags[0][6] & 0x20, 0x20);
        assert_eq!(frags[2][6] & 0x20, 0);
        let mut r = Defrag::default();
        assert_eq!(r.push(&frags[2], 0), Reassembly::Held);
        assert_eq!(r.push(&frags[0], 1), Reassembly::Held);
        assert_eq!(
            r.push(&frags[0], 1),
            Reassembly::Held,
            "exact duplicate ignored"
        );
        match r.push(&frags[1], 2) {
            Reassembly::Complete(whole, max) => {
                assert_eq!(whole, d);
                assert_eq!(max, 1500);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            (r.pending(), r.stats.reassembled, r.stats.duplicates),
            (0, 1, 1)
        );
    }

    #[test]
    fn overlaps_timeouts_and_limits() {
        let d = datagram(3000);
        let frags = fragment(&d, 1500);
        let mut r = Defrag::default();
        r.push(&frags[0], 0);
        // A different fragment covering part of the first: the datagram is dropped.
        let mut overlap = frags[1].clone();
        overlap[7] = 10; // offset 80 bytes, inside the first fragment
        overlap[6] |= 0x20;
        assert_eq!(r.push(&overlap, 0), Reassembly::Dropped);
        assert_eq!(r.pending(), 0);
        assert_eq!(r.push(&frags[1], 0), Reassembly::Held);
        r.expire(FRAG_TIMEOUT_NS + 1);
        assert_eq!((r.pending(), r.stats.timeouts), (0, 1));
        assert_eq!(r.push(&d, 0), Reassembly::NotFragment);
        // A middle fragment whose length is not a multiple of 8 is malformed.
        let mut odd = frags[0].clone();
        odd.truncate(odd.len() - 3);
        let l = odd.len() as u16;
        odd[2..4].copy_from_slice(&l.to_be_bytes());
        assert_eq!(r.push(&odd, 0), Reassembly::Dropped);
    }

    #[test]
    fn each_queue_times_out_after_its_own_first_fragment() {
        let sec = 1_000_000_000;
        let a = fragment(&datagram(3000), 1500);
        let mut b = fragment(&datagram(3000), 1500);
        for f in b.iter_mut() {
            f[5] ^= 1; // another IP id: another datagram
        }
        let mut r = Defrag::default();
        assert_eq!(r.push(&a[0], 5 * sec), Reassembly::Held);
        assert_eq!(r.push(&b[0], 20 * sec), Reassembly::Held);
        r.expire(5 * sec + FRAG_TIMEOUT_NS - 1);
        assert_eq!((r.pending(), r.stats.timeouts), (2, 0));
        r.expire(5 * sec + FRAG_TIMEOUT_NS);
        assert_eq!((r.pending(), r.stats.timeouts), (1, 1));
        r.expire(20 * sec + FRAG_TIMEOUT_NS - 1);
        assert_eq!((r.pending(), r.stats.timeouts), (1, 1));
        // A later fragment does not restart the survivor's clock; a new queue has its own.
        assert_eq!(
            r.push(&b[1], 20 * sec + FRAG_TIMEOUT_NS - 1),
            Reassembly::Held
        );
        assert_eq!(r.push(&a[0], 60 * sec), Reassembly::Held);
        assert_eq!((r.pending(), r.stats.timeouts), (1, 2));
        r.expire(60 * sec + FRAG_TIMEOUT_NS - 1);
        assert_eq!(r.pending(), 1);
        r.expire(60 * sec + FRAG_TIMEOUT_NS);
        assert_eq!((r.pending(), r.stats.timeouts), (0, 3));
    }

    #[test]
    fn a_flood_of_incomplete_datagrams_is_bounded_and_evicted_oldest_first() {
        let mut r = Defrag::default();
        // One-fragment datagrams of 8 bytes (MF set, never completed), ids 0..
        let tiny = |id: u32| {
            let mut f = vec![0u8; 28];
            f[0] = 0x45;
            f[2..4].copy_from_slice(&28u16.to_be_bytes());
            f[4..6].copy_from_slice(&(id as u16).to_be_bytes());
            f[6] = 0x20;
            f[9] = 17;
            f[12..16].copy_from_slice(&(0x6440_0000u32 + (id >> 16)).to_be_bytes());
            f[16..20].copy_from_slice(&[198, 51, 100, 1]);
            f
        };
        let fit = FRAG_MEMORY / (8 + FRAG_TRUESIZE);
        for id in 0..(3 * fit) as u32 {
            assert_eq!(r.push(&tiny(id), u64::from(id)), Reassembly::Held);
            assert!(r.memory() <= FRAG_MEMORY);
            assert!(r.held.order.len() <= 2 * r.pending() + 64);
        }
        assert_eq!(r.pending(), fit);
        assert_eq!(r.stats.evicted, 2 * fit as u64);
        assert_eq!(r.stats.memory_drops, 0);
        // The newest survive; a real datagram still goes through.
        let d = datagram(3000);
        let frags = fragment(&d, 1500);
        let now = 3 * fit as u64;
        let (last, first) = frags.split_last().expect("fragments");
        for f in first {
            assert_eq!(r.push(f, now), Reassembly::Held);
        }
        assert!(matches!(r.push(last, now), Reassembly::Complete(..)));
        assert!(r.memory() <= FRAG_MEMORY);
        assert_eq!(r.stats.timeouts, 0);
    }
}
