//! The benchmark suite (`nfdp-bench suite [--quick] [--json FILE]`): S1 established flows,
//! S2 new connections, S3 rule scaling, S4 conntrack scale, S5 rule swaps under load, S6
//! S1 under a SYN flood (synflood.rs), S7 S1 under other floods (floods.rs), S8 TCP
//! connections through the gateway (tcp.rs), and S1v6 and S2v6, S1 and S2 over IPv6
//! through ip6tables' FORWARD (no NAT66). Each
//! forwarding figure comes with its ceilings measured in the same run on the same ports
//! and packets (io forwarding and testpmd's 5-tuple swap) and as a fraction of them. The
//! JSON schema is in perf/README.md.

pub mod floods;
pub mod harness;
mod occupancy;
pub mod synflood;
pub mod tcp;

use crate::json::Json;
use crate::pktgen::fields::{AddrRange, AddrRange6, FlowSpec, FlowSpec6, Order, PortRange};
use crate::pktgen::packet::MIN_SIZE6;
use crate::pktgen::rx::RxCounter;
use crate::pktgen::Generator;
use dataplane::conntrack::{Conntrack, CtConfig};
use dataplane::handoff::{Handoff, OwnerDirectory, OwnerDirectory6};
use dataplane::pipeline::CompiledRuleset;
use dataplane::port::dpdk::Eal;
use dataplane::worker::Worker;
use harness::{compile, compile46, generator, generator6, Bench, Lane, Measure, Stage, BURST};
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub struct SuiteOptions {
    pub quick: bool,
    pub json: Option<std::path::PathBuf>,
    /// Worker counts for S1 and S2.
    pub workers: Vec<u16>,
    /// The scenarios to run (`S1`..`S8`, `S1v6`, `S2v6`); empty: all of them.
    pub only: Vec<String>,
    /// S2 without its port-pool occupancy runs.
    pub no_occupancy: bool,
}

impl SuiteOptions {
    fn runs(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s.eq_ignore_ascii_case(scenario))
    }
}

/// The 20-rule gateway ruleset: MASQUERADE on the uplink, FORWARD policy DROP with
/// ESTABLISHED,RELATED accepted first, 17 rules for other traffic, LAN to WAN accepted.
pub fn gateway_rules(extra_forward: &str) -> String {
    let nets = ["10.66.0.0/16", "172.31.255.0/24", "198.18.0.0/15"];
    format!(
        "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n{}",
        gateway_forward(nets, extra_forward)
    )
}

/// `gateway_rules`' FORWARD chain for ip6tables (18 rules: the same ctstate, port,
/// prefix and LAN -> WAN rules; no NAT66, which nfdp does not have).
pub fn gateway_rules6() -> String {
    // Documentation, ULA and RFC 5180's benchmarking prefixes, as S1's v4 ones.
    gateway_forward(["2001:db8:66::/48", "fd00:31::/32", "2001:2::/48"], "")
}

/// The gateway's filter table, either family: these source prefixes dropped, then
/// `extra_forward`, then LAN -> WAN accepted.
fn gateway_forward(drop_sources: [&str; 3], extra_forward: &str) -> String {
    let mut r = String::from(
        "*filter\n:FORWARD DROP [0:0]\n\
         -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n\
         -A FORWARD -m conntrack --ctstate INVALID -j DROP\n",
    );
    for (i, port) in [
        23, 25, 135, 137, 138, 139, 445, 1433, 3389, 5900, 6379, 11211,
    ]
    .iter()
    .enumerate()
    {
        let proto = if i % 2 == 0 { "tcp" } else { "udp" };
        r.push_str(&format!(
            "-A FORWARD -i wan0 -p {proto} --dport {port} -j DROP\n"
        ));
    }
    for net in drop_sources {
        r.push_str(&format!("-A FORWARD -s {net} -j DROP\n"));
    }
    r.push_str(extra_forward);
    r.push_str("-A FORWARD -i lan0 -o wan0 -j ACCEPT\nCOMMIT\n");
    r
}

/// S1v6's flows: S1's over IPv6, 10k flows of the LAN host 2001:db8:1::10 to one
/// server on wan0's /64.
fn s1v6_flows() -> FlowSpec6 {
    FlowSpec6 {
        src: AddrRange6::single(harness::HOST6.parse().expect("address")),
        dst: AddrRange6::single(harness::SERVER6.parse().expect("address")),
        sport: PortRange {
            first: 10_000,
            count: 10_000,
        },
        dport: PortRange::single(53),
        flows: 10_000,
        order: Order::Sequential,
    }
}

/// S2v6's flows: every packet a new connection, 65536 LAN hosts of 2001:db8:1::/64 x 32
/// ports to the one server (no NAT: no port pool to exhaust).
fn s2v6_flows(flows: u32) -> FlowSpec6 {
    FlowSpec6 {
        src: AddrRange6 {
            first: "2001:db8:1::1:0".parse().expect("address"),
            count: 65_536,
            step: 1,
        },
        sport: PortRange {
            first: 20_000,
            count: 32,
        },
        dst: AddrRange6::single(harness::SERVER6.parse().expect("address")),
        dport: PortRange::single(53),
        flows,
        order: Order::Sequential,
    }
}

