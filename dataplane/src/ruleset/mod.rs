//! The ruleset model: tables, chains (built-in with policies, user chains), rules made of
//! base criteria + extension matches + one target, and the counters of each.
//!
//! This is the iptables model as the control plane edits it. It is cut the way netfilter
//! is: each extension match lives in `matches/<name>.rs` and each target in
//! `targets/<name>.rs`, with its typed options and its `validate`; the text form
//! (parse/print) lives in `control::iptables`, like libxt_* beside the kernel's xt_*.
//! The packet path does not run this model directly: it is compiled first.

pub mod ext;
pub mod matches;
mod ops;
pub mod packet;
pub mod targets;
mod types;
mod validate;

pub use matches::Match;
pub use ops::RulesetError;
pub use targets::Target;
pub use types::{
    prefix_mask, prefix_mask6, Families, Family, Iface, Inv, Ipv4Net, Ipv6Net, PortRange,
    IFNAME_MAX,
};
pub use validate::{ValidationError, ValidationErrorKind};

use std::fmt;

/// The five iptables tables, in the order they are evaluated at a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableKind {
    Raw,
    Mangle,
    Nat,
    Filter,
    Security,
}

impl TableKind {
    pub const ALL: [TableKind; 5] = [
        TableKind::Raw,
        TableKind::Mangle,
        TableKind::Nat,
        TableKind::Filter,
        TableKind::Security,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableKind::Raw => "raw",
            TableKind::Mangle => "mangle",
            TableKind::Nat => "nat",
            TableKind::Filter => "filter",
            TableKind::Security => "security",
        }
    }

    pub fn from_name(name: &str) -> Option<TableKind> {
        TableKind::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Built-in chains of the table, in the order iptables lists them.
    pub fn builtin_hooks(self) -> &'static [Hook] {
        use Hook::*;
        match self {
            TableKind::Raw => &[Prerouting, Output],
            TableKind::Mangle => &[Prerouting, Input, Forward, Output, Postrouting],
            TableKind::Nat => &[Prerouting, Input, Output, Postrouting],
            TableKind::Filter | TableKind::Security => &[Input, Forward, Output],
        }
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The five netfilter hooks; a built-in chain is named after its hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];

    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    pub fn from_chain_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.chain_name() == name)
    }

    pub fn mask(self) -> HookMask {
        HookMask(1 << self as u8)
    }
}

/// A set of hooks: where an extension may be used, or which hooks reach a chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HookMask(pub u8);

impl HookMask {
    pub const NONE: HookMask = HookMask(0);
    pub const ALL: HookMask = HookMask(0x1f);

    pub fn of(hooks: &[Hook]) -> HookMask {
        HookMask(hooks.iter().fold(0, |m, h| m | h.mask().0))
    }
    pub fn contains(self, hook: Hook) -> bool {
        self.0 & hook.mask().0 != 0
    }
    pub fn union(self, other: HookMask) -> HookMask {
        HookMask(self.0 | other.0)
    }
    pub fn is_subset_of(self, other: HookMask) -> bool {
        self.0 & !other.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Hook> {
        Hook::ALL.into_iter().filter(move |h| self.contains(*h))
    }
}

/// Where an extension may be used, as the kernel's `xt_match`/`xt_target` `.table` and
/// `.hooks` say. Checked for every hook that can reach the rule's chain.
#[derive(Clone, Copy, Debug)]
pub struct Usable {
    pub table: Option<TableKind>,
    pub hooks: HookMask,
}

impl Usable {
    pub const ANYWHERE: Usable = Usable {
        table: None,
        hooks: HookMask::ALL,
    };
    pub const fn table(table: TableKind) -> Usable {
        Usable {
            table: Some(table),
            hooks: HookMask::ALL,
        }
    }
    pub fn hooks(hooks: &[Hook]) -> Usable {
        Usable {
            table: None,
            hooks: HookMask::of(hooks),
        }
    }
    pub fn in_table(table: TableKind, hooks: &[Hook]) -> Usable {
        Usable {
            table: Some(table),
            hooks: HookMask::of(hooks),
        }
    }
}

/// The verdict a built-in chain applies when its end (or a RETURN) is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
    pub fn from_name(name: &str) -> Option<Policy> {
        match name {
            "ACCEPT" => Some(Policy::Accept),
            "DROP" => Some(Policy::Drop),
            _ => None,
        }
    }
}

