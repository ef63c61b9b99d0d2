//! The read-only metrics port over real TCP: one worker thread on in-memory ports publishes
//! its snapshots, `serve_metrics_with` serves them on 127.0.0.1, and the tests talk to it
//! with raw sockets (so they control exactly what a client sends). No DPDK, no root.

mod support;

use control::config::Config;
use control::daemon::http::{serve_metrics_with, HttpLimits};
use control::daemon::mem::Wire;
use control::daemon::metrics::{Health, MetricsView};
use control::daemon::snapshot::{SnapshotSlot, WorkerSnapshot};
use control::daemon::watchdog::{Change, Watchdog};
use control::daemon::worker::{WorkerReport, WorkerThread};
use control::daemon::{parse_rules, PortControl, Shared};
use dataplane::conntrack::CtConfig;
use dataplane::pipeline::Pipeline;

use dataplane::worker::Worker;
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::daemon::serial;
use support::frames::{from_lan, udp};
use support::ports::test_ports;
use support::{HOST, PATIENCE};

const CONFIG: &str = support::lan_wan_config!(
    r#"
[conntrack]
nf_conntrack_max = 4096
"#
);

/// DNS leaves masqueraded; other UDP from the LAN is dropped by rule 2.
const RULES: &str = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
    *filter\n-A FORWARD -i lan0 -p udp --dport 53 -j ACCEPT\n\
    -A FORWARD -i lan0 -p udp -j DROP\nCOMMIT\n";

const SERVER: [u8; 4] = [93, 184, 216, 34];

// ---- a worker and the metrics port ----

struct Rig {
    shared: Arc<Shared>,
    wires: Vec<Wire>,
    stop: Arc<AtomicBool>,
    slot: Arc<SnapshotSlot>,
    worker: Option<JoinHandle<()>>,
    runtime: tokio::runtime::Runtime,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    addr: SocketAddr,
    _serial: MutexGuard<'static, ()>,
}

impl Rig {
    fn start(limits: HttpLimits, rule_counters: bool) -> Rig {
        let serial = serial();
        let cfg = Config::parse(CONFIG, Path::new("test.toml")).expect("config");
        let topo = cfg.build().expect("topology");
        let names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
        let shared = Arc::new(Shared::new(
            parse_rules(RULES, "test").expect("rules"),
            names.clone(),
            cfg.tunable("nf_conntrack_max").unwrap_or(0),
        ));
        let mut pipeline = Pipeline::new(
            shared.compiled.load_full(),
            topo.fib.clone(),
            topo.neighbors.clone(),
        );
        pipeline.set_conntrack_config(CtConfig::from_tunables(|n| cfg.tunable(n)));
        let (ports, wires) = test_ports(topo.ports().iter(), 1, 0);
        let stop = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(SnapshotSlot::new());
        let (_, rx) = crossbeam_channel::bounded(8);
        let t = WorkerThread {
            index: 0,
            port_names: names.clone(),
            core: None,
            worker: Worker::new(pipeline, 0, 32, names.len()),
            ports,
            host: None,
            rules: Arc::clone(&shared.compiled),
            sets: Arc::clone(&shared.sets),
            commands: rx,
            set_ops: crossbeam_channel::bounded(1).0,
            max_sleep_us: 0,
            nflog: None,
            stop: Arc::clone(&stop),
            snapshot: Arc::clone(&slot),
        };
        let worker = std::thread::spawn(move || t.run());

        let mut view = MetricsView::new(
            Arc::clone(&shared),
            wires
                .iter()
                .map(|w| Arc::new(w.clone()) as Arc<dyn PortControl>)
                .collect(),
            vec![Arc::clone(&slot)],
            Arc::clone(&stop),
        );
        view.rule_counters = rule_counters;
        let (runtime, addr, shutdown, server) = serve(view, limits, 2);
        let rig = Rig {
            shared,
            wires,
            stop,
            slot,
            worker: Some(worker),
            runtime,
            shutdown: Some(shutdown),
            server: Some(server),
            addr,
            _serial: serial,
        };
        rig.wait_for_snapshot(|_| true);
        rig
    }

