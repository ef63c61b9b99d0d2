//! IPv6 forwarding through ip6tables' tables: frames in on one port, frames out on the
//! other (or ICMPv6 errors back), with the bytes, the rule counters and the drop reasons
//! checked. The errors follow icmp6_send and ip6_forward: time exceeded before the
//! source check, packet too big with the next link's MTU, no route from the null route,
//! at most 1232 bytes of the offending packet quoted, from the address of the port that
//! leads back to the source, hop limit 64.

mod support;

use support::ipv6::{frame, packet as ipv6, receive};

use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::{DropReason, Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use dataplane::ruleset::{Family, Ruleset};
use dataplane::wire::checksum;
use dataplane::wire::IpProtocol;
use std::net::Ipv6Addr;
use support::{GATEWAY_MAC, HOST_MAC, LAN_MAC, WAN_MAC};

const CONFIG: &str = support::ipv6::dual_stack_config!(wan_mtu = 1280;);

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const T0: u64 = 1_700_000_000_000_000_000;
const HOST: &str = "2001:db8:1::10";
const FAR: &str = "2001:db8:99::5";

const RULES6: &str = "*filter\n:FORWARD DROP [0:0]\n\
    -A FORWARD -s 2001:db8:1::/64 -p tcp -m tcp --dport 22 -j ACCEPT\n\
    -A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT\n\
    -A FORWARD -p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset\n\
    -A FORWARD -p udp -m udp --dport 53 -j REJECT --reject-with icmp6-adm-prohibited\n\
    COMMIT\n";

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn pipeline_with(config: &str, rules6: &str) -> Pipeline {
    support::ipv6::pipeline(config, rules6)
}

fn pipeline() -> Pipeline {
    pipeline_with(CONFIG, RULES6)
}

/// A TCP segment (header without options, then `payload`; `ipv6` fills the checksum).
fn seg(ports: (u16, u16), seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&ports.0.to_be_bytes());
    t[2..4].copy_from_slice(&ports.1.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    t.extend_from_slice(payload);
    t
}

fn tcp(src: &str, dst: &str, hl: u8, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let t = seg((40000, dport), 1000, 0, flags, payload);
    ipv6(src, dst, hl, 6, &[], &t, 16)
}

fn udp(src: &str, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&5353u16.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(payload);
    ipv6(src, dst, 64, 17, &[], &u, 6)
}

/// Sends `ip` from the LAN host to the router; what left each port.
fn from_lan(p: &mut Pipeline, ip: &[u8]) -> Vec<(PortId, Vec<u8>)> {
    receive(p, LAN, frame(LAN_MAC, HOST_MAC, ip), T0)
}

/// The ICMPv6 error the router sends the LAN host about `orig`: its frame, checked.
fn expect_error(out: &[(PortId, Vec<u8>)], from: &str, t: u8, code: u8, info: u32, orig: &[u8]) {
    assert_eq!(out.len(), 1, "one error, on the LAN");
    let (port, f) = &out[0];
    assert_eq!(*port, LAN);
    assert_eq!(&f[0..6], &HOST_MAC);
    assert_eq!(&f[6..12], &LAN_MAC);
    let quote = &orig[..orig.len().min(1232)];
    let mut icmp = vec![t, code, 0, 0];
    icmp.extend_from_slice(&info.to_be_bytes());
    icmp.extend_from_slice(quote);
    let c = checksum::finish(&[
        checksum::pseudo_header_ipv6(a6(from), a6(HOST), IpProtocol::from(58), icmp.len() as u32),
        checksum::data(&icmp),
    ]);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut want = vec![0x60, 0, 0, 0];
    want.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    want.extend_from_slice(&[58, 64]);
    want.extend_from_slice(&a6(from).octets());
    want.extend_from_slice(&a6(HOST).octets());
    want.extend_from_slice(&icmp);
    assert_eq!(&f[14..], &want[..]);
}

#[test]
fn allowed_traffic_leaves_with_one_hop_less_and_the_gateways_address() {
    let mut p = pipeline();
    let syn = tcp(HOST, FAR, 64, 22, 0x02, b"");
    let out = from_lan(&mut p, &syn);
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!(*port, WAN);
    assert_eq!(&f[0..6], &GATEWAY_MAC);
    assert_eq!(&f[6..12], &WAN_MAC);
    let mut want = syn.clone();
    want[7] = 63;
    assert_eq!(&f[14..], &want[..]);
    assert_eq!(p.stats().forwarded, 1);
    // Not allowed: the FORWARD policy drops it, counted under `rules`.
    assert!(from_lan(&mut p, &tcp(HOST, FAR, 64, 23, 0x02, b"")).is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 1);
}

#[test]
fn the_protocol_is_found_past_extension_headers() {
    let mut p = pipeline();
    // Hop-by-hop then destination options (PadN) before TCP to port 22.
    let ext = [60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0];
    let t = seg((40000, 22), 1000, 0, 0x02, b"");
    let ip = ipv6(HOST, FAR, 64, 6, &ext, &t, 16);
    let out = from_lan(&mut p, &ip);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, WAN);
}

