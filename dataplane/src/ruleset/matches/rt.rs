//! `-m rt`: the IPv6 routing header (ip6t_rt), for ip6tables rulesets only: its type,
//! segments left, length, and for type 0 the reserved field and the addresses listed.
//!
//! Per packet: the pipeline's `PacketView` is an IPv4 view (IPv6 frames are dropped before
//! any rule), so `decide` is false until an IPv6 view with its extension headers joins
//! the pipeline.

use super::esp::SpiRange;
use crate::ruleset::Inv;
use std::net::Ipv6Addr;

/// IP6T_RT_HOPS: the most addresses `--rt-0-addrs` lists.
pub const MAX_ADDRS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtMatch {
    pub rt_type: Option<Inv<u32>>,
    /// `--rt-segsleft`: every value by default.
    pub segsleft: SpiRange,
    pub len: Option<Inv<u32>>,
    /// `--rt-0-res`: type 0's reserved field must be zero.
    pub res: bool,
    /// `--rt-0-addrs`: type 0's addresses, in order.
    pub addrs: Vec<Ipv6Addr>,
    /// `--rt-0-not-strict`: the addresses may appear anywhere in the header's list.
    pub not_strict: bool,
}

impl Default for RtMatch {
    fn default() -> RtMatch {
        RtMatch {
            rt_type: None,
            segsleft: SpiRange::ANY,
            len: None,
            res: false,
            addrs: Vec::new(),
            not_strict: false,
        }
    }
}

impl crate::ruleset::ext::MatchExt for RtMatch {
    const NAME: &'static str = "rt";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;
}

impl crate::ruleset::ext::PacketMatch for RtMatch {
    /// The view is IPv4 (module doc): it has no routing header.
    fn decide(&self, _cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        false
    }
}
