//! S7, floods mixed into S1 (issue 13 item 3), following S6's shape: S1's established
//! UDP flows through the gateway ruleset with MASQUERADE are made ASSURED on a virtual
//! clock, measured alone, then measured again with a flood mixed into every burst. Each
//! flood reports what S1 kept (its packets per second of worker time under the flood
//! against alone, the flood's own processing time included), the memory high-water mark
//! of the table the flood aims at (and the process RSS before and after), and the
//! counters its drops went under. The variants:
//!
//! - `udp`: UDP from random spoofed LAN tuples, the conntrack table full (early drop,
//!   then new entries refused); S1's ASSURED flows must stay in the table.
//! - `frag`: first fragments that never complete (random sources and ids) fill the
//!   reassembly memory; real fragmented datagrams of the LAN host are mixed in and
//!   counted reassembled and forwarded.
//! - `icmp`: ICMP errors quoting connections that do not exist (to the gateway and to the
//!   LAN host), some quoting S1's real ones, and TTL-1 packets that earn time exceeded:
//!   the non-matching are INVALID, the real ones RELATED and forwarded, and the ICMP the
//!   appliance emits stays within `icmp_limit`'s buckets.
//! - `arp`: ARP requests from thousands of LAN addresses (for the gateway and for other
//!   hosts) and packets toward thousands of unresolved next hops on a /16 of wan0: the
//!   neighbour table and its per-entry queues stay bounded.
//! - `handoff`: two workers in one thread, worker 1 polled once per 4 passes of worker 0;
//!   worker 0 receives replies to worker 1's connections (steered to worker 1's inbox)
//!   faster than worker 1 drains them: the inbox fills, drops are counted, both workers'
//!   own flows keep going, and the inbox drains afterwards (no deadlock).
//! - `mbuf`: every mbuf of both ports' pools held: offered traffic is refused at the port
//!   (as a NIC counts rx_nombuf), packets the worker must copy into fresh mbufs (its ICMP
//!   errors) are counted as tx drops; then the mbufs are given back and S1 runs again at
//!   its rate, and exactly as many mbufs can be held again (none leaked).
//!
//! `Scale::suite` sizes them as S6 (a 65,536-entry table, S1's 10k flows, ten times the
//! table's size of flood first); `Scale::test` is small enough for the debug-build tests
//! (perf/tests/floods.rs), which assert the bounds and counters, never a rate.

use super::harness::{
    compile, generator, topology_with, Bench, Lane, Measure, Stage, BURST, HOST_MAC, LAN_MAC,
};
use super::{gateway_rules, ratio, s1_flows};
use crate::json::Json;
use crate::pktgen::fields::FlowSpec;
use crate::pktgen::rx::RxCounter;
use crate::pktgen::Generator;
use dataplane::conntrack::{CtConfig, Tuple};
use dataplane::defrag::{FRAG_MEMORY, FRAG_TRUESIZE};
use dataplane::handoff::{Handoff, OwnerDirectory, OwnerDirectory6};
use dataplane::neigh::{NeighConfig, NeighTable};
use dataplane::pipeline::icmp_limit::{MSGS_BURST, MSGS_PER_SEC};
use dataplane::pipeline::{CompiledRuleset, DropReason, Pipeline};
use dataplane::port::dpdk::DpdkQueue;
use dataplane::port::{MacAddr, PacketBuf, Port};
use dataplane::ruleset::matches::conntrack::status;
use dataplane::wire::checksum;
use dataplane::worker::Worker;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

const GW_LAN: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const GW_WAN: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const HOST: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const WAN_MAC: MacAddr = MacAddr([2, 0, 0, 0, 2, 1]);
const UPLINK_MAC: MacAddr = MacAddr([2, 0, 0, 0, 2, 0xfe]);
/// Flood packets mixed into each burst of S1's 32 (a fifth of the packets, as S6).
pub const FLOOD_PER_BURST: usize = 8;
/// The single worker's burst: S1's 32 and the flood's packets in one poll (a frame the
/// worker leaves in lan0's ring is drained by the generator's receive and never reaches
/// it; `unprocessed` in the JSON counts them, and must be 0).
pub const WORKER_BURST: usize = 64;
/// The handoff inboxes' size in the `handoff` flood.
pub const INBOX: usize = 1024;
/// Worker 0's passes per pass of worker 1 in the `handoff` flood.
pub const HANDOFF_SKEW: usize = 4;

/// How big the floods are.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Each measurement runs at least this long (wall clock) ...
    pub secs: f64,
    /// ... and at least this many rounds of 64 bursts.
    pub rounds: u64,
    /// nf_conntrack_max.
    pub ct_max: u32,
    /// S1's flows: `10_000 / s1_div` of them.
    pub s1_div: u16,
    /// The flood alone first: this many times `ct_max` packets (udp), or until the
    /// reassembly memory is full (frag).
    pub flood_factor: u32,
    /// The neighbour table's size (the kernel's gc_thresh3; `NeighConfig::max_entries`).
    pub neigh_max: usize,
}

impl Scale {
    pub fn suite(secs: f64) -> Scale {
        Scale {
            secs,
            rounds: 4,
            ct_max: 65_536,
            s1_div: 1,
            flood_factor: 10,
            neigh_max: NeighConfig::default().max_entries,
        }
    }

    /// Deterministic and short (a fixed number of bursts on a virtual clock).
    pub fn test() -> Scale {
        Scale {
            secs: 0.0,
            rounds: 4,
            ct_max: 4096,
            s1_div: 8,
            flood_factor: 2,
            neigh_max: 512,
        }
    }
}

/// xorshift64*: the floods' random fields, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// A random address in `base/len`.
    fn addr(&mut self, base: Ipv4Addr, len: u32) -> Ipv4Addr {
        let host = if len >= 32 {
            0
        } else {
            self.next() & (u32::MAX >> len)
        };
        Ipv4Addr::from(u32::from(base) | host)
    }

    fn port(&mut self) -> u16 {
        1024 + (self.next() % 64_512) as u16
    }
}

