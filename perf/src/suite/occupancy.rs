//! S2 at a NAT port pool's occupancy: every packet a new UDP flow from 256 LAN hosts
//! (1024 source ports each) to one DNS server through MASQUERADE, so every connection
//! takes one of the 64,512 ports (1024-65535) of the pool for that server, as a CGNAT
//! sees it. The worker runs on a virtual clock that advances with the packets, so that
//! connections expire (unreplied UDP timeout) as fast as new ones come and the pool stays
//! at the wanted occupancy: at 10% the port search finds a free port at once, at 90% it
//! must probe (bounded as the kernel bounds it). Reported: new connections per second of
//! worker time at both, their ratio, ports probed per connection, NAT drops.

use super::harness::{compile, generator, Bench, Stage, BURST};
use super::{gateway_rules, ratio};
use crate::json::Json;
use crate::pktgen::fields::{AddrRange, FlowSpec, Order, PortRange};
use crate::pktgen::rx::RxCounter;
use dataplane::conntrack::CtConfig;
use dataplane::pipeline::DropReason;
use dataplane::worker::Worker;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// MASQUERADE's pool for source ports >= 1024.
const POOL: f64 = 64_512.0;
/// Unreplied UDP timeout (the kernel's 30 s would do; 10 keeps the warm-up short).
const UDP_TIMEOUT_S: u32 = 10;

fn flows() -> FlowSpec {
    FlowSpec {
        src: "192.168.1.0/24".parse().expect("range"),
        dst: AddrRange::single(Ipv4Addr::new(198, 51, 100, 1)),
        sport: PortRange {
            first: 1024,
            count: 1024,
        },
        dport: PortRange::single(53),
        flows: 256 * 1024,
        order: Order::Sequential,
    }
}

/// One worker at `occupancy` (0..1) of the pool: (new connections/s, ports probed per
/// connection, NAT drops, mean live connections).
fn at(bench: &Bench, occupancy: f64, secs: f64) -> (f64, f64, u64, f64) {
    let rules = Arc::new(compile(&gateway_rules("")).expect("gateway rules"));
    let ct = CtConfig {
        max: 1 << 18,
        udp_timeout: UDP_TIMEOUT_S,
        ..CtConfig::default()
    };
    let mut lane = bench.lane(0);
    // Live connections ~ rate x (timeout + half the wheel's 1 s granularity).
    let per_flow_ns = (f64::from(UDP_TIMEOUT_S) + 0.5) * 1e9 / (occupancy * POOL);
    lane.clock_step_ns = Some((per_flow_ns * BURST as f64) as u64);
    let mut p = bench.pipeline(rules, ct);
    p.seed(0x6e66_6470);
    let mut worker = Worker::new(p, 0, BURST, 2);
    let mut gen = generator(flows());
    let mut rxc = RxCounter::new(gen.flows());
    // Warm-up: two timeouts' worth of virtual time, so expiry keeps pace.
    let warm = (2.0 * (f64::from(UDP_TIMEOUT_S) + 0.5) * occupancy * POOL) as u64;
    while gen.sent < warm {
        gen.send(&mut lane.lan, BURST, 0);
        lane.forward(&mut Stage::Worker(&mut worker));
        lane.drain(&mut rxc, 0);
    }
    let st0 = worker.pipeline.conntrack().stats().clone();
    let nat0 = worker.pipeline.stats().drops[DropReason::Nat];
    let live0 = worker.pipeline.conntrack().len();
    let m = lane.measure(&mut gen, &mut rxc, &mut Stage::Worker(&mut worker), secs);
    let st = worker.pipeline.conntrack().stats();
    let inserted = st.inserted - st0.inserted;
    let cps = ratio(inserted as f64 * 1e9, m.stage_ns as f64);
    let probes = ratio(
        (st.nat_port_probes - st0.nat_port_probes) as f64,
        inserted as f64,
    );
    let nat = worker.pipeline.stats().drops[DropReason::Nat] - nat0;
    let live = (live0 + worker.pipeline.conntrack().len()) as f64 / 2.0;
    (cps, probes, nat, live)
}

pub(super) fn s2_occupancy(bench: &Bench, secs: f64) -> Json {
    println!(
        "\nS2 at port-pool occupancy: new UDP flows from 256 hosts x 1024 ports to one server through MASQUERADE (pool {POOL} ports), virtual clock, unreplied timeout {UDP_TIMEOUT_S} s"
    );
    let mut j = Vec::new();
    let mut rates = Vec::new();
    for occ in [0.1, 0.9] {
        let (cps, probes, nat, live) = at(bench, occ, secs);
        println!(
            "  {:>3.0}% occupancy (live {:>6.0} = {:>4.1}%)  {:>7.3} M new connections/s per worker, {:>6.2} ports probed per connection, {} NAT drops",
            100.0 * occ,
            live,
            100.0 * live / POOL,
            cps / 1e6,
            probes,
            nat
        );
        rates.push(cps);
        j.push((
            format!("{:.0}", 100.0 * occ),
            Json::obj([
                ("cps", Json::from(cps)),
                ("ports_probed_per_conn", Json::from(probes)),
                ("nat_drops", Json::from(nat)),
                ("live_connections", Json::from(live)),
            ]),
        ));
    }
    let slowdown = ratio(rates[0], rates[1]);
    println!("  90% is {slowdown:.2}x slower than 10% (goal: within 2x)");
    let mut out = Json::obj(j);
    out.set("slowdown_90_vs_10", Json::from(slowdown));
    out
}
