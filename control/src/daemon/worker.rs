//! One worker thread: pinned to its core, it owns rx/tx queue `q` of every port (and of the
//! TAP exception port), polls them in bursts through its `Pipeline`, and between bursts
//! picks up the current ruleset (one atomic load), the control thread's requests and the
//! periodic timers (neighbours, conntrack expiry).

use super::host::{FromHost, HostLink};
use super::listeners::{EventSubscription, Listeners, TraceRequest};
use super::snapshot::{SnapshotSlot, WorkerSnapshot};
use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender};
use dataplane::conntrack::{
    ConnEntry, Conntrack, CtAddr, CtConfig, CtFilter, CtRecord, CtStats, Tuple,
};
use dataplane::pipeline::{CompiledRuleset, Emit, PipelineStats};
use dataplane::port::{MacAddr, PacketBuf, Port, PortId};
use dataplane::route::Fib;
use dataplane::ruleset::Counters;
use dataplane::worker::Worker;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often a worker runs its timers and looks at its command queue.
const HOUSEKEEPING: Duration = Duration::from_millis(100);

/// What the control thread asks of a worker.
pub enum Command {
    /// Send a `WorkerReport`; with `listing`, include the conntrack table and neighbours.
    Report {
        listing: bool,
        reply: Sender<WorkerReport>,
    },
    /// A port came up: announce its addresses (gratuitous ARP).
    LinkUp(PortId),
    /// A port went down: forget its neighbours and the connections masqueraded to it.
    LinkDown(PortId, Vec<Ipv4Addr>),
    /// Install a changed FIB (routes, policy rules); `done` is answered once it is.
    SetFib {
        fib: Box<Fib>,
        done: Sender<()>,
    },
    /// A permanent neighbour (`ip neigh replace ... nud permanent`), or with `mac: None`
    /// its removal (`ip neigh del`).
    SetNeighbor {
        port: PortId,
        ip: Ipv4Addr,
        mac: Option<MacAddr>,
        done: Sender<()>,
    },
    /// New conntrack tunables (sysctl), live.
    SetConntrackConfig {
        cfg: CtConfig,
        done: Sender<()>,
    },
    /// `iptables -Z`: zero these counter slots of ruleset `generation` (the worker takes up
    /// the published ruleset first; slots of another generation are left alone).
    ZeroCounters {
        generation: u64,
        slots: Vec<usize>,
        done: Sender<()>,
    },
    /// `conntrack -L`: the live entries of this worker's shard the filter matches.
    CtList {
        filter: CtFilter,
        reply: tokio::sync::oneshot::Sender<Vec<CtRecord>>,
    },
    /// `conntrack -L -f ipv6`: the IPv6 table's entries.
    CtList6 {
        filter: CtFilter,
        reply: tokio::sync::oneshot::Sender<Vec<CtRecord<std::net::Ipv6Addr>>>,
    },
    /// `conntrack -G`: the live entry one of whose tuples is this one.
    CtGet {
        tuple: Tuple,
        reply: tokio::sync::oneshot::Sender<Option<CtRecord>>,
    },
    /// `conntrack -G` of an IPv6 tuple.
    CtGet6 {
        tuple: Tuple<std::net::Ipv6Addr>,
        reply: tokio::sync::oneshot::Sender<Option<CtRecord<std::net::Ipv6Addr>>>,
    },
    /// `conntrack -U -m VALUE/MASK`: sets the mark bits of the matching entries; the
    /// entries whose mark changed.
    CtUpdate {
        filter: CtFilter,
        value: u32,
        mask: u32,
        reply: tokio::sync::oneshot::Sender<Vec<CtRecord>>,
    },
    /// The same on the IPv6 table.
    CtUpdate6 {
        filter: CtFilter,
        value: u32,
        mask: u32,
        reply: tokio::sync::oneshot::Sender<Vec<CtRecord<std::net::Ipv6Addr>>>,
    },
    /// `conntrack -D`: deletes the matching entries (as expiry would) and returns them.
    CtDelete {
        filter: CtFilter,
        reply: tokio::sync::oneshot::Sender<Vec<ConnEntry>>,
    },
    /// `conntrack -D -f ipv6`: the same on the IPv6 table.
    CtDelete6 {
        filter: CtFilter,
        reply: tokio::sync::oneshot::Sender<Vec<ConnEntry<std::net::Ipv6Addr>>>,
    },
    /// `conntrack -F`: deletes every entry of the tables asked for; returns how many.
    CtFlush {
        ipv4: bool,
        ipv6: bool,
        reply: tokio::sync::oneshot::Sender<usize>,
    },
    /// `conntrack -C`, `-S`: this shard's counters.
    CtStats {
        reply: tokio::sync::oneshot::Sender<WorkerCtStats>,
    },
    /// `conntrack -E`: forward this shard's events to the subscription's channel.
    CtSubscribe(EventSubscription),
    CtUnsubscribe {
        id: u64,
    },
    /// Opens a trace watch; the reply says whether its filter was taken.
    TraceOn {
        watch: TraceRequest,
        reply: tokio::sync::oneshot::Sender<Result<(), String>>,
    },
    TraceOff {
        id: u64,
    },
}

