//! `-m iprange`: inclusive address ranges (xt_iprange).

use crate::ruleset::Inv;
use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrRange {
    pub lo: Ipv4Addr,
    pub hi: Ipv4Addr,
}

impl AddrRange {
    #[inline]
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.lo <= ip && ip <= self.hi
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IprangeMatch {
    pub src: Option<Inv<AddrRange>>,
    pub dst: Option<Inv<AddrRange>>,
}
