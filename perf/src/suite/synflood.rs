//! S6, a SYN flood mixed into S1: S1's 10k established UDP flows through the gateway
//! ruleset with a conntrack table of `CT_MAX` entries (`Scale::suite`), measured alone, then again while
//! SYNs from ten times `CT_MAX` distinct spoofed sources keep arriving (the table is
//! flooded first: every one of those tuples once). The figure is the established flows'
//! rate under the flood against their rate without it (same worker, same run: `PAIRS`
//! calm and flooded windows alternately, the median of each pair's ratio), and what
//! the flood did to the table: S1's flows are made ASSURED first (replied, then seen
//! again past UDP's 2 s stream mark on a virtual clock), so netfilter's early_drop, which
//! evicts unassured entries only, must leave them: none is re-created under the flood.
//! Each poll's burst comes back full, so the worker's overload admission
//! (`Worker::new_per_burst`) lets only that many SYNs a burst start a connection (each
//! early-drops an unassured entry, or is refused for a full table); the others are
//! dropped at conntrack as `overload`.

use super::floods::Scale;
use super::harness::{compile, generator, Bench, Lane, Measure, Stage, BURST, HOST_MAC, LAN_MAC};
use super::{gateway_rules, ratio, s1_flows};
use crate::json::Json;
use crate::median;
use crate::pktgen::fields::{AddrRange, FlowSpec, Order, PortRange};
use crate::pktgen::packet::Macs;
use crate::pktgen::rx::RxCounter;
use crate::pktgen::tcp::{write_tcp, SegmentSpec, SYN};
use crate::pktgen::Generator;
use dataplane::conntrack::{CtConfig, Tuple};
use dataplane::pipeline::DropReason;
use dataplane::port::dpdk::DpdkQueue;
use dataplane::ruleset::matches::conntrack::status;
use dataplane::wire::checksum;
use dataplane::worker::Worker;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The table's size (nf_conntrack_max) for this scenario.
pub const CT_MAX: u32 = 65_536;
/// SYNs mixed in per burst of S1's 32 packets: a fifth of the packets are the flood.
pub const SYNS_PER_BURST: usize = 8;
/// Calm and flooded windows after the flood's first pass, alternately, this many of each.
/// `kept` is the median of each adjacent pair's ratio: on a shared VM S1's rate moves by
/// tens of percent between two half-second windows, and that moves one pair, not the
/// figure (one calm and one flooded window gave 54-148% for the same binary).
pub const PAIRS: usize = 5;

/// Spoofed SYNs to a web server, each from a tuple not seen for `factor * ct_max` SYNs.
struct SynFlood {
    flows: FlowSpec,
    next: u32,
    sent: u64,
    /// The first SYN, written once; every SYN is a copy with its source address, source
    /// port and sequence number patched and both checksums updated (RFC 1624), so that
    /// the generator's code, which shares the worker's core and its instruction cache
    /// here, stays small (as a NIC-fed worker's core runs no generator at all).
    template: Vec<u8>,
}

/// Offsets in the template (Ethernet, IPv4 without options, TCP).
const IP_CSUM: usize = 14 + 10;
const IP_SRC: usize = 14 + 12;
const TCP_SPORT: usize = 34;
const TCP_SEQ: usize = 34 + 4;
const TCP_CSUM: usize = 34 + 16;

impl SynFlood {
    fn new(flows: u32) -> SynFlood {
        let flows = FlowSpec {
            src: "100.64.0.0/12".parse().expect("range"),
            dst: AddrRange::single(Ipv4Addr::new(198, 51, 100, 80)),
            sport: PortRange {
                first: 1024,
                count: 1024,
            },
            dport: PortRange::single(80),
            flows,
            order: Order::Sequential,
        };
        let mut template = vec![0u8; 128];
        let len = write_tcp(&mut template, &SynFlood::spec(&flows, 0));
        template.truncate(len);
        SynFlood {
            flows,
            next: 0,
            sent: 0,
            template,
        }
    }

    /// SYN `k` of the flood, as `write_tcp` writes it.
    fn spec(flows: &FlowSpec, k: u32) -> SegmentSpec {
        SegmentSpec {
            macs: Macs {
                src: HOST_MAC,
                dst: LAN_MAC,
            },
            tuple: flows.tuple(k),
            seq: k.wrapping_mul(0x9e37_79b9),
            ack: 0,
            flags: SYN,
            payload: 0,
            stamp: None,
        }
    }