/// A worker's conntrack counters, by `conntrack -S`'s names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerCtStats {
    pub worker: usize,
    pub found: u64,
    pub invalid: u64,
    pub insert: u64,
    pub insert_failed: u64,
    /// New connections dropped because the table was full.
    pub drop: u64,
    pub early_drop: u64,
    pub error: u64,
    pub search_restart: u64,
    /// Both tables' entries (nf_conntrack_count counts both families).
    pub entries: u64,
    /// Of `entries`, the IPv6 table's.
    pub entries6: u64,
    pub expired: u64,
    /// This shard's nf_conntrack_max.
    pub max: u64,
    /// Events / trace lines lost because a reader was behind.
    pub events_lost: u64,
    pub trace_lost: u64,
    /// Open event subscriptions and trace watches.
    pub subscribers: usize,
    pub trace_watches: usize,
}

/// A worker's state as the control thread sees it.
#[derive(Debug, Clone, Default)]
pub struct WorkerReport {
    pub index: usize,
    pub core: Option<usize>,
    pub stats: PipelineStats,
    /// ARP: requests, answers, arptables drops.
    pub arp: dataplane::pipeline::arp::ArpStats,
    pub ndisc: dataplane::pipeline::ndisc::NdiscStats,
    pub ipv6: dataplane::pipeline::ipv6::Ipv6Stats,
    /// The IPv4 table's entries.
    pub ct_count: u64,
    /// The IPv6 table's entries.
    pub ct_count6: u64,
    pub ct_stats: CtStats,
    /// Per counter slot of `generation`'s ruleset.
    pub counters: Vec<Counters>,
    /// Per arptables rule of `generation`'s ARP table.
    pub arp_counters: Vec<Counters>,
    pub generation: u64,
    /// Polls that found packets / all polls since start (the busy ratio).
    pub busy_polls: u64,
    pub polls: u64,
    pub host_tx: u64,
    pub host_rx: u64,
    pub host_ignored: u64,
    /// Packets handed to other workers / taken from this worker's inbox / dropped because
    /// the owner's inbox was full (multi-core only).
    pub handoff_sent: u64,
    pub handoff_received: u64,
    pub handoff_drops: u64,
    /// /proc/net/nf_conntrack lines, when asked for.
    pub conntrack: Vec<String>,
    /// `ip neigh`-style lines, when asked for.
    pub neighbors: Vec<String>,
    /// The neighbour table, when asked for.
    pub neighbor_entries: Vec<NeighborEntry>,
}

/// One neighbour table entry as `ip neigh` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborEntry {
    pub port: PortId,
    /// IPv4 (ARP) or IPv6 (neighbour discovery).
    pub ip: IpAddr,
    pub mac: Option<MacAddr>,
    /// INCOMPLETE, REACHABLE, STALE, DELAY, PROBE or PERMANENT.
    pub state: &'static str,
}