#[test]
fn hop_limit_one_is_answered_with_time_exceeded_before_any_filter() {
    let mut p = pipeline();
    // To port 23: FORWARD would drop it, but ip6_forward answers before FORWARD.
    let syn = tcp(HOST, FAR, 1, 23, 0x02, b"");
    let out = from_lan(&mut p, &syn);
    expect_error(&out, "2001:db8:1::1", 3, 0, 0, &syn);
    assert_eq!(p.stats().drops[DropReason::TtlExpired], 1);
    assert_eq!(p.stats().icmp_errors, 1);
    // hop limit 2 leaves with 1.
    let out = from_lan(&mut p, &tcp(HOST, FAR, 2, 22, 0x02, b""));
    assert_eq!(out[0].1[14 + 7], 1);
}

#[test]
fn too_big_for_the_next_link_is_answered_with_its_mtu() {
    let mut p = pipeline();
    let big = tcp(HOST, FAR, 64, 22, 0x18, &[0x61; 1300]);
    let out = from_lan(&mut p, &big);
    // The quote stops at 1232 bytes: the error fits the minimum MTU.
    expect_error(&out, "2001:db8:1::1", 2, 0, 1280, &big);
    assert_eq!(out[0].1.len(), 14 + 1280);
    assert_eq!(p.stats().drops[DropReason::FragNeeded], 1);
    // Exactly the MTU passes.
    let fits = tcp(HOST, FAR, 64, 22, 0x18, &[0x61; 1280 - 60]);
    assert_eq!(from_lan(&mut p, &fits)[0].0, WAN);
}

#[test]
fn no_route_is_answered_with_destination_unreachable() {
    let config = CONFIG.replace("[[route]]\ndst = \"::/0\"\nvia = \"2001:db8:ff::fe\"\n", "");
    let mut p = pipeline_with(&config, RULES6);
    let syn = tcp(HOST, FAR, 64, 22, 0x02, b"");
    let out = from_lan(&mut p, &syn);
    expect_error(&out, "2001:db8:1::1", 1, 0, 0, &syn);
    assert_eq!(p.stats().drops[DropReason::NoRoute], 1);
}

#[test]
fn reject_answers_with_a_reset_or_an_icmpv6_error() {
    let mut p = pipeline();
    let syn = tcp(HOST, FAR, 64, 25, 0x02, b"");
    let out = from_lan(&mut p, &syn);
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!(*port, LAN);
    let ip = &f[14..];
    // From the destination to the source, hop limit 64, RST|ACK acknowledging the SYN.
    assert_eq!((ip[6], ip[7]), (6, 64));
    assert_eq!(&ip[8..24], &a6(FAR).octets());
    assert_eq!(&ip[24..40], &a6(HOST).octets());
    let t = &ip[40..];
    assert_eq!(t.len(), 20);
    assert_eq!(&t[0..4], &[0, 25, 0x9c, 0x40]);
    assert_eq!(&t[4..8], &[0, 0, 0, 0]);
    assert_eq!(u32::from_be_bytes([t[8], t[9], t[10], t[11]]), 1001);
    assert_eq!(t[13], 0x14);
    let sum = checksum::combine(&[
        checksum::pseudo_header_ipv6(a6(FAR), a6(HOST), IpProtocol::Tcp, 20),
        checksum::data(t),
    ]);
    assert_eq!(sum, 0xffff);
    // No reset for a reset.
    assert!(from_lan(&mut p, &tcp(HOST, FAR, 64, 25, 0x04, b"")).is_empty());
    // UDP to 53: administratively prohibited, from the LAN port's address, quoting the
    // packet as FORWARD saw it (one hop less).
    let mut q = udp(HOST, FAR, 53, b"query");
    let out = from_lan(&mut p, &q);
    q[7] = 63;
    expect_error(&out, "2001:db8:1::1", 1, 1, 0, &q);
    // A datagram whose checksum does not verify earns no answer (reject6_csum_ok).
    let mut bad = udp(HOST, FAR, 53, b"query");
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    assert!(from_lan(&mut p, &bad).is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 4);
}

#[test]
fn link_local_sources_are_not_forwarded() {
    let mut p = pipeline();
    let syn = tcp("fe80::10", FAR, 64, 22, 0x02, b"");
    let out = from_lan(&mut p, &syn);
    // Destination unreachable, beyond scope, back to the link-local source from the
    // port's link-local address (a neighbour not known yet: solicited first).
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, LAN);
    assert_eq!(
        &out[0].1[0..2],
        &[0x33, 0x33],
        "a solicitation for fe80::10"
    );
    assert_eq!(p.stats().drops[DropReason::BadSource], 1);
    assert_eq!(p.stats().icmp_errors, 1);
}

#[test]
fn neighbour_discovery_goes_through_input_as_the_kernels_does() {
    // INPUT DROP without an ICMPv6 rule: solicitations for the router are dropped.
    let mut p = pipeline_with(CONFIG, "*filter\n:INPUT DROP [0:0]\nCOMMIT\n");
    let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
    ns.extend_from_slice(&a6("2001:db8:1::1").octets());
    ns.extend_from_slice(&[1, 1]);
    ns.extend_from_slice(&HOST_MAC);
    let group = "ff02::1:ff00:1";
    let ip = ipv6(HOST, group, 255, 58, &[], &ns, 2);
    let mut out = Vec::new();
    let f = frame([0x33, 0x33, 0xff, 0, 0, 1], HOST_MAC, &ip);
    p.receive(LAN, PacketBuf::from_slice(&f), T0, &mut out);
    assert!(out.is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 1);
    // With ICMPv6 accepted, it is answered.
    let mut p = pipeline_with(
        CONFIG,
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n",
    );
    p.receive(LAN, PacketBuf::from_slice(&f), T0, &mut out);
    assert_eq!(out.len(), 1, "a neighbour advertisement");
}

