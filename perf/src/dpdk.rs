//! DPDK benchmarks on virtual devices, one core, generator and forwarder in one thread:
//! `dpdk-io` (testpmd's io forwarding: mbufs untouched) and `dpdk-pipeline` (every packet
//! copied into a `PacketBuf` by `DpdkQueue`, through the full `Pipeline`, and out again),
//! side by side on the same `net_ring` ports, with testpmd-style io forwarding on a
//! `net_null` pair as the ceiling.

use crate::{median, udp_packet};
use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::{CompiledRuleset, DropReason, Emit, Pipeline};
use dataplane::port::dpdk::{DpdkPort, DpdkPortConfig, DpdkQueue, Eal, QUEUE_POOL_BUFS};
use dataplane::port::{PacketBuf, PacketPool, Port, PortId};
use dataplane::ruleset::Ruleset;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frames circulating on the ring ports (each net_ring holds 1023).
const IN_FLIGHT: usize = 512;

fn eal() -> Eal {
    let args: Vec<String> = [
        "--no-huge",
        "-m",
        "1024",
        "--no-pci",
        "-l",
        "0",
        "--file-prefix",
        &format!("nfdp-bench-{}", std::process::id()),
        "--log-level=*:error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Eal::init(&args).unwrap_or_else(|e| panic!("{e}"))
}

fn open(eal: &Eal, id: u16, name: &str, device: &str) -> DpdkPort {
    let cfg = DpdkPortConfig::new(PortId(id), name, device);
    DpdkPort::open(eal, &cfg).unwrap_or_else(|e| panic!("{e}"))
}

/// The lan0 -> wan0 frame of the benchmark flow (192.168.1.10:40000 -> 93.184.216.34:53).
fn lan_frame() -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 0x10, 8, 0];
    f.extend_from_slice(&udp_packet(
        Ipv4Addr::new(192, 168, 1, 10),
        Ipv4Addr::new(93, 184, 216, 34),
        40000,
        53,
    ));
    f
}

/// Puts `IN_FLIGHT` copies of `frame` on a loopback net_ring port (its tx ring is its rx
/// ring).
fn prefill(q: &mut DpdkQueue, frame: &[u8]) {
    let mut v: Vec<PacketBuf> = (0..IN_FLIGHT)
        .map(|_| PacketBuf::from_slice(frame))
        .collect();
    while !v.is_empty() {
        let qi = q.queue_id();
        assert!(q.tx_burst(qi, &mut v) > 0, "ring refused the pre-fill");
    }
}

/// testpmd-style io forwarding a <-> b for `secs`; returns packets transmitted per second.
fn io_run(a: &mut DpdkQueue, b: &mut DpdkQueue, burst: usize, secs: f64) -> f64 {
    let deadline = Duration::from_secs_f64(secs);
    let t = Instant::now();
    let mut sent = 0usize;
    loop {
        for _ in 0..256 {
            sent += a.forward_burst(b, burst, None).1;
            sent += b.forward_burst(a, burst, None).1;
        }
        if t.elapsed() >= deadline {
            break;
        }
    }
    sent as f64 / t.elapsed().as_secs_f64()
}

pub fn io(driver: &str, secs: f64, burst: usize, repeats: usize) {
    let eal = eal();
    let (pa, pb) = match driver {
        "net_null" => (
            open(&eal, 0, "p0", "net_null0,size=64"),
            open(&eal, 1, "p1", "net_null1,size=64"),
        ),
        "net_ring" => (
            open(&eal, 0, "p0", "net_ring0"),
            open(&eal, 1, "p1", "net_ring1"),
        ),
        other => panic!("--driver must be net_null or net_ring, not {other}"),
    };
    let (mut a, mut b) = (pa.queue(0), pb.queue(0));
    if driver == "net_ring" {
        prefill(&mut a, &lan_frame());
        prefill(&mut b, &lan_frame());
    }
    let rates: Vec<f64> = (0..repeats)
        .map(|_| io_run(&mut a, &mut b, burst, secs))
        .collect();
    let r = median(&rates);
    println!(
        "dpdk io forwarding, {driver} pair, one core, burst {burst}, {secs} s x {repeats} (median)"
    );
    println!(
        "{:>14} {:>14} {:>12}",
        "Mpps (total)", "Mpps per port", "ns/packet"
    );
    println!("{:>14.2} {:>14.2} {:>12.1}", r / 1e6, r / 2e6, 1e9 / r);
    let (sa, sb) = (pa.stats(), pb.stats());
    println!(
        "port counters: p0 rx {} tx {} / p1 rx {} tx {}",
        sa.rx_packets, sa.tx_packets, sb.rx_packets, sb.tx_packets
    );
}

/// A pipeline forwarding lan0 -> wan0, FORWARD accepting only ESTABLISHED traffic (plus new
/// connections from lan0), with the benchmark flow established by one reply.
fn established_pipeline() -> Pipeline {
    let topo = crate::bench_topology();
    let mut rs = Ruleset::default();
    restore(
        "*filter\n:FORWARD DROP [0:0]\n\
         -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n\
         -A FORWARD -i lan0 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n",
        &mut rs,
        RestoreOptions::default(),
    )
    .expect("rules");
    let names: Vec<String> = topo.ports().iter().map(|p| p.name.clone()).collect();
    let compiled = Arc::new(CompiledRuleset::compile_for_ports(&rs, 1, &names));
    let mut p = Pipeline::new(compiled, topo.fib.clone(), topo.neighbors.clone());
    let mut out = Vec::new();
    p.receive(PortId(0), PacketBuf::from_slice(&lan_frame()), 1, &mut out);
    let mut reply = vec![2, 0, 0, 0, 2, 1, 2, 0, 0, 0, 2, 0xfe, 8, 0];
    reply.extend_from_slice(&udp_packet(
        Ipv4Addr::new(93, 184, 216, 34),
        Ipv4Addr::new(192, 168, 1, 10),
        53,
        40000,
    ));
    p.receive(PortId(1), PacketBuf::from_slice(&reply), 2, &mut out);
    assert_eq!(
        p.stats().forwarded,
        2,
        "the flow's first packet and its reply are forwarded"
    );
    p
}

