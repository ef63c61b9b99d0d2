//! `-j SNAT`, `-j DNAT`, `-j MASQUERADE`, `-j REDIRECT`: the NAT range a new connection
//! is mapped into (nf_nat_range2).

use crate::ruleset::matches::{
    IPPROTO_DCCP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
};
use crate::ruleset::{PortRange, RuleSpec};
use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatRange {
    /// Inclusive address range; `None` keeps the address (`DNAT --to-destination :8080`,
    /// and always for MASQUERADE / REDIRECT, whose address comes from the interface).
    pub addrs: Option<(Ipv4Addr, Ipv4Addr)>,
    pub ports: Option<PortRange>,
    /// A shifted port map (`DNAT --to-destination a:1000-2000/1000`,
    /// NF_NAT_RANGE_PROTO_OFFSET): the port `p` maps to `lo + (p - base) % (hi - lo + 1)`.
    pub port_base: Option<u16>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatTarget {
    pub range: Option<NatRange>,
    pub random: bool,
    pub random_fully: bool,
    pub persistent: bool,
}

impl NatTarget {
    pub fn validate(&self, name: &str, spec: &RuleSpec) -> Result<(), String> {
        let has_ports = self.range.is_some_and(|r| r.ports.is_some());
        let port_proto = matches!(
            spec.exact_proto(),
            Some(IPPROTO_TCP | IPPROTO_UDP | IPPROTO_UDPLITE | IPPROTO_SCTP | IPPROTO_DCCP)
        );
        if has_ports && !port_proto {
            return Err(format!(
                "{name}: Need TCP, UDP, SCTP or DCCP with port specification"
            ));
        }
        if let Some(NatRange {
            addrs: Some((lo, hi)),
            ..
        }) = self.range
        {
            if lo > hi {
                return Err(format!("{name}: bad address range {lo}-{hi}"));
            }
        }
        if let Some(NatRange { ports: Some(p), .. }) = self.range {
            if p.lo > p.hi {
                return Err(format!("{name}: bad port range {}-{}", p.lo, p.hi));
            }
        }
        Ok(())
    }
}
