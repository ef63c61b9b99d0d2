//! The entries of the conntrack 1.4.7 captures (tests/golden/conntrack), written as the
//! daemon sends them; shared by the formatter test and the nfdpctl test's fake server.

use control::api::pb::{ConntrackEntry, Tuple};

fn tuple(src: &str, dst: &str, sport: u32, dport: u32) -> Tuple {
    Tuple {
        src: src.into(),
        dst: dst.into(),
        sport,
        dport,
        ..Default::default()
    }
}

fn status(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// A flow from A (10.0.1.2:sport) to B (10.0.2.2:dport) through R's MASQUERADE (10.0.2.1).
pub fn flow(
    proto: u32,
    sport: u32,
    dport: u32,
    st: &[&str],
    state: &str,
    mark: u32,
) -> ConntrackEntry {
    ConntrackEntry {
        proto,
        timeout: 100,
        tcp_state: state.into(),
        orig: Some(tuple("10.0.1.2", "10.0.2.2", sport, dport)),
        reply: Some(tuple("10.0.2.2", "10.0.2.1", dport, sport)),
        status: status(st),
        mark,
        r#use: 1,
        ..Default::default()
    }
}

pub fn icmp() -> ConntrackEntry {
    let t = |src: &str, dst: &str, ty| Tuple {
        src: src.into(),
        dst: dst.into(),
        icmp_type: ty,
        icmp_code: 0,
        icmp_id: 4660,
        ..Default::default()
    };
    ConntrackEntry {
        proto: 1,
        timeout: 100,
        orig: Some(t("10.0.1.2", "10.0.2.2", 8)),
        reply: Some(t("10.0.2.2", "10.0.2.1", 0)),
        status: status(&["SEEN_REPLY", "CONFIRMED", "SRC_NAT"]),
        r#use: 1,
        ..Default::default()
    }
}
pub fn tcp1() -> ConntrackEntry {
    flow(
        6,
        40001,
        8080,
        &["SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT"],
        "ESTABLISHED",
        0,
    )
}
pub fn tcp2() -> ConntrackEntry {
    flow(
        6,
        40002,
        9090,
        &["SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT"],
        "ESTABLISHED",
        0,
    )
}
pub fn udp3() -> ConntrackEntry {
    flow(17, 40003, 5353, &["CONFIRMED", "SRC_NAT"], "", 0)
}
pub fn udp4() -> ConntrackEntry {
    flow(
        17,
        40004,
        5354,
        &["SEEN_REPLY", "CONFIRMED", "SRC_NAT"],
        "",
        7,
    )
}

/// The entries of each listing capture, in the capture's (sorted) order.
pub fn listing(name: &str) -> Vec<ConntrackEntry> {
    match name {
        "list" | "list_extended" => vec![icmp(), tcp1(), tcp2(), udp3(), udp4()],
        "list_tcp_dport" => vec![tcp1()],
        "list_udp" => vec![udp3(), udp4()],
        "list_mark" => vec![udp4()],
        "list_src" => vec![icmp()],
        "list_reply_dst" | "delete_tcp" => vec![tcp2()],
        "list_state" | "list_status_assured" => vec![tcp1(), tcp2()],
        "list_none" | "list_empty" | "delete_none" => vec![],
        "list_after_delete" => vec![icmp(), tcp1(), udp4()],
        "get" => vec![ConntrackEntry { r#use: 2, ..tcp1() }],
        "delete" => vec![udp3()],
        "list_acct" => vec![ConntrackEntry {
            accounting: true,
            orig_packets: 1,
            orig_bytes: 32,
            reply_packets: 1,
            reply_bytes: 32,
            ..flow(
                17,
                40006,
                5354,
                &["SEEN_REPLY", "CONFIRMED", "SRC_NAT"],
                "",
                7,
            )
        }],
        _ => panic!("no entries for {name}"),
    }
}
