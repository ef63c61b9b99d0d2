//! IPv6 connections through a `Conntrack6` shard. The /proc lines were captured from
//! Linux 6.18 (`conntrack -I` in a namespace, then /proc/net/nf_conntrack and
//! `conntrack -L -f ipv6`).

use super::tests::{only_line, pass};
use super::*;
use crate::hash::mix64;
use crate::wire::checksum;

const A: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const B: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);
const C: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 3);
const T0: u64 = 1_000 * NS;

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTH: u8 = 51;
const DST_OPTS: u8 = 60;

/// One extension header of kind `kind` whose next header is `next`: 8 bytes of PadN
/// options, a type 4 routing header with no segments left, a 12-byte AH, or a fragment
/// header at offset 0 with more fragments to come.
fn ext(kind: u8, next: u8) -> Vec<u8> {
    match kind {
        HOP_BY_HOP | DST_OPTS => vec![next, 0, 1, 4, 0, 0, 0, 0],
        ROUTING => vec![next, 0, 4, 0, 0, 0, 0, 0],
        AUTH => vec![next, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
        FRAGMENT => vec![next, 0, 0, 1, 0, 0, 0, 9],
        _ => unreachable!("not an extension header"),
    }
}

/// An IPv6 packet from `src` to `dst` with the extension headers `exts` (kinds, in order)
/// before `l4` of protocol `proto`, whose checksum (TCP, UDP, ICMPv6) is filled in.
fn ip6(proto: u8, src: Ipv6Addr, dst: Ipv6Addr, exts: &[u8], l4: &[u8]) -> Vec<u8> {
    let mut l4 = l4.to_vec();
    let at = match proto {
        6 => Some(16),
        17 => Some(6),
        58 => Some(2),
        _ => None,
    };
    if let Some(at) = at {
        l4[at..at + 2].fill(0);
        let ph = checksum::pseudo_header_ipv6(
            src,
            dst,
            crate::wire::IpProtocol::from(proto),
            l4.len() as u32,
        );
        let mut c = !checksum::combine(&[ph, checksum::data(&l4)]);
        if proto == 17 && c == 0 {
            c = 0xffff;
        }
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    let mut chain = Vec::new();
    for (i, &kind) in exts.iter().enumerate() {
        chain.extend(ext(kind, exts.get(i + 1).copied().unwrap_or(proto)));
    }
    let mut p = vec![0u8; 40];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&((chain.len() + l4.len()) as u16).to_be_bytes());
    p[6] = exts.first().copied().unwrap_or(proto);
    p[7] = 64;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    p.extend(chain);
    p.extend(l4);
    p
}

#[allow(clippy::too_many_arguments)]
fn tcp6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ports: (u16, u16),
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
    data: usize,
) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&ports.0.to_be_bytes());
    h[2..4].copy_from_slice(&ports.1.to_be_bytes());
    h[4..8].copy_from_slice(&seq.to_be_bytes());
    h[8..12].copy_from_slice(&ack.to_be_bytes());
    h[12] = 0x50;
    h[13] = flags;
    h[14..16].copy_from_slice(&win.to_be_bytes());
    h.extend(std::iter::repeat_n(0x61u8, data));
    ip6(6, src, dst, &[], &h)
}

/// A segment of the connection A:40000 -> B:80 (`reply`: B to A).
fn seg(reply: bool, flags: u8, seq: u32, ack: u32, data: usize) -> Vec<u8> {
    if reply {
        tcp6(B, A, (80, 40000), flags, seq, ack, 1000, data)
    } else {
        tcp6(A, B, (40000, 80), flags, seq, ack, 1000, data)
    }
}

fn udp_l4(sport: u16, dport: u16, data: usize) -> Vec<u8> {
    let mut h = vec![0u8; 8];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[4..6].copy_from_slice(&((8 + data) as u16).to_be_bytes());
    h.extend(std::iter::repeat_n(0x62u8, data));
    h
}

fn udp6(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16) -> Vec<u8> {
    ip6(17, src, dst, &[], &udp_l4(sport, dport, 0))
}

/// An ICMPv6 message: type, code, then `rest` (id and sequence, or what an error quotes
/// after its 4 unused bytes).
fn icmp6(src: Ipv6Addr, dst: Ipv6Addr, t: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut h = vec![t, code, 0, 0];
    h.extend_from_slice(rest);
    ip6(58, src, dst, &[], &h)
}

