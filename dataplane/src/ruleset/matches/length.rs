//! `-m length`: the IP total length within an inclusive range (xt_length).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthMatch {
    pub inv: bool,
    pub min: u16,
    pub max: u16,
}
