//! The worker's overload admission (`Worker::new_per_burst`, `[dataplane]
//! overload_new_per_burst`): whole bursts injected on in-memory ports, then the entries
//! created, the frames forwarded and the `overload` drops counted.

mod support;

use dataplane::pipeline::DropReason;
use dataplane::port::{MacAddr, MemPort, Port, PortId};
use dataplane::worker::{Worker, OVERLOAD_AFTER};
use support::frames::{from_lan, icmp_echo, tcp, udp, SYN};
use support::pipeline::pipeline;
use support::{lan_wan_config, HOST, LAN_MAC, WAN_MAC};

/// The worker's burst in these tests: a poll that reads this many is overloaded.
const BURST: usize = 16;
/// New connections a full burst may start.
const ALLOWANCE: u32 = 3;
const T0: u64 = 1_000_000_000;
const SERVER: [u8; 4] = [198, 51, 100, 80];
/// Known UDP flows first, then SYNs to port 80; raw exempts port 81 from conntrack.
const RULES: &str = "*raw\n-A PREROUTING -p tcp --dport 81 -j NOTRACK\nCOMMIT\n\
                     *filter\n-A FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n\
                     *nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n";

struct Rig {
    worker: Worker,
    lan: MemPort,
    wan: MemPort,
}

impl Rig {
    fn new(allowance: Option<f64>) -> Rig {
        let p = pipeline(lan_wan_config!(), RULES);
        let mut worker = Worker::new(p, 0, BURST, 2);
        worker.set_new_per_burst(allowance);
        Rig {
            worker,
            lan: MemPort::new(PortId(0), "lan0", MacAddr(LAN_MAC), 1, 64),
            wan: MemPort::new(PortId(1), "wan0", MacAddr(WAN_MAC), 1, 64),
        }
    }

    /// Injects `frames` on lan0 and runs one poll; returns the frames out on wan0.
    fn burst(&mut self, frames: &[Vec<u8>]) -> usize {
        self.burst_at(frames, T0)
    }

    fn burst_at(&mut self, frames: &[Vec<u8>], now_ns: u64) -> usize {
        for f in frames {
            self.lan.inject(0, f).expect("inject");
        }
        let mut ports: [&mut dyn Port; 2] = [&mut self.lan, &mut self.wan];
        assert_eq!(self.worker.poll(&mut ports, now_ns), frames.len());
        self.wan.take_tx(0).len()
    }

    /// Full bursts of the known flows (the first 10) until the next full burst from
    /// lan0 is the `OVERLOAD_AFTER`th in a row: the one that is limited.
    fn fall_behind(&mut self) {
        let frames: Vec<_> = (0..BURST as u16).map(|i| flow(i % 10)).collect();
        for _ in 1..OVERLOAD_AFTER {
            assert_eq!(self.burst(&frames), BURST);
        }
        assert_eq!(self.shed(), 0);
    }

    fn entries(&self) -> usize {
        self.worker.pipeline.conntrack().len()
    }

    fn shed(&self) -> u64 {
        self.worker.pipeline.stats().drops[DropReason::Overload]
    }
}

/// UDP flow `i` from the LAN host.
fn flow(i: u16) -> Vec<u8> {
    from_lan(&udp(HOST, SERVER, 10_000 + i, 53, b"q"))
}

/// A SYN of new connection `i` to `port`.
fn syn(i: u16, port: u16) -> Vec<u8> {
    from_lan(&tcp(HOST, SERVER, 40_000 + i, port, SYN, 1, 0))
}

/// A rig whose conntrack knows `known` UDP flows (entered in bursts that are not full).
fn with_known(allowance: Option<f64>, known: u16) -> Rig {
    let mut rig = Rig::new(allowance);
    let flows: Vec<_> = (0..known).map(flow).collect();
    for chunk in flows.chunks(BURST - 1) {
        assert_eq!(rig.burst(chunk), chunk.len());
    }
    assert_eq!(rig.entries(), usize::from(known));
    rig
}

/// `known` packets of the known flows with `syns` SYNs to port 80 among them, then
/// `notrack` SYNs to port 81.
fn mixed(known: u16, syns: u16, notrack: u16) -> Vec<Vec<u8>> {
    let mut v: Vec<_> = (0..known).map(flow).collect();
    for i in 0..syns {
        // Spread through the burst: where a new connection sits does not matter.
        let at = (usize::from(i) * 3).min(v.len());
        v.insert(at, syn(i, 80));
    }
    v.extend((0..notrack).map(|i| syn(100 + i, 81)));
    v
}

#[test]
fn a_full_burst_with_known_flows_admits_only_the_allowance() {
    let mut rig = with_known(Some(f64::from(ALLOWANCE)), 10);
    rig.fall_behind();
    let frames = mixed(10, 5, 1);
    assert_eq!(frames.len(), BURST);
    let out = rig.burst(&frames);
    // The known flows, the allowance's SYNs, and the untracked SYN (raw's NOTRACK: not
    // conntrack's to admit or refuse).
    assert_eq!(out, 10 + ALLOWANCE as usize + 1);
    assert_eq!(rig.entries(), 10 + ALLOWANCE as usize);
    assert_eq!(rig.shed(), 5 - u64::from(ALLOWANCE));
    // Shed packets are not INVALID: nothing was tracked.
    assert_eq!(rig.worker.pipeline.conntrack().stats().invalid, 0);
    // The allowance is per burst: the next full one admits as many again.
    let frames: Vec<_> = (0..BURST as u16 - 4)
        .map(|i| flow(i % 10))
        .chain((0..4).map(|i| syn(50 + i, 80)))
        .collect();
    assert_eq!(rig.burst(&frames), BURST - 4 + ALLOWANCE as usize);
    assert_eq!(rig.entries(), 10 + 2 * ALLOWANCE as usize);
    assert_eq!(
        rig.shed(),
        5 - u64::from(ALLOWANCE) + 4 - u64::from(ALLOWANCE)
    );
}

