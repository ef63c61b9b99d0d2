//! The receive side: per-flow counts, reordering and latency from the stamps, and the loss
//! against what the generator sent.

use super::latency::{Histogram, LatencySummary};
use super::packet::{read_stamp, read_stamp6, Stamp};

#[derive(Debug, Clone, Copy, Default)]
struct FlowRx {
    received: u64,
    /// Highest sequence number seen + 1 (0: nothing yet).
    next: u32,
    reordered: u64,
}

/// Counts what comes back. One per receive thread; `merge` them for the total.
#[derive(Debug, Clone)]
pub struct RxCounter {
    flows: Vec<FlowRx>,
    pub received: u64,
    pub bytes: u64,
    /// Frames without our stamp, or with a flow id out of range.
    pub foreign: u64,
    pub latency: Histogram,
}

/// The receive side's verdict on a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RxReport {
    pub sent: u64,
    pub received: u64,
    /// Sent minus received, per flow, summed (never negative per flow).
    pub lost: u64,
    pub loss_ratio: f64,
    /// Packets that arrived after a higher sequence number of their flow.
    pub reordered: u64,
    pub flows_with_loss: u64,
    /// Received beyond what was sent (duplicates), summed per flow.
    pub excess: u64,
    pub foreign: u64,
    pub latency: LatencySummary,
}

impl RxCounter {
    pub fn new(flows: u32) -> RxCounter {
        RxCounter {
            flows: vec![FlowRx::default(); flows as usize],
            received: 0,
            bytes: 0,
            foreign: 0,
            latency: Histogram::new(),
        }
    }

    /// One received frame at `now_ns` (the generator's clock).
    #[inline]
    pub fn frame(&mut self, frame: &[u8], now_ns: u64) {
        let Some(s) = read_stamp(frame) else {
            self.frame6(frame, now_ns);
            return;
        };
        self.count(s, frame.len(), now_ns);
    }

    /// An IPv6 frame (or a foreign one): out of line, so that the IPv4 path costs what
    /// it did before IPv6 (the receive side is in every wall-clock rate).
    #[cold]
    #[inline(never)]
    fn frame6(&mut self, frame: &[u8], now_ns: u64) {
        match read_stamp6(frame) {
            Some(s) => self.count(s, frame.len(), now_ns),
            None => self.foreign += 1,
        }
    }

    #[inline(always)]
    fn count(&mut self, s: Stamp, len: usize, now_ns: u64) {
        let Some(f) = self.flows.get_mut(s.flow as usize) else {
            self.foreign += 1;
            return;
        };
        f.received += 1;
        if s.seq >= f.next {
            f.next = s.seq.wrapping_add(1);
        } else {
            f.reordered += 1;
        }
        self.received += 1;
        self.bytes += len as u64;
        self.latency.record(now_ns.saturating_sub(s.tx_ns));
    }

    /// Adds another receive thread's counts (same flow count).
    pub fn merge(&mut self, o: &RxCounter) {
        for (a, b) in self.flows.iter_mut().zip(&o.flows) {
            a.received += b.received;
            a.reordered += b.reordered;
            a.next = a.next.max(b.next);
        }
        self.received += o.received;
        self.bytes += o.bytes;
        self.foreign += o.foreign;
        self.latency.merge(&o.latency);
    }

    /// Loss per flow against `sent` (the generator's per-flow counts).
    pub fn report(&self, sent: &[u64]) -> RxReport {
        let mut r = RxReport {
            received: self.received,
            foreign: self.foreign,
            latency: self.latency.summary(),
            ..RxReport::default()
        };
        for (i, &tx) in sent.iter().enumerate() {
            let f = self.flows.get(i).copied().unwrap_or_default();
            r.sent += tx;
            r.reordered += f.reordered;
            if tx > f.received {
                r.lost += tx - f.received;
                r.flows_with_loss += 1;
            } else {
                r.excess += f.received - tx;
            }
        }
        r.loss_ratio = if r.sent == 0 {
            0.0
        } else {
            r.lost as f64 / r.sent as f64
        };
        r
    }

    /// Forgets everything (between trials).
    pub fn reset(&mut self) {
        let n = self.flows.len() as u32;
        *self = RxCounter::new(n);
    }
}
