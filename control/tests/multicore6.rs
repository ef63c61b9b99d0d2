//! Multi-core IPv6 (DESIGN.md "Multi-core NAT", `pipeline/owner.rs`): a stateful
//! ip6tables ruleset on two workers with two-queue memory ports, packets put on the
//! wrong worker's queue on purpose. A reply, an ICMPv6 error and the fragments of a
//! datagram must reach the worker holding the connection and be accepted there; a
//! clashing tuple is refused; a dead connection leaves the IPv6 owner directory.

mod support;

use dataplane::handoff::{Handoff, OwnerDirectory, OwnerDirectory6};
use dataplane::port::{MacAddr, MemPort, PacketBuf, PortId};
use dataplane::worker::Worker;
use std::net::Ipv6Addr;
use std::sync::Arc;
use support::ports::settle;
use support::{LAN_MAC, WAN_MAC};

const CONFIG: &str = support::ipv6::dual_stack_config!();

/// The shape of configs/lab.rules6: known connections first, then NEW ones by port.
const RULES6: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n\
    -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
    -A INPUT -p ipv6-icmp -j ACCEPT\n\
    -A INPUT -i lan0 -p tcp -m tcp --dport 8081 -m conntrack --ctstate NEW -j ACCEPT\n\
    -A INPUT -i lan0 -p udp -m udp --dport 5353 -m conntrack --ctstate NEW -j ACCEPT\n\
    -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
    -A FORWARD -s 2001:db8:1::/64 -i lan0 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT\n\
    -A FORWARD -s 2001:db8:1::/64 -i lan0 -p udp -m udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT\n\
    COMMIT\n";

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const HOST: &str = "2001:db8:1::10";
const APPLIANCE: &str = "2001:db8:1::1";
const FAR: &str = "2001:db8:99::5";
const ROUTER: &str = "2001:db8:ff::fe";
const T0: u64 = 1_700_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn workers() -> (Vec<Worker>, Arc<Handoff>) {
    workers_with(RULES6)
}

fn workers_with(rules6: &str) -> (Vec<Worker>, Arc<Handoff>) {
    let h = Arc::new(Handoff::new(
        2,
        1024,
        Arc::new(OwnerDirectory::for_conntrack_max(65536)),
        Arc::new(OwnerDirectory6::for_conntrack_max(65536)),
    ));
    let ws = (0..2)
        .map(|i| {
            let mut p = support::ipv6::pipeline(CONFIG, rules6);
            // Accounting on: the tests count each connection's replies.
            let cfg = p.conntrack6().config().clone();
            p.conntrack6_mut()
                .set_config(dataplane::conntrack::CtConfig { acct: true, ..cfg });
            Worker::multicore(p, i, 32, 2, i, h.clone())
        })
        .collect();
    (ws, h)
}

fn ports() -> (MemPort, MemPort) {
    (
        MemPort::new(LAN, "lan0", MacAddr(LAN_MAC), 2, 4096),
        MemPort::new(WAN, "wan0", MacAddr(WAN_MAC), 2, 4096),
    )
}

/// An IPv6 packet of `proto` carrying `l4`, its checksum at `csum_at` filled.
fn ipv6(src: &str, dst: &str, proto: u8, l4: &[u8], csum_at: usize) -> Vec<u8> {
    support::ipv6::packet(src, dst, 64, proto, &[], l4, csum_at)
}

fn tcp(src: &str, dst: &str, ports: (u16, u16), flags: u8, seq: u32, ack: u32) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&ports.0.to_be_bytes());
    t[2..4].copy_from_slice(&ports.1.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    ipv6(src, dst, 6, &t, 16)
}

fn udp(src: &str, dst: &str, ports: (u16, u16), payload: &[u8]) -> Vec<u8> {
    support::ipv6::udp(src, dst, 64, ports, payload)
}

/// `whole` (an IPv6 packet without extension headers) cut in two at `at` bytes of its
/// payload (a multiple of 8), with identification `ident`.
fn fragments(whole: &[u8], at: usize, ident: u32) -> [Vec<u8>; 2] {
    let payload = &whole[40..];
    let piece = |from: usize, to: usize, more: bool| {
        let mut p = whole[..40].to_vec();
        p[6] = 44;
        let len = (8 + to - from) as u16;
        p[4..6].copy_from_slice(&len.to_be_bytes());
        p.extend_from_slice(&[whole[6], 0]);
        p.extend_from_slice(&((from as u16) | u16::from(more)).to_be_bytes());
        p.extend_from_slice(&ident.to_be_bytes());
        p.extend_from_slice(&payload[from..to]);
        p
    };
    [piece(0, at, true), piece(at, payload.len(), false)]
}