/// An IPv4 header and `payload` after an Ethernet header into `room`; returns the frame's
/// length (padded to 60 bytes), 0 when it does not fit.
#[allow(clippy::too_many_arguments)]
fn ip_frame(
    room: &mut [u8],
    dst_mac: MacAddr,
    src_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ttl: u8,
    ident: u16,
    frag: u16,
    payload: &[u8],
) -> usize {
    let len = 14 + 20 + payload.len();
    let frame = len.max(60);
    if room.len() < frame {
        return 0;
    }
    room[..frame].fill(0);
    room[0..6].copy_from_slice(&dst_mac.0);
    room[6..12].copy_from_slice(&src_mac.0);
    room[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut room[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&ident.to_be_bytes());
    ip[6..8].copy_from_slice(&frag.to_be_bytes());
    ip[8] = ttl;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = !checksum::data(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    room[34..len].copy_from_slice(payload);
    frame
}

/// A UDP header (no checksum) and `data` as an IP payload.
fn udp_payload(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + data.len());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(data);
    p
}

/// An ICMP destination unreachable (port) quoting the UDP packet `quoted` sent.
fn icmp_unreachable(q: &Tuple) -> Vec<u8> {
    let mut inner = [0u8; 28];
    inner[0] = 0x45;
    inner[2..4].copy_from_slice(&36u16.to_be_bytes());
    inner[8] = 63;
    inner[9] = 17;
    inner[12..16].copy_from_slice(&q.src.octets());
    inner[16..20].copy_from_slice(&q.dst.octets());
    let c = !checksum::data(&inner[..20]);
    inner[10..12].copy_from_slice(&c.to_be_bytes());
    inner[20..22].copy_from_slice(&q.sport.to_be_bytes());
    inner[22..24].copy_from_slice(&q.dport.to_be_bytes());
    inner[24..26].copy_from_slice(&16u16.to_be_bytes());
    let mut m = vec![3, 3, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&inner);
    let c = !checksum::data(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// Up to `n` frames built by `f` into `q`'s receive side (a loopback ring); returns how
/// many went in.
fn inject(q: &mut DpdkQueue, n: usize, mut f: impl FnMut(&mut [u8]) -> usize) -> usize {
    let mut done = 0;
    while done < n {
        let (_, sent) = q.tx_build((n - done).min(64), |_, room| f(room));
        if sent == 0 {
            break;
        }
        done += sent;
    }
    done
}

fn u(x: u64) -> Json {
    Json::from(x)
}

fn mb(bytes: u64) -> Json {
    Json::from(bytes as f64 / (1024.0 * 1024.0))
}

/// The established flows' packets per second of worker time, in Mpps.
fn established(m: &Measure) -> f64 {
    ratio(m.received as f64 * 1e3, m.stage_ns as f64)
}

/// S1's traffic on one lane and what counts it.
pub struct Legit {
    /// Frames the worker never read (see `drain`).
    pub unread: u64,
    pub lane: Lane,
    pub gen: Generator,
    pub rxc: RxCounter,
    pub flows: FlowSpec,
}

impl Legit {
    fn new(bench: &Bench, q: u16, flows: FlowSpec) -> Legit {
        let gen = generator(flows.clone());
        let rxc = RxCounter::new(gen.flows());
        let mut lane = bench.lane(q);
        lane.clock_step_ns = Some(1_000);
        Legit {
            unread: 0,
            lane,
            gen,
            rxc,
            flows,
        }
    }

    /// S6's way to ASSURED: replied, then seen again 3 s later (past UDP's 2 s stream
    /// mark) on the virtual clock.
    fn assure(&mut self, w: &mut Worker) {
        self.lane.clock_step_ns = Some(1_000);
        self.lane.establish(&mut self.gen, w);
        self.lane.clock_step_ns = Some(3_000_000_000);
        self.lane.forward(&mut Stage::Worker(w));
        self.lane.clock_step_ns = Some(1_000);
        while self.gen.sent < u64::from(self.gen.flows()) {
            self.gen.send(&mut self.lane.lan, BURST, 0);
            self.lane.forward(&mut Stage::Worker(w));
            drain(&mut self.lane, &mut self.rxc, &mut |_, _| {});
        }
        w.local.clear();
    }

    /// For each flow: its connection's start and its reply tuple, if it is tracked and
    /// ASSURED.
    fn connections(&self, w: &Worker) -> Vec<Option<(u64, Tuple)>> {
        let ct = w.pipeline.conntrack();
        (0..self.flows.flows)
            .map(|i| {
                let e = super::synflood::flow_entry(ct, &self.flows, i)?;
                (e.status & status::ASSURED != 0).then_some((e.start_ns, e.reply))
            })
            .collect()
    }

    /// Closed loop: per burst S1's 32, then `flood` adds its packets, the worker runs,
    /// `watch` looks at it, and everything that came out is drained (`seen` is shown the
    /// frames, wan0's with `true`). At least `sc.rounds` rounds of 64 bursts and
    /// `sc.secs` seconds.
    fn measure(
        &mut self,
        w: &mut Worker,
        sc: &Scale,
        flood: &mut dyn FnMut(&mut Lane),
        watch: &mut dyn FnMut(&mut Worker),
        seen: &mut dyn FnMut(bool, &[u8]),
    ) -> Measure {
        self.gen.reset_counts();
        self.rxc.reset();
        let start = Instant::now();
        let mut stage_ns = 0u64;
        let mut rounds = 0;
        while rounds < sc.rounds || start.elapsed().as_secs_f64() < sc.secs {
            for _ in 0..64 {
                self.gen.send(&mut self.lane.lan, BURST, 0);
                flood(&mut self.lane);
                let t = Instant::now();
                self.lane.forward(&mut Stage::Worker(w));
                stage_ns += t.elapsed().as_nanos() as u64;
                watch(w);
                self.unread += drain(&mut self.lane, &mut self.rxc, seen);
            }
            rounds += 1;
        }
        let wall_ns = start.elapsed().as_nanos() as u64;
        for _ in 0..4 {
            self.lane.forward(&mut Stage::Worker(w));
            watch(w);
            self.unread += drain(&mut self.lane, &mut self.rxc, seen);
        }
        let r = self.rxc.report(&self.gen.sent_per_flow());
        Measure {
            sent: r.sent,
            received: r.received,
            lost: r.lost,
            stage_ns,
            wall_ns,
        }
    }
}

/// Everything waiting on both ports' receive sides; returns how many frames of lan0's
/// were the LAN host's own (sent to the gateway, never read by the worker).
fn drain(lane: &mut Lane, rxc: &mut RxCounter, seen: &mut dyn FnMut(bool, &[u8])) -> u64 {
    let mut unread = 0;
    loop {
        let k = lane.wan.rx_inspect(64, |f| {
            rxc.frame(f, 0);
            seen(true, f);
        }) + lane.lan.rx_inspect(64, |f| {
            if f.get(6..12) == Some(&HOST_MAC.0[..]) {
                unread += 1;
                return;
            }
            rxc.frame(f, 0);
            seen(false, f);
        });
        if k == 0 {
            return unread;
        }
    }
}

fn worker_for(bench: &Bench, rules: Arc<CompiledRuleset>, sc: &Scale) -> Worker {
    let ct = CtConfig {
        max: sc.ct_max,
        ..CtConfig::default()
    };
    let mut p = bench.pipeline(rules, ct);
    p.seed(0x6e66_6470);
    Worker::new(p, 0, WORKER_BURST, 2)
}

fn gateway() -> Arc<CompiledRuleset> {
    Arc::new(compile(&gateway_rules("")).expect("gateway rules"))
}

/// The common part of every flood's JSON: S1 alone and under the flood.
fn legit_json(l: &Legit, calm: &Measure, stormy: &Measure, flood_packets: u64) -> Json {
    Json::obj([
        ("unprocessed", u(l.unread)),
        ("mpps_alone", Json::from(established(calm))),
        ("mpps_under_flood", Json::from(established(stormy))),
        (
            "kept",
            Json::from(ratio(established(stormy), established(calm))),
        ),
        ("lost_alone", u(calm.lost)),
        ("lost_under_flood", u(stormy.lost)),
        ("received_under_flood", u(stormy.received)),
        ("flood_packets_during_measure", u(flood_packets)),
    ])
}

/// The pipeline's drops since `before`, by reason (`nfdp_drops_total{reason}`), the
/// reasons that counted any.
pub(super) fn drops_since(w: &Worker, before: &dataplane::pipeline::PipelineStats) -> Json {
    let now = &w.pipeline.stats().drops;
    Json::obj(
        DropReason::ALL
            .iter()
            .map(|&r| (r.name(), now[r] - before.drops[r]))
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k, u(n))),
    )
}

fn merge(mut a: Json, b: Json) -> Json {
    if let Json::Obj(f) = b {
        for (k, v) in f {
            a.set(&k, v);
        }
    }
    a
}

fn print_flood(name: &str, j: &Json, keys: &[&str]) {
    let num = |k: &str| match j.get(k) {
        Some(Json::Num(x)) => format!("{x:.3}"),
        Some(Json::Int(x)) => x.to_string(),
        Some(other) => format!("{other:?}"),
        None => "-".into(),
    };
    println!(
        "  {name:<8} S1 kept {:>6.1}% ({} -> {} Mpps/wkr, lost {} / {})",
        match j.get("kept") {
            Some(Json::Num(x)) => 100.0 * x,
            _ => 0.0,
        },
        num("mpps_alone"),
        num("mpps_under_flood"),
        num("lost_alone"),
        num("lost_under_flood"),
    );
    let rest: Vec<String> = keys.iter().map(|k| format!("{k} {}", num(k))).collect();
    println!("           {}", rest.join(", "));
}

/// UDP from random spoofed LAN tuples to random servers.
pub fn udp(bench: &Bench, sc: &Scale) -> Json {
    let mut w = worker_for(bench, gateway(), sc);
    let mut l = Legit::new(bench, 0, s1_flows(0, sc.s1_div));
    l.assure(&mut w);
    let before = l.connections(&w);
    let rss0 = crate::rss_bytes();
    let calm = l.measure(&mut w, sc, &mut |_| {}, &mut |_| {}, &mut |_, _| {});
    let mut rng = Rng(0x5eed_0001);
    let mut sent = 0u64;
    let send = |lan: &mut DpdkQueue, n: usize, rng: &mut Rng| {
        inject(lan, n, |room| {
            let payload = udp_payload(rng.port(), rng.port(), &[0; 18]);
            ip_frame(
                room,
                LAN_MAC,
                HOST_MAC,
                rng.addr(Ipv4Addr::new(100, 64, 0, 0), 10),
                rng.addr(Ipv4Addr::new(198, 51, 100, 0), 24),
                17,
                64,
                0,
                0x4000,
                &payload,
            )
        }) as u64
    };
    let first = u64::from(sc.flood_factor) * u64::from(sc.ct_max);
    let mut high = w.pipeline.conntrack().len();
    let mut flooded = 0;
    while flooded < first {
        let n = (first - flooded).min(BURST as u64) as usize;
        sent += send(&mut l.lane.lan, n, &mut rng);
        flooded += n as u64;
        l.lane.forward(&mut Stage::Worker(&mut w));
        high = high.max(w.pipeline.conntrack().len());
        drain(&mut l.lane, &mut l.rxc, &mut |_, _| {});
    }
    let ct0 = w.pipeline.conntrack().stats().clone();
    let p0 = w.pipeline.stats().clone();
    let sent0 = sent;
    let stormy = l.measure(
        &mut w,
        sc,
        &mut |lane| sent += send(&mut lane.lan, FLOOD_PER_BURST, &mut rng),
        &mut |w| high = high.max(w.pipeline.conntrack().len()),
        &mut |_, _| {},
    );
    let after = l.connections(&w);
    let recreated = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a.is_none() || a != b)
        .count() as u64;
    let ct = w.pipeline.conntrack().stats().clone();
    let j = merge(
        legit_json(&l, &calm, &stormy, sent - sent0),
        Json::obj([
            ("ct_max", u(u64::from(sc.ct_max))),
            ("s1_flows", u(u64::from(l.flows.flows))),
            ("flood_first", u(first)),
            ("ct_high_water", u(high as u64)),
            ("ct_len_after", u(w.pipeline.conntrack().len() as u64)),
            ("s1_flows_lost_or_recreated", u(recreated)),
            (
                "early_drops_during_measure",
                u(ct.early_drop - ct0.early_drop),
            ),
            (
                "table_full_during_measure",
                u(ct.table_full - ct0.table_full),
            ),
            ("early_drops_total", u(ct.early_drop)),
            ("table_full_total", u(ct.table_full)),
            (
                "conntrack_drops_during_measure",
                u(w.pipeline.stats().drops[DropReason::Conntrack]
                    - p0.drops[DropReason::Conntrack]),
            ),
            ("drops_during_measure", drops_since(&w, &p0)),
            ("rss_mb_before", mb(rss0)),
            ("rss_mb_after", mb(crate::rss_bytes())),
        ]),
    );
    print_flood(
        "udp",
        &j,
        &[
            "ct_max",
            "ct_high_water",
            "s1_flows_lost_or_recreated",
            "early_drops_during_measure",
            "table_full_during_measure",
        ],
    );
    j
}

