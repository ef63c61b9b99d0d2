//! The Stats service: ports, workers, drops by reason, the ruleset's generation and swap
//! latency, uptime.

use super::pb::stats_server::Stats;
use super::pb::{DropReason, PortStats, StatsReply, StatsRequest, WorkerStats};
use super::{blocking, workers_status};
use crate::daemon::Control;
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct StatsService {
    control: Arc<Control>,
}

impl StatsService {
    pub fn new(control: Arc<Control>) -> StatsService {
        StatsService { control }
    }
}

pub use crate::daemon::metrics::outcomes;

pub fn stats(control: &Control) -> Result<StatsReply, Status> {
    let reports = control.workers.reports(false).map_err(workers_status)?;
    let mut drops: BTreeMap<String, u64> = BTreeMap::new();
    let mut ports = Vec::new();
    for p in control.ports.iter().chain(control.host_port.iter()) {
        let s = p.stats();
        *drops.entry("port_rx_dropped".into()).or_default() += s.rx_dropped;
        *drops.entry("port_tx_dropped".into()).or_default() += s.tx_dropped;
        *drops.entry("port_errors".into()).or_default() += s.errors;
        ports.push(PortStats {
            name: p.name().to_string(),
            up: p.link_up(),
            rx_packets: s.rx_packets,
            rx_bytes: s.rx_bytes,
            tx_packets: s.tx_packets,
            tx_bytes: s.tx_bytes,
            rx_dropped: s.rx_dropped,
            tx_dropped: s.tx_dropped,
            rx_errors: s.errors,
            tx_errors: 0,
        });
    }
    let workers = reports
        .iter()
        .map(|r| {
            let outcomes: std::collections::HashMap<String, u64> = outcomes(&r.stats)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            for (reason, n) in r.stats.drops.iter() {
                *drops.entry(reason.outcome().to_string()).or_default() += n;
            }
            *drops.entry("handoff_drops".into()).or_default() += r.handoff_drops;
            WorkerStats {
                index: r.index as u32,
                core: r.core.map_or(-1, |c| c as i32),
                busy_ratio: if r.polls == 0 {
                    0.0
                } else {
                    r.busy_polls as f64 / r.polls as f64
                },
                conntrack_entries: r.ct_count + r.ct_count6,
                handoff_sent: r.handoff_sent,
                handoff_received: r.handoff_received,
                handoff_drops: r.handoff_drops,
                outcomes,
            }
        })
        .collect();
    let (_, compiled) = control.shared.current_rules();
    Ok(StatsReply {
        ports,
        workers,
        drops: drops
            .into_iter()
            .map(|(reason, packets)| DropReason { reason, packets })
            .collect(),
        ruleset_generation: compiled.generation,
        swap_latency_ns: control.shared.swap_latency_ns(),
        uptime_seconds: control.started.elapsed().as_secs(),
    })
}

#[tonic::async_trait]
impl Stats for StatsService {
    async fn get(&self, _r: Request<StatsRequest>) -> Result<Response<StatsReply>, Status> {
        let c = Arc::clone(&self.control);
        blocking(move || stats(&c)).await.map(Response::new)
    }
}
