//! The Conntrack and Trace gRPC services against a real worker thread: frames go through
//! in-memory ports (as in daemon.rs), the services are served by tonic on a Unix socket
//! in a temporary directory, and the test is a tonic client over that socket. No DPDK, no
//! root.

mod support;

use control::api::conntrack::ConntrackService;
use control::api::pb;
use control::api::pb::conntrack_client::ConntrackClient;
use control::api::pb::trace_client::TraceClient;
use control::api::trace::TraceService;
use control::config::Config;
use control::daemon::mem::Wire;
use control::daemon::worker::{Command, WorkerReport};
use control::daemon::{collect_reports, metrics, parse_rules, Shared};
use dataplane::conntrack::CtConfig;
use dataplane::pipeline::Pipeline;
use dataplane::ruleset::TableKind;
use std::path::Path;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};
use support::daemon::serial;
use support::frames::{from_lan, from_wan, tcp, ACK, SYN};
use support::workers::{Served, Workers};
use support::{HOST, PATIENCE};
use tonic::transport::Channel;
use tonic::{Code, Streaming};

const CONFIG: &str = support::lan_wan_host_config!(
    r#"
[conntrack]
nf_conntrack_max = 4096
nf_conntrack_acct = 1
"#
);

/// MASQUERADE out of wan0; FORWARD's first rule counts the packets that are NEW.
const RULES: &str = "*filter\n:FORWARD ACCEPT [0:0]\n\
    -A FORWARD -m conntrack --ctstate NEW\n\
    COMMIT\n\
    *nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n";

const LAN: usize = 0;
const WAN: usize = 1;
const WAN_ADDR: [u8; 4] = [203, 0, 113, 1];
const SERVER: [u8; 4] = [93, 184, 216, 34];

// ---- a worker, the services on a Unix socket, a client ----

struct Daemon {
    shared: Arc<Shared>,
    /// Worker 0's ports.
    wires: Vec<Wire>,
    // Dropped in this order: the workers stopped, then the services.
    workers: Workers,
    served: Served,
    ct: ConntrackClient<Channel>,
    trace: TraceClient<Channel>,
    _serial: MutexGuard<'static, ()>,
}

impl Daemon {
    fn start() -> Daemon {
        Daemon::start_with(1)
    }

    fn start_with(workers: usize) -> Daemon {
        let serial = serial();
        let cfg = Config::parse(CONFIG, Path::new("test.toml")).expect("config");
        let topo = cfg.build().expect("topology");
        let port_names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
        let shared = Arc::new(Shared::new(
            parse_rules(RULES, "test").expect("rules"),
            port_names,
            4096,
        ));
        let pipelines = (0..workers)
            .map(|_| {
                let mut pipeline = Pipeline::new(
                    shared.compiled.load_full(),
                    topo.fib.clone(),
                    topo.neighbors.clone(),
                );
                pipeline.set_conntrack_config(CtConfig::from_tunables(|n| cfg.tunable(n)));
                pipeline
            })
            .collect();
        let workers = Workers::spawn(&topo, pipelines, &shared.compiled, &shared.sets);
        let all = workers.commands.clone();
        let served = Served::new(
            "ct-api",
            tonic::transport::Server::builder()
                .add_service(pb::conntrack_server::ConntrackServer::new(
                    ConntrackService::new(all.clone()),
                ))
                .add_service(pb::trace_server::TraceServer::new(TraceService::new(all))),
            |e| {
                // HTTP/2's own 64 KiB stream window (hyper's default is megabytes): what
                // a stream that is not read can hold is small and known. The
                // connection's window stays larger, for the other calls.
                e.initial_stream_window_size(65_535)
                    .initial_connection_window_size(1 << 20)
            },
        );
        Daemon {
            shared,
            wires: workers.queues[0].clone(),
            workers,
            ct: ConntrackClient::new(served.channel.clone()),
            trace: TraceClient::new(served.channel.clone()),
            served,
            _serial: serial,
        }
    }

    /// Worker 0's report.
    fn report(&self) -> WorkerReport {
        self.report_of(0)
    }

    fn report_of(&self, worker: usize) -> WorkerReport {
        let mut r = collect_reports(std::slice::from_ref(&self.workers.commands[worker]), false);
        assert_eq!(r.len(), 1, "the worker answers");
        r.remove(0)
    }

