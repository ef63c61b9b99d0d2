//! Raw FFI to the system DPDK 22.11: bindgen's output over rte_eal.h, rte_dev.h,
//! rte_bus_vdev.h, rte_ethdev.h, rte_lcore.h, rte_mbuf.h and rte_mempool.h (items named
//! `rte_*` / `RTE_*`), plus the `nfdp_*` C shim that exports DPDK's `static inline`
//! fast-path functions (rx/tx burst, mbuf alloc/free/data access, rte_lcore_id, rte_errno)
//! as real symbols. Everything here is `unsafe` to call; the safe wrapper is
//! `dataplane::port::dpdk`.
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code
)]
#![allow(clippy::all)]
#![allow(unsafe_op_in_unsafe_fn)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
