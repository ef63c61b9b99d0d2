//! Robustness of the wire parsers: random bytes, every truncation of real packets and random
//! mutations of them go through every parser and accessor, which must never panic.

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use dataplane::wire::{self, ethernet, icmpv4, icmpv6, ipv6, tcp};
use dataplane::wire::{
    ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet,
    Icmpv6Repr, Ipv4Packet, Ipv4Repr, Ipv6ExtHeaders, Ipv6OptionsHeader, Ipv6OptionsIter,
    Ipv6Packet, Ipv6Repr, NdOption, NdOptionsIter, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
    VlanRepr, VlanTag,
};
use proptest::prelude::*;

const CASES: u32 = 2500;

/// 802.1Q tagged ARP request (VLAN 100).
const TAGGED_ARP: [u8; 64] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c, 0x81, 0x00, 0xa0, 0x64,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c,
    0xc0, 0xa8, 0x64, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x64, 0x01, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// IPv4 + TCP SYN with MSS, SACK-permitted, timestamps and window scale.
const TCP_SYN: [u8; 60] = [
    0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0xde, 0x99, 0x0a, 0x00, 0x00, 0x02,
    0x5d, 0xb8, 0xd8, 0x22, 0xd4, 0x31, 0x00, 0x50, 0x6b, 0x8b, 0x45, 0x67, 0x00, 0x00, 0x00, 0x00,
    0xa0, 0x02, 0xfa, 0xf0, 0x3d, 0x05, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x00, 0x9c, 0x4a, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];

/// IPv4 + ICMP port unreachable quoting a whole IPv4/UDP DNS query.
const PORT_UNREACH: [u8; 85] = [
    0x45, 0xc0, 0x00, 0x55, 0xb1, 0xe2, 0x00, 0x00, 0x40, 0x01, 0xb4, 0x03, 0x0a, 0x00, 0x00, 0x01,
    0x0a, 0x00, 0x00, 0x02, 0x03, 0x03, 0x11, 0x36, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x39,
    0x30, 0x39, 0x40, 0x00, 0x40, 0x11, 0xf6, 0x78, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01,
    0x9c, 0x40, 0x00, 0x35, 0x00, 0x25, 0xd3, 0xf0, 0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d,
    0x00, 0x00, 0x01, 0x00, 0x01,
];

// IPv6 packets captured with tcpdump on veth pairs between Linux network namespaces (see the
// unit tests of wire::ipv6 and wire::icmpv6), Ethernet header removed unless named a frame.

/// Ethernet + IPv6 neighbour solicitation with a source link-layer address option.
const NS_FRAME: [u8; 86] = [
    0x33, 0x33, 0xff, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0xff, 0x00, 0x00, 0x01, 0x87, 0x00, 0x7d, 0x8d, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
];

/// IPv6 + destination options (option 0x1e, PadN) + UDP.
const UDP_DSTOPTS: [u8; 62] = [
    0x60, 0x00, 0xbf, 0xad, 0x00, 0x16, 0x3c, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x00, 0x1e, 0x02, 0xab, 0xcd, 0x01, 0x00,
    0x9c, 0x40, 0x27, 0x0e, 0x00, 0x0e, 0xf9, 0x23, 0x64, 0x73, 0x74, 0x6f, 0x70, 0x74,
];

/// IPv6 + hop-by-hop (router alert, PadN) + MLDv2 report.
const MLD_REPORT_HBH: [u8; 96] = [
    0x60, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x0a, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,
    0x8f, 0x00, 0x6f, 0xd9, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x02, 0x04, 0x00, 0x00, 0x00,
    0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x0a,
];

/// IPv6 + fragment header (offset 1232, last) + the tail of an echo request.
const FRAG_SECOND: [u8; 124] = [
    0x60, 0x03, 0x4a, 0xf0, 0x00, 0x54, 0x2c, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3a, 0x00, 0x04, 0xd0, 0x6d, 0x5a, 0xcb, 0x58,
    0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
    0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
];

