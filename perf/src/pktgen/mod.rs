//! nfdp-pktgen's engine, usable in-process: the field engine (`fields`), the frames and
//! their stamps (`packet`), the receive side (`rx`, `latency`), pacing and the run loop
//! (here), and the RFC 2544 search (`rfc2544`). Ports are anything that implements
//! `GenPort`: a DPDK queue (`dpdk`, with the `dpdk` feature) or a shim around one
//! (`shim`: loss, reordering, delay and rate limits the tests inject).

pub mod fields;
pub mod latency;
pub mod packet;
pub mod rfc2544;
pub mod rx;
pub mod shim;
pub mod tcp;

#[cfg(feature = "dpdk")]
pub mod dpdk;

use fields::{FlowAddr, FlowSpec, FlowSpec6, FlowSpecOf, FlowTuple, FlowTuple6, FlowTupleOf};
use packet::{write_udp, write_udp6, Macs, Sizes, Stamp, FCS};
use rx::{RxCounter, RxReport};
use std::time::Instant;

/// Most frames one `GenPort::tx` call builds (DPDK's MAX_BURST in the port layer).
pub const MAX_BURST: usize = 64;

/// Burst I/O without per-packet allocation: the generator writes frames straight into the
/// port's buffers and reads them in place.
pub trait GenPort {
    /// Builds up to `n` frames, calling `fill(i, room)` for each (it writes frame `i` into
    /// `room` and returns its length), and transmits them. Returns (built, sent): frames
    /// `0..sent` left, the rest were dropped by the port.
    fn tx(&mut self, n: usize, fill: &mut dyn FnMut(usize, &mut [u8]) -> usize) -> (usize, usize);
    /// Receives up to `max` frames, showing each to `each`; returns how many.
    fn rx(&mut self, max: usize, each: &mut dyn FnMut(&[u8])) -> usize;
}

/// The generator's clock: real (monotonic, nanoseconds since start) or virtual (advanced
/// only by the pacer, so a run is exactly reproducible: the simulated ports in the tests
/// judge rates by the stamps' times).
#[derive(Debug, Clone)]
pub enum Clock {
    Real(Instant),
    Virtual(u64),
}

impl Clock {
    pub fn real() -> Clock {
        Clock::Real(Instant::now())
    }

    #[inline]
    pub fn now(&self) -> u64 {
        match self {
            Clock::Real(t) => t.elapsed().as_nanos() as u64,
            Clock::Virtual(t) => *t,
        }
    }

    /// Moves a virtual clock forward to `t`; a real clock moves by itself.
    fn advance_to(&mut self, t: u64) {
        if let Clock::Virtual(v) = self {
            *v = (*v).max(t);
        }
    }

    pub fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }
}

/// How fast to send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// As fast as the port takes frames.
    Max,
    Pps(f64),
    /// Bits per second of frames on the wire, FCS included (no preamble or gap).
    Bps(f64),
}