/// First fragments that never complete, and real fragmented datagrams mixed in.
pub fn frag(bench: &Bench, sc: &Scale) -> Json {
    let mut w = worker_for(bench, gateway(), sc);
    let mut l = Legit::new(bench, 0, s1_flows(0, sc.s1_div));
    l.assure(&mut w);
    let rss0 = crate::rss_bytes();
    let calm = l.measure(&mut w, sc, &mut |_| {}, &mut |_| {}, &mut |_, _| {});
    let mut rng = Rng(0x5eed_0002);
    let mut junk = 0u64;
    // Tiny first fragments (8 bytes of payload, MF set): the most datagrams per byte.
    let send_junk = |lan: &mut DpdkQueue, n: usize, rng: &mut Rng| {
        inject(lan, n, |room| {
            let id = rng.next() as u16;
            ip_frame(
                room,
                LAN_MAC,
                HOST_MAC,
                rng.addr(Ipv4Addr::new(100, 64, 0, 0), 10),
                rng.addr(Ipv4Addr::new(198, 51, 100, 0), 24),
                17,
                64,
                id,
                0x2000,
                &[0x55; 8],
            )
        }) as u64
    };
    // A real datagram: 2000 bytes of UDP from the LAN host in two fragments.
    let mut real_sent = 0u64;
    let mut real_id = 0u16;
    let mut send_real = |lan: &mut DpdkQueue| {
        real_id = real_id.wrapping_add(1);
        let dgram = udp_payload(40_000 + real_id % 1000, 53, &[0xab; 1992]);
        let (a, b) = dgram.split_at(1480);
        let k = inject(lan, 1, |room| {
            ip_frame(
                room, LAN_MAC, HOST_MAC, HOST, SERVER, 17, 64, real_id, 0x2000, a,
            )
        });
        let k2 = inject(lan, 1, |room| {
            ip_frame(
                room,
                LAN_MAC,
                HOST_MAC,
                HOST,
                SERVER,
                17,
                64,
                real_id,
                1480 / 8,
                b,
            )
        });
        real_sent += (k.min(k2)) as u64;
    };
    // Datagrams out on wan0: the last fragment of each (offset set, MF clear).
    let mut real_out = 0u64;
    let mut count_out = |wan: bool, f: &[u8]| {
        if wan && f.len() >= 34 && f[12..14] == [8, 0] && f[23] == 17 {
            let fr = u16::from_be_bytes([f[20], f[21]]);
            if fr & 0x2000 == 0 && fr & 0x1fff != 0 && f[26..30] == GW_WAN.octets() {
                real_out += 1;
            }
        }
    };
    let mut high = (0usize, 0usize);
    let mut watch = |w: &mut Worker| {
        let (q, b) = w.pipeline.defrag_pending();
        high = (high.0.max(q), high.1.max(b));
    };
    // The flood alone until the reassembly memory is full (or the cap).
    let cap = u64::from(sc.flood_factor) * (FRAG_MEMORY as u64 / 8) + 1;
    let full = |w: &Worker| {
        let d = w.pipeline.defrag_stats();
        d.memory_drops + d.evicted > 0
    };
    while !full(&w) && junk < cap {
        junk += send_junk(&mut l.lane.lan, BURST, &mut rng);
        l.lane.forward(&mut Stage::Worker(&mut w));
        watch(&mut w);
        drain(&mut l.lane, &mut l.rxc, &mut |_, _| {});
    }
    let junk_first = junk;
    let d0 = w.pipeline.defrag_stats().clone();
    let p0 = w.pipeline.stats().clone();
    let stormy = l.measure(
        &mut w,
        sc,
        &mut |lane| {
            junk += send_junk(&mut lane.lan, FLOOD_PER_BURST - 2, &mut rng);
            send_real(&mut lane.lan);
        },
        &mut watch,
        &mut count_out,
    );
    let d = w.pipeline.defrag_stats().clone();
    let (pending, bytes) = w.pipeline.defrag_pending();
    let j = merge(
        legit_json(&l, &calm, &stormy, junk - junk_first + 2 * real_sent),
        Json::obj([
            ("memory_bound_bytes", u(FRAG_MEMORY as u64)),
            (
                "charge_per_fragment_beyond_payload",
                u(FRAG_TRUESIZE as u64),
            ),
            ("memory_high_water_bytes", u(high.1 as u64)),
            ("datagrams_pending_high_water", u(high.0 as u64)),
            ("datagrams_pending_after", u(pending as u64)),
            ("memory_after_bytes", u(bytes as u64)),
            ("junk_first_fragments_first", u(junk_first)),
            ("real_datagrams_sent", u(real_sent)),
            (
                "real_datagrams_reassembled",
                u(d.reassembled - d0.reassembled),
            ),
            ("real_datagrams_forwarded", u(real_out)),
            (
                "memory_drops_during_measure",
                u(d.memory_drops - d0.memory_drops),
            ),
            ("evicted_during_measure", u(d.evicted - d0.evicted)),
            ("timeouts_total", u(d.timeouts)),
            (
                "defrag_drops_during_measure",
                u(w.pipeline.stats().drops[DropReason::Defrag] - p0.drops[DropReason::Defrag]),
            ),
            ("drops_during_measure", drops_since(&w, &p0)),
            ("rss_mb_before", mb(rss0)),
            ("rss_mb_after", mb(crate::rss_bytes())),
        ]),
    );
    print_flood(
        "frag",
        &j,
        &[
            "memory_bound_bytes",
            "memory_high_water_bytes",
            "datagrams_pending_high_water",
            "real_datagrams_sent",
            "real_datagrams_reassembled",
            "real_datagrams_forwarded",
            "evicted_during_measure",
            "memory_drops_during_measure",
        ],
    );
    j
}

