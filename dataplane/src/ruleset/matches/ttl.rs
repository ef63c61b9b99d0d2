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