impl Rate {
    /// Packets per second for frames of `sizes` (None: unpaced).
    pub fn pps(&self, sizes: &Sizes) -> Option<f64> {
        match *self {
            Rate::Max => None,
            Rate::Pps(p) => Some(p),
            Rate::Bps(b) => Some(b / (sizes.mean() * 8.0)),
        }
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `max`, `1.5mpps`, `200kpps`, `1000pps`, `10gbps`, `500mbps`, `64kbps`, `1000bps`.
    fn from_str(s: &str) -> Result<Self, String> {
        let l = s.trim().to_ascii_lowercase();
        if l == "max" {
            return Ok(Rate::Max);
        }
        let bad =
            || format!("bad rate `{s}`: max, or a number with pps/kpps/mpps/bps/kbps/mbps/gbps");
        let units: [(&str, f64, bool); 7] = [
            ("mpps", 1e6, true),
            ("kpps", 1e3, true),
            ("pps", 1.0, true),
            ("gbps", 1e9, false),
            ("mbps", 1e6, false),
            ("kbps", 1e3, false),
            ("bps", 1.0, false),
        ];
        for (suffix, mult, pps) in units {
            if let Some(num) = l.strip_suffix(suffix) {
                let v: f64 = num.trim().parse().map_err(|_| bad())?;
                if !(v.is_finite() && v > 0.0) {
                    return Err(bad());
                }
                return Ok(if pps {
                    Rate::Pps(v * mult)
                } else {
                    Rate::Bps(v * mult)
                });
            }
        }
        Err(bad())
    }
}

/// What the generator sends.
#[derive(Debug, Clone)]
pub struct GenConfig {
    pub flows: FlowSpec,
    pub sizes: Sizes,
    pub macs: Macs,
    /// IPv6 frames of these flows instead (`flows` is then unused).
    pub flows6: Option<FlowSpec6>,
}

/// The transmit side: picks a flow per packet, writes its frame with the next sequence
/// number of that flow, and keeps per-flow counts of what the port took.
pub struct Generator {
    cfg: GenConfig,
    picker: fields::FlowPicker,
    tuples: Vec<FlowTuple>,
    tuples6: Vec<FlowTuple6>,
    /// Per flow: the next sequence number, i.e. how many packets of it were sent.
    seq: Vec<u32>,
    packets: u64,
    pub sent: u64,
    pub sent_bytes: u64,
    /// Frames the port refused (tx ring full).
    pub refused: u64,
}

/// Flows up to this many have their tuples precomputed; beyond, computed per packet.
const PRECOMPUTED: u32 = 1 << 20;

impl Generator {
    pub fn new(cfg: GenConfig) -> Result<Generator, String> {
        cfg.sizes.validate()?;
        let (flows, picker, tuples, tuples6) = match &cfg.flows6 {
            None => {
                cfg.flows.validate()?;
                let n = cfg.flows.flows;
                (n, cfg.flows.picker(), precompute(&cfg.flows), Vec::new())
            }
            Some(f6) => {
                f6.validate()?;
                // IMIX's 64-byte frames cannot carry IPv6 and the stamp.
                let smallest = match cfg.sizes {
                    Sizes::Fixed(s) => s,
                    Sizes::Imix => 64,
                };
                if smallest < packet::MIN_SIZE6 {
                    return Err(format!(
                        "frame size {smallest} below the smallest IPv6 frame ({} bytes)",
                        packet::MIN_SIZE6
                    ));
                }
                (f6.flows, f6.picker(), Vec::new(), precompute(f6))
            }
        };
        Ok(Generator {
            picker,
            seq: vec![0; flows as usize],
            tuples,
            tuples6,
            cfg,
            packets: 0,
            sent: 0,
            sent_bytes: 0,
            refused: 0,
        })
    }

    pub fn config(&self) -> &GenConfig {
        &self.cfg
    }

    pub fn flows(&self) -> u32 {
        self.seq.len() as u32
    }

    /// Sends up to `n` frames (at most `MAX_BURST`) stamped `now_ns`; returns how many
    /// the port took. Sequence numbers of refused frames are handed out again.
    pub fn send(&mut self, port: &mut dyn GenPort, n: usize, now_ns: u64) -> usize {
        let n = n.min(MAX_BURST);
        let mut flows = [0u32; MAX_BURST];
        let mut sizes = [0u16; MAX_BURST];
        let (picker, seq, cfg, packets) =
            (&mut self.picker, &mut self.seq, &self.cfg, self.packets);
        // What every frame takes, whatever its family: its flow, size and stamp.
        let mut next = |i: usize| {
            let f = picker.next_flow();
            let size = cfg.sizes.nth(packets + i as u64);
            flows[i] = f;
            sizes[i] = size;
            let s = &mut seq[f as usize];
            let stamp = Stamp {
                flow: f,
                seq: *s,
                tx_ns: now_ns,
            };
            *s = s.wrapping_add(1);
            (f, usize::from(size) - FCS, stamp)
        };
        // The family is chosen once per burst, each closure monomorphic.
        let (built, sent) = match &cfg.flows6 {
            None => {
                let tuples = &self.tuples;
                port.tx(n, &mut |i, room| {
                    let (f, len, stamp) = next(i);
                    let t = tuples.get(f as usize).copied();
                    let t = t.unwrap_or_else(|| cfg.flows.tuple(f));
                    write_udp(room, &cfg.macs, &t, len, &stamp)
                })
            }
            Some(f6) => {
                let tuples = &self.tuples6;
                port.tx(n, &mut |i, room| {
                    let (f, len, stamp) = next(i);
                    let t = tuples.get(f as usize).copied();
                    let t = t.unwrap_or_else(|| f6.tuple(f));
                    write_udp6(room, &cfg.macs, &t, len, &stamp)
                })
            }
        };
        // The refused frames are the tail: their sequence numbers were the latest.
        for &f in flows[sent..built].iter().rev() {
            self.seq[f as usize] = self.seq[f as usize].wrapping_sub(1);
        }
        self.packets += sent as u64;
        self.sent += sent as u64;
        self.sent_bytes += sizes[..sent].iter().map(|&s| u64::from(s)).sum::<u64>();
        self.refused += (built - sent) as u64;
        sent
    }

