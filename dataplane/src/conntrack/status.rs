//! Connection status bits (`--ctstatus`), as the kernel's IPS_* bits.

pub const EXPECTED: u8 = 1 << 0;
pub const SEEN_REPLY: u8 = 1 << 1;
pub const ASSURED: u8 = 1 << 2;
pub const CONFIRMED: u8 = 1 << 3;
pub const NAMES: [(&str, u8); 4] = [
    ("EXPECTED", EXPECTED),
    ("SEEN_REPLY", SEEN_REPLY),
    ("ASSURED", ASSURED),
    ("CONFIRMED", CONFIRMED),
];
