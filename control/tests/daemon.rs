//! The daemon's worker loop on a real thread: frames go in and come out through test ports
//! whose queues the test shares with the worker, while the test drives the control side
//! (ruleset publication, reports, snapshots, link events) as the control thread does. The
//! metrics port itself is tested in metrics_http.rs. No DPDK: the ports are in memory, the worker runs unpinned.

mod support;

use control::config::Config;
use control::daemon::host::HostLink;
use control::daemon::mem::Wire;
use control::daemon::snapshot::{SnapshotSlot, WorkerSnapshot};
use control::daemon::worker::{Command, WorkerReport, WorkerThread};
use control::daemon::{collect_reports, metrics, parse_rules, PortControl, Shared};
use crossbeam_channel::Sender;
use dataplane::pipeline::{DropReason, Pipeline};
use dataplane::port::{MacAddr, Port, PortId, PortStats};
use dataplane::ruleset::{Ruleset, TableKind};
use dataplane::worker::Worker;
use std::net::Ipv6Addr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::daemon::serial;
use support::frames::{
    arp, dport, dst_ip, ether, from_lan, from_wan, icmp_echo, ip_out, sport, src_ip, tcp, udp, ACK,
    SYN,
};
use support::ports::test_ports;
use support::{GATEWAY_MAC, HOST, HOST_MAC, LAN_MAC, WAN_MAC};

const CONFIG: &str = r#"
[[port]]
name = "lan0"
driver = "mem"
mac = "02:00:00:00:01:01"
addresses = ["192.168.1.1/24", "192.168.2.1/24"]

[[port]]
name = "wan0"
driver = "mem"
mac = "02:00:00:00:02:01"
addresses = ["203.0.113.1/24"]

[[route]]
dst = "0.0.0.0/0"
via = "203.0.113.254"

[[neighbor]]
ip = "203.0.113.254"
mac = "02:00:00:00:02:fe"

[[neighbor]]
ip = "192.168.1.10"
mac = "02:00:00:00:01:10"

[conntrack]
nf_conntrack_max = 4096
"#;

const LAN: usize = 0;
const WAN: usize = 1;
const LAN_ADDR: [u8; 4] = [192, 168, 1, 1];
const WAN_ADDR: [u8; 4] = [203, 0, 113, 1];
const SERVER: [u8; 4] = [93, 184, 216, 34];
const KERNEL_MAC: [u8; 6] = [0x0a, 0, 0, 0, 0, 1];
const TAP_GATEWAY_MAC: [u8; 6] = [0x02, 0x6e, 0x66, 0x64, 0xff, 0xfe];
/// How long a test waits for something the worker should do within milliseconds.
const PATIENCE: Duration = Duration::from_secs(5);

const MASQUERADE: &str = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n";

// ---- one worker thread with its control side ----

struct Daemon {
    shared: Arc<Shared>,
    /// By `PortId`.
    wires: Vec<Wire>,
    tap: Wire,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
    /// What the worker publishes for /metrics.
    snapshot: Arc<SnapshotSlot>,
    thread: Option<JoinHandle<()>>,
    _serial: MutexGuard<'static, ()>,
}

impl Daemon {
    /// A worker over lan0 and wan0 with `rules`; with `host`, the TAP exception port too.
    fn start(rules: &str, host: bool) -> Daemon {
        Daemon::start_with(CONFIG, rules, host)
    }

    /// `start` with another config.
    fn start_with(config: &str, rules: &str, host: bool) -> Daemon {
        let serial = serial();
        let cfg = Config::parse(config, Path::new("test.toml")).expect("config");
        let topo = cfg.build().expect("topology");
        let port_names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
        let rules = parse_rules(rules, "test").expect("rules");
        let shared = Arc::new(Shared::new(
            rules,
            port_names.clone(),
            cfg.tunable("nf_conntrack_max").unwrap_or(0),
        ));
        let mut pipeline = Pipeline::new(
            shared.compiled.load_full(),
            topo.fib.clone(),
            topo.neighbors.clone(),
        );
        pipeline.add_neighbors6(&topo.neighbors6);
        // [conntrack] as the appliance applies it (nf_conntrack_max = 4096).
        pipeline.set_conntrack_config(dataplane::conntrack::CtConfig::from_tunables(|n| {
            cfg.tunable(n)
        }));
        let worker = Worker::new(pipeline, 0, 32, port_names.len());
        let (ports, wires) = test_ports(topo.ports().iter(), 1, 0);
        let tap = Wire::new("nfdp0", 1);
        let host = host.then(|| {
            (
                Box::new(tap.queue(PortId(u16::MAX), MacAddr(TAP_GATEWAY_MAC), 0)) as Box<dyn Port>,
                HostLink {
                    kernel_mac: MacAddr(KERNEL_MAC),
                    gateway_mac: MacAddr(TAP_GATEWAY_MAC),
                },
            )
        });
        let (commands, rx) = crossbeam_channel::bounded(64);
        let stop = Arc::new(AtomicBool::new(false));
        let snapshot = Arc::new(SnapshotSlot::new());
        let t = WorkerThread {
            index: 0,
            port_names,
            core: None,
            worker,
            ports,
            host,
            rules: Arc::clone(&shared.compiled),
            sets: Arc::clone(&shared.sets),
            commands: rx,
            set_ops: crossbeam_channel::bounded(1).0,
            max_sleep_us: 0,
            nflog: None,
            stop: Arc::clone(&stop),
            snapshot: Arc::clone(&snapshot),
        };
        let thread = std::thread::Builder::new()
            .name("test-worker".into())
            .spawn(move || t.run())
            .expect("spawn");
        Daemon {
            shared,
            wires,
            tap,
            commands,
            stop,
            snapshot,
            thread: Some(thread),
            _serial: serial,
        }
    }

