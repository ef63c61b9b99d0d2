//! Robustness of the wire parsers: random bytes, every truncation of real packets and random
//! mutations of them go through every parser and accessor, which must never panic.

use std::hint::black_box;
use std::net::Ipv4Addr;

use dataplane::wire::{self, ethernet, icmpv4, tcp};
use dataplane::wire::{
    ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Ipv4Packet,
    Ipv4Repr, TcpPacket, TcpRepr, UdpPacket, UdpRepr, VlanRepr, VlanTag,
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
    ]
}

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

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

/// Every L3/L4 parser on the same bytes, and the L4 parsers on the IPv4 payload.
fn fuzz_l3(data: &[u8]) {
    fuzz_arp(data);
    fuzz_ipv4(data);
    fuzz_tcp(data);
    fuzz_udp(data);
    fuzz_icmp(data);
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
    black_box(m.rewrite_mss(536));
    black_box((m.options_mut().len(), m.payload_mut().len()));
    m.fill_checksum(A, B);
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
    black_box(p.verify_checksum(A, B));
    assert!(UdpRepr::parse(&p).is_ok());
    let mut copy = data.to_vec();
    let mut m = UdpPacket::new_checked(&mut copy[..]).unwrap();
    m.rewrite_src_port(1);
    m.rewrite_dst_port(2);
    m.update_checksum_addr(A, B);
    black_box(m.payload_mut().len());
    m.fill_checksum(A, B);
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
        seed in 0usize..4,
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
