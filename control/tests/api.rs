//! The gRPC API end to end, with no DPDK and no root: the daemon core runs one worker on
//! in-memory wires, the API listens on a Unix socket in a temporary directory, and the
//! tests drive it only through gRPC (tonic clients), comparing with what iptables 1.8.9
//! prints (tests/golden/api, captured by its gen.sh).

mod support;

use control::api::pb;
use control::api::pb::net_client::NetClient;
use control::api::pb::rules_client::RulesClient;
use control::api::pb::stats_client::StatsClient;
use control::api::pb::sysctl_client::SysctlClient;
use control::config::Config;
use control::ctl::connect_unix;
use control::daemon::core::{self, Daemon, Options};
use control::daemon::mem::wire_ports;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use support::daemon::{announced, boot, config_text, serial, temp_dir, write_config, Running};
use support::frames::{ether, udp};
use support::{GATEWAY_MAC, HOST, HOST_MAC, LAN_MAC, PATIENCE, WAN_MAC};
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

const OTHER_GATEWAY_MAC: [u8; 6] = [2, 0, 0, 0, 2, 0xfd];
const LAN: usize = 0;
const WAN: usize = 1;

const RULES: &str = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -i lan0 -j ACCEPT\n-A FORWARD -i wan0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";

/// A running daemon core and a runtime for its clients.
struct Harness {
    run: Running,
    rt: tokio::runtime::Runtime,
}

impl std::ops::Deref for Harness {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.run
    }
}

impl std::ops::DerefMut for Harness {
    fn deref_mut(&mut self) -> &mut Running {
        &mut self.run
    }
}

