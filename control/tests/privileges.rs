//! `nfdp --config` drops its capabilities once its ports are up (control/src/daemon/
//! privileges.rs, docs/deploy.md "Privileges"): read from /proc/PID/status and
//! /proc/PID/task/*/status, then the API, a persisted rule change, a SIGHUP reload and the
//! workers' polling still work without them. Two `net_null` ports without hugepages, as in
//! sd_notify.rs. Run with `cargo test -p control --features dpdk --test privileges`; as root
//! (CI) the daemon starts with capabilities to drop, otherwise the test says so and checks
//! only that the daemon runs without any.

#![cfg(feature = "dpdk")]

mod support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The threads the DPDK EAL starts during its own initialisation that nfdp cannot reach to
/// drop their capabilities; they run no nfdp code (privileges.rs). The interrupt thread
/// and idle worker lcores are reached and must hold nothing, as nfdp's own threads.
const EAL_THREADS: [&str; 2] = ["rte_mp_handle", "telemetry-v2"];

fn field(status: &str, name: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {status}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

fn ctl(api: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_nfdpctl"))
        .arg("--socket")
        .arg(api)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nfdpctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// lan0's received packets from `nfdpctl stats` (net_null "receives" a burst every poll).
fn lan0_rx(api: &Path) -> u64 {
    let out = String::from_utf8(ctl(api, &["stats"]).stdout).unwrap();
    out.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&"lan0")).then(|| f[2].parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no lan0 row in {out}"))
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn capabilities_are_dropped_once_the_ports_are_up_and_the_daemon_still_works() {
    let ours = field(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "CapEff",
    );
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("nfdp-privileges-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let api = dir.join("api.sock");
    let rules = dir.join("rules");
    std::fs::write(
        &rules,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    )
    .unwrap();
    let config = support::null_ports_config(&format!("nfdp-privs-{pid}"))
        + &format!(
            r#"
[rules]
file = "{}"

[api]
socket = "{}"

[metrics]
listen = "127.0.0.1:0"
"#,
            rules.display(),
            api.display()
        );
    std::fs::write(dir.join("nfdp.toml"), config).unwrap();
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let child = Kill(
        Command::new(env!("CARGO_BIN_EXE_nfdp"))
            .arg("--config")
            .arg(dir.join("nfdp.toml"))
            .env("NOTIFY_SOCKET", &notify_path)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nfdp"),
    );
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1 within a minute");
    assert!(buf[..n].starts_with(b"READY=1"));
    let nfdp = child.0.id();

    // Every set of the main thread is empty.
    let status = std::fs::read_to_string(format!("/proc/{nfdp}/status")).unwrap();
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(
            field(&status, set),
            0,
            "{set} of nfdp's main thread:\n{status}"
        );
    }
    if ours & (1 << 8) != 0 {
        // Started with CAP_SETPCAP (root): the bounding set went too, so no program nfdp
        // ran could get a capability back.
        assert_eq!(field(&status, "CapBnd"), 0, "CapBnd:\n{status}");
    }
    // So is every set of every thread nfdp started; the EAL's own threads are listed.
    let mut nfdp_threads = 0;
    let mut eal_threads = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{nfdp}/task")).unwrap() {
        let task = task.unwrap().path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap();
        let comm = comm.trim().to_string();
        let status = std::fs::read_to_string(task.join("status")).unwrap();
        if EAL_THREADS.iter().any(|t| comm.starts_with(t)) {
            eal_threads.push(format!("{comm} CapEff={:x}", field(&status, "CapEff")));
            continue;
        }
        assert!(
            comm.starts_with("nfdp")
                || comm == "eal-intr-thread"
                || comm.starts_with("rte-worker-"),
            "a thread neither nfdp's nor the EAL's: {comm}"
        );
        nfdp_threads += 1;
        for set in ["CapPrm", "CapEff", "CapAmb"] {
            assert_eq!(field(&status, set), 0, "{set} of thread {comm}:\n{status}");
        }
    }
    // main, worker, two API runtime threads, the control loop, the EAL's interrupt thread.
    assert!(nfdp_threads >= 6, "only {nfdp_threads} threads checked");
    eprintln!("{nfdp_threads} threads hold no capability; the EAL's others: {eal_threads:?}");
    if ours == 0 {
        eprintln!("(not root: nfdp had no capability to drop to begin with)");
    }

    // Still working without them: the workers poll (net_null gives a burst per poll) ...
    let rx = lan0_rx(&api);
    let deadline = Instant::now() + Duration::from_secs(10);
    while lan0_rx(&api) <= rx {
        assert!(
            Instant::now() < deadline,
            "lan0's rx counter stopped at {rx}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // ... a change through the API is accepted and written back to the rules file ...
    ctl(
        &api,
        &[
            "iptables", "-A", "FORWARD", "-p", "udp", "--dport", "9", "-j", "DROP",
        ],
    );
    let persisted = std::fs::read_to_string(&rules).unwrap();
    assert!(
        persisted.contains("-A FORWARD -p udp -m udp --dport 9 -j DROP"),
        "{persisted}"
    );
    // ... and SIGHUP re-reads the rules file.
    std::fs::write(
        &rules,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    )
    .unwrap();
    assert!(Command::new("kill")
        .args(["-HUP", &nfdp.to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out =
            String::from_utf8(ctl(&api, &["iptables", "-L", "FORWARD", "-n"]).stdout).unwrap();
        if out.starts_with("Chain FORWARD (policy DROP") {
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP was not applied: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }

    assert!(Command::new("kill")
        .args(["-TERM", &nfdp.to_string()])
        .status()
        .unwrap()
        .success());
    let mut child = child;
    let stderr = {
        let mut s = String::new();
        use std::io::Read;
        child
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("capabilities dropped capabilities=none"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
