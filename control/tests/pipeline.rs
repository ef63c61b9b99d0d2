//! Pipeline scenarios: frames in on a port, rules in iptables-restore form, and the
//! bytes that come out per port (or to the host).
//!
//! Where the expectations come from (until the conformance suite replays each scenario
//! on the kernel automatically): REJECT answers, ICMP errors and LOG lines were captured
//! from the kernel in namespaces (see `dataplane/src/ruleset/targets/{reject,log}.rs`);
//! conntrack states, timeouts and the listing shape from `conntrack -L` / `conntrack -E`
//! and /proc/net/nf_conntrack on a namespace router (noted at the tests that use them);
//! the rest (hook order, NAT port choice, FTP rewriting, fragmentation) from the kernel
//! sources named in each module (nf_nat_core, nf_nat_ftp, ip_fragment, ip_forward).

mod support;

use control::config::Config;
use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::{CompiledRuleset, DropReason, Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId, RxChecksum};
use dataplane::ruleset::{Hook, Ruleset, TableKind};
use dataplane::wire::checksum;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

const CONFIG: &str = r#"
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

[[port]]
name = "wan1"
driver = "mem"
mac = "02:00:00:00:03:01"
addresses = ["198.51.100.1/24"]

[[route]]
dst = "0.0.0.0/0"
via = "203.0.113.254"

[[route]]
dst = "0.0.0.0/0"
via = "198.51.100.254"
table = 10

[[policy]]
fwmark = 1
table = 10

[[neighbor]]
ip = "203.0.113.254"
mac = "02:00:00:00:02:fe"

[[neighbor]]
ip = "198.51.100.254"
mac = "02:00:00:00:03:fe"

[[neighbor]]
ip = "192.168.1.10"
mac = "02:00:00:00:01:10"
"#;

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const WAN1: PortId = PortId(2);
const HOST_MAC: [u8; 6] = [2, 0, 0, 0, 1, 0x10];
const LAN_MAC: [u8; 6] = [2, 0, 0, 0, 1, 1];
const T0: u64 = 1_700_000_000_000_000_000;

fn pipeline(rules: &str) -> Pipeline {
    let mut p = untraced_pipeline(rules);
    p.enable_trace();
    p
}

fn sum(data: &[u8]) -> u16 {
    !checksum::data(data)
}

/// An IPv4/TCP segment (no payload) with valid checksums.
fn tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8, ttl: u8) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&40u16.to_be_bytes());
    p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    p[6] = 0x40;
    p[8] = ttl;
    p[9] = 6;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let c = sum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..22].copy_from_slice(&sport.to_be_bytes());
    p[22..24].copy_from_slice(&dport.to_be_bytes());
    p[24..28].copy_from_slice(&1000u32.to_be_bytes());
    p[32] = 0x50;
    p[33] = flags;
    p[34..36].copy_from_slice(&64240u16.to_be_bytes());
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6, 0, 20]);
    pseudo.extend_from_slice(&p[20..]);
    let c = sum(&pseudo);
    p[36..38].copy_from_slice(&c.to_be_bytes());
    p
}

fn frame(dst_mac: [u8; 6], src_mac: [u8; 6], ip: &[u8]) -> PacketBuf {
    let mut f = Vec::new();
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(ip);
    PacketBuf::from_slice(&f)
}

fn run(p: &mut Pipeline, port: PortId, ip: &[u8]) -> Vec<Emit> {
    let mut out = Vec::new();
    p.receive(port, frame(LAN_MAC, HOST_MAC, ip), T0, &mut out);
    out
}

const SYN: u8 = 0x02;
const HOST: [u8; 4] = [192, 168, 1, 10];
const SERVER: [u8; 4] = [93, 184, 216, 34];

fn tx_on(out: &[Emit], port: PortId) -> Vec<Vec<u8>> {
    out.iter()
        .filter_map(|e| match e {
            Emit::Tx { port: p, frame } if *p == port => Some(frame.data().to_vec()),
            _ => None,
        })
        .collect()
}

#[test]
fn forwards_with_ttl_decrement_and_new_link_header() {
    let mut p = pipeline("*filter\nCOMMIT\n");
    let ip = tcp(HOST, SERVER, 40000, 80, SYN, 64);
    let out = run(&mut p, LAN, &ip);
    let frames = tx_on(&out, WAN);
    assert_eq!(frames.len(), 1, "{out:?}");
    let f = &frames[0];
    assert_eq!(&f[0..6], &[2, 0, 0, 0, 2, 0xfe], "next hop's MAC");
    assert_eq!(&f[6..12], &[2, 0, 0, 0, 2, 1], "wan0's MAC");
    assert_eq!(&f[12..14], &[0x08, 0x00]);
    let mut want = ip.clone();
    want[8] = 63;
    let c = {
        want[10] = 0;
        want[11] = 0;
        sum(&want[..20])
    };
    want[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(&f[14..], &want[..], "only TTL and header checksum change");
    assert_eq!(p.stats().forwarded, 1);
}

#[test]
fn filter_forward_drop_and_policy() {
    let mut p = pipeline("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p tcp --dport 22 -j ACCEPT\n-A FORWARD -p tcp --dport 80 -j DROP\nCOMMIT\n");
    assert!(run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)).is_empty());
    assert!(
        run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 443, SYN, 64)).is_empty(),
        "policy DROP"
    );
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 22, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    let trace = p.take_trace();
    assert!(
        trace
            .iter()
            .any(|l| l.starts_with("TRACE: filter:FORWARD:rule:2 IN=lan0 OUT=wan0")),
        "{trace:?}"
    );
    assert!(
        trace
            .iter()
            .any(|l| l.starts_with("TRACE: filter:FORWARD:policy:3 ")),
        "{trace:?}"
    );
    // Counters: rule 1 once, rule 2 once, the policy once (40-byte packets).
    let c = p.counters();
    let rs = p.ruleset().clone();
    let fwd = rs
        .table(dataplane::ruleset::TableKind::Filter)
        .unwrap()
        .chains
        .iter()
        .find(|c| c.name == "FORWARD")
        .unwrap();
    assert_eq!(c[fwd.rules[0].slot as usize].packets, 1);
    assert_eq!(c[fwd.rules[1].slot as usize].bytes, 40);
    assert_eq!(c[fwd.policy_slot as usize].packets, 1);
}

#[test]
fn mangle_accept_still_reaches_filter() {
    let mut p =
        pipeline("*mangle\n-A FORWARD -j ACCEPT\nCOMMIT\n*filter\n-A FORWARD -j DROP\nCOMMIT\n");
    assert!(run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)).is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 1);
}

#[test]
fn user_chains_return_and_goto() {
    let rules = "*filter\n:FORWARD DROP [0:0]\n:check - [0:0]\n:web - [0:0]\n\
        -A FORWARD -j check\n-A FORWARD -p tcp --dport 80 -g web\n-A FORWARD -j ACCEPT\n\
        -A check -p tcp --dport 23 -j DROP\n-A check -j RETURN\n-A check -j DROP\n\
        -A web -s 192.168.1.99 -j ACCEPT\nCOMMIT\n";
    let mut p = pipeline(rules);
    // RETURN comes back to rule 2 of FORWARD; port 443 is then accepted by rule 3.
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 443, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    // Telnet dies in `check`.
    assert!(run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 23, SYN, 64)).is_empty());
    // Port 80 goes to `web`; its end does not return to FORWARD's rule 3: the policy drops.
    assert!(run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)).is_empty());
    let trace: Vec<String> = p
        .take_trace()
        .iter()
        .map(|l| l.split(" IN=").next().unwrap_or("").to_string())
        .filter(|l| l.starts_with("TRACE: filter:"))
        .collect();
    let want = [
        // 443: into check, RETURN, back to FORWARD rule 3.
        "TRACE: filter:FORWARD:rule:1",
        "TRACE: filter:check:rule:2",
        "TRACE: filter:FORWARD:rule:3",
        // 23: dropped in check.
        "TRACE: filter:FORWARD:rule:1",
        "TRACE: filter:check:rule:1",
        // 80: check returns, goto web, web's end has no caller: FORWARD's policy.
        "TRACE: filter:FORWARD:rule:1",
        "TRACE: filter:check:rule:2",
        "TRACE: filter:FORWARD:rule:2",
        "TRACE: filter:web:return:2",
        "TRACE: filter:FORWARD:policy:4",
    ];
    assert_eq!(trace, want);
}

#[test]
fn local_delivery_and_input_rules() {
    let mut p = pipeline("*filter\n-A INPUT -p tcp --dport 23 -j DROP\nCOMMIT\n");
    let out = run(
        &mut p,
        LAN,
        &tcp(HOST, [192, 168, 1, 1], 40000, 22, SYN, 64),
    );
    assert!(
        matches!(&out[..], [Emit::Local { packet }] if packet.data()[8] == 64),
        "not forwarded, TTL kept: {out:?}"
    );
    assert!(run(
        &mut p,
        LAN,
        &tcp(HOST, [192, 168, 1, 1], 40000, 23, SYN, 64)
    )
    .is_empty());
}

#[test]
fn ttl_expiry_answers_time_exceeded() {
    let mut p = pipeline("*filter\nCOMMIT\n");
    let ip = tcp(HOST, SERVER, 40000, 80, SYN, 1);
    let out = run(&mut p, LAN, &ip);
    assert!(tx_on(&out, WAN).is_empty());
    let back = tx_on(&out, LAN);
    assert_eq!(back.len(), 1, "{out:?}");
    let icmp = &back[0][14..];
    assert_eq!(&back[0][0..6], &HOST_MAC);
    assert_eq!(icmp[9], 1, "ICMP");
    assert_eq!(
        &icmp[12..16],
        &[192, 168, 1, 1],
        "from the LAN-side address"
    );
    assert_eq!(&icmp[16..20], &HOST);
    assert_eq!((icmp[20], icmp[21]), (11, 0), "time exceeded in transit");
    assert_eq!(&icmp[28..], &ip[..], "quotes the whole (small) packet");
    assert_eq!(sum(&icmp[..20]), 0, "IP checksum");
    assert_eq!(sum(&icmp[20..]), 0, "ICMP checksum");
}

#[test]
fn mark_routes_through_second_uplink() {
    let rules = "*mangle\n-A PREROUTING -p tcp --dport 443 -j MARK --set-mark 1\nCOMMIT\n";
    let mut p = pipeline(rules);
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 443, SYN, 64)),
            WAN1
        )
        .len(),
        1
    );
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
}

#[test]
fn bad_checksum_and_garbage_are_counted() {
    let mut p = pipeline("*filter\nCOMMIT\n");
    let mut ip = tcp(HOST, SERVER, 40000, 80, SYN, 64);
    ip[10] ^= 0xff;
    assert!(run(&mut p, LAN, &ip).is_empty());
    assert!(run(&mut p, LAN, &[0x45, 0, 0]).is_empty());
    let st = p.stats();
    assert_eq!(
        (
            st.drops[DropReason::BadChecksum],
            st.drops[DropReason::Malformed]
        ),
        (1, 1)
    );
}

