//! An IPv6 pipeline for the tests of the IPv6 path: a config's ports, routes and static
//! neighbours (IPv6 ones included) and an ip6tables ruleset loaded as `[rules] file6` is
//! (what the IPv6 path cannot run refused).

use control::config::Config;
use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::Emit;
use dataplane::pipeline::{CompiledRuleset, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use dataplane::ruleset::{Family, Ruleset};
use dataplane::wire::{checksum, IpProtocol};
use std::net::Ipv6Addr;
use std::path::Path;
use std::sync::Arc;

/// The dual-stack test network: lan0 (192.168.1.1/24, 2001:db8:1::1/64) and wan0
/// (203.0.113.1/24, 2001:db8:ff::1/64) on mem ports, the IPv6 default route via the
/// gateway 2001:db8:ff::fe, and the MACs of that gateway and of the LAN host
/// 2001:db8:1::10. `wan_mtu = N;` first sets wan0's MTU; a test's own sections (literals)
/// follow.
#[allow(unused_macros)]
macro_rules! dual_stack_config {
    ($(wan_mtu = $mtu:literal;)? $($more:literal),* $(,)?) => {
        concat!(
            r#"
[[port]]
name = "lan0"
driver = "mem"
mac = "02:00:00:00:01:01"
addresses = ["192.168.1.1/24", "2001:db8:1::1/64"]

[[port]]
name = "wan0"
driver = "mem"
mac = "02:00:00:00:02:01"
"#,
            $("mtu = ", $mtu, "\n",)?
            r#"addresses = ["203.0.113.1/24", "2001:db8:ff::1/64"]

[[route]]
dst = "::/0"
via = "2001:db8:ff::fe"

[[neighbor]]
ip = "2001:db8:ff::fe"
mac = "02:00:00:00:02:fe"

[[neighbor]]
ip = "2001:db8:1::10"
mac = "02:00:00:00:01:10"
"#,
            $($more),*
        )
    };
}
#[allow(unused_imports)]
pub(crate) use dual_stack_config;

pub fn pipeline(config: &str, rules6: &str) -> Pipeline {
    let mut rs = Ruleset::default();
    restore_rules6(&mut rs, rules6);
    pipeline_of(config, &rs)
}

/// Loads `rules6` into `rs`'s IPv6 table as `[rules] file6` is.
pub fn restore_rules6(rs: &mut Ruleset, rules6: &str) {
    let opts = RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    rs.with_family(Family::V6, |rs6| restore(rules6, rs6, opts))
        .expect("rules6");
}

/// The pipeline of `config`'s topology running `rs` (its IP sets included).
pub fn pipeline_of(config: &str, rs: &Ruleset) -> Pipeline {
    let cfg = Config::parse(config, Path::new("test.toml")).expect("config");
    let topo = cfg.build().expect("topology");
    let mut p = Pipeline::new(
        Arc::new(CompiledRuleset::compile(rs, 1)),
        topo.fib.clone(),
        topo.neighbors.clone(),
    );
    p.add_neighbors6(&topo.neighbors6);
    p.set_sets(Arc::clone(&rs.sets));
    p
}

/// An IPv6 packet: `ext` (extension headers, their first byte the next one's number)
/// before an upper-layer `l4` of protocol `proto`, whose checksum at `csum_at` is filled.
pub fn packet(
    src: &str,
    dst: &str,
    hl: u8,
    proto: u8,
    ext: &[u8],
    l4: &[u8],
    csum_at: usize,
) -> Vec<u8> {
    let (s, d): (Ipv6Addr, Ipv6Addr) = (src.parse().unwrap(), dst.parse().unwrap());
    let mut l4 = l4.to_vec();
    let c = checksum::finish(&[
        checksum::pseudo_header_ipv6(s, d, IpProtocol::from(proto), l4.len() as u32),
        checksum::data(&l4),
    ]);
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&((ext.len() + l4.len()) as u16).to_be_bytes());
    p.push(if ext.is_empty() { proto } else { 0 });
    p.push(hl);
    p.extend_from_slice(&s.octets());
    p.extend_from_slice(&d.octets());
    p.extend_from_slice(ext);
    p.extend_from_slice(&l4);
    p
}

/// A UDP datagram of `ports` carrying `payload` in an IPv6 packet of hop limit `hl`.
pub fn udp(src: &str, dst: &str, hl: u8, ports: (u16, u16), payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&ports.0.to_be_bytes());
    u.extend_from_slice(&ports.1.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    packet(src, dst, hl, 17, &[], &u, 6)
}

/// An Ethernet frame of the IPv6 packet `ip`.
pub fn frame(dst_mac: [u8; 6], src_mac: [u8; 6], ip: &[u8]) -> Vec<u8> {
    let mut f = dst_mac.to_vec();
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(ip);
    f
}

/// Hands `frame` to the router on `port` at `now`; what left each port.
pub fn receive(p: &mut Pipeline, port: PortId, frame: Vec<u8>, now: u64) -> Vec<(PortId, Vec<u8>)> {
    let mut out = Vec::new();
    p.receive(port, PacketBuf::from_slice(&frame), now, &mut out);
    out.into_iter()
        .map(|e| match e {
            Emit::Tx { port, frame } => (port, frame.data().to_vec()),
            Emit::Local { .. } => panic!("nothing is delivered locally"),
        })
        .collect()
}