    /// Waits until worker 0 has taken in `n` frames (and done all it does with them).
    fn processed(&self, n: u64) -> WorkerReport {
        self.processed_on(0, n)
    }

    fn processed_on(&self, worker: usize, n: u64) -> WorkerReport {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let r = self.report_of(worker);
            if r.stats.received >= n {
                return r;
            }
            assert!(Instant::now() < deadline, "{n} frames: {r:?}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// How many packets FORWARD's ctstate NEW rule counted.
    fn new_count(&self) -> u64 {
        let r = self.report();
        let rs = metrics::ruleset_with_counters(&self.shared, std::slice::from_ref(&r));
        let t = rs.tables.iter().find(|t| t.kind == TableKind::Filter);
        let c = t.and_then(|t| t.chains.iter().find(|c| c.name == "FORWARD"));
        c.expect("FORWARD").rules[0].counters.packets
    }

    fn list(&mut self, f: pb::ConntrackFilter) -> Vec<pb::ConntrackEntry> {
        let mut e = self
            .served
            .rt
            .block_on(self.ct.list(f))
            .expect("list")
            .into_inner()
            .entries;
        e.sort_by_key(|e| (e.proto, e.orig.as_ref().map(|t| t.sport)));
        e
    }

    fn stats(&mut self) -> pb::ConntrackWorkerStats {
        let mut s = self
            .served
            .rt
            .block_on(self.ct.stats(pb::ConntrackStatsRequest {}))
            .expect("stats")
            .into_inner()
            .workers;
        assert_eq!(s.len(), 1);
        s.remove(0)
    }

    fn count(&mut self) -> (u64, u64) {
        let c = self
            .served
            .rt
            .block_on(self.ct.count(pb::CountRequest {}))
            .expect("count")
            .into_inner();
        (c.count, c.max)
    }

    /// The next message of a stream within PATIENCE (`None`: the stream ended).
    fn next<T>(&self, s: &mut Streaming<T>) -> Option<T> {
        self.served
            .rt
            .block_on(async { tokio::time::timeout(PATIENCE, s.message()).await })
            .expect("a message within the patience")
            .expect("no stream error")
    }

    /// Waits until every worker's open subscriptions and watches are as given.
    fn listeners_become(&mut self, subscribers: u64, watches: u64) {
        let deadline = Instant::now() + PATIENCE;
        let mut ready = 0;
        loop {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.workers.commands[ready]
                .send(Command::CtStats { reply: tx })
                .expect("worker");
            let s = rx.blocking_recv().expect("stats");
            if s.subscribers as u64 == subscribers && s.trace_watches as u64 == watches {
                ready += 1;
                if ready == self.workers.commands.len() {
                    return;
                }
                continue;
            }
            assert!(
                Instant::now() < deadline,
                "listeners {} / watches {}",
                s.subscribers,
                s.trace_watches
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// UDP carrying "nfdp".
fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    support::frames::udp(src, dst, sport, dport, b"nfdp")
}

fn tuple(src: &str, dst: &str, sport: u32, dport: u32) -> pb::Tuple {
    pb::Tuple {
        src: src.into(),
        dst: dst.into(),
        sport,
        dport,
        ..Default::default()
    }
}

/// Three masqueraded flows: UDP 5000 answered, UDP 5001 not, TCP 40000 through its
/// handshake. Returns the number of frames the worker took in so far.
fn three_flows(d: &Daemon) -> u64 {
    let (lan, wan) = (&d.wires[LAN], &d.wires[WAN]);
    lan.inject(0, &from_lan(&udp(HOST, SERVER, 5000, 53)));
    lan.inject(0, &from_lan(&udp(HOST, SERVER, 5001, 53)));
    lan.inject(0, &from_lan(&tcp(HOST, SERVER, 40000, 80, SYN, 1000, 0)));
    assert_eq!(wan.wait(3, PATIENCE).len(), 3);
    wan.inject(0, &from_wan(&udp(SERVER, WAN_ADDR, 53, 5000)));
    wan.inject(
        0,
        &from_wan(&tcp(SERVER, WAN_ADDR, 80, 40000, SYN | ACK, 5000, 1001)),
    );
    assert_eq!(lan.wait(2, PATIENCE).len(), 2);
    lan.inject(0, &from_lan(&tcp(HOST, SERVER, 40000, 80, ACK, 1001, 5001)));
    assert_eq!(wan.wait(1, PATIENCE).len(), 1);
    d.processed(6);
    6
}

// ---- Conntrack ----

#[test]
fn list_filters_get_delete_flush_count_and_stats() {
    let mut d = Daemon::start();
    let mut frames = three_flows(&d);
    assert_eq!(d.new_count(), 3);

    let all = d.list(Default::default());
    assert_eq!(all.len(), 3, "{all:#?}");
    let tcp_e = &all[0];
    assert_eq!(tcp_e.proto, 6);
    assert_eq!(tcp_e.tcp_state, "ESTABLISHED");
    assert_eq!(
        tcp_e.orig,
        Some(tuple("192.168.1.10", "93.184.216.34", 40000, 80))
    );
    // Masqueraded: the reply comes back to the WAN address.
    assert_eq!(
        tcp_e.reply,
        Some(tuple("93.184.216.34", "203.0.113.1", 80, 40000))
    );
    assert_eq!(
        tcp_e.status,
        [
            "SEEN_REPLY",
            "ASSURED",
            "CONFIRMED",
            "SRC_NAT",
            "SRC_NAT_DONE",
            "DST_NAT_DONE"
        ]
    );
    // Seconds left, rounded down as conntrack shows them.
    assert!(
        (431_999..=432_000).contains(&tcp_e.timeout),
        "{}",
        tcp_e.timeout
    );
    assert!(tcp_e.accounting);
    assert_eq!((tcp_e.orig_packets, tcp_e.reply_packets), (2, 1));
    assert_eq!((tcp_e.orig_bytes, tcp_e.reply_bytes), (80, 40));
    let (answered, unanswered) = (&all[1], &all[2]);
    assert_eq!(
        answered.orig,
        Some(tuple("192.168.1.10", "93.184.216.34", 5000, 53))
    );
    assert_eq!(
        answered.reply,
        Some(tuple("93.184.216.34", "203.0.113.1", 53, 5000))
    );
    assert_eq!(
        answered.status,
        [
            "SEEN_REPLY",
            "CONFIRMED",
            "SRC_NAT",
            "SRC_NAT_DONE",
            "DST_NAT_DONE"
        ]
    );
    assert_eq!(answered.tcp_state, "");
    assert!(
        (29..=30).contains(&answered.timeout),
        "{}",
        answered.timeout
    );
    assert_eq!(
        unanswered.status,
        ["CONFIRMED", "SRC_NAT", "SRC_NAT_DONE", "DST_NAT_DONE"]
    );
    assert_ne!(answered.id, unanswered.id);
    assert!(all.iter().all(|e| e.worker == 0 && e.mark == 0));

    // Filters select exactly what conntrack's would.
    let sports = |es: Vec<pb::ConntrackEntry>| -> Vec<u32> {
        es.iter().map(|e| e.orig.as_ref().unwrap().sport).collect()
    };
    let f = |f: pb::ConntrackFilter| f;
    assert_eq!(
        sports(d.list(f(pb::ConntrackFilter {
            proto: Some(17),
            ..Default::default()
        }))),
        [5000, 5001]
    );
    assert_eq!(
        sports(d.list(pb::ConntrackFilter {
            status: vec!["SEEN_REPLY".into()],
            ..Default::default()
        })),
        [40000, 5000]
    );
    assert_eq!(
        sports(d.list(pb::ConntrackFilter {
            status: vec!["ASSURED".into()],
            ..Default::default()
        })),
        [40000]
    );
    assert_eq!(
        sports(d.list(pb::ConntrackFilter {
            tcp_state: vec!["ESTABLISHED".into()],
            ..Default::default()
        })),
        [40000]
    );
    assert_eq!(
        sports(d.list(pb::ConntrackFilter {
            reply_dst: Some("203.0.113.0/24".into()),
            src_nat: true,
            orig_src: Some("192.168.1.10".into()),
            ..Default::default()
        })),
        [40000, 5000, 5001]
    );
    assert_eq!(
        sports(d.list(pb::ConntrackFilter {
            proto: Some(17),
            reply_sport: Some(53),
            reply_dport: Some(5001),
            ..Default::default()
        })),
        [5001]
    );
    assert!(d
        .list(pb::ConntrackFilter {
            dst_nat: true,
            ..Default::default()
        })
        .is_empty());
    assert!(d
        .list(pb::ConntrackFilter {
            orig_dst: Some("10.0.0.0/8".into()),
            ..Default::default()
        })
        .is_empty());

    // Bad filters: INVALID_ARGUMENT with conntrack's words; nothing changes.
    let bad = |d: &mut Daemon, f: pb::ConntrackFilter| {
        let e = d.served.rt.block_on(d.ct.delete(f)).expect_err("refused");
        assert_eq!(e.code(), Code::InvalidArgument);
        e.message().to_string()
    };
    assert_eq!(
        bad(
            &mut d,
            pb::ConntrackFilter {
                orig_src: Some("1.2.3.x".into()),
                ..Default::default()
            }
        ),
        "Invalid IP address `1.2.3.x'"
    );
    assert_eq!(
        bad(
            &mut d,
            pb::ConntrackFilter {
                orig_dst: Some("10.0.0.0/33".into()),
                ..Default::default()
            }
        ),
        "Invalid netmask"
    );
    assert_eq!(
        bad(
            &mut d,
            pb::ConntrackFilter {
                status: vec!["FOO".into()],
                ..Default::default()
            }
        ),
        "Bad parameter `FOO'"
    );
    assert_eq!(
        bad(
            &mut d,
            pb::ConntrackFilter {
                tcp_state: vec!["OPEN".into()],
                ..Default::default()
            }
        ),
        "unknown TCP state `OPEN'"
    );
    assert_eq!(d.count().0, 3);

    // Get: one exact tuple, either direction.
    let get = |d: &mut Daemon, f: pb::ConntrackFilter| d.served.rt.block_on(d.ct.get(f));
    let by_orig = get(
        &mut d,
        pb::ConntrackFilter {
            proto: Some(17),
            orig_src: Some("192.168.1.10".into()),
            orig_dst: Some("93.184.216.34".into()),
            orig_sport: Some(5001),
            orig_dport: Some(53),
            ..Default::default()
        },
    )
    .expect("found")
    .into_inner()
    .entries;
    assert_eq!(by_orig.len(), 1);
    assert_eq!(by_orig[0].id, unanswered.id);
    let by_reply = get(
        &mut d,
        pb::ConntrackFilter {
            proto: Some(6),
            reply_src: Some("93.184.216.34".into()),
            reply_dst: Some("203.0.113.1".into()),
            reply_sport: Some(80),
            reply_dport: Some(40000),
            ..Default::default()
        },
    )
    .expect("found")
    .into_inner()
    .entries;
    assert_eq!(by_reply[0].id, tcp_e.id);
    let missing = get(
        &mut d,
        pb::ConntrackFilter {
            proto: Some(17),
            orig_src: Some("192.168.1.10".into()),
            orig_dst: Some("93.184.216.34".into()),
            orig_sport: Some(5002),
            orig_dport: Some(53),
            ..Default::default()
        },
    )
    .expect_err("no such entry");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        missing.message(),
        "Operation failed: such conntrack doesn't exist"
    );
    let incomplete = get(
        &mut d,
        pb::ConntrackFilter {
            proto: Some(17),
            orig_src: Some("192.168.1.10".into()),
            orig_dst: Some("93.184.216.34".into()),
            ..Default::default()
        },
    )
    .expect_err("no ports");
    assert_eq!(incomplete.code(), Code::InvalidArgument);
    assert_eq!(
        incomplete.message(),
        "you have to specify `--sport' and `--dport'"
    );

    // Delete exactly the answered UDP flow.
    let deleted = d
        .served
        .rt
        .block_on(d.ct.delete(pb::ConntrackFilter {
            proto: Some(17),
            orig_sport: Some(5000),
            ..Default::default()
        }))
        .expect("delete")
        .into_inner()
        .deleted;
    assert_eq!(deleted, 1);
    assert_eq!(sports(d.list(Default::default())), [40000, 5001]);
    // Its next packet is NEW again (the rule counts it) and the entry is back, unreplied.
    d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 5000, 53)));
    assert_eq!(d.wires[WAN].wait(1, PATIENCE).len(), 1);
    frames += 1;
    d.processed(frames);
    assert_eq!(d.new_count(), 4);
    let back = d.list(pb::ConntrackFilter {
        orig_sport: Some(5000),
        ..Default::default()
    });
    assert_eq!(back.len(), 1);
    assert_eq!(
        back[0].status,
        ["CONFIRMED", "SRC_NAT", "SRC_NAT_DONE", "DST_NAT_DONE"]
    );
    // A packet of a surviving established flow is not NEW.
    d.wires[LAN].inject(0, &from_lan(&tcp(HOST, SERVER, 40000, 80, ACK, 1001, 5001)));
    assert_eq!(d.wires[WAN].wait(1, PATIENCE).len(), 1);
    frames += 1;
    d.processed(frames);
    assert_eq!(d.new_count(), 4);

    assert_eq!(d.count(), (3, 4096));
    let s = d.stats();
    assert_eq!((s.worker, s.entries, s.insert), (0, 3, 4));
    assert!(s.found >= 4, "{s:?}");
    assert_eq!(
        (s.invalid, s.drop, s.early_drop, s.insert_failed),
        (0, 0, 0, 0)
    );

    let flushed = d
        .served
        .rt
        .block_on(d.ct.flush(pb::FlushRequest::default()))
        .expect("flush")
        .into_inner()
        .deleted;
    assert_eq!(flushed, 3);
    assert_eq!(d.count(), (0, 4096));
    assert!(d.list(Default::default()).is_empty());
    assert_eq!(d.stats().entries, 0);
}

/// Conntrack.Update (`conntrack -U -m VALUE/MASK`) on the IPv4 table: the masked bits of
/// the entries the filter selects, only those that change returned (use=2).
#[test]
fn update_sets_the_masked_mark_bits_of_the_selected_ipv4_entries() {
    let mut d = Daemon::start();
    three_flows(&d);
    let update = |d: &mut Daemon, filter: pb::ConntrackFilter, mark, mark_mask| {
        let req = pb::UpdateRequest {
            filter: Some(filter),
            mark,
            mark_mask,
        };
        d.served
            .rt
            .block_on(d.ct.update(req))
            .expect("update")
            .into_inner()
            .entries
    };
    let udp_5000 = pb::ConntrackFilter {
        proto: Some(17),
        orig_sport: Some(5000),
        orig_src: Some("192.168.1.0/24".into()),
        ..Default::default()
    };
    let up = update(&mut d, udp_5000.clone(), 0x12, u32::MAX);
    assert_eq!(up.len(), 1);
    assert_eq!((up[0].mark, up[0].r#use), (0x12, 2));
    assert!(update(&mut d, udp_5000, 0x12, u32::MAX).is_empty());
    // An IPv6 prefix selects nothing of the IPv4 table.
    let v6 = pb::ConntrackFilter {
        orig_src: Some("::/0".into()),
        family: Some(4),
        ..Default::default()
    };
    assert!(update(&mut d, v6, 1, 1).is_empty());
    let all = update(&mut d, Default::default(), 0x300, 0xff00);
    let mut marks: Vec<u32> = all.iter().map(|e| e.mark).collect();
    marks.sort();
    assert_eq!(marks, [0x300, 0x300, 0x312]);
    let listed: Vec<u32> = d.list(Default::default()).iter().map(|e| e.mark).collect();
    assert_eq!(listed.iter().filter(|m| **m == 0x312).count(), 1);
}

#[test]
fn events_stream_new_update_destroy_and_survives_a_client_that_goes() {
    let mut d = Daemon::start();
    let mut ct = d.ct.clone();
    let mut events = d
        .served
        .rt
        .block_on(ct.events(pb::EventsRequest {
            types: vec![],
            filter: Some(pb::ConntrackFilter {
                proto: Some(17),
                ..Default::default()
            }),
        }))
        .expect("events")
        .into_inner();
    d.listeners_become(1, 0);
    three_flows(&d);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let ev = d.next(&mut events).expect("an event");
        seen.push(ev.line.clone());
        assert_eq!(ev.lost, 0);
        assert_eq!(ev.entry.as_ref().unwrap().proto, 17, "the filter applies");
    }
    assert_eq!(
        seen,
        [
            "    [NEW] udp      17 30 src=192.168.1.10 dst=93.184.216.34 sport=5000 dport=53 [UNREPLIED] src=93.184.216.34 dst=203.0.113.1 sport=53 dport=5000",
            "    [NEW] udp      17 30 src=192.168.1.10 dst=93.184.216.34 sport=5001 dport=53 [UNREPLIED] src=93.184.216.34 dst=203.0.113.1 sport=53 dport=5001",
            " [UPDATE] udp      17 30 src=192.168.1.10 dst=93.184.216.34 sport=5000 dport=53 src=93.184.216.34 dst=203.0.113.1 sport=53 dport=5000",
        ]
    );
    d.served
        .rt
        .block_on(d.ct.delete(pb::ConntrackFilter {
            orig_sport: Some(5000),
            ..Default::default()
        }))
        .expect("delete");
    let destroy = d.next(&mut events).expect("DESTROY");
    assert_eq!(destroy.r#type, "DESTROY");
    assert!(
        destroy.line.starts_with("[DESTROY] udp      17 "),
        "{}",
        destroy.line
    );
    let e = destroy.entry.unwrap();
    assert_eq!(
        e.orig,
        Some(tuple("192.168.1.10", "93.184.216.34", 5000, 53))
    );
    assert_eq!((e.orig_packets, e.reply_packets), (1, 1));

    // Only the kinds asked for.
    let mut only_destroy = d
        .served
        .rt
        .block_on(ct.events(pb::EventsRequest {
            types: vec!["DESTROY".into()],
            filter: None,
        }))
        .expect("events")
        .into_inner();
    d.listeners_become(2, 0);
    let bad = d
        .served
        .rt
        .block_on(ct.events(pb::EventsRequest {
            types: vec!["CREATE".into()],
            filter: None,
        }))
        .expect_err("unknown type");
    assert_eq!(bad.code(), Code::InvalidArgument);
    d.served
        .rt
        .block_on(d.ct.flush(pb::FlushRequest::default()))
        .expect("flush");
    let mut destroyed = Vec::new();
    for _ in 0..2 {
        let ev = d.next(&mut only_destroy).expect("DESTROY");
        assert_eq!(ev.r#type, "DESTROY");
        destroyed.push(ev.entry.unwrap().proto);
    }
    destroyed.sort();
    assert_eq!(destroyed, [6, 17]);

    // Clients that go mid-stream (one with events still unread): the worker unsubscribes
    // them and keeps forwarding.
    d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 6000, 53)));
    assert_eq!(d.wires[WAN].wait(1, PATIENCE).len(), 1);
    drop(events);
    drop(only_destroy);
    d.listeners_become(0, 0);
    d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 6001, 53)));
    assert_eq!(
        d.wires[WAN].wait(1, PATIENCE).len(),
        1,
        "the worker still forwards"
    );
    d.processed(8);
    assert_eq!(d.count().0, 2);
    assert_eq!(d.stats().events_lost, 0);
}

