//! `-j SNAT`, `-j DNAT`, `-j MASQUERADE`, `-j REDIRECT`: the NAT range a new connection
//! is mapped into (nf_nat_range2).

use crate::ruleset::matches::{
    IPPROTO_DCCP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
};
use crate::ruleset::{PortRange, RuleSpec};
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatRange {
    /// Inclusive address range; `None` keeps the address (`DNAT --to-destination :8080`,
    /// and always for MASQUERADE / REDIRECT, whose address comes from the interface).
    pub addrs: Option<(Ipv4Addr, Ipv4Addr)>,
    /// An ip6tables rule's range.
    pub addrs6: Option<(Ipv6Addr, Ipv6Addr)>,
    pub ports: Option<PortRange>,
    /// A shifted port map (`DNAT --to-destination a:1000-2000/1000`,
    /// NF_NAT_RANGE_PROTO_OFFSET): the port `p` maps to `lo + (p - base) % (hi - lo + 1)`.
    pub port_base: Option<u16>,
}

/// Ports in a NAT range without a protocol that has them.
pub const NEED_PORT_PROTO: &str = "Need TCP, UDP, SCTP or DCCP with port specification";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatTarget {
    pub range: Option<NatRange>,
    pub random: bool,
    pub random_fully: bool,
    pub persistent: bool,
    /// In an ip6tables rule: addresses are read and printed as IPv6 ones.
    pub v6: bool,
}

impl NatTarget {
    pub fn validate(&self, name: &str, spec: &RuleSpec) -> Result<(), String> {
        let has_ports = self.range.is_some_and(|r| r.ports.is_some());
        let port_proto = matches!(
            spec.exact_proto(),
            Some(IPPROTO_TCP | IPPROTO_UDP | IPPROTO_UDPLITE | IPPROTO_SCTP | IPPROTO_DCCP)
        );
        if has_ports && !port_proto {
            // ip6tables' libxt_NAT refuses it while parsing (no target name before it).
            return Err(if self.v6 {
                NEED_PORT_PROTO.to_string()
            } else {
                format!("{name}: {NEED_PORT_PROTO}")
            });
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

/// Declares the four NAT targets: each a `NatTarget` under its own name, with its own
/// hooks and its own way to pick the address (libxt_NAT registers them the same way).
macro_rules! nat_targets {
    ($($(#[$doc:meta])* $ty:ident = $name:literal, rev $rev:literal, $manip:ident, [$($hook:ident),*], $families:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
            pub struct $ty(pub NatTarget);

            impl std::ops::Deref for $ty {
                type Target = NatTarget;
                fn deref(&self) -> &NatTarget {
                    &self.0
                }
            }

            impl std::ops::DerefMut for $ty {
                fn deref_mut(&mut self) -> &mut NatTarget {
                    &mut self.0
                }
            }

            impl crate::ruleset::ext::TargetExt for $ty {
                const NAME: &'static str = $name;
                const REVISION: u8 = $rev;
                const TERMINAL: bool = true;
                const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::$families;

                fn usable(&self) -> crate::ruleset::Usable {
                    use crate::ruleset::Hook::*;
                    crate::ruleset::Usable::in_table(crate::ruleset::TableKind::Nat, &[$($hook),*])
                }

                fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
                    self.0.validate($name, spec)
                }

                fn run(
                    &self,
                    cx: &mut crate::ruleset::ext::TargetCx<'_>,
                ) -> crate::ruleset::ext::TargetOutcome {
                    let manip = crate::conntrack::nat::Manip::$manip;
                    if cx.is_ipv6() {
                        return match self.address6(cx) {
                            Ok(a) => cx.bind_nat6(&self.0.request(manip, a)),
                            Err(()) => cx.drop_for(crate::pipeline::DropReason::Nat),
                        };
                    }
                    match self.address(cx) {
                        Ok(a) => cx.bind_nat(&self.0.request(manip, a)),
                        Err(()) => cx.drop_for(crate::pipeline::DropReason::Nat),
                    }
                }
            }
        )*
    };
}

nat_targets! {
    /// `-j SNAT --to-source`.
    SnatTarget = "SNAT", rev 0, Src, [Postrouting, Input], BOTH;
    /// `-j DNAT --to-destination`.
    DnatTarget = "DNAT", rev 2, Dst, [Prerouting, Output], BOTH;
    /// `-j MASQUERADE`: SNAT to the egress port's address, chosen per connection.
    /// (ip6tables: its options are ports only, read and printed as iptables does.)
    MasqueradeTarget = "MASQUERADE", rev 0, Src, [Postrouting], BOTH;
    /// `-j REDIRECT`: DNAT to the ingress port's address (127.0.0.1 for OUTPUT).
    RedirectTarget = "REDIRECT", rev 0, Dst, [Prerouting, Output], BOTH;
}

type NatAddrs<A = Ipv4Addr> = Result<Option<(A, A)>, ()>;

impl NatTarget {
    /// The request to conntrack for this range.
    fn request<A>(
        &self,
        manip: crate::conntrack::nat::Manip,
        addrs: Option<(A, A)>,
    ) -> crate::conntrack::nat::NatRequest<A> {
        crate::conntrack::nat::NatRequest {
            manip,
            addrs,
            ports: self.range.and_then(|r| r.ports),
            port_base: self.range.and_then(|r| r.port_base),
            random: self.random || self.random_fully,
            persistent: self.persistent,
        }
    }
}

impl SnatTarget {
    fn address(&self, _cx: &crate::ruleset::ext::TargetCx<'_>) -> NatAddrs {
        Ok(self.range.and_then(|r| r.addrs))
    }
    fn address6(&self, _cx: &crate::ruleset::ext::TargetCx<'_>) -> NatAddrs<Ipv6Addr> {
        Ok(self.range.and_then(|r| r.addrs6))
    }
}

impl DnatTarget {
    fn address(&self, _cx: &crate::ruleset::ext::TargetCx<'_>) -> NatAddrs {
        Ok(self.range.and_then(|r| r.addrs))
    }
    fn address6(&self, _cx: &crate::ruleset::ext::TargetCx<'_>) -> NatAddrs<Ipv6Addr> {
        Ok(self.range.and_then(|r| r.addrs6))
    }
}

impl MasqueradeTarget {
    /// The egress port's address on the next hop's subnet; none: the packet is dropped.
    fn address(&self, cx: &crate::ruleset::ext::TargetCx<'_>) -> NatAddrs {
        cx.masquerade_source().map(|a| Some((a, a))).ok_or(())
    }
    /// The egress port's source for the destination (nf_nat_masquerade_ipv6).
    fn address6(&self, cx: &crate::ruleset::ext::TargetCx<'_>) -> NatAddrs<Ipv6Addr> {
        cx.masquerade_source6().map(|a| Some((a, a))).ok_or(())
    }
}

impl RedirectTarget {
    fn address(&self, cx: &crate::ruleset::ext::TargetCx<'_>) -> NatAddrs {
        cx.redirect_address().map(|a| Some((a, a))).ok_or(())
    }
    /// nf_nat_redirect_ipv6's address (`TargetCx::redirect_address6`).
    fn address6(&self, cx: &crate::ruleset::ext::TargetCx<'_>) -> NatAddrs<Ipv6Addr> {
        cx.redirect_address6().map(|a| Some((a, a))).ok_or(())
    }
}