fn echo(src: Ipv6Addr, dst: Ipv6Addr, t: u8, id: u16) -> Vec<u8> {
    let mut rest = id.to_be_bytes().to_vec();
    rest.extend([0, 1]);
    icmp6(src, dst, t, 0, &rest)
}

fn new_table() -> Conntrack6 {
    Conntrack6::with_config(CtConfig::default())
}

#[test]
fn tcp_handshake_to_established_and_assured_with_window_tracking() {
    let mut ct = new_table();
    let syn = pass(&mut ct, &seg(false, 0x02, 1000, 0, 0), T0);
    assert_eq!(syn.state, CtState::New);
    // Linux 6.18 prints 119 a moment after the insert.
    assert_eq!(
        only_line(&ct, T0 + NS / 2),
        "ipv6     10 tcp      6 119 SYN_SENT src=2001:0db8:0000:0000:0000:0000:0000:0001 \
         dst=2001:0db8:0001:0000:0000:0000:0000:0002 sport=40000 dport=80 [UNREPLIED] \
         src=2001:0db8:0001:0000:0000:0000:0000:0002 dst=2001:0db8:0000:0000:0000:0000:0000:0001 \
         sport=80 dport=40000 mark=0 zone=0 use=2"
    );
    let synack = pass(&mut ct, &seg(true, 0x12, 5000, 1001, 0), T0);
    assert_eq!((synack.state, synack.reply), (CtState::Established, true));
    assert!(only_line(&ct, T0).contains(" 60 SYN_RECV src="));
    pass(&mut ct, &seg(false, 0x10, 1001, 5001, 0), T0);
    assert_eq!(
        only_line(&ct, T0 + NS / 2),
        "ipv6     10 tcp      6 431999 ESTABLISHED src=2001:0db8:0000:0000:0000:0000:0000:0001 \
         dst=2001:0db8:0001:0000:0000:0000:0000:0002 sport=40000 dport=80 \
         src=2001:0db8:0001:0000:0000:0000:0000:0002 dst=2001:0db8:0000:0000:0000:0000:0000:0001 \
         sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2"
    );
    // Window tracking: in-window data and its ACK pass, a segment far beyond the
    // peer's window and an ACK of data never sent are INVALID.
    let data = pass(&mut ct, &seg(false, 0x18, 1001, 5001, 100), T0);
    assert_eq!(data.state, CtState::Established);
    assert_eq!(
        pass(&mut ct, &seg(true, 0x10, 5001, 1101, 0), T0).state,
        CtState::Established
    );
    let far = seg(false, 0x18, 1_000_000, 5001, 100);
    assert_eq!(ct.packet_in(&far, true, T0).state, CtState::Invalid);
    let bad_ack = seg(false, 0x10, 1101, 900_000, 0);
    assert_eq!(ct.packet_in(&bad_ack, true, T0).state, CtState::Invalid);
    // FIN, FIN, ACK: TIME_WAIT as for IPv4.
    pass(&mut ct, &seg(false, 0x11, 1101, 5001, 0), T0);
    pass(&mut ct, &seg(true, 0x11, 5001, 1102, 0), T0);
    pass(&mut ct, &seg(false, 0x10, 1102, 5002, 0), T0);
    assert!(only_line(&ct, T0).contains(" 120 TIME_WAIT "));
}

#[test]
fn conntrack_tools_print_the_addresses_compressed() {
    let mut ct = new_table();
    ct.follow_events();
    pass(&mut ct, &seg(false, 0x02, 1000, 0, 0), T0);
    // `conntrack -L -f ipv6` on Linux 6.18 printed this for the same entry (its
    // timeout a second later); `conntrack -E` prints the tuple part the same way.
    assert_eq!(
        ct.take_events(),
        [
            "    [NEW] tcp      6 120 SYN_SENT src=2001:db8::1 dst=2001:db8:1::2 sport=40000 \
          dport=80 [UNREPLIED] src=2001:db8:1::2 dst=2001:db8::1 sport=80 dport=40000"
        ]
    );
    let mapped = Tuple6 {
        src: "::ffff:10.0.0.1".parse().unwrap(),
        dst: "::1.2.3.4".parse().unwrap(),
        proto: 17,
        sport: 5,
        dport: 53,
    };
    let (mut user, mut kernel) = (String::new(), String::new());
    mapped.user_fmt(&mut user);
    mapped.proc_fmt(&mut kernel);
    assert_eq!(user, "src=::ffff:10.0.0.1 dst=::1.2.3.4 sport=5 dport=53 ");
    assert_eq!(
        kernel,
        "src=0000:0000:0000:0000:0000:ffff:0a00:0001 dst=0000:0000:0000:0000:0000:0000:0102:0304 \
         sport=5 dport=53 "
    );
}

