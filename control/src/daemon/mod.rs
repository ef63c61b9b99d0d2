//! The appliance daemon, `nfdp --config FILE`: starts the EAL, opens the ports, starts one
//! pinned worker per `[dataplane] workers` core, and then is the control thread: it publishes
//! ruleset changes (SIGHUP re-reads the rules file) with an RCU-style pointer swap, watches
//! link state, serves the read-only metrics port `[metrics] listen` (`http`, from the
//! snapshots the workers publish: `snapshot`), and on SIGINT or SIGTERM stops the workers,
//! closes the ports and cleans up the EAL, in that order.

pub mod core;
pub mod host;
pub mod http;
pub mod listeners;
pub mod mem;
pub mod metrics;
pub mod notify;
pub mod persist;
pub mod privileges;
pub mod snapshot;
pub mod watchdog;
pub mod worker;

pub use self::core::{Control, Daemon, HostPorts, Options, Ports, Workers, WorkersError};

use crate::config::Config;
use crate::iptables::{restore, RestoreOptions};
use arc_swap::ArcSwap;
use dataplane::pipeline::{CompileError, CompiledRuleset, DEFAULT_CLASSIFIER_MEMORY};
use dataplane::port::PortStats;
use dataplane::ruleset::Ruleset;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use worker::{Command, WorkerReport};

/// Reads an iptables-restore file of at most `limit` bytes (`[rules] max_file_size`) into a
/// ruleset; errors name FILE:LINE, or FILE and why it cannot be read.
pub fn load_rules(path: &Path, limit: u64) -> Result<Ruleset, String> {
    let text = read_rules_text(path, limit)?;
    parse_rules(&text, &path.display().to_string())
}

/// The config's sets (`[rules] ipset_file`, `ipset restore` text), its ARP table
/// (`[rules] arp_file`, `arptables-restore` text) and then its rules (`rules`, else
/// `[rules] file`) and ip6tables' tables (`rules6`, else `[rules] file6`) in one ruleset;
/// all of it or an error naming FILE:LINE.
pub fn load_config_rules(
    cfg: &Config,
    rules: Option<&Path>,
    rules6: Option<&Path>,
) -> Result<Ruleset, String> {
    let mut rs = Ruleset::default();
    if let Some(p) = &cfg.ipset_file {
        let text = crate::input_file::read_text(p, cfg.rules_file_limit)
            .map_err(|e| format!("ipset file {}: {e}", p.display()))?;
        crate::ipset::restore(&mut rs, &text, false, worker::now_ns())
            .map_err(|e| format!("{}:{}: {}", p.display(), e.line, e.message))?;
    }
    if let Some(p) = &cfg.arp_file {
        let text = read_arp_text(p, cfg.rules_file_limit)?;
        crate::arptables::restore(std::sync::Arc::make_mut(&mut rs.arp), &text, false)
            .map_err(|e| format!("{}:{}: {}", p.display(), e.line, e.message))?;
    }
    if let Some(p) = rules.or(cfg.rules_file.as_deref()) {
        let text = read_rules_text(p, cfg.rules_file_limit)?;
        restore(&text, &mut rs, RestoreOptions::default())
            .map_err(|e| format!("{}:{}: {}", p.display(), e.line, e.message))?;
    }
    if let Some(p) = rules6.or(cfg.rules_file6.as_deref()) {
        let text = crate::input_file::read_text(p, cfg.rules_file_limit)
            .map_err(|e| format!("ip6tables file {}: {e}", p.display()))?;
        let opts = RestoreOptions {
            packet_path: true,
            ..RestoreOptions::default()
        };
        // A fresh ip6tables ruleset, naming the config's sets.
        rs.ip6 = None;
        rs.with_family(dataplane::ruleset::Family::V6, |rs6| {
            restore(&text, rs6, opts)
        })
        .map_err(|e| format!("{}:{}: {}", p.display(), e.line, e.message))?;
    }
    Ok(rs)
}

/// An arptables file's text (a regular file, at most `limit` bytes).
pub fn read_arp_text(path: &Path, limit: u64) -> Result<String, String> {
    crate::input_file::read_text(path, limit)
        .map_err(|e| format!("arptables file {}: {e}", path.display()))
}

/// A rules file's text (a regular file, at most `limit` bytes: see `input_file`).
pub fn read_rules_text(path: &Path, limit: u64) -> Result<String, String> {
    crate::input_file::read_text(path, limit)
        .map_err(|e| format!("rules file {}: {e}", path.display()))
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
    /// The IP sets the workers test (`-m set`): swapped on its own by `ipset` commands,
    /// so a set change never recompiles the rules. Always the published model's `sets`.
    pub sets: Arc<ArcSwap<dataplane::ipset::SetTable>>,
    /// The model the published ruleset was compiled from (for listings), published together
    /// with it under this lock (control plane only).
    published: Mutex<(Arc<Ruleset>, Arc<CompiledRuleset>)>,
    generation: AtomicU64,
    swap_ns: AtomicI64,
    pub port_names: Vec<String>,
    pub conntrack_max: u64,
    /// `[dataplane] classifier_memory`: the most classifier memory a published ruleset may
    /// take; a ruleset that needs more is refused.
    classifier_memory: AtomicU64,
}

/// Why a ruleset was not published; the running one stays.
#[derive(Debug)]
pub enum PublishError {
    /// Its classifier does not fit `[dataplane] classifier_memory`.
    Refused(CompileError),
    /// The step before the swap failed (writing the rules file back).
    Failed(String),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::Refused(e) => e.fmt(f),
            PublishError::Failed(e) => f.write_str(e),
        }
    }
}

