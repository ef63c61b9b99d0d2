//! `nfdpctl conntrack` on the IPv6 table: a worker thread running a stateful ip6tables
//! ruleset on in-memory ports, the Conntrack service on a Unix socket, and the tool run
//! in-process against it (-L, -D, -C, -F with and without `-f`), plus the event stream's
//! family filter. Output compared byte for byte (the seconds left masked).

mod support;

use arc_swap::ArcSwap;
use control::api::conntrack::ConntrackService;
use control::api::pb;
use control::api::pb::conntrack_client::ConntrackClient;
use control::ctl::{run_tool, Io, Target, Tool};
use control::daemon::mem::Wire;
use control::daemon::worker::Command;
use crossbeam_channel::Sender;
use std::sync::{Arc, MutexGuard};
use support::daemon::serial;
use support::workers::{Served, Workers};
use support::PATIENCE;
use support::{HOST_MAC, LAN_MAC};
use tonic::transport::Channel;

const CONFIG: &str = support::ipv6::dual_stack_config!();

const RULES6: &str = "*filter\n:FORWARD DROP [0:0]\n\
    -A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
    -A FORWARD -i lan0 -o wan0 -j ACCEPT\n\
    COMMIT\n";

const LAN: usize = 0;
const WAN: usize = 1;
const HOST: &str = "2001:db8:1::10";
const FAR: &str = "2001:db8:99::5";

struct Daemon {
    wires: Vec<Wire>,
    commands: Sender<Command>,
    // Dropped in this order: the worker stopped, then the services.
    _workers: Workers,
    served: Served,
    ct: ConntrackClient<Channel>,
    _serial: MutexGuard<'static, ()>,
}

type Events = tonic::Streaming<pb::ConntrackEvent>;

impl Daemon {
    /// `conntrack -E` with `filter`, every event type.
    fn subscribe(&mut self, filter: pb::ConntrackFilter) -> Events {
        let req = pb::EventsRequest {
            types: vec![],
            filter: Some(filter),
        };
        self.served
            .rt
            .block_on(self.ct.events(req))
            .expect("events")
            .into_inner()
    }

    /// The next event of `s`, within PATIENCE.
    fn next_event(&self, s: &mut Events) -> pb::ConntrackEvent {
        self.served
            .rt
            .block_on(async { tokio::time::timeout(PATIENCE, s.message()).await })
            .expect("an event")
            .expect("no error")
            .expect("the stream goes on")
    }

    /// Whether `s` stays quiet for 300 ms.
    fn quiet(&self, s: &mut Events) -> Result<(), String> {
        let r = self.served.rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(300), s.message()).await
        });
        match r {
            Err(_) => Ok(()),
            Ok(m) => Err(format!("{m:?}")),
        }
    }

    fn start() -> Daemon {
        Daemon::start_with(RULES6)
    }

    /// A daemon running `rules6`.
    fn start_with(rules6: &str) -> Daemon {
        let serial = serial();
        let cfg = control::config::Config::parse(CONFIG, std::path::Path::new("test.toml"))
            .expect("config");
        let topo = cfg.build().expect("topology");
        let pipeline = support::ipv6::pipeline(CONFIG, rules6);
        // The worker takes up this ruleset at every burst: the IPv6 one.
        let rules = Arc::new(ArcSwap::new(Arc::clone(pipeline.ruleset())));
        let sets = Arc::new(ArcSwap::from_pointee(dataplane::ipset::SetTable::default()));
        let mut workers = Workers::spawn(&topo, vec![pipeline], &rules, &sets);
        let commands = workers.commands[0].clone();
        let served = Served::new(
            "ct6-api",
            tonic::transport::Server::builder().add_service(
                pb::conntrack_server::ConntrackServer::new(ConntrackService::new(vec![
                    commands.clone()
                ])),
            ),
            |e| e,
        );
        Daemon {
            wires: workers.queues.remove(0),
            commands,
            _workers: workers,
            ct: ConntrackClient::new(served.channel.clone()),
            served,
            _serial: serial,
        }
    }

    /// `conntrack ARGS` through nfdpctl's code: (exit status, stdout, stderr).
    fn conntrack(&self, args: &[&str]) -> (i32, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let target = Target::Unix(self.served.socket.clone());
        let code = self.served.rt.block_on(run_tool(
            Tool::Conntrack,
            &args,
            &target,
            &mut Io {
                stdout: &mut out,
                stderr: &mut err,
            },
        ));
        let s = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
        (code, masked(&s(out)), s(err))
    }

    /// Sends IPv6 packets from the LAN host and waits for them on the WAN.
    fn send_from_lan(&self, packets: &[Vec<u8>]) {
        for ip in packets {
            let mut f = LAN_MAC.to_vec();
            f.extend_from_slice(&HOST_MAC);
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend_from_slice(ip);
            self.wires[LAN].inject(0, &f);
        }
        assert_eq!(
            self.wires[WAN].wait(packets.len(), PATIENCE).len(),
            packets.len()
        );
    }

    fn entries6(&self) -> u64 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.commands
            .send(Command::CtStats { reply: tx })
            .expect("worker");
        rx.blocking_recv().expect("stats").entries6
    }
}

