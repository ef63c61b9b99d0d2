//! Start-up and the control loop on DPDK ports.

use super::core::{HostPorts, Options, Ports};
use super::host::{self, HostLink, HOST_GATEWAY_MAC};
use super::PortControl;
use crate::config::Config;
use dataplane::port::dpdk::{DpdkPort, DpdkPortConfig, Eal};
use dataplane::port::{PacketPool, Port, PortId, PortStats};
use dataplane::ruleset::Ruleset;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

/// Frames per `net_af_packet` ring with one queue pair. The PMD's default, 512, is
/// overflowed by TCP flights whenever the worker falls behind for a moment (the lab's
/// iperf3, 3 s on a 2-core machine: 2,000-7,000 segments retransmitted, ~24,000 with builds
/// running); 1024 cut that to 5-1,300 and raised the rate (medians of 5 and 7 runs: 0.70x
/// the kernel's in the same run against 0.66x). Larger rings lose again: 2048 and 4096
/// (8 MiB a ring, out of cache) gave 0.56x and 0.53x.
const AF_PACKET_FRAMES: u32 = 1024;

/// Frames per ring when a port has several queue pairs. The PMD joins the queues' sockets
/// in a fanout group with `PACKET_FANOUT_FLAG_ROLLOVER`: once a ring is three quarters
/// full the kernel moves a large flow's next frames to another queue's socket, whose
/// worker hands them to the flow's owner ahead of the older frames still waiting in the
/// owner's ring. TCP sees the reordering as loss: the two-worker lab's iperf3 retransmitted
/// 3,000-17,000 segments in 3 s with 1024 frames, 0 and 60 with 4096 (where no flow was
/// rolled over). A deeper ring makes rollover, and so reordering, a sign of real overload.
const AF_PACKET_FRAMES_MULTIQUEUE: u32 = 4096;

/// The DPDK device string of a `[[port]]`: vdev drivers get an instance number (so two
/// `net_af_packet` ports do not clash) and their args; anything else is a PCI address.
/// `net_af_packet` fixes its queue count at probe time (`qpairs`): give it one pair per
/// worker unless the config says otherwise, and `AF_PACKET_FRAMES` (one pair) or
/// `AF_PACKET_FRAMES_MULTIQUEUE` (several) unless they set `framecnt`.
/// The value of `key=` in a vdev's comma-separated args.
fn af_packet_arg<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    args.split(',')
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| k.trim() == key))
        .map(|(_, v)| v.trim())
}

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
    if driver == "net_af_packet" {
        let qpairs = match af_packet_arg(args, "qpairs") {
            Some(n) => n.parse().unwrap_or(1),
            None => {
                if queues > 1 {
                    device.push_str(&format!(",qpairs={queues}"));
                }
                queues
            }
        };
        if af_packet_arg(args, "framecnt").is_none() {
            let frames = if qpairs > 1 {
                AF_PACKET_FRAMES_MULTIQUEUE
            } else {
                AF_PACKET_FRAMES
            };
            device.push_str(&format!(",framecnt={frames}"));
        }
    }
    device
}