    fn report(&self, listing: bool) -> WorkerReport {
        let mut r = collect_reports(std::slice::from_ref(&self.commands), listing);
        assert_eq!(r.len(), 1, "the worker answers");
        r.remove(0)
    }

    /// Asks for reports until one satisfies `done`; fails after PATIENCE.
    fn report_when(&self, what: &str, done: impl Fn(&WorkerReport) -> bool) -> WorkerReport {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let r = self.report(true);
            if done(&r) {
                return r;
            }
            assert!(Instant::now() < deadline, "{what}: last report {r:?}");
        }
    }

    /// Waits for a published snapshot that satisfies `done`; fails after PATIENCE.
    fn snapshot_when(
        &self,
        what: &str,
        done: impl Fn(&WorkerSnapshot) -> bool,
    ) -> Arc<WorkerSnapshot> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let s = self.snapshot.latest();
            if let Some(s) = s.filter(|s| done(s)) {
                return s;
            }
            assert!(Instant::now() < deadline, "{what}: no such snapshot");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the worker has taken in `n` frames from the ports: everything it did with
    /// them (transmissions included) has happened when its report says so.
    fn processed(&self, n: u64) -> WorkerReport {
        self.report_when(&format!("{n} frames received"), |r| r.stats.received >= n)
    }

    /// Publishes `rules` and waits until the worker runs them.
    fn publish(&self, rules: &str) -> u64 {
        let g = self
            .shared
            .publish(parse_rules(rules, "test").expect("rules"))
            .expect("published");
        self.report_when(&format!("generation {g}"), |r| r.generation == g);
        g
    }

    fn port_stats(&self) -> Vec<(String, PortStats, bool)> {
        self.wires
            .iter()
            .map(|w| (PortControl::name(w).to_string(), w.stats(), true))
            .collect()
    }

    /// The packet counter of `chain`'s rule `rule` (1-based; 0 = the policy), summed from a
    /// report of the published generation.
    fn rule_packets(
        &self,
        report: &WorkerReport,
        table: TableKind,
        chain: &str,
        rule: usize,
    ) -> u64 {
        assert_eq!(
            report.generation,
            self.shared.current_rules().1.generation,
            "a report of the published generation"
        );
        let rs = metrics::ruleset_with_counters(&self.shared, std::slice::from_ref(report));
        rule_counter(&rs, table, chain, rule)
    }
}

fn rule_counter(rs: &Ruleset, table: TableKind, chain: &str, rule: usize) -> u64 {
    let c = rs
        .tables
        .iter()
        .find(|t| t.kind == table)
        .and_then(|t| t.chains.iter().find(|c| c.name == chain))
        .unwrap_or_else(|| panic!("no chain {chain}"));
    match rule {
        0 => c.counters.packets,
        n => c.rules[n - 1].counters.packets,
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let stopped = t.join();
            if !std::thread::panicking() {
                stopped.expect("the worker thread ends cleanly");
            }
        }
    }
}

// ---- 1. forwarding ----

