//! `-j REJECT`: drop and answer with an ICMP error or a TCP RST (ipt_REJECT).

use crate::ruleset::matches::IPPROTO_TCP;
use crate::ruleset::RuleSpec;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RejectWith {
    NetUnreachable,
    HostUnreachable,
    #[default]
    PortUnreachable,
    ProtoUnreachable,
    NetProhibited,
    HostProhibited,
    AdminProhibited,
    TcpReset,
}

impl RejectWith {
    /// Canonical name (what iptables prints) and the aliases it accepts.
    pub const NAMES: [(RejectWith, &'static str, &'static str); 8] = [
        (
            RejectWith::NetUnreachable,
            "icmp-net-unreachable",
            "net-unreach",
        ),
        (
            RejectWith::HostUnreachable,
            "icmp-host-unreachable",
            "host-unreach",
        ),
        (
            RejectWith::PortUnreachable,
            "icmp-port-unreachable",
            "port-unreach",
        ),
        (
            RejectWith::ProtoUnreachable,
            "icmp-proto-unreachable",
            "proto-unreach",
        ),
        (
            RejectWith::NetProhibited,
            "icmp-net-prohibited",
            "net-prohib",
        ),
        (
            RejectWith::HostProhibited,
            "icmp-host-prohibited",
            "host-prohib",
        ),
        (
            RejectWith::AdminProhibited,
            "icmp-admin-prohibited",
            "admin-prohib",
        ),
        (RejectWith::TcpReset, "tcp-reset", "tcp-rst"),
    ];

    pub fn name(self) -> &'static str {
        RejectWith::NAMES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("icmp-port-unreachable")
    }

    /// ICMP destination-unreachable code, or None for a TCP reset.
    pub fn icmp_code(self) -> Option<u8> {
        match self {
            RejectWith::NetUnreachable => Some(0),
            RejectWith::HostUnreachable => Some(1),
            RejectWith::ProtoUnreachable => Some(2),
            RejectWith::PortUnreachable => Some(3),
            RejectWith::NetProhibited => Some(9),
            RejectWith::HostProhibited => Some(10),
            RejectWith::AdminProhibited => Some(13),
            RejectWith::TcpReset => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectTarget {
    pub with: RejectWith,
}

impl RejectTarget {
    pub fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        if self.with == RejectWith::TcpReset && spec.exact_proto() != Some(IPPROTO_TCP) {
            return Err("REJECT: --reject-with tcp-reset is only valid with -p tcp".into());
        }
        Ok(())
    }
}