// ---- Trace ----

#[test]
fn trace_streams_the_matching_flow_only_and_stops_after_limit() {
    let mut d = Daemon::start();
    let mut trace = d.trace.clone();
    let mut watch = d
        .served
        .rt
        .block_on(trace.watch(pb::TraceFilter {
            proto: Some(17),
            src: Some("192.168.1.10".into()),
            dport: Some(53),
            iface: "lan0".into(),
            limit: 2,
            ..Default::default()
        }))
        .expect("watch")
        .into_inner();
    d.listeners_become(0, 1);
    let (lan, wan) = (&d.wires[LAN], &d.wires[WAN]);
    // Not selected: another protocol, another port, the reply (it comes in on wan0).
    lan.inject(0, &from_lan(&tcp(HOST, SERVER, 40000, 53, SYN, 1, 0)));
    lan.inject(0, &from_lan(&udp(HOST, SERVER, 7000, 54)));
    assert_eq!(wan.wait(2, PATIENCE).len(), 2);
    lan.inject(0, &from_lan(&udp(HOST, SERVER, 7000, 53)));
    assert_eq!(wan.wait(1, PATIENCE).len(), 1);
    wan.inject(0, &from_wan(&udp(SERVER, WAN_ADDR, 53, 7000)));
    assert_eq!(d.wires[LAN].wait(1, PATIENCE).len(), 1);
    for _ in 0..2 {
        d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 7000, 53)));
        assert_eq!(d.wires[WAN].wait(1, PATIENCE).len(), 1);
    }
    d.processed(6);
    let mut lines = Vec::new();
    while let Some(ev) = d.next(&mut watch) {
        assert_eq!((ev.worker, ev.lost), (0, 0));
        lines.push((ev.packet, ev.line));
    }
    let packets: Vec<u64> = lines.iter().map(|l| l.0).collect();
    assert!(packets.contains(&1) && packets.contains(&2), "{lines:#?}");
    assert!(packets.iter().all(|&p| p == 1 || p == 2));
    for (_, l) in &lines {
        assert!(l.starts_with("TRACE: "), "{l}");
        assert!(
            l.contains(" IN=lan0 ")
                && l.contains("SRC=192.168.1.10 ")
                && l.contains("PROTO=UDP SPT=7000 DPT=53 "),
            "{l}"
        );
    }
    // The forwarded path of one packet, in the kernel's order.
    let first: Vec<&str> = lines
        .iter()
        .filter(|l| l.0 == 1)
        .map(|l| l.1.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(
        first,
        [
            "raw:PREROUTING:policy:1",
            "mangle:PREROUTING:policy:1",
            "nat:PREROUTING:policy:1",
            "mangle:FORWARD:policy:1",
            "filter:FORWARD:rule:1",
            "filter:FORWARD:policy:2",
            "mangle:POSTROUTING:policy:1",
            "nat:POSTROUTING:rule:1",
        ],
        "{lines:#?}"
    );
    // Tracing is off again once the limit was reached.
    d.listeners_become(0, 0);
}