#[test]
fn udp_new_then_established_on_the_reply() {
    let mut ct = new_table();
    let q = pass(&mut ct, &udp6(A, B, 5353, 53), T0);
    assert_eq!((q.state, q.reply), (CtState::New, false));
    assert!(only_line(&ct, T0).starts_with("ipv6     10 udp      17 30 src="));
    assert!(only_line(&ct, T0).contains("[UNREPLIED]"));
    let r = pass(&mut ct, &udp6(B, A, 53, 5353), T0);
    assert_eq!((r.state, r.reply, r.id), (CtState::Established, true, q.id));
    let again = pass(&mut ct, &udp6(A, B, 5353, 53), T0);
    assert_eq!((again.state, again.reply), (CtState::Established, false));
    assert!(!only_line(&ct, T0).contains("UNREPLIED"));
    // A zero UDP checksum passes as in the kernel's udp_error; a wrong one does not.
    let mut zero = udp6(A, C, 1, 2);
    zero[46..48].fill(0);
    assert_eq!(ct.packet_in(&zero, true, T0).state, CtState::New);
    let mut bad = udp6(A, C, 1, 2);
    bad[46] ^= 1;
    assert_eq!(ct.packet_in(&bad, true, T0).state, CtState::Invalid);
    assert_eq!(ct.packet_in(&bad, false, T0).state, CtState::New);
}

#[test]
fn icmpv6_echo_and_node_information_are_queries() {
    let mut ct = new_table();
    let req = pass(&mut ct, &echo(A, B, 128, 77), T0);
    assert_eq!(req.state, CtState::New);
    assert_eq!(
        only_line(&ct, T0 + NS / 2),
        "ipv6     10 icmpv6   58 29 src=2001:0db8:0000:0000:0000:0000:0000:0001 \
         dst=2001:0db8:0001:0000:0000:0000:0000:0002 type=128 code=0 id=77 [UNREPLIED] \
         src=2001:0db8:0001:0000:0000:0000:0000:0002 dst=2001:0db8:0000:0000:0000:0000:0000:0001 \
         type=129 code=0 id=77 mark=0 zone=0 use=2"
    );
    let rep = pass(&mut ct, &echo(B, A, 129, 77), T0);
    assert_eq!(
        (rep.state, rep.reply, rep.id),
        (CtState::Established, true, req.id)
    );
    // A reply nobody asked for cannot start a connection; node information can.
    assert_eq!(
        ct.packet_in(&echo(B, A, 129, 78), true, T0).state,
        CtState::Invalid
    );
    assert_eq!(pass(&mut ct, &echo(A, C, 139, 5), T0).state, CtState::New);
    assert_eq!(
        pass(&mut ct, &echo(C, A, 140, 5), T0).state,
        CtState::Established
    );
    // Neighbour discovery and MLD are never tracked (noct_valid_new); a redirect has
    // no reply type: INVALID.
    for t in [130, 131, 132, 133, 134, 135, 136, 143] {
        let i = ct.packet_in(&icmp6(A, B, t, 0, &[0; 20]), true, T0);
        assert_eq!((t, i.state), (t, CtState::Untracked));
    }
    assert_eq!(
        ct.packet_in(&icmp6(A, B, 137, 0, &[0; 36]), true, T0).state,
        CtState::Invalid
    );
    // ICMPv6's checksum covers the pseudo-header.
    let mut bad = echo(A, B, 128, 99);
    bad[42] ^= 0x80;
    assert_eq!(ct.packet_in(&bad, true, T0).state, CtState::Invalid);
    assert_eq!(ct.len(), 2);
}

