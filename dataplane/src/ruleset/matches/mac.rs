//! `-m mac --mac-source`: the Ethernet source address (xt_mac; only where a frame was
//! received: PREROUTING, INPUT, FORWARD).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacMatch {
    pub inv: bool,
    pub addr: [u8; 6],
}

impl MacMatch {
    /// No link header (locally generated packets) never matches.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        pkt.meta
            .src_mac
            .is_some_and(|m| (m == self.addr) != self.inv)
    }
}
