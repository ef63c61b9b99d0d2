//! `nfdp ruleset --check`: the offline loader as users run it. Every error class of the
//! ruleset model is reported as FILE:LINE: message with nothing on stdout and exit 1.

use std::io::Write;
use std::process::{Command, Stdio};

fn check_file(name: &str, text: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("nfdp-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .args(["ruleset", "--check"])
        .arg(&path)
        .output()
        .expect("run nfdp");
    let stderr = String::from_utf8(out.stderr).unwrap();
    // Report paths relative to the file name so the assertions read simply.
    let stderr = stderr.replace(&format!("{}/", dir.display()), "");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        stderr,
    )
}

#[test]
fn valid_file_prints_all_four_tables() {
    let (code, out, err) = check_file(
        "gw.rules",
        "# home gateway\n*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n*filter\n:FORWARD DROP [5:10]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -i lan0 -o wan0 -j ACCEPT\nCOMMIT\n",
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n\
         *mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n\
         *nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -i lan0 -o wan0 -j ACCEPT\nCOMMIT\n"
    );
}

#[test]
fn stdin_is_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .args(["ruleset", "--check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"));
}

/// One case per error class of the model (SPEC.md sections 2, 3 and 6).
#[test]
fn every_error_class_names_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "reject_prerouting",
            "*raw\n-A PREROUTING -j REJECT\nCOMMIT\n",
            "reject_prerouting:2: rule 1 in chain PREROUTING: target REJECT is only valid in the filter table, not in raw",
        ),
        (
            "dnat_postrouting",
            "*nat\n-A POSTROUTING -p tcp -j DNAT --to-destination 10.0.0.2:80\nCOMMIT\n",
            "dnat_postrouting:2: rule 1 in chain POSTROUTING: target DNAT is not allowed in chain POSTROUTING; only in PREROUTING, OUTPUT",
        ),
        (
            "snat_via_user_chain",
            "*nat\n:snat_rules - [0:0]\n-A PREROUTING -j snat_rules\n-A snat_rules -j SNAT --to-source 1.2.3.4\nCOMMIT\n",
            "snat_via_user_chain:4: rule 1 in chain snat_rules: target SNAT in chain snat_rules is reached from PREROUTING; it is only valid from INPUT, POSTROUTING",
        ),
        (
            "ttl_in_filter",
            "*filter\n-A FORWARD -j TTL --ttl-set 64\nCOMMIT\n",
            "ttl_in_filter:2: rule 1 in chain FORWARD: target TTL is only valid in the mangle table, not in filter",
        ),
        (
            "mac_in_output",
            "*filter\n-A OUTPUT -m mac --mac-source 00:11:22:33:44:55 -j DROP\nCOMMIT\n",
            "mac_in_output:2: rule 1 in chain OUTPUT: match `mac' is not allowed in chain OUTPUT; only in PREROUTING, INPUT, FORWARD",
        ),
        (
            "in_iface_output",
            "*filter\n-A OUTPUT -i eth0 -j ACCEPT\nCOMMIT\n",
            "in_iface_output:2: rule 1 in chain OUTPUT: Can't use -i with OUTPUT",
        ),
        (
            "out_iface_prerouting",
            "*mangle\n\n-A PREROUTING -o eth0 -j ACCEPT\nCOMMIT\n",
            "out_iface_prerouting:3: rule 1 in chain PREROUTING: Can't use -o with PREROUTING",
        ),
        (
            "loop",
            "*filter\n:a - [0:0]\n:b - [0:0]\n-A a -j b\n-A INPUT -j a\n-A b -j a\nCOMMIT\n",
            "loop:6: rule 1 in chain b: jump loop: a -> b -> a",
        ),
        (
            "missing_chain",
            "*filter\n-A INPUT -j nowhere\nCOMMIT\n",
            "missing_chain:2: rule 1 in chain INPUT: unknown target or chain `nowhere'",
        ),
        (
            "delete_referenced",
            "*filter\n:a - [0:0]\n-A INPUT -j a\n-X a\nCOMMIT\n",
            "delete_referenced:4: cannot delete chain `a': it is referenced by 1 rule",
        ),
        (
            "delete_nonempty",
            "*filter\n:a - [0:0]\n-A a -j ACCEPT\n-X a\nCOMMIT\n",
            "delete_nonempty:4: cannot delete chain `a': chain is not empty",
        ),
        (
            "policy_user_chain",
            "*filter\n:a - [0:0]\n-P a DROP\nCOMMIT\n",
            "policy_user_chain:3: cannot set a policy on user chain `a'",
        ),
        (
            "tcp_reset_udp",
            "*filter\n-A INPUT -p udp -j REJECT --reject-with tcp-reset\nCOMMIT\n",
            "tcp_reset_udp:2: rule 1 in chain INPUT: REJECT: --reject-with tcp-reset is only valid with -p tcp",
        ),
        (
            "port_without_proto",
            "*filter\n-A INPUT --dport 22 -j ACCEPT\nCOMMIT\n",
            "port_without_proto:2: unknown option \"--dport\"",
        ),
        (
            "tcp_match_udp",
            "*filter\n-A INPUT -p udp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
            "tcp_match_udp:2: rule 1 in chain INPUT: tcp match: only valid for protocol 6",
        ),
        (
            "missing_commit",
            "*filter\n-A INPUT -j ACCEPT\n\n",
            "missing_commit:3: COMMIT expected",
        ),
        (
            "rule_before_table",
            "# no table yet\n-A INPUT -j ACCEPT\n",
            "rule_before_table:2: rule or chain outside of a table (no `*table' line before it)",
        ),
        (
            "bad_policy",
            "*filter\n:INPUT REJECT [0:0]\nCOMMIT\n",
            "bad_policy:2: Bad policy name.",
        ),
    ];
    for (name, text, want) in cases {
        let (code, out, err) = check_file(name, text);
        assert_eq!(code, 1, "{name}: exit code");
        assert_eq!(out, "", "{name}: stdout must be empty");
        assert_eq!(err.trim_end(), *want, "{name}");
    }
}