fn frame(dst_mac: [u8; 6], ip: &[u8]) -> Vec<u8> {
    let mut f = dst_mac.to_vec();
    f.extend_from_slice(&[2, 0, 0, 0, 9, 9, 0x86, 0xdd]);
    f.extend_from_slice(ip);
    f
}

/// The IPv6 packets sent on `port`, all queues.
fn sent(port: &mut MemPort) -> Vec<Vec<u8>> {
    (0..2)
        .flat_map(|q| port.take_tx(q))
        .map(|f| {
            assert_eq!(&f.data()[12..14], &[0x86, 0xdd]);
            f.data()[14..].to_vec()
        })
        .collect()
}

fn ct6_lens(ws: &[Worker]) -> [usize; 2] {
    [
        ws[0].pipeline.conntrack6().len(),
        ws[1].pipeline.conntrack6().len(),
    ]
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// A web connection from the LAN through worker 0; its SYN-ACK arrives on worker 1's
/// queue, which holds no connection: without the handoff the stateful FORWARD chain
/// would drop it there. It is handed to worker 0 and accepted as ESTABLISHED. Once the
/// connection times out it leaves the owner directory.
#[test]
fn a_reply_on_the_other_worker_is_handed_to_the_owner_and_accepted() {
    let (mut ws, h) = workers();
    let (mut lan, mut wan) = ports();
    lan.inject(
        0,
        &frame(LAN_MAC, &tcp(HOST, FAR, (40000, 80), SYN, 1000, 0)),
    )
    .unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0);
    assert_eq!(sent(&mut wan).len(), 1, "the SYN forwarded");
    assert_eq!(ct6_lens(&ws), [1, 0]);
    assert_eq!(h.directory6().len(), 2, "both tuples registered");

    let syn_ack = tcp(FAR, HOST, (80, 40000), SYN | ACK, 5000, 1001);
    wan.inject(1, &frame(WAN_MAC, &syn_ack)).unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0 + SEC);
    let back = sent(&mut lan);
    assert_eq!(back.len(), 1, "the SYN-ACK reached the LAN host");
    assert_eq!(&back[0][8..24], &a6(FAR).octets());
    assert_eq!(&back[0][40..44], &[0, 80, 0x9c, 0x40]);
    assert_eq!((h.stats(1).sent, h.stats(0).received), (1, 1));
    assert_eq!(ct6_lens(&ws), [1, 0], "one connection, in one shard");
    let ct = ws[0].pipeline.conntrack6();
    let e = ct.entries().next().unwrap();
    assert_eq!(ct.counters_of(e).packets, [1, 1]);

    // An answer nobody asked for on worker 1 is not handed: FORWARD drops it there.
    let stray = tcp(FAR, HOST, (80, 40001), SYN | ACK, 5000, 1001);
    wan.inject(1, &frame(WAN_MAC, &stray)).unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0 + SEC);
    assert!(sent(&mut lan).is_empty());
    assert_eq!(h.stats(1).sent, 1);

    // SYN_RECV's timeout passes: the entry dies and leaves the directory.
    settle(&mut ws, &mut lan, &mut wan, &h, T0 + 1000 * SEC);
    assert_eq!(ct6_lens(&ws), [0, 0]);
    assert!(h.directory6().is_empty(), "unregistered on expiry");
}

