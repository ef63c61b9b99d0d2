//! Whole connections through a shard with an injected clock. The expected states and
//! timeouts are the kernel's (nf_conntrack_proto_tcp/udp/icmp, checked with `conntrack -L`
//! in a namespace for the handshake, close and UDP cases).

use super::*;
use crate::wire::checksum;
use std::net::Ipv4Addr;

const A: [u8; 4] = [10, 0, 0, 2];
const B: [u8; 4] = [1, 1, 1, 1];
const T0: u64 = 1_000 * NS;

fn finish(mut p: Vec<u8>) -> Vec<u8> {
    let ihl = 20;
    p[10] = 0;
    p[11] = 0;
    let c = !checksum::data(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    let proto = p[9];
    let (src, dst) = (
        Ipv4Addr::new(p[12], p[13], p[14], p[15]),
        Ipv4Addr::new(p[16], p[17], p[18], p[19]),
    );
    let ck = match proto {
        6 => Some(16),
        17 => Some(6),
        1 => Some(2),
        _ => None,
    };
    if let Some(off) = ck {
        p[ihl + off] = 0;
        p[ihl + off + 1] = 0;
        let sum = if proto == 1 {
            checksum::data(&p[ihl..])
        } else {
            let ph = checksum::pseudo_header(
                src,
                dst,
                crate::wire::IpProtocol::from(proto),
                (p.len() - ihl) as u32,
            );
            checksum::combine(&[ph, checksum::data(&p[ihl..])])
        };
        let mut c = !sum;
        if proto == 17 && c == 0 {
            c = 0xffff;
        }
        p[ihl + off..ihl + off + 2].copy_from_slice(&c.to_be_bytes());
    }
    p
}

fn ip(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    p[8] = 64;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    p.extend_from_slice(l4);
    finish(p)
}

fn tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[12] = 0x50;
    h[13] = flags;
    // A zero window would cap the timeouts at max_retrans.
    h[14..16].copy_from_slice(&64240u16.to_be_bytes());
    ip(6, src, dst, &h)
}

fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut h = vec![0u8; 8];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[4..6].copy_from_slice(&8u16.to_be_bytes());
    ip(17, src, dst, &h)
}

fn icmp(src: [u8; 4], dst: [u8; 4], t: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut h = vec![t, code, 0, 0];
    h.extend_from_slice(rest);
    ip(1, src, dst, &h)
}

/// Runs a packet through and confirms it, as the end of the pipeline does.
pub(super) fn pass<A: CtAddr>(ct: &mut Conntrack<A>, p: &[u8], now: u64) -> CtInfo<A> {
    let mut i = ct.packet_in(p, true, now);
    assert!(ct.confirm(&mut i, now));
    i
}

/// The table's one entry, as /proc/net/nf_conntrack lists it.
pub(super) fn only_line<A: CtAddr>(ct: &Conntrack<A>, now: u64) -> String {
    let l = ct.listing(now);
    assert_eq!(l.len(), 1, "{l:?}");
    l[0].clone()
}

#[test]
fn tcp_handshake_data_and_close() {
    let mut ct = Conntrack::new(CtConfig::default());
    let syn = pass(&mut ct, &tcp(A, B, 40000, 80, 0x02), T0);
    assert_eq!(syn.state, CtState::New);
    assert_eq!(
        only_line(&ct, T0),
        "ipv4     2 tcp      6 120 SYN_SENT src=10.0.0.2 dst=1.1.1.1 sport=40000 dport=80 [UNREPLIED] \
         src=1.1.1.1 dst=10.0.0.2 sport=80 dport=40000 mark=0 zone=0 use=2"
    );
    let synack = pass(&mut ct, &tcp(B, A, 80, 40000, 0x12), T0);
    assert_eq!((synack.state, synack.reply), (CtState::Established, true));
    assert!(only_line(&ct, T0).contains(" 60 SYN_RECV src="));
    pass(&mut ct, &tcp(A, B, 40000, 80, 0x10), T0);
    let l = only_line(&ct, T0);
    assert!(
        l.contains(" 432000 ESTABLISHED ") && l.contains("[ASSURED]"),
        "{l}"
    );
    assert!(!l.contains("UNREPLIED"));
    pass(&mut ct, &tcp(A, B, 40000, 80, 0x11), T0);
    assert!(only_line(&ct, T0).contains(" 120 FIN_WAIT "));
    pass(&mut ct, &tcp(B, A, 80, 40000, 0x10), T0);
    assert!(only_line(&ct, T0).contains(" 60 CLOSE_WAIT "));
    pass(&mut ct, &tcp(B, A, 80, 40000, 0x11), T0);
    assert!(only_line(&ct, T0).contains(" 30 LAST_ACK "));
    pass(&mut ct, &tcp(A, B, 40000, 80, 0x10), T0);
    assert!(only_line(&ct, T0).contains(" 120 TIME_WAIT "));
    // TIME_WAIT expires after 120 s, not before.
    ct.expire(T0 + 119 * NS);
    assert_eq!(ct.len(), 1);
    ct.expire(T0 + 121 * NS);
    assert_eq!(ct.len(), 0);
    assert_eq!(ct.stats().expired, 1);
}

#[test]
fn rst_closes_and_times_out_in_10s() {
    let mut ct = Conntrack::new(CtConfig::default());
    pass(&mut ct, &tcp(A, B, 1, 2, 0x02), T0);
    pass(&mut ct, &tcp(B, A, 2, 1, 0x12), T0);
    pass(&mut ct, &tcp(A, B, 1, 2, 0x10), T0);
    pass(&mut ct, &tcp(A, B, 1, 2, 0x04), T0 + NS);
    assert!(only_line(&ct, T0 + NS).contains(" 10 CLOSE "));
    ct.expire(T0 + 12 * NS);
    assert!(ct.is_empty());
}

