//! IPv6 reassembly before conntrack (nf_defrag_ipv6, nf_conntrack_reasm.c) and cutting a
//! reassembled datagram again on output (ip6_fragment with `frag_max_size`). Limits and
//! stats are IPv4's (`defrag`), the timeout is nf_conntrack_frag6_timeout's.

use crate::defrag::{covers, place, DefragStats, Held, HeldDatagrams, Place, FRAG_TRUESIZE};
use crate::wire::ipv6::{next_header, ExtHeaders, FRAGMENT_HEADER_LEN, HEADER_LEN};
use std::net::Ipv6Addr;

/// nf_conntrack_frag6_timeout: an incomplete datagram is dropped after 60 s.
pub const FRAG6_TIMEOUT_NS: u64 = 60 * 1_000_000_000;
/// IPV6_MAXPLEN.
const MAX_PAYLOAD: usize = 65535;
/// fq_find's `iif` for what the appliance sends (the kernel's OUTPUT defrag user).
pub const IIF_OUTPUT: u32 = u32::MAX;

/// frag_v6_compare_key: addresses, identification, and the defrag user and interface
/// (`iif`: the receiving port, or `IIF_OUTPUT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ident: u32,
    iif: u32,
}

/// How a reassembled datagram was fragmented: what `fragment6` needs to cut it again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frag6 {
    /// The largest fragment that arrived (IPv6 header included): `frag_max_size`.
    pub max: usize,
    pub ident: u32,
    /// The unfragmentable part's length (what preceded the fragment header).
    pub unfrag: usize,
    /// Where the next-header byte that named the fragment header is.
    pub nhoff: usize,
}

/// What `Defrag6::push` made of a packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Reassembly6 {
    /// No fragment header, or a fragment the kernel lets through for conntrack to call
    /// INVALID: go on with it unchanged.
    NotFragment,
    Held,
    Dropped,
    /// The datagram, fragment header removed (an atomic fragment's too).
    Complete(Vec<u8>, Frag6),
}

#[derive(Debug, Default)]
struct Queue {
    /// (byte offset, payload), sorted by offset.
    parts: Vec<(usize, Vec<u8>)>,
    /// The first fragment's unfragmentable part, its next-header offset and the
    /// fragment header's next header.
    first: Option<(Vec<u8>, usize, u8)>,
    total: Option<usize>,
    bytes: usize,
    max_frag: usize,
    /// IPFRAG_ECN_* bits seen (ip6_frag_ecn).
    ecn: u8,
    first_ns: u64,
}