/// ICMP errors quoting random and real connections; TTL-1 packets earning time exceeded.
pub fn icmp(bench: &Bench, sc: &Scale) -> Json {
    let mut w = worker_for(bench, gateway(), sc);
    let mut l = Legit::new(bench, 0, s1_flows(0, sc.s1_div));
    l.assure(&mut w);
    // What the server side sees of S1's connections (after MASQUERADE).
    let real: Vec<Tuple> = l
        .connections(&w)
        .into_iter()
        .flatten()
        .filter_map(|(_, reply)| reply.invert())
        .collect();
    let calm = l.measure(&mut w, sc, &mut |_| {}, &mut |_| {}, &mut |_, _| {});
    let mut rng = Rng(0x5eed_0003);
    let (mut junk, mut quoting_real, mut ttl1, mut k) = (0u64, 0u64, 0u64, 0usize);
    let v0 = l.lane.virtual_now();
    let mut mix = |lane: &mut Lane| {
        // 5 errors about connections that do not exist: 3 to the gateway, 2 to the LAN
        // host; 1 about a real one; 2 TTL-1 packets from random WAN sources.
        for i in 0..5 {
            let to = if i < 3 { GW_WAN } else { HOST };
            let q = Tuple {
                src: to,
                dst: rng.addr(Ipv4Addr::new(198, 18, 0, 0), 15),
                proto: 17,
                sport: rng.port(),
                dport: rng.port(),
            };
            let m = icmp_unreachable(&q);
            let from = q.dst;
            junk += inject(&mut lane.wan, 1, |room| {
                ip_frame(room, WAN_MAC, UPLINK_MAC, from, to, 1, 60, 0, 0, &m)
            }) as u64;
        }
        if !real.is_empty() {
            let q = real[k % real.len()];
            k += 1;
            let m = icmp_unreachable(&q);
            quoting_real += inject(&mut lane.wan, 1, |room| {
                ip_frame(room, WAN_MAC, UPLINK_MAC, q.dst, q.src, 1, 60, 0, 0, &m)
            }) as u64;
        }
        for _ in 0..2 {
            let payload = udp_payload(rng.port(), 53, &[0; 18]);
            let src = rng.addr(Ipv4Addr::new(100, 64, 0, 0), 10);
            ttl1 += inject(&mut lane.wan, 1, |room| {
                ip_frame(room, WAN_MAC, UPLINK_MAC, src, HOST, 17, 1, 0, 0, &payload)
            }) as u64;
        }
    };
    let (mut related_out, mut emitted, mut local) = (0u64, 0u64, 0u64);
    let mut seen = |wan: bool, f: &[u8]| {
        if f.len() >= 35 && f[12..14] == [8, 0] && f[23] == 1 {
            match (wan, f[34]) {
                (false, 3) => related_out += 1,
                (true, 11) => emitted += 1,
                _ => {}
            }
        }
    };
    let ct0 = w.pipeline.conntrack().stats().clone();
    let p0 = w.pipeline.stats().clone();
    let stormy = l.measure(
        &mut w,
        sc,
        &mut mix,
        &mut |w| {
            local += w.local.len() as u64;
            w.local.clear();
        },
        &mut seen,
    );
    let virtual_s = (l.lane.virtual_now() - v0) as f64 / 1e9;
    let ct = w.pipeline.conntrack().stats().clone();
    let p = w.pipeline.stats().clone();
    // icmp_limit's global bucket: a burst, then MSGS_PER_SEC per second.
    let limit = MSGS_BURST as u64 + (MSGS_PER_SEC as f64 * virtual_s).ceil() as u64;
    let j = merge(
        legit_json(&l, &calm, &stormy, junk + quoting_real + ttl1),
        Json::obj([
            ("errors_quoting_nothing", u(junk)),
            ("errors_quoting_real", u(quoting_real)),
            ("ttl1_packets", u(ttl1)),
            ("ct_invalid_during_measure", u(ct.invalid - ct0.invalid)),
            (
                "rules_drops_during_measure",
                u(p.drops[DropReason::Rules] - p0.drops[DropReason::Rules]),
            ),
            ("delivered_to_host_during_measure", u(local)),
            ("related_forwarded_to_lan", u(related_out)),
            ("icmp_emitted", u(emitted)),
            ("icmp_generated", u(p.icmp_errors - p0.icmp_errors)),
            (
                "icmp_rate_limited",
                u(p.icmp_rate_limited - p0.icmp_rate_limited),
            ),
            ("icmp_limit_in_virtual_time", u(limit)),
            ("drops_during_measure", drops_since(&w, &p0)),
            ("virtual_seconds", Json::from(virtual_s)),
        ]),
    );
    print_flood(
        "icmp",
        &j,
        &[
            "errors_quoting_nothing",
            "ct_invalid_during_measure",
            "errors_quoting_real",
            "related_forwarded_to_lan",
            "ttl1_packets",
            "icmp_emitted",
            "icmp_rate_limited",
            "icmp_limit_in_virtual_time",
        ],
    );
    j
}