#[test]
fn loose_pickup_and_strict_mode() {
    let mut ct = Conntrack::new(CtConfig::default());
    let i = pass(&mut ct, &tcp(A, B, 5, 6, 0x10), T0);
    assert_eq!(i.state, CtState::New);
    let l = only_line(&ct, T0);
    assert!(
        l.contains(" 300 ESTABLISHED ") && l.contains("[UNREPLIED]") && !l.contains("ASSURED"),
        "{l}"
    );

    let strict = CtConfig {
        tcp_loose: false,
        ..CtConfig::default()
    };
    let mut ct = Conntrack::new(strict);
    let i = ct.packet_in(&tcp(A, B, 5, 6, 0x10), true, T0);
    assert_eq!(i.state, CtState::Invalid);
    assert!(i.pending.is_none());
}

#[test]
fn invalid_packets_make_no_entry() {
    let mut ct = Conntrack::new(CtConfig::default());
    let mut bad = tcp(A, B, 1, 2, 0x02);
    bad[37] ^= 0xff;
    assert_eq!(ct.packet_in(&bad, true, T0).state, CtState::Invalid);
    // Not checked outside PREROUTING.
    assert_eq!(ct.packet_in(&bad, false, T0).state, CtState::New);
    assert_eq!(
        ct.packet_in(&tcp(A, B, 1, 2, 0x03), true, T0).state,
        CtState::Invalid,
        "SYN+FIN"
    );
    assert_eq!(
        ct.packet_in(&tcp(A, B, 1, 2, 0x12), true, T0).state,
        CtState::Invalid,
        "SYN/ACK first"
    );
    assert!(ct.is_empty());
}

#[test]
fn unconfirmed_connections_leave_nothing() {
    let mut ct = Conntrack::new(CtConfig::default());
    let i = ct.packet_in(&tcp(A, B, 1, 2, 0x02), true, T0);
    assert_eq!(i.state, CtState::New);
    let _dropped_by_the_rules = i; // never confirmed
    assert!(ct.is_empty());
}

#[test]
fn udp_request_reply_and_stream() {
    let mut ct = Conntrack::new(CtConfig::default());
    pass(&mut ct, &udp(A, B, 5353, 53), T0);
    assert!(only_line(&ct, T0).starts_with(
        "ipv4     2 udp      17 30 src=10.0.0.2 dst=1.1.1.1 sport=5353 dport=53 [UNREPLIED] "
    ));
    let r = pass(&mut ct, &udp(B, A, 53, 5353), T0 + NS);
    assert_eq!(r.state, CtState::Established);
    let l = only_line(&ct, T0 + NS);
    assert!(
        l.contains(" 30 src=") && !l.contains("ASSURED") && !l.contains("UNREPLIED"),
        "{l}"
    );
    // Still going after 2 s: a stream, 180 s and ASSURED.
    pass(&mut ct, &udp(A, B, 5353, 53), T0 + 3 * NS);
    let l = only_line(&ct, T0 + 3 * NS);
    assert!(l.contains(" 180 src=") && l.contains("[ASSURED]"), "{l}");
    ct.expire(T0 + 182 * NS);
    assert_eq!(ct.len(), 1);
    ct.expire(T0 + 184 * NS);
    assert!(ct.is_empty());
}

#[test]
fn icmp_echo_and_related_errors() {
    let mut ct = Conntrack::new(CtConfig::default());
    let ping = icmp(A, B, 8, 0, &[0, 7, 0, 1]);
    pass(&mut ct, &ping, T0);
    assert!(only_line(&ct, T0).contains("icmp     1 30 src=10.0.0.2 dst=1.1.1.1 type=8 code=0 id=7 [UNREPLIED] src=1.1.1.1 dst=10.0.0.2 type=0 code=0 id=7 "));
    let pong = icmp(B, A, 0, 0, &[0, 7, 0, 1]);
    assert_eq!(pass(&mut ct, &pong, T0).state, CtState::Established);
    // A reply with no request is invalid.
    assert_eq!(
        ct.packet_in(&icmp(B, A, 0, 0, &[0, 9, 0, 1]), true, T0)
            .state,
        CtState::Invalid
    );

    // A port unreachable about a tracked UDP flow is RELATED; about anything else INVALID.
    let q = udp(A, B, 5353, 53);
    pass(&mut ct, &q, T0);
    let mut body = vec![0u8; 4];
    body.extend_from_slice(&q);
    let err = icmp(B, A, 3, 3, &body);
    let i = ct.packet_in(&err, true, T0);
    assert_eq!((i.state, i.reply), (CtState::Related, true));
    let other = udp(A, B, 9999, 53);
    let mut body = vec![0u8; 4];
    body.extend_from_slice(&other);
    assert_eq!(
        ct.packet_in(&icmp(B, A, 3, 3, &body), true, T0).state,
        CtState::Invalid
    );
}

#[test]
fn table_full_evicts_unassured_then_drops() {
    let cfg = CtConfig {
        max: 2,
        ..CtConfig::default()
    };
    let mut ct = Conntrack::new(cfg);
    // One assured TCP connection, one unreplied UDP flow.
    pass(&mut ct, &tcp(A, B, 1, 2, 0x02), T0);
    pass(&mut ct, &tcp(B, A, 2, 1, 0x12), T0);
    pass(&mut ct, &tcp(A, B, 1, 2, 0x10), T0);
    pass(&mut ct, &udp(A, B, 7, 8), T0);
    // The third evicts the UDP flow.
    pass(&mut ct, &udp(A, B, 9, 10), T0);
    assert_eq!((ct.len(), ct.stats().early_drop), (2, 1));
    assert!(ct
        .lookup(&Tuple::from_ip(&udp(A, B, 7, 8)).unwrap())
        .is_none());
    // Make the second UDP flow assured as well; now nothing can go: the packet is dropped.
    pass(&mut ct, &udp(B, A, 10, 9), T0);
    pass(&mut ct, &udp(A, B, 9, 10), T0 + 3 * NS);
    let mut i = ct.packet_in(&udp(A, B, 11, 12), true, T0 + 3 * NS);
    assert!(!ct.confirm(&mut i, T0 + 3 * NS));
    assert_eq!(ct.stats().table_full, 1);
}

