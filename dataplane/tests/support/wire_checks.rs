//! The walk through every wire parser that `dataplane/tests/wire_fuzz.rs` (proptest, in
//! `cargo test`) and `fuzz/fuzz_targets/wire.rs` (cargo-fuzz) both run: every view's
//! `new_checked`, every accessor and mutator behind it, every `Repr::parse`; where a
//! `Repr` parses, emitting it and parsing the emitted bytes gives it back. Nothing may
//! panic. One copy, included by both with `#[path]`.
#![allow(dead_code)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use dataplane::wire::{self, ethernet, icmpv4, icmpv6, ipv6, tcp};
use dataplane::wire::{
    ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet,
    Icmpv6Repr, Ipv4Packet, Ipv4Repr, Ipv6ExtHeaders, Ipv6OptionsHeader, Ipv6OptionsIter,
    Ipv6Packet, Ipv6Repr, NdOption, NdOptionsIter, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
    VlanRepr, VlanTag,
};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const A6: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 2);

pub fn fuzz_ethernet(data: &[u8]) {
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

pub fn fuzz_vlan(data: &[u8]) {
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

/// Every L3/L4 parser on the same bytes, and the L4 parsers on the IPv4 and IPv6 payloads.
pub fn fuzz_l3(data: &[u8]) {
    fuzz_arp(data);
    fuzz_ipv4(data);
    fuzz_ipv6(data);
    fuzz_tcp(data);
    fuzz_udp(data);
    fuzz_icmp(data);
    fuzz_icmpv6(data);
}

pub fn fuzz_arp(data: &[u8]) {
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

pub fn fuzz_ipv4(data: &[u8]) {
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

pub fn fuzz_tcp(data: &[u8]) {
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

pub fn fuzz_udp(data: &[u8]) {
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
    m.update_checksum_addr_ipv6(A6, B6);
    black_box(m.payload_mut().len());
    m.fill_checksum(A, B);
    m.fill_checksum_ipv6(A6, B6);
    assert_ne!(m.checksum(), 0);
    assert!(m.verify_checksum_ipv6(A6, B6));
}

pub fn fuzz_quoted<T: AsRef<[u8]>>(q: &icmpv4::Quoted<T>) {
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

pub fn fuzz_icmp(data: &[u8]) {
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

pub fn fuzz_ipv6(data: &[u8]) {
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
    // The fixed header round-trips byte for byte; the payload is copied behind.
    let r = Ipv6Repr::parse(&p).expect("a checked IPv6 header parses");
    let mut out = vec![0u8; r.buffer_len()];
    out[r.header_len()..].copy_from_slice(p.payload());
    r.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
    assert_eq!(&out[..40], &data[..40]);
    let emitted = Ipv6Packet::new_checked(&out[..]).expect("emitted header views");
    assert_eq!(Ipv6Repr::parse(&emitted), Ok(r));
    assert_eq!(emitted.payload(), p.payload());
    assert_eq!(emitted.ext_headers(), p.ext_headers());

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
pub fn fuzz_ext(ext: &Ipv6ExtHeaders, data: &[u8], payload_len: usize) {
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

pub fn fuzz_ipv6_options(data: &[u8]) {
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

pub fn fuzz_quoted_v6<T: AsRef<[u8]>>(q: &icmpv6::Quoted<T>) {
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

pub fn fuzz_nd_options(data: &[u8]) {
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

pub fn fuzz_icmpv6(data: &[u8]) {
    fuzz_icmpv6_at(data, A6, B6);
}

pub fn fuzz_icmpv6_at(data: &[u8], src: Ipv6Addr, dst: Ipv6Addr) {
    if let Ok(q) = icmpv6::Quoted::new_checked(data) {
        fuzz_quoted_v6(&q);
    }
    fuzz_nd_options(data);
    // Neighbour discovery's validity checks (pipeline::ndisc) take any message.
    for hop_limit in [64, 255] {
        let _ = black_box(dataplane::pipeline::ndisc::check_solicitation(
            src, dst, hop_limit, data,
        ));
        let _ = black_box(dataplane::pipeline::ndisc::check_advert(
            src, dst, hop_limit, data,
        ));
    }
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

pub fn fuzz_all(data: &[u8]) {
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
