//! The appliance daemon, `nfdp --config FILE`: starts the EAL, opens the ports, starts one
//! pinned worker per `[dataplane] workers` core, and then is the control thread: it publishes
//! ruleset changes (SIGHUP re-reads the rules file; `POST /rules` takes a new one) with an
//! RCU-style pointer swap, watches link state, serves `[metrics] listen`, and on SIGINT or
//! SIGTERM stops the workers, closes the ports and cleans up the EAL, in that order.

pub mod host;
pub mod listeners;
pub mod metrics;
pub mod worker;

use crate::config::Config;
use crate::iptables::{restore, RestoreOptions};
use arc_swap::ArcSwap;
use dataplane::pipeline::CompiledRuleset;
use dataplane::port::PortStats;
use dataplane::ruleset::Ruleset;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use worker::{Command, WorkerReport};

/// Reads an iptables-restore file into a ruleset; errors name FILE:LINE.
pub fn load_rules(path: &Path) -> Result<Ruleset, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_rules(&text, &path.display().to_string())
}

/// Parses iptables-restore text (all or nothing); errors name `origin:LINE`.
pub fn parse_rules(text: &str, origin: &str) -> Result<Ruleset, String> {
    let mut rs = Ruleset::default();
    restore(text, &mut rs, RestoreOptions::default())
        .map_err(|e| format!("{origin}:{}: {}", e.line, e.message))?;
    Ok(rs)
}

/// What the control thread, the metrics endpoint and the workers share.
pub struct Shared {
    /// The workers' read side: one atomic load per burst.
    pub compiled: Arc<ArcSwap<CompiledRuleset>>,
    /// The model the published ruleset was compiled from (for listings), published together
    /// with it under this lock (control plane only).
    published: Mutex<(Arc<Ruleset>, Arc<CompiledRuleset>)>,
    generation: AtomicU64,
    swap_ns: AtomicI64,
    pub port_names: Vec<String>,
    pub conntrack_max: u64,
}

impl Shared {
    pub fn new(rules: Ruleset, port_names: Vec<String>, conntrack_max: u64) -> Shared {
        let compiled = Arc::new(CompiledRuleset::compile_for_ports(&rules, 1, &port_names));
        Shared {
            compiled: Arc::new(ArcSwap::new(Arc::clone(&compiled))),
            published: Mutex::new((Arc::new(rules), compiled)),
            generation: AtomicU64::new(1),
            swap_ns: AtomicI64::new(0),
            port_names,
            conntrack_max,
        }
    }

    pub fn current_rules(&self) -> (Arc<Ruleset>, Arc<CompiledRuleset>) {
        let g = self.published.lock().unwrap_or_else(|p| p.into_inner());
        (Arc::clone(&g.0), Arc::clone(&g.1))
    }

    /// Compiles `rules` as the next generation and publishes it with one pointer swap;
    /// workers pick it up at their next burst and carry the counters of unchanged rules
    /// over. The old generation is freed when the last worker lets go of it.
    pub fn publish(&self, rules: Ruleset) -> u64 {
        // One publisher at a time (SIGHUP and POST /rules may race): a generation number
        // taken before another's must not be stored after it.
        let mut g = self.published.lock().unwrap_or_else(|p| p.into_inner());
        let start = Instant::now();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let compiled = Arc::new(CompiledRuleset::compile_for_ports(
            &rules,
            generation,
            &self.port_names,
        ));
        self.compiled.store(Arc::clone(&compiled));
        *g = (Arc::new(rules), compiled);
        self.swap_ns
            .store(start.elapsed().as_nanos() as i64, Ordering::Relaxed);
        generation
    }

    pub fn swap_latency_ns(&self) -> i64 {
        self.swap_ns.load(Ordering::Relaxed)
    }
}

/// The control thread's view of one port.
pub trait PortControl: Send + Sync {
    fn name(&self) -> &str;
    fn stats(&self) -> PortStats;
    fn link_up(&self) -> bool;
}