#[test]
fn syn_reopens_a_closed_tuple() {
    let mut ct = Conntrack::new(CtConfig::default());
    for (p, flags) in [(0, 0x02), (1, 0x12), (0, 0x10), (0, 0x04)] {
        let pkt = if p == 0 {
            tcp(A, B, 1, 2, flags)
        } else {
            tcp(B, A, 2, 1, flags)
        };
        pass(&mut ct, &pkt, T0);
    }
    let i = pass(&mut ct, &tcp(A, B, 1, 2, 0x02), T0 + NS);
    assert_eq!(i.state, CtState::New);
    assert!(only_line(&ct, T0 + NS).contains("SYN_SENT"));
}

#[test]
fn entry_size_is_compact() {
    let size = std::mem::size_of::<ConnEntry>();
    eprintln!("ConnEntry: {size} bytes");
    assert!(size <= 128, "{size}");
}

/// One cache line a connection: a lookup that misses the caches costs one line.
#[test]
fn entry_fits_a_cache_line() {
    assert_eq!(std::mem::size_of::<ConnEntry>(), 64);
    assert_eq!(std::mem::size_of::<Option<ConnEntry>>(), 64);
    assert_eq!(std::mem::align_of::<ConnEntry>(), 64);
}

#[test]
fn events_like_conntrack_e() {
    let mut ct = Conntrack::new(CtConfig::default());
    ct.follow_events();
    pass(&mut ct, &tcp(A, B, 40000, 80, 0x02), T0);
    pass(&mut ct, &tcp(B, A, 80, 40000, 0x12), T0);
    pass(&mut ct, &tcp(B, A, 80, 40000, 0x12), T0); // a retransmission: no event
    pass(&mut ct, &tcp(A, B, 40000, 80, 0x04), T0);
    ct.expire(T0 + 11 * NS);
    assert_eq!(
        ct.take_events(),
        [
            "    [NEW] tcp      6 120 SYN_SENT src=10.0.0.2 dst=1.1.1.1 sport=40000 dport=80 [UNREPLIED] src=1.1.1.1 dst=10.0.0.2 sport=80 dport=40000",
            " [UPDATE] tcp      6 60 SYN_RECV src=10.0.0.2 dst=1.1.1.1 sport=40000 dport=80 src=1.1.1.1 dst=10.0.0.2 sport=80 dport=40000",
            " [UPDATE] tcp      6 10 CLOSE src=10.0.0.2 dst=1.1.1.1 sport=40000 dport=80 src=1.1.1.1 dst=10.0.0.2 sport=80 dport=40000",
            "[DESTROY] tcp      6 0 CLOSE src=10.0.0.2 dst=1.1.1.1 sport=40000 dport=80 src=1.1.1.1 dst=10.0.0.2 sport=80 dport=40000",
        ]
    );
}

/// A segment from the client A:1 to the server B:2 (or back when `reply`).
fn seg(reply: bool, flags: u8, seq: u32, ack: u32, win: u16, data: usize) -> Vec<u8> {
    let (src, dst, sport, dport) = if reply {
        (B, A, 2u16, 1u16)
    } else {
        (A, B, 1, 2)
    };
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[4..8].copy_from_slice(&seq.to_be_bytes());
    h[8..12].copy_from_slice(&ack.to_be_bytes());
    h[12] = 0x50;
    h[13] = flags;
    h[14..16].copy_from_slice(&win.to_be_bytes());
    h.extend(std::iter::repeat_n(0x61u8, data));
    ip(6, src, dst, &h)
}

/// A handshake with real sequence numbers: client ISN 1000, server ISN 5000, windows
/// 1000 bytes each way.
fn established(cfg: CtConfig) -> Conntrack {
    let mut ct = Conntrack::new(cfg);
    pass(&mut ct, &seg(false, 0x02, 1000, 0, 1000, 0), T0);
    pass(&mut ct, &seg(true, 0x12, 5000, 1001, 1000, 0), T0);
    pass(&mut ct, &seg(false, 0x10, 1001, 5001, 1000, 0), T0);
    assert!(only_line(&ct, T0).contains("ESTABLISHED"));
    ct
}

#[test]
fn window_tracking_marks_out_of_window_segments_invalid() {
    let mut ct = established(CtConfig::default());
    // In window: data from the client, acked by the server.
    assert_eq!(
        pass(&mut ct, &seg(false, 0x18, 1001, 5001, 1000, 100), T0).state,
        CtState::Established
    );
    assert_eq!(
        pass(&mut ct, &seg(true, 0x10, 5001, 1101, 1000, 0), T0).state,
        CtState::Established
    );
    // Far beyond what the server's window allows: INVALID, state unchanged.
    let far = seg(false, 0x18, 1_000_000, 5001, 1000, 100);
    assert_eq!(ct.packet_in(&far, true, T0).state, CtState::Invalid);
    // Acknowledging data the server never sent: INVALID.
    let bad_ack = seg(false, 0x10, 1101, 900_000, 1000, 0);
    assert_eq!(ct.packet_in(&bad_ack, true, T0).state, CtState::Invalid);
    // A RST out of the window passes too when liberal (nf_tcp_log_invalid accepts any
    // segment then); not at the next sequence number, it leaves the entry ESTABLISHED.
    let mut lib = established(CtConfig {
        tcp_be_liberal: true,
        ..CtConfig::default()
    });
    assert_eq!(
        lib.packet_in(&far, true, T0).state,
        CtState::Established,
        "liberal"
    );
    let rst = seg(false, 0x04, 3_000_000, 0, 0, 0);
    assert_eq!(lib.packet_in(&rst, true, T0).state, CtState::Established);
    assert!(only_line(&lib, T0).contains(" 10 ESTABLISHED "));
}

#[test]
fn picked_up_connections_are_liberal() {
    let mut ct = Conntrack::new(CtConfig::default());
    pass(&mut ct, &seg(false, 0x10, 777_000, 888_000, 500, 0), T0);
    // Without history any sequence numbers pass (the kernel marks such entries liberal).
    let i = pass(&mut ct, &seg(true, 0x10, 42, 777_000, 500, 10), T0);
    assert_eq!(i.state, CtState::Established);
}

