//! Rule compilation: the control plane's `Ruleset` becomes one immutable
//! `CompiledRuleset` that workers share read-only. Chain names are resolved to indices,
//! every rule and every built-in chain policy gets a counter slot, and each hook of each
//! table gets its entry chain. A worker runs it with `traverse`.

use super::classify::ChainIndex;
use crate::ruleset::{Family, Hook, Policy, RuleSpec, Ruleset, Table, TableKind, Target};
use std::fmt;

/// The classifier memory one compiled ruleset may take unless configured otherwise
/// (`[dataplane] classifier_memory`): 2 GiB. The index is linear in the rule count (tens
/// of bytes per rule: 1,000,000 S3-shaped rules take ~60 MB), so this bounds rulesets
/// whose rules expand into many keys rather than long ones.
pub const DEFAULT_CLASSIFIER_MEMORY: u64 = 2 << 30;

/// A ruleset whose classifier does not fit the memory budget: it is refused (the running
/// one stays) rather than compiled without the index, because a chain that silently falls
/// back to a linear scan of 100,000+ rules would forward at a fraction of the expected
/// rate with nothing telling the operator why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub table: TableKind,
    pub chain: String,
    pub rules: usize,
    /// The chain's classifier, estimated before anything was allocated.
    pub estimated: u64,
    /// What was left of the budget for this chain, and the budget.
    pub left: u64,
    pub budget: u64,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ruleset refused: the classifier of chain {} in table {} ({} rules) needs about \
             {} bytes, more than the {} bytes left of the classifier memory budget of {} \
             bytes ([dataplane] classifier_memory)",
            self.chain, self.table, self.rules, self.estimated, self.left, self.budget
        )
    }
}

impl std::error::Error for CompileError {}

/// The classifier memory still available while a ruleset compiles.
struct Budget {
    total: u64,
    left: u64,
    /// The first chain that did not fit; its chain (and any later one that does not fit)
    /// is left unindexed.
    over: Option<CompileError>,
}

/// What a matching rule does, with jumps resolved to chain indices.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// No `-j`: count and go on.
    Continue,
    Accept,
    Drop,
    Return,
    Jump(u32),
    Goto(u32),
    /// Any other target (REJECT, LOG, MARK, NAT...), run by the pipeline.
    Target(Target),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompiledRule {
    /// Criteria of the rule; its `target` field is not used (see `action`).
    pub spec: RuleSpec,
    pub action: Action,
    /// Counter (and per-rule state) slot, unique in the ruleset.
    pub slot: u32,
    /// 1-based position in its chain (what TRACE and `--line-numbers` show).
    pub number: u32,
    /// What deciding its criteria needs (`eval::RuleEval`).
    pub eval: super::eval::RuleEval,
    /// Its `-i` / `-o` matched against the ports at compile time, when it names one.
    pub ifaces: Option<super::eval::IfaceMasks>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompiledChain {
    pub name: String,
    /// Built-in chains only.
    pub policy: Option<Policy>,
    /// Counter slot of the policy (built-in chains).
    pub policy_slot: u32,
    pub rules: Vec<CompiledRule>,
    /// Which rules may match a packet, for chains long enough to be worth it.
    pub index: Option<ChainIndex>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompiledTable {
    pub kind: TableKind,
    pub chains: Vec<CompiledChain>,
    /// Entry chain per hook (indexed by `Hook as usize`).
    pub entry: [Option<u32>; 5],
}

impl CompiledTable {
    pub fn entry(&self, hook: Hook) -> Option<&CompiledChain> {
        self.entry[hook as usize].map(|i| &self.chains[i as usize])
    }
}

/// Where a counter slot comes from, so counters can be read back per rule and carried
/// over to the next generation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SlotOwner {
    Policy {
        family: Family,
        table: TableKind,
        chain: String,
    },
    Rule {
        family: Family,
        table: TableKind,
        chain: String,
        index: usize,
    },
}

impl SlotOwner {
    pub fn family(&self) -> Family {
        match self {
            SlotOwner::Policy { family, .. } | SlotOwner::Rule { family, .. } => *family,
        }
    }
}

/// ip6tables' tables in executable form (`Ruleset::ip6`), run on IPv6 packets. Their
/// counter slots follow the IPv4 tables' in `CompiledRuleset::slots`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompiledTables6 {
    /// Indexed by `TableKind as usize`.
    pub tables: [Option<CompiledTable>; 5],
    /// As `CompiledRuleset::plan`.
    pub plan: [[TablePlan; 5]; 5],
    /// Whether an ip6tables rule needs IPv6 connection tracking (as `needs_conntrack`).
    pub needs_conntrack: bool,
}

