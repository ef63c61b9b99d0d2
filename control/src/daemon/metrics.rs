//! The metrics port's content: `/metrics` in Prometheus' text format (version 0.0.4),
//! rendered from the snapshots the workers publish (no round trip to them), and `/healthz`.
//! Also the counter-summing helpers the operator's listings use (`ruleset_with_counters`,
//! `rules_text`).
//!
//! Naming follows Prometheus' conventions: `nfdp_` prefix, base units, `_total` for
//! counters, interface names as `port` label values; the conntrack families are named after
//! node_exporter's (`node_nf_conntrack_*`).

use super::snapshot::{SnapshotSlot, WorkerSnapshot};
use super::worker::WorkerReport;
use super::{PortControl, Shared};
use crate::iptables::list::list_table;
use crate::iptables::ListOptions;
use dataplane::pipeline::compile::SlotOwner;
use dataplane::pipeline::{DropReason, PipelineStats};
use dataplane::port::PortStats;
use dataplane::ruleset::Family;
use dataplane::ruleset::{Counters, Ruleset};
use std::collections::BTreeMap;
use std::fmt::{Display, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use axum::body::Bytes;

/// Per-slot counters of all workers, summed, written into a copy of the ruleset (slots
/// of an older generation than the published ruleset are skipped: they belong to rules
/// that may have moved).
pub fn ruleset_with_counters(shared: &Shared, reports: &[WorkerReport]) -> Ruleset {
    let (rules, compiled) = shared.current_rules();
    let mut rs = (*rules).clone();
    let mut sums = vec![Counters::default(); compiled.slots.len()];
    for r in reports
        .iter()
        .filter(|r| r.generation == compiled.generation)
    {
        for (s, c) in sums.iter_mut().zip(&r.counters) {
            s.packets += c.packets;
            s.bytes += c.bytes;
        }
    }
    for (owner, sum) in compiled.slots.iter().zip(sums) {
        let (table, chain, index) = match owner {
            SlotOwner::Policy { table, chain, .. } => (*table, chain, None),
            SlotOwner::Rule {
                table,
                chain,
                index,
                ..
            } => (*table, chain, Some(*index)),
        };
        let tables = match owner.family() {
            Family::V4 => &mut rs.tables,
            Family::V6 => match rs.ip6.as_mut() {
                Some(r) => &mut std::sync::Arc::make_mut(r).tables,
                None => continue,
            },
        };
        let Some(t) = tables.iter_mut().find(|t| t.kind == table) else {
            continue;
        };
        let Some(c) = t.chain_mut(chain) else {
            continue;
        };
        let target = match index {
            None => Some(&mut c.counters),
            Some(i) => c.rules.get_mut(i).map(|r| &mut r.counters),
        };
        if let Some(t) = target {
            t.packets += sum.packets;
            t.bytes += sum.bytes;
        }
    }
    // The ARP table's rules, in `ArpTable::rule_count` order.
    let reports = reports
        .iter()
        .filter(|r| r.generation == compiled.generation);
    let mut arp = vec![Counters::default(); rs.arp.rule_count()];
    for r in reports {
        for (s, c) in arp.iter_mut().zip(&r.arp_counters) {
            s.packets += c.packets;
            s.bytes += c.bytes;
        }
    }
    if arp.iter().any(|c| c.packets > 0) {
        let rules = std::sync::Arc::make_mut(&mut rs.arp)
            .chains
            .iter_mut()
            .flat_map(|c| &mut c.rules);
        for (r, c) in rules.zip(arp) {
            r.packets += c.packets;
            r.bytes += c.bytes;
        }
    }
    rs
}

/// `iptables -L -n -v -x --line-numbers` of every table, each under a `# table` header.
pub fn rules_text(shared: &Shared, reports: &[WorkerReport]) -> String {
    let rs = ruleset_with_counters(shared, reports);
    let opts = ListOptions {
        numeric: true,
        verbose: true,
        exact: true,
        line_numbers: true,
    };
    let mut out = String::new();
    for t in &rs.tables {
        out.push_str(&format!("# table {}\n", t.kind.name()));
        match list_table(t, None, opts) {
            Ok(s) => out.push_str(&s),
            Err(e) => out.push_str(&format!("# {e}\n")),
        }
        out.push('\n');
    }
    out
}

/// A worker whose last snapshot is older than this is reported stuck by `/healthz`.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(2);

/// Everything `/metrics` and `/healthz` read: the published ruleset, the ports' own
/// counters, and each worker's latest snapshot. Cheap to clone (all shared).
#[derive(Clone)]
pub struct MetricsView {
    pub shared: Arc<Shared>,
    /// The ports (and the TAP exception port), read live: their counters are the driver's.
    pub ports: Vec<Arc<dyn PortControl>>,
    /// One slot per worker, by worker index.
    pub workers: Vec<Arc<SnapshotSlot>>,
    /// The daemon's stop flag (SIGINT/SIGTERM): once set, the port reports unhealthy.
    pub stop: Arc<AtomicBool>,
    /// `[metrics] rule_counters`: the per-rule families (off for very large rulesets).
    pub rule_counters: bool,
    /// How old a worker's snapshot may be before `/healthz` calls it stuck.
    pub stale_after: Duration,
    /// The last exposition and what it was rendered from: scrapers that come before the
    /// next snapshot (or port counter change) share it instead of rendering again.
    cache: Arc<Mutex<Option<Rendered>>>,
}

/// An exposition and its inputs.
struct Rendered {
    snapshots: Vec<Arc<WorkerSnapshot>>,
    stalled: Vec<bool>,
    ports: Vec<(PortStats, bool)>,
    ruleset: (u64, i64),
    text: Bytes,
}

/// What `/healthz` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Why not (one line, for the 503 body).
    Unhealthy(String),
}

