//! `nfdp-bench`: in-process benchmarks (no DPDK unless built with `--features dpdk`). Every figure is the median of
//! `--repeats` runs, measured side by side in one process, and printed with what it
//! measured. Run in release: `cargo run --release -p perf -- conntrack` / `-- rules`.

#[cfg(feature = "dpdk")]
mod dpdk;

use clap::{Parser, Subcommand};
use control::iptables::{restore, RestoreOptions};
use dataplane::conntrack::{Conntrack, CtConfig};
use dataplane::pipeline::{CompiledRuleset, Emit, Pipeline};
use dataplane::port::{PacketBuf, PacketPool, PortId};
use dataplane::ruleset::Ruleset;
use dataplane::wire::checksum;
use perf::{median, rss_bytes};
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "nfdp-bench")]
struct Cli {
    #[command(subcommand)]
    what: What,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 5, global = true)]
    repeats: usize,
}

#[derive(Subcommand)]
enum What {
    /// Conntrack shard: insert rate, lookup rate and memory per connection.
    Conntrack {
        /// Table sizes to measure.
        #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
        entries: Vec<usize>,
    },
    /// Pipeline cost per forwarded packet as the FORWARD chain grows.
    Rules {
        #[arg(long, value_delimiter = ',', default_value = "0,10,100,1000")]
        rules: Vec<usize>,
        #[arg(long, default_value_t = 200_000)]
        packets: usize,
        /// Scan every rule (no classifier), for comparison.
        #[arg(long)]
        linear: bool,
        /// FORWARD policy DROP, the N rules, then ESTABLISHED accepted by conntrack: the
        /// flow is established by one reply before the measurement.
        #[arg(long)]
        stateful: bool,
    },
    /// Pipeline cost per forwarded packet with one `-m set` rule in FORWARD (a set the
    /// packet is not in) against the same ruleset without it, measured alternately.
    Sets {
        /// Elements in each set (hash:ip: addresses; hash:net: networks over three prefix
        /// lengths).
        #[arg(long, default_value_t = 100_000)]
        elements: usize,
        #[arg(long, default_value_t = 200_000)]
        packets: usize,
        /// A gateway's FORWARD chain: policy DROP, the set rule first, then ESTABLISHED
        /// accepted by conntrack (the flow established by one reply before measuring).
        #[arg(long)]
        stateful: bool,
    },
    /// DPDK io forwarding (testpmd's io mode, mbufs untouched) between two virtual ports on
    /// this core: the framework ceiling.
    #[cfg(feature = "dpdk")]
    DpdkIo {
        /// net_null (rx makes 64-byte packets, tx frees) or net_ring (loopback rings).
        #[arg(long, default_value = "net_null")]
        driver: String,
        /// Seconds per run.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        #[arg(long, default_value_t = 32)]
        burst: usize,
    },
    /// DPDK on net_ring: io forwarding and DpdkQueue + Pipeline on an established flow,
    /// side by side on the same ports.
    /// The benchmark suite S1..S8 (see perf/README.md): tables on stdout, JSON with --json.
    #[cfg(feature = "dpdk")]
    Suite {
        /// Short measurements, conntrack scale up to 1M: under 10 minutes on 2 cores.
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        json: Option<std::path::PathBuf>,
        /// Worker counts for S1 and S2 (the first is the headline figure).
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        workers: Vec<u16>,
        /// Only these scenarios (S1..S8, S1v6, S2v6), e.g. `--only S1,S1v6`.
        #[arg(long, value_delimiter = ',', value_parser = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S1v6", "S2v6"])]
        only: Vec<String>,
        /// S2 without its port-pool occupancy runs (what perf/instructions.sh counts).
        #[arg(long)]
        no_occupancy: bool,
    },
    #[cfg(feature = "dpdk")]
    DpdkPipeline {
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        #[arg(long, default_value_t = 32)]
        burst: usize,
    },
}

