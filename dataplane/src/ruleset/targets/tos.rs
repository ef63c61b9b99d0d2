//! `-j TOS` and `-j DSCP` (mangle only): rewrite the TOS byte / DS field.

/// `tos = (tos & !mask) ^ value`, the kernel's xt_tos_target_info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TosTarget {
    pub value: u8,
    pub mask: u8,
}

/// The 6-bit DSCP value to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DscpTarget {
    pub dscp: u8,
}

/// DiffServ class names (`--set-dscp-class`, `--dscp-class`) and their DSCP values.
pub const DSCP_CLASSES: [(&str, u8); 22] = [
    ("CS0", 0x00),
    ("CS1", 0x08),
    ("CS2", 0x10),
    ("CS3", 0x18),
    ("CS4", 0x20),
    ("CS5", 0x28),
    ("CS6", 0x30),
    ("CS7", 0x38),
    ("BE", 0x00),
    ("AF11", 0x0a),
    ("AF12", 0x0c),
    ("AF13", 0x0e),
    ("AF21", 0x12),
    ("AF22", 0x14),
    ("AF23", 0x16),
    ("AF31", 0x1a),
    ("AF32", 0x1c),
    ("AF33", 0x1e),
    ("AF41", 0x22),
    ("AF42", 0x24),
    ("AF43", 0x26),
    ("EF", 0x2e),
];
