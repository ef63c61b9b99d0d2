//! ip6tables targets that change TCP segments on the IPv6 path, as the kernel's IPv6 halves
//! run them: TCPMSS (tcpmss_tg6: TCP found past the extension headers, 60 bytes of headers
//! off the path MTU, the route back to the source, IPv6's default MSS of 1220 when one is
//! inserted, the payload length grown with it), TCPOPTSTRIP (tcpoptstrip_tg6), CHECKSUM, and
//! NFLOG (the IPv6 packet as each hook sees it).
//! Each forwarded segment's TCP checksum is recomputed from scratch.

mod support;

use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::Pipeline;
use dataplane::port::PortId;
use dataplane::ruleset::{Family, Ruleset};
use dataplane::wire::{checksum, IpProtocol};
use std::net::Ipv6Addr;
use support::ipv6::{frame, packet, receive};
use support::{GATEWAY_MAC, HOST_MAC, LAN_MAC, WAN_MAC};

/// lan0 (MTU 1500) and wan0 (MTU 1400), the default route out of wan0.
const CONFIG: &str = support::ipv6::dual_stack_config!(wan_mtu = 1400;);

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const T0: u64 = 1_700_000_000_000_000_000;
const HOST: &str = "2001:db8:1::10";
const FAR: &str = "2001:db8:99::5";

/// A hop-by-hop options header (PadN) before TCP.
const HBH: [u8; 8] = [6, 0, 1, 4, 0, 0, 0, 0];

/// A TCP segment with `options` (a multiple of 4 bytes); `packet` fills its checksum.
fn seg(sport: u16, dport: u16, flags: u8, options: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&1u32.to_be_bytes());
    t[12] = (((20 + options.len()) / 4) << 4) as u8;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    t.extend_from_slice(options);
    t
}

fn tcp(src: &str, dst: &str, ext: &[u8], seg: &[u8]) -> Vec<u8> {
    packet(src, dst, 64, 6, ext, seg, 16)
}

/// The one frame that left `port`, its IPv6 packet.
fn forwarded(out: Vec<(PortId, Vec<u8>)>, port: PortId) -> Vec<u8> {
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, port);
    out[0].1[14..].to_vec()
}

fn from_lan(p: &mut Pipeline, ip: &[u8]) -> Vec<u8> {
    forwarded(receive(p, LAN, frame(LAN_MAC, HOST_MAC, ip), T0), WAN)
}

fn from_wan(p: &mut Pipeline, ip: &[u8]) -> Vec<u8> {
    forwarded(receive(p, WAN, frame(WAN_MAC, GATEWAY_MAC, ip), T0), LAN)
}

/// The TCP segment of `ip` at `tcp_at`, after checking the payload length against the
/// packet's size and the TCP checksum recomputed over the IPv6 pseudo-header.
fn checked_tcp(ip: &[u8], tcp_at: usize) -> &[u8] {
    assert_eq!(
        usize::from(u16::from_be_bytes([ip[4], ip[5]])) + 40,
        ip.len(),
        "payload length"
    );
    let a = |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&ip[at..at + 16]).unwrap());
    let l4 = &ip[tcp_at..];
    let sum = checksum::combine(&[
        checksum::pseudo_header_ipv6(a(8), a(24), IpProtocol::Tcp, l4.len() as u32),
        checksum::data(l4),
    ]);
    assert_eq!(sum, 0xffff, "TCP checksum");
    l4
}

fn mss(tcp: &[u8]) -> u16 {
    assert_eq!(&tcp[20..22], &[2, 4], "an MSS option first");
    u16::from_be_bytes([tcp[22], tcp[23]])
}

#[test]
fn tcpmss_sets_clamps_and_inserts_on_ipv6() {
    let rules6 = "*mangle\n\
        -A FORWARD -p tcp -m tcp --dport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200\n\
        -A FORWARD -p tcp -m tcp --dport 81 --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n\
        -A POSTROUTING -p tcp -m tcp --dport 84 -j TCPMSS --set-mss 500\n\
        COMMIT\n";
    let mut p = support::ipv6::pipeline(CONFIG, rules6);
    let mss1460 = [2, 4, 0x05, 0xb4];
    // Lowered in place.
    let out = from_lan(
        &mut p,
        &tcp(HOST, FAR, &[], &seg(40000, 80, 0x02, &mss1460)),
    );
    assert_eq!(mss(checked_tcp(&out, 40)), 1200);
    assert_eq!(out.len(), 64);
    // Clamped to wan0's 1400 less 60, behind a hop-by-hop header.
    let out = from_lan(
        &mut p,
        &tcp(HOST, FAR, &HBH, &seg(40001, 81, 0x02, &mss1460)),
    );
    assert_eq!(mss(checked_tcp(&out, 48)), 1340);
    // No MSS option: min(1340, 1220) inserted, the payload length 8 + 20 -> 8 + 24.
    let out = from_lan(&mut p, &tcp(HOST, FAR, &HBH, &seg(40002, 81, 0x02, &[])));
    assert_eq!(u16::from_be_bytes([out[4], out[5]]), 32);
    let t = checked_tcp(&out, 48);
    assert_eq!(t[12] >> 4, 6, "data offset");
    assert_eq!(mss(t), 1220);
    // Below the default, before the SYN's other options, in POSTROUTING; the rule has no
    // SYN match and the kernel does not ask for one (nft_compat).
    let opts = [4, 2, 1, 3, 3, 7, 0, 0];
    let out = from_lan(&mut p, &tcp(HOST, FAR, &[], &seg(40003, 84, 0x02, &opts)));
    let t = checked_tcp(&out, 40);
    assert_eq!(&t[20..32], &[2, 4, 1, 0xf4, 4, 2, 1, 3, 3, 7, 0, 0]);
    // From the WAN to the LAN (MTU 1500): the route back to the source leaves by wan0, so
    // the clamp is 1340, not 1440 (tcpmss_reverse_mtu6).
    let out = from_wan(
        &mut p,
        &tcp(FAR, HOST, &[], &seg(50000, 81, 0x12, &mss1460)),
    );
    assert_eq!(mss(checked_tcp(&out, 40)), 1340);
}

