//! `-m rpfilter [--loose] [--validmark] [--accept-local] [--invert]`: reverse path
//! filtering (xt_rpfilter, raw and mangle PREROUTING only): the route back to the
//! packet's source must leave by the port it arrived on (`--loose`: any route will do;
//! `--validmark`: the route for the packet's mark; `--accept-local`: a source that is one
//! of the appliance's own addresses counts, on the port that has it). The lookup itself is
//! the pipeline's (`eval::rpfilter_matches`), which has the FIB.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpfilterMatch {
    pub loose: bool,
    pub validmark: bool,
    pub accept_local: bool,
    pub invert: bool,
}
