//! `-j SYNPROXY` through the pipeline, with the kernel's documented setup (raw notrack
//! of the SYNs, SYNPROXY on INVALID,UNTRACKED, `nf_conntrack_tcp_loose=0`): the client's
//! SYN answered with a cookie SYN-ACK, its ACK checked and turned into the server's SYN,
//! the server's SYN-ACK answered on both sides, then data both ways with the sequence
//! numbers, SACK blocks and timestamps moved between the two ends' numbers (bytes and
//! checksums checked). The expected bytes follow nf_synproxy_core.c (option layout,
//! window 0 on the SYN-ACK, the timestamp cookie's low bits, the server ACK's window).

mod support;

use dataplane::conntrack::CtConfig;
use dataplane::pipeline::{DropReason, Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use dataplane::wire::checksum;

const CONFIG: &str = support::lan_wan_host_config!();

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const T0: u64 = 1_700_000_000_000_000_000;
const CLIENT: [u8; 4] = [198, 18, 0, 7];
const SERVER: [u8; 4] = [192, 168, 1, 10];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

const RULES: &str = "*raw\n\
    -A PREROUTING -i wan0 -p tcp -m tcp --dport 80 --syn -j CT --notrack\nCOMMIT\n\
    *filter\n:FORWARD DROP [0:0]\n\
    -A FORWARD -i wan0 -p tcp -m tcp --dport 80 -m state --state INVALID,UNTRACKED \
    -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\n\
    -A FORWARD -m state --state INVALID -j DROP\n\
    -A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";

fn pipeline() -> Pipeline {
    pipeline_with(RULES)
}

/// A pipeline on CONFIG's ports with `rules` and the kernel's SYNPROXY setup
/// (`nf_conntrack_tcp_loose=0`).
fn pipeline_with(rules: &str) -> Pipeline {
    let mut p = pipeline_loose(rules);
    p.set_conntrack_config(CtConfig {
        tcp_loose: false,
        ..CtConfig::default()
    });
    p
}

/// The same with conntrack's defaults (`nf_conntrack_tcp_loose=1`).
fn pipeline_loose(rules: &str) -> Pipeline {
    support::pipeline::pipeline(CONFIG, rules)
}

fn sum(data: &[u8]) -> u16 {
    !checksum::data(data)
}

/// An IPv4/TCP segment with options (NOP-padded) and payload, checksums valid.
#[allow(clippy::too_many_arguments)]
fn seg(
    src: [u8; 4],
    dst: [u8; 4],
    ports: (u16, u16),
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
    opts: &[u8],
    data: &[u8],
) -> Vec<u8> {
    let olen = opts.len().div_ceil(4) * 4;
    let tcp_len = 20 + olen;
    let total = 20 + tcp_len + data.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[6] = 0x40;
    p[8] = 64;
    p[9] = 6;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let c = sum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..22].copy_from_slice(&ports.0.to_be_bytes());
    p[22..24].copy_from_slice(&ports.1.to_be_bytes());
    p[24..28].copy_from_slice(&seq.to_be_bytes());
    p[28..32].copy_from_slice(&ack.to_be_bytes());
    p[32] = ((tcp_len / 4) as u8) << 4;
    p[33] = flags;
    p[34..36].copy_from_slice(&win.to_be_bytes());
    p[40..40 + opts.len()].copy_from_slice(opts);
    for b in &mut p[40 + opts.len()..40 + olen] {
        *b = 1;
    }
    p[40 + olen..].copy_from_slice(data);
    let c = tcp_sum(&p);
    p[36..38].copy_from_slice(&c.to_be_bytes());
    p
}

/// The TCP checksum over the pseudo header (0 when the packet's is right).
fn tcp_sum(ip: &[u8]) -> u16 {
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&ip[12..20]);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&((ip.len() - 20) as u16).to_be_bytes());
    pseudo.extend_from_slice(&ip[20..]);
    sum(&pseudo)
}

fn checksums_ok(ip: &[u8]) {
    assert_eq!(sum(&ip[..20]), 0, "IP checksum");
    assert_eq!(tcp_sum(ip), 0, "TCP checksum");
}