#[test]
fn masquerades_udp_and_tcp_both_ways() {
    let d = Daemon::start(MASQUERADE, false);
    let lan = &d.wires[LAN];
    let wan = &d.wires[WAN];

    lan.inject(0, &from_lan(&udp(HOST, SERVER, 40000, 53, b"query")));
    lan.inject(0, &from_lan(&tcp(HOST, SERVER, 40001, 80, SYN, 1000, 0)));
    let out = wan.wait(2, PATIENCE);
    assert_eq!(out.len(), 2, "{out:02x?}");
    let u = ip_out(&out[0], GATEWAY_MAC, WAN_MAC);
    assert_eq!((src_ip(u), dst_ip(u)), (WAN_ADDR, SERVER));
    assert_eq!((sport(u), dport(u)), (40000, 53), "a free port is kept");
    assert_eq!(u[8], 63, "TTL");
    assert_eq!(&u[28..], b"query");
    let t = ip_out(&out[1], GATEWAY_MAC, WAN_MAC);
    assert_eq!((src_ip(t), dst_ip(t)), (WAN_ADDR, SERVER));
    assert_eq!((sport(t), dport(t)), (40001, 80));
    assert_eq!(t[33], SYN);
    assert!(lan.take().is_empty());

    wan.inject(0, &from_wan(&udp(SERVER, WAN_ADDR, 53, 40000, b"answer")));
    wan.inject(
        0,
        &from_wan(&tcp(SERVER, WAN_ADDR, 80, 40001, SYN | ACK, 5000, 1001)),
    );
    let back = lan.wait(2, PATIENCE);
    assert_eq!(back.len(), 2, "{back:02x?}");
    let u = ip_out(&back[0], HOST_MAC, LAN_MAC);
    assert_eq!((src_ip(u), dst_ip(u)), (SERVER, HOST));
    assert_eq!((sport(u), dport(u)), (53, 40000));
    assert_eq!(&u[28..], b"answer");
    let t = ip_out(&back[1], HOST_MAC, LAN_MAC);
    assert_eq!((src_ip(t), dst_ip(t)), (SERVER, HOST));
    assert_eq!((sport(t), dport(t)), (80, 40001));
    assert_eq!(t[33], SYN | ACK);
    assert!(wan.take().is_empty());

    let r = d.processed(4);
    assert_eq!(r.stats.forwarded, 4);
    assert_eq!(r.ct_count, 2);
    let s = d.port_stats();
    assert_eq!((s[LAN].1.rx_packets, s[LAN].1.tx_packets), (2, 2));
    assert_eq!((s[WAN].1.rx_packets, s[WAN].1.tx_packets), (2, 2));
}

// ---- 2. RCU swaps under load ----

const ACCEPT_UDP: &str = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
    *filter\n-A FORWARD -i lan0 -p udp -j ACCEPT\nCOMMIT\n";
/// The same plus a counting rule that sees the flow first (mangle PREROUTING runs before
/// filter FORWARD).
const COUNT_AND_ACCEPT_UDP: &str = "*mangle\n-A PREROUTING -i lan0 -p udp\nCOMMIT\n\
    *nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
    *filter\n-A FORWARD -i lan0 -p udp -j ACCEPT\nCOMMIT\n";
const DROP_UDP: &str = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
    *filter\n-A FORWARD -i lan0 -p udp -j DROP\nCOMMIT\n";

/// ACCEPT_UDP's gateway with a FORWARD chain of 2,000 TCP rules in front and a rule that
/// drops UDP after them: its classifier takes about 1 MB.
fn big_ruleset_dropping_udp() -> String {
    let mut text = String::from("*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n*filter\n");
    for i in 0..2000 {
        text += &format!(
            "-A FORWARD -s 10.{}.{}.0/24 -p tcp --dport {} -j ACCEPT\n",
            i / 256,
            i % 256,
            1000 + i
        );
    }
    text += "-A FORWARD -p udp -j DROP\nCOMMIT\n";
    text
}

fn numbered(seq: u32) -> Vec<u8> {
    from_lan(&udp(HOST, SERVER, 40000, 9, &seq.to_be_bytes()))
}