#[test]
fn snat_ports_come_from_the_workers_slice() {
    let mut ct = Conntrack::new(CtConfig::default());
    ct.set_worker(1, 4);
    let req = masquerade_to(Ipv4Addr::new(203, 0, 113, 1));
    for sport in [40000u16, 40001, 40002, 40003, 40004] {
        let mut i = ct.packet_in(&udp(A, B, sport, 53), true, T0);
        let e = i.pending.as_mut().unwrap();
        assert!(ct.bind(e, &req));
        let port = e.reply.dport;
        assert_eq!(ct.port_owner(port), 1, "port {port} is worker 1's");
        assert!(port >= 1024);
        assert!(ct.confirm(&mut i, T0));
    }
    // 40001 is in worker 1's slice and free: kept.
    assert!(ct.listing(T0).iter().any(|l| l.contains(
        "sport=40001 dport=53 [UNREPLIED] src=1.1.1.1 dst=203.0.113.1 sport=53 dport=40001"
    )));
    // MASQUERADE's address goes away: its connections are forgotten.
    assert_eq!(ct.forget_nat_source(Ipv4Addr::new(203, 0, 113, 1)), 5);
    assert!(ct.is_empty());
}

fn timeouts(established: u32, max_retrans: u32) -> CtConfig {
    let mut cfg = CtConfig {
        tcp_timeout_max_retrans: max_retrans,
        ..CtConfig::default()
    };
    cfg.tcp_timeouts[TcpState::Established as usize] = established;
    cfg
}

#[test]
fn retransmitted_acks_shorten_the_timeout_to_max_retrans() {
    // tcp_in_window counts the same ACK segment seen again in a row (state->retrans);
    // from nf_conntrack_tcp_max_retrans (3) on, nf_conntrack_tcp_packet uses the
    // max_retrans timeout when it is shorter (conformance: ct_tcp_max_retrans).
    let mut ct = established(timeouts(3000, 55));
    let ack = seg(false, 0x10, 1001, 5001, 1000, 0);
    for _ in 0..2 {
        pass(&mut ct, &ack, T0);
        assert!(only_line(&ct, T0).contains(" 3000 ESTABLISHED "));
    }
    pass(&mut ct, &ack, T0);
    assert!(only_line(&ct, T0).contains(" 55 ESTABLISHED "));
    // Anything else, here from the other side, starts the count over.
    pass(&mut ct, &seg(true, 0x10, 5001, 1001, 1000, 0), T0);
    assert!(only_line(&ct, T0).contains(" 3000 ESTABLISHED "));
}

#[test]
fn a_closed_window_caps_the_timeout_at_max_retrans() {
    // nf_conntrack_tcp_packet: last_win == 0 (no ACK seen yet, or the last one closed
    // the window) caps the timeout at max_retrans (conformance: ct_tcp_synrecv_retrans_cap).
    let mut ct = Conntrack::new(timeouts(3000, 55));
    pass(&mut ct, &seg(false, 0x02, 1000, 0, 1000, 0), T0);
    assert!(only_line(&ct, T0).contains(" 55 SYN_SENT "));
    pass(&mut ct, &seg(true, 0x12, 5000, 1001, 1000, 0), T0);
    assert!(only_line(&ct, T0).contains(" 55 SYN_RECV "));
    pass(&mut ct, &seg(false, 0x10, 1001, 5001, 1000, 0), T0);
    assert!(only_line(&ct, T0).contains(" 3000 ESTABLISHED "));
    pass(&mut ct, &seg(true, 0x10, 5001, 1001, 0, 0), T0);
    assert!(only_line(&ct, T0).contains(" 55 ESTABLISHED "));
}

#[test]
fn rst_checks_against_the_peers_highest_ack() {
    // nf_conntrack_tcp_packet, TCP_CONNTRACK_CLOSE with a RST once the peer's td_maxack
    // is set: before it INVALID, in the window but not at it the entry stays ESTABLISHED
    // (with the CLOSE timeout) for the challenge ACK, at it CLOSE (ct_tcp_rst_challenge).
    let mut ct = established(CtConfig::default());
    pass(&mut ct, &seg(true, 0x18, 5001, 1001, 1000, 10), T0);
    pass(&mut ct, &seg(false, 0x10, 1001, 5011, 1000, 0), T0);
    let early = seg(true, 0x04, 5005, 0, 0, 0);
    assert_eq!(ct.packet_in(&early, true, T0).state, CtState::Invalid);
    assert!(only_line(&ct, T0).contains(" 432000 ESTABLISHED "));
    let inexact = pass(&mut ct, &seg(true, 0x04, 5100, 0, 0, 0), T0);
    assert_eq!(inexact.state, CtState::Established);
    assert!(only_line(&ct, T0).contains(" 10 ESTABLISHED "));
    pass(&mut ct, &seg(true, 0x04, 5011, 0, 0, 0), T0);
    assert!(only_line(&ct, T0).contains(" 10 CLOSE "));
}

#[test]
fn a_rst_ack_kills_an_unreplied_picked_up_connection() {
    // A picked-up entry is liberal: nf_tcp_log_invalid accepts the RST-ACK whose ACK is
    // beyond anything seen, and without a reply the entry dies (ct_tcp_rst_orig_unreplied).
    let mut ct = Conntrack::new(CtConfig::default());
    pass(&mut ct, &seg(false, 0x10, 1001, 5001, 1000, 0), T0);
    let rst = pass(&mut ct, &seg(false, 0x14, 1001, 5001, 0, 0), T0);
    assert_eq!(rst.state, CtState::New);
    assert!(ct.listing(T0).is_empty());
}

