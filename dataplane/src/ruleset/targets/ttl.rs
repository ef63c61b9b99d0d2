//! `-j TTL` (mangle only): set, decrement or increment the IP TTL (ipt_TTL).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlTarget {
    Set(u8),
    Dec(u8),
    Inc(u8),
}

impl TtlTarget {
    pub fn validate(&self) -> Result<(), String> {
        match self {
            TtlTarget::Dec(0) | TtlTarget::Inc(0) => {
                Err("TTL: increment/decrement by 0 is pointless".into())
            }
            _ => Ok(()),
        }
    }

    #[inline]
    pub fn apply(&self, ttl: u8) -> u8 {
        match *self {
            TtlTarget::Set(v) => v,
            TtlTarget::Dec(v) => ttl.saturating_sub(v),
            TtlTarget::Inc(v) => ttl.saturating_add(v),
        }
    }
}
