//! The nfdp packet path. No I/O and no DPDK here: wire formats, the ruleset model and its
//! validation, and (as their issues land) the classifier, conntrack, NAT, routing and the
//! hook pipeline.
#![forbid(unsafe_code)]

pub mod neigh;
pub mod port;
pub mod route;
