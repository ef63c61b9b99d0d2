//! The classifier that keeps a packet's cost from growing with the rule count: for each
//! chain, an index over the fields most rules test (protocol, addresses, destination
//! port, interfaces) gives the set of rules that *may* match, as a bit vector; the
//! traversal then visits only those, in order, and evaluates them fully. First-match
//! semantics are untouched: a rule is skipped only when one of its own criteria rules
//! it out.
//!
//! Each dimension splits its key space (u32) into segments at the rules' interval ends;
//! every segment holds the bit vector of the rules whose criterion covers it. A lookup is
//! a binary search per dimension and an AND of the vectors.

use crate::ruleset::matches::multiport::MultiportDir;
use crate::ruleset::{Inv, Ipv4Net, Match, RuleSpec};
use std::collections::TryReserveError;

/// Chains shorter than this are scanned: the index would cost more than it saves.
pub const MIN_INDEXED_RULES: usize = 8;

/// Key of a packet without ports in the port dimension (no rule with a port criterion
/// can match it).
pub const NO_PORT: u32 = 0x1_0000;
/// Key of "no interface" in the interface dimensions.
pub const NO_IFACE: u32 = 0xffff;

/// The packet's keys, one per dimension, in `Field` order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Keys(pub [u32; FIELDS]);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Proto = 0,
    Src = 1,
    Dst = 2,
    DstPort = 3,
    InIface = 4,
    OutIface = 5,
}
pub const FIELDS: usize = 6;