#[test]
fn checksums_the_nic_verified_are_not_summed_again() {
    // The NIC's "good" stands in for the software check (as CHECKSUM_UNNECESSARY does in
    // the kernel); the same bytes without it are found bad.
    let mut p = pipeline("*filter\n-A FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n");
    let mut bad_ip = udp(HOST, SERVER, 5000, 53);
    bad_ip[10] ^= 0xff;
    let mut bad_udp = udp(HOST, SERVER, 5001, 53);
    bad_udp[26] ^= 0xff;
    let send = |p: &mut Pipeline, ip: &[u8], csum: RxChecksum| {
        let mut f = frame(LAN_MAC, HOST_MAC, ip);
        f.rx_csum = csum;
        let mut out = Vec::new();
        p.receive(LAN, f, T0, &mut out);
        tx_on(&out, WAN).len()
    };
    let none = RxChecksum::default();
    assert_eq!(send(&mut p, &bad_ip, none), 0);
    assert_eq!(p.stats().drops[DropReason::BadChecksum], 1);
    assert_eq!(send(&mut p, &bad_udp, none), 0, "INVALID: UDP checksum");
    assert_eq!(p.stats().drops[DropReason::Rules], 1);
    let ip_good = RxChecksum {
        ip_good: true,
        l4_good: false,
    };
    assert_eq!(
        send(&mut p, &bad_ip, ip_good),
        1,
        "the NIC vouched for the header"
    );
    let l4_good = RxChecksum {
        ip_good: false,
        l4_good: true,
    };
    assert_eq!(
        send(&mut p, &bad_udp, l4_good),
        1,
        "the NIC vouched for UDP"
    );
    assert_eq!(p.stats().drops.total(), 2);
}

#[test]
fn the_burst_prefetch_takes_any_bytes_and_changes_no_verdict() {
    let mut p = pipeline("*filter\n-A FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n");
    let good = udp(HOST, SERVER, 5000, 53);
    let mut no_ihl = good.clone();
    no_ihl[0] = 0x40;
    let mut long_ihl = good.clone();
    long_ihl[0] = 0x4f;
    let mut frames: Vec<PacketBuf> = [&[][..], &[0x08; 13], &good[..19], &no_ihl, &long_ihl]
        .iter()
        .map(|ip| frame(LAN_MAC, HOST_MAC, ip))
        .collect();
    frames.push(PacketBuf::from_slice(&[0xff; 3]));
    frames.push(frame(LAN_MAC, HOST_MAC, &good));
    p.prefetch_burst(&frames);
    // The same packet, twice: NEW then ESTABLISHED-side tracking, both forwarded.
    assert_eq!(tx_on(&run(&mut p, LAN, &good), WAN).len(), 1);
    p.prefetch_burst(&frames);
    assert_eq!(tx_on(&run(&mut p, LAN, &good), WAN).len(), 1);
    assert_eq!(p.conntrack().len(), 1);
}

#[test]
fn the_classifier_burst_prefetch_of_a_large_chain_changes_no_verdict() {
    // Enough rules that filter FORWARD's index outgrows a core's cache and the burst
    // stage prefetches its slots, candidate rules and counters.
    let mut rules = String::from("*filter\n:FORWARD DROP [0:0]\n");
    for i in 0..40_000u32 {
        rules.push_str(&format!(
            "-A FORWARD -s 10.{}.{}.0/24 -d 93.184.216.0/24 -p udp -j ACCEPT\n",
            i >> 8,
            i & 255
        ));
    }
    rules.push_str("COMMIT\n");
    let mut p = untraced_pipeline(&rules);
    // The last rule (39,999 = 156 * 256 + 63), and a source no rule names.
    let hit = udp([10, 156, 63, 7], SERVER, 5000, 53);
    let miss = udp([10, 200, 0, 7], SERVER, 5000, 53);
    let mut no_ihl = hit.clone();
    no_ihl[0] = 0x40;
    let mut frames: Vec<PacketBuf> = [&[][..], &hit[..19], &no_ihl, &miss, &hit, &hit]
        .iter()
        .map(|ip| frame(LAN_MAC, HOST_MAC, ip))
        .collect();
    frames.push(PacketBuf::from_slice(&[0xff; 3]));
    p.prefetch_burst(&frames);
    assert_eq!(tx_on(&run(&mut p, LAN, &hit), WAN).len(), 1);
    p.prefetch_burst_any_known(&frames, T0);
    assert!(tx_on(&run(&mut p, LAN, &miss), WAN).is_empty());
    let forward = p.ruleset().tables[TableKind::Filter as usize]
        .as_ref()
        .and_then(|t| t.entry(Hook::Forward))
        .expect("FORWARD");
    let counted = |slot: u32| p.counters()[slot as usize].packets;
    assert_eq!(counted(forward.rules[39_999].slot), 1);
    assert_eq!(counted(forward.rules[39_998].slot), 0);
    assert_eq!(counted(forward.policy_slot), 1);
}

#[test]
fn ruleset_swap_keeps_counters_of_unchanged_rules() {
    let mut p = pipeline("*filter\n-A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n");
    run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64));
    let mut rs = Ruleset::default();
    restore(
        "*filter\n-A FORWARD -p tcp --dport 80 -j ACCEPT\n-A FORWARD -j DROP\nCOMMIT\n",
        &mut rs,
        RestoreOptions::default(),
    )
    .unwrap();
    p.set_ruleset(Arc::new(CompiledRuleset::compile(&rs, 2)));
    let rs = p.ruleset().clone();
    let fwd = rs
        .table(dataplane::ruleset::TableKind::Filter)
        .unwrap()
        .chains
        .iter()
        .find(|c| c.name == "FORWARD")
        .unwrap();
    assert_eq!(p.counters()[fwd.rules[0].slot as usize].packets, 1);
    assert_eq!(p.counters()[fwd.rules[1].slot as usize].packets, 0);
    let _ = Ipv4Addr::LOCALHOST;
}

/// `iptables -I` and `-D` shift the rules after them; like the kernel's, their counters
/// stay with them (the lab lists them with nfdpctl after such a change).
#[test]
fn ruleset_swap_keeps_counters_of_shifted_rules() {
    let base = "-A FORWARD -p tcp --dport 25 -j DROP\n-A FORWARD -p tcp --dport 80 -j ACCEPT\n";
    let mut p = pipeline(&format!("*filter\n{base}COMMIT\n"));
    run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 25, SYN, 64));
    run(&mut p, LAN, &tcp(HOST, SERVER, 40001, 80, SYN, 64));
    run(&mut p, LAN, &tcp(HOST, SERVER, 40002, 80, SYN, 64));
    let swap = |p: &mut Pipeline, text: &str, generation| {
        let mut rs = Ruleset::default();
        restore(text, &mut rs, RestoreOptions::default()).unwrap();
        p.set_ruleset(Arc::new(CompiledRuleset::compile(&rs, generation)));
    };
    let forward_packets = |p: &Pipeline| -> Vec<u64> {
        let rs = p.ruleset().clone();
        let fwd = rs
            .table(dataplane::ruleset::TableKind::Filter)
            .unwrap()
            .chains
            .iter()
            .find(|c| c.name == "FORWARD")
            .unwrap();
        fwd.rules
            .iter()
            .map(|r| p.counters()[r.slot as usize].packets)
            .collect()
    };
    assert_eq!(forward_packets(&p), [1, 2]);
    let inserted = "-A FORWARD -s 192.168.1.10/32 -p tcp --dport 80 -j DROP\n";
    swap(&mut p, &format!("*filter\n{inserted}{base}COMMIT\n"), 2);
    assert_eq!(
        forward_packets(&p),
        [0, 1, 2],
        "-I 1: both old rules keep theirs"
    );
    swap(&mut p, &format!("*filter\n{base}COMMIT\n"), 3);
    assert_eq!(
        forward_packets(&p),
        [1, 2],
        "-D 1: shifted back, still theirs"
    );
    let replaced =
        "-A FORWARD -p tcp --dport 25 -j ACCEPT\n-A FORWARD -p tcp --dport 80 -j ACCEPT\n";
    swap(&mut p, &format!("*filter\n{replaced}COMMIT\n"), 4);
    assert_eq!(
        forward_packets(&p),
        [0, 2],
        "-R 1: the replaced rule starts at 0"
    );
}

#[test]
fn locally_generated_packets_reroute_after_mangle_output() {
    let rules = "*mangle\n-A OUTPUT -p tcp --dport 443 -j MARK --set-mark 1\nCOMMIT\n\
                 *filter\n-A OUTPUT -p tcp --dport 25 -j DROP\nCOMMIT\n";
    let mut p = pipeline(rules);
    let send = |p: &mut Pipeline, dport| {
        let mut out = Vec::new();
        p.output(
            PacketBuf::from_slice(&tcp([203, 0, 113, 1], SERVER, 50000, dport, SYN, 64)),
            T0,
            &mut out,
        );
        out
    };
    let out = send(&mut p, 80);
    let f = tx_on(&out, WAN);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0][14 + 8], 64, "locally generated: no TTL decrement");
    assert_eq!(
        tx_on(&send(&mut p, 443), WAN1).len(),
        1,
        "the mark re-routes to table 10"
    );
    assert!(send(&mut p, 25).is_empty(), "filter OUTPUT");
    assert_eq!(p.stats().sent_local, 2);
}

#[test]
fn no_route_answers_net_unreachable() {
    let cfg = Config::parse(
        &CONFIG.replace(
            "dst = \"0.0.0.0/0\"\nvia = \"203.0.113.254\"",
            "dst = \"10.0.0.0/8\"\nvia = \"203.0.113.254\"",
        ),
        Path::new("t.toml"),
    )
    .unwrap();
    let topo = cfg.build().unwrap();
    let rs = Ruleset::default();
    let mut p = Pipeline::new(
        Arc::new(CompiledRuleset::compile(&rs, 1)),
        topo.fib.clone(),
        topo.neighbors.clone(),
    );
    let out = run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64));
    let back = tx_on(&out, LAN);
    assert_eq!(back.len(), 1, "{out:?}");
    assert_eq!(
        (back[0][14 + 20], back[0][14 + 21]),
        (3, 0),
        "net unreachable"
    );
    assert_eq!(p.stats().drops[DropReason::NoRoute], 1);
}

#[test]
fn reject_tcp_reset_goes_back_to_the_sender() {
    let mut p = pipeline(
        "*filter\n-A FORWARD -p tcp --dport 23 -j REJECT --reject-with tcp-reset\nCOMMIT\n",
    );
    let syn = tcp(HOST, SERVER, 40000, 23, SYN, 64);
    let out = run(&mut p, LAN, &syn);
    assert!(tx_on(&out, WAN).is_empty());
    let back = tx_on(&out, LAN);
    assert_eq!(back.len(), 1, "{out:?}");
    let (eth, ip) = back[0].split_at(14);
    assert_eq!(&eth[0..6], &HOST_MAC);
    assert_eq!(&eth[6..12], &LAN_MAC);
    // From the server to the host (the kernel's nf_send_reset swaps the addresses).
    assert_eq!((&ip[12..16], &ip[16..20]), (&SERVER[..], &HOST[..]));
    assert_eq!(
        (ip[6] & 0x40, ip[8], &ip[4..6]),
        (0x40, 64, &[0u8, 0][..]),
        "DF, TTL 64, ID 0"
    );
    assert_eq!(&ip[20..22], &23u16.to_be_bytes());
    assert_eq!(&ip[22..24], &40000u16.to_be_bytes());
    assert_eq!(
        u32::from_be_bytes(ip[28..32].try_into().unwrap()),
        1001,
        "ACK = SYN's seq + 1"
    );
    assert_eq!(ip[33], 0x14, "ACK RST");
    assert_eq!(sum(&ip[..20]), 0);
}

