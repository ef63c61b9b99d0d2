//! nfdp-pktgen's stateful TCP mode: handshakes, data and teardown over a net_ring loopback,
//! and through an in-process nfdp pipeline with MASQUERADE and strict TCP window tracking
//! (tcp_loose off), checked against nfdp's conntrack entries. Needs the `dpdk` feature (no
//! root, no hugepages).
#![cfg(feature = "dpdk")]

use dataplane::conntrack::{CtConfig, TcpState};
use dataplane::port::dpdk::{DpdkPort, DpdkQueue, Eal};
use dataplane::port::{MacAddr, PacketPool, Port};
use dataplane::ruleset::matches::conntrack::status;
use dataplane::worker::Worker;
use perf::pktgen::dpdk::{eal_args, open_port};
use perf::pktgen::fields::{AddrRange, FlowSpec, Order};
use perf::pktgen::packet::Macs;
use perf::pktgen::rx::RxCounter;
use perf::pktgen::shim::DropShim;
use perf::pktgen::tcp::{run_tcp, TcpConfig, TcpGen};
use perf::pktgen::{Clock, RunConfig};
use perf::suite::harness::{compile, topology, HOST_MAC, LAN_MAC};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

fn eal() -> (&'static Eal, MutexGuard<'static, ()>) {
    static EAL: OnceLock<Eal> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let eal = EAL.get_or_init(|| {
        Eal::init(&eal_args("nfdp-pktgen-tcp-test", 512, &["net_ring0"], &[])).expect("EAL")
    });
    (eal, turn)
}

/// nfdp port `id` (the suite's topology: lan0 is 0, wan0 is 1) on device net_ring`dev`.
fn ring(eal: &Eal, id: u16, dev: u16, name: &str) -> DpdkPort {
    open_port(eal, id, name, &format!("net_ring{dev}"), 1, 4095).expect("net_ring port")
}

fn flows(n: u32) -> FlowSpec {
    FlowSpec {
        src: AddrRange::single(Ipv4Addr::new(192, 168, 1, 10)),
        dst: AddrRange::single(Ipv4Addr::new(198, 51, 100, 7)),
        sport: format!("20000-{}", 19_999 + n).parse().unwrap(),
        dport: "80".parse().unwrap(),
        flows: n,
        order: Order::Sequential,
    }
}

fn tcp_config(conns: u64, segments: u32) -> TcpConfig {
    TcpConfig {
        conn_rate: 0.0,
        segments,
        connections: Some(conns),
        // Generous: a loaded 2-core machine must not time a connection out.
        timeout_ns: 20_000_000_000,
        size: 200,
        // Retransmission off: every segment must arrive the first time.
        rto_ns: 0,
    }
}

#[test]
fn loopback_completes_every_connection() {
    let (eal, _turn) = eal();
    let port = ring(eal, 20, 20, "ring20");
    let mut q = port.try_queue(0).unwrap();
    let macs = Macs {
        src: MacAddr([2, 0, 0, 0, 0, 1]),
        dst: MacAddr([2, 0, 0, 0, 0, 2]),
    };
    // 300 connections over 100 slots: each slot carries three in turn.
    let mut gen = TcpGen::new(&flows(100), macs, tcp_config(300, 5)).unwrap();
    let mut rxc = RxCounter::new(100);
    let cfg = RunConfig {
        duration_ns: 60_000_000_000,
        ..RunConfig::default()
    };
    let s = run_tcp(
        &mut gen,
        &mut rxc,
        &mut [&mut q],
        (0, 0),
        &cfg,
        &mut Clock::real(),
        None,
    );
    let k = s.counts;
    assert_eq!(
        (k.opened, k.established, k.completed, k.failed),
        (300, 300, 300, 0)
    );
    assert_eq!(k.data_segments, 300 * 5);
    // Per connection: SYN, the handshake's ACK, FIN/ACK, the last ACK.
    assert_eq!(k.control_segments, 300 * 4);
    // Per connection: SYN/ACK, an ACK per data segment, FIN/ACK.
    assert_eq!(k.server_segments, 300 * (2 + 5));
    assert_eq!((k.foreign, k.server_dropped, k.refused), (0, 0, 0));
    assert_eq!(
        (s.rx.sent, s.rx.received, s.rx.lost, s.rx.reordered),
        (1500, 1500, 0, 0)
    );
    assert_eq!(s.rx.latency.samples, 1500);
    assert_eq!(gen.sent_per_flow(), vec![15; 100]);
    assert!(gen.idle());
    let j = s.json().pretty();
    assert!(j.contains("\"conns_completed\": 300"), "{j}");
}

