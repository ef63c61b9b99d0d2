//! `nfdpctl stats`: ports, workers and drops by reason as readable tables.

use super::connect::Conn;
use super::{status_message, Io};
use crate::api::pb::stats_client::StatsClient;
use crate::api::pb::{StatsReply, StatsRequest};
use std::fmt::Write;

/// The report for one Stats reply.
pub fn render(s: &StatsReply) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "ruleset generation {}  swap latency {} ns  uptime {} s",
        s.ruleset_generation, s.swap_latency_ns, s.uptime_seconds
    );
    let _ = writeln!(o, "\nPORT             STATE   RX_PACKETS     RX_BYTES   TX_PACKETS     TX_BYTES  RX_DROP  TX_DROP   RX_ERR   TX_ERR");
    for p in &s.ports {
        let _ = writeln!(
            o,
            "{:<16} {:<5} {:>12} {:>12} {:>12} {:>12} {:>8} {:>8} {:>8} {:>8}",
            p.name,
            if p.up { "up" } else { "down" },
            p.rx_packets,
            p.rx_bytes,
            p.tx_packets,
            p.tx_bytes,
            p.rx_dropped,
            p.tx_dropped,
            p.rx_errors,
            p.tx_errors
        );
    }
    let _ = writeln!(
        o,
        "\nWORKER CORE  BUSY%   CONNTRACK  HANDOFF_TX  HANDOFF_RX  HANDOFF_DROP  OUTCOMES"
    );
    for w in &s.workers {
        let mut outcomes: Vec<_> = w.outcomes.iter().collect();
        outcomes.sort();
        let outcomes: Vec<String> = outcomes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let core = if w.core < 0 {
            "-".to_string()
        } else {
            w.core.to_string()
        };
        let _ = writeln!(
            o,
            "{:>6} {:>4} {:>6.1} {:>11} {:>11} {:>11} {:>13}  {}",
            w.index,
            core,
            w.busy_ratio * 100.0,
            w.conntrack_entries,
            w.handoff_sent,
            w.handoff_received,
            w.handoff_drops,
            outcomes.join(" ")
        );
    }
    let _ = writeln!(o, "\nDROP REASON                       PACKETS");
    let mut drops: Vec<_> = s.drops.iter().collect();
    drops.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.reason.cmp(&b.reason)));
    for d in drops {
        let _ = writeln!(o, "{:<30} {:>10}", d.reason, d.packets);
    }
    o
}

pub async fn run(conn: Conn, io: &mut Io<'_>) -> i32 {
    match StatsClient::new(conn).get(StatsRequest {}).await {
        Ok(r) => {
            io.out(render(&r.into_inner()).as_bytes());
            0
        }
        Err(s) => {
            io.err_line(&format!("nfdpctl: {}", status_message(&s)));
            1
        }
    }
}
