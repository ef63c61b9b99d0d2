//! Filtered tracing (the API's Trace watch): TRACE lines only for the packets a filter
//! selects, switched on and off at run time without touching the ruleset (what
//! `iptables -t raw -j TRACE` with `xtables-monitor --trace` gives on Linux). The filter
//! is checked once per packet as it enters the hooks, and only while a watch is open.

use crate::conntrack::Tuple;
use crate::port::PortId;
use crate::route::Prefix;

/// Which packets a watch traces. A packet matches in either direction: `src`/`sport`
/// against its source and `dst`/`dport` against its destination, or the other way round
/// (so a flow's replies are traced with it). The input interface must match as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceFilter {
    pub proto: Option<u8>,
    pub src: Option<Prefix>,
    pub dst: Option<Prefix>,
    /// Only packets with ports (TCP, UDP, UDP-Lite, SCTP) match a port.
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// The input port (`None`: any, locally generated packets included).
    pub in_port: Option<PortId>,
}

impl TraceFilter {
    /// Whether the IPv4 packet `ip`, received on `in_port`, is selected.
    pub fn matches(&self, ip: &[u8], in_port: Option<PortId>) -> bool {
        if self.in_port.is_some() && self.in_port != in_port {
            return false;
        }
        let Some(t) = Tuple::from_ip(ip) else {
            return false;
        };
        if self.proto.is_some_and(|p| p != t.proto) {
            return false;
        }
        let ports = matches!(t.proto, 6 | 17 | 132 | 136);
        if !ports && (self.sport.is_some() || self.dport.is_some()) {
            return false;
        }
        let one_way = |src, dst, sport, dport| {
            self.src.is_none_or(|p| p.contains(src))
                && self.dst.is_none_or(|p| p.contains(dst))
                && self.sport.is_none_or(|p| p == sport)
                && self.dport.is_none_or(|p| p == dport)
        };
        one_way(t.src, t.dst, t.sport, t.dport) || one_way(t.dst, t.src, t.dport, t.sport)
    }
}

/// One open watch on this pipeline.
#[derive(Clone, Debug)]
pub struct TraceWatch {
    pub id: u64,
    pub filter: TraceFilter,
    /// Packets to trace at most (0: no limit).
    pub limit: u64,
    /// Packets traced so far; a line carries the number of its packet (from 1).
    pub packets: u64,
    /// Lines not yet taken: (packet number, line).
    pub lines: Vec<(u64, String)>,
    /// Whether the packet going through now is traced for this watch.
    pub(super) hit: bool,
}

impl TraceWatch {
    pub fn new(id: u64, filter: TraceFilter, limit: u64) -> TraceWatch {
        TraceWatch {
            id,
            filter,
            limit,
            packets: 0,
            lines: Vec::new(),
            hit: false,
        }
    }

    /// Whether the watch traced all it was asked to.
    pub fn done(&self) -> bool {
        self.limit != 0 && self.packets >= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[9] = 17;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        p[20..22].copy_from_slice(&sport.to_be_bytes());
        p[22..24].copy_from_slice(&dport.to_be_bytes());
        p
    }

    #[test]
    fn a_filter_selects_a_flow_in_both_directions() {
        let f = TraceFilter {
            proto: Some(17),
            src: Some("10.0.0.0/24".parse().unwrap()),
            dport: Some(53),
            ..Default::default()
        };
        let lan = Some(PortId(0));
        assert!(f.matches(&udp([10, 0, 0, 2], [1, 1, 1, 1], 5000, 53), lan));
        assert!(f.matches(&udp([1, 1, 1, 1], [10, 0, 0, 2], 53, 5000), None));
        assert!(!f.matches(&udp([10, 0, 1, 2], [1, 1, 1, 1], 5000, 53), lan));
        assert!(!f.matches(&udp([10, 0, 0, 2], [1, 1, 1, 1], 5000, 54), lan));
        let mut tcp = udp([10, 0, 0, 2], [1, 1, 1, 1], 5000, 53);
        tcp[9] = 6;
        assert!(!f.matches(&tcp, lan));
        let on_lan = TraceFilter {
            in_port: lan,
            ..Default::default()
        };
        assert!(on_lan.matches(&tcp, lan));
        assert!(!on_lan.matches(&tcp, Some(PortId(1))));
        assert!(!on_lan.matches(&tcp, None));
        assert!(!on_lan.matches(&[0x45, 0], lan), "no tuple, no match");
    }
}
