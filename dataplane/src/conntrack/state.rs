//! A packet's connection state bits as rules see them (`-m conntrack --ctstate`,
//! `-m state`), in the order iptables prints them.

pub const INVALID: u16 = 1 << 0;
pub const NEW: u16 = 1 << 1;
pub const RELATED: u16 = 1 << 2;
pub const ESTABLISHED: u16 = 1 << 3;
pub const UNTRACKED: u16 = 1 << 4;
pub const SNAT: u16 = 1 << 5;
pub const DNAT: u16 = 1 << 6;
pub const NAMES: [(&str, u16); 7] = [
    ("INVALID", INVALID),
    ("NEW", NEW),
    ("RELATED", RELATED),
    ("ESTABLISHED", ESTABLISHED),
    ("UNTRACKED", UNTRACKED),
    ("SNAT", SNAT),
    ("DNAT", DNAT),
];