fn frame(dst_mac: [u8; 6], src_mac: [u8; 6], ip: &[u8]) -> PacketBuf {
    let mut f = Vec::new();
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(ip);
    PacketBuf::from_slice(&f)
}

fn from_wan(p: &mut Pipeline, ip: &[u8], now: u64) -> Vec<Emit> {
    let mut out = Vec::new();
    let f = frame([2, 0, 0, 0, 2, 1], [2, 0, 0, 0, 2, 0xfe], ip);
    p.receive(WAN, f, now, &mut out);
    out
}

fn from_lan(p: &mut Pipeline, ip: &[u8], now: u64) -> Vec<Emit> {
    let mut out = Vec::new();
    let f = frame([2, 0, 0, 0, 1, 1], [2, 0, 0, 0, 1, 0x10], ip);
    p.receive(LAN, f, now, &mut out);
    out
}

/// The IPv4 packets sent on `port`, in order.
fn on(out: &[Emit], port: PortId) -> Vec<Vec<u8>> {
    out.iter()
        .filter_map(|e| match e {
            Emit::Tx { port: p, frame } if *p == port => Some(frame.data()[14..].to_vec()),
            _ => None,
        })
        .collect()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn ts(tsval: u32, tsecr: u32) -> Vec<u8> {
    let mut o = vec![1, 1, 8, 10];
    o.extend_from_slice(&tsval.to_be_bytes());
    o.extend_from_slice(&tsecr.to_be_bytes());
    o
}

/// The client's SYN: MSS 1460, SACK permitted, timestamp 111, window scale 6.
fn client_syn() -> Vec<u8> {
    let mut o = vec![2, 4, 5, 0xb4, 4, 2, 8, 10];
    o.extend_from_slice(&111u32.to_be_bytes());
    o.extend_from_slice(&0u32.to_be_bytes());
    o.extend_from_slice(&[1, 3, 3, 6]);
    seg(CLIENT, SERVER, (40000, 80), SYN, 1000, 0, 64240, &o, &[])
}

/// The client's ACK of the cookie SYN-ACK (ISN `isn`), its timestamp 112 echoing the
/// cookie's.
fn client_ack(isn: u32, cookie_ts: u32) -> Vec<u8> {
    let echo = ts(112, cookie_ts);
    seg(
        CLIENT,
        SERVER,
        (40000, 80),
        ACK,
        1001,
        isn.wrapping_add(1),
        502,
        &echo,
        &[],
    )
}

/// Steps 1 and 2: the SYN answered, a valid ACK; returns the cookie ISN and timestamp.
fn handshake_to_server(p: &mut Pipeline) -> (u32, u32, Vec<u8>) {
    let out = from_wan(p, &client_syn(), T0);
    assert!(on(&out, LAN).is_empty(), "the SYN goes no further");
    let synack = on(&out, WAN);
    assert_eq!(synack.len(), 1, "{out:?}");
    let sa = &synack[0];
    let isn = u32_at(sa, 24);
    let cookie_ts = u32_at(sa, 48);
    let ack = client_ack(isn, cookie_ts);
    let out = from_wan(p, &ack, T0 + 1_000_000);
    assert!(on(&out, WAN).is_empty());
    let syn = on(&out, LAN);
    assert_eq!(syn.len(), 1, "{out:?}");
    (isn, cookie_ts, syn[0].clone())
}

#[test]
fn a_syn_is_answered_with_a_cookie_synack_and_goes_no_further() {
    let mut p = pipeline();
    let out = from_wan(&mut p, &client_syn(), T0);
    assert!(on(&out, LAN).is_empty());
    let sa = on(&out, WAN);
    assert_eq!(sa.len(), 1);
    let sa = &sa[0];
    checksums_ok(sa);
    // IP: TOS 0, id 0, DF, TTL 64, from the server to the client.
    assert_eq!(&sa[1..2], &[0]);
    assert_eq!(&sa[4..10], &[0, 0, 0x40, 0, 64, 6]);
    assert_eq!((&sa[12..16], &sa[16..20]), (&SERVER[..], &CLIENT[..]));
    // TCP: ports swapped, ACK = ISN + 1, SYN|ACK, window 0, 40-byte header.
    assert_eq!((u16_at(sa, 20), u16_at(sa, 22)), (80, 40000));
    assert_eq!(u32_at(sa, 28), 1001);
    assert_eq!((sa[32] >> 4, sa[33], u16_at(sa, 34)), (10, 0x12, 0));
    // Options: the rule's MSS, SACK permitted + timestamp (echoing 111), the rule's
    // window scale; the timestamp's low 6 bits carry the client's scale 6 and SACK.
    assert_eq!(&sa[40..48], &[2, 4, 5, 0xb4, 4, 2, 8, 10]);
    let tsval = u32_at(sa, 48);
    assert_eq!(tsval & 0x3f, 6 | 1 << 4);
    assert_eq!(u32_at(sa, 52), 111);
    assert_eq!(&sa[56..60], &[1, 3, 3, 7]);
    // No connection was tracked for it.
    assert_eq!(p.conntrack().len(), 0);
    assert_eq!(p.stats().synproxy.syn_received, 1);
}

#[test]
fn without_timestamps_the_synack_carries_only_the_mss() {
    let mut p = pipeline();
    // No timestamp offered: window scale and SACK cannot be encoded, so none is sent.
    let o = [2, 4, 5, 0xb4, 4, 2, 1, 3, 3, 6];
    let syn = seg(CLIENT, SERVER, (40001, 80), SYN, 7, 0, 1000, &o, &[]);
    let sa = on(&from_wan(&mut p, &syn, T0), WAN);
    assert_eq!(sa.len(), 1);
    assert_eq!(sa[0][32] >> 4, 6);
    assert_eq!(&sa[0][40..44], &[2, 4, 5, 0xb4]);
    checksums_ok(&sa[0]);
}

#[test]
fn a_valid_ack_sends_the_server_the_clients_syn() {
    let mut p = pipeline();
    let (isn, cookie_ts, syn) = handshake_to_server(&mut p);
    checksums_ok(&syn);
    assert_eq!((&syn[12..16], &syn[16..20]), (&CLIENT[..], &SERVER[..]));
    assert_eq!((u16_at(&syn, 20), u16_at(&syn, 22)), (40000, 80));
    // SEQ = the client's ISN, the ACK field relays the cookie ISN, SYN alone, the ACK's
    // window as it came.
    assert_eq!((u32_at(&syn, 24), u32_at(&syn, 28)), (1000, isn));
    assert_eq!((syn[33], u16_at(&syn, 34)), (SYN, 502));
    // The client's options, from the cookie and its timestamp: MSS 1460, SACK, the
    // client's timestamp and echo, window scale 6.
    assert_eq!(&syn[40..48], &[2, 4, 5, 0xb4, 4, 2, 8, 10]);
    assert_eq!((u32_at(&syn, 48), u32_at(&syn, 52)), (112, cookie_ts));
    assert_eq!(&syn[56..60], &[1, 3, 3, 6]);
    assert_eq!(p.stats().synproxy.cookie_valid, 1);
    let e: Vec<_> = p.conntrack().entries().collect();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].tcp.name(), "SYN_SENT");
}

