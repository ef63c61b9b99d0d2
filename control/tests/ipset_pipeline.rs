//! `-m set` through the pipeline: a gateway ruleset whose FORWARD chain drops a hash:net
//! blocklist of 10,000 networks (with nomatch holes), sets loaded with `ipset restore`
//! and published to the pipeline as a snapshot; verdicts, rule counters and element
//! counters; an `ipset add` published without recompiling the rules.

#[macro_use]
mod support;

use control::config::Config;
use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::{CompiledRuleset, Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use dataplane::ruleset::{Ruleset, TableKind};
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use support::frames::{ether_ipv4, udp};
use support::{GATEWAY_MAC, WAN_MAC};

const CONFIG: &str = lan_wan_ports!(
    r#"
[[neighbor]]
ip = "203.0.113.254"
mac = "02:00:00:00:02:fe"
"#
);

const WAN: PortId = PortId(1);
const T0: u64 = 1_700_000_000_000_000_000;

const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i wan0 -m set --match-set blocklist src -j DROP
-A FORWARD -i wan0 -m set --match-set blocklist src --return-nomatch -j LOG --log-prefix \"hole \"
-A FORWARD -i lan0 -o wan0 -j ACCEPT
COMMIT
";

/// 10,000 networks: 10.a.b.0/24 for a in 0..40, b in 0..250; two nomatch holes; a /16.
fn blocklist() -> String {
    let mut s = String::from("create blocklist hash:net hashsize 16384 maxelem 20000 counters\n");
    for a in 0..40 {
        for b in 0..250 {
            let _ = writeln!(s, "add blocklist 10.{a}.{b}.0/24");
        }
    }
    s.push_str("add blocklist 10.7.7.128/25 nomatch\n");
    s.push_str("add blocklist 172.16.0.0/16\n");
    s.push_str("add blocklist 172.16.9.0/24 nomatch\n");
    s
}

/// A UDP datagram from `src` arriving on wan0 from the gateway.
fn from_wan(src: [u8; 4], dst: [u8; 4]) -> PacketBuf {
    PacketBuf::from_slice(&ether_ipv4(
        WAN_MAC,
        GATEWAY_MAC,
        &udp(src, dst, 5000, 53, &[]),
    ))
}

fn setup() -> (Pipeline, Ruleset) {
    let cfg = Config::parse(CONFIG, Path::new("test.toml")).expect("config");
    let topo = cfg.build().expect("topology");
    let mut rs = Ruleset::default();
    control::ipset::restore(&mut rs, &blocklist(), false, T0).expect("sets");
    restore(RULES, &mut rs, RestoreOptions::default()).expect("rules");
    let mut p = Pipeline::new(
        Arc::new(CompiledRuleset::compile(&rs, 1)),
        topo.fib.clone(),
        topo.neighbors.clone(),
    );
    p.set_sets(Arc::clone(&rs.sets));
    p.collect_log();
    (p, rs)
}

/// Whether a packet from `src` arriving on the WAN side was forwarded (out of wan0 again,
/// the default route: only the filter decides).
fn forwarded(p: &mut Pipeline, src: [u8; 4]) -> bool {
    let mut out = Vec::new();
    p.receive(WAN, from_wan(src, [93, 184, 216, 34]), T0, &mut out);
    out.iter().any(|e| matches!(e, Emit::Tx { .. }))
}

fn rule_packets(p: &Pipeline, n: usize) -> u64 {
    let rs = p.ruleset().clone();
    let fwd = rs
        .table(TableKind::Filter)
        .unwrap()
        .chains
        .iter()
        .find(|c| c.name == "FORWARD")
        .unwrap();
    p.counters()[fwd.rules[n].slot as usize].packets
}

#[test]
fn blocklist_of_ten_thousand_networks_decides_forwarding() {
    let (mut p, rs) = setup();
    assert_eq!(rs.sets.by_name("blocklist").unwrap().set.len(), 10_003);
    // The WAN's own subnet routes back out of wan0: forwarded means not dropped.
    assert!(!forwarded(&mut p, [10, 0, 0, 1]), "first network");
    assert!(!forwarded(&mut p, [10, 39, 249, 200]), "last network");
    assert!(!forwarded(&mut p, [10, 7, 7, 1]), "outside the hole");
    assert!(
        forwarded(&mut p, [10, 7, 7, 200]),
        "inside the nomatch hole"
    );
    assert!(forwarded(&mut p, [10, 40, 0, 1]), "past the last network");
    assert!(forwarded(&mut p, [10, 0, 250, 1]), "b = 250 is not listed");
    assert!(!forwarded(&mut p, [172, 16, 1, 1]), "the /16");
    assert!(forwarded(&mut p, [172, 16, 9, 9]), "the /16's nomatch /24");
    assert!(forwarded(&mut p, [8, 8, 8, 8]), "elsewhere");

    // Rule counters: rule 2 (DROP) saw the 4 blocked packets; rule 3 (--return-nomatch,
    // LOG) matched the 2 packets in nomatch holes.
    assert_eq!(rule_packets(&p, 1), 4);
    assert_eq!(rule_packets(&p, 2), 2);
    let log = p.take_log();
    assert_eq!(
        log.iter().filter(|l| l.contains("hole ")).count(),
        2,
        "{log:?}"
    );

    // Element counters: each test of an element counts (rule 2, then rule 3 for what
    // rule 2 let through).
    let now = T0;
    let elems = rs.sets.by_name("blocklist").unwrap().set.elements(now);
    let count = |e: &str| {
        let (elem, ext) = elems
            .iter()
            .find(|(el, _)| control::ipset::elem::format(el, &rs.sets) == e)
            .unwrap_or_else(|| panic!("{e} listed"));
        let _ = elem;
        let c = ext.counters.as_ref().unwrap();
        (c.packets(), c.bytes())
    };
    assert_eq!(count("10.0.0.0/24"), (1, 28));
    assert_eq!(
        count("10.7.7.128/25"),
        (2, 56),
        "the hole, by rules 2 and 3"
    );
    assert_eq!(count("10.7.7.0/24"), (1, 28));
    assert_eq!(count("10.39.249.0/24"), (1, 28));
    assert_eq!(count("10.1.1.0/24"), (0, 0), "never hit");
}

#[test]
fn ipset_add_reaches_the_pipeline_without_recompiling() {
    let (mut p, mut rs) = setup();
    let before = Arc::clone(p.ruleset());
    assert!(forwarded(&mut p, [198, 51, 100, 7]));
    let out = control::ipset::exec(
        &mut rs,
        &["add".into(), "blocklist".into(), "198.51.100.0/24".into()],
        T0,
    );
    assert_eq!(out.code, 0, "{out:?}");
    p.set_sets(Arc::clone(&rs.sets));
    assert!(!forwarded(&mut p, [198, 51, 100, 7]));
    assert!(Arc::ptr_eq(&before, p.ruleset()), "same compiled ruleset");
    // A set in use by a rule cannot be destroyed.
    let out = control::ipset::exec(&mut rs, &["destroy".into(), "blocklist".into()], T0);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n"
        )
    );
    // Deleting the rules releases it.
    restore(
        "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n",
        &mut rs,
        RestoreOptions::default(),
    )
    .unwrap();
    let out = control::ipset::exec(&mut rs, &["destroy".into(), "blocklist".into()], T0);
    assert_eq!(out.code, 0, "{out:?}");
}

