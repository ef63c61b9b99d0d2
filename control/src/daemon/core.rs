//! The daemon once its ports are open, whatever opened them (DPDK in appliance.rs, in-memory
//! wires in tests): the workers, the control loop (link state, SIGHUP), the metrics
//! endpoint and the gRPC API on its own small tokio runtime, and the orderly stop.

use super::host::HostLink;
use super::metrics::MetricsView;
use super::snapshot::SnapshotSlot;
use super::watchdog::{Watchdog, DEFAULT_STALL_AFTER};
use super::worker::{Command, WorkerReport, WorkerThread};
use super::{persist, PortControl, PublishError, Shared};
use crate::config::{Config, CONNTRACK_TUNABLES};
use crossbeam_channel::Sender;
use dataplane::conntrack::CtConfig;
use dataplane::handoff::{Handoff, OwnerDirectory, OwnerDirectory6};
use dataplane::pipeline::Pipeline;
use dataplane::port::{MacAddr, Port, PortId};
use dataplane::route::Fib;
use dataplane::ruleset::{Family, Ruleset};
use dataplane::worker::Worker;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the control plane waits for every worker to carry out a command (a worker
/// looks at its queue every 100 ms).
const WORKER_PATIENCE: Duration = Duration::from_secs(5);

/// The opened ports, as the workers and the control plane use them.
pub struct Ports {
    /// By `PortId`: each configured port's control handle (stats, link state).
    pub control: Vec<Arc<dyn PortControl>>,
    /// Per worker: its queue of every port, by `PortId`.
    pub queues: Vec<Vec<Box<dyn Port>>>,
    /// The TAP exception port (`[local] tap`), when there is one.
    pub host: Option<HostPorts>,
}

/// The TAP exception port: its control handle, one queue per worker and the link's MACs.
pub struct HostPorts {
    pub control: Arc<dyn PortControl>,
    pub queues: Vec<Box<dyn Port>>,
    pub link: HostLink,
}

/// How the workers run.
#[derive(Clone, Default)]
pub struct Options {
    /// Pin worker i to `[dataplane] workers[i]` (tests run unpinned).
    pub pin: bool,
    /// Runs on each worker thread before its loop (DPDK: `rte_thread_register`).
    pub thread_init: Option<fn(usize)>,
    /// Serve `[metrics] listen`.
    pub metrics: bool,
    /// How long a worker may go without polling before the watchdog calls it stalled
    /// (`None`: `watchdog::DEFAULT_STALL_AFTER`).
    pub stall_after: Option<Duration>,
}

/// A handle to the workers' command queues, shared by every API service.
#[derive(Clone)]
pub struct Workers {
    senders: Arc<[Sender<Command>]>,
    stop: Arc<AtomicBool>,
    /// Worker threads still in their loop (a panicked one has left it).
    alive: Arc<AtomicUsize>,
}

/// Why a request to the workers got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkersError {
    /// The workers have stopped (or are stopping).
    Stopped,
    /// Some worker did not answer in time.
    NoAnswer,
}

impl std::fmt::Display for WorkersError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkersError::Stopped => f.write_str("the workers have stopped"),
            WorkersError::NoAnswer => f.write_str("a worker did not answer"),
        }
    }
}

impl Workers {
    /// `alive` counts the worker threads in their loop (see `AliveGuard`).
    pub fn new(
        senders: Vec<Sender<Command>>,
        stop: Arc<AtomicBool>,
        alive: Arc<AtomicUsize>,
    ) -> Workers {
        Workers {
            senders: senders.into(),
            stop,
            alive,
        }
    }

    /// The command queue of every worker, by index.
    pub fn senders(&self) -> &[Sender<Command>] {
        &self.senders
    }

    pub fn len(&self) -> usize {
        self.senders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }

