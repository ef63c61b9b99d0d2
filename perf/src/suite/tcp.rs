//! S8: TCP connections through the gateway. The generator plays both ends of real TCP
//! connections (pktgen's `TcpGen`: the handshake, stamped data segments the server
//! acknowledges one by one, the FIN handshake) from the LAN host to a server beyond wan0,
//! through one worker with S1's 20-rule gateway ruleset (MASQUERADE) and conntrack's TCP
//! tracking: what S1's UDP leaves out, TCP's state machine and window checks on every
//! segment, and connections opening, closing and reopening their tuples (a slot's next
//! connection meets its last one in TIME_WAIT) among the data. Reported: segments through
//! the worker per second of its time, connections completed per second, and that none
//! failed.

use super::harness::{compile, Bench, Measure, BURST, HOST_MAC, LAN_MAC};
use super::{ceiling_json, ceilings, gateway_rules, print_header, print_row, s1_flows};
use crate::json::Json;
use crate::pktgen::fields::{AddrRange, FlowSpec, Order, PortRange};
use crate::pktgen::packet::Macs;
use crate::pktgen::rx::RxCounter;
use crate::pktgen::tcp::{TcpConfig, TcpGen, MIN_TCP_SIZE};
use dataplane::conntrack::CtConfig;
use dataplane::worker::Worker;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Connections open at a time (one per generator slot). The client sends one segment per
/// open connection and pass, at most a burst: with a few times a burst open, a connection
/// lives a few hundred passes and a measurement sees many of them open and close (with
/// thousands, they would all open at once and close in waves).
pub const SLOTS: u32 = 256;
/// Data segments per connection: with the handshake, the acknowledgements and the close,
/// about 70 segments a connection, a tenth of them opening or closing it.
const SEGMENTS: u32 = 32;

/// The client's slots: the LAN host's ports 30000.. to one web server.
fn s8_flows() -> FlowSpec {
    FlowSpec {
        src: AddrRange::single(Ipv4Addr::new(192, 168, 1, 10)),
        dst: AddrRange::single(Ipv4Addr::new(198, 51, 100, 80)),
        sport: PortRange {
            first: 30_000,
            count: SLOTS,
        },
        dport: PortRange::single(80),
        flows: SLOTS,
        order: Order::Sequential,
    }
}

pub fn s8(bench: &Bench, secs: f64) -> Json {
    let rules = Arc::new(compile(&gateway_rules("")).expect("gateway rules"));
    let mut lane = bench.lane(0);
    let (io, sw) = ceilings(&mut lane, s1_flows(0, 1), secs);
    print_header(
        &format!(
            "S8 TCP connections: {SLOTS} at a time from the LAN host to a web server, {SEGMENTS} data segments of {MIN_TCP_SIZE} B each acknowledged, 20-rule gateway (MASQUERADE), TCP window tracking; ceilings on S1's 64 B UDP frames"
        ),
        &io,
        &sw,
    );
    let mut p = bench.pipeline(rules, CtConfig::default());
    p.seed(0x6e66_6470_5338);
    // A burst larger than the generator's per pass (its client and its server each send
    // up to 32): the worker, which the closed loop always lets keep up, never reads a full
    // burst, so overload admission never sheds an opening SYN (nothing retransmits it).
    let mut worker = Worker::new(p, 0, 2 * BURST, 2);
    let mut gen = TcpGen::new(
        &s8_flows(),
        Macs {
            src: HOST_MAC,
            dst: LAN_MAC,
        },
        TcpConfig {
            conn_rate: 0.0,
            segments: SEGMENTS,
            connections: None,
            timeout_ns: 10_000_000_000,
            size: MIN_TCP_SIZE,
            // Nothing is lost on the rings: a retransmission would be a bug, not a rescue.
            rto_ns: 0,
        },
    )
    .expect("S8's flows are valid");
    let mut rxc = RxCounter::new(SLOTS);
    // No warm-up: the slots open 32 a pass, all within 8 passes of tens of thousands.
    let m = lane.measure_tcp(&mut gen, &mut rxc, &mut worker, secs);
    let per = m.stage_mpps();
    let (completed, failed) = (gen.counts.completed, gen.counts.failed);
    let cps = completed as f64 * 1e9 / m.stage_ns.max(1) as f64;
    print_row(
        "nfdp, 1 worker(s)",
        &Measure { lost: failed, ..m },
        &io,
        &sw,
    );
    println!(
        "{:>41.3} M connections completed/s per worker ({completed} in the measurement, {failed} failed; \"lost\" above counts failed connections)",
        cps / 1e6
    );
    let drops = worker.pipeline.stats().drops.total();
    let by_reason = super::floods::drops_since(&worker, &Default::default());
    let entries = worker.pipeline.conntrack().len();
    let mut j = Json::obj([
        ("slots", Json::from(SLOTS)),
        ("segments_per_connection", Json::from(SEGMENTS)),
        ("mpps", Json::from(per)),
        ("mpps_with_generator", Json::from(m.wall_mpps())),
        ("connections_per_s", Json::from(cps)),
        ("completed", Json::from(completed)),
        ("failed", Json::from(failed)),
        ("worker_drops", Json::from(drops)),
        ("worker_drops_by_reason", by_reason),
        ("conntrack_entries", Json::from(entries as u64)),
    ]);
    ceiling_json(&mut j, &io, &sw, per);
    j
}
