//! `nfdpctl ipset` against a daemon core on in-memory wires: the config's `[rules]
//! ipset_file` loaded before the rules, `restore` and `save` round trips (all or nothing,
//! written back to the ipset file), a set change reaching the worker without a new rules
//! generation, and a set in use refused for destroy.

mod support;

use control::ctl::Tool;
use support::daemon::{boot, config_text, serial, temp_dir, write_config, Ctl, Running};
use support::frames::{ether_ipv4, udp};
use support::{GATEWAY_MAC, PATIENCE, WAN_MAC};

const SETS: &str = "create blocklist hash:net\nadd blocklist 10.0.0.0/8\n";
const RULES: &str = "*filter
:FORWARD ACCEPT [0:0]
-A FORWARD -i wan0 -m set --match-set blocklist src -j DROP
COMMIT
";

/// A UDP packet from `src` arriving on wan0 for the LAN host: forwarded to lan0 unless
/// the filter drops it.
fn forwarded(run: &Running, src: [u8; 4]) -> bool {
    let ip = udp(src, [192, 168, 1, 10], 5000, 53, b"x");
    run.wires[1].inject(0, &ether_ipv4(WAN_MAC, GATEWAY_MAC, &ip));
    let out = run.wires[0].wait(1, std::time::Duration::from_millis(500));
    !out.is_empty()
}

#[test]
fn nfdpctl_ipset_restores_saves_and_reaches_the_workers() {
    let serial = serial();
    let dir = temp_dir("ipset");
    std::fs::write(dir.join("rules.v4"), RULES).unwrap();
    std::fs::write(dir.join("sets.ipset"), SETS).unwrap();
    let extra = format!("ipset_file = \"{}/sets.ipset\"\n", dir.display());
    let cfg = write_config(&dir, &config_text(&dir, &extra));
    let (daemon, wires) = boot(cfg);
    let run = Running::new(daemon, wires, dir.clone(), serial);
    let ctl = Ctl::new(&dir);

    let (code, out, err) = ctl.run(Tool::Ipset, &["save"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("create blocklist hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x"), "{out}");
    assert!(out.ends_with("\nadd blocklist 10.0.0.0/8\n"), "{out}");

    // The loaded set drops; a deleted element stops dropping, without a new ruleset.
    assert!(!forwarded(&run, [10, 1, 2, 3]));
    assert!(forwarded(&run, [11, 1, 2, 3]));
    let (code, _, err) = ctl.run(Tool::Ipset, &["del", "blocklist", "10.0.0.0/8"], None);
    assert_eq!(code, 0, "{err}");
    let deadline = std::time::Instant::now() + PATIENCE;
    while !forwarded(&run, [10, 1, 2, 3]) {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker kept the old set"
        );
    }

    // Restore: all of it, written back to the ipset file.
    let (code, _, err) = ctl.run(
        Tool::Ipset,
        &["restore"],
        Some("create more hash:ip counters\nadd more 192.0.2.1 packets 3 bytes 120\n"),
    );
    assert_eq!(code, 0, "{err}");
    let (_, saved, _) = ctl.run(Tool::Ipset, &["save", "more"], None);
    assert!(
        saved.ends_with("\nadd more 192.0.2.1 packets 3 bytes 120\n"),
        "{saved}"
    );
    let file = std::fs::read_to_string(dir.join("sets.ipset")).unwrap();
    assert!(
        file.contains("\nadd more 192.0.2.1 packets 3 bytes 120\n"),
        "{file}"
    );
    assert!(file.starts_with("create blocklist hash:net"), "{file}");

    // A restore that fails at line 2 applies nothing (line 1 included).
    let (_, before, _) = ctl.run(Tool::Ipset, &["save"], None);
    let (code, _, err) = ctl.run(
        Tool::Ipset,
        &["restore"],
        Some("add more 192.0.2.2\nadd nosuch 1.1.1.1\n"),
    );
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "ipset v7.17: Error in line 2: The set with the given name does not exist\n"
        )
    );
    assert_eq!(ctl.run(Tool::Ipset, &["save"], None).1, before);

    // In use by a rule: destroy refused, as the kernel refuses it.
    let (code, _, err) = ctl.run(Tool::Ipset, &["destroy", "blocklist"], None);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n"
        )
    );
    let (code, out, _) = ctl.run(Tool::Ipset, &["list", "-n"], None);
    assert_eq!((code, out.as_str()), (0, "blocklist\nmore\n"));
    let (code, _, _) = ctl.run(Tool::Ipset, &["destroy", "more"], None);
    assert_eq!(code, 0);
    drop(run);
}