pub struct WorkerThread {
    pub index: usize,
    /// Port names by `PortId` (for listings).
    pub port_names: Vec<String>,
    pub core: Option<usize>,
    pub worker: Worker,
    pub ports: Vec<Box<dyn Port>>,
    /// The TAP exception port's queue for this worker, with its link addresses.
    pub host: Option<(Box<dyn Port>, HostLink)>,
    pub rules: Arc<ArcSwap<CompiledRuleset>>,
    /// The IP sets, swapped separately from the rules.
    pub sets: Arc<ArcSwap<dataplane::ipset::SetTable>>,
    pub commands: Receiver<Command>,
    /// Where the pipeline's `-j SET` operations go (the control plane's set updater).
    pub set_ops: crossbeam_channel::Sender<dataplane::ipset::kadt::PacketSetOp>,
    /// `[dataplane] max_sleep_us` (0: busy polling).
    pub max_sleep_us: u32,
    /// Where the pipeline's `-j NFLOG` records go (the control plane's capture writer);
    /// None without `[nflog] dir` (the pipeline then copies nothing).
    pub nflog: Option<crossbeam_channel::Sender<dataplane::ruleset::targets::nflog::NflogRecord>>,
    pub stop: Arc<AtomicBool>,
    /// Where the worker publishes its counters at every housekeeping tick (for /metrics).
    pub snapshot: Arc<SnapshotSlot>,
}

/// Nanoseconds since the Unix epoch, as the pipeline's one clock (the time match, rate
/// limits, conntrack and neighbour timers): the wall clock read once at start-up, advanced
/// by the monotonic clock. A step of the system clock (NTP, an operator) therefore neither
/// expires every connection at once nor keeps them for the size of the step, as the
/// kernel's jiffies-based timers do not; the time match follows the wall clock as it was
/// at start plus elapsed time (see docs/deviations.md).
pub fn now_ns() -> u64 {
    static ANCHOR: std::sync::OnceLock<(u64, Instant)> = std::sync::OnceLock::new();
    let (wall, mono) = ANCHOR.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        (wall, Instant::now())
    });
    wall.saturating_add(mono.elapsed().as_nanos() as u64)
}

/// Load-based sleeping between polls (`[dataplane] max_sleep_us`, OVS-DPDK's
/// `pmd-maxsleep`): each poll that brings less than half a burst lengthens the sleep by
/// 1 µs, up to the maximum; a fuller one (or a command) ends it.
struct IdleSleep {
    max_us: u32,
    half_burst: usize,
    us: u32,
}

impl IdleSleep {
    fn new(max_us: u32, burst: usize) -> IdleSleep {
        if max_us > 0 && !memhint::set_timer_slack_ns(1_000) {
            tracing::debug!("could not lower the worker's timer slack: idle sleeps run longer");
        }
        IdleSleep {
            max_us,
            half_burst: burst.div_ceil(2),
            us: 0,
        }
    }

    /// Sleeps after a poll that received `got` packets, if the load is low; whether it
    /// slept.
    fn after_poll(&mut self, got: usize) -> bool {
        if self.max_us == 0 {
            return false;
        }
        self.us = if got >= self.half_burst {
            0
        } else {
            (self.us + 1).min(self.max_us)
        };
        if self.us == 0 {
            return false;
        }
        std::thread::sleep(Duration::from_micros(u64::from(self.us)));
        true
    }
}