/// The whole ruleset in executable form. Immutable once built: a change builds a new one.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledRuleset {
    /// Indexed by `TableKind as usize`.
    pub tables: [Option<CompiledTable>; 5],
    pub slots: Vec<SlotOwner>,
    pub generation: u64,
    /// Whether any rule needs connection tracking (a conntrack-family match, NAT,
    /// CONNMARK, a CT helper). Like the kernel, which registers conntrack (and IPv4
    /// defragmentation) in a namespace only when a rule asks for it, nfdp tracks nothing
    /// otherwise.
    pub needs_conntrack: bool,
    /// Whether a rule reads conntrack's accounting (`-m connbytes`): installing the
    /// ruleset turns accounting on, as xt_connbytes forces `nf_conntrack_acct`.
    pub needs_acct: bool,
    /// Whether a rule reads or sets connection labels (`-m connlabel`): new connections
    /// get labels while such a ruleset is installed, as the kernel adds them while
    /// xt_connlabel holds `nf_connlabels_get`.
    pub needs_labels: bool,
    /// What each table does at each hook (`[Hook as usize][TableKind as usize]`), worked
    /// out once: the hooks skip absent tables and count empty built-in chains' policies
    /// without looking the chains up (most tables at most hooks are one or the other).
    pub plan: [[TablePlan; 5]; 5],
    /// The ARP table (arptables), run as it is by the ARP slow path.
    pub arp: std::sync::Arc<crate::arptables::ArpTable>,
    /// ip6tables' tables.
    pub ip6: CompiledTables6,
}

/// A table at one hook, as the hooks run it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TablePlan {
    /// No chain there: the packet goes on.
    #[default]
    Absent,
    /// A built-in chain without rules: its policy, counted on `slot`.
    Policy { slot: u32, drop: bool },
    /// A chain with rules: a traversal. `head`: its first rule when that rule is a
    /// `--ctstate` test with ACCEPT or DROP (`-m conntrack --ctstate ESTABLISHED,RELATED
    /// -j ACCEPT` heads most gateway chains): decided before the traversal is set up.
    Traverse { head: Option<HeadRule> },
    /// A built-in chain of one rule that neither jumps nor returns (`-A POSTROUTING -o
    /// wan0 -j MASQUERADE`): its rule, then its policy, without a traversal's cursors
    /// and call stack (`Pipeline::run_single`).
    Single,
}

/// The first rule of a built-in chain that the hooks decide on their own (`TablePlan`):
/// matched from the packet's state bits, counted on `slot`, ending the table with
/// ACCEPT or DROP when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadRule {
    pub bits: u16,
    pub inv: bool,
    pub slot: u32,
    pub drop: bool,
}

impl HeadRule {
    fn of(rule: &CompiledRule) -> Option<HeadRule> {
        let super::eval::RuleEval::CtState { bits, inv } = rule.eval else {
            return None;
        };
        let drop = match rule.action {
            Action::Accept => false,
            Action::Drop => true,
            _ => return None,
        };
        Some(HeadRule {
            bits,
            inv,
            slot: rule.slot,
            drop,
        })
    }
}

impl CompiledRuleset {
    pub fn table(&self, kind: TableKind) -> Option<&CompiledTable> {
        self.tables[kind as usize].as_ref()
    }