/// IPv6 + ICMPv6 port unreachable quoting a whole IPv6/UDP datagram.
const PORT_UNREACH_V6: [u8; 103] = [
    0x60, 0x07, 0xb6, 0x1c, 0x00, 0x3f, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x04, 0x23, 0x88, 0x00, 0x00, 0x00, 0x00,
    0x60, 0x07, 0x6f, 0xbb, 0x00, 0x0f, 0x11, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x9c, 0x40, 0x27, 0x0f, 0x00, 0x0f, 0x0c, 0x2b,
    0x6e, 0x66, 0x64, 0x70, 0x2d, 0x76, 0x36,
];

/// IPv6 + ICMPv6 parameter problem quoting IPv6 + destination options + UDP.
const PARAM_PROBLEM_V6: [u8; 106] = [
    0x60, 0x07, 0xea, 0xd0, 0x00, 0x42, 0x3a, 0x3f, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x02, 0xbb, 0x55, 0x00, 0x00, 0x00, 0x2a,
    0x60, 0x0d, 0xf9, 0xb2, 0x00, 0x12, 0x3c, 0x3f, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x00, 0x9e, 0x02, 0x00, 0x00, 0x01, 0x00,
    0x9c, 0x40, 0x27, 0x0c, 0x00, 0x0a, 0xd2, 0x14, 0x70, 0x70,
];

/// IPv6 + router advertisement with source link-layer address, MTU and prefix options.
const ROUTER_ADVERT: [u8; 104] = [
    0x60, 0x01, 0xcc, 0x6f, 0x00, 0x40, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0x00, 0xe3, 0xb7, 0x40, 0xc0, 0x07, 0x08,
    0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x03, 0xe8, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc, 0x03, 0x04, 0x40, 0xc0, 0x00, 0x01, 0x51, 0x80,
    0x00, 0x00, 0x38, 0x40, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// IPv6 + TCP SYN with MSS, SACK-permitted, timestamps and window scale.
const TCP_SYN_V6: [u8; 80] = [
    0x60, 0x0e, 0x14, 0x07, 0x00, 0x28, 0x06, 0x40, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xbd, 0x1e, 0x1f, 0x90, 0x4f, 0x13, 0x12, 0xfa,
    0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfd, 0x20, 0x7c, 0x7a, 0x00, 0x00, 0x02, 0x04, 0x05, 0xa0,
    0x04, 0x02, 0x08, 0x0a, 0x0d, 0x0a, 0x88, 0xa7, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
];

fn ethernet_frame_v6(l3: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x86, 0xdd];
    f.extend_from_slice(l3);
    f
}

fn ethernet_frame(l3: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(l3);
    f
}

/// Valid frames the mutation test starts from.
fn seeds() -> Vec<Vec<u8>> {
    vec![
        TAGGED_ARP.to_vec(),
        ethernet_frame(&TCP_SYN),
        ethernet_frame(&PORT_UNREACH),
        // The quoted UDP datagram on its own.
        ethernet_frame(&PORT_UNREACH[28..]),
        NS_FRAME.to_vec(),
        ethernet_frame_v6(&UDP_DSTOPTS),
        ethernet_frame_v6(&MLD_REPORT_HBH),
        ethernet_frame_v6(&FRAG_SECOND),
        ethernet_frame_v6(&PORT_UNREACH_V6),
        ethernet_frame_v6(&PARAM_PROBLEM_V6),
        ethernet_frame_v6(&ROUTER_ADVERT),
        ethernet_frame_v6(&TCP_SYN_V6),
    ]
}

/// How many frames `seeds` returns.
const SEEDS: usize = 12;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const A6: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 2);

fn fuzz_ethernet(data: &[u8]) {
    if let Ok(f) = EthernetFrame::new_checked(data) {
        black_box((f.src_addr(), f.dst_addr(), f.ethertype(), f.payload()));
        assert!(EthernetRepr::parse(&f).is_ok());
        if let Ok(l3) = f.l3_header() {
            black_box(&data[l3.offset..]);
            black_box(l3.tag_count());
        }
        if let Ok((et, payload)) = f.l3_payload() {
            black_box(et);
            fuzz_l3(payload);
        }
    }
    fuzz_vlan(data);
}