/// `nfdp --config`: the config is checked against the machine before anything starts; a
/// worker core the machine lacks is an error, not an unpinned worker.
#[test]
fn a_worker_core_the_machine_lacks_stops_the_daemon_at_start() {
    let dir = std::env::temp_dir().join(format!("nfdp-cores-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nfdp.toml");
    std::fs::write(&path, "[dataplane]\nworkers = [4096]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run nfdp");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let want = format!(
        "nfdp: {}: [dataplane] workers: core 4096 is not on this machine (this process may run on ",
        path.display()
    );
    assert!(stderr.starts_with(&want), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Extensions that need the kernel's host stack are refused by name, with the reason, at
/// the rule's line (not as an unknown extension), and the file is not applied.
#[test]
fn host_stack_extensions_are_refused_with_the_reason() {
    let cases = [
        (
            "-A OUTPUT -m owner --uid-owner 0 -j ACCEPT",
            "match `owner'",
            "socket owner",
        ),
        (
            "-A OUTPUT -m cgroup --path user.slice -j ACCEPT",
            "match `cgroup'",
            "cgroup",
        ),
        (
            "-A INPUT -m socket -j ACCEPT",
            "match `socket'",
            "no sockets",
        ),
        (
            "-A FORWARD -m physdev --physdev-in eth0 -j ACCEPT",
            "match `physdev'",
            "bridge",
        ),
        (
            "-A INPUT -m policy --dir in --pol ipsec -j ACCEPT",
            "match `policy'",
            "IPsec",
        ),
        (
            "-A INPUT -j SECMARK --selctx x",
            "target `SECMARK'",
            "SELinux",
        ),
        (
            "-A INPUT -j CONNSECMARK --save",
            "target `CONNSECMARK'",
            "SELinux",
        ),
        ("-A INPUT -j AUDIT --type drop", "target `AUDIT'", "audit"),
        (
            "-A INPUT -p tcp -j TPROXY --on-port 1",
            "target `TPROXY'",
            "DNAT or REDIRECT",
        ),
        (
            "-A INPUT -j NFQUEUE --queue-num 1",
            "target `NFQUEUE'",
            "nfnetlink_queue",
        ),
    ];
    for (rule, what, why) in cases {
        let text = format!("*filter\n-A INPUT -j ACCEPT\n{rule}\nCOMMIT\n");
        let (code, out, err) = check_file("host.rules", &text);
        assert_eq!((code, out.as_str()), (1, ""), "{rule}");
        let want = format!("host.rules:3: {what} is not supported by nfdp: ");
        assert!(err.starts_with(&want), "{rule}: {err}");
        assert!(err.contains(why), "{rule}: {err}");
    }
    // An extension nfdp does not know at all keeps iptables' message.
    let (code, _, err) = check_file("x.rules", "*filter\n-A INPUT -m nosuch -j ACCEPT\nCOMMIT\n");
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "x.rules:2: Couldn't load match `nosuch':No such file or directory\n"
        )
    );
}

/// `nfdp ruleset -6 --check`: ip6tables-restore text in, ip6tables-save text out (the
/// goldens are control/tests/golden6.rs); a v4-only extension is refused at its line.
#[test]
fn ipv6_flag_checks_ip6tables_text() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .args(["ruleset", "-6", "--check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"*filter\n-A INPUT -s 2001:DB8::1/64 -p icmpv6 --icmpv6-type ping -j ACCEPT\nCOMMIT\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "-A INPUT -s 2001:db8::/64 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT\n"
        ),
        "{text}"
    );

    let dir = std::env::temp_dir().join(format!("nfdp-check6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v6.rules");
    std::fs::write(
        &path,
        "*filter\n-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .args(["ruleset", "-6", "--check"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "{}:2: Couldn't load match `icmp':No such file or directory\n",
            path.display()
        )
    );
    // The same file is good iptables.
    let out = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .args(["ruleset", "--check"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
}
