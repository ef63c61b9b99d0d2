//! `-j LOG`: a kernel-shaped log line per packet (xt_LOG); the packet goes on.

/// The kernel's limit on `--log-prefix` (30 bytes with the terminating NUL).
pub const MAX_PREFIX_LEN: usize = 29;
/// `warning`, the default `--log-level`.
pub const DEFAULT_LEVEL: u8 = 4;

pub mod flags {
    pub const TCPSEQ: u8 = 0x01;
    pub const TCPOPT: u8 = 0x02;
    pub const IPOPT: u8 = 0x04;
    pub const UID: u8 = 0x08;
    pub const MACDECODE: u8 = 0x20;
}

/// Syslog level names iptables accepts for `--log-level`.
pub const LEVEL_NAMES: [(&str, u8); 8] = [
    ("emerg", 0),
    ("alert", 1),
    ("crit", 2),
    ("error", 3),
    ("warning", 4),
    ("notice", 5),
    ("info", 6),
    ("debug", 7),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTarget {
    pub level: u8,
    pub prefix: String,
    pub flags: u8,
}

impl Default for LogTarget {
    fn default() -> Self {
        LogTarget {
            level: DEFAULT_LEVEL,
            prefix: String::new(),
            flags: 0,
        }
    }
}
