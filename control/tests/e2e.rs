//! End to end: a daemon core on in-memory wires with its API on a Unix socket in a temp
//! dir, driven only through the built `nfdpctl` binary (by subcommand with `--socket`, and
//! through the `iptables`/`iptables-save`/`iptables-restore`/`ip6tables*`/`conntrack` links that
//! `nfdpctl install-links` makes, with NFDP_SOCKET), and through non-Rust clients
//! (fail2ban's own actions, a Python gRPC client). Outputs and exit codes are compared with
//! what iptables 1.8.9 and conntrack 1.4.7 print (tests/golden/api, tests/golden/conntrack).

mod support;

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::daemon::{boot, config_text, serial, temp_dir, write_config, Running};
use support::frames::{ether_ipv4, icmp_echo, tcp, ACK, SYN};
use support::process::{run, Out};
use support::{GATEWAY_MAC, HOST, HOST_MAC, LAN_MAC, PATIENCE, WAN_MAC};

const PUBLIC: [u8; 4] = [203, 0, 113, 1];
const SERVER: [u8; 4] = [198, 51, 100, 7];
const LAN: usize = 0;
const WAN: usize = 1;

/// Masquerade out of wan0; the FORWARD chain counts NEW packets in its first rule.
const NAT_RULES: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate NEW -j ACCEPT\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";

/// A running daemon core, its wires, and a directory of nfdpctl's tool links.
type Harness = Running;

fn nfdpctl() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_nfdpctl"))
}

fn start(rules: &str) -> Harness {
    let serial = serial();
    let dir = temp_dir("e2e");
    std::fs::write(dir.join("rules.v4"), rules).expect("rules file");
    let (daemon, wires) = boot(write_config(&dir, &config_text(&dir, "")));
    let h = Running::new(daemon, wires, dir, serial);
    let mut links = Command::new(nfdpctl());
    links.args(["install-links", h.bin().to_str().unwrap()]);
    let out = run(links, b"");
    assert_eq!((out.stderr.as_str(), out.rc), ("", 0), "install-links");
    h
}

impl Harness {
    fn socket(&self) -> PathBuf {
        support::daemon::socket(&self.dir)
    }

    fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }

    /// `nfdpctl --socket S ARGS` with `input` on stdin.
    fn ctl_in(&self, args: &[&str], input: &[u8]) -> Out {
        let mut c = Command::new(nfdpctl());
        c.arg("--socket")
            .arg(self.socket())
            .args(args)
            .env_remove("NFDP_SOCKET");
        run(c, input)
    }

    fn ctl(&self, args: &[&str]) -> Out {
        self.ctl_in(args, b"")
    }

    /// A tool through its link, the daemon named by NFDP_SOCKET.
    fn tool_command(&self, tool: &str, args: &[&str]) -> Command {
        let mut c = Command::new(self.bin().join(tool));
        c.args(args).env("NFDP_SOCKET", self.socket());
        c
    }

    fn tool_in(&self, tool: &str, args: &[&str], input: &[u8]) -> Out {
        run(self.tool_command(tool, args), input)
    }

    fn tool(&self, tool: &str, args: &[&str]) -> Out {
        self.tool_in(tool, args, b"")
    }

    /// A command that must succeed silently on stderr; its stdout.
    fn ok(&self, tool: &str, args: &[&str]) -> String {
        let o = self.tool(tool, args);
        assert_eq!(o.rc, 0, "{tool} {args:?}: {o:?}");
        o.stdout
    }

    fn save_c(&self) -> String {
        strip_comments(&self.ok("iptables-save", &["-c"]))
    }

    /// Sends a frame in from the LAN host and returns what leaves on the WAN.
    fn out_to_wan(&self, ip: &[u8]) -> Vec<u8> {
        self.wires[LAN].inject(0, &ether_ipv4(LAN_MAC, HOST_MAC, ip));
        let mut got = self.wires[WAN].wait(1, PATIENCE);
        assert_eq!(got.len(), 1, "one frame forwarded to the WAN");
        got.remove(0)
    }

    /// Sends a frame in from the WAN gateway and returns what leaves on the LAN.
    fn in_to_lan(&self, ip: &[u8]) -> Vec<u8> {
        self.wires[WAN].inject(0, &ether_ipv4(WAN_MAC, GATEWAY_MAC, ip));
        let mut got = self.wires[LAN].wait(1, PATIENCE);
        assert_eq!(got.len(), 1, "one frame forwarded to the LAN");
        got.remove(0)
    }

    /// A UDP datagram out and its answer back: the masqueraded source port.
    fn udp_flow(&self, sport: u16, dport: u16, answered: bool) -> u16 {
        let out = self.out_to_wan(&udp(HOST, SERVER, sport, dport));
        assert_eq!(&out[26..30], &PUBLIC, "masqueraded");
        let nat_port = u16::from_be_bytes([out[34], out[35]]);
        if answered {
            self.in_to_lan(&udp(SERVER, PUBLIC, dport, nat_port));
        }
        nat_port
    }

    /// A TCP handshake from the LAN host through MASQUERADE.
    fn tcp_flow(&self, sport: u16, dport: u16) {
        let syn = self.out_to_wan(&tcp(HOST, SERVER, sport, dport, SYN, 1000, 0));
        let nat_port = u16::from_be_bytes([syn[34], syn[35]]);
        self.in_to_lan(&tcp(SERVER, PUBLIC, dport, nat_port, SYN | ACK, 5000, 1001));
        self.out_to_wan(&tcp(HOST, SERVER, sport, dport, ACK, 1001, 5001));
    }

    /// An echo request and its reply.
    fn ping(&self, id: u16) {
        let out = self.out_to_wan(&icmp_echo(HOST, SERVER, 8, id, 1));
        let nat_id = u16::from_be_bytes([out[38], out[39]]);
        self.in_to_lan(&icmp_echo(SERVER, PUBLIC, 0, nat_id, 1));
    }

    /// The packet counter of FORWARD's rule `num` as `iptables -L -v -x` prints it.
    fn forward_packets(&self, num: usize) -> u64 {
        let list = self.ok(
            "iptables",
            &["-L", "FORWARD", "-n", "-v", "-x", "--line-numbers"],
        );
        let line = list
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&num.to_string()))
            .unwrap_or_else(|| panic!("no rule {num} in\n{list}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

fn strip_comments(save: &str) -> String {
    save.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// UDP carrying "query".
fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    support::frames::udp(src, dst, sport, dport, b"query")
}

// ---- conntrack lines ----

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// A conntrack line with its timeout (the third field) replaced by `T`; an event line's
/// `[TYPE] ` prefix is kept. conntrack pads the protocol name to 9 columns.
fn untimed(line: &str) -> String {
    let (prefix, entry) = match line.find("] ") {
        Some(i) if line.trim_start().starts_with('[') => line.split_at(i + 2),
        _ => ("", line),
    };
    if entry.len() < 9 {
        return line.to_string();
    }
    let (head, rest) = entry.split_at(9);
    let mut parts = rest.splitn(3, ' ');
    let num = parts.next().unwrap_or("");
    let _timeout = parts.next();
    let tail = parts.next().unwrap_or("");
    format!("{prefix}{head}{num} T {tail}")
}

/// A conntrack line's structure: the protocol column, then each field's key (`src=`,
/// `[ASSURED]`, a state name as `STATE`), values dropped.
fn shape(line: &str) -> Vec<String> {
    let u = untimed(line);
    let mut out = vec![u.get(..9).unwrap_or("").to_string()];
    for tok in u.get(9..).unwrap_or("").split(' ') {
        out.push(match tok.split_once('=') {
            Some((k, _)) => format!("{k}="),
            None if tok.starts_with('[') || tok == "T" => tok.to_string(),
            None if tok.chars().all(|c| c.is_ascii_digit()) => "N".into(),
            None => "STATE".into(),
        });
    }
    out
}

/// The shapes of every entry line conntrack 1.4.7 printed in the captures.
fn golden_shapes() -> Vec<Vec<String>> {
    let mut shapes = Vec::new();
    for e in std::fs::read_dir(golden_dir().join("conntrack")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "out") {
            for l in std::fs::read_to_string(&p).unwrap().lines() {
                if l.contains(" src=") {
                    shapes.push(shape(l));
                }
            }
        }
    }
    shapes
}

fn assert_golden_shaped(lines: &str) {
    let shapes = golden_shapes();
    for l in lines.lines() {
        assert!(
            shapes.contains(&shape(l)),
            "no capture of conntrack 1.4.7 has a line shaped like\n{l}\n{:?}",
            shape(l)
        );
    }
}

fn sorted_untimed(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out.lines().map(untimed).collect();
    v.sort();
    v
}

// ---- iptables ----

/// `ipset` through its link: a set made, a rule that names it, restore and save, and the
/// refusal of a destroy while the rule is there.
#[test]
fn ipset_link_drives_the_daemons_sets() {
    let h = start("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
    let out = h.tool("ipset", &["create", "bl", "hash:net", "counters"]);
    assert_eq!((out.stderr.as_str(), out.rc), ("", 0));
    let out = h.tool_in(
        "ipset",
        &["restore"],
        b"add bl 10.0.0.0/8\nadd bl 10.9.0.0/16 nomatch\n",
    );
    assert_eq!((out.stderr.as_str(), out.rc), ("", 0));
    let out = h.tool(
        "iptables",
        &[
            "-A",
            "FORWARD",
            "-m",
            "set",
            "--match-set",
            "bl",
            "src",
            "-j",
            "DROP",
        ],
    );
    assert_eq!((out.stderr.as_str(), out.rc), ("", 0));
    let out = h.tool(
        "iptables",
        &[
            "-A",
            "FORWARD",
            "-m",
            "set",
            "--match-set",
            "nosuch",
            "src",
            "-j",
            "DROP",
        ],
    );
    assert_eq!(
        (out.stderr.as_str(), out.rc),
        (
            "iptables v1.8.9 (nf_tables): Set nosuch doesn't exist.\n\nTry `iptables -h' or 'iptables --help' for more information.\n",
            2
        )
    );
    let out = h.tool("ipset", &["save", "bl"]);
    assert_eq!(out.rc, 0);
    let members: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(
        members,
        [
            "add bl 10.0.0.0/8 packets 0 bytes 0",
            "add bl 10.9.0.0/16 nomatch packets 0 bytes 0"
        ]
    );
    let out = h.tool("ipset", &["destroy", "bl"]);
    assert_eq!(
        (out.stderr.as_str(), out.rc),
        (
            "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n",
            1
        )
    );
    let out = h.tool("iptables-save", &["-t", "filter"]);
    assert!(
        out.stdout
            .contains("-A FORWARD -m set --match-set bl src -j DROP\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn iptables_commands_print_and_exit_as_iptables_1_8_9() {
    let h = start("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
    let dir = golden_dir().join("api/exec");
    let mut cmds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cmd"))
        .collect();
    cmds.sort();
    assert!(cmds.len() >= 38);
    let mut failures = Vec::new();
    for (i, cmd) in cmds.iter().enumerate() {
        let args: Vec<String> = std::fs::read_to_string(cmd)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Alternate: the link (as scripts call it, with -w) and the subcommand.
        let got = if i % 2 == 0 {
            let mut a = vec!["-w"];
            a.extend(&args);
            h.tool("iptables", &a)
        } else {
            let mut a = vec!["iptables"];
            a.extend(&args);
            h.ctl(&a)
        };
        let want = Out {
            stdout: std::fs::read_to_string(cmd.with_extension("out")).unwrap(),
            stderr: std::fs::read_to_string(cmd.with_extension("err")).unwrap(),
            rc: std::fs::read_to_string(cmd.with_extension("rc"))
                .unwrap()
                .trim()
                .parse()
                .unwrap(),
        };
        if got != want {
            failures.push(format!(
                "iptables {}:\n  want {want:?}\n  got  {got:?}",
                args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The ip6tables tools through the built binary: by link and by subcommand, each on
/// ip6tables' tables only; a daemon out of reach is ip6tables' exit 4.
#[test]
fn ip6tables_links_and_subcommands_change_ip6tables_tables() {
    let h = start(NAT_RULES);
    let before4 = strip_comments(&h.ok("iptables-save", &[]));
    let out = h.tool(
        "ip6tables",
        &[
            "-w",
            "-A",
            "FORWARD",
            "-s",
            "2001:db8::/32",
            "-p",
            "tcp",
            "--dport",
            "22",
            "-j",
            "DROP",
        ],
    );
    assert_eq!((out.stderr.as_str(), out.rc), ("", 0));
    let out = h.ctl(&["ip6tables", "-S", "FORWARD"]);
    assert_eq!(
        (out.stdout.as_str(), out.rc),
        (
            "-P FORWARD ACCEPT\n-A FORWARD -s 2001:db8::/32 -p tcp -m tcp --dport 22 -j DROP\n",
            0
        )
    );
    let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s fe80::/10 -j ACCEPT\nCOMMIT\n";
    let out = h.tool_in("ip6tables-restore", &[], text.as_bytes());
    assert_eq!((out.stderr.as_str(), out.rc), ("", 0));
    let saved = h.ctl(&["ip6tables-save", "-t", "filter"]);
    assert!(
        saved
            .stdout
            .starts_with("# Generated by ip6tables-save v1.8.9 (nf_tables) on "),
        "{saved:?}"
    );
    assert_eq!(strip_comments(&saved.stdout), text);
    assert_eq!(strip_comments(&h.ok("iptables-save", &[])), before4);
    let out = h.tool("ip6tables", &["-V"]);
    assert_eq!(out.stdout, "ip6tables v1.8.9 (nf_tables)\n");

    let mut c = Command::new(h.bin().join("ip6tables-save"));
    c.env("NFDP_SOCKET", h.dir.join("nowhere.sock"));
    let out = run(c, b"");
    assert_eq!(out.rc, 4, "{out:?}");
    assert!(
        out.stderr
            .starts_with("ip6tables-save v1.8.9 (nf_tables): cannot connect to nfdp at "),
        "{out:?}"
    );
}

#[test]
fn bad_commands_change_nothing_and_the_daemon_keeps_serving() {
    let h = start(NAT_RULES);
    h.udp_flow(40000, 53, true);
    let before = h.save_c();
    assert!(
        before.contains("[1:33] -A FORWARD -m conntrack --ctstate NEW -j ACCEPT\n"),
        "{before}"
    );
    for (args, rc, err) in [
        (
            vec!["-A", "NOCHAIN", "-j", "ACCEPT"],
            1,
            "iptables: No chain/target/match by that name.\n",
        ),
        (vec!["-I", "FORWARD", "1", "-j", "FROBNICATE"], 2, ""),
        (vec!["-t", "nat", "-A", "INPUT", "-j", "MASQUERADE"], 4, ""),
    ] {
        let o = h.tool("iptables", &args);
        assert_eq!((o.stdout.as_str(), o.rc), ("", rc), "{args:?}: {o:?}");
        if !err.is_empty() {
            assert_eq!(o.stderr, err, "{args:?}");
        } else {
            assert!(
                o.stderr.starts_with("iptables v1.8.9 (nf_tables): "),
                "{o:?}"
            );
        }
        assert_eq!(h.save_c(), before, "{args:?} changed something");
    }
    // A restore with a syntax error on line 40: iptables-restore's message, nothing applied.
    for name in [
        "line40_bad_policy",
        "line40_garbage",
        "line40_missing_argument",
    ] {
        let text = std::fs::read(golden_dir().join(format!("api/restore/{name}.rules"))).unwrap();
        let expect =
            std::fs::read_to_string(golden_dir().join(format!("api/restore/{name}.expect")))
                .unwrap();
        let (rc, err) = expect.split_once('\n').unwrap();
        let o = h.tool_in("iptables-restore", &[], &text);
        assert_eq!(
            (o.stdout.as_str(), o.stderr.as_str(), o.rc),
            ("", err, rc.parse().unwrap()),
            "{name}"
        );
        assert!(err.contains("line 40") || err.contains("line: 40"), "{err}");
        assert_eq!(h.save_c(), before, "{name} changed something");
    }
    // A restore of 100 MiB: refused with a clear error, promptly, nothing applied.
    let big = h.dir.join("big.rules");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        f.write_all(b"*filter\n").unwrap();
        let line = b"-A FORWARD -s 10.0.0.1/32 -p udp -m udp --dport 9 -j DROP -m comment --comment xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
        let mut n = 8;
        while n < 100 << 20 {
            f.write_all(line).unwrap();
            n += line.len();
        }
        f.write_all(b"COMMIT\n").unwrap();
    }
    let text = std::fs::read(&big).unwrap();
    assert!(text.len() >= 100 << 20);
    let o = h.tool_in("iptables-restore", &[], &text);
    drop(text);
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str(), o.rc),
        (
            "",
            "iptables-restore v1.8.9 (nf_tables): input too large: over 67108864 bytes, nfdp takes at most 67108864 bytes (64 MiB)\n",
            1
        )
    );
    assert_eq!(h.save_c(), before, "the 100 MiB restore changed something");
    // A client that disconnects mid-stream: `conntrack -E` killed with SIGKILL once its
    // stream is open (it has shown an event).
    let mut ev = h
        .tool_command("conntrack", &["-E", "-p", "udp", "--dport", "5353"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, _rest) = first_line(&mut ev, |n| {
        h.udp_flow(41000 + n, 5353, false);
    });
    assert!(line.starts_with("    [NEW] udp "), "{line:?}");
    ev.kill().unwrap();
    ev.wait().unwrap();
    // The daemon still serves, forwards, and streams events to the next client.
    let mut ev = h
        .tool_command("conntrack", &["-E", "-p", "udp", "--dport", "5454"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, mut rest) = first_line(&mut ev, |n| {
        h.udp_flow(42000 + n, 5454, false);
    });
    assert!(line.starts_with("    [NEW] udp "), "{line:?}");
    let status = Command::new("kill")
        .args(["-INT", &ev.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut more = String::new();
    rest.read_to_string(&mut more).unwrap();
    let mut err = String::new();
    ev.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(ev.wait().unwrap().code(), Some(0));
    assert_eq!(
        err,
        format!(
            "conntrack v1.4.7 (conntrack-tools): {} flow events have been shown.\n",
            1 + more.lines().count()
        )
    );
    let listed = h.tool("conntrack", &["-L"]);
    let n = listed.stdout.lines().count();
    assert!(n >= 3, "{listed:?}");
    assert_eq!(h.ok("conntrack", &["-C"]), format!("{n}\n"));
    // Every one of those flows was NEW once, through the rule that counts them.
    assert_eq!(h.forward_packets(1), n as u64);
}

#[test]
fn save_and_restore_round_trip_and_restore_replaces_only_the_tables_named() {
    let h = start(NAT_RULES);
    h.udp_flow(40000, 53, true);
    h.ok("iptables", &["-N", "web"]);
    h.ok(
        "iptables",
        &[
            "-A",
            "web",
            "-p",
            "tcp",
            "-m",
            "multiport",
            "--dports",
            "80,443",
            "-j",
            "ACCEPT",
        ],
    );
    h.ok("iptables", &["-I", "FORWARD", "1", "-j", "web"]);
    let save = h.ok("iptables-save", &[]);
    assert!(
        save.starts_with("# Generated by iptables-save v1.8.9 (nf_tables) on "),
        "{save}"
    );
    let with_counters = h.save_c();
    assert!(
        with_counters.contains("[1:33] -A FORWARD -m conntrack --ctstate NEW"),
        "{with_counters}"
    );

    // Restoring the saved text with counters gives the same text back.
    let o = h.tool_in("iptables-restore", &["-c"], with_counters.as_bytes());
    assert_eq!((o.stderr.as_str(), o.rc), ("", 0));
    assert_eq!(h.save_c(), with_counters);
    // Without --counters the counts start from zero; the rules are the same.
    let o = h.tool_in("iptables-restore", &[], save.as_bytes());
    assert_eq!((o.stderr.as_str(), o.rc), ("", 0));
    assert_eq!(
        strip_comments(&h.ok("iptables-save", &[])),
        strip_comments(&save)
    );
    assert!(h
        .save_c()
        .contains("[0:0] -A FORWARD -m conntrack --ctstate NEW"));

    // A text naming only filter leaves nat alone.
    let o = h.tool_in(
        "iptables-restore",
        &[],
        b"*filter\n:FORWARD ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n",
    );
    assert_eq!((o.stderr.as_str(), o.rc), ("", 0));
    let s = strip_comments(&h.ok("iptables-save", &[]));
    assert!(s.contains("-A POSTROUTING -o wan0 -j MASQUERADE\n"), "{s}");
    assert!(s.contains("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n"), "{s}");
    assert!(!s.contains("web"), "{s}");
    // -n appends; -T takes one table of the text; -t tests and applies nothing.
    let o = h.tool_in(
        "iptables-restore",
        &["-n"],
        b"*filter\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\nCOMMIT\n",
    );
    assert_eq!(o.rc, 0, "{o:?}");
    let o = h.tool_in(
        "iptables-restore",
        &["-T", "nat"],
        b"*nat\n-A POSTROUTING -o wan0 -j SNAT --to-source 203.0.113.1\nCOMMIT\n*filter\nCOMMIT\n",
    );
    assert_eq!(o.rc, 0, "{o:?}");
    let o = h.tool_in(
        "iptables-restore",
        &["-t"],
        b"*filter\nCOMMIT\n*nat\nCOMMIT\n",
    );
    assert_eq!(o.rc, 0, "{o:?}");
    let s = strip_comments(&h.ok("iptables-save", &[]));
    assert!(
        s.contains("-A INPUT -j DROP\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n"),
        "{s}"
    );
    assert!(
        s.contains("-A POSTROUTING -o wan0 -j SNAT --to-source 203.0.113.1\n")
            && !s.contains("MASQUERADE"),
        "{s}"
    );
    // -t nat of iptables-save prints that table only.
    let nat = strip_comments(&h.ok("iptables-save", &["-t", "nat"]));
    assert!(
        nat.starts_with("*nat\n") && nat.ends_with("COMMIT\n") && !nat.contains("*filter"),
        "{nat}"
    );
}

// ---- conntrack ----

/// Four flows through MASQUERADE: UDP answered, UDP unanswered, TCP through its
/// handshake, ICMP echo answered.
fn four_flows(h: &Harness) {
    h.udp_flow(5000, 53, true);
    h.udp_flow(5001, 53, false);
    h.tcp_flow(40000, 80);
    h.ping(0x1234);
}

#[test]
fn conntrack_lists_gets_counts_and_deletes_as_conntrack_1_4_7() {
    let h = start(NAT_RULES);
    four_flows(&h);

    let o = h.tool("conntrack", &["-L"]);
    assert_eq!(o.rc, 0, "{o:?}");
    assert_eq!(
        o.stderr,
        "conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.\n"
    );
    assert_golden_shaped(&o.stdout);
    let mut want = vec![
        "icmp     1 T src=192.168.1.10 dst=198.51.100.7 type=8 code=0 id=4660 src=198.51.100.7 dst=203.0.113.1 type=0 code=0 id=4660 mark=0 use=1".to_string(),
        "tcp      6 T ESTABLISHED src=192.168.1.10 dst=198.51.100.7 sport=40000 dport=80 src=198.51.100.7 dst=203.0.113.1 sport=80 dport=40000 [ASSURED] mark=0 use=1".into(),
        "udp      17 T src=192.168.1.10 dst=198.51.100.7 sport=5000 dport=53 src=198.51.100.7 dst=203.0.113.1 sport=53 dport=5000 mark=0 use=1".into(),
        "udp      17 T src=192.168.1.10 dst=198.51.100.7 sport=5001 dport=53 [UNREPLIED] src=198.51.100.7 dst=203.0.113.1 sport=53 dport=5001 mark=0 use=1".into(),
    ];
    want.sort();
    assert_eq!(sorted_untimed(&o.stdout), want, "{}", o.stdout);

    // -L with a filter.
    let o = h.tool("conntrack", &["-L", "-p", "tcp", "--dport", "80"]);
    assert_eq!(sorted_untimed(&o.stdout), vec![want[1].clone()]);
    assert_eq!(
        (o.stderr.as_str(), o.rc),
        (
            "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n",
            0
        )
    );
    let o = h.tool("conntrack", &["-L", "-p", "udp", "--dport", "9"]);
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str(), o.rc),
        (
            "",
            "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n",
            0
        )
    );

    // -G: one entry by its full tuple, with use=2 as conntrack prints a looked-up entry.
    let o = h.tool(
        "conntrack",
        &[
            "-G",
            "-p",
            "tcp",
            "-s",
            "192.168.1.10",
            "-d",
            "198.51.100.7",
            "--sport",
            "40000",
            "--dport",
            "80",
        ],
    );
    assert_eq!(
        sorted_untimed(&o.stdout),
        vec![want[1].replace("use=1", "use=2")],
        "{o:?}"
    );
    assert_eq!(
        (o.stderr.as_str(), o.rc),
        (
            "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n",
            0
        )
    );
    let o = h.tool(
        "conntrack",
        &[
            "-G",
            "-p",
            "tcp",
            "-s",
            "192.168.1.10",
            "-d",
            "198.51.100.7",
            "--sport",
            "1",
            "--dport",
            "2",
        ],
    );
    let g = std::fs::read_to_string(golden_dir().join("conntrack/get_missing.err")).unwrap();
    let g_rc: i32 = std::fs::read_to_string(golden_dir().join("conntrack/get_missing.rc"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str(), o.rc),
        ("", g.as_str(), g_rc)
    );

    // -C and -S.
    assert_eq!(h.ok("conntrack", &["-C"]), "4\n");
    let s = h.ok("conntrack", &["-S"]);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 1, "one line per worker: {s}");
    let golden_s = std::fs::read_to_string(golden_dir().join("conntrack/stats.out")).unwrap();
    let keys = |l: &str| -> Vec<String> {
        l.split_whitespace()
            .map(|t| t.split('=').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        keys(lines[0]),
        keys(golden_s.lines().next().unwrap()),
        "{s}"
    );
    assert!(lines[0].starts_with("cpu=0   \tfound="), "{s}");
    assert!(
        lines[0].contains(" insert=4 "),
        "four entries inserted: {s}"
    );

    // -D with a filter: exactly the matching entry goes, printed first.
    let new_before = h.forward_packets(1);
    assert_eq!(new_before, 4, "four NEW packets");
    let o = h.tool("conntrack", &["-D", "-p", "udp", "--sport", "5000"]);
    assert_eq!(sorted_untimed(&o.stdout), vec![want[2].clone()], "{o:?}");
    assert_eq!(
        (o.stderr.as_str(), o.rc),
        (
            "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted.\n",
            0
        )
    );
    let mut left = want.clone();
    left.remove(2);
    assert_eq!(sorted_untimed(&h.ok("conntrack", &["-L"])), left);
    // Deleting what is not there: conntrack's message and status.
    let o = h.tool("conntrack", &["-D", "-p", "udp", "--sport", "5000"]);
    let g_err = std::fs::read_to_string(golden_dir().join("conntrack/delete_none.err")).unwrap();
    let g_rc: i32 = std::fs::read_to_string(golden_dir().join("conntrack/delete_none.rc"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str(), o.rc),
        ("", g_err.as_str(), g_rc)
    );

    // The next packet of the deleted flow is NEW again and makes a new entry; a flow that
    // was kept is still ESTABLISHED (its packets count in rule 2).
    let est_before = h.forward_packets(2);
    h.udp_flow(5000, 53, false);
    assert_eq!(h.forward_packets(1), new_before + 1, "NEW again");
    // (An unanswered UDP flow stays NEW, as in the kernel: the kept answered flow is the
    // echo, request and reply both ESTABLISHED.)
    h.ping(0x1234);
    assert_eq!(h.forward_packets(1), new_before + 1);
    assert_eq!(h.forward_packets(2), est_before + 2);
    let o = h.tool("conntrack", &["-L", "-p", "udp", "--sport", "5000"]);
    assert_eq!(
        sorted_untimed(&o.stdout),
        vec![want[2].replace("dport=53 src", "dport=53 [UNREPLIED] src")]
    );

    // -D of several with a protocol filter.
    let o = h.tool("conntrack", &["-D", "-p", "udp"]);
    assert_eq!(o.stdout.lines().count(), 2, "{o:?}");
    assert_eq!(
        o.stderr,
        "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n"
    );
    assert_eq!(h.ok("conntrack", &["-C"]), "2\n");

    // -F empties the table.
    let o = h.tool("conntrack", &["-F"]);
    let g_err = std::fs::read_to_string(golden_dir().join("conntrack/flush.err")).unwrap();
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str(), o.rc),
        ("", g_err.as_str(), 0)
    );
    assert_eq!(h.ok("conntrack", &["-C"]), "0\n");
    let o = h.tool("conntrack", &["-L"]);
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str()),
        (
            "",
            "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n"
        )
    );
    // A bad command line is refused by the client as conntrack refuses it.
    let o = h.tool("conntrack", &["-L", "--bogus"]);
    let g_err = std::fs::read_to_string(golden_dir().join("conntrack/bad_option.err")).unwrap();
    assert_eq!((o.stderr.as_str(), o.rc), (g_err.as_str(), 2));
}

/// Spawns a streaming command, keeps making `poke()` happen until its first stdout line
/// arrives (the stream may open after the first poke), and returns that line.
fn first_line(
    child: &mut Child,
    poke: impl Fn(u16),
) -> (String, std::io::BufReader<std::process::ChildStdout>) {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut r = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let _ = tx.send(line);
        r
    });
    let deadline = Instant::now() + PATIENCE;
    let mut n = 0;
    let line = loop {
        poke(n);
        n += 1;
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(300)) {
            break l;
        }
        assert!(Instant::now() < deadline, "no line from the stream");
    };
    (line, reader.join().unwrap())
}

#[test]
fn conntrack_events_and_trace_stream_what_the_worker_does() {
    let h = start(NAT_RULES);
    let mut ev = h
        .tool_command("conntrack", &["-E", "-p", "udp", "--dport", "5353"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, mut rest) = first_line(&mut ev, |n| {
        h.udp_flow(6000 + n, 5353, false);
    });
    assert!(line.starts_with("    [NEW] udp      17 "), "{line:?}");
    // The first poke's flow, or a later one's.
    let sport = line
        .split("sport=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(
        untimed(line.trim_end()),
        format!("    [NEW] udp      17 T src=192.168.1.10 dst=198.51.100.7 sport={sport} dport=5353 [UNREPLIED] src=198.51.100.7 dst=203.0.113.1 sport=5353 dport={sport} mark=0"),
    );
    // Shaped as conntrack 1.4.7's NEW event of an unanswered UDP flow.
    let golden_ev = std::fs::read_to_string(golden_dir().join("conntrack/events.out")).unwrap();
    let entry = |l: &str| l.trim_end().split_at(10).1.to_string();
    assert_eq!(
        shape(&entry(&line)),
        shape(&entry(golden_ev.lines().next().unwrap()))
    );
    // A flow the filter leaves out prints nothing.
    h.udp_flow(7000, 53, false);
    let status = Command::new("kill")
        .args(["-INT", &ev.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut more = String::new();
    rest.read_to_string(&mut more).unwrap();
    let mut err = String::new();
    ev.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let code = ev.wait().unwrap().code();
    let shown = 1 + more.lines().count();
    assert!(!more.contains("dport=53 "), "{more}");
    assert_eq!(
        err,
        format!("conntrack v1.4.7 (conntrack-tools): {shown} flow events have been shown.\n")
    );
    assert_eq!(code, Some(0));

    // trace: TRACE lines for one injected packet, then it stops at --limit.
    let mut tr = Command::new(nfdpctl())
        .arg("--socket")
        .arg(h.socket())
        .args(["trace", "-p", "udp", "--dport", "5400", "--limit", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, mut rest) = first_line(&mut tr, |n| {
        h.udp_flow(8000 + n, 5400, false);
    });
    assert!(line.starts_with("TRACE: "), "{line:?}");
    let mut more = String::new();
    rest.read_to_string(&mut more).unwrap();
    let code = tr.wait().unwrap().code();
    assert_eq!(code, Some(0), "{line}{more}");
    let all = format!("{line}{more}");
    for l in all.lines() {
        assert!(l.starts_with("TRACE: "), "{all}");
        assert!(l.contains("PROTO=UDP") && l.contains("DPT=5400"), "{all}");
    }
    assert!(all.contains("TRACE: filter:FORWARD:rule:1 "), "{all}");
}

// ---- sysctl, ip, stats ----

#[test]
fn sysctl_ip_and_stats_change_and_show_the_running_daemon() {
    let h = start(NAT_RULES);
    let o = h.ctl(&["sysctl", "net.netfilter.nf_conntrack_max"]);
    assert_eq!(
        (o.stdout.as_str(), o.rc),
        ("net.netfilter.nf_conntrack_max = 4096\n", 0),
        "{o:?}"
    );
    let o = h.ctl(&["sysctl", "net.netfilter.nf_conntrack_max=2048"]);
    assert_eq!(
        (o.stdout.as_str(), o.rc),
        ("net.netfilter.nf_conntrack_max = 2048\n", 0),
        "{o:?}"
    );
    let o = h.ctl(&["sysctl", "net.netfilter.nf_conntrack_max"]);
    assert_eq!(o.stdout, "net.netfilter.nf_conntrack_max = 2048\n");
    let o = h.ctl(&["sysctl", "net.netfilter.nf_conntrack_bogus"]);
    assert_ne!(o.rc, 0, "{o:?}");

    // A route to a second gateway on the WAN and its neighbour: traffic to that prefix
    // leaves towards that MAC.
    let other_gw_mac = "02:00:00:00:02:fd";
    let o = h.ctl(&[
        "ip",
        "neigh",
        "add",
        "203.0.113.253",
        "lladdr",
        other_gw_mac,
        "dev",
        "wan0",
    ]);
    assert_eq!(o.rc, 0, "{o:?}");
    let o = h.ctl(&[
        "ip",
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "203.0.113.253",
        "dev",
        "wan0",
    ]);
    assert_eq!(o.rc, 0, "{o:?}");
    let routes = h.ctl(&["ip", "route"]).stdout;
    assert!(
        routes.contains("198.51.100.0/24 via 203.0.113.253 dev wan0"),
        "{routes}"
    );
    let neigh = h.ctl(&["ip", "neigh"]).stdout;
    assert!(
        neigh.contains("203.0.113.253 dev wan0 lladdr 02:00:00:00:02:fd"),
        "{neigh}"
    );
    let out = h.out_to_wan(&udp(HOST, SERVER, 9000, 53));
    assert_eq!(&out[0..6], &[2, 0, 0, 0, 2, 0xfd], "via the new gateway");
    let o = h.ctl(&[
        "ip",
        "route",
        "del",
        "198.51.100.0/24",
        "via",
        "203.0.113.253",
        "dev",
        "wan0",
    ]);
    assert_eq!(o.rc, 0, "{o:?}");
    assert!(!h.ctl(&["ip", "route"]).stdout.contains("198.51.100.0/24"));
    let out = h.out_to_wan(&udp(HOST, SERVER, 9001, 53));
    assert_eq!(&out[0..6], &GATEWAY_MAC, "via the default gateway again");
    let o = h.ctl(&["ip", "neigh", "del", "203.0.113.253", "dev", "wan0"]);
    assert_eq!(o.rc, 0, "{o:?}");
    assert!(!h.ctl(&["ip", "neigh"]).stdout.contains("203.0.113.253 "));

    let stats = h.ctl(&["stats"]);
    assert_eq!(stats.rc, 0, "{stats:?}");
    assert!(
        stats.stdout.contains("lan0") && stats.stdout.contains("wan0"),
        "{}",
        stats.stdout
    );
    assert!(stats.stdout.contains("\nWORKER CORE"), "{}", stats.stdout);
    assert!(stats.stdout.contains(" forwarded=2 "), "{}", stats.stdout);
}

// ---- other clients ----

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn fail2ban_actions_through_the_links_leave_the_kernels_ruleset() {
    let action = "/etc/fail2ban/action.d/iptables-multiport.conf";
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        eprintln!("\n!!!! SKIPPED fail2ban_actions_through_the_links_leave_the_kernels_ruleset: not root (the kernel side needs a network namespace) !!!!\n");
        return;
    }
    if !Path::new(action).exists() {
        eprintln!("\n!!!! SKIPPED fail2ban_actions_through_the_links_leave_the_kernels_ruleset: {action} is absent (apt-get install fail2ban) !!!!\n");
        return;
    }
    let h = start(NAT_RULES);
    let mut c = Command::new("bash");
    c.arg(repo_root().join("tests/api/fail2ban.sh"))
        .env("NFDP_SOCKET", h.socket())
        .env("NFDPCTL", nfdpctl());
    let o = run(c, b"");
    assert_eq!(o.rc, 0, "fail2ban.sh:\n{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.ends_with("fail2ban.sh: ok\n"), "{}", o.stdout);
    // The ban chain is gone after actionstop and nat was not touched.
    let s = h.ok("iptables-save", &[]);
    assert!(!s.contains("f2b-"), "{s}");
    assert!(s.contains("-A POSTROUTING -o wan0 -j MASQUERADE\n"), "{s}");
}

#[test]
fn a_python_grpc_client_applies_rules_lists_conntrack_and_reads_stats() {
    let h = start(NAT_RULES);
    four_flows(&h);
    // Debian's python3 (python3-grpcio), not whatever python3 is first on PATH.
    let mut c = Command::new("/usr/bin/python3");
    c.arg(repo_root().join("tests/api/python_client.py"))
        .env("NFDP_SOCKET", h.socket())
        .env("NFDP_EXPECT_CONNTRACK", "4");
    let o = run(c, b"");
    assert_eq!(o.rc, 0, "python_client.py:\n{}\n{}", o.stdout, o.stderr);
}
