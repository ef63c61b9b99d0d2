//! The HTTP endpoint on `[metrics] listen`: `/metrics` in Prometheus' text format, and the
//! operator's views of the live appliance: `/conntrack` (the /proc/net/nf_conntrack lines of
//! every shard), `/rules` (`iptables -L -n -v -x --line-numbers` with the workers' counters
//! summed) and `/neigh` (the neighbour tables).

use super::worker::WorkerReport;
use super::Shared;
use crate::iptables::list::list_table;
use crate::iptables::ListOptions;
use dataplane::pipeline::compile::SlotOwner;
use dataplane::port::PortStats;
use dataplane::ruleset::{Counters, Ruleset};
use prometheus::{Encoder, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

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
            SlotOwner::Policy { table, chain } => (*table, chain, None),
            SlotOwner::Rule {
                table,
                chain,
                index,
            } => (*table, chain, Some(*index)),
        };
        let Some(t) = rs.tables.iter_mut().find(|t| t.kind == table) else {
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

fn gauge(reg: &Registry, name: &str, help: &str, v: i64) -> prometheus::Result<()> {
    let g = IntGauge::new(name, help)?;
    g.set(v);
    reg.register(Box::new(g))
}

fn counter_vec(
    reg: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    reg.register(Box::new(c.clone()))?;
    Ok(c)
}

/// The Prometheus exposition of the appliance: ports, workers, conntrack, rules.
pub fn render(
    shared: &Shared,
    ports: &[(String, PortStats, bool)],
    reports: &[WorkerReport],
) -> prometheus::Result<String> {
    let reg = Registry::new_custom(Some("nfdp".into()), None)?;

    let port_pkts = counter_vec(
        &reg,
        "port_packets_total",
        "Frames per port and direction.",
        &["port", "dir"],
    )?;
    let port_bytes = counter_vec(
        &reg,
        "port_bytes_total",
        "Bytes per port and direction.",
        &["port", "dir"],
    )?;
    let port_drops = counter_vec(
        &reg,
        "port_dropped_total",
        "Frames dropped per port and direction (rx: ring full; tx: queue full after retries).",
        &["port", "dir"],
    )?;
    let port_errors = counter_vec(
        &reg,
        "port_errors_total",
        "Receive and transmit errors per port.",
        &["port"],
    )?;
    let link = IntGaugeVec::new(
        Opts::new("port_link_up", "1 when the port's link is up."),
        &["port"],
    )?;
    reg.register(Box::new(link.clone()))?;
    for (name, s, up) in ports {
        port_pkts
            .with_label_values(&[name, "rx"])
            .inc_by(s.rx_packets);
        port_pkts
            .with_label_values(&[name, "tx"])
            .inc_by(s.tx_packets);
        port_bytes
            .with_label_values(&[name, "rx"])
            .inc_by(s.rx_bytes);
        port_bytes
            .with_label_values(&[name, "tx"])
            .inc_by(s.tx_bytes);
        port_drops
            .with_label_values(&[name, "rx"])
            .inc_by(s.rx_dropped);
        port_drops
            .with_label_values(&[name, "tx"])
            .inc_by(s.tx_dropped);
        port_errors.with_label_values(&[name]).inc_by(s.errors);
        link.with_label_values(&[name]).set(i64::from(*up));
    }

    let busy = prometheus::GaugeVec::new(
        Opts::new(
            "worker_busy_ratio",
            "Share of polls that found packets since start.",
        ),
        &["worker"],
    )?;
    reg.register(Box::new(busy.clone()))?;
    let pipe = counter_vec(
        &reg,
        "pipeline_packets_total",
        "Packets by what the pipeline did with them.",
        &["worker", "outcome"],
    )?;
    let host = counter_vec(
        &reg,
        "host_packets_total",
        "Packets through the TAP exception port.",
        &["worker", "dir"],
    )?;
    let handoff = counter_vec(
        &reg,
        "worker_handoffs_total",
        "Packets handed between workers to the owner of their connection.",
        &["worker", "event"],
    )?;
    let ct = counter_vec(
        &reg,
        "conntrack_events_total",
        "Connection tracking events per worker shard.",
        &["worker", "event"],
    )?;
    let mut ct_count = 0i64;
    for r in reports {
        let w = r.index.to_string();
        let ratio = if r.polls == 0 {
            0.0
        } else {
            r.busy_polls as f64 / r.polls as f64
        };
        busy.with_label_values(&[&w]).set(ratio);
        let s = &r.stats;
        for (outcome, v) in [
            ("received", s.received),
            ("forwarded", s.forwarded),
            ("delivered_local", s.delivered_local),
            ("sent_local", s.sent_local),
            ("dropped_by_rules", s.dropped_by_rules),
            ("not_ipv4", s.not_ipv4),
            ("malformed", s.malformed),
            ("bad_checksum", s.bad_checksum),
            ("ttl_expired", s.ttl_expired),
            ("no_route", s.no_route),
            ("no_neighbor", s.no_neighbor),
            ("icmp_errors", s.icmp_errors),
            ("conntrack_drops", s.conntrack_drops),
            ("frag_needed", s.frag_needed),
            ("fragments_sent", s.fragments_sent),
        ] {
            pipe.with_label_values(&[&w, outcome]).inc_by(v);
        }
        host.with_label_values(&[&w, "to_host"]).inc_by(r.host_tx);
        host.with_label_values(&[&w, "from_host"]).inc_by(r.host_rx);
        host.with_label_values(&[&w, "ignored"])
            .inc_by(r.host_ignored);
        for (event, v) in [
            ("sent", r.handoff_sent),
            ("received", r.handoff_received),
            ("dropped", r.handoff_drops),
        ] {
            handoff.with_label_values(&[&w, event]).inc_by(v);
        }
        let c = &r.ct_stats;
        for (event, v) in [
            ("new", c.new),
            ("inserted", c.inserted),
            ("invalid", c.invalid),
            ("early_drop", c.early_drop),
            ("table_full_drop", c.table_full),
            ("expired", c.expired),
        ] {
            ct.with_label_values(&[&w, event]).inc_by(v);
        }
        ct_count += r.ct_count as i64;
    }
    gauge(
        &reg,
        "conntrack_entries",
        "Connections tracked, all shards.",
        ct_count,
    )?;
    gauge(
        &reg,
        "conntrack_max",
        "nf_conntrack_max (per shard).",
        shared.conntrack_max as i64,
    )?;

    let (rules, compiled) = shared.current_rules();
    gauge(
        &reg,
        "ruleset_generation",
        "Generation of the published ruleset.",
        compiled.generation as i64,
    )?;
    gauge(
        &reg,
        "ruleset_swap_latency_ns",
        "Compile and publish time of the last ruleset swap.",
        shared.swap_latency_ns(),
    )?;
    let rs = ruleset_with_counters(shared, reports);
    let rule_pkts = counter_vec(
        &reg,
        "rule_packets_total",
        "Packets matched per rule (position in its chain; 0 = the policy).",
        &["table", "chain", "rule"],
    )?;
    let rule_bytes = counter_vec(
        &reg,
        "rule_bytes_total",
        "Bytes matched per rule.",
        &["table", "chain", "rule"],
    )?;
    for t in &rs.tables {
        for c in &t.chains {
            if c.policy.is_some() {
                rule_pkts
                    .with_label_values(&[t.kind.name(), &c.name, "0"])
                    .inc_by(c.counters.packets);
                rule_bytes
                    .with_label_values(&[t.kind.name(), &c.name, "0"])
                    .inc_by(c.counters.bytes);
            }
            for (i, r) in c.rules.iter().enumerate() {
                let n = (i + 1).to_string();
                rule_pkts
                    .with_label_values(&[t.kind.name(), &c.name, &n])
                    .inc_by(r.counters.packets);
                rule_bytes
                    .with_label_values(&[t.kind.name(), &c.name, &n])
                    .inc_by(r.counters.bytes);
            }
        }
    }
    drop(rules);

    let mut buf = Vec::new();
    TextEncoder::new().encode(&reg.gather(), &mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