#[test]
fn icmpv6_errors_are_related_to_the_connection_they_quote() {
    let mut ct = new_table();
    let sent = udp6(A, B, 5353, 53);
    let q = pass(&mut ct, &sent, T0);
    // B's port unreachable, quoting what A sent: RELATED, in the reply direction.
    let mut quote = vec![0u8; 4];
    quote.extend_from_slice(&sent);
    let err = ct.packet_in(&icmp6(B, A, 1, 4, &quote), true, T0);
    assert_eq!(
        (err.state, err.id, err.reply),
        (CtState::Related, q.id, true)
    );
    // Packet too big (2), time exceeded (3) and parameter problem (4) alike, from a
    // router on the way; a quote cut short after the UDP header is enough.
    let mut long = udp6(A, B, 5353, 53);
    long.extend([0u8; 200]);
    long[4..6].copy_from_slice(&(208u16).to_be_bytes());
    for t in [2, 3, 4] {
        let mut quote = vec![0, 0, 5, 0xdc];
        quote.extend_from_slice(&long[..48]);
        let e = ct.packet_in(&icmp6(C, A, t, 0, &quote), true, T0);
        assert_eq!((t, e.state, e.id), (t, CtState::Related, q.id));
    }
    // Quoting a packet of no connection, or sent to someone else than its sender.
    let mut other = vec![0u8; 4];
    other.extend_from_slice(&udp6(A, B, 5354, 53));
    let e = ct.packet_in(&icmp6(B, A, 1, 4, &other), true, T0);
    assert_eq!(e.state, CtState::Invalid);
    let e = ct.packet_in(&icmp6(B, C, 1, 4, &quote), true, T0);
    assert_eq!(e.state, CtState::Invalid);
    // An error about an echo request: RELATED to the echo.
    let ping = echo(A, B, 128, 9);
    let p = pass(&mut ct, &ping, T0);
    let mut quote = vec![0u8; 4];
    quote.extend_from_slice(&ping);
    let e = ct.packet_in(&icmp6(C, A, 3, 0, &quote), true, T0);
    assert_eq!((e.state, e.id), (CtState::Related, p.id));
    assert_eq!(ct.len(), 2);
}

#[test]
fn extension_headers_are_skipped_to_the_transport_header() {
    let mut ct = new_table();
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&40000u16.to_be_bytes());
    h[2..4].copy_from_slice(&80u16.to_be_bytes());
    h[12] = 0x50;
    h[13] = 0x02;
    h[14..16].copy_from_slice(&1000u16.to_be_bytes());
    let syn = ip6(6, A, B, &[HOP_BY_HOP, DST_OPTS], &h);
    let i = pass(&mut ct, &syn, T0);
    assert_eq!(i.state, CtState::New);
    let e = ct.entry(i.id.unwrap()).unwrap();
    assert_eq!((e.orig.proto, e.orig.sport, e.orig.dport), (6, 40000, 80));
    // Routing and AH too; all of them on one packet of the same connection.
    let again = ip6(
        6,
        A,
        B,
        &[HOP_BY_HOP, DST_OPTS, ROUTING, AUTH, DST_OPTS],
        &h,
    );
    let j = ct.packet_in(&again, true, T0);
    assert_eq!((j.state, j.id), (CtState::New, i.id));
    let udp = ip6(17, A, B, &[ROUTING, AUTH], &udp_l4(7, 8, 3));
    assert_eq!(pass(&mut ct, &udp, T0).state, CtState::New);
    assert_eq!(ct.len(), 2);
    // No next header (59) after the options: nothing to track.
    let none = ip6(59, A, B, &[DST_OPTS], &[]);
    assert_eq!(ct.packet_in(&none, true, T0).state, CtState::Invalid);
    // ESP ends the walk: tracked as a generic protocol.
    let esp = ip6(50, A, B, &[HOP_BY_HOP], &[0; 16]);
    assert_eq!(pass(&mut ct, &esp, T0).state, CtState::New);
    assert!(ct
        .listing(T0)
        .iter()
        .any(|l| l.contains(" unknown  50 600 ")));
}

