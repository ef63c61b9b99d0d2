//! A short chain's classifier as a precompiled linear plan: per rule, the masks and
//! values of the fields the tuple index keys on (addresses, protocol, destination port
//! range, interfaces as port bits), tested in rule order. For a chain of a few tens of
//! rules, a walk over these 48-byte records costs less than the index's per-tuple key
//! masking, filter bits and hash probes (S2's 18-rule FORWARD chain: ~110 instructions for
//! the 16 rules after its head against ~360 for the index's probes). What a record cannot hold
//! exactly (a negation, a match other than the port) passes the record and is evaluated
//! in full, as with the index: a rule is skipped only when one of its own criteria rules
//! it out, so the first match is the scan's.

use super::{
    dport_keys, iface_keys, Candidates, Field, Keys, MIN_INDEXED_RULES, NO_IFACE, NO_PORT,
};
use crate::ruleset::{Inv, Ipv4Net, RuleSpec};

/// Chains up to this many rules get a linear plan instead of the tuple index.
pub const MAX_LINEAR_RULES: usize = 32;

/// Port ids with a bit of their own; the next bit is every port not known when the plan
/// was built (no expanded interface criterion holds it), the last "no interface".
const PORT_BITS: usize = 62;
const OTHER_PORT: u64 = 1 << PORT_BITS;
const NO_IFACE_BIT: u64 = 1 << 63;

/// One rule's record: a packet whose fields fail it cannot match the rule.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Filter {
    src_mask: u32,
    src: u32,
    dst_mask: u32,
    dst: u32,
    /// Interfaces as port bits (`port_bit`); all bits: any.
    ins: u64,
    outs: u64,
    /// `proto << 17 | dport` under `key_mask` (the protocol's bits, and the port's when
    /// the rule has a destination port range) must lie in `lo..=hi`.
    key_mask: u32,
    lo: u32,
    hi: u32,
    /// The first later rule whose `ins` differ: a packet this rule's interfaces rule out
    /// is ruled out by all the rules up to there (S2's 12 `-i wan0` rules: one test).
    ins_run_end: u32,
}

/// A packet's port bit (`id` a port id or `NO_IFACE`).
fn port_bit(id: u32) -> u64 {
    match id {
        NO_IFACE => NO_IFACE_BIT,
        id if (id as usize) < PORT_BITS => 1 << id,
        _ => OTHER_PORT,
    }
}

