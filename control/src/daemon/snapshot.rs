//! What each worker publishes for the metrics port: at every housekeeping tick (100 ms) a
//! worker stores a copy of its counters in its own `SnapshotSlot` with one pointer swap, and
//! readers (`/metrics`, `/healthz`) load the latest copy without asking the worker anything.
//! The packet path never touches the slot: the cost is one small allocation per tick.

use super::watchdog::Heartbeat;
use super::worker::WorkerReport;
use arc_swap::ArcSwapOption;
use dataplane::pipeline::CompiledRuleset;
use std::sync::Arc;
use std::time::Instant;

/// One worker's counters as of `at`.
#[derive(Debug, Clone)]
pub struct WorkerSnapshot {
    /// Everything but the listings (`conntrack`, `neighbors` are empty).
    pub report: WorkerReport,
    /// The ruleset `report.counters` belong to (its slots name the rules), kept alive by
    /// the snapshot so labels and counters always match, even across a swap.
    pub ruleset: Arc<CompiledRuleset>,
    /// Share of polls that found packets since the previous snapshot.
    pub busy_ratio: f64,
    /// The shard's nf_conntrack_max as the worker runs it (it may change live).
    pub ct_limit: u64,
    /// When the worker took it.
    pub at: Instant,
    /// The same, as nanoseconds since the Unix epoch (the pipeline's clock).
    pub unix_ns: u64,
    /// False in the last snapshot a worker publishes as its loop ends.
    pub running: bool,
}

/// A worker's latest snapshot: written by that worker only, read by anyone; and its
/// heartbeat, which the worker updates every poll loop (see `watchdog`).
#[derive(Default)]
pub struct SnapshotSlot {
    latest: ArcSwapOption<WorkerSnapshot>,
    pub heartbeat: Heartbeat,
}

impl SnapshotSlot {
    pub fn new() -> SnapshotSlot {
        SnapshotSlot::default()
    }

    pub fn publish(&self, snapshot: WorkerSnapshot) {
        self.latest.store(Some(Arc::new(snapshot)));
    }

    /// `None` until the worker's first housekeeping tick.
    pub fn latest(&self) -> Option<Arc<WorkerSnapshot>> {
        self.latest.load_full()
    }
}