    /// The table of `family` (IPv4 or ip6tables').
    #[inline]
    pub fn table_of(&self, family: Family, kind: TableKind) -> Option<&CompiledTable> {
        match family {
            Family::V4 => self.tables[kind as usize].as_ref(),
            Family::V6 => self.ip6.tables[kind as usize].as_ref(),
        }
    }

    /// What `table` of `family` does at `hook`.
    #[inline]
    pub fn plan_of(&self, family: Family, hook: Hook, table: TableKind) -> TablePlan {
        match family {
            Family::V4 => self.plan[hook as usize][table as usize],
            Family::V6 => self.ip6.plan[hook as usize][table as usize],
        }
    }

    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Compiles a ruleset that has passed validation, without indexing interfaces.
    /// Jumps to chains that do not exist cannot happen after validation; should one slip
    /// through it compiles to DROP.
    pub fn compile(rs: &Ruleset, generation: u64) -> CompiledRuleset {
        CompiledRuleset::compile_for_ports(rs, generation, &[])
    }

    /// Compiles for a port table: `ports[i]` is the name of port id `i` (what `-i`/`-o`
    /// compare), so the classifier can index the interfaces too.
    /// Without a budget (tools, benchmarks and tests): a chain whose index cannot be
    /// allocated is scanned rule by rule (exact, slower) rather than aborting. The daemon
    /// and replay use `try_compile_for_ports`, which refuses an over-budget ruleset.
    pub fn compile_for_ports(rs: &Ruleset, generation: u64, ports: &[String]) -> CompiledRuleset {
        CompiledRuleset::compile_within(rs, generation, ports, u64::MAX).0
    }

    /// Compiles for a port table with at most `budget` bytes of classifier for the whole
    /// ruleset; a ruleset that needs more is refused with the first chain that did not
    /// fit. Nothing is allocated for an index before its size is known to fit.
    pub fn try_compile_for_ports(
        rs: &Ruleset,
        generation: u64,
        ports: &[String],
        budget: u64,
    ) -> Result<CompiledRuleset, CompileError> {
        match CompiledRuleset::compile_within(rs, generation, ports, budget) {
            (c, None) => Ok(c),
            (_, Some(e)) => Err(e),
        }
    }

    /// Bytes the classifier indexes of all chains take.
    pub fn classifier_bytes(&self) -> u64 {
        self.tables
            .iter()
            .flatten()
            .flat_map(|t| t.chains.iter())
            .filter_map(|c| c.index.as_ref())
            .map(ChainIndex::bytes)
            .sum()
    }

