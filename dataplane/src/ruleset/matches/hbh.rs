//! `-m hbh` and `-m dst`: the IPv6 hop-by-hop and destination options headers (ip6t_hbh
//! registers both), for ip6tables rulesets only: the header length and a list of
//! options (type, and length unless 0xff).
//!
//! Per packet: the pipeline's `PacketView` is an IPv4 view (IPv6 frames are dropped before
//! any rule), so `decide` is false until an IPv6 view with its extension headers joins
//! the pipeline.

use crate::ruleset::Inv;

/// IP6T_OPTS_OPTSNR: the most options one rule lists.
pub const MAX_OPTS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptsMatch {
    /// `-m dst` rather than `-m hbh`.
    pub dst: bool,
    /// `--hbh-len` / `--dst-len`: the header's length field.
    pub len: Option<Inv<u32>>,
    /// `--hbh-opts` / `--dst-opts`: `type << 8 | length` each, length 0xff for "any".
    pub opts: Vec<u16>,
}

impl crate::ruleset::ext::MatchExt for OptsMatch {
    const NAME: &'static str = "hbh";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;

    fn name(&self) -> &'static str {
        if self.dst {
            "dst"
        } else {
            "hbh"
        }
    }
}

impl crate::ruleset::ext::PacketMatch for OptsMatch {
    /// The view is IPv4 (module doc): it has no options headers.
    fn decide(&self, _cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        false
    }
}
