//! `-j TEE --gateway ADDR [--oif NAME]`: a copy of the packet to `ADDR` as the next hop
//! (nf_dup_ipv4). The copy is untracked and passes no table; it keeps its addresses, gets
//! DF set and, at PREROUTING and INPUT, one less TTL (loops between two hosts die out). The
//! original goes on with the next rule. No route to the gateway (or `--oif` naming no
//! port): no copy. The pipeline does the sending (`Pipeline::tee`).

use std::net::Ipv4Addr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeeTarget {
    pub gateway: Ipv4Addr,
    pub oif: Option<String>,
}

impl Default for TeeTarget {
    fn default() -> Self {
        TeeTarget {
            gateway: Ipv4Addr::UNSPECIFIED,
            oif: None,
        }
    }
}

impl crate::ruleset::ext::TargetExt for TeeTarget {
    const NAME: &'static str = "TEE";
    const REVISION: u8 = 1;
    const TERMINAL: bool = false;

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        cx.tee(self);
        crate::ruleset::ext::TargetOutcome::Continue
    }
}
