//! nfdp-pktgen's engine against ports with known behaviour: a net_ring loopback (every
//! packet comes back), shims that drop, reorder or delay known packets, and a device that
//! drops above a known rate. Needs the `dpdk` feature (no root, no hugepages).
#![cfg(feature = "dpdk")]

use dataplane::port::dpdk::{DpdkPort, DpdkQueue, Eal};
use dataplane::port::MacAddr;
use perf::pktgen::dpdk::{eal_args, open_port};
use perf::pktgen::fields::{FlowSpec, Order};
use perf::pktgen::packet::{Macs, Sizes};
use perf::pktgen::rfc2544::{search, SearchConfig};
use perf::pktgen::rx::RxCounter;
use perf::pktgen::shim::{DelayShim, DropShim, RateLimitShim, ReorderShim};
use perf::pktgen::{run, Clock, GenConfig, GenPort, Generator, Rate, RunConfig, RunStats};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// One EAL per process; the tests take turns (DPDK set-up from several threads at once is
/// not something to rely on).
fn eal() -> (&'static Eal, MutexGuard<'static, ()>) {
    static EAL: OnceLock<Eal> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let eal = EAL.get_or_init(|| {
        Eal::init(&eal_args("nfdp-pktgen-test", 512, &["net_ring0"], &[])).expect("EAL")
    });
    (eal, turn)
}

/// A loopback net_ring port (what it sends comes back on its receive side).
fn ring(eal: &Eal, n: u16) -> (DpdkPort, DpdkQueue) {
    let port = open_port(
        eal,
        n,
        &format!("ring{n}"),
        &format!("net_ring{n}"),
        1,
        4095,
    )
    .expect("net_ring port");
    let q = port.try_queue(0).expect("queue 0");
    (port, q)
}

fn generator(flows: u32, order: Order) -> Generator {
    Generator::new(GenConfig {
        flows6: None,
        flows: FlowSpec {
            sport: format!("1000-{}", 999 + flows).parse().unwrap(),
            flows,
            order,
            ..FlowSpec::default()
        },
        sizes: Sizes::Fixed(64),
        macs: Macs {
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
        },
    })
    .unwrap()
}

/// A run on a virtual clock: exactly `pps * seconds` packets, reproducibly.
fn virtual_run(
    gen: &mut Generator,
    rxc: &mut RxCounter,
    port: &mut dyn GenPort,
    pps: f64,
    seconds: f64,
) -> RunStats {
    let cfg = RunConfig {
        rate: Rate::Pps(pps),
        duration_ns: (seconds * 1e9) as u64,
        ..RunConfig::default()
    };
    run(
        gen,
        rxc,
        &mut [port],
        (0, 0),
        &cfg,
        &mut Clock::Virtual(0),
        None,
    )
}

#[test]
fn loopback_receives_every_packet_sent() {
    let (eal, _turn) = eal();
    let (_port, mut q) = ring(eal, 10);
    let mut gen = generator(1000, Order::Random { seed: 42 });
    let mut rxc = RxCounter::new(1000);
    let cfg = RunConfig {
        rate: Rate::Max,
        duration_ns: 200_000_000,
        ..RunConfig::default()
    };
    let s = run(
        &mut gen,
        &mut rxc,
        &mut [&mut q],
        (0, 0),
        &cfg,
        &mut Clock::real(),
        None,
    );
    assert!(s.tx_packets > 10_000, "sent {}", s.tx_packets);
    assert_eq!(s.rx.sent, s.tx_packets);
    assert_eq!(s.rx.received, s.tx_packets);
    assert_eq!(
        (s.rx.lost, s.rx.reordered, s.rx.foreign, s.rx.excess),
        (0, 0, 0, 0)
    );
    assert_eq!(s.tx_bytes, s.tx_packets * 64);
    assert_eq!(s.rx.latency.samples, s.tx_packets);
    let per_flow = gen.sent_per_flow();
    assert_eq!(per_flow.iter().sum::<u64>(), s.tx_packets);
    assert!(
        per_flow.iter().all(|&n| n > 0),
        "random order reaches every flow"
    );

    // A paced run on a virtual clock sends exactly rate x duration.
    gen.reset_counts();
    rxc.reset();
    let s = virtual_run(&mut gen, &mut rxc, &mut q, 1e6, 0.01);
    assert_eq!(
        (s.tx_packets, s.rx.received, s.rx.lost),
        (10_000, 10_000, 0)
    );
}

