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
