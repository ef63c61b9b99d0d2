//! The classifier that keeps a packet's cost from growing with the rule count: for each
//! chain, an index over the fields most rules test (protocol, addresses, destination
//! port, interfaces) yields the rules that *may* match, in ascending order; the traversal
//! visits only those and evaluates them fully. First-match semantics are untouched: a
//! rule is skipped only when one of its own criteria rules it out.
//!
//! The structure is tuple space search (Srinivasan et al.; what TupleMerge and VPP's ACL
//! hash match build on). Each rule gets a *tuple*, the shape of what it tests: source and
//! destination prefix lengths, protocol exact or any, destination port exact or any,
//! each interface exact or any. Rules of one tuple live in one hash table keyed by the
//! packet fields under the tuple's mask, each key holding the ascending list of its
//! rules. A criterion a tuple cannot express exactly (a negation, a non-contiguous mask,
//! a wide port range, an interface wildcard matching many ports) leaves that field a
//! wildcard for the rule: the rule is then a candidate for more packets than it matches,
//! never fewer. Small port sets and `+` interface wildcards are expanded into a few keys
//! instead. A rule with no usable field lands in the all-wildcard tuple, the residual
//! list every packet gets.
//!
//! Why this and not the bit vectors per field it replaces: those took N²/8 bytes per
//! chain and an AND of N-bit vectors per packet (50,000 rules ran at 15-18 % of the
//! 10-rule rate). Here memory is linear in the rule count (a bounded number of hash
//! entries per rule), the build is a sort, and a lookup costs one hash probe per tuple,
//! independent of the rule count. Real rulesets have few tuples (the S3 benchmark, 50,000
//! `-s a/24 -d b/24 -p udp` rules, has one); when a chain has more than `MAX_TUPLES`,
//! prefix lengths are rounded down to coarser steps (TupleMerge's trade: fewer tuples,
//! longer lists per key) so the probes per packet stay bounded.
//!
//! A lookup is lazy: tuples are ordered by their first rule and a tuple is probed only
//! when the traversal could reach that rule before every candidate already found, so a
//! match early in the chain skips the probes of tuples further down. The candidates are a
//! k-way merge of the probed lists (a cursor per list, in `Candidates`, which the
//! traversal owns and reuses: no allocation per packet). Every candidate comes out in
//! order, so non-terminating rules (LOG, MARK, jumps that return) are all visited up to
//! the first terminating verdict.
//!
//! A chain whose hash table outgrows a core's L2 (`worth_prefetching`: over 2 MiB of slots,
//! some 33,000 keys and more) gets a burst stage, as conntrack's lookups have: before a
//! received burst goes through the hooks, the pipeline reads each IPv4 packet's probe key
//! for filter FORWARD's first interface-free tuple (`burst_key`), prefetches its home slot
//! (`prefetch`), then the rule that slot names (`probe_rule`) and that rule's counter,
//! so the burst's misses overlap instead of each packet waiting on three in turn
//! (`Pipeline::prefetch_forward_rules`). Hints only: the traversal looks up as before.
//!
//! A rule whose criteria are all in its key (plain prefixes, an exact protocol,
//! interfaces expanded to the ports they name, nothing else: S3's rules, the gateway's
//! `-i lan0 -o wan0 -j ACCEPT`) matches whenever it is a candidate, so the traversal does not
//! evaluate it again; its counters, trace and target are as before.

use super::compile::CompiledRuleset;
use crate::port::PacketBuf;
use crate::ruleset::matches::multiport::MultiportDir;
use crate::ruleset::packet::PacketView;
use crate::ruleset::{prefix_mask, Iface, Inv, Ipv4Net, Match, PortRange, RuleSpec};
use crate::ruleset::{Counters, Hook, TableKind};
use hashbrown::HashMap;
use std::mem::size_of;

mod linear;
pub use linear::MAX_LINEAR_RULES;

/// Chains shorter than this are scanned: the index would cost more than it saves.
pub const MIN_INDEXED_RULES: usize = 8;

/// Key of a packet without ports in the port dimension (no rule with a port criterion
/// can match it).
pub const NO_PORT: u32 = 0x1_0000;
/// Key of "no interface" in the interface dimensions.
pub const NO_IFACE: u32 = 0xffff;

/// The packet's keys, one per dimension, in `Field` order, and whether the packet is one
/// a rule can match at all (`PacketView::is_parseable`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Keys(pub [u32; FIELDS], pub bool);

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

/// Above this many tuples in a chain, prefix lengths are rounded down (see the module
/// doc): it bounds the hash probes of a packet.
pub const MAX_TUPLES: usize = 32;
/// Slot tables above this many bytes are prefetched a burst ahead (`worth_prefetching`):
/// smaller ones stay in a core's L2 between packets.
const PREFETCH_SLOT_BYTES: usize = 2 << 20;
/// Port sets up to this size are expanded into exact keys; larger ones are a wildcard.
const MAX_PORTS: u32 = 16;
/// Interface names matching up to this many ports are expanded into exact keys.
const MAX_IFACES: usize = 8;
/// The most hash entries one rule may have (the product of its expansions), so memory
/// stays linear in the rule count.
const MAX_ENTRIES_PER_RULE: usize = 64;

/// A packed key: tuple id, source, destination, `proto << 17 | dport`, `in << 16 | out`.
type Key = [u32; 5];

/// Packs a packet's keys into a `Key` (word 0, the tuple id, is set per probe).
fn pack(k: &Keys) -> Key {
    let f = |f: Field| k.0[f as usize];
    [
        0,
        f(Field::Src),
        f(Field::Dst),
        (f(Field::Proto) & 0xff) << 17 | (f(Field::DstPort) & 0x1_ffff),
        (f(Field::InIface) & 0xffff) << 16 | (f(Field::OutIface) & 0xffff),
    ]
}

#[derive(Clone, Debug, PartialEq)]
struct Tuple {
    /// What of the packed packet key the tuple looks at (word 0 is zero).
    mask: Key,
    /// Its lowest rule: no packet finds an earlier one in it.
    first_rule: u32,
    /// Its highest rule: a traversal past it finds nothing in it.
    last_rule: u32,
    /// The input and output interfaces its keys hold (`iface_bit`; all bits where the
    /// tuple does not look at that interface): a packet from elsewhere skips its probe.
    ins: u64,
    outs: u64,
    /// A bit per key it holds (`key_bit`): a packet whose masked key's bit is clear
    /// skips the probe.
    keys: u64,
}