#[test]
fn reject_port_unreachable_from_the_appliance() {
    let mut p = pipeline("*filter\n-A INPUT -p tcp --dport 23 -j REJECT\n-A FORWARD -p tcp --dport 25 -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n");
    // To the appliance: the error comes from the address that was asked.
    let syn = tcp(HOST, [192, 168, 1, 1], 40000, 23, SYN, 64);
    let back = tx_on(&run(&mut p, LAN, &syn), LAN);
    assert_eq!(back.len(), 1);
    let ip = &back[0][14..];
    assert_eq!(
        (&ip[12..16], &ip[16..20]),
        (&[192, 168, 1, 1][..], &HOST[..])
    );
    assert_eq!(
        (ip[1], ip[9], ip[20], ip[21]),
        (0xc0, 1, 3, 3),
        "PREC 0xC0, ICMP port unreachable"
    );
    assert_eq!(&ip[28..], &syn[..], "the whole offending packet is quoted");
    assert_eq!(sum(&ip[20..]), 0);
    // Forwarded: from the LAN-side address of the appliance, host prohibited.
    let back = tx_on(
        &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 25, SYN, 64)),
        LAN,
    );
    let ip = &back[0][14..];
    assert_eq!(&ip[12..16], &[192, 168, 1, 1]);
    assert_eq!((ip[20], ip[21]), (3, 10));
    assert_eq!(
        ip[28 + 8],
        63,
        "the quoted header is the forwarded one (TTL already decremented)"
    );
}

/// REJECT's ICMP errors pass icmp_send's rate limits (6 at once per destination, then one
/// a second); its TCP resets are not ICMP and are all sent.
#[test]
fn reject_floods_answer_within_the_icmp_rate_limits() {
    let mut p = pipeline("*filter\n-A FORWARD -p tcp --dport 23 -j REJECT --reject-with tcp-reset\n-A FORWARD -p tcp --dport 25 -j REJECT\nCOMMIT\n");
    let answers = |p: &mut Pipeline, dport: u16, at: u64| -> usize {
        (0..20u16)
            .map(|i| {
                let mut out = Vec::new();
                let syn = tcp(HOST, SERVER, 40000 + i, dport, SYN, 64);
                p.receive(LAN, frame(LAN_MAC, HOST_MAC, &syn), at, &mut out);
                tx_on(&out, LAN).len()
            })
            .sum()
    };
    assert_eq!(answers(&mut p, 25, T0), 6, "port unreachable: a burst of 6");
    assert_eq!(p.stats().icmp_rate_limited, 14);
    assert_eq!(answers(&mut p, 23, T0), 20, "every SYN gets its reset");
    assert_eq!(
        answers(&mut p, 25, T0 + 1_000_000_000),
        1,
        "then one a second"
    );
    assert_eq!(p.stats().icmp_rate_limited, 33);
}

#[test]
fn nflog_queues_the_packet_as_each_hook_sees_it_and_goes_on() {
    let rules = "*mangle\n-A PREROUTING -p tcp -j NFLOG --nflog-group 1 --nflog-size 20 \
                 --nflog-prefix pre\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n\
                 -A FORWARD -j NFLOG --nflog-group 2\n-A FORWARD -p tcp --dport 80 -j ACCEPT\n\
                 COMMIT\n";
    let syn = tcp(HOST, SERVER, 40000, 80, SYN, 64);

    // Nobody collects: nothing is copied.
    let mut p = pipeline(rules);
    assert_eq!(tx_on(&run(&mut p, LAN, &syn), WAN).len(), 1);
    assert_eq!(p.drain_nflog().count(), 0);
    assert_eq!(p.stats().nflog, 0);

    let mut p = pipeline(rules);
    p.collect_nflog();
    let out = run(&mut p, LAN, &syn);
    // Not a verdict: the packet went on to the ACCEPT rule.
    let sent = tx_on(&out, WAN);
    assert_eq!(sent.len(), 1);
    let recs: Vec<_> = p.drain_nflog().collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        (recs[0].group, recs[0].prefix.as_str(), recs[0].ts_ns),
        (1, "pre", T0)
    );
    // PREROUTING: as it came in (TTL 64), cut to 20 bytes, the length kept.
    assert_eq!((recs[0].orig_len, &recs[0].data[..]), (40, &syn[..20]));
    // FORWARD: after the TTL was decremented, whole, as it went out.
    assert_eq!((recs[1].group, recs[1].prefix.as_str()), (2, ""));
    assert_eq!(recs[1].data[8], 63);
    assert_eq!(recs[1].data, sent[0][14..]);
    assert_eq!(p.stats().nflog, 2);
    assert_eq!(p.drain_nflog().count(), 0, "drained");

    // A worker that does not drain: bounded, the rest counted as lost.
    let mut p = pipeline("*raw\n-A PREROUTING -j NFLOG\n-A PREROUTING -j DROP\nCOMMIT\n");
    p.collect_nflog();
    let max = dataplane::pipeline::MAX_NFLOG_RECORDS;
    for _ in 0..max + 3 {
        run(&mut p, LAN, &syn);
    }
    assert_eq!((p.stats().nflog, p.stats().nflog_lost), (max as u64, 3));
    assert_eq!(p.drain_nflog().count(), max);
    // What the worker's channel refused is moved from queued to lost.
    p.count_nflog_lost(2);
    assert_eq!((p.stats().nflog, p.stats().nflog_lost), (max as u64 - 2, 5));
}

#[test]
fn set_target_queues_the_packets_element_and_goes_on() {
    let cfg = Config::parse(CONFIG, Path::new("test.toml")).expect("config");
    let topo = cfg.build().expect("topology");
    let mut rs = Ruleset::default();
    control::ipset::restore(
        &mut rs,
        "create seen hash:ip,port timeout 60\ncreate gone hash:ip\n",
        false,
        0,
    )
    .expect("sets");
    let rules = "*filter\n:FORWARD DROP [0:0]\n\
                 -A FORWARD -p tcp -j SET --add-set seen dst,dst --exist --timeout 30 --del-set gone src\n\
                 -A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";
    restore(rules, &mut rs, RestoreOptions::default()).expect("rules");
    let mut p = Pipeline::new(
        Arc::new(CompiledRuleset::compile(&rs, 1)),
        topo.fib.clone(),
        topo.neighbors.clone(),
    );
    p.set_sets(Arc::clone(&rs.sets));
    let syn = tcp(HOST, SERVER, 40000, 80, SYN, 64);
    // Not a verdict: the packet went on to the ACCEPT rule.
    assert_eq!(tx_on(&run(&mut p, LAN, &syn), WAN).len(), 1);
    let ops: Vec<_> = p.drain_set_ops().collect();
    use dataplane::ipset::kadt::OpElem;
    use dataplane::ipset::Elem;
    let seen = rs.sets.index("seen").unwrap();
    let gone = rs.sets.index("gone").unwrap();
    let summary: Vec<_> = ops
        .iter()
        .map(|o| (o.index, o.del, o.exist, o.timeout, o.elem.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                seen,
                false,
                true,
                Some(30),
                OpElem::One(Elem::IpPort(Ipv4Addr::from(SERVER).into(), 6, 80))
            ),
            (
                gone,
                true,
                true,
                None,
                OpElem::One(Elem::Ip(Ipv4Addr::from(HOST).into()))
            ),
        ]
    );
    assert_eq!(p.stats().set_ops, 2);
    // Applied as the control plane applies them: the element is in the next snapshot.
    let next = p
        .sets()
        .with_packet_ops(&ops, T0)
        .expect("the add changed a set");
    assert!(next
        .get(seen)
        .unwrap()
        .set
        .test_elem(&Elem::IpPort(Ipv4Addr::from(SERVER).into(), 6, 80), T0));

    // A worker that does not drain: bounded, the rest counted as lost.
    let max = dataplane::pipeline::MAX_SET_OPS;
    for _ in 0..max / 2 + 3 {
        run(&mut p, LAN, &syn);
    }
    assert_eq!(
        (p.stats().set_ops, p.stats().set_ops_lost),
        (max as u64 + 2, 6)
    );
    assert_eq!(p.drain_set_ops().count(), max);
}

#[test]
fn log_lines_have_the_kernel_shape() {
    let mut p = pipeline("*filter\n-A FORWARD -p tcp -j LOG --log-prefix \"FWD: \"\nCOMMIT\n");
    p.collect_log();
    run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64));
    assert_eq!(
        p.take_log(),
        [
            "FWD: IN=lan0 OUT=wan0 MAC=02:00:00:00:01:01:02:00:00:00:01:10:08:00 SRC=192.168.1.10 \
          DST=93.184.216.34 LEN=40 TOS=0x00 PREC=0x00 TTL=63 ID=4660 DF PROTO=TCP SPT=40000 DPT=80 \
          WINDOW=64240 RES=0x00 SYN URGP=0 "
        ]
    );
}

#[test]
fn mangle_rewrites_keep_checksums_valid() {
    let rules = "*mangle\n-A FORWARD -j TOS --set-tos 0x10/0x3f\n-A FORWARD -j TTL --ttl-set 200\n\
                 -A POSTROUTING -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200\nCOMMIT\n";
    let mut p = pipeline(rules);
    let mut syn = tcp(HOST, SERVER, 40000, 80, SYN, 64);
    // Give the SYN an MSS option of 1460.
    syn[2..4].copy_from_slice(&44u16.to_be_bytes());
    syn[32] = 0x60;
    syn.extend_from_slice(&[2, 4, 0x05, 0xb4]);
    syn[10] = 0;
    syn[11] = 0;
    let c = sum(&syn[..20]);
    syn[10..12].copy_from_slice(&c.to_be_bytes());
    syn[36] = 0;
    syn[37] = 0;
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&HOST);
    pseudo.extend_from_slice(&SERVER);
    pseudo.extend_from_slice(&[0, 6, 0, 24]);
    pseudo.extend_from_slice(&syn[20..]);
    let c = sum(&pseudo);
    syn[36..38].copy_from_slice(&c.to_be_bytes());

    let f = tx_on(&run(&mut p, LAN, &syn), WAN);
    let ip = &f[0][14..];
    assert_eq!((ip[1], ip[8]), (0x10, 200));
    assert_eq!(&ip[40..44], &[2, 4, 0x04, 0xb0], "MSS lowered to 1200");
    assert_eq!(sum(&ip[..20]), 0, "IP checksum");
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&ip[12..20]);
    pseudo.extend_from_slice(&[0, 6, 0, 24]);
    pseudo.extend_from_slice(&ip[20..]);
    assert_eq!(sum(&pseudo), 0, "TCP checksum");
}

