//! Support code shared by the control crate's integration tests (`mod support;` in each):
//! the test network's addresses, packet builders, and a daemon core on in-memory wires.
//! Each test crate uses only part of it.
#![allow(dead_code)]

pub mod ct_entries;
pub mod daemon;
pub mod frames;
pub mod ipv6;
pub mod pipeline;
pub mod ports;
pub mod process;
pub mod workers;

use std::time::Duration;

/// The appliance's LAN and WAN port MACs (02:00:00:00:01:01, 02:00:00:00:02:01).
pub const LAN_MAC: [u8; 6] = [2, 0, 0, 0, 1, 1];
pub const WAN_MAC: [u8; 6] = [2, 0, 0, 0, 2, 1];
/// The LAN host (192.168.1.10) and the upstream gateway (203.0.113.254).
pub const HOST_MAC: [u8; 6] = [2, 0, 0, 0, 1, 0x10];
pub const GATEWAY_MAC: [u8; 6] = [2, 0, 0, 0, 2, 0xfe];
pub const HOST: [u8; 4] = [192, 168, 1, 10];

/// How long a test waits on a worker thread: generous, for a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The test network's ports and route: lan0 (192.168.1.1/24) and wan0 (203.0.113.1/24) on
/// mem ports, the default route via the gateway 203.0.113.254; a test's own sections
/// (literals) follow.
macro_rules! lan_wan_ports {
    ($($more:literal),* $(,)?) => {
        concat!(
            r#"
[[port]]
name = "lan0"
driver = "mem"
mac = "02:00:00:00:01:01"
addresses = ["192.168.1.1/24"]

[[port]]
name = "wan0"
driver = "mem"
mac = "02:00:00:00:02:01"
addresses = ["203.0.113.1/24"]

[[route]]
dst = "0.0.0.0/0"
via = "203.0.113.254"
"#,
            $($more),*
        )
    };
}
pub(crate) use lan_wan_ports;

/// `lan_wan_ports!` with the gateway's MAC known: the test network's config.
macro_rules! lan_wan_config {
    ($($more:literal),* $(,)?) => {
        $crate::support::lan_wan_ports!(
            r#"
[[neighbor]]
ip = "203.0.113.254"
mac = "02:00:00:00:02:fe"
"#,
            $($more),*
        )
    };
}
pub(crate) use lan_wan_config;

/// `lan_wan_config!` with the LAN host's MAC (192.168.1.10) known too.
macro_rules! lan_wan_host_config {
    ($($more:literal),* $(,)?) => {
        $crate::support::lan_wan_config!(
            r#"
[[neighbor]]
ip = "192.168.1.10"
mac = "02:00:00:00:01:10"
"#,
            $($more),*
        )
    };
}
pub(crate) use lan_wan_host_config;

/// The head of a daemon config on two DPDK `net_null` ports (lan0, wan0) with one worker
/// on core 0 and no hugepages; the caller appends its own sections (rules, api, metrics).
pub fn null_ports_config(file_prefix: &str) -> String {
    format!(
        r#"[eal]
args = ["--no-huge", "-m", "512", "--no-pci", "-l", "0", "--file-prefix", "{file_prefix}", "--log-level=*:error"]

[dataplane]
workers = [0]

[[port]]
name = "lan0"
driver = "net_null"
mac = "02:00:00:00:01:01"
addresses = ["192.168.1.1/24"]

[[port]]
name = "wan0"
driver = "net_null"
mac = "02:00:00:00:02:01"
addresses = ["203.0.113.1/24"]
"#
    )
}
