//! `-m multiport`: up to 15 ports or ranges (a range takes two slots), xt_multiport rev 1.

use super::{IPPROTO_DCCP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE};
use crate::ruleset::{PortRange, RuleSpec};

/// XT_MULTI_PORTS: the slots in the kernel's structure.
pub const MAX_SLOTS: usize = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultiportDir {
    Source,
    Destination,
    Either,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MultiportMatch {
    pub inv: bool,
    pub dir: MultiportDir,
    pub ports: Vec<PortRange>,
}

impl MultiportMatch {
    pub fn slots(&self) -> usize {
        self.ports
            .iter()
            .map(|r| if r.lo == r.hi { 1 } else { 2 })
            .sum()
    }

    pub fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        let ok = matches!(
            spec.exact_proto(),
            Some(IPPROTO_TCP | IPPROTO_UDP | IPPROTO_UDPLITE | IPPROTO_SCTP | IPPROTO_DCCP)
        );
        if !ok {
            return Err(
                "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'".into(),
            );
        }
        if self.ports.is_empty() || self.slots() > MAX_SLOTS {
            return Err(
                "multiport: too many ports specified (at most 15, a range counts as 2)".into(),
            );
        }
        Ok(())
    }
}