/// One worker poll over memory ports lan0, wan0 and wan1 after SYNs from HOST to each
/// `(destination, port)` were injected on lan0: the poll's count and the two ports.
fn worker_poll_of_syns(
    p: Pipeline,
    syns: &[([u8; 4], u16)],
) -> (usize, dataplane::port::MemPort, dataplane::port::MemPort) {
    use dataplane::port::{MacAddr, MemPort, Port};
    use dataplane::worker::Worker;
    let mut lan = MemPort::new(LAN, "lan0", MacAddr(LAN_MAC), 1, 64);
    let mut wan = MemPort::new(WAN, "wan0", MacAddr([2, 0, 0, 0, 2, 1]), 1, 64);
    let mut wan1 = MemPort::new(WAN1, "wan1", MacAddr([2, 0, 0, 0, 3, 1]), 1, 64);
    for &(dst, dport) in syns {
        lan.inject(
            0,
            frame(LAN_MAC, HOST_MAC, &tcp(HOST, dst, 40000, dport, SYN, 64)).data(),
        )
        .unwrap();
    }
    let mut w = Worker::new(p, 0, 32, 3);
    let n = {
        let mut ports: [&mut dyn Port; 3] = [&mut lan, &mut wan, &mut wan1];
        w.poll(&mut ports, T0)
    };
    (n, lan, wan)
}

#[test]
fn worker_moves_bursts_between_memory_ports() {
    use dataplane::port::Port;
    let p = pipeline("*filter\n-A FORWARD -p tcp --dport 23 -j DROP\nCOMMIT\n");
    let (n, lan, mut wan) = worker_poll_of_syns(p, &[(SERVER, 80), (SERVER, 23), (SERVER, 443)]);
    assert_eq!(n, 3);
    let out = wan.take_tx(0);
    assert_eq!(out.len(), 2, "80 and 443 forwarded, 23 dropped");
    assert_eq!(wan.stats().tx_packets, 2);
    assert_eq!(lan.stats().rx_packets, 3);
}

/// The worker's pipeline puts forwarded frames straight into the port's transmit queue
/// while nothing it emitted waits before them: a frame of the same burst behind an ARP
/// request (emitted for a neighbour not yet resolved) leaves after it, as produced.
#[test]
fn worker_keeps_a_ports_frames_in_the_order_produced() {
    // To SERVER via the resolved gateway, to an unresolved on-link address, to SERVER.
    let syns = [(SERVER, 80), ([203, 0, 113, 7], 81), (SERVER, 82)];
    let (n, _, mut wan) = worker_poll_of_syns(pipeline(""), &syns);
    assert_eq!(n, 3);
    let what: Vec<String> = wan
        .take_tx(0)
        .iter()
        .map(|b| b.data().to_vec())
        .map(|f| match &f[12..14] {
            [0x08, 0x06] => format!("arp who-has {:?}", &f[38..42]),
            _ => format!("tcp dport {}", u16::from_be_bytes([f[36], f[37]])),
        })
        .collect();
    assert_eq!(
        what,
        [
            "tcp dport 80",
            "arp who-has [203, 0, 113, 7]",
            "tcp dport 82"
        ]
    );
}

#[test]
fn addrtype_limit_statistic_in_rules() {
    let rules = "*filter\n-A INPUT -m addrtype --dst-type BROADCAST -j DROP\n\
                 -A FORWARD -p tcp --dport 80 -m limit --limit 1/min --limit-burst 2 -j ACCEPT\n\
                 -A FORWARD -p tcp --dport 80 -j DROP\n\
                 -A FORWARD -p tcp --dport 81 -m statistic --mode nth --every 2 --packet 0 -j DROP\nCOMMIT\n";
    let mut p = pipeline(rules);
    // The LAN's broadcast address is local delivery, dropped by type; unicast is not.
    assert!(run(&mut p, LAN, &tcp(HOST, [192, 168, 1, 255], 1, 2, SYN, 64)).is_empty());
    assert_eq!(
        run(&mut p, LAN, &tcp(HOST, [192, 168, 1, 1], 1, 2, SYN, 64)).len(),
        1
    );
    // Burst of 2 at the same instant, then the limit.
    let sent: Vec<usize> = (0..3)
        .map(|_| {
            tx_on(
                &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)),
                WAN,
            )
            .len()
        })
        .collect();
    assert_eq!(sent, [1, 1, 0]);
    // --every 2 --packet 0 drops the 1st, 3rd... packet to 81, as a namespace router does
    // (tests/conformance/scenarios/m_statistic_nth.toml).
    let sent: Vec<usize> = (0..4)
        .map(|_| {
            tx_on(
                &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 81, SYN, 64)),
                WAN,
            )
            .len()
        })
        .collect();
    assert_eq!(sent, [0, 1, 0, 1]);
}

const STATEFUL: &str = "*filter\n:FORWARD DROP [0:0]\n\
    -A FORWARD -m conntrack --ctstate INVALID -j DROP\n\
    -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
    -A FORWARD -i lan0 -o wan0 -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";

#[test]
fn stateful_forwarding_lets_replies_in_only() {
    let mut p = pipeline(STATEFUL);
    let wan_mac = [2, 0, 0, 0, 2, 0xfe];
    let from_wan = |p: &mut Pipeline, ip: &[u8]| {
        let mut out = Vec::new();
        p.receive(WAN, frame([2, 0, 0, 0, 2, 1], wan_mac, ip), T0, &mut out);
        out
    };
    // A SYN/ACK out of nowhere is INVALID (rule 1).
    assert!(from_wan(&mut p, &tcp(SERVER, HOST, 80, 40000, 0x12, 64)).is_empty());
    // Unsolicited from the WAN: NEW, dropped by the policy, and leaves no entry.
    assert!(from_wan(&mut p, &tcp(SERVER, HOST, 80, 40000, SYN, 64)).is_empty());
    assert_eq!(
        p.conntrack().len(),
        0,
        "a NEW packet dropped by filter leaves no entry"
    );
    // The LAN opens, the reply comes back.
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    assert_eq!(p.conntrack().len(), 1);
    assert_eq!(
        tx_on(
            &from_wan(&mut p, &tcp(SERVER, HOST, 80, 40000, 0x12, 64)),
            LAN
        )
        .len(),
        1
    );
    let table = p.conntrack().listing(T0);
    assert!(
        table[0].contains(
            "SYN_RECV src=192.168.1.10 dst=93.184.216.34 sport=40000 dport=80 src=93.184.216.34"
        ),
        "{table:?}"
    );
    // A port unreachable about the connection is RELATED and passes.
    let mut body = vec![0u8; 4];
    body.extend_from_slice(&tcp(HOST, SERVER, 40000, 80, 0x10, 63));
    let mut err = vec![3, 3, 0, 0];
    err.extend_from_slice(&body);
    let c = sum(&err);
    err[2..4].copy_from_slice(&c.to_be_bytes());
    let mut icmp = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
    icmp.extend_from_slice(&SERVER);
    icmp.extend_from_slice(&HOST);
    icmp.extend_from_slice(&err);
    let len = icmp.len() as u16;
    icmp[2..4].copy_from_slice(&len.to_be_bytes());
    let c = sum(&icmp[..20]);
    icmp[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(tx_on(&from_wan(&mut p, &icmp), LAN).len(), 1, "RELATED");
    // A bad TCP checksum is INVALID and dropped by rule 1.
    let mut bad = tcp(SERVER, HOST, 80, 40000, 0x10, 64);
    bad[37] ^= 0x55;
    assert!(from_wan(&mut p, &bad).is_empty());
}

#[test]
fn notrack_connmark_and_table_full() {
    let rules = "*raw\n-A PREROUTING -p udp --dport 53 -j CT --notrack\nCOMMIT\n\
                 *mangle\n-A PREROUTING -j CONNMARK --restore-mark\n\
                 -A FORWARD -p tcp --dport 443 -j MARK --set-mark 7\n\
                 -A FORWARD -j CONNMARK --save-mark\nCOMMIT\n\
                 *filter\n-A FORWARD -m conntrack --ctstate UNTRACKED -j DROP\n\
                 -A FORWARD -m connmark --mark 7 -j ACCEPT\nCOMMIT\n";
    let mut p = pipeline(rules);
    let udp = {
        let mut u = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0];
        u.extend_from_slice(&HOST);
        u.extend_from_slice(&SERVER);
        u.extend_from_slice(&[0x14, 0xe9, 0, 53, 0, 8, 0, 0]);
        let c = sum(&u[..20]);
        u[10..12].copy_from_slice(&c.to_be_bytes());
        u
    };
    assert!(run(&mut p, LAN, &udp).is_empty(), "UNTRACKED dropped");
    assert_eq!(p.conntrack().len(), 0);
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 443, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    assert!(
        p.conntrack().listing(T0)[0].contains("mark=7"),
        "CONNMARK --save-mark"
    );

    // Table full: nf_conntrack_max 1, the only entry not ASSURED is evicted.
    let mut p = pipeline("*filter\n-A FORWARD -m state --state INVALID -j DROP\nCOMMIT\n");
    p.set_conntrack_config(dataplane::conntrack::CtConfig {
        max: 1,
        ..Default::default()
    });
    run(&mut p, LAN, &tcp(HOST, SERVER, 1, 80, SYN, 64));
    run(&mut p, LAN, &tcp(HOST, SERVER, 2, 80, SYN, 64));
    assert_eq!(
        (p.conntrack().len(), p.conntrack().stats().early_drop),
        (1, 1)
    );
}

fn from_wan(p: &mut Pipeline, ip: &[u8]) -> Vec<Emit> {
    let mut out = Vec::new();
    p.receive(
        WAN,
        frame([2, 0, 0, 0, 2, 1], [2, 0, 0, 0, 2, 0xfe], ip),
        T0,
        &mut out,
    );
    out
}

/// The IPv4 packet of the only frame sent on `port`.
fn one_on(out: &[Emit], port: PortId) -> Vec<u8> {
    let f = tx_on(out, port);
    assert_eq!(f.len(), 1, "{out:?}");
    f[0][14..].to_vec()
}

fn checksums_ok(ip: &[u8]) {
    assert_eq!(sum(&ip[..20]), 0, "IP checksum");
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&ip[12..20]);
    pseudo.extend_from_slice(&[0, ip[9]]);
    pseudo.extend_from_slice(&((ip.len() - 20) as u16).to_be_bytes());
    pseudo.extend_from_slice(&ip[20..]);
    assert_eq!(sum(&pseudo), 0, "TCP checksum");
}

const WAN_IP: [u8; 4] = [203, 0, 113, 1];