fn fuzz_vlan(data: &[u8]) {
    if let Ok(t) = VlanTag::new_checked(data) {
        black_box((
            t.tci(),
            t.pcp(),
            t.dei(),
            t.vid(),
            t.ethertype(),
            t.payload(),
        ));
        assert!(VlanRepr::parse(&t).is_ok());
    }
}

/// Every L3/L4 parser on the same bytes, and the L4 parsers on the IPv4 and IPv6 payloads.
fn fuzz_l3(data: &[u8]) {
    fuzz_arp(data);
    fuzz_ipv4(data);
    fuzz_ipv6(data);
    fuzz_tcp(data);
    fuzz_udp(data);
    fuzz_icmp(data);
    fuzz_icmpv6(data);
}

fn fuzz_arp(data: &[u8]) {
    if let Ok(p) = ArpPacket::new_checked(data) {
        black_box((
            p.hardware_type(),
            p.protocol_type(),
            p.hardware_len(),
            p.protocol_len(),
        ));
        black_box((
            p.operation(),
            p.source_hardware_addr(),
            p.source_protocol_addr(),
        ));
        black_box((p.target_hardware_addr(), p.target_protocol_addr()));
        if let Ok(r) = ArpRepr::parse(&p) {
            let mut out = [0u8; 28];
            r.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
            assert_eq!(&out[..], &data[..28]);
        }
    }
}

fn fuzz_ipv4(data: &[u8]) {
    let Ok(p) = Ipv4Packet::new_checked(data) else {
        return;
    };
    black_box((
        p.version(),
        p.header_len(),
        p.tos(),
        p.dscp(),
        p.ecn(),
        p.total_len(),
    ));
    black_box((
        p.ident(),
        p.dont_frag(),
        p.more_frags(),
        p.frag_offset(),
        p.frag_offset_bytes(),
    ));
    black_box((
        p.is_fragment(),
        p.is_first_fragment(),
        p.ttl(),
        p.protocol(),
        p.checksum(),
    ));
    black_box((
        p.src_addr(),
        p.dst_addr(),
        p.options(),
        p.header(),
        p.verify_checksum(),
    ));
    let _ = black_box(Ipv4Repr::parse(&p));
    let payload = p.payload();
    fuzz_tcp(payload);
    fuzz_udp(payload);
    fuzz_icmp(payload);

    let mut copy = data.to_vec();
    let mut m = Ipv4Packet::new_checked(&mut copy[..]).unwrap();
    m.rewrite_src_addr(B);
    m.rewrite_dst_addr(A);
    m.decrement_ttl();
    black_box((m.options_mut().len(), m.payload_mut().len()));
    m.fill_checksum();
}

fn fuzz_tcp(data: &[u8]) {
    let Ok(p) = TcpPacket::new_checked(data) else {
        return;
    };
    black_box((
        p.src_port(),
        p.dst_port(),
        p.seq_number(),
        p.ack_number(),
        p.header_len(),
    ));
    black_box((
        p.flags(),
        p.window_len(),
        p.checksum(),
        p.urgent_at(),
        p.options(),
    ));
    black_box((
        p.mss(),
        p.payload(),
        p.segment_len(),
        p.verify_checksum(A, B),
        p.verify_checksum_ipv6(A6, B6),
    ));
    // The iterator must terminate: it consumes at least one byte per item.
    let mut n = 0;
    for opt in p.options_iter() {
        let _ = black_box(opt.map(|o| o.buffer_len()));
        n += 1;
        assert!(n <= tcp::MAX_OPTIONS_LEN);
    }
    if let Ok(r) = TcpRepr::parse(&p) {
        // Options parsed from a header always fit back into 40 bytes... unless they were
        // reordered with extra NOPs; only re-emit when they do.
        if r.header_len() <= 60 {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut TcpPacket::new_unchecked(&mut out[..]));
            let back = TcpRepr::parse(&TcpPacket::new_checked(&out[..]).unwrap()).unwrap();
            assert_eq!(back, r);
        }
    }
    let mut copy = data.to_vec();
    let mut m = TcpPacket::new_checked(&mut copy[..]).unwrap();
    m.rewrite_src_port(1);
    m.rewrite_dst_port(2);
    m.update_checksum_addr(A, B);
    m.update_checksum_addr_ipv6(A6, B6);
    black_box(m.rewrite_mss(536));
    black_box((m.options_mut().len(), m.payload_mut().len()));
    m.fill_checksum(A, B);
    m.fill_checksum_ipv6(A6, B6);
    assert!(m.verify_checksum_ipv6(A6, B6));
}

