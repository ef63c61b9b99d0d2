//! The worker loop body: one pass over every port's queue `q`, each burst through the
//! pipeline, the results out on their ports (with a bounded retry, then counted as
//! dropped) and to the host. The DPDK worker calls `poll` in its busy loop; tests and
//! benchmarks call it on in-memory ports.

use crate::pipeline::{Emit, Pipeline};
use crate::port::{PacketBuf, Port, PortId};

/// How often a full transmit queue is retried before the rest is dropped.
pub const TX_RETRIES: usize = 4;

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
}

impl Worker {
    pub fn new(pipeline: Pipeline, queue: u16, burst: usize, ports: usize) -> Worker {
        Worker {
            pipeline,
            queue,
            burst: burst.max(1),
            rx: Vec::with_capacity(burst),
            emits: Vec::with_capacity(burst * 2),
            tx: (0..ports).map(|_| Vec::with_capacity(burst)).collect(),
            local: Vec::new(),
        }
    }

    /// One pass over all ports; returns how many packets were received.
    pub fn poll(&mut self, ports: &mut [&mut dyn Port], now_ns: u64) -> usize {
        let mut received = 0;
        for port in ports.iter_mut() {
            self.rx.clear();
            let n = port.rx_burst(self.queue, &mut self.rx, self.burst);
            received += n;
            let in_port = port.id();
            for buf in self.rx.drain(..) {
                self.pipeline.receive(in_port, buf, now_ns, &mut self.emits);
            }
            self.dispatch();
        }
        self.flush(ports);
        received
    }

    /// Sends what the caller's own pipeline calls produced (OUTPUT from the host, timers,
    /// link events) the same way `poll` sends its bursts.
    pub fn send(&mut self, ports: &mut [&mut dyn Port], emits: &mut Vec<Emit>) {
        if emits.is_empty() {
            return;
        }
        self.emits.append(emits);
        self.dispatch();
        self.flush(ports);
    }

    fn dispatch(&mut self) {
        for e in self.emits.drain(..) {
            match e {
                Emit::Tx { port, frame } => {
                    if let Some(q) = self.tx.get_mut(usize::from(port.0)) {
                        q.push(frame);
                    }
                }
                Emit::Local { packet } => self.local.push(packet),
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
