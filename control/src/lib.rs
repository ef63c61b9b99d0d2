//! nfdp's control plane: the iptables language (parse, validate, print) and the programs.
#![forbid(unsafe_code)]
pub mod config;