/// The fragments of eight replies to a UDP query each arrive on both queues, the last
/// first: they meet at one fragment home (by source, destination and identification),
/// are reassembled there, handed to the owner when that is the other worker, accepted as
/// ESTABLISHED and sent on cut as they came.
#[test]
fn fragments_of_a_reply_meet_at_their_home_and_reach_the_owner() {
    let (mut ws, h) = workers();
    let (mut lan, mut wan) = ports();
    lan.inject(1, &frame(LAN_MAC, &udp(HOST, FAR, (50001, 53), b"query")))
        .unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0);
    assert_eq!(sent(&mut wan).len(), 1);
    assert_eq!(ct6_lens(&ws), [0, 1]);
    let payload: Vec<u8> = (0..400u32).map(|i| i as u8).collect();
    for id in 0..8 {
        let reply = udp(FAR, HOST, (53, 50001), &payload);
        let [first, last] = fragments(&reply, 200, 0x7700 + id);
        wan.inject(0, &frame(WAN_MAC, &last)).unwrap();
        wan.inject(1, &frame(WAN_MAC, &first)).unwrap();
    }
    settle(&mut ws, &mut lan, &mut wan, &h, T0 + SEC);
    let back = sent(&mut lan);
    assert_eq!(back.len(), 16, "two fragments out per datagram");
    let mut idents: Vec<u32> = back
        .iter()
        .map(|p| {
            assert_eq!(p[6], 44, "a fragment header");
            u32::from_be_bytes([p[44], p[45], p[46], p[47]])
        })
        .collect();
    idents.sort();
    idents.dedup();
    assert_eq!(idents, (0x7700..0x7708).collect::<Vec<_>>(), "as they came");
    let carried: usize = back.iter().map(|p| p.len() - 48).sum();
    assert_eq!(carried, 8 * (8 + 400));
    assert_eq!(
        ct6_lens(&ws),
        [0, 1],
        "one connection, in its owner's shard"
    );
    let ct = ws[1].pipeline.conntrack6();
    let e = ct.entries().next().unwrap();
    assert_eq!(
        ct.counters_of(e).packets[1],
        8,
        "all eight replies counted by the owner"
    );
    // Both workers were fragment homes; worker 0 handed its datagrams to worker 1.
    assert!(ws[0].pipeline.defrag6_stats().reassembled > 0);
    assert!(ws[1].pipeline.defrag6_stats().reassembled > 0);
    assert_eq!(
        h.stats(0).sent,
        // Fragments worker 0 handed to the home on worker 1, plus datagrams it
        // reassembled and handed on to the owner.
        h.stats(1).received
    );
    assert!(h.stats(0).sent > 0 && h.stats(1).sent > 0);
}

/// An ICMPv6 error about a forwarded connection comes back on the worker that does not
/// hold it: the quoted packet (inverted: the direction the error travels) finds the
/// owner, which accepts it as RELATED and sends it on to the LAN host.
#[test]
fn an_icmpv6_error_is_steered_by_the_packet_it_quotes() {
    let (mut ws, h) = workers();
    let (mut lan, mut wan) = ports();
    let syn = tcp(HOST, FAR, (40002, 80), SYN, 1000, 0);
    lan.inject(0, &frame(LAN_MAC, &syn)).unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0);
    let forwarded = sent(&mut wan).remove(0);
    assert_eq!(ct6_lens(&ws), [1, 0]);
    // Destination unreachable (address unreachable) from a router on the way.
    let mut icmp = vec![1, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&forwarded);
    let error = ipv6(ROUTER, HOST, 58, &icmp, 2);
    wan.inject(1, &frame(WAN_MAC, &error)).unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0 + SEC);
    let back = sent(&mut lan);
    assert_eq!(back.len(), 1, "the error reached the LAN host");
    assert_eq!((back[0][6], back[0][40]), (58, 1));
    assert_eq!((h.stats(1).sent, h.stats(0).received), (1, 1));
    assert_eq!(ct6_lens(&ws), [1, 0], "RELATED: no new connection");
}

/// The host's IPv6 answer (OUTPUT through the TAP port) put on the worker that does not
/// hold the connection is handed to the one that does.
#[test]
fn host_ipv6_output_is_handed_to_the_owner_of_its_connection() {
    let (mut ws, h) = workers();
    let (mut lan, mut wan) = ports();
    // 8081 % 2: a connection to the appliance lives on worker 1, wherever it lands.
    let syn = tcp(HOST, APPLIANCE, (40003, 8081), SYN, 1000, 0);
    lan.inject(0, &frame(LAN_MAC, &syn)).unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0);
    let delivered: Vec<usize> = ws.iter_mut().map(|w| w.local.drain(..).count()).collect();
    assert_eq!(delivered, [0, 1], "delivered to the host by worker 1");
    assert_eq!(ct6_lens(&ws), [0, 1]);
    assert_eq!((h.stats(0).sent, h.stats(1).received), (1, 1));
    let answer = tcp(APPLIANCE, HOST, (8081, 40003), SYN | ACK, 7000, 1001);
    ws[0].output(PacketBuf::from_slice(&answer), T0 + SEC);
    settle(&mut ws, &mut lan, &mut wan, &h, T0 + SEC);
    let back = sent(&mut lan);
    assert_eq!(back.len(), 1);
    assert_eq!(&back[0][24..40], &a6(HOST).octets());
    assert_eq!((h.stats(0).sent, h.stats(1).received), (2, 2));
    assert_eq!(ct6_lens(&ws), [0, 1]);
    let ct = ws[1].pipeline.conntrack6();
    let e = ct.entries().next().unwrap();
    assert_eq!(
        ct.counters_of(e).packets,
        [1, 1],
        "the answer seen as the reply"
    );
}