#[test]
fn a_syn_reopens_a_tuple_only_after_its_own_sides_rst() {
    // nf_conntrack_tcp_packet, SYN_SENT from CLOSE: the entry is killed and the SYN starts
    // a new one when the closing RST came from the SYN's side; otherwise the SYN is ignored
    // and a SYN/ACK answering it resynchronises the old entry (ct_tcp_reopen_close).
    let mut ct = established(CtConfig::default());
    pass(&mut ct, &seg(false, 0x04, 1001, 0, 0, 0), T0);
    let syn = pass(&mut ct, &seg(false, 0x02, 90000, 0, 1000, 0), T0);
    assert_eq!(syn.state, CtState::New);
    let l = only_line(&ct, T0);
    assert!(l.contains(" SYN_SENT ") && l.contains("[UNREPLIED]") && !l.contains("ASSURED"));

    let mut ct = established(CtConfig::default());
    pass(&mut ct, &seg(true, 0x04, 5001, 0, 0, 0), T0);
    let syn = pass(&mut ct, &seg(false, 0x02, 70000, 0, 1000, 0), T0);
    assert_eq!(syn.state, CtState::Established);
    assert!(only_line(&ct, T0).contains(" 10 CLOSE "));
    pass(&mut ct, &seg(true, 0x12, 9000, 70001, 1000, 0), T0);
    let l = only_line(&ct, T0);
    assert!(
        l.contains(" 60 SYN_RECV ") && l.contains("[ASSURED]"),
        "{l}"
    );
    pass(&mut ct, &seg(false, 0x10, 70001, 9001, 1000, 0), T0);
    assert!(only_line(&ct, T0).contains(" 432000 ESTABLISHED "));
}

#[test]
fn a_synack_to_the_isn_before_a_resent_syn_is_ignored() {
    // A SYN with a new ISN re-initialises the client side (tcp_init_sender); a SYN/ACK
    // acknowledging the old ISN is then under the ACK's lower bound, which tcp_in_window
    // ignores rather than marks INVALID (ct_tcp_syn_new_isn).
    let mut ct = Conntrack::new(CtConfig::default());
    pass(&mut ct, &seg(false, 0x02, 1000, 0, 1000, 0), T0);
    pass(&mut ct, &seg(false, 0x02, 300_000, 0, 1000, 0), T0);
    let old = pass(&mut ct, &seg(true, 0x12, 5000, 1001, 1000, 0), T0);
    assert_eq!(old.state, CtState::Established);
    assert!(only_line(&ct, T0).contains(" SYN_SENT "));
    pass(&mut ct, &seg(true, 0x12, 5000, 300_001, 1000, 0), T0);
    assert!(only_line(&ct, T0).contains(" SYN_RECV "));
    pass(&mut ct, &seg(false, 0x10, 300_001, 5001, 1000, 0), T0);
    assert!(only_line(&ct, T0).contains(" ESTABLISHED "));
}

#[test]
fn counters_are_kept_beside_the_entry_with_accounting_on() {
    let count = |acct: bool| {
        let mut ct = Conntrack::new(CtConfig {
            acct,
            ..CtConfig::default()
        });
        pass(&mut ct, &seg(false, 0x02, 1000, 0, 1000, 0), T0);
        // A retransmitted SYN neither renews nor counts (nf_conntrack_tcp_packet).
        pass(&mut ct, &seg(false, 0x02, 1000, 0, 1000, 0), T0);
        pass(&mut ct, &seg(true, 0x12, 5000, 1001, 1000, 0), T0);
        pass(&mut ct, &seg(false, 0x18, 1001, 5001, 1000, 10), T0);
        let e = ct.entries().next().unwrap().clone();
        (ct.counters_of(&e), only_line(&ct, T0))
    };
    let (c, line) = count(true);
    assert_eq!((c.packets, c.bytes), ([2, 1], [40 + 50, 40]));
    assert!(line.contains("packets=2 bytes=90 ") && line.contains("packets=1 bytes=40 "));
    let (c, line) = count(false);
    assert_eq!(c, Counters::default());
    assert!(!line.contains("packets="));
}

#[test]
fn accounting_turned_on_later_counts_from_then() {
    let mut ct = Conntrack::new(CtConfig::default());
    pass(&mut ct, &seg(false, 0x02, 1000, 0, 1000, 0), T0);
    let e = ct.entries().next().unwrap().clone();
    assert_eq!(ct.counters_of(&e), Counters::default());
    ct.set_config(CtConfig {
        acct: true,
        ..CtConfig::default()
    });
    // The connection from before has no counters; a new one counts its first packet.
    pass(&mut ct, &seg(true, 0x12, 5000, 1001, 1000, 0), T0);
    assert_eq!(ct.counters_of(&e), Counters::default());
    let mut ct2 = Conntrack::new(CtConfig {
        acct: true,
        ..CtConfig::default()
    });
    pass(&mut ct2, &seg(false, 0x02, 1000, 0, 1000, 0), T0);
    let e2 = ct2.entries().next().unwrap().clone();
    assert_eq!(ct2.counters_of(&e2).packets, [1, 0]);
}

#[test]
fn delete_matching_removes_exactly_the_matching_entries_as_expiry_does() {
    let mut ct = Conntrack::new(CtConfig::default());
    let dir = std::sync::Arc::new(crate::conntrack::owners::OwnerDirectory::new(64));
    ct.set_directory(Some(std::sync::Arc::clone(&dir)));
    let wan = Ipv4Addr::new(203, 0, 113, 1);
    let masquerade = masquerade_to(wan);
    // Two masqueraded UDP flows (registered in the owner directory as the pipeline does)
    // and one TCP connection.
    for sport in [5000u16, 5001] {
        let mut i = ct.packet_in(&udp(A, B, sport, 53), true, T0);
        let e = i.pending.as_mut().unwrap();
        assert!(ct.bind(e, &masquerade));
        e.status |= nat::bits::SRC_NAT;
        let (o, r) = (e.orig, e.reply);
        dir.register(&o, 0).unwrap();
        dir.register(&r, 0).unwrap();
        assert!(ct.confirm(&mut i, T0));
    }
    pass(&mut ct, &tcp(A, B, 40000, 80, 0x02), T0);
    assert_eq!((ct.len(), dir.len()), (3, 4));
    ct.follow_event_records();

    let filter = CtFilter {
        proto: Some(17),
        orig_sport: Some(5000),
        ..Default::default()
    };
    let gone = ct.delete_matching(&filter);
    assert_eq!(gone.len(), 1);
    assert_eq!((gone[0].orig.sport, gone[0].reply.dst), (5000, wan));
    assert_eq!(ct.len(), 2);
    // Both tuples left the table and the directory; the NAT port is free again.
    assert!(ct.lookup(&gone[0].orig).is_none());
    assert!(ct.lookup(&gone[0].reply).is_none());
    assert_eq!(dir.lookup(&gone[0].reply), None);
    assert_eq!(dir.len(), 2);
    let ev = ct.take_event_records();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].kind, &ev[0].entry), (CtEventKind::Destroy, &gone[0]));
    // The listing holds exactly the others.
    let left: Vec<u16> = ct
        .records(&CtFilter::default(), T0)
        .iter()
        .map(|r| r.entry.orig.sport)
        .collect();
    assert_eq!(left, [5001, 40000]);
    // The next packet of the deleted flow is NEW again, and gets its old port back.
    let mut i = ct.packet_in(&udp(A, B, 5000, 53), true, T0 + NS);
    assert_eq!(i.state, CtState::New);
    let e = i.pending.as_mut().unwrap();
    assert!(ct.bind(e, &masquerade));
    assert_eq!(e.reply.dport, 5000);
    assert!(ct.confirm(&mut i, T0 + NS));
    // The timer of the deleted entry does not reap the new one early (5001 times out).
    ct.expire(T0 + 30 * NS);
    assert!(ct.get(&gone[0].orig, T0 + 30 * NS).is_some());
    assert_eq!(ct.len(), 2);
    // A filter matching nothing deletes nothing.
    assert!(ct
        .delete_matching(&CtFilter {
            proto: Some(1),
            ..Default::default()
        })
        .is_empty());
    assert_eq!(ct.flush(), 2);
    assert!(ct.is_empty());
}