#[derive(Default)]
pub struct Defrag6 {
    held: HeldDatagrams<Key, Queue>,
    pub stats: DefragStats,
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

/// Where the fragment header is: (its offset, the offset of the next-header byte naming
/// it), walking hop-by-hop, routing, destination options and AH as find_prev_fhdr does.
fn find_fragment_header(ip: &[u8]) -> Option<(usize, usize)> {
    let mut nh = *ip.get(6)?;
    let mut nhoff = 6;
    let mut at = HEADER_LEN;
    for _ in 0..crate::wire::ipv6::MAX_EXT_HEADERS {
        let len = match nh {
            next_header::FRAGMENT => return Some((at, nhoff)),
            next_header::AUTH => (usize::from(*ip.get(at + 1)?) + 2) * 4,
            next_header::HOP_BY_HOP | next_header::ROUTING | next_header::DST_OPTS => {
                (usize::from(*ip.get(at + 1)?) + 1) * 8
            }
            _ => return None,
        };
        nh = *ip.get(at)?;
        nhoff = at;
        at += len;
    }
    None
}

/// The transport header's minimum length (ipv6frag_thdr_truncated).
fn transport_min(proto: u8) -> usize {
    match proto {
        6 => 20,
        17 | 136 => 8,
        58 => 4,
        _ => 0,
    }
}

impl Defrag6 {
    /// Offers an IPv6 packet (trimmed to its payload length) received on `iif`. Packets
    /// without extension headers cost one byte compare, and nothing is allocated.
    pub fn push(&mut self, ip: &[u8], iif: u32, now_ns: u64) -> Reassembly6 {
        if !ip.get(6).is_some_and(|&nh| {
            matches!(
                nh,
                next_header::FRAGMENT
                    | next_header::HOP_BY_HOP
                    | next_header::ROUTING
                    | next_header::DST_OPTS
                    | next_header::AUTH
            )
        }) {
            return Reassembly6::NotFragment;
        }
        self.expire(now_ns);
        // A jumbogram has no fragment header (nf_ct_frag6_gather).
        if ip.len() < HEADER_LEN || ip[4..6] == [0, 0] {
            return Reassembly6::NotFragment;
        }
        let end = (HEADER_LEN + usize::from(u16::from_be_bytes([ip[4], ip[5]]))).min(ip.len());
        let ip = &ip[..end];
        let Some((fhoff, nhoff)) = find_fragment_header(ip) else {
            return Reassembly6::NotFragment;
        };
        let Some(fh) = ip.get(fhoff..fhoff + FRAGMENT_HEADER_LEN) else {
            return Reassembly6::Dropped;
        };
        let off_m = u16::from_be_bytes([fh[2], fh[3]]);
        let offset = usize::from(off_m & !7);
        let more = off_m & 1 != 0;
        // RFC 8200 4.5: a first fragment must hold the upper-layer header; the kernel
        // lets one that does not through untouched (conntrack calls it INVALID).
        if offset == 0 {
            match ExtHeaders::parse(fh[0], &ip[fhoff + FRAGMENT_HEADER_LEN..]) {
                Ok(ext) => {
                    let at =
                        fhoff + FRAGMENT_HEADER_LEN + ext.upper_offset.unwrap_or(0) - HEADER_LEN;
                    if ext.upper_offset.is_some()
                        && at + transport_min(u8::from(ext.protocol)) > end
                    {
                        return Reassembly6::NotFragment;
                    }
                }
                Err(_) => return Reassembly6::NotFragment,
            }
        }
        let payload = &ip[fhoff + FRAGMENT_HEADER_LEN..];
        // RFC 6946: an atomic fragment is a datagram of its own. The kernel's queue
        // completes it at once: it goes on without its fragment header.
        if offset == 0 && !more {
            let mut whole = Vec::with_capacity(end - FRAGMENT_HEADER_LEN);
            whole.extend_from_slice(&ip[..fhoff]);
            whole.extend_from_slice(payload);
            whole[nhoff] = fh[0];
            let plen = (whole.len() - HEADER_LEN) as u16;
            whole[4..6].copy_from_slice(&plen.to_be_bytes());
            self.stats.reassembled += 1;
            let f = Frag6 {
                max: end,
                ident: u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]),
                unfrag: fhoff,
                nhoff,
            };
            return Reassembly6::Complete(whole, f);
        }
        let key = Key {
            src: Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap_or_default()),
            dst: Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap_or_default()),
            ident: u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]),
            iif,
        };
        let frag_end = offset + payload.len();
        // Past 64 KiB: this fragment is dropped, its queue kept (as the kernel does).
        if frag_end > MAX_PAYLOAD {
            self.stats.failed += 1;
            return Reassembly6::Dropped;
        }
        // A non-final fragment not a multiple of 8: the queue dies and the packet goes
        // on as it is (-EPROTO in nf_ct_frag6_queue).
        if more && !frag_end.is_multiple_of(8) {
            if let Some(q) = self.held.queues.remove(&key) {
                self.held.bytes -= q.bytes;
                self.stats.failed += 1;
            }
            return Reassembly6::NotFragment;
        }
        // An empty fragment is dropped, its queue kept.
        if payload.is_empty() {
            return Reassembly6::Dropped;
        }
        let charge = payload.len() + FRAG_TRUESIZE;
        let Some(q) = self.held.admit(key, charge, now_ns, &mut self.stats) else {
            return Reassembly6::Dropped;
        };
        // RFC 5722: an overlap drops the whole datagram; an exact duplicate is ignored
        // (the rule `Defrag` applies to IPv4).
        match place(&mut q.total, &q.parts, offset, payload, more) {
            Place::New => {}
            Place::Duplicate => {
                self.stats.duplicates += 1;
                return Reassembly6::Held;
            }
            Place::Fail => return self.fail(key),
        }
        if offset == 0 {
            q.first = Some((ip[..fhoff].to_vec(), nhoff, fh[0]));
        }
        // IPFRAG_ECN_NOT_ECT, _ECT_1, _ECT_0, _CE.
        q.ecn |= 1 << ((ip[1] >> 4) & 3);
        let at = q.parts.partition_point(|(o, _)| *o < offset);
        q.parts.insert(at, (offset, payload.to_vec()));
        q.bytes += charge;
        q.max_frag = q.max_frag.max(end);
        let complete = q.first.is_some() && q.total.is_some_and(|t| covers(&q.parts, t));
        self.held.bytes += charge;
        if !complete {
            return Reassembly6::Held;
        }
        let Some((q, Some(total))) = self.held.queues.get_mut(&key).map(|q| {
            let t = q.total;
            (q, t)
        }) else {
            return Reassembly6::Held;
        };
        // ip_frag_ecn_table: Not-ECT mixed with ECT or CE is invalid; CE with ECT is CE.
        let ecn = q.ecn;
        let (Some((unfrag, nhoff, nh)), false) = (q.first.take(), ecn & 1 != 0 && ecn != 1) else {
            return self.fail(key);
        };
        if unfrag.len() - HEADER_LEN + total > MAX_PAYLOAD {
            return self.fail(key);
        }
        let Some(q) = self.held.queues.remove(&key) else {
            return Reassembly6::Held;
        };
        self.held.bytes -= q.bytes;
        let mut whole = Vec::with_capacity(unfrag.len() + total);
        whole.extend_from_slice(&unfrag);
        for (_, p) in &q.parts {
            whole.extend_from_slice(p);
        }
        whole[nhoff] = nh;
        let plen = (whole.len() - HEADER_LEN) as u16;
        whole[4..6].copy_from_slice(&plen.to_be_bytes());
        if ecn & 8 != 0 {
            whole[1] |= 0x30;
        }
        self.stats.reassembled += 1;
        Reassembly6::Complete(
            whole,
            Frag6 {
                max: q.max_frag,
                ident: key.ident,
                unfrag: unfrag.len(),
                nhoff,
            },
        )
    }

    fn fail(&mut self, key: Key) -> Reassembly6 {
        self.held.fail(key, &mut self.stats);
        Reassembly6::Dropped
    }

    /// Drops datagrams that waited longer than `FRAG6_TIMEOUT_NS`.
    pub fn expire(&mut self, now_ns: u64) {
        self.held.expire(now_ns, FRAG6_TIMEOUT_NS, &mut self.stats);
    }

    pub fn pending(&self) -> usize {
        self.held.queues.len()
    }

    pub fn memory(&self) -> usize {
        self.held.bytes
    }
}

