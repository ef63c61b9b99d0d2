//! The extension registry's contracts: what every match (`-m NAME`) and every target
//! (`-j NAME`) provides, the way the kernel's `struct xt_match` / `struct xt_target` and
//! libxtables' `struct xtables_match` cut an extension.
//!
//! An extension is one type with its typed options (`matches/NAME.rs`,
//! `targets/NAME.rs`) implementing:
//! - `MatchExt` / `TargetExt`: its name and revision, the tables and hooks where the
//!   kernel allows it, and the load-time check (the kernel's `checkentry`);
//! - the per-packet function: for a match, the one trait of the tier it reads
//!   (`PacketMatch`, `ConnMatch` or `WorkerMatch`: the compiler decides each rule the
//!   cheapest way its matches allow); for a target, `TargetExt::run`;
//! - in `control::iptables::ext`, `MatchText` / `TargetText`: its options, their parsing
//!   and printing in iptables' words.
//!
//! Each is registered once, in `for_each_match!` (matches/mod.rs) or `for_each_target!`
//! (targets/mod.rs); the `Match` and `Target` enums and every dispatch over them, in this
//! crate and in `control`, are generated from those two lists.

use super::{Families, RuleSpec, TableKind, Usable};
use crate::conntrack::{ConnEntry, CtAddr, CtInfo};
use crate::ipset::SetTable;
use crate::ruleset::matches::conntrack::ConntrackMatch;
use crate::ruleset::packet::PacketView;
use std::net::{Ipv4Addr, Ipv6Addr};

pub use crate::pipeline::eval::{MatchEnv, RuleState};
pub use crate::pipeline::{TargetCx, TargetOutcome};

/// Name, revision, where it is legal and its load-time check: what the kernel knows of a
/// match before any packet.
pub trait MatchExt {
    /// The name after `-m`.
    const NAME: &'static str;
    /// The revision of the kernel's match that nfdp reproduces (the highest IPv4 one
    /// iptables 1.8.9 registers; what it picks on a current kernel).
    const REVISION: u8;
    /// The families it is registered for: IPv4 only unless the module says otherwise
    /// (ip6tables refuses `-m NAME` of an IPv4-only match as an unknown one).
    const FAMILIES: Families = Families::V4;

    /// The name of this instance (one type may serve two names: conntrack and state).
    fn name(&self) -> &'static str {
        Self::NAME
    }
    /// Where the match may be used (the kernel's `.table` / `.hooks`).
    fn usable(&self) -> Usable {
        Usable::ANYWHERE
    }
    /// The tables it may be used in, where its kernel module checks more than one
    /// (`usable` holds the single-table ones).
    fn tables(&self) -> Option<&'static [TableKind]> {
        None
    }
    /// Checks that hold for the rule alone (the kernel's `checkentry` and iptables'
    /// final checks): protocol requirements and option consistency.
    fn validate(&self, _spec: &RuleSpec) -> Result<(), String> {
        Ok(())
    }
}

/// What a packet-tier match reads: the packet (bytes, interfaces, MACs, mark) and the
/// worker's snapshot of the IP sets.
pub struct PacketCx<'a, 'p> {
    pub view: &'a PacketView<'p>,
    pub sets: &'a SetTable,
    pub now_ns: u64,
}

/// A match decided by the packet alone (tcp, udp, multiport, mark, set, ...): a rule made
/// of these is decided without the connection, the clock or the rule's state.
pub trait PacketMatch: MatchExt {
    fn decide(&self, cx: &PacketCx<'_, '_>) -> bool;
}