    /// False once the daemon is stopping or a worker has died.
    pub fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
            && self.alive.load(Ordering::Relaxed) == self.senders.len()
    }

    /// Every worker's report (see `collect_reports`); `Stopped` once they are stopping.
    pub fn reports(&self, listing: bool) -> Result<Vec<WorkerReport>, WorkersError> {
        if !self.running() {
            return Err(WorkersError::Stopped);
        }
        let r = super::collect_reports(&self.senders, listing);
        if r.len() < self.senders.len() {
            return Err(WorkersError::NoAnswer);
        }
        Ok(r)
    }

    /// Sends `make(done)` to every worker and waits until each has answered on `done`.
    pub fn broadcast(&self, make: impl Fn(Sender<()>) -> Command) -> Result<(), WorkersError> {
        if !self.running() {
            return Err(WorkersError::Stopped);
        }
        let (tx, rx) = crossbeam_channel::bounded(self.senders.len().max(1));
        for s in self.senders.iter() {
            s.send(make(tx.clone()))
                .map_err(|_| WorkersError::Stopped)?;
        }
        let deadline = Instant::now() + WORKER_PATIENCE;
        for _ in 0..self.senders.len() {
            rx.recv_deadline(deadline)
                .map_err(|_| WorkersError::NoAnswer)?;
        }
        Ok(())
    }
}