/// A bit for a key (its words 1.. only: the tuple id is the same for all of a tuple's
/// keys), the same for equal keys: a filter that never misses a key that is there.
fn key_bit(key: &Key) -> u64 {
    let x = (u64::from(key[1]) << 32 | u64::from(key[2]))
        ^ (u64::from(key[3]) << 32 | u64::from(key[4])).rotate_left(17);
    1 << (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

/// A bit for an interface key (port id, or `NO_IFACE`), the ports from 63 on sharing
/// the last: a filter that never misses a key that is there.
fn iface_bit(key: u32) -> u64 {
    1 << (key & 0xffff).min(63)
}

/// A packet's probe into one tuple, for the burst stage (`ChainIndex::burst_key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    key: Key,
    /// The key's home slot (once `ChainIndex::prefetch` hashed it).
    slot: u32,
}

impl Probe {
    /// Whether both probe the same key (their rules are the same).
    pub fn same_key(&self, other: &Probe) -> bool {
        self.key == other.key
    }
}

/// 32 bytes, aligned: a probe reads one cache line, never two.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(align(32))]
struct Slot {
    key: Key,
    /// The key's rules are `pool[start..start + len]`, or the rule itself when `len` is 1
    /// (the common case: no second memory access); `len == 0` is an empty slot.
    start: u32,
    len: u32,
}

/// A chain's classifier: tuples, one open-addressing hash table for all of them (the
/// tuple id is part of the key), and the rule lists the entries point into.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainIndex {
    tuples: Vec<Tuple>,
    /// A power of two, at most half full, so a probe for an absent key ends soon.
    slots: Vec<Slot>,
    /// 64 minus log2 of the slot count: the hash's top bits pick the slot.
    shift: u32,
    /// Rule indices, ascending within each key's list.
    pool: Vec<u32>,
    /// A bit per rule: its key tests all its criteria (see `matches_exactly`).
    exact: Vec<u64>,
    /// The chain's first rules that are candidates for every packet (all-wildcard keys,
    /// such as the usual `--ctstate ESTABLISHED,RELATED` head): see `lead`.
    lead: u32,
    /// The first tuple that tests no interface (`burst_key`), if any.
    burst_tuple: Option<u32>,
    /// A short chain's records walked in order instead of the tuples (`build_linear`).
    linear: Option<linear::LinearPlan>,
}

/// A chain's index would not fit its memory budget (or could not be allocated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexTooLarge {
    /// The index's estimated size in bytes.
    pub bytes: u64,
}

/// The traversal's cursor state over one chain's candidates, reused from packet to
/// packet (its vector only grows to the chain's tuple count, once).
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    key: Key,
    /// The packet's interfaces (`iface_bit`).
    in_bit: u64,
    out_bit: u64,
    /// Tuples `0..probed` were looked up.
    probed: usize,
    /// Per probed tuple that holds the key: where its list stands.
    heads: Vec<Head>,
}

#[derive(Clone, Copy, Debug)]
enum Head {
    /// A single rule, kept in the slot.
    One(u32),
    /// The next and the end of a list in `pool`.
    List(u32, u32),
}

/// What the index keeps of one rule; the vectors are reused from rule to rule.
#[derive(Default)]
struct Shape {
    src: (u32, u32),
    dst: (u32, u32),
    proto: Option<u8>,
    /// Empty: any (the field is a wildcard for this rule).
    dports: Vec<u32>,
    ins: Vec<u32>,
    outs: Vec<u32>,
    /// The key says it all: a hit is a match (see `ChainIndex::matches_exactly`).
    exact: bool,
}

impl Shape {
    fn mask(&self) -> Key {
        let on = |b: bool, m: u32| if b { m } else { 0 };
        [
            0,
            self.src.0,
            self.dst.0,
            on(self.proto.is_some(), 0xff << 17) | on(!self.dports.is_empty(), 0x1_ffff),
            on(!self.ins.is_empty(), 0xffff << 16) | on(!self.outs.is_empty(), 0xffff),
        ]
    }

    /// The rule's entries: one per combination of its expanded ports and interfaces.
    fn keys(&self, tuple: u32, mut f: impl FnMut(Key)) {
        fn or_any(v: &[u32]) -> &[u32] {
            if v.is_empty() {
                &[0]
            } else {
                v
            }
        }
        let proto = u32::from(self.proto.unwrap_or(0)) << 17;
        for &d in or_any(&self.dports) {
            for &i in or_any(&self.ins) {
                for &o in or_any(&self.outs) {
                    f([tuple, self.src.1, self.dst.1, proto | d, i << 16 | o]);
                }
            }
        }
    }

    fn entries(&self) -> usize {
        let n = |v: &Vec<u32>| v.len().max(1);
        n(&self.dports) * n(&self.ins) * n(&self.outs)
    }
}

/// The mask and value of an address criterion, its prefix rounded down to a multiple of
/// `step`; a negation or a non-contiguous mask is a wildcard.
fn net_key(n: &Option<Inv<Ipv4Net>>, step: u8) -> (u32, u32) {
    match n {
        Some(n) if !n.inv => match n.val.prefix_len() {
            Some(len) => {
                let m = prefix_mask(len - len % step);
                (m, u32::from(n.val.addr) & m)
            }
            None => (0, 0),
        },
        _ => (0, 0),
    }
}

/// The destination ports of the first port criterion that is a small, plain set (all
/// criteria must hold, so any one of them bounds the rule); empty when none is.
fn dport_keys(spec: &RuleSpec, out: &mut Vec<u32>) {
    out.clear();
    for m in &spec.matches {
        let (ranges, inv): (&[PortRange], bool) = match m {
            Match::Tcp(t) => match &t.dport {
                Some(p) => (std::slice::from_ref(&p.val), p.inv),
                None => continue,
            },
            Match::Udp(u) => match &u.dport {
                Some(p) => (std::slice::from_ref(&p.val), p.inv),
                None => continue,
            },
            Match::Multiport(mp) if mp.dir == MultiportDir::Destination => (&mp.ports, mp.inv),
            _ => continue,
        };
        let size: u32 = ranges
            .iter()
            .map(|r| (u32::from(r.hi) + 1).saturating_sub(u32::from(r.lo)))
            .sum();
        if inv || size == 0 || size > MAX_PORTS {
            continue;
        }
        out.extend(
            ranges
                .iter()
                .flat_map(|r| u32::from(r.lo)..=u32::from(r.hi)),
        );
        out.sort_unstable();
        out.dedup();
        return;
    }
}

/// The port ids (and `NO_IFACE` for "no interface") an interface criterion accepts;
/// empty when it is a wildcard for the index. `false` when it accepts none: the rule
/// never matches.
fn iface_keys(i: &Option<Inv<Iface>>, ports: &[String], out: &mut Vec<u32>) -> bool {
    out.clear();
    let Some(i) = i else {
        return true;
    };
    if i.inv || ports.is_empty() {
        return true;
    }
    out.extend(
        ports
            .iter()
            .enumerate()
            .filter(|(_, name)| i.val.matches(name))
            .map(|(k, _)| k as u32),
    );
    // A packet without the interface compares as the empty name.
    if i.val.matches("") {
        out.push(NO_IFACE);
    }
    if out.is_empty() {
        return false;
    }
    if out.len() > MAX_IFACES {
        out.clear();
    }
    true
}

/// Fills `s` from a rule; `false` when the rule can match no packet (an interface
/// criterion no port satisfies).
/// An address criterion its key tests exactly: none, or a plain prefix not rounded.
fn net_exact(n: &Option<Inv<Ipv4Net>>, step: u8) -> bool {
    n.as_ref().is_none_or(|n| {
        let addr = u32::from(n.val.addr);
        !n.inv && addr & n.val.mask == addr && n.val.prefix_len().is_some_and(|len| len % step == 0)
    })
}