/// ARP requests from thousands of LAN addresses; packets to thousands of unresolved
/// next hops on a /16 connected to wan0.
pub fn arp(bench: &Bench, sc: &Scale) -> Json {
    let topo = topology_with("192.168.1.1/16", "\"203.0.113.1/24\", \"100.64.0.1/16\"");
    let ct = CtConfig {
        max: sc.ct_max,
        ..CtConfig::default()
    };
    let mut neighbors = NeighTable::new(NeighConfig {
        max_entries: sc.neigh_max,
        ..NeighConfig::default()
    });
    for (port, ip, e) in topo.neighbors.iter() {
        if let Some(mac) = e.mac {
            neighbors.add_static(port, ip, mac, 0);
        }
    }
    let mut p = Pipeline::new(gateway(), topo.fib.clone(), neighbors);
    p.set_conntrack_config(ct);
    p.seed(0x6e66_6470);
    let mut w = Worker::new(p, 0, WORKER_BURST, 2);
    let mut l = Legit::new(bench, 0, s1_flows(0, sc.s1_div));
    l.assure(&mut w);
    let rss0 = crate::rss_bytes();
    let calm = l.measure(&mut w, sc, &mut |_| {}, &mut |_| {}, &mut |_, _| {});
    let mut rng = Rng(0x5eed_0004);
    let (mut requests, mut unresolved) = (0u64, 0u64);
    let mut mix = |lane: &mut Lane| {
        for i in 0..4 {
            let sender = rng.addr(Ipv4Addr::new(192, 168, 0, 0), 16);
            let target = if i % 2 == 0 {
                GW_LAN
            } else {
                rng.addr(Ipv4Addr::new(192, 168, 0, 0), 16)
            };
            let mac = MacAddr([2, 0x66, 0, 0, (i * 16) as u8, rng.next() as u8]);
            let f = dataplane::pipeline::arp::request(mac, sender, target, None);
            requests += inject(&mut lane.lan, 1, |room| {
                let d = f.data();
                room[..d.len()].copy_from_slice(d);
                d.len()
            }) as u64;
        }
        for _ in 0..4 {
            let payload = udp_payload(rng.port(), 53, &[0; 18]);
            // A host of 100.64/16 other than the gateway's .0.1 (nor the network or the
            // broadcast address, which are not resolved).
            let dst = Ipv4Addr::from(0x6440_0002 + rng.next() % 65_532);
            unresolved += inject(&mut lane.lan, 1, |room| {
                ip_frame(
                    room, LAN_MAC, HOST_MAC, HOST, dst, 17, 64, 0, 0x4000, &payload,
                )
            }) as u64;
        }
    };
    let (mut entries_high, mut queued_high, mut longest_queue) = (0usize, 0usize, 0usize);
    let mut watch = |w: &mut Worker| {
        let n = w.pipeline.neighbors();
        entries_high = entries_high.max(n.len());
        let mut total = 0;
        for (_, _, e) in n.iter() {
            total += e.queued();
            longest_queue = longest_queue.max(e.queued());
        }
        queued_high = queued_high.max(total);
    };
    let mut requests_out = 0u64;
    let mut seen = |wan: bool, f: &[u8]| {
        if wan && f.len() >= 22 && f[12..14] == [8, 6] && f[21] == 1 {
            requests_out += 1;
        }
    };
    let a0 = *w.pipeline.arp_stats();
    let n0 = w.pipeline.neighbors().stats();
    let p0 = w.pipeline.stats().clone();
    let stormy = l.measure(&mut w, sc, &mut mix, &mut watch, &mut seen);
    let a = *w.pipeline.arp_stats();
    let n = w.pipeline.neighbors().stats();
    let p = w.pipeline.stats().clone();
    let cfg = *w.pipeline.neighbors().config();
    let j = merge(
        legit_json(&l, &calm, &stormy, requests + unresolved),
        Json::obj([
            ("arp_requests_in", u(requests)),
            ("packets_to_unresolved_hops", u(unresolved)),
            ("neigh_max_entries", u(cfg.max_entries as u64)),
            ("neigh_queue_len", u(cfg.queue_len as u64)),
            ("neigh_entries_high_water", u(entries_high as u64)),
            ("neigh_queued_high_water", u(queued_high as u64)),
            ("neigh_longest_queue", u(longest_queue as u64)),
            (
                "arp_requests_answered",
                u(a.requests_answered - a0.requests_answered),
            ),
            ("arp_requests_sent", u(a.requests_sent - a0.requests_sent)),
            ("arp_requests_seen_on_wan", u(requests_out)),
            (
                "neigh_table_full_drops",
                u(n.table_full_drops - n0.table_full_drops),
            ),
            (
                "neigh_queue_overflow_drops",
                u(n.queue_overflow_drops - n0.queue_overflow_drops),
            ),
            (
                "no_neighbor_drops",
                u(p.drops[DropReason::NoNeighbor] - p0.drops[DropReason::NoNeighbor]),
            ),
            ("drops_during_measure", drops_since(&w, &p0)),
            ("rss_mb_before", mb(rss0)),
            ("rss_mb_after", mb(crate::rss_bytes())),
        ]),
    );
    print_flood(
        "arp",
        &j,
        &[
            "neigh_max_entries",
            "neigh_entries_high_water",
            "neigh_queued_high_water",
            "neigh_longest_queue",
            "arp_requests_sent",
            "neigh_table_full_drops",
            "no_neighbor_drops",
        ],
    );
    j
}

