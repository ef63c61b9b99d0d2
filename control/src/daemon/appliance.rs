//! Start-up and the control loop on DPDK ports.

use super::host::{self, HostLink, HOST_GATEWAY_MAC};
use super::metrics::MetricsView;
use super::snapshot::SnapshotSlot;
use super::worker::{Command, WorkerThread};
use super::{PortControl, Shared};
use crate::config::Config;
use dataplane::conntrack::CtConfig;
use dataplane::handoff::{Handoff, OwnerDirectory};
use dataplane::pipeline::Pipeline;
use dataplane::port::dpdk::{DpdkPort, DpdkPortConfig, Eal};
use dataplane::port::{PacketPool, Port, PortId, PortStats};
use dataplane::ruleset::Ruleset;
use dataplane::worker::Worker;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct NamedPort {
    name: String,
    port: DpdkPort,
}

impl PortControl for NamedPort {
    fn name(&self) -> &str {
        &self.name
    }
    fn stats(&self) -> PortStats {
        self.port.stats()
    }
    fn link_up(&self) -> bool {
        self.port.link().up
    }
}

/// The DPDK device string of a `[[port]]`: vdev drivers get an instance number (so two
/// `net_af_packet` ports do not clash) and their args; anything else is a PCI address.
/// `net_af_packet` fixes its queue count at probe time (`qpairs`): give it one pair per
/// worker unless the config says otherwise.
fn device_string(driver: &str, args: &str, queues: u16, seen: &mut HashMap<String, u32>) -> String {
    if !driver.starts_with("net_") {
        return driver.to_string();
    }
    let n = seen.entry(driver.to_string()).or_insert(0);
    let mut device = format!("{driver}{n}");
    *n += 1;
    if !args.is_empty() {
        device.push(',');
        device.push_str(args);
    }
    if driver == "net_af_packet" && queues > 1 && !args.contains("qpairs=") {
        device.push_str(&format!(",qpairs={queues}"));
    }
    device
}

