//! What every set element may carry besides its key (the kernel's set extensions):
//! a timeout, packet/byte counters, a comment, the `nomatch` flag.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Packet and byte counters of one element. Shared (`Arc`) by every snapshot of the set
/// that holds the element, so that hits counted by a worker on an older snapshot are not
/// lost when `ipset add` publishes a newer one.
#[derive(Debug, Default)]
pub struct ElemCounters {
    packets: AtomicU64,
    bytes: AtomicU64,
}

impl ElemCounters {
    pub fn new(packets: u64, bytes: u64) -> ElemCounters {
        ElemCounters {
            packets: AtomicU64::new(packets),
            bytes: AtomicU64::new(bytes),
        }
    }
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    pub fn add(&self, packets: u64, bytes: u64) {
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// The extensions of one element.
#[derive(Clone, Debug, Default)]
pub struct ElemExt {
    /// When the element stops matching (`now_ns` clock); `None` is permanent.
    pub expires_ns: Option<u64>,
    /// Present when the set has `counters`.
    pub counters: Option<Arc<ElemCounters>>,
    /// Present when the set has `comment` and the element was given one.
    pub comment: Option<Arc<str>>,
    /// A `nomatch` element (hash:net types): a hit on it makes the test fail.
    pub nomatch: bool,
}

impl PartialEq for ElemExt {
    fn eq(&self, other: &Self) -> bool {
        let counts = |c: &Option<Arc<ElemCounters>>| c.as_ref().map(|c| (c.packets(), c.bytes()));
        self.expires_ns == other.expires_ns
            && counts(&self.counters) == counts(&other.counters)
            && self.comment == other.comment
            && self.nomatch == other.nomatch
    }
}

impl ElemExt {
    pub fn expired(&self, now_ns: u64) -> bool {
        self.expires_ns.is_some_and(|t| now_ns >= t)
    }

    /// Seconds left as `ipset list` prints them: whole seconds, at least 1 while alive.
    pub fn seconds_left(&self, now_ns: u64) -> Option<u64> {
        self.expires_ns
            .map(|t| (t.saturating_sub(now_ns) / 1_000_000_000).max(1))
    }
}

/// `--packets-*` / `--bytes-*` of `-m set`: how a counter compares with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterCmp {
    Eq,
    /// `! --packets-eq`.
    Ne,
    Lt,
    Gt,
}

impl CounterCmp {
    pub fn holds(self, counter: u64, value: u64) -> bool {
        match self {
            CounterCmp::Eq => counter == value,
            CounterCmp::Ne => counter != value,
            CounterCmp::Lt => counter < value,
            CounterCmp::Gt => counter > value,
        }
    }
}

/// How one test treats the element's extensions (the kernel's cmdflags of xt_set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestFlags {
    pub return_nomatch: bool,
    /// `! --update-counters`.
    pub skip_counter_update: bool,
    /// `! --update-subcounters` (the member sets of a list:set).
    pub skip_subcounter_update: bool,
    pub packets: Option<(CounterCmp, u64)>,
    pub bytes: Option<(CounterCmp, u64)>,
}

/// The result of looking a packet up in one set, as the kernel's `kadt` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// No live element (or its counters did not compare).
    Miss,
    Hit,
    /// A `nomatch` element (the kernel's -ENOTEMPTY).
    NoMatch,
}

/// The kernel's `ip_set_match_extensions` followed by the nomatch check
/// (`mtype_data_match`): an expired element is not there; counters count the packet
/// (even on a nomatch element) before they are compared.
pub fn match_extensions(ext: &ElemExt, flags: &TestFlags, bytes: u64, now_ns: u64) -> Lookup {
    if ext.expired(now_ns) {
        return Lookup::Miss;
    }
    if let Some(c) = &ext.counters {
        if !flags.skip_counter_update {
            c.add(1, bytes);
        }
        let holds = |cmp: Option<(CounterCmp, u64)>, v: u64| match cmp {
            Some((op, x)) => op.holds(v, x),
            None => true,
        };
        if !(holds(flags.packets, c.packets()) && holds(flags.bytes, c.bytes())) {
            return Lookup::Miss;
        }
    }
    if ext.nomatch {
        Lookup::NoMatch
    } else {
        Lookup::Hit
    }
}
