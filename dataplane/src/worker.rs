//! The worker loop body: one pass over every port's queue `q`, each burst through the
//! pipeline, the results out on their ports (with a bounded retry, then counted as
//! dropped) and to the host. The DPDK worker calls `poll` in its busy loop; tests and
//! benchmarks call it on in-memory ports.
//!
//! With several workers (`Worker::multicore`), each received frame first goes to the
//! worker that owns its connection (`Pipeline::owner_of`): frames of other workers are
//! pushed to their inboxes, and each pass starts with this worker's inbox.
//!
//! Overload admission (`set_new_per_burst`): receive bursts that keep coming back full
//! (`OVERLOAD_AFTER` in a row from one port) mean the ring holds more than the worker
//! takes per pass, for longer than a traffic burst lasts. When such a burst also carries
//! packets of known connections (looked up with the burst's prefetch), only a budget of
//! its packets (on average the rate set) may start a connection; conntrack drops the
//! rest right after their lookup missed (`DropReason::Overload`), so a flood of new
//! connections cannot take the established flows' time. Bursts that are not full, the
//! first full ones of a run (a short burst of traffic is not overload: its new
//! connections must not wait for a SYN retransmission), all-new bursts and frames
//! handed over by other workers are not limited.

use crate::handoff::{Handed, Handoff};
use crate::pipeline::owner::{is_arp_reply, is_neighbor_advert};
use crate::pipeline::{Emit, Pipeline};
use crate::port::{PacketBuf, Port, PortId};
use std::sync::Arc;

/// How often a full transmit queue is retried before the rest is dropped.
pub const TX_RETRIES: usize = 4;

/// The default of `[dataplane] overload_new_per_burst` (`Worker::set_new_per_burst`, and
/// `Worker::new`'s): one new connection every eighth full burst. Under S6's flood (a
/// fifth of every full burst new) the established flows keep above 80% of their rate
/// (42% without admission; at 0.25 a bare 80%, one a burst 69%: perf/README.md, issue
/// 12); the shed packets' own cost (rx, parse, the missed lookup) bounds it.
pub const NEW_PER_BURST_DEFAULT: f64 = 0.125;

/// Full receive bursts in a row from one port before its bursts are limited: a short
/// burst of traffic (a TSO-sized flight of segments is one or two bursts) fills a burst
/// or two without the worker falling behind.
pub const OVERLOAD_AFTER: u16 = 8;

/// A connection in `Admission`'s fixed point.
const CREDIT_ONE: u32 = 256;

/// Overload admission's rate and what is saved of it.
#[derive(Clone, Debug)]
struct Admission {
    /// New connections per full burst, in 1/256.
    per_burst: u32,
    /// Not yet spent: grows by `per_burst` each limited burst, up to one burst's rate or
    /// one connection, whichever is more.
    credit: u32,
    /// Per port (by `PortId` index): full bursts in a row, up to `OVERLOAD_AFTER`.
    full_runs: Vec<u16>,
}

impl Admission {
    /// Counts a burst from `port` (`full`: it came back full); whether the port's
    /// bursts have now been full `OVERLOAD_AFTER` times in a row.
    fn overloaded(&mut self, port: PortId, full: bool) -> bool {
        let Some(run) = self.full_runs.get_mut(usize::from(port.0)) else {
            return false;
        };
        *run = if full {
            (*run + 1).min(OVERLOAD_AFTER)
        } else {
            0
        };
        *run == OVERLOAD_AFTER
    }
}

pub struct Worker {
    pub pipeline: Pipeline,
    /// The rx/tx queue this worker owns on every port.
    pub queue: u16,
    pub burst: usize,
    rx: Vec<PacketBuf>,
    emits: Vec<Emit>,
    /// Per port (by `PortId` index): frames waiting for `tx_burst`.
    tx: Vec<Vec<PacketBuf>>,
    /// Packets for the host (the TAP exception port takes them from here).
    pub local: Vec<PacketBuf>,
    /// This worker's index and what it shares with the others (multi-core only).
    handoff: Option<(u16, Arc<Handoff>)>,
    deferred: Vec<(u16, Handed)>,
    /// Overload admission (`None`: off).
    admission: Option<Admission>,
}