#[test]
fn records_and_get_carry_ids_counters_and_skip_the_expired() {
    let mut ct = Conntrack::new(CtConfig {
        acct: true,
        ..CtConfig::default()
    });
    pass(&mut ct, &udp(A, B, 5000, 53), T0);
    pass(&mut ct, &udp(B, A, 53, 5000), T0);
    pass(&mut ct, &tcp(A, B, 40000, 80, 0x02), T0);
    let all = ct.records(&CtFilter::default(), T0);
    assert_eq!(all.len(), 2);
    let u = &all[0];
    assert_eq!(u.entry.orig.sport, 5000);
    let c = u.counters.expect("accounting on");
    assert_eq!((c.packets, c.bytes), ([1, 1], [28, 28]));
    let tcp_only = ct.records(&CtFilter::default().with_tcp_state(TcpState::SynSent), T0);
    assert_eq!(tcp_only.len(), 1);
    assert_eq!(tcp_only[0].entry.orig.dport, 80);
    // Either tuple finds the entry.
    let by_reply = ct.get(&u.entry.reply, T0).unwrap();
    assert_eq!(by_reply.id, u.id);
    // Timed out (30 s for UDP) but not yet reaped: neither listed nor found.
    let late = T0 + 31 * NS;
    assert_eq!(ct.records(&CtFilter::default(), late).len(), 1);
    assert!(ct.get(&u.entry.orig, late).is_none());
}

#[test]
fn event_records_only_while_followed() {
    let mut ct = Conntrack::new(CtConfig::default());
    pass(&mut ct, &udp(A, B, 5000, 53), T0);
    assert!(ct.take_event_records().is_empty());
    ct.follow_event_records();
    pass(&mut ct, &udp(A, B, 5001, 53), T0);
    pass(&mut ct, &udp(B, A, 53, 5001), T0);
    let ev = ct.take_event_records();
    let kinds: Vec<_> = ev.iter().map(|e| (e.kind, e.entry.orig.sport)).collect();
    assert_eq!(
        kinds,
        [(CtEventKind::New, 5001), (CtEventKind::Update, 5001)]
    );
    assert_eq!(
        event_line(ev[0].kind.tag(), &ev[0].entry, ev[0].now_ns),
        "    [NEW] udp      17 30 src=10.0.0.2 dst=1.1.1.1 sport=5001 dport=53 [UNREPLIED] src=1.1.1.1 dst=10.0.0.2 sport=53 dport=5001"
    );
    ct.unfollow_event_records();
    ct.flush();
    assert!(ct.take_event_records().is_empty());
}

#[test]
fn an_exhausted_port_range_drops_and_counts_the_new_connection() {
    use super::nat::{Manip, NatRequest};
    let mut ct = Conntrack::new(CtConfig::default());
    let wan = Ipv4Addr::new(203, 0, 113, 1);
    // SNAT --to-source 203.0.113.1:2000-2009: ten connections take the ten ports.
    let req = NatRequest {
        manip: Manip::Src,
        addrs: Some((wan, wan)),
        ports: Some(super::tuple::PortRange { lo: 2000, hi: 2009 }),
        port_base: None,
        random: false,
        persistent: false,
    };
    let mut ports = Vec::new();
    for sport in 5000u16..5010 {
        let mut i = ct.packet_in(&udp(A, B, sport, 53), true, T0);
        let e = i.pending.as_mut().unwrap();
        assert!(ct.bind(e, &req));
        ports.push(e.reply.dport);
        assert!(ct.confirm(&mut i, T0));
    }
    ports.sort_unstable();
    assert_eq!(ports, (2000u16..2010).collect::<Vec<_>>());
    let before = ct.stats().clone();
    let mut i = ct.packet_in(&udp(A, B, 5010, 53), true, T0);
    let e = i.pending.as_mut().unwrap();
    assert!(!ct.bind(e, &req));
    let after = ct.stats();
    assert_eq!(after.insert_failed, before.insert_failed + 1);
    // The pool of ten is searched once, whole.
    assert_eq!(after.nat_port_probes - before.nat_port_probes, 10);
    assert_eq!(ct.len(), 10);
}