    fn wait_for_snapshot(&self, done: impl Fn(&WorkerReport) -> bool) -> Arc<WorkerSnapshot> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(s) = self.slot.latest().filter(|s| done(&s.report)) {
                return s;
            }
            assert!(Instant::now() < deadline, "no such snapshot");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the worker as the daemon does on SIGTERM (the metrics port stays up).
    fn stop_workers(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.worker.take() {
            w.join().expect("the worker ends cleanly");
        }
    }

    /// Tasks alive on the server's runtime (the accept loop is one of them).
    fn tasks(&self) -> usize {
        self.runtime.metrics().num_alive_tasks()
    }
}

/// Serves `view` on 127.0.0.1 (a free port) from a runtime of `threads` threads until the
/// returned sender is used or dropped.
fn serve(
    view: MetricsView,
    limits: HttpLimits,
    threads: usize,
) -> (
    tokio::runtime::Runtime,
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("listen");
    let addr = listener.local_addr().expect("address");
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(serve_metrics_with(listener, view, limits, async {
        let _ = stopped.await;
    }));
    (runtime, addr, shutdown, server)
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(PATIENCE, server).await });
        }
    }
}

/// Long enough that no bound but the one a test looks at can interfere.
fn relaxed() -> HttpLimits {
    HttpLimits {
        header_read_timeout: Duration::from_secs(60),
        ..HttpLimits::default()
    }
}

// ---- HTTP from the client's side ----

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }
}

/// Sends `request` as is and reads the reply to the end of the connection.
fn exchange(addr: SocketAddr, request: &str) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(PATIENCE))?;
    s.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(std::io::Error::new(
            ErrorKind::UnexpectedEof,
            format!("no complete reply: {text:?}"),
        ));
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok(Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// GET /metrics on a kept-alive connection; reads the reply (delimited by its
/// Content-Length) and returns its status.
async fn scrape(s: &mut tokio::net::TcpStream) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("request");
    let mut buf = Vec::with_capacity(64 << 10);
    let mut chunk = vec![0u8; 64 << 10];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed mid-reply");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("a Content-Length");
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    status
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Reply {
    exchange(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, "")
}

// ---- the text format, parsed ----

#[derive(Debug)]
struct Scrape {
    /// Family name -> (HELP, TYPE).
    families: BTreeMap<String, (String, String)>,
    /// (name, labels) -> value.
    samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

impl Scrape {
    /// Parses Prometheus' text format 0.0.4 strictly enough to catch what a scraper would
    /// refuse: every sample after its family's HELP and TYPE, no sample twice.
    fn parse(text: &str) -> Scrape {
        let mut families: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP text");
                assert!(
                    families
                        .insert(name.into(), (help.into(), String::new()))
                        .is_none(),
                    "{name} twice"
                );
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE");
                let f = families.get_mut(name).expect("TYPE after HELP");
                assert!(f.1.is_empty(), "{name}: two TYPEs");
                assert!(["counter", "gauge"].contains(&kind), "{line}");
                f.1 = kind.into();
                continue;
            }
            assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
            let (series, value) = line.rsplit_once(' ').expect("a value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            let (name, labels) = match series.split_once('{') {
                None => (series, Vec::new()),
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').expect("closing brace");
                    (name, parse_labels(rest))
                }
            };
            let (_, kind) = families
                .get(name)
                .unwrap_or_else(|| panic!("{name}: no HELP before its sample"));
            assert!(!kind.is_empty(), "{name}: no TYPE");
            assert_eq!(
                kind == "counter",
                name.ends_with("_total"),
                "{name}: counters and only counters end in _total"
            );
            assert!(name.starts_with("nfdp_"), "{name}");
            assert!(
                samples.insert((name.to_string(), labels), value).is_none(),
                "{line}: twice"
            );
        }
        Scrape { families, samples }
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        want.sort();
        self.samples
            .iter()
            .find(|((n, l), _)| {
                let mut l = l.clone();
                l.sort();
                n == name && l == want
            })
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {name}{labels:?}"))
    }

    fn has_family(&self, name: &str) -> bool {
        self.families.contains_key(name) || self.samples.keys().any(|(n, _)| n == name)
    }
}

