//! Why a packet did not make it. Every drop in the pipeline ends in one call,
//! `Pipeline::count_drop`, under one of these reasons; the metrics export them as
//! `nfdp_drops_total{reason}` and the Stats API as its drop table. Packets that are only
//! held (a fragment waiting for the rest of its datagram, a packet queued on ARP, a
//! datagram handed to the worker that owns it) are not drops.

use std::ops::{Index, IndexMut};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Neither IPv4, IPv6 nor ARP (the kernel has no handler for the ethertype).
    NotIpv4,
    /// Truncated or inconsistent headers (Ethernet, IPv4: `ip_rcv`'s checks).
    Malformed,
    /// IPv4 header checksum wrong (`ip_rcv`).
    BadChecksum,
    /// A DROP or REJECT verdict, a rule's or a chain policy's.
    Rules,
    /// TTL would reach zero (answered with time exceeded).
    TtlExpired,
    /// No route to the destination.
    NoRoute,
    /// The next hop did not answer ARP, or its queue overflowed.
    NoNeighbor,
    /// Conntrack could not enter the connection (table full, a clash at confirm).
    Conntrack,
    /// NAT could not bind the connection: no free port in the range, or MASQUERADE
    /// without an address on the egress port.
    Nat,
    /// Too big for the next link with DF set (answered with fragmentation needed).
    FragNeeded,
    /// A fragment reassembly refused (overlap, oversize, memory bound) or gave up on.
    Defrag,
    /// TCPMSS could not clamp (a SYN without room for the option it must add).
    Tcpmss,
    /// A unicast frame addressed to another host's MAC (`ip_rcv` drops PACKET_OTHERHOST).
    OtherHost,
    /// A frame sent to a link-layer broadcast or multicast address, for an IP destination
    /// elsewhere: not forwarded (`ip_forward` forwards PACKET_HOST frames only).
    LinkBroadcast,
    /// `-j SYNPROXY` refused a segment: a bad TCP checksum or header, or an ACK whose
    /// cookie is not valid (its `cookie_invalid` counter).
    Synproxy,
    /// IPv6 the appliance does not serve: to groups it is not in or link-local addresses
    /// not its own, on a port without IPv6, and what is for it but neither answered by
    /// the data plane (neighbour solicitations and advertisements, echo requests) nor
    /// delivered to the host stack behind the TAP (only unicast to a configured address
    /// is: not what is sent to a group or a port's link-local address, nor router
    /// solicitations, advertisements and redirects).
    Ipv6Unhandled,
    /// A neighbour discovery message that failed RFC 4861's validity checks.
    NdiscInvalid,
    /// A packet to forward whose source may not be forwarded: unspecified, multicast,
    /// loopback or link-local (`ip6_forward`'s "security critical" check; a link-local
    /// source is answered with destination unreachable, beyond scope).
    BadSource,
    /// A packet that would have started a connection, refused at conntrack while the
    /// worker was overloaded (a full receive burst that also carried packets of known
    /// connections) past the burst's `[dataplane] overload_new_per_burst`.
    Overload,
}

impl DropReason {
    pub const COUNT: usize = 19;

    /// Every reason, in the order the counters are kept and exported.
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::NotIpv4,
        DropReason::Malformed,
        DropReason::BadChecksum,
        DropReason::Rules,
        DropReason::TtlExpired,
        DropReason::NoRoute,
        DropReason::NoNeighbor,
        DropReason::Conntrack,
        DropReason::Nat,
        DropReason::FragNeeded,
        DropReason::Defrag,
        DropReason::Tcpmss,
        DropReason::OtherHost,
        DropReason::LinkBroadcast,
        DropReason::Synproxy,
        DropReason::Ipv6Unhandled,
        DropReason::NdiscInvalid,
        DropReason::BadSource,
        DropReason::Overload,
    ];

    /// The `reason` label of `nfdp_drops_total`.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::NotIpv4 => "not_ipv4",
            DropReason::Malformed => "malformed",
            DropReason::BadChecksum => "bad_checksum",
            DropReason::Rules => "rules",
            DropReason::TtlExpired => "ttl_expired",
            DropReason::NoRoute => "no_route",
            DropReason::NoNeighbor => "no_neighbor",
            DropReason::Conntrack => "conntrack",
            DropReason::Nat => "nat",
            DropReason::FragNeeded => "frag_needed",
            DropReason::Defrag => "defrag",
            DropReason::Tcpmss => "tcpmss",
            DropReason::OtherHost => "other_host",
            DropReason::LinkBroadcast => "link_broadcast",
            DropReason::Synproxy => "synproxy",
            DropReason::Ipv6Unhandled => "ipv6_unhandled",
            DropReason::NdiscInvalid => "ndisc_invalid",
            DropReason::BadSource => "bad_source",
            DropReason::Overload => "overload",
        }
    }

    /// The name of the outcome in `nfdp_worker_packets_total{outcome}` and the Stats
    /// API (older names kept for the two that had one).
    pub fn outcome(self) -> &'static str {
        match self {
            DropReason::Rules => "dropped_by_rules",
            DropReason::Conntrack => "conntrack_drops",
            r => r.name(),
        }
    }
}

/// Packets dropped, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropCounters([u64; DropReason::COUNT]);

impl DropCounters {
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Every reason with its count, in `DropReason::ALL`'s order.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self[r]))
    }
}

impl Index<DropReason> for DropCounters {
    type Output = u64;
    fn index(&self, r: DropReason) -> &u64 {
        &self.0[r as usize]
    }
}

impl IndexMut<DropReason> for DropCounters {
    fn index_mut(&mut self, r: DropReason) -> &mut u64 {
        &mut self.0[r as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_slot_and_name() {
        let mut c = DropCounters::default();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "ALL is in declaration order");
            c[*r] += i as u64 + 1;
        }
        let names: std::collections::HashSet<_> =
            DropReason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), DropReason::COUNT);
        assert_eq!(c.total(), (1..=DropReason::COUNT as u64).sum::<u64>());
        assert_eq!(c[DropReason::Nat], DropReason::Nat as u64 + 1);
    }
}