/// Two workers; worker 0 receives replies to worker 1's connections faster than worker 1
/// drains its inbox.
pub fn handoff(bench: &Bench, sc: &Scale) -> Json {
    assert!(bench.queues >= 2, "the handoff flood needs 2 queues");
    let rules = gateway();
    let ct = CtConfig {
        max: sc.ct_max,
        ..CtConfig::default()
    };
    let h = Arc::new(Handoff::new(
        2,
        INBOX,
        Arc::new(OwnerDirectory::new((sc.ct_max as usize * 4).min(1 << 26))),
        Arc::new(OwnerDirectory6::new((sc.ct_max as usize * 4).min(1 << 24))),
    ));
    let mut ws: Vec<Worker> = (0..2u16)
        .map(|q| {
            let mut p = bench.pipeline(rules.clone(), ct.clone());
            p.seed(0x6e66_6470 ^ u64::from(q));
            Worker::multicore(p, q, BURST, 2, q, h.clone())
        })
        .collect();
    let div = 2 * sc.s1_div;
    let mut ls: Vec<Legit> = (0..2u16)
        .map(|q| Legit::new(bench, q, s1_flows(q, div)))
        .collect();
    for (l, w) in ls.iter_mut().zip(ws.iter_mut()) {
        l.assure(w);
    }
    // Worker 1's connections as the server side sees them.
    let theirs: Vec<Tuple> = ls[1]
        .connections(&ws[1])
        .into_iter()
        .flatten()
        .map(|(_, reply)| reply)
        .collect();
    assert!(!theirs.is_empty(), "worker 1 has ASSURED connections");
    let run = |ls: &mut [Legit],
               ws: &mut [Worker],
               flood: bool,
               sent: &mut u64,
               inbox_high: &mut usize,
               unread: &mut u64|
     -> [Measure; 2] {
        let mut m = [Measure::default(); 2];
        let mut k = 0usize;
        for l in ls.iter_mut() {
            l.gen.reset_counts();
            l.rxc.reset();
        }
        let start = Instant::now();
        let mut rounds = 0;
        while rounds < sc.rounds || start.elapsed().as_secs_f64() < sc.secs {
            for _ in 0..64 {
                for pass in 0..=HANDOFF_SKEW {
                    let i = usize::from(pass == HANDOFF_SKEW);
                    let (l, w) = (&mut ls[i], &mut ws[i]);
                    l.gen.send(&mut l.lane.lan, BURST, 0);
                    if flood && i == 0 {
                        *sent += inject(&mut l.lane.wan, BURST, |room| {
                            let t = theirs[k % theirs.len()];
                            k += 1;
                            let payload = udp_payload(t.sport, t.dport, &[0; 18]);
                            ip_frame(
                                room, WAN_MAC, UPLINK_MAC, t.src, t.dst, 17, 60, 0, 0, &payload,
                            )
                        }) as u64;
                    }
                    let t = Instant::now();
                    l.lane.forward(&mut Stage::Worker(w));
                    m[i].stage_ns += t.elapsed().as_nanos() as u64;
                    *inbox_high = (*inbox_high).max(h.pending(1));
                    *unread += drain(&mut l.lane, &mut l.rxc, &mut |_, _| {});
                }
            }
            rounds += 1;
        }
        // Both drained: worker 1 until its inbox is empty.
        for _ in 0..(INBOX / BURST + 8) {
            for (l, w) in ls.iter_mut().zip(ws.iter_mut()) {
                l.lane.forward(&mut Stage::Worker(w));
                drain(&mut l.lane, &mut l.rxc, &mut |_, _| {});
            }
        }
        for (i, l) in ls.iter().enumerate() {
            let r = l.rxc.report(&l.gen.sent_per_flow());
            m[i].sent = r.sent;
            m[i].received = r.received;
            m[i].lost = r.lost;
        }
        m
    };
    let (mut sent, mut high, mut unread) = (0u64, 0usize, 0u64);
    let calm = run(&mut ls, &mut ws, false, &mut sent, &mut high, &mut unread);
    let s0 = [h.stats(0), h.stats(1)];
    let high_calm = high;
    high = 0;
    let stormy = run(&mut ls, &mut ws, true, &mut sent, &mut high, &mut unread);
    let s = [h.stats(0), h.stats(1)];
    let kept = |i: usize| ratio(established(&stormy[i]), established(&calm[i]));
    let j = Json::obj([
        ("workers", u(2)),
        ("unprocessed", u(unread)),
        ("inbox", u(INBOX as u64)),
        ("worker0_passes_per_worker1_pass", u(HANDOFF_SKEW as u64)),
        ("kept", Json::from(kept(0).min(kept(1)))),
        ("kept_worker0", Json::from(kept(0))),
        ("kept_worker1", Json::from(kept(1))),
        ("mpps_alone", Json::from(established(&calm[0]))),
        ("mpps_under_flood", Json::from(established(&stormy[0]))),
        ("mpps_alone_worker1", Json::from(established(&calm[1]))),
        (
            "mpps_under_flood_worker1",
            Json::from(established(&stormy[1])),
        ),
        ("lost_alone", u(calm[0].lost + calm[1].lost)),
        ("lost_under_flood", u(stormy[0].lost + stormy[1].lost)),
        (
            "received_under_flood",
            u(stormy[0].received + stormy[1].received),
        ),
        ("flood_packets_during_measure", u(sent)),
        ("inbox_high_water_alone", u(high_calm as u64)),
        ("inbox_high_water", u(high as u64)),
        ("inbox_pending_after", u(h.pending(1) as u64)),
        ("handed_to_worker1", u(s[0].sent - s0[0].sent)),
        ("received_by_worker1", u(s[1].received - s0[1].received)),
        ("handoff_drops", u(s[0].drops - s0[0].drops)),
    ]);
    print_flood(
        "handoff",
        &j,
        &[
            "kept_worker0",
            "kept_worker1",
            "inbox",
            "inbox_high_water",
            "handed_to_worker1",
            "handoff_drops",
            "inbox_pending_after",
        ],
    );
    j
}