impl Worker {
    pub fn new(pipeline: Pipeline, queue: u16, burst: usize, ports: usize) -> Worker {
        let mut w = Worker {
            pipeline,
            queue,
            burst: burst.max(1),
            rx: Vec::with_capacity(burst),
            emits: Vec::with_capacity(burst * 2),
            tx: (0..ports).map(|_| Vec::with_capacity(burst)).collect(),
            local: Vec::new(),
            handoff: None,
            deferred: Vec::new(),
            admission: None,
        };
        w.set_new_per_burst(Some(NEW_PER_BURST_DEFAULT));
        w
    }

    /// Worker `index` of the data plane sharing `handoff` (one per worker): sets the
    /// pipeline's NAT port slice and owner directory.
    pub fn multicore(
        mut pipeline: Pipeline,
        queue: u16,
        burst: usize,
        ports: usize,
        index: u16,
        handoff: Arc<Handoff>,
    ) -> Worker {
        let dirs = (handoff.directory().clone(), handoff.directory6().clone());
        pipeline.set_worker(index, handoff.workers(), Some(dirs));
        let mut w = Worker::new(pipeline, queue, burst, ports);
        w.handoff = Some((index, handoff));
        w
    }

    /// Overload admission: on average how many packets of a full burst that also carries
    /// packets of known connections may start a connection (fractions spread over
    /// bursts: 0.5 is one every other burst); `None`: no limit.
    pub fn set_new_per_burst(&mut self, per_burst: Option<f64>) {
        let ports = self.tx.len();
        self.admission = per_burst.map(|r| Admission {
            per_burst: (r.max(0.0) * f64::from(CREDIT_ONE)).round() as u32,
            credit: 0,
            full_runs: vec![0; ports],
        });
    }

    /// This worker's index among the workers (0 for a single worker).
    pub fn index(&self) -> u16 {
        self.handoff.as_ref().map_or(0, |h| h.0)
    }

    /// This worker's handoff counters (multi-core workers only).
    pub fn handoff_stats(&self) -> Option<crate::handoff::HandoffStats> {
        self.handoff.as_ref().map(|(me, h)| h.stats(*me))
    }

    /// One pass over all ports; returns how many packets were received.
    /// Frames handed over by other workers count as received too.
    pub fn poll(&mut self, ports: &mut [&mut dyn Port], now_ns: u64) -> usize {
        let mut received = self.drain_inbox(ports.len(), now_ns);
        for port in ports.iter_mut() {
            self.rx.clear();
            let n = port.rx_burst(self.queue, &mut self.rx, self.burst);
            received += n;
            let in_port = port.id();
            let allowance = self.admit_burst(in_port, n, now_ns);
            let mut rx = std::mem::take(&mut self.rx);
            for buf in rx.drain(..) {
                self.steer(in_port, buf, now_ns);
            }
            self.rx = rx;
            if let (Some(given), Some(a)) = (allowance, self.admission.as_mut()) {
                let used = self.pipeline.lift_new_allowance(given);
                a.credit = a.credit.saturating_sub(used * CREDIT_ONE);
            }
            self.dispatch();
        }
        self.flush(ports);
        // Timers, a bounded number per pass whether or not traffic came.
        self.pipeline.reap(now_ns);
        received
    }

    /// Sends what the caller's own pipeline calls produced (OUTPUT from the host, timers,
    /// link events) the same way `poll` sends its bursts.
    pub fn send(&mut self, ports: &mut [&mut dyn Port], emits: &mut Vec<Emit>) {
        if emits.is_empty() && self.emits.is_empty() {
            return;
        }
        self.emits.append(emits);
        self.dispatch();
        self.flush(ports);
    }

    /// An IPv4 or IPv6 packet from the host's stack (the TAP port): through OUTPUT here,
    /// or on the worker that owns its connection (with conntrack). What it produces
    /// leaves with the next `send` or `poll`.
    pub fn output(&mut self, packet: PacketBuf, now_ns: u64) {
        if let Some((me, h)) = self.handoff.as_ref() {
            if let Some(owner) = self.pipeline.owner_of_packet(packet.data()) {
                let handed = Handed {
                    port: PortId(0),
                    frame: packet,
                    frag_max: 0,
                    frag6: None,
                    from_host: true,
                };
                h.send(*me, owner, handed);
                return;
            }
        }
        self.pipeline.output(packet, now_ns, &mut self.emits);
        // A datagram of the host's reassembled here (its fragment home) for its owner.
        if let Some((me, h)) = self.handoff.take() {
            self.hand_deferred(me, &h);
            self.handoff = Some((me, h));
        }
    }