#[test]
fn wrong_and_expired_cookies_are_dropped() {
    let mut p = pipeline();
    let out = from_wan(&mut p, &client_syn(), T0);
    let isn = u32_at(&on(&out, WAN)[0], 24);
    let ack = |ack: u32| seg(CLIENT, SERVER, (40000, 80), ACK, 1001, ack, 502, &[], &[]);
    for bad in [isn.wrapping_add(0x1001), isn ^ 0x8000_0000, 0] {
        let out = from_wan(&mut p, &ack(bad), T0);
        assert!(out.is_empty(), "{out:?}");
    }
    // The right cookie two minutes later is too old.
    let out = from_wan(&mut p, &ack(isn.wrapping_add(1)), T0 + 130_000_000_000);
    assert!(out.is_empty());
    assert_eq!(p.stats().synproxy.cookie_invalid, 4);
    assert_eq!(p.stats().drops[DropReason::Synproxy], 4);
    assert_eq!(p.stats().synproxy.cookie_valid, 0);
    assert_eq!(p.conntrack().len(), 0);
    // Within the next minute it is still good.
    let out = from_wan(&mut p, &ack(isn.wrapping_add(1)), T0 + 60_000_000_000);
    assert_eq!(on(&out, LAN).len(), 1);
}

#[test]
fn the_servers_synack_is_answered_both_ways_and_data_is_adjusted() {
    let mut p = pipeline();
    let (isn, cookie_ts, _) = handshake_to_server(&mut p);
    // The server answers: ISN 5000, its own options, window 28960 scaled by 9.
    let mut o = vec![2, 4, 5, 0x78, 4, 2, 8, 10];
    o.extend_from_slice(&9000u32.to_be_bytes());
    o.extend_from_slice(&112u32.to_be_bytes());
    o.extend_from_slice(&[1, 3, 3, 9]);
    let sa = seg(
        SERVER,
        CLIENT,
        (80, 40000),
        0x12,
        5000,
        1001,
        28960,
        &o,
        &[],
    );
    let out = from_lan(&mut p, &sa, T0 + 2_000_000);
    let to_server = on(&out, LAN);
    let to_client = on(&out, WAN);
    assert_eq!((to_server.len(), to_client.len()), (1, 1), "{out:?}");
    // The ACK to the server: its ISN + 1, the client's window so far, timestamps
    // swapped (the client's 112, echoing the server's 9000 moved by the timestamp
    // offset, as the kernel's leaves: it goes through the hook once the offset is set).
    let a = &to_server[0];
    checksums_ok(a);
    assert_eq!((&a[12..16], &a[16..20]), (&CLIENT[..], &SERVER[..]));
    assert_eq!((u32_at(a, 24), u32_at(a, 28), a[33]), (1001, 5001, ACK));
    assert_eq!(u16_at(a, 34), 502);
    assert_eq!(a[32] >> 4, 8);
    let tsoff = 9000u32.wrapping_sub(cookie_ts);
    assert_eq!(
        (u32_at(a, 44), u32_at(a, 48)),
        (112, 9000u32.wrapping_add(tsoff))
    );
    // The window update to the client: in the cookie's numbers, the server's window
    // unscaled, the server's timestamp brought to the cookie's.
    let w = &to_client[0];
    checksums_ok(w);
    assert_eq!((&w[12..16], &w[16..20]), (&SERVER[..], &CLIENT[..]));
    assert_eq!(
        (u32_at(w, 24), u32_at(w, 28), w[33]),
        (isn.wrapping_add(1), 1001, ACK)
    );
    assert_eq!(u16_at(w, 34), 28960 >> 9);
    assert_eq!((u32_at(w, 44), u32_at(w, 48)), (cookie_ts, 112));

    // Server data (300 bytes): its sequence number and timestamp go to the cookie's.
    let d = seg(
        SERVER,
        CLIENT,
        (80, 40000),
        PSH_ACK,
        5001,
        1001,
        227,
        &ts(9001, 112),
        &[b'w'; 300],
    );
    let out = from_lan(&mut p, &d, T0 + 3_000_000);
    let back = on(&out, WAN);
    assert_eq!(back.len(), 1, "{out:?}");
    let b = &back[0];
    checksums_ok(b);
    assert_eq!((u32_at(b, 24), u32_at(b, 28)), (isn.wrapping_add(1), 1001));
    assert_eq!(
        (u32_at(b, 44), u32_at(b, 48)),
        (9001u32.wrapping_sub(tsoff), 112)
    );
    assert_eq!(b[8], 63, "forwarded: TTL decremented");

    // Client data: the ACK and a SACK block of that data (in the cookie's numbers) and
    // the timestamp echo go to the server's numbers.
    let mut o = ts(113, 9001u32.wrapping_sub(tsoff));
    o.extend_from_slice(&[1, 1, 5, 10]);
    o.extend_from_slice(&isn.wrapping_add(101).to_be_bytes());
    o.extend_from_slice(&isn.wrapping_add(201).to_be_bytes());
    let d = seg(
        CLIENT,
        SERVER,
        (40000, 80),
        PSH_ACK,
        1001,
        isn.wrapping_add(1),
        502,
        &o,
        b"hello",
    );
    let out = from_wan(&mut p, &d, T0 + 4_000_000);
    let fwd = on(&out, LAN);
    assert_eq!(fwd.len(), 1, "{out:?}");
    let f = &fwd[0];
    checksums_ok(f);
    assert_eq!((u32_at(f, 24), u32_at(f, 28)), (1001, 5001));
    assert_eq!((u32_at(f, 44), u32_at(f, 48)), (113, 9001));
    assert_eq!((u32_at(f, 56), u32_at(f, 60)), (5101, 5201));
    assert_eq!(&f[f.len() - 5..], b"hello");

    // A SACK block beyond what the server sent is out of the window: INVALID, so it
    // meets SYNPROXY again as an ACK (the kernel does the same).
    let mut o = ts(114, 9001u32.wrapping_sub(tsoff));
    o.extend_from_slice(&[1, 1, 5, 10]);
    o.extend_from_slice(&isn.wrapping_add(1001).to_be_bytes());
    o.extend_from_slice(&isn.wrapping_add(2001).to_be_bytes());
    let d = seg(
        CLIENT,
        SERVER,
        (40000, 80),
        ACK,
        1006,
        isn.wrapping_add(1),
        502,
        &o,
        &[],
    );
    let out = from_wan(&mut p, &d, T0 + 5_000_000);
    assert!(on(&out, LAN).iter().all(|x| x[33] != ACK), "{out:?}");
    let s = p.stats().synproxy;
    assert_eq!((s.syn_received, s.cookie_invalid), (1, 1));
    let e: Vec<_> = p.conntrack().entries().collect();
    assert_eq!((e.len(), e[0].tcp.name()), (1, "ESTABLISHED"));
}