/// Held by a worker thread while it runs: dropped on return or panic.
struct AliveGuard(Arc<AtomicUsize>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The routing state the control plane owns; every worker runs a copy of `fib`.
pub struct NetState {
    pub fib: Fib,
    /// Neighbours added through the API (permanent), by port and address.
    pub static_neighbors: BTreeMap<(PortId, Ipv4Addr), MacAddr>,
}

/// What the API services and the control loop share: the ruleset, the workers, the ports,
/// the routing state and the tunables. Every change goes through `lock_changes` so that
/// two clients' edits never interleave.
pub struct Control {
    pub shared: Arc<Shared>,
    pub workers: Workers,
    /// By `PortId`.
    pub ports: Vec<Arc<dyn PortControl>>,
    pub host_port: Option<Arc<dyn PortControl>>,
    /// The config the daemon runs (port MACs filled in from the drivers).
    pub config: Config,
    pub net: Mutex<NetState>,
    /// Every conntrack tunable by its short sysctl name (`nf_conntrack_max`).
    pub tunables: Mutex<BTreeMap<String, u64>>,
    changes: Mutex<()>,
    pub started: Instant,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Control {
    /// Held across read-modify-publish of the ruleset, the FIB, the neighbours or the
    /// tunables.
    pub fn lock_changes(&self) -> MutexGuard<'_, ()> {
        lock(&self.changes)
    }

    pub fn net(&self) -> MutexGuard<'_, NetState> {
        lock(&self.net)
    }

    pub fn tunables(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        lock(&self.tunables)
    }

    /// Where accepted changes are written back (`[rules] file` with `persist`).
    pub fn persist_path(&self) -> Option<&std::path::Path> {
        self.config
            .rules_file
            .as_deref()
            .filter(|_| self.config.rules_persist)
    }

    /// Writes `rules` back to the rules file (when persisting) and then publishes it with
    /// one swap. The caller holds `lock_changes`. A file that cannot be written refuses the
    /// change: the running ruleset and the file stay as they were.
    /// A ruleset whose classifier does not fit `[dataplane] classifier_memory` is refused
    /// before the file is written.
    pub fn commit_rules(&self, rules: Ruleset) -> Result<u64, PublishError> {
        self.shared.publish_with(rules, |rules| {
            let Some(path) = self.persist_path() else {
                return Ok(());
            };
            let text = crate::iptables::save_ruleset(rules, false);
            persist::write_atomically(path, text.as_bytes())
                .map_err(|e| format!("cannot write the rules file {}: {e}", path.display()))
        })
    }

    /// Writes `rules`' ip6tables tables back to `[rules] file6` (when persisting; without
    /// file6 they live in memory only, as the ARP table does without arp_file) and then
    /// publishes it with one swap. The caller holds `lock_changes`; a file that cannot be
    /// written refuses the change.
    pub fn commit_rules6(&self, rules: Ruleset) -> Result<u64, PublishError> {
        self.shared.publish_with(rules, |rules| {
            let Some(path) = self
                .config
                .rules_file6
                .as_deref()
                .filter(|_| self.config.rules_persist)
            else {
                return Ok(());
            };
            let text = rules
                .ip6
                .as_deref()
                .map(|rs| crate::iptables::save_ruleset(rs, false))
                .unwrap_or_default();
            persist::write_atomically(path, text.as_bytes())
                .map_err(|e| format!("cannot write the ip6tables file {}: {e}", path.display()))
        })
    }

    /// `commit_rules` for a change of iptables' tables, `commit_rules6` for ip6tables'.
    pub fn commit_family(&self, rules: Ruleset, family: Family) -> Result<u64, PublishError> {
        match family {
            Family::V4 => self.commit_rules(rules),
            Family::V6 => self.commit_rules6(rules),
        }
    }

    /// Publishes a ruleset whose sets changed (its rules did not): the sets are written
    /// back to `[rules] ipset_file` (with persist) and swapped in for the workers; the
    /// compiled rules stay. A file that cannot be written refuses the change. The caller
    /// holds `lock_changes`.
    pub fn commit_sets(&self, rules: Ruleset) -> Result<(), String> {
        self.shared.publish_sets(rules, |rules| {
            let Some(path) = self
                .config
                .ipset_file
                .as_deref()
                .filter(|_| self.config.rules_persist)
            else {
                return Ok(());
            };
            let text = crate::ipset::print::save(rules, None, super::worker::now_ns())?;
            persist::write_atomically(path, text.as_bytes())
                .map_err(|e| format!("cannot write the ipset file {}: {e}", path.display()))
        })
    }

    /// Publishes a ruleset whose ARP table changed (`arptables` commands): the table is
    /// written back to `[rules] arp_file` (with persist) before it is swapped in; a file
    /// that cannot be written refuses the change. The caller holds `lock_changes`.
    pub fn commit_arp(&self, rules: Ruleset) -> Result<u64, String> {
        self.shared
            .publish_with(rules, |rules| {
                let Some(path) = self
                    .config
                    .arp_file
                    .as_deref()
                    .filter(|_| self.config.rules_persist)
                else {
                    return Ok(());
                };
                let text = crate::arptables::print::save_body(&rules.arp, false);
                persist::write_atomically(path, text.as_bytes())
                    .map_err(|e| format!("cannot write the arptables file {}: {e}", path.display()))
            })
            .map_err(|e| e.to_string())
    }

    /// SIGHUP: the rules file and the ip6tables file (`[rules] file6`) again, with
    /// iptables-restore semantics (only the tables a file names are replaced; a file that
    /// names none changes nothing), and the arptables file (it replaces the ARP table).
    /// All are read and checked before any applies.
    pub fn reload_rules_file(&self) -> Result<Option<u64>, String> {
        let limit = self.config.rules_file_limit;
        let rules_path = self.config.rules_file.as_deref();
        let arp_path = self.config.arp_file.as_deref();
        let path6 = self.config.rules_file6.as_deref();
        if rules_path.is_none() && arp_path.is_none() && path6.is_none() {
            return Err("no [rules] file to reload".into());
        }
        let text = rules_path
            .map(|p| super::read_rules_text(p, limit))
            .transpose()?;
        let arp_text = arp_path
            .map(|p| super::read_arp_text(p, limit))
            .transpose()?;
        let text6 = path6
            .map(|p| {
                crate::input_file::read_text(p, limit)
                    .map_err(|e| format!("ip6tables file {}: {e}", p.display()))
            })
            .transpose()?;
        let _g = self.lock_changes();
        let (current, _) = self.shared.current_rules();
        let mut rs = (*current).clone();
        if let (Some(path), Some(text)) = (arp_path, &arp_text) {
            crate::arptables::restore(Arc::make_mut(&mut rs.arp), text, false)
                .map_err(|e| format!("{}:{}: {}", path.display(), e.line, e.message))?;
        }
        if let (Some(path), Some(text)) = (rules_path, &text) {
            crate::iptables::restore(text, &mut rs, crate::iptables::RestoreOptions::default())
                .map_err(|e| format!("{}:{}: {}", path.display(), e.line, e.message))?;
        }
        if let (Some(path), Some(text6)) = (path6, &text6) {
            let opts = crate::iptables::RestoreOptions {
                packet_path: true,
                ..Default::default()
            };
            rs.with_family(Family::V6, |rs6| crate::iptables::restore(text6, rs6, opts))
                .map_err(|e| format!("{}:{}: {}", path.display(), e.line, e.message))?;
        }
        if !text.as_deref().is_some_and(names_a_table)
            && !text6.as_deref().is_some_and(names_a_table)
            && rs.arp == current.arp
        {
            return Ok(None);
        }
        Ok(Some(self.shared.publish(rs)?))
    }
}