fn fuzz_udp(data: &[u8]) {
    let Ok(p) = UdpPacket::new_checked(data) else {
        return;
    };
    black_box((
        p.src_port(),
        p.dst_port(),
        p.len(),
        p.checksum(),
        p.payload(),
    ));
    black_box((p.verify_checksum(A, B), p.verify_checksum_ipv6(A6, B6)));
    assert!(UdpRepr::parse(&p).is_ok());
    let mut copy = data.to_vec();
    let mut m = UdpPacket::new_checked(&mut copy[..]).unwrap();
    m.rewrite_src_port(1);
    m.rewrite_dst_port(2);
    m.update_checksum_addr(A, B);
    m.update_checksum_addr_ipv6(A6, B6);
    black_box(m.payload_mut().len());
    m.fill_checksum(A, B);
    m.fill_checksum_ipv6(A6, B6);
    assert_ne!(m.checksum(), 0);
    assert!(m.verify_checksum_ipv6(A6, B6));
}

fn fuzz_quoted<T: AsRef<[u8]>>(q: &icmpv4::Quoted<T>) {
    black_box((
        q.header_len(),
        q.header(),
        q.src_addr(),
        q.dst_addr(),
        q.protocol(),
    ));
    black_box((
        q.ttl(),
        q.tos(),
        q.ident(),
        q.total_len(),
        q.header_checksum(),
    ));
    black_box((
        q.is_first_fragment(),
        q.verify_header_checksum(),
        q.payload(),
        q.l4_head(),
    ));
    black_box((q.src_port(), q.dst_port(), q.icmp_ident()));
    assert!(q.l4_head().len() <= 8);
}

fn fuzz_icmp(data: &[u8]) {
    let Ok(p) = Icmpv4Packet::new_checked(data) else {
        return;
    };
    black_box((p.msg_type(), p.msg_code(), p.checksum(), p.rest_of_header()));
    black_box((
        p.echo_ident(),
        p.echo_seq_no(),
        p.next_hop_mtu(),
        p.pointer(),
        p.gateway(),
    ));
    black_box((p.data(), p.verify_checksum()));
    // A message with a valid checksum re-emits to the same bytes, except one checksum: 0xFFFF
    // and 0x0000 are the two one's-complement zeros, so a sender's 0xFFFF verifies wherever
    // the computed sum gives 0x0000 (RFC 1071 computes the sum of the other words, 0xFFFF,
    // complemented: 0x0000). The emitter keeps the computed value, as Linux's csum_fold does:
    // what it emits (REJECT's errors, replies) is byte for byte what the kernel emits, which
    // the conformance suite compares. Forwarded messages are not re-emitted: NAT patches
    // their checksum incrementally (RFC 1624).
    if let (Ok(r), true) = (Icmpv4Repr::parse(&p), p.verify_checksum()) {
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
        let emitted = Icmpv4Packet::new_checked(&out[..]).unwrap();
        assert!(emitted.verify_checksum());
        assert_eq!(out.len(), data.len());
        assert_eq!((&out[..2], &out[4..]), (&data[..2], &data[4..]));
        let (came, went) = (p.checksum(), emitted.checksum());
        assert!(
            came == went || (came == 0xffff && went == 0),
            "{came:#06x} -> {went:#06x}"
        );
    }
    if let Ok(q) = p.quoted() {
        fuzz_quoted(&q);
        // The quote's payload is what the L4 parsers see when conntrack looks inside.
        fuzz_tcp(q.payload());
        fuzz_udp(q.payload());
    }
    // The quote parser on arbitrary bytes, not only behind an error type.
    if let Ok(q) = icmpv4::Quoted::new_checked(data) {
        fuzz_quoted(&q);
    }
    let mut copy = data.to_vec();
    let mut m = Icmpv4Packet::new_checked(&mut copy[..]).unwrap();
    if let Ok(mut q) = m.quoted_mut() {
        q.rewrite_src_addr(B);
        q.rewrite_dst_addr(A);
        black_box((q.set_src_port(1), q.set_dst_port(2), q.set_icmp_ident(3)));
        q.fill_header_checksum();
    }
    m.rewrite_echo_ident(9);
    m.fill_checksum();
}

