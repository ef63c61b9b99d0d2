//! `-m tcpmss --mss`: the MSS option of SYN segments in a range (xt_tcpmss).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpmssMatch {
    pub inv: bool,
    pub min: u16,
    pub max: u16,
}

impl TcpmssMatch {
    /// xt_tcpmss: the MSS option of the TCP header in range; without one, only the
    /// inverted match holds.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let Some(opts) = pkt.tcp_options() else {
            return false;
        };
        match crate::ruleset::packet::tcp_options(opts).find(|(k, b)| *k == 2 && b.len() == 2) {
            Some((_, b)) => {
                let mss = u16::from_be_bytes([b[0], b[1]]);
                (self.min..=self.max).contains(&mss) != self.inv
            }
            None => self.inv,
        }
    }
}
