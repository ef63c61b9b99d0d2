//! `-m ttl`: compare the IP TTL (ipt_ttl). `! --ttl-eq` is the kernel's "not equal".

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlOp {
    Eq,
    Ne,
    Lt,
    Gt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtlMatch {
    pub op: TtlOp,
    pub value: u8,
}

impl TtlMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let t = pkt.ttl;
        match self.op {
            TtlOp::Eq => t == self.value,
            TtlOp::Ne => t != self.value,
            TtlOp::Lt => t < self.value,
            TtlOp::Gt => t > self.value,
        }
    }
}