/// Whether an iptables-restore text has a `*table` line (one without changes nothing).
pub fn names_a_table(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with('*'))
}

/// A running daemon core.
pub struct Daemon {
    control: Arc<Control>,
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    control_loop: Option<JoinHandle<()>>,
    /// Stops the metrics port (served on the API runtime).
    metrics: Option<tokio::sync::oneshot::Sender<()>>,
    api: Option<crate::api::server::ApiServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Starts the workers on `ports` with `rules`, the control loop, the metrics endpoint
/// (with `opts.metrics`) and the API. `cfg`'s ports must have their MACs (the drivers').
pub fn start(cfg: Config, rules: Ruleset, ports: Ports, opts: Options) -> Result<Daemon, String> {
    let workers = cfg.workers.len();
    if ports.queues.len() != workers {
        return Err(format!(
            "{} workers but queues for {}",
            workers,
            ports.queues.len()
        ));
    }
    if ports.control.len() != cfg.ports.len()
        || ports.queues.iter().any(|q| q.len() != cfg.ports.len())
    {
        return Err("every worker needs a queue of every configured port".into());
    }
    if let Some(h) = &ports.host {
        if h.queues.len() != workers {
            return Err("the TAP port needs a queue per worker".into());
        }
    }
    let queues = u16::try_from(workers).map_err(|_| "too many workers".to_string())?;
    let topo = cfg.build().map_err(|e| e.to_string())?;
    // The API's token is read now: a TCP listener never runs unauthenticated.
    let token = match &cfg.api_token_file {
        Some(p) => Some(crate::api::server::read_token(p)?),
        None => None,
    };

    let persisted = [cfg.rules_file.as_deref(), cfg.rules_file6.as_deref()];
    for path in persisted
        .into_iter()
        .flatten()
        .filter(|_| cfg.rules_persist)
    {
        let n = persist::remove_stale_temporaries(path);
        if n > 0 {
            tracing::info!(
                n,
                "removed temporaries of rules file writes an earlier run did not finish"
            );
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    let port_names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
    let shared = Arc::new(
        Shared::try_new(
            rules,
            port_names,
            cfg.tunable("nf_conntrack_max").unwrap_or(0),
            cfg.classifier_memory,
        )
        .map_err(|e| e.to_string())?,
    );
    let ct_cfg = CtConfig::from_tunables(|n| cfg.tunable(n));

    // Multi-core NAT: the owner directories, IPv4 and IPv6 (both tuples of every
    // connection: every shard full fills half of one), and one bounded inbox per worker.
    let handoff = (workers > 1).then(|| {
        let slots = (ct_cfg.max as usize)
            .saturating_mul(4 * workers)
            .min(1 << 26);
        Arc::new(Handoff::new(
            queues,
            4096,
            Arc::new(OwnerDirectory::new(slots)),
            // IPv6 slots are twice as large (48 bytes): capped lower.
            Arc::new(OwnerDirectory6::new(slots.min(1 << 24))),
        ))
    });
    let Ports {
        control: port_control,
        queues: port_queues,
        host,
    } = ports;
    let (host_control, mut host_queues) = match host {
        Some(h) => (
            Some(h.control),
            h.queues.into_iter().map(|q| Some((q, h.link))).collect(),
        ),
        None => (None, (0..workers).map(|_| None).collect::<Vec<_>>()),
    };
    let mut commands = Vec::new();
    let mut threads = Vec::new();
    // `-j SET` operations from every worker to the set updater.
    let (set_ops_tx, set_ops_rx) = crossbeam_channel::bounded(SET_OPS_QUEUE);
    // `-j NFLOG` records from every worker to the capture writer (with `[nflog] dir`).
    let (nflog_tx, nflog_rx) = crossbeam_channel::bounded(NFLOG_QUEUE);
    let nflog_dir = cfg.nflog_dir.clone();
    let nflog_tx = nflog_dir.is_some().then_some(nflog_tx);
    let mut snapshots = Vec::new();
    let alive = Arc::new(AtomicUsize::new(0));
    for (i, worker_ports) in port_queues.into_iter().enumerate() {
        let mut pipeline = Pipeline::new(
            shared.compiled.load_full(),
            topo.fib.clone(),
            topo.neighbors.clone(),
        );
        pipeline.add_neighbors6(&topo.neighbors6);
        pipeline.set_conntrack_config(ct_cfg.clone());
        pipeline.set_sets(shared.sets.load_full());
        pipeline.seed(0x6e66_6470 ^ i as u64);
        if nflog_tx.is_some() {
            pipeline.collect_nflog();
        }
        let burst = usize::from(cfg.burst);
        let mut worker = match &handoff {
            Some(h) => Worker::multicore(
                pipeline,
                i as u16,
                burst,
                cfg.ports.len(),
                i as u16,
                Arc::clone(h),
            ),
            None => Worker::new(pipeline, i as u16, burst, cfg.ports.len()),
        };
        worker.set_new_per_burst(Some(cfg.overload_new_per_burst.0).filter(|&r| r > 0.0));
        let (tx, rx) = crossbeam_channel::bounded(64);
        commands.push(tx);
        let snapshot = Arc::new(SnapshotSlot::new());
        snapshots.push(Arc::clone(&snapshot));
        let t = WorkerThread {
            index: i,
            port_names: shared.port_names.clone(),
            core: opts.pin.then_some(cfg.workers[i] as usize),
            worker,
            ports: worker_ports,
            host: host_queues[i].take(),
            rules: Arc::clone(&shared.compiled),
            sets: Arc::clone(&shared.sets),
            commands: rx,
            set_ops: set_ops_tx.clone(),
            max_sleep_us: cfg.max_sleep_us,
            nflog: nflog_tx.clone(),
            stop: Arc::clone(&stop),
            snapshot,
        };
        let init = opts.thread_init;
        alive.fetch_add(1, Ordering::Relaxed);
        let guard = AliveGuard(Arc::clone(&alive));
        let handle = std::thread::Builder::new()
            .name(format!("nfdp-worker{i}"))
            .spawn(move || {
                let _alive = guard;
                super::privileges::thread_start();
                if let Some(f) = init {
                    f(i);
                }
                t.run()
            })
            .map_err(|e| format!("cannot start worker {i}: {e}"));
        match handle {
            Ok(h) => threads.push(h),
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                for t in threads {
                    let _ = t.join();
                }
                return Err(e);
            }
        }
    }

    let mut tunables = BTreeMap::new();
    for (name, _, _) in CONNTRACK_TUNABLES {
        tunables.insert(name.to_string(), cfg.tunable(name).unwrap_or(0));
    }
    let control = Arc::new(Control {
        shared: Arc::clone(&shared),
        workers: Workers::new(commands.clone(), Arc::clone(&stop), alive),
        ports: port_control,
        host_port: host_control,
        net: Mutex::new(NetState {
            fib: topo.fib.clone(),
            static_neighbors: BTreeMap::new(),
        }),
        tunables: Mutex::new(tunables),
        changes: Mutex::new(()),
        started: Instant::now(),
        config: cfg,
    });
    let mut daemon = Daemon {
        control: Arc::clone(&control),
        stop: Arc::clone(&stop),
        reload: Arc::clone(&reload),
        threads,
        control_loop: None,
        metrics: None,
        api: None,
        runtime: None,
    };

    // The API: a small runtime of its own, never on the workers' cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("nfdp-api")
        .on_thread_start(super::privileges::thread_start)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the API runtime: {e}"))?;
    if opts.metrics {
        // Bound here, so a taken port fails start-up; served from the workers' snapshots.
        let listen = control.config.metrics_listen;
        let listener = std::net::TcpListener::bind(listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("[metrics] listen {listen}: {e}"))?;
        let mut ctl = control.ports.clone();
        ctl.extend(control.host_port.clone());
        let mut view = MetricsView::new(
            Arc::clone(&shared),
            ctl,
            snapshots.clone(),
            Arc::clone(&stop),
        );
        view.rule_counters = control.config.metrics_rule_counters;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)
                .map_err(|e| format!("[metrics] listen {listen}: {e}"))?
        };
        runtime.spawn(super::http::serve_metrics(listener, view, async {
            let _ = rx.await;
        }));
        daemon.metrics = Some(tx);
    }
    let api = crate::api::server::ApiServer::start(&runtime, Arc::clone(&control), token)?;
    daemon.api = Some(api);
    daemon.runtime = Some(runtime);

