//! `nfdp replay`: runs pcap captures through the pipeline without DPDK. Input packets of
//! all ports are merged by timestamp (the pcap clock drives the pipeline's clock); what
//! each port transmitted goes to `DIR/PORT.pcap`, what was delivered to the host to
//! `DIR/local.pcap` (raw IPv4), and `DIR/trace.txt` gets the TRACE lines of every packet
//! followed by its final verdict.

use crate::config::Config;
use dataplane::conntrack::CtConfig;
use dataplane::pipeline::arp::ArpStats;
use dataplane::pipeline::{CompiledRuleset, Emit, Pipeline, PipelineStats};
use dataplane::port::{PacketBuf, PortId};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::DataLink;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct ReplayArgs {
    pub config: PathBuf,
    /// Overrides the config's `[rules] file`.
    pub rules: Option<PathBuf>,
    /// Overrides the config's `[rules] file6`.
    pub rules6: Option<PathBuf>,
    /// (port name, pcap file)
    pub inputs: Vec<(String, PathBuf)>,
    pub out_dir: PathBuf,
    /// Where to write the conntrack table as it stands after the last packet.
    pub conntrack: Option<PathBuf>,
    /// Where to write conntrack's NEW / UPDATE / DESTROY events (`conntrack -E`).
    pub events: Option<PathBuf>,
    /// Where to write the `-j NFLOG` packets, one `group-N.pcap` per group (as the
    /// daemon's `[nflog] dir`, but each file started afresh).
    pub nflog_dir: Option<PathBuf>,
}

/// What a replay did, for the caller to print.
#[derive(Debug, Default)]
pub struct ReplaySummary {
    pub packets: usize,
    pub written: BTreeMap<String, usize>,
    pub stats: PipelineStats,
}

type Writer = PcapWriter<BufWriter<File>>;

fn writer(path: &Path, datalink: DataLink) -> Result<Writer, String> {
    let f = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let header = PcapHeader {
        datalink,
        ..Default::default()
    };
    PcapWriter::with_header(BufWriter::new(f), header)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// One line after a packet's TRACE lines: where it went, or why not. ARP frames the
/// pipeline sent show as `ARP port`, a packet waiting for its next hop to resolve as `HELD`.
fn verdict_line(
    emits: &[Emit],
    (before, arp_before): (&PipelineStats, &ArpStats),
    (after, arp_after): (&PipelineStats, &ArpStats),
    ports: &[String],
) -> String {
    let mut parts = Vec::new();
    for e in emits {
        match e {
            Emit::Tx { port, frame } => {
                let arp = frame.data().get(12..14) == Some(&[0x08, 0x06][..]);
                parts.push(format!(
                    "{} {}",
                    if arp { "ARP" } else { "TX" },
                    ports.get(port.0 as usize).map_or("?", |s| s.as_str())
                ))
            }
            Emit::Local { .. } => parts.push("LOCAL".to_string()),
        }
    }
    if arp_after.queued > arp_before.queued {
        parts.push("HELD (no neighbour)".to_string());
    }
    let arp_in = arp_after.requests_received + arp_after.replies_received
        > arp_before.requests_received + arp_before.replies_received;
    let mut reasons: Vec<(u64, &str)> = after
        .drops
        .iter()
        .map(|(r, n)| (n - before.drops[r], replay_reason(r)))
        .collect();
    reasons.push((arp_after.malformed - arp_before.malformed, "malformed ARP"));
    reasons.push((arp_after.ignored - arp_before.ignored, "ARP ignored"));
    let drops: Vec<&str> = reasons
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(_, r)| *r)
        .collect();
    if parts.is_empty() {
        let why = if drops.is_empty() {
            if arp_in {
                return "VERDICT: CONSUMED (ARP)".to_string();
            }
            "stolen".to_string()
        } else {
            drops.join(", ")
        };
        format!("VERDICT: DROP ({why})")
    } else if drops.is_empty() {
        format!("VERDICT: {}", parts.join(", "))
    } else {
        format!(
            "VERDICT: {} (dropped: {})",
            parts.join(", "),
            drops.join(", ")
        )
    }
}

