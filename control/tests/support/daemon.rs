//! A daemon core on in-memory wires (`control::daemon::mem`), configured from a TOML file
//! in a temporary directory, its API on a Unix socket there: what the API and end-to-end
//! tests drive.

use super::PATIENCE;
use control::config::Config;
use control::daemon::core::{self, Daemon, Options};
use control::daemon::mem::{wire_ports, Wire};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The worker busy-polls: one daemon at a time keeps a small machine responsive.
static SERIAL: Mutex<()> = Mutex::new(());
static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// Holds the one-daemon-at-a-time lock (a failed test does not poison it for the rest).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh, empty directory `nfdp-<name>-<pid>-<n>` under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "nfdp-{name}-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// One worker, lan0 (192.168.1.1/24) and wan0 (203.0.113.1/24) on mem wires, the default
/// route via 203.0.113.254, both neighbours known; rules from `dir`/rules.v4 with
/// `rules_extra` after the file line, the API socket at `dir`/run/nfdp.sock.
pub fn config_text(dir: &Path, rules_extra: &str) -> String {
    format!(
        concat!(
            "\n[dataplane]\nworkers = [0]\n",
            super::lan_wan_host_config!(
                r#"
[conntrack]
nf_conntrack_max = 4096

[rules]
file = "{dir}/rules.v4"
{rules_extra}
[api]
socket = "{dir}/run/nfdp.sock"
"#
            )
        ),
        dir = dir.display(),
        rules_extra = rules_extra
    )
}

/// The API socket of a daemon configured by `config_text(dir, ..)`.
pub fn socket(dir: &Path) -> PathBuf {
    dir.join("run/nfdp.sock")
}

/// Writes `text` to `dir`/nfdp.toml and loads it.
pub fn write_config(dir: &Path, text: &str) -> Config {
    let path = dir.join("nfdp.toml");
    std::fs::write(&path, text).expect("config");
    Config::load(&path).expect("config")
}

/// Starts a daemon core from `cfg` and its rules file; returns it with its wires, the
/// link-up announcements already taken.
pub fn boot(cfg: Config) -> (Daemon, Vec<Wire>) {
    assert!(cfg.rules_file.is_some(), "rules file");
    // The config's ipset file (if any), then its rules file, as the daemon starts.
    let rules = control::daemon::load_config_rules(&cfg, None, None).expect("rules");
    let (ports, wires) = wire_ports(&cfg).expect("ports");
    let daemon = core::start(cfg, rules, ports, Options::default()).expect("daemon");
    announced(&wires);
    (daemon, wires)
}

/// Each port announces its one address when its link comes up (a gratuitous ARP): taken
/// here so that tests see only their own traffic.
pub fn announced(wires: &[Wire]) {
    for w in wires {
        let frames = w.wait(1, PATIENCE);
        assert_eq!(frames.len(), 1, "one announcement");
        assert_eq!(&frames[0][12..14], &[0x08, 0x06], "an ARP frame");
    }
}

/// A daemon core the test started in `dir`, holding the one-at-a-time lock; dropped, it
/// shuts the daemon down and removes `dir`.
pub struct Running {
    pub daemon: Option<Daemon>,
    pub wires: Vec<Wire>,
    pub dir: PathBuf,
    _serial: MutexGuard<'static, ()>,
}

impl Running {
    pub fn new(
        daemon: Daemon,
        wires: Vec<Wire>,
        dir: PathBuf,
        serial: MutexGuard<'static, ()>,
    ) -> Running {
        Running {
            daemon: Some(daemon),
            wires,
            dir,
            _serial: serial,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nfdpctl's tools run in-process against a daemon's API socket.
pub struct Ctl {
    rt: tokio::runtime::Runtime,
    target: control::ctl::Target,
}

impl Ctl {
    /// A client of the daemon configured by `config_text(dir, ..)`.
    pub fn new(dir: &Path) -> Ctl {
        Ctl {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            target: control::ctl::Target::Unix(socket(dir)),
        }
    }

    /// `nfdpctl TOOL ARGS` with `input` as stdin: (exit status, stdout, stderr).
    pub fn run(
        &self,
        tool: control::ctl::Tool,
        args: &[&str],
        input: Option<&str>,
    ) -> (i32, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let code = self.rt.block_on(control::ctl::run_tool_with_input(
            tool,
            &args,
            input.map(str::to_string),
            &self.target,
            &mut control::ctl::Io {
                stdout: &mut out,
                stderr: &mut err,
            },
        ));
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }
}