/// Asks every worker for a report; a worker that does not answer within a second is left
/// out (it is stuck or stopping).
pub fn collect_reports(
    workers: &[crossbeam_channel::Sender<Command>],
    listing: bool,
) -> Vec<WorkerReport> {
    let (tx, rx) = crossbeam_channel::bounded(workers.len().max(1));
    let mut asked = 0;
    for w in workers {
        if w.send(Command::Report {
            listing,
            reply: tx.clone(),
        })
        .is_ok()
        {
            asked += 1;
        }
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(1);
    let mut out = Vec::new();
    while out.len() < asked {
        match rx.recv_deadline(deadline) {
            Ok(r) => out.push(r),
            Err(_) => break,
        }
    }
    out.sort_by_key(|r| r.index);
    out
}

/// The largest ruleset `POST /rules` reads (a million rules of ~60 bytes).
const MAX_RULES_BODY: u64 = 64 << 20;

/// Serves `[metrics] listen` until the process ends.
pub fn serve_http(
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    ports: Vec<Arc<dyn PortControl>>,
    workers: Vec<crossbeam_channel::Sender<Command>>,
) {
    for mut req in server.incoming_requests() {
        let url = req.url().split('?').next().unwrap_or("").to_string();
        let method = req.method().clone();
        let (code, body) = match (method, url.as_str()) {
            (tiny_http::Method::Get, "/metrics") => {
                let reports = collect_reports(&workers, false);
                let p: Vec<_> = ports
                    .iter()
                    .map(|p| (p.name().to_string(), p.stats(), p.link_up()))
                    .collect();
                match metrics::render(&shared, &p, &reports) {
                    Ok(s) => (200, s),
                    Err(e) => (500, format!("{e}\n")),
                }
            }
            (tiny_http::Method::Get, "/conntrack") => {
                let reports = collect_reports(&workers, true);
                let mut lines: Vec<String> =
                    reports.into_iter().flat_map(|r| r.conntrack).collect();
                lines.sort();
                let mut s = lines.join("\n");
                if !s.is_empty() {
                    s.push('\n');
                }
                (200, s)
            }
            (tiny_http::Method::Get, "/neigh") => {
                let reports = collect_reports(&workers, true);
                let mut s = String::new();
                for r in reports {
                    for l in r.neighbors {
                        s.push_str(&format!("worker {}: {l}\n", r.index));
                    }
                }
                (200, s)
            }
            (tiny_http::Method::Get, "/rules") => {
                let reports = collect_reports(&workers, false);
                (200, metrics::rules_text(&shared, &reports))
            }
            (tiny_http::Method::Post, "/rules") | (tiny_http::Method::Put, "/rules") => {
                let mut text = String::new();
                let body = std::io::Read::take(req.as_reader(), MAX_RULES_BODY + 1);
                match std::io::Read::read_to_string(&mut { body }, &mut text) {
                    Err(e) => (400, format!("cannot read the request body: {e}\n")),
                    Ok(n) if n as u64 > MAX_RULES_BODY => (
                        413,
                        format!("a ruleset is at most {MAX_RULES_BODY} bytes\n"),
                    ),
                    Ok(_) => match parse_rules(&text, "request") {
                        Ok(rs) => {
                            let g = shared.publish(rs);
                            tracing::info!(generation = g, "ruleset replaced over HTTP");
                            (200, format!("generation {g}\n"))
                        }
                        Err(e) => (400, format!("{e}\n")),
                    },
                }
            }
            _ => (
                404,
                "GET /metrics, /conntrack, /rules, /neigh; POST /rules (iptables-restore text)\n"
                    .to_string(),
            ),
        };
        let resp = tiny_http::Response::from_string(body).with_status_code(code);
        if let Err(e) = req.respond(resp) {
            tracing::debug!("metrics: {e}");
        }
    }
}

/// Runs the appliance described by `config_path` until SIGINT or SIGTERM.
pub fn run(config_path: &Path) -> Result<(), String> {
    let cfg = Config::load(config_path).map_err(|e| e.to_string())?;
    let rules = match &cfg.rules_file {
        Some(p) => load_rules(p)?,
        None => Ruleset::default(),
    };
    run_with(cfg, rules)
}

#[cfg(not(feature = "dpdk"))]
fn run_with(_cfg: Config, _rules: Ruleset) -> Result<(), String> {
    Err(
        "this nfdp was built without DPDK: rebuild with `cargo build --release --features dpdk` \
         (the `replay` and `ruleset` subcommands work without it)"
            .to_string(),
    )
}

#[cfg(feature = "dpdk")]
mod appliance;
#[cfg(feature = "dpdk")]
use appliance::run_with;