#[test]
fn known_drops_and_reorders_are_counted() {
    let (eal, _turn) = eal();
    let (_port, q) = ring(eal, 11);
    let reorder = ReorderShim::new(q, [(1, 100), (2, 200), (5, 7)]);
    let mut port = DropShim::new(reorder, [(0, 10), (3, 500), (7, 7), (7, 8)]);
    let mut gen = generator(8, Order::Sequential);
    let mut rxc = RxCounter::new(8);
    let s = virtual_run(&mut gen, &mut rxc, &mut port, 1e6, 0.01);
    assert_eq!(s.tx_packets, 10_000);
    assert_eq!(gen.sent_per_flow(), vec![1250; 8]);
    assert_eq!(port.dropped, 4);
    assert_eq!(s.rx.received, 9_996);
    assert_eq!(s.rx.lost, 4);
    assert_eq!(s.rx.flows_with_loss, 3);
    assert_eq!(s.rx.reordered, 3);
    assert!((s.rx.loss_ratio - 4e-4).abs() < 1e-12);
}

#[test]
fn rfc2544_search_finds_the_rate_a_device_drops_above() {
    let (eal, _turn) = eal();
    let (_port, q) = ring(eal, 12);
    let limit = 200_000.0;
    let mut dut = RateLimitShim::new(q, limit, 64);
    let mut gen = generator(16, Order::Sequential);
    let mut rxc = RxCounter::new(16);
    let mut trial = |rate: f64| {
        gen.reset_counts();
        rxc.reset();
        dut.reset();
        let s = virtual_run(&mut gen, &mut rxc, &mut dut, rate, 0.1);
        (s.tx_packets, s.rx.lost, s.tx_pps)
    };
    let ndr = search(&SearchConfig::ndr(1e6), &mut trial);
    let pdr = search(&SearchConfig::pdr(1e6), &mut trial);
    // Within the search's 1% resolution of the limit (the bucket's 64 packets of depth add
    // 0.3% over a 0.1 s trial).
    assert!(
        (ndr.rate_pps - limit).abs() <= 0.02 * limit,
        "NDR {} for a {limit} pps device",
        ndr.rate_pps
    );
    assert!(ndr.trials.iter().all(|t| t.pass == (t.lost == 0)));
    // < 0.5% loss allows up to limit / 0.995.
    assert!(
        pdr.rate_pps >= ndr.rate_pps && pdr.rate_pps <= limit / 0.995 * 1.01,
        "PDR {} (NDR {})",
        pdr.rate_pps,
        ndr.rate_pps
    );
    let last_pass = pdr.trials.iter().rfind(|t| t.pass).unwrap();
    assert!(last_pass.lost as f64 / (last_pass.sent as f64) < 0.005);
}

#[test]
fn latency_of_a_known_delay() {
    let (eal, _turn) = eal();
    let (_port, q) = ring(eal, 13);
    let delay = Duration::from_millis(5);
    let mut port = DelayShim::new(q, delay);
    let mut gen = generator(4, Order::Sequential);
    let mut rxc = RxCounter::new(4);
    let cfg = RunConfig {
        rate: Rate::Pps(20_000.0),
        duration_ns: 200_000_000,
        ..RunConfig::default()
    };
    let s = run(
        &mut gen,
        &mut rxc,
        &mut [&mut port],
        (0, 0),
        &cfg,
        &mut Clock::real(),
        None,
    );
    assert!(s.tx_packets > 100, "sent {}", s.tx_packets);
    assert_eq!((s.rx.received, s.rx.lost), (s.tx_packets, 0));
    let l = s.rx.latency;
    let d = delay.as_nanos() as u64;
    // Never below the delay; above it by at most what a loaded 2-core machine adds.
    assert!(l.min >= d, "min {} ns", l.min);
    assert!(l.p50 >= d && l.p50 <= d + 45_000_000, "p50 {} ns", l.p50);
    assert!(l.mean >= d as f64 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max);
}