/// Packet and byte counters of a rule or a chain policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// What a rule matches on before any extension: the fixed `ipt_ip` part of an iptables rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleSpec {
    pub src: Option<Inv<Ipv4Net>>,
    pub dst: Option<Inv<Ipv4Net>>,
    /// An ip6tables rule's `-s` / `-d` (its `src` / `dst` stay `None`): a field of its own
    /// so that the IPv4 pipeline reads the IPv4 ones unchanged, boxed so that an IPv4
    /// rule (which the packet path reads per packet) grows by one pointer only.
    pub addrs6: Option<Box<Addrs6>>,
    pub in_iface: Option<Inv<Iface>>,
    pub out_iface: Option<Inv<Iface>>,
    /// IP protocol number; `None` is `all` (`-p 0` means the same).
    pub proto: Option<Inv<u8>>,
    /// `-f` is `Some(true)`, `! -f` is `Some(false)`.
    pub fragment: Option<bool>,
    /// Extension matches in the order they were given; all must hold.
    pub matches: Vec<Match>,
    pub target: Target,
}

/// The IPv6 addresses of an ip6tables rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Addrs6 {
    pub src: Option<Inv<Ipv6Net>>,
    pub dst: Option<Inv<Ipv6Net>>,
}

impl RuleSpec {
    /// An ip6tables rule's `-s`.
    pub fn src6(&self) -> Option<&Inv<Ipv6Net>> {
        self.addrs6.as_ref().and_then(|a| a.src.as_ref())
    }

    /// An ip6tables rule's `-d`.
    pub fn dst6(&self) -> Option<&Inv<Ipv6Net>> {
        self.addrs6.as_ref().and_then(|a| a.dst.as_ref())
    }

    /// Sets the IPv6 addresses (no box when there are none).
    pub fn set_addrs6(&mut self, src: Option<Inv<Ipv6Net>>, dst: Option<Inv<Ipv6Net>>) {
        self.addrs6 = (src.is_some() || dst.is_some()).then(|| Box::new(Addrs6 { src, dst }));
    }

    /// The protocol when the rule requires exactly one (`-p tcp`, not `! -p tcp`).
    pub fn exact_proto(&self) -> Option<u8> {
        match self.proto {
            Some(Inv { inv: false, val }) => Some(val),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub spec: RuleSpec,
    pub counters: Counters,
}

impl Rule {
    pub fn new(spec: RuleSpec) -> Rule {
        Rule {
            spec,
            counters: Counters::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub name: String,
    /// `Some` exactly for built-in chains.
    pub policy: Option<Policy>,
    /// Policy counters (built-in chains).
    pub counters: Counters,
    pub rules: Vec<Rule>,
}

impl Chain {
    pub fn builtin(hook: Hook) -> Chain {
        Chain {
            name: hook.chain_name().to_string(),
            policy: Some(Policy::Accept),
            counters: Counters::default(),
            rules: Vec::new(),
        }
    }
    pub fn user(name: &str) -> Chain {
        Chain {
            name: name.to_string(),
            policy: None,
            counters: Counters::default(),
            rules: Vec::new(),
        }
    }
    pub fn is_builtin(&self) -> bool {
        self.policy.is_some()
    }
    pub fn hook(&self) -> Option<Hook> {
        if self.is_builtin() {
            Hook::from_chain_name(&self.name)
        } else {
            None
        }
    }
}

/// One table: its built-in chains first (in hook order), then user chains sorted by name,
/// the order `iptables-save` prints them in.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub kind: TableKind,
    pub chains: Vec<Chain>,
}

impl Table {
    pub fn new(kind: TableKind) -> Table {
        Table {
            kind,
            chains: kind
                .builtin_hooks()
                .iter()
                .map(|h| Chain::builtin(*h))
                .collect(),
        }
    }

    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }

    pub fn chain_index(&self, name: &str) -> Option<usize> {
        self.chains.iter().position(|c| c.name == name)
    }

    /// How many rules jump or go to `name` (the "references" of `iptables -L`).
    pub fn references(&self, name: &str) -> usize {
        self.chains
            .iter()
            .flat_map(|c| c.rules.iter())
            .filter(|r| r.spec.target.chain_ref() == Some(name))
            .count()
    }
}

/// All tables of the appliance. Raw, mangle, nat and filter always exist; security exists
/// once something touches it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ruleset {
    /// iptables' rules or ip6tables' (the language they are read and checked in).
    pub family: Family,
    pub tables: Vec<Table>,
    /// The IP sets rules may reference (`-m set`); kept beside the tables so that a rule
    /// is checked against the sets, and a set against the rules, under one lock.
    pub sets: std::sync::Arc<crate::ipset::SetTable>,
    /// The ARP family's filter table (arptables), loaded and saved on its own.
    pub arp: std::sync::Arc<crate::arptables::ArpTable>,
    /// ip6tables' tables (a ruleset of `Family::V6`, its own `sets`, `arp` and `ip6`
    /// unused), loaded and saved on their own and run on IPv6 packets; `None` is the
    /// empty one (every built-in chain ACCEPT).
    pub ip6: Option<std::sync::Arc<Ruleset>>,
}

impl Default for Ruleset {
    fn default() -> Self {
        Ruleset {
            family: Family::V4,
            tables: [
                TableKind::Raw,
                TableKind::Mangle,
                TableKind::Nat,
                TableKind::Filter,
            ]
            .into_iter()
            .map(Table::new)
            .collect(),
            sets: Default::default(),
            arp: Default::default(),
            ip6: None,
        }
    }
}

impl Ruleset {
    /// An empty ruleset of `family`.
    pub fn new(family: Family) -> Ruleset {
        Ruleset {
            family,
            ..Ruleset::default()
        }
    }

