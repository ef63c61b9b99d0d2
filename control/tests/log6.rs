//! LOG, TRACE, TOS and DSCP on the IPv6 path: ip6tables rules whose lines and rewrites
//! are the kernel's (nf_log_ip6_packet's text, tos_tg6 / dscp_tg6 on the traffic class),
//! and the IPv6 matches deciding on forwarded packets.

mod support;

use dataplane::pipeline::{Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};

const CONFIG: &str = support::ipv6::dual_stack_config!();

const RULES6: &str = "*mangle\n\
    -A PREROUTING -p udp -m udp --dport 9 -j TOS --set-tos 0x10/0x3f\n\
    -A PREROUTING -p udp -m udp --dport 10 -j DSCP --set-dscp 0x2e\n\
    COMMIT\n\
    *filter\n\
    -A FORWARD -m hbh --hbh-len 8 -j LOG --log-prefix \"HBH: \" --log-ip-options\n\
    -A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -m hl --hl-eq 63 -j LOG --log-prefix \"PING: \"\n\
    -A FORWARD -p udp -m udp --dport 9 -j LOG --log-prefix \"F6: \"\n\
    -A FORWARD -m frag --fragfirst -j DROP\n\
    COMMIT\n";

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const T0: u64 = 1_700_000_000_000_000_000;

fn pipeline() -> Pipeline {
    let mut p = support::ipv6::pipeline(CONFIG, RULES6);
    p.collect_log();
    p
}

/// 2001:db8:1::10 to 2001:db8:99::5, traffic class `tc`, `payload` after the fixed header
/// (checksums left zero: the path does not check them).
fn ipv6(next: u8, tc: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60 | (tc >> 4), tc << 4, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
    p.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
    p.extend_from_slice(payload);
    p
}

const UDP9: [u8; 10] = [0x13, 0x88, 0, 9, 0, 10, 0, 0, b'h', b'i'];

/// The packet in from the LAN; what left (WAN frames' IP packets) and the LOG lines.
fn send(p: &mut Pipeline, ip: &[u8]) -> (Vec<Vec<u8>>, Vec<String>) {
    let mut f = vec![2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 0x10, 0x86, 0xdd];
    f.extend_from_slice(ip);
    let mut out = Vec::new();
    p.receive(LAN, PacketBuf::from_slice(&f), T0, &mut out);
    let sent = out
        .into_iter()
        .filter_map(|e| match e {
            Emit::Tx { port, frame } if port == WAN => Some(frame.data()[14..].to_vec()),
            _ => None,
        })
        .collect();
    (sent, p.take_log())
}

const MAC: &str = "MAC=02:00:00:00:01:01:02:00:00:00:01:10:86:dd";
const ADDRS: &str = "SRC=2001:0db8:0001:0000:0000:0000:0000:0010 \
    DST=2001:0db8:0099:0000:0000:0000:0000:0005";

#[test]
fn tos_rewrites_the_traffic_class_and_log_prints_ipv6() {
    let mut p = pipeline();
    let (sent, log) = send(&mut p, &ipv6(17, 0xff, &UDP9));
    assert_eq!(sent.len(), 1);
    // 0xff & !0x3f ^ 0x10 = 0xd0, the flow label untouched, one hop less.
    assert_eq!(&sent[0][..2], &[0x6d, 0x00]);
    assert_eq!(sent[0][7], 63);
    assert_eq!(
        log,
        [format!(
            "F6: IN=lan0 OUT=wan0 {MAC} {ADDRS} LEN=50 TC=208 HOPLIMIT=63 FLOWLBL=0 \
             PROTO=UDP SPT=5000 DPT=9 LEN=10 "
        )]
    );
    // DSCP keeps the ECN bits: 0x03 becomes 0xbb.
    let mut udp10 = UDP9;
    udp10[3] = 10;
    let (sent, log) = send(&mut p, &ipv6(17, 0x03, &udp10));
    assert_eq!(&sent[0][..2], &[0x6b, 0xb0]);
    assert!(log.is_empty());
}

#[test]
fn ipv6_matches_decide_on_forwarded_packets() {
    let mut p = pipeline();
    // Hop-by-hop (PadN) before UDP to port 9: HBH and F6 log it.
    let mut hbh = vec![17, 0, 1, 4, 0, 0, 0, 0];
    hbh.extend_from_slice(&UDP9);
    let (sent, log) = send(&mut p, &ipv6(0, 0, &hbh));
    assert_eq!(sent.len(), 1);
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0],
        format!(
            "HBH: IN=lan0 OUT=wan0 {MAC} {ADDRS} LEN=58 TC=16 HOPLIMIT=63 FLOWLBL=0 OPT ( ) \
             PROTO=UDP SPT=5000 DPT=9 LEN=10 "
        )
    );
    assert!(log[1].starts_with("F6: "), "{}", log[1]);
    // An echo request with hop limit 63 after forwarding: icmp6 and hl.
    let (sent, log) = send(&mut p, &ipv6(58, 0, &[128, 0, 0, 0, 0, 1, 0, 2]));
    assert_eq!(sent.len(), 1);
    assert_eq!(
        log,
        [format!(
            "PING: IN=lan0 OUT=wan0 {MAC} {ADDRS} LEN=48 TC=0 HOPLIMIT=63 FLOWLBL=0 \
             PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=2 "
        )]
    );
    // A first fragment: -m frag --fragfirst drops it (after F6 logged it, FRAG: shown).
    let mut frag = vec![17, 0, 0, 1, 0, 0, 0, 7];
    frag.extend_from_slice(&UDP9);
    let (sent, log) = send(&mut p, &ipv6(44, 0, &frag));
    assert!(sent.is_empty());
    assert_eq!(
        log,
        [format!(
            "F6: IN=lan0 OUT=wan0 {MAC} {ADDRS} LEN=58 TC=16 HOPLIMIT=63 FLOWLBL=0 \
             FRAG:0 INCOMPLETE ID:00000007 PROTO=UDP SPT=5000 DPT=9 LEN=10 "
        )]
    );
}