fn describe(spec: &RuleSpec, ports: &[String], step: u8, s: &mut Shape) -> bool {
    s.src = net_key(&spec.src, step);
    s.dst = net_key(&spec.dst, step);
    s.proto = spec.exact_proto();
    dport_keys(spec, &mut s.dports);
    if !iface_keys(&spec.in_iface, ports, &mut s.ins)
        || !iface_keys(&spec.out_iface, ports, &mut s.outs)
    {
        return false;
    }
    // Bound the entries of one rule: the widest expansion becomes a wildcard first.
    while s.entries() > MAX_ENTRIES_PER_RULE {
        let widest = [&mut s.dports, &mut s.ins, &mut s.outs]
            .into_iter()
            .max_by_key(|v| v.len());
        if let Some(v) = widest {
            v.clear();
        }
    }
    // Only the base criteria the key holds exactly; anything else is evaluated in full.
    // An interface criterion is held exactly when it expanded to the ports it names (not
    // inverted, not left a wildcard): a key with one of them is a packet it matches.
    s.exact = net_exact(&spec.src, step)
        && net_exact(&spec.dst, step)
        && spec.proto.is_none_or(|p| !p.inv)
        && spec.fragment.is_none()
        && (spec.in_iface.is_none() || !s.ins.is_empty())
        && (spec.out_iface.is_none() || !s.outs.is_empty())
        && spec.matches.is_empty();
    true
}

/// Bytes of an index with these table sizes (`rules` for its bit per rule).
fn index_bytes(rules: usize, tuples: usize, slots: usize, pool: usize) -> u64 {
    let b = |n: usize, size: usize| (n as u64).saturating_mul(size as u64);
    b(rules.div_ceil(64), size_of::<u64>())
        .saturating_add(b(tuples, size_of::<Tuple>()))
        .saturating_add(b(slots, size_of::<Slot>()))
        .saturating_add(b(pool, size_of::<u32>()))
}

/// Slots for `keys` distinct keys: a power of two, at least twice as many.
fn slot_count(keys: usize) -> usize {
    keys.saturating_mul(2).max(2).next_power_of_two()
}