#[test]
fn a_full_masquerade_pool_is_given_up_without_scanning_it() {
    let mut ct = Conntrack::new(CtConfig::default());
    let wan = Ipv4Addr::new(203, 0, 113, 1);
    let masquerade = masquerade_to(wan);
    // Host A uses every port of 1024-65535 towards B:53; each keeps its own port.
    for sport in 1024u16..=65535 {
        let mut i = ct.packet_in(&udp(A, B, sport, 53), true, T0);
        let e = i.pending.as_mut().unwrap();
        assert!(ct.bind(e, &masquerade));
        assert_eq!(e.reply.dport, sport);
        assert!(ct.confirm(&mut i, T0));
    }
    assert_eq!(ct.len(), 64_512);
    // Host C's flow to the same server finds no port: dropped and counted after the
    // kernel's bounded search, not 64,512 lookups.
    let before = ct.stats().clone();
    let mut i = ct.packet_in(&udp([10, 0, 0, 3], B, 40000, 53), true, T0);
    let e = i.pending.as_mut().unwrap();
    assert!(!ct.bind(e, &masquerade));
    let after = ct.stats();
    assert_eq!(after.insert_failed, before.insert_failed + 1);
    assert_eq!(after.nat_port_probes - before.nat_port_probes, 248);
}

/// Confirm skips looking up again the original tuple packet_in found absent only while
/// nothing was inserted since: a connection confirmed in between with the same tuple, or
/// with it as its reply, still makes the later one fail.
#[test]
fn confirm_refuses_a_tuple_inserted_after_its_lookup() {
    let mut ct = Conntrack::new(CtConfig::default());
    let mut first = ct.packet_in(&udp(A, B, 5000, 53), true, T0);
    let mut second = ct.packet_in(&udp(A, B, 5000, 53), true, T0);
    assert!(ct.confirm(&mut first, T0));
    assert!(!ct.confirm(&mut second, T0));
    // B's reply direction as the original of a new packet: the tuple is the first
    // connection's reply tuple.
    let mut reply_first = ct.packet_in(&udp(B, [10, 0, 0, 9], 53, 6000), true, T0);
    let mut other = ct.packet_in(&udp([10, 0, 0, 9], B, 6000, 53), true, T0);
    assert!(ct.confirm(&mut other, T0));
    assert!(!ct.confirm(&mut reply_first, T0));
    assert_eq!(ct.stats().insert_failed, 2);
    assert_eq!(ct.len(), 2);
    // With nothing inserted between lookup and confirm, the connection enters.
    let mut fresh = ct.packet_in(&udp(A, B, 5001, 53), true, T0);
    assert!(ct.confirm(&mut fresh, T0));
    assert_eq!(ct.len(), 3);
}

/// On an index as full as it gets (it grows at 3/4), where many searches end past
/// their home slot's cache line, a burst lookup still answers as single lookups do.
#[test]
fn lookup_burst_answers_as_lookup_on_a_full_index() {
    let mut ct = Conntrack::new(CtConfig {
        max: u32::MAX,
        ..CtConfig::default()
    });
    // 24,000 tuples fill 32,768 slots to 0.73.
    for i in 0..12_000u32 {
        let src = (0x0a00_0000 + (i >> 12)).to_be_bytes();
        pass(&mut ct, &udp(src, B, 1000 + (i & 0xfff) as u16, 53), T0);
    }
    let mut tuples = Vec::new();
    for i in 0..13_000u32 {
        let t = Tuple {
            src: Ipv4Addr::from(0x0a00_0000 + (i >> 12)),
            dst: B.into(),
            proto: 17,
            sport: 1000 + (i & 0xfff) as u16,
            dport: 53,
        };
        tuples.push(t);
        tuples.push(t.invert().unwrap());
    }
    let want = burst_answers_as_single_lookups(&mut ct, &tuples);
    assert_eq!(want.iter().filter(|x| x.is_some()).count(), 24_000);
}

/// `lookup_burst` over `tuples`, checked against one `lookup` each; returns the answers.
fn burst_answers_as_single_lookups(
    ct: &mut Conntrack,
    tuples: &[Tuple],
) -> Vec<Option<(u32, bool)>> {
    let mut out = vec![None; tuples.len()];
    ct.lookup_burst(tuples, &mut out);
    let want: Vec<_> = tuples.iter().map(|t| ct.lookup(t)).collect();
    assert_eq!(out, want);
    want
}

/// A burst lookup answers as single lookups do, for both directions, misses, and
/// bursts longer than one pass; after removals and the reuse of freed ids too.
#[test]
fn lookup_burst_answers_as_lookup() {
    let mut ct = Conntrack::new(CtConfig::default());
    for i in 0..500u16 {
        let proto_tcp = i % 3 == 0;
        let p = if proto_tcp {
            tcp(A, B, 1000 + i, 80, 0x02)
        } else {
            udp(A, B, 1000 + i, 53)
        };
        pass(&mut ct, &p, T0);
    }
    // RSTs before any reply kill a third of the TCP connections at the next expiry.
    for i in (0..500u16).step_by(9) {
        pass(&mut ct, &tcp(A, B, 1000 + i, 80, 0x04), T0);
    }
    ct.expire(T0 + 2 * NS);
    for i in 500..600u16 {
        pass(&mut ct, &udp(A, B, 1000 + i, 53), T0 + 2 * NS);
    }
    let mut tuples = Vec::new();
    for i in 0..700u16 {
        for (proto, dport) in [(6u8, 80u16), (17, 53)] {
            let t = Tuple {
                src: A.into(),
                dst: B.into(),
                proto,
                sport: 1000 + i,
                dport,
            };
            tuples.push(t);
            tuples.push(t.invert().unwrap());
        }
    }
    let want = burst_answers_as_single_lookups(&mut ct, &tuples);
    let hits = want.iter().filter(|x| x.is_some()).count();
    assert_eq!(hits, 2 * ct.len());
    assert!(ct.len() > 500 && ct.stats().expired > 0, "{}", ct.len());
    assert!(want.iter().any(|x| matches!(x, Some((_, true)))));
}