impl From<PublishError> for String {
    fn from(e: PublishError) -> String {
        e.to_string()
    }
}

impl Shared {
    /// `rules` compiled without a budget (tests and tools; the daemon starts with
    /// `try_new`); later publications are held to the default budget.
    pub fn new(rules: Ruleset, port_names: Vec<String>, conntrack_max: u64) -> Shared {
        let compiled = Arc::new(CompiledRuleset::compile_for_ports(&rules, 1, &port_names));
        Shared::with_compiled(rules, compiled, port_names, conntrack_max)
    }

    /// With a classifier budget of `classifier_memory` bytes, which the first ruleset must
    /// fit as every later one must.
    pub fn try_new(
        rules: Ruleset,
        port_names: Vec<String>,
        conntrack_max: u64,
        classifier_memory: u64,
    ) -> Result<Shared, CompileError> {
        let compiled =
            CompiledRuleset::try_compile_for_ports(&rules, 1, &port_names, classifier_memory)?;
        let shared = Shared::with_compiled(rules, Arc::new(compiled), port_names, conntrack_max);
        shared.set_classifier_memory(classifier_memory);
        Ok(shared)
    }

    fn with_compiled(
        rules: Ruleset,
        compiled: Arc<CompiledRuleset>,
        port_names: Vec<String>,
        conntrack_max: u64,
    ) -> Shared {
        Shared {
            compiled: Arc::new(ArcSwap::new(Arc::clone(&compiled))),
            sets: Arc::new(ArcSwap::new(Arc::clone(&rules.sets))),
            published: Mutex::new((Arc::new(rules), compiled)),
            generation: AtomicU64::new(1),
            swap_ns: AtomicI64::new(0),
            port_names,
            conntrack_max,
            classifier_memory: AtomicU64::new(DEFAULT_CLASSIFIER_MEMORY),
        }
    }

    /// The classifier budget for the rulesets published from now on.
    pub fn set_classifier_memory(&self, bytes: u64) {
        self.classifier_memory.store(bytes, Ordering::Relaxed);
    }

    pub fn current_rules(&self) -> (Arc<Ruleset>, Arc<CompiledRuleset>) {
        let g = self.published.lock().unwrap_or_else(|p| p.into_inner());
        (Arc::clone(&g.0), Arc::clone(&g.1))
    }

    /// Compiles `rules` as the next generation and publishes it with one pointer swap;
    /// workers pick it up at their next burst and carry the counters of unchanged rules
    /// over. The old generation is freed when the last worker lets go of it. A ruleset
    /// whose classifier does not fit the budget is refused: nothing changes.
    pub fn publish(&self, rules: Ruleset) -> Result<u64, PublishError> {
        self.publish_with(rules, |_| Ok(()))
    }

    /// As `publish`, running `before_swap` once the ruleset has compiled and before it is
    /// swapped in; its error refuses the change too.
    pub fn publish_with(
        &self,
        rules: Ruleset,
        before_swap: impl FnOnce(&Ruleset) -> Result<(), String>,
    ) -> Result<u64, PublishError> {
        // One publisher at a time (SIGHUP and the API may race): a generation number
        // taken before another's must not be stored after it.
        let mut g = self.published.lock().unwrap_or_else(|p| p.into_inner());
        let start = Instant::now();
        let generation = self.generation.load(Ordering::Relaxed) + 1;
        let compiled = CompiledRuleset::try_compile_for_ports(
            &rules,
            generation,
            &self.port_names,
            self.classifier_memory.load(Ordering::Relaxed),
        )
        .map_err(PublishError::Refused)?;
        before_swap(&rules).map_err(PublishError::Failed)?;
        // Sets first: a rule never sees a table older than the one it was checked against.
        if !Arc::ptr_eq(&rules.sets, &self.sets.load()) {
            self.sets.store(Arc::clone(&rules.sets));
        }
        let compiled = Arc::new(compiled);
        self.generation.store(generation, Ordering::Relaxed);
        self.compiled.store(Arc::clone(&compiled));
        *g = (Arc::new(rules), compiled);
        self.swap_ns
            .store(start.elapsed().as_nanos() as i64, Ordering::Relaxed);
        Ok(generation)
    }

    /// Publishes a model whose rules are unchanged and whose sets changed (`ipset`
    /// commands): the sets are swapped in, the compiled rules stay. `before_swap` runs
    /// first; its error refuses the change.
    pub fn publish_sets(
        &self,
        rules: Ruleset,
        before_swap: impl FnOnce(&Ruleset) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut g = self.published.lock().unwrap_or_else(|p| p.into_inner());
        before_swap(&rules)?;
        self.sets.store(Arc::clone(&rules.sets));
        g.0 = Arc::new(rules);
        Ok(())
    }

    /// Changes the published model's own counters (`iptables -Z`) without a new
    /// generation: the data plane is not touched.
    pub fn edit_model_counters(&self, f: impl FnOnce(&mut Ruleset)) {
        let mut g = self.published.lock().unwrap_or_else(|p| p.into_inner());
        let mut rs = (*g.0).clone();
        f(&mut rs);
        g.0 = Arc::new(rs);
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

/// Runs the appliance described by `config_path` until SIGINT or SIGTERM.
pub fn run(config_path: &Path) -> Result<(), String> {
    let cfg = Config::load(config_path).map_err(|e| e.to_string())?;
    cfg.check_machine().map_err(|e| e.to_string())?;
    let rules = load_config_rules(&cfg, None, None)?;
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