    /// Writes SYN `k` into `room` from the template (SYN 0); its length, 0 if it does
    /// not fit.
    fn write(&self, k: u32, room: &mut [u8]) -> usize {
        let t = &self.template;
        let Some(frame) = room.get_mut(..t.len()) else {
            return 0;
        };
        frame.copy_from_slice(t);
        let be32 =
            |b: &[u8], at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let be16 = |b: &[u8], at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
        let tuple = self.flows.tuple(k);
        let (src, sport) = (u32::from(tuple.src), tuple.sport);
        let seq = k.wrapping_mul(0x9e37_79b9);
        let (src0, sport0, seq0) = (be32(t, IP_SRC), be16(t, TCP_SPORT), be32(t, TCP_SEQ));
        let ip_csum = checksum::update_u32(be16(t, IP_CSUM), src0, src);
        let tcp_csum = checksum::update_u32(be16(t, TCP_CSUM), src0, src);
        let tcp_csum = checksum::update_u16(tcp_csum, sport0, sport);
        let tcp_csum = checksum::update_u32(tcp_csum, seq0, seq);
        frame[IP_SRC..IP_SRC + 4].copy_from_slice(&src.to_be_bytes());
        frame[IP_CSUM..IP_CSUM + 2].copy_from_slice(&ip_csum.to_be_bytes());
        frame[TCP_SPORT..TCP_SPORT + 2].copy_from_slice(&sport.to_be_bytes());
        frame[TCP_SEQ..TCP_SEQ + 4].copy_from_slice(&seq.to_be_bytes());
        frame[TCP_CSUM..TCP_CSUM + 2].copy_from_slice(&tcp_csum.to_be_bytes());
        t.len()
    }

    /// Up to `n` SYNs into lan0's receive side.
    fn send(&mut self, lan: &mut DpdkQueue, n: usize) {
        let first = self.next;
        let (_, sent) = lan.tx_build(n, |i, room| self.write(first.wrapping_add(i as u32), room));
        self.next = (self.next + sent as u32) % self.flows.flows;
        self.sent += sent as u64;
    }
}

/// The connection of UDP flow `i` of `flows`, looked up by its original tuple.
pub(super) fn flow_entry<'a>(
    ct: &'a dataplane::conntrack::Conntrack,
    flows: &FlowSpec,
    i: u32,
) -> Option<&'a dataplane::conntrack::ConnEntry> {
    let f = flows.tuple(i);
    let t = Tuple {
        src: f.src,
        dst: f.dst,
        proto: 17,
        sport: f.sport,
        dport: f.dport,
    };
    let (id, _) = ct.lookup(&t)?;
    ct.entry(id)
}

/// For each of S1's flows: its connection's start time and whether it is ASSURED.
fn s1_connections(worker: &Worker, flows: &FlowSpec) -> Vec<Option<(u64, bool)>> {
    let ct = worker.pipeline.conntrack();
    (0..flows.flows)
        .map(|i| {
            let e = flow_entry(ct, flows, i)?;
            Some((e.start_ns, e.status & status::ASSURED != 0))
        })
        .collect()
}

pub(super) fn s6(bench: &Bench, secs: f64) -> Json {
    run(bench, &Scale::suite(secs))
}