    let sets_control = Arc::clone(&control);
    let sets_stop = Arc::clone(&stop);
    drop(set_ops_tx);
    daemon.threads.push(spawn_service("nfdp-sets", move || {
        set_updater(&sets_control, &set_ops_rx, &sets_stop)
    })?);

    drop(nflog_tx);
    if let Some(dir) = nflog_dir {
        let nflog_stop = Arc::clone(&stop);
        daemon.threads.push(spawn_service("nfdp-nflog", move || {
            nflog_writer(&dir, &nflog_rx, &nflog_stop)
        })?);
    }

    let loop_control = Arc::clone(&control);
    let loop_stop = Arc::clone(&stop);
    let loop_reload = Arc::clone(&reload);
    let mut watchdog = Watchdog::new(
        snapshots,
        opts.stall_after.unwrap_or(DEFAULT_STALL_AFTER),
        Instant::now(),
    );
    daemon.control_loop = Some(
        std::thread::Builder::new()
            .name("nfdp-control".into())
            .spawn(move || {
                super::privileges::thread_start();
                control_loop(&loop_control, &loop_stop, &loop_reload, &mut watchdog)
            })
            .map_err(|e| e.to_string())?,
    );
    Ok(daemon)
}

/// A control-plane thread that serves the workers (`-j SET`, `-j NFLOG`) until `stop`.
fn spawn_service(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            super::privileges::thread_start();
            f()
        })
        .map_err(|e| e.to_string())
}