#[test]
fn masquerade_whole_connection() {
    let rules = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n".to_string() + STATEFUL;
    let mut p = pipeline(&rules);
    // SYN out: the source becomes wan0's address, the port is kept (free).
    let syn = one_on(
        &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)),
        WAN,
    );
    assert_eq!((&syn[12..16], &syn[16..20]), (&WAN_IP[..], &SERVER[..]));
    assert_eq!(&syn[20..22], &40000u16.to_be_bytes());
    checksums_ok(&syn);
    // SYN/ACK back to the public address: un-NATed to the host.
    let synack = one_on(
        &from_wan(&mut p, &tcp(SERVER, WAN_IP, 80, 40000, 0x12, 64)),
        LAN,
    );
    assert_eq!((&synack[12..16], &synack[16..20]), (&SERVER[..], &HOST[..]));
    assert_eq!(&synack[22..24], &40000u16.to_be_bytes());
    checksums_ok(&synack);
    // ACK out; the table shows the binding.
    one_on(
        &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, 0x10, 64)),
        WAN,
    );
    let table = p.conntrack().listing(T0);
    assert_eq!(
        table,
        ["ipv4     2 tcp      6 432000 ESTABLISHED src=192.168.1.10 dst=93.184.216.34 sport=40000 dport=80 \
          src=93.184.216.34 dst=203.0.113.1 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2"]
    );
    // A second host with the same source port gets another port: tuples stay unique.
    let other = [192, 168, 1, 11];
    let syn2 = one_on(
        &run(&mut p, LAN, &tcp(other, SERVER, 40000, 80, SYN, 64)),
        WAN,
    );
    assert_eq!(&syn2[12..16], &WAN_IP[..]);
    let port2 = u16::from_be_bytes([syn2[20], syn2[21]]);
    assert!(
        port2 != 40000 && port2 >= 1024,
        "remapped within 1024-65535: {port2}"
    );
    checksums_ok(&syn2);
    // Only the first packet of each connection went through the nat chain.
    let rs = p.ruleset().clone();
    let post = rs
        .table(dataplane::ruleset::TableKind::Nat)
        .unwrap()
        .chains
        .iter()
        .find(|c| c.name == "POSTROUTING")
        .unwrap();
    assert_eq!(p.counters()[post.rules[0].slot as usize].packets, 2);
}

#[test]
fn dnat_port_forward_and_hairpin() {
    let rules = "*nat\n\
        -A PREROUTING -d 203.0.113.1 -p tcp --dport 8080 -j DNAT --to-destination 192.168.1.10:80\n\
        -A POSTROUTING -s 192.168.1.0/24 -d 192.168.1.10 -p tcp --dport 80 -j MASQUERADE\n\
        -A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n";
    let mut p = pipeline(rules);
    // From the internet to the public address: forwarded to the LAN server.
    let client = [8, 8, 4, 4];
    let syn = one_on(
        &from_wan(&mut p, &tcp(client, WAN_IP, 50000, 8080, SYN, 64)),
        LAN,
    );
    assert_eq!((&syn[12..16], &syn[16..20]), (&client[..], &HOST[..]));
    assert_eq!(&syn[22..24], &80u16.to_be_bytes());
    checksums_ok(&syn);
    // The server's answer leaves from the public address and port.
    let synack = one_on(
        &run(&mut p, LAN, &tcp(HOST, client, 80, 50000, 0x12, 64)),
        WAN,
    );
    assert_eq!(
        (&synack[12..16], &synack[16..20]),
        (&WAN_IP[..], &client[..])
    );
    assert_eq!(&synack[20..22], &8080u16.to_be_bytes());
    checksums_ok(&synack);
    // Hairpin: a LAN client uses the public address; DNAT plus SNAT to the router.
    let lan_client = [192, 168, 1, 20];
    let mut out = Vec::new();
    p.receive(
        LAN,
        frame(
            LAN_MAC,
            [2, 0, 0, 0, 1, 0x20],
            &tcp(lan_client, WAN_IP, 41000, 8080, SYN, 64),
        ),
        T0,
        &mut out,
    );
    let hp = one_on(&out, LAN);
    assert_eq!(
        (&hp[12..16], &hp[16..20]),
        (&[192, 168, 1, 1][..], &HOST[..]),
        "to the server, from the router"
    );
    assert_eq!(&hp[22..24], &80u16.to_be_bytes());
    checksums_ok(&hp);
    let table = p.conntrack().listing(T0);
    assert!(table.iter().any(|l| l.contains("src=192.168.1.20 dst=203.0.113.1 sport=41000 dport=8080 [UNREPLIED] src=192.168.1.10 dst=192.168.1.1 sport=80 dport=41000")), "{table:?}");
}

#[test]
fn snat_ping_and_the_snat_state() {
    let rules = "*nat\n-A POSTROUTING -o wan0 -p icmp -j SNAT --to-source 203.0.113.9\nCOMMIT\n\
                 *filter\n-A FORWARD -m conntrack --ctstate SNAT -j LOG --log-prefix \"snat \"\nCOMMIT\n";
    let mut p = pipeline(rules);
    p.collect_log();
    let mut echo = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
    let c = sum(&echo);
    echo[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ping = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0];
    ping.extend_from_slice(&HOST);
    ping.extend_from_slice(&SERVER);
    ping.extend_from_slice(&echo);
    let c = sum(&ping[..20]);
    ping[10..12].copy_from_slice(&c.to_be_bytes());
    let out = one_on(&run(&mut p, LAN, &ping), WAN);
    assert_eq!(&out[12..16], &[203, 0, 113, 9]);
    assert_eq!(sum(&out[20..]), 0, "ICMP checksum");
    // The echo reply to 203.0.113.9 comes back to the host.
    let mut reply = out.clone();
    reply[12..16].copy_from_slice(&SERVER);
    reply[16..20].copy_from_slice(&[203, 0, 113, 9]);
    reply[20] = 0;
    reply[22] = 0;
    reply[23] = 0;
    let c = sum(&reply[20..]);
    reply[22..24].copy_from_slice(&c.to_be_bytes());
    reply[10] = 0;
    reply[11] = 0;
    let c = sum(&reply[..20]);
    reply[10..12].copy_from_slice(&c.to_be_bytes());
    let back = one_on(&from_wan(&mut p, &reply), LAN);
    assert_eq!(&back[16..20], &HOST[..]);
    assert_eq!(sum(&back[..20]), 0);
    // The SNAT state is visible to rules from the second packet on (the binding exists).
    assert_eq!(p.take_log().len(), 1, "the reply matched --ctstate SNAT");
}

fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut u = vec![0x45, 0, 0, 32, 0, 7, 0, 0, 64, 17, 0, 0];
    u.extend_from_slice(&src);
    u.extend_from_slice(&dst);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&[0, 12, 0, 0, b'q', b'u', b'e', b'r']);
    let c = sum(&u[..20]);
    u[10..12].copy_from_slice(&c.to_be_bytes());
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 17, 0, 12]);
    pseudo.extend_from_slice(&u[20..]);
    let c = sum(&pseudo);
    u[26..28].copy_from_slice(&c.to_be_bytes());
    u
}

#[test]
fn a_nat_binding_without_a_free_port_drops_under_its_own_reason() {
    // One public port: the second LAN host's flow clashes with the first and finds no
    // other identity, so the kernel (nf_nat_setup_info failing) drops it.
    let mut p = pipeline(
        "*nat\n-A POSTROUTING -o wan0 -p udp -j SNAT --to-source 203.0.113.9:1000\nCOMMIT\n",
    );
    let out = one_on(&run(&mut p, LAN, &udp(HOST, SERVER, 5000, 53)), WAN);
    assert_eq!(&out[12..16], &[203, 0, 113, 9]);
    assert_eq!(&out[20..22], &1000u16.to_be_bytes());
    let other = [192, 168, 1, 11];
    assert!(tx_on(&run(&mut p, LAN, &udp(other, SERVER, 5000, 53)), WAN).is_empty());
    let drops = &p.stats().drops;
    assert_eq!(drops[DropReason::Nat], 1, "{drops:?}");
    assert_eq!(drops.total(), 1, "counted once, under nat only: {drops:?}");
    assert_eq!(p.stats().forwarded, 1);
}

/// MASQUERADE keeps the egress port's address from one connection to the next while
/// the FIB is unchanged; an address change, or a route change to another port, gives
/// the next new connection the new address.
#[test]
fn masquerade_follows_an_address_change_and_a_route_change() {
    let rules = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\n-A POSTROUTING -o wan1 -j MASQUERADE\nCOMMIT\n";
    for p in [pipeline(rules), untraced_pipeline(rules)] {
        masquerade_follows_changes(p);
    }
}

fn masquerade_follows_changes(mut p: Pipeline) {
    let fib_of = |config: &str| {
        Config::parse(config, Path::new("test.toml"))
            .expect("config")
            .build()
            .expect("topology")
            .fib
    };
    for sport in [5001, 5002] {
        let out = one_on(&run(&mut p, LAN, &udp(HOST, SERVER, sport, 53)), WAN);
        assert_eq!(&out[12..16], &WAN_IP, "connection from port {sport}");
    }
    // wan0's address changes: the next new connection takes the new one.
    let renumbered = CONFIG.replace("203.0.113.1/24", "203.0.113.7/24");
    assert_ne!(renumbered, CONFIG);
    p.set_fib(fib_of(&renumbered));
    let out = one_on(&run(&mut p, LAN, &udp(HOST, SERVER, 5003, 53)), WAN);
    assert_eq!(&out[12..16], &[203, 0, 113, 7]);
    // The default route moves to wan1: its address.
    let rerouted = renumbered.replacen("via = \"203.0.113.254\"", "via = \"198.51.100.254\"", 1);
    assert_ne!(rerouted, renumbered);
    p.set_fib(fib_of(&rerouted));
    let out = one_on(&run(&mut p, LAN, &udp(HOST, SERVER, 5004, 53)), WAN1);
    assert_eq!(&out[12..16], &[198, 51, 100, 1]);
    // And back: wan0's address as it is now.
    p.set_fib(fib_of(&renumbered));
    let out = one_on(&run(&mut p, LAN, &udp(HOST, SERVER, 5005, 53)), WAN);
    assert_eq!(&out[12..16], &[203, 0, 113, 7]);
}

/// A built-in chain of one rule (`TablePlan::Single`, taken by untraced packets)
/// decides and counts as the traversal (taken by traced ones): its rule, then its policy.
#[test]
fn a_chain_of_one_rule_decides_and_counts_as_the_traversal() {
    let rules = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
        *filter\n:FORWARD DROP [0:0]\n-A FORWARD -p udp -j ACCEPT\nCOMMIT\n";
    let outcome = |mut p: Pipeline| {
        let accepted = one_on(&run(&mut p, LAN, &udp(HOST, SERVER, 5001, 53)), WAN);
        let dropped = run(&mut p, LAN, &tcp(HOST, SERVER, 5002, 80, SYN, 64)).len();
        let counters: Vec<(u64, u64)> = p.counters().iter().map(|c| (c.packets, c.bytes)).collect();
        (accepted, dropped, counters, p.stats().forwarded)
    };
    let traced = outcome(pipeline(rules));
    let untraced = outcome(untraced_pipeline(rules));
    assert_eq!(&traced.0[12..16], &WAN_IP, "masqueraded");
    assert_eq!(traced.1, 0, "FORWARD's policy dropped the TCP segment");
    assert_eq!(traced.3, 1);
    assert!(traced.2.iter().any(|&(n, _)| n > 0), "counted");
    assert_eq!(traced, untraced);
}

