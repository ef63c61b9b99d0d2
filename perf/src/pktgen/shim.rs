//! Ports that misbehave on purpose, for testing the generator against known faults: each
//! wraps another `GenPort`, passes transmits through and alters what is received (known
//! packets dropped, reordered, delayed; a rate above which everything is dropped). Also an
//! in-memory loopback port.

use super::packet::read_stamp;
use super::GenPort;
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Frames sent come back on receive, in order; `capacity` frames at most in flight.
pub struct Loopback {
    queue: VecDeque<Vec<u8>>,
    capacity: usize,
    frame_room: usize,
}

impl Loopback {
    pub fn new(capacity: usize) -> Loopback {
        Loopback {
            queue: VecDeque::new(),
            capacity,
            frame_room: 2048,
        }
    }
}

impl GenPort for Loopback {
    fn tx(&mut self, n: usize, fill: &mut dyn FnMut(usize, &mut [u8]) -> usize) -> (usize, usize) {
        let mut sent = 0;
        let mut room = vec![0u8; self.frame_room];
        for i in 0..n {
            let len = fill(i, &mut room);
            if self.queue.len() < self.capacity && len > 0 && sent == i {
                self.queue.push_back(room[..len].to_vec());
                sent += 1;
            }
        }
        (n, sent)
    }

    fn rx(&mut self, max: usize, each: &mut dyn FnMut(&[u8])) -> usize {
        let n = max.min(self.queue.len());
        for f in self.queue.drain(..n) {
            each(&f);
        }
        n
    }
}

/// Everything the inner port has received, copied out.
fn pull(inner: &mut dyn GenPort) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    while inner.rx(64, &mut |f| v.push(f.to_vec())) == 64 {}
    v
}

/// Hands out up to `max` queued frames.
fn hand_out(q: &mut VecDeque<Vec<u8>>, max: usize, each: &mut dyn FnMut(&[u8])) -> usize {
    let n = max.min(q.len());
    for f in q.drain(..n) {
        each(&f);
    }
    n
}

fn key(frame: &[u8]) -> Option<(u32, u32)> {
    read_stamp(frame).map(|s| (s.flow, s.seq))
}

/// Drops the received frames with the given (flow, sequence number).
pub struct DropShim<P> {
    pub inner: P,
    drop: HashSet<(u32, u32)>,
    ready: VecDeque<Vec<u8>>,
    pub dropped: u64,
}

impl<P: GenPort> DropShim<P> {
    pub fn new(inner: P, drop: impl IntoIterator<Item = (u32, u32)>) -> Self {
        DropShim {
            inner,
            drop: drop.into_iter().collect(),
            ready: VecDeque::new(),
            dropped: 0,
        }
    }
}

impl<P: GenPort> GenPort for DropShim<P> {
    fn tx(&mut self, n: usize, fill: &mut dyn FnMut(usize, &mut [u8]) -> usize) -> (usize, usize) {
        self.inner.tx(n, fill)
    }

    fn rx(&mut self, max: usize, each: &mut dyn FnMut(&[u8])) -> usize {
        for f in pull(&mut self.inner) {
            if key(&f).is_some_and(|k| self.drop.contains(&k)) {
                self.dropped += 1;
            } else {
                self.ready.push_back(f);
            }
        }
        hand_out(&mut self.ready, max, each)
    }
}

/// Holds back each received frame with a listed (flow, sequence number) until the next
/// frame of the same flow has been handed out: exactly one reordered packet per entry.
pub struct ReorderShim<P> {
    pub inner: P,
    hold: HashSet<(u32, u32)>,
    held: Vec<(u32, Vec<u8>)>,
    ready: VecDeque<Vec<u8>>,
}

impl<P: GenPort> ReorderShim<P> {
    pub fn new(inner: P, hold: impl IntoIterator<Item = (u32, u32)>) -> Self {
        ReorderShim {
            inner,
            hold: hold.into_iter().collect(),
            held: Vec::new(),
            ready: VecDeque::new(),
        }
    }
}

