//! The classifier and the rules' evaluation shortcuts must never change an outcome:
//! random rulesets and random packets run through the compiled program and through the
//! reference (rule by rule, every criterion evaluated in full) give the same frames, the
//! same trace and the same counters.

use control::config::Config;
use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::{CompiledRuleset, Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use dataplane::ruleset::Ruleset;
use dataplane::wire::checksum;
use proptest::prelude::*;
use std::path::Path;
use std::sync::Arc;

const CONFIG: &str = "[[port]]\nname = \"lan0\"\ndriver = \"mem\"\nmac = \"02:00:00:00:01:01\"\naddresses = [\"10.0.0.1/8\"]\n\
    [[port]]\nname = \"wan0\"\ndriver = \"mem\"\nmac = \"02:00:00:00:02:01\"\naddresses = [\"203.0.113.1/24\"]\n\
    [[port]]\nname = \"dmz0\"\ndriver = \"mem\"\nmac = \"02:00:00:00:03:01\"\naddresses = [\"172.16.0.1/16\"]\n\
    [[route]]\ndst = \"0.0.0.0/0\"\nvia = \"203.0.113.254\"\n\
    [[neighbor]]\nip = \"203.0.113.254\"\nmac = \"02:00:00:00:02:fe\"\n\
    [[neighbor]]\nip = \"10.0.0.9\"\nmac = \"02:00:00:00:01:09\"\n\
    [[neighbor]]\nip = \"172.16.0.9\"\nmac = \"02:00:00:00:03:09\"\n";

const ADDRS: [&str; 6] = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "172.16.0.9",
    "203.0.113.0/24",
    "0.0.0.0/1",
    "93.184.216.34",
];
const IFACES: [&str; 4] = ["lan0", "wan0", "dmz+", "lan+"];

fn rule(seed: &[u8]) -> String {
    let pick = |i: usize, n: usize| usize::from(seed[i]) % n;
    let mut r = String::new();
    let neg = |b: u8| if b.is_multiple_of(5) { "! " } else { "" };
    // Criteria that read the packet's context, not its header: a rule of these alone
    // is a candidate for every packet (the index's lead when it opens a chain, as
    // `--ctstate ESTABLISHED,RELATED` does) and is decided without a packet view.
    let context = match pick(16, 8) {
        0 => " -m conntrack --ctstate NEW",
        1 => " -m conntrack ! --ctstate INVALID,UNTRACKED",
        2 => " -m mark --mark 1",
        3 => " -m statistic --mode nth --every 3 --packet 1",
        4 => " -m limit --limit 2/sec --limit-burst 3",
        _ => "",
    };
    let target = match pick(15, 6) {
        0 => " -j ACCEPT",
        1 => " -j DROP",
        2 => " -j RETURN",
        3 => " -j MARK --set-mark 1",
        4 => " -j sub",
        _ => "",
    };
    if !context.is_empty() && pick(17, 2) == 0 {
        return r + context + target;
    }
    if pick(0, 3) == 0 {
        r += &format!(" {}-s {}", neg(seed[1]), ADDRS[pick(2, ADDRS.len())]);
    }
    if pick(3, 3) == 0 {
        r += &format!(" {}-d {}", neg(seed[4]), ADDRS[pick(5, ADDRS.len())]);
    }
    if pick(6, 3) == 0 {
        r += &format!(" {}-i {}", neg(seed[7]), IFACES[pick(8, IFACES.len())]);
    }
    if pick(9, 3) == 0 {
        r += &format!(" {}-o {}", neg(seed[10]), IFACES[pick(11, IFACES.len())]);
    }
    match pick(12, 5) {
        0 => {
            r += &format!(
                " -p tcp {}--dport {}",
                neg(seed[13]),
                [22, 80, 443, 1000][pick(14, 4)]
            )
        }
        1 => {
            r += &format!(
                " -p udp --dport {}:{}",
                50 + pick(13, 10),
                60 + pick(14, 100)
            )
        }
        2 => {
            r += &format!(
                " -p tcp -m multiport {}--dports 22,80:90,443",
                neg(seed[13])
            )
        }
        3 => r += &format!(" {}-p icmp", neg(seed[13])),
        _ => {}
    }
    r + context + target
}

