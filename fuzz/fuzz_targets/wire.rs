//! The wire parsers (dataplane/src/wire) on arbitrary bytes: every view's `new_checked`, every
//! accessor and mutator behind it, every `Repr::parse`; where a `Repr` parses, emitting it
//! and parsing the emitted bytes gives it back. Nothing may panic.
//!
//! The per-protocol walk is the one `dataplane/tests/wire_fuzz.rs` runs under proptest, with
//! the round trips of every `Repr` (IPv4, UDP, Ethernet, 802.1Q, ICMP) added here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::hint::black_box;
use std::net::Ipv4Addr;

use dataplane::wire::{self, ethernet, icmpv4, tcp};
use dataplane::wire::{
    ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Ipv4Packet,
    Ipv4Repr, TcpPacket, TcpRepr, UdpPacket, UdpRepr, VlanRepr, VlanTag,
};

fuzz_target!(|data: &[u8]| {
    fuzz_all(data);
});

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn fuzz_ethernet(data: &[u8]) {
    if let Ok(f) = EthernetFrame::new_checked(data) {
        black_box((f.src_addr(), f.dst_addr(), f.ethertype(), f.payload()));
        let r = EthernetRepr::parse(&f).expect("a checked frame parses");
        let mut out = vec![0u8; r.buffer_len(0)];
        r.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &data[..r.header_len()]);
        let back = EthernetRepr::parse(&EthernetFrame::new_checked(&out[..]).unwrap()).unwrap();
        assert_eq!(back, r);
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
        let r = VlanRepr::parse(&t).expect("a checked tag parses");
        let mut out = vec![0u8; r.buffer_len(0)];
        r.emit(&mut VlanTag::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &data[..r.header_len()]);
        let back = VlanRepr::parse(&VlanTag::new_checked(&out[..]).unwrap()).unwrap();
        assert_eq!(back, r);
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
    if let Ok(r) = Ipv4Repr::parse(&p) {
        // Emitted headers carry no options; the payload is copied behind.
        let mut out = vec![0u8; r.buffer_len()];
        out[r.header_len()..].copy_from_slice(p.payload());
        r.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        let emitted = Ipv4Packet::new_checked(&out[..]).expect("emitted header views");
        assert!(emitted.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&emitted), Ok(r));
        assert_eq!(emitted.payload(), p.payload());
    }
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
    let r = UdpRepr::parse(&p).expect("a checked datagram parses");
    let mut out = vec![0u8; r.buffer_len()];
    out[r.header_len()..].copy_from_slice(p.payload());
    r.emit(&mut UdpPacket::new_unchecked(&mut out[..]));
    let emitted = UdpPacket::new_checked(&out[..]).expect("emitted datagram views");
    assert_eq!(UdpRepr::parse(&emitted), Ok(r));
    assert_eq!(emitted.payload(), p.payload());
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
        assert_eq!(
            Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&out[..]).unwrap()),
            Ok(r)
        );
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