#[test]
fn ruleset_swaps_under_load_lose_nothing_and_keep_counters() {
    let d = Daemon::start(ACCEPT_UDP, false);
    let lan = d.wires[LAN].clone();
    let wan = &d.wires[WAN];

    let done = Arc::new(AtomicBool::new(false));
    let injector = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut seq = 0u32;
            while !done.load(Ordering::Relaxed) {
                for _ in 0..16 {
                    lan.inject(0, &numbered(seq));
                    seq += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            seq
        })
    };

    // The connection exists before the first swap.
    let _ = d.processed(1);
    let mut last = 0;
    let mut generations = Vec::new();
    for i in 0..120 {
        let rules = if i % 2 == 0 {
            COUNT_AND_ACCEPT_UDP
        } else {
            ACCEPT_UDP
        };
        if i % 15 == 14 {
            let g = d.publish(rules);
            let r = d.report(false);
            let accepted = d.rule_packets(&r, TableKind::Filter, "FORWARD", 1);
            assert!(accepted >= last, "generation {g}: {accepted} < {last}");
            assert_eq!(
                d.rule_packets(&r, TableKind::Nat, "POSTROUTING", 1),
                1,
                "MASQUERADE saw the first packet only, and its count stays across swaps"
            );
            if rules == COUNT_AND_ACCEPT_UDP {
                // Re-added: it counts from zero, so never more than the carried-over rule.
                assert!(d.rule_packets(&r, TableKind::Mangle, "PREROUTING", 1) <= accepted);
            }
            last = accepted;
            generations.push(g);
        } else {
            d.shared
                .publish(parse_rules(rules, "test").expect("rules"))
                .expect("published");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    done.store(true, Ordering::Relaxed);
    let sent = injector.join().expect("injector");
    assert!(sent > 0 && last > 0, "traffic flowed during the swaps");
    assert_eq!(generations.len(), 8);
    assert_eq!(*generations.last().unwrap(), 121);

    // Every frame left, translated, in order, on the one connection.
    let out = wan.wait(sent as usize, Duration::from_secs(30));
    assert_eq!(out.len(), sent as usize, "frames lost");
    for (i, f) in out.iter().enumerate() {
        let ip = ip_out(f, GATEWAY_MAC, WAN_MAC);
        assert_eq!((src_ip(ip), sport(ip)), (WAN_ADDR, 40000), "frame {i}");
        assert_eq!(&ip[28..], &(i as u32).to_be_bytes(), "frame {i}");
    }
    let r = d.processed(u64::from(sent));
    assert_eq!(r.stats.forwarded, u64::from(sent));
    assert_eq!(r.stats.drops[DropReason::Rules], 0);
    assert_eq!(r.ct_count, 1);
    assert_eq!(
        d.rule_packets(&r, TableKind::Filter, "FORWARD", 1),
        u64::from(sent),
        "the ACCEPT rule's counter carried over every swap"
    );

    // A ruleset that drops the flow: nothing passes once the worker runs it.
    let g = d.publish(DROP_UDP);
    assert_eq!(g, 122);
    for i in 0..50 {
        d.wires[LAN].inject(0, &numbered(sent + i));
    }
    let r = d.processed(u64::from(sent) + 50);
    assert_eq!(r.generation, g);
    assert!(wan.take().is_empty(), "dropped by generation {g}");
    assert_eq!(r.stats.drops[DropReason::Rules], 50);
    assert_eq!(
        d.rule_packets(&r, TableKind::Filter, "FORWARD", 1),
        50,
        "a changed rule starts from zero"
    );
}

// ---- 3. reports, metrics, listings ----

/// The conntrack line with its timeout (the 5th field) replaced by `T`.
fn without_timeout(line: &str) -> String {
    let mut f: Vec<&str> = line.split(' ').filter(|s| !s.is_empty()).collect();
    f[4] = "T";
    f.join(" ")
}

#[test]
fn reports_metrics_and_listings() {
    let rules = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
        *filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        -A FORWARD -i lan0 -p udp -j ACCEPT\n-A FORWARD -i lan0 -p tcp --syn -j ACCEPT\nCOMMIT\n";
    let d = Daemon::start(rules, false);
    let lan = &d.wires[LAN];
    let wan = &d.wires[WAN];
    // UDP: query and answer. TCP: the handshake.
    lan.inject(0, &from_lan(&udp(HOST, SERVER, 40000, 53, b"query")));
    lan.inject(0, &from_lan(&tcp(HOST, SERVER, 40001, 80, SYN, 1000, 0)));
    assert_eq!(wan.wait(2, PATIENCE).len(), 2);
    wan.inject(0, &from_wan(&udp(SERVER, WAN_ADDR, 53, 40000, b"answer")));
    wan.inject(
        0,
        &from_wan(&tcp(SERVER, WAN_ADDR, 80, 40001, SYN | ACK, 5000, 1001)),
    );
    assert_eq!(lan.wait(2, PATIENCE).len(), 2);
    lan.inject(0, &from_lan(&tcp(HOST, SERVER, 40001, 80, ACK, 1001, 5001)));
    assert_eq!(wan.wait(1, PATIENCE).len(), 1);
    // Not a SYN and no connection: the policy drops it.
    lan.inject(0, &from_lan(&tcp(HOST, SERVER, 40002, 80, ACK, 1, 1)));
    let _ = d.processed(6);

    let reports = collect_reports(std::slice::from_ref(&d.commands), true);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!((r.index, r.core, r.generation), (0, None, 1));
    assert_eq!(r.ct_count, 2);
    let ct: Vec<String> = r.conntrack.iter().map(|l| without_timeout(l)).collect();
    assert_eq!(
        ct,
        [
            "ipv4 2 tcp 6 T ESTABLISHED src=192.168.1.10 dst=93.184.216.34 sport=40001 dport=80 \
             src=93.184.216.34 dst=203.0.113.1 sport=80 dport=40001 [ASSURED] mark=0 zone=0 use=2",
            "ipv4 2 udp 17 T src=192.168.1.10 dst=93.184.216.34 sport=40000 dport=53 \
             src=93.184.216.34 dst=203.0.113.1 sport=53 dport=40000 mark=0 zone=0 use=2",
        ]
    );
    // The kernel's column layout: family and protocol names padded to 8.
    assert!(
        r.conntrack[1].starts_with("ipv4     2 udp      17 "),
        "{:?}",
        r.conntrack[1]
    );
    assert_eq!(
        r.neighbors,
        [
            "192.168.1.10 dev lan0 lladdr 02:00:00:00:01:10 PERMANENT",
            "203.0.113.254 dev wan0 lladdr 02:00:00:00:02:fe PERMANENT",
        ]
    );
    // A report without the listing carries the counts only.
    let brief = d.report(false);
    assert!(brief.conntrack.is_empty() && brief.neighbors.is_empty());
    assert_eq!(brief.ct_count, 2);

    // The snapshot the worker publishes carries the same counters, and renders to /metrics.
    let snap = d.snapshot_when("6 frames", |s| s.report.stats.received >= 6);
    assert!(snap.running);
    assert_eq!(
        (snap.report.ct_count, snap.report.counters.as_slice()),
        (2, brief.counters.as_slice())
    );
    let text = metrics::render(&d.shared, &d.port_stats(), &[snap], &[false], true);
    for want in [
        "nfdp_port_receive_packets_total{port=\"lan0\"} 4",
        "nfdp_port_transmit_packets_total{port=\"lan0\"} 2",
        "nfdp_port_receive_packets_total{port=\"wan0\"} 2",
        "nfdp_port_transmit_packets_total{port=\"wan0\"} 3",
        "nfdp_conntrack_entries{worker=\"0\"} 2",
        "nfdp_conntrack_family_entries{worker=\"0\",family=\"ipv4\"} 2",
        "nfdp_conntrack_family_entries{worker=\"0\",family=\"ipv6\"} 0",
        "nfdp_conntrack_entries_limit{worker=\"0\"} 4096",
        "nfdp_conntrack_stat_insert_total{worker=\"0\"} 2",
        "nfdp_ruleset_generation 1",
        "nfdp_worker_packets_total{worker=\"0\",outcome=\"forwarded\"} 5",
        "nfdp_worker_packets_total{worker=\"0\",outcome=\"dropped_by_rules\"} 1",
        "nfdp_drops_total{reason=\"rules\"} 1",
        "nfdp_rule_packets_total{table=\"filter\",chain=\"FORWARD\",rule=\"policy\"} 1",
        "nfdp_rule_packets_total{table=\"filter\",chain=\"FORWARD\",rule=\"1\"} 3",
        "nfdp_rule_packets_total{table=\"filter\",chain=\"FORWARD\",rule=\"2\"} 1",
        "nfdp_rule_packets_total{table=\"filter\",chain=\"FORWARD\",rule=\"3\"} 1",
        "nfdp_rule_bytes_total{table=\"filter\",chain=\"FORWARD\",rule=\"3\"} 40",
        "nfdp_rule_packets_total{table=\"nat\",chain=\"POSTROUTING\",rule=\"1\"} 2",
    ] {
        assert!(text.lines().any(|l| l == want), "no `{want}` in\n{text}");
    }

    let listing = metrics::rules_text(&d.shared, &reports);
    let lines: Vec<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let has = |want: &[&str]| lines.iter().any(|l| l.as_slice() == want);
    assert!(has(&["#", "table", "filter"]), "{listing}");
    assert!(
        has(&["Chain", "FORWARD", "(policy", "DROP", "1", "packets,", "40", "bytes)"]),
        "{listing}"
    );
    assert!(
        has(&[
            "1",
            "3",
            "114",
            "ACCEPT",
            "0",
            "--",
            "*",
            "*",
            "0.0.0.0/0",
            "0.0.0.0/0",
            "ctstate",
            "RELATED,ESTABLISHED"
        ]),
        "{listing}"
    );
    assert!(
        has(&[
            "2",
            "1",
            "33",
            "ACCEPT",
            "17",
            "--",
            "lan0",
            "*",
            "0.0.0.0/0",
            "0.0.0.0/0"
        ]),
        "{listing}"
    );
    assert!(has(&["#", "table", "nat"]), "{listing}");
    assert!(
        has(&[
            "1",
            "2",
            "73",
            "MASQUERADE",
            "0",
            "--",
            "*",
            "wan0",
            "0.0.0.0/0",
            "0.0.0.0/0"
        ]),
        "{listing}"
    );
}

// ---- 4. the host path ----

#[test]
fn host_path_through_the_tap_port() {
    let rules = "*filter\n:INPUT DROP [0:0]\n\
        -A INPUT -d 192.168.1.1 -p icmp --icmp-type echo-request -j ACCEPT\n\
        -A OUTPUT -p icmp --icmp-type echo-reply -j ACCEPT\nCOMMIT\n";
    let d = Daemon::start(rules, true);
    let lan = &d.wires[LAN];

    // INPUT: the ping reaches the kernel, wrapped for its interface, otherwise untouched.
    let ping = icmp_echo(HOST, LAN_ADDR, 8, 0x77, 1);
    lan.inject(0, &from_lan(&ping));
    let to_kernel = d.tap.wait(1, PATIENCE);
    assert_eq!(
        to_kernel,
        [ether(KERNEL_MAC, TAP_GATEWAY_MAC, 0x0800, &ping)]
    );
    // INPUT's policy keeps ssh away from the kernel.
    lan.inject(0, &from_lan(&tcp(HOST, LAN_ADDR, 40000, 22, SYN, 1, 0)));
    let r = d.processed(2);
    assert!(d.tap.take().is_empty());
    assert_eq!(
        (
            r.host_tx,
            r.stats.delivered_local,
            r.stats.drops[DropReason::Rules]
        ),
        (1, 1, 1)
    );

    // The kernel resolves the pinger: nfdp answers for it with its own MAC.
    d.tap
        .inject(0, &arp([0xff; 6], 1, KERNEL_MAC, LAN_ADDR, [0; 6], HOST));
    let answer = d.tap.wait(1, PATIENCE);
    assert_eq!(
        answer,
        [arp(
            KERNEL_MAC,
            2,
            TAP_GATEWAY_MAC,
            HOST,
            KERNEL_MAC,
            LAN_ADDR
        )]
    );

    // OUTPUT: the kernel's echo reply leaves on lan0 to the pinger's MAC.
    let pong = icmp_echo(LAN_ADDR, HOST, 0, 0x77, 1);
    d.tap
        .inject(0, &ether(TAP_GATEWAY_MAC, KERNEL_MAC, 0x0800, &pong));
    // A truncated IPv6 packet from the kernel is ignored.
    d.tap
        .inject(0, &ether(TAP_GATEWAY_MAC, KERNEL_MAC, 0x86dd, &[0x60; 40]));
    let out = lan.wait(1, PATIENCE);
    assert_eq!(out, [ether(HOST_MAC, LAN_MAC, 0x0800, &pong)]);
    let r = d.report_when("the kernel's frames handled", |r| {
        r.host_rx == 1 && r.host_ignored == 1
    });
    assert_eq!(r.stats.sent_local, 1);
    assert_eq!(d.rule_packets(&r, TableKind::Filter, "OUTPUT", 1), 1);
    assert_eq!(d.rule_packets(&r, TableKind::Filter, "INPUT", 1), 1);
    assert!(d.wires[WAN].take().is_empty());
}

/// An IPv6 TCP segment with `flags`, its checksum filled.
fn tcp6(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    use dataplane::wire::{checksum, IpProtocol};
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    let c = checksum::finish(&[
        checksum::pseudo_header_ipv6(src, dst, IpProtocol::from(6), 20),
        checksum::data(&t),
    ]);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    let mut p = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&t);
    p
}

