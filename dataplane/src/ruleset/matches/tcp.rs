//! `-m tcp`: ports, flags and option presence (xt_tcpudp).

use crate::ruleset::{Inv, PortRange};

/// TCP flag bits as they sit in the header's flags byte.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
    /// `ALL` as iptables spells it: the six classic flags.
    pub const ALL: u8 = 0x3f;
    /// The names in the order iptables prints them.
    pub const NAMES: [(&str, u8); 8] = [
        ("FIN", FIN),
        ("SYN", SYN),
        ("RST", RST),
        ("PSH", PSH),
        ("ACK", ACK),
        ("URG", URG),
        ("ECE", ECE),
        ("CWR", CWR),
    ];
}

/// `--tcp-flags MASK COMP`: the flags in `mask` must equal `comp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFlags {
    pub mask: u8,
    pub comp: u8,
}

impl TcpFlags {
    /// What `--syn` means: SYN set, FIN, RST and ACK clear.
    pub const SYN: TcpFlags = TcpFlags {
        mask: flags::FIN | flags::SYN | flags::RST | flags::ACK,
        comp: flags::SYN,
    };
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TcpMatch {
    pub sport: Option<Inv<PortRange>>,
    pub dport: Option<Inv<PortRange>>,
    pub flags: Option<Inv<TcpFlags>>,
    /// `--tcp-option N`: an option of kind N is present.
    pub option: Option<Inv<u8>>,
}