/// `-j SET` operations the workers queue, at most (more are lost and counted).
const SET_OPS_QUEUE: usize = 65_536;

/// Applies the workers' `-j SET` operations to the published sets and publishes the
/// result, a batch (whatever has arrived) at a time, until `stop`. Not written back to
/// `[rules] ipset_file`: the kernel keeps what -j SET adds in memory only too.
fn set_updater(
    control: &Control,
    ops: &crossbeam_channel::Receiver<dataplane::ipset::kadt::PacketSetOp>,
    stop: &AtomicBool,
) {
    let mut batch = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match ops.recv_timeout(Duration::from_millis(100)) {
            Ok(op) => batch.push(op),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        }
        batch.extend(ops.try_iter().take(SET_OPS_QUEUE));
        let _g = control.lock_changes();
        let (current, _) = control.shared.current_rules();
        if let Some(sets) = current
            .sets
            .with_packet_ops(&batch, super::worker::now_ns())
        {
            let mut rules = (*current).clone();
            rules.sets = Arc::new(sets);
            if let Err(e) = control.shared.publish_sets(rules, |_| Ok(())) {
                tracing::warn!("-j SET: the sets were not published: {e}");
            }
        }
        batch.clear();
    }
}

/// `-j NFLOG` records the workers queue for the capture writer, at most (more are lost and
/// counted in the workers' `nflog_lost`).
const NFLOG_QUEUE: usize = 65_536;

/// Writes the workers' `-j NFLOG` records to `[nflog] dir`, one pcap file per group, a
/// batch (whatever has arrived) at a time, flushed after each, until `stop` (then what is
/// still queued is written too). The workers never touch the files.
fn nflog_writer(
    dir: &std::path::Path,
    records: &crossbeam_channel::Receiver<dataplane::ruleset::targets::nflog::NflogRecord>,
    stop: &AtomicBool,
) {
    let mut w = crate::nflog::NflogWriter::new(dir);
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        match records.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => w.write(&r),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) if !stopping => continue,
            Err(_) => break,
        }
        for r in records.try_iter().take(NFLOG_QUEUE) {
            w.write(&r);
        }
        w.flush();
    }
    w.flush();
}