/// The generator's client on lan0 and server on wan0 (two net_ring loopbacks), an nfdp
/// worker between them: lan0 rx -> wan0 tx, wan0 rx -> lan0 tx.
struct Lab {
    _ports: (DpdkPort, DpdkPort),
    lan: DpdkQueue,
    wan: DpdkQueue,
    worker: Worker,
    epoch: Instant,
}

impl Lab {
    /// lan0 on net_ring`dev`, wan0 on net_ring`dev + 1`.
    fn new(eal: &Eal, dev: u16, rules: &str) -> Lab {
        let lan_port = ring(eal, 0, dev, "lan0");
        let wan_port = ring(eal, 1, dev + 1, "wan0");
        let pool = Arc::new(Mutex::new(PacketPool::with_defaults(2048)));
        let lan = lan_port.try_queue_with_pool(0, pool.clone()).unwrap();
        let wan = wan_port.try_queue_with_pool(0, pool).unwrap();
        let topo = topology();
        let mut p = dataplane::pipeline::Pipeline::new(
            Arc::new(compile(rules).unwrap()),
            topo.fib.clone(),
            topo.neighbors.clone(),
        );
        p.set_conntrack_config(CtConfig {
            tcp_loose: false,
            ..CtConfig::default()
        });
        Lab {
            _ports: (lan_port, wan_port),
            lan,
            wan,
            // A burst larger than the generator's 32 a pass: the worker keeps up (its
            // bursts never come back full), so overload admission never sheds an
            // opening here; these tests are about conntrack and NAT, not overload.
            worker: Worker::new(p, 0, 64, 2),
            epoch: Instant::now(),
        }
    }

    /// Runs the generator through the worker until it is idle (or a minute passed).
    fn run(&mut self, gen: &mut TcpGen, rxc: &mut RxCounter) {
        let clock = Clock::real();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            gen.transmit_pair(&mut self.lan, &mut self.wan, clock.now(), 32);
            let t = self.epoch.elapsed().as_nanos() as u64 + 1_000_000_000;
            let mut ports: [&mut dyn Port; 2] = [&mut self.lan, &mut self.wan];
            self.worker.poll(&mut ports, t);
            gen.receive_pair(&mut self.lan, &mut self.wan, rxc, &clock);
            if gen.all_opened() && gen.idle() {
                return;
            }
        }
    }
}

#[test]
fn connections_through_nfdp_masquerade_open_and_close_in_conntrack() {
    let (eal, _turn) = eal();
    let mut lab = Lab::new(eal, 21, &perf::suite::gateway_rules(""));
    let n = 200u32;
    let mut gen = TcpGen::new(
        &flows(n),
        Macs {
            src: HOST_MAC,
            dst: LAN_MAC,
        },
        // Two connections per slot: the second reopens its tuple's TIME_WAIT entry.
        tcp_config(2 * u64::from(n), 3),
    )
    .unwrap();
    let mut rxc = RxCounter::new(n);
    lab.run(&mut gen, &mut rxc);
    let k = gen.counts;
    assert_eq!(
        (k.opened, k.established, k.completed, k.failed),
        (400, 400, 400, 0),
        "{k:?}"
    );
    assert_eq!(k.server_segments, 400 * (2 + 3));
    assert_eq!((k.foreign, k.server_dropped), (0, 0));
    let r = rxc.report(&gen.sent_per_flow());
    assert_eq!((r.sent, r.received, r.lost), (1200, 1200, 0));

    let p = &lab.worker.pipeline;
    assert_eq!(
        p.stats().drops[dataplane::pipeline::DropReason::Rules],
        0,
        "{:?}",
        p.stats()
    );
    let entries: Vec<_> = p
        .conntrack()
        .entries()
        .filter(|e| e.orig.proto == 6)
        .collect();
    assert_eq!(entries.len(), 200);
    let mut ports = std::collections::BTreeSet::new();
    for e in &entries {
        assert_eq!(e.tcp, TcpState::TimeWait, "{e:?}");
        assert_eq!(e.status & status::ASSURED, status::ASSURED, "{e:?}");
        assert_eq!(e.orig.src, Ipv4Addr::new(192, 168, 1, 10));
        assert_eq!(e.orig.dst, Ipv4Addr::new(198, 51, 100, 7));
        // MASQUERADE: the server answered wan0's address.
        assert_eq!(e.reply.dst, Ipv4Addr::new(203, 0, 113, 1));
        ports.insert(e.orig.sport);
    }
    assert_eq!(ports.len(), 200);
}