#[test]
fn fragments_are_not_tracked() {
    let mut ct = new_table();
    // A first fragment with the whole UDP header, and one with an offset: reassembly
    // (nf_defrag_ipv6) runs first, so neither reaches a tracked state.
    let first = ip6(17, A, B, &[FRAGMENT], &udp_l4(7, 8, 16));
    assert_eq!(ct.packet_in(&first, false, T0).state, CtState::Invalid);
    let mut later = first.clone();
    later[42..44].copy_from_slice(&(2u16 << 3).to_be_bytes());
    assert_eq!(ct.packet_in(&later, false, T0).state, CtState::Invalid);
    let behind = ip6(17, A, B, &[HOP_BY_HOP, FRAGMENT], &udp_l4(7, 8, 16));
    assert_eq!(ct.packet_in(&behind, false, T0).state, CtState::Invalid);
    assert!(ct.is_empty());
    // An atomic fragment (offset 0, M clear: RFC 6946) is a whole datagram: tracked.
    let mut atomic = first.clone();
    atomic[43] = 0;
    assert_eq!(pass(&mut ct, &atomic, T0).state, CtState::New);
    assert_eq!(ct.len(), 1);
    // The same datagram reassembled (no fragment header) is the same connection.
    let whole = ct.packet_in(&ip6(17, A, B, &[], &udp_l4(7, 8, 16)), true, T0);
    assert_eq!((whole.state, whole.pending.is_none()), (CtState::New, true));
    assert_eq!(ct.len(), 1);
}

#[test]
fn ipv4_entries_keep_one_cache_line_and_ipv6_ones_take_two() {
    assert_eq!(std::mem::size_of::<ConnEntry>(), 64);
    // Two 38-byte tuples and the same 35 bytes of state: 111 bytes, two cache lines.
    assert_eq!(std::mem::size_of::<ConnEntry6>(), 128);
    assert_eq!(std::mem::size_of::<Option<ConnEntry6>>(), 128);
    assert_eq!(std::mem::align_of::<ConnEntry6>(), 64);
}

/// Every packet the tests build, each cut at every length (with its payload length
/// left, and set to what is left), and with bytes flipped by a fixed-seed generator:
/// nothing panics, reads out of bounds or enters the table in a bad shape.
#[test]
fn truncated_and_garbled_packets_never_panic() {
    let sent = udp6(A, B, 5353, 53);
    let mut quote = vec![0u8; 4];
    quote.extend_from_slice(&sent);
    let samples = [
        seg(false, 0x02, 1000, 0, 10),
        ip6(6, A, B, &[HOP_BY_HOP, DST_OPTS, ROUTING, AUTH], &[0x50; 20]),
        sent.clone(),
        echo(A, B, 128, 1),
        icmp6(B, A, 1, 4, &quote),
        ip6(17, A, B, &[FRAGMENT], &udp_l4(7, 8, 16)),
        ip6(58, A, B, &[DST_OPTS], &[135, 0, 0, 0]),
    ];
    let mut ct = new_table();
    pass(&mut ct, &sent, T0);
    let run = |ct: &mut Conntrack6, p: &[u8]| {
        for verify in [false, true] {
            let mut i = ct.packet_in(p, verify, T0);
            ct.confirm(&mut i, T0);
        }
        let _ = Tuple6::of_packet(p);
    };
    let mut x = 0x6c62_272e_07bb_0142_u64;
    for p in &samples {
        for n in 0..=p.len() {
            run(&mut ct, &p[..n]);
            if n >= 40 {
                let mut cut = p[..n].to_vec();
                cut[4..6].copy_from_slice(&((n - 40) as u16).to_be_bytes());
                run(&mut ct, &cut);
            }
        }
        for round in 0..2000u64 {
            x = mix64(x.wrapping_add(round));
            let mut q = p.clone();
            for k in 0..1 + x % 4 {
                let r = mix64(x ^ k);
                let at = (r % q.len() as u64) as usize;
                q[at] ^= (r >> 32) as u8 | 1;
            }
            run(&mut ct, &q);
        }
    }
    for round in 0..5000u64 {
        x = mix64(x.wrapping_add(round));
        let len = (x % 120) as usize;
        let mut junk: Vec<u8> = (0..len as u64).map(|i| mix64(x ^ i) as u8).collect();
        if let Some(b) = junk.first_mut() {
            *b = 0x60 | (*b & 0x0f);
        }
        run(&mut ct, &junk);
    }
    for e in ct.entries() {
        assert!(e.orig.invert().is_some_and(|r| r == e.reply), "{e:?}");
    }
    ct.expire(T0 + 1_000_000 * NS);
    assert!(ct.is_empty());
}