/// A chain long enough for the classifier: the `-m set` rule is decided among indexed
/// rules exactly as in a scanned chain.
#[test]
fn set_rules_in_an_indexed_chain() {
    let cfg = Config::parse(CONFIG, Path::new("test.toml")).expect("config");
    let topo = cfg.build().expect("topology");
    let mut rs = Ruleset::default();
    control::ipset::restore(&mut rs, &blocklist(), false, T0).expect("sets");
    let mut text = String::from("*filter\n:FORWARD ACCEPT [0:0]\n");
    for i in 0..20 {
        let _ = writeln!(
            text,
            "-A FORWARD -s 192.0.2.{i} -p tcp --dport {} -j DROP",
            1000 + i
        );
    }
    text.push_str("-A FORWARD -i wan0 -p udp -m set --match-set blocklist src -j DROP\n");
    text.push_str("-A FORWARD -i wan0 -p udp --dport 53 -j ACCEPT\nCOMMIT\n");
    restore(&text, &mut rs, RestoreOptions::default()).expect("rules");
    let names: Vec<String> = topo.ports().iter().map(|p| p.name.clone()).collect();
    let compiled = CompiledRuleset::compile_for_ports(&rs, 1, &names);
    let fwd = compiled
        .table(TableKind::Filter)
        .unwrap()
        .chains
        .iter()
        .find(|c| c.name == "FORWARD")
        .unwrap();
    assert!(fwd.index.is_some(), "the chain is indexed");
    let mut p = Pipeline::new(Arc::new(compiled), topo.fib.clone(), topo.neighbors.clone());
    p.set_sets(Arc::clone(&rs.sets));
    assert!(!forwarded(&mut p, [10, 3, 3, 3]));
    assert!(forwarded(&mut p, [10, 7, 7, 129]));
    assert!(forwarded(&mut p, [9, 9, 9, 9]));
    assert_eq!(rule_packets(&p, 20), 1);
}