fn ruleset(seeds: &[Vec<u8>]) -> String {
    let mut text = String::from("*filter\n:sub - [0:0]\n");
    for (i, s) in seeds.iter().enumerate() {
        let chain = if i % 3 == 2 { "sub" } else { "FORWARD" };
        let r = rule(s);
        // user chains must not jump to themselves
        let r = if chain == "sub" {
            r.replace("-j sub", "-j RETURN")
        } else {
            r
        };
        text += &format!("-A {chain}{r}\n");
    }
    text + "COMMIT\n"
}

fn packet(seed: &[u8]) -> (PortId, Vec<u8>) {
    let addrs = [
        [10, 0, 0, 9],
        [10, 1, 2, 3],
        [172, 16, 0, 9],
        [93, 184, 216, 34],
        [203, 0, 113, 50],
        [8, 8, 8, 8],
    ];
    let src = addrs[usize::from(seed[0]) % addrs.len()];
    let dst = addrs[usize::from(seed[1]) % addrs.len()];
    let proto = [6u8, 17, 1, 47][usize::from(seed[2]) % 4];
    let dport = [22u16, 80, 85, 443, 55, 100, 1000, 7][usize::from(seed[3]) % 8];
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    p[8] = 64;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let mut l4 = vec![0u8; 20];
    l4[0..2].copy_from_slice(&40000u16.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[12] = 0x50;
    l4[13] = 0x02;
    if seed[4].is_multiple_of(7) {
        p[7] = 3; // a non-first fragment: no ports
    }
    p.extend_from_slice(&l4);
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    let c = !checksum::data(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    (PortId(u16::from(seed[5]) % 3), p)
}

fn run(
    compiled: CompiledRuleset,
    packets: &[(PortId, Vec<u8>)],
) -> (Vec<String>, Vec<String>, Vec<(u64, u64)>) {
    run_with_sets(compiled, packets, Default::default())
}

fn run_with_sets(
    compiled: CompiledRuleset,
    packets: &[(PortId, Vec<u8>)],
    sets: Arc<dataplane::ipset::SetTable>,
) -> (Vec<String>, Vec<String>, Vec<(u64, u64)>) {
    let cfg = Config::parse(CONFIG, Path::new("c.toml")).unwrap();
    let topo = cfg.build().unwrap();
    let mut p = Pipeline::new(Arc::new(compiled), topo.fib.clone(), topo.neighbors.clone());
    p.set_sets(sets);
    p.enable_trace();
    let mut frames = Vec::new();
    for (port, ip) in packets {
        let mut f = vec![2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 9, 8, 0];
        f.extend_from_slice(ip);
        let mut out = Vec::new();
        p.receive(*port, PacketBuf::from_slice(&f), 1_000_000_000, &mut out);
        for e in out {
            frames.push(match e {
                Emit::Tx { port, frame } => format!("{port:?} {:?}", frame.data()),
                Emit::Local { packet } => format!("local {:?}", packet.data()),
            });
        }
    }
    let counters = p.counters().iter().map(|c| (c.packets, c.bytes)).collect();
    (frames, p.take_trace(), counters)
}

/// The indexed program and the scan give the same frames, trace and counters.
fn same_as_scan(rules: &[Vec<u8>], pkts: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let text = ruleset(rules);
    let mut rs = Ruleset::default();
    if restore(&text, &mut rs, RestoreOptions::default()).is_err() {
        return Ok(()); // e.g. -i in a chain that forbids it
    }
    let names: Vec<String> = ["lan0", "wan0", "dmz0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let indexed = CompiledRuleset::compile_for_ports(&rs, 1, &names);
    let linear = CompiledRuleset::compile(&rs, 1).reference();
    let packets: Vec<(PortId, Vec<u8>)> = pkts.iter().map(|s| packet(s)).collect();
    prop_assert_eq!(run(indexed, &packets), run(linear, &packets), "{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn classifier_changes_nothing(
        rules in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 18), 16..60),
        pkts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 6), 1..30),
    ) {
        same_as_scan(&rules, &pkts)?;
    }
}