/// The host's fragmented IPv6 answers, their fragments all on the TAP queue of the worker
/// that does not hold the connection: each datagram's fragments meet at its fragment
/// home, and a datagram reassembled away from the owner is handed on to it (not run
/// there, where its reply tuple would clash with the owner's registration), which sends
/// it on cut as it came.
#[test]
fn host_ipv6_fragments_meet_at_their_home_and_leave_from_the_owner() {
    let (mut ws, h) = workers();
    let (mut lan, mut wan) = ports();
    // 5353 % 2: the connection lives on worker 1.
    let ask = udp(HOST, APPLIANCE, (40005, 5353), b"ask");
    lan.inject(0, &frame(LAN_MAC, &ask)).unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0);
    assert_eq!(ct6_lens(&ws), [0, 1]);
    for id in 0..8 {
        let answer = udp(APPLIANCE, HOST, (5353, 40005), &[5; 400]);
        for f in fragments(&answer, 200, 0x5500 + id) {
            ws[0].output(PacketBuf::from_slice(&f), T0 + SEC);
        }
    }
    settle(&mut ws, &mut lan, &mut wan, &h, T0 + SEC);
    let back = sent(&mut lan);
    assert_eq!(back.len(), 16, "two fragments out per datagram");
    let mut idents: Vec<u32> = back
        .iter()
        .map(|p| u32::from_be_bytes([p[44], p[45], p[46], p[47]]))
        .collect();
    idents.sort();
    idents.dedup();
    assert_eq!(idents, (0x5500..0x5508).collect::<Vec<_>>());
    assert_eq!(
        ct6_lens(&ws),
        [0, 1],
        "no second entry on the fragment home"
    );
    let ct = ws[1].pipeline.conntrack6();
    let e = ct.entries().next().unwrap();
    assert_eq!(ct.counters_of(e).packets, [1, 8]);
    assert!(ws[0].pipeline.defrag6_stats().reassembled > 0);
    assert!(ws[1].pipeline.defrag6_stats().reassembled > 0);
    assert_eq!(h.directory6().refused(), (0, 0));
}

/// A new connection whose reply tuple another worker already registered clashes: its
/// packet is dropped, nothing is confirmed, and the directory keeps the first owner.
#[test]
fn a_tuple_another_worker_holds_is_refused() {
    let (mut ws, h) = workers();
    let (mut lan, mut wan) = ports();
    let reply = dataplane::conntrack::Tuple::<Ipv6Addr> {
        src: a6(FAR),
        dst: a6(HOST),
        proto: 6,
        sport: 80,
        dport: 40004,
    };
    h.directory6().register(&reply, 1).unwrap();
    lan.inject(
        0,
        &frame(LAN_MAC, &tcp(HOST, FAR, (40004, 80), SYN, 1000, 0)),
    )
    .unwrap();
    settle(&mut ws, &mut lan, &mut wan, &h, T0);
    assert!(sent(&mut wan).is_empty(), "the clashing SYN dropped");
    assert_eq!(ct6_lens(&ws), [0, 0]);
    assert_eq!(h.directory6().refused(), (0, 1));
    assert_eq!(h.directory6().len(), 1);
    assert_eq!(h.directory6().lookup(&reply), Some(1));
}

/// Neighbour discovery keeps working on either worker: a solicitation for the
/// appliance's address is answered wherever it lands, and an advertisement reaches
/// both workers' caches.
#[test]
fn neighbour_solicitations_are_answered_on_either_worker() {
    let (mut ws, h) = workers();
    let (mut lan, mut wan) = ports();
    for q in 0..2 {
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&a6(APPLIANCE).octets());
        ns.extend_from_slice(&[1, 1, 2, 0, 0, 0, 1, 0x10]);
        let mut ip = ipv6(HOST, "ff02::1:ff00:1", 58, &ns, 2);
        ip[7] = 255;
        let mut f = frame([0x33, 0x33, 0xff, 0, 0, 1], &ip);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 1, 0x10]);
        lan.inject(q, &f).unwrap();
    }
    settle(&mut ws, &mut lan, &mut wan, &h, T0);
    let back = sent(&mut lan);
    assert_eq!(back.len(), 2, "both solicitations answered");
    assert!(back.iter().all(|p| p[6] == 58 && p[40] == 136));
    assert_eq!(h.stats(0).sent + h.stats(1).sent, 0, "nothing handed");
}