    /// Packets sent per flow (the receive side's reference for loss).
    pub fn sent_per_flow(&self) -> Vec<u64> {
        self.seq.iter().map(|&s| u64::from(s)).collect()
    }

    /// Starts counting afresh (between trials).
    pub fn reset_counts(&mut self) {
        self.seq.iter_mut().for_each(|s| *s = 0);
        self.sent = 0;
        self.sent_bytes = 0;
        self.refused = 0;
    }
}

/// The tuples of a spec's flows, when there are at most `PRECOMPUTED` of them (else
/// none: they are computed per packet).
fn precompute<A: FlowAddr>(spec: &FlowSpecOf<A>) -> Vec<FlowTupleOf<A>> {
    if spec.flows <= PRECOMPUTED {
        (0..spec.flows).map(|i| spec.tuple(i)).collect()
    } else {
        Vec::new()
    }
}

/// How one run goes.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub rate: Rate,
    pub duration_ns: u64,
    pub burst: usize,
    /// A status line per second on stderr.
    pub status: bool,
    /// After the last transmit, receive until nothing came for this long (real clock) or
    /// for `drain_max_ns` at most.
    pub drain_idle_ns: u64,
    pub drain_max_ns: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            rate: Rate::Max,
            duration_ns: 1_000_000_000,
            burst: 32,
            status: false,
            drain_idle_ns: 20_000_000,
            drain_max_ns: 500_000_000,
        }
    }
}

/// One run's figures.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Offered rate asked for (0: unpaced).
    pub target_pps: f64,
    /// Transmit phase length, nanoseconds of the run's clock.
    pub tx_ns: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_refused: u64,
    pub tx_pps: f64,
    /// Wire bits per second of what was sent (FCS included).
    pub tx_bps: f64,
    pub rx_pps: f64,
    /// Times the pacer fell more than 1 ms (or two bursts) behind and gave up the backlog.
    pub pacing_slips: u64,
    pub rx: RxReport,
}

/// Packets the pacer lets out at `now`.
struct Pacer {
    pps: Option<f64>,
    start: u64,
    /// Packets counted against the schedule (the sent ones plus any given-up backlog).
    credited: u64,
    slips: u64,
}

impl Pacer {
    fn due(&mut self, now: u64, burst: usize) -> usize {
        let Some(pps) = self.pps else {
            return burst;
        };
        let allowed = ((now - self.start) as f64 * pps / 1e9) as u64;
        let due = allowed.saturating_sub(self.credited);
        // Catching up on up to 1 ms of schedule (or two bursts) is fine; more than that
        // means the generator was descheduled.
        let backlog = (2 * burst as u64).max((pps / 1000.0) as u64);
        if due > backlog {
            // Fell behind (descheduled): do not burst to catch up, it would distort the
            // offered rate the trial is judged at.
            self.credited += due - burst as u64;
            self.slips += 1;
            return burst;
        }
        due as usize
    }

    /// When the next `n` packets are due.
    fn when(&self, n: usize) -> u64 {
        match self.pps {
            None => self.start,
            Some(pps) => self.start + ((self.credited + n as u64) as f64 * 1e9 / pps).ceil() as u64,
        }
    }
}