/// Link state, reloads and the worker watchdog, until `stop`.
fn control_loop(
    control: &Control,
    stop: &AtomicBool,
    reload: &AtomicBool,
    watchdog: &mut Watchdog,
) {
    let mut link: Vec<Option<bool>> = vec![None; control.ports.len()];
    let mut host_link: Option<bool> = None;
    while !stop.load(Ordering::Relaxed) {
        // The TAP port (the host stack's): the workers carry on without it (frames for the
        // appliance itself are dropped and counted on its port); its loss and return are
        // logged once each, e.g. its interface deleted under the daemon (nfdp has no
        // capability left to re-create it: a restart does).
        if let Some(h) = &control.host_port {
            let up = h.link_up();
            if host_link.is_some_and(|was| was != up) {
                if up {
                    tracing::info!(port = %h.name(), up, "link state: host port back");
                } else {
                    tracing::warn!(
                        port = %h.name(),
                        up,
                        "link state: host port down, local delivery stops (was its interface deleted? restart nfdp to re-create it)"
                    );
                }
            }
            host_link = Some(up);
        }
        for (i, p) in control.ports.iter().enumerate() {
            let up = p.link_up();
            if link[i] == Some(up) {
                continue;
            }
            let id = PortId(i as u16);
            let cmd = || {
                if up {
                    Command::LinkUp(id)
                } else {
                    Command::LinkDown(
                        id,
                        control.config.ports[i]
                            .addresses
                            .iter()
                            .map(|a| a.0)
                            .collect(),
                    )
                }
            };
            if link[i].is_some() || up {
                tracing::info!(port = %p.name(), up, "link state");
                for c in control.workers.senders() {
                    let _ = c.send(cmd());
                }
            }
            link[i] = Some(up);
        }
        if reload.swap(false, Ordering::Relaxed) {
            match control.reload_rules_file() {
                Ok(Some(g)) => tracing::info!(generation = g, "ruleset reloaded (SIGHUP)"),
                Ok(None) => {
                    tracing::info!("SIGHUP: the rules file names no table; nothing changed")
                }
                Err(e) => tracing::error!("reload refused, the old ruleset stays: {e}"),
            }
        }
        watchdog.check_and_log(Instant::now());
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Daemon {
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    pub fn workers(&self) -> Workers {
        self.control.workers.clone()
    }

    /// The API's TCP address (with `[api] listen`; port 0 there picks a free one).
    pub fn api_tcp_addr(&self) -> Option<SocketAddr> {
        self.api.as_ref().and_then(|a| a.tcp_addr)
    }

    /// Set on SIGINT/SIGTERM (or by anyone) to stop the daemon.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Set to re-read the rules file (SIGHUP).
    pub fn reload_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.reload)
    }

    /// SIGINT and SIGTERM stop the daemon, SIGHUP reloads the rules.
    pub fn register_signals(&self) -> Result<(), String> {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(&self.stop)).map_err(|e| e.to_string())?;
        }
        signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&self.reload))
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Blocks until the stop flag is set.
    pub fn wait(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the workers and the control loop; the API keeps answering (health says
    /// NOT_SERVING, calls that need the workers get UNAVAILABLE) until `shutdown`.
    pub fn stop_workers(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(t) = self.control_loop.take() {
            let _ = t.join();
        }
        if let (Some(api), Some(rt)) = (&self.api, &self.runtime) {
            rt.block_on(api.set_serving(false));
        }
    }

    /// Stops everything: workers, metrics, API (its socket file removed).
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        self.stop_workers();
        if let Some(stop) = self.metrics.take() {
            let _ = stop.send(());
        }
        if let (Some(api), Some(rt)) = (self.api.take(), self.runtime.as_ref()) {
            rt.block_on(api.stop());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop_all();
    }
}
