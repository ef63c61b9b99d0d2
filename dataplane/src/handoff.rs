//! Multi-core NAT (DESIGN.md "Multi-core NAT"): the bounded lock-free inboxes through
//! which a packet that landed on the wrong worker is handed to its owner (found by the
//! packet's port slice or by conntrack's owner directory, `conntrack::owners`).
//!
//! The rules that keep this safe:
//! - a handed packet is always processed by the worker that receives it, never handed
//!   on (a reassembled datagram is a new packet and may make one more hop, see
//!   `Pipeline::owner_of`), so a wrong answer costs at most a misrouted packet;
//! - a reply tuple is registered by at most one worker (`OwnerDirectory::register`).

pub use crate::conntrack::owners::{OwnerDirectory, OwnerDirectory6, RegisterError, MAX_PROBE};
use crate::defrag6::Frag6;
use crate::port::{PacketBuf, PortId};
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

/// A packet handed from one worker to another.
#[derive(Debug)]
pub struct Handed {
    /// The port it arrived on.
    pub port: PortId,
    /// The Ethernet frame.
    pub frame: PacketBuf,
    /// For an IPv4 datagram reassembled by the sender: the largest fragment it came in
    /// (it leaves in pieces no larger); 0 otherwise.
    pub frag_max: usize,
    /// The same for an IPv6 datagram: how it came cut (largest fragment, identification,
    /// unfragmentable part), so it leaves cut the same way (`transmit6_within`).
    pub frag6: Option<Frag6>,
    /// An IPv4 or IPv6 packet the host sent through the TAP port (no Ethernet header):
    /// it takes the OUTPUT path on the owner; `port` is unused (`frame.port` is the port
    /// a link-local destination is reached by).
    pub from_host: bool,
}

/// One worker's handoff counters (written by that worker only).
#[derive(Debug, Default)]
#[repr(align(64))]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    drops: AtomicU64,
}

/// A snapshot of one worker's handoff counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandoffStats {
    /// Packets this worker handed to another.
    pub sent: u64,
    /// Packets this worker took from its inbox and processed.
    pub received: u64,
    /// Packets this worker could not hand off: the owner's inbox was full.
    pub drops: u64,
}

/// What the workers of one data plane share: the owner directories (IPv4, IPv6) and
/// one bounded inbox per worker.
pub struct Handoff {
    directory: std::sync::Arc<OwnerDirectory>,
    directory6: std::sync::Arc<OwnerDirectory6>,
    inboxes: Vec<ArrayQueue<Handed>>,
    counters: Vec<Counters>,
}

impl Handoff {
    /// For `workers` workers (at least 1), each inbox holding `inbox` packets.
    pub fn new(
        workers: u16,
        inbox: usize,
        directory: std::sync::Arc<OwnerDirectory>,
        directory6: std::sync::Arc<OwnerDirectory6>,
    ) -> Handoff {
        let n = usize::from(workers.max(1));
        Handoff {
            directory,
            directory6,
            inboxes: (0..n).map(|_| ArrayQueue::new(inbox.max(1))).collect(),
            counters: (0..n).map(|_| Counters::default()).collect(),
        }
    }

    pub fn workers(&self) -> u16 {
        self.inboxes.len() as u16
    }

    pub fn directory(&self) -> &std::sync::Arc<OwnerDirectory> {
        &self.directory
    }

    pub fn directory6(&self) -> &std::sync::Arc<OwnerDirectory6> {
        &self.directory6
    }

    /// Hands `packet` from worker `from` to worker `to`; a full inbox drops it (counted
    /// as `from`'s drop). `false` when dropped.
    pub fn send(&self, from: u16, to: u16, packet: Handed) -> bool {
        let Some(inbox) = self.inboxes.get(usize::from(to)) else {
            return false;
        };
        let c = &self.counters[usize::from(from) % self.counters.len()];
        match inbox.push(packet) {
            Ok(()) => {
                c.sent.fetch_add(1, SeqCst);
                true
            }
            Err(_) => {
                c.drops.fetch_add(1, SeqCst);
                false
            }
        }
    }

    /// The next packet handed to worker `me`.
    pub fn receive(&self, me: u16) -> Option<Handed> {
        let p = self.inboxes.get(usize::from(me))?.pop()?;
        self.counters[usize::from(me)].received.fetch_add(1, SeqCst);
        Some(p)
    }

    /// Packets waiting in worker `me`'s inbox.
    pub fn pending(&self, me: u16) -> usize {
        self.inboxes.get(usize::from(me)).map_or(0, |q| q.len())
    }

    pub fn stats(&self, worker: u16) -> HandoffStats {
        self.counters
            .get(usize::from(worker))
            .map_or(HandoffStats::default(), |c| HandoffStats {
                sent: c.sent.load(SeqCst),
                received: c.received.load(SeqCst),
                drops: c.drops.load(SeqCst),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn full_inbox_drops_and_counts() {
        let h = Handoff::new(
            2,
            2,
            Arc::new(OwnerDirectory::new(64)),
            Arc::new(OwnerDirectory6::new(64)),
        );
        let p = || Handed {
            port: PortId(0),
            frame: PacketBuf::from_slice(&[1; 60]),
            frag_max: 0,
            frag6: None,
            from_host: false,
        };
        assert!(h.send(0, 1, p()));
        assert!(h.send(0, 1, p()));
        assert!(!h.send(0, 1, p()));
        assert_eq!(h.pending(1), 2);
        assert!(h.receive(1).is_some());
        assert_eq!(
            h.stats(0),
            HandoffStats {
                sent: 2,
                received: 0,
                drops: 1
            }
        );
        assert_eq!(h.stats(1).received, 1);
    }
}