impl WorkerThread {
    /// The loop; returns when `stop` is set.
    pub fn run(mut self) {
        if let Some(core) = self.core {
            if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
                tracing::warn!(
                    worker = self.index,
                    core,
                    "could not pin worker to its core"
                );
            }
        }
        tracing::info!(worker = self.index, core = ?self.core, ports = self.ports.len(), "worker started");
        let mut report = WorkerReport {
            index: self.index,
            core: self.core,
            ..WorkerReport::default()
        };
        let mut host_rx: Vec<PacketBuf> = Vec::with_capacity(self.worker.burst);
        let mut host_out: Vec<PacketBuf> = Vec::with_capacity(self.worker.burst);
        let mut emits: Vec<Emit> = Vec::with_capacity(self.worker.burst * 2);
        let mut next_housekeeping = Instant::now();
        // The poll counts at the previous snapshot (the busy ratio is per interval).
        let mut last_polls = (0u64, 0u64);
        let mut listeners = Listeners::default();
        let mut idle = IdleSleep::new(self.max_sleep_us, self.worker.burst);
        let mut owned = std::mem::take(&mut self.ports);
        // `&mut [&mut dyn Port]` is invariant: shorten the boxes' 'static object lifetime
        // to the borrow's here.
        let mut ports: Vec<&mut dyn Port> = owned
            .iter_mut()
            .map(|p| -> &mut dyn Port { p.as_mut() })
            .collect();
        while !self.stop.load(Ordering::Relaxed) {
            // RCU read side: one load per loop; an unchanged generation costs a compare.
            let current = self.rules.load();
            if !Arc::ptr_eq(&current, self.worker.pipeline.ruleset()) {
                self.worker.pipeline.set_ruleset(Arc::clone(&current));
            }
            drop(current);
            let sets = self.sets.load();
            if !Arc::ptr_eq(&sets, self.worker.pipeline.sets()) {
                self.worker.pipeline.set_sets(Arc::clone(&sets));
            }
            drop(sets);
            let now = now_ns();
            let mut got = self.worker.poll(&mut ports, now);

            if let Some((tap, link)) = self.host.as_mut() {
                // INPUT: what the pipeline delivered locally goes to the kernel.
                for p in self.worker.local.drain(..) {
                    host_out.push(link.to_host(p));
                }
                report.host_tx += send_all(tap.as_mut(), self.worker.queue, &mut host_out);
                // OUTPUT: what the kernel sends comes back through the pipeline.
                host_rx.clear();
                got += tap.rx_burst(self.worker.queue, &mut host_rx, self.worker.burst);
                for frame in host_rx.drain(..) {
                    match link.from_host(frame) {
                        FromHost::Output(p) => {
                            report.host_rx += 1;
                            self.worker.output(p, now);
                        }
                        FromHost::Answer(a) => host_out.push(a),
                        FromHost::Ignored => report.host_ignored += 1,
                    }
                }
                send_all(tap.as_mut(), self.worker.queue, &mut host_out);
            } else {
                // No host stack: local deliveries end here (counted by the pipeline).
                self.worker.local.clear();
            }
            self.worker.send(&mut ports, &mut emits);
            let mut lost = 0;
            for op in self.worker.pipeline.drain_set_ops() {
                lost += u64::from(self.set_ops.try_send(op).is_err());
            }
            self.worker.pipeline.count_set_ops_lost(lost);
            if let Some(tx) = &self.nflog {
                let mut lost = 0;
                for r in self.worker.pipeline.drain_nflog() {
                    lost += u64::from(tx.try_send(r).is_err());
                }
                self.worker.pipeline.count_nflog_lost(lost);
            }

            report.polls += 1;
            self.snapshot.heartbeat.beat(report.polls);
            if got > 0 {
                report.busy_polls += 1;
            }
            if Instant::now() >= next_housekeeping {
                next_housekeeping = Instant::now() + HOUSEKEEPING;
                self.housekeeping(now, &mut emits, &mut ports);
                while let Ok(cmd) = self.commands.try_recv() {
                    self.command(cmd, &mut report, &mut emits, &mut ports, &mut listeners);
                }
                self.publish_snapshot(&mut report, &mut last_polls, true);
            } else if !self.commands.is_empty() {
                // API requests are answered within a loop, not a housekeeping tick.
                while let Ok(cmd) = self.commands.try_recv() {
                    self.command(cmd, &mut report, &mut emits, &mut ports, &mut listeners);
                }
            } else if !idle.after_poll(got) && got == 0 {
                std::hint::spin_loop();
            }
            if !listeners.is_empty() {
                listeners.forward(self.index, &mut self.worker.pipeline);
            }
        }
        self.publish_snapshot(&mut report, &mut last_polls, false);
        tracing::info!(worker = self.index, "worker stopped");
    }

    /// Copies the pipeline's counters into `report` (not the listings).
    fn fill_report(&self, report: &mut WorkerReport) {
        let p = &self.worker.pipeline;
        report.stats = p.stats().clone();
        report.arp = *p.arp_stats();
        report.ndisc = *p.ndisc_stats();
        report.ipv6 = *p.ipv6_stats();
        report.ct_count = p.conntrack().len() as u64;
        report.ct_count6 = p.conntrack6().len() as u64;
        report.ct_stats = ct_stats_sum(p.conntrack().stats(), p.conntrack6().stats());
        report.counters = p.counters().to_vec();
        report.arp_counters = p.arp_counters().to_vec();
        report.generation = p.ruleset().generation;
        if let Some(h) = self.worker.handoff_stats() {
            report.handoff_sent = h.sent;
            report.handoff_received = h.received;
            report.handoff_drops = h.drops;
        }
    }

    /// Publishes the counters for the metrics port: one allocation and one pointer swap.
    fn publish_snapshot(
        &self,
        report: &mut WorkerReport,
        last_polls: &mut (u64, u64),
        running: bool,
    ) {
        self.fill_report(report);
        let (polls, busy) = (
            report.polls - last_polls.0,
            report.busy_polls - last_polls.1,
        );
        *last_polls = (report.polls, report.busy_polls);
        // The rule counters are copied once, into the snapshot (the next report refills them).
        let counters = std::mem::take(&mut report.counters);
        let mut published = report.clone();
        published.counters = counters;
        self.snapshot.publish(WorkerSnapshot {
            report: published,
            ruleset: Arc::clone(self.worker.pipeline.ruleset()),
            busy_ratio: if polls == 0 {
                0.0
            } else {
                busy as f64 / polls as f64
            },
            ct_limit: u64::from(self.worker.pipeline.conntrack().config().max),
            at: Instant::now(),
            unix_ns: now_ns(),
            running,
        });
    }

    fn housekeeping(&mut self, now: u64, emits: &mut Vec<Emit>, ports: &mut [&mut dyn Port]) {
        self.worker.pipeline.tick(now, emits);
        self.worker.pipeline.conntrack_mut().expire(now);
        self.worker.send(ports, emits);
    }

    fn command(
        &mut self,
        cmd: Command,
        report: &mut WorkerReport,
        emits: &mut Vec<Emit>,
        ports: &mut [&mut dyn Port],
        listeners: &mut Listeners,
    ) {
        match cmd {
            Command::Report { listing, reply } => {
                let p = &self.worker.pipeline;
                let now = now_ns();
                self.fill_report(report);
                if listing {
                    report.conntrack = p.conntrack().listing(now);
                    report.neighbors = neighbor_listing(p, &self.port_names);
                    report.neighbor_entries = neighbor_entries(p);
                }
                let _ = reply.send(report.clone());
                report.conntrack.clear();
                report.neighbors.clear();
                report.neighbor_entries.clear();
            }
            Command::LinkUp(port) => {
                self.worker.pipeline.announce(port, emits);
                self.worker.send(ports, emits);
            }
            Command::LinkDown(port, addrs) => {
                self.worker.pipeline.link_down(port);
                for a in addrs {
                    let n = self.worker.pipeline.forget_masqueraded(a);
                    tracing::info!(worker = self.index, %a, n, "forgot masqueraded connections");
                }
            }
            Command::SetFib { fib, done } => {
                self.worker.pipeline.set_fib(*fib);
                let _ = done.send(());
            }
            Command::SetNeighbor {
                port,
                ip,
                mac,
                done,
            } => {
                match mac {
                    Some(mac) => self.worker.pipeline.add_neighbor(port, ip, mac),
                    None => {
                        self.worker.pipeline.remove_neighbor(port, ip);
                    }
                }
                let _ = done.send(());
            }
            Command::SetConntrackConfig { cfg, done } => {
                self.worker.pipeline.set_conntrack_config(cfg);
                let _ = done.send(());
            }
            Command::ZeroCounters {
                generation,
                slots,
                done,
            } => {
                // The zero was asked for after `generation` was published: take it up
                // now rather than at the next burst, so the slots mean the same rules.
                let current = self.rules.load_full();
                if !Arc::ptr_eq(&current, self.worker.pipeline.ruleset()) {
                    self.worker.pipeline.set_ruleset(current);
                }
                if self.worker.pipeline.ruleset().generation == generation {
                    self.worker.pipeline.zero_counters(&slots);
                }
                let _ = done.send(());
            }
            Command::CtList { filter, reply } => {
                let ct = self.worker.pipeline.conntrack();
                let _ = reply.send(ct.records(&filter, now_ns()));
            }
            Command::CtList6 { filter, reply } => {
                let ct = self.worker.pipeline.conntrack6();
                let _ = reply.send(ct.records(&filter, now_ns()));
            }
            Command::CtGet { tuple, reply } => {
                let ct = self.worker.pipeline.conntrack();
                let _ = reply.send(ct.get(&tuple, now_ns()));
            }
            Command::CtGet6 { tuple, reply } => {
                let ct = self.worker.pipeline.conntrack6();
                let _ = reply.send(ct.get(&tuple, now_ns()));
            }
            Command::CtUpdate {
                filter,
                value,
                mask,
                reply,
            } => {
                let ct = self.worker.pipeline.conntrack_mut();
                let _ = reply.send(update_marks(ct, &filter, value, mask));
            }
            Command::CtUpdate6 {
                filter,
                value,
                mask,
                reply,
            } => {
                let ct = self.worker.pipeline.conntrack6_mut();
                let _ = reply.send(update_marks(ct, &filter, value, mask));
            }
            Command::CtDelete { filter, reply } => {
                let ct = self.worker.pipeline.conntrack_mut();
                // What timed out goes as expired (not deleted), and the DESTROY events
                // carry the time of the deletion.
                ct.expire(now_ns());
                let _ = reply.send(ct.delete_matching(&filter));
            }
            Command::CtDelete6 { filter, reply } => {
                let ct = self.worker.pipeline.conntrack6_mut();
                ct.expire(now_ns());
                let _ = reply.send(ct.delete_matching(&filter));
            }
            Command::CtFlush { ipv4, ipv6, reply } => {
                let now = now_ns();
                let mut n = 0;
                if ipv4 {
                    let ct = self.worker.pipeline.conntrack_mut();
                    ct.expire(now);
                    n += ct.flush();
                }
                if ipv6 {
                    let ct = self.worker.pipeline.conntrack6_mut();
                    ct.expire(now);
                    n += ct.flush();
                }
                let _ = reply.send(n);
            }
            Command::CtStats { reply } => {
                let ct = self.worker.pipeline.conntrack();
                let ct6 = self.worker.pipeline.conntrack6();
                let s = ct_stats_sum(ct.stats(), ct6.stats());
                let _ = reply.send(WorkerCtStats {
                    worker: self.index,
                    found: s.found,
                    invalid: s.invalid,
                    insert: s.inserted,
                    insert_failed: s.insert_failed,
                    drop: s.table_full,
                    early_drop: s.early_drop,
                    error: 0,
                    search_restart: 0,
                    entries: (ct.len() + ct6.len()) as u64,
                    entries6: ct6.len() as u64,
                    expired: s.expired,
                    max: u64::from(ct.config().max),
                    events_lost: listeners.events_lost,
                    trace_lost: listeners.trace_lost,
                    subscribers: listeners.subscribers(),
                    trace_watches: listeners.watches(),
                });
            }
            Command::CtSubscribe(sub) => listeners.subscribe(sub, &mut self.worker.pipeline),
            Command::CtUnsubscribe { id } => listeners.unsubscribe(id, &mut self.worker.pipeline),
            Command::TraceOn { watch, reply } => {
                let _ = reply.send(listeners.watch(watch, &mut self.worker.pipeline));
            }
            Command::TraceOff { id } => listeners.unwatch(id, &mut self.worker.pipeline),
        }
    }
}