/// Cuts a reassembled datagram into fragments of at most `limit` bytes (ip6_fragment's
/// slow path): each carries the unfragmentable part and a fragment header with the
/// identification the datagram arrived with.
pub fn fragment6(whole: &[u8], limit: usize, f: Frag6) -> Vec<Vec<u8>> {
    let (Some(unfrag), Some(&nh)) = (whole.get(..f.unfrag), whole.get(f.nhoff)) else {
        return Vec::new();
    };
    if f.unfrag < HEADER_LEN || f.nhoff >= f.unfrag {
        return Vec::new();
    }
    let rest = &whole[f.unfrag..];
    let room = (limit.saturating_sub(f.unfrag + FRAGMENT_HEADER_LEN) & !7).max(8);
    let mut out = Vec::with_capacity(rest.len().div_ceil(room));
    let mut pos = 0;
    while pos < rest.len() {
        let take = room.min(rest.len() - pos);
        let more = pos + take < rest.len();
        let mut p = Vec::with_capacity(f.unfrag + FRAGMENT_HEADER_LEN + take);
        p.extend_from_slice(unfrag);
        p[f.nhoff] = next_header::FRAGMENT;
        let off_m = (pos as u16) | u16::from(more);
        p.extend_from_slice(&[nh, 0]);
        p.extend_from_slice(&off_m.to_be_bytes());
        p.extend_from_slice(&f.ident.to_be_bytes());
        p.extend_from_slice(&rest[pos..pos + take]);
        let plen = (p.len() - HEADER_LEN) as u16;
        p[4..6].copy_from_slice(&plen.to_be_bytes());
        out.push(p);
        pos += take;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defrag::FRAG_MEMORY;
    use crate::defrag::MAX_FRAGMENTS;

    const SEC: u64 = 1_000_000_000;

    /// A UDP datagram of `len` payload bytes behind a destination options header.
    fn datagram(len: usize, dst_opts: bool) -> Vec<u8> {
        let mut p = vec![0u8; HEADER_LEN];
        p[0] = 0x60;
        p[6] = if dst_opts { next_header::DST_OPTS } else { 17 };
        p[7] = 64;
        p[8] = 0x20;
        p[23] = 1;
        p[24] = 0x20;
        p[39] = 2;
        if dst_opts {
            p.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
        }
        let l = (8 + len) as u16;
        p.extend_from_slice(&[0x30, 0x39, 0, 53]);
        p.extend_from_slice(&l.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend((0..len).map(|i| (i * 7) as u8));
        let plen = (p.len() - HEADER_LEN) as u16;
        p[4..6].copy_from_slice(&plen.to_be_bytes());
        p
    }

    fn info(d: &[u8], max: usize) -> Frag6 {
        let ext = d[6] == next_header::DST_OPTS;
        Frag6 {
            max,
            ident: 0x1234_5678,
            unfrag: if ext { 48 } else { 40 },
            nhoff: if ext { 40 } else { 6 },
        }
    }

    fn complete(r: Reassembly6) -> (Vec<u8>, Frag6) {
        match r {
            Reassembly6::Complete(w, f) => (w, f),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fragment_then_reassemble_in_any_order() {
        for ext in [false, true] {
            let d = datagram(3000, ext);
            let f = info(&d, 1280);
            let frags = fragment6(&d, 1280, f);
            assert_eq!(frags.len(), 3);
            assert!(frags.iter().all(|p| p.len() <= 1280));
            let mut r = Defrag6::default();
            assert_eq!(r.push(&frags[2], 1, 0), Reassembly6::Held);
            assert_eq!(r.push(&frags[0], 1, 1), Reassembly6::Held);
            assert_eq!(r.push(&frags[0], 1, 1), Reassembly6::Held, "duplicate");
            // Same datagram, another port: another queue.
            assert_eq!(r.push(&frags[1], 2, 1), Reassembly6::Held);
            let (whole, got) = complete(r.push(&frags[1], 1, 2));
            assert_eq!(whole, d);
            assert_eq!(got, f);
            assert_eq!(
                (r.pending(), r.stats.reassembled, r.stats.duplicates),
                (1, 1, 1)
            );
            // Cut again as it came.
            assert_eq!(fragment6(&whole, got.max, got), frags);
        }
    }

    #[test]
    fn overlaps_drop_the_datagram_and_bad_lengths_are_refused() {
        let d = datagram(3000, false);
        let frags = fragment6(&d, 1280, info(&d, 1280));
        let mut r = Defrag6::default();
        assert_eq!(r.push(&frags[0], 0, 0), Reassembly6::Held);
        // Offset 80: inside the first fragment (RFC 5722).
        let mut overlap = frags[1].clone();
        overlap[42..44].copy_from_slice(&(80u16 | 1).to_be_bytes());
        assert_eq!(r.push(&overlap, 0, 0), Reassembly6::Dropped);
        assert_eq!((r.pending(), r.memory()), (0, 0));
        // The rest can no longer complete it.
        assert_eq!(r.push(&frags[1], 0, 0), Reassembly6::Held);
        assert_eq!(r.push(&frags[2], 0, 0), Reassembly6::Held);
        // A middle fragment not a multiple of 8 kills the queue and goes on as it is.
        let mut odd = frags[0].clone();
        odd.truncate(odd.len() - 3);
        let l = (odd.len() - HEADER_LEN) as u16;
        odd[4..6].copy_from_slice(&l.to_be_bytes());
        assert_eq!(r.push(&odd, 0, 0), Reassembly6::NotFragment);
        assert_eq!(r.pending(), 0);
        // Two different ends.
        assert_eq!(r.push(&frags[2], 0, 0), Reassembly6::Held);
        let mut end = frags[2].clone();
        end.truncate(end.len() - 8);
        let l = (end.len() - HEADER_LEN) as u16;
        end[4..6].copy_from_slice(&l.to_be_bytes());
        assert_eq!(r.push(&end, 0, 0), Reassembly6::Dropped);
        // Beyond 64 KiB.
        let mut far = frags[1].clone();
        far[42..44].copy_from_slice(&(65528u16 | 1).to_be_bytes());
        assert_eq!(r.push(&far, 0, 0), Reassembly6::Dropped);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn atomic_fragments_lose_their_header_and_plain_packets_pass() {
        let d = datagram(100, false);
        let mut r = Defrag6::default();
        assert_eq!(r.push(&d, 0, 0), Reassembly6::NotFragment);
        let mut atomic = fragment6(&d, 1500, info(&d, 1500));
        assert_eq!(atomic.len(), 1);
        assert_eq!(atomic[0][40], 17);
        // Completed at once, its fragment header removed; never queued.
        let (whole, f) = complete(r.push(&atomic[0], 0, 0));
        assert_eq!(whole, d);
        assert_eq!(f.max, d.len() + 8);
        assert_eq!(r.pending(), 0);
        // A first fragment without its whole UDP header passes as it is.
        let a = &mut atomic[0];
        a.truncate(HEADER_LEN + 8 + 4);
        a[42..44].copy_from_slice(&1u16.to_be_bytes());
        a[4..6].copy_from_slice(&12u16.to_be_bytes());
        assert_eq!(r.push(a, 0, 0), Reassembly6::NotFragment);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn ecn_marks_combine_as_ip_frag_ecn_table_says() {
        let d = datagram(3000, false);
        let frags = fragment6(&d, 1280, info(&d, 1280));
        let with = |f: &[u8], ecn: u8| {
            let mut f = f.to_vec();
            f[1] = (f[1] & !0x30) | (ecn << 4);
            f
        };
        // ECT(0) and CE: the datagram is CE.
        let mut r = Defrag6::default();
        r.push(&with(&frags[0], 2), 0, 0);
        r.push(&with(&frags[1], 3), 0, 0);
        let (whole, _) = complete(r.push(&with(&frags[2], 2), 0, 0));
        assert_eq!((whole[1] >> 4) & 3, 3);
        assert_eq!(&whole[2..], &d[2..]);
        // Not-ECT mixed with ECT(1): dropped.
        r.push(&with(&frags[0], 0), 0, 0);
        r.push(&with(&frags[1], 1), 0, 0);
        assert_eq!(r.push(&frags[2], 0, 0), Reassembly6::Dropped);
        assert_eq!((r.pending(), r.memory()), (0, 0));
    }

    #[test]
    fn queues_time_out_after_60_seconds_from_their_first_fragment() {
        let d = datagram(3000, false);
        let frags = fragment6(&d, 1280, info(&d, 1280));
        let mut r = Defrag6::default();
        assert_eq!(r.push(&frags[0], 0, 5 * SEC), Reassembly6::Held);
        r.expire(5 * SEC + FRAG6_TIMEOUT_NS - 1);
        assert_eq!(r.pending(), 1);
        assert_eq!(
            r.push(&frags[1], 0, 5 * SEC + FRAG6_TIMEOUT_NS - 1),
            Reassembly6::Held
        );
        r.expire(5 * SEC + FRAG6_TIMEOUT_NS);
        assert_eq!((r.pending(), r.memory(), r.stats.timeouts), (0, 0, 1));
        // What comes later starts over.
        assert_eq!(
            r.push(&frags[2], 0, 5 * SEC + FRAG6_TIMEOUT_NS),
            Reassembly6::Held
        );
        assert_eq!(r.pending(), 1);
    }

    #[test]
    fn memory_and_fragment_count_are_bounded() {
        let mut r = Defrag6::default();
        let d = datagram(8, false);
        let fit = FRAG_MEMORY / (16 + FRAG_TRUESIZE);
        // One-fragment datagrams that never complete, ids 0..
        for id in 0..(2 * fit) as u32 {
            let mut f = fragment6(&d, 1500, info(&d, 1500)).remove(0);
            f[43] |= 1;
            f[44..48].copy_from_slice(&id.to_be_bytes());
            assert_eq!(r.push(&f, 0, u64::from(id)), Reassembly6::Held);
            assert!(r.memory() <= FRAG_MEMORY);
        }
        assert_eq!(r.pending(), fit);
        assert_eq!(r.stats.evicted, fit as u64);
        // A datagram in more than MAX_FRAGMENTS pieces is dropped.
        let big = datagram(8 * (MAX_FRAGMENTS + 2), false);
        let small = fragment6(&big, HEADER_LEN + 16, info(&big, 0));
        assert!(small.len() > MAX_FRAGMENTS);
        let mut r = Defrag6::default();
        let got: Vec<_> = small.iter().map(|f| r.push(f, 0, 0)).collect();
        assert!(got.contains(&Reassembly6::Dropped));
        assert!(!got.iter().any(|g| matches!(g, Reassembly6::Complete(..))));
    }

    #[test]
    fn garbage_never_panics() {
        let d = datagram(600, true);
        let frags = fragment6(&d, 256, info(&d, 256));
        let mut r = Defrag6::default();
        for f in &frags {
            for cut in 0..f.len() {
                let _ = r.push(&f[..cut], 0, 0);
            }
            for at in 0..f.len().min(64) {
                for v in [0u8, 1, 7, 8, 44, 0x80, 0xff] {
                    let mut g = f.clone();
                    g[at] = v;
                    let _ = r.push(&g, 0, 0);
                }
            }
        }
        // Bad cutting instructions yield nothing rather than a panic.
        assert!(fragment6(
            &d,
            1280,
            Frag6 {
                max: 0,
                ident: 0,
                unfrag: 9999,
                nhoff: 6
            }
        )
        .is_empty());
        assert!(fragment6(&d[..20], 1280, info(&d, 0)).is_empty());
        let _ = fragment6(&d, 0, info(&d, 0));
    }
}