/// S1's flows: 10k flows of the LAN host, one DNS server.
fn s1_flows(lane: u16, lanes: u16) -> FlowSpec {
    let per = 10_000 / u32::from(lanes);
    FlowSpec {
        src: AddrRange::single(Ipv4Addr::new(192, 168, 1, 10)),
        dst: AddrRange::single(Ipv4Addr::new(198, 51, 100, 1)),
        sport: PortRange {
            first: 10_000 + (per * u32::from(lane)) as u16,
            count: per,
        },
        dport: PortRange::single(53),
        flows: per,
        order: Order::Sequential,
    }
}

/// S2's flows: every packet a new connection (LAN sources x 32 ports x many servers, so
/// MASQUERADE never runs out of ports for one server).
fn s2_flows(lane: u16, flows: u32) -> FlowSpec {
    FlowSpec {
        src: AddrRange::strided(Ipv4Addr::new(192, 168, 1, 0), 256, 1),
        sport: PortRange {
            first: 20_000 + 32 * lane,
            count: 32,
        },
        dst: "198.51.0.0/16".parse().expect("range"),
        dport: PortRange::single(53),
        flows,
        order: Order::Sequential,
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// io and 5tswap ceilings on one lane with `gen`'s packets.
fn ceilings(lane: &mut Lane, flows: FlowSpec, secs: f64) -> (Measure, Measure) {
    ceilings_of(lane, generator(flows), secs)
}

fn ceilings_of(lane: &mut Lane, mut gen: Generator, secs: f64) -> (Measure, Measure) {
    let mut rxc = RxCounter::new(gen.flows());
    let io = lane.measure(&mut gen, &mut rxc, &mut Stage::Io, secs);
    let sw = lane.measure(&mut gen, &mut rxc, &mut Stage::Swap5, secs);
    (io, sw)
}

fn ceiling_json(j: &mut Json, io: &Measure, sw: &Measure, nfdp_mpps: f64) {
    j.set("ceiling_io_mpps", Json::from(io.stage_mpps()));
    j.set("ceiling_5tswap_mpps", Json::from(sw.stage_mpps()));
    j.set("ratio_io", Json::from(ratio(nfdp_mpps, io.stage_mpps())));
    j.set(
        "ratio_5tswap",
        Json::from(ratio(nfdp_mpps, sw.stage_mpps())),
    );
}

fn print_row(what: &str, m: &Measure, io: &Measure, sw: &Measure) {
    println!(
        "  {:<34} {:>9.3} {:>9.3} {:>8.1}% {:>8.1}% {:>10} {:>8}",
        what,
        m.stage_mpps(),
        m.wall_mpps(),
        100.0 * ratio(m.stage_mpps(), io.stage_mpps()),
        100.0 * ratio(m.stage_mpps(), sw.stage_mpps()),
        m.received,
        m.lost
    );
}

fn print_header(title: &str, io: &Measure, sw: &Measure) {
    println!("\n{title}");
    println!(
        "  ceilings on the same ports and packets: io {:.3} Mpps, 5tswap {:.3} Mpps (per core, generator excluded)",
        io.stage_mpps(),
        sw.stage_mpps()
    );
    println!(
        "  {:<34} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8}",
        "", "Mpps/wkr", "Mpps+gen", "of io", "of 5tswp", "packets", "lost"
    );
}

/// `workers` lanes, each a thread with its own generator and worker (multi-core NAT with
/// the handoff for more than one), running `secs` after `setup`. Returns the lanes' sums,
/// the mean per-worker stage rate, and conntrack inserts per second of stage time (the
/// IPv6 table's with `v6`).
#[allow(clippy::too_many_arguments)]
fn run_workers(
    bench: &Bench,
    workers: u16,
    rules: Arc<CompiledRuleset>,
    ct: CtConfig,
    gen: &(dyn Fn(u16) -> Generator + Sync),
    establish: bool,
    v6: bool,
    secs: f64,
) -> (Measure, f64, f64) {
    let handoff = (workers > 1).then(|| {
        Arc::new(Handoff::new(
            workers,
            4096,
            Arc::new(OwnerDirectory::new((ct.max as usize * 4).min(1 << 26))),
            Arc::new(OwnerDirectory6::new((ct.max as usize * 4).min(1 << 24))),
        ))
    });
    let results = Mutex::new(Vec::new());
    let barrier = std::sync::Barrier::new(usize::from(workers));
    std::thread::scope(|s| {
        for q in 0..workers {
            let mut lane = bench.lane(q);
            let mut p = bench.pipeline(rules.clone(), ct.clone());
            p.seed(0x6e66_6470 ^ u64::from(q));
            let mut worker = match &handoff {
                Some(h) => Worker::multicore(p, q, BURST, 2, q, h.clone()),
                None => Worker::new(p, q, BURST, 2),
            };
            let (results, barrier) = (&results, &barrier);
            s.spawn(move || {
                let _ = Eal::register_thread();
                let mut gen = gen(q);
                let mut rxc = RxCounter::new(gen.flows());
                if establish {
                    lane.establish(&mut gen, &mut worker);
                }
                barrier.wait();
                let inserted = |w: &Worker| match v6 {
                    false => w.pipeline.conntrack().stats().inserted,
                    true => w.pipeline.conntrack6().stats().inserted,
                };
                let inserted0 = inserted(&worker);
                let m = lane.measure(&mut gen, &mut rxc, &mut Stage::Worker(&mut worker), secs);
                let inserted = inserted(&worker) - inserted0;
                results.lock().unwrap().push((m, inserted));
                Eal::unregister_thread();
            });
        }
    });
    let results = results.into_inner().unwrap();
    let mut total = Measure::default();
    let mut per_worker = 0.0;
    let mut cps = 0.0;
    for (m, inserted) in &results {
        total.add(m);
        per_worker += m.stage_mpps() / results.len() as f64;
        cps += *inserted as f64 * 1e9 / m.stage_ns.max(1) as f64 / results.len() as f64;
    }
    (total, per_worker, cps)
}

fn s1(bench: &Bench, opts: &SuiteOptions, secs: f64) -> Json {
    let rules = Arc::new(compile(&gateway_rules("")).expect("gateway rules"));
    let mut lane = bench.lane(0);
    let (io, sw) = ceilings(&mut lane, s1_flows(0, 1), secs);
    drop(lane);
    print_header("S1 established flows: 64 B UDP, 10k flows, 20-rule gateway ruleset (ESTABLISHED first, MASQUERADE)", &io, &sw);
    let mut j = Json::obj([
        ("flows", Json::from(10_000u64)),
        ("rules", Json::from(20u64)),
    ]);
    let mut by_workers = Vec::new();
    for &w in &opts.workers {
        let (m, per, _) = run_workers(
            bench,
            w,
            rules.clone(),
            CtConfig::default(),
            &|q| generator(s1_flows(q, w)),
            true,
            false,
            secs,
        );
        let mut shown = m;
        shown.stage_ns = (m.received as f64 * 1e3 / per.max(1e-9)) as u64;
        print_row(&format!("nfdp, {w} worker(s)"), &shown, &io, &sw);
        if w == opts.workers[0] {
            j.set("mpps", Json::from(per));
            j.set("mpps_with_generator", Json::from(m.wall_mpps()));
            j.set("lost", Json::from(m.lost));
            ceiling_json(&mut j, &io, &sw, per);
        }
        by_workers.push((
            w.to_string(),
            Json::obj([
                ("mpps_per_worker", Json::from(per)),
                ("mpps_total_with_generators", Json::from(m.wall_mpps())),
                ("lost", Json::from(m.lost)),
            ]),
        ));
    }
    j.set("by_workers", Json::obj(by_workers));
    j
}

fn s2(bench: &Bench, opts: &SuiteOptions, secs: f64) -> Json {
    let flows = if opts.quick { 1 << 21 } else { 1 << 22 };
    let rules = Arc::new(compile(&gateway_rules("")).expect("gateway rules"));
    let ct = CtConfig {
        max: 1 << 23,
        udp_timeout: 1,
        ..CtConfig::default()
    };
    let mut lane = bench.lane(0);
    let (io, sw) = ceilings(&mut lane, s2_flows(0, flows), secs);
    drop(lane);
    print_header(
        &format!("S2 new connections: every packet a new UDP flow ({flows} flows cycled, unreplied timeout 1 s), 20-rule gateway"),
        &io,
        &sw,
    );
    let mut j = Json::obj([
        ("flows", Json::from(flows)),
        ("udp_timeout_s", Json::from(1u64)),
    ]);
    let mut by_workers = Vec::new();
    for &w in &opts.workers {
        let per_lane = flows / u32::from(w);
        let (m, per, cps) = run_workers(
            bench,
            w,
            rules.clone(),
            ct.clone(),
            &|q| generator(s2_flows(q, per_lane)),
            false,
            false,
            secs,
        );
        let mut shown = m;
        shown.stage_ns = (m.received as f64 * 1e3 / per.max(1e-9)) as u64;
        print_row(&format!("nfdp, {w} worker(s)"), &shown, &io, &sw);
        println!(
            "  {:<34} {:>9.3} M new connections/s per worker (conntrack inserts)",
            "",
            cps / 1e6
        );
        if w == opts.workers[0] {
            j.set("cps", Json::from(cps));
            j.set("mpps", Json::from(per));
            ceiling_json(&mut j, &io, &sw, per);
        }
        by_workers.push((
            w.to_string(),
            Json::obj([
                ("cps_per_worker", Json::from(cps)),
                ("mpps_per_worker", Json::from(per)),
                ("lost", Json::from(m.lost)),
            ]),
        ));
    }
    j.set("by_workers", Json::obj(by_workers));
    if !opts.no_occupancy {
        j.set("occupancy", occupancy::s2_occupancy(bench, secs));
    }
    j
}

/// S1 over IPv6: S1's 10k flows established, one worker (the IPv6 scenarios predate the
/// IPv6 handoff and are not measured on several yet), the io and 5tswap ceilings on the
/// same IPv6 packets.
fn s1v6(bench: &Bench, secs: f64) -> Json {
    let rules = Arc::new(compile46(&gateway_rules(""), &gateway_rules6()).expect("gateway rules"));
    let mut lane = bench.lane(0);
    let (io, sw) = ceilings_of(&mut lane, generator6(s1v6_flows()), secs);
    drop(lane);
    print_header("S1v6 established IPv6 flows: 84 B UDP, 10k flows, ip6tables gateway FORWARD (18 rules, ESTABLISHED first; no NAT66, S1 has MASQUERADE)", &io, &sw);
    let (m, per, cps) = run_workers(
        bench,
        1,
        rules,
        CtConfig::default(),
        &|_| generator6(s1v6_flows()),
        true,
        true,
        secs,
    );
    print_row("nfdp, 1 worker(s)", &m, &io, &sw);
    let mut j = Json::obj([
        ("flows", Json::from(10_000u64)),
        ("rules", Json::from(18u64)),
        ("frame_bytes", Json::from(u64::from(MIN_SIZE6))),
        ("mpps", Json::from(per)),
        ("mpps_with_generator", Json::from(m.wall_mpps())),
        ("lost", Json::from(m.lost)),
        // 0 when every flow was established before the measurement.
        ("new_connections_per_s", Json::from(cps)),
    ]);
    ceiling_json(&mut j, &io, &sw, per);
    j
}

/// S2 over IPv6: every packet a new connection through S1v6's ruleset, one worker;
/// `cps` is IPv6 conntrack inserts per second of worker time.
fn s2v6(bench: &Bench, opts: &SuiteOptions, secs: f64) -> Json {
    let flows = if opts.quick { 1 << 21 } else { 1 << 22 };
    let rules = Arc::new(compile46(&gateway_rules(""), &gateway_rules6()).expect("gateway rules"));
    let ct = CtConfig {
        max: 1 << 23,
        udp_timeout: 1,
        ..CtConfig::default()
    };
    let mut lane = bench.lane(0);
    let (io, sw) = ceilings_of(&mut lane, generator6(s2v6_flows(flows)), secs);
    drop(lane);
    print_header(
        &format!("S2v6 new IPv6 connections: every packet a new UDP flow ({flows} flows cycled, unreplied timeout 1 s), S1v6's ruleset (no NAT66)"),
        &io,
        &sw,
    );
    let (m, per, cps) = run_workers(
        bench,
        1,
        rules,
        ct,
        &|_| generator6(s2v6_flows(flows)),
        false,
        true,
        secs,
    );
    print_row("nfdp, 1 worker(s)", &m, &io, &sw);
    println!(
        "  {:<34} {:>9.3} M new connections/s per worker (conntrack6 inserts)",
        "",
        cps / 1e6
    );
    let mut j = Json::obj([
        ("flows", Json::from(flows)),
        ("udp_timeout_s", Json::from(1u64)),
        ("frame_bytes", Json::from(u64::from(MIN_SIZE6))),
        ("cps", Json::from(cps)),
        ("mpps", Json::from(per)),
        ("lost", Json::from(m.lost)),
    ]);
    ceiling_json(&mut j, &io, &sw, per);
    j
}

/// N FORWARD rules `-s 10.a.b.0/24 -d 198.51.100.0/24 -p udp -j ACCEPT`, policy DROP, no
/// conntrack: every packet is classified.
fn s3_rules(n: u32) -> String {
    let mut r = String::from("*filter\n:FORWARD DROP [0:0]\n");
    for i in 0..n {
        r.push_str(&format!(
            "-A FORWARD -s 10.{}.{}.0/24 -d 198.51.100.0/24 -p udp -j ACCEPT\n",
            i >> 8,
            i & 255
        ));
    }
    r.push_str("COMMIT\n");
    r
}

fn s3_flows(n: u32, spread: bool) -> FlowSpec {
    let last = Ipv4Addr::new(10, ((n - 1) >> 8) as u8, ((n - 1) & 255) as u8, 1);
    FlowSpec {
        src: if spread {
            AddrRange::strided(Ipv4Addr::new(10, 0, 0, 1), n, 256)
        } else {
            AddrRange::strided(last, 100, 1)
        },
        dst: AddrRange::single(Ipv4Addr::new(198, 51, 100, 1)),
        sport: PortRange::single(5000),
        dport: PortRange::single(53),
        flows: if spread { n } else { 100 },
        order: if spread {
            Order::Random { seed: 3 }
        } else {
            Order::Sequential
        },
    }
}

/// `NFDP_BENCH_S3_ROWS`, e.g. `10:last,50000:spread`: only these rows of S3 (rule count,
/// `last` or `spread`), so that `perf/instructions.sh` can count one row; unset: all.
fn s3_rows_from_env() -> Option<Vec<(u32, bool)>> {
    let v = std::env::var("NFDP_BENCH_S3_ROWS").ok()?;
    Some(
        v.split(',')
            .filter_map(|row| {
                let (n, kind) = row.trim().split_once(':')?;
                Some((n.parse().ok()?, kind == "spread"))
            })
            .collect(),
    )
}

fn s3(bench: &Bench, _opts: &SuiteOptions, secs: f64) -> Json {
    let counts = [10u32, 100, 1_000, 10_000, 50_000];
    let mut lane = bench.lane(0);
    let (io, sw) = ceilings(&mut lane, s3_flows(10, false), secs);
    print_header(
        "S3 rule scaling: FORWARD with N rules, no conntrack (every packet classified)",
        &io,
        &sw,
    );
    let mut last = Vec::new();
    let mut spread = Vec::new();
    let mut compile_ms = Vec::new();
    let rows = s3_rows_from_env();
    for &n in &counts {
        if rows
            .as_ref()
            .is_some_and(|r| !r.iter().any(|(rn, _)| *rn == n))
        {
            continue;
        }
        let t = Instant::now();
        let rules = Arc::new(compile(&s3_rules(n)).expect("S3 rules"));
        compile_ms.push((n.to_string(), Json::from(t.elapsed().as_secs_f64() * 1e3)));
        for (is_spread, out) in [(false, &mut last), (true, &mut spread)] {
            if rows.as_ref().is_some_and(|r| !r.contains(&(n, is_spread))) {
                continue;
            }
            let mut worker = Worker::new(
                bench.pipeline(rules.clone(), CtConfig::default()),
                0,
                BURST,
                2,
            );
            let mut gen = generator(s3_flows(n, is_spread));
            let mut rxc = RxCounter::new(gen.flows());
            let m = lane.measure(&mut gen, &mut rxc, &mut Stage::Worker(&mut worker), secs);
            let what = format!(
                "{n} rules, {}",
                if is_spread {
                    "spread over all"
                } else {
                    "hitting the last"
                }
            );
            print_row(&what, &m, &io, &sw);
            out.push((n.to_string(), Json::from(m.stage_mpps())));
        }
    }
    let base = match last.first() {
        Some((_, Json::Num(x))) => *x,
        _ => 0.0,
    };
    let mut j = Json::obj([
        ("mpps_by_rules", Json::obj(last.clone())),
        ("mpps_by_rules_spread", Json::obj(spread)),
        ("compile_ms_by_rules", Json::obj(compile_ms)),
    ]);
    if let Some((_, Json::Num(x))) = last.last() {
        j.set("ratio_50000_to_10", Json::from(ratio(*x, base)));
    }
    ceiling_json(&mut j, &io, &sw, base);
    j
}

/// The IPv4/UDP packet of connection `i` (for conntrack alone, no Ethernet).
#[inline]
fn ct_packet(buf: &mut [u8; 28], i: u32) {
    buf[0] = 0x45;
    buf[2..4].copy_from_slice(&28u16.to_be_bytes());
    buf[8] = 64;
    buf[9] = 17;
    buf[12..16].copy_from_slice(&(0x0a00_0000 + (i >> 16)).to_be_bytes());
    buf[16..20].copy_from_slice(&[203, 0, 113, 7]);
    buf[10..12].copy_from_slice(&[0, 0]);
    let c = !dataplane::wire::checksum::data(&buf[..20]);
    buf[10..12].copy_from_slice(&c.to_be_bytes());
    buf[20..22].copy_from_slice(&((i & 0xffff) as u16).to_be_bytes());
    buf[22..24].copy_from_slice(&53u16.to_be_bytes());
    buf[24..26].copy_from_slice(&8u16.to_be_bytes());
}

/// The tuple of `ct_packet(i)`'s connection.
#[inline]
fn ct_tuple(i: u32) -> dataplane::conntrack::Tuple {
    dataplane::conntrack::Tuple {
        src: Ipv4Addr::from(0x0a00_0000 + (i >> 16)),
        dst: Ipv4Addr::new(203, 0, 113, 7),
        proto: 17,
        sport: (i & 0xffff) as u16,
        dport: 53,
    }
}

fn s4(quick: bool) -> Json {
    let sizes: &[u32] = if quick {
        &[10_000, 1_000_000]
    } else {
        &[10_000, 1_000_000, 10_000_000]
    };
    println!("\nS4 conntrack scale: one shard, UDP connections; RSS growth per connection, random lookups");
    println!("  lookups/s: lookup_burst, 32 tuples a call; single: lookup one at a time; packet_in: tracking one packet at a time");
    println!(
        "  {:>10} {:>14} {:>14} {:>14} {:>14} {:>16}",
        "entries", "inserts/s", "lookups/s", "single/s", "packet_in/s", "bytes/conn(RSS)"
    );
    let mut bytes = Vec::new();
    let mut lookups = Vec::new();
    let mut singles = Vec::new();
    let mut tracks = Vec::new();
    let mut inserts = Vec::new();
    for &n in sizes {
        let before = crate::rss_bytes();
        let mut ct = Conntrack::new(CtConfig {
            max: u32::MAX,
            ..CtConfig::default()
        });
        let mut p = [0u8; 28];
        let t = Instant::now();
        for i in 0..n {
            ct_packet(&mut p, i);
            let mut info = ct.packet_in(&p, false, 1_000_000_000);
            ct.confirm(&mut info, 1_000_000_000);
        }
        let ins = f64::from(n) / t.elapsed().as_secs_f64();
        let per_conn = crate::rss_bytes().saturating_sub(before) as f64 / f64::from(n);
        // Random order: every lookup a cache miss on a large table, as real traffic is.
        ct_packet(&mut p, n / 2);
        assert_eq!(
            dataplane::conntrack::Tuple::from_ip(&p),
            Some(ct_tuple(n / 2))
        );
        let count = n.clamp(2_000_000, 5_000_000);
        let mut pick = crate::pktgen::fields::FlowPicker::new(n, Order::Random { seed: 9 });
        let mut tuples = [ct_tuple(0); BURST];
        let mut out = [None; BURST];
        let mut hits = 0u64;
        let t = Instant::now();
        for _ in 0..count / BURST as u32 {
            for x in tuples.iter_mut() {
                *x = ct_tuple(pick.next_flow());
            }
            ct.lookup_burst(black_box(&tuples), &mut out);
            hits += out.iter().filter(|o| o.is_some()).count() as u64;
        }
        let look = f64::from(count / BURST as u32 * BURST as u32) / t.elapsed().as_secs_f64();
        assert_eq!(hits, u64::from(count / BURST as u32 * BURST as u32));
        let mut pick = crate::pktgen::fields::FlowPicker::new(n, Order::Random { seed: 9 });
        let mut single_hits = 0u32;
        let t = Instant::now();
        for _ in 0..count {
            if black_box(ct.lookup(black_box(&ct_tuple(pick.next_flow())))).is_some() {
                single_hits += 1;
            }
        }
        let single = f64::from(count) / t.elapsed().as_secs_f64();
        assert_eq!(single_hits, count);
        let mut pick = crate::pktgen::fields::FlowPicker::new(n, Order::Random { seed: 9 });
        let t = Instant::now();
        let mut found = 0u64;
        for _ in 0..count {
            ct_packet(&mut p, pick.next_flow());
            if black_box(ct.packet_in(&p, false, 1_000_000_000))
                .pending
                .is_none()
            {
                found += 1;
            }
        }
        let track = f64::from(count) / t.elapsed().as_secs_f64();
        assert_eq!(ct.len(), n as usize);
        let _ = found;
        println!(
            "  {:>10} {:>14.0} {:>14.0} {:>14.0} {:>14.0} {:>16.0}",
            n, ins, look, single, track, per_conn
        );
        bytes.push((n.to_string(), Json::from(per_conn)));
        lookups.push((n.to_string(), Json::from(look)));
        singles.push((n.to_string(), Json::from(single)));
        tracks.push((n.to_string(), Json::from(track)));
        inserts.push((n.to_string(), Json::from(ins)));
    }
    let mut j = Json::obj([
        ("bytes_per_conn", Json::obj(bytes)),
        ("lookups_per_s", Json::obj(lookups)),
        ("single_lookups_per_s", Json::obj(singles)),
        ("packet_in_per_s", Json::obj(tracks)),
        ("inserts_per_s", Json::obj(inserts)),
        (
            "entry_size",
            Json::from(std::mem::size_of::<dataplane::conntrack::ConnEntry>()),
        ),
    ]);
    if quick {
        j.set("stopped_at", Json::from("1000000 (--quick skips 10M)"));
    }
    j
}

/// A ruleset of `n` FORWARD rules that S1's traffic does not match, variant `v` (so each
/// swap really changes the rules), in the gateway ruleset.
fn s5_rules(n: u32, v: u32) -> String {
    let mut extra = String::with_capacity(n as usize * 64);
    for i in 0..n {
        extra.push_str(&format!(
            "-A FORWARD -s 10.{}.{}.0/24 -p tcp --dport {} -j DROP\n",
            (i >> 8) & 255,
            i & 255,
            1000 + (i + v) % 1000
        ));
    }
    gateway_rules(&extra)
}

fn s5(bench: &Bench, opts: &SuiteOptions, s1_wall_mpps: f64) -> Json {
    let n = 100_000;
    let swaps = if opts.quick { 3 } else { 10 };
    let rate_pps = (s1_wall_mpps * 1e6 * 0.5).max(10_000.0);
    println!(
        "\nS5 rule swaps under load: S1's traffic open-loop at {:.3} Mpps (half S1's rate with the generator), a {n}-rule ruleset replaced {swaps} times",
        rate_pps / 1e6
    );
    let t = Instant::now();
    let first = Arc::new(compile(&s5_rules(n, 0)).expect("S5 rules"));
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut lane = bench.lane(0);
    let mut worker = Worker::new(bench.pipeline(first, CtConfig::default()), 0, BURST, 2);
    let mut gen = generator(s1_flows(0, 1));
    let mut rxc = RxCounter::new(gen.flows());
    lane.establish(&mut gen, &mut worker);

    // The control thread compiles the next ruleset while traffic runs and publishes it
    // through this slot; the worker installs it between bursts.
    let slot: Mutex<Option<(Arc<CompiledRuleset>, Instant)>> = Mutex::new(None);
    let done = std::sync::atomic::AtomicBool::new(false);
    // 0: traffic alone, 1: the control thread compiling, 2: published, not yet installed.
    let phase = std::sync::atomic::AtomicU8::new(0);
    let mut lost_by_phase = [0u64; 3];
    let mut compile_ms = Vec::new();
    let mut publish_ms = Vec::new();
    let mut install_ms = Vec::new();
    let (mut offered, mut refused) = (0u64, 0u64);
    gen.reset_counts();
    rxc.reset();
    std::thread::scope(|s| {
        let (slot, done, phase) = (&slot, &done, &phase);
        let control = s.spawn(move || {
            let mut times = Vec::new();
            for v in 1..=swaps {
                // Traffic alone first, then the swap.
                std::thread::sleep(std::time::Duration::from_millis(300));
                let t = Instant::now();
                phase.store(1, std::sync::atomic::Ordering::Release);
                let next = Arc::new(compile(&s5_rules(n, v)).expect("S5 rules"));
                times.push(t.elapsed().as_secs_f64() * 1e3);
                phase.store(2, std::sync::atomic::Ordering::Release);
                *slot.lock().unwrap() = Some((next, Instant::now()));
                while slot.lock().unwrap().is_some() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                phase.store(0, std::sync::atomic::Ordering::Release);
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
            done.store(true, std::sync::atomic::Ordering::Release);
            times
        });
        let start = Instant::now();
        while !done.load(std::sync::atomic::Ordering::Acquire) {
            // Open loop: everything due by now is offered; what lan0's ring cannot take is
            // lost, as a NIC's full rx ring drops.
            let now = start.elapsed().as_nanos() as u64;
            let due = (now as f64 * rate_pps / 1e9) as u64;
            while offered < due {
                let n = (due - offered).min(BURST as u64) as usize;
                let sent = gen.send(&mut lane.lan, n, now);
                offered += n as u64;
                let mut lost_now = (n - sent) as u64;
                if sent < n {
                    lost_now += due - offered;
                    offered = due;
                }
                refused += lost_now;
                lost_by_phase
                    [usize::from(phase.load(std::sync::atomic::Ordering::Acquire)).min(2)] +=
                    lost_now;
            }
            lane.forward(&mut Stage::Worker(&mut worker));
            lane.drain(&mut rxc, now);
            if let Ok(mut g) = slot.try_lock() {
                if let Some((rules, published)) = g.take() {
                    let t = Instant::now();
                    worker.pipeline.set_ruleset(rules);
                    install_ms.push(t.elapsed().as_secs_f64() * 1e3);
                    publish_ms.push(published.elapsed().as_secs_f64() * 1e3);
                    // What came due while the worker was busy installing, beyond what
                    // the ingress ring (1024 descriptors) holds, is lost.
                    drop(g);
                    let now = start.elapsed().as_nanos() as u64;
                    let due = (now as f64 * rate_pps / 1e9) as u64;
                    let stalled = due.saturating_sub(offered).saturating_sub(1024);
                    lost_by_phase[2] += stalled;
                    refused += stalled;
                    offered += stalled;
                }
            }
        }
        compile_ms = control.join().expect("control thread");
    });
    for _ in 0..8 {
        lane.forward(&mut Stage::Worker(&mut worker));
        lane.drain(&mut rxc, 0);
    }
    let r = rxc.report(&gen.sent_per_flow());
    let lost = r.lost + refused;
    let max = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!("  {:<28} {:>10} {:>10}", "", "mean ms", "max ms");
    println!(
        "  {:<28} {:>10.1} {:>10.1}",
        "compile (control thread)",
        mean(&compile_ms),
        max(&compile_ms)
    );
    println!(
        "  {:<28} {:>10.1} {:>10.1}",
        "publish (to installed)",
        mean(&publish_ms),
        max(&publish_ms)
    );
    println!(
        "  {:<28} {:>10.1} {:>10.1}",
        "install (worker, set_ruleset)",
        mean(&install_ms),
        max(&install_ms)
    );
    println!(
        "  offered {offered} packets, forwarded {}, lost {lost} ({} at the ingress ring, {} after)",
        r.received, refused, r.lost
    );
    println!(
        "  lost at the ingress with traffic alone {}, while the control thread compiled {}, at install {}",
        lost_by_phase[0], lost_by_phase[1], lost_by_phase[2]
    );
    Json::obj([
        ("rules", Json::from(n)),
        ("swaps", Json::from(swaps)),
        ("offered_pps", Json::from(rate_pps)),
        ("first_compile_ms", Json::from(first_ms)),
        ("compile_ms", Json::from(mean(&compile_ms))),
        ("swap_ms", Json::from(max(&publish_ms))),
        ("swap_ms_mean", Json::from(mean(&publish_ms))),
        ("install_ms", Json::from(max(&install_ms))),
        ("offered", Json::from(offered)),
        ("received", Json::from(r.received)),
        ("lost", Json::from(lost)),
        ("lost_traffic_alone", Json::from(lost_by_phase[0])),
        ("lost_while_compiling", Json::from(lost_by_phase[1])),
        ("lost_at_install", Json::from(lost_by_phase[2])),
    ])
}

pub fn run(opts: SuiteOptions) -> Result<Json, String> {
    let secs = if opts.quick { 0.5 } else { 2.0 };
    // S7's handoff flood needs 2 queues.
    let queues = opts
        .workers
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .max(if opts.runs("S7") { 2 } else { 1 });
    let bench = Bench::new(queues)?;
    let started = Instant::now();
    println!(
        "nfdp suite{}: generator and nfdp workers in one process over net_ring (DPDK, no NIC); {secs} s per measurement.",
        if opts.quick { " --quick" } else { "" }
    );
    println!(
        "Mpps/wkr: packets over the time spent in the forwarding stage (one worker, generator excluded); \
         Mpps+gen: with the generator on the same core."
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let caveat = format!(
        "{cores} CPU(s): with 2 workers each worker thread also runs its own generator, and both share the cores with the rest of the machine; the 2-worker figures are per worker, not a scaling measurement"
    );
    if opts.workers.len() > 1 {
        println!("Caveat: {caveat}.");
    }
    let mut out = Json::obj([
        ("quick", Json::from(opts.quick)),
        ("seconds_per_measurement", Json::from(secs)),
        ("cores", Json::from(cores)),
        (
            "workers",
            Json::Arr(
                opts.workers
                    .iter()
                    .map(|&w| Json::from(u32::from(w)))
                    .collect(),
            ),
        ),
        ("caveat", Json::from(caveat)),
    ]);
    // S4 first: its RSS growth is cleanest before the other scenarios free memory the
    // allocator would hand back to it.
    let s4j = opts.runs("S4").then(|| s4(opts.quick));
    let mut s1_wall = None;
    if opts.runs("S1") {
        let s1j = s1(&bench, &opts, secs);
        if let Some(Json::Num(x)) = s1j.get("mpps_with_generator") {
            s1_wall = Some(*x);
        }
        out.set("S1", s1j);
    }
    if opts.runs("S1v6") {
        out.set("S1v6", s1v6(&bench, secs));
    }
    if opts.runs("S2") {
        out.set("S2", s2(&bench, &opts, secs));
    }
    if opts.runs("S2v6") {
        out.set("S2v6", s2v6(&bench, &opts, secs));
    }
    if opts.runs("S3") {
        out.set("S3", s3(&bench, &opts, secs));
    }
    if let Some(s4j) = s4j {
        out.set("S4", s4j);
    }
    if opts.runs("S5") {
        // S5's load is a share of S1's wall-clock rate; without S1 in this run, S1 is
        // measured first.
        let wall = match s1_wall {
            Some(w) => w,
            None => match s1(&bench, &opts, secs).get("mpps_with_generator") {
                Some(Json::Num(x)) => *x,
                _ => 0.0,
            },
        };
        out.set("S5", s5(&bench, &opts, wall));
    }
    if opts.runs("S6") {
        out.set("S6", synflood::s6(&bench, secs));
    }
    if opts.runs("S7") {
        out.set("S7", floods::s7(&bench, &floods::Scale::suite(secs)));
    }
    if opts.runs("S8") {
        out.set("S8", tcp::s8(&bench, secs));
    }
    out.set("elapsed_s", Json::from(started.elapsed().as_secs_f64()));
    println!("\nsuite done in {:.0} s", started.elapsed().as_secs_f64());
    if let Some(path) = &opts.json {
        std::fs::write(path, out.pretty()).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("JSON: {}", path.display());
    }
    Ok(out)
}
