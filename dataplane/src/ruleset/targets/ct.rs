//! `-j CT` (raw only): per-connection settings before conntrack sees the packet
//! (xt_CT). `--notrack` is the modern spelling of `-j NOTRACK`.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtTarget {
    pub notrack: bool,
    pub helper: Option<String>,
    pub zone: Option<u16>,
}
