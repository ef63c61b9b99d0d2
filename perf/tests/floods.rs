//! S7's floods at `Scale::test` (a 4096-entry conntrack table, 1250 S1 flows, a fixed
//! number of bursts on a virtual clock): each asserts the bound its flood aims at and the
//! counters its drops go under, never a rate. And S8's TCP connections through the
//! gateway: they complete, none fails, one conntrack entry per slot. Needs the `dpdk`
//! feature (no root, no hugepages).
#![cfg(feature = "dpdk")]

use dataplane::defrag::{FRAG_MEMORY, FRAG_TRUESIZE};
use perf::json::Json;
use perf::suite::floods::{self, Scale, INBOX};
use perf::suite::harness::Bench;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// One EAL (and one bench) per process; the tests take turns.
fn bench() -> (&'static Bench, MutexGuard<'static, ()>) {
    static BENCH: OnceLock<Bench> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    (BENCH.get_or_init(|| Bench::new(2).expect("bench")), turn)
}

fn n(j: &Json, key: &str) -> u64 {
    match j.get(key) {
        Some(Json::Int(x)) => *x as u64,
        Some(Json::Num(x)) => *x as u64,
        other => panic!("{key}: {other:?} in {}", j.pretty()),
    }
}

/// What every flood keeps: S1's frames all read by the worker and all forwarded.
fn legit_kept(j: &Json) {
    assert_eq!(n(j, "unprocessed"), 0, "{}", j.pretty());
    assert_eq!(n(j, "lost_under_flood"), 0, "{}", j.pretty());
    assert!(n(j, "received_under_flood") > 0, "{}", j.pretty());
}

#[test]
fn udp_flood_fills_conntrack_and_assured_flows_stay() {
    let (b, _t) = bench();
    let sc = Scale::test();
    let j = floods::udp(b, &sc);
    legit_kept(&j);
    assert_eq!(n(&j, "ct_high_water"), u64::from(sc.ct_max));
    assert_eq!(n(&j, "s1_flows_lost_or_recreated"), 0);
    // Every flood packet during the measurement is a new tuple of a full table: it took an
    // unassured entry's place (early drop) or was refused (counted as a conntrack drop).
    assert_eq!(
        n(&j, "early_drops_during_measure") + n(&j, "table_full_during_measure"),
        n(&j, "flood_packets_during_measure"),
        "{}",
        j.pretty()
    );
    assert_eq!(
        n(&j, "table_full_during_measure"),
        n(&j, "conntrack_drops_during_measure")
    );
    assert!(n(&j, "early_drops_during_measure") > 0);
}

#[test]
fn syn_flood_is_shed_past_the_allowance_and_assured_flows_stay() {
    let (b, _t) = bench();
    let j = perf::suite::synflood::run(b, &Scale::test());
    assert_eq!(n(&j, "lost_under_flood"), 0, "{}", j.pretty());
    assert_eq!(n(&j, "s1_flows_recreated_under_flood"), 0);
    // Every SYN under the flood is a new tuple of a full table: admitted (an unassured
    // entry's place, or refused as table full) or shed by the overloaded worker.
    let syns = n(&j, "syns_during_measure");
    let bursts = syns / perf::suite::synflood::SYNS_PER_BURST as u64;
    let admitted = n(&j, "early_drops_during_measure") + n(&j, "table_full_during_measure");
    assert_eq!(
        admitted + n(&j, "overload_drops_during_measure"),
        syns,
        "{}",
        j.pretty()
    );
    // In each flooded window the first full bursts in a row are not limited (the calm
    // window before it had none full: a run of `OVERLOAD_AFTER` makes overload); from
    // then on exactly the default rate passes, its credit carried from window to window.
    let windows = n(&j, "pairs");
    assert_eq!(windows, perf::suite::synflood::PAIRS as u64);
    let free = windows * u64::from(dataplane::worker::OVERLOAD_AFTER - 1);
    let rate = dataplane::worker::NEW_PER_BURST_DEFAULT;
    let per_burst = perf::suite::synflood::SYNS_PER_BURST as u64;
    assert_eq!(
        admitted,
        free * per_burst + ((bursts - free) as f64 * rate) as u64,
        "{}",
        j.pretty()
    );
    assert!(admitted > 0);
}

#[test]
fn fragment_flood_stays_in_its_memory_bound_and_real_datagrams_get_through() {
    let (b, _t) = bench();
    let j = floods::frag(b, &Scale::test());
    legit_kept(&j);
    assert!(n(&j, "memory_high_water_bytes") <= FRAG_MEMORY as u64);
    assert!(n(&j, "datagrams_pending_high_water") <= (FRAG_MEMORY / (8 + FRAG_TRUESIZE)) as u64);
    assert!(n(&j, "evicted_during_measure") > 0, "{}", j.pretty());
    let sent = n(&j, "real_datagrams_sent");
    assert!(sent > 0);
    assert_eq!(n(&j, "real_datagrams_reassembled"), sent, "{}", j.pretty());
    assert_eq!(n(&j, "real_datagrams_forwarded"), sent, "{}", j.pretty());
}

