//! `-m icmp --icmp-type`: ICMP type and code range (ip_tables' icmp match).

/// Type 255 is iptables' wildcard `any`.
pub const ICMP_ANY: u8 = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpMatch {
    pub inv: bool,
    pub icmp_type: u8,
    pub code_min: u8,
    pub code_max: u8,
}

impl IcmpMatch {
    pub fn any() -> IcmpMatch {
        IcmpMatch {
            inv: false,
            icmp_type: ICMP_ANY,
            code_min: 0,
            code_max: 255,
        }
    }
}