fn hash(key: &Key, shift: u32) -> usize {
    let mut h = 0u64;
    for &w in key {
        h = (h ^ u64::from(w)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    // The top bits of a product depend on every bit of its operands.
    (h >> shift) as usize
}

/// The rounding step of prefix lengths that keeps the tuple count within `MAX_TUPLES`
/// (the coarsest when none does).
fn prefix_step(specs: &[&RuleSpec], ports: &[String]) -> Option<u8> {
    let mut s = Shape::default();
    let mut seen: HashMap<Key, ()> = HashMap::new();
    for step in [1u8, 8, 16] {
        seen.clear();
        for spec in specs {
            if describe(spec, ports, step, &mut s) {
                seen.try_reserve(1).ok()?;
                seen.insert(s.mask(), ());
                if seen.len() > MAX_TUPLES {
                    break;
                }
            }
        }
        if seen.len() <= MAX_TUPLES {
            return Some(step);
        }
    }
    Some(32)
}

impl ChainIndex {
    /// Builds the index of a chain's rules; `ports` are the interface names by port
    /// id (empty: interfaces are not indexed). `None` when the chain is short or nothing
    /// can be pruned, or when the index could not be allocated (the chain is scanned).
    pub fn build(specs: &[&RuleSpec], ports: &[String]) -> Option<ChainIndex> {
        ChainIndex::build_within(specs, ports, u64::MAX).unwrap_or(None)
    }

    /// As `build`, within `budget` bytes: the size is worked out from the rules' entries
    /// before the tables are allocated, and every allocation is fallible, so an oversized
    /// chain is an error and never an abort.
    pub fn build_within(
        specs: &[&RuleSpec],
        ports: &[String],
        budget: u64,
    ) -> Result<Option<ChainIndex>, IndexTooLarge> {
        // Rule numbers are u32 and u32::MAX is the cursor's "none".
        if specs.len() < MIN_INDEXED_RULES || specs.len() >= u32::MAX as usize {
            return Ok(None);
        }
        // What the working vectors of the build take, for an error before any table.
        let rough = IndexTooLarge {
            bytes: index_bytes(specs.len(), 0, slot_count(specs.len()), specs.len()),
        };
        let step = prefix_step(specs, ports).ok_or(rough)?;

        // Every rule's entries (key, rule), then sorted: equal keys end up together with
        // their rules ascending.
        let mut tuple_of: HashMap<Key, u32> = HashMap::new();
        let mut tuples: Vec<Tuple> = Vec::new();
        let mut entries: Vec<(Key, u32)> = Vec::new();
        entries.try_reserve(specs.len()).map_err(|_| rough)?;
        let mut exact: Vec<u64> = Vec::new();
        exact
            .try_reserve_exact(specs.len().div_ceil(64))
            .map_err(|_| rough)?;
        exact.resize(specs.len().div_ceil(64), 0);
        let mut s = Shape::default();
        let mut lead = 0u32;
        for (r, spec) in specs.iter().enumerate() {
            if !describe(spec, ports, step, &mut s) {
                continue;
            }
            let mask = s.mask();
            if mask == [0; 5] && lead == r as u32 {
                lead += 1;
            }
            let t = match tuple_of.get(&mask) {
                Some(t) => *t,
                None => {
                    let t = tuples.len() as u32;
                    tuple_of.try_reserve(1).map_err(|_| rough)?;
                    tuples.try_reserve(1).map_err(|_| rough)?;
                    tuple_of.insert(mask, t);
                    // Rules come in order, so the first rule of a tuple is its lowest and
                    // the tuples are ordered by it.
                    let ifaces = |m: u32| if m == 0 { u64::MAX } else { 0 };
                    tuples.push(Tuple {
                        mask,
                        first_rule: r as u32,
                        last_rule: r as u32,
                        ins: ifaces(mask[4] & 0xffff_0000),
                        outs: ifaces(mask[4] & 0xffff),
                        keys: 0,
                    });
                    t
                }
            };
            let tuple = &mut tuples[t as usize];
            tuple.last_rule = r as u32;
            tuple.ins |= s.ins.iter().fold(0, |b, &i| b | iface_bit(i));
            tuple.outs |= s.outs.iter().fold(0, |b, &o| b | iface_bit(o));
            if s.exact {
                exact[r / 64] |= 1 << (r % 64);
            }
            entries.try_reserve(s.entries()).map_err(|_| rough)?;
            s.keys(t, |k| {
                tuple.keys |= key_bit(&k);
                entries.push((k, r as u32));
            });
        }
        if tuples.len() == 1 && tuples[0].mask == [0; 5] {
            // Every rule is a candidate for every packet: the scan is the same, cheaper.
            return Ok(None);
        }
        entries.sort_unstable();
        let (mut distinct, mut pooled) = (0, 0);
        for run in entries.chunk_by(|a, b| a.0 == b.0) {
            distinct += 1;
            if run.len() > 1 {
                pooled += run.len();
            }
        }
        let slots = slot_count(distinct);
        let bytes = index_bytes(specs.len(), tuples.len(), slots, pooled);
        if bytes > budget {
            return Err(IndexTooLarge { bytes });
        }
        let too_large = |_| IndexTooLarge { bytes };
        let mut table: Vec<Slot> = Vec::new();
        table.try_reserve_exact(slots).map_err(too_large)?;
        table.resize(slots, Slot::default());
        let mut pool: Vec<u32> = Vec::new();
        pool.try_reserve_exact(pooled).map_err(too_large)?;
        let mut ix = ChainIndex {
            tuples,
            slots: table,
            shift: 64 - slots.trailing_zeros(),
            pool: Vec::new(),
            exact,
            lead,
            burst_tuple: None,
            linear: None,
        };
        ix.burst_tuple = ix
            .tuples
            .iter()
            .position(|t| t.mask[4] == 0)
            .map(|t| t as u32);
        for run in entries.chunk_by(|a, b| a.0 == b.0) {
            let start = if run.len() == 1 {
                run[0].1
            } else {
                pool.extend(run.iter().map(|e| e.1));
                (pool.len() - run.len()) as u32
            };
            let mask = ix.slots.len() - 1;
            let mut i = hash(&run[0].0, ix.shift);
            while ix.slots[i].len != 0 {
                i = (i + 1) & mask;
            }
            ix.slots[i] = Slot {
                key: run[0].0,
                start,
                len: run.len() as u32,
            };
        }
        ix.pool = pool;
        Ok(Some(ix))
    }

    /// A chain of up to `MAX_LINEAR_RULES` rules as a linear plan (see `linear`): the
    /// same candidates API, no tuples. `None` as `build`: nothing to prune, or ports
    /// beyond the plan's bits (the caller builds the index or scans).
    pub fn build_linear(specs: &[&RuleSpec], ports: &[String]) -> Option<ChainIndex> {
        let (plan, exact, lead) = linear::LinearPlan::build(specs, ports)?;
        Some(ChainIndex {
            tuples: Vec::new(),
            slots: Vec::new(),
            shift: 0,
            pool: Vec::new(),
            exact,
            lead,
            burst_tuple: None,
            linear: Some(plan),
        })
    }

    /// Bytes the index's tables take.
    pub fn bytes(&self) -> u64 {
        if let Some(plan) = &self.linear {
            return plan.bytes() + index_bytes(self.exact.len() * 64, 0, 0, 0);
        }
        index_bytes(
            self.exact.len() * 64,
            self.tuples.len(),
            self.slots.len(),
            self.pool.len(),
        )
    }

    /// How many of the chain's first rules are candidates for every packet that a rule
    /// can match: a traversal evaluates them in order without the packet's keys, and
    /// looks the keys up (`start`) only when it gets past them. A chain that opens with
    /// `--ctstate ESTABLISHED,RELATED -j ACCEPT` then costs established packets no probe.
    pub fn lead(&self) -> usize {
        self.lead as usize
    }

    /// The number of tuples (hash probes a packet may need).
    pub fn tuples(&self) -> usize {
        self.tuples.len()
    }

    /// Starts the candidates of a packet with `keys`; nothing is looked up yet. A packet
    /// no rule can match (not parseable) has none: the scan would match none either.
    pub fn start(&self, keys: &Keys, c: &mut Candidates) {
        if let Some(plan) = &self.linear {
            return plan.start(keys, c);
        }
        c.key = pack(keys);
        c.in_bit = iface_bit(keys.0[Field::InIface as usize]);
        c.out_bit = iface_bit(keys.0[Field::OutIface as usize]);
        c.probed = if keys.1 { 0 } else { self.tuples.len() };
        c.heads.clear();
    }

    /// Whether candidate `rule` is known to match: its key holds every criterion it has
    /// (plain prefixes, an exact protocol, expanded interfaces, nothing else), so
    /// evaluating it again would only repeat the hash lookup, from three or four cache
    /// lines of rule.
    pub fn matches_exactly(&self, rule: usize) -> bool {
        self.exact
            .get(rule / 64)
            .is_some_and(|w| w & (1 << (rule % 64)) != 0)
    }

    /// The first candidate rule at or after `from`, or `None`. Successive calls must not
    /// go backwards (`from` at least the previous call's).
    pub fn next(&self, c: &mut Candidates, from: usize) -> Option<usize> {
        if let Some(plan) = &self.linear {
            return plan.next(c, from);
        }
        let from = u32::try_from(from).unwrap_or(u32::MAX);
        let mut best = u32::MAX;
        let mut h = 0;
        while h < c.heads.len() {
            let head = match &mut c.heads[h] {
                Head::One(r) => Some(*r).filter(|r| *r >= from),
                Head::List(pos, end) => {
                    while *pos < *end && self.pool[*pos as usize] < from {
                        *pos += 1;
                    }
                    (*pos < *end).then(|| self.pool[*pos as usize])
                }
            };
            match head {
                Some(r) => {
                    best = best.min(r);
                    h += 1;
                }
                None => {
                    c.heads.swap_remove(h);
                }
            }
        }
        // A tuple not looked up yet may hold an earlier candidate only if its first rule
        // comes before the best one found.
        while let Some(t) = self.tuples.get(c.probed) {
            if t.first_rule >= best {
                break;
            }
            let id = c.probed as u32;
            c.probed += 1;
            // No probe for a tuple with nothing at or after `from` (such as the all-wildcard
            // one of a chain's `lead` rules, once past them), or without a key for the
            // packet's interfaces.
            if t.last_rule < from || t.ins & c.in_bit == 0 || t.outs & c.out_bit == 0 {
                continue;
            }
            let mut key = c.key;
            for (k, m) in key.iter_mut().zip(&t.mask) {
                *k &= m;
            }
            if t.keys & key_bit(&key) == 0 {
                continue;
            }
            key[0] = id;
            match self.lookup(&key) {
                Some(Head::One(r)) if r >= from => {
                    best = best.min(r);
                    c.heads.push(Head::One(r));
                }
                Some(Head::List(start, end)) => {
                    let list = &self.pool[start as usize..end as usize];
                    let pos = start + list.partition_point(|r| *r < from) as u32;
                    if pos < end {
                        best = best.min(self.pool[pos as usize]);
                        c.heads.push(Head::List(pos, end));
                    }
                }
                _ => {}
            }
        }
        (best != u32::MAX).then_some(best as usize)
    }

    /// Whether a burst prefetch (`burst_probe`) pays for its hashing: the slot table
    /// outgrows a core's L2, so a packet's probe would otherwise wait on a miss (50,000
    /// rules: 4 MiB of slots).
    pub fn worth_prefetching(&self) -> bool {
        self.slots.len() * size_of::<Slot>() > PREFETCH_SLOT_BYTES
    }

    /// The probe of IPv4 packet `ip` into the first tuple that tests no interface (a
    /// received burst's interfaces are not known before routing), without its slot yet
    /// (`prefetch`); `None` when there is no such tuple or it cannot hold the key. Only
    /// the fields that tuple tests are read, and the packet is not validated: a hint for
    /// the burst stage, which the traversal's own lookup does not rely on.
    pub fn burst_key(&self, ip: &[u8]) -> Option<Probe> {
        let id = self.burst_tuple?;
        let t = self.tuples.get(id as usize)?;
        let h = ip.get(..20)?;
        let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let dport = if t.mask[3] & 0x1_ffff == 0 {
            0
        } else {
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let first = u16::from_be_bytes([h[6], h[7]]) & 0x1fff == 0;
            match (h[9], first, ip.get(ihl + 2..ihl + 4)) {
                (6 | 17 | 33 | 132 | 136, true, Some(p)) => {
                    u32::from(u16::from_be_bytes([p[0], p[1]]))
                }
                _ => NO_PORT,
            }
        };
        let key = [
            id,
            word(12) & t.mask[1],
            word(16) & t.mask[2],
            (u32::from(h[9]) << 17 | dport) & t.mask[3],
            0,
        ];
        // The tuple's filter sees the key's words 1.. only, as `key_bit` does.
        (t.keys & key_bit(&key) != 0).then_some(Probe { key, slot: 0 })
    }

    /// Hashes `probe` to its home slot and prefetches that slot.
    pub fn prefetch(&self, probe: &mut Probe) {
        let slot = hash(&probe.key, self.shift);
        memhint::prefetch_read(&self.slots[slot]);
        probe.slot = slot as u32;
    }

    /// The first rule `probe` finds (its slot read by now), to prefetch: the packet's
    /// likely first candidate, not necessarily the traversal's.
    pub fn probe_rule(&self, probe: &Probe) -> Option<usize> {
        match self.lookup_from(&probe.key, probe.slot as usize)? {
            Head::One(r) => Some(r as usize),
            Head::List(start, _) => self.pool.get(start as usize).map(|r| *r as usize),
        }
    }

    /// The rules of a key.
    fn lookup(&self, key: &Key) -> Option<Head> {
        self.search_from(key, hash(key, self.shift))
    }

    /// `lookup` from the key's home slot `i` (the burst stage's, hashed already); apart
    /// from `lookup` so the traversal's code stays as it was.
    #[inline(never)]
    fn lookup_from(&self, key: &Key, i: usize) -> Option<Head> {
        self.search_from(key, i)
    }

    /// The linear probe from slot `i` to the key's rules or an empty slot.
    #[inline(always)]
    fn search_from(&self, key: &Key, mut i: usize) -> Option<Head> {
        let mask = self.slots.len() - 1;
        loop {
            let s = &self.slots[i];
            if s.len == 0 {
                return None;
            }
            if s.key == *key {
                return Some(match s.len {
                    1 => Head::One(s.start),
                    n => Head::List(s.start, s.start + n),
                });
            }
            i = (i + 1) & mask;
        }
    }
}

/// A burst of at least this many frames with at most `PREFETCH_FEW_KEYS` classifier keys
/// turns the classifier's burst prefetch off for `PREFETCH_REST_BURSTS` bursts.
const PREFETCH_SAMPLE_BURST: usize = 16;
const PREFETCH_FEW_KEYS: usize = 2;
const PREFETCH_REST_BURSTS: u8 = 15;

/// `Pipeline::prefetch_forward_rules`: the burst stage of filter FORWARD's index (see the
/// module doc); `probes` and `rest` are the pipeline's, kept between bursts.
pub fn prefetch_forward_burst(
    rules: &CompiledRuleset,
    counters: &[Counters],
    frames: &[PacketBuf],
    probes: &mut Vec<(Probe, u32)>,
    rest: &mut u8,
) {
    let Some(chain) = rules.tables[TableKind::Filter as usize]
        .as_ref()
        .and_then(|t| t.entry(Hook::Forward))
    else {
        return;
    };
    let Some(ix) = chain.index.as_ref().filter(|ix| ix.worth_prefetching()) else {
        return;
    };
    if *rest > 0 {
        *rest -= 1;
        return;
    }
    probes.clear();
    for f in frames {
        let d = f.data();
        if d.get(12..14) != Some(&[0x08, 0x00][..]) {
            continue;
        }
        let Some(ip) = d.get(14..) else { continue };
        let Some(mut probe) = ix.burst_key(ip) else {
            continue;
        };
        // A run of one key (one flow, one subnet) needs its lines fetched once.
        if probes.last().is_none_or(|(p, _)| !p.same_key(&probe)) {
            ix.prefetch(&mut probe);
            probes.push((probe, u32::MAX));
        }
    }
    for (probe, rule) in probes.iter_mut() {
        if let Some(r) = ix.probe_rule(probe) {
            if let Some(cr) = chain.rules.get(r) {
                memhint::prefetch_read(&cr.slot);
                memhint::prefetch_read(&cr.action);
                *rule = r as u32;
            }
        }
    }
    for &(_, rule) in probes.iter() {
        if let Some(cr) = chain.rules.get(rule as usize) {
            if let Some(c) = counters.get(cr.slot as usize) {
                memhint::prefetch_read(c);
            }
        }
    }
    // A full burst of a few keys (a few flows or subnets): their lines stay cached
    // from burst to burst, so the next bursts skip the stage and look again later.
    if frames.len() >= PREFETCH_SAMPLE_BURST && probes.len() <= PREFETCH_FEW_KEYS {
        *rest = PREFETCH_REST_BURSTS;
    }
}

/// The keys of an IPv4 packet (`in_port`/`out_port` are port ids). Inlined into the
/// traversal: returned through memory from a call, the keys cost as much again.
#[inline]
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
    Keys(k, PacketView::is_parseable(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::matches::multiport::MultiportMatch;
    use crate::ruleset::matches::tcp::TcpMatch;
    use crate::ruleset::matches::udp::UdpMatch;
    use crate::ruleset::packet::PacketMeta;
    use std::net::Ipv4Addr;

    /// splitmix64 with a fixed seed: the same rulesets and packets on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
        fn pick<T: Copy>(&mut self, v: &[T]) -> T {
            v[self.below(v.len())]
        }
    }

    const PORTS: [&str; 3] = ["lan0", "wan0", "dmz0"];
    const IFACES: [&str; 6] = ["lan0", "wan0", "dmz+", "lan+", "+", "nope0"];
    const NETS: [([u8; 4], u32); 8] = [
        ([10, 0, 0, 0], 0xff00_0000),
        ([10, 1, 0, 0], 0xffff_0000),
        ([10, 1, 2, 0], 0xffff_ff00),
        ([10, 1, 2, 3], u32::MAX),
        ([172, 16, 0, 9], u32::MAX),
        ([0, 0, 0, 0], 0x8000_0000),
        ([198, 51, 100, 0], 0xffff_ff00),
        // Non-contiguous: no prefix, a wildcard for the index.
        ([10, 0, 0, 1], 0xff00_00ff),
    ];
    const DPORTS: [u16; 6] = [22, 53, 80, 443, 1000, 65535];

    fn ports() -> Vec<String> {
        PORTS.iter().map(|s| s.to_string()).collect()
    }

    fn net(rng: &mut Rng, any_len: bool) -> Option<Inv<Ipv4Net>> {
        if rng.chance(40) {
            return None;
        }
        let (a, m) = rng.pick(&NETS);
        let n = if any_len {
            // Every prefix length: many tuples, so the prefixes get rounded down.
            Ipv4Net::with_prefix(Ipv4Addr::from(a), rng.below(33) as u8)
        } else {
            Ipv4Net::new(Ipv4Addr::from(a), m)
        };
        Some(Inv::new(rng.chance(15), n))
    }

    fn port_range(rng: &mut Rng) -> PortRange {
        let lo = rng.pick(&DPORTS);
        let width = rng.pick(&[0u16, 0, 3, 15, 16, 2000]);
        PortRange {
            lo,
            hi: lo.saturating_add(width),
        }
    }

    fn random_rule(rng: &mut Rng, any_len: bool) -> RuleSpec {
        let mut s = RuleSpec {
            src: net(rng, any_len),
            dst: net(rng, any_len),
            ..RuleSpec::default()
        };
        let iface = |rng: &mut Rng| {
            rng.chance(30).then(|| {
                Inv::new(
                    rng.chance(20),
                    Iface::new(rng.pick(&IFACES)).expect("iface"),
                )
            })
        };
        s.in_iface = iface(rng);
        s.out_iface = iface(rng);
        let proto = rng.pick(&[0u8, 6, 17, 1, 6, 17]);
        if proto != 0 {
            s.proto = Some(Inv::new(rng.chance(10), proto));
        }
        if proto == 6 || proto == 17 {
            let dport = |rng: &mut Rng| Some(Inv::new(rng.chance(15), port_range(rng)));
            match rng.below(5) {
                0 if proto == 6 => s.matches.push(Match::Tcp(TcpMatch {
                    dport: dport(rng),
                    ..TcpMatch::default()
                })),
                0 | 1 => s.matches.push(Match::Udp(UdpMatch {
                    dport: dport(rng),
                    sport: None,
                })),
                2 => s.matches.push(Match::Multiport(MultiportMatch {
                    inv: rng.chance(20),
                    dir: rng.pick(&[
                        MultiportDir::Destination,
                        MultiportDir::Destination,
                        MultiportDir::Source,
                        MultiportDir::Either,
                    ]),
                    ports: vec![
                        PortRange::single(22),
                        port_range(rng),
                        PortRange::single(443),
                    ],
                })),
                _ => {}
            }
        }
        s
    }

    /// S3's shape: `-s 10.a.b.0/24 -d 198.51.100.0/24 -p udp` (past 65,536 rules the
    /// sources go on into 11.0.0.0/8 and up, all distinct).
    fn s3_rule(i: usize) -> RuleSpec {
        RuleSpec {
            src: Some(Inv::plain(Ipv4Net::with_prefix(
                Ipv4Addr::from(0x0a00_0000 + ((i as u32) << 8)),
                24,
            ))),
            dst: Some(Inv::plain(Ipv4Net::with_prefix(
                Ipv4Addr::new(198, 51, 100, 0),
                24,
            ))),
            proto: Some(Inv::plain(17)),
            ..RuleSpec::default()
        }
    }

    fn ruleset(rng: &mut Rng, n: usize, bulk_percent: usize, any_len: bool) -> Vec<RuleSpec> {
        (0..n)
            .map(|i| {
                if rng.chance(bulk_percent) {
                    s3_rule(i)
                } else {
                    random_rule(rng, any_len)
                }
            })
            .collect()
    }

    fn addr_in(rng: &mut Rng, n: &Option<Inv<Ipv4Net>>) -> [u8; 4] {
        let random = u32::from_be_bytes(rng.pick(&NETS).0) | (rng.below(4) as u32);
        let a = match n {
            Some(n) if !n.inv && rng.chance(90) => {
                u32::from(n.val.addr) | (rng.next() as u32 & !n.val.mask)
            }
            _ => random,
        };
        a.to_be_bytes()
    }

    /// A packet aimed at `rule` (most of its criteria hold), or a random one.
    fn packet(rng: &mut Rng, rule: &RuleSpec) -> (Vec<u8>, Option<u16>, Option<u16>) {
        let proto = match rule.proto {
            Some(p) if !p.inv && rng.chance(90) => p.val,
            _ => rng.pick(&[6u8, 17, 1, 47]),
        };
        let mut dport = rng.pick(&DPORTS).wrapping_add(rng.below(4) as u16);
        for m in &rule.matches {
            let r = match m {
                Match::Tcp(t) => t.dport.map(|p| p.val),
                Match::Udp(u) => u.dport.map(|p| p.val),
                Match::Multiport(mp) => mp.ports.get(rng.below(mp.ports.len())).copied(),
                _ => None,
            };
            if let Some(r) = r.filter(|_| rng.chance(90)) {
                dport = r.lo + (rng.next() as u16) % (r.hi - r.lo).saturating_add(1).max(1);
            }
        }
        let mut p = vec![0u8; 20];
        p[0] = 0x45;
        p[8] = 64;
        p[9] = proto;
        p[12..16].copy_from_slice(&addr_in(rng, &rule.src));
        p[16..20].copy_from_slice(&addr_in(rng, &rule.dst));
        if rng.chance(10) {
            p[7] = 3; // a non-first fragment: no ports
        }
        let mut l4 = vec![0u8; 20];
        l4[0..2].copy_from_slice(&40000u16.to_be_bytes());
        l4[2..4].copy_from_slice(&dport.to_be_bytes());
        l4[12] = 0x50;
        p.extend_from_slice(&l4);
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        let port = |rng: &mut Rng| rng.pick(&[None, Some(0u16), Some(1), Some(2)]);
        (p, port(rng), port(rng))
    }

    /// What the traversal evaluates: every stateless criterion of the rule.
    fn full_match(spec: &RuleSpec, ip: &[u8], inp: Option<u16>, outp: Option<u16>) -> bool {
        let name = |p: Option<u16>| p.map(|p| PORTS[usize::from(p)]);
        let meta = PacketMeta {
            in_iface: name(inp),
            out_iface: name(outp),
            ..PacketMeta::default()
        };
        let view = PacketView::parse(ip, meta).expect("parseable");
        let sets = crate::ipset::SetTable::default();
        let cx = crate::ruleset::ext::PacketCx {
            view: &view,
            sets: &sets,
            now_ns: 0,
        };
        spec.base_matches(&view)
            && spec
                .matches
                .iter()
                .all(|m| m.decide_packet(&cx).unwrap_or(false))
    }

    /// The rules before `from` (a chain's lead, which every packet meets) and then every
    /// candidate `ix` gives for the packet, into `seen`; a candidate it calls exact must
    /// match the packet.
    fn walk_candidates(
        ix: &ChainIndex,
        specs: &[RuleSpec],
        cands: &mut Candidates,
        (ip, inp, outp): (&[u8], Option<u16>, Option<u16>),
        mut from: usize,
        seen: &mut Vec<usize>,
    ) {
        ix.start(&packet_keys(ip, inp, outp), cands);
        seen.clear();
        seen.extend(0..from);
        while let Some(r) = ix.next(cands, from) {
            assert!(r >= from && r < specs.len());
            if ix.matches_exactly(r) {
                assert!(
                    full_match(&specs[r], ip, inp, outp),
                    "rule {r} {:?} is exact but does not match {ip:?}",
                    specs[r]
                );
            }
            seen.push(r);
            from = r + 1;
        }
    }

    /// Every rule that matches must come out of the index, in ascending order: then the
    /// traversal meets the same rules in the same order as a scan.
    fn check(rng: &mut Rng, specs: &[RuleSpec], packets: usize) -> (usize, usize) {
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        let ix = ChainIndex::build(&refs, &ports()).expect("indexed");
        let mut cands = Candidates::default();
        let (mut seen, mut matched) = (Vec::new(), 0);
        let mut total = 0;
        for _ in 0..packets {
            let aim = &specs[rng.below(specs.len())];
            let (ip, inp, outp) = packet(rng, aim);
            walk_candidates(&ix, specs, &mut cands, (&ip, inp, outp), 0, &mut seen);
            total += seen.len();
            let mut it = seen.iter().peekable();
            for (r, spec) in specs.iter().enumerate() {
                while it.next_if(|c| **c < r).is_some() {}
                if full_match(spec, &ip, inp, outp) {
                    matched += 1;
                    assert_eq!(
                        it.peek(),
                        Some(&&r),
                        "rule {r} {spec:?} matches {ip:?} in {inp:?} out {outp:?} \
                         but is not a candidate"
                    );
                }
            }
        }
        (matched, total)
    }

    #[test]
    fn candidates_include_every_matching_rule_in_order() {
        let mut rng = Rng(20261202);
        for (n, bulk, any_len, packets) in [
            (8, 0, false, 300),
            (40, 0, false, 300),
            (40, 0, true, 300),
            (300, 20, false, 300),
            (2_000, 50, true, 150),
            (10_000, 90, false, 60),
            (50_000, 98, false, 25),
        ] {
            for _ in 0..if n <= 300 { 10 } else { 1 } {
                let specs = ruleset(&mut rng, n, bulk, any_len);
                let (matched, candidates) = check(&mut rng, &specs, packets);
                // The packets are aimed at rules: the check saw real matches.
                assert!(matched > 0, "{n} rules: no packet matched");
                assert!(candidates >= matched);
            }
        }
    }

    #[test]
    fn many_prefix_lengths_are_rounded_into_few_tuples() {
        let mut rng = Rng(7);
        let specs = ruleset(&mut rng, 3_000, 0, true);
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        let ix = ChainIndex::build(&refs, &ports()).expect("indexed");
        // Up to 16 field combinations besides the prefixes, at step 32 (/0 or /32 each).
        assert!(ix.tuples() <= 4 * 16, "{}", ix.tuples());
    }

    #[test]
    fn s3_rules_are_one_tuple_and_the_last_rule_is_the_only_candidate() {
        let specs: Vec<RuleSpec> = (0..50_000).map(s3_rule).collect();
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        let ix = ChainIndex::build(&refs, &[]).expect("indexed");
        assert_eq!(ix.tuples(), 1);
        let ip = crate::ruleset::packet::tests::ipv4(
            17,
            [10, 195, 79, 1],
            [198, 51, 100, 1],
            &[0x13, 0x88, 0, 53, 0, 8, 0, 0],
        );
        let mut c = Candidates::default();
        ix.start(&packet_keys(&ip, Some(0), None), &mut c);
        assert_eq!(ix.next(&mut c, 0), Some(49_999));
        assert_eq!(ix.next(&mut c, 50_000), None);
    }

    #[test]
    fn the_burst_probe_finds_the_candidate_the_traversal_will() {
        let specs: Vec<RuleSpec> = (0..50_000).map(s3_rule).collect();
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        let ix = ChainIndex::build(&refs, &[]).expect("indexed");
        assert!(ix.worth_prefetching(), "4 MiB of slots");
        let small: Vec<&RuleSpec> = refs[..1_000].to_vec();
        assert!(!ChainIndex::build(&small, &[])
            .expect("indexed")
            .worth_prefetching());
        let packet = |src: [u8; 4]| {
            crate::ruleset::packet::tests::ipv4(
                17,
                src,
                [198, 51, 100, 1],
                &[0x13, 0x88, 0, 53, 0, 8, 0, 0],
            )
        };
        for (src, rule) in [([10, 195, 79, 1], 49_999), ([10, 0, 7, 200], 7)] {
            let ip = packet(src);
            let mut probe = ix.burst_key(&ip).expect("a key the tuple holds");
            ix.prefetch(&mut probe);
            assert_eq!(ix.probe_rule(&probe), Some(rule));
            let mut c = Candidates::default();
            ix.start(&packet_keys(&ip, Some(0), None), &mut c);
            assert_eq!(ix.next(&mut c, 0), Some(rule));
        }
        // Same /24, same key; a source no rule has, no candidate; short bytes, no probe.
        let (a, b) = (packet([10, 1, 2, 3]), packet([10, 1, 2, 99]));
        let pa = ix.burst_key(&a).expect("key");
        assert!(pa.same_key(&ix.burst_key(&b).expect("key")));
        let none = ix.burst_key(&packet([10, 250, 0, 1])).and_then(|mut p| {
            ix.prefetch(&mut p);
            ix.probe_rule(&p)
        });
        assert_eq!(none, None);
        assert_eq!(ix.burst_key(&a[..19]), None);
    }

    #[test]
    fn memory_is_linear_in_the_rule_count() {
        let per_rule = |n: usize| {
            let specs: Vec<RuleSpec> = (0..n).map(s3_rule).collect();
            let refs: Vec<&RuleSpec> = specs.iter().collect();
            let ix = ChainIndex::build(&refs, &[]).expect("indexed");
            ix.bytes() as f64 / n as f64
        };
        // One key per rule, its rule in the slot: a 32-byte slot at most half full (up to
        // 4 slots per key after rounding up to a power of two).
        for n in [1_000, 10_000, 60_000] {
            let b = per_rule(n);
            assert!(
                (64.0..=4.0 * 32.0 + 1.0).contains(&b),
                "{n}: {b} bytes/rule"
            );
        }
    }

    /// The build's cost at scale; run in release: `cargo test --release -p dataplane --lib
    /// -- --ignored --nocapture scale`.
    #[test]
    #[ignore]
    fn scale_100k_rules_build_within_a_second_and_1m_within_2_gib() {
        let mut rng = Rng(11);
        for (what, specs) in [
            ("S3", (0..100_000).map(s3_rule).collect::<Vec<_>>()),
            ("mixed", ruleset(&mut rng, 100_000, 50, false)),
            ("S3", (0..1_000_000).map(s3_rule).collect()),
            ("mixed", ruleset(&mut rng, 1_000_000, 50, false)),
        ] {
            let refs: Vec<&RuleSpec> = specs.iter().collect();
            let t = std::time::Instant::now();
            let ix = ChainIndex::build(&refs, &ports()).expect("indexed");
            let took = t.elapsed();
            let per_rule = ix.bytes() as f64 / specs.len() as f64;
            println!(
                "{what} {} rules: built in {took:?}, {} bytes ({per_rule:.1} per rule), {} tuples",
                specs.len(),
                ix.bytes(),
                ix.tuples()
            );
            if specs.len() == 100_000 {
                assert!(took < std::time::Duration::from_secs(1), "{took:?}");
            }
            assert!(ix.bytes() < 2 << 30);
        }
    }

    #[test]
    fn an_index_over_the_budget_is_refused_with_its_size() {
        let specs: Vec<RuleSpec> = (0..5_000).map(s3_rule).collect();
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        let ix = ChainIndex::build(&refs, &[]).expect("indexed");
        let need = ix.bytes();
        assert_eq!(
            ChainIndex::build_within(&refs, &[], need - 1),
            Err(IndexTooLarge { bytes: need })
        );
        assert_eq!(ChainIndex::build_within(&refs, &[], need), Ok(Some(ix)));
    }

    #[test]
    fn short_chains_and_rules_without_indexable_criteria_are_scanned() {
        let specs: Vec<RuleSpec> = (0..MIN_INDEXED_RULES - 1).map(s3_rule).collect();
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        assert_eq!(ChainIndex::build(&refs, &[]), None);
        let negated = RuleSpec {
            src: Some(Inv::new(
                true,
                Ipv4Net::with_prefix(Ipv4Addr::new(10, 0, 0, 0), 8),
            )),
            ..RuleSpec::default()
        };
        let refs = vec![&negated; 20];
        assert_eq!(ChainIndex::build(&refs, &[]), None);
    }

    #[test]
    fn rules_whose_interface_no_port_has_are_never_candidates() {
        let mut specs: Vec<RuleSpec> = (0..10).map(s3_rule).collect();
        specs[3].in_iface = Some(Inv::plain(Iface::new("nope0").unwrap()));
        specs[3].src = None;
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        let ix = ChainIndex::build(&refs, &ports()).expect("indexed");
        let ip = crate::ruleset::packet::tests::ipv4(
            17,
            [10, 0, 3, 1],
            [198, 51, 100, 1],
            &[0x13, 0x88, 0, 53, 0, 8, 0, 0],
        );
        let mut c = Candidates::default();
        ix.start(&packet_keys(&ip, Some(0), None), &mut c);
        assert_eq!(ix.next(&mut c, 0), None);
    }

    /// The gateway's FORWARD shape: two all-wildcard lead rules, `-i wan0 -p udp -s NET`
    /// rules, `-i ! lan0`, then `-i lan0 -o wan0`. Rules whose interfaces expanded to
    /// ports are known to match when found; `-i ! lan0`, a wildcard in the key, is
    /// evaluated; a LAN packet is no candidate of the `-i wan0` rules.
    #[test]
    fn interfaces_expanded_to_ports_are_exact_and_other_tuples_are_skipped() {
        let iface = |name: &str, inv: bool| {
            Some(Inv {
                val: Iface::new(name).unwrap(),
                inv,
            })
        };
        let mut specs = vec![RuleSpec::default(), RuleSpec::default()];
        for i in 0..8 {
            specs.push(RuleSpec {
                in_iface: iface("wan0", false),
                proto: Some(Inv::plain(17)),
                ..RuleSpec::default()
            });
            specs[i + 2].src = Some(Inv::plain(Ipv4Net::with_prefix(
                Ipv4Addr::from(0x0a00_0000 + ((i as u32) << 16)),
                16,
            )));
        }
        specs.push(RuleSpec {
            in_iface: iface("lan0", true),
            ..RuleSpec::default()
        });
        specs.push(RuleSpec {
            in_iface: iface("lan0", false),
            out_iface: iface("wan0", false),
            ..RuleSpec::default()
        });
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        let ix = ChainIndex::build(&refs, &ports()).expect("indexed");
        assert_eq!(ix.lead(), 2);
        let last = specs.len() - 1;
        assert!(ix.matches_exactly(last));
        assert!(!ix.matches_exactly(last - 1));
        assert!(ix.matches_exactly(2));
        let ip = crate::ruleset::packet::tests::ipv4(
            17,
            [10, 0, 3, 1],
            [198, 51, 100, 1],
            &[0x13, 0x88, 0, 53, 0, 8, 0, 0],
        );
        // From lan0 (port 0) to wan0 (port 1): rule 2 would match on its source, but not
        // on its interface; `-i ! lan0` (all-wildcard key) is a candidate to evaluate.
        let mut c = Candidates::default();
        ix.start(&packet_keys(&ip, Some(0), Some(1)), &mut c);
        assert_eq!(ix.next(&mut c, 2), Some(last - 1));
        assert_eq!(ix.next(&mut c, last), Some(last));
        // From wan0: rule 2 (source 10.0.0.0/16, udp) and then `-i ! lan0`.
        ix.start(&packet_keys(&ip, Some(1), Some(0)), &mut c);
        assert_eq!(ix.next(&mut c, 2), Some(2));
        assert_eq!(ix.next(&mut c, 3), Some(last - 1));
        assert_eq!(ix.next(&mut c, last), None);
    }

    /// The linear plan of a short chain (`build_linear`) against the scan, as `check`
    /// does for the index: every matching rule is a candidate, in order, and a rule
    /// it calls exact matches.
    #[test]
    fn linear_plan_candidates_include_every_matching_rule_in_order() {
        let mut rng = Rng(20261207);
        let mut cands = Candidates::default();
        let mut planned = 0;
        for n in [MIN_INDEXED_RULES, 12, 18, 25, MAX_LINEAR_RULES] {
            for round in 0..40 {
                let specs = ruleset(
                    &mut rng,
                    n,
                    if round % 4 == 0 { 30 } else { 0 },
                    round % 2 == 1,
                );
                let refs: Vec<&RuleSpec> = specs.iter().collect();
                let Some(ix) = ChainIndex::build_linear(&refs, &ports()) else {
                    continue;
                };
                planned += 1;
                assert_eq!(ix.tuples(), 0);
                let (mut matched, mut seen) = (0, Vec::new());
                for _ in 0..200 {
                    let aim = &specs[rng.below(specs.len())];
                    let (ip, inp, outp) = packet(&mut rng, aim);
                    let lead = ix.lead();
                    walk_candidates(&ix, &specs, &mut cands, (&ip, inp, outp), lead, &mut seen);
                    for (r, spec) in specs.iter().enumerate() {
                        if full_match(spec, &ip, inp, outp) {
                            matched += 1;
                            assert!(
                                seen.contains(&r),
                                "rule {r} {spec:?} matches {ip:?} in {inp:?} out {outp:?} \
                                 but is not a candidate of the plan"
                            );
                        }
                    }
                }
                assert!(matched > 0, "{n} rules: no packet matched");
            }
        }
        assert!(planned > 100, "only {planned} rulesets got a plan");
    }

    #[test]
    fn chains_outside_the_linear_sizes_get_no_plan() {
        let specs: Vec<RuleSpec> = (0..MAX_LINEAR_RULES + 1).map(s3_rule).collect();
        let refs: Vec<&RuleSpec> = specs.iter().collect();
        assert_eq!(ChainIndex::build_linear(&refs, &[]), None);
        assert_eq!(
            ChainIndex::build_linear(&refs[..MIN_INDEXED_RULES - 1], &[]),
            None
        );
        let ix = ChainIndex::build_linear(&refs[..MIN_INDEXED_RULES], &[]).expect("planned");
        assert!(ix.bytes() > 0);
    }
}
