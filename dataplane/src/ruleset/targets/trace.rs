//! `-j TRACE`: the packet's later rule matches and policies leave TRACE lines (its
//! nf_trace bit; iptables-nft allows it in every table).

use crate::ruleset::ext::{TargetCx, TargetExt, TargetOutcome};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceTarget;

impl TargetExt for TraceTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "TRACE";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn run(&self, cx: &mut TargetCx<'_>) -> TargetOutcome {
        cx.set_nf_trace();
        TargetOutcome::Continue
    }
}
