//! The built nfdpctl binary against a fake daemon (Rules and Conntrack services on a Unix
//! socket in a temp dir) that records the requests and answers canned replies: output and
//! exit codes are forwarded exactly, conntrack entries print as conntrack 1.4.7 printed the
//! same entries (tests/golden/conntrack), the right filters and texts reach the daemon.

mod support;

use support::ct_entries;

use control::api::pb::conntrack_server::{Conntrack, ConntrackServer};
use control::api::pb::net_server::{Net, NetServer};
use control::api::pb::rules_server::{Rules, RulesServer};
use control::api::pb::stats_server::{Stats, StatsServer};
use control::api::pb::sysctl_server::{Sysctl, SysctlServer};
use control::api::pb::trace_server::{Trace, TraceServer};
use control::api::pb::*;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// What the fake daemon was asked, in order.
#[derive(Clone, Debug, PartialEq)]
enum Call {
    Exec(Vec<String>),
    Restore(RestoreRequest),
    Save(SaveRequest),
    List(ConntrackFilter),
    Get(ConntrackFilter),
    Delete(ConntrackFilter),
    Flush,
    Count,
    Stats,
    Events(EventsRequest),
    SysctlGet(Vec<String>),
    SysctlSet(Vec<(String, String)>),
    Trace(TraceFilter),
    AddRoute(Route),
}