#[test]
fn dnat_is_transparent_to_the_server() {
    let (eal, _turn) = eal();
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                 -A PREROUTING -i lan0 -p tcp --dport 80 -j DNAT --to-destination 198.51.100.8:8080\n\
                 -A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
                 *filter\n:FORWARD DROP [0:0]\n\
                 -A FORWARD -m conntrack --ctstate INVALID -j DROP\n\
                 -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n\
                 -A FORWARD -i lan0 -o wan0 -p tcp --dport 8080 -j ACCEPT\nCOMMIT\n";
    let mut lab = Lab::new(eal, 23, rules);
    let mut gen = TcpGen::new(
        &flows(50),
        Macs {
            src: HOST_MAC,
            dst: LAN_MAC,
        },
        tcp_config(50, 2),
    )
    .unwrap();
    let mut rxc = RxCounter::new(50);
    lab.run(&mut gen, &mut rxc);
    let k = gen.counts;
    assert_eq!(
        (k.opened, k.established, k.completed, k.failed, k.foreign),
        (50, 50, 50, 0, 0),
        "{k:?}"
    );
    let p = &lab.worker.pipeline;
    assert_eq!(p.stats().drops[dataplane::pipeline::DropReason::Rules], 0);
    let mut n = 0;
    for e in p.conntrack().entries().filter(|e| e.orig.proto == 6) {
        assert_eq!(
            (e.orig.dst, e.orig.dport),
            (Ipv4Addr::new(198, 51, 100, 7), 80)
        );
        assert_eq!(
            (e.reply.src, e.reply.sport),
            (Ipv4Addr::new(198, 51, 100, 8), 8080),
            "the server answered the translated destination"
        );
        assert_eq!(e.tcp, TcpState::TimeWait);
        n += 1;
    }
    assert_eq!(n, 50);
}

#[test]
fn a_lost_last_segment_times_the_connection_out() {
    let (eal, _turn) = eal();
    let port = ring(eal, 25, 25, "ring25");
    let q = port.try_queue(0).unwrap();
    // Slot 0 loses its second of three data segments (later ACKs cover it); slot 1 its
    // last (nothing acknowledges it, no retransmission: the connection times out).
    let mut lossy = DropShim::new(q, [(0, 1), (1, 2)]);
    let mut gen = TcpGen::new(
        &flows(10),
        Macs {
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
        },
        TcpConfig {
            timeout_ns: 2_000_000_000,
            ..tcp_config(10, 3)
        },
    )
    .unwrap();
    let mut rxc = RxCounter::new(10);
    let s = run_tcp(
        &mut gen,
        &mut rxc,
        &mut [&mut lossy],
        (0, 0),
        &RunConfig {
            duration_ns: 60_000_000_000,
            ..RunConfig::default()
        },
        &mut Clock::real(),
        None,
    );
    let k = s.counts;
    assert_eq!(lossy.dropped, 2);
    assert_eq!(
        (k.opened, k.established, k.completed, k.failed, k.timed_out),
        (10, 10, 9, 1, 1),
        "{k:?}"
    );
    assert_eq!((s.rx.sent, s.rx.received, s.rx.lost), (30, 28, 2));
    assert_eq!(s.rx.flows_with_loss, 2);
    assert_eq!(k.retransmits, 0);
    assert!(gen.idle());
}

#[test]
fn lost_segments_are_sent_again() {
    let (eal, _turn) = eal();
    let port = ring(eal, 26, 26, "ring26");
    let q = port.try_queue(0).unwrap();
    // Slot 1 loses its last data segment, slot 2 its last two: both send again from the
    // first unacknowledged byte after the retransmission timeout, with new stamps.
    let mut lossy = DropShim::new(q, [(1, 2), (2, 1), (2, 2)]);
    let mut gen = TcpGen::new(
        &flows(10),
        Macs {
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
        },
        TcpConfig {
            rto_ns: 500_000_000,
            ..tcp_config(10, 3)
        },
    )
    .unwrap();
    let mut rxc = RxCounter::new(10);
    let s = run_tcp(
        &mut gen,
        &mut rxc,
        &mut [&mut lossy],
        (0, 0),
        &RunConfig {
            duration_ns: 60_000_000_000,
            ..RunConfig::default()
        },
        &mut Clock::real(),
        None,
    );
    let k = s.counts;
    assert_eq!(lossy.dropped, 3);
    assert_eq!(
        (k.opened, k.established, k.completed, k.failed),
        (10, 10, 10, 0),
        "{k:?}"
    );
    // Slot 1 sends its last segment again, slot 2 its last two (go-back-N).
    assert_eq!(k.retransmits, 2);
    assert_eq!(k.data_segments, 30 + 1 + 2);
    assert_eq!((s.rx.sent, s.rx.received, s.rx.lost), (33, 30, 3));
    let per_flow = gen.sent_per_flow();
    assert_eq!((per_flow[0], per_flow[1], per_flow[2]), (3, 4, 5));
}