proptest! {
    // Long chains: thousands of rules over a few addresses, so many rules share a key
    // (long candidate lists) and the `sub` chain is indexed too. Larger rulesets (up to
    // 50,000, and S3's shape) are checked against a scan in `classify`'s own tests.
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn classifier_changes_nothing_in_long_chains(
        rules in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 18), 2_000..5_000),
        pkts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 6), 20..40),
    ) {
        same_as_scan(&rules, &pkts)?;
    }
}

#[test]
fn long_chains_are_indexed_short_ones_scanned() {
    let mut text = String::from("*filter\n");
    for i in 0..20 {
        text += &format!("-A FORWARD -p tcp --dport {} -j ACCEPT\n", 1000 + i);
    }
    text += "-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let mut rs = Ruleset::default();
    restore(&text, &mut rs, RestoreOptions::default()).unwrap();
    let c = CompiledRuleset::compile(&rs, 1);
    let filter = c.table(dataplane::ruleset::TableKind::Filter).unwrap();
    let chain = |n: &str| filter.chains.iter().find(|c| c.name == n).unwrap();
    assert!(chain("FORWARD").index.is_some());
    assert!(chain("INPUT").index.is_none());
}

/// `-m set` alone is decided from the header's address for hash:ip and hash:net
/// (`RuleEval::SetAddr`) and the general way for other types: every set type, negated or
/// not, src or dst, with a nomatch hole, element counters and an expired element, gives
/// what the reference gives, for every packet shape of the random tests.
#[test]
fn set_rules_decide_as_the_reference() {
    let sets = "create ips hash:ip counters timeout 300\n\
                add ips 10.0.0.9\n\
                add ips 93.184.216.34 timeout 1\n\
                create nets hash:net\n\
                add nets 10.0.0.0/8\n\
                add nets 10.1.0.0/16 nomatch\n\
                create ports bitmap:port range 1-1000\n\
                add ports 80\n\
                create list list:set\n\
                add list nets\n";
    let mut text = String::from("*filter\n");
    for (i, set) in ["ips", "nets", "ports", "list"].iter().enumerate() {
        for dir in ["src", "dst"] {
            for neg in ["", "! "] {
                let target = if i % 2 == 0 {
                    "-j MARK --set-mark 1"
                } else {
                    ""
                };
                text += &format!("-A FORWARD -m set {neg}--match-set {set} {dir} {target}\n");
            }
        }
    }
    text += "-A FORWARD -m set --match-set ips dst -j DROP\n\
             -A FORWARD -m set ! --match-set nets src -j ACCEPT\nCOMMIT\n";
    let mut rs = Ruleset::default();
    control::ipset::restore(&mut rs, sets, false, 0).unwrap();
    restore(&text, &mut rs, RestoreOptions::default()).unwrap();
    let names: Vec<String> = ["lan0", "wan0", "dmz0"].map(String::from).to_vec();
    let mut packets = Vec::new();
    for a in 0..6u8 {
        for b in 0..6u8 {
            for c in 0..4u8 {
                packets.push(packet(&[a, b, c, a + b, 1 + c, a, 0, 0, 0, 0]));
            }
        }
    }
    let fast = run_with_sets(
        CompiledRuleset::compile_for_ports(&rs, 1, &names),
        &packets,
        Arc::clone(&rs.sets),
    );
    let reference = run_with_sets(
        CompiledRuleset::compile(&rs, 1).reference(),
        &packets,
        Arc::clone(&rs.sets),
    );
    assert!(fast.1.iter().any(|l| l.contains("FORWARD")), "traced");
    assert_eq!(fast, reference, "{text}");
}