/// Every line's seconds left (its third field, the fifth with `-o extended`) as `T`: the
/// worker's clock runs while the test reads.
fn masked(s: &str) -> String {
    s.lines()
        .map(|l| {
            let mut w: Vec<&str> = l.split(' ').collect();
            let at = w.iter().position(|f| matches!(*f, "6" | "17" | "58"));
            if let Some(i) = at.map(|i| i + 1).filter(|&i| i < w.len()) {
                if w[i].bytes().all(|b| b.is_ascii_digit()) {
                    w[i] = "T";
                }
            }
            w.join(" ") + "\n"
        })
        .collect()
}

fn ipv6(proto: u8, l4: &[u8], csum_at: usize) -> Vec<u8> {
    support::ipv6::packet(HOST, FAR, 64, proto, &[], l4, csum_at)
}

fn syn(sport: u16, dport: u16) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&1000u32.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = 0x02;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    ipv6(6, &t, 16)
}

fn udp(sport: u16, dport: u16) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&12u16.to_be_bytes());
    u.extend_from_slice(b"nfdp");
    ipv6(17, &u, 6)
}

const TCP_LINE: &str = "tcp      6 T SYN_SENT src=2001:db8:1::10 dst=2001:db8:99::5 \
    sport=40000 dport=80 [UNREPLIED] src=2001:db8:99::5 dst=2001:db8:1::10 sport=80 \
    dport=40000 mark=0 use=1\n";
const UDP_LINE: &str = "udp      17 T src=2001:db8:1::10 dst=2001:db8:99::5 sport=5353 \
    dport=53 [UNREPLIED] src=2001:db8:99::5 dst=2001:db8:1::10 sport=53 dport=5353 \
    mark=0 use=1\n";

fn msg(s: &str) -> String {
    format!("conntrack v1.4.7 (conntrack-tools): {s}\n")
}