pub fn run_with(mut cfg: Config, rules: Ruleset) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))
        .map_err(|e| e.to_string())?;

    let eal = Eal::init(&cfg.eal_args).map_err(|e| format!("EAL: {e}"))?;
    let workers = cfg.workers.len();
    let queues = u16::try_from(workers).map_err(|_| "too many workers".to_string())?;

    // Ports, in config order so PortId(i) is the i-th [[port]].
    let mut seen = HashMap::new();
    let mut ports: Vec<Arc<NamedPort>> = Vec::new();
    for (i, p) in cfg.ports.iter().enumerate() {
        let device = device_string(&p.driver, &p.args, queues, &mut seen);
        let port = DpdkPort::open(
            &eal,
            &DpdkPortConfig {
                id: PortId(i as u16),
                name: p.name.clone(),
                device: device.clone(),
                queues,
                rx_desc: 1024,
                tx_desc: 1024,
                mac: p.mac,
                mtu: p.mtu,
                mbufs: cfg.mbufs,
            },
        )
        .map_err(|e| format!("port `{}` ({device}): {e}", p.name))?;
        tracing::info!(port = %p.name, %device, mac = %port.mac(), "port started");
        ports.push(Arc::new(NamedPort {
            name: p.name.clone(),
            port,
        }));
    }
    // Ports without a configured MAC use the driver's.
    for (p, opened) in cfg.ports.iter_mut().zip(&ports) {
        p.mac.get_or_insert(opened.port.mac());
    }
    let topo = cfg.build().map_err(|e| e.to_string())?;

    let tap = match &cfg.local_tap {
        Some(iface) => {
            let device = format!("net_tap0,iface={iface}");
            let port = DpdkPort::open(
                &eal,
                &DpdkPortConfig {
                    id: PortId(u16::MAX),
                    name: iface.clone(),
                    device: device.clone(),
                    queues,
                    rx_desc: 512,
                    tx_desc: 512,
                    mac: None,
                    mtu: 1500,
                    mbufs: cfg.mbufs,
                },
            )
            .map_err(|e| format!("[local] tap `{iface}` ({device}): {e}"))?;
            let addresses: Vec<_> = cfg.ports.iter().flat_map(|p| p.addresses.clone()).collect();
            host::configure_kernel(iface, &addresses)?;
            let link = HostLink {
                kernel_mac: host::kernel_mac(iface)?,
                gateway_mac: HOST_GATEWAY_MAC,
            };
            tracing::info!(%iface, kernel_mac = %link.kernel_mac, "host exception port up");
            Some((
                Arc::new(NamedPort {
                    name: iface.clone(),
                    port,
                }),
                link,
            ))
        }
        None => None,
    };

    let port_names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
    let shared = Arc::new(Shared::new(
        rules,
        port_names,
        cfg.tunable("nf_conntrack_max").unwrap_or(0),
    ));
    let ct_cfg = CtConfig::from_tunables(|n| cfg.tunable(n));

    // Multi-core NAT: the owner directory (both tuples of every connection: every shard
    // full fills half of it), and one bounded inbox per worker.
    let handoff = (workers > 1).then(|| {
        let slots = (ct_cfg.max as usize)
            .saturating_mul(4 * workers)
            .min(1 << 26);
        Arc::new(Handoff::new(
            queues,
            4096,
            Arc::new(OwnerDirectory::new(slots)),
        ))
    });
    let mut commands = Vec::new();
    let mut threads = Vec::new();
    let mut snapshots = Vec::new();
    for (i, &core) in cfg.workers.iter().enumerate() {
        let mut pipeline = Pipeline::new(
            shared.compiled.load_full(),
            topo.fib.clone(),
            topo.neighbors.clone(),
        );
        pipeline.set_conntrack_config(ct_cfg.clone());
        pipeline.seed(0x6e66_6470 ^ i as u64);
        let burst = usize::from(cfg.burst);
        let worker = match &handoff {
            Some(h) => Worker::multicore(
                pipeline,
                i as u16,
                burst,
                ports.len(),
                i as u16,
                Arc::clone(h),
            ),
            None => Worker::new(pipeline, i as u16, burst, ports.len()),
        };
        let (tx, rx) = crossbeam_channel::bounded(64);
        commands.push(tx);
        let snapshot = Arc::new(SnapshotSlot::new());
        snapshots.push(Arc::clone(&snapshot));
        let q = i as u16;
        // One buffer pool per worker for all its queues: frames received on one port
        // leave on another.
        let pool = Arc::new(Mutex::new(PacketPool::with_defaults(
            dataplane::port::dpdk::QUEUE_POOL_BUFS * (ports.len() + 1),
        )));
        let queue = |p: &NamedPort| -> Result<Box<dyn Port>, String> {
            p.port
                .try_queue_with_pool(q, Arc::clone(&pool))
                .map(|h| Box::new(h) as Box<dyn Port>)
                .map_err(|e| format!("port `{}` queue {q}: {e}", p.name))
        };
        let t = WorkerThread {
            index: i,
            port_names: shared.port_names.clone(),
            core: Some(core as usize),
            worker,
            ports: ports.iter().map(|p| queue(p)).collect::<Result<_, _>>()?,
            host: match tap.as_ref() {
                Some((p, link)) => Some((queue(p)?, *link)),
                None => None,
            },
            rules: Arc::clone(&shared.compiled),
            commands: rx,
            stop: Arc::clone(&stop),
            snapshot,
        };
        let handle = std::thread::Builder::new()
            .name(format!("nfdp-worker{i}"))
            .spawn(move || {
                if let Err(e) = Eal::register_thread() {
                    tracing::warn!(worker = i, "rte_thread_register: {e}");
                }
                t.run()
            })
            .map_err(|e| format!("cannot start worker {i}: {e}"))?;
        threads.push(handle);
    }

    // The metrics port, on a small runtime of its own (until the daemon has one).
    let metrics = {
        let mut ctl: Vec<Arc<dyn PortControl>> = ports
            .iter()
            .map(|p| Arc::clone(p) as Arc<dyn PortControl>)
            .collect();
        if let Some((t, _)) = &tap {
            ctl.push(Arc::clone(t) as Arc<dyn PortControl>);
        }
        let mut view = MetricsView::new(Arc::clone(&shared), ctl, snapshots, Arc::clone(&stop));
        view.rule_counters = cfg.metrics_rule_counters;
        MetricsPort::start(cfg.metrics_listen, view)?
    };
    tracing::info!(workers, metrics = %cfg.metrics_listen, "nfdp running");
    println!(
        "nfdp: running ({} ports, {workers} workers, metrics on http://{})",
        ports.len(),
        cfg.metrics_listen
    );

    // The control loop: link state, reloads, shutdown.
    let mut link: Vec<Option<bool>> = vec![None; ports.len()];
    while !stop.load(Ordering::Relaxed) {
        for (i, p) in ports.iter().enumerate() {
            let up = p.port.link().up;
            if link[i] == Some(up) {
                continue;
            }
            let id = PortId(i as u16);
            let cmd = || {
                if up {
                    Command::LinkUp(id)
                } else {
                    Command::LinkDown(id, cfg.ports[i].addresses.iter().map(|a| a.0).collect())
                }
            };
            if link[i].is_some() || up {
                tracing::info!(port = %p.name, up, "link state");
                for c in &commands {
                    let _ = c.send(cmd());
                }
            }
            link[i] = Some(up);
        }
        if reload.swap(false, Ordering::Relaxed) {
            match cfg.rules_file.as_deref().map(super::load_rules) {
                Some(Ok(rs)) => {
                    let g = shared.publish(rs);
                    tracing::info!(generation = g, "ruleset reloaded (SIGHUP)");
                }
                Some(Err(e)) => tracing::error!("reload refused, the old ruleset stays: {e}"),
                None => tracing::warn!("SIGHUP: no [rules] file to reload"),
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    tracing::info!("stopping");
    for t in threads {
        let _ = t.join();
    }
    metrics.stop();
    // Ports close before the EAL is cleaned up (Drop order: ports, tap, then eal).
    drop(tap);
    drop(ports);
    drop(eal);
    println!("nfdp: stopped");
    Ok(())
}

/// The metrics port's thread and runtime.
struct MetricsPort {
    shutdown: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl MetricsPort {
    /// Binds `addr` here (so a taken port fails start-up) and serves it on its own thread.
    fn start(addr: std::net::SocketAddr, view: MetricsView) -> Result<MetricsPort, String> {
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("[metrics] listen {addr}: {e}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("nfdp-metrics")
            .enable_all()
            .build()
            .map_err(|e| format!("metrics runtime: {e}"))?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("nfdp-metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => {
                            super::http::serve_metrics(l, view, async {
                                let _ = stopped.await;
                            })
                            .await
                        }
                        Err(e) => tracing::error!("[metrics] listen: {e}"),
                    }
                })
            })
            .map_err(|e| e.to_string())?;
        Ok(MetricsPort { shutdown, thread })
    }

    fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_strings() {
        let mut seen = HashMap::new();
        let mut dev = |d: &str, a: &str, q: u16| device_string(d, a, q, &mut seen);
        assert_eq!(
            dev("net_af_packet", "iface=r-lan", 1),
            "net_af_packet0,iface=r-lan"
        );
        assert_eq!(
            dev("net_af_packet", "iface=r-wan", 2),
            "net_af_packet1,iface=r-wan,qpairs=2"
        );
        assert_eq!(
            dev("net_af_packet", "iface=x,qpairs=4", 2),
            "net_af_packet2,iface=x,qpairs=4"
        );
        assert_eq!(dev("net_null", "", 2), "net_null0");
        assert_eq!(dev("0000:03:00.0", "", 2), "0000:03:00.0");
    }
}