/// S6 at scale `sc` (`Scale::suite`: the table of `CT_MAX`, S1's 10k flows, ten times
/// the table in SYNs first; `Scale::test` for the tests: the counters, never a rate).
pub fn run(bench: &Bench, sc: &Scale) -> Json {
    let (ct_max, secs) = (sc.ct_max, sc.secs);
    let s1 = s1_flows(0, sc.s1_div);
    let rules = Arc::new(compile(&gateway_rules("")).expect("gateway rules"));
    let ct = CtConfig {
        max: ct_max,
        ..CtConfig::default()
    };
    let mut lane = bench.lane(0);
    let mut p = bench.pipeline(rules, ct);
    p.seed(0x6e66_6470);
    // One poll takes S1's burst and the SYNs mixed into it: with a burst of 32 the
    // worker read S1's 32 and the generator's receive drained the SYNs from lan0's
    // ring, so none reached the worker while S6 measured.
    let mut worker = Worker::new(p, 0, BURST + SYNS_PER_BURST, 2);
    let mut gen = generator(s1.clone());
    let mut rxc = RxCounter::new(gen.flows());
    // A virtual clock (1 us a burst), so that S1's flows can be long-lived: replied, then
    // seen again 3 s later, past UDP's 2 s stream mark, they are ASSURED as a real
    // gateway's established flows are, and early_drop may not take them.
    lane.clock_step_ns = Some(1_000);
    lane.establish(&mut gen, &mut worker);
    lane.clock_step_ns = Some(3_000_000_000);
    lane.forward(&mut Stage::Worker(&mut worker));
    lane.clock_step_ns = Some(1_000);
    while gen.sent < u64::from(gen.flows()) {
        gen.send(&mut lane.lan, BURST, 0);
        lane.forward(&mut Stage::Worker(&mut worker));
        lane.drain(&mut rxc, 0);
    }
    let assured_early_drops = worker.pipeline.conntrack().stats().early_drop;
    let s1_before = s1_connections(&worker, &s1);
    assert!(
        s1_before
            .iter()
            .all(|c| c.is_some_and(|(_, assured)| assured)),
        "S1's flows are tracked and ASSURED before the flood"
    );
    let before = lane.measure(&mut gen, &mut rxc, &mut Stage::Worker(&mut worker), secs);

    // The flood alone first: every one of its tuples once, through the worker.
    let mut flood = SynFlood::new(sc.flood_factor * ct_max);
    while flood.sent < u64::from(flood.flows.flows) {
        flood.send(&mut lane.lan, BURST);
        lane.forward(&mut Stage::Worker(&mut worker));
        let now = lane.now_ns();
        lane.drain(&mut rxc, now);
    }
    let flooded = flood.sent;
    let stats0 = worker.pipeline.conntrack().stats().clone();
    let overload0 = worker.pipeline.stats().drops[DropReason::Overload];
    // Then S1 alone and S1 under the flood by turns, half a measurement each, in the table
    // the flood filled (S1's lookups find their flows among its entries either way).
    let mut pairs = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS {
        let calm = calm_window(&mut lane, &mut gen, &mut rxc, &mut worker, secs / 2.0);
        let stormy = flooded_window(
            &mut lane,
            &mut gen,
            &mut rxc,
            &mut worker,
            &mut flood,
            secs / 2.0,
        );
        pairs.push((calm, stormy));
    }
    let stats = worker.pipeline.conntrack().stats().clone();
    let pstats = worker.pipeline.stats();
    let s1_after = s1_connections(&worker, &s1);
    // S1's flows whose connection is not the one they had before the flood.
    let s1_new = s1_before
        .iter()
        .zip(&s1_after)
        .filter(|(a, b)| a != b)
        .count() as u64;
    // The established flows' packets per second of worker time (the SYNs' time included).
    let established = |m: &Measure| ratio(m.received as f64 * 1e3, m.stage_ns as f64);
    let kept_per_pair: Vec<f64> = pairs
        .iter()
        .map(|(c, s)| ratio(established(s), established(c)))
        .collect();
    let keep = median(&kept_per_pair);
    let calm_mpps = median(
        &pairs
            .iter()
            .map(|(c, _)| established(c))
            .collect::<Vec<_>>(),
    );
    let stormy_mpps = median(
        &pairs
            .iter()
            .map(|(_, s)| established(s))
            .collect::<Vec<_>>(),
    );
    let total = |pick: fn(&(Measure, Measure)) -> &Measure| {
        pairs
            .iter()
            .fold((0, 0), |(r, l), p| (r + pick(p).received, l + pick(p).lost))
    };
    let (calm_received, calm_lost) = total(|p| &p.0);
    let (stormy_received, stormy_lost) = total(|p| &p.1);

    println!(
        "\nS6 SYN flood mixed into S1: conntrack max {ct_max}, {} spoofed SYNs first ({}x max), then {SYNS_PER_BURST} SYNs per {BURST} S1 packets; S1 alone and under the flood by turns, {PAIRS} times",
        flooded,
        flooded / u64::from(ct_max)
    );
    let rows = [
        (
            "S1 alone, before the flood",
            established(&before),
            before.received,
            before.lost,
        ),
        (
            "S1 alone, between flooded windows",
            calm_mpps,
            calm_received,
            calm_lost,
        ),
        (
            "S1 under the flood",
            stormy_mpps,
            stormy_received,
            stormy_lost,
        ),
    ];
    for (what, mpps, received, lost) in rows {
        println!(
            "  {what:<34} {mpps:>9.3} Mpps/wkr of S1 packets {received:>10} received {lost:>8} lost"
        );
    }
    let overload = pstats.drops[DropReason::Overload] - overload0;
    let per_pair: Vec<String> = kept_per_pair
        .iter()
        .map(|k| format!("{:.1}", 100.0 * k))
        .collect();
    println!(
        "  established rate kept: {:.1}% (median of the pairs: {}%); S1 flows re-created under the flood: {s1_new}; table {} of {ct_max}; early drops {}, table full {}, conntrack drops {}; under the flood: {} SYNs, {} shed (overload drops)",
        100.0 * keep,
        per_pair.join(" "),
        worker.pipeline.conntrack().len(),
        stats.early_drop - assured_early_drops,
        stats.table_full,
        pstats.drops[DropReason::Conntrack],
        flood.sent - flooded,
        overload
    );
    Json::obj([
        ("ct_max", Json::from(u64::from(ct_max))),
        ("flood_syns_first", Json::from(flooded)),
        ("syns_per_burst", Json::from(SYNS_PER_BURST as u64)),
        ("pairs", Json::from(PAIRS as u64)),
        ("mpps_alone_before_flood", Json::from(established(&before))),
        ("mpps_alone", Json::from(calm_mpps)),
        ("mpps_under_flood", Json::from(stormy_mpps)),
        ("kept", Json::from(keep)),
        (
            "kept_per_pair",
            Json::Arr(kept_per_pair.iter().map(|&k| Json::from(k)).collect()),
        ),
        ("lost_alone", Json::from(before.lost + calm_lost)),
        ("lost_under_flood", Json::from(stormy_lost)),
        ("s1_flows_recreated_under_flood", Json::from(s1_new)),
        ("syns_during_measure", Json::from(flood.sent - flooded)),
        (
            "early_drops_during_measure",
            Json::from(stats.early_drop - stats0.early_drop),
        ),
        (
            "table_full_during_measure",
            Json::from(stats.table_full - stats0.table_full),
        ),
        ("overload_drops_during_measure", Json::from(overload)),
        ("table_full_total", Json::from(stats.table_full)),
        (
            "conntrack_drops_total",
            Json::from(pstats.drops[DropReason::Conntrack]),
        ),
    ])
}