#[derive(Clone, Debug, PartialEq)]
struct Dim {
    field: Field,
    /// Segment starts, ascending, beginning with 0.
    starts: Vec<u32>,
    /// `words` u64s per segment.
    sets: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChainIndex {
    words: usize,
    dims: Vec<Dim>,
}

type Intervals = Vec<(u32, u32)>;

fn full() -> Intervals {
    vec![(0, u32::MAX)]
}

fn complement(iv: &[(u32, u32)], max: u32) -> Intervals {
    let mut out = Vec::new();
    let mut next = 0u64;
    let mut sorted = iv.to_vec();
    sorted.sort();
    for (lo, hi) in sorted {
        if u64::from(lo) > next {
            out.push((next as u32, lo - 1));
        }
        next = next.max(u64::from(hi) + 1);
    }
    if next <= u64::from(max) {
        out.push((next as u32, max));
    }
    // Keys above `max` (NO_PORT, ...) never match a negated criterion either.
    out
}

fn net_intervals(n: &Option<Inv<Ipv4Net>>) -> Intervals {
    match n {
        None => full(),
        Some(n) => match n.val.prefix_len() {
            // A non-contiguous mask cannot be an interval: no pruning on it.
            None => full(),
            Some(_) => {
                let lo = u32::from(n.val.addr);
                let iv = vec![(lo, lo | !n.val.mask)];
                if n.inv {
                    complement(&iv, u32::MAX)
                } else {
                    iv
                }
            }
        },
    }
}

/// The destination ports a rule can match (all keys when it has no port criterion).
fn dport_intervals(spec: &RuleSpec) -> Intervals {
    for m in &spec.matches {
        let (r, inv) = match m {
            Match::Tcp(t) => match &t.dport {
                Some(p) => (vec![(u32::from(p.val.lo), u32::from(p.val.hi))], p.inv),
                None => continue,
            },
            Match::Udp(u) => match &u.dport {
                Some(p) => (vec![(u32::from(p.val.lo), u32::from(p.val.hi))], p.inv),
                None => continue,
            },
            Match::Multiport(mp) if mp.dir == MultiportDir::Destination => (
                mp.ports
                    .iter()
                    .map(|r| (u32::from(r.lo), u32::from(r.hi)))
                    .collect(),
                mp.inv,
            ),
            _ => continue,
        };
        // The first port criterion is enough to prune; others are checked in full.
        return if inv { complement(&r, 0xffff) } else { r };
    }
    full()
}

fn proto_intervals(spec: &RuleSpec) -> Intervals {
    match spec.proto {
        None => full(),
        Some(p) if p.inv => complement(&[(u32::from(p.val), u32::from(p.val))], 0xff),
        Some(p) => vec![(u32::from(p.val), u32::from(p.val))],
    }
}

fn iface_intervals(i: &Option<Inv<crate::ruleset::Iface>>, ports: &[String]) -> Intervals {
    let Some(i) = i else {
        return full();
    };
    let mut keys: Vec<u32> = ports
        .iter()
        .enumerate()
        .filter(|(_, name)| i.val.matches(name))
        .map(|(k, _)| k as u32)
        .collect();
    // A packet without the interface compares as the empty name.
    if i.val.matches("") {
        keys.push(NO_IFACE);
    }
    let iv: Intervals = keys.iter().map(|k| (*k, *k)).collect();
    if i.inv {
        complement(&iv, u32::MAX)
    } else {
        iv
    }
}

/// The segment starts of a dimension; `None` when every rule covers every key (such a
/// dimension prunes nothing).
fn segment_starts(rules: &[Intervals]) -> Result<Option<Vec<u32>>, TryReserveError> {
    if rules.iter().all(|iv| iv == &full()) {
        return Ok(None);
    }
    let ends: usize = rules.iter().map(|iv| 2 * iv.len()).sum();
    let mut starts: Vec<u32> = Vec::new();
    starts.try_reserve_exact(ends + 1)?;
    starts.push(0);
    for iv in rules {
        for &(lo, hi) in iv {
            starts.push(lo);
            if hi < u32::MAX {
                starts.push(hi + 1);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    Ok(Some(starts))
}

/// Bytes of a dimension's tables: its starts and one `words`-long bit vector per segment.
fn dim_bytes(segments: usize, words: usize) -> u64 {
    (segments as u64).saturating_mul(4 + 8 * words as u64)
}

fn build_dim(
    field: Field,
    starts: Vec<u32>,
    rules: &[Intervals],
    words: usize,
) -> Result<Dim, TryReserveError> {
    let len = starts.len().saturating_mul(words);
    // The fallible reservation proves the allocator can give this much without aborting;
    // the zeroed allocation that replaces it maps its pages lazily, so rows no rule
    // covers cost no resident memory (writing the zeros would touch every page).
    Vec::<u64>::new().try_reserve_exact(len)?;
    let mut sets = vec![0u64; len];
    for (r, iv) in rules.iter().enumerate() {
        for &(lo, hi) in iv {
            let first = starts.partition_point(|s| *s < lo);
            let mut seg = first;
            while seg < starts.len() && starts[seg] <= hi {
                sets[seg * words + r / 64] |= 1 << (r % 64);
                seg += 1;
            }
        }
    }
    Ok(Dim {
        field,
        starts,
        sets,
    })
}

/// A chain's index would not fit its memory budget (or could not be allocated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexTooLarge {
    /// The index's estimated size in bytes.
    pub bytes: u64,
}

impl ChainIndex {
    /// Builds the index of a chain's rules; `ports` are the interface names by port
    /// id (empty: interfaces are not indexed). `None` when the chain is short or nothing
    /// can be pruned, or when the index could not be allocated (the chain is scanned).
    pub fn build(specs: &[&RuleSpec], ports: &[String]) -> Option<ChainIndex> {
        ChainIndex::build_within(specs, ports, u64::MAX).unwrap_or(None)
    }

    /// As `build`, within `budget` bytes: the size (which grows with the square of the
    /// rule count) is worked out from the segment counts before the bit vectors are
    /// allocated, and the allocation itself is fallible, so an oversized chain is an
    /// error and never an abort.
    pub fn build_within(
        specs: &[&RuleSpec],
        ports: &[String],
        budget: u64,
    ) -> Result<Option<ChainIndex>, IndexTooLarge> {
        if specs.len() < MIN_INDEXED_RULES {
            return Ok(None);
        }
        let words = specs.len().div_ceil(64);
        let per_rule = |f: &dyn Fn(&RuleSpec) -> Intervals| -> Vec<Intervals> {
            specs.iter().map(|s| f(s)).collect()
        };
        let mut fields = vec![
            (Field::Proto, per_rule(&proto_intervals)),
            (Field::Src, per_rule(&|s| net_intervals(&s.src))),
            (Field::Dst, per_rule(&|s| net_intervals(&s.dst))),
            (Field::DstPort, per_rule(&dport_intervals)),
        ];
        if !ports.is_empty() {
            fields.push((
                Field::InIface,
                per_rule(&|s| iface_intervals(&s.in_iface, ports)),
            ));
            fields.push((
                Field::OutIface,
                per_rule(&|s| iface_intervals(&s.out_iface, ports)),
            ));
        }
        // Every dimension's segments first, to know the size before allocating it.
        let rough = |segments: usize| IndexTooLarge {
            bytes: dim_bytes(segments, words),
        };
        let mut planned = Vec::new();
        for (field, rules) in fields {
            let starts = segment_starts(&rules).map_err(|_| rough(specs.len()))?;
            if let Some(starts) = starts {
                planned.push((field, starts, rules));
            }
        }
        if planned.is_empty() {
            return Ok(None);
        }
        let bytes = planned
            .iter()
            .map(|(_, starts, _)| dim_bytes(starts.len(), words))
            .fold(0u64, u64::saturating_add);
        if bytes > budget {
            return Err(IndexTooLarge { bytes });
        }
        let mut dims = Vec::new();
        for (field, starts, rules) in planned {
            dims.push(
                build_dim(field, starts, &rules, words).map_err(|_| IndexTooLarge { bytes })?,
            );
        }
        Ok(Some(ChainIndex { words, dims }))
    }

    /// Bytes the index's tables take.
    pub fn bytes(&self) -> u64 {
        self.dims
            .iter()
            .map(|d| dim_bytes(d.starts.len(), self.words))
            .sum()
    }

    pub fn words(&self) -> usize {
        self.words
    }

    /// Writes the candidate rules for `keys` into `out` (`words` u64s).
    pub fn candidates(&self, keys: &Keys, out: &mut Vec<u64>) {
        out.clear();
        out.resize(self.words, u64::MAX);
        for dim in &self.dims {
            let key = keys.0[dim.field as usize];
            let seg = dim.starts.partition_point(|s| *s <= key) - 1;
            let set = &dim.sets[seg * self.words..(seg + 1) * self.words];
            for (o, s) in out.iter_mut().zip(set) {
                *o &= *s;
            }
        }
    }
}

/// The first set bit at or after `from`, or `None`.
pub fn next_candidate(set: &[u64], from: usize) -> Option<usize> {
    let mut w = from / 64;
    if w >= set.len() {
        return None;
    }
    let mut bits = set[w] & (u64::MAX << (from % 64));
    loop {
        if bits != 0 {
            return Some(w * 64 + bits.trailing_zeros() as usize);
        }
        w += 1;
        if w >= set.len() {
            return None;
        }
        bits = set[w];
    }
}

/// The keys of an IPv4 packet (`in_port`/`out_port` are port ids).
pub fn packet_keys(ip: &[u8], in_port: Option<u16>, out_port: Option<u16>) -> Keys {
    let mut k = [0u32; FIELDS];
    if ip.len() >= 20 {
        k[Field::Proto as usize] = u32::from(ip[9]);
        k[Field::Src as usize] = u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]);
        k[Field::Dst as usize] = u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]);
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let first = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0;
        k[Field::DstPort as usize] = match (ip[9], first, ip.get(ihl + 2..ihl + 4)) {
            (6 | 17 | 33 | 132 | 136, true, Some(p)) => u32::from(u16::from_be_bytes([p[0], p[1]])),
            _ => NO_PORT,
        };
    }
    k[Field::InIface as usize] = in_port.map_or(NO_IFACE, u32::from);
    k[Field::OutIface as usize] = out_port.map_or(NO_IFACE, u32::from);
    Keys(k)
}