fn fuzz_ipv6(data: &[u8]) {
    let Ok(p) = Ipv6Packet::new_checked(data) else {
        return;
    };
    black_box((
        p.version(),
        p.traffic_class(),
        p.dscp(),
        p.ecn(),
        p.flow_label(),
    ));
    black_box((p.payload_len(), p.next_header(), p.hop_limit()));
    black_box((p.src_addr(), p.dst_addr(), p.header(), p.payload()));
    assert_eq!(p.version(), 6);
    // The fixed header round-trips byte for byte.
    let r = Ipv6Repr::parse(&p).expect("a checked IPv6 header parses");
    let mut out = vec![0u8; r.header_len()];
    r.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
    assert_eq!(&out[..], &data[..40]);
    assert_eq!(r.buffer_len(), 40 + p.payload().len());

    if let Ok(ext) = p.ext_headers() {
        fuzz_ext(&ext, data, p.payload().len());
        if let Some(at) = ext.upper_offset {
            let upper = &data[at..40 + p.payload().len()];
            match u8::from(ext.protocol) {
                6 => fuzz_tcp(upper),
                17 => fuzz_udp(upper),
                ipv6::next_header::ICMPV6 => fuzz_icmpv6_at(upper, p.src_addr(), p.dst_addr()),
                _ => {}
            }
        }
    }

    let mut copy = data.to_vec();
    let mut m = Ipv6Packet::new_checked(&mut copy[..]).unwrap();
    m.set_src_addr(B6);
    m.set_dst_addr(A6);
    m.decrement_hop_limit();
    m.set_dscp(46);
    m.set_ecn(3);
    m.set_flow_label(0x12345);
    black_box(m.payload_mut().len());
    assert!(Ipv6Packet::new_checked(&copy[..]).is_ok());
}

/// What a successful walk reports stays inside the payload and the bound.
fn fuzz_ext(ext: &Ipv6ExtHeaders, data: &[u8], payload_len: usize) {
    assert!(ext.count <= ipv6::MAX_EXT_HEADERS);
    if let Some(at) = ext.upper_offset {
        assert!(at >= 40 && at <= 40 + payload_len);
        assert!(ext.is_first_fragment());
    } else {
        assert!(!ext.is_first_fragment());
    }
    black_box((ext.seen.bits(), ext.routing, ext.fragment, ext.auth));
    if let Some(f) = ext.fragment {
        assert!(f.header_offset + 8 <= 40 + payload_len);
        black_box(f.frag_offset_bytes());
    }
    for at in [ext.hop_by_hop, ext.dst_opts].into_iter().flatten() {
        let h = Ipv6OptionsHeader::new_checked(&data[at..40 + payload_len])
            .expect("a walked options header is whole");
        black_box(h.next_header());
        fuzz_ipv6_options(h.options());
    }
}

fn fuzz_ipv6_options(data: &[u8]) {
    let mut n = 0;
    for o in Ipv6OptionsIter::new(data) {
        if let Ok(o) = o {
            black_box((
                o.option_type(),
                o.data_len(),
                o.unknown_action(),
                o.may_change(),
            ));
        }
        n += 1;
        assert!(n <= data.len());
    }
}

fn fuzz_quoted_v6<T: AsRef<[u8]>>(q: &icmpv6::Quoted<T>) {
    black_box((q.header(), q.src_addr(), q.dst_addr(), q.next_header()));
    black_box((
        q.hop_limit(),
        q.traffic_class(),
        q.flow_label(),
        q.payload_len(),
    ));
    black_box((q.payload(), q.ext_headers().ok(), q.upper_layer()));
    black_box((q.src_port(), q.dst_port(), q.icmp_ident()));
    if let Some((_, l4)) = q.upper_layer() {
        fuzz_tcp(l4);
        fuzz_udp(l4);
    }
}

