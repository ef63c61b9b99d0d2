//! `MemPort`: a multi-queue port backed by in-memory FIFOs, for tests, replay and benchmarks.

use std::collections::VecDeque;
use std::fmt;

use super::{MacAddr, PacketBuf, Port, PortId, PortStats};

/// Why `MemPort::inject` refused a frame (each is also counted in the port's stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectError {
    /// No such rx queue.
    NoSuchQueue(u16),
    /// The rx FIFO is full: counted as `rx_dropped`, as a NIC's missed packets.
    QueueFull,
    /// Empty or larger than the port accepts: counted as `errors`.
    BadFrame(usize),
}

impl fmt::Display for InjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InjectError::NoSuchQueue(q) => write!(f, "no rx queue {q}"),
            InjectError::QueueFull => write!(f, "rx queue full, frame dropped"),
            InjectError::BadFrame(n) => write!(f, "bad frame of {n} bytes"),
        }
    }
}

impl std::error::Error for InjectError {}

#[derive(Debug, Default)]
struct Queue {
    rx: VecDeque<PacketBuf>,
    tx: VecDeque<PacketBuf>,
}

/// A port whose wire is a pair of FIFOs per queue: a test or generator fills rx with
/// `inject`, the worker polls it with `rx_burst`, the worker's `tx_burst` fills tx, and the
/// test drains it with `take_tx`. Each FIFO holds at most `capacity` packets.
#[derive(Debug)]
pub struct MemPort {
    id: PortId,
    name: String,
    mac: MacAddr,
    capacity: usize,
    max_frame: usize,
    queues: Vec<Queue>,
    stats: PortStats,
}

impl MemPort {
    /// A port with `queues` queue pairs (at least one) of `capacity` packets each. Frames up to
    /// 9216 bytes are accepted (see `set_max_frame`).
    pub fn new(id: PortId, name: &str, mac: MacAddr, queues: u16, capacity: usize) -> Self {
        let n = usize::from(queues.max(1));
        MemPort {
            id,
            name: name.to_string(),
            mac,
            capacity,
            max_frame: 9216,
            queues: (0..n).map(|_| Queue::default()).collect(),
            stats: PortStats::default(),
        }
    }

    /// Largest frame `inject` accepts; bigger ones count as errors, like an oversize frame on
    /// a NIC.
    pub fn set_max_frame(&mut self, max: usize) {
        self.max_frame = max;
    }

    /// Puts a copy of `frame` on rx queue `queue` (allocates; see `inject_buf` for pooled
    /// buffers).
    pub fn inject(&mut self, queue: u16, frame: &[u8]) -> Result<(), InjectError> {
        self.check_inject(queue, frame.len())?;
        self.push_rx(queue, PacketBuf::from_slice(frame));
        Ok(())
    }

    /// Puts `buf` on rx queue `queue`. On refusal the buffer is handed back with the reason so
    /// the caller can recycle it.
    pub fn inject_buf(
        &mut self,
        queue: u16,
        buf: PacketBuf,
    ) -> Result<(), (InjectError, PacketBuf)> {
        match self.check_inject(queue, buf.len()) {
            Ok(()) => {
                self.push_rx(queue, buf);
                Ok(())
            }
            Err(e) => Err((e, buf)),
        }
    }

    fn check_inject(&mut self, queue: u16, len: usize) -> Result<(), InjectError> {
        let q = self
            .queues
            .get(usize::from(queue))
            .ok_or(InjectError::NoSuchQueue(queue))?;
        if len == 0 || len > self.max_frame {
            self.stats.errors += 1;
            return Err(InjectError::BadFrame(len));
        }
        if q.rx.len() >= self.capacity {
            self.stats.rx_dropped += 1;
            return Err(InjectError::QueueFull);
        }
        Ok(())
    }

    fn push_rx(&mut self, queue: u16, mut buf: PacketBuf) {
        buf.port = self.id;
        buf.queue = queue;
        if let Some(q) = self.queues.get_mut(usize::from(queue)) {
            q.rx.push_back(buf);
        }
    }

    /// Removes and returns everything transmitted on `queue` so far, oldest first.
    pub fn take_tx(&mut self, queue: u16) -> Vec<PacketBuf> {
        match self.queues.get_mut(usize::from(queue)) {
            Some(q) => q.tx.drain(..).collect(),
            None => Vec::new(),
        }
    }

    /// Packets waiting on rx queue `queue`.
    pub fn rx_pending(&self, queue: u16) -> usize {
        self.queues
            .get(usize::from(queue))
            .map_or(0, |q| q.rx.len())
    }

    /// Packets waiting on tx queue `queue`.
    pub fn tx_pending(&self, queue: u16) -> usize {
        self.queues
            .get(usize::from(queue))
            .map_or(0, |q| q.tx.len())
    }
}

