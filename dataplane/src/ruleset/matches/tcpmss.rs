//! `-m tcpmss --mss`: the MSS option of SYN segments in a range (xt_tcpmss).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpmssMatch {
    pub inv: bool,
    pub min: u16,
    pub max: u16,
}