#[test]
fn a_spoofed_flood_never_reaches_the_server() {
    let mut p = pipeline();
    let mut lan = 0;
    for i in 0..2000u32 {
        let src = [198, 18, (i >> 8) as u8, i as u8];
        let sport = 1024 + (i as u16);
        let syn = seg(src, SERVER, (sport, 80), SYN, i * 7919, 0, 1000, &[], &[]);
        let out = from_wan(&mut p, &syn, T0);
        lan += on(&out, LAN).len();
        assert_eq!(on(&out, WAN).len(), 1);
        // A blind ACK guessing the cookie.
        let ack = seg(
            src,
            SERVER,
            (sport, 80),
            ACK,
            i * 7919 + 1,
            i.wrapping_mul(2654435761),
            1000,
            &[],
            &[],
        );
        lan += on(&from_wan(&mut p, &ack, T0), LAN).len();
    }
    assert_eq!(lan, 0);
    assert_eq!(p.conntrack().len(), 0);
    let s = p.stats().synproxy;
    assert_eq!(
        (s.syn_received, s.cookie_invalid, s.cookie_valid),
        (2000, 2000, 0)
    );
}

/// The IPv4 packets handed to the host's own stack, in order.
fn local(out: &[Emit]) -> Vec<Vec<u8>> {
    out.iter()
        .filter_map(|e| match e {
            Emit::Local { packet } => Some(packet.data().to_vec()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_local_server_behind_input_gets_the_handshake_and_adjusted_data() {
    const ME: [u8; 4] = [203, 0, 113, 1];
    let rules = "*raw\n-A PREROUTING -i wan0 -p tcp --dport 22 --syn -j CT --notrack\nCOMMIT\n\
        *filter\n:INPUT DROP [0:0]\n\
        -A INPUT -p tcp --dport 22 -m state --state INVALID,UNTRACKED -j SYNPROXY --mss 1400\n\
        -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let mut p = pipeline_with(rules);
    // No timestamps: the SYN-ACK carries the rule's MSS only, the cookie the client's.
    let syn = seg(
        CLIENT,
        ME,
        (50000, 22),
        SYN,
        70,
        0,
        1000,
        &[2, 4, 5, 0xb4],
        &[],
    );
    let out = from_wan(&mut p, &syn, T0);
    assert!(local(&out).is_empty());
    let sa = on(&out, WAN);
    assert_eq!(sa.len(), 1);
    assert_eq!(&sa[0][40..44], &[2, 4, 5, 0x78]);
    let isn = u32_at(&sa[0], 24);
    let ack = seg(
        CLIENT,
        ME,
        (50000, 22),
        ACK,
        71,
        isn.wrapping_add(1),
        1000,
        &[],
        &[],
    );
    let to_host = local(&from_wan(&mut p, &ack, T0));
    assert_eq!(to_host.len(), 1);
    let s = &to_host[0];
    checksums_ok(s);
    assert_eq!((s[33], u32_at(s, 24), u32_at(s, 28)), (SYN, 70, isn));
    assert_eq!(
        &s[40..44],
        &[2, 4, 5, 0xb4],
        "the client's MSS class (1460)"
    );
    // The host's SYN-ACK goes out through OUTPUT: taken at POSTROUTING, answered both
    // ways.
    let host_sa = seg(ME, CLIENT, (22, 50000), 0x12, 900_000, 71, 64000, &[], &[]);
    let mut out = Vec::new();
    p.output(PacketBuf::from_slice(&host_sa), T0, &mut out);
    let back = local(&out);
    assert_eq!(back.len(), 1, "{out:?}");
    assert_eq!(
        (back[0][33], u32_at(&back[0], 24), u32_at(&back[0], 28)),
        (ACK, 71, 900_001)
    );
    let w = on(&out, WAN);
    assert_eq!(w.len(), 1);
    checksums_ok(&w[0]);
    assert_eq!(
        (u32_at(&w[0], 24), u32_at(&w[0], 28)),
        (isn.wrapping_add(1), 71)
    );
    // Data in: acknowledging the cookie's numbers, delivered with the host's.
    let d = seg(
        CLIENT,
        ME,
        (50000, 22),
        PSH_ACK,
        71,
        isn.wrapping_add(1),
        1000,
        &[],
        b"SSH-2.0",
    );
    let got = local(&from_wan(&mut p, &d, T0));
    assert_eq!(got.len(), 1);
    checksums_ok(&got[0]);
    assert_eq!((u32_at(&got[0], 24), u32_at(&got[0], 28)), (71, 900_001));
    // Data out from the host: its numbers to the cookie's.
    let d = seg(
        ME,
        CLIENT,
        (22, 50000),
        PSH_ACK,
        900_001,
        78,
        64000,
        &[],
        b"SSH-2.0",
    );
    let mut out = Vec::new();
    p.output(PacketBuf::from_slice(&d), T0, &mut out);
    let w = on(&out, WAN);
    assert_eq!(w.len(), 1);
    checksums_ok(&w[0]);
    assert_eq!(
        (u32_at(&w[0], 24), u32_at(&w[0], 28)),
        (isn.wrapping_add(1), 78)
    );
}

#[test]
fn a_synproxy_rule_alone_turns_conntrack_on() {
    // No state match anywhere: the rule itself needs the connection (the kernel's
    // checkentry takes conntrack), so the server's SYN-ACK is still taken.
    let rules = "*raw\n-A PREROUTING -i wan0 -p tcp --syn -j NOTRACK\nCOMMIT\n\
        *filter\n-A FORWARD -i wan0 -p tcp --dport 80 -j SYNPROXY\nCOMMIT\n";
    let mut p = pipeline_loose(rules);
    let syn = seg(CLIENT, SERVER, (40000, 80), SYN, 1000, 0, 1000, &[], &[]);
    let isn = u32_at(&on(&from_wan(&mut p, &syn, T0), WAN)[0], 24);
    let ack = seg(
        CLIENT,
        SERVER,
        (40000, 80),
        ACK,
        1001,
        isn.wrapping_add(1),
        1000,
        &[],
        &[],
    );
    assert_eq!(on(&from_wan(&mut p, &ack, T0), LAN).len(), 1);
    let sa = seg(
        SERVER,
        CLIENT,
        (80, 40000),
        0x12,
        5000,
        1001,
        8000,
        &[],
        &[],
    );
    let out = from_lan(&mut p, &sa, T0);
    assert_eq!((on(&out, LAN).len(), on(&out, WAN).len()), (1, 1));
    assert_eq!(u32_at(&on(&out, WAN)[0], 24), isn.wrapping_add(1));
}

#[test]
fn a_retransmitted_ack_before_the_server_answers_sends_the_syn_again() {
    let mut p = pipeline();
    let (isn, cookie_ts, first) = handshake_to_server(&mut p);
    // The client did not hear back and sends its ACK again: INVALID to the connection
    // in SYN_SENT, it meets SYNPROXY again, and the server gets the same SYN again.
    let ack = client_ack(isn, cookie_ts);
    let out = from_wan(&mut p, &ack, T0 + 2_000_000);
    assert_eq!(on(&out, LAN), vec![first]);
    assert_eq!(p.stats().synproxy.cookie_valid, 2);
    assert_eq!(p.conntrack().len(), 1);
}

#[test]
fn a_dnat_published_server_behind_synproxy_on_input() {
    // SYNPROXY answers for the public address (the untracked SYN is not DNATed, so it is
    // local); the SYN it sends the server goes through nat OUTPUT's DNAT.
    const ME: [u8; 4] = [203, 0, 113, 1];
    let rules = "*raw\n-A PREROUTING -i wan0 -p tcp --dport 80 --syn -j CT --notrack\nCOMMIT\n\
        *nat\n-A PREROUTING -d 203.0.113.1 -p tcp --dport 80 -j DNAT --to-destination 192.168.1.10\n\
        -A OUTPUT -d 203.0.113.1 -p tcp --dport 80 -j DNAT --to-destination 192.168.1.10\nCOMMIT\n\
        *filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n\
        -A INPUT -p tcp --dport 80 -m state --state INVALID,UNTRACKED -j SYNPROXY --mss 1460\n\
        -A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let mut p = pipeline_with(rules);
    let syn = seg(
        CLIENT,
        ME,
        (40000, 80),
        SYN,
        1000,
        0,
        1000,
        &[2, 4, 5, 0xb4],
        &[],
    );
    let sa = on(&from_wan(&mut p, &syn, T0), WAN);
    assert_eq!(sa.len(), 1);
    assert_eq!(&sa[0][12..16], &ME[..]);
    let isn = u32_at(&sa[0], 24);
    let ack = seg(
        CLIENT,
        ME,
        (40000, 80),
        ACK,
        1001,
        isn.wrapping_add(1),
        1000,
        &[],
        &[],
    );
    let to_server = on(&from_wan(&mut p, &ack, T0), LAN);
    assert_eq!(to_server.len(), 1);
    assert_eq!(&to_server[0][16..20], &SERVER[..], "DNATed");
    assert_eq!(to_server[0][33], SYN);
    let ssa = seg(
        SERVER,
        CLIENT,
        (80, 40000),
        0x12,
        5000,
        1001,
        8000,
        &[],
        &[],
    );
    let out = from_lan(&mut p, &ssa, T0);
    let (l, w) = (on(&out, LAN), on(&out, WAN));
    assert_eq!((l.len(), w.len()), (1, 1), "{out:?}");
    checksums_ok(&l[0]);
    assert_eq!((&l[0][16..20], u32_at(&l[0], 28)), (&SERVER[..], 5001));
    checksums_ok(&w[0]);
    assert_eq!(
        (&w[0][12..16], u32_at(&w[0], 24)),
        (&ME[..], isn.wrapping_add(1))
    );
    let d = seg(
        CLIENT,
        ME,
        (40000, 80),
        PSH_ACK,
        1001,
        isn.wrapping_add(1),
        1000,
        &[],
        b"x",
    );
    let f = on(&from_wan(&mut p, &d, T0), LAN);
    assert_eq!(f.len(), 1);
    checksums_ok(&f[0]);
    assert_eq!((&f[0][16..20], u32_at(&f[0], 28)), (&SERVER[..], 5001));
}