impl MetricsView {
    pub fn new(
        shared: Arc<Shared>,
        ports: Vec<Arc<dyn PortControl>>,
        workers: Vec<Arc<SnapshotSlot>>,
        stop: Arc<AtomicBool>,
    ) -> MetricsView {
        MetricsView {
            shared,
            ports,
            workers,
            stop,
            rule_counters: true,
            stale_after: DEFAULT_STALE_AFTER,
            cache: Arc::default(),
        }
    }

    /// Healthy while the stop flag is clear and every worker published within
    /// `stale_after`.
    pub fn health(&self) -> Health {
        if self.stop.load(Ordering::Relaxed) {
            return Health::Unhealthy("stopping".into());
        }
        if self.workers.is_empty() {
            return Health::Unhealthy("no workers".into());
        }
        let now = Instant::now();
        for (i, slot) in self.workers.iter().enumerate() {
            match slot.latest() {
                None => return Health::Unhealthy(format!("worker {i} has not started")),
                Some(s) if !s.running => {
                    return Health::Unhealthy(format!("worker {i} stopped"));
                }
                Some(s) => {
                    let age = now.saturating_duration_since(s.at);
                    if age > self.stale_after {
                        return Health::Unhealthy(format!(
                            "worker {i} published nothing for {:.1} s",
                            age.as_secs_f64()
                        ));
                    }
                }
            }
        }
        Health::Ok
    }

    /// The exposition, or why there is none: once the daemon stops (or every worker has
    /// ended) the numbers are no longer those of a running appliance.
    pub fn render(&self) -> Result<Bytes, String> {
        if self.stop.load(Ordering::Relaxed) {
            return Err("stopping".into());
        }
        let snapshots: Vec<Arc<WorkerSnapshot>> =
            self.workers.iter().filter_map(|w| w.latest()).collect();
        // A stalled worker publishes nothing: its flag is an input of its own.
        let stalled: Vec<bool> = self.workers.iter().map(|w| w.heartbeat.stalled()).collect();
        if !snapshots.iter().any(|s| s.running) {
            return Err("no worker is running".into());
        }
        let ports: Vec<(PortStats, bool)> = self
            .ports
            .iter()
            .map(|p| (p.stats(), p.link_up()))
            .collect();
        let ruleset = (
            self.shared.compiled.load().generation,
            self.shared.swap_latency_ns(),
        );
        // One render per change, whoever asks: the others wait for it here.
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.as_ref() {
            if c.ruleset == ruleset
                && c.ports == ports
                && c.stalled == stalled
                && c.snapshots.len() == snapshots.len()
                && c.snapshots
                    .iter()
                    .zip(&snapshots)
                    .all(|(a, b)| Arc::ptr_eq(a, b))
            {
                return Ok(c.text.clone());
            }
        }
        let named: Vec<(String, PortStats, bool)> = self
            .ports
            .iter()
            .zip(&ports)
            .map(|(p, (s, up))| (p.name().to_string(), *s, *up))
            .collect();
        let text = Bytes::from(render(
            &self.shared,
            &named,
            &snapshots,
            &stalled,
            self.rule_counters,
        ));
        *cache = Some(Rendered {
            snapshots,
            stalled,
            ports,
            ruleset,
            text: text.clone(),
        });
        Ok(text)
    }
}