#[test]
fn tcpoptstrip_and_checksum_run_on_ipv6() {
    let rules6 = "*mangle\n\
        -A FORWARD -p tcp -j TCPOPTSTRIP --strip-options timestamp,wscale\n\
        -A POSTROUTING -p tcp -j CHECKSUM --checksum-fill\n\
        COMMIT\n";
    let mut p = support::ipv6::pipeline(CONFIG, rules6);
    // MSS, SACK permitted, timestamps, NOP, window scale; behind a hop-by-hop header.
    let opts = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    let out = from_lan(&mut p, &tcp(HOST, FAR, &HBH, &seg(40000, 22, 0x02, &opts)));
    let t = checked_tcp(&out, 48);
    assert_eq!(
        &t[20..40],
        &[2, 4, 0x05, 0xb4, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    );
    // UDP passes as it came (but for the hop limit).
    let mut u = vec![0u8; 9];
    u[0..2].copy_from_slice(&5000u16.to_be_bytes());
    u[2..4].copy_from_slice(&53u16.to_be_bytes());
    u[4..6].copy_from_slice(&9u16.to_be_bytes());
    let ip = packet(HOST, FAR, 64, 17, &[], &u, 6);
    let out = from_lan(&mut p, &ip);
    assert_eq!(out[..7], ip[..7]);
    assert_eq!(out[8..], ip[8..]);
}

#[test]
fn nflog_copies_the_ipv6_packet_as_each_hook_sees_it() {
    let rules6 = "*mangle\n\
        -A PREROUTING -p tcp -j NFLOG --nflog-group 1 --nflog-size 48 --nflog-prefix pre6\n\
        COMMIT\n*filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -j NFLOG --nflog-group 2\n\
        -A FORWARD -p tcp --dport 80 -j ACCEPT\n\
        COMMIT\n";
    let mut p = support::ipv6::pipeline(CONFIG, rules6);
    p.collect_nflog();
    let syn = tcp(HOST, FAR, &HBH, &seg(40000, 80, 0x02, &[]));
    // NFLOG decides nothing: the ACCEPT after it forwards the SYN.
    let out = from_lan(&mut p, &syn);
    let recs: Vec<_> = p.drain_nflog().collect();
    assert_eq!(recs.len(), 2);
    // PREROUTING: as it came in (hop limit 64), cut to 48 bytes, its length kept.
    assert_eq!(
        (recs[0].group, recs[0].prefix.as_str(), recs[0].orig_len),
        (1, "pre6", syn.len() as u32)
    );
    assert_eq!(recs[0].data, syn[..48]);
    // FORWARD: the hop limit decremented, whole, as it left.
    assert_eq!((recs[1].group, recs[1].data[7]), (2, 63));
    assert_eq!(recs[1].data, out);
    assert_eq!(p.stats().nflog, 2);
}

/// What the IPv6 path runs now loads with the path's checks; what it does not is still
/// refused at its line.
#[test]
fn the_ipv6_path_takes_these_targets() {
    let opts = || RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    let ok = "*mangle\n\
        -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n\
        -A PREROUTING -p tcp -j TCPOPTSTRIP --strip-options sack-permitted\n\
        -A POSTROUTING -p udp -j CHECKSUM --checksum-fill\n\
        -A INPUT -j NFLOG --nflog-group 5 --nflog-prefix v6\n\
        COMMIT\n";
    restore(ok, &mut Ruleset::new(Family::V6), opts()).expect("the IPv6 path runs them");
    let refused = "*filter\n-A FORWARD -m helper --helper ftp -j ACCEPT\nCOMMIT\n";
    let e = restore(refused, &mut Ruleset::new(Family::V6), opts()).unwrap_err();
    assert_eq!(e.line, 2);
}
