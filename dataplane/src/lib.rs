//! The nfdp packet path. No I/O and no DPDK here: wire formats, the ruleset model and its
//! validation, routing and neighbours, ports, and (as their issues land) the classifier,
//! conntrack, NAT and the hook pipeline.
// `unsafe` is allowed only in the DPDK port module (FFI), which exists only with `dpdk`.
#![cfg_attr(not(feature = "dpdk"), forbid(unsafe_code))]
#![cfg_attr(feature = "dpdk", deny(unsafe_code))]

pub mod arptables;
pub mod conntrack;
pub mod defrag;
pub mod defrag6;
pub mod handoff;
pub mod hash;
pub mod ipset;
pub mod nd;
pub mod neigh;
pub mod pipeline;
pub mod port;
pub mod route;
pub mod ruleset;
pub mod wire;
pub mod worker;