/// What ip6tables' rules set on IPv6 connections shows in `conntrack -L -f ipv6` as in
/// IPv4's listing: the mark CONNMARK set, the counters connbytes turned on, and (with
/// `-o labels`) the label connlabel set; `--mark` filters by it.
#[test]
fn the_ipv6_listing_shows_mark_counters_and_labels_the_rules_set() {
    let rules6 = "*mangle\n\
        -A PREROUTING -p udp -j CONNMARK --set-mark 7\n\
        -A PREROUTING -p udp -m connlabel --label 3 --set\n\
        COMMIT\n\
        *filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m connbytes --connbytes 100: --connbytes-dir both --connbytes-mode bytes -j DROP\n\
        -A FORWARD -i lan0 -o wan0 -j ACCEPT\n\
        COMMIT\n";
    let d = Daemon::start_with(rules6);
    d.send_from_lan(&[syn(40000, 80), udp(5353, 53)]);
    assert_eq!(d.entries6(), 2);
    let (code, out, err) = d.conntrack(&["-L", "-f", "ipv6", "-p", "udp"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "udp      17 T src=2001:db8:1::10 dst=2001:db8:99::5 sport=5353 dport=53 \
         packets=1 bytes=52 [UNREPLIED] src=2001:db8:99::5 dst=2001:db8:1::10 sport=53 \
         dport=5353 packets=0 bytes=0 mark=7 use=1\n"
    );
    // The label, by the API (`-o labels` names bits from connlabel.conf only).
    let list = d.served.rt.block_on(d.ct.clone().list(pb::ConntrackFilter {
        family: Some(6),
        ..Default::default()
    }));
    let mut labels: Vec<(u32, Vec<u32>)> = list
        .expect("list")
        .into_inner()
        .entries
        .into_iter()
        .map(|e| (e.proto, e.labels))
        .collect();
    labels.sort();
    assert_eq!(labels, [(6, vec![]), (17, vec![3])]);
    let (_, out, _) = d.conntrack(&["-L", "-f", "ipv6", "--mark", "7"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (_, out, _) = d.conntrack(&["-L", "-f", "ipv6", "-p", "tcp"]);
    assert!(
        out.contains(" packets=1 bytes=60 [UNREPLIED] ") && out.contains(" mark=0 "),
        "{out}"
    );
}

#[test]
fn list_delete_count_and_flush_the_ipv6_table() {
    let d = Daemon::start();
    d.send_from_lan(&[syn(40000, 80), udp(5353, 53)]);
    assert_eq!(d.entries6(), 2);

    let (code, out, err) = d.conntrack(&["-L", "-f", "ipv6"]);
    assert_eq!(code, 0, "{err}");
    let (a, b) = out.split_at(out.find('\n').unwrap() + 1);
    let mut lines = [a, b];
    lines.sort();
    assert_eq!(lines.concat(), format!("{TCP_LINE}{UDP_LINE}"));
    assert_eq!(err, msg("2 flow entries have been shown."));
    let (_, out, _) = d.conntrack(&["-L", "-f", "ipv6", "-p", "tcp", "-o", "extended"]);
    assert_eq!(out, format!("ipv6     10 {TCP_LINE}"));

    // Without -f, -L lists both families, as conntrack -L does; -f ipv4 the IPv4 table.
    let (code, out, err) = d.conntrack(&["-L"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_eq!(err, msg("2 flow entries have been shown."));
    let (code, out, err) = d.conntrack(&["-L", "-f", "ipv4"]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(err, msg("0 flow entries have been shown."));
    // -C counts both families, as nf_conntrack_count does, and takes no -f.
    assert_eq!(d.conntrack(&["-C"]), (0, "2\n".into(), String::new()));
    let stats = d
        .served
        .rt
        .block_on(d.ct.clone().stats(pb::ConntrackStatsRequest {}));
    let w = stats.expect("stats").into_inner().workers;
    assert_eq!(
        (w[0].entries, w[0].insert),
        (2, 2),
        "-S: both tables' counters"
    );
    let (code, _, err) = d.conntrack(&["-C", "-f", "ipv6"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(
            "conntrack v1.4.7 (conntrack-tools): Illegal option `--family' with this command\n"
        ),
        "{err}"
    );

    let (code, out, err) = d.conntrack(&["-D", "-f", "ipv6", "-p", "udp"]);
    assert_eq!((code, out.as_str()), (0, UDP_LINE), "{err}");
    assert_eq!(err, msg("1 flow entries have been deleted."));
    assert_eq!(d.entries6(), 1);
    // -D -f ipv4 leaves the IPv6 table alone.
    let (code, _, err) = d.conntrack(&["-D", "-f", "ipv4", "-p", "tcp"]);
    assert_eq!(code, 1);
    assert_eq!(err, msg("0 flow entries have been deleted."));
    assert_eq!(d.conntrack(&["-C"]).1, "1\n");

    // -F -f ipv4 leaves the IPv6 table alone; -F alone empties both.
    let (code, _, err) = d.conntrack(&["-F", "-f", "ipv4"]);
    assert_eq!(
        (code, err),
        (0, msg("connection tracking table has been emptied."))
    );
    assert_eq!(d.entries6(), 1);
    let (code, _, err) = d.conntrack(&["-F"]);
    assert_eq!(
        (code, err),
        (0, msg("connection tracking table has been emptied."))
    );
    assert_eq!(d.entries6(), 0);
    assert_eq!(d.conntrack(&["-C"]).1, "0\n");
}

fn usage(m: &str) -> String {
    format!(
        "{}Try `conntrack -h' or 'conntrack --help' for more information.\n",
        msg(m)
    )
}

/// -L, -G, -D and -U by IPv6 address, behind NAT66 masquerade (the reply tuple goes
/// to the router's address). Texts and exit statuses as conntrack 1.4.7 against Linux
/// 6.x gave them for the same commands on `conntrack -I` entries in a namespace.
#[test]
fn ipv6_addresses_select_list_get_delete_and_update() {
    let rules6 = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
        *filter\n:FORWARD DROP [0:0]\n-A FORWARD -i lan0 -o wan0 -j ACCEPT\nCOMMIT\n";
    let d = Daemon::start_with(rules6);
    d.send_from_lan(&[syn(40000, 80), udp(5353, 53)]);
    assert_eq!(d.entries6(), 2);
    let tcp = "tcp      6 T SYN_SENT src=2001:db8:1::10 dst=2001:db8:99::5 sport=40000 \
        dport=80 [UNREPLIED] src=2001:db8:99::5 dst=2001:db8:ff::1 sport=80 dport=40000";
    let udp_line = "udp      17 T src=2001:db8:1::10 dst=2001:db8:99::5 sport=5353 dport=53 \
        [UNREPLIED] src=2001:db8:99::5 dst=2001:db8:ff::1 sport=53 dport=5353";

    // -s/-d with a length, -r/-q as the reply tuple has them (NATed).
    let (code, out, err) = d.conntrack(&["-L", "-s", "2001:db8:1::/64", "-p", "tcp"]);
    assert_eq!(
        (code, masked(&out)),
        (0, format!("{tcp} mark=0 use=1\n")),
        "{err}"
    );
    assert_eq!(err, msg("1 flow entries have been shown."));
    let (_, out, err) = d.conntrack(&["-L", "-d", FAR, "-q", "2001:db8:ff::1"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_eq!(err, msg("2 flow entries have been shown."));
    // The NATed reply no longer goes to the host.
    let (code, out, err) = d.conntrack(&["-L", "-q", HOST]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(err, msg("0 flow entries have been shown."));
    // An IPv4 address means the IPv4 table; mixing families is refused.
    let (_, out, _) = d.conntrack(&["-L", "-s", "0.0.0.0/0"]);
    assert_eq!(out, "");
    let (code, _, err) = d.conntrack(&["-L", "-s", HOST, "-f", "ipv4"]);
    assert_eq!((code, err), (2, usage("mismatched address family")));
    let (code, _, err) = d.conntrack(&["-L", "-q", "2001:db8:ff::/64"]);
    assert_eq!(
        (code, err),
        (2, usage("CIDR notation unavailable for `--reply-dst'"))
    );

    // -G: the exact tuple, use=2 as the kernel's answer holds a reference.
    let get = [
        "-G", "-s", HOST, "-d", FAR, "-p", "tcp", "--sport", "40000", "--dport", "80",
    ];
    let (code, out, err) = d.conntrack(&get);
    assert_eq!(
        (code, masked(&out)),
        (0, format!("{tcp} mark=0 use=2\n")),
        "{err}"
    );
    assert_eq!(err, msg("1 flow entries have been shown."));
    let (code, out, err) = d.conntrack(&[
        "-G", "-s", HOST, "-d", FAR, "-p", "tcp", "--sport", "40001", "--dport", "80",
    ]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, msg("Operation failed: such conntrack doesn't exist"));
    let (code, _, err) = d.conntrack(&[
        "-G", "-f", "ipv6", "-s", HOST, "-d", FAR, "-p", "tcp", "--sport", "1", "--dport", "2",
    ]);
    assert_eq!(
        (code, err),
        (2, usage("Illegal option `--family' with this command"))
    );
    let (code, _, err) = d.conntrack(&[
        "-G",
        "-s",
        "2001:db8:1::/64",
        "-d",
        FAR,
        "-p",
        "tcp",
        "--sport",
        "1",
        "--dport",
        "2",
    ]);
    assert_eq!(
        (code, err),
        (2, usage("Illegal option `--mask-src' with this command"))
    );

    // -U -m sets the mark; what already has it is not counted.
    let (code, out, err) = d.conntrack(&["-U", "-s", HOST, "-p", "udp", "-m", "5"]);
    assert_eq!(
        (code, masked(&out)),
        (0, format!("{udp_line} mark=5 use=2\n")),
        "{err}"
    );
    assert_eq!(err, msg("1 flow entries have been updated."));
    let (code, out, err) = d.conntrack(&["-U", "-s", HOST, "-p", "udp", "-m", "5"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, msg("0 flow entries have been updated."));
    let (code, out, err) = d.conntrack(&["-U", "-f", "ipv6", "-m", "0x100/0xff00"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(" mark=261 use=2") && out.contains(" mark=256 use=2"),
        "{out}"
    );
    assert_eq!(err, msg("2 flow entries have been updated."));
    let (_, out, _) = d.conntrack(&["-L", "-f", "ipv6", "-m", "261"]);
    assert_eq!(masked(&out), format!("{udp_line} mark=261 use=1\n"));
    let (code, _, err) = d.conntrack(&["-U", "-s", "2001:db8:1::99", "-m", "7"]);
    assert_eq!((code, err), (1, msg("0 flow entries have been updated.")));

    // -D by address.
    let (code, out, err) = d.conntrack(&["-D", "-d", "2001:db8:99::/48", "-p", "tcp"]);
    assert_eq!(
        (code, masked(&out)),
        (0, format!("{tcp} mark=256 use=1\n")),
        "{err}"
    );
    assert_eq!(err, msg("1 flow entries have been deleted."));
    let (code, _, err) = d.conntrack(&["-D", "-s", "2001:db8:1::99"]);
    assert_eq!((code, err), (1, msg("0 flow entries have been deleted.")));
    assert_eq!(d.entries6(), 1);
}

#[test]
fn events_of_the_ipv6_table_stream_unless_another_family_is_asked_for() {
    let mut d = Daemon::start();
    let subscribe = |d: &mut Daemon, family: Option<u32>| {
        d.subscribe(pb::ConntrackFilter {
            family,
            ..Default::default()
        })
    };
    let mut both = subscribe(&mut d, None);
    let mut v4 = subscribe(&mut d, Some(4));
    let mut v6 = subscribe(&mut d, Some(6));
    d.send_from_lan(&[udp(5353, 53)]);
    let want = "    [NEW] udp      17 T src=2001:db8:1::10 dst=2001:db8:99::5 sport=5353 \
        dport=53 [UNREPLIED] src=2001:db8:99::5 dst=2001:db8:1::10 sport=53 dport=5353 mark=0\n";
    for s in [&mut both, &mut v6] {
        let ev = d.next_event(s);
        let e = ev.entry.as_ref().expect("entry");
        let line = control::ctl::ct_format::event_line(&ev.r#type, e, false);
        assert_eq!(masked(&line), want);
        let ext = control::ctl::ct_format::event_line(&ev.r#type, e, true);
        assert!(
            ext.starts_with("    [NEW] ipv6     10 udp      17 "),
            "{ext}"
        );
    }
    // The IPv4 subscriber got nothing: a flush's DESTROY is the next thing the others see.
    let (code, _, _) = d.conntrack(&["-F", "-f", "ipv6"]);
    assert_eq!(code, 0);
    for s in [&mut both, &mut v6] {
        assert_eq!(d.next_event(s).r#type, "DESTROY");
    }
    assert_eq!(d.quiet(&mut v4), Ok(()), "the IPv4 stream stays quiet");
}

/// `conntrack -E -s 2001:db8:1::/64`: the stream of the entries from that network only,
/// and `-U` reports its change as UPDATE (as ctnetlink's IPCT_MARK event does).
#[test]
fn events_filtered_by_ipv6_prefix_and_the_update_of_a_mark() {
    let mut d = Daemon::start();
    let subscribe = |d: &mut Daemon, src: &str| {
        d.subscribe(pb::ConntrackFilter {
            orig_src: Some(src.into()),
            family: Some(6),
            ..Default::default()
        })
    };
    let mut lan = subscribe(&mut d, "2001:db8:1::/64");
    let mut other = subscribe(&mut d, "2001:db8:2::/64");
    d.send_from_lan(&[udp(5353, 53)]);
    assert_eq!(d.next_event(&mut lan).r#type, "NEW");
    let (code, _, err) = d.conntrack(&["-U", "-s", HOST, "-m", "42"]);
    assert_eq!(code, 0, "{err}");
    let ev = d.next_event(&mut lan);
    let line = control::ctl::ct_format::event_line(&ev.r#type, ev.entry.as_ref().unwrap(), false);
    assert_eq!(
        masked(&line),
        " [UPDATE] udp      17 T src=2001:db8:1::10 dst=2001:db8:99::5 sport=5353 dport=53 \
         [UNREPLIED] src=2001:db8:99::5 dst=2001:db8:1::10 sport=53 dport=5353 mark=42\n"
    );
    assert_eq!(
        d.quiet(&mut other),
        Ok(()),
        "another network's stream stays quiet"
    );
}

/// `-L -p icmpv6 --icmpv6-*` and `-G` of an echo request's tuple (conntrack 1.4.7 on
/// Linux 6.x: the id may be left out, then it is 0).
#[test]
fn icmpv6_options_select_and_get_an_echo() {
    let d = Daemon::start();
    let mut echo = vec![128, 0, 0, 0, 0, 77, 0, 1];
    echo.extend_from_slice(b"nfdp");
    d.send_from_lan(&[ipv6(58, &echo, 2)]);
    assert_eq!(d.entries6(), 1);
    let line = "icmpv6   58 T src=2001:db8:1::10 dst=2001:db8:99::5 type=128 code=0 id=77 \
        [UNREPLIED] src=2001:db8:99::5 dst=2001:db8:1::10 type=129 code=0 id=77 mark=0";
    let (code, out, err) = d.conntrack(&["-L", "-p", "icmpv6", "--icmpv6-type", "128"]);
    assert_eq!(
        (code, masked(&out)),
        (0, format!("{line} use=1\n")),
        "{err}"
    );
    let (_, out, err) = d.conntrack(&["-L", "-p", "icmpv6", "--icmpv6-id", "78"]);
    assert_eq!(
        (out.as_str(), err),
        ("", msg("0 flow entries have been shown."))
    );
    let get = |more: &[&str]| {
        let mut a = vec!["-G", "-s", HOST, "-d", FAR, "-p", "icmpv6"];
        a.extend_from_slice(more);
        d.conntrack(&a)
    };
    let (code, out, err) = get(&[
        "--icmpv6-type",
        "128",
        "--icmpv6-code",
        "0",
        "--icmpv6-id",
        "77",
    ]);
    assert_eq!(
        (code, masked(&out)),
        (0, format!("{line} use=2\n")),
        "{err}"
    );
    assert_eq!(err, msg("1 flow entries have been shown."));
    let (code, _, err) = get(&["--icmpv6-type", "128", "--icmpv6-code", "0"]);
    assert_eq!(
        (code, err),
        (1, msg("Operation failed: such conntrack doesn't exist"))
    );
    let (code, _, err) = get(&["--icmpv6-code", "0", "--icmpv6-id", "77"]);
    assert_eq!(
        (code, err),
        (
            2,
            usage("You need to supply the `--icmpv6-type' option for this command")
        )
    );
}