/// Both tables' counters: the kernel's are per CPU, not per family.
fn ct_stats_sum(a: &CtStats, b: &CtStats) -> CtStats {
    CtStats {
        found: a.found + b.found,
        new: a.new + b.new,
        invalid: a.invalid + b.invalid,
        inserted: a.inserted + b.inserted,
        early_drop: a.early_drop + b.early_drop,
        insert_failed: a.insert_failed + b.insert_failed,
        table_full: a.table_full + b.table_full,
        expired: a.expired + b.expired,
        nat_port_probes: a.nat_port_probes + b.nat_port_probes,
    }
}

/// Sends `pkts` on `port` with the worker's bounded retries; what the port still refuses is
/// dropped and counted as its `tx_dropped`. Returns how many were sent.
fn send_all(port: &mut dyn Port, queue: u16, pkts: &mut Vec<PacketBuf>) -> u64 {
    let mut sent = 0;
    for _ in 0..dataplane::worker::TX_RETRIES {
        if pkts.is_empty() {
            break;
        }
        sent += port.tx_burst(queue, pkts);
    }
    if !pkts.is_empty() {
        port.count_tx_dropped(pkts.len() as u64);
        pkts.clear();
    }
    sent as u64
}

fn state_name(s: dataplane::neigh::NeighState) -> &'static str {
    use dataplane::neigh::NeighState;
    match s {
        NeighState::Incomplete => "INCOMPLETE",
        NeighState::Reachable => "REACHABLE",
        NeighState::Stale => "STALE",
        NeighState::Permanent => "PERMANENT",
    }
}