/// An address criterion as a mask and value, and whether the test is all of it.
fn net(n: &Option<Inv<Ipv4Net>>) -> (u32, u32, bool) {
    match n {
        None => (0, 0, true),
        Some(n) if n.inv => (0, 0, false),
        Some(n) => {
            let (addr, mask) = (u32::from(n.val.addr), n.val.mask);
            let exact = addr & mask == addr && n.val.prefix_len().is_some();
            (mask, addr & mask, exact)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct LinearPlan {
    filters: Vec<Filter>,
}

impl LinearPlan {
    /// The plan of a chain's rules and its `exact` bits (as `ChainIndex::exact`) and
    /// `lead`; `None` when the ports do not fit the bits or no rule has a usable field.
    pub(super) fn build(
        specs: &[&RuleSpec],
        ports: &[String],
    ) -> Option<(LinearPlan, Vec<u64>, u32)> {
        // Shorter chains are scanned, as the index leaves them (`MIN_INDEXED_RULES`).
        if !(MIN_INDEXED_RULES..=MAX_LINEAR_RULES).contains(&specs.len()) || ports.len() > PORT_BITS
        {
            return None;
        }
        let mut filters = Vec::with_capacity(specs.len());
        let mut exact = vec![0u64; specs.len().div_ceil(64)];
        let mut lead = 0u32;
        let mut useful = false;
        let (mut ins, mut outs, mut dports) = (Vec::new(), Vec::new(), Vec::new());
        for (r, spec) in specs.iter().enumerate() {
            let (src_mask, src, src_exact) = net(&spec.src);
            let (dst_mask, dst, dst_exact) = net(&spec.dst);
            let bits = |v: &[u32]| {
                if v.is_empty() {
                    u64::MAX
                } else {
                    v.iter().fold(0, |b, &i| b | port_bit(i))
                }
            };
            let never = !iface_keys(&spec.in_iface, ports, &mut ins)
                || !iface_keys(&spec.out_iface, ports, &mut outs);
            let (ins_bits, outs_bits) = if never {
                (0, 0)
            } else {
                (bits(&ins), bits(&outs))
            };
            let proto = spec.exact_proto().filter(|p| *p != 0);
            dport_keys(spec, &mut dports);
            let mut key_mask = 0;
            let (mut lo, mut hi) = (0, 0);
            if let Some(p) = proto {
                key_mask |= 0xff << 17;
                lo |= u32::from(p) << 17;
                hi |= u32::from(p) << 17;
            }
            if let (Some(first), Some(last)) = (dports.first(), dports.last()) {
                key_mask |= 0x1_ffff;
                lo |= first;
                hi |= last;
            }
            let f = Filter {
                src_mask,
                src,
                dst_mask,
                dst,
                ins: ins_bits,
                outs: outs_bits,
                key_mask,
                lo,
                hi,
                ins_run_end: 0,
            };
            let wildcard = src_mask == 0
                && dst_mask == 0
                && key_mask == 0
                && ins_bits == u64::MAX
                && outs_bits == u64::MAX;
            if wildcard && lead == r as u32 {
                lead += 1;
            }
            useful |= !wildcard;
            // As the index's `matches_exactly`: only base criteria the record holds.
            let is_exact = !never
                && src_exact
                && dst_exact
                && spec.proto.is_none_or(|p| !p.inv)
                && spec.fragment.is_none()
                && (spec.in_iface.is_none() || !ins.is_empty())
                && (spec.out_iface.is_none() || !outs.is_empty())
                && spec.matches.is_empty();
            if is_exact {
                exact[r / 64] |= 1 << (r % 64);
            }
            filters.push(f);
        }
        let mut end = filters.len() as u32;
        for r in (0..filters.len()).rev() {
            if filters.get(r + 1).is_none_or(|n| n.ins != filters[r].ins) {
                end = r as u32 + 1;
            }
            filters[r].ins_run_end = end;
        }
        useful.then_some((LinearPlan { filters }, exact, lead))
    }

    /// Bytes the plan takes.
    pub(super) fn bytes(&self) -> u64 {
        (self.filters.len() * std::mem::size_of::<Filter>()) as u64
    }

    /// Starts a packet with `keys` (in `c`'s key, with its interfaces as port bits).
    #[inline]
    pub(super) fn start(&self, keys: &Keys, c: &mut Candidates) {
        let k = |f: Field| keys.0[f as usize];
        c.key = [
            0,
            k(Field::Src),
            k(Field::Dst),
            (k(Field::Proto) & 0xff) << 17 | (k(Field::DstPort) & 0x1_ffff),
            0,
        ];
        c.in_bit = port_bit(k(Field::InIface));
        c.out_bit = port_bit(k(Field::OutIface));
        // A packet no rule can match has no candidate (`probed` past every rule).
        c.probed = if keys.1 { 0 } else { usize::MAX };
    }

    /// The first rule at or after `from` whose record the packet passes.
    #[inline]
    pub(super) fn next(&self, c: &Candidates, from: usize) -> Option<usize> {
        if c.probed != 0 {
            return None;
        }
        let [_, src, dst, key, _] = c.key;
        let mut r = from;
        while let Some(f) = self.filters.get(r) {
            if f.ins & c.in_bit == 0 {
                r = f.ins_run_end as usize;
                continue;
            }
            if f.outs & c.out_bit != 0
                && src & f.src_mask == f.src
                && dst & f.dst_mask == f.dst
                && (f.lo..=f.hi).contains(&(key & f.key_mask))
            {
                return Some(r);
            }
            r += 1;
        }
        None
    }
}

/// `NO_PORT` keys a packet without ports: no port range of a rule holds it.
const _: () = assert!(NO_PORT > 0xffff);