#[test]
fn a_burst_that_is_not_full_admits_every_new_connection() {
    let mut rig = with_known(Some(f64::from(ALLOWANCE)), 10);
    rig.fall_behind();
    let frames = mixed(8, 5, 0);
    assert!(frames.len() < BURST);
    assert_eq!(rig.burst(&frames), 13);
    assert_eq!(rig.entries(), 15);
    assert_eq!(rig.shed(), 0);
}

#[test]
fn a_full_burst_of_new_connections_only_is_not_limited() {
    let mut rig = with_known(Some(f64::from(ALLOWANCE)), 10);
    rig.fall_behind();
    let frames: Vec<_> = (0..BURST as u16).map(|i| syn(i, 80)).collect();
    assert_eq!(rig.burst(&frames), BURST);
    assert_eq!(rig.entries(), 10 + BURST);
    assert_eq!(rig.shed(), 0);
}

#[test]
fn admission_off_admits_every_new_connection() {
    let mut rig = with_known(None, 10);
    rig.fall_behind();
    let frames = mixed(10, 5, 1);
    assert_eq!(frames.len(), BURST);
    assert_eq!(rig.burst(&frames), BURST);
    assert_eq!(rig.entries(), 15);
    assert_eq!(rig.shed(), 0);
}

#[test]
fn a_fraction_spreads_over_bursts() {
    let mut rig = with_known(Some(0.5), 10);
    rig.fall_behind();
    let frames = mixed(10, 5, 1);
    let mut out = 0;
    for _ in 0..4 {
        out += rig.burst(&frames);
    }
    // One new connection every other burst: none in the first, the first SYN in the
    // second (known, and forwarded, from then on), none in the third, the second SYN
    // in the fourth. The known flows and the untracked SYN go through every time.
    assert_eq!(rig.entries(), 12);
    assert_eq!(out, 11 + 12 + 12 + 13);
    assert_eq!(rig.shed(), 5 + 4 + 4 + 3);
}

#[test]
fn connections_timed_out_but_not_reaped_are_not_known() {
    let mut rig = with_known(Some(f64::from(ALLOWANCE)), 10);
    rig.fall_behind();
    // Past the unreplied UDP timeout (30 s): the known flows' packets start new
    // connections, so the burst is all new and nothing is limited.
    let later = T0 + 31_000_000_000;
    let frames = mixed(10, 5, 1);
    assert_eq!(rig.burst_at(&frames, later), BURST);
    assert_eq!(rig.shed(), 0);
}

#[test]
fn a_short_run_of_full_bursts_is_not_limited() {
    // A burst of traffic fills a few bursts without the worker falling behind: their
    // new connections all start (no SYN waits for its retransmission).
    let mut rig = with_known(Some(f64::from(ALLOWANCE)), 10);
    let mut syns = 0;
    for round in 0..2u16 {
        for b in 1..OVERLOAD_AFTER {
            let frames: Vec<_> = (0..BURST as u16 - 4)
                .map(|i| flow(i % 10))
                .chain((0..4).map(|i| syn(1000 * round + 10 * b + i, 80)))
                .collect();
            assert_eq!(rig.burst(&frames), BURST, "round {round}, burst {b}");
            syns += 4;
        }
        // One burst that is not full: the run starts again.
        assert_eq!(rig.burst(&[flow(0)]), 1);
    }
    assert_eq!(rig.shed(), 0);
    assert_eq!(rig.entries(), 10 + syns);
}

#[test]
fn packets_that_cannot_start_a_connection_stay_invalid_under_overload() {
    // Echo replies and RSTs of no connection are INVALID whatever the load: they use
    // none of the allowance, are not shed, and the rules see them (here dropped by
    // `--ctstate INVALID -j DROP`).
    let mut rig = with_known(Some(f64::from(ALLOWANCE)), 10);
    rig.fall_behind();
    let invalid0 = rig.worker.pipeline.conntrack().stats().invalid;
    let mut frames: Vec<_> = (0..10).map(flow).collect();
    frames.extend((0..2).map(|i| from_lan(&icmp_echo(HOST, SERVER, 0, 7, i))));
    frames.extend((0..2).map(|i| from_lan(&tcp(HOST, SERVER, 41_000 + i, 80, 0x04, 1, 0))));
    frames.extend((0..2).map(|i| syn(i, 80)));
    assert_eq!(frames.len(), BURST);
    // The known flows and both SYNs (within the allowance of 3).
    assert_eq!(rig.burst(&frames), 12);
    assert_eq!(rig.shed(), 0);
    assert_eq!(rig.entries(), 12);
    assert_eq!(
        rig.worker.pipeline.conntrack().stats().invalid - invalid0,
        4
    );
}