/// One window of S1 alone (its own function, so that callgrind can count it apart:
/// `SCENARIO=S6 perf/instructions.sh`).
#[inline(never)]
fn calm_window(
    lane: &mut Lane,
    gen: &mut Generator,
    rxc: &mut RxCounter,
    worker: &mut Worker,
    secs: f64,
) -> Measure {
    lane.measure(gen, rxc, &mut Stage::Worker(worker), secs)
}

/// One window of S1 with `SYNS_PER_BURST` of the flood's SYNs mixed into each burst.
#[inline(never)]
fn flooded_window(
    lane: &mut Lane,
    gen: &mut Generator,
    rxc: &mut RxCounter,
    worker: &mut Worker,
    flood: &mut SynFlood,
    secs: f64,
) -> Measure {
    lane.measure_mixed(gen, rxc, &mut Stage::Worker(worker), secs, |lan| {
        flood.send(lan, SYNS_PER_BURST)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The patched template is, byte for byte, the SYN `write_tcp` writes (checksums
    /// included), across source addresses, ports and sequence numbers.
    #[test]
    fn template_syns_are_the_syns_write_tcp_writes() {
        let flood = SynFlood::new(10 * CT_MAX);
        let (mut a, mut b) = ([0u8; 128], [0u8; 128]);
        for k in (0..10 * CT_MAX)
            .step_by(997)
            .chain([1, 1023, 1024, 10 * CT_MAX - 1])
        {
            let n = write_tcp(&mut a, &SynFlood::spec(&flood.flows, k));
            assert_eq!(flood.write(k, &mut b), n);
            assert_eq!(a[..n], b[..n], "SYN {k}");
        }
        assert_eq!(flood.write(0, &mut [0u8; 16]), 0);
    }
}