/// The address family of the connection a rule reads (`Ipv4Addr` for iptables' rules,
/// `Ipv6Addr` for ip6tables'): what the connection-tier and worker-tier matches need to
/// know of addresses, as the kernel's xt_conntrack, xt_connlimit pass `xt_family(par)`
/// down. The matches are generic over it, so each family's path is monomorphic: IPv6
/// rules read the IPv6 entry itself and IPv4 pays for nothing.
pub trait ConnFamily: CtAddr {
    /// The packet's source (or, `dst`, destination) address.
    fn packet_addr(view: &PacketView<'_>, dst: bool) -> Self;
    /// The address with all but its first `len` bits cleared (connlimit's
    /// `--connlimit-mask`; `len` beyond the family's width keeps all of it).
    fn masked(self, len: u8) -> Self;
    /// `-m conntrack`'s address criteria (`--ctorigsrc` ... `--ctrepldst`) on an entry
    /// (conntrack_mt's `conntrack_addrcmp` for the family).
    fn conntrack_addrs_hold(m: &ConntrackMatch, e: &ConnEntry<Self>) -> bool;
}

impl ConnFamily for Ipv4Addr {
    #[inline]
    fn packet_addr(view: &PacketView<'_>, dst: bool) -> Ipv4Addr {
        if dst {
            view.dst
        } else {
            view.src
        }
    }
    #[inline]
    fn masked(self, len: u8) -> Ipv4Addr {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0);
        Ipv4Addr::from(u32::from(self) & mask)
    }
    #[inline]
    fn conntrack_addrs_hold(m: &ConntrackMatch, e: &ConnEntry) -> bool {
        crate::ruleset::matches::conntrack::addrs_hold_v4(m, e)
    }
}

impl ConnFamily for Ipv6Addr {
    #[inline]
    fn packet_addr(view: &PacketView<'_>, dst: bool) -> Ipv6Addr {
        if dst {
            view.dst6()
        } else {
            view.src6()
        }
    }
    #[inline]
    fn masked(self, len: u8) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self) & super::prefix_mask6(len))
    }
    #[inline]
    fn conntrack_addrs_hold(m: &ConntrackMatch, e: &ConnEntry<Ipv6Addr>) -> bool {
        crate::ruleset::matches::conntrack::addrs_hold_v6(m, e)
    }
}

/// What a connection-tier match reads: never the packet's bytes (the compiler may decide
/// a rule of these without parsing the packet). `A`: the family of the connection.
pub struct ConnCx<'a, A = Ipv4Addr> {
    /// The packet's conntrack verdict and its connection (new or confirmed).
    pub ct: &'a CtInfo<A>,
    pub entry: Option<&'a ConnEntry<A>>,
    /// Nanoseconds since the Unix epoch.
    pub now_ns: u64,
    /// The rule's own state (token bucket, nth counter).
    pub state: &'a mut RuleState,
    pub random: &'a mut dyn FnMut() -> u32,
}

/// A match decided by the packet's connection, the clock or the rule's own state
/// (conntrack, connmark, helper, limit, statistic, time).
pub trait ConnMatch: MatchExt {
    fn decide<A: ConnFamily>(&self, cx: &mut ConnCx<'_, A>) -> bool;
}

/// A match that needs the worker itself (its FIB, its conntrack table, its named
/// tables) besides the packet.
pub trait WorkerMatch: MatchExt {
    fn decide<A: ConnFamily>(
        &self,
        view: &PacketView<'_>,
        env: &mut MatchEnv<'_, A>,
        st: &mut RuleState,
    ) -> bool;
}

/// What a match reads, from the cheapest (`for_each_match!` groups the registry by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchTier {
    Packet,
    Conn,
    Worker,
}

impl MatchTier {
    pub fn name(self) -> &'static str {
        match self {
            MatchTier::Packet => "packet",
            MatchTier::Conn => "connection",
            MatchTier::Worker => "worker",
        }
    }
}

/// A target extension (`-j NAME`): what the kernel's `struct xt_target` holds.
pub trait TargetExt {
    /// The name after `-j`.
    const NAME: &'static str;
    /// The revision of the kernel's target that nfdp reproduces.
    const REVISION: u8;
    /// Ends the traversal of its chain (a verdict); a non-terminal target returns to
    /// the next rule.
    const TERMINAL: bool;
    /// The families it is registered for (IPv4 only unless the module says otherwise;
    /// ip6tables reads `-j NAME` of an IPv4-only target as a jump to a chain NAME).
    const FAMILIES: Families = Families::V4;

    /// Where the kernel allows the target (`.table` and `.hooks` of its xt_target).
    fn usable(&self) -> Usable {
        Usable::ANYWHERE
    }
    /// Checks that hold for the rule alone.
    fn validate(&self, _spec: &RuleSpec) -> Result<(), String> {
        Ok(())
    }
    /// The per-packet function.
    fn run(&self, cx: &mut TargetCx<'_>) -> TargetOutcome;
}

/// One line of the registry, as `nfdp extensions` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionInfo {
    pub name: &'static str,
    pub revision: u8,
    /// For a match, what it reads; `None` for a target.
    pub tier: Option<MatchTier>,
    /// For a target, whether it ends the chain.
    pub terminal: bool,
}
