//! Hostile packets against every stateless match and the pipeline's evaluation helpers:
//! no input may panic them.

use dataplane::ruleset::matches::icmp::IcmpMatch;
use dataplane::ruleset::matches::multiport::{MultiportDir, MultiportMatch};
use dataplane::ruleset::matches::string::{StringAlgo, StringMatch};
use dataplane::ruleset::matches::tcp::{TcpFlags, TcpMatch};
use dataplane::ruleset::matches::tcpmss::TcpmssMatch;
use dataplane::ruleset::matches::udp::UdpMatch;
use dataplane::ruleset::packet::{PacketMeta, PacketView};
use dataplane::ruleset::{Inv, Match, PortRange, RuleSpec};
use proptest::prelude::*;
use std::net::Ipv6Addr;

/// The ip6tables-only matches with every option set, so each decide walks its whole test.
fn ipv6_matches() -> Vec<Match> {
    use dataplane::ruleset::matches::{
        ah6::Ah6Match, esp::SpiRange, frag::FragMatch, hbh::OptsMatch, hl, icmp6::Icmp6Match,
        ipv6header::Ipv6headerMatch, mh::MhMatch, rt::RtMatch,
    };
    let spis = SpiRange {
        min: 1,
        max: 1 << 20,
        inv: true,
    };
    let opts = |dst| OptsMatch {
        dst,
        len: Some(Inv::new(true, 16)),
        opts: vec![0x0502, 0x00ff, 0x01ff, 0x0000],
    };
    let rt = |not_strict| RtMatch {
        rt_type: Some(Inv::new(false, 0)),
        segsleft: spis,
        len: Some(Inv::new(true, 8)),
        res: true,
        addrs: vec![Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED],
        not_strict,
    };
    vec![
        Match::Icmp6(Icmp6Match::default()),
        Match::Mh(MhMatch::default()),
        Match::Hl(hl::HlMatch {
            op: hl::HlOp::Gt,
            value: 1,
        }),
        Match::Frag(FragMatch {
            ids: spis,
            res: true,
            first: true,
            more: true,
            ..Default::default()
        }),
        Match::Ah6(Ah6Match {
            spis,
            len: 12,
            len_inv: true,
            res: true,
        }),
        Match::Ipv6header(Ipv6headerMatch {
            headers: 0xff,
            inv: true,
            soft: true,
        }),
        Match::Hbh(opts(false)),
        Match::Hbh(opts(true)),
        Match::Rt(rt(false)),
        Match::Rt(rt(true)),
    ]
}

fn all_matches() -> Vec<Match> {
    let r = Some(Inv::new(true, PortRange { lo: 1, hi: 100 }));
    vec![
        Match::Tcp(TcpMatch {
            sport: r,
            dport: r,
            flags: Some(Inv::new(true, TcpFlags::SYN)),
            option: Some(Inv::new(true, 2)),
        }),
        Match::Udp(UdpMatch { sport: r, dport: r }),
        Match::Icmp(IcmpMatch::any()),
        Match::Multiport(MultiportMatch {
            inv: true,
            dir: MultiportDir::Either,
            ports: vec![PortRange { lo: 1, hi: 9 }],
        }),
        Match::Tcpmss(TcpmssMatch {
            inv: true,
            min: 0,
            max: 1000,
        }),
        Match::String(StringMatch {
            inv: false,
            algo: StringAlgo::Kmp,
            pattern: b"ab".to_vec(),
            from: 0,
            to: 40,
            icase: true,
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let matches = all_matches();
        if let Some(v) = PacketView::parse(&bytes, PacketMeta::default()) {
            let _ = RuleSpec::default().base_matches(&v);
            let sets = dataplane::ipset::SetTable::default();
            let cx = dataplane::ruleset::ext::PacketCx { view: &v, sets: &sets, now_ns: 0 };
            for m in &matches {
                let _ = m.decide_packet(&cx);
            }
            let _ = v.tcp_options();
            let _ = v.icmp_type_code();
        }
        let _ = dataplane::conntrack::Tuple::from_ip(&bytes);
        let mut out = Vec::new();
        let _ = dataplane::ruleset::targets::reject::icmp_error(&bytes, 11, 0, std::net::Ipv4Addr::LOCALHOST, 1, &mut out);
        let _ = dataplane::pipeline::classify::packet_keys(&bytes, Some(0), None);
        let mut ct = dataplane::conntrack::Conntrack::new(Default::default());
        let mut i = ct.packet_in(&bytes, true, 1);
        ct.confirm(&mut i, 1);
    }

    #[test]
    fn ipv4_shaped_input_never_panics(
        ihl in 0u8..16,
        total in 0u16..200,
        frag in any::<u16>(),
        proto in prop::sample::select(vec![1u8, 6, 17, 47, 132]),
        tail in proptest::collection::vec(any::<u8>(), 0..160),
    ) {
        let mut p = vec![0x40 | ihl, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&frag.to_be_bytes());
        p.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&tail);
        let matches = all_matches();
        if let Some(v) = PacketView::parse(&p, PacketMeta::default()) {
            let sets = dataplane::ipset::SetTable::default();
            let cx = dataplane::ruleset::ext::PacketCx { view: &v, sets: &sets, now_ns: 0 };
            for m in &matches {
                let _ = m.decide_packet(&cx);
            }
        }
        let mut ct = dataplane::conntrack::Conntrack::new(Default::default());
        let mut i = ct.packet_in(&p, true, 1);
        ct.confirm(&mut i, 1);
        let mut out = Vec::new();
        let _ = dataplane::ruleset::targets::reject::icmp_error(&p, 3, 1, std::net::Ipv4Addr::LOCALHOST, 1, &mut out);
    }

    #[test]
    fn ipv6_shaped_input_never_panics(
        next in prop::sample::select(vec![0u8, 6, 17, 43, 44, 50, 51, 58, 59, 60, 135]),
        plen in 0u16..200,
        tail in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&plen.to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&tail);
        let mut matches = all_matches();
        matches.extend(ipv6_matches());
        if let Some(v) = PacketView::parse(&p, PacketMeta::default()) {
            let sets = dataplane::ipset::SetTable::default();
            let cx = dataplane::ruleset::ext::PacketCx { view: &v, sets: &sets, now_ns: 0 };
            for m in &matches {
                let _ = m.decide_packet(&cx);
            }
        }
        let _ = dataplane::ruleset::matches::ipv6header::Ipv6headerMatch::headers_found(&p);
        let mut line = String::new();
        dataplane::ruleset::targets::log::format_packet(&mut line, Some("eth0"), None, None, &p, 0x27, 1);
    }
}