    fn compile_within(
        rs: &Ruleset,
        generation: u64,
        ports: &[String],
        budget: u64,
    ) -> (CompiledRuleset, Option<CompileError>) {
        let mut budget = Budget {
            total: budget,
            left: budget,
            over: None,
        };
        let mut slots = Vec::new();
        let mut tables: [Option<CompiledTable>; 5] = Default::default();
        for t in &rs.tables {
            tables[t.kind as usize] =
                Some(compile_table(Family::V4, t, &mut slots, ports, &mut budget));
        }
        let mut ip6 = CompiledTables6::default();
        for t in rs.ip6.iter().flat_map(|r| &r.tables) {
            ip6.tables[t.kind as usize] =
                Some(compile_table(Family::V6, t, &mut slots, ports, &mut budget));
        }
        ip6.plan = plan_of(&ip6.tables);
        let rules6 = || {
            rs.ip6
                .iter()
                .flat_map(|r| r.tables.iter())
                .flat_map(|t| t.chains.iter())
                .flat_map(|c| c.rules.iter())
        };
        // A nat table with rules tracks connections, as IPv4's (nf_nat needs conntrack).
        ip6.needs_conntrack =
            rules6().any(|r| uses_conntrack(&r.spec))
                || rs.ip6.iter().flat_map(|r| &r.tables).any(|t| {
                    t.kind == TableKind::Nat && t.chains.iter().any(|c| !c.rules.is_empty())
                });
        let needs_conntrack = rs.tables.iter().any(|t| {
            t.kind == TableKind::Nat && t.chains.iter().any(|c| !c.rules.is_empty())
                || t.chains
                    .iter()
                    .flat_map(|c| c.rules.iter())
                    .any(|r| uses_conntrack(&r.spec))
        });
        // Whether some rule of either family has a match `is` picks out (accounting and
        // labels are the namespace's: a connbytes or connlabel rule of ip6tables turns
        // them on for IPv4 connections too, as in the kernel).
        let any_match = |is: fn(&crate::ruleset::Match) -> bool| {
            rs.tables
                .iter()
                .flat_map(|t| t.chains.iter())
                .flat_map(|c| c.rules.iter())
                .chain(rules6())
                .any(|r| r.spec.matches.iter().any(is))
        };
        let needs_acct = any_match(|m| matches!(m, crate::ruleset::Match::Connbytes(_)));
        let needs_labels = any_match(|m| matches!(m, crate::ruleset::Match::Connlabel(_)));
        let plan = plan_of(&tables);
        let compiled = CompiledRuleset {
            tables,
            slots,
            generation,
            needs_conntrack,
            needs_acct,
            needs_labels,
            plan,
            arp: std::sync::Arc::clone(&rs.arp),
            ip6,
        };
        (compiled, budget.over)
    }

    /// The same program with every chain scanned rule by rule.
    pub fn without_index(mut self) -> CompiledRuleset {
        for t in self.tables.iter_mut().flatten() {
            for c in &mut t.chains {
                c.index = None;
            }
        }
        self
    }

    /// The reference the fast paths are tested against: every chain scanned rule by rule
    /// and every rule's criteria evaluated in full (no `RuleEval` or `HeadRule` shortcut,
    /// interface names compared per packet).
    pub fn reference(self) -> CompiledRuleset {
        let mut r = self.without_index();
        for plan in r.plan.iter_mut().chain(r.ip6.plan.iter_mut()).flatten() {
            match plan {
                TablePlan::Traverse { head } => *head = None,
                TablePlan::Single => *plan = TablePlan::Traverse { head: None },
                _ => {}
            }
        }
        for t in r.tables.iter_mut().flatten() {
            for rule in t.chains.iter_mut().flat_map(|c| c.rules.iter_mut()) {
                rule.eval = super::eval::RuleEval::Full;
                rule.ifaces = None;
            }
        }
        r
    }
}

/// What each table does at each hook: skipped, its empty chain's policy, or traversed.
fn plan_of(tables: &[Option<CompiledTable>; 5]) -> [[TablePlan; 5]; 5] {
    let mut plan = [[TablePlan::Absent; 5]; 5];
    for t in tables.iter().flatten() {
        for (h, entry) in t.entry.iter().enumerate() {
            let Some(c) = entry.and_then(|e| t.chains.get(e as usize)) else {
                continue;
            };
            plan[h][t.kind as usize] = if c.rules.is_empty() {
                TablePlan::Policy {
                    slot: c.policy_slot,
                    drop: c.policy == Some(Policy::Drop),
                }
            } else {
                let head = c.rules.first().and_then(HeadRule::of);
                let single = c.rules.len() == 1
                    && head.is_none()
                    && matches!(
                        c.rules[0].action,
                        Action::Continue | Action::Accept | Action::Drop | Action::Target(_)
                    );
                if single {
                    TablePlan::Single
                } else {
                    TablePlan::Traverse { head }
                }
            };
        }
    }
    plan
}