fn udp_packet(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> Vec<u8> {
    let mut p = vec![0u8; 28];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&28u16.to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    let c = !checksum::data(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..22].copy_from_slice(&sport.to_be_bytes());
    p[22..24].copy_from_slice(&dport.to_be_bytes());
    p[24..26].copy_from_slice(&8u16.to_be_bytes());
    p // UDP checksum 0: not verified
}

fn flow(i: usize) -> Vec<u8> {
    let src = Ipv4Addr::from(0x0a00_0000 + (i as u32 >> 16));
    udp_packet(src, Ipv4Addr::new(203, 0, 113, 7), (i & 0xffff) as u16, 53)
}

fn conntrack(sizes: &[usize], repeats: usize) {
    println!("conntrack shard (one worker), UDP flows, medians of {repeats} runs");
    println!(
        "{:>10} {:>14} {:>14} {:>16} {:>12}",
        "entries", "inserts/s", "lookups/s", "bytes/conn(RSS)", "entry size"
    );
    for &n in sizes {
        let packets: Vec<Vec<u8>> = (0..n).map(flow).collect();
        let cfg = CtConfig {
            max: u32::MAX,
            ..CtConfig::default()
        };
        let mut ins = Vec::new();
        let mut look = Vec::new();
        let mut mem = Vec::new();
        for _ in 0..repeats {
            let before = rss_bytes();
            let mut ct = Conntrack::new(cfg.clone());
            let t = Instant::now();
            for p in &packets {
                let mut i = ct.packet_in(p, false, 1_000_000_000);
                ct.confirm(&mut i, 1_000_000_000);
            }
            ins.push(n as f64 / t.elapsed().as_secs_f64());
            mem.push((rss_bytes().saturating_sub(before)) as f64 / n as f64);
            let t = Instant::now();
            for p in &packets {
                black_box(ct.packet_in(p, false, 1_000_000_000));
            }
            look.push(n as f64 / t.elapsed().as_secs_f64());
            assert_eq!(ct.len(), n);
        }
        println!(
            "{:>10} {:>14.0} {:>14.0} {:>16.0} {:>12}",
            n,
            median(&ins),
            median(&look),
            median(&mem),
            std::mem::size_of::<dataplane::conntrack::ConnEntry>()
        );
    }
}

/// The benchmarks' gateway: lan0 192.168.1.1/24, wan0 203.0.113.1/24, a default route,
/// and static neighbours for the gateway and the LAN host.
fn bench_topology() -> control::config::Topology {
    control::config::Config::parse(
        "[[port]]\nname = \"lan0\"\ndriver = \"mem\"\nmac = \"02:00:00:00:01:01\"\naddresses = [\"192.168.1.1/24\"]\n\
         [[port]]\nname = \"wan0\"\ndriver = \"mem\"\nmac = \"02:00:00:00:02:01\"\naddresses = [\"203.0.113.1/24\"]\n\
         [[route]]\ndst = \"0.0.0.0/0\"\nvia = \"203.0.113.254\"\n\
         [[neighbor]]\nip = \"203.0.113.254\"\nmac = \"02:00:00:00:02:fe\"\n\
         [[neighbor]]\nip = \"192.168.1.10\"\nmac = \"02:00:00:00:01:10\"\n",
        std::path::Path::new("bench.toml"),
    )
    .expect("config")
    .build()
    .expect("topology")
}

fn rules(counts: &[usize], packets: usize, repeats: usize, linear: bool, stateful: bool) {
    let topo = bench_topology();
    let mut reply = vec![2, 0, 0, 0, 2, 1, 2, 0, 0, 0, 2, 0xfe, 8, 0];
    reply.extend_from_slice(&udp_packet(
        Ipv4Addr::new(93, 184, 216, 34),
        Ipv4Addr::new(192, 168, 1, 10),
        53,
        40000,
    ));
    let mut frame = vec![2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 0x10, 8, 0];
    frame.extend_from_slice(&udp_packet(
        Ipv4Addr::new(192, 168, 1, 10),
        Ipv4Addr::new(93, 184, 216, 34),
        40000,
        53,
    ));
    println!(
        "pipeline ({}), one forwarded UDP flow, FORWARD chain of N non-matching rules then {}",
        if linear {
            "every rule scanned"
        } else {
            "classifier"
        },
        if stateful {
            "ctstate ESTABLISHED ACCEPT"
        } else {
            "ACCEPT"
        }
    );
    println!("{:>8} {:>14} {:>12}", "rules", "packets/s", "ns/packet");
    for &n in counts {
        let mut text = String::from(if stateful {
            "*filter\n:FORWARD DROP [0:0]\n"
        } else {
            "*filter\n"
        });
        for i in 0..n {
            text.push_str(&format!(
                "-A FORWARD -s 10.{}.{}.0/24 -p tcp --dport {} -j DROP\n",
                (i >> 8) & 255,
                i & 255,
                1000 + i % 1000
            ));
        }
        text.push_str(if stateful {
            "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n\
             -A FORWARD -i lan0 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n"
        } else {
            "-A FORWARD -j ACCEPT\nCOMMIT\n"
        });
        let mut rs = Ruleset::default();
        restore(&text, &mut rs, RestoreOptions::default()).expect("rules");
        let names: Vec<String> = topo.ports().iter().map(|p| p.name.clone()).collect();
        let compiled = Arc::new(if linear {
            CompiledRuleset::compile(&rs, 1).without_index()
        } else {
            CompiledRuleset::compile_for_ports(&rs, 1, &names)
        });
        let mut rates = Vec::new();
        for _ in 0..repeats {
            let mut p = Pipeline::new(compiled.clone(), topo.fib.clone(), topo.neighbors.clone());
            rates.push(forward_rate(&mut p, &frame, &reply, stateful, packets));
        }
        let r = median(&rates);
        println!("{:>8} {:>14.0} {:>12.0}", n, r, 1e9 / r);
    }
}

/// The `ipset restore` text of a set of `n` elements the bench flow is not in.
fn bench_set(kind: &str, n: usize) -> String {
    let mut t = format!("create s {kind} maxelem {}\n", n + 1);
    for i in 0..n {
        match kind {
            "hash:ip" => t.push_str(&format!(
                "add s {}\n",
                Ipv4Addr::from((10u32 << 24) + i as u32)
            )),
            // Three prefix lengths, so a miss probes three tables.
            _ => {
                let k = (i / 3) as u32;
                let (base, len, step) = [
                    (11u32 << 24, 32, 1u32),
                    (20 << 24, 24, 256),
                    (100 << 24, 20, 4096),
                ][i % 3];
                let net = Ipv4Addr::from(base + k * step);
                t.push_str(&format!("add s {net}/{len}\n"));
            }
        }
    }
    t
}

fn sets(elements: usize, packets: usize, repeats: usize, stateful: bool) {
    let topo = bench_topology();
    let mut frame = vec![2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 0x10, 8, 0];
    frame.extend_from_slice(&udp_packet(
        Ipv4Addr::new(192, 168, 1, 10),
        Ipv4Addr::new(93, 184, 216, 34),
        40000,
        53,
    ));
    let mut reply = vec![2, 0, 0, 0, 2, 1, 2, 0, 0, 0, 2, 0xfe, 8, 0];
    reply.extend_from_slice(&udp_packet(
        Ipv4Addr::new(93, 184, 216, 34),
        Ipv4Addr::new(192, 168, 1, 10),
        53,
        40000,
    ));
    let names: Vec<String> = topo.ports().iter().map(|p| p.name.clone()).collect();
    let setups: Vec<(String, Ruleset)> = ["", "view", "hash:ip", "hash:net"]
        .iter()
        .map(|kind| {
            let mut rs = Ruleset::default();
            let mut text = String::from(if stateful {
                "*filter\n:FORWARD DROP [0:0]\n"
            } else {
                "*filter\n"
            });
            if *kind == "view" {
                // A rule that parses the packet as the set rule must, for scale.
                text.push_str("-A FORWARD -s 10.0.0.0/8 -p udp --dport 9 -j DROP\n");
            } else if !kind.is_empty() {
                control::ipset::restore(&mut rs, &bench_set(kind, elements), false, 0)
                    .expect("set");
                text.push_str("-A FORWARD -m set --match-set s src -j DROP\n");
            }
            text.push_str(if stateful {
                "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n\
                 -A FORWARD -i lan0 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n"
            } else {
                "-A FORWARD -j ACCEPT\nCOMMIT\n"
            });
            restore(&text, &mut rs, RestoreOptions::default()).expect("rules");
            let label = if kind.is_empty() {
                "no -m set rule".to_string()
            } else if *kind == "view" {
                "-s NET -p udp --dport 9 rule".to_string()
            } else {
                format!("-m set, {kind} of {elements}")
            };
            (label, rs)
        })
        .collect();
    println!(
        "pipeline (classifier), one forwarded UDP flow; FORWARD: [-m set --match-set s src -j DROP] then {}",
        if stateful {
            "ctstate ESTABLISHED,RELATED ACCEPT (policy DROP)"
        } else {
            "ACCEPT"
        }
    );
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); setups.len()];
    // Alternating runs: drift on a shared machine hits every variant alike.
    for _ in 0..repeats {
        for (i, (_, rs)) in setups.iter().enumerate() {
            let compiled = Arc::new(CompiledRuleset::compile_for_ports(rs, 1, &names));
            let mut p = Pipeline::new(compiled, topo.fib.clone(), topo.neighbors.clone());
            p.set_sets(Arc::clone(&rs.sets));
            rates[i].push(forward_rate(&mut p, &frame, &reply, stateful, packets));
        }
    }
    println!(
        "{:>28} {:>14} {:>12} {:>10}",
        "ruleset", "packets/s", "ns/packet", "vs none"
    );
    let base = 1e9 / median(&rates[0]);
    for ((label, _), r) in setups.iter().zip(rates) {
        let ns = 1e9 / median(&r);
        println!(
            "{label:>28} {:>14.0} {ns:>12.0} {:>9.3}x",
            1e9 / ns,
            ns / base
        );
    }
}

