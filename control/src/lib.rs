//! nfdp's control plane: configuration, the iptables language (parse, validate, print)
//! and the programs.
#![forbid(unsafe_code)]

pub mod api;
pub mod arptables;
pub mod config;
pub mod config_check;
pub mod ctl;
pub mod daemon;
pub mod input_file;
pub mod ipset;
pub mod iptables;
pub mod nflog;
pub mod replay;
pub mod ruleset_check;