/// One counter of a worker's report.
type ReportField = fn(&WorkerReport) -> u64;

/// A Prometheus text exposition being written: a family's HELP and TYPE, then its samples.
struct Exposition {
    out: String,
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                for c in v.chars() {
                    match c {
                        '\\' => self.out.push_str("\\\\"),
                        '"' => self.out.push_str("\\\""),
                        '\n' => self.out.push_str("\\n"),
                        c => self.out.push(c),
                    }
                }
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A counter family of one sample per event, each `field` summed over the workers.
    fn totals<W>(
        &mut self,
        name: &str,
        help: &str,
        workers: &[(W, &WorkerSnapshot)],
        events: &[(&str, ReportField)],
    ) {
        self.family(name, Kind::Counter, help);
        for (event, field) in events {
            let v: u64 = workers.iter().map(|(_, s)| field(&s.report)).sum();
            self.sample(name, &[("event", event)], v);
        }
    }

    /// A family with one sample per item.
    fn each<T>(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        items: &[T],
        sample: impl Fn(&mut Exposition, &T),
    ) {
        self.family(name, kind, help);
        for item in items {
            sample(self, item);
        }
    }
}

/// Every drop reason of the pipeline, then the worker's own (`nfdp_drops_total{reason}`).
fn drop_reasons(r: &WorkerReport) -> impl Iterator<Item = (&'static str, u64)> + '_ {
    r.stats
        .drops
        .iter()
        .map(|(reason, n)| (reason.name(), n))
        .chain([
            ("handoff_full", r.handoff_drops),
            ("host_ignored", r.host_ignored),
        ])
}

/// The pipeline's outcomes by the names the metrics (`nfdp_worker_packets_total{outcome}`)
/// and the Stats API use: what went through, then every drop reason.
pub fn outcomes(s: &PipelineStats) -> Vec<(&'static str, u64)> {
    let mut v = vec![
        ("received", s.received),
        ("forwarded", s.forwarded),
        ("delivered_local", s.delivered_local),
        ("sent_local", s.sent_local),
        ("icmp_errors", s.icmp_errors),
        ("icmp_rate_limited", s.icmp_rate_limited),
        ("fragments_sent", s.fragments_sent),
        // `-j NFLOG` copies queued for the capture writer, and those a full queue lost.
        ("nflog_queued", s.nflog),
        ("nflog_lost", s.nflog_lost),
        // `-j SET` operations handed to the control plane, and those a full queue lost.
        ("set_ops_queued", s.set_ops),
        ("set_ops_lost", s.set_ops_lost),
    ];
    v.extend(s.drops.iter().map(|(r, n)| (r.outcome(), n)));
    v
}

/// The exposition of the appliance: build, ports, workers, drops, conntrack, ruleset and
/// (with `rule_counters`) every rule's counters, from the workers' latest `snapshots`, and
/// the watchdog's `stalled` flag of each worker (by index).
pub fn render(
    shared: &Shared,
    ports: &[(String, PortStats, bool)],
    snapshots: &[Arc<WorkerSnapshot>],
    stalled: &[bool],
    rule_counters: bool,
) -> String {
    let mut e = Exposition {
        out: String::with_capacity(16 << 10),
    };
    e.family(
        "nfdp_build_info",
        Kind::Gauge,
        "Always 1; the version of the running nfdp as a label.",
    );
    e.sample(
        "nfdp_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );

    // Ports: the driver's counters, named like node_exporter's node_network_*.
    type PortField = fn(&PortStats) -> u64;
    let port_families: [(&str, &str, PortField); 7] = [
        (
            "nfdp_port_receive_packets_total",
            "Frames received per port.",
            |s| s.rx_packets,
        ),
        (
            "nfdp_port_transmit_packets_total",
            "Frames transmitted per port.",
            |s| s.tx_packets,
        ),
        (
            "nfdp_port_receive_bytes_total",
            "Bytes received per port.",
            |s| s.rx_bytes,
        ),
        (
            "nfdp_port_transmit_bytes_total",
            "Bytes transmitted per port.",
            |s| s.tx_bytes,
        ),
        (
            "nfdp_port_receive_dropped_total",
            "Frames the port discarded on receive (rx ring full).",
            |s| s.rx_dropped,
        ),
        (
            "nfdp_port_transmit_dropped_total",
            "Frames dropped on transmit (queue still full after the retries).",
            |s| s.tx_dropped,
        ),
        (
            "nfdp_port_errors_total",
            "Malformed frames per port (empty, larger than a buffer).",
            |s| s.errors,
        ),
    ];
    for (name, help, field) in port_families {
        e.each(name, Kind::Counter, help, ports, |e, (port, s, _)| {
            e.sample(name, &[("port", port)], field(s))
        });
    }
    e.each(
        "nfdp_port_link_up",
        Kind::Gauge,
        "1 when the port's link is up.",
        ports,
        |e, (port, _, up)| e.sample("nfdp_port_link_up", &[("port", port)], u8::from(*up)),
    );

    // Workers.
    let w: Vec<(String, &WorkerSnapshot)> = snapshots
        .iter()
        .map(|s| (s.report.index.to_string(), &**s))
        .collect();
    e.each(
        "nfdp_worker_busy_ratio",
        Kind::Gauge,
        "Share of the worker's polls that found packets, over its last housekeeping interval (100 ms).",
        &w,
        |e, (id, s)| e.sample("nfdp_worker_busy_ratio", &[("worker", id)], s.busy_ratio),
    );
    e.each(
        "nfdp_worker_polls_total",
        Kind::Counter,
        "Polls of all the worker's queues.",
        &w,
        |e, (id, s)| e.sample("nfdp_worker_polls_total", &[("worker", id)], s.report.polls),
    );
    e.each(
        "nfdp_worker_busy_polls_total",
        Kind::Counter,
        "Polls that found packets (rate over nfdp_worker_polls_total's rate: the busy ratio).",
        &w,
        |e, (id, s)| {
            e.sample(
                "nfdp_worker_busy_polls_total",
                &[("worker", id)],
                s.report.busy_polls,
            )
        },
    );
    e.each(
        "nfdp_worker_last_snapshot_timestamp_seconds",
        Kind::Gauge,
        "When the worker last published its counters (every 100 ms while it runs), Unix time.",
        &w,
        |e, (id, s)| {
            e.sample(
                "nfdp_worker_last_snapshot_timestamp_seconds",
                &[("worker", id)],
                s.unix_ns as f64 / 1e9,
            )
        },
    );
    let flags: Vec<(String, bool)> = stalled
        .iter()
        .enumerate()
        .map(|(i, s)| (i.to_string(), *s))
        .collect();
    e.each(
        "nfdp_worker_stalled",
        Kind::Gauge,
        "1 while the watchdog calls the worker stalled: its poll loop has not turned for 5 s (a driver call that does not return, a livelock).",
        &flags,
        |e, (id, s)| e.sample("nfdp_worker_stalled", &[("worker", id)], u8::from(*s)),
    );
    e.each(
        "nfdp_worker_ruleset_generation",
        Kind::Gauge,
        "Generation of the ruleset the worker runs.",
        &w,
        |e, (id, s)| {
            e.sample(
                "nfdp_worker_ruleset_generation",
                &[("worker", id)],
                s.report.generation,
            )
        },
    );
    e.family(
        "nfdp_worker_packets_total",
        Kind::Counter,
        "Packets by what the worker's pipeline did with them (received: all it took in).",
    );
    for (id, s) in &w {
        for (outcome, v) in outcomes(&s.report.stats) {
            e.sample(
                "nfdp_worker_packets_total",
                &[("worker", id), ("outcome", outcome)],
                v,
            );
        }
    }
    e.family(
        "nfdp_synproxy_total",
        Kind::Counter,
        "-j SYNPROXY per worker, by /proc/net/stat/synproxy's names: SYNs answered with a \
         cookie, ACKs whose cookie was invalid or valid, retransmitted ACKs, reopened \
         connections.",
    );
    for (id, s) in &w {
        for (counter, v) in s.report.stats.synproxy.named() {
            e.sample(
                "nfdp_synproxy_total",
                &[("worker", id), ("counter", counter)],
                v,
            );
        }
    }
    e.family(
        "nfdp_worker_handoffs_total",
        Kind::Counter,
        "Packets handed between workers to the owner of their connection (multi-core).",
    );
    for (id, s) in &w {
        let r = &s.report;
        for (event, v) in [
            ("sent", r.handoff_sent),
            ("received", r.handoff_received),
            ("dropped", r.handoff_drops),
        ] {
            e.sample(
                "nfdp_worker_handoffs_total",
                &[("worker", id), ("event", event)],
                v,
            );
        }
    }
    e.family(
        "nfdp_host_packets_total",
        Kind::Counter,
        "Packets through the TAP exception port (to and from the host's stack).",
    );
    for (id, s) in &w {
        let r = &s.report;
        for (event, v) in [
            ("to_host", r.host_tx),
            ("from_host", r.host_rx),
            ("ignored", r.host_ignored),
        ] {
            e.sample(
                "nfdp_host_packets_total",
                &[("worker", id), ("event", event)],
                v,
            );
        }
    }

    // Drops by reason, all workers and ports.
    let mut drops: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, s) in &w {
        for (reason, v) in drop_reasons(&s.report) {
            *drops.entry(reason).or_default() += v;
        }
    }
    *drops.entry("rx_ring_full").or_default() += ports.iter().map(|p| p.1.rx_dropped).sum::<u64>();
    *drops.entry("tx_queue_full").or_default() += ports.iter().map(|p| p.1.tx_dropped).sum::<u64>();
    *drops.entry("port_errors").or_default() += ports.iter().map(|p| p.1.errors).sum::<u64>();
    e.family(
        "nfdp_drops_total",
        Kind::Counter,
        "Packets dropped, by reason, all workers and ports.",
    );
    for (reason, v) in drops {
        e.sample("nfdp_drops_total", &[("reason", reason)], v);
    }

    // ARP, IPv6 neighbour discovery and echo, all workers.
    e.totals(
        "nfdp_arp_total",
        "ARP on the appliance's ports, by event (arptables_input/output: dropped by arptables).",
        &w,
        &[
            ("requests_received", |r| r.arp.requests_received),
            ("requests_answered", |r| r.arp.requests_answered),
            ("replies_received", |r| r.arp.replies_received),
            ("requests_sent", |r| r.arp.requests_sent),
            ("announcements_sent", |r| r.arp.announcements_sent),
            ("malformed", |r| r.arp.malformed),
            ("ignored", |r| r.arp.ignored),
            ("queued", |r| r.arp.queued),
            ("arptables_input", |r| r.arp.filtered_in),
            ("arptables_output", |r| r.arp.filtered_out),
        ],
    );
    e.totals(
        "nfdp_ndisc_total",
        "IPv6 neighbour discovery on the appliance's ports, by event (invalid: failed RFC 4861's checks).",
        &w,
        &[
            ("solicitations_received", |r| r.ndisc.solicitations_received),
            ("solicitations_answered", |r| r.ndisc.solicitations_answered),
            ("adverts_received", |r| r.ndisc.adverts_received),
            ("solicitations_sent", |r| r.ndisc.solicitations_sent),
            ("announcements_sent", |r| r.ndisc.announcements_sent),
            ("invalid", |r| r.ndisc.invalid),
            ("ignored", |r| r.ndisc.ignored),
            ("queued", |r| r.ndisc.queued),
        ],
    );
    e.totals(
        "nfdp_ipv6_total",
        "IPv6 frames received, and the echo requests to the appliance answered.",
        &w,
        &[
            ("received", |r| r.ipv6.received),
            ("echo_requests", |r| r.ipv6.echo_requests),
            ("echo_replies", |r| r.ipv6.echo_replies),
        ],
    );

    // Conntrack: one shard per worker, each with its own nf_conntrack_max.
    // Both families, as nf_conntrack_count (node_nf_conntrack_entries) counts them.
    e.each(
        "nfdp_conntrack_entries",
        Kind::Gauge,
        "Connections tracked in the worker's conntrack shard (IPv4 and IPv6).",
        &w,
        |e, (id, s)| {
            e.sample(
                "nfdp_conntrack_entries",
                &[("worker", id)],
                s.report.ct_count + s.report.ct_count6,
            )
        },
    );
    e.each(
        "nfdp_conntrack_family_entries",
        Kind::Gauge,
        "Connections tracked in the worker's conntrack shard, by family.",
        &w,
        |e, (id, s)| {
            for (family, n) in [("ipv4", s.report.ct_count), ("ipv6", s.report.ct_count6)] {
                e.sample(
                    "nfdp_conntrack_family_entries",
                    &[("worker", id), ("family", family)],
                    n,
                );
            }
        },
    );
    e.each(
        "nfdp_conntrack_entries_limit",
        Kind::Gauge,
        "Most connections the worker's shard holds (nf_conntrack_max).",
        &w,
        |e, (id, s)| {
            e.sample(
                "nfdp_conntrack_entries_limit",
                &[("worker", id)],
                s.ct_limit,
            )
        },
    );
    let ct_families: [(&str, &str, ReportField); 9] = [
        (
            "nfdp_conntrack_stat_found_total",
            "Packets whose connection was found in the table.",
            |r| r.ct_stats.found,
        ),
        (
            "nfdp_conntrack_stat_invalid_total",
            "Packets conntrack could not track (ctstate INVALID).",
            |r| r.ct_stats.invalid,
        ),
        (
            "nfdp_conntrack_stat_insert_total",
            "Connections entered into the table.",
            |r| r.ct_stats.inserted,
        ),
        (
            "nfdp_conntrack_stat_insert_failed_total",
            "Inserts that lost a race; always 0: a shard has one writer.",
            |_| 0,
        ),
        (
            "nfdp_conntrack_stat_drop_total",
            "Packets dropped because their connection could not be entered (table full, no NAT identity free).",
            |r| r.stats.drops[DropReason::Conntrack],
        ),
        (
            "nfdp_conntrack_stat_early_drop_total",
            "Unassured connections evicted to make room for new ones.",
            |r| r.ct_stats.early_drop,
        ),
        (
            "nfdp_conntrack_stat_search_restart_total",
            "Lookups restarted by a concurrent resize; always 0: a shard has one writer.",
            |_| 0,
        ),
        (
            "nfdp_conntrack_stat_new_total",
            "Packets that started a new connection.",
            |r| r.ct_stats.new,
        ),
        (
            "nfdp_conntrack_stat_expired_total",
            "Connections removed by their timeout.",
            |r| r.ct_stats.expired,
        ),
    ];
    for (name, help, field) in ct_families {
        e.each(name, Kind::Counter, help, &w, |e, (id, s)| {
            e.sample(name, &[("worker", id)], field(&s.report))
        });
    }

    // The ruleset (lock-free: the workers' side of the published pointer).
    e.family(
        "nfdp_ruleset_generation",
        Kind::Gauge,
        "Generation of the published ruleset (1 at start, +1 per swap).",
    );
    e.sample(
        "nfdp_ruleset_generation",
        &[],
        shared.compiled.load().generation,
    );
    e.family(
        "nfdp_ruleset_swap_duration_seconds",
        Kind::Gauge,
        "Compile and publish time of the last ruleset swap.",
    );
    e.sample(
        "nfdp_ruleset_swap_duration_seconds",
        &[],
        shared.swap_latency_ns().max(0) as f64 / 1e9,
    );

    if rule_counters {
        let rules = rule_sums(snapshots);
        for (name, help, bytes) in [
            (
                "nfdp_rule_packets_total",
                "Packets matched per rule (rule: its 1-based number in the chain, or policy).",
                false,
            ),
            (
                "nfdp_rule_bytes_total",
                "Bytes matched per rule (rule: its 1-based number in the chain, or policy).",
                true,
            ),
        ] {
            e.family(name, Kind::Counter, help);
            for ((table, chain, rule), c) in &rules {
                let rule = match rule {
                    None => "policy".to_string(),
                    Some(i) => (i + 1).to_string(),
                };
                e.sample(
                    name,
                    &[("table", table), ("chain", chain), ("rule", &rule)],
                    if bytes { c.bytes } else { c.packets },
                );
            }
        }
    }
    e.out
}

/// Every rule's counters summed over the workers, each snapshot labelled by the ruleset it
/// counted for (during a swap, workers may briefly run different generations).
fn rule_sums(
    snapshots: &[Arc<WorkerSnapshot>],
) -> BTreeMap<(&'static str, &str, Option<usize>), Counters> {
    let mut sums: BTreeMap<(&'static str, &str, Option<usize>), Counters> = BTreeMap::new();
    for s in snapshots {
        // The IPv4 rules' series (ip6tables' are listed by `ip6tables -L -v`).
        let v4 = s.ruleset.slots.iter().filter(|o| o.family() == Family::V4);
        for (owner, c) in v4.zip(&s.report.counters) {
            let key = match owner {
                SlotOwner::Policy { table, chain, .. } => (table.name(), chain.as_str(), None),
                SlotOwner::Rule {
                    table,
                    chain,
                    index,
                    ..
                } => (table.name(), chain.as_str(), Some(*index)),
            };
            let sum = sums.entry(key).or_default();
            sum.packets += c.packets;
            sum.bytes += c.bytes;
        }
    }
    sums
}