impl<P: GenPort> GenPort for ReorderShim<P> {
    fn tx(&mut self, n: usize, fill: &mut dyn FnMut(usize, &mut [u8]) -> usize) -> (usize, usize) {
        self.inner.tx(n, fill)
    }

    fn rx(&mut self, max: usize, each: &mut dyn FnMut(&[u8])) -> usize {
        for f in pull(&mut self.inner) {
            let Some((flow, seq)) = key(&f) else {
                self.ready.push_back(f);
                continue;
            };
            if self.hold.contains(&(flow, seq)) {
                self.held.push((flow, f));
                continue;
            }
            self.ready.push_back(f);
            // Release what this flow held, now behind a later packet of it.
            let mut i = 0;
            while i < self.held.len() {
                if self.held[i].0 == flow {
                    let (_, h) = self.held.remove(i);
                    self.ready.push_back(h);
                } else {
                    i += 1;
                }
            }
        }
        hand_out(&mut self.ready, max, each)
    }
}

/// Holds every received frame for `delay` (real time) before handing it out.
pub struct DelayShim<P> {
    pub inner: P,
    delay: Duration,
    held: VecDeque<(Instant, Vec<u8>)>,
}

impl<P: GenPort> DelayShim<P> {
    pub fn new(inner: P, delay: Duration) -> Self {
        DelayShim {
            inner,
            delay,
            held: VecDeque::new(),
        }
    }
}

impl<P: GenPort> GenPort for DelayShim<P> {
    fn tx(&mut self, n: usize, fill: &mut dyn FnMut(usize, &mut [u8]) -> usize) -> (usize, usize) {
        self.inner.tx(n, fill)
    }

    fn rx(&mut self, max: usize, each: &mut dyn FnMut(&[u8])) -> usize {
        let now = Instant::now();
        for f in pull(&mut self.inner) {
            self.held.push_back((now + self.delay, f));
        }
        // One instant for the burst, as a driver returns a burst at once: every frame
        // handed out is due by then.
        let release = Instant::now();
        let mut n = 0;
        while n < max {
            match self.held.front() {
                Some((due, _)) if *due <= release => {
                    let (_, f) = self.held.pop_front().expect("front exists");
                    each(&f);
                    n += 1;
                }
                _ => break,
            }
        }
        n
    }
}

/// A device that forwards at most `pps` packets per second (a token bucket `depth` deep,
/// refilled by the frames' transmit stamps, so a virtual clock makes it exact) and drops
/// the excess.
pub struct RateLimitShim<P> {
    pub inner: P,
    pps: f64,
    depth: f64,
    tokens: f64,
    last_ns: Option<u64>,
    ready: VecDeque<Vec<u8>>,
    pub dropped: u64,
}

impl<P: GenPort> RateLimitShim<P> {
    pub fn new(inner: P, pps: f64, depth: u32) -> Self {
        RateLimitShim {
            inner,
            pps,
            depth: f64::from(depth),
            tokens: f64::from(depth),
            last_ns: None,
            ready: VecDeque::new(),
            dropped: 0,
        }
    }

    /// A full bucket and no time reference (between trials).
    pub fn reset(&mut self) {
        self.tokens = self.depth;
        self.last_ns = None;
        self.dropped = 0;
    }
}

impl<P: GenPort> GenPort for RateLimitShim<P> {
    fn tx(&mut self, n: usize, fill: &mut dyn FnMut(usize, &mut [u8]) -> usize) -> (usize, usize) {
        self.inner.tx(n, fill)
    }

    fn rx(&mut self, max: usize, each: &mut dyn FnMut(&[u8])) -> usize {
        for f in pull(&mut self.inner) {
            let Some(s) = read_stamp(&f) else {
                self.ready.push_back(f);
                continue;
            };
            let last = *self.last_ns.get_or_insert(s.tx_ns);
            if s.tx_ns > last {
                let add = (s.tx_ns - last) as f64 * self.pps / 1e9;
                self.tokens = (self.tokens + add).min(self.depth);
                self.last_ns = Some(s.tx_ns);
            }
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                self.ready.push_back(f);
            } else {
                self.dropped += 1;
            }
        }
        hand_out(&mut self.ready, max, each)
    }
}