pub fn run_with(mut cfg: Config, rules: Ruleset) -> Result<(), String> {
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
    cfg.build().map_err(|e| e.to_string())?;

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
            let addresses6: Vec<_> = cfg
                .ports
                .iter()
                .flat_map(|p| p.addresses6.clone())
                .collect();
            host::configure_kernel(iface, &addresses, &addresses6)?;
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

    // Per worker: its queue of every port and of the TAP. One buffer pool per worker for
    // all its queues: frames received on one port leave on another.
    let mut queues_per_worker = Vec::new();
    let mut tap_queues = Vec::new();
    for i in 0..workers {
        let q = i as u16;
        let pool = Arc::new(Mutex::new(PacketPool::with_defaults(
            dataplane::port::dpdk::QUEUE_POOL_BUFS * (ports.len() + 1),
        )));
        let queue = |p: &NamedPort| -> Result<Box<dyn Port>, String> {
            p.port
                .try_queue_with_pool(q, Arc::clone(&pool))
                .map(|h| Box::new(h) as Box<dyn Port>)
                .map_err(|e| format!("port `{}` queue {q}: {e}", p.name))
        };
        queues_per_worker.push(
            ports
                .iter()
                .map(|p| queue(p))
                .collect::<Result<Vec<_>, _>>()?,
        );
        if let Some((t, _)) = &tap {
            tap_queues.push(queue(t)?);
        }
    }
    let opened = Ports {
        control: ports
            .iter()
            .map(|p| Arc::clone(p) as Arc<dyn PortControl>)
            .collect(),
        queues: queues_per_worker,
        host: tap.as_ref().map(|(t, link)| HostPorts {
            control: Arc::clone(t) as Arc<dyn PortControl>,
            queues: tap_queues,
            link: *link,
        }),
    };
    let metrics = cfg.metrics_listen;
    let api_socket = cfg.api_socket.clone();
    // The ports are up: from here on nfdp needs no capability but, for a TCP port below
    // 1024, CAP_NET_BIND_SERVICE until its listeners are bound (privileges.rs).
    let for_listeners = super::privileges::needed_for_listeners(
        std::iter::once(metrics.port()).chain(cfg.api_listen.map(|a| a.port())),
    );
    if let Err(e) = eal.run_on_eal_threads(super::privileges::drop_all_here) {
        tracing::warn!(error = %e, "cannot drop capabilities on the EAL's own threads");
    }
    super::privileges::drop_this_thread(&for_listeners)
        .map_err(|e| format!("dropping capabilities: {e}"))?;
    super::privileges::drop_in_new_threads();
    let daemon = super::core::start(
        cfg,
        rules,
        opened,
        Options {
            pin: true,
            thread_init: Some(register_worker_thread),
            metrics: true,
            stall_after: None,
        },
    )?;
    daemon.register_signals()?;
    super::privileges::drop_this_thread(&Default::default())
        .map_err(|e| format!("dropping capabilities: {e}"))?;
    tracing::info!(
        capabilities = %super::privileges::describe_this_thread(),
        "capabilities dropped"
    );
    tracing::info!(workers, %metrics, "nfdp running");
    println!(
        "nfdp: running ({} ports, {workers} workers, metrics on http://{metrics}, API on {})",
        ports.len(),
        api_socket.display()
    );
    // systemd (Type=notify): ready once the ports are up, the workers run and the API
    // listens; a failure to tell it is logged, the appliance runs on.
    if let Err(e) = super::notify::notify(&super::notify::ready_message(ports.len(), workers)) {
        tracing::warn!(error = %e, "cannot notify systemd (NOTIFY_SOCKET)");
    }
    daemon.wait();
    tracing::info!("stopping");
    let _ = super::notify::notify(super::notify::STOPPING);
    daemon.shutdown();
    // Ports close before the EAL is cleaned up (Drop order: ports, tap, then eal).
    drop(tap);
    drop(ports);
    drop(eal);
    println!("nfdp: stopped");
    Ok(())
}

fn register_worker_thread(i: usize) {
    if let Err(e) = Eal::register_thread() {
        tracing::warn!(worker = i, "rte_thread_register: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_strings() {
        let mut seen = HashMap::new();
        // (driver, args, workers, device string), in order: vdev instance numbers count up.
        let cases = [
            (
                "net_af_packet",
                "iface=r-lan",
                1,
                "net_af_packet0,iface=r-lan,framecnt=1024",
            ),
            (
                "net_af_packet",
                "iface=r-wan",
                2,
                "net_af_packet1,iface=r-wan,qpairs=2,framecnt=4096",
            ),
            // An explicit qpairs decides the ring size, whatever the worker count.
            (
                "net_af_packet",
                "iface=y,qpairs=1",
                2,
                "net_af_packet2,iface=y,qpairs=1,framecnt=1024",
            ),
            (
                "net_af_packet",
                "iface=z, qpairs=2",
                1,
                "net_af_packet3,iface=z, qpairs=2,framecnt=4096",
            ),
            (
                "net_af_packet",
                "iface=x,qpairs=4,framecnt=4096",
                2,
                "net_af_packet4,iface=x,qpairs=4,framecnt=4096",
            ),
            ("net_null", "", 2, "net_null0"),
            ("0000:03:00.0", "", 2, "0000:03:00.0"),
        ];
        for (driver, args, queues, want) in cases {
            assert_eq!(
                device_string(driver, args, queues, &mut seen),
                want,
                "{driver} {args}"
            );
        }
    }
}