#[test]
fn icmp_error_for_a_natted_udp_flow_goes_back_to_the_host() {
    let rules = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n";
    let mut p = pipeline(rules);
    let out = one_on(&run(&mut p, LAN, &udp(HOST, SERVER, 5353, 53)), WAN);
    assert_eq!(&out[12..16], &WAN_IP);
    // The server answers with a port unreachable quoting what it received.
    let mut err = vec![3, 3, 0, 0, 0, 0, 0, 0];
    err.extend_from_slice(&out);
    let c = sum(&err);
    err[2..4].copy_from_slice(&c.to_be_bytes());
    let mut icmp = vec![0x45, 0, 0, 0, 0, 9, 0, 0, 64, 1, 0, 0];
    icmp.extend_from_slice(&SERVER);
    icmp.extend_from_slice(&WAN_IP);
    icmp.extend_from_slice(&err);
    let len = icmp.len() as u16;
    icmp[2..4].copy_from_slice(&len.to_be_bytes());
    let c = sum(&icmp[..20]);
    icmp[10..12].copy_from_slice(&c.to_be_bytes());

    let back = one_on(&from_wan(&mut p, &icmp), LAN);
    assert_eq!(
        (&back[12..16], &back[16..20]),
        (&SERVER[..], &HOST[..]),
        "outer: to the host"
    );
    assert_eq!(sum(&back[..20]), 0);
    assert_eq!(
        sum(&back[20..]),
        0,
        "ICMP checksum over the rewritten quote"
    );
    let inner = &back[28..];
    assert_eq!(
        (&inner[12..16], &inner[16..20]),
        (&HOST[..], &SERVER[..]),
        "the quote shows what the host sent"
    );
    assert_eq!(&inner[20..22], &5353u16.to_be_bytes());
    assert_eq!(sum(&inner[..20]), 0, "quoted IP header checksum");
    // Byte for byte what the host sent, but for the TTL the router took off (and the
    // header checksum that covers it).
    let mut sent = udp(HOST, SERVER, 5353, 53);
    sent[8] = 63;
    sent[10] = 0;
    sent[11] = 0;
    let c = sum(&sent[..20]);
    sent[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(inner, &sent[..]);
}

#[test]
fn connlimit_and_recent_in_rules() {
    let rules = "*filter\n\
        -A FORWARD -p tcp --dport 22 -m conntrack --ctstate NEW -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset\n\
        -A FORWARD -p tcp --dport 23 -m recent --name t --rcheck --seconds 60 -j DROP\n\
        -A FORWARD -p tcp --dport 24 -m recent --name t --set -j ACCEPT\nCOMMIT\n";
    let mut p = pipeline(rules);
    // Two SSH connections from the host pass; the third is refused with a reset.
    for port in [1001, 1002] {
        assert_eq!(
            tx_on(
                &run(&mut p, LAN, &tcp(HOST, SERVER, port, 22, SYN, 64)),
                WAN
            )
            .len(),
            1
        );
    }
    let third = run(&mut p, LAN, &tcp(HOST, SERVER, 1003, 22, SYN, 64));
    assert!(tx_on(&third, WAN).is_empty());
    assert_eq!(tx_on(&third, LAN).len(), 1, "tcp-reset back to the host");
    // Another host is a different group.
    assert_eq!(
        tx_on(
            &run(
                &mut p,
                LAN,
                &tcp([192, 168, 1, 11], SERVER, 1001, 22, SYN, 64)
            ),
            WAN
        )
        .len(),
        1
    );
    // Port 23 passes until the host touched port 24 (recent --set), then it is dropped.
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 2000, 23, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 2001, 24, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    assert!(run(&mut p, LAN, &tcp(HOST, SERVER, 2002, 23, SYN, 64)).is_empty());
}

fn big_udp(len: usize, df: bool) -> Vec<u8> {
    let mut u = vec![
        0x45,
        0,
        0,
        0,
        0x55,
        0x66,
        if df { 0x40 } else { 0 },
        0,
        64,
        17,
        0,
        0,
    ];
    u.extend_from_slice(&HOST);
    u.extend_from_slice(&SERVER);
    u.extend_from_slice(&7000u16.to_be_bytes());
    u.extend_from_slice(&53u16.to_be_bytes());
    u.extend_from_slice(&((len + 8) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]); // no UDP checksum
    u.extend((0..len).map(|i| (i % 251) as u8));
    let l = u.len() as u16;
    u[2..4].copy_from_slice(&l.to_be_bytes());
    let c = sum(&u[..20]);
    u[10..12].copy_from_slice(&c.to_be_bytes());
    u
}

#[test]
fn fragments_are_reassembled_tracked_and_cut_again() {
    // A conntrack rule turns conntrack (and so reassembly) on, as in the kernel.
    let mut p = pipeline(
        "*filter\n-A FORWARD -m conntrack --ctstate INVALID -j DROP\n\
         -A FORWARD -p udp --dport 53 -j ACCEPT\n-A FORWARD -j DROP\nCOMMIT\n",
    );
    let whole = big_udp(2500, false);
    let frags = dataplane::defrag::fragment(&whole, 1000);
    assert_eq!(frags.len(), 3);
    // The first fragments are held; the rule on the UDP port (in the first fragment
    // only) still decides for the whole datagram once it is complete.
    assert!(run(&mut p, LAN, &frags[2]).is_empty());
    assert!(run(&mut p, LAN, &frags[0]).is_empty());
    let out = run(&mut p, LAN, &frags[1]);
    let sent = tx_on(&out, WAN);
    assert_eq!(
        sent.len(),
        3,
        "cut again, no piece larger than the largest that arrived"
    );
    assert!(sent.iter().all(|f| f.len() - 14 <= 1000));
    assert_eq!(p.conntrack().len(), 1, "conntrack saw one datagram");
    let mut r = dataplane::defrag::Defrag::default();
    let mut back = None;
    for f in &sent {
        if let dataplane::defrag::Reassembly::Complete(d, _) = r.push(&f[14..], 0) {
            back = Some(d);
        }
    }
    let mut want = whole.clone();
    want[8] = 63;
    want[10] = 0;
    want[11] = 0;
    let c = sum(&want[..20]);
    want[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(back.unwrap(), want);
}

#[test]
fn without_conntrack_rules_nothing_is_tracked_or_reassembled() {
    // The kernel registers conntrack and defragmentation in a namespace only when a rule
    // needs them; a stateless ruleset forwards fragments as they come.
    let mut p = pipeline("*filter\n-A FORWARD -p tcp --dport 23 -j DROP\nCOMMIT\n");
    run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64));
    assert!(p.conntrack().is_empty());
    let frags = dataplane::defrag::fragment(&big_udp(2500, false), 1000);
    assert_eq!(
        tx_on(&run(&mut p, LAN, &frags[1]), WAN).len(),
        1,
        "forwarded as it came"
    );
}

#[test]
fn df_too_big_gets_fragmentation_needed() {
    let mut p = pipeline("*filter\nCOMMIT\n");
    let big = big_udp(1600, true);
    let out = run(&mut p, LAN, &big);
    assert!(tx_on(&out, WAN).is_empty());
    let icmp = one_on(&out, LAN);
    assert_eq!((icmp[20], icmp[21]), (3, 4), "fragmentation needed");
    assert_eq!(&icmp[26..28], &1500u16.to_be_bytes(), "next-hop MTU");
    assert_eq!(sum(&icmp[20..]), 0);
    // Without DF it is fragmented instead.
    let out = run(&mut p, LAN, &big_udp(1600, false));
    assert_eq!(tx_on(&out, WAN).len(), 2);
}

#[allow(clippy::too_many_arguments)]
fn tcp_seg(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    data: &[u8],
) -> Vec<u8> {
    let mut p = tcp(src, dst, sport, dport, flags, 64);
    p[24..28].copy_from_slice(&seq.to_be_bytes());
    p[28..32].copy_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(data);
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p[10] = 0;
    p[11] = 0;
    let c = sum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[36] = 0;
    p[37] = 0;
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&((p.len() - 20) as u16).to_be_bytes());
    pseudo.extend_from_slice(&p[20..]);
    let c = sum(&pseudo);
    p[36..38].copy_from_slice(&c.to_be_bytes());
    p
}

const FTP_RULES: &str = "*raw\n-A PREROUTING -p tcp --dport 21 -j CT --helper ftp\nCOMMIT\n\
    *nat\n-A PREROUTING -d 203.0.113.1 -p tcp --dport 21 -j DNAT --to-destination 192.168.1.10\n\
    -A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
    *filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
    -A FORWARD -p tcp --dport 21 -j ACCEPT\nCOMMIT\n";

#[test]
fn active_ftp_through_masquerade() {
    let mut p = pipeline(FTP_RULES);
    let (ack_flag, psh_ack) = (0x10, 0x18);
    one_on(
        &run(
            &mut p,
            LAN,
            &tcp_seg(HOST, SERVER, 40000, 21, SYN, 1000, 0, b""),
        ),
        WAN,
    );
    one_on(
        &from_wan(
            &mut p,
            &tcp_seg(SERVER, WAN_IP, 21, 40000, 0x12, 5000, 1001, b""),
        ),
        LAN,
    );
    one_on(
        &run(
            &mut p,
            LAN,
            &tcp_seg(HOST, SERVER, 40000, 21, ack_flag, 1001, 5001, b""),
        ),
        WAN,
    );
    // The client announces its private address; it leaves with the public one.
    let cmd = b"PORT 192,168,1,10,156,65\r\n";
    let out = one_on(
        &run(
            &mut p,
            LAN,
            &tcp_seg(HOST, SERVER, 40000, 21, psh_ack, 1001, 5001, cmd),
        ),
        WAN,
    );
    assert_eq!(&out[40..], b"PORT 203,0,113,1,156,65\r\n");
    assert_eq!(u16::from_be_bytes([out[2], out[3]]) as usize, out.len());
    checksums_ok(&out);
    // The server acknowledges the shorter text; the client sees its own numbering.
    let ack_back = one_on(
        &from_wan(
            &mut p,
            &tcp_seg(SERVER, WAN_IP, 21, 40000, ack_flag, 5001, 1001 + 25, b""),
        ),
        LAN,
    );
    assert_eq!(
        u32::from_be_bytes(ack_back[28..32].try_into().unwrap()),
        1001 + 26
    );
    checksums_ok(&ack_back);
    // The client's next segment is shifted into the server's numbering.
    let next = one_on(
        &run(
            &mut p,
            LAN,
            &tcp_seg(HOST, SERVER, 40000, 21, psh_ack, 1027, 5001, b"LIST\r\n"),
        ),
        WAN,
    );
    assert_eq!(u32::from_be_bytes(next[24..28].try_into().unwrap()), 1026);
    checksums_ok(&next);
    // The server's data connection to the announced port is RELATED and reaches the client.
    let data = one_on(
        &from_wan(
            &mut p,
            &tcp_seg(SERVER, WAN_IP, 20, 40001, SYN, 9000, 0, b""),
        ),
        LAN,
    );
    assert_eq!(
        (&data[16..20], &data[22..24]),
        (&HOST[..], &40001u16.to_be_bytes()[..])
    );
    checksums_ok(&data);
}

