//! Targets (`-j NAME ...`), one module per target as netfilter cuts its xt_ targets.
//! Each module holds the typed options and `validate` (the kernel's `checkentry`);
//! `usable` says in which table and hooks the kernel allows it.

pub mod checksum;
pub mod connmark;
pub mod ct;
pub mod ecn;
pub mod hmark;
pub mod log;
pub mod mark;
pub mod nat;
pub mod netmap;
pub mod nflog;
pub mod reject;
pub mod set;
pub mod synproxy;
pub mod tcpmss;
pub mod tcpoptstrip;
pub mod tee;
pub mod tos;
pub mod ttl;

use super::matches::IPPROTO_TCP;
use super::{Hook, RuleSpec, TableKind, Usable};

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Target {
    /// A rule without `-j`: it only counts.
    #[default]
    None,
    Accept,
    Drop,
    Return,
    /// `-j CHAIN`: call a user chain.
    Jump(String),
    /// `-g CHAIN`: continue in a user chain without coming back.
    Goto(String),
    Reject(reject::RejectTarget),
    Log(log::LogTarget),
    /// `-j NFLOG`: the packet (or its first `--nflog-size` bytes) to the group's capture.
    Nflog(nflog::NflogTarget),
    Mark(mark::MarkTarget),
    Connmark(connmark::ConnmarkTarget),
    Ttl(ttl::TtlTarget),
    Tos(tos::TosTarget),
    Dscp(tos::DscpTarget),
    Tcpmss(tcpmss::TcpmssTarget),
    Snat(nat::NatTarget),
    Dnat(nat::NatTarget),
    Masquerade(nat::NatTarget),
    Redirect(nat::NatTarget),
    Netmap(netmap::NetmapTarget),
    Notrack,
    Ct(ct::CtTarget),
    /// `-j CHECKSUM --checksum-fill`: nothing to fill in nfdp (see the module).
    Checksum(checksum::ChecksumTarget),
    /// `-j ECN --ecn-tcp-remove`.
    Ecn(ecn::EcnTarget),
    /// `-j TCPOPTSTRIP`: TCP options of the listed kinds overwritten with NOPs.
    Tcpoptstrip(tcpoptstrip::TcpoptstripTarget),
    /// `-j HMARK`: the packet mark from a hash of the flow's addresses and ports.
    Hmark(hmark::HmarkTarget),
    /// `-j TEE`: a copy of the packet to a gateway; the original goes on.
    Tee(tee::TeeTarget),
    /// `-j SET`: the packet's element added to or deleted from a set.
    Set(set::SetTarget),
    /// `-j SYNPROXY`: a client's handshake answered with a SYN cookie before the server
    /// sees it.
    Synproxy(synproxy::SynproxyTarget),
    /// `-j TRACE`: the packet's later rule matches and policies leave TRACE lines (its
    /// nf_trace bit; iptables-nft allows it in every table).
    Trace,
}

impl Target {
    /// The name after `-j` (for jumps, the chain).
    pub fn name(&self) -> &str {
        match self {
            Target::None => "",
            Target::Accept => "ACCEPT",
            Target::Drop => "DROP",
            Target::Return => "RETURN",
            Target::Jump(c) | Target::Goto(c) => c,
            Target::Reject(_) => "REJECT",
            Target::Log(_) => "LOG",
            Target::Nflog(_) => "NFLOG",
            Target::Mark(_) => "MARK",
            Target::Connmark(_) => "CONNMARK",
            Target::Ttl(_) => "TTL",
            Target::Tos(_) => "TOS",
            Target::Dscp(_) => "DSCP",
            Target::Tcpmss(_) => "TCPMSS",
            Target::Snat(_) => "SNAT",
            Target::Dnat(_) => "DNAT",
            Target::Masquerade(_) => "MASQUERADE",
            Target::Redirect(_) => "REDIRECT",
            Target::Netmap(_) => "NETMAP",
            Target::Notrack => "NOTRACK",
            Target::Ct(_) => "CT",
            Target::Checksum(_) => "CHECKSUM",
            Target::Ecn(_) => "ECN",
            Target::Tcpoptstrip(_) => "TCPOPTSTRIP",
            Target::Hmark(_) => "HMARK",
            Target::Tee(_) => "TEE",
            Target::Set(_) => "SET",
            Target::Synproxy(_) => "SYNPROXY",
            Target::Trace => "TRACE",
        }
    }

    /// The user chain this target jumps or goes to.
    pub fn chain_ref(&self) -> Option<&str> {
        match self {
            Target::Jump(c) | Target::Goto(c) => Some(c),
            _ => None,
        }
    }

    /// Where the kernel allows the target (`.table` and `.hooks` of its xt_target).
    pub fn usable(&self) -> Usable {
        use Hook::*;
        match self {
            Target::Reject(_) => Usable::in_table(TableKind::Filter, &[Input, Forward, Output]),
            Target::Ttl(_)
            | Target::Tos(_)
            | Target::Dscp(_)
            | Target::Ecn(_)
            | Target::Tcpoptstrip(_)
            | Target::Checksum(_) => Usable::table(TableKind::Mangle),
            Target::Tcpmss(t) => t.usable(),
            Target::Snat(_) => Usable::in_table(TableKind::Nat, &[Postrouting, Input]),
            Target::Masquerade(_) => Usable::in_table(TableKind::Nat, &[Postrouting]),
            Target::Dnat(_) | Target::Redirect(_) => {
                Usable::in_table(TableKind::Nat, &[Prerouting, Output])
            }
            // All four nat hooks: the destination before routing, the source after.
            Target::Netmap(_) => Usable::table(TableKind::Nat),
            Target::Notrack | Target::Ct(_) => Usable::table(TableKind::Raw),
            Target::Synproxy(t) => t.usable(),
            _ => Usable::ANYWHERE,
        }
    }

    /// Checks that hold for the rule alone.
    pub fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        match self {
            Target::Reject(r) => r.validate(spec),
            Target::Tcpmss(_) if spec.exact_proto() != Some(IPPROTO_TCP) => {
                Err("TCPMSS target: only valid for protocol 6".into())
            }
            Target::Ecn(_) if spec.exact_proto() != Some(IPPROTO_TCP) => {
                Err("ECN target: cannot use operation on non-tcp rule".into())
            }
            Target::Tcpoptstrip(_) if spec.exact_proto() != Some(IPPROTO_TCP) => {
                Err("TCPOPTSTRIP target: only valid for protocol 6".into())
            }
            Target::Synproxy(t) => t.validate(spec),
            Target::Snat(n) | Target::Dnat(n) | Target::Masquerade(n) | Target::Redirect(n) => {
                n.validate(self.name(), spec)
            }
            Target::Ttl(t) => t.validate(),
            Target::Hmark(h) => h.validate(),
            _ => Ok(()),
        }
    }

    /// Ends the traversal of the chain (and, for a verdict, of the table).
    pub fn is_terminal(&self) -> bool {
        !matches!(
            self,
            Target::None
                | Target::Jump(_)
                | Target::Log(_)
                | Target::Nflog(_)
                | Target::Mark(_)
                | Target::Connmark(_)
                | Target::Ttl(_)
                | Target::Tos(_)
                | Target::Dscp(_)
                | Target::Tcpmss(_)
                | Target::Tee(_)
                | Target::Set(_)
                | Target::Ecn(_)
                | Target::Tcpoptstrip(_)
                | Target::Synproxy(_)
                | Target::Hmark(_)
                | Target::Checksum(_)
                | Target::Trace
        )
    }
}