    /// Starts the burst's conntrack lookups, and limits the connections it may start
    /// when `port`'s bursts have come back full (`n` of `burst`) `OVERLOAD_AFTER` times
    /// in a row and this one has packets of known connections in it: returns the
    /// allowance given (the caller lifts it after the burst).
    fn admit_burst(&mut self, port: PortId, n: usize, now_ns: u64) -> Option<u32> {
        let full = n == self.burst;
        let overloaded = self.admission.as_mut().and_then(|a| {
            let over = a.overloaded(port, full);
            over.then_some(a)
        });
        let Some(a) = overloaded else {
            self.pipeline.prefetch_burst(&self.rx);
            return None;
        };
        if !self.pipeline.prefetch_burst_any_known(&self.rx, now_ns) {
            return None;
        }
        a.credit = (a.credit + a.per_burst).min(a.per_burst.max(CREDIT_ONE));
        let allowance = a.credit / CREDIT_ONE;
        self.pipeline.set_new_allowance(allowance);
        Some(allowance)
    }

    /// Processes up to a burst per port of what other workers handed over.
    fn drain_inbox(&mut self, ports: usize, now_ns: u64) -> usize {
        let Some((me, h)) = self.handoff.clone() else {
            return 0;
        };
        let mut n = 0;
        while n < self.burst * ports.max(1) {
            let Some(p) = h.receive(me) else { break };
            self.pipeline.receive_handed(p, now_ns, &mut self.emits);
            self.hand_deferred(me, &h);
            n += 1;
        }
        self.dispatch();
        n
    }

    /// Runs a received frame here, or hands it to the worker that owns it.
    fn steer(&mut self, in_port: PortId, buf: PacketBuf, now_ns: u64) {
        // Taken out and put back rather than cloned: no atomic reference count per packet.
        let Some((me, h)) = self.handoff.take() else {
            self.pipeline.receive(in_port, buf, now_ns, &mut self.emits);
            return;
        };
        self.steer_to_owner(me, &h, in_port, buf, now_ns);
        self.handoff = Some((me, h));
    }

    fn steer_to_owner(
        &mut self,
        me: u16,
        h: &Handoff,
        in_port: PortId,
        buf: PacketBuf,
        now_ns: u64,
    ) {
        if is_arp_reply(buf.data()) || is_neighbor_advert(buf.data()) {
            for w in (0..h.workers()).filter(|&w| w != me) {
                let copy = Handed {
                    port: in_port,
                    frame: buf.clone(),
                    frag_max: 0,
                    frag6: None,
                    from_host: false,
                };
                h.send(me, w, copy);
            }
        }
        match self.pipeline.owner_of(buf.data()) {
            Some(owner) => {
                let p = Handed {
                    port: in_port,
                    frame: buf,
                    frag_max: 0,
                    frag6: None,
                    from_host: false,
                };
                h.send(me, owner, p);
            }
            None => {
                self.pipeline.receive(in_port, buf, now_ns, &mut self.emits);
                self.hand_deferred(me, h);
            }
        }
    }

    /// Datagrams the pipeline reassembled for other workers.
    fn hand_deferred(&mut self, me: u16, h: &Handoff) {
        self.pipeline.take_deferred(&mut self.deferred);
        for (owner, p) in self.deferred.drain(..) {
            h.send(me, owner, p);
        }
    }

    fn dispatch(&mut self) {
        for e in self.emits.drain(..) {
            match e {
                Emit::Tx { port, frame } => {
                    if let Some(q) = self.tx.get_mut(usize::from(port.0)) {
                        q.push(frame);
                    }
                }
                Emit::Local { mut packet } => {
                    // The host side may hold it a while: off the rx mempool.
                    packet.detach();
                    self.local.push(packet)
                }
            }
        }
    }

    fn flush(&mut self, ports: &mut [&mut dyn Port]) {
        for p in ports.iter_mut() {
            let PortId(id) = p.id();
            let Some(q) = self.tx.get_mut(usize::from(id)) else {
                continue;
            };
            for _ in 0..TX_RETRIES {
                if q.is_empty() {
                    break;
                }
                p.tx_burst(self.queue, q);
            }
            if !q.is_empty() {
                p.count_tx_dropped(q.len() as u64);
                q.clear();
            }
        }
    }
}