#[test]
fn passive_ftp_to_a_forwarded_server() {
    let mut p = pipeline(FTP_RULES);
    let client = [8, 8, 4, 4];
    let (ack_flag, psh_ack) = (0x10, 0x18);
    one_on(
        &from_wan(
            &mut p,
            &tcp_seg(client, WAN_IP, 50000, 21, SYN, 100, 0, b""),
        ),
        LAN,
    );
    one_on(
        &run(
            &mut p,
            LAN,
            &tcp_seg(HOST, client, 21, 50000, 0x12, 7000, 101, b""),
        ),
        WAN,
    );
    one_on(
        &from_wan(
            &mut p,
            &tcp_seg(client, WAN_IP, 50000, 21, ack_flag, 101, 7001, b""),
        ),
        LAN,
    );
    // The server announces its private address in the 227 answer; the client gets the public one.
    let answer = b"227 Entering Passive Mode (192,168,1,10,195,80).\r\n";
    let out = one_on(
        &run(
            &mut p,
            LAN,
            &tcp_seg(HOST, client, 21, 50000, psh_ack, 7001, 101, answer),
        ),
        WAN,
    );
    assert_eq!(
        &out[40..],
        b"227 Entering Passive Mode (203,0,113,1,195,80).\r\n"
    );
    checksums_ok(&out);
    // The client's data connection to the public address is RELATED and forwarded inside.
    let data = one_on(
        &from_wan(
            &mut p,
            &tcp_seg(client, WAN_IP, 50001, 50000, SYN, 300, 0, b""),
        ),
        LAN,
    );
    assert_eq!(
        (&data[16..20], &data[22..24]),
        (&HOST[..], &50000u16.to_be_bytes()[..])
    );
    checksums_ok(&data);
    assert!(p.conntrack().listing(T0).iter().any(|l| l
        .contains("dport=50000 [UNREPLIED] src=192.168.1.10 dst=8.8.4.4 sport=50000 dport=50001")));
}

/// The close of a masqueraded connection, state by state, as `conntrack -L` shows it.
/// States and timeouts are the kernel's (nf_conntrack_proto_tcp's table and defaults); a
/// namespace router with `-t nat -A POSTROUTING -o r1 -j MASQUERADE` showed, for the same
/// client port, `ESTABLISHED src=192.168.7.10 dst=203.0.113.9 sport=40000 dport=80
/// src=203.0.113.9 dst=203.0.113.1 sport=80 dport=40000 [ASSURED]` (port kept) and, after
/// the close, `ipv4     2 tcp      6 119 TIME_WAIT ...` in /proc/net/nf_conntrack.
#[test]
fn masqueraded_connection_closes_through_the_tcp_states() {
    let mut p =
        pipeline(&("*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n".to_string() + STATEFUL));
    let state = |p: &Pipeline| {
        let l = p.conntrack().listing(T0);
        assert_eq!(l.len(), 1, "{l:?}");
        l[0].split_whitespace().nth(5).unwrap_or("").to_string()
    };
    let out = |p: &mut Pipeline, flags, seq, ack| {
        one_on(
            &run(
                p,
                LAN,
                &tcp_seg(HOST, SERVER, 40000, 80, flags, seq, ack, b""),
            ),
            WAN,
        )
    };
    let back = |p: &mut Pipeline, flags, seq, ack| {
        one_on(
            &from_wan(p, &tcp_seg(SERVER, WAN_IP, 80, 40000, flags, seq, ack, b"")),
            LAN,
        )
    };
    out(&mut p, SYN, 1000, 0);
    assert_eq!(state(&p), "SYN_SENT");
    back(&mut p, 0x12, 5000, 1001);
    assert_eq!(state(&p), "SYN_RECV");
    out(&mut p, 0x10, 1001, 5001);
    assert_eq!(state(&p), "ESTABLISHED");
    assert!(p.conntrack().listing(T0)[0].contains("[ASSURED]"));
    out(&mut p, 0x11, 1001, 5001);
    assert_eq!(state(&p), "FIN_WAIT");
    back(&mut p, 0x10, 5001, 1002);
    assert_eq!(state(&p), "CLOSE_WAIT");
    back(&mut p, 0x11, 5001, 1002);
    assert_eq!(state(&p), "LAST_ACK");
    out(&mut p, 0x10, 1002, 5002);
    assert_eq!(state(&p), "TIME_WAIT");
    assert!(p.conntrack().listing(T0)[0].starts_with("ipv4     2 tcp      6 120 TIME_WAIT"));
    // 120 s later the entry is gone.
    p.conntrack_mut().expire(T0 + 121 * 1_000_000_000);
    assert!(p.conntrack().is_empty());
}

/// A built-in chain headed by a `--ctstate` rule with ACCEPT or DROP: the hooks decide
/// that rule themselves for untraced packets (`TablePlan::Traverse { head }`). The
/// verdicts, rule counters and drops are those of the full traversal (a traced run), the
/// inverted DROP head included.
#[test]
fn a_ctstate_head_rule_decides_as_the_traversal_does() {
    use dataplane::ruleset::TableKind;
    let rules = "*filter\n:FORWARD DROP [0:0]\n:INPUT ACCEPT [0:0]\n\
        -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        -A FORWARD -i lan0 -o wan0 -p tcp --dport 80 -j ACCEPT\n\
        -A INPUT -m conntrack ! --ctstate NEW,ESTABLISHED -j DROP\n\
        -A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let mut traced = pipeline(rules);
    let mut fast = untraced_pipeline(rules);
    let wan_mac = [2, 0, 0, 0, 2, 0xfe];
    let mut outs = Vec::new();
    for p in [&mut fast, &mut traced] {
        let from_wan = |p: &mut Pipeline, ip: &[u8]| {
            let mut out = Vec::new();
            p.receive(WAN, frame([2, 0, 0, 0, 2, 1], wan_mac, ip), T0, &mut out);
            out
        };
        // NEW through rule 2, then the reply and the next segment through the head; then
        // a NEW one to port 443: not the head, not rule 2: FORWARD's policy drops it.
        let sent = [
            tx_on(&run(p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)), WAN),
            tx_on(&from_wan(p, &tcp(SERVER, HOST, 80, 40000, 0x12, 64)), LAN),
            tx_on(&run(p, LAN, &tcp(HOST, SERVER, 40000, 80, 0x10, 64)), WAN),
            tx_on(&run(p, LAN, &tcp(HOST, SERVER, 40001, 443, SYN, 64)), WAN),
        ];
        // To the appliance: a NEW SSH connection passes the inverted head; a SYN/ACK out
        // of nowhere is INVALID and the inverted head drops it.
        let ssh = run(p, LAN, &tcp(HOST, [192, 168, 1, 1], 40002, 22, SYN, 64));
        assert!(matches!(ssh.as_slice(), [Emit::Local { .. }]), "{ssh:?}");
        let stray = run(p, LAN, &tcp(HOST, [192, 168, 1, 1], 40003, 22, 0x12, 64));
        assert!(stray.is_empty(), "{stray:?}");
        outs.push(sent.iter().map(Vec::len).collect::<Vec<_>>());
    }
    assert_eq!(outs[0], [1, 1, 1, 0]);
    assert_eq!(outs[0], outs[1]);
    assert_eq!(fast.counters(), traced.counters());
    assert_eq!(fast.stats(), traced.stats());
    assert_eq!(fast.stats().drops[DropReason::Rules], 2);
    let rs = fast.ruleset().clone();
    let rule = |chain: &str, i: usize| {
        let t = rs.table(TableKind::Filter).unwrap();
        let c = t.chains.iter().find(|c| c.name == chain).unwrap();
        let r = fast.counters()[c.rules[i].slot as usize];
        (r.packets, r.bytes)
    };
    assert_eq!(
        rule("FORWARD", 0),
        (2, 80),
        "the head: the SYN/ACK and the ACK"
    );
    assert_eq!(rule("FORWARD", 1), (1, 40));
    assert_eq!(
        rule("INPUT", 0),
        (1, 40),
        "the inverted head: the stray SYN/ACK"
    );
    assert_eq!(rule("INPUT", 1), (1, 40));
}

/// `-j TRACE` marks a packet: from the next rule on, each rule it matches and each policy
/// it meets leaves a TRACE line where LOG lines go (as nf_log prints them), in every
/// table; the TRACE rule's own match is not a line, and unmarked packets leave none.
#[test]
fn the_trace_target_traces_the_rest_of_its_packets_way() {
    let rules = "*raw\n-A PREROUTING -p tcp --dport 80 -j TRACE\nCOMMIT\n\
        *filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        -A FORWARD -i lan0 -p tcp -j ACCEPT\nCOMMIT\n";
    let mut p = untraced_pipeline(rules);
    p.collect_log();
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 443, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    assert!(p.take_log().is_empty(), "not marked: no TRACE lines");
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40001, 80, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    let lines = p.take_log();
    let heads: Vec<&str> = lines
        .iter()
        .map(|l| l.split(" IN=").next().unwrap_or(""))
        .collect();
    assert_eq!(
        heads,
        [
            "TRACE: raw:PREROUTING:policy:2",
            "TRACE: mangle:PREROUTING:policy:1",
            "TRACE: nat:PREROUTING:policy:1",
            "TRACE: mangle:FORWARD:policy:1",
            "TRACE: filter:FORWARD:rule:2",
            "TRACE: mangle:POSTROUTING:policy:1",
            "TRACE: nat:POSTROUTING:policy:1",
        ],
        "{lines:?}"
    );
    assert!(
        lines[4].contains("IN=lan0 OUT=wan0 ") && lines[4].contains("DPT=80 "),
        "{lines:?}"
    );
    // The same lines as a fully traced pipeline prints for that packet after the TRACE
    // rule's own.
    let mut traced = pipeline(rules);
    run(&mut traced, LAN, &tcp(HOST, SERVER, 40000, 443, SYN, 64));
    traced.take_trace();
    run(&mut traced, LAN, &tcp(HOST, SERVER, 40001, 80, SYN, 64));
    let all = traced.take_trace();
    assert!(
        all[0].starts_with("TRACE: raw:PREROUTING:rule:1 "),
        "{all:?}"
    );
    assert_eq!(all[1..], lines[..]);
}

/// Built-in chains without rules are not traversed on the untraced fast path, but their
/// policy counters still count every packet (as `iptables -L -v` shows them on the
/// kernel) and a DROP policy still drops: the same counters and stats as a traced run.
#[test]
fn empty_builtin_chains_count_their_policy_without_a_traversal() {
    use dataplane::ruleset::TableKind;
    let rules = "*raw\nCOMMIT\n*mangle\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let mut traced = pipeline(rules);
    let cfg = Config::parse(CONFIG, Path::new("test.toml")).expect("config");
    let topo = cfg.build().expect("topology");
    let mut rs = Ruleset::default();
    restore(rules, &mut rs, RestoreOptions::default()).expect("rules");
    let mut fast = Pipeline::new(
        Arc::new(CompiledRuleset::compile(&rs, 1)),
        topo.fib.clone(),
        topo.neighbors.clone(),
    );
    for p in [&mut traced, &mut fast] {
        // Two forwarded (dropped by FORWARD's policy), one to the appliance (accepted).
        assert!(run(p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)).is_empty());
        assert!(run(p, LAN, &tcp(HOST, SERVER, 40001, 80, SYN, 64)).is_empty());
        let local = run(p, LAN, &tcp(HOST, [192, 168, 1, 1], 40002, 22, SYN, 64));
        assert!(
            matches!(local.as_slice(), [Emit::Local { .. }]),
            "{local:?}"
        );
    }
    assert_eq!(fast.counters(), traced.counters());
    assert_eq!(fast.stats(), traced.stats());
    assert_eq!(fast.stats().drops[DropReason::Rules], 2);
    let rs = fast.ruleset().clone();
    let policy = |table: TableKind, chain: &str| {
        let t = rs.table(table).unwrap();
        let c = t.chains.iter().find(|c| c.name == chain).unwrap();
        fast.counters()[c.policy_slot as usize]
    };
    let fwd = policy(TableKind::Filter, "FORWARD");
    assert_eq!((fwd.packets, fwd.bytes), (2, 80));
    let input = policy(TableKind::Filter, "INPUT");
    assert_eq!((input.packets, input.bytes), (1, 40));
    let pre = policy(TableKind::Raw, "PREROUTING");
    assert_eq!((pre.packets, pre.bytes), (3, 120));
    // The mangle FORWARD chain runs before filter's drop; POSTROUTING is never reached.
    assert_eq!(policy(TableKind::Mangle, "FORWARD").packets, 2);
    assert_eq!(policy(TableKind::Mangle, "POSTROUTING").packets, 0);
}