/// The neighbour table, sorted by port and address.
pub fn neighbor_entries(p: &dataplane::pipeline::Pipeline) -> Vec<NeighborEntry> {
    let mut v: Vec<NeighborEntry> = p
        .neighbors()
        .iter()
        .map(|(port, ip, e)| NeighborEntry {
            port,
            ip: IpAddr::V4(ip),
            mac: e.mac,
            state: state_name(e.state),
        })
        .collect();
    v.extend(p.nd_neighbors().iter().map(|(port, ip, e)| NeighborEntry {
        port,
        ip: IpAddr::V6(ip),
        mac: e.mac,
        state: e.state.name(),
    }));
    v.sort_by_key(|e| (e.port.0, e.ip));
    v
}

/// `ip neigh show` lines: `IP dev PORT lladdr MAC STATE`, sorted.
pub fn neighbor_listing(p: &dataplane::pipeline::Pipeline, port_names: &[String]) -> Vec<String> {
    use dataplane::neigh::NeighState;
    let mut lines: Vec<String> = p
        .neighbors()
        .iter()
        .map(|(port, ip, e)| {
            let dev = port_names
                .get(usize::from(port.0))
                .map_or("?", |s| s.as_str());
            let state = match e.state {
                NeighState::Incomplete => "INCOMPLETE",
                NeighState::Reachable => "REACHABLE",
                NeighState::Stale => "STALE",
                NeighState::Permanent => "PERMANENT",
            };
            match e.mac {
                Some(mac) => format!("{ip} dev {dev} lladdr {mac} {state}"),
                None => format!("{ip} dev {dev} {state}"),
            }
        })
        .collect();
    lines.extend(p.nd_neighbors().iter().map(|(port, ip, e)| {
        let dev = port_names
            .get(usize::from(port.0))
            .map_or("?", |s| s.as_str());
        match e.mac {
            Some(mac) => format!("{ip} dev {dev} lladdr {mac} {}", e.state.name()),
            None => format!("{ip} dev {dev} {}", e.state.name()),
        }
    }));
    lines.sort();
    lines
}

