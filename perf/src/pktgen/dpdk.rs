//! The generator on DPDK ports: `GenPort` for a `DpdkQueue` (frames written into and read
//! from mbufs in place), and the EAL arguments and port opening the binaries share.

use super::GenPort;
use dataplane::port::dpdk::{DpdkError, DpdkPort, DpdkPortConfig, DpdkQueue, Eal};
use dataplane::port::PortId;

impl GenPort for DpdkQueue {
    fn tx(&mut self, n: usize, fill: &mut dyn FnMut(usize, &mut [u8]) -> usize) -> (usize, usize) {
        self.tx_build(n, fill)
    }

    fn rx(&mut self, max: usize, each: &mut dyn FnMut(&[u8])) -> usize {
        self.rx_inspect(max, each)
    }
}

/// Does `device` name a PCI device (`0000:03:00.0`) rather than a vdev (`net_...`)?
pub fn is_pci(device: &str) -> bool {
    let name = device.split(',').next().unwrap_or_default();
    name.contains(':') && !name.starts_with("net_")
}

/// EAL arguments for this machine (no hugepages): `--no-huge -m <mem>`, `--no-pci` unless a
/// device is a PCI address, a unique file prefix, then `extra`.
pub fn eal_args(prefix: &str, mem_mb: u32, devices: &[&str], extra: &[String]) -> Vec<String> {
    let mut a: Vec<String> = vec!["--no-huge".into(), "-m".into(), mem_mb.to_string()];
    if !devices.iter().any(|d| is_pci(d)) {
        a.push("--no-pci".into());
    }
    a.extend([
        "--file-prefix".to_string(),
        format!("{prefix}-{}", std::process::id()),
        "--log-level=*:error".to_string(),
    ]);
    a.extend(extra.iter().cloned());
    a
}

/// Opens `device` as port `id` with `queues` queues and `mbufs` mbufs.
pub fn open_port(
    eal: &Eal,
    id: u16,
    name: &str,
    device: &str,
    queues: u16,
    mbufs: u32,
) -> Result<DpdkPort, DpdkError> {
    let mut cfg = DpdkPortConfig::new(PortId(id), name, device);
    cfg.queues = queues;
    cfg.mbufs = mbufs;
    DpdkPort::open(eal, &cfg)
}
