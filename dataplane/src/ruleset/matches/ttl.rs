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

impl crate::ruleset::ext::MatchExt for TtlMatch {
    const NAME: &'static str = "ttl";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::PacketMatch for TtlMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    #[test]
    fn comparisons() {
        let p = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]); // TTL 64
        let m = |op, value| TtlMatch { op, value };
        assert!(m(TtlOp::Eq, 64).matches(&view(&p)));
        assert!(!m(TtlOp::Ne, 64).matches(&view(&p)));
        assert!(m(TtlOp::Lt, 65).matches(&view(&p)));
        assert!(!m(TtlOp::Lt, 64).matches(&view(&p)));
        assert!(m(TtlOp::Gt, 63).matches(&view(&p)));
        assert!(!m(TtlOp::Gt, 64).matches(&view(&p)));
    }
}