#[test]
fn trace_watches_end_with_their_client_and_bad_filters_are_refused() {
    let mut d = Daemon::start();
    let mut trace = d.trace.clone();
    let unknown = d
        .served
        .rt
        .block_on(trace.watch(pb::TraceFilter {
            iface: "eth9".into(),
            ..Default::default()
        }))
        .expect_err("no such port");
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(unknown.message(), "unknown interface `eth9'");
    let bad = d
        .served
        .rt
        .block_on(trace.watch(pb::TraceFilter {
            dst: Some("93.184.216".into()),
            ..Default::default()
        }))
        .expect_err("bad address");
    assert_eq!(bad.message(), "Invalid IP address `93.184.216'");
    d.listeners_become(0, 0);

    // Two watches at once, each with its own filter.
    let watch = |d: &mut Daemon, dport: u32| {
        let mut t = d.trace.clone();
        d.served
            .rt
            .block_on(t.watch(pb::TraceFilter {
                dport: Some(dport),
                ..Default::default()
            }))
            .expect("watch")
            .into_inner()
    };
    let mut dns = watch(&mut d, 53);
    let mut web = watch(&mut d, 80);
    d.listeners_become(0, 2);
    d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 7000, 53)));
    assert_eq!(d.wires[WAN].wait(1, PATIENCE).len(), 1);
    let l = d.next(&mut dns).expect("a line");
    assert!(l.line.contains("DPT=53 ") && l.packet == 1, "{}", l.line);
    d.wires[LAN].inject(0, &from_lan(&tcp(HOST, SERVER, 40000, 80, SYN, 1, 0)));
    assert_eq!(d.wires[WAN].wait(1, PATIENCE).len(), 1);
    let l = d.next(&mut web).expect("a line");
    assert!(l.line.contains("DPT=80 ") && l.packet == 1, "{}", l.line);
    // The client goes: its watch closes on the worker, the other stays.
    drop(web);
    d.listeners_become(0, 1);
    drop(dns);
    d.listeners_become(0, 0);
    d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 7001, 53)));
    assert_eq!(
        d.wires[WAN].wait(1, PATIENCE).len(),
        1,
        "forwarding goes on untraced"
    );
}

