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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_dec_inc_saturate() {
        assert_eq!(TtlTarget::Set(7).apply(64), 7);
        assert_eq!(TtlTarget::Dec(5).apply(3), 0);
        assert_eq!(TtlTarget::Dec(1).apply(64), 63);
        assert_eq!(TtlTarget::Inc(10).apply(250), 255);
        assert!(TtlTarget::Dec(0).validate().is_err());
    }
}
