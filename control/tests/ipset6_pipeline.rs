//! `family inet6` sets through the IPv6 path: an ip6tables FORWARD chain drops a hash:net
//! of IPv6 networks (with a nomatch hole) and records its senders with `-j SET
//! --add-set` into a hash:ip of IPv6 addresses; the sets live in the one table iptables
//! rules use too (ipset destroy refuses a set an ip6tables rule names; an IPv4 set is
//! refused in an ip6tables rule as ip6tables refuses it).

mod support;

use control::iptables::{restore, RestoreOptions};
use dataplane::ipset::Elem;
use dataplane::pipeline::{Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use dataplane::ruleset::{Family, Ruleset};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use support::{HOST_MAC, LAN_MAC};

const CONFIG: &str = support::ipv6::dual_stack_config!();

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const T0: u64 = 1_700_000_000_000_000_000;
const HOST: &str = "2001:db8:1::10";

const SETS: &str = "create bad6 hash:net family inet6 counters
add bad6 2001:db8:99::/48
add bad6 2001:db8:99:1::/64 nomatch
create seen6 hash:ip family inet6 timeout 600
create four hash:ip
add four 192.0.2.1
";

const RULES6: &str = "*filter
:FORWARD ACCEPT [0:0]
-A FORWARD -m set --match-set bad6 dst -j DROP
-A FORWARD -j SET --add-set seen6 src
COMMIT
";

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// A UDP datagram from the LAN host to `dst`, in its Ethernet frame.
fn udp_frame(dst: &str) -> Vec<u8> {
    let ip = support::ipv6::udp(HOST, dst, 64, (5353, 53), &[]);
    support::ipv6::frame(LAN_MAC, HOST_MAC, &ip)
}

fn setup() -> (Pipeline, Ruleset) {
    let mut rs = Ruleset::default();
    control::ipset::restore(&mut rs, SETS, false, T0).expect("sets");
    support::ipv6::restore_rules6(&mut rs, RULES6);
    (support::ipv6::pipeline_of(CONFIG, &rs), rs)
}

/// Whether a datagram from the LAN host to `dst` left on the WAN.
fn forwarded(p: &mut Pipeline, dst: &str) -> bool {
    let mut out = Vec::new();
    p.receive(LAN, PacketBuf::from_slice(&udp_frame(dst)), T0, &mut out);
    out.iter()
        .any(|e| matches!(e, Emit::Tx { port, .. } if *port == WAN))
}

#[test]
fn an_ip6tables_rule_matches_an_inet6_set_and_adds_to_another() {
    let (mut p, mut rs) = setup();
    assert!(!forwarded(&mut p, "2001:db8:99::5"), "in the /48");
    assert!(forwarded(&mut p, "2001:db8:99:1::5"), "in the nomatch hole");
    assert!(forwarded(&mut p, "2001:db8:aa::1"), "elsewhere");
    // Element counters count the IPv6 packets (length: 40 + 8).
    let bad6 = rs.sets.by_name("bad6").unwrap().set.elements(T0);
    let c = |e: &str| {
        let (_, ext) = bad6
            .iter()
            .find(|(el, _)| control::ipset::elem::format(el, &rs.sets) == e)
            .unwrap();
        let c = ext.counters.as_ref().unwrap();
        (c.packets(), c.bytes())
    };
    assert_eq!(c("2001:db8:99::/48"), (1, 48));
    assert_eq!(c("2001:db8:99:1::/64"), (1, 48));

    // -j SET --add-set seen6 src: one op per forwarded packet, the host's address; the
    // control plane applies them to its table (the second is already there).
    let ops: Vec<_> = p.drain_set_ops().collect();
    assert_eq!(ops.len(), 2, "{ops:?}");
    let sets = Arc::make_mut(&mut rs.sets);
    let applied: Vec<bool> = ops.iter().map(|o| sets.apply_packet_op(o, T0)).collect();
    assert_eq!(applied, [true, false]);
    let seen = sets.by_name("seen6").unwrap().set.elements(T0);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, Elem::Ip(IpAddr::V6(a6(HOST))));
    let out = control::ipset::exec(&mut rs, &["save".into(), "seen6".into()], T0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with(
        "create seen6 hash:ip family inet6 hashsize 1024 maxelem 65536 timeout 600 bucketsize 12 initval 0x"
    ));
    assert_eq!(lines[1..], ["add seen6 2001:db8:1::10 timeout 600"]);
}

#[test]
fn sets_named_by_ip6tables_rules_are_in_use() {
    let (_, mut rs) = setup();
    let exec = |rs: &mut Ruleset, words: &[&str]| {
        let w: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        control::ipset::exec(rs, &w, T0)
    };
    let out = exec(&mut rs, &["destroy", "bad6"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n"
        )
    );
    let out = exec(&mut rs, &["list", "bad6"]);
    assert!(out.stdout.contains("\nReferences: 1\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\nHeader: family inet6 hashsize 1024 "));
    assert_eq!(exec(&mut rs, &["destroy", "four"]).code, 0);
    // Flushing the ip6tables rules releases the sets.
    let opts = RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    rs.with_family(Family::V6, |rs6| {
        restore("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n", rs6, opts)
    })
    .unwrap();
    assert_eq!(exec(&mut rs, &["destroy", "bad6"]).code, 0);
}

#[test]
fn a_set_of_the_other_family_is_refused_as_ip6tables_refuses_it() {
    let (_, mut rs) = setup();
    let opts = RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    for rule in [
        "-A FORWARD -m set --match-set four src -j DROP",
        "-A FORWARD -j SET --add-set four src",
    ] {
        let text = format!("*filter\n{rule}\nCOMMIT\n");
        let e = rs
            .with_family(Family::V6, |rs6| restore(&text, rs6, opts))
            .unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                2,
                "The protocol family of set four is IPv4, which is not applicable."
            )
        );
    }
    // And an IPv6 set in an iptables rule.
    let e = restore(
        "*filter\n-A FORWARD -m set --match-set bad6 src -j DROP\nCOMMIT\n",
        &mut rs,
        RestoreOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "The protocol family of set bad6 is IPv6, which is not applicable."
    );
    // A list:set (no family) serves both.
    let w: Vec<String> = ["create", "both", "list:set"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(control::ipset::exec(&mut rs, &w, T0).code, 0);
    rs.with_family(Family::V6, |rs6| {
        restore(
            "*filter\n-A FORWARD -m set --match-set both src -j DROP\nCOMMIT\n",
            rs6,
            opts,
        )
    })
    .unwrap();
}