#[cfg(test)]
mod tests {
    use super::now_ns;

    #[test]
    fn the_clock_is_epoch_based_and_never_goes_back() {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let a = now_ns();
        assert!(a.abs_diff(wall) < 5_000_000_000, "close to the wall clock");
        let mut last = a;
        for _ in 0..1000 {
            let t = now_ns();
            assert!(t >= last);
            last = t;
        }
    }
}

/// `conntrack -U` on one table: the expired entries go first, so that the UPDATE events
/// carry the time of the change.
fn update_marks<A: CtAddr>(
    ct: &mut Conntrack<A>,
    filter: &CtFilter,
    value: u32,
    mask: u32,
) -> Vec<CtRecord<A>> {
    let now = now_ns();
    ct.expire(now);
    ct.update_marks(filter, value, mask, now)
}

#[cfg(test)]
mod idle_tests {
    use super::IdleSleep;

    /// Light polls lengthen the sleep 1 µs at a time up to the maximum; half a burst ends
    /// it; 0 never sleeps.
    #[test]
    fn idle_sleep_follows_the_load() {
        let mut off = IdleSleep::new(0, 32);
        assert!(!off.after_poll(0));
        let mut idle = IdleSleep::new(3, 32);
        let mut steps = Vec::new();
        for got in [0, 1, 15, 0, 16, 0, 40] {
            let slept = idle.after_poll(got);
            steps.push((slept, idle.us));
        }
        assert_eq!(
            steps,
            [
                (true, 1),
                (true, 2),
                (true, 3),
                (true, 3),
                (false, 0),
                (true, 1),
                (false, 0)
            ]
        );
    }
}