/// Sends from `ports[tx]` and receives on `ports[rx]` (`(tx, rx)`; the same index for a
/// loopback) at
/// `cfg.rate` for `cfg.duration_ns`, then drains. `middle` runs after every transmit burst
/// and before every receive (an in-process forwarder sits there). The counters of `gen`
/// and `rxc` accumulate: reset them between trials.
pub fn run(
    gen: &mut Generator,
    rxc: &mut RxCounter,
    ports: &mut [&mut dyn GenPort],
    (tx, rx): (usize, usize),
    cfg: &RunConfig,
    clock: &mut Clock,
    mut middle: Option<&mut dyn FnMut(u64)>,
) -> RunStats {
    let burst = cfg.burst.clamp(1, MAX_BURST);
    let target = cfg.rate.pps(&gen.cfg.sizes);
    let start = clock.now();
    let end = start + cfg.duration_ns;
    let mut pacer = Pacer {
        pps: target,
        start,
        credited: 0,
        slips: 0,
    };
    let (sent0, bytes0, refused0) = (gen.sent, gen.sent_bytes, gen.refused);
    let mut status = Status::new(cfg.status, clock.now(), gen.sent, rxc.received);
    // Frames are timed once per burst, when the first of it is seen (after the driver
    // returned it, so a descheduled receiver does not shorten the latency).
    let receive = |ports: &mut [&mut dyn GenPort], rxc: &mut RxCounter, clock: &Clock| {
        let mut got = 0;
        loop {
            let mut t = None;
            let n = ports[rx].rx(MAX_BURST, &mut |f| {
                let now = *t.get_or_insert_with(|| clock.now());
                rxc.frame(f, now)
            });
            got += n;
            // A bounded number of bursts: a port that never runs dry (net_null) must not
            // stop the transmit side.
            if n < MAX_BURST || got >= 16 * MAX_BURST {
                return got;
            }
        }
    };
    loop {
        let real_now = clock.now();
        let now = real_now.min(end);
        let due = pacer.due(now, burst).min(burst);
        if real_now >= end {
            // A paced run sends what is due by the end (at most a burst, one try): exactly
            // rate x duration on a virtual clock.
            if due > 0 && target.is_some() {
                gen.send(&mut *ports[tx], due, now);
            }
            break;
        }
        if due == 0 {
            if clock.is_virtual() {
                clock.advance_to(pacer.when(burst).min(end));
            } else {
                if let Some(m) = middle.as_mut() {
                    m(now);
                }
                receive(ports, rxc, clock);
            }
            continue;
        }
        let sent = gen.send(&mut *ports[tx], due, now);
        pacer.credited += sent as u64;
        if target.is_none() && clock.is_virtual() {
            // Unpaced on a virtual clock: let time pass so the run ends.
            clock.advance_to(now + 1000);
        }
        if let Some(m) = middle.as_mut() {
            m(now);
        }
        receive(ports, rxc, clock);
        status.tick(clock.now(), gen.sent, rxc.received);
    }
    let tx_end = clock.now().min(end).max(start + 1);
    // Drain what is still in flight.
    let drain_start = clock.now();
    let mut idle_since = drain_start;
    let mut empty_polls = 0;
    let mut drain_polls = 0u64;
    loop {
        let now = clock.now();
        if let Some(m) = middle.as_mut() {
            m(now);
        }
        if receive(ports, rxc, clock) > 0 {
            idle_since = now;
            empty_polls = 0;
        } else {
            empty_polls += 1;
        }
        drain_polls += 1;
        let done = if clock.is_virtual() {
            empty_polls >= 64 || drain_polls >= 100_000
        } else {
            now - idle_since >= cfg.drain_idle_ns || now - drain_start >= cfg.drain_max_ns
        };
        if done {
            break;
        }
    }
    let tx_ns = tx_end - start;
    let tx_packets = gen.sent - sent0;
    let report = rxc.report(&gen.sent_per_flow());
    RunStats {
        target_pps: target.unwrap_or(0.0),
        tx_ns,
        tx_packets,
        tx_bytes: gen.sent_bytes - bytes0,
        tx_refused: gen.refused - refused0,
        tx_pps: tx_packets as f64 * 1e9 / tx_ns as f64,
        tx_bps: (gen.sent_bytes - bytes0) as f64 * 8.0 * 1e9 / tx_ns as f64,
        rx_pps: report.received as f64 * 1e9 / tx_ns as f64,
        pacing_slips: pacer.slips,
        rx: report,
    }
}

/// The once-a-second status line.
struct Status {
    on: bool,
    start: u64,
    last: u64,
    last_tx: u64,
    last_rx: u64,
}

