//! `-j TCPMSS`: set or clamp the MSS option of TCP SYN segments (xt_TCPMSS).

use crate::ruleset::{Hook, Usable};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpmssTarget {
    SetMss(u16),
    /// Clamp to the egress path MTU minus 40; needs a known output route.
    ClampPmtu,
}

impl TcpmssTarget {
    pub fn usable(&self) -> Usable {
        match self {
            TcpmssTarget::SetMss(_) => Usable::ANYWHERE,
            TcpmssTarget::ClampPmtu => {
                Usable::hooks(&[Hook::Forward, Hook::Output, Hook::Postrouting])
            }
        }
    }
}