#[test]
fn a_slow_events_reader_loses_events_counted_and_never_stalls_the_worker() {
    let mut d = Daemon::start();
    let mut ct = d.ct.clone();
    let mut events = d
        .served
        .rt
        .block_on(ct.events(pb::EventsRequest::default()))
        .expect("events")
        .into_inner();
    d.listeners_become(1, 0);
    // Far more events than the stream buffers while nobody reads: 6000 new flows (and,
    // the table holding 4096, an early-drop DESTROY for each beyond that).
    let flows = 6000u16;
    for i in 0..flows {
        d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 10_000 + i, 53)));
    }
    d.processed(u64::from(flows));
    assert_eq!(
        d.wires[WAN].wait(usize::from(flows), PATIENCE).len(),
        usize::from(flows)
    );
    let lost_on_worker = d.stats().events_lost;
    assert!(lost_on_worker > 0, "the reader fell behind");
    // One more event after the backlog carries what was lost last.
    let mut delivered = 0u64;
    let mut lost = 0u64;
    let mut last = String::new();
    let deadline = Instant::now() + PATIENCE;
    while !last.contains("sport=9999 ") {
        if delivered == 4000 {
            d.wires[LAN].inject(0, &from_lan(&udp(HOST, SERVER, 9999, 53)));
        }
        let ev = d.next(&mut events).expect("an event");
        delivered += 1;
        lost += ev.lost;
        last = ev.line;
        assert!(Instant::now() < deadline, "{delivered} events read");
    }
    let s = d.stats();
    assert_eq!(s.insert, u64::from(flows) + 1);
    assert_eq!(s.early_drop, s.insert - 4096);
    assert_eq!(lost, s.events_lost, "every loss is reported to the stream");
    assert_eq!(
        delivered + lost,
        s.insert + s.early_drop,
        "every event is delivered or counted lost"
    );
}

