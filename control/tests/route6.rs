//! IPv6 policy routing on the packet path: `[[policy]] family = 6` rules pick the table by
//! the packet's mark (fib6_rule_lookup), so a packet ip6tables' mangle PREROUTING marks
//! leaves by the policy's table, a table without a matching route falls through to the
//! next rule, DNAT's new destination is looked up in the policy's table, and the
//! appliance's own packets are routed again when mangle OUTPUT changes their mark
//! (ip6_route_me_harder).

mod support;

use dataplane::pipeline::{Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use std::net::Ipv6Addr;
use support::{GATEWAY_MAC, HOST_MAC, LAN_MAC};

/// The dual-stack network with dmz0, and table 100 (2001:db8:50::/48 via the DMZ's
/// gateway) picked by fwmark 1/0xff.
const CONFIG: &str = support::ipv6::dual_stack_config!(
    r#"
[[port]]
name = "dmz0"
driver = "mem"
mac = "02:00:00:00:03:01"
addresses = ["198.51.100.1/24", "2001:db8:3::1/64"]

[[route]]
dst = "2001:db8:50::/48"
via = "2001:db8:3::fe"
table = 100

[[policy]]
family = 6
fwmark = 1
mask = 0xff
table = 100

[[neighbor]]
ip = "2001:db8:3::fe"
mac = "02:00:00:00:03:fe"
"#
);

/// The same, with a default route in table 100 too.
fn config_with_default() -> String {
    CONFIG.replace(
        "[[policy]]",
        "[[route]]\ndst = \"::/0\"\nvia = \"2001:db8:3::fe\"\ntable = 100\n\n[[policy]]",
    )
}

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const DMZ: PortId = PortId(2);
const DMZ_GW_MAC: [u8; 6] = [2, 0, 0, 0, 3, 0xfe];
const T0: u64 = 1_700_000_000_000_000_000;
const HOST: &str = "2001:db8:1::10";
const FAR: &str = "2001:db8:99::5";
const IN_50: &str = "2001:db8:50::9";

/// Marks UDP to port 53 with 0x101 (0x1 under the rule's mask 0xff) in mangle PREROUTING,
/// as the lab's IPv4 policy marks its traffic.
const MARK_DNS: &str = "*mangle\n-A PREROUTING -p udp -m udp --dport 53 -j MARK --set-xmark 0x101/0xffffffff\nCOMMIT\n";

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn udp(src: &str, dst: &str, hl: u8, dport: u16) -> Vec<u8> {
    support::ipv6::udp(src, dst, hl, (5353, dport), &[])
}

fn collect(out: Vec<Emit>) -> Vec<(PortId, Vec<u8>)> {
    out.into_iter()
        .map(|e| match e {
            Emit::Tx { port, frame } => (port, frame.data().to_vec()),
            Emit::Local { .. } => panic!("nothing is delivered locally"),
        })
        .collect()
}

/// Sends `ip` from the LAN host to the router; what left each port.
fn from_lan(p: &mut Pipeline, ip: &[u8]) -> Vec<(PortId, Vec<u8>)> {
    let mut f = LAN_MAC.to_vec();
    f.extend_from_slice(&HOST_MAC);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(ip);
    let mut out = Vec::new();
    p.receive(LAN, PacketBuf::from_slice(&f), T0, &mut out);
    collect(out)
}

/// The one frame that left: its port, next hop's MAC, and IPv6 destination.
fn left(out: &[(PortId, Vec<u8>)]) -> (PortId, [u8; 6], Ipv6Addr) {
    assert_eq!(out.len(), 1, "{out:?}");
    let (port, f) = &out[0];
    let mac: [u8; 6] = f[0..6].try_into().unwrap();
    let dst: [u8; 16] = f[14 + 24..14 + 40].try_into().unwrap();
    (*port, mac, Ipv6Addr::from(dst))
}

#[test]
fn a_marked_packet_leaves_by_the_policys_table() {
    let mut p = support::ipv6::pipeline(&config_with_default(), MARK_DNS);
    let dns = udp(HOST, FAR, 64, 53);
    let out = from_lan(&mut p, &dns);
    assert_eq!(
        left(&out),
        (DMZ, DMZ_GW_MAC, a6(FAR)),
        "table 100's default"
    );
    let mut want = dns.clone();
    want[7] = 63;
    assert_eq!(&out[0].1[14..], &want[..], "forwarded with one hop less");
    // Unmarked: main's default.
    let out = from_lan(&mut p, &udp(HOST, FAR, 64, 54));
    assert_eq!(left(&out), (WAN, GATEWAY_MAC, a6(FAR)));
    assert_eq!(p.stats().forwarded, 2);
}

#[test]
fn a_table_without_the_route_falls_through_to_main() {
    let mut p = support::ipv6::pipeline(CONFIG, MARK_DNS);
    // Marked, but table 100 has only 2001:db8:50::/48: main's default answers.
    let out = from_lan(&mut p, &udp(HOST, FAR, 64, 53));
    assert_eq!(left(&out), (WAN, GATEWAY_MAC, a6(FAR)));
    let out = from_lan(&mut p, &udp(HOST, IN_50, 64, 53));
    assert_eq!(left(&out), (DMZ, DMZ_GW_MAC, a6(IN_50)));
    // Unmarked, the same destination takes main's default.
    let out = from_lan(&mut p, &udp(HOST, IN_50, 64, 54));
    assert_eq!(left(&out), (WAN, GATEWAY_MAC, a6(IN_50)));
}

#[test]
fn dnats_new_destination_is_looked_up_in_the_policys_table() {
    let rules = "*mangle\n-A PREROUTING -p udp -m udp --dport 5300 -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n\
        *nat\n-A PREROUTING -p udp -m udp --dport 5300 -j DNAT --to-destination 2001:db8:50::9\nCOMMIT\n";
    let mut p = support::ipv6::pipeline(CONFIG, rules);
    let out = from_lan(&mut p, &udp(HOST, FAR, 64, 5300));
    assert_eq!(left(&out), (DMZ, DMZ_GW_MAC, a6(IN_50)));
    // DNAT without the mark: main's default for the new destination.
    let rules = "*nat\n-A PREROUTING -p udp -m udp --dport 5300 -j DNAT --to-destination 2001:db8:50::9\nCOMMIT\n";
    let mut p = support::ipv6::pipeline(CONFIG, rules);
    let out = from_lan(&mut p, &udp(HOST, FAR, 64, 5300));
    assert_eq!(left(&out), (WAN, GATEWAY_MAC, a6(IN_50)));
}

#[test]
fn the_appliances_own_packet_is_routed_again_when_mangle_output_marks_it() {
    let rules =
        "*mangle\n-A OUTPUT -p udp -m udp --dport 53 -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n";
    let mut p = support::ipv6::pipeline(CONFIG, rules);
    let send = |p: &mut Pipeline, dport| {
        let mut out = Vec::new();
        p.output(
            PacketBuf::from_slice(&udp("2001:db8:ff::1", IN_50, 64, dport)),
            T0,
            &mut out,
        );
        collect(out)
    };
    assert_eq!(left(&send(&mut p, 53)), (DMZ, DMZ_GW_MAC, a6(IN_50)));
    assert_eq!(left(&send(&mut p, 54)), (WAN, GATEWAY_MAC, a6(IN_50)));
    assert_eq!(p.stats().sent_local, 2);
}

#[test]
fn icmpv6_errors_about_marked_packets_go_back_by_the_unmarked_route() {
    // The host's prefix routed to the DMZ in table 100: an error about a marked packet is
    // still sent by main's connected route (icmp6_send routes with mark 0).
    let config =
        config_with_default().replace("dst = \"2001:db8:50::/48\"", "dst = \"2001:db8:1::/64\"");
    let mut p = support::ipv6::pipeline(&config, MARK_DNS);
    let out = from_lan(&mut p, &udp(HOST, FAR, 1, 53));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, LAN);
    assert_eq!(&out[0].1[0..6], &HOST_MAC);
    assert_eq!(out[0].1[14 + 40], 3, "time exceeded");
    let from: [u8; 16] = out[0].1[14 + 8..14 + 24].try_into().unwrap();
    assert_eq!(
        Ipv6Addr::from(from),
        a6("2001:db8:1::1"),
        "from the address of the port the route back leaves by"
    );
    assert_eq!(p.stats().icmp_errors, 1);
}