impl Status {
    fn new(on: bool, now: u64, tx: u64, rx: u64) -> Status {
        Status {
            on,
            start: now,
            last: now,
            last_tx: tx,
            last_rx: rx,
        }
    }

    fn tick(&mut self, now: u64, tx: u64, rx: u64) {
        if !self.on || now - self.last < 1_000_000_000 {
            return;
        }
        let dt = (now - self.last) as f64 / 1e9;
        eprintln!(
            "[{:>5.1} s] tx {:>8.3} Mpps  rx {:>8.3} Mpps  in flight or lost {}",
            (now - self.start) as f64 / 1e9,
            (tx - self.last_tx) as f64 / dt / 1e6,
            (rx - self.last_rx) as f64 / dt / 1e6,
            tx.saturating_sub(rx)
        );
        self.last = now;
        self.last_tx = tx;
        self.last_rx = rx;
    }
}

impl RunStats {
    /// The result object of `nfdp-pktgen --json` (see perf/README.md).
    pub fn json(&self) -> crate::json::Json {
        use crate::json::Json;
        let l = &self.rx.latency;
        Json::obj([
            ("target_pps", Json::from(self.target_pps)),
            ("duration_s", Json::from(self.tx_ns as f64 / 1e9)),
            ("tx_packets", Json::from(self.tx_packets)),
            ("tx_bytes", Json::from(self.tx_bytes)),
            ("tx_refused", Json::from(self.tx_refused)),
            ("tx_pps", Json::from(self.tx_pps)),
            ("tx_bps", Json::from(self.tx_bps)),
            ("rx_packets", Json::from(self.rx.received)),
            ("rx_pps", Json::from(self.rx_pps)),
            ("lost", Json::from(self.rx.lost)),
            ("loss_ratio", Json::from(self.rx.loss_ratio)),
            ("reordered", Json::from(self.rx.reordered)),
            ("flows_with_loss", Json::from(self.rx.flows_with_loss)),
            ("duplicates", Json::from(self.rx.excess)),
            ("foreign", Json::from(self.rx.foreign)),
            ("pacing_slips", Json::from(self.pacing_slips)),
            (
                "latency_ns",
                Json::obj([
                    ("samples", Json::from(l.samples)),
                    ("min", Json::from(l.min)),
                    ("mean", Json::from(l.mean)),
                    ("p50", Json::from(l.p50)),
                    ("p99", Json::from(l.p99)),
                    ("p99_9", Json::from(l.p999)),
                    ("max", Json::from(l.max)),
                ]),
            ),
        ])
    }

    /// Two lines for a terminal.
    pub fn summary(&self) -> String {
        let l = &self.rx.latency;
        format!(
            "tx {} pkts ({:.3} Mpps, {:.1} Mbit/s)  rx {} ({:.3} Mpps)  lost {} ({:.4}%)  reordered {}\n\
             latency us: min {:.1} mean {:.1} p50 {:.1} p99 {:.1} p99.9 {:.1} max {:.1}",
            self.tx_packets,
            self.tx_pps / 1e6,
            self.tx_bps / 1e6,
            self.rx.received,
            self.rx_pps / 1e6,
            self.rx.lost,
            self.rx.loss_ratio * 100.0,
            self.rx.reordered,
            l.min as f64 / 1e3,
            l.mean / 1e3,
            l.p50 as f64 / 1e3,
            l.p99 as f64 / 1e3,
            l.p999 as f64 / 1e3,
            l.max as f64 / 1e3
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!("max".parse::<Rate>(), Ok(Rate::Max));
        assert_eq!("1.5mpps".parse::<Rate>(), Ok(Rate::Pps(1.5e6)));
        assert_eq!("200kpps".parse::<Rate>(), Ok(Rate::Pps(2e5)));
        assert_eq!("10Gbps".parse::<Rate>(), Ok(Rate::Bps(1e10)));
        assert!("fast".parse::<Rate>().is_err());
        assert!("-1pps".parse::<Rate>().is_err());
        let p = Rate::Bps(64.0 * 8.0 * 1000.0)
            .pps(&Sizes::Fixed(64))
            .unwrap();
        assert!((p - 1000.0).abs() < 1e-9);
    }
}