    pub fn table(&self, kind: TableKind) -> Option<&Table> {
        self.tables.iter().find(|t| t.kind == kind)
    }

    /// The table, created (with its built-in chains) if it does not exist yet.
    pub fn table_mut(&mut self, kind: TableKind) -> &mut Table {
        let idx = match self.tables.iter().position(|t| t.kind == kind) {
            Some(i) => i,
            None => {
                self.tables.push(Table::new(kind));
                self.tables.sort_by_key(|t| t.kind);
                self.tables.iter().position(|t| t.kind == kind).unwrap_or(0)
            }
        };
        &mut self.tables[idx]
    }

    /// The indices of the sets rules reference (`-m set`, `-j SET`), once per reference:
    /// these tables' rules and ip6tables' (both name sets of the one table, `sets`).
    pub fn set_references(&self) -> impl Iterator<Item = u32> + '_ {
        self.own_set_references()
            .chain(self.ip6.iter().flat_map(|r| r.own_set_references()))
    }

    /// `set_references` of these tables alone.
    fn own_set_references(&self) -> impl Iterator<Item = u32> + '_ {
        let rules = self
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules);
        let matched = rules
            .clone()
            .flat_map(|r| &r.spec.matches)
            .filter_map(|m| match m {
                Match::Set(s) => Some(s.index),
                _ => None,
            });
        let written = rules
            .filter_map(|r| match &r.spec.target {
                Target::Set(t) => Some(t),
                _ => None,
            })
            .flat_map(|t| t.set_refs().map(|s| s.index));
        matched.chain(written)
    }

    /// Runs `f` on `family`'s tables: these (V4), or ip6tables' (created empty when
    /// there are none) with this ruleset's `sets` lent to them for the call, so that
    /// ip6tables rules name the same sets as iptables rules (the kernel has one set table
    /// per netns). The ip6tables ruleset's own `sets` stay empty.
    pub fn with_family<T>(&mut self, family: Family, f: impl FnOnce(&mut Ruleset) -> T) -> T {
        match family {
            Family::V4 => f(self),
            Family::V6 => {
                let sets = self.sets.clone();
                let rs6 = std::sync::Arc::make_mut(
                    self.ip6
                        .get_or_insert_with(|| std::sync::Arc::new(Ruleset::new(Family::V6))),
                );
                rs6.sets = sets;
                let r = f(rs6);
                rs6.sets = Default::default();
                r
            }
        }
    }

    /// Replaces one table wholesale (iptables-restore's per-table commit).
    pub fn replace_table(&mut self, table: Table) {
        let kind = table.kind;
        *self.table_mut(kind) = table;
    }
}