/// A pipeline as the daemon makes it: no replay trace.
fn untraced_pipeline(rules: &str) -> Pipeline {
    support::pipeline::pipeline(CONFIG, rules)
}

#[test]
fn trace_watches_trace_only_what_their_filter_selects_up_to_their_limit() {
    use dataplane::pipeline::trace::TraceFilter;
    let rules = "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";
    let mut watched = untraced_pipeline(rules);
    let mut plain = untraced_pipeline(rules);
    let web = TraceFilter {
        proto: Some(6),
        dport: Some(80),
        in_port: watched.port_by_name("lan0"),
        ..Default::default()
    };
    assert_eq!(web.in_port, Some(LAN));
    watched.add_trace_watch(7, web, 2);
    let packets = [
        tcp(HOST, SERVER, 40000, 81, SYN, 64),
        tcp(HOST, SERVER, 40000, 80, SYN, 64),
        tcp(HOST, SERVER, 40001, 80, SYN, 64),
        tcp(HOST, SERVER, 40002, 80, SYN, 64),
    ];
    for p in &packets {
        let a = run(&mut watched, LAN, p);
        let b = run(&mut plain, LAN, p);
        assert_eq!(a, b, "tracing changes nothing a packet goes through");
    }
    let w = &mut watched.trace_watches_mut()[0];
    assert_eq!((w.id, w.packets, w.done()), (7, 2, true));
    let lines = std::mem::take(&mut w.lines);
    let numbers: Vec<u64> = lines.iter().map(|l| l.0).collect();
    assert_eq!(numbers, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2], "{lines:#?}");
    let first: Vec<&str> = lines[..5]
        .iter()
        .map(|l| l.1.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(
        first,
        [
            "raw:PREROUTING:policy:1",
            "mangle:PREROUTING:policy:1",
            "mangle:FORWARD:policy:1",
            "filter:FORWARD:rule:1",
            "mangle:POSTROUTING:policy:1",
        ]
    );
    assert!(lines[0].1.contains(" IN=lan0 OUT= "));
    assert!(lines[..5]
        .iter()
        .all(|l| l.1.contains(" SPT=40000 DPT=80 ")));
    assert!(lines[5..]
        .iter()
        .all(|l| l.1.contains(" SPT=40001 DPT=80 ")));
    // The counters are those of the untraced pipeline.
    assert_eq!(watched.counters(), plain.counters());
    assert!(
        watched.take_trace().is_empty(),
        "no replay trace was asked for"
    );
    // Closed: nothing more is traced.
    assert!(watched.remove_trace_watch(7));
    assert!(!watched.remove_trace_watch(7));
    run(&mut watched, LAN, &tcp(HOST, SERVER, 40003, 80, SYN, 64));
    assert!(watched.trace_watches_mut().is_empty());
    assert_eq!(watched.counters(), {
        run(&mut plain, LAN, &tcp(HOST, SERVER, 40003, 80, SYN, 64));
        plain.counters()
    });
}

/// As in the kernel, each rule keeps its own counter: `iptables -I` or `-D` of a rule before
/// it moves it without resetting it; a rule that changed starts from zero.
#[test]
fn ruleset_swap_keeps_counters_of_rules_that_moved() {
    let mut p = pipeline(
        "*filter\n-A FORWARD -p udp -j ACCEPT\n-A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n",
    );
    run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64));
    let swap = |p: &mut Pipeline, text: &str, g: u64| {
        let mut rs = Ruleset::default();
        restore(text, &mut rs, RestoreOptions::default()).unwrap();
        p.set_ruleset(Arc::new(CompiledRuleset::compile(&rs, g)));
        let rs = p.ruleset().clone();
        let fwd = rs
            .table(dataplane::ruleset::TableKind::Filter)
            .unwrap()
            .chains
            .iter()
            .find(|c| c.name == "FORWARD")
            .unwrap()
            .clone();
        fwd.rules
            .iter()
            .map(|r| p.counters()[r.slot as usize].packets)
            .collect::<Vec<u64>>()
    };
    // Inserted before it.
    assert_eq!(
        swap(&mut p, "*filter\n-A FORWARD -s 10.0.0.1 -j DROP\n-A FORWARD -p udp -j ACCEPT\n-A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n", 2),
        vec![0, 0, 1]
    );
    // The rules before it deleted.
    assert_eq!(
        swap(
            &mut p,
            "*filter\n-A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n",
            3
        ),
        vec![1]
    );
    // Changed: a new rule, counting from zero.
    assert_eq!(
        swap(
            &mut p,
            "*filter\n-A FORWARD -p tcp --dport 81 -j ACCEPT\nCOMMIT\n",
            4
        ),
        vec![0]
    );
}

/// 100,000 new UDP flows through MASQUERADE from two LAN hosts that use the same source
/// ports (25,000 ports towards each of two servers): the second host's flows all clash and
/// are remapped by the bounded search (at most 248 probes each, as the kernel), so the run
/// completes with little work; the few the bound gives up on are dropped and counted as
/// the kernel counts them (insert_failed).
#[test]
fn masquerade_under_port_pressure_searches_a_bounded_number_of_ports() {
    let cfg = Config::parse(CONFIG, Path::new("test.toml")).expect("config");
    let topo = cfg.build().expect("topology");
    let mut rs = Ruleset::default();
    restore(
        "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n",
        &mut rs,
        RestoreOptions::default(),
    )
    .expect("rules");
    let mut p = Pipeline::new(
        Arc::new(CompiledRuleset::compile(&rs, 1)),
        topo.fib.clone(),
        topo.neighbors.clone(),
    );
    let mut tuples = std::collections::HashSet::new();
    let (mut sent, mut dropped, mut kept) = (0u64, 0u64, 0u64);
    let mut out = Vec::new();
    for host in [10u8, 11] {
        for i in 0..50_000u32 {
            let sport = 10_000 + (i % 25_000) as u16;
            let dst = [93, 184, 216, 34 + (i / 25_000) as u8];
            let ip = udp([192, 168, 1, host], dst, sport, 53);
            out.clear();
            p.receive(LAN, frame(LAN_MAC, HOST_MAC, &ip), T0, &mut out);
            sent += 1;
            match tx_on(&out, WAN).as_slice() {
                [f] => {
                    let ip = &f[14..];
                    assert_eq!(&ip[12..16], &[203, 0, 113, 1]);
                    let port = u16::from_be_bytes([ip[20], ip[21]]);
                    assert!(port >= 1024);
                    if host == 10 {
                        assert_eq!(port, sport, "a free port is kept");
                    }
                    kept += u64::from(port == sport);
                    assert!(tuples.insert((port, dst)), "{port} {dst:?} used twice");
                }
                [] => dropped += 1,
                more => panic!("{} frames for one packet", more.len()),
            }
        }
    }
    let stats = p.conntrack().stats().clone();
    assert_eq!(sent, 100_000);
    assert_eq!(kept, 50_000, "only the first host keeps its ports");
    assert_eq!(p.conntrack().len() as u64, sent - dropped);
    assert_eq!(stats.insert_failed, dropped);
    // The pool of each server ends 77% full; the bound gives up on a few of the last flows.
    assert!(dropped < 1_000, "{dropped} dropped");
    assert!(stats.nat_port_probes <= 248 * 50_000, "{stats:?}");
}

/// `-m connlabel`: the first packet of a connection sets a label that its reply is then
/// matched by; a connection started before a connlabel rule was installed has no labels
/// (the kernel adds them only to connections created while such a rule exists), so
/// neither `--set` nor `--label` reaches it, and `! --label` matches it.
#[test]
fn connlabel_set_on_the_first_packet_and_matched_on_replies() {
    const SYNACK: u8 = 0x12;
    let rules = "*mangle\n-A PREROUTING -i lan0 -p tcp --dport 80 -m connlabel --label 4 --set\n\
                 -A PREROUTING -i lan0 -p tcp --dport 22 -m connlabel ! --label 6 --set -j DROP\nCOMMIT\n\
                 *filter\n-A FORWARD -i wan0 -m connlabel --label 4 -j DROP\n\
                 -A FORWARD -i wan0 -m connlabel --label 6 -j DROP\nCOMMIT\n";
    let mut p = pipeline(rules);
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40000, 80, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    let reply = tcp(SERVER, HOST, 80, 40000, SYNACK, 64);
    assert!(
        from_wan(&mut p, &reply).is_empty(),
        "label 4 replies dropped"
    );
    // `! --label 6 --set`: set, and no match (the DROP does not apply).
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40001, 22, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    assert!(from_wan(&mut p, &tcp(SERVER, HOST, 22, 40001, SYNACK, 64)).is_empty());
    assert_eq!(
        tx_on(
            &run(&mut p, LAN, &tcp(HOST, SERVER, 40002, 443, SYN, 64)),
            WAN
        )
        .len(),
        1
    );
    let other = from_wan(&mut p, &tcp(SERVER, HOST, 443, 40002, SYNACK, 64));
    assert_eq!(tx_on(&other, LAN).len(), 1, "no label");

    // A connection from before the connlabel rules: no labels.
    let mut p = pipeline("*filter\n-A FORWARD -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n");
    run(&mut p, LAN, &tcp(HOST, SERVER, 40003, 80, SYN, 64));
    assert_eq!(p.conntrack().len(), 1);
    let mut rs = Ruleset::default();
    restore(rules, &mut rs, RestoreOptions::default()).unwrap();
    p.set_ruleset(Arc::new(CompiledRuleset::compile(&rs, 2)));
    // Its next packet passes the `--set` rule, which cannot label it.
    let again = run(&mut p, LAN, &tcp(HOST, SERVER, 40003, 80, SYN, 64));
    assert_eq!(tx_on(&again, WAN).len(), 1);
    let old = from_wan(&mut p, &tcp(SERVER, HOST, 80, 40003, SYNACK, 64));
    assert_eq!(tx_on(&old, LAN).len(), 1, "the old connection got no label");
    run(&mut p, LAN, &tcp(HOST, SERVER, 40004, 80, SYN, 64));
    assert!(from_wan(&mut p, &tcp(SERVER, HOST, 80, 40004, SYNACK, 64)).is_empty());
}