fn fuzz_nd_options(data: &[u8]) {
    let mut n = 0;
    for o in NdOptionsIter::new(data) {
        if let Ok(o) = o {
            // Every parsed option emits and parses back to itself.
            let mut out = vec![0u8; o.buffer_len()];
            assert_eq!(o.emit(&mut out), Ok(out.len()));
            assert_eq!(NdOption::parse(&out), Ok((out.len(), o)));
        }
        n += 1;
        assert!(n <= data.len());
    }
}

fn fuzz_icmpv6(data: &[u8]) {
    fuzz_icmpv6_at(data, A6, B6);
}

fn fuzz_icmpv6_at(data: &[u8], src: Ipv6Addr, dst: Ipv6Addr) {
    if let Ok(q) = icmpv6::Quoted::new_checked(data) {
        fuzz_quoted_v6(&q);
    }
    fuzz_nd_options(data);
    let Ok(p) = Icmpv6Packet::new_checked(data) else {
        return;
    };
    black_box((p.msg_type(), p.msg_code(), p.checksum(), p.rest_of_header()));
    black_box((
        p.echo_ident(),
        p.echo_seq_no(),
        p.mtu(),
        p.pointer(),
        p.data(),
    ));
    black_box((p.na_flags(), p.target_addr(), p.redirect_dst_addr()));
    black_box((
        p.ra_hop_limit(),
        p.ra_managed(),
        p.ra_other(),
        p.ra_router_lifetime(),
    ));
    black_box((p.ra_reachable_time(), p.ra_retrans_time()));
    fuzz_nd_options(p.nd_options());
    // As for ICMPv4 (see fuzz_icmp): a message with a valid checksum re-emits to the same
    // bytes but for the negative-zero checksum; ND messages re-emit their reserved bits as
    // zero (receivers ignore them), so for them the parsed form is compared.
    if let (Ok(r), true) = (Icmpv6Repr::parse(&p), p.verify_checksum(src, dst)) {
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(src, dst, &mut Icmpv6Packet::new_unchecked(&mut out[..]));
        let emitted = Icmpv6Packet::new_checked(&out[..]).unwrap();
        assert!(emitted.verify_checksum(src, dst));
        assert_eq!(out.len(), data.len());
        assert_eq!(Icmpv6Repr::parse(&emitted), Ok(r));
        if !p.msg_type().is_ndisc() {
            assert_eq!((&out[..2], &out[4..]), (&data[..2], &data[4..]));
            let (came, went) = (p.checksum(), emitted.checksum());
            assert!(
                came == went || (came == 0xffff && went == 0),
                "{came:#06x} -> {went:#06x}"
            );
        }
    }
    if let Ok(q) = p.quoted() {
        fuzz_quoted_v6(&q);
    }
    let mut copy = data.to_vec();
    let mut m = Icmpv6Packet::new_checked(&mut copy[..]).unwrap();
    if let Ok(mut q) = m.quoted_mut() {
        q.set_src_addr(B6);
        q.set_dst_addr(A6);
        black_box((q.set_src_port(1), q.set_dst_port(2), q.set_icmp_ident(3)));
    }
    m.rewrite_echo_ident(9);
    m.update_checksum_addr(src, A6);
    m.fill_checksum(A6, dst);
    assert!(m.verify_checksum(A6, dst));
}

fn fuzz_all(data: &[u8]) {
    fuzz_ethernet(data);
    fuzz_l3(data);
    let _ = black_box(
        data.iter()
            .map(|&b| b as char)
            .collect::<String>()
            .parse::<ethernet::Address>(),
    );
    let mut n = 0;
    for o in tcp::OptionsIter::new(data) {
        black_box(o.is_ok());
        n += 1;
        assert!(n <= data.len());
    }
    black_box(wire::checksum::data(data));
    fuzz_ipv6_options(data);
    if let Some((&first, rest)) = data.split_first() {
        if let Ok(ext) = Ipv6ExtHeaders::parse(first, rest) {
            assert!(ext.count <= ipv6::MAX_EXT_HEADERS);
            if let Some(at) = ext.upper_offset {
                assert!(at - 40 <= rest.len());
            }
        }
    }
}