#[test]
fn host_path_carries_ipv6() {
    let config = CONFIG.replace(
        "addresses = [\"192.168.1.1/24\", \"192.168.2.1/24\"]",
        "addresses = [\"192.168.1.1/24\", \"192.168.2.1/24\", \"2001:db8:1::1/64\"]",
    ) + "\n[[neighbor]]\nip = \"2001:db8:1::10\"\nmac = \"02:00:00:00:01:10\"\n";
    let d = Daemon::start_with(&config, "*filter\nCOMMIT\n", true);
    let lan = &d.wires[LAN];
    let (me, client): (Ipv6Addr, Ipv6Addr) = (
        "2001:db8:1::1".parse().unwrap(),
        "2001:db8:1::10".parse().unwrap(),
    );

    // INPUT: a SYN to the appliance's IPv6 address reaches the kernel as an IPv6 frame.
    let syn = tcp6(client, me, 40000, 22, SYN);
    lan.inject(0, &ether(LAN_MAC, HOST_MAC, 0x86dd, &syn));
    let to_kernel = d.tap.wait(1, PATIENCE);
    assert_eq!(
        to_kernel,
        [ether(KERNEL_MAC, TAP_GATEWAY_MAC, 0x86dd, &syn)]
    );

    // The kernel resolves the client on the TAP (on-link default route): nfdp answers for
    // it with its own MAC (the bytes: host.rs's tests).
    let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
    ns.extend_from_slice(&client.octets());
    ns.extend_from_slice(&[1, 1]);
    ns.extend_from_slice(&KERNEL_MAC);
    let group: Ipv6Addr = "ff02::1:ff00:10".parse().unwrap();
    let c = dataplane::wire::checksum::finish(&[
        dataplane::wire::checksum::pseudo_header_ipv6(me, group, 58u8.into(), 32),
        dataplane::wire::checksum::data(&ns),
    ]);
    ns[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x60, 0, 0, 0, 0, 32, 58, 255];
    ip.extend_from_slice(&me.octets());
    ip.extend_from_slice(&group.octets());
    ip.extend_from_slice(&ns);
    d.tap.inject(
        0,
        &ether([0x33, 0x33, 0xff, 0, 0, 0x10], KERNEL_MAC, 0x86dd, &ip),
    );
    let answer = d.tap.wait(1, PATIENCE);
    assert_eq!(answer.len(), 1);
    let na = &answer[0];
    assert_eq!(
        &na[..14],
        &ether(KERNEL_MAC, TAP_GATEWAY_MAC, 0x86dd, &[])[..]
    );
    assert_eq!((na[54], na[58]), (136, 0xe0), "an advertisement, R S O");
    assert_eq!(&na[62..78], &client.octets());
    assert_eq!(&na[80..86], &TAP_GATEWAY_MAC);

    // OUTPUT: the kernel's SYN-ACK leaves on lan0 to the client's MAC. (The port's
    // link-up advertisements may be on the wire too.)
    let synack = tcp6(me, client, 22, 40000, SYN | ACK);
    d.tap
        .inject(0, &ether(TAP_GATEWAY_MAC, KERNEL_MAC, 0x86dd, &synack));
    // An MLD report from the kernel: ignored.
    let mut mld = vec![0x60, 0, 0, 0, 0, 8, 58, 1];
    mld.extend_from_slice(&"fe80::8:ff:fe00:1".parse::<Ipv6Addr>().unwrap().octets());
    mld.extend_from_slice(&"ff02::16".parse::<Ipv6Addr>().unwrap().octets());
    mld.extend_from_slice(&[143, 0, 0, 0, 0, 0, 0, 0]);
    d.tap.inject(
        0,
        &ether([0x33, 0x33, 0, 0, 0, 0x16], KERNEL_MAC, 0x86dd, &mld),
    );
    let want = ether(HOST_MAC, LAN_MAC, 0x86dd, &synack);
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    while !seen.contains(&want) && Instant::now() < deadline {
        seen.extend(lan.take());
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(seen.contains(&want), "no SYN-ACK on lan0: {seen:?}");
    let r = d.report_when("the kernel's frames handled", |r| {
        r.host_rx == 1 && r.host_ignored == 1
    });
    assert_eq!(
        (r.host_tx, r.stats.delivered_local, r.stats.sent_local),
        (1, 1, 1)
    );
}

#[test]
fn host_frames_a_full_tap_refuses_are_counted_as_dropped() {
    let rules = "*filter\n-A INPUT -p icmp -j ACCEPT\nCOMMIT\n";
    let d = Daemon::start(rules, true);
    d.tap.set_tx_room(0);
    // A local delivery and an ARP answer towards the kernel, both refused by the tap.
    d.wires[LAN].inject(0, &from_lan(&icmp_echo(HOST, LAN_ADDR, 8, 1, 1)));
    d.tap
        .inject(0, &arp([0xff; 6], 1, KERNEL_MAC, LAN_ADDR, [0; 6], HOST));
    let deadline = Instant::now() + PATIENCE;
    while d.tap.stats().tx_dropped < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let s = d.tap.stats();
    assert_eq!((s.tx_packets, s.tx_dropped), (0, 2));
    let r = d.processed(1);
    assert_eq!(
        (r.stats.delivered_local, r.host_tx),
        (1, 0),
        "nothing reached the kernel"
    );
    // Room again: the next ping gets through and counts.
    d.tap.set_tx_room(usize::MAX);
    d.wires[LAN].inject(0, &from_lan(&icmp_echo(HOST, LAN_ADDR, 8, 1, 2)));
    assert_eq!(d.tap.wait(1, PATIENCE).len(), 1);
    let r = d.processed(2);
    assert_eq!(r.host_tx, 1);
    assert_eq!(d.tap.stats().tx_dropped, 2);
}

// ---- 5. link events ----

#[test]
fn link_up_announces_and_link_down_forgets_neighbours() {
    let d = Daemon::start("", false);
    let lan = &d.wires[LAN];
    let wan = &d.wires[WAN];

    d.commands
        .send(Command::LinkUp(PortId(LAN as u16)))
        .unwrap();
    let garp = lan.wait(2, PATIENCE);
    let announcement = |addr: [u8; 4]| arp([0xff; 6], 1, LAN_MAC, addr, [0; 6], addr);
    assert_eq!(
        garp,
        [announcement(LAN_ADDR), announcement([192, 168, 2, 1])]
    );
    assert!(
        wan.take().is_empty(),
        "only the port that came up announces"
    );

    // A LAN host that is not configured: learned by ARP.
    let peer = [192, 168, 1, 20];
    let peer_mac = [2, 0, 0, 0, 1, 0x20];
    let down = udp(SERVER, peer, 53, 5353, b"to the peer");
    wan.inject(0, &from_wan(&down));
    let solicit = lan.wait(1, PATIENCE);
    let request = arp([0xff; 6], 1, LAN_MAC, LAN_ADDR, [0; 6], peer);
    assert_eq!(solicit, std::slice::from_ref(&request));
    lan.inject(0, &arp(LAN_MAC, 2, peer_mac, peer, LAN_MAC, LAN_ADDR));
    let released = lan.wait(1, PATIENCE);
    assert_eq!(released.len(), 1);
    assert_eq!(
        ip_out(&released[0], peer_mac, LAN_MAC)[28..],
        *b"to the peer"
    );
    let learned = "192.168.1.20 dev lan0 lladdr 02:00:00:00:01:20 REACHABLE";
    assert!(d.report(true).neighbors.iter().any(|l| l == learned));

    d.commands
        .send(Command::LinkDown(PortId(LAN as u16), Vec::new()))
        .unwrap();
    let r = d.report(true);
    assert_eq!(
        r.neighbors,
        [
            "192.168.1.10 dev lan0 lladdr 02:00:00:00:01:10 PERMANENT",
            "203.0.113.254 dev wan0 lladdr 02:00:00:00:02:fe PERMANENT",
        ],
        "the learned neighbour is gone, the configured ones stay"
    );
    // So the next packet for it has to ask again.
    wan.inject(0, &from_wan(&down));
    assert_eq!(lan.wait(1, PATIENCE), [request]);
}

#[test]
fn link_down_forgets_connections_masqueraded_to_the_port() {
    let d = Daemon::start(MASQUERADE, false);
    d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 40000, 53, b"q")));
    assert_eq!(d.wires[WAN].wait(1, PATIENCE).len(), 1);
    assert_eq!(d.processed(1).ct_count, 1);
    d.commands
        .send(Command::LinkDown(PortId(WAN as u16), vec![WAN_ADDR.into()]))
        .unwrap();
    let r = d.report(true);
    assert_eq!(r.ct_count, 0, "{:?}", r.conntrack);
}