fn main() {
    let cli = Cli::parse();
    match cli.what {
        What::Sets {
            elements,
            packets,
            stateful,
        } => sets(elements, packets, cli.repeats.max(1), stateful),
        What::Conntrack { entries } => conntrack(&entries, cli.repeats.max(1)),
        What::Rules {
            rules: r,
            packets,
            linear,
            stateful,
        } => rules(&r, packets, cli.repeats.max(1), linear, stateful),
        #[cfg(feature = "dpdk")]
        What::DpdkIo {
            driver,
            seconds,
            burst,
        } => dpdk::io(&driver, seconds, burst, cli.repeats.max(1)),
        #[cfg(feature = "dpdk")]
        What::Suite {
            quick,
            json,
            workers,
            only,
            no_occupancy,
        } => {
            if let Err(e) = perf::suite::run(perf::suite::SuiteOptions {
                quick,
                json,
                workers,
                only,
                no_occupancy,
            }) {
                eprintln!("nfdp-bench suite: {e}");
                std::process::exit(1);
            }
        }
        #[cfg(feature = "dpdk")]
        What::DpdkPipeline { seconds, burst } => dpdk::pipeline(seconds, burst, cli.repeats.max(1)),
    }
}

/// Packets per second of `p` forwarding `frame` (received on port 0) `packets` times; with
/// `stateful`, the frame and its `reply` go through first so that the flow is established.
/// Buffers are recycled as a port's rx ring would: the figure is the pipeline's cost, not
/// calloc's.
fn forward_rate(
    p: &mut Pipeline,
    frame: &[u8],
    reply: &[u8],
    stateful: bool,
    packets: usize,
) -> f64 {
    let mut out: Vec<Emit> = Vec::with_capacity(4);
    let mut warmup = 0;
    if stateful {
        p.receive(PortId(0), PacketBuf::from_slice(frame), 1, &mut out);
        p.receive(PortId(1), PacketBuf::from_slice(reply), 2, &mut out);
        out.clear();
        warmup = 2;
    }
    let mut pool = PacketPool::with_defaults(8);
    let t = Instant::now();
    for _ in 0..packets {
        let mut buf = pool.alloc().expect("every frame comes back to the pool");
        buf.set_data(frame);
        p.receive(PortId(0), buf, 1_000_000_000, &mut out);
        for e in black_box(&mut out).drain(..) {
            match e {
                Emit::Tx { frame, .. } => pool.free(frame),
                Emit::Local { packet } => pool.free(packet),
            }
        }
    }
    let rate = packets as f64 / t.elapsed().as_secs_f64();
    assert_eq!(p.stats().forwarded as usize, packets + warmup);
    rate
}