/// `a="x",b="y\"z"` -> pairs, with the format's escapes undone.
fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "label {name} is quoted");
        let mut value = String::new();
        loop {
            match chars.next().expect("closing quote") {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape"),
                },
                c => value.push(c),
            }
        }
        out.push((name, value));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

// ---- frames ----

fn udp_from_lan(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    from_lan(&udp(HOST, SERVER, sport, dport, payload))
}

/// Five DNS flows of two packets each (accepted, masqueraded) and three packets to port 99
/// (dropped by rule 2). Returns when the worker's published snapshot has seen all 13.
fn send_traffic(rig: &Rig) {
    for flow in 0..5u16 {
        for seq in 0..2u32 {
            rig.wires[0].inject(0, &udp_from_lan(40000 + flow, 53, &seq.to_be_bytes()));
        }
    }
    for seq in 0..3u32 {
        rig.wires[0].inject(0, &udp_from_lan(41000, 99, &seq.to_be_bytes()));
    }
    rig.wait_for_snapshot(|r| r.stats.received >= 13);
}

// ---- what is served, and what is not ----

#[test]
fn only_get_and_head_of_metrics_and_healthz_are_served() {
    let rig = Rig::start(relaxed(), true);
    for path in ["/metrics", "/healthz", "/metrics?name[]=x"] {
        let r = get(rig.addr, path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.head);
        let head = request(rig.addr, "HEAD", path, "");
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(head.body, "", "HEAD has no body");
    }
    assert_eq!(get(rig.addr, "/healthz").body, "ok\n");
    assert_eq!(
        get(rig.addr, "/metrics").header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );

    // Everything else is refused; a ruleset posted anywhere changes nothing.
    let ruleset = "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n";
    for path in ["/metrics", "/healthz"] {
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
            let r = request(rig.addr, method, path, ruleset);
            assert_eq!(r.status, 405, "{method} {path}: {}", r.head);
            let allow = r.header("allow").unwrap_or("");
            let mut allowed: Vec<&str> = allow.split(',').map(str::trim).collect();
            allowed.sort();
            assert_eq!(allowed, ["GET", "HEAD"], "{method} {path}: Allow: {allow}");
        }
    }
    for path in [
        "/rules",
        "/conntrack",
        "/neigh",
        "/",
        "/metrics/",
        "/metrics/x",
        "/healthz/x",
        "/METRICS",
    ] {
        for method in ["GET", "POST", "PUT"] {
            let r = request(rig.addr, method, path, ruleset);
            assert_eq!(r.status, 404, "{method} {path}: {}", r.head);
        }
    }
    assert_eq!(
        rig.shared.compiled.load().generation,
        1,
        "nothing was published"
    );
    // A body sent with a GET is not read, and the answer is the same.
    assert_eq!(request(rig.addr, "GET", "/healthz", ruleset).status, 200);
    // Nor is a body announced and never sent: the refusal comes at once and the connection
    // ends (the exchange reads to its end).
    for (method, path, code) in [("POST", "/rules", 404), ("PUT", "/metrics", 405)] {
        let r = exchange(
            rig.addr,
            &format!("{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 104857600\r\n\r\n"),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(r.status, code, "{method} {path}");
    }
    assert_eq!(rig.shared.compiled.load().generation, 1);
}

// ---- the numbers ----

