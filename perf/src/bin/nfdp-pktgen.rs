//! nfdp-pktgen: a DPDK packet generator for load-testing a gateway. UDP flows from
//! address and port ranges, fixed sizes or IMIX, paced in pps or bps; the receive side
//! (the same port or another) counts loss and reordering per flow and latency from a
//! stamp in the payload. `--rfc2544` searches the no-drop and partial-drop rates.
//! See perf/README.md.

use clap::Parser;
use dataplane::port::dpdk::Eal;
use dataplane::port::MacAddr;
use perf::json::Json;
use perf::pktgen::fields::{AddrRange, FlowSpec, Order, PortRange};
use perf::pktgen::packet::{Macs, Sizes};
use perf::pktgen::rfc2544::{search, SearchConfig, SearchResult};
use perf::pktgen::rx::RxCounter;
use perf::pktgen::tcp::{run_tcp, TcpConfig, TcpGen, MIN_TCP_SIZE};
use perf::pktgen::{dpdk as gdpdk, run, Clock, GenConfig, GenPort, Generator, Rate, RunConfig};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nfdp-pktgen",
    about = "DPDK packet generator: UDP flows, loss, reordering, latency, RFC 2544"
)]
struct Cli {
    /// DPDK device to send on: a vdev (net_af_packet0,iface=veth0 / net_ring0 / net_null0 /
    /// net_memif0,role=client,socket=/run/x.sock) or a PCI address.
    #[arg(long)]
    tx: String,
    /// Device to receive on; default: the transmit port.
    #[arg(long)]
    rx: Option<String>,
    /// Source addresses: A.B.C.D, A.B.C.D-A.B.C.D or A.B.C.D/LEN.
    #[arg(long, default_value = "198.18.0.1")]
    src: AddrRange,
    #[arg(long, default_value = "198.19.0.1")]
    dst: AddrRange,
    /// Source ports: N or N-M.
    #[arg(long, default_value = "1024")]
    sport: PortRange,
    #[arg(long, default_value = "9")]
    dport: PortRange,
    /// Number of flows (distinct 5-tuples over the ranges).
    #[arg(long, default_value_t = 1)]
    flows: u32,
    /// Visit the flows at random from this seed (default: in order).
    #[arg(long)]
    random: Option<u64>,
    /// Frame size on the wire, FCS included (64..1518), or `imix` (7:4:1 of 64/570/1518).
    #[arg(long, default_value = "64")]
    size: Sizes,
    /// max, or e.g. 1.5mpps, 200kpps, 1gbps, 500mbps (wire bits, FCS included).
    #[arg(long, default_value = "max")]
    rate: Rate,
    /// Seconds of transmission (each trial's length with --rfc2544).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[arg(long, default_value_t = 32)]
    burst: usize,
    /// Source MAC; default: the transmit port's.
    #[arg(long)]
    src_mac: Option<MacAddr>,
    /// Destination MAC (the next hop's); default: broadcast.
    #[arg(long)]
    dst_mac: Option<MacAddr>,
    /// RFC 2544: search the highest rate with no loss (NDR) and with < 0.5% loss (PDR),
    /// up to --rate (or the unpaced rate measured first).
    #[arg(long)]
    rfc2544: bool,
    /// Write the results as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// mbufs per port.
    #[arg(long, default_value_t = 16383)]
    mbufs: u32,
    /// EAL memory in MB (no hugepages).
    #[arg(long, default_value_t = 1024)]
    mem: u32,
    /// Extra EAL arguments (repeatable), e.g. --eal=-l --eal=1.
    #[arg(long = "eal", allow_hyphen_values = true)]
    eal: Vec<String>,
    /// No status line per second.
    #[arg(long)]
    quiet: bool,
    /// `udp`, or `tcp`: each flow is a connection the generator plays both ends of
    /// (client on --tx, server on --rx), with handshake, data and teardown.
    #[arg(long, default_value = "udp")]
    proto: Proto,
    /// TCP: connections opened per second (0: as fast as connection slots free up).
    #[arg(long, default_value_t = 1000.0)]
    new_conn_rate: f64,
    /// TCP: stamped data segments per connection.
    #[arg(long, default_value_t = 4)]
    segments: u32,
    /// TCP: open this many connections, then stop (default: open until --duration ends).
    #[arg(long)]
    connections: Option<u64>,
    /// TCP: seconds without progress after which a connection counts as failed.
    #[arg(long, default_value_t = 2.0)]
    conn_timeout: f64,
    /// TCP: milliseconds without progress after which unacknowledged segments are sent
    /// again (0: never).
    #[arg(long, default_value_t = 200)]
    rto_ms: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Proto {
    Udp,
    Tcp,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nfdp-pktgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> Result<(), String> {
    if !(cli.duration > 0.0 && cli.duration.is_finite()) {
        return Err("--duration must be positive".into());
    }
    let flows = FlowSpec {
        src: cli.src,
        dst: cli.dst,
        sport: cli.sport,
        dport: cli.dport,
        flows: cli.flows,
        order: cli
            .random
            .map_or(Order::Sequential, |seed| Order::Random { seed }),
    };
    flows.validate()?;
    if cli.proto == Proto::Tcp && cli.rfc2544 {
        return Err("--rfc2544 searches a packet rate: UDP only".into());
    }
    if cli.proto == Proto::Tcp && !(cli.conn_timeout > 0.0 && cli.conn_timeout.is_finite()) {
        return Err("--conn-timeout must be positive".into());
    }
    let rx_dev = cli.rx.clone().filter(|r| *r != cli.tx);
    let mut devices = vec![cli.tx.as_str()];
    if let Some(r) = &rx_dev {
        devices.push(r);
    }
    let eal = Eal::init(&gdpdk::eal_args("nfdp-pktgen", cli.mem, &devices, &cli.eal))
        .map_err(|e| e.to_string())?;
    let tx_port =
        gdpdk::open_port(&eal, 0, "tx", &cli.tx, 1, cli.mbufs).map_err(|e| e.to_string())?;
    let rx_port = match &rx_dev {
        Some(d) => {
            Some(gdpdk::open_port(&eal, 1, "rx", d, 1, cli.mbufs).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let macs = Macs {
        src: cli.src_mac.unwrap_or(tx_port.mac()),
        dst: cli.dst_mac.unwrap_or(MacAddr::BROADCAST),
    };
    let mut gen = Generator::new(GenConfig {
        flows6: None,
        flows: flows.clone(),
        sizes: cli.size,
        macs,
    })?;
    let mut rxc = RxCounter::new(cli.flows);
    let mut txq = tx_port.try_queue(0).map_err(|e| e.to_string())?;
    let mut rxq = match &rx_port {
        Some(p) => Some(p.try_queue(0).map_err(|e| e.to_string())?),
        None => None,
    };
    // Links of real devices take a moment to come up.
    for _ in 0..50 {
        if tx_port.link().up && rx_port.as_ref().is_none_or(|p| p.link().up) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if cli.proto == Proto::Tcp {
        return tcp_main(&cli, &flows, macs, &mut txq, rxq.as_mut());
    }
    let mut cfg = RunConfig {
        rate: cli.rate,
        duration_ns: (cli.duration * 1e9) as u64,
        burst: cli.burst,
        status: !cli.quiet && cli.duration > 3.0,
        ..RunConfig::default()
    };
    let mut trial = |rate: Rate, gen: &mut Generator, rxc: &mut RxCounter, cfg: &RunConfig| {
        gen.reset_counts();
        rxc.reset();
        let cfg = RunConfig {
            rate,
            ..cfg.clone()
        };
        let mut clock = Clock::real();
        match rxq.as_mut() {
            Some(r) => {
                let mut ports: [&mut dyn GenPort; 2] = [&mut txq, r];
                run(gen, rxc, &mut ports, (0, 1), &cfg, &mut clock, None)
            }
            None => {
                let mut ports: [&mut dyn GenPort; 1] = [&mut txq];
                run(gen, rxc, &mut ports, (0, 0), &cfg, &mut clock, None)
            }
        }
    };
    let setup = Json::obj([
        ("tx", Json::from(cli.tx.as_str())),
        ("rx", Json::from(cli.rx.as_deref().unwrap_or(&cli.tx))),
        ("flows", Json::from(cli.flows)),
        (
            "order",
            Json::from(if cli.random.is_some() {
                "random"
            } else {
                "sequential"
            }),
        ),
        (
            "size",
            Json::from(match cli.size {
                Sizes::Fixed(s) => s.to_string(),
                Sizes::Imix => "imix".into(),
            }),
        ),
        ("burst", Json::from(cli.burst)),
    ]);
    let mut out = Json::obj([("setup", setup)]);
    if cli.rfc2544 {
        cfg.status = false;
        let max_pps = match cli.rate.pps(&cli.size) {
            Some(p) => p,
            None => {
                let s = trial(Rate::Max, &mut gen, &mut rxc, &cfg);
                println!("unpaced run (the search's upper bound): {}", s.summary());
                s.tx_pps
            }
        };
        let mut results = Vec::new();
        for (name, sc) in [
            ("ndr", SearchConfig::ndr(max_pps)),
            ("pdr", SearchConfig::pdr(max_pps)),
        ] {
            let r: SearchResult = search(&sc, &mut |rate| {
                let s = trial(Rate::Pps(rate), &mut gen, &mut rxc, &cfg);
                eprintln!(
                    "  {name} trial {:>12.0} pps: sent {:>12.0} pps, lost {} of {}",
                    rate, s.tx_pps, s.rx.lost, s.tx_packets
                );
                (s.tx_packets, s.rx.lost, s.tx_pps)
            });
            println!(
                "{}: {:.0} pps ({} trials)",
                name.to_uppercase(),
                r.rate_pps,
                r.trials.len()
            );
            results.push((name, r));
        }
        let mut j = Json::obj([("max_pps", Json::from(max_pps))]);
        for (name, r) in &results {
            j.set(&format!("{name}_pps"), Json::from(r.rate_pps));
            let trials = r
                .trials
                .iter()
                .map(|t| {
                    Json::obj([
                        ("rate_pps", Json::from(t.rate_pps)),
                        ("sent_pps", Json::from(t.sent_pps)),
                        ("sent", Json::from(t.sent)),
                        ("lost", Json::from(t.lost)),
                        ("pass", Json::from(t.pass)),
                    ])
                })
                .collect();
            j.set(&format!("{name}_trials"), Json::Arr(trials));
        }
        out.set("rfc2544", j);
    } else {
        let s = trial(cli.rate, &mut gen, &mut rxc, &cfg);
        println!("{}", s.summary());
        if s.tx_packets == 0 && s.tx_refused > 0 {
            eprintln!(
                "nfdp-pktgen: the port refused every frame ({} tries): is its link up?",
                s.tx_refused
            );
        }
        out.set("run", s.json());
    }
    if let Some(path) = &cli.json {
        std::fs::write(path, out.pretty()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// `--proto tcp`: connections at --new-conn-rate for --duration (or --connections), client
/// on the transmit port, server on the receive port.
fn tcp_main(
    cli: &Cli,
    flows: &FlowSpec,
    macs: Macs,
    txq: &mut dataplane::port::dpdk::DpdkQueue,
    rxq: Option<&mut dataplane::port::dpdk::DpdkQueue>,
) -> Result<(), String> {
    let size = match cli.size {
        Sizes::Fixed(s) => s.max(MIN_TCP_SIZE),
        Sizes::Imix => return Err("--proto tcp sends fixed-size data segments: --size N".into()),
    };
    let mut gen = TcpGen::new(
        flows,
        macs,
        TcpConfig {
            conn_rate: cli.new_conn_rate,
            segments: cli.segments,
            connections: cli.connections,
            timeout_ns: (cli.conn_timeout * 1e9) as u64,
            size,
            rto_ns: cli.rto_ms.saturating_mul(1_000_000),
        },
    )?;
    let mut rxc = RxCounter::new(cli.flows);
    let cfg = RunConfig {
        duration_ns: (cli.duration * 1e9) as u64,
        burst: cli.burst,
        status: !cli.quiet && cli.duration > 3.0,
        ..RunConfig::default()
    };
    let mut clock = Clock::real();
    let s = match rxq {
        Some(r) => {
            let mut ports: [&mut dyn GenPort; 2] = [txq, r];
            run_tcp(
                &mut gen,
                &mut rxc,
                &mut ports,
                (0, 1),
                &cfg,
                &mut clock,
                None,
            )
        }
        None => {
            let mut ports: [&mut dyn GenPort; 1] = [txq];
            run_tcp(
                &mut gen,
                &mut rxc,
                &mut ports,
                (0, 0),
                &cfg,
                &mut clock,
                None,
            )
        }
    };
    println!("{}", s.summary());
    let setup = Json::obj([
        ("tx", Json::from(cli.tx.as_str())),
        ("rx", Json::from(cli.rx.as_deref().unwrap_or(&cli.tx))),
        ("proto", Json::from("tcp")),
        ("flows", Json::from(cli.flows)),
        ("size", Json::from(size.to_string())),
        ("new_conn_rate", Json::from(cli.new_conn_rate)),
        ("segments", Json::from(cli.segments)),
        ("burst", Json::from(cli.burst)),
    ]);
    let out = Json::obj([("setup", setup), ("run", s.json())]);
    if let Some(path) = &cli.json {
        std::fs::write(path, out.pretty()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
