//! The worker watchdog. Every poll loop a worker stores its poll count in its `Heartbeat`
//! (a relaxed store to a line the control thread reads ten times a second); the control
//! thread's `Watchdog` calls a worker stalled once that count has not moved for
//! `stall_after`: stuck in a driver call, spinning in a bug, stopped by a debugger. A stall
//! is logged when it begins and when it ends, and exported as `nfdp_worker_stalled{worker}`
//! (`/healthz` fails on the same worker once its snapshots stop).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::snapshot::SnapshotSlot;

/// How long a worker's heartbeat may stand still before it is called stalled: far above a
/// loop's longest honest pause (a conntrack listing of a full table), far below an
/// operator's patience.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(5);

/// One worker's sign of life: written by the worker, judged by the control thread.
#[derive(Debug, Default)]
pub struct Heartbeat {
    beats: AtomicU64,
    stalled: AtomicBool,
}

impl Heartbeat {
    /// The worker, once per poll loop: `polls` only grows while it runs.
    pub fn beat(&self, polls: u64) {
        self.beats.store(polls, Ordering::Relaxed);
    }

    pub fn beats(&self) -> u64 {
        self.beats.load(Ordering::Relaxed)
    }

    /// Whether the watchdog has called this worker stalled (and it has not beaten since).
    pub fn stalled(&self) -> bool {
        self.stalled.load(Ordering::Relaxed)
    }
}

/// A change the watchdog saw in a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// No beat for `for_` (at least `stall_after`).
    Stalled { worker: usize, for_: Duration },
    /// Beating again after a stall of `for_`.
    Recovered { worker: usize, for_: Duration },
}

/// The control thread's side: each worker's last beat count and when it last moved.
pub struct Watchdog {
    workers: Vec<Arc<SnapshotSlot>>,
    /// Per worker: the beats last seen and when they last changed.
    last: Vec<(u64, Instant)>,
    stall_after: Duration,
}

impl Watchdog {
    pub fn new(workers: Vec<Arc<SnapshotSlot>>, stall_after: Duration, now: Instant) -> Watchdog {
        let last = workers.iter().map(|w| (w.heartbeat.beats(), now)).collect();
        Watchdog {
            workers,
            last,
            stall_after,
        }
    }

    /// Looks at every heartbeat as of `now`: marks workers stalled or recovered and
    /// returns what changed.
    pub fn check(&mut self, now: Instant) -> Vec<Change> {
        let mut changes = Vec::new();
        for (worker, (slot, (seen, since))) in self.workers.iter().zip(&mut self.last).enumerate() {
            let beats = slot.heartbeat.beats();
            let still = now.saturating_duration_since(*since);
            let hb = &slot.heartbeat;
            if beats != *seen {
                if hb.stalled.swap(false, Ordering::Relaxed) {
                    changes.push(Change::Recovered {
                        worker,
                        for_: still,
                    });
                }
                (*seen, *since) = (beats, now);
            } else if still >= self.stall_after && !hb.stalled.swap(true, Ordering::Relaxed) {
                changes.push(Change::Stalled {
                    worker,
                    for_: still,
                });
            }
        }
        changes
    }

    /// `check`, with every change logged.
    pub fn check_and_log(&mut self, now: Instant) {
        for c in self.check(now) {
            match c {
                Change::Stalled { worker, for_ } => tracing::warn!(
                    worker,
                    seconds = for_.as_secs_f64(),
                    "worker stalled: it has not polled its queues since"
                ),
                Change::Recovered { worker, for_ } => tracing::warn!(
                    worker,
                    seconds = for_.as_secs_f64(),
                    "worker polling again after a stall"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_whose_heartbeat_stands_still_is_stalled_until_it_beats() {
        let slots: Vec<Arc<SnapshotSlot>> = (0..2).map(|_| Arc::new(SnapshotSlot::new())).collect();
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut dog = Watchdog::new(slots.clone(), 5 * s, t0);
        // Worker 0 beats, worker 1 does not.
        for i in 1..=4u32 {
            slots[0].heartbeat.beat(u64::from(i));
            assert_eq!(dog.check(t0 + i * s), vec![]);
        }
        slots[0].heartbeat.beat(5);
        assert_eq!(
            dog.check(t0 + 5 * s),
            vec![Change::Stalled {
                worker: 1,
                for_: 5 * s
            }]
        );
        assert!(slots[1].heartbeat.stalled() && !slots[0].heartbeat.stalled());
        // Reported once.
        assert_eq!(dog.check(t0 + 6 * s), vec![]);
        slots[1].heartbeat.beat(1);
        assert_eq!(
            dog.check(t0 + 7 * s),
            vec![Change::Recovered {
                worker: 1,
                for_: 7 * s
            }]
        );
        assert!(!slots[1].heartbeat.stalled());
        // Worker 0 last beat at 5 s: stalled at 10 s, not before.
        assert_eq!(dog.check(t0 + 9 * s), vec![]);
        assert_eq!(
            dog.check(t0 + 10 * s),
            vec![Change::Stalled {
                worker: 0,
                for_: 5 * s
            }]
        );
    }
}