fn load(dir: &Path, rules_extra: &str, api_extra: &str) -> Config {
    let text = config_text(dir, rules_extra).replace("[api]\n", &format!("[api]\n{api_extra}"));
    write_config(dir, &text)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn start_in(dir: PathBuf, cfg: Config, serial: MutexGuard<'static, ()>) -> Harness {
    let (daemon, wires) = boot(cfg);
    Harness {
        run: Running::new(daemon, wires, dir, serial),
        rt: runtime(),
    }
}

/// A daemon whose rules file holds `rules`.
fn start(rules: &str) -> Harness {
    start_with(rules, "", "")
}

fn start_with(rules: &str, rules_extra: &str, api_extra: &str) -> Harness {
    let serial = serial();
    let dir = temp_dir("api");
    std::fs::write(dir.join("rules.v4"), rules).expect("rules file");
    let cfg = load(&dir, rules_extra, api_extra);
    start_in(dir, cfg, serial)
}

impl Harness {
    fn socket(&self) -> PathBuf {
        support::daemon::socket(&self.dir)
    }

    fn channel(&self) -> Channel {
        self.rt
            .block_on(connect_unix(&self.socket()))
            .expect("connect to the API socket")
    }

    fn rules(&self) -> RulesClient<Channel> {
        RulesClient::new(self.channel()).max_decoding_message_size(256 << 20)
    }

    /// Stops the daemon and starts it again from the same config.
    fn restart(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown();
        }
        let cfg = Config::load(self.dir.join("nfdp.toml")).expect("config");
        let (daemon, wires) = boot(cfg);
        self.daemon = Some(daemon);
        self.wires = wires;
    }

    fn daemon(&mut self) -> &mut Daemon {
        self.daemon.as_mut().expect("running")
    }

    fn save(&self, counters: bool) -> String {
        let mut c = self.rules();
        self.rt
            .block_on(c.save(pb::SaveRequest {
                table: String::new(),
                counters,
                ..Default::default()
            }))
            .expect("save")
            .into_inner()
            .text
    }

    fn restore(&self, req: pb::RestoreRequest) -> Result<u64, tonic::Status> {
        let mut c = self.rules();
        self.rt
            .block_on(c.restore(req))
            .map(|r| r.into_inner().generation)
    }

    fn exec(&self, args: &[&str]) -> pb::ExecReply {
        let mut c = self.rules();
        self.rt
            .block_on(c.exec(pb::ExecRequest {
                args: args.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }))
            .expect("exec")
            .into_inner()
    }

    fn stats(&self) -> pb::StatsReply {
        let mut c = StatsClient::new(self.channel());
        self.rt
            .block_on(c.get(pb::StatsRequest {}))
            .expect("stats")
            .into_inner()
    }

    /// Sends `n` UDP datagrams from the LAN host to `dst` (source ports from `sport`) and
    /// waits until the worker has taken them in.
    fn send_udp(&self, dst: [u8; 4], sport: u16, n: usize) {
        let before = self.received();
        for i in 0..n {
            let ip = udp(HOST, dst, sport + i as u16, 53, b"query");
            self.wires[LAN].inject(0, &ether(LAN_MAC, HOST_MAC, 0x0800, &ip));
        }
        let deadline = Instant::now() + PATIENCE;
        while self.received() < before + n as u64 {
            assert!(
                Instant::now() < deadline,
                "the worker did not take the frames in"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn received(&self) -> u64 {
        self.stats()
            .workers
            .iter()
            .map(|w| w.outcomes.get("received").copied().unwrap_or(0))
            .sum()
    }
}

fn restore_req(text: &str) -> pb::RestoreRequest {
    pb::RestoreRequest {
        text: text.to_string(),
        ..Default::default()
    }
}

fn exit_code(s: &tonic::Status) -> Option<i32> {
    s.metadata()
        .get("nfdp-exit-code")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

// ---- Rules ----

#[test]
fn restore_replaces_only_the_tables_it_names_and_empty_input_changes_nothing() {
    let h = start(RULES);
    let before = h.save(false);
    assert!(
        before.contains("-A POSTROUTING -o wan0 -j MASQUERADE\n"),
        "{before}"
    );

    // Empty input, comments only, and a test run: nothing changes, no generation.
    for text in ["", "\n\n", "# nothing here\n"] {
        assert_eq!(h.restore(restore_req(text)).expect(text), 0, "{text:?}");
        assert_eq!(h.save(false), before, "{text:?} changed the ruleset");
    }
    let mut test = restore_req("*filter\n-A INPUT -j DROP\nCOMMIT\n");
    test.test = true;
    assert_eq!(h.restore(test).unwrap(), 0);
    assert_eq!(h.save(false), before, "a test restore changed the ruleset");

    // Only filter is named: nat stays, filter is replaced (FORWARD back to ACCEPT).
    let g = h
        .restore(restore_req("*filter\n-A INPUT -j DROP\nCOMMIT\n"))
        .unwrap();
    assert!(g > 1);
    let after = h.save(false);
    assert!(after.contains("*nat\n"), "{after}");
    assert!(
        after.contains("-A POSTROUTING -o wan0 -j MASQUERADE\n"),
        "{after}"
    );
    assert!(
        after.contains(":FORWARD ACCEPT [0:0]\n-A INPUT -j DROP\n")
            || after.contains("-A INPUT -j DROP\n"),
        "{after}"
    );
    assert!(!after.contains("-A FORWARD -i lan0"), "{after}");

    // -T nat: of a text naming nat and filter, only nat is taken.
    let mut only_nat = restore_req(
        "*nat\n-A POSTROUTING -o wan0 -j SNAT --to-source 203.0.113.1\nCOMMIT\n*filter\n-A OUTPUT -j DROP\nCOMMIT\n",
    );
    only_nat.table = "nat".into();
    h.restore(only_nat).unwrap();
    let s = h.save(false);
    assert!(
        s.contains("-A POSTROUTING -o wan0 -j SNAT --to-source 203.0.113.1\n"),
        "{s}"
    );
    assert!(!s.contains("MASQUERADE"), "{s}");
    assert!(!s.contains("-A OUTPUT -j DROP"), "filter untouched: {s}");

    // --noflush appends to the named table.
    let mut nf = restore_req("*filter\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\nCOMMIT\n");
    nf.noflush = true;
    h.restore(nf).unwrap();
    let s = h.save(false);
    assert!(
        s.contains("-A INPUT -j DROP\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n"),
        "{s}"
    );
}

#[test]
fn refused_restores_print_what_iptables_restore_prints_and_change_nothing() {
    let h = start(RULES);
    // Counters that are not zero, so that "unchanged" covers them too.
    h.send_udp([93, 184, 216, 34], 40000, 3);
    h.wires[WAN].wait(3, PATIENCE);
    let before = h.save(true);
    assert!(before.contains("[3:"), "{before}");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/api/restore");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 6);
    for case in cases {
        let text = std::fs::read_to_string(&case).unwrap();
        let expect = std::fs::read_to_string(case.with_extension("expect")).unwrap();
        let (code, stderr) = expect.split_once('\n').unwrap();
        let e = h
            .restore(restore_req(&text))
            .expect_err(&case.display().to_string());
        assert_eq!(e.code(), Code::InvalidArgument, "{}", case.display());
        assert_eq!(e.message(), stderr, "{}", case.display());
        assert_eq!(
            exit_code(&e),
            Some(code.parse().unwrap()),
            "{}",
            case.display()
        );
        assert_eq!(h.save(true), before, "{} changed something", case.display());
    }
    // The line-40 case names its line as iptables-restore does.
    let text = std::fs::read_to_string(dir.join("line40_bad_policy.rules")).unwrap();
    let e = h.restore(restore_req(&text)).unwrap_err();
    assert_eq!(
        e.message(),
        "iptables-restore: line 40 failed: Bad policy name.\n"
    );
}

#[test]
fn exec_prints_and_exits_as_iptables_does() {
    let h = start("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/api/exec");
    let mut cmds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cmd"))
        .collect();
    cmds.sort();
    assert!(cmds.len() >= 20);
    let mut failures = Vec::new();
    for cmd in cmds {
        let args: Vec<String> = std::fs::read_to_string(&cmd)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let got = h.exec(&args_ref);
        let out = std::fs::read_to_string(cmd.with_extension("out")).unwrap();
        let err = std::fs::read_to_string(cmd.with_extension("err")).unwrap();
        let rc: i32 = std::fs::read_to_string(cmd.with_extension("rc"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if (got.stdout.as_str(), got.stderr.as_str(), got.exit_code) != (&out, &err, rc) {
            failures.push(format!(
                "iptables {}:\n  want rc {rc}, stdout {out:?}, stderr {err:?}\n  got  rc {}, stdout {:?}, stderr {:?}",
                args.join(" "),
                got.exit_code,
                got.stdout,
                got.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn save_has_the_workers_counters_and_zero_restarts_them() {
    let h = start(RULES);
    h.send_udp([93, 184, 216, 34], 41000, 3);
    assert_eq!(h.wires[WAN].wait(3, PATIENCE).len(), 3, "forwarded");
    let s = h.save(true);
    // 3 datagrams of 20 + 8 + 5 bytes.
    assert!(s.contains("[3:99] -A FORWARD -i lan0 -j ACCEPT\n"), "{s}");
    assert!(
        s.contains("[3:99] -A POSTROUTING -o wan0 -j MASQUERADE\n"),
        "{s}"
    );
    let list = h.exec(&["-L", "FORWARD", "-n", "-v", "-x"]);
    assert_eq!(list.exit_code, 0);
    assert!(
        list.stdout.contains("       3       99 ACCEPT"),
        "{}",
        list.stdout
    );

    let mut c = h.rules();
    h.rt.block_on(c.zero(pb::ZeroRequest {
        table: "filter".into(),
        chain: String::new(),
        rule: 0,
        ..Default::default()
    }))
    .expect("zero");
    let s = h.save(true);
    assert!(s.contains("[0:0] -A FORWARD -i lan0 -j ACCEPT\n"), "{s}");
    assert!(
        s.contains("[3:99] -A POSTROUTING -o wan0 -j MASQUERADE\n"),
        "nat untouched: {s}"
    );
    // ... and they count up again.
    h.send_udp([93, 184, 216, 34], 42000, 2);
    h.wires[WAN].wait(2, PATIENCE);
    let s = h.save(true);
    assert!(s.contains("[2:66] -A FORWARD -i lan0 -j ACCEPT\n"), "{s}");
    // iptables -Z through Exec, one chain of nat.
    let z = h.exec(&["-t", "nat", "-Z", "POSTROUTING"]);
    assert_eq!((z.exit_code, z.stderr.as_str()), (0, ""));
    assert!(h
        .save(true)
        .contains("[0:0] -A POSTROUTING -o wan0 -j MASQUERADE\n"));
    // iptables-restore -c: the restored table counts from the text's values.
    let mut with_counters = restore_req(
        "*filter\n:FORWARD DROP [4:400]\n[7:700] -A FORWARD -i lan0 -j ACCEPT\nCOMMIT\n",
    );
    with_counters.counters = true;
    h.restore(with_counters).unwrap();
    let s = h.save(true);
    assert!(s.contains(":FORWARD DROP [4:400]\n"), "{s}");
    assert!(s.contains("[7:700] -A FORWARD -i lan0 -j ACCEPT\n"), "{s}");
    let z = h.exec(&["-Z", "NOCHAIN"]);
    assert_eq!(
        (z.exit_code, z.stderr.as_str()),
        (1, "iptables: No chain/target/match by that name.\n")
    );
}

// ---- Sysctl ----

#[test]
fn sysctl_keeps_the_kernels_bounds_and_applies_live() {
    let h = start(RULES);
    let mut c = SysctlClient::new(h.channel());
    let get = |c: &mut SysctlClient<Channel>, n: &str| {
        h.rt.block_on(c.get(pb::SysctlGetRequest {
            names: vec![n.to_string()],
        }))
        .map(|r| r.into_inner().values)
    };
    let set = |c: &mut SysctlClient<Channel>, kv: &[(&str, &str)]| {
        h.rt.block_on(
            c.set(pb::SysctlSetRequest {
                values: kv
                    .iter()
                    .map(|(k, v)| pb::SysctlValue {
                        name: k.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
            }),
        )
    };
    let v = get(&mut c, "net.netfilter.nf_conntrack_max").unwrap();
    assert_eq!(
        (v[0].name.as_str(), v[0].value.as_str()),
        ("net.netfilter.nf_conntrack_max", "4096")
    );
    // Out of bounds, not a number, unknown: refused, nothing applied.
    for (kv, code) in [
        (vec![("nf_conntrack_tcp_loose", "2")], Code::InvalidArgument),
        (
            vec![("net.netfilter.nf_conntrack_udp_timeout", "4294967296")],
            Code::InvalidArgument,
        ),
        (vec![("nf_conntrack_max", "-1")], Code::InvalidArgument),
        (
            vec![("nf_conntrack_max", "1"), ("nf_conntrack_bogus", "1")],
            Code::NotFound,
        ),
    ] {
        let e = set(&mut c, &kv).expect_err("refused");
        assert_eq!(e.code(), code, "{kv:?}: {}", e.message());
    }
    let e = set(&mut c, &[("nf_conntrack_tcp_loose", "2")]).unwrap_err();
    assert_eq!(
        e.message(),
        "sysctl: setting key \"net.netfilter.nf_conntrack_tcp_loose\": Invalid argument"
    );
    assert_eq!(get(&mut c, "nf_conntrack_max").unwrap()[0].value, "4096");
    assert_eq!(get(&mut c, "nf_conntrack_tcp_loose").unwrap()[0].value, "1");

    // Live: with room for one connection, the table holds one (a new flow early-drops
    // the unreplied one, as the kernel's does).
    set(
        &mut c,
        &[
            ("nf_conntrack_max", "1"),
            ("nf_conntrack_udp_timeout", "60"),
        ],
    )
    .unwrap();
    assert_eq!(
        get(&mut c, "net.netfilter.nf_conntrack_udp_timeout").unwrap()[0].value,
        "60"
    );
    h.send_udp([93, 184, 216, 34], 43000, 3);
    assert_eq!(h.wires[WAN].wait(3, PATIENCE).len(), 3);
    assert_eq!(h.stats().workers[0].conntrack_entries, 1);
    // Room again: three more flows are all kept.
    set(&mut c, &[("net.netfilter.nf_conntrack_max", "100")]).unwrap();
    h.send_udp([93, 184, 216, 34], 44000, 3);
    assert_eq!(h.wires[WAN].wait(3, PATIENCE).len(), 3);
    assert_eq!(h.stats().workers[0].conntrack_entries, 4);
}

// ---- Net ----

#[test]
fn routes_and_neighbours_steer_forwarding() {
    let h = start(RULES);
    let mut net = NetClient::new(h.channel());
    let rt = &h.rt;
    let interfaces = rt
        .block_on(net.list_interfaces(pb::ListInterfacesRequest {}))
        .unwrap()
        .into_inner()
        .interfaces;
    assert_eq!(interfaces.len(), 2);
    assert_eq!(
        (
            interfaces[1].name.as_str(),
            interfaces[1].index,
            interfaces[1].mac.as_str(),
            interfaces[1].up
        ),
        ("wan0", 2, "02:00:00:00:02:01", true)
    );
    assert_eq!(
        interfaces[1].addresses,
        ["203.0.113.1/24", "fe80::ff:fe00:201/64"]
    );

    let neighbor = pb::Neighbor {
        ip: "203.0.113.253".into(),
        mac: "02:00:00:00:02:fd".into(),
        dev: "wan0".into(),
        state: String::new(),
    };
    rt.block_on(net.add_neighbor(neighbor.clone())).unwrap();
    let route = pb::Route {
        dst: "198.51.100.0/24".into(),
        via: "203.0.113.253".into(),
        ..Default::default()
    };
    rt.block_on(net.add_route(route.clone())).unwrap();
    let again = rt.block_on(net.add_route(route.clone())).unwrap_err();
    assert_eq!(again.message(), "RTNETLINK answers: File exists");
    let bad = rt
        .block_on(net.add_route(pb::Route {
            dst: "198.51.101.0/24".into(),
            via: "10.9.9.9".into(),
            ..Default::default()
        }))
        .unwrap_err();
    assert_eq!(
        (bad.code(), bad.message()),
        (Code::InvalidArgument, "Error: Nexthop has invalid gateway.")
    );
    let routes = rt
        .block_on(net.list_routes(pb::ListRoutesRequest {
            table: 0,
            family: 0,
        }))
        .unwrap()
        .into_inner()
        .routes;
    assert!(
        routes
            .iter()
            .any(|r| r.dst == "198.51.100.0/24" && r.via == "203.0.113.253" && r.dev == "wan0"),
        "{routes:?}"
    );
    let neighbors = rt
        .block_on(net.list_neighbors(pb::ListNeighborsRequest { dev: "wan0".into() }))
        .unwrap()
        .into_inner()
        .neighbors;
    assert!(
        neighbors.iter().any(|n| n.ip == "203.0.113.253"
            && n.mac == "02:00:00:00:02:fd"
            && n.state == "PERMANENT"),
        "{neighbors:?}"
    );

    // A packet to the new network leaves to the new next hop...
    h.send_udp([198, 51, 100, 7], 44000, 1);
    let out = h.wires[WAN].wait(1, PATIENCE);
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][0..6], &OTHER_GATEWAY_MAC, "to the route's gateway");
    assert_eq!(&out[0][6..12], &WAN_MAC);

    // ... and after DeleteRoute to the default gateway again.
    rt.block_on(net.delete_route(route.clone())).unwrap();
    let gone = rt.block_on(net.delete_route(route)).unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    h.send_udp([198, 51, 100, 7], 44001, 1);
    let out = h.wires[WAN].wait(1, PATIENCE);
    assert_eq!(&out[0][0..6], &GATEWAY_MAC, "to the default gateway");

    rt.block_on(net.delete_neighbor(neighbor.clone())).unwrap();
    let neighbors = rt
        .block_on(net.list_neighbors(pb::ListNeighborsRequest { dev: String::new() }))
        .unwrap()
        .into_inner()
        .neighbors;
    assert!(
        !neighbors.iter().any(|n| n.ip == "203.0.113.253"),
        "{neighbors:?}"
    );
    assert_eq!(
        rt.block_on(net.delete_neighbor(neighbor))
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // Policy rules: add, list, delete.
    let rule = pb::PolicyRule {
        priority: 100,
        fwmark: 1,
        mask: 0xff,
        table: 100,
        family: 0,
    };
    rt.block_on(net.add_policy_rule(rule)).unwrap();
    let rules = rt
        .block_on(net.list_policy_rules(pb::ListPolicyRulesRequest { family: 0 }))
        .unwrap()
        .into_inner()
        .rules;
    assert_eq!(
        rules
            .iter()
            .map(|r| (r.priority, r.table))
            .collect::<Vec<_>>(),
        vec![(0, 255), (100, 100), (32766, 254), (32767, 253)]
    );
    rt.block_on(net.delete_policy_rule(rule)).unwrap();
    assert_eq!(
        rt.block_on(net.list_policy_rules(pb::ListPolicyRulesRequest { family: 0 }))
            .unwrap()
            .into_inner()
            .rules
            .len(),
        3
    );
}

// ---- Stats ----

#[test]
fn stats_count_ports_workers_and_drops() {
    let h = start(RULES);
    h.send_udp([93, 184, 216, 34], 45000, 2);
    h.wires[WAN].wait(2, PATIENCE);
    // Unsolicited from the WAN: dropped by FORWARD's policy.
    let ip = udp([93, 184, 216, 34], [192, 168, 1, 10], 53, 53, b"x");
    h.wires[WAN].inject(0, &ether(WAN_MAC, GATEWAY_MAC, 0x0800, &ip));
    let deadline = Instant::now() + PATIENCE;
    let s = loop {
        let s = h.stats();
        if s.workers[0].outcomes["received"] >= 3 {
            break s;
        }
        assert!(Instant::now() < deadline);
    };
    assert_eq!(s.ports.len(), 2);
    assert_eq!(
        (s.ports[LAN].name.as_str(), s.ports[LAN].rx_packets),
        ("lan0", 2)
    );
    assert_eq!(
        s.ports[WAN].tx_packets, 3,
        "two datagrams and the link-up announcement"
    );
    assert_eq!(s.workers.len(), 1);
    assert_eq!(s.workers[0].core, -1, "unpinned");
    assert_eq!(s.workers[0].outcomes["forwarded"], 2);
    assert_eq!(s.workers[0].conntrack_entries, 2);
    let rules_drops = s
        .drops
        .iter()
        .find(|d| d.reason == "dropped_by_rules")
        .unwrap();
    assert_eq!(rules_drops.packets, 1);
    assert_eq!(s.ruleset_generation, 1);
    assert!(s.uptime_seconds < 600);
}

// ---- listeners, auth, abuse ----

#[test]
fn the_tcp_listener_needs_the_bearer_token() {
    let serial = serial();
    let dir = temp_dir("api");
    std::fs::write(dir.join("rules.v4"), RULES).unwrap();
    std::fs::write(dir.join("token"), "s3cret-token\n").unwrap();
    let api = format!(
        "listen = \"127.0.0.1:0\"\ntoken_file = \"{}/token\"\n",
        dir.display()
    );
    let cfg = load(&dir, "", &api);
    let h = start_in(dir, cfg, serial);
    let addr = h
        .daemon
        .as_ref()
        .unwrap()
        .api_tcp_addr()
        .expect("tcp listener");
    let channel =
        h.rt.block_on(
            Endpoint::try_from(format!("http://{addr}"))
                .unwrap()
                .connect(),
        )
        .expect("tcp connect");
    let save = |token: Option<&str>| {
        let mut req = tonic::Request::new(pb::SaveRequest::default());
        if let Some(t) = token {
            req.metadata_mut()
                .insert("authorization", t.parse().unwrap());
        }
        h.rt.block_on(RulesClient::new(channel.clone()).save(req))
    };
    assert_eq!(save(None).unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(
        save(Some("Bearer wrong")).unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        save(Some("Bearer s3cret-tokenX")).unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        save(Some("s3cret-token")).unwrap_err().code(),
        Code::Unauthenticated
    );
    let ok = save(Some("Bearer s3cret-token")).expect("the right token");
    assert!(ok.into_inner().text.contains("MASQUERADE"));
    // The Unix socket needs none.
    assert!(h.save(false).contains("MASQUERADE"));
    // The socket is mode 0660.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(h.socket()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
}

#[test]
fn no_tcp_listener_without_a_token_file() {
    let dir = temp_dir("api");
    std::fs::write(dir.join("rules.v4"), RULES).unwrap();
    let text = config_text(&dir, "").replace("[api]\n", "[api]\nlisten = \"127.0.0.1:0\"\n");
    let e = Config::parse(&text, &dir.join("nfdp.toml")).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.starts_with("listen ="))
        .unwrap()
        + 1;
    assert_eq!(e.line, Some(line));
    assert!(e.to_string().contains("token_file"), "{e}");
    // An empty token file refuses the start.
    std::fs::write(dir.join("token"), "\n").unwrap();
    let text = text.replace(
        "[api]\n",
        &format!("[api]\ntoken_file = \"{}/token\"\n", dir.display()),
    );
    let cfg = Config::parse(&text, &dir.join("nfdp.toml")).unwrap();
    let (ports, _) = wire_ports(&cfg).unwrap();
    let e = core::start(cfg, Default::default(), ports, Options::default())
        .err()
        .expect("refused");
    assert!(e.contains("token is empty"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn oversized_and_garbage_requests_leave_the_daemon_serving() {
    let h = start(RULES);
    let before = h.save(true);
    // 100 MiB of rules: refused before it is parsed.
    let mut big = String::with_capacity(100 << 20);
    big.push_str("*filter\n");
    while big.len() < 100 << 20 {
        big.push_str("-A INPUT -s 10.0.0.1/32 -j ACCEPT\n");
    }
    big.push_str("COMMIT\n");
    let e = h.restore(restore_req(&big)).unwrap_err();
    assert!(
        matches!(e.code(), Code::ResourceExhausted | Code::OutOfRange),
        "{e:?}"
    );
    drop(big);
    assert_eq!(h.save(true), before);

    // Bytes that are not HTTP/2 on the socket.
    for garbage in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[0xffu8; 4096][..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x01\x00",
    ] {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(h.socket()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(garbage);
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf);
    }
    // A gRPC call whose body is not the message: refused, nothing changed.
    let e =
        h.rt.block_on(raw_call(
            h.channel(),
            "/nfdp.v1.Rules/Restore",
            vec![0xff; 64],
        ))
        .unwrap_err();
    assert_eq!(e.code(), Code::Internal, "{e:?}");
    assert_eq!(h.save(true), before);
    assert_eq!(
        h.exec(&["-C", "FORWARD", "-i", "lan0", "-j", "ACCEPT"])
            .exit_code,
        0
    );
}

/// A unary call with `body` as the encoded request.
async fn raw_call(channel: Channel, path: &str, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path: tonic::codegen::http::uri::PathAndQuery = path.parse().unwrap();
    grpc.unary(tonic::Request::new(body), path, RawCodec)
        .await
        .map(|r| r.into_inner())
}

#[derive(Default, Clone)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n).to_vec()))
    }
}

// ---- health, reflection ----

#[test]
fn health_serves_until_the_workers_stop_and_reflection_lists_the_services() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let mut h = start(RULES);
    let check = |h: &Harness, service: &str| {
        h.rt.block_on(
            HealthClient::new(h.channel()).check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            }),
        )
        .unwrap()
        .into_inner()
        .status
    };
    assert_eq!(check(&h, ""), ServingStatus::Serving as i32);
    assert_eq!(check(&h, "nfdp.v1.Rules"), ServingStatus::Serving as i32);

    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let req = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut client = ServerReflectionClient::new(h.channel());
    let mut stream =
        h.rt.block_on(client.server_reflection_info(tokio_stream::iter([req])))
            .unwrap()
            .into_inner();
    let resp = h.rt.block_on(stream.message()).unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
        panic!("{resp:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "nfdp.v1.Rules",
        "nfdp.v1.Sysctl",
        "nfdp.v1.Net",
        "nfdp.v1.Stats",
    ] {
        assert!(names.iter().any(|n| n == want), "{names:?}");
    }

    h.daemon().stop_workers();
    assert_eq!(check(&h, ""), ServingStatus::NotServing as i32);
    assert_eq!(check(&h, "nfdp.v1.Rules"), ServingStatus::NotServing as i32);
    let mut c = StatsClient::new(h.channel());
    let e = h.rt.block_on(c.get(pb::StatsRequest {})).unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
}

// ---- persistence, SIGHUP ----

#[test]
fn accepted_changes_are_written_back_and_a_restart_starts_from_them() {
    let h = start(RULES);
    let r = h.exec(&["-A", "INPUT", "-s", "10.1.2.3", "-j", "DROP"]);
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
    assert!(r.generation > 1);
    let saved = h.save(false);
    let file = std::fs::read_to_string(h.dir.join("rules.v4")).unwrap();
    assert_eq!(file, saved, "the file is the running ruleset");
    // Refused changes and listings leave the file alone.
    let mtime = std::fs::metadata(h.dir.join("rules.v4"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(h.exec(&["-A", "INPUT", "-j", "FROBNICATE"]).exit_code, 2);
    assert_eq!(h.exec(&["-L", "-n"]).exit_code, 0);
    assert_eq!(
        std::fs::metadata(h.dir.join("rules.v4"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    // Only the file is left in the directory: no temporary beside it.
    let mut names: Vec<String> = std::fs::read_dir(&h.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["nfdp.toml", "rules.v4", "run"]);

    // A second daemon on the same socket is refused while the first serves it.
    let cfg = Config::load(h.dir.join("nfdp.toml")).unwrap();
    let (ports, _) = wire_ports(&cfg).unwrap();
    let e = core::start(cfg, Default::default(), ports, Options::default())
        .err()
        .expect("refused");
    assert!(e.contains("another process is serving it"), "{e}");

    // A restart from the same config gives the same iptables-save, over a stale socket
    // file left behind (as a crash would leave it).
    let mut h = h;
    h.daemon.take().unwrap().shutdown();
    assert!(!h.socket().exists(), "a clean stop removes the socket");
    drop(std::os::unix::net::UnixListener::bind(h.socket()).unwrap());
    assert!(h.socket().exists());
    h.restart();
    assert_eq!(h.save(false), saved);
}

/// A FORWARD chain of 2,000 rules (a classifier of about 1 MB) that ends in a UDP drop.
fn big_rules() -> String {
    let mut text = String::from("*filter\n");
    for i in 0..2000 {
        text += &format!(
            "-A FORWARD -s 10.{}.{}.0/24 -p tcp --dport {} -j ACCEPT\n",
            i / 256,
            i % 256,
            1000 + i
        );
    }
    text + "-A FORWARD -p udp -j DROP\nCOMMIT\n"
}

#[test]
fn a_ruleset_over_the_classifier_budget_is_refused_everywhere_and_changes_nothing() {
    let serial = serial();
    let dir = temp_dir("api");
    std::fs::write(dir.join("rules.v4"), RULES).expect("rules file");
    let text = config_text(&dir, "").replace(
        "workers = [0]\n",
        "workers = [0]\nclassifier_memory = 65536\n",
    );
    std::fs::write(dir.join("nfdp.toml"), text).expect("config");
    let cfg = Config::load(dir.join("nfdp.toml")).expect("config");
    let h = start_in(dir, cfg, serial);
    let before = h.save(false);
    let file = std::fs::read_to_string(h.dir.join("rules.v4")).unwrap();

    // The API: INVALID_ARGUMENT naming the chain; the running ruleset and the file stay.
    let e = h.restore(restore_req(&big_rules())).expect_err("refused");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().starts_with(
            "ruleset refused: the classifier of chain FORWARD in table filter (2001 rules) needs about "
        ) && e.message().ends_with(
            " bytes, more than the 65536 bytes left of the classifier memory budget of 65536 bytes ([dataplane] classifier_memory)"
        ),
        "{}",
        e.message()
    );
    assert_eq!(h.save(false), before);
    assert_eq!(
        std::fs::read_to_string(h.dir.join("rules.v4")).unwrap(),
        file
    );
    h.send_udp([93, 184, 216, 34], 40000, 2);
    assert_eq!(h.wires[WAN].wait(2, PATIENCE).len(), 2, "still forwarding");

    // SIGHUP: the same refusal, as an error; nothing changes.
    std::fs::write(h.dir.join("rules.v4"), big_rules()).unwrap();
    let control = std::sync::Arc::clone(h.daemon.as_ref().unwrap().control());
    let e = control.reload_rules_file().expect_err("refused");
    assert!(
        e.starts_with("ruleset refused: the classifier of chain FORWARD"),
        "{e}"
    );
    assert_eq!(h.save(false), before);

    // At start-up the daemon refuses to start with it.
    let cfg = Config::load(h.dir.join("nfdp.toml")).unwrap();
    let rules = control::daemon::load_rules(&h.dir.join("rules.v4"), cfg.rules_file_limit).unwrap();
    let mut h = h;
    h.daemon.take().unwrap().shutdown();
    let (ports, _) = wire_ports(&cfg).unwrap();
    let e = core::start(cfg, rules, ports, Options::default())
        .err()
        .expect("refused");
    assert!(
        e.starts_with("ruleset refused: the classifier of chain FORWARD"),
        "{e}"
    );
}

/// SIGHUP with a rules file that is no rules file (a FIFO, a link to /dev/zero, over
/// `[rules] max_file_size`, not UTF-8, not the iptables language): refused at once, with the
/// reason; the running ruleset (its generation too) stays and forwards, and the daemon
/// still stops with a FIFO in place and a SIGHUP pending.
#[test]
fn sighup_refuses_what_is_not_a_rules_file_and_the_ruleset_stays() {
    let mut h = start_with(RULES, "max_file_size = 4096\n", "");
    let before = h.save(false);
    let control = std::sync::Arc::clone(h.daemon.as_ref().unwrap().control());
    let generation = control.shared.compiled.load().generation;
    let rules = h.dir.join("rules.v4");
    let path = rules.display().to_string();
    // In a thread: a reload blocked on the FIFO would hang the test, not fail it.
    let reload = || {
        let c = std::sync::Arc::clone(&control);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(c.reload_rules_file()).unwrap());
        rx.recv_timeout(PATIENCE)
            .expect("the reload returned")
            .expect_err("refused")
    };
    let mkfifo = |p: &Path| {
        let made = std::process::Command::new("mkfifo").arg(p).status();
        assert!(made.expect("mkfifo").success());
    };

    std::fs::remove_file(&rules).unwrap();
    mkfifo(&rules);
    assert_eq!(
        reload(),
        format!("rules file {path}: not a regular file (a FIFO)")
    );
    std::fs::remove_file(&rules).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &rules).unwrap();
    assert_eq!(
        reload(),
        format!("rules file {path}: not a regular file (a character device)")
    );
    std::fs::remove_file(&rules).unwrap();
    std::fs::write(&rules, "#".repeat(4097)).unwrap();
    assert_eq!(
        reload(),
        format!("rules file {path}: larger than the limit of 4096 bytes")
    );
    std::fs::write(&rules, b"*filter\n\xff\xfe\n").unwrap();
    assert_eq!(
        reload(),
        format!("rules file {path}: not UTF-8 text (an invalid byte at offset 8)")
    );
    std::fs::write(&rules, "*filter\n-A FORWARD -j DROP\nrm -rf /\nCOMMIT\n").unwrap();
    let e = reload();
    assert!(e.starts_with(&format!("{path}:3: ")), "{e}");

    assert_eq!(h.save(false), before);
    assert_eq!(control.shared.compiled.load().generation, generation);
    h.send_udp([93, 184, 216, 34], 42000, 2);
    assert_eq!(h.wires[WAN].wait(2, PATIENCE).len(), 2, "still forwarding");

    // The SIGHUP path itself (the control thread), then a stop: it completes.
    std::fs::remove_file(&rules).unwrap();
    mkfifo(&rules);
    let daemon = h.daemon.take().unwrap();
    daemon.reload_flag().store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(h.save(false), before);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        daemon.shutdown();
        tx.send(()).unwrap();
    });
    rx.recv_timeout(PATIENCE).expect("the daemon stopped");
}

/// Two rulesets of `n` FORWARD rules each, large enough that writing one takes a while
/// (long comments: more bytes to write, no more to compile).
fn persisted_pair(n: u32) -> [String; 2] {
    let comment = "x".repeat(250);
    ["ACCEPT", "DROP"].map(|verdict| {
        let mut t = String::from("*filter\n:FORWARD DROP [0:0]\n");
        for i in 0..n {
            t += &format!(
                "-A FORWARD -s 10.{}.{}.0/24 -p tcp --dport {} -m comment --comment {comment} -j {verdict}\n",
                i >> 8,
                i & 0xff,
                1 + i % 60000
            );
        }
        t + "COMMIT\n"
    })
}

/// The child process of `a_sigkill_during_rules_updates_leaves_the_old_or_the_new_file`:
/// with NFDP_PERSIST_CHILD naming a test directory, a daemon there commits (and so
/// persists) the two rulesets of `persisted_pair` in turn until it is killed. Run alone,
/// it does nothing.
#[test]
#[ignore = "the child process of a test"]
fn persisting_child() {
    let Some(dir) = std::env::var_os("NFDP_PERSIST_CHILD") else {
        return;
    };
    let cfg = Config::load(Path::new(&dir).join("nfdp.toml")).expect("config");
    let (daemon, _wires) = boot(cfg);
    let control = daemon.control();
    let rulesets =
        persisted_pair(2000).map(|t| control::daemon::parse_rules(&t, "pair").expect("ruleset"));
    for i in 0.. {
        let _g = control.lock_changes();
        control
            .commit_rules(rulesets[i % 2].clone())
            .expect("committed");
    }
}

/// SIGKILL while the daemon writes accepted changes back to the rules file (`[rules]
/// persist`), then a restart: the file holds the old ruleset or the new one, whole, never a
/// mix. Half the rounds kill the moment a write's temporary file appears (mid-update), half
/// at other moments of the commit cycle.
#[test]
fn a_sigkill_during_rules_updates_leaves_the_old_or_the_new_file() {
    let _serial = serial();
    let dir = temp_dir("persist-kill");
    let rules = dir.join("rules.v4");
    // What the daemon writes: the rulesets as iptables-save prints them; the first is there
    // from the start.
    let saved = persisted_pair(2000).map(|t| {
        control::iptables::save_ruleset(&control::daemon::parse_rules(&t, "pair").unwrap(), false)
    });
    std::fs::write(&rules, &saved[0]).unwrap();
    std::fs::write(dir.join("nfdp.toml"), config_text(&dir, "")).unwrap();
    let temporaries = || -> Vec<PathBuf> {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("/.rules.v4.nfdp-"))
            .collect()
    };
    // Which version of the file is there: a write renames a new inode in (or, written in
    // place, changes the modification time).
    let version = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| (std::os::unix::fs::MetadataExt::ino(&m), m.modified().ok()))
            .ok()
    };
    const ROUNDS: u64 = 12;
    let mut mid_write = 0;
    for round in 0..ROUNDS {
        let before = version(&rules);
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "persisting_child"])
            .env("NFDP_PERSIST_CHILD", &dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("child");
        let deadline = Instant::now() + PATIENCE;
        if round % 2 == 0 {
            // The kill lands while a write is under way.
            while temporaries().is_empty() {
                assert!(Instant::now() < deadline, "no write began");
            }
        } else {
            // Once a write has landed, a little later.
            while version(&rules) == before {
                assert!(Instant::now() < deadline, "the child never wrote the file");
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(round * 37 % 100));
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();

        // (A missing file reads as empty: as wrong as a torn one.)
        let text = std::fs::read_to_string(&rules).unwrap_or_default();
        assert!(saved.contains(&text), "round {round}: a torn rules file");
        // The restart's read: a whole ruleset.
        let cfg = Config::load(dir.join("nfdp.toml")).unwrap();
        control::daemon::load_rules(&rules, cfg.rules_file_limit).expect("the restart's rules");
        // A kill during a write leaves its temporary file (never read) beside the rules;
        // the restart removes it.
        let left = temporaries().len();
        assert_eq!(
            control::daemon::persist::remove_stale_temporaries(&rules),
            left
        );
        assert_eq!(temporaries(), Vec::<PathBuf>::new());
        mid_write += left;
    }
    eprintln!("{mid_write} of {ROUNDS} kills landed during a write");
    assert!(mid_write >= 1, "no kill landed during a write");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Everything logged through `tracing` in this test process from the first call on (a
/// global subscriber: the control thread logs from a thread of its own).
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    #[derive(Clone)]
    struct Log(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Log {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static LOG: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    Arc::clone(LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer = Log(Arc::clone(&log));
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        log
    }))
}

/// The control thread's watchdog: a worker stuck in a driver call (its receive queue held)
/// is logged as stalled, and as polling again once the call returns.
#[test]
fn the_control_thread_logs_a_stalled_worker() {
    let log = captured_log();
    let logged = |what: &str| {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
            if let Some(line) = text.lines().find(|l| l.contains(what)) {
                return line.to_string();
            }
            assert!(Instant::now() < deadline, "nothing logged: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let _serial = serial();
    let dir = temp_dir("watchdog");
    std::fs::write(dir.join("rules.v4"), RULES).unwrap();
    let cfg = load(&dir, "", "");
    let rules = control::daemon::load_rules(&dir.join("rules.v4"), cfg.rules_file_limit).unwrap();
    let (ports, wires) = wire_ports(&cfg).unwrap();
    let opts = Options {
        stall_after: Some(Duration::from_millis(300)),
        ..Options::default()
    };
    let daemon = core::start(cfg, rules, ports, opts).expect("daemon");
    announced(&wires);

    let held = wires[LAN].hold_rx(0).expect("queue 0");
    let line = logged("worker stalled");
    assert!(line.contains("WARN") && line.contains("worker=0"), "{line}");
    drop(held);
    let line = logged("worker polling again");
    assert!(line.contains("WARN") && line.contains("worker=0"), "{line}");
    daemon.shutdown();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_persist_the_file_is_left_alone() {
    let h = start_with(RULES, "persist = false\n", "");
    assert_eq!(h.exec(&["-A", "INPUT", "-j", "DROP"]).exit_code, 0);
    assert_eq!(
        std::fs::read_to_string(h.dir.join("rules.v4")).unwrap(),
        RULES
    );
}

#[test]
fn a_reload_of_an_empty_rules_file_changes_nothing() {
    let h = start_with(RULES, "persist = false\n", "");
    let before = h.save(false);
    std::fs::write(h.dir.join("rules.v4"), "").unwrap();
    h.daemon
        .as_ref()
        .unwrap()
        .reload_flag()
        .store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(h.save(false), before);
    assert_eq!(h.stats().ruleset_generation, 1, "nothing published");
    // A file naming only nat replaces only nat.
    std::fs::write(h.dir.join("rules.v4"), "*nat\nCOMMIT\n").unwrap();
    h.daemon
        .as_ref()
        .unwrap()
        .reload_flag()
        .store(true, Ordering::Relaxed);
    let deadline = Instant::now() + PATIENCE;
    while h.stats().ruleset_generation == 1 {
        assert!(Instant::now() < deadline, "reloaded");
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = h.save(false);
    assert!(!after.contains("MASQUERADE"), "{after}");
    assert!(after.contains("-A FORWARD -i lan0 -j ACCEPT"), "{after}");
}

/// A port queue that panics on its next poll once tripped (a worker dying).
struct Tripwire {
    inner: Box<dyn dataplane::port::Port>,
    trip: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl dataplane::port::Port for Tripwire {
    fn id(&self) -> dataplane::port::PortId {
        self.inner.id()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn mac(&self) -> dataplane::port::MacAddr {
        self.inner.mac()
    }
    fn queues(&self) -> u16 {
        self.inner.queues()
    }
    fn rx_burst(
        &mut self,
        q: u16,
        bufs: &mut Vec<dataplane::port::PacketBuf>,
        max: usize,
    ) -> usize {
        assert!(
            !self.trip.load(Ordering::Relaxed),
            "tripwire: this worker dies"
        );
        self.inner.rx_burst(q, bufs, max)
    }
    fn tx_burst(&mut self, q: u16, pkts: &mut Vec<dataplane::port::PacketBuf>) -> usize {
        self.inner.tx_burst(q, pkts)
    }
    fn count_tx_dropped(&mut self, n: u64) {
        self.inner.count_tx_dropped(n)
    }
    fn stats(&self) -> dataplane::port::PortStats {
        self.inner.stats()
    }
}

#[test]
fn health_goes_not_serving_when_a_worker_dies() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let serial = serial();
    let dir = temp_dir("api");
    std::fs::write(dir.join("rules.v4"), RULES).unwrap();
    let cfg = load(&dir, "", "");
    let (mut ports, wires) = wire_ports(&cfg).unwrap();
    let trip = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lan = ports.queues[0].remove(0);
    ports.queues[0].insert(
        0,
        Box::new(Tripwire {
            inner: lan,
            trip: std::sync::Arc::clone(&trip),
        }),
    );
    let daemon = core::start(cfg, Default::default(), ports, Options::default()).unwrap();
    announced(&wires);
    let h = Harness {
        run: Running::new(daemon, wires, dir, serial),
        rt: runtime(),
    };
    let check = |h: &Harness| {
        h.rt.block_on(
            HealthClient::new(h.channel()).check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            }),
        )
        .unwrap()
        .into_inner()
        .status
    };
    assert_eq!(check(&h), ServingStatus::Serving as i32);
    trip.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + PATIENCE;
    while check(&h) != ServingStatus::NotServing as i32 {
        assert!(Instant::now() < deadline, "health still SERVING");
        std::thread::sleep(Duration::from_millis(50));
    }
    let e =
        h.rt.block_on(StatsClient::new(h.channel()).get(pb::StatsRequest {}))
            .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
}
