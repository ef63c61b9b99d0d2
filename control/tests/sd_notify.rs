//! `nfdp --config` under systemd's `Type=notify`: the daemon sends READY=1 to
//! `$NOTIFY_SOCKET` once its ports are up and its API listens, and STOPPING=1 on SIGTERM.
//! Two `net_null` ports without hugepages, so it runs anywhere DPDK is installed. Run with
//! `cargo test -p control --features dpdk --test sd_notify`.

#![cfg(feature = "dpdk")]

mod support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

fn receive(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = sock
        .recv(&mut buf)
        .expect("a notification within the timeout");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn ready_once_the_ports_are_up_then_stopping_on_sigterm() {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("nfdp-sd-notify-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let api = dir.join("api.sock");
    let config = support::null_ports_config(&format!("nfdp-notify-{pid}"))
        + &format!(
            r#"
[api]
socket = "{}"

[metrics]
listen = "127.0.0.1:0"
"#,
            api.display()
        );
    std::fs::write(dir.join("nfdp.toml"), config).unwrap();
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .arg("--config")
        .arg(dir.join("nfdp.toml"))
        .env("NOTIFY_SOCKET", &notify_path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nfdp");

    let ready = receive(&notify);
    assert_eq!(ready, "READY=1\nSTATUS=forwarding: 2 ports, 1 worker\n");
    // Ready means the API listens: a client started by `systemctl start`'s return finds it.
    assert!(
        std::os::unix::net::UnixStream::connect(&api).is_ok(),
        "the API socket listens once READY=1 is sent"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(receive(&notify), "STOPPING=1\nSTATUS=stopping\n");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
