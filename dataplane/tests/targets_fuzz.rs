//! The packet actions of the targets on arbitrary bytes: REJECT's reply builder, the LOG
//! formatter and the mangle targets never panic, and whatever they emit or rewrite keeps
//! valid checksums.

use dataplane::ruleset::targets::log::format_packet;
use dataplane::ruleset::targets::reject::{RejectTarget, RejectWith};
use dataplane::ruleset::targets::tcpmss::{MssOutcome, TcpmssTarget};
use dataplane::ruleset::targets::tos::{DscpTarget, TosTarget};
use dataplane::ruleset::targets::ttl::TtlTarget;
use dataplane::wire::{checksum, Icmpv4Packet, Ipv4Packet, TcpPacket};
use proptest::prelude::*;
use std::net::Ipv4Addr;

/// Mostly-plausible IPv4 packets: a header whose version, IHL, total length, protocol and
/// fragment fields are drawn from the interesting values, then random bytes; optionally with
/// both checksums filled in so the checksum-verifying paths are reached.
fn packet() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(any::<u8>(), 0..700),
        prop_oneof![
            Just(0x45u8),
            Just(0x46),
            Just(0x4f),
            Just(0x44),
            any::<u8>()
        ],
        prop_oneof![
            Just(1u8),
            Just(6),
            Just(17),
            Just(50),
            Just(51),
            Just(136),
            any::<u8>()
        ],
        prop_oneof![Just(0u16), Just(0x2000), Just(0x4000), any::<u16>()],
        any::<Option<u16>>(),
        any::<bool>(),
    )
        .prop_map(|(mut b, vihl, proto, frag, len, fill)| {
            if b.len() >= 20 {
                b[0] = vihl;
                b[9] = proto;
                b[6..8].copy_from_slice(&frag.to_be_bytes());
                let total = len.unwrap_or(b.len() as u16);
                b[2..4].copy_from_slice(&total.to_be_bytes());
                if fill {
                    fill_checksums(&mut b);
                }
            }
            b
        })
}

fn fill_checksums(b: &mut [u8]) {
    let Ok(mut ip) = Ipv4Packet::new_checked(&mut *b) else {
        return;
    };
    ip.fill_checksum();
    let (s, d, p) = (ip.src_addr(), ip.dst_addr(), b[9]);
    let hl = usize::from(b[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let l4 = &mut b[hl..total];
    match p {
        6 if l4.len() >= 20 => TcpPacket::new_unchecked(l4).fill_checksum(s, d),
        1 if l4.len() >= 4 => {
            l4[2] = 0;
            l4[3] = 0;
            let c = !checksum::data(l4);
            l4[2..4].copy_from_slice(&c.to_be_bytes());
        }
        _ => {}
    }
}

fn checksums_ok(b: &[u8]) -> bool {
    let ip = Ipv4Packet::new_checked(b).unwrap();
    if !ip.verify_checksum() {
        return false;
    }
    match b[9] {
        6 => TcpPacket::new_checked(ip.payload())
            .is_ok_and(|t| t.verify_checksum(ip.src_addr(), ip.dst_addr())),
        1 => checksum::data(ip.payload()) == 0xffff,
        _ => true,
    }
}

const WITH: [RejectWith; 8] = [
    RejectWith::NetUnreachable,
    RejectWith::HostUnreachable,
    RejectWith::PortUnreachable,
    RejectWith::ProtoUnreachable,
    RejectWith::NetProhibited,
    RejectWith::HostProhibited,
    RejectWith::AdminProhibited,
    RejectWith::TcpReset,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn reject_never_panics_and_emits_valid_packets(p in packet(), w in 0..8usize, ident: u16) {
        let mut out = vec![1, 2, 3];
        let sent = RejectTarget { with: WITH[w] }.build(&p, Ipv4Addr::new(192, 0, 2, 1), ident, &mut out);
        prop_assert_eq!(sent, !out.is_empty());
        if sent {
            prop_assert!(out.len() <= 576);
            let ip = Ipv4Packet::new_checked(&out[..]).unwrap();
            prop_assert_eq!(usize::from(ip.total_len()), out.len());
            prop_assert!(checksums_ok(&out));
            if WITH[w] != RejectWith::TcpReset {
                prop_assert!(Icmpv4Packet::new_checked(ip.payload()).is_ok());
                prop_assert_eq!(&out[28..], &p[..out.len() - 28]);
            }
        }
    }

    #[test]
    fn log_never_panics(p in packet(), flags: u8, mark: u32, mac in prop::option::of(prop::collection::vec(any::<u8>(), 0..20))) {
        let mut s = String::new();
        format_packet(&mut s, Some("eth0"), None, mac.as_deref(), &p, flags, mark);
        prop_assert!(s.starts_with("IN=eth0 OUT= MAC"));
        prop_assert!(s.ends_with(' ') || s.ends_with("TRUNCATED") || s.ends_with("(TRUNCATED)"));
    }

    #[test]
    fn mangle_never_panics_and_keeps_checksums(p in packet(), v: u8, m: u8, mss: u16, pmtu: u16, kind in 0..6u8) {
        // An IPv4 packet (version 4: TOS and DSCP rewrite a version-6 header's traffic
        // class instead, which no IPv4 checksum covers).
        let valid = p.first().is_some_and(|b| b >> 4 == 4)
            && Ipv4Packet::new_checked(&p[..]).is_ok()
            && checksums_ok(&p);
        let mut q = p.clone();
        match kind {
            0 => { TtlTarget::Dec(v).apply_to_packet(&mut q); }
            1 => { TtlTarget::Inc(v).apply_to_packet(&mut q); }
            2 => { TosTarget { value: v, mask: m }.apply_to_packet(&mut q); }
            3 => { DscpTarget { dscp: v & 0x3f }.apply_to_packet(&mut q); }
            4 => { TcpmssTarget::SetMss(mss).apply(&mut q, pmtu); }
            _ => {
                let o = TcpmssTarget::ClampPmtu.apply(&mut q, pmtu);
                if o == MssOutcome::Drop || o == MssOutcome::Unchanged {
                    prop_assert_eq!(&q, &p);
                }
            }
        }
        if valid {
            prop_assert!(checksums_ok(&q));
        }
    }
}