#[test]
fn filters_apply_to_ipv6_entries_but_their_ipv4_prefixes() {
    let mut ct = new_table();
    pass(&mut ct, &seg(false, 0x02, 1000, 0, 0), T0);
    pass(&mut ct, &udp6(A, B, 5353, 53), T0);
    pass(&mut ct, &echo(A, B, 128, 77), T0);
    let tcp = CtFilter {
        proto: Some(6),
        orig_dport: Some(80),
        ..CtFilter::default()
    }
    .with_tcp_state(TcpState::SynSent);
    let found = ct.records(&tcp, T0);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entry.orig.dport, 80);
    let ping = CtFilter {
        icmp_type: Some(128),
        icmp_id: Some(77),
        ..CtFilter::default()
    };
    assert_eq!(ct.records(&ping, T0).len(), 1);
    assert_eq!(ct.records(&CtFilter::default(), T0).len(), 3);
    let v4_prefix = CtFilter {
        orig_src: Some(filter::parse_ct_prefix("10.0.0.0/8").unwrap()),
        ..CtFilter::default()
    };
    assert!(ct.records(&v4_prefix, T0).is_empty());
    // IPv6 prefixes: A is 2001:db8::1, B 2001:db8:1::2; the reply goes B -> A.
    let v6 = |s: &str, r: &str| CtFilter {
        orig_src: Some(filter::parse_ct_prefix(s).unwrap()),
        reply_src: Some(filter::parse_ct_prefix(r).unwrap()),
        ..CtFilter::default()
    };
    assert_eq!(
        ct.records(&v6("2001:db8::/64", "2001:db8:1::/48"), T0)
            .len(),
        3
    );
    assert!(ct.records(&v6("2001:db8::2", "::/0"), T0).is_empty());
    assert_eq!(ct.delete_matching(&ping).len(), 1);
    assert_eq!(ct.len(), 2);
}

#[test]
fn update_marks_sets_the_masked_bits_of_the_matching_entries_that_change() {
    let mut ct = new_table();
    pass(&mut ct, &udp6(A, B, 5353, 53), T0);
    pass(&mut ct, &udp6(C, B, 5353, 53), T0);
    ct.follow_event_records();
    let from_a = CtFilter {
        orig_src: Some(filter::parse_ct_prefix("2001:db8::1").unwrap()),
        ..CtFilter::default()
    };
    let up = ct.update_marks(&from_a, 5, u32::MAX, T0);
    assert_eq!(up.len(), 1);
    assert_eq!((up[0].entry.orig.src, up[0].entry.mark), (A, 5));
    // conntrack -U counts only what changed: the same mark again updates nothing.
    assert!(ct.update_marks(&from_a, 5, u32::MAX, T0).is_empty());
    // -m 0x100/0xff00 keeps the bits outside the mask: 5 -> 0x105.
    let up = ct.update_marks(&CtFilter::default(), 0x100, 0xff00, T0);
    let marks: Vec<_> = up
        .iter()
        .map(|r| (r.entry.orig.src, r.entry.mark))
        .collect();
    assert_eq!(marks, [(A, 0x105), (C, 0x100)]);
    let kinds: Vec<_> = ct.take_event_records().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [CtEventKind::Update; 3]);
    // An expired entry is left alone.
    assert!(ct
        .update_marks(&CtFilter::default(), 1, 1, T0 + 31 * NS)
        .is_empty());
}

/// Binds the new connection of `p` to `req`; the confirmed entry.
fn bind6(ct: &mut Conntrack6, p: &[u8], req: &nat::NatRequest<Ipv6Addr>) -> Option<ConnEntry6> {
    let mut i = ct.packet_in(p, true, T0);
    let mut e = i.pending.take()?;
    if !ct.bind(&mut e, req) {
        return None;
    }
    i.pending = Some(e.clone());
    assert!(ct.confirm(&mut i, T0));
    Some(e)
}

fn snat6(addr: Ipv6Addr) -> nat::NatRequest<Ipv6Addr> {
    nat::NatRequest {
        manip: nat::Manip::Src,
        addrs: Some((addr, addr)),
        ports: None,
        port_base: None,
        random: false,
        persistent: false,
    }
}