#[test]
fn a_scrape_matches_the_traffic_sent() {
    let rig = Rig::start(relaxed(), true);
    send_traffic(&rig);
    let r = get(rig.addr, "/metrics");
    assert_eq!(r.status, 200);
    let m = Scrape::parse(&r.body);
    let port = |name: &str, port: &str| m.value(name, &[("port", port)]);
    let worker = |name: &str| m.value(name, &[("worker", "0")]);
    let rule = |name: &str, table: &str, chain: &str, rule: &str| {
        m.value(name, &[("table", table), ("chain", chain), ("rule", rule)])
    };
    // Each frame: 14 Ethernet + 20 IP + 8 UDP + 4 payload.
    assert_eq!(port("nfdp_port_receive_packets_total", "lan0"), 13.0);
    assert_eq!(port("nfdp_port_receive_bytes_total", "lan0"), 13.0 * 46.0);
    assert_eq!(port("nfdp_port_transmit_packets_total", "wan0"), 10.0);
    assert_eq!(port("nfdp_port_transmit_bytes_total", "wan0"), 10.0 * 46.0);
    assert_eq!(port("nfdp_port_transmit_packets_total", "lan0"), 0.0);
    assert_eq!(port("nfdp_port_receive_dropped_total", "lan0"), 0.0);
    assert_eq!(port("nfdp_port_link_up", "wan0"), 1.0);
    assert_eq!(
        m.value(
            "nfdp_worker_packets_total",
            &[("worker", "0"), ("outcome", "received")]
        ),
        13.0
    );
    assert_eq!(
        m.value(
            "nfdp_worker_packets_total",
            &[("worker", "0"), ("outcome", "forwarded")]
        ),
        10.0
    );
    assert_eq!(m.value("nfdp_drops_total", &[("reason", "rules")]), 3.0);
    assert_eq!(m.value("nfdp_drops_total", &[("reason", "no_route")]), 0.0);
    // Every reason the pipeline counts is exported, zero or not.
    for reason in dataplane::pipeline::DropReason::ALL {
        let want = if reason.name() == "rules" { 3.0 } else { 0.0 };
        assert_eq!(
            m.value("nfdp_drops_total", &[("reason", reason.name())]),
            want
        );
    }
    // ARP by event, arptables' drops included (none here: no ARP table).
    for event in [
        "requests_received",
        "requests_answered",
        "arptables_input",
        "arptables_output",
    ] {
        assert_eq!(
            m.value("nfdp_arp_total", &[("event", event)]),
            0.0,
            "{event}"
        );
    }
    // Neighbour discovery and IPv6 by event (no IPv6 here).
    for event in [
        "solicitations_received",
        "solicitations_answered",
        "invalid",
    ] {
        assert_eq!(
            m.value("nfdp_ndisc_total", &[("event", event)]),
            0.0,
            "{event}"
        );
    }
    assert_eq!(
        m.value("nfdp_ipv6_total", &[("event", "echo_replies")]),
        0.0
    );
    // Rules: the IP length (32 bytes) is what a rule counts.
    assert_eq!(
        rule("nfdp_rule_packets_total", "filter", "FORWARD", "1"),
        10.0
    );
    assert_eq!(
        rule("nfdp_rule_bytes_total", "filter", "FORWARD", "1"),
        320.0
    );
    assert_eq!(
        rule("nfdp_rule_packets_total", "filter", "FORWARD", "2"),
        3.0
    );
    assert_eq!(
        rule("nfdp_rule_packets_total", "filter", "FORWARD", "policy"),
        0.0
    );
    assert_eq!(
        rule("nfdp_rule_packets_total", "nat", "POSTROUTING", "1"),
        5.0,
        "NAT sees the first packet of each connection"
    );
    // Conntrack: the five accepted flows (the dropped ones were never confirmed).
    assert_eq!(worker("nfdp_conntrack_entries"), 5.0);
    assert_eq!(worker("nfdp_conntrack_entries_limit"), 4096.0);
    assert_eq!(worker("nfdp_conntrack_stat_insert_total"), 5.0);
    assert_eq!(worker("nfdp_conntrack_stat_found_total"), 5.0);
    for stat in [
        "invalid",
        "insert_failed",
        "drop",
        "early_drop",
        "search_restart",
    ] {
        assert_eq!(worker(&format!("nfdp_conntrack_stat_{stat}_total")), 0.0);
    }
    assert_eq!(m.value("nfdp_ruleset_generation", &[]), 1.0);
    assert_eq!(worker("nfdp_worker_ruleset_generation"), 1.0);
    assert!(m.value("nfdp_ruleset_swap_duration_seconds", &[]) >= 0.0);
    let busy = worker("nfdp_worker_busy_ratio");
    assert!((0.0..=1.0).contains(&busy), "{busy}");
    assert!(worker("nfdp_worker_polls_total") >= worker("nfdp_worker_busy_polls_total"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let published = worker("nfdp_worker_last_snapshot_timestamp_seconds");
    assert!((now - published).abs() < 5.0, "{published} vs {now}");
    assert_eq!(
        m.value("nfdp_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        1.0
    );

    // A swap: the generation and the swap latency follow, and the unchanged rule keeps its
    // count once the worker runs the new generation.
    let g = rig
        .shared
        .publish(
            parse_rules(
                &format!("{RULES}*raw\n-A PREROUTING -j ACCEPT\nCOMMIT\n"),
                "t",
            )
            .unwrap(),
        )
        .expect("published");
    rig.wait_for_snapshot(|r| r.generation == g);
    let m = Scrape::parse(&get(rig.addr, "/metrics").body);
    assert_eq!(m.value("nfdp_ruleset_generation", &[]), 2.0);
    assert_eq!(
        m.value("nfdp_worker_ruleset_generation", &[("worker", "0")]),
        2.0
    );
    assert!(m.value("nfdp_ruleset_swap_duration_seconds", &[]) > 0.0);
    assert_eq!(
        m.value(
            "nfdp_rule_packets_total",
            &[("table", "filter"), ("chain", "FORWARD"), ("rule", "1")]
        ),
        10.0
    );
    assert_eq!(
        m.value(
            "nfdp_rule_packets_total",
            &[("table", "raw"), ("chain", "PREROUTING"), ("rule", "1")]
        ),
        0.0
    );
}

#[test]
fn promtool_finds_nothing_in_a_scrape() {
    let rig = Rig::start(relaxed(), true);
    send_traffic(&rig);
    let text = get(rig.addr, "/metrics").body;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            eprintln!(
                "\n!!!!!!!! SKIPPED: promtool is not installed (Debian package `prometheus`, \
                 scripts/setup.sh installs it); the scrape was NOT checked !!!!!!!!\n"
            );
            return;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.is_empty(), "promtool: {said}");
}

#[test]
fn rule_counters_off_removes_the_rule_families() {
    let rig = Rig::start(relaxed(), false);
    send_traffic(&rig);
    let m = Scrape::parse(&get(rig.addr, "/metrics").body);
    assert!(!m.has_family("nfdp_rule_packets_total"));
    assert!(!m.has_family("nfdp_rule_bytes_total"));
    assert_eq!(m.value("nfdp_drops_total", &[("reason", "rules")]), 3.0);
}

// ---- health ----

#[test]
fn healthz_is_ok_while_the_workers_run_and_503_after_they_stop() {
    let mut rig = Rig::start(relaxed(), true);
    // The worker keeps publishing (every 100 ms) without being asked.
    let first = rig.slot.latest().expect("a snapshot");
    let deadline = Instant::now() + PATIENCE;
    let later = loop {
        let s = rig.slot.latest().expect("a snapshot");
        if s.at > first.at {
            break s;
        }
        assert!(Instant::now() < deadline, "no new snapshot");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(later.running && later.report.polls > first.report.polls);
    let r = get(rig.addr, "/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    assert_eq!(get(rig.addr, "/metrics").status, 200);
    rig.stop_workers();
    let r = get(rig.addr, "/healthz");
    assert_eq!((r.status, r.body.as_str()), (503, "stopping\n"));
    assert_eq!(get(rig.addr, "/metrics").status, 503);
    assert!(!rig.slot.latest().expect("a last snapshot").running);
}

#[test]
fn health_sees_a_stuck_worker_and_a_stopped_one() {
    let _serial = serial();
    let shared = Arc::new(Shared::new(Default::default(), Vec::new(), 0));
    let slots = vec![Arc::new(SnapshotSlot::new()), Arc::new(SnapshotSlot::new())];
    let view = MetricsView::new(
        Arc::clone(&shared),
        Vec::new(),
        slots.clone(),
        Arc::new(AtomicBool::new(false)),
    );
    let snapshot = |index: usize, age: Duration, running: bool| WorkerSnapshot {
        report: WorkerReport {
            index,
            ..WorkerReport::default()
        },
        ruleset: shared.compiled.load_full(),
        busy_ratio: 0.0,
        ct_limit: 0,
        at: Instant::now()
            .checked_sub(age)
            .expect("an instant in the past"),
        unix_ns: 0,
        running,
    };
    assert_eq!(
        view.health(),
        Health::Unhealthy("worker 0 has not started".into())
    );
    slots[0].publish(snapshot(0, Duration::ZERO, true));
    slots[1].publish(snapshot(1, Duration::from_millis(100), true));
    assert_eq!(view.health(), Health::Ok);
    assert!(view.render().is_ok());
    slots[1].publish(snapshot(1, Duration::from_secs(3), true));
    match view.health() {
        Health::Unhealthy(why) => assert!(
            why.starts_with("worker 1 published nothing for 3."),
            "{why}"
        ),
        Health::Ok => panic!("a worker 3 s behind is not healthy"),
    }
    slots[1].publish(snapshot(1, Duration::ZERO, false));
    assert_eq!(view.health(), Health::Unhealthy("worker 1 stopped".into()));
    assert!(view.render().is_ok(), "worker 0 still runs");
    slots[0].publish(snapshot(0, Duration::ZERO, false));
    assert!(view.render().is_err(), "no worker runs");
}

/// A worker stuck in a driver call (its receive queue held) stops beating; the watchdog
/// calls it stalled, `/metrics` says so, and once the call returns it is running again.
#[test]
fn the_watchdog_exports_a_worker_that_stopped_polling() {
    let rig = Rig::start(relaxed(), true);
    let stalled = || {
        Scrape::parse(&get(rig.addr, "/metrics").body)
            .value("nfdp_worker_stalled", &[("worker", "0")])
    };
    let after = Duration::from_millis(300);
    let mut dog = Watchdog::new(vec![Arc::clone(&rig.slot)], after, Instant::now());
    // Checks every 50 ms, as the control thread does every 100 ms, until `done`.
    let watch = |dog: &mut Watchdog, done: &dyn Fn(&[Change]) -> bool| {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let changes = dog.check(Instant::now());
            if done(&changes) {
                return changes;
            }
            assert!(Instant::now() < deadline, "no change");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    std::thread::sleep(after * 2);
    assert_eq!(dog.check(Instant::now()), vec![], "a polling worker beats");
    assert_eq!(stalled(), 0.0);

    let held = rig.wires[0].hold_rx(0).expect("queue 0");
    let changes = watch(&mut dog, &|c: &[Change]| !c.is_empty());
    let Change::Stalled { worker: 0, for_ } = changes[0] else {
        panic!("{changes:?}");
    };
    assert!(for_ >= after);
    assert!(rig.slot.heartbeat.stalled());
    assert_eq!(stalled(), 1.0);

    drop(held);
    let changes = watch(&mut dog, &|c: &[Change]| !c.is_empty());
    assert!(
        matches!(changes[..], [Change::Recovered { worker: 0, .. }]),
        "{changes:?}"
    );
    assert_eq!(stalled(), 0.0);
    send_traffic(&rig);
}

// ---- bounds ----

/// Latency of GET /metrics with 50 scrapers at once: the issue's bound is p99 < 100 ms.
/// The server reads snapshots only, so no worker thread runs here: in the appliance the
/// workers busy-poll cores of their own, and on a 2-core test machine one would take half
/// of it. The snapshot is a worker's with a 200-rule ruleset.
#[test]
fn fifty_parallel_scrapers_p99_under_100ms() {
    let _serial = serial();
    let mut rules = String::from("*filter\n");
    for i in 0..200 {
        rules.push_str(&format!(
            "-A FORWARD -s 10.0.{i}.0/24 -p tcp --dport 443 -j ACCEPT\n"
        ));
    }
    rules.push_str("COMMIT\n");
    let names = vec!["lan0".to_string(), "wan0".to_string()];
    let shared = Arc::new(Shared::new(
        parse_rules(&rules, "t").unwrap(),
        names.clone(),
        4096,
    ));
    let compiled = shared.compiled.load_full();
    let slot = Arc::new(SnapshotSlot::new());
    slot.publish(WorkerSnapshot {
        report: WorkerReport {
            ct_count: 5,
            counters: (0..compiled.slots.len())
                .map(|i| dataplane::ruleset::Counters {
                    packets: i as u64,
                    bytes: 60 * i as u64,
                })
                .collect(),
            generation: compiled.generation,
            ..WorkerReport::default()
        },
        ruleset: compiled,
        busy_ratio: 0.25,
        ct_limit: 4096,
        at: Instant::now(),
        unix_ns: 0,
        running: true,
    });
    let view = MetricsView::new(
        shared,
        names
            .iter()
            .map(|n| Arc::new(Wire::new(n, 1)) as Arc<dyn PortControl>)
            .collect(),
        vec![slot],
        Arc::new(AtomicBool::new(false)),
    );
    let (runtime, addr, shutdown, server) = serve(view, relaxed(), 1);

    let first = get(addr, "/metrics");
    assert_eq!(first.status, 200);
    assert!(first
        .body
        .contains("nfdp_conntrack_entries{worker=\"0\"} 5\n"));
    // The scrapers are tasks on one client thread (fifty client threads would compete with
    // the server's one for this machine's two cores). Each scrapes 20 times over a kept-alive
    // connection, as Prometheus does; timed: request to the last byte of the reply.
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut all: Vec<Duration> = client.block_on(async move {
        let scrapers: Vec<_> = (0..50)
            .map(|_| {
                tokio::spawn(async move {
                    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
                    let mut times = Vec::new();
                    for _ in 0..20 {
                        let t = Instant::now();
                        let status = scrape(&mut s).await;
                        times.push(t.elapsed());
                        assert_eq!(status, 200);
                    }
                    times
                })
            })
            .collect();
        let mut all = Vec::new();
        for s in scrapers {
            all.extend(s.await.expect("scraper"));
        }
        all
    });
    let _ = shutdown.send(());
    let _ = runtime.block_on(server);
    all.sort();
    let p50 = all[all.len() / 2];
    let p99 = all[all.len() * 99 / 100];
    eprintln!(
        "50 scrapers x 20 GET /metrics: p50 {p50:?}, p99 {p99:?}, max {:?}",
        all[all.len() - 1]
    );
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
}

#[test]
fn an_idle_client_with_half_a_request_delays_no_one() {
    let rig = Rig::start(
        HttpLimits {
            header_read_timeout: Duration::from_secs(3),
            ..HttpLimits::default()
        },
        true,
    );
    let mut idle = TcpStream::connect(rig.addr).expect("connect");
    idle.write_all(b"GET /metrics HTTP/1.1\r\nHost: te")
        .expect("half a request");
    // Served while the idle client still holds its connection (it is cut off only at the
    // header timeout, 3 s).
    let r = get(rig.addr, "/metrics");
    assert_eq!(r.status, 200);
    idle.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    match idle.read(&mut buf) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the idle connection should still be open: {other:?}"),
    }
    // Then the header timeout closes it, without an answer to what it never finished.
    idle.set_nonblocking(false).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    match idle.read_to_end(&mut rest) {
        Ok(_) => assert!(
            !String::from_utf8_lossy(&rest).contains(" 200 "),
            "{rest:?}"
        ),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
    }
}

#[test]
fn a_client_sending_100k_of_headers_is_cut_off() {
    let rig = Rig::start(relaxed(), true);
    let mut s = TcpStream::connect(rig.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = String::from("GET /metrics HTTP/1.1\r\nHost: test\r\n");
    let pad = "a".repeat(1000);
    for i in 0..110 {
        req.push_str(&format!("X-Pad-{i}: {pad}\r\n"));
    }
    req.push_str("\r\n");
    assert!(req.len() > 100 << 10);
    // The server may close before it has everything: a failed write is part of the answer.
    let _ = s.write_all(req.as_bytes());
    let mut reply = Vec::new();
    match s.read_to_end(&mut reply) {
        Ok(_) => {
            let text = String::from_utf8_lossy(&reply);
            assert!(
                text.is_empty() || text.starts_with("HTTP/1.1 431 "),
                "{text}"
            );
        }
        Err(e) => assert!(
            matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ),
            "cut off, not left waiting (a 60 s header timeout would show as a timeout here): {e}"
        ),
    }
    // Headers within the bound are fine, and the server goes on.
    let r = exchange(
        rig.addr,
        &format!(
            "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
            "b".repeat(4000)
        ),
    )
    .expect("a reply");
    assert_eq!(r.status, 200);
}

#[test]
fn connections_beyond_the_bound_are_closed_and_tasks_stay_bounded() {
    const BOUND: usize = 16;
    let rig = Rig::start(
        HttpLimits {
            max_connections: BOUND,
            ..relaxed()
        },
        true,
    );
    let idle_tasks = rig.tasks();
    // Idle connections that never send a byte: BOUND are held, the rest closed.
    let mut conns: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(rig.addr).expect("connect"))
        .collect();
    for c in &conns {
        c.set_nonblocking(true).unwrap();
    }
    let mut open: Vec<bool> = vec![true; conns.len()];
    let deadline = Instant::now() + PATIENCE;
    while open.iter().filter(|o| **o).count() > BOUND && Instant::now() < deadline {
        for (c, o) in conns.iter_mut().zip(open.iter_mut()) {
            if *o {
                let mut b = [0u8; 16];
                match c.read(&mut b) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    _ => *o = false,
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(open.iter().filter(|o| **o).count(), BOUND);
    let tasks = rig.tasks();
    assert!(
        tasks <= idle_tasks + BOUND,
        "{tasks} tasks for {BOUND} connections (idle: {idle_tasks})"
    );
    // While they are held, a new client is turned away rather than queued.
    match exchange(rig.addr, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n") {
        Ok(r) => panic!("served beyond the bound: {}", r.head),
        Err(e) => assert!(
            matches!(
                e.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ),
            "{e}"
        ),
    }
    // Once they go, the server answers again and the tasks are gone.
    drop(conns);
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(r) = exchange(
            rig.addr,
            "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        ) {
            assert_eq!(r.status, 200);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer after the clients left"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + PATIENCE;
    while rig.tasks() > idle_tasks && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(rig.tasks(), idle_tasks);
}

// ---- the Grafana dashboard ----

/// Every `nfdp_*` name in configs/grafana/nfdp.json is a family of a real scrape, and every
/// query parses (promtool checks them as recording rules, Grafana's variables filled in).
#[test]
fn the_grafana_dashboard_uses_exported_metrics_only() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/grafana/nfdp.json");
    let dashboard = std::fs::read_to_string(&path).expect("the dashboard");
    let rig = Rig::start(relaxed(), true);
    send_traffic(&rig);
    let m = Scrape::parse(&get(rig.addr, "/metrics").body);
    drop(rig);

    let mut names: Vec<&str> = Vec::new();
    let mut rest = dashboard.as_str();
    while let Some(at) = rest.find("nfdp_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(&tail[..end]);
        rest = &tail[end..];
    }
    names.sort();
    names.dedup();
    assert!(names.len() > 20, "{names:?}");
    for name in &names {
        assert!(
            m.families.contains_key(*name),
            "the dashboard uses {name}, which /metrics does not export"
        );
    }

    // The queries, as recording rules for promtool.
    let mut exprs: Vec<String> = Vec::new();
    for line in dashboard.lines() {
        let line = line.trim();
        if let Some(e) = line.strip_prefix("\"expr\": \"") {
            let e = e.trim_end_matches(',').trim_end_matches('"');
            exprs.push(
                e.replace("\\\"", "\"")
                    .replace("$__rate_interval", "5m")
                    .replace("$instance", ".*"),
            );
        }
    }
    assert!(exprs.len() > 20, "{exprs:?}");
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        assert!(!e.contains('\''), "{e}");
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: '{e}'\n"
        ));
    }
    let file = std::env::temp_dir().join(format!("nfdp-dashboard-{}.yml", std::process::id()));
    std::fs::write(&file, rules).expect("write rules");
    let out = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output();
    let _ = std::fs::remove_file(&file);
    match out {
        Err(e) if e.kind() == ErrorKind::NotFound => eprintln!(
            "\n!!!!!!!! SKIPPED: promtool is not installed; the dashboard's queries were NOT \
             parsed !!!!!!!!\n"
        ),
        Err(e) => panic!("promtool: {e}"),
        Ok(out) => assert!(
            out.status.success(),
            "promtool check rules: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