// ---- publication ----

#[test]
fn a_ruleset_over_the_classifier_budget_is_refused_and_the_old_one_keeps_forwarding() {
    let d = Daemon::start(ACCEPT_UDP, false);
    let wan = &d.wires[WAN];
    d.wires[LAN].inject(0, &numbered(0));
    assert_eq!(wan.wait(1, PATIENCE).len(), 1);

    let big = parse_rules(&big_ruleset_dropping_udp(), "big").expect("rules");
    let needs =
        dataplane::pipeline::CompiledRuleset::compile_for_ports(&big, 1, &d.shared.port_names)
            .classifier_bytes();
    // Over the 64 KiB budget set below (2001 keys in a table at most half full).
    assert!(needs > 64 << 10, "{needs}");
    d.shared.set_classifier_memory(64 << 10);
    let (before, _) = d.shared.current_rules();
    let e = d.shared.publish(big.clone()).expect_err("over the budget");
    assert_eq!(
        e.to_string(),
        format!(
            "ruleset refused: the classifier of chain FORWARD in table filter (2001 rules) \
             needs about {needs} bytes, more than the 65536 bytes left of the classifier \
             memory budget of 65536 bytes ([dataplane] classifier_memory)"
        )
    );
    // Nothing changed: the generation, the model, and the worker still forwards UDP.
    let (after, compiled) = d.shared.current_rules();
    assert_eq!(
        (compiled.generation, d.shared.compiled.load().generation),
        (1, 1)
    );
    assert_eq!(after, before);
    d.wires[LAN].inject(0, &numbered(1));
    let out = wan.wait(1, PATIENCE);
    assert_eq!(out.len(), 1, "the running ruleset still forwards");
    assert_eq!(d.processed(2).stats.forwarded, 2);

    // Within the default budget the same ruleset compiles, indexed, and drops UDP.
    d.shared
        .set_classifier_memory(dataplane::pipeline::DEFAULT_CLASSIFIER_MEMORY);
    let g = d.publish(&big_ruleset_dropping_udp());
    assert_eq!(g, 2);
    assert_eq!(d.shared.compiled.load().classifier_bytes(), needs);
    d.wires[LAN].inject(0, &numbered(2));
    let r = d.processed(3);
    assert_eq!(
        (r.stats.forwarded, r.stats.drops[DropReason::Rules]),
        (2, 1)
    );
    assert!(wan.take().is_empty());
}

