//! `-m dscp` and `-m tos`: the DS field / TOS byte of the IP header.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DscpMatch {
    pub inv: bool,
    /// The 6-bit DSCP value.
    pub dscp: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TosMatch {
    pub inv: bool,
    pub value: u8,
    pub mask: u8,
}

impl DscpMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        (pkt.tos >> 2 == self.dscp) != self.inv
    }
}

impl TosMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        (pkt.tos & self.mask == self.value) != self.inv
    }
}