#[test]
fn the_appliances_own_services_get_their_ipv6_through_input() {
    let rules = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p ipv6-icmp -j ACCEPT\n\
        -A INPUT -i lan0 -p tcp -m tcp --dport 8081 -j ACCEPT\nCOMMIT\n";
    let mut p = pipeline_with(CONFIG, rules);
    let rx = |p: &mut Pipeline, ip: &[u8]| {
        let mut out = Vec::new();
        let f = frame(LAN_MAC, HOST_MAC, ip);
        p.receive(LAN, PacketBuf::from_slice(&f), T0, &mut out);
        out
    };
    // A SYN to the port the rules accept, on the LAN's address and (the weak host model)
    // the WAN's: the IPv6 packet for the host stack behind the TAP.
    for dst in ["2001:db8:1::1", "2001:db8:ff::1"] {
        let syn = tcp(HOST, dst, 64, 8081, 0x02, &[]);
        match &rx(&mut p, &syn)[..] {
            [Emit::Local { packet }] => assert_eq!(packet.data(), &syn[..]),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(p.stats().delivered_local, 2);
    // INPUT's policy drops the rest: no delivery.
    let ssh = tcp(HOST, "2001:db8:1::1", 64, 22, 0x02, &[]);
    assert!(rx(&mut p, &ssh).is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 1);
    let dns = udp(HOST, "2001:db8:1::1", 53, b"q");
    assert!(rx(&mut p, &dns).is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 2);
    // The kernel's SYN-ACK comes back through OUTPUT and leaves on the LAN.
    let synack = tcp("2001:db8:1::1", HOST, 64, 40000, 0x12, &[]);
    let mut out = Vec::new();
    p.output(PacketBuf::from_slice(&synack), T0, &mut out);
    match &out[..] {
        [Emit::Tx { port, frame: f }] => {
            assert_eq!(*port, LAN);
            assert_eq!(f.data(), &frame(HOST_MAC, LAN_MAC, &synack)[..]);
        }
        other => panic!("{other:?}"),
    }
    // Without INPUT rules, UDP and ICMPv6 but echo requests (here an echo reply for the
    // kernel's own ping) are delivered too.
    let mut p = pipeline_with(CONFIG, "*filter\nCOMMIT\n");
    let mut reply = vec![129, 0, 0, 0, 0x12, 0x34, 0, 1];
    reply.extend_from_slice(b"ping");
    let reply = ipv6(HOST, "2001:db8:1::1", 64, 58, &[], &reply, 2);
    for ip in [dns, reply] {
        match &rx(&mut p, &ip)[..] {
            [Emit::Local { packet }] => assert_eq!(packet.data(), &ip[..]),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn rules_the_ipv6_path_cannot_run_are_refused_at_their_line() {
    let mut rs6 = Ruleset::new(Family::V6);
    let text = "*filter\n-A FORWARD -m conntrack --ctorigsrc 2001:db8::/32 -j ACCEPT\n\
        -A FORWARD -m helper --helper ftp -j ACCEPT\nCOMMIT\n";
    let opts = RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    let e = restore(text, &mut rs6, opts).unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        e.message.contains("IPv6 connection tracking"),
        "{}",
        e.message
    );
    assert_eq!(rs6, Ruleset::new(Family::V6));
    // Checked only (nfdp ruleset -6 --check), it loads.
    restore(text, &mut rs6, RestoreOptions::default()).unwrap();
}

/// A stateful filter: LAN-initiated TCP out, its answers back as ESTABLISHED, nothing
/// started from the WAN; the connection in the IPv6 table, ASSURED once answered.
#[test]
fn a_stateful_filter_lets_answers_back_and_nothing_else() {
    let rules6 = "*filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        -A FORWARD -m conntrack --ctstate INVALID -j DROP\n\
        -A FORWARD -i lan0 -o wan0 -p tcp -m tcp --dport 80 -m state --state NEW -j ACCEPT\n\
        COMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    let syn = tcp(HOST, FAR, 64, 80, 0x02, b"");
    let out = from_lan(&mut p, &syn);
    assert_eq!(out.len(), 1, "the SYN is forwarded");
    assert_eq!(p.conntrack6().len(), 1);
    // The SYN-ACK from the WAN: ESTABLISHED.
    let sa = seg((80, 40000), 5000, 1001, 0x12, b"");
    let sa = ipv6(FAR, HOST, 64, 6, &[], &sa, 16);
    let mut out = Vec::new();
    p.receive(
        WAN,
        PacketBuf::from_slice(&frame(WAN_MAC, GATEWAY_MAC, &sa)),
        T0 + 1_000_000,
        &mut out,
    );
    assert_eq!(out.len(), 1, "the SYN-ACK comes back");
    match &out[0] {
        Emit::Tx { port, .. } => assert_eq!(*port, LAN),
        Emit::Local { .. } => panic!("not local"),
    }
    // A connection started from the WAN: dropped by the policy, nothing tracked.
    let wan_syn = seg((5555, 22), 1000, 0, 0x02, b"");
    let wan_syn = ipv6(FAR, HOST, 64, 6, &[], &wan_syn, 16);
    out.clear();
    p.receive(
        WAN,
        PacketBuf::from_slice(&frame(WAN_MAC, GATEWAY_MAC, &wan_syn)),
        T0 + 2_000_000,
        &mut out,
    );
    assert!(out.is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 1);
    assert_eq!(p.conntrack6().len(), 1, "the dropped SYN left no entry");
    let lines: String = p
        .conntrack6()
        .entries()
        .map(|e| dataplane::conntrack::proc_line(e, None, T0 + 2_000_000))
        .collect();
    // `nfdpctl conntrack -L -f ipv6` prints it as conntrack-tools does (addresses
    // compressed), from the API's entry.
    let records = p
        .conntrack6()
        .records(&dataplane::conntrack::CtFilter::default(), T0 + 2_000_000);
    assert_eq!(records.len(), 1);
    let pb = control::api::conntrack::entry_pb(
        &records[0].entry,
        None,
        0,
        records[0].id,
        T0 + 2_000_000,
    );
    let fmt = |extended| control::ctl::ct_format::Format {
        extended,
        event: false,
    };
    assert_eq!(
        control::ctl::ct_format::entry_line(&pb, fmt(false)),
        "tcp      6 59 SYN_RECV src=2001:db8:1::10 dst=2001:db8:99::5 sport=40000 dport=80 \
         src=2001:db8:99::5 dst=2001:db8:1::10 sport=80 dport=40000 mark=0 use=1"
    );
    assert!(control::ctl::ct_format::entry_line(&pb, fmt(true)).starts_with("ipv6     10 tcp "));
    let args: Vec<String> = ["-L", "-f", "ipv6"].iter().map(|s| s.to_string()).collect();
    let inv = control::ctl::ct_args::parse(&args).expect("-L -f ipv6");
    assert_eq!(inv.filter.family, Some(6));
    assert!(
        lines.starts_with("ipv6     10 tcp      6 ")
            && lines.contains(" SYN_RECV ")
            && lines.contains("src=2001:0db8:0001:0000:0000:0000:0000:0010 dst=2001:0db8:0099:0000:0000:0000:0000:0005 sport=40000 dport=80"),
        "{lines}"
    );
}

/// Cuts `ip` (no extension headers) into fragments of at most `size` bytes, id 0xabcd.
fn fragments(ip: &[u8], size: usize) -> Vec<Vec<u8>> {
    let f = dataplane::defrag6::Frag6 {
        max: size,
        ident: 0xabcd,
        unfrag: 40,
        nhoff: 6,
    };
    dataplane::defrag6::fragment6(ip, size, f)
}

fn from_wan(p: &mut Pipeline, ip: &[u8], now: u64) -> Vec<(PortId, Vec<u8>)> {
    receive(p, WAN, frame(WAN_MAC, GATEWAY_MAC, ip), now)
}

/// nf_defrag_ipv6: with a stateful ruleset the fragments of an answer are reassembled
/// before conntrack, so the datagram is ESTABLISHED, and it leaves cut again no larger
/// than the fragments it came in (here smaller than the LAN's MTU), with their id.
#[test]
fn fragmented_answers_are_reassembled_for_conntrack_and_leave_in_fragments() {
    let rules6 = "*filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        -A FORWARD -m conntrack --ctstate INVALID -j DROP\n\
        -A FORWARD -i lan0 -o wan0 -p udp -m state --state NEW -j ACCEPT\n\
        COMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    let query = udp(HOST, FAR, 5353, b"query");
    assert_eq!(from_lan(&mut p, &query).len(), 1, "the query leaves");
    // The answer, 3000 bytes of UDP in fragments of at most 1240 bytes.
    let payload: Vec<u8> = (0..3000u32).map(|i| (i * 13) as u8).collect();
    let answer = udp(FAR, HOST, 5353, &payload);
    let frags = fragments(&answer, 1240);
    assert_eq!(frags.len(), 3);
    // Out of order: held until the last piece, then forwarded in pieces.
    assert!(from_wan(&mut p, &frags[1], T0 + 1).is_empty());
    assert!(from_wan(&mut p, &frags[2], T0 + 2).is_empty());
    assert_eq!(p.defrag6_pending().0, 1);
    let out = from_wan(&mut p, &frags[0], T0 + 3);
    assert_eq!(out.len(), 3, "three fragments leave");
    let mut again = dataplane::defrag6::Defrag6::default();
    let mut whole = None;
    for (port, f) in &out {
        assert_eq!(*port, LAN);
        assert_eq!(&f[0..6], &HOST_MAC);
        let ip = &f[14..];
        assert!(
            ip.len() <= 1240,
            "no larger than what arrived: {}",
            ip.len()
        );
        assert_eq!(ip[6], 44);
        assert_eq!(&ip[44..48], &0xabcdu32.to_be_bytes(), "the arriving id");
        if let dataplane::defrag6::Reassembly6::Complete(w, _) = again.push(ip, 0, 0) {
            whole = Some(w);
        }
    }
    let mut want = answer.clone();
    want[7] -= 1;
    assert_eq!(
        whole.as_deref(),
        Some(&want[..]),
        "the datagram, one hop less"
    );
    assert_eq!(p.stats().fragments_sent, 3);
    assert_eq!(p.defrag6_stats().reassembled, 1);
    assert_eq!(p.defrag6_pending(), (0, 0));

    // An unsolicited fragmented datagram is NEW from the WAN: the policy drops it whole.
    let other = fragments(&udp(FAR, HOST, 9999, &payload), 1240);
    for f in &other {
        assert!(from_wan(&mut p, f, T0 + 4).is_empty());
    }
    assert_eq!(p.stats().drops[DropReason::Rules], 1);

    // Overlapping fragments: the datagram is dropped (RFC 5722).
    let mut bad = frags.clone();
    bad[1][42..44].copy_from_slice(&(8u16 | 1).to_be_bytes());
    assert!(from_wan(&mut p, &bad[0], T0 + 5).is_empty());
    assert!(from_wan(&mut p, &bad[1], T0 + 5).is_empty());
    assert_eq!(p.stats().drops[DropReason::Defrag], 1);

    // Incomplete datagrams go in the housekeeping after 60 s.
    assert!(from_wan(&mut p, &frags[0], T0 + 6).is_empty());
    assert_eq!(p.defrag6_pending().0, 1);
    p.reap(T0 + 6 + 60_000_000_000);
    assert_eq!(p.defrag6_pending(), (0, 0));
    assert_eq!(p.defrag6_stats().timeouts, 1);
}

/// ip6_pkt_too_big with `frag_max_size`: a reassembled datagram larger than the next
/// link's MTU goes on when its fragments fit, and is answered with packet too big when
/// its largest fragment does not.
#[test]
fn packet_too_big_is_decided_on_the_largest_fragment() {
    let rules6 = "*filter\n:FORWARD ACCEPT [0:0]\n\
        -A FORWARD -m conntrack --ctstate INVALID -j DROP\n\
        COMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    let payload = vec![0x5a; 2500];
    let dgram = udp(HOST, FAR, 5353, &payload);
    // Fragments of 1280 bytes fit the WAN's 1280: forwarded, cut the same way.
    let small = fragments(&dgram, 1280);
    let mut out = Vec::new();
    for f in &small {
        out = from_lan(&mut p, f);
    }
    assert_eq!(out.len(), small.len());
    assert!(out
        .iter()
        .all(|(port, f)| *port == WAN && f.len() - 14 <= 1280));
    assert_eq!(out[0].1.len() - 14, 1280);
    // Fragments of 1400 bytes do not: packet too big with the WAN's MTU.
    let large = fragments(&dgram, 1400);
    for f in &large {
        out = from_lan(&mut p, f);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, LAN);
    let icmp = &out[0].1[14 + 40..];
    assert_eq!((icmp[0], icmp[1]), (2, 0));
    assert_eq!(&icmp[4..8], &1280u32.to_be_bytes());
    assert_eq!(p.stats().drops[DropReason::FragNeeded], 1);
}

/// Criteria that read the connection itself (here its protocol) read the IPv6 entry; a
/// ruleset testing the state alone decides the same.
#[test]
fn conntrack_criteria_beyond_the_state_read_the_ipv6_connection() {
    let rules6 = "*filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m conntrack --ctstate NEW --ctproto udp -j ACCEPT\nCOMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    assert_eq!(from_lan(&mut p, &udp(HOST, FAR, 5000, b"q")).len(), 1);
    assert!(from_lan(&mut p, &tcp(HOST, FAR, 64, 22, 0x02, b"")).is_empty());
    let state_only = "*filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n";
    let mut p = pipeline_with(CONFIG, state_only);
    assert!(p.ruleset().ip6.needs_conntrack);
    assert_eq!(from_lan(&mut p, &udp(HOST, FAR, 5000, b"q")).len(), 1);
    assert_eq!(
        from_lan(&mut p, &tcp(HOST, FAR, 64, 22, 0x02, b"")).len(),
        1
    );
}

/// addrtype, rpfilter, hashlimit and recent on IPv6 packets, as addrtype_mt6,
/// ip6t_rpfilter, hashlimit's IPv6 keys and xt_recent's IPv6 entries decide them; the
/// IPv6 path runs them (`ipv6_path_refusal` lets them by).
#[test]
fn addrtype_rpfilter_hashlimit_and_recent_decide_ipv6_packets() {
    let rules6 = "*raw\n\
        -A PREROUTING -p udp --dport 1 -m rpfilter --invert -j DROP\n\
        -A PREROUTING -p udp --dport 3 -m addrtype --dst-type LOCAL -j DROP\n\
        -A PREROUTING -p udp --dport 7 -m recent --set --name hl6\n\
        COMMIT\n*filter\n\
        -A FORWARD -p udp --dport 4 -m hashlimit --hashlimit-above 1/min --hashlimit-burst 2 \
        --hashlimit-mode srcip --hashlimit-srcmask 64 --hashlimit-name h6 -j DROP\n\
        -A FORWARD -p udp --dport 5 -m recent --set --name r6 --mask ffff:ffff:ffff:ffff::\n\
        -A FORWARD -p udp --dport 6 -m recent --rcheck --name r6 --mask ffff:ffff:ffff:ffff:: -j DROP\n\
        -A FORWARD -p udp --dport 8 -m recent --rcheck --rttl --name hl6 -j DROP\n\
        COMMIT\n";
    let mut rs6 = Ruleset::new(Family::V6);
    let opts = RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    restore(rules6, &mut rs6, opts).expect("the IPv6 path runs them");
    let mut p = pipeline_with(CONFIG, rules6);
    let forwarded = |out: &[(PortId, Vec<u8>)]| out.len() == 1 && out[0].0 == WAN;
    let neighbour = "2001:db8:1::11";
    // rpfilter: the LAN host's source routes back by lan0; the far host's does not.
    assert!(forwarded(&from_lan(&mut p, &udp(HOST, FAR, 1, b"ok"))));
    assert!(from_lan(&mut p, &udp(FAR, "2001:db8:99::6", 1, b"spoofed")).is_empty());
    // addrtype: the WAN port's own address is LOCAL (dropped before it is delivered).
    assert!(from_lan(&mut p, &udp(HOST, "2001:db8:ff::1", 3, b"local")).is_empty());
    assert!(forwarded(&from_lan(&mut p, &udp(HOST, FAR, 3, b"unicast"))));
    assert_eq!(p.stats().drops[DropReason::Rules], 2);
    // hashlimit by /64: the burst of two, then the neighbour of the same /64 is over.
    assert!(forwarded(&from_lan(&mut p, &udp(HOST, FAR, 4, b"1"))));
    assert!(forwarded(&from_lan(&mut p, &udp(neighbour, FAR, 4, b"2"))));
    assert!(from_lan(&mut p, &udp(HOST, FAR, 4, b"3")).is_empty());
    // recent by /64: unknown until the host is remembered, then its neighbour is known.
    assert!(forwarded(&from_lan(
        &mut p,
        &udp(neighbour, FAR, 6, b"unknown")
    )));
    assert!(forwarded(&from_lan(&mut p, &udp(HOST, FAR, 5, b"set"))));
    assert!(from_lan(&mut p, &udp(neighbour, FAR, 6, b"known")).is_empty());
    // --rttl in FORWARD: the hop limit before forwarding (64) is the one remembered.
    assert!(forwarded(&from_lan(&mut p, &udp(HOST, FAR, 7, b"set"))));
    assert!(from_lan(&mut p, &udp(HOST, FAR, 8, b"same")).is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 5);
}

/// Sends `ip` in on `port` at `t`: the frames that left, with their packet marks.
fn rx_at(p: &mut Pipeline, port: PortId, ip: &[u8], t: u64) -> Vec<(PortId, u32, Vec<u8>)> {
    let (dst, src) = if port == LAN {
        (LAN_MAC, HOST_MAC)
    } else {
        (WAN_MAC, GATEWAY_MAC)
    };
    let mut out = Vec::new();
    p.receive(
        port,
        PacketBuf::from_slice(&frame(dst, src, ip)),
        t,
        &mut out,
    );
    out.into_iter()
        .map(|e| match e {
            Emit::Tx { port, frame } => (port, frame.mark, frame.data().to_vec()),
            Emit::Local { .. } => panic!("nothing is delivered locally"),
        })
        .collect()
}

/// A UDP datagram between any two ports.
fn udp_ports(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&8u16.to_be_bytes());
    ipv6(src, dst, 64, 17, &[], &u, 6)
}

/// The one IPv6 connection's record (`nfdpctl conntrack -L -f ipv6`'s source).
fn only_record(p: &Pipeline, t: u64) -> dataplane::conntrack::CtRecord<Ipv6Addr> {
    let mut r = p
        .conntrack6()
        .records(&dataplane::conntrack::CtFilter::default(), t);
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

/// CONNMARK on IPv6 (xt_CONNMARK for NFPROTO_IPV6): the first packet's mark is saved on
/// its IPv6 connection under a mask, restored onto the reply, and `-m connmark` reads the
/// IPv6 entry's mark; `nfdpctl conntrack -L -f ipv6` shows it.
#[test]
fn connmark_saves_and_restores_the_mark_of_an_ipv6_connection() {
    let rules6 = "*mangle\n\
        -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff\n\
        -A PREROUTING -i lan0 -m mark --mark 0 -p udp --dport 53 -j MARK --set-mark 0x1005\n\
        -A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff\n\
        -A PREROUTING -i lan0 -p udp --dport 54 -j CONNMARK --set-xmark 0x30/0xf0\n\
        COMMIT\n\
        *filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -i lan0 -j ACCEPT\n\
        -A FORWARD -i wan0 -m connmark --mark 0x5/0xff -j ACCEPT\n\
        COMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    let out = rx_at(&mut p, LAN, &udp_ports(HOST, FAR, 5353, 53), T0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1, 0x1005, "the packet keeps its own mark");
    let r = only_record(&p, T0);
    assert_eq!(r.entry.mark, 0x05, "saved under --nfmask/--ctmask 0xff");
    // The reply: the mark restored (0xff of it), and the connmark match lets it in.
    let out = rx_at(&mut p, WAN, &udp_ports(FAR, HOST, 53, 5353), T0 + 1_000);
    assert_eq!(out.len(), 1, "the reply is let in by its connection's mark");
    assert_eq!((out[0].0, out[0].1), (LAN, 0x05));
    // Another connection, no mark saved: its reply is dropped.
    assert_eq!(
        rx_at(&mut p, LAN, &udp_ports(HOST, FAR, 5353, 99), T0 + 2_000).len(),
        1
    );
    assert!(rx_at(&mut p, WAN, &udp_ports(FAR, HOST, 99, 5353), T0 + 3_000).is_empty());
    // --set-xmark: (ctmark & !0xf0) ^ 0x30.
    assert_eq!(
        rx_at(&mut p, LAN, &udp_ports(HOST, FAR, 5353, 54), T0 + 4_000).len(),
        1
    );
    let marks: Vec<(u16, u32)> = p
        .conntrack6()
        .entries()
        .map(|e| (e.orig.dport, e.mark))
        .collect();
    assert!(
        marks.contains(&(53, 0x05)) && marks.contains(&(54, 0x30)),
        "{marks:?}"
    );
    assert!(marks.contains(&(99, 0)), "{marks:?}");
    let line: String = p
        .conntrack6()
        .listing(T0 + 4_000)
        .into_iter()
        .filter(|l| l.contains("dport=53 "))
        .collect();
    assert!(line.ends_with("mark=5 zone=0 use=2"), "{line}");
}

/// `-m conntrack --ctorigsrc/--ctrepldst` compare the IPv6 connection's addresses
/// (conntrack_mt's `conntrack_addrcmp` for NFPROTO_IPV6): the reply of a connection the
/// LAN started matches its original source; a connection the WAN started does not.
#[test]
fn conntrack_address_criteria_read_the_ipv6_connection() {
    let rules6 = "*filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m conntrack --ctorigsrc 2001:db8:1::/64 --ctrepldst 2001:db8:1::10 -j ACCEPT\n\
        -A FORWARD -m conntrack ! --ctorigdst 2001:db8:99::/48 -j ACCEPT\n\
        COMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    assert_eq!(
        rx_at(&mut p, LAN, &udp_ports(HOST, FAR, 5353, 53), T0).len(),
        1
    );
    // The reply: orig src is the LAN host, reply dst too.
    let out = rx_at(&mut p, WAN, &udp_ports(FAR, HOST, 53, 5353), T0 + 1_000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, LAN);
    // Started from the WAN: its original source is FAR, and its original destination
    // is in 2001:db8::/48 ... not in 2001:db8:99::/48, so the second rule takes it.
    let from_far = udp_ports(FAR, HOST, 7000, 7001);
    assert_eq!(rx_at(&mut p, WAN, &from_far, T0 + 2_000).len(), 1);
    // One whose original destination is in 2001:db8:99::/48 and source outside the LAN.
    let other = udp_ports("2001:db8:77::1", "2001:db8:99::7", 7000, 7001);
    assert!(rx_at(&mut p, WAN, &other, T0 + 3_000).is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 1);
}

/// `-m connlimit` over the IPv6 table: connections per /64 of the source (the mask up to
/// 128, `--connlimit-saddr`), and per destination address (`--connlimit-daddr`, /128).
#[test]
fn connlimit_counts_ipv6_connections_per_masked_address() {
    let rules6 = "*filter\n\
        -A FORWARD -p udp --dport 53 -m conntrack --ctstate NEW -m connlimit --connlimit-above 2 --connlimit-mask 64 -j DROP\n\
        -A FORWARD -p udp --dport 80 -m conntrack --ctstate NEW -m connlimit --connlimit-upto 1 --connlimit-daddr -j ACCEPT\n\
        -A FORWARD -p udp --dport 80 -j DROP\n\
        COMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    // Two connections from the /64: both pass; a third from another host of it does not.
    let a = udp_ports("2001:db8:1::10", FAR, 1000, 53);
    let b = udp_ports("2001:db8:1::11", FAR, 1001, 53);
    let c = udp_ports("2001:db8:1::12", FAR, 1002, 53);
    assert_eq!(rx_at(&mut p, LAN, &a, T0).len(), 1);
    assert_eq!(rx_at(&mut p, LAN, &b, T0 + 1).len(), 1);
    assert!(
        rx_at(&mut p, LAN, &c, T0 + 2).is_empty(),
        "the third of the /64"
    );
    // Packets of a counted connection are not NEW: they pass.
    assert_eq!(rx_at(&mut p, LAN, &a, T0 + 3).len(), 1);
    // Another /64 has its own count.
    let d = udp_ports("2001:db8:2::1", FAR, 1003, 53);
    assert_eq!(rx_at(&mut p, LAN, &d, T0 + 4).len(), 1);
    assert_eq!(p.conntrack6().len(), 3);
    // Per destination: one connection to FAR on port 80 (none yet counted there: the
    // count is per address, the port 53 ones count too).
    let to_other = udp_ports(HOST, "2001:db8:99::6", 2000, 80);
    assert_eq!(rx_at(&mut p, LAN, &to_other, T0 + 5).len(), 1);
    let to_other2 = udp_ports(HOST, "2001:db8:99::6", 2001, 80);
    assert!(
        rx_at(&mut p, LAN, &to_other2, T0 + 6).is_empty(),
        "the second to it"
    );
    let to_far = udp_ports(HOST, FAR, 2002, 80);
    assert!(
        rx_at(&mut p, LAN, &to_far, T0 + 7).is_empty(),
        "FAR has three already"
    );
}

/// `-m connbytes` on IPv6 reads the IPv6 connection's accounting, which the rule turns
/// on (for both families, as xt_connbytes forces `nf_conntrack_acct`); the listing
/// shows the counters.
#[test]
fn connbytes_reads_the_accounting_of_ipv6_connections() {
    let rules6 = "*filter\n\
        -A FORWARD -m connbytes --connbytes 3: --connbytes-dir original --connbytes-mode packets -j DROP\n\
        COMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    assert!(p.conntrack6().config().acct && p.conntrack().config().acct);
    let u = udp_ports(HOST, FAR, 5353, 53);
    assert_eq!(rx_at(&mut p, LAN, &u, T0).len(), 1);
    assert_eq!(rx_at(&mut p, LAN, &u, T0 + 1).len(), 1);
    assert!(
        rx_at(&mut p, LAN, &u, T0 + 2).is_empty(),
        "the third packet"
    );
    let r = only_record(&p, T0 + 3);
    let c = r.counters.expect("accounting is on");
    assert_eq!(c.packets, [3, 0]);
    assert_eq!(c.bytes, [3 * 48, 0]);
    let line = p.conntrack6().listing(T0 + 3).concat();
    assert!(line.contains("packets=3 bytes=144 [UNREPLIED]"), "{line}");
    let pb = control::api::conntrack::entry_pb(&r.entry, r.counters.as_ref(), 0, r.id, T0 + 3);
    assert!(pb.accounting && pb.orig_packets == 3 && pb.orig_bytes == 144);
}

/// `-m connlabel` on IPv6: `--set` on the first packet labels the pending IPv6
/// connection, its reply is matched by the label, and the record carries it.
#[test]
fn connlabel_sets_and_matches_labels_of_ipv6_connections() {
    let rules6 = "*mangle\n\
        -A PREROUTING -i lan0 -p udp --dport 53 -m connlabel --label 9 --set\n\
        COMMIT\n\
        *filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -i lan0 -j ACCEPT\n\
        -A FORWARD -i wan0 -m connlabel --label 9 -j ACCEPT\n\
        COMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    assert_eq!(
        rx_at(&mut p, LAN, &udp_ports(HOST, FAR, 5353, 53), T0).len(),
        1
    );
    assert_eq!(only_record(&p, T0).labels, Some(1 << 9));
    assert_eq!(
        rx_at(&mut p, WAN, &udp_ports(FAR, HOST, 53, 5353), T0 + 1).len(),
        1
    );
    // Another connection has labels, none set: its reply is dropped.
    assert_eq!(
        rx_at(&mut p, LAN, &udp_ports(HOST, FAR, 5353, 54), T0 + 2).len(),
        1
    );
    assert!(rx_at(&mut p, WAN, &udp_ports(FAR, HOST, 54, 5353), T0 + 3).is_empty());
    let labels: Vec<Option<u128>> = p
        .conntrack6()
        .records(&dataplane::conntrack::CtFilter::default(), T0 + 3)
        .iter()
        .map(|r| r.labels)
        .collect();
    assert!(
        labels.contains(&Some(0)) && labels.contains(&Some(1 << 9)),
        "{labels:?}"
    );
}

/// `-j CT` without a helper runs on IPv6 (its zone and events as on IPv4); with one it
/// is refused (nfdp's FTP helper is IPv4 only).
#[test]
fn ct_target_options_on_ipv6() {
    let rules6 = "*raw\n-A PREROUTING -p udp --dport 53 -j CT --zone 1\n\
        -A PREROUTING -p udp --dport 54 -j CT --notrack\nCOMMIT\n\
        *filter\n-A FORWARD -m conntrack --ctstate UNTRACKED -j DROP\nCOMMIT\n";
    let mut p = pipeline_with(CONFIG, rules6);
    assert_eq!(
        rx_at(&mut p, LAN, &udp_ports(HOST, FAR, 5353, 53), T0).len(),
        1
    );
    assert!(rx_at(&mut p, LAN, &udp_ports(HOST, FAR, 5353, 54), T0 + 1).is_empty());
    assert_eq!(p.conntrack6().len(), 1);
    let mut rs6 = Ruleset::new(Family::V6);
    let opts = RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    let text = "*raw\n-A PREROUTING -p tcp --dport 21 -j CT --helper ftp\nCOMMIT\n";
    let e = restore(text, &mut rs6, opts).unwrap_err();
    assert!(e.message.contains("CT --helper"), "{}", e.message);
}