#[test]
fn concurrent_publishers_hand_out_generations_in_publication_order() {
    // A SIGHUP reload (control thread) and the API can publish at once:
    // the generation the workers see never goes back, and the last one handed out stays.
    let _serial = serial();
    let names = vec!["lan0".to_string(), "wan0".to_string()];
    let shared = Arc::new(Shared::new(Ruleset::default(), names, 0));
    let mut big = String::from("*filter\n");
    for i in 0..500 {
        big.push_str(&format!(
            "-A FORWARD -s 10.{}.{}.0/24 -p tcp --dport {} -j ACCEPT\n",
            i / 256,
            i % 256,
            1000 + i
        ));
    }
    big.push_str("COMMIT\n");
    let big = parse_rules(&big, "big").expect("rules");
    let small = parse_rules(ACCEPT_UDP, "small").expect("rules");
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let shared = Arc::clone(&shared);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let g = shared.compiled.load().generation;
                if seen.last() != Some(&g) {
                    seen.push(g);
                }
                std::thread::yield_now();
            }
            seen
        })
    };
    let publishers: Vec<_> = (0..4)
        .map(|t| {
            let shared = Arc::clone(&shared);
            let rules = if t % 2 == 0 {
                big.clone()
            } else {
                small.clone()
            };
            std::thread::spawn(move || {
                (0..100)
                    .map(|_| shared.publish(rules.clone()).expect("published"))
                    .max()
            })
        })
        .collect();
    let newest = publishers
        .into_iter()
        .map(|p| p.join().expect("publisher"))
        .max()
        .flatten();
    done.store(true, Ordering::Relaxed);
    let seen = watcher.join().expect("watcher");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "generations went back: {seen:?}"
    );
    assert_eq!(newest, Some(401));
    assert_eq!(shared.current_rules().1.generation, 401);
    assert_eq!(shared.compiled.load().generation, 401, "the workers' side");
}