pub fn run(args: &ReplayArgs) -> Result<ReplaySummary, String> {
    let cfg = Config::load(&args.config).map_err(|e| e.to_string())?;
    let topo = cfg.build().map_err(|e| e.to_string())?;
    let rules =
        crate::daemon::load_config_rules(&cfg, args.rules.as_deref(), args.rules6.as_deref())?;
    let port_names: Vec<String> = topo.ports().iter().map(|p| p.name.clone()).collect();
    let port_id = |name: &str| {
        port_names
            .iter()
            .position(|n| n == name)
            .map(|i| PortId(i as u16))
            .ok_or_else(|| {
                format!(
                    "--in {name}=...: no port named `{name}' in {}",
                    args.config.display()
                )
            })
    };

    // Every input packet, merged by time; ties keep the order of the files and packets.
    let mut input: Vec<(u64, usize, PortId, Vec<u8>)> = Vec::new();
    for (name, path) in &args.inputs {
        let port = port_id(name)?;
        let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut reader = PcapReader::new(f).map_err(|e| format!("{}: {e}", path.display()))?;
        if reader.header().datalink != DataLink::ETHERNET {
            return Err(format!(
                "{}: only Ethernet captures can be replayed",
                path.display()
            ));
        }
        while let Some(pkt) = reader.next_packet() {
            let pkt = pkt.map_err(|e| format!("{}: {e}", path.display()))?;
            let ts = pkt.timestamp.as_nanos() as u64;
            input.push((ts, input.len(), port, pkt.data.into_owned()));
        }
    }
    input.sort_by_key(|(ts, seq, _, _)| (*ts, *seq));

    let compiled = Arc::new(
        CompiledRuleset::try_compile_for_ports(&rules, 1, &port_names, cfg.classifier_memory)
            .map_err(|e| e.to_string())?,
    );
    let mut pipeline = Pipeline::new(compiled, topo.fib.clone(), topo.neighbors.clone());
    pipeline.add_neighbors6(&topo.neighbors6);
    pipeline.set_conntrack_config(CtConfig::from_tunables(|n| cfg.tunable(n)));
    pipeline.set_sets(std::sync::Arc::clone(&rules.sets));
    pipeline.enable_trace();
    // A replay is reproducible: the same input gives the same SYNPROXY cookies.
    pipeline.set_synproxy_key(dataplane::pipeline::synproxy::CookieKey::REPLAY);
    let mut nflog = args.nflog_dir.as_ref().map(|d| {
        pipeline.collect_nflog();
        crate::nflog::NflogWriter::replacing(d)
    });
    if args.events.is_some() {
        pipeline.conntrack_mut().follow_events();
    }

    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    let trace_path = args.out_dir.join("trace.txt");
    let mut trace = BufWriter::new(
        File::create(&trace_path).map_err(|e| format!("{}: {e}", trace_path.display()))?,
    );
    let mut writers: BTreeMap<String, Writer> = BTreeMap::new();
    let mut summary = ReplaySummary::default();
    let mut emits = Vec::new();
    for (n, (ts, _, port, data)) in input.iter().enumerate() {
        let before = (pipeline.stats().clone(), *pipeline.arp_stats());
        emits.clear();
        pipeline.receive(*port, PacketBuf::from_slice(data), *ts, &mut emits);
        // As a worker's pass ends: timers, a bounded number.
        pipeline.reap(*ts);
        // `-j SET`: what the control plane does with the worker's operations, at once.
        let ops: Vec<_> = pipeline.drain_set_ops().collect();
        if let Some(sets) = pipeline.sets().with_packet_ops(&ops, *ts) {
            pipeline.set_sets(Arc::new(sets));
        }
        // `-j NFLOG`: what the daemon's capture writer does with the worker's records.
        if let Some(w) = nflog.as_mut() {
            for r in pipeline.drain_nflog() {
                w.write(&r);
            }
        }
        let in_name = &port_names[port.0 as usize];
        let io = |e: std::io::Error| format!("{}: {e}", trace_path.display());
        writeln!(
            trace,
            "PACKET {} IN={in_name} TIME={}.{:09}",
            n + 1,
            ts / 1_000_000_000,
            ts % 1_000_000_000
        )
        .map_err(io)?;
        for line in pipeline.take_trace() {
            writeln!(trace, "{line}").map_err(io)?;
        }
        writeln!(
            trace,
            "{}",
            verdict_line(
                &emits,
                (&before.0, &before.1),
                (pipeline.stats(), pipeline.arp_stats()),
                &port_names
            )
        )
        .map_err(io)?;
        for e in emits.drain(..) {
            let (name, datalink, bytes) = match e {
                Emit::Tx { port, frame } => (
                    port_names[port.0 as usize].clone(),
                    DataLink::ETHERNET,
                    frame,
                ),
                Emit::Local { packet } => ("local".to_string(), DataLink::RAW, packet),
            };
            let w = match writers.get_mut(&name) {
                Some(w) => w,
                None => {
                    let w = writer(&args.out_dir.join(format!("{name}.pcap")), datalink)?;
                    writers.entry(name.clone()).or_insert(w)
                }
            };
            let data = bytes.data();
            w.write_packet(&PcapPacket::new(
                Duration::from_nanos(*ts),
                data.len() as u32,
                data,
            ))
            .map_err(|e| format!("{name}.pcap: {e}"))?;
            *summary.written.entry(name).or_default() += 1;
        }
    }
    trace
        .flush()
        .map_err(|e| format!("{}: {e}", trace_path.display()))?;
    if let Some(path) = &args.events {
        let mut text = pipeline.conntrack_mut().take_events().join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(path) = &args.conntrack {
        let end = input.last().map_or(0, |(ts, ..)| *ts);
        let mut lines = pipeline.conntrack().listing(end);
        lines.extend(pipeline.conntrack6().listing(end));
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    summary.packets = input.len();
    summary.stats = pipeline.stats().clone();
    if let (Some(w), Some(dir)) = (nflog.as_mut(), &args.nflog_dir) {
        w.flush();
        if w.failed > 0 {
            return Err(format!(
                "{}: {} NFLOG packets could not be written",
                dir.display(),
                w.failed
            ));
        }
    }
    Ok(summary)
}

/// A drop reason as the replay's verdict lines name it.
fn replay_reason(r: dataplane::pipeline::DropReason) -> &'static str {
    use dataplane::pipeline::DropReason::*;
    match r {
        NotIpv4 => "not IPv4",
        BadChecksum => "bad checksum",
        TtlExpired => "TTL expired",
        NoRoute => "no route",
        NoNeighbor => "no neighbour",
        FragNeeded => "fragmentation needed",
        other => other.name(),
    }
}