/// `family inet6` sets through the daemon: created, filled, saved (and written back) by
/// `nfdpctl ipset`, named by the config's ip6tables rules (`file6`, loaded after the
/// sets) and by `nfdpctl ip6tables`, which refuses an IPv4 set as ip6tables does; a set
/// an ip6tables rule names is in use.
#[test]
fn nfdpctl_ipset_inet6_sets_and_ip6tables_rules() {
    let serial = serial();
    let dir = temp_dir("ipset6");
    std::fs::write(dir.join("rules.v4"), RULES).unwrap();
    std::fs::write(
        dir.join("rules.v6"),
        "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m set --match-set bad6 src -j DROP\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sets.ipset"),
        format!("{SETS}create bad6 hash:net family inet6\nadd bad6 2001:db8::/32\n"),
    )
    .unwrap();
    let extra = format!(
        "ipset_file = \"{0}/sets.ipset\"\nfile6 = \"{0}/rules.v6\"\n",
        dir.display()
    );
    let cfg = write_config(&dir, &config_text(&dir, &extra));
    let (daemon, wires) = boot(cfg);
    let run = Running::new(daemon, wires, dir.clone(), serial);
    let ctl = Ctl::new(&dir);

    let ok = |args: &[&str], input: Option<&str>| {
        let (code, out, err) = ctl.run(Tool::Ipset, args, input);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    ok(
        &[
            "create",
            "seen6",
            "hash:ip,port",
            "family",
            "inet6",
            "timeout",
            "60",
        ],
        None,
    );
    ok(
        &["add", "seen6", "2001:db8::1,udp:53", "timeout", "0"],
        None,
    );
    ok(&["add", "bad6", "2001:db8:1::/48", "nomatch"], None);
    let (code, _, err) = ctl.run(Tool::Ipset, &["add", "bad6", "10.0.0.0/8"], None);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "ipset v7.17: Syntax error: cannot parse 10.0.0.0: resolving to IPv6 address failed\n"
        )
    );
    let saved = ok(&["save", "bad6"], None);
    assert!(
        saved.starts_with("create bad6 hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x"),
        "{saved}"
    );
    let members: std::collections::BTreeSet<&str> = saved.lines().skip(1).collect();
    assert_eq!(
        members,
        ["add bad6 2001:db8:1::/48 nomatch", "add bad6 2001:db8::/32"]
            .into_iter()
            .collect()
    );
    let listed = ok(&["list", "seen6"], None);
    assert!(
        listed.contains("\nHeader: family inet6 hashsize 1024 maxelem 65536 timeout 60 bucketsize 12 initval 0x"),
        "{listed}"
    );
    assert!(
        listed.ends_with("\nMembers:\n2001:db8::1,udp:53 timeout 0\n"),
        "{listed}"
    );
    let file = std::fs::read_to_string(dir.join("sets.ipset")).unwrap();
    assert!(
        file.contains("\nadd seen6 2001:db8::1,udp:53 timeout 0\n"),
        "{file}"
    );

    // The config's ip6tables rule holds bad6.
    let (code, _, err) = ctl.run(Tool::Ipset, &["destroy", "bad6"], None);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n"
        )
    );
    // ip6tables names IPv6 sets, refuses IPv4 ones.
    let (code, _, err) = ctl.run(
        Tool::Ip6tables,
        &[
            "-A",
            "FORWARD",
            "-j",
            "SET",
            "--add-set",
            "seen6",
            "src,dst",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = ctl.run(
        Tool::Ip6tables,
        &[
            "-A",
            "FORWARD",
            "-m",
            "set",
            "--match-set",
            "blocklist",
            "src",
            "-j",
            "DROP",
        ],
        None,
    );
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "ip6tables v1.8.9 (nf_tables): The protocol family of set blocklist is IPv4, which is not applicable.\n\nTry `ip6tables -h' or 'ip6tables --help' for more information.\n"
        )
    );
    let (code, _, err) = ctl.run(
        Tool::Iptables,
        &[
            "-A",
            "FORWARD",
            "-m",
            "set",
            "--match-set",
            "seen6",
            "src,dst",
            "-j",
            "DROP",
        ],
        None,
    );
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "iptables v1.8.9 (nf_tables): The protocol family of set seen6 is IPv6, which is not applicable.\n\nTry `iptables -h' or 'iptables --help' for more information.\n"
        )
    );
    let (code, _, err) = ctl.run(Tool::Ipset, &["destroy", "seen6"], None);
    assert_eq!(code, 1, "{err}");
    let (_, rules, _) = ctl.run(Tool::Ip6tablesSave, &[], None);
    assert!(
        rules.contains("\n-A FORWARD -j SET --add-set seen6 src,dst\n"),
        "{rules}"
    );
    drop(run);
}