/// A rule whose match or target only works with connection tracking.
pub fn uses_conntrack(spec: &RuleSpec) -> bool {
    use crate::ruleset::Match;
    spec.matches.iter().any(|m| {
        matches!(
            m,
            Match::Conntrack(_)
                | Match::Connmark(_)
                | Match::Connlimit(_)
                | Match::Connbytes(_)
                | Match::Connlabel(_)
                | Match::Helper(_)
        )
    }) || match &spec.target {
        Target::Snat(_)
        | Target::Dnat(_)
        | Target::Masquerade(_)
        | Target::Redirect(_)
        | Target::Netmap(_) => true,
        Target::Connmark(_) => true,
        // xt_SYNPROXY's checkentry takes conntrack (its hook works on the connection).
        Target::Synproxy(_) => true,
        Target::Ct(c) => !c.notrack,
        _ => false,
    }
}

fn compile_table(
    family: Family,
    t: &Table,
    slots: &mut Vec<SlotOwner>,
    ports: &[String],
    budget: &mut Budget,
) -> CompiledTable {
    let index = |name: &str| t.chain_index(name).map(|i| i as u32);
    let mut entry = [None; 5];
    let chains = t
        .chains
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            if let Some(h) = c.hook() {
                entry[h as usize] = Some(ci as u32);
            }
            let policy_slot = slots.len() as u32;
            slots.push(SlotOwner::Policy {
                family,
                table: t.kind,
                chain: c.name.clone(),
            });
            let rules = c
                .rules
                .iter()
                .enumerate()
                .map(|(ri, r)| {
                    let action = match &r.spec.target {
                        Target::None => Action::Continue,
                        Target::Accept => Action::Accept,
                        Target::Drop => Action::Drop,
                        Target::Return => Action::Return,
                        Target::Jump(n) => index(n).map_or(Action::Drop, Action::Jump),
                        Target::Goto(n) => index(n).map_or(Action::Drop, Action::Goto),
                        other => Action::Target(other.clone()),
                    };
                    let slot = slots.len() as u32;
                    slots.push(SlotOwner::Rule {
                        family,
                        table: t.kind,
                        chain: c.name.clone(),
                        index: ri,
                    });
                    let mut spec = r.spec.clone();
                    spec.target = Target::None;
                    let names_iface = spec.in_iface.is_some() || spec.out_iface.is_some();
                    CompiledRule {
                        eval: match family {
                            Family::V4 => super::eval::RuleEval::of_with_ports(&spec, ports),
                            Family::V6 => super::eval::RuleEval::of6(&spec),
                        },
                        ifaces: names_iface
                            .then(|| super::eval::IfaceMasks::of(&spec, ports))
                            .flatten(),
                        spec,
                        action,
                        slot,
                        number: ri as u32 + 1,
                    }
                })
                .collect();
            let specs: Vec<&RuleSpec> = c.rules.iter().map(|r| &r.spec).collect();
            // The classifier reads IPv4 headers: ip6tables chains are scanned in order.
            let built = match family {
                // A short chain walks its rules' records in order: cheaper than the
                // tuples' probes at that size (`classify::linear`).
                Family::V4 if specs.len() <= super::classify::MAX_LINEAR_RULES => {
                    match ChainIndex::build_linear(&specs, ports) {
                        Some(plan) if plan.bytes() <= budget.left => Ok(Some(plan)),
                        _ => ChainIndex::build_within(&specs, ports, budget.left),
                    }
                }
                Family::V4 => ChainIndex::build_within(&specs, ports, budget.left),
                Family::V6 => Ok(None),
            };
            let index = match built {
                Ok(index) => {
                    budget.left = budget
                        .left
                        .saturating_sub(index.as_ref().map_or(0, ChainIndex::bytes));
                    index
                }
                Err(too_large) => {
                    budget.over.get_or_insert(CompileError {
                        table: t.kind,
                        chain: c.name.clone(),
                        rules: specs.len(),
                        estimated: too_large.bytes,
                        left: budget.left,
                        budget: budget.total,
                    });
                    None
                }
            };
            CompiledChain {
                name: c.name.clone(),
                policy: c.policy,
                policy_slot,
                rules,
                index,
            }
        })
        .collect();
    CompiledTable {
        kind: t.kind,
        chains,
        entry,
    }
}