#[derive(Clone, Default)]
struct Fake {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Fake {
    fn record(&self, c: Call) {
        self.calls.lock().unwrap().push(c);
    }
    /// The fake table: the five entries of the capture, filtered on the fields the tests use.
    fn matching(f: &ConntrackFilter) -> Vec<ConntrackEntry> {
        use ct_entries::*;
        let all = vec![icmp(), tcp1(), tcp2(), udp3(), udp4()];
        all.into_iter()
            .filter(|e| f.proto.is_none_or(|p| p == e.proto))
            .filter(|e| {
                f.orig_dport
                    .is_none_or(|p| Some(p) == e.orig.as_ref().map(|t| t.dport))
            })
            .filter(|e| {
                f.orig_src
                    .as_ref()
                    .is_none_or(|s| Some(s) == e.orig.as_ref().map(|t| &t.src))
            })
            .collect()
    }
}

#[tonic::async_trait]
impl Rules for Fake {
    async fn restore(&self, r: Request<RestoreRequest>) -> Result<Response<RestoreReply>, Status> {
        let r = r.into_inner();
        self.record(Call::Restore(r.clone()));
        if r.text.contains("-A NOSUCHCHAIN") {
            return Err(Status::invalid_argument(
                "iptables-restore: line 2 failed: No chain/target/match by that name.",
            ));
        }
        Ok(Response::new(RestoreReply { generation: 2 }))
    }
    async fn exec(&self, r: Request<ExecRequest>) -> Result<Response<ExecReply>, Status> {
        let args = r.into_inner().args;
        self.record(Call::Exec(args.clone()));
        if args == ["-L", "NOPE"] {
            return Ok(Response::new(ExecReply {
                stdout: String::new(),
                stderr: "iptables: No chain/target/match by that name.\n".into(),
                exit_code: 1,
                generation: 0,
            }));
        }
        Ok(Response::new(ExecReply {
            stdout: format!("ran {}\n  second line without newline", args.join(" ")),
            stderr: "a warning\n".into(),
            exit_code: 3,
            generation: 0,
        }))
    }
    async fn save(&self, r: Request<SaveRequest>) -> Result<Response<SaveReply>, Status> {
        let r = r.into_inner();
        self.record(Call::Save(r.clone()));
        if r.table == "bogus" {
            return Err(Status::invalid_argument("Table `bogus' does not exist"));
        }
        Ok(Response::new(SaveReply {
            text: "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n".into(),
        }))
    }
    async fn zero(&self, _: Request<ZeroRequest>) -> Result<Response<ZeroReply>, Status> {
        Ok(Response::new(ZeroReply {}))
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<ConntrackEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Conntrack for Fake {
    async fn list(
        &self,
        r: Request<ConntrackFilter>,
    ) -> Result<Response<ConntrackEntries>, Status> {
        let f = r.into_inner();
        self.record(Call::List(f.clone()));
        if f.status == ["UNSET"] {
            return Err(Status::invalid_argument(
                "Operation failed: invalid parameters",
            ));
        }
        Ok(Response::new(ConntrackEntries {
            entries: Fake::matching(&f),
        }))
    }
    async fn get(&self, r: Request<ConntrackFilter>) -> Result<Response<ConntrackEntries>, Status> {
        let f = r.into_inner();
        self.record(Call::Get(f.clone()));
        let entries: Vec<_> = Fake::matching(&f)
            .into_iter()
            .filter(|e| {
                f.orig_sport
                    .is_none_or(|p| Some(p) == e.orig.as_ref().map(|t| t.sport))
            })
            .collect();
        if entries.is_empty() {
            return Err(Status::not_found(
                "Operation failed: such conntrack doesn't exist",
            ));
        }
        Ok(Response::new(ConntrackEntries {
            entries: entries
                .into_iter()
                .map(|e| ConntrackEntry { r#use: 2, ..e })
                .collect(),
        }))
    }
    async fn delete(&self, r: Request<ConntrackFilter>) -> Result<Response<DeleteReply>, Status> {
        let f = r.into_inner();
        self.record(Call::Delete(f.clone()));
        Ok(Response::new(DeleteReply {
            deleted: Fake::matching(&f).len() as u64,
        }))
    }
    async fn flush(&self, _: Request<FlushRequest>) -> Result<Response<DeleteReply>, Status> {
        self.record(Call::Flush);
        Ok(Response::new(DeleteReply { deleted: 5 }))
    }
    async fn count(&self, _: Request<CountRequest>) -> Result<Response<CountReply>, Status> {
        self.record(Call::Count);
        Ok(Response::new(CountReply {
            count: 5,
            max: 262_144,
        }))
    }
    async fn stats(
        &self,
        _: Request<ConntrackStatsRequest>,
    ) -> Result<Response<ConntrackStatsReply>, Status> {
        self.record(Call::Stats);
        let w = |worker| ConntrackWorkerStats {
            worker,
            ..Default::default()
        };
        Ok(Response::new(ConntrackStatsReply {
            workers: vec![w(0), w(1)],
        }))
    }
    async fn update(
        &self,
        r: Request<UpdateRequest>,
    ) -> Result<Response<ConntrackEntries>, Status> {
        let r = r.into_inner();
        let f = r.filter.unwrap_or_default();
        self.record(Call::List(f.clone()));
        Ok(Response::new(ConntrackEntries {
            entries: Fake::matching(&f)
                .into_iter()
                .map(|e| ConntrackEntry {
                    mark: (e.mark & !r.mark_mask) | (r.mark & r.mark_mask),
                    r#use: 2,
                    ..e
                })
                .collect(),
        }))
    }
    type EventsStream = EventStream;
    async fn events(&self, r: Request<EventsRequest>) -> Result<Response<EventStream>, Status> {
        let req = r.into_inner();
        self.record(Call::Events(req.clone()));
        if req.filter.as_ref().and_then(|f| f.proto) == Some(6) {
            // One event, then nothing until the client goes (conntrack -E waits for Ctrl-C).
            let first = ConntrackEvent {
                r#type: "NEW".into(),
                entry: Some(ct_entries::tcp1()),
                line: String::new(),
                lost: 0,
            };
            let s = tokio_stream::StreamExt::chain(
                tokio_stream::iter(vec![Ok(first)]),
                tokio_stream::pending(),
            );
            return Ok(Response::new(Box::pin(s)));
        }
        let new = ct_entries::flow(17, 40005, 5354, &[], "", 7);
        let replied = ct_entries::flow(17, 40005, 5354, &["SEEN_REPLY", "CONFIRMED"], "", 7);
        let ev = |t: &str, e: &ConntrackEntry| {
            Ok(ConntrackEvent {
                r#type: t.into(),
                entry: Some(e.clone()),
                line: String::new(),
                lost: 0,
            })
        };
        let events = vec![
            ev("NEW", &new),
            ev("UPDATE", &replied),
            ev("DESTROY", &replied),
        ];
        Ok(Response::new(Box::pin(tokio_stream::iter(events))))
    }
}

#[tonic::async_trait]
impl Sysctl for Fake {
    async fn get(&self, r: Request<SysctlGetRequest>) -> Result<Response<SysctlReply>, Status> {
        let names = r.into_inner().names;
        self.record(Call::SysctlGet(names.clone()));
        let known = |n: &str| match n {
            "net.netfilter.nf_conntrack_max" | "nf_conntrack_max" => {
                Some(("net.netfilter.nf_conntrack_max", "262144"))
            }
            "net.netfilter.nf_conntrack_udp_timeout" => {
                Some(("net.netfilter.nf_conntrack_udp_timeout", "30"))
            }
            _ => None,
        };
        let names = if names.is_empty() {
            vec![
                "net.netfilter.nf_conntrack_max".to_string(),
                "net.netfilter.nf_conntrack_udp_timeout".to_string(),
            ]
        } else {
            names
        };
        let mut values = Vec::new();
        for n in &names {
            let (name, value) = known(n).ok_or_else(|| {
                Status::not_found(format!(
                    "cannot stat /proc/sys/{}: No such file or directory",
                    n.replace('.', "/")
                ))
            })?;
            values.push(SysctlValue {
                name: name.into(),
                value: value.into(),
            });
        }
        Ok(Response::new(SysctlReply { values }))
    }
    async fn set(&self, r: Request<SysctlSetRequest>) -> Result<Response<SysctlReply>, Status> {
        let values = r.into_inner().values;
        self.record(Call::SysctlSet(
            values
                .iter()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
        ));
        if values.iter().any(|v| v.value == "0") {
            return Err(Status::invalid_argument(
                "setting key \"net.netfilter.nf_conntrack_max\": Invalid argument",
            ));
        }
        Ok(Response::new(SysctlReply { values }))
    }
}

type TraceStream = Pin<Box<dyn Stream<Item = Result<TraceEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Trace for Fake {
    type WatchStream = TraceStream;
    async fn watch(&self, r: Request<TraceFilter>) -> Result<Response<TraceStream>, Status> {
        self.record(Call::Trace(r.into_inner()));
        // Two lines per packet, packets 1..=3, and then more than any limit asked for.
        let ev = |packet: u64, rule: &str| {
            Ok(TraceEvent { line: format!("TRACE: filter:FORWARD:{rule} IN=lan0 OUT=wan0 SRC=10.0.0.2 DST=1.1.1.1 PROTO=TCP DPT=80 ID={packet}"), worker: 0, packet, lost: 0 })
        };
        let events: Vec<_> = (1..=5)
            .flat_map(|p| [ev(p, "rule:1"), ev(p, "policy:2")])
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(events))))
    }
}

#[tonic::async_trait]
impl Stats for Fake {
    async fn get(&self, _: Request<StatsRequest>) -> Result<Response<StatsReply>, Status> {
        Ok(Response::new(StatsReply {
            ports: vec![PortStats {
                name: "lan0".into(),
                up: true,
                rx_packets: 10,
                rx_bytes: 1000,
                ..Default::default()
            }],
            workers: vec![WorkerStats {
                index: 0,
                core: 2,
                busy_ratio: 0.25,
                conntrack_entries: 5,
                ..Default::default()
            }],
            drops: vec![
                DropReason {
                    reason: "no_route".into(),
                    packets: 3,
                },
                DropReason {
                    reason: "dropped_by_rules".into(),
                    packets: 7,
                },
            ],
            ruleset_generation: 4,
            swap_latency_ns: 1200,
            uptime_seconds: 60,
        }))
    }
}

#[tonic::async_trait]
impl Net for Fake {
    async fn list_interfaces(
        &self,
        _: Request<ListInterfacesRequest>,
    ) -> Result<Response<ListInterfacesReply>, Status> {
        Ok(Response::new(ListInterfacesReply::default()))
    }
    async fn list_routes(
        &self,
        _: Request<ListRoutesRequest>,
    ) -> Result<Response<ListRoutesReply>, Status> {
        let routes = vec![
            Route {
                dst: "0.0.0.0/0".into(),
                via: "203.0.113.1".into(),
                dev: "wan0".into(),
                table: 254,
                proto: "static".into(),
                ..Default::default()
            },
            Route {
                dst: "10.0.0.0/24".into(),
                dev: "lan0".into(),
                table: 254,
                proto: "connected".into(),
                src: "10.0.0.1".into(),
                ..Default::default()
            },
        ];
        Ok(Response::new(ListRoutesReply { routes }))
    }
    async fn add_route(&self, r: Request<Route>) -> Result<Response<NetReply>, Status> {
        let r = r.into_inner();
        self.record(Call::AddRoute(r.clone()));
        if r.dev == "nosuch0" {
            return Err(Status::invalid_argument("No such device"));
        }
        Ok(Response::new(NetReply {}))
    }
    async fn delete_route(&self, _: Request<Route>) -> Result<Response<NetReply>, Status> {
        Ok(Response::new(NetReply {}))
    }
    async fn list_policy_rules(
        &self,
        _: Request<ListPolicyRulesRequest>,
    ) -> Result<Response<ListPolicyRulesReply>, Status> {
        Ok(Response::new(ListPolicyRulesReply::default()))
    }
    async fn add_policy_rule(&self, _: Request<PolicyRule>) -> Result<Response<NetReply>, Status> {
        Ok(Response::new(NetReply {}))
    }
    async fn delete_policy_rule(
        &self,
        _: Request<PolicyRule>,
    ) -> Result<Response<NetReply>, Status> {
        Ok(Response::new(NetReply {}))
    }
    async fn list_neighbors(
        &self,
        _: Request<ListNeighborsRequest>,
    ) -> Result<Response<ListNeighborsReply>, Status> {
        Ok(Response::new(ListNeighborsReply::default()))
    }
    async fn add_neighbor(&self, _: Request<Neighbor>) -> Result<Response<NetReply>, Status> {
        Ok(Response::new(NetReply {}))
    }
    async fn delete_neighbor(&self, _: Request<Neighbor>) -> Result<Response<NetReply>, Status> {
        Ok(Response::new(NetReply {}))
    }
}

/// A fake daemon on DIR/nfdp.sock, served from its own thread for the test's life.
struct Daemon {
    dir: PathBuf,
    socket: PathBuf,
    fake: Fake,
}

impl Daemon {
    fn start(name: &str) -> Daemon {
        let dir = std::env::temp_dir().join(format!("nfdpctl-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("nfdp.sock");
        let fake = Fake::default();
        let (s, f) = (socket.clone(), fake.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::UnixListener::bind(&s).unwrap();
                let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
                tonic::transport::Server::builder()
                    .add_service(RulesServer::new(f.clone()))
                    .add_service(ConntrackServer::new(f.clone()))
                    .add_service(SysctlServer::new(f.clone()))
                    .add_service(TraceServer::new(f.clone()))
                    .add_service(StatsServer::new(f.clone()))
                    .add_service(NetServer::new(f))
                    .serve_with_incoming(incoming)
                    .await
                    .unwrap();
            });
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "fake daemon did not bind {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Daemon { dir, socket, fake }
    }

    fn calls(&self) -> Vec<Call> {
        self.fake.calls.lock().unwrap().clone()
    }

    /// Runs `nfdpctl --socket S ARGS` (stdin: `input`).
    fn ctl(&self, args: &[&str], input: &str) -> (String, String, i32) {
        let mut all = vec!["--socket", self.socket.to_str().unwrap()];
        all.extend_from_slice(args);
        run(Path::new(env!("CARGO_BIN_EXE_nfdpctl")), &all, input, None)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs a program with NFDP_SOCKET = `socket` (or none of the NFDP_ variables).
fn run(prog: &Path, args: &[&str], input: &str, socket: Option<&Path>) -> (String, String, i32) {
    let mut cmd = Command::new(prog);
    cmd.args(args).env_remove("NFDP_SOCKET");
    if let Some(s) = socket {
        cmd.env("NFDP_SOCKET", s);
    }
    let out = support::process::run(cmd, input.as_bytes());
    (out.stdout, out.stderr, out.rc)
}

fn golden(name: &str) -> (String, String, i32) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/conntrack");
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap();
    (read("out"), read("err"), read("rc").trim().parse().unwrap())
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

#[test]
fn iptables_output_and_exit_code_are_forwarded_exactly() {
    let d = Daemon::start("exec");
    let (out, err, rc) = d.ctl(
        &[
            "iptables",
            "-w",
            "-I",
            "f2b-sshd",
            "1",
            "-s",
            "192.0.2.7",
            "-j",
            "REJECT",
            "--reject-with",
            "icmp-port-unreachable",
        ],
        "",
    );
    assert_eq!(out, "ran -I f2b-sshd 1 -s 192.0.2.7 -j REJECT --reject-with icmp-port-unreachable\n  second line without newline");
    assert_eq!((err.as_str(), rc), ("a warning\n", 3));
    let (out, err, rc) = d.ctl(&["iptables", "--wait", "5", "-L", "NOPE"], "");
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        ("", "iptables: No chain/target/match by that name.\n", 1)
    );
    assert_eq!(
        d.calls(),
        vec![
            Call::Exec(strings(&[
                "-I",
                "f2b-sshd",
                "1",
                "-s",
                "192.0.2.7",
                "-j",
                "REJECT",
                "--reject-with",
                "icmp-port-unreachable"
            ])),
            Call::Exec(strings(&["-L", "NOPE"])),
        ]
    );
}

#[test]
fn links_behave_as_the_tools_with_nfdp_socket() {
    let d = Daemon::start("links");
    let bin = d.dir.join("bin");
    let (_, err, rc) = run(
        Path::new(env!("CARGO_BIN_EXE_nfdpctl")),
        &["install-links", bin.to_str().unwrap()],
        "",
        None,
    );
    assert_eq!((err.as_str(), rc), ("", 0));
    let (out, _, rc) = run(&bin.join("iptables"), &["-V"], "", None);
    assert_eq!((out.as_str(), rc), ("iptables v1.8.9 (nf_tables)\n", 0));
    let (out, err, rc) = run(
        &bin.join("iptables"),
        &["-w", "-N", "f2b-x"],
        "",
        Some(&d.socket),
    );
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        (
            "ran -N f2b-x\n  second line without newline",
            "a warning\n",
            3
        )
    );
    let (out, err, rc) = run(&bin.join("conntrack"), &["-C"], "", Some(&d.socket));
    assert_eq!((out.as_str(), err.as_str(), rc), ("5\n", "", 0));
    let (out, _, rc) = run(&bin.join("iptables-save"), &[], "", Some(&d.socket));
    assert!(out.contains("\n*filter\n") && rc == 0, "{out}");
    let (_, _, rc) = run(
        &bin.join("iptables-restore"),
        &["-n"],
        "*filter\nCOMMIT\n",
        Some(&d.socket),
    );
    assert_eq!(rc, 0);
    assert_eq!(d.calls().len(), 4);
}

#[test]
fn iptables_save_adds_the_comment_lines() {
    let d = Daemon::start("save");
    let (out, err, rc) = d.ctl(&["iptables-save", "-c", "-t", "filter"], "");
    assert_eq!((err.as_str(), rc), ("", 0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    let stamp = lines[0]
        .strip_prefix("# Generated by iptables-save v1.8.9 (nf_tables) on ")
        .expect(lines[0]);
    assert_eq!(
        &lines[1..5],
        [
            "*filter",
            ":INPUT ACCEPT [0:0]",
            "-A INPUT -j ACCEPT",
            "COMMIT"
        ]
    );
    assert_eq!(lines[5], format!("# Completed on {stamp}"));
    // ctime(3) shape: "Wed Dec  2 00:46:20 2026".
    assert_eq!(stamp.len(), 24, "{stamp}");
    assert_eq!(
        d.calls(),
        vec![Call::Save(SaveRequest {
            table: "filter".into(),
            counters: true,
            family: 0
        })]
    );
    let (out, err, rc) = d.ctl(&["iptables-save", "-t", "bogus"], "");
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        (
            "",
            "iptables-save v1.8.9 (nf_tables): Table `bogus' does not exist\n",
            1
        )
    );
}

#[test]
fn iptables_restore_sends_stdin_and_flags_and_prints_refusals() {
    let d = Daemon::start("restore");
    let text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n";
    let (out, err, rc) = d.ctl(&["iptables-restore", "-n", "-c", "--wait"], text);
    assert_eq!((out.as_str(), err.as_str(), rc), ("", "", 0));
    let bad = "*filter\n-A NOSUCHCHAIN -j ACCEPT\nCOMMIT\n";
    let (out, err, rc) = d.ctl(&["iptables-restore", "-t", "-T", "filter"], bad);
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        (
            "",
            "iptables-restore: line 2 failed: No chain/target/match by that name.\n",
            1
        )
    );
    let file = d.dir.join("rules.v4");
    std::fs::write(&file, text).unwrap();
    let (_, _, rc) = d.ctl(&["iptables-restore", file.to_str().unwrap()], "");
    assert_eq!(rc, 0);
    let (out, err, rc) = d.ctl(&["iptables-restore", "/nonexistent/rules"], "");
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        (
            "",
            "Can't open /nonexistent/rules: No such file or directory\n",
            1
        )
    );
    let req = |text: &str, noflush, counters, test, table: &str| {
        Call::Restore(RestoreRequest {
            text: text.into(),
            noflush,
            counters,
            test,
            table: table.into(),
            family: 0,
        })
    };
    assert_eq!(
        d.calls(),
        vec![
            req(text, true, true, false, ""),
            req(bad, false, false, true, "filter"),
            req(text, false, false, false, "")
        ]
    );
}

#[test]
fn conntrack_prints_as_conntrack_1_4_7() {
    let d = Daemon::start("ct");
    for (golden_name, args) in [
        ("list", vec!["-L"]),
        ("list_extended", vec!["-L", "-o", "extended"]),
        ("list_tcp_dport", vec!["-L", "-p", "tcp", "--dport", "8080"]),
        (
            "get",
            vec![
                "-G", "-p", "tcp", "-s", "10.0.1.2", "-d", "10.0.2.2", "--sport", "40001",
                "--dport", "8080",
            ],
        ),
        (
            "get_missing",
            vec![
                "-G", "-p", "tcp", "-s", "10.9.9.9", "-d", "10.9.9.8", "--sport", "1", "--dport",
                "2",
            ],
        ),
        ("list_status_unset", vec!["-L", "-u", "UNSET", "-p", "udp"]),
        (
            "delete_tcp",
            vec!["-D", "-p", "tcp", "-s", "10.0.1.2", "--dport", "9090"],
        ),
        ("delete_none", vec!["-D", "-p", "udp", "--dport", "1"]),
        ("count", vec!["-C"]),
        ("stats", vec!["-S"]),
        ("flush", vec!["-F"]),
        ("events", vec!["-E", "-p", "udp"]),
        ("bad_option", vec!["-L", "--bogus"]),
    ] {
        let mut all = vec!["conntrack"];
        all.extend(args);
        let (out, err, rc) = d.ctl(&all, "");
        let (g_out, g_err, g_rc) = golden(golden_name);
        assert_eq!(out, g_out, "{golden_name}: stdout");
        assert_eq!(err, g_err, "{golden_name}: stderr");
        // The capture of -E ran under timeout(1), which reports 124; conntrack itself
        // exits 0 when the events end.
        let g_rc = if golden_name == "events" { 0 } else { g_rc };
        assert_eq!(rc, g_rc, "{golden_name}: exit status");
    }
    let calls = d.calls();
    let tcp_9090 = ConntrackFilter {
        proto: Some(6),
        orig_src: Some("10.0.1.2".into()),
        orig_dport: Some(9090),
        // The address's family, as conntrack infers it.
        family: Some(4),
        ..Default::default()
    };
    // -D lists what it is about to delete (conntrack prints it), then deletes with the same filter.
    assert!(
        calls
            .windows(2)
            .any(|w| w == [Call::List(tcp_9090.clone()), Call::Delete(tcp_9090.clone())]),
        "{calls:?}"
    );
    assert!(calls.contains(&Call::Events(EventsRequest {
        types: vec![],
        filter: Some(ConntrackFilter {
            proto: Some(17),
            ..Default::default()
        })
    })));
    // The refused command line never reached the daemon.
    assert_eq!(
        calls.last(),
        Some(&Call::Events(EventsRequest {
            types: vec![],
            filter: Some(ConntrackFilter {
                proto: Some(17),
                ..Default::default()
            })
        }))
    );
    assert!(
        calls.contains(&Call::Flush)
            && calls.contains(&Call::Count)
            && calls.contains(&Call::Stats)
    );
}

#[test]
fn a_missing_daemon_is_named_and_fails_like_the_tool() {
    let sock = "/nonexistent/nfdp-test/nfdp.sock";
    let ctl = Path::new(env!("CARGO_BIN_EXE_nfdpctl"));
    let (out, err, rc) = run(ctl, &["--socket", sock, "iptables", "-L"], "", None);
    assert_eq!((out.as_str(), rc), ("", 4));
    assert_eq!(err, format!("iptables v1.8.9 (nf_tables): cannot connect to nfdp at {sock}: No such file or directory\n"));
    let (_, err, rc) = run(ctl, &["conntrack", "-L"], "", Some(Path::new(sock)));
    assert_eq!(rc, 1);
    assert_eq!(err, format!("conntrack v1.4.7 (conntrack-tools): Operation failed: cannot connect to nfdp at {sock}: No such file or directory\n"));
    let (_, err, rc) = run(ctl, &["--socket", sock, "iptables-save"], "", None);
    assert_eq!(
        (
            err.starts_with("iptables-save v1.8.9 (nf_tables): cannot connect to nfdp at "),
            rc
        ),
        (true, 4)
    );
    let (_, err, rc) = run(ctl, &["--socket", sock, "stats"], "", None);
    assert_eq!(
        (err, rc),
        (
            format!("nfdpctl: cannot connect to nfdp at {sock}: No such file or directory\n"),
            1
        )
    );
}

#[test]
fn conntrack_events_run_until_ctrl_c_and_then_print_the_summary() {
    use std::io::BufRead;
    let d = Daemon::start("events");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nfdpctl"))
        .args([
            "--socket",
            d.socket.to_str().unwrap(),
            "conntrack",
            "-E",
            "-p",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        "    [NEW] tcp      6 100 ESTABLISHED src=10.0.1.2 dst=10.0.2.2 sport=40001 dport=8080 src=10.0.2.2 dst=10.0.2.1 sport=8080 dport=40001 [ASSURED] mark=0\n"
    );
    // The stream stays open: only SIGINT ends it.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "conntrack v1.4.7 (conntrack-tools): 1 flow events have been shown.\n"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn trace_prints_lines_until_the_limit() {
    let d = Daemon::start("trace");
    let (out, err, rc) = d.ctl(
        &[
            "trace",
            "-p",
            "tcp",
            "--dport",
            "80",
            "-s",
            "10.0.0.0/8",
            "-i",
            "lan0",
            "--limit",
            "2",
        ],
        "",
    );
    assert_eq!((err.as_str(), rc), ("", 0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "two packets of two lines each:\n{out}");
    assert!(
        lines[0].starts_with("TRACE: filter:FORWARD:rule:1 IN=lan0") && lines[3].ends_with("ID=2"),
        "{out}"
    );
    assert_eq!(
        d.calls(),
        vec![Call::Trace(TraceFilter {
            proto: Some(6),
            src: Some("10.0.0.0/8".into()),
            dport: Some(80),
            iface: "lan0".into(),
            limit: 2,
            ..Default::default()
        })]
    );
}

#[test]
fn sysctl_prints_name_equals_value() {
    let d = Daemon::start("sysctl");
    let (out, err, rc) = d.ctl(&["sysctl", "net.netfilter.nf_conntrack_max"], "");
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        ("net.netfilter.nf_conntrack_max = 262144\n", "", 0)
    );
    let (out, _, rc) = d.ctl(&["sysctl", "-w", "net.netfilter.nf_conntrack_max=1000"], "");
    assert_eq!(
        (out.as_str(), rc),
        ("net.netfilter.nf_conntrack_max = 1000\n", 0)
    );
    let (out, _, rc) = d.ctl(&["sysctl", "-n", "nf_conntrack_max"], "");
    assert_eq!((out.as_str(), rc), ("262144\n", 0));
    let (out, err, rc) = d.ctl(&["sysctl", "-w", "net.netfilter.nf_conntrack_max=0"], "");
    assert_eq!((out.as_str(), rc), ("", 255));
    assert_eq!(
        err,
        "sysctl: setting key \"net.netfilter.nf_conntrack_max\": Invalid argument\n"
    );
    let (out, _, rc) = d.ctl(&["sysctl", "-a"], "");
    assert_eq!((out.as_str(), rc), ("net.netfilter.nf_conntrack_max = 262144\nnet.netfilter.nf_conntrack_udp_timeout = 30\n", 0));
    assert_eq!(
        d.calls()[..3],
        [
            Call::SysctlGet(vec!["net.netfilter.nf_conntrack_max".into()]),
            Call::SysctlSet(vec![(
                "net.netfilter.nf_conntrack_max".into(),
                "1000".into()
            )]),
            Call::SysctlGet(vec!["nf_conntrack_max".into()]),
        ]
    );
}

#[test]
fn ip_and_stats_print_readably() {
    let d = Daemon::start("net");
    let (out, err, rc) = d.ctl(&["ip", "route"], "");
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        ("default via 203.0.113.1 dev wan0 proto static\n10.0.0.0/24 dev lan0 proto kernel scope link src 10.0.0.1\n", "", 0)
    );
    let (_, err, rc) = d.ctl(
        &[
            "ip",
            "route",
            "add",
            "192.168.0.0/16",
            "via",
            "10.0.0.9",
            "dev",
            "nosuch0",
        ],
        "",
    );
    assert_eq!(
        (err.as_str(), rc),
        ("RTNETLINK answers: No such device\n", 2)
    );
    assert_eq!(
        d.calls(),
        vec![Call::AddRoute(Route {
            dst: "192.168.0.0/16".into(),
            via: "10.0.0.9".into(),
            dev: "nosuch0".into(),
            table: 254,
            ..Default::default()
        })]
    );
    let (out, _, rc) = d.ctl(&["stats"], "");
    assert_eq!(rc, 0);
    assert!(out.contains("ruleset generation 4"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("lan0")
            && l.contains(" up ")
            && l.contains(" 10 ")
            && l.contains(" 1000 ")),
        "{out}"
    );
    let drops: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("DROP REASON"))
        .skip(1)
        .collect();
    assert_eq!(
        drops,
        [
            "dropped_by_rules                        7",
            "no_route                                3"
        ],
        "{out}"
    );
}

/// A fake daemon's Rules on TCP that wants `authorization: Bearer s3cret`; its address.
fn start_tcp_daemon() -> (String, Fake) {
    let fake = Fake::default();
    let f = fake.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let check =
                |req: Request<()>| match req.metadata().get("authorization").map(|v| v.to_str()) {
                    Some(Ok("Bearer s3cret")) => Ok(req),
                    _ => Err(Status::unauthenticated("missing or wrong API token")),
                };
            tonic::transport::Server::builder()
                .add_service(RulesServer::with_interceptor(f, check))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("tcp fake daemon started");
    (format!("http://{addr}"), fake)
}

#[test]
fn tcp_address_sends_the_bearer_token() {
    let (address, fake) = start_tcp_daemon();
    let dir = std::env::temp_dir().join(format!("nfdpctl-test-{}-tcp", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.token");
    let bad = dir.join("bad.token");
    std::fs::write(&good, "s3cret\n").unwrap();
    std::fs::write(&bad, "guess\n").unwrap();
    let ctl = Path::new(env!("CARGO_BIN_EXE_nfdpctl"));
    let (out, _, rc) = run(
        ctl,
        &[
            "--address",
            &address,
            "--token-file",
            good.to_str().unwrap(),
            "iptables",
            "-S",
        ],
        "",
        None,
    );
    assert_eq!(
        (out.as_str(), rc),
        ("ran -S\n  second line without newline", 3)
    );
    let (out, err, rc) = run(
        ctl,
        &[
            "--address",
            &address,
            "--token-file",
            bad.to_str().unwrap(),
            "iptables",
            "-S",
        ],
        "",
        None,
    );
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        (
            "",
            "iptables v1.8.9 (nf_tables): missing or wrong API token\n",
            1
        )
    );
    let (_, err, rc) = run(ctl, &["--address", &address, "iptables", "-S"], "", None);
    assert_eq!(
        (err.as_str(), rc),
        (
            "iptables v1.8.9 (nf_tables): missing or wrong API token\n",
            1
        )
    );
    let missing = dir.join("missing.token");
    let (_, err, rc) = run(
        ctl,
        &[
            "--address",
            &address,
            "--token-file",
            missing.to_str().unwrap(),
            "iptables",
            "-S",
        ],
        "",
        None,
    );
    assert_eq!(err, format!("iptables v1.8.9 (nf_tables): cannot connect to nfdp at {address}: {}: No such file or directory\n", missing.display()));
    assert_eq!(rc, 4);
    assert_eq!(
        fake.calls.lock().unwrap().clone(),
        vec![Call::Exec(strings(&["-S"]))]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tools_run_in_process_with_given_input() {
    use control::ctl::{run_tool_with_input, Io, Target, Tool};
    let d = Daemon::start("inproc");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let text = "*filter\n-A NOSUCHCHAIN -j ACCEPT\nCOMMIT\n".to_string();
    let code = rt.block_on(run_tool_with_input(
        Tool::IptablesRestore,
        &strings(&["--noflush"]),
        Some(text.clone()),
        &Target::Unix(d.socket.clone()),
        &mut Io {
            stdout: &mut out,
            stderr: &mut err,
        },
    ));
    assert_eq!(code, 1);
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "iptables-restore: line 2 failed: No chain/target/match by that name.\n"
    );
    assert_eq!(
        d.calls(),
        vec![Call::Restore(RestoreRequest {
            text,
            noflush: true,
            counters: false,
            test: false,
            table: String::new(),
            family: 0
        })]
    );
}
