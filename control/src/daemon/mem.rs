//! In-memory ports for running the daemon core without DPDK (tests, demos): a `Wire` is
//! the far end of a port, where a test injects frames and reads what the daemon sent; each
//! worker gets a `WireQueue` of it.

use super::PortControl;
use dataplane::port::{MacAddr, PacketBuf, Port, PortId, PortStats};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One port's wire: frames for the daemon (`inject`) and frames it sent (`take`), per
/// queue, and the port's counters.
#[derive(Clone)]
pub struct Wire {
    name: String,
    rx: Arc<Vec<Mutex<VecDeque<PacketBuf>>>>,
    tx: Arc<Mutex<VecDeque<PacketBuf>>>,
    stats: Arc<Mutex<PortStats>>,
    up: Arc<AtomicBool>,
    /// How many more frames the transmit side takes (a full ring takes none).
    tx_room: Arc<AtomicUsize>,
}

impl Wire {
    /// A wire with one receive queue per worker (`queues`).
    pub fn new(name: &str, queues: usize) -> Wire {
        Wire {
            name: name.to_string(),
            rx: Arc::new((0..queues.max(1)).map(|_| Mutex::default()).collect()),
            tx: Arc::default(),
            stats: Arc::default(),
            up: Arc::new(AtomicBool::new(true)),
            tx_room: Arc::new(AtomicUsize::new(usize::MAX)),
        }
    }

    /// A frame arriving on receive queue `queue` (the worker that polls it).
    pub fn inject(&self, queue: usize, frame: &[u8]) {
        if let Some(q) = self.rx.get(queue) {
            lock(q).push_back(PacketBuf::from_slice(frame));
        }
    }

    /// Everything the daemon sent so far.
    pub fn take(&self) -> Vec<Vec<u8>> {
        lock(&self.tx)
            .drain(..)
            .map(|b| b.data().to_vec())
            .collect()
    }

    /// Waits up to `patience` until `n` frames were sent, then takes them all.
    pub fn wait(&self, n: usize, patience: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + patience;
        while lock(&self.tx).len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.take()
    }

    /// Lets the transmit side take only `frames` more (`usize::MAX`: no limit), as a full
    /// ring would.
    pub fn set_tx_room(&self, frames: usize) {
        self.tx_room.store(frames, Ordering::Relaxed);
    }

    /// Holds receive queue `queue` until the guard is dropped: the worker polling it blocks
    /// in `rx_burst`, as in a driver call that does not return (what the watchdog detects).
    /// Frames cannot be injected into that queue meanwhile.
    pub fn hold_rx(&self, queue: usize) -> Option<impl Drop + '_> {
        self.rx.get(queue).map(lock)
    }

    pub fn set_link(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }

    /// Worker `queue`'s port handle on this wire.
    pub fn queue(&self, id: PortId, mac: MacAddr, queue: u16) -> WireQueue {
        WireQueue {
            id,
            mac,
            queue,
            wire: self.clone(),
        }
    }
}

impl PortControl for Wire {
    fn name(&self) -> &str {
        &self.name
    }
    fn stats(&self) -> PortStats {
        *lock(&self.stats)
    }
    fn link_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

/// One worker's queue of a `Wire`.
pub struct WireQueue {
    id: PortId,
    mac: MacAddr,
    queue: u16,
    wire: Wire,
}

impl Port for WireQueue {
    fn id(&self) -> PortId {
        self.id
    }
    fn name(&self) -> &str {
        &self.wire.name
    }
    fn mac(&self) -> MacAddr {
        self.mac
    }
    fn queues(&self) -> u16 {
        self.wire.rx.len() as u16
    }
    fn rx_burst(&mut self, queue: u16, bufs: &mut Vec<PacketBuf>, max: usize) -> usize {
        let Some(q) = self.wire.rx.get(usize::from(queue)) else {
            return 0;
        };
        debug_assert_eq!(queue, self.queue);
        let mut rx = lock(q);
        let n = max.min(rx.len());
        let mut stats = lock(&self.wire.stats);
        for mut b in rx.drain(..n) {
            stats.rx_packets += 1;
            stats.rx_bytes += b.len() as u64;
            b.port = self.id;
            bufs.push(b);
        }
        n
    }
    fn tx_burst(&mut self, queue: u16, pkts: &mut Vec<PacketBuf>) -> usize {
        debug_assert_eq!(queue, self.queue);
        let room = self.wire.tx_room.load(Ordering::Relaxed);
        let n = pkts.len().min(room);
        self.wire.tx_room.store(room - n, Ordering::Relaxed);
        let mut stats = lock(&self.wire.stats);
        let mut tx = lock(&self.wire.tx);
        for b in pkts.drain(..n) {
            stats.tx_packets += 1;
            stats.tx_bytes += b.len() as u64;
            tx.push_back(b);
        }
        n
    }
    fn count_tx_dropped(&mut self, n: u64) {
        lock(&self.wire.stats).tx_dropped += n;
    }
    fn stats(&self) -> PortStats {
        *lock(&self.wire.stats)
    }
}

/// The `Ports` of a config's `[[port]]`s on fresh wires (one queue per worker), and the
/// wires by `PortId`.
pub fn wire_ports(cfg: &crate::config::Config) -> Result<(super::core::Ports, Vec<Wire>), String> {
    let topo = cfg.build().map_err(|e| e.to_string())?;
    let workers = cfg.workers.len();
    let wires: Vec<Wire> = cfg
        .ports
        .iter()
        .map(|p| Wire::new(&p.name, workers))
        .collect();
    let queues = (0..workers)
        .map(|q| {
            topo.fib
                .ports()
                .iter()
                .zip(&wires)
                .map(|(info, w)| Box::new(w.queue(info.id, info.mac, q as u16)) as Box<dyn Port>)
                .collect()
        })
        .collect();
    let ports = super::core::Ports {
        control: wires
            .iter()
            .map(|w| Arc::new(w.clone()) as Arc<dyn PortControl>)
            .collect(),
        queues,
        host: None,
    };
    Ok((ports, wires))
}
