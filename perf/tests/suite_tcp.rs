//! S8 (TCP connections through the gateway) as a test: connections the generator opens
//! through the worker complete, none fails, the worker drops nothing, and conntrack
//! holds one entry per slot (each slot's last connection). Never a rate. Needs the `dpdk`
//! feature (no root, no hugepages).
#![cfg(feature = "dpdk")]

use perf::json::Json;
use perf::suite::harness::Bench;

fn n(j: &Json, key: &str) -> u64 {
    match j.get(key) {
        Some(Json::Int(x)) => *x as u64,
        Some(Json::Num(x)) => *x as u64,
        other => panic!("{key}: {other:?} in {}", j.pretty()),
    }
}

#[test]
fn s8_connections_through_the_gateway_all_complete() {
    let bench = Bench::new(1).expect("bench");
    let j = perf::suite::tcp::s8(&bench, 1.0);
    assert!(n(&j, "completed") > 0, "{}", j.pretty());
    assert_eq!(n(&j, "failed"), 0, "{}", j.pretty());
    assert_eq!(n(&j, "worker_drops"), 0, "{}", j.pretty());
    // A slot's next connection reopens its last one's TIME_WAIT entry: one entry a slot.
    let entries = n(&j, "conntrack_entries");
    assert!(
        entries > 0 && entries <= u64::from(perf::suite::tcp::SLOTS),
        "{}",
        j.pretty()
    );
}