#[test]
fn icmp_error_flood_is_invalid_unless_related_and_answers_stay_rate_limited() {
    let (b, _t) = bench();
    let j = floods::icmp(b, &Scale::test());
    legit_kept(&j);
    // Errors about nothing are INVALID (those to the LAN host dropped by the INVALID
    // rule, those to the gateway delivered to the host as the kernel would).
    assert!(n(&j, "ct_invalid_during_measure") >= n(&j, "errors_quoting_nothing"));
    assert_eq!(
        n(&j, "related_forwarded_to_lan"),
        n(&j, "errors_quoting_real"),
        "{}",
        j.pretty()
    );
    let ttl1 = n(&j, "ttl1_packets");
    assert_eq!(n(&j, "icmp_generated"), ttl1);
    assert_eq!(n(&j, "icmp_emitted") + n(&j, "icmp_rate_limited"), ttl1);
    assert!(n(&j, "icmp_emitted") > 0);
    assert!(n(&j, "icmp_emitted") <= n(&j, "icmp_limit_in_virtual_time"));
}

#[test]
fn arp_flood_keeps_the_neighbour_table_and_its_queues_bounded() {
    let (b, _t) = bench();
    let sc = Scale::test();
    let j = floods::arp(b, &sc);
    legit_kept(&j);
    assert_eq!(n(&j, "neigh_entries_high_water"), sc.neigh_max as u64);
    let qlen = n(&j, "neigh_queue_len");
    assert!(n(&j, "neigh_longest_queue") <= qlen);
    assert!(n(&j, "neigh_queued_high_water") <= sc.neigh_max as u64 * qlen);
    assert!(n(&j, "neigh_table_full_drops") > 0, "{}", j.pretty());
    // Refused for a full table or pushed out of a full queue: dropped as no_neighbor.
    assert_eq!(
        n(&j, "no_neighbor_drops"),
        n(&j, "neigh_table_full_drops") + n(&j, "neigh_queue_overflow_drops"),
        "{}",
        j.pretty()
    );
    assert!(n(&j, "arp_requests_answered") > 0);
    assert_eq!(
        n(&j, "arp_requests_seen_on_wan"),
        n(&j, "arp_requests_sent")
    );
}

#[test]
fn saturated_handoff_inbox_drops_and_counts_without_deadlock() {
    let (b, _t) = bench();
    let j = floods::handoff(b, &Scale::test());
    assert_eq!(n(&j, "unprocessed"), 0);
    assert_eq!(n(&j, "lost_under_flood"), 0, "{}", j.pretty());
    assert_eq!(n(&j, "inbox_high_water"), INBOX as u64);
    assert!(n(&j, "handoff_drops") > 0);
    // Everything handed over was processed, and the inbox drained afterwards.
    assert_eq!(n(&j, "handed_to_worker1"), n(&j, "received_by_worker1"));
    assert_eq!(n(&j, "inbox_pending_after"), 0);
    assert_eq!(
        n(&j, "handed_to_worker1") + n(&j, "handoff_drops"),
        n(&j, "flood_packets_during_measure"),
        "{}",
        j.pretty()
    );
}

#[test]
fn exhausted_mbuf_pools_refuse_then_recover_without_a_leak() {
    let (b, _t) = bench();
    let j = floods::mbuf(b, &Scale::test());
    assert_eq!(n(&j, "unprocessed"), 0);
    assert_eq!(
        n(&j, "refused_at_port_while_exhausted"),
        n(&j, "offered_while_exhausted")
    );
    // What was in the ring before the pools ran dry still went through.
    assert_eq!(
        n(&j, "s1_forwarded_while_exhausted"),
        n(&j, "s1_queued_before_exhaustion")
    );
    assert_eq!(
        n(&j, "icmp_generated_while_exhausted"),
        n(&j, "ttl1_queued_before_exhaustion")
    );
    // Recovered: S1 again without loss, and every mbuf back in the pool.
    assert_eq!(n(&j, "lost_after"), 0);
    assert!(n(&j, "received_after") > 0);
    assert!(n(&j, "mbufs_held_lan0_again_after") >= n(&j, "mbufs_held_lan0"));
}

/// S8: connections the generator opens through the worker complete, none fails, the
/// worker drops nothing, and conntrack holds one entry per slot (a slot's next connection
/// reopens its last one's TIME_WAIT entry).
#[test]
fn s8_connections_through_the_gateway_all_complete() {
    let (b, _t) = bench();
    let j = perf::suite::tcp::s8(b, 1.0);
    assert!(n(&j, "completed") > 0, "{}", j.pretty());
    assert_eq!(n(&j, "failed"), 0, "{}", j.pretty());
    assert_eq!(n(&j, "worker_drops"), 0, "{}", j.pretty());
    let entries = n(&j, "conntrack_entries");
    assert!(
        entries > 0 && entries <= u64::from(perf::suite::tcp::SLOTS),
        "{}",
        j.pretty()
    );
}