/// The case a fresh clone's `make test` once found: an echo request whose other words sum
/// to 0xFFFF, sent with the checksum 0xFFFF (negative zero) instead of the computed 0x0000.
#[test]
fn icmp_checksum_ffff_verifies_and_emits_as_zero() {
    // Type 8 code 0 (0x0800) + ident 0xF7FF = 0xFFFF; seq 0, no data.
    let sent = [0x08, 0x00, 0xff, 0xff, 0xf7, 0xff, 0x00, 0x00];
    let p = Icmpv4Packet::new_checked(&sent[..]).unwrap();
    assert!(p.verify_checksum());
    let r = Icmpv4Repr::parse(&p).unwrap();
    let mut out = [0u8; 8];
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, [0x08, 0x00, 0x00, 0x00, 0xf7, 0xff, 0x00, 0x00]);
    fuzz_icmp(&sent);
}

/// The IPv6 seeds are whole, valid packets, so the walks above reach their upper layers and
/// the ICMPv6 round trips.
#[test]
fn ipv6_seeds_parse_whole() {
    for pkt in [
        &UDP_DSTOPTS[..],
        &MLD_REPORT_HBH,
        &FRAG_SECOND,
        &PORT_UNREACH_V6,
        &PARAM_PROBLEM_V6,
        &ROUTER_ADVERT,
        &TCP_SYN_V6,
        &NS_FRAME[14..],
    ] {
        let p = Ipv6Packet::new_checked(pkt).unwrap();
        assert!(Ipv6Repr::parse(&p).is_ok());
        let ext = p.ext_headers().unwrap();
        let Some(at) = ext.upper_offset else {
            assert!(ext.fragment.is_some());
            continue;
        };
        let upper = &pkt[at..];
        match u8::from(ext.protocol) {
            6 => assert!(TcpPacket::new_checked(upper)
                .unwrap()
                .verify_checksum_ipv6(p.src_addr(), p.dst_addr())),
            17 => assert!(UdpPacket::new_checked(upper)
                .unwrap()
                .verify_checksum_ipv6(p.src_addr(), p.dst_addr())),
            58 => {
                let m = Icmpv6Packet::new_checked(upper).unwrap();
                assert!(m.verify_checksum(p.src_addr(), p.dst_addr()));
                if m.msg_type() != icmpv6::Message::MLD_V2_REPORT {
                    assert!(!matches!(
                        Icmpv6Repr::parse(&m),
                        Ok(Icmpv6Repr::Other { .. }) | Err(_)
                    ));
                }
            }
            other => panic!("unexpected protocol {other}"),
        }
        fuzz_ipv6(pkt);
    }
}

#[test]
fn all_truncations_of_real_packets() {
    for seed in seeds() {
        for len in 0..=seed.len() {
            fuzz_all(&seed[..len]);
            // The L3 part alone, truncated, too.
            if len >= 14 {
                fuzz_l3(&seed[14..len]);
            }
        }
    }
}

#[test]
fn all_single_byte_corruptions_of_real_packets() {
    for seed in seeds() {
        for i in 0..seed.len() {
            for v in [0x00, 0x01, 0x05, 0x0f, 0x45, 0x4f, 0x81, 0xff] {
                let mut b = seed.clone();
                b[i] = v;
                fuzz_all(&b);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        fuzz_all(&data);
    }

    #[test]
    fn random_tcp_options(opts in proptest::collection::vec(any::<u8>(), 0..=40)) {
        // A valid TCP header with random option bytes exercises the option parser through
        // the packet view, Repr::parse and the MSS rewrite.
        let mut seg = TCP_SYN[20..40].to_vec();
        let padded = opts.len().div_ceil(4) * 4;
        seg[12] = (((20 + padded) / 4) as u8) << 4;
        seg.extend_from_slice(&opts);
        seg.resize(20 + padded, 0);
        fuzz_tcp(&seg);
        fuzz_all(&seg);
    }

    #[test]
    fn mutated_real_packets(
        seed in 0usize..SEEDS,
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = seeds().swap_remove(seed);
        for (i, v) in mutations {
            let at = i.index(b.len());
            b[at] = v;
        }
        let len = b.len() - cut.index(b.len() / 4 + 1);
        fuzz_all(&b[..len]);
    }
}