/// Holds every mbuf `q`'s port pool can give (as received packets); returns them.
fn hold_all(q: &mut DpdkQueue) -> Vec<PacketBuf> {
    let mut held = Vec::new();
    // 64 at a time while the pool has them (a bulk allocation is all or nothing), then
    // one at a time.
    let mut bulk = 64;
    loop {
        let n = inject(q, bulk, |room| {
            room[..60].fill(0);
            60
        });
        while q.rx_burst(q.queue_id(), &mut held, 64) > 0 {}
        if n == 0 {
            if bulk == 1 {
                return held;
            }
            bulk = 1;
        }
    }
}

/// Both ports' mbuf pools exhausted, then given back.
pub fn mbuf(bench: &Bench, sc: &Scale) -> Json {
    let mut w = worker_for(bench, gateway(), sc);
    // The TTL-1 frames would start connections in a full burst beside S1's, and the
    // overload admission would refuse them before they could be answered: this flood is
    // about the pools.
    w.set_new_per_burst(None);
    let mut l = Legit::new(bench, 0, s1_flows(0, sc.s1_div));
    l.assure(&mut w);
    let calm = l.measure(&mut w, sc, &mut |_| {}, &mut |_| {}, &mut |_, _| {});
    // S1 frames (they keep their own mbufs) and TTL-1 frames of the LAN host, whose
    // time exceeded errors need fresh mbufs, taken out of the ring before the pools run
    // dry and put back after.
    l.gen.reset_counts();
    l.rxc.reset();
    let queued = l.gen.send(&mut l.lane.lan, BURST, 0) as u64;
    let payload = udp_payload(5353, 53, &[0; 18]);
    let ttl1 = inject(&mut l.lane.lan, BURST, |room| {
        ip_frame(room, LAN_MAC, HOST_MAC, HOST, SERVER, 17, 1, 0, 0, &payload)
    }) as u64;
    let mut pre = Vec::new();
    while l.lane.lan.rx_burst(0, &mut pre, 64) > 0 {}
    let mut held = hold_all(&mut l.lane.lan);
    let held_lan = held.len() as u64;
    held.extend(hold_all(&mut l.lane.wan));
    let held_total = held.len() as u64;
    while !pre.is_empty() && l.lane.lan.tx_burst(0, &mut pre) > 0 {}
    let p0 = w.pipeline.stats().clone();
    let tx0 = l.lane.lan.stats().tx_dropped + l.lane.wan.stats().tx_dropped;
    // Offered while exhausted: refused at the port.
    let mut offered = 0u64;
    let mut refused = 0u64;
    let mut forwarded = 0u64;
    let mut unread = 0u64;
    let mut icmp_out = 0u64;
    for _ in 0..(sc.rounds * 64) {
        let sent = l.gen.send(&mut l.lane.lan, BURST, 0) as u64;
        offered += BURST as u64;
        refused += BURST as u64 - sent;
        l.lane.forward(&mut Stage::Worker(&mut w));
        unread += drain(&mut l.lane, &mut l.rxc, &mut |wan, f| {
            if wan {
                forwarded += 1;
            } else if f.len() > 34 && f[23] == 1 && f[34] == 11 {
                icmp_out += 1;
            }
        });
        // What the generator's receive freed goes back to the held.
        held.extend(hold_all(&mut l.lane.lan));
        held.extend(hold_all(&mut l.lane.wan));
    }
    let p = w.pipeline.stats().clone();
    let tx_dropped = l.lane.lan.stats().tx_dropped + l.lane.wan.stats().tx_dropped - tx0;
    let icmp_generated = p.icmp_errors - p0.icmp_errors;
    drop(held);
    let after = l.measure(&mut w, sc, &mut |_| {}, &mut |_| {}, &mut |_, _| {});
    // No mbuf leaked: as many can be held again.
    let again = hold_all(&mut l.lane.lan).len() as u64;
    let j = Json::obj([
        ("unprocessed", u(unread)),
        ("mbufs_held_lan0", u(held_lan)),
        ("mbufs_held_total", u(held_total)),
        ("mbufs_held_lan0_again_after", u(again)),
        ("s1_queued_before_exhaustion", u(queued)),
        ("s1_forwarded_while_exhausted", u(forwarded)),
        ("ttl1_queued_before_exhaustion", u(ttl1)),
        ("offered_while_exhausted", u(offered)),
        ("refused_at_port_while_exhausted", u(refused)),
        ("icmp_generated_while_exhausted", u(icmp_generated)),
        (
            "icmp_rate_limited_while_exhausted",
            u(p.icmp_rate_limited - p0.icmp_rate_limited),
        ),
        ("icmp_sent_while_exhausted", u(icmp_out)),
        ("tx_dropped_while_exhausted", u(tx_dropped)),
        ("drops_while_exhausted", drops_since(&w, &p0)),
        ("mpps_alone", Json::from(established(&calm))),
        ("mpps_after", Json::from(established(&after))),
        (
            "kept",
            Json::from(ratio(established(&after), established(&calm))),
        ),
        ("lost_alone", u(calm.lost)),
        ("lost_after", u(after.lost)),
        ("received_after", u(after.received)),
    ]);
    print_flood(
        "mbuf",
        &j,
        &[
            "mbufs_held_total",
            "mbufs_held_lan0_again_after",
            "refused_at_port_while_exhausted",
            "s1_forwarded_while_exhausted",
            "icmp_generated_while_exhausted",
            "icmp_sent_while_exhausted",
            "tx_dropped_while_exhausted",
            "lost_after",
        ],
    );
    j
}

/// Every flood, in one JSON object (the suite's `S7`).
pub fn s7(bench: &Bench, sc: &Scale) -> Json {
    println!(
        "\nS7 floods mixed into S1 ({} flows, conntrack max {}): S1's rate under each flood against alone, per worker",
        10_000 / u32::from(sc.s1_div),
        sc.ct_max
    );
    let mut j = Json::obj([("ct_max", u(u64::from(sc.ct_max)))]);
    j.set("udp", udp(bench, sc));
    j.set("frag", frag(bench, sc));
    j.set("icmp", icmp(bench, sc));
    j.set("arp", arp(bench, sc));
    if bench.queues >= 2 {
        j.set("handoff", handoff(bench, sc));
    }
    j.set("mbuf", mbuf(bench, sc));
    j
}