impl Port for MemPort {
    fn id(&self) -> PortId {
        self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn queues(&self) -> u16 {
        u16::try_from(self.queues.len()).unwrap_or(u16::MAX)
    }

    fn rx_burst(&mut self, queue: u16, bufs: &mut Vec<PacketBuf>, max: usize) -> usize {
        let Some(q) = self.queues.get_mut(usize::from(queue)) else {
            return 0;
        };
        let n = max.min(q.rx.len());
        for b in q.rx.drain(..n) {
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += b.len() as u64;
            bufs.push(b);
        }
        n
    }

    fn tx_burst(&mut self, queue: u16, pkts: &mut Vec<PacketBuf>) -> usize {
        let Some(q) = self.queues.get_mut(usize::from(queue)) else {
            return 0;
        };
        let n = pkts.len().min(self.capacity.saturating_sub(q.tx.len()));
        for b in pkts.drain(..n) {
            self.stats.tx_packets += 1;
            self.stats.tx_bytes += b.len() as u64;
            q.tx.push_back(b);
        }
        n
    }

    fn count_tx_dropped(&mut self, n: u64) {
        self.stats.tx_dropped += n;
    }

    fn stats(&self) -> PortStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(cap: usize) -> MemPort {
        MemPort::new(PortId(3), "lan0", MacAddr([2, 0, 0, 0, 1, 1]), 2, cap)
    }

    #[test]
    fn inject_then_rx_burst_in_order_with_metadata() {
        let mut p = port(8);
        for i in 0..5u8 {
            p.inject(0, &[i; 60]).unwrap();
        }
        let mut bufs = Vec::new();
        assert_eq!(p.rx_burst(0, &mut bufs, 3), 3);
        assert_eq!(p.rx_burst(0, &mut bufs, 32), 2);
        assert_eq!(p.rx_burst(0, &mut bufs, 32), 0);
        let firsts: Vec<u8> = bufs.iter().map(|b| b.data()[0]).collect();
        assert_eq!(firsts, [0, 1, 2, 3, 4]);
        assert!(bufs
            .iter()
            .all(|b| b.port == PortId(3) && b.queue == 0 && b.len() == 60));
        let s = p.stats();
        assert_eq!((s.rx_packets, s.rx_bytes), (5, 300));
        assert_eq!((p.name(), p.id(), p.queues()), ("lan0", PortId(3), 2));
    }

    #[test]
    fn queues_are_separate() {
        let mut p = port(8);
        p.inject(1, &[1; 64]).unwrap();
        let mut bufs = Vec::new();
        assert_eq!(p.rx_burst(0, &mut bufs, 32), 0);
        assert_eq!(p.rx_burst(1, &mut bufs, 32), 1);
        assert_eq!(bufs[0].queue, 1);
        assert_eq!(p.tx_burst(1, &mut bufs), 1);
        assert!(p.take_tx(0).is_empty());
        assert_eq!(p.take_tx(1).len(), 1);
        assert!(p.take_tx(1).is_empty());
        // Unknown queues: refused without panicking.
        assert_eq!(p.inject(2, &[0; 64]), Err(InjectError::NoSuchQueue(2)));
        assert_eq!(p.rx_burst(9, &mut bufs, 32), 0);
        let mut one = vec![PacketBuf::from_slice(&[0; 64])];
        assert_eq!(p.tx_burst(9, &mut one), 0);
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn rx_overflow_and_bad_frames_are_counted() {
        let mut p = port(2);
        p.inject(0, &[0; 64]).unwrap();
        p.inject(0, &[0; 64]).unwrap();
        assert_eq!(p.inject(0, &[0; 64]), Err(InjectError::QueueFull));
        assert_eq!(p.inject(0, &[]), Err(InjectError::BadFrame(0)));
        p.set_max_frame(1514);
        assert_eq!(p.inject(1, &[0; 1515]), Err(InjectError::BadFrame(1515)));
        let (e, back) = p
            .inject_buf(0, PacketBuf::from_slice(&[5; 64]))
            .unwrap_err();
        assert_eq!(e, InjectError::QueueFull);
        assert_eq!(back.data()[0], 5);
        let s = p.stats();
        assert_eq!((s.rx_dropped, s.errors, s.rx_packets), (2, 2, 0));
        assert_eq!(p.rx_pending(0), 2);
    }

    #[test]
    fn tx_takes_what_fits_and_leaves_the_rest() {
        let mut p = port(3);
        let mut pkts: Vec<PacketBuf> = (0..5u8).map(|i| PacketBuf::from_slice(&[i; 100])).collect();
        assert_eq!(p.tx_burst(0, &mut pkts), 3);
        assert_eq!(pkts.len(), 2);
        assert_eq!(pkts[0].data()[0], 3, "the untaken rest keeps its order");
        assert_eq!(p.tx_burst(0, &mut pkts), 0);
        let sent = p.take_tx(0);
        assert_eq!(
            sent.iter().map(|b| b.data()[0]).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(p.tx_burst(0, &mut pkts), 2);
        p.count_tx_dropped(4);
        let s = p.stats();
        assert_eq!((s.tx_packets, s.tx_bytes, s.tx_dropped), (5, 500, 4));
        assert_eq!(p.tx_pending(0), 2);
    }
}