#[test]
fn five_tuple_swap_forwarding_rewrites_headers_in_place() {
    let (eal, _turn) = eal();
    let (_a, mut qa) = ring(eal, 14);
    let (_b, mut qb) = ring(eal, 15);
    let mut gen = generator(4, Order::Sequential);
    assert_eq!(gen.send(&mut qa, 8, 77), 8);
    // net_ring loops a port's transmissions back to its receive side: forward them from
    // a to b with the 5-tuple swap, then read b.
    let (rx, tx) = qa.forward_burst_map(&mut qb, 32, perf::suite::harness::swap5);
    assert_eq!((rx, tx), (8, 8));
    let mut frames = Vec::new();
    qb.rx_inspect(32, |f| frames.push(f.to_vec()));
    assert_eq!(frames.len(), 8);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(
            &f[0..6],
            &[2, 0, 0, 0, 0, 1],
            "destination MAC was the source"
        );
        assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 2]);
        assert_eq!(
            &f[26..30],
            &[198, 19, 0, 1],
            "source address was the destination"
        );
        assert_eq!(&f[30..34], &[198, 18, 0, 1]);
        assert_eq!(
            u16::from_be_bytes([f[34], f[35]]),
            9,
            "source port was the destination"
        );
        assert_eq!(u16::from_be_bytes([f[36], f[37]]), 1000 + (i % 4) as u16);
        assert_eq!(
            dataplane::wire::checksum::data(&f[14..34]),
            0xffff,
            "IPv4 checksum still valid"
        );
        let s = perf::pktgen::packet::read_stamp(f).unwrap();
        assert_eq!(
            (s.flow, s.seq, s.tx_ns),
            ((i % 4) as u32, (i / 4) as u32, 77)
        );
    }
}

#[test]
fn ipv6_frames_are_swapped_and_counted() {
    let (eal, _turn) = eal();
    let (_a, mut qa) = ring(eal, 16);
    let (_b, mut qb) = ring(eal, 17);
    let spec = perf::pktgen::fields::FlowSpec6 {
        src: "2001:db8:1::10".parse().unwrap(),
        dst: "2001:db8:ff::53".parse().unwrap(),
        sport: "1000-1003".parse().unwrap(),
        dport: perf::pktgen::fields::PortRange::single(53),
        flows: 4,
        order: Order::Sequential,
    };
    let mut gen = Generator::new(GenConfig {
        flows6: Some(spec),
        flows: FlowSpec::default(),
        sizes: Sizes::Fixed(84),
        macs: Macs {
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
        },
    })
    .unwrap();
    assert_eq!(gen.flows(), 4);
    assert_eq!(gen.send(&mut qa, 8, 77), 8);
    let (rx, tx) = qa.forward_burst_map(&mut qb, 32, perf::suite::harness::swap5);
    assert_eq!((rx, tx), (8, 8));
    let mut rxc = RxCounter::new(4);
    let mut frames = Vec::new();
    qb.rx_inspect(32, |f| {
        rxc.frame(f, 100);
        frames.push(f.to_vec())
    });
    assert_eq!(frames.len(), 8);
    let server: std::net::Ipv6Addr = "2001:db8:ff::53".parse().unwrap();
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.len(), 80);
        assert_eq!(&f[0..6], &[2, 0, 0, 0, 0, 1], "MACs swapped");
        assert_eq!(&f[22..38], &server.octets(), "source was the destination");
        assert_eq!(u16::from_be_bytes([f[54], f[55]]), 53);
        assert_eq!(u16::from_be_bytes([f[56], f[57]]), 1000 + (i % 4) as u16);
        let ip = dataplane::wire::Ipv6Packet::new_checked(&f[14..]).unwrap();
        let udp = dataplane::wire::UdpPacket::new_checked(ip.payload()).unwrap();
        assert!(
            udp.verify_checksum_ipv6(ip.src_addr(), ip.dst_addr()),
            "UDP checksum still valid"
        );
    }
    let r = rxc.report(&gen.sent_per_flow());
    assert_eq!((r.sent, r.received, r.lost, r.foreign), (8, 8, 0, 0));
    // Below the smallest IPv6 frame: refused.
    let mut cfg = gen.config().clone();
    cfg.sizes = Sizes::Fixed(64);
    let refused = Generator::new(cfg).err().unwrap_or_default();
    assert!(refused.contains("smallest IPv6 frame"), "{refused}");
}
