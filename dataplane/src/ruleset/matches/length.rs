//! `-m length`: the IP total length within an inclusive range (xt_length).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthMatch {
    pub inv: bool,
    pub min: u16,
    pub max: u16,
}

impl LengthMatch {
    /// The IP total length, as xt_length reads it.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        (self.min..=self.max).contains(&pkt.total_len) != self.inv
    }
}
