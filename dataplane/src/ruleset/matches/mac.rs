//! `-m mac --mac-source`: the Ethernet source address (xt_mac; only where a frame was
//! received: PREROUTING, INPUT, FORWARD).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacMatch {
    pub inv: bool,
    pub addr: [u8; 6],
}