/// `owner_of` reads a frame before any check: every truncation of every kind of IPv6
/// packet above, and a payload length that lies, is answered without a panic.
#[test]
fn owner_of_reads_truncated_ipv6_frames_safely() {
    let (ws, _h) = workers();
    let p = &ws[0].pipeline;
    let syn = tcp(HOST, FAR, (40000, 80), SYN, 1000, 0);
    let reply = udp(FAR, HOST, (53, 50001), &[7; 300]);
    let [first, last] = fragments(&reply, 200, 9);
    let mut icmp = vec![1, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&syn);
    let error = ipv6(ROUTER, HOST, 58, &icmp, 2);
    for ip in [&syn, &reply, &first, &last, &error] {
        let f = frame(WAN_MAC, ip);
        for n in 0..=f.len() {
            if let Some(w) = p.owner_of(&f[..n]) {
                assert!(w < 2);
            }
            let _ = p.owner_of_packet(&ip[..n.min(ip.len())]);
        }
        let mut long = ip.to_vec();
        long[4..6].copy_from_slice(&u16::MAX.to_be_bytes());
        let _ = p.owner_of_packet(&long);
    }
    // An error about no known connection stays where it landed.
    assert_eq!(p.owner_of(&frame(WAN_MAC, &error)), None);
}

/// NAT66 MASQUERADE on two workers: each worker picks source ports from its own slice
/// (`port % workers`), so a reply to the appliance's address, wherever it lands, is
/// steered by its port to the worker that translated the connection, and goes back to
/// the LAN host untranslated.
#[test]
fn masqueraded_ipv6_replies_on_the_wrong_queue_reach_the_translating_worker() {
    let nat = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n\
        *filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
        -A FORWARD -i lan0 -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n";
    let (mut ws, h) = workers_with(nat);
    let (mut lan, mut wan) = ports();
    const FLOWS: u16 = 24;
    for i in 0..FLOWS {
        let syn = tcp(HOST, FAR, (41000 + i, 80), SYN, 1000, 0);
        lan.inject(i % 2, &frame(LAN_MAC, &syn)).unwrap();
    }
    settle(&mut ws, &mut lan, &mut wan, &h, T0);
    let out = sent(&mut wan);
    assert_eq!(out.len(), usize::from(FLOWS));
    assert_eq!(ct6_lens(&ws), [12, 12]);
    let wan_addr = a6("2001:db8:ff::1").octets();
    for p in &out {
        assert_eq!(&p[8..24], &wan_addr, "masqueraded");
        let nat_port = u16::from_be_bytes([p[40], p[41]]);
        // The reply on the queue of the worker that did not translate it.
        let translated_by = ws
            .iter()
            .position(|w| {
                w.pipeline
                    .conntrack6()
                    .entries()
                    .any(|e| e.reply.dport == nat_port)
            })
            .unwrap() as u16;
        assert_eq!(nat_port % 2, translated_by, "from the worker's slice");
        let reply = tcp(FAR, "2001:db8:ff::1", (80, nat_port), SYN | ACK, 5000, 1001);
        wan.inject(1 - translated_by, &frame(WAN_MAC, &reply))
            .unwrap();
    }
    settle(&mut ws, &mut lan, &mut wan, &h, T0 + SEC);
    let back = sent(&mut lan);
    assert_eq!(back.len(), usize::from(FLOWS), "every reply back");
    let mut ports: Vec<u16> = back
        .iter()
        .map(|p| {
            assert_eq!(&p[24..40], &a6(HOST).octets(), "un-NATed");
            u16::from_be_bytes([p[42], p[43]])
        })
        .collect();
    ports.sort();
    assert_eq!(ports, (41000..41000 + FLOWS).collect::<Vec<_>>());
    assert_eq!(h.stats(0).sent + h.stats(1).sent, u64::from(FLOWS));
    assert_eq!(ct6_lens(&ws), [12, 12], "no second entry anywhere");
}