#[test]
fn nat66_binds_keep_free_ports_remap_clashes_and_slice_ports_per_worker() {
    let mut ct = new_table();
    // Two sources, one port, one server, one SNAT address: the second is remapped
    // within 1024-65535 and its reply tuple names the new port.
    let first = bind6(&mut ct, &udp6(A, C, 5000, 53), &snat6(B)).unwrap();
    assert_eq!((first.reply.dst, first.reply.dport), (B, 5000));
    assert_ne!(first.status & nat::bits::SRC_NAT, 0);
    let d = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 4);
    let second = bind6(&mut ct, &udp6(d, C, 5000, 53), &snat6(B)).unwrap();
    assert_eq!(second.reply.dst, B);
    assert!(second.reply.dport >= 1024 && second.reply.dport != 5000);
    // The reply finds its connection by the translated tuple.
    let r = ct.packet_in(&udp6(C, B, 53, second.reply.dport), true, T0);
    assert!(r.reply && r.id.is_some());
    // The identity binding keeps an unclashing tuple and marks nothing translated.
    let mut i = ct.packet_in(&udp6(A, C, 6000, 53), true, T0);
    let mut e = i.pending.take().unwrap();
    assert!(ct.bind_identity(&mut e, nat::Manip::Src));
    assert_eq!(e.reply, e.orig.invert().unwrap());
    assert_eq!(e.status & (nat::bits::SRC_NAT | nat::bits::DST_NAT), 0);
    assert!(e.nat_done(nat::Manip::Src));
    // Worker 1 of 2 hands out odd ports only, for IPv6 as for IPv4.
    let mut w = new_table();
    w.set_worker(1, 2);
    let e = bind6(&mut w, &udp6(A, C, 5000, 53), &snat6(B)).unwrap();
    assert_eq!(e.reply.dport % 2, 1, "{}", e.reply.dport);
    // An echo's id is its port: a clashing one is remapped, ICMPv6's number is used.
    let mut ct = new_table();
    let one = bind6(&mut ct, &echo(A, C, 128, 7), &snat6(B)).unwrap();
    let two = bind6(&mut ct, &echo(d, C, 128, 7), &snat6(B)).unwrap();
    assert_eq!(one.reply.sport, 7);
    assert_ne!(two.reply.sport, 7, "the clashing id is remapped");
}

/// What the rules read and set on an IPv6 connection lives in the IPv6 table as an IPv4
/// one's does: `CtInfo::entry` finds the pending entry, then the confirmed one; the mark
/// set on it (CONNMARK) stays; labels set while pending (`store_labels`) move to the
/// table on confirm, later ones go straight there; forced accounting counts both
/// directions (the listing shows it).
#[test]
fn ipv6_connections_carry_mark_labels_and_counters_for_the_rules() {
    let mut ct = Conntrack6::with_config(CtConfig::default());
    ct.force_acct();
    ct.use_labels(true);
    let q = udp6(A, B, 5353, 53);
    let mut i = ct.packet_in(&q, true, T0);
    assert_eq!(i.state, CtState::New);
    let orig = i.entry(&ct).expect("the pending entry").orig;
    assert_eq!((orig.src, orig.dst), (A, B));
    i.entry_mut(&mut ct).expect("pending").mark = 0x30;
    i.store_labels(&mut ct, 1 << 7);
    assert_eq!(ct.pending_labels(&i), Some(1 << 7));
    assert!(ct.confirm(&mut i, T0));
    let id = i.id.expect("confirmed");
    assert_eq!(ct.entry(id).map(|e| e.mark), Some(0x30));
    assert_eq!(ct.labels(id), Some(1 << 7));
    // The reply: the confirmed entry, the labels changed in place.
    let mut r = ct.packet_in(&udp6(B, A, 53, 5353), true, T0 + NS);
    assert_eq!((r.state, r.reply), (CtState::Established, true));
    assert_eq!(r.entry(&ct).map(|e| e.mark), Some(0x30));
    r.store_labels(&mut ct, 1 << 7 | 1);
    assert_eq!(ct.labels(id), Some(1 << 7 | 1));
    r.entry_mut(&mut ct).expect("confirmed").mark = 0x31;
    let k = ct.accounted(id).expect("accounting is on");
    assert_eq!((k.packets, k.bytes), ([1, 1], [48, 48]));
    let line = ct.listing(T0 + NS).concat();
    assert!(
        line.contains("packets=1 bytes=48 src=")
            && line.ends_with("packets=1 bytes=48 mark=49 zone=0 use=2"),
        "{line}"
    );
}