// ---- several workers ----

#[test]
fn every_shard_is_listed_deleted_counted_and_followed() {
    let mut d = Daemon::start_with(2);
    let mut ct = d.ct.clone();
    let mut events = d
        .served
        .rt
        .block_on(ct.events(pb::EventsRequest {
            types: vec!["NEW".into()],
            filter: None,
        }))
        .expect("events")
        .into_inner();
    d.listeners_become(1, 0);
    // One flow through each worker.
    for (w, sport) in [(0usize, 5000u16), (1, 6000)] {
        let (lan, wan) = (&d.workers.queues[w][LAN], &d.workers.queues[w][WAN]);
        lan.inject(w, &from_lan(&udp(HOST, SERVER, sport, 53)));
        assert_eq!(wan.wait(1, PATIENCE).len(), 1);
        d.processed_on(w, 1);
    }
    let all = d.list(Default::default());
    let placed: Vec<(u32, u32)> = all
        .iter()
        .map(|e| (e.worker, e.orig.as_ref().unwrap().sport))
        .collect();
    assert_eq!(placed, [(0, 5000), (1, 6000)]);
    let mut news: Vec<(u32, String)> = (0..2)
        .map(|_| {
            let ev = d.next(&mut events).expect("NEW");
            (ev.entry.unwrap().worker, ev.r#type)
        })
        .collect();
    news.sort();
    assert_eq!(news, [(0, "NEW".to_string()), (1, "NEW".to_string())]);
    assert_eq!(d.count(), (2, 4096));
    let stats = d
        .served
        .rt
        .block_on(d.ct.stats(pb::ConntrackStatsRequest {}))
        .expect("stats")
        .into_inner()
        .workers;
    let per_worker: Vec<(u32, u64)> = stats.iter().map(|s| (s.worker, s.entries)).collect();
    assert_eq!(per_worker, [(0, 1), (1, 1)]);
    // A get finds the entry in whichever shard holds it.
    let got = d
        .served
        .rt
        .block_on(d.ct.get(pb::ConntrackFilter {
            proto: Some(17),
            orig_src: Some("192.168.1.10".into()),
            orig_dst: Some("93.184.216.34".into()),
            orig_sport: Some(6000),
            orig_dport: Some(53),
            ..Default::default()
        }))
        .expect("found")
        .into_inner()
        .entries;
    assert_eq!(got[0].worker, 1);
    let deleted = d
        .served
        .rt
        .block_on(d.ct.delete(pb::ConntrackFilter {
            proto: Some(17),
            orig_dport: Some(53),
            ..Default::default()
        }))
        .expect("delete")
        .into_inner()
        .deleted;
    assert_eq!(deleted, 2, "gone from both shards");
    assert_eq!(d.count(), (0, 4096));
    assert!(d.list(Default::default()).is_empty());
}