/// One core: lan0 (loopback net_ring) -> DpdkQueue rx -> Pipeline -> DpdkQueue tx -> wan0
/// (loopback net_ring); the generator moves wan0's frames back onto lan0 with the original
/// headers rewritten (io forwarding plus a 42-byte copy). Returns forwarded packets/s.
fn pipeline_run(
    p: &mut Pipeline,
    lan: &mut DpdkQueue,
    wan: &mut DpdkQueue,
    burst: usize,
    secs: f64,
    header: &[u8],
) -> f64 {
    let mut rx = Vec::with_capacity(burst);
    let mut emits: Vec<Emit> = Vec::with_capacity(burst * 2);
    let mut tx: Vec<PacketBuf> = Vec::with_capacity(burst);
    let before = p.stats().forwarded;
    let deadline = Duration::from_secs_f64(secs);
    let t = Instant::now();
    let mut dropped = 0u64;
    loop {
        for _ in 0..256 {
            let now = t.elapsed().as_nanos() as u64 + 1_000_000_000;
            rx.clear();
            lan.rx_burst(0, &mut rx, burst);
            for b in rx.drain(..) {
                p.receive(PortId(0), b, now, &mut emits);
            }
            for e in emits.drain(..) {
                if let Emit::Tx {
                    port: PortId(1),
                    frame,
                } = e
                {
                    tx.push(frame);
                }
            }
            wan.tx_burst(0, &mut tx);
            if !tx.is_empty() {
                dropped += tx.len() as u64;
                wan.count_tx_dropped(tx.len() as u64);
                tx.clear();
            }
            wan.forward_burst(lan, burst, Some(header));
        }
        if t.elapsed() >= deadline {
            break;
        }
    }
    assert_eq!(
        dropped, 0,
        "the wan ring never fills with {IN_FLIGHT} frames in flight"
    );
    (p.stats().forwarded - before) as f64 / t.elapsed().as_secs_f64()
}

pub fn pipeline(secs: f64, burst: usize, repeats: usize) {
    let eal = eal();
    let lan_port = open(&eal, 0, "lan0", "net_ring0");
    let wan_port = open(&eal, 1, "wan0", "net_ring1");
    // One buffer pool for the worker's queues on both ports, as the daemon should do.
    let pool = Arc::new(Mutex::new(PacketPool::with_defaults(QUEUE_POOL_BUFS)));
    let mut lan = lan_port.try_queue_with_pool(0, pool.clone()).unwrap();
    let mut wan = wan_port.try_queue_with_pool(0, pool.clone()).unwrap();
    let frame = lan_frame();
    let header = &frame[..42];

    // io forwarding on the same two ring ports first: the framework ceiling.
    prefill(&mut lan, &frame);
    prefill(&mut wan, &frame);
    let io: Vec<f64> = (0..repeats)
        .map(|_| io_run(&mut lan, &mut wan, burst, secs))
        .collect();
    // testpmd's io forwarding on net_null (rx hands out fresh 64-byte mbufs, tx frees
    // them) in the same process: the per-packet ceiling of a DPDK loop on this machine.
    let null_a = open(&eal, 2, "null0", "net_null0,size=64");
    let null_b = open(&eal, 3, "null1", "net_null1,size=64");
    let (mut na, mut nb) = (null_a.queue(0), null_b.queue(0));
    let null_io: Vec<f64> = (0..repeats)
        .map(|_| io_run(&mut na, &mut nb, burst, secs))
        .collect();
    // Empty the rings, then circulate IN_FLIGHT frames of the established flow.
    let mut sink = Vec::new();
    while lan.rx_burst(0, &mut sink, 64) + wan.rx_burst(0, &mut sink, 64) > 0 {
        pool.lock().unwrap().free_all(&mut sink);
    }
    let mut p = established_pipeline();
    prefill(&mut lan, &frame);
    let piped: Vec<f64> = (0..repeats)
        .map(|_| pipeline_run(&mut p, &mut lan, &mut wan, burst, secs, header))
        .collect();
    let (io, null_io, piped) = (median(&io), median(&null_io), median(&piped));
    println!(
        "dpdk, one core, burst {burst}, {secs} s x {repeats} (median); Mpps counts every packet sent, on all ports"
    );
    println!("{:<52} {:>10} {:>12}", "loop", "Mpps", "ns/packet");
    println!(
        "{:<52} {:>10.2} {:>12.1}",
        "io forwarding net_null (testpmd io), 2 ports",
        null_io / 1e6,
        1e9 / null_io
    );
    println!(
        "{:<52} {:>10.2} {:>12.1}",
        "io forwarding net_ring (mbufs untouched), 2 ports",
        io / 1e6,
        1e9 / io
    );
    println!(
        "{:<52} {:>10.2} {:>12.1}",
        "DpdkQueue + Pipeline (established UDP) + generator",
        piped / 1e6,
        1e9 / piped
    );
    println!(
        "pipeline path per packet beyond one io hop: {:.1} ns (net_ring), {:.1} ns (net_null)",
        1e9 / piped - 1e9 / io,
        1e9 / piped - 1e9 / null_io
    );
    println!(
        "pipeline: forwarded {} dropped_by_rules {}; pool fallbacks {}",
        p.stats().forwarded,
        p.stats().drops[DropReason::Rules],
        pool.lock().unwrap().alloc_failures()
    );
}
