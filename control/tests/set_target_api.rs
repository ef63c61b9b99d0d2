//! `-j SET` through a running daemon core on in-memory wires: a worker's operation
//! reaches the control plane (the `nfdp-sets` thread), lands in the published set that
//! `nfdpctl ipset list` shows, and the next packets are matched against it.

mod support;

use control::ctl::Tool;
use std::time::{Duration, Instant};
use support::daemon::{boot, config_text, serial, temp_dir, write_config, Ctl, Running};
use support::frames::{ether, udp};
use support::{HOST, HOST_MAC, LAN_MAC, PATIENCE};

const RULES: &str = "*filter
:FORWARD DROP [0:0]
-A FORWARD -i lan0 -p udp --dport 9999 -j SET --add-set blk src --timeout 600
-A FORWARD -m set --match-set blk src -j DROP
-A FORWARD -i lan0 -j ACCEPT
COMMIT
";

/// A UDP packet from the LAN host to `dport`: whether it came out on wan0.
fn forwarded(run: &Running, dport: u16) -> bool {
    let ip = udp(HOST, [93, 184, 216, 34], 40000, dport, b"x");
    run.wires[0].inject(0, &ether(LAN_MAC, HOST_MAC, 0x0800, &ip));
    !run.wires[1].wait(1, Duration::from_millis(300)).is_empty()
}

#[test]
fn a_set_target_adds_the_source_that_later_packets_are_dropped_for() {
    let serial = serial();
    let dir = temp_dir("set-target");
    std::fs::write(dir.join("rules.v4"), RULES).unwrap();
    std::fs::write(dir.join("sets.ipset"), "create blk hash:ip timeout 300\n").unwrap();
    let extra = format!("ipset_file = \"{}/sets.ipset\"\n", dir.display());
    let cfg = write_config(&dir, &config_text(&dir, &extra));
    let (daemon, wires) = boot(cfg);
    let run = Running::new(daemon, wires, dir.clone(), serial);
    let ctl = Ctl::new(&dir);
    let members = || {
        let (code, out, err) = ctl.run(Tool::Ipset, &["list", "blk"], None);
        assert_eq!(code, 0, "{err}");
        out.split("Members:\n").nth(1).unwrap_or("").to_string()
    };

    assert!(forwarded(&run, 53), "not in the set yet");
    assert_eq!(members(), "");
    // SET goes on to the next rules: this packet itself is forwarded.
    assert!(forwarded(&run, 9999));
    let deadline = Instant::now() + PATIENCE;
    while !members().starts_with("192.168.1.10 timeout ") {
        assert!(Instant::now() < deadline, "never added: {:?}", members());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The element carries the rule's timeout, not the set's 300 s.
    let left: u32 = members()
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap();
    assert!((590..=600).contains(&left), "{left}");
    assert!(!forwarded(&run, 53), "in the set now");

    // An operator's `ipset del` and the worker's adds go through one table.
    let (code, _, err) = ctl.run(Tool::Ipset, &["del", "blk", "192.168.1.10"], None);
    assert_eq!(code, 0, "{err}");
    let deadline = Instant::now() + PATIENCE;
    while !forwarded(&run, 53) {
        assert!(Instant::now() < deadline, "still dropped after ipset del");
    }
    assert_eq!(members(), "");
}
