//! The built nfdpctl binary against a fake daemon (Rules and Conntrack services on a Unix
//! socket in a temp dir) that records the requests and answers canned replies: output and
//! exit codes are forwarded exactly, conntrack entries print as conntrack 1.4.7 printed the
//! same entries (tests/golden/conntrack), the right filters and texts reach the daemon.

#[path = "support/ct_entries.rs"]
mod ct_entries;

use control::api::pb::conntrack_server::{Conntrack, ConntrackServer};
use control::api::pb::rules_server::{Rules, RulesServer};
use control::api::pb::*;
use std::io::Write;
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
    type EventsStream = EventStream;
    async fn events(&self, r: Request<EventsRequest>) -> Result<Response<EventStream>, Status> {
        self.record(Call::Events(r.into_inner()));
        let new = ct_entries::flow(17, 40005, 5354, &[], "", 7);
        let replied = ct_entries::flow(17, 40005, 5354, &["SEEN_REPLY", "CONFIRMED"], "", 7);
        let ev = |t: &str, e: &ConntrackEntry| {
            Ok(ConntrackEvent {
                r#type: t.into(),
                entry: Some(e.clone()),
                line: String::new(),
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
                    .add_service(ConntrackServer::new(f))
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
    cmd.args(args)
        .env_remove("NFDP_ADDRESS")
        .env_remove("NFDP_TOKEN_FILE")
        .env_remove("NFDP_SOCKET");
    if let Some(s) = socket {
        cmd.env("NFDP_SOCKET", s);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
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
            counters: true
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