/// Ten thousand connections that time out in the same second are reaped a few per
/// packet, not all by the first packet after it; one of them that is seen again before
/// its turn is gone all the same (a new connection), as the kernel's lookup finds it.
#[test]
fn a_mass_timeout_is_reaped_in_pieces() {
    let mut ct = Conntrack::new(CtConfig::default());
    for port in 0..10_000u16 {
        pass(&mut ct, &udp(A, B, 1024 + port, 53), T0);
    }
    assert_eq!(ct.len(), 10_000);
    // UDP unreplied: 30 s.
    let later = T0 + 31 * NS;
    let other = pass(&mut ct, &udp(B, A, 9, 9), later);
    assert_eq!(other.state, CtState::New);
    assert_eq!(ct.stats().expired, EXPIRE_PER_PACKET as u64);
    let again = pass(&mut ct, &udp(A, B, 1024 + 9_999, 53), later);
    assert_eq!(again.state, CtState::New, "an expired entry is not revived");
    assert_eq!(ct.stats().expired, 2 * EXPIRE_PER_PACKET as u64 + 1);
    // The worker's passes reap the rest.
    let mut passes = 0;
    while ct.expire_some(later, EXPIRE_PER_POLL) > 0 {
        passes += 1;
    }
    assert!(passes >= 10_000 / EXPIRE_PER_POLL, "{passes}");
    assert_eq!(ct.len(), 2, "the two connections of the later packets");
    assert_eq!(ct.stats().expired, 10_000);
}

/// Connlabel bits: only connections started while labels are in use carry them; a
/// pending connection's bits move into the label slab on confirm, a slot is taken only
/// for a connection with a bit set, and an expired connection's slot is reused.
#[test]
fn labels_live_beside_the_entries() {
    let mut ct = Conntrack::new(CtConfig::default());
    // Started before any connlabel rule: no labels, none can be set.
    let before = pass(&mut ct, &udp(A, B, 1000, 53), T0).id.unwrap();
    assert_eq!(ct.labels(before), None);
    ct.set_labels(before, 1);
    assert_eq!(ct.labels(before), None);

    ct.use_labels(true);
    let mut i = ct.packet_in(&udp(A, B, 1001, 53), true, T0);
    assert_eq!(ct.pending_labels(&i), Some(0));
    i.pending_labels = 1 << 127 | 1 << 5;
    assert!(ct.confirm(&mut i, T0));
    let set = i.id.unwrap();
    assert_eq!(ct.labels(set), Some(1 << 127 | 1 << 5));
    assert_eq!(ct.labels.len(), 1);

    // Labels but no bit: nothing in the slab until one is set.
    let clear = pass(&mut ct, &udp(A, B, 1002, 53), T0).id.unwrap();
    assert_eq!(ct.labels(clear), Some(0));
    assert_eq!(ct.labels.len(), 1);
    ct.set_labels(clear, 1 << 9);
    assert_eq!(ct.labels(clear), Some(1 << 9));
    assert_eq!(ct.labels.len(), 2);
    let listed: Vec<Option<u128>> = ct
        .records(&CtFilter::default(), T0)
        .iter()
        .map(|r| r.labels)
        .collect();
    assert_eq!(listed, [None, Some(1 << 127 | 1 << 5), Some(1 << 9)]);
    // A reply finds the same bits.
    let r = pass(&mut ct, &udp(B, A, 53, 1002), T0 + NS);
    assert_eq!(r.id, Some(clear));

    // Expired: the slots go back and the next labelled connection reuses one.
    ct.expire(T0 + 3600 * NS);
    assert!(ct.is_empty());
    let mut i = ct.packet_in(&udp(A, B, 1003, 53), true, T0 + 3601 * NS);
    i.pending_labels = 2;
    assert!(ct.confirm(&mut i, T0 + 3601 * NS));
    assert_eq!(ct.labels(i.id.unwrap()), Some(2));
    assert_eq!(ct.labels.len(), 2);
    // Turned off: new connections have no labels, the old keep theirs.
    ct.use_labels(false);
    let after = pass(&mut ct, &udp(A, B, 1004, 53), T0 + 3601 * NS)
        .id
        .unwrap();
    assert_eq!(ct.labels(after), None);
    assert_eq!(ct.labels(i.id.unwrap()), Some(2));
}

/// A known connection's packet carries its entry's NAT bits and the other direction's
/// tuple (what the nat hooks rewrite it by); a packet without an entry says 0, and a
/// new one, confirmed or not, leaves the hooks to read the entry.
#[test]
fn found_packets_carry_nat_bits_and_the_other_tuple() {
    let mut ct = Conntrack::new(CtConfig::default());
    let wan = Ipv4Addr::new(203, 0, 113, 1);
    let masquerade = masquerade_to(wan);
    let mut i = ct.packet_in(&udp(A, B, 5000, 53), true, T0);
    assert_eq!(i.nat_bits, NAT_BITS_UNKNOWN);
    let e = i.pending.as_mut().unwrap();
    assert!(ct.bind(e, &masquerade));
    let (orig, reply) = (e.orig, e.reply);
    assert!(ct.confirm(&mut i, T0));
    assert_eq!(i.nat_bits, NAT_BITS_UNKNOWN);
    let out = ct.packet_in(&udp(A, B, 5000, 53), true, T0 + 1);
    // (NEW until a reply: a confirmed entry all the same.)
    assert_eq!((out.state, out.reply), (CtState::New, false));
    assert!(out.id.is_some() && out.pending.is_none());
    assert_eq!(out.nat_bits, nat::bits::SRC_NAT);
    assert_eq!(out.nat_other, Some(reply));
    let back = ct.packet_in(&udp(B, wan.octets(), 53, reply.dport), true, T0 + 2);
    assert!(back.reply);
    assert_eq!(back.nat_bits, nat::bits::SRC_NAT);
    assert_eq!(back.nat_other, Some(orig));
    // Nothing known: no entry, nothing to rewrite.
    let none = ct.packet_in(&[0x45, 0, 0, 20], true, T0 + 3);
    assert_eq!((none.id, none.nat_bits), (None, 0));
    assert_eq!(CtInfo::untracked().nat_bits, 0);
}

/// MASQUERADE's request on a link whose only address is `wan` (the source NATed to it,
/// ports kept where free).
fn masquerade_to(wan: Ipv4Addr) -> super::nat::NatRequest {
    super::nat::NatRequest {
        manip: super::nat::Manip::Src,
        addrs: Some((wan, wan)),
        ports: None,
        port_base: None,
        random: false,
        persistent: false,
    }
}
