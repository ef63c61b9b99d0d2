//! The traversal of one table at one hook, netfilter's `ipt_do_table`: rules in order,
//! the first terminating verdict ends the table, `-j` calls and returns, `-g` continues
//! without coming back, the end of a built-in chain (or a RETURN in it) applies the
//! policy. Everything packet-specific is behind `RuleHost`.

use super::classify::{Candidates, ChainIndex, Keys};
use super::compile::{Action, CompiledRule, CompiledTable};
use crate::ruleset::{Hook, Policy, TableKind, Target};

/// A table's verdict for the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    /// The target took the packet (REJECT sent its answer and dropped it; NAT may use it).
    Stolen,
}

/// What a non-chain target did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetOutcome {
    /// Non-terminating (LOG, MARK...): go on with the next rule.
    Continue,
    Verdict(Verdict),
}

/// Why a trace line is printed, as the kernel's TRACE names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    Rule,
    Return,
    Policy,
}

impl TraceKind {
    pub fn name(self) -> &'static str {
        match self {
            TraceKind::Rule => "rule",
            TraceKind::Return => "return",
            TraceKind::Policy => "policy",
        }
    }
}

/// The packet side of a traversal.
pub trait RuleHost {
    /// All criteria of the rule hold for the packet. Not asked for a rule the chain's
    /// classifier knows to match (`ChainIndex::matches_exactly`).
    fn rule_matches(&mut self, table: TableKind, hook: Hook, rule: &CompiledRule) -> bool;
    /// `rule_matches` for `single_rule` (a host may keep it out of line there, so that
    /// the traversal's stays inlined).
    fn single_rule_matches(&mut self, table: TableKind, hook: Hook, rule: &CompiledRule) -> bool {
        self.rule_matches(table, hook, rule)
    }
    /// Runs a target other than a verdict or a jump.
    fn run_target(
        &mut self,
        table: TableKind,
        hook: Hook,
        rule: &CompiledRule,
        target: &Target,
    ) -> TargetOutcome;
    /// Counts the packet on a rule or policy slot.
    fn count(&mut self, slot: u32);
    /// A trace line: `table:chain:kind:number`.
    fn trace(&mut self, table: TableKind, chain: &str, kind: TraceKind, number: u32);
    /// The classifier keys of the packet as it is now; `None` scans every rule. Asked
    /// for only when an indexed chain is entered.
    fn keys(&mut self) -> Option<Keys>;
}

/// The deepest nesting of `-j` calls; the kernel's limit is the same order of magnitude
/// and validation refuses loops, so this is never reached by a valid ruleset.
pub const MAX_CALL_DEPTH: usize = 64;

/// How the traversal walks a chain at one call depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walk {
    /// Rule by rule (no index, or a packet without keys).
    Scan,
    /// Rule by rule through the index's `lead`, whose rules every packet is a candidate
    /// for; the candidates are looked up on getting past them.
    Lead,
    /// The index's candidates only.
    Indexed,
}

/// Candidate cursors per call depth and the call stack, reused from packet to packet (no
/// allocation and nothing to initialise per traversal once warm).
#[derive(Default)]
pub struct Scratch {
    cands: Vec<Candidates>,
    /// Return points of `-j` calls: chain, next rule, how that chain was being walked.
    stack: Vec<(u32, usize, Walk)>,
}

impl Scratch {
    /// How `chain` is walked from its first rule at `depth`.
    fn enter<H: RuleHost + ?Sized>(
        &mut self,
        table: &CompiledTable,
        chain: u32,
        depth: usize,
        keys: &mut Option<Keys>,
        host: &mut H,
    ) -> Walk {
        match table
            .chains
            .get(chain as usize)
            .and_then(|c| c.index.as_ref())
        {
            None => Walk::Scan,
            Some(ix) if ix.lead() > 0 => Walk::Lead,
            Some(ix) => self.start(ix, depth, keys, host),
        }
    }

    /// Prepares the candidates of an indexed chain at `depth` (the keys are computed on
    /// the first chain of the traversal that needs them).
    fn start<H: RuleHost + ?Sized>(
        &mut self,
        ix: &ChainIndex,
        depth: usize,
        keys: &mut Option<Keys>,
        host: &mut H,
    ) -> Walk {
        let Some(k) = keys.or_else(|| host.keys()) else {
            return Walk::Scan;
        };
        *keys = Some(k);
        if self.cands.len() <= depth {
            self.cands.resize_with(depth + 1, Candidates::default);
        }
        ix.start(&k, &mut self.cands[depth]);
        Walk::Indexed
    }

    /// The next rule at or after `idx` that may match (`len` when none is left); `index`
    /// is the chain's when its candidates were started.
    fn next(&mut self, index: Option<&ChainIndex>, depth: usize, idx: usize, len: usize) -> usize {
        match (index, self.cands.get_mut(depth)) {
            (Some(ix), Some(c)) => ix.next(c, idx).map_or(len, |r| r.min(len)),
            _ => idx,
        }
    }
}

/// Runs `hook` of `table` on the packet. A table without that hook accepts. Indexed
/// chains visit only the rules their classifier leaves for `host.keys()` (when it has
/// keys); the outcome is the same.
pub fn traverse<H: RuleHost + ?Sized>(
    table: &CompiledTable,
    hook: Hook,
    host: &mut H,
    scratch: &mut Scratch,
) -> Verdict {
    traverse_from(table, hook, 0, host, scratch)
}

/// `traverse` from rule `first` of the hook's chain on: the rules before it are known
/// not to match the packet (the hooks decided the chain's head rule on their own,
/// `TablePlan::Traverse`), so they are neither evaluated again nor counted.
pub fn traverse_from<H: RuleHost + ?Sized>(
    table: &CompiledTable,
    hook: Hook,
    first: usize,
    host: &mut H,
    scratch: &mut Scratch,
) -> Verdict {
    let Some(entry) = table.entry[hook as usize] else {
        return Verdict::Accept;
    };
    let kind = table.kind;
    let mut keys = None;
    scratch.stack.clear();
    let (mut chain, mut idx) = (entry, first);
    let mut walk = scratch.enter(table, chain, 0, &mut keys, host);
    loop {
        let depth = scratch.stack.len();
        let c = &table.chains[chain as usize];
        if walk == Walk::Lead {
            if let Some(ix) = c.index.as_ref().filter(|ix| idx >= ix.lead()) {
                walk = scratch.start(ix, depth, &mut keys, host);
            }
        }
        let index = c.index.as_ref().filter(|_| walk == Walk::Indexed);
        idx = scratch.next(index, depth, idx, c.rules.len());
        let rule = match c.rules.get(idx) {
            Some(r) => r,
            None => {
                // End of a user chain: back to the caller; with no caller left (it was
                // reached by -g from the built-in chain) the built-in policy applies.
                if c.policy.is_none() {
                    host.trace(kind, &c.name, TraceKind::Return, c.rules.len() as u32 + 1);
                    if let Some(ret) = scratch.stack.pop() {
                        (chain, idx, walk) = ret;
                        continue;
                    }
                }
                return apply_policy(table, entry, host);
            }
        };
        // A rule the classifier knows to match needs no evaluation.
        let known = index.is_some_and(|ix| ix.matches_exactly(idx));
        if !known && !host.rule_matches(kind, hook, rule) {
            idx += 1;
            continue;
        }
        host.count(rule.slot);
        host.trace(kind, &c.name, TraceKind::Rule, rule.number);
        match &rule.action {
            Action::Continue => idx += 1,
            Action::Accept => return Verdict::Accept,
            Action::Drop => return Verdict::Drop,
            Action::Return => match scratch.stack.pop() {
                Some(ret) => (chain, idx, walk) = ret,
                None => return apply_policy(table, entry, host),
            },
            Action::Jump(target) => {
                if depth == MAX_CALL_DEPTH {
                    return Verdict::Drop;
                }
                scratch.stack.push((chain, idx + 1, walk));
                (chain, idx) = (*target, 0);
                walk = scratch.enter(table, chain, depth + 1, &mut keys, host);
            }
            Action::Goto(target) => {
                (chain, idx) = (*target, 0);
                walk = scratch.enter(table, chain, depth, &mut keys, host);
            }
            Action::Target(t) => match host.run_target(kind, hook, rule, t) {
                TargetOutcome::Continue => idx += 1,
                TargetOutcome::Verdict(v) => return v,
            },
        }
    }
}

/// `traverse` of a chain `TablePlan::Single` names (one rule that neither jumps nor
/// returns) for an untraced packet: the rule, then the policy, as the traversal decides
/// and counts them. `None`: not such a chain (the caller traverses it).
#[inline]
pub fn single_rule<H: RuleHost + ?Sized>(
    table: &CompiledTable,
    hook: Hook,
    host: &mut H,
) -> Option<Verdict> {
    let entry = table.entry[hook as usize]?;
    let c = &table.chains[entry as usize];
    let rule = match c.rules.as_slice() {
        [rule] if !matches!(rule.action, Action::Jump(_) | Action::Goto(_)) => rule,
        _ => return None,
    };
    if host.single_rule_matches(table.kind, hook, rule) {
        host.count(rule.slot);
        match &rule.action {
            Action::Accept => return Some(Verdict::Accept),
            Action::Drop => return Some(Verdict::Drop),
            Action::Target(t) => {
                if let TargetOutcome::Verdict(v) = host.run_target(table.kind, hook, rule, t) {
                    return Some(v);
                }
            }
            // The end of the built-in chain either way.
            Action::Continue | Action::Return | Action::Jump(_) | Action::Goto(_) => {}
        }
    }
    Some(apply_policy(table, entry, host))
}

fn apply_policy<H: RuleHost + ?Sized>(table: &CompiledTable, entry: u32, host: &mut H) -> Verdict {
    let c = &table.chains[entry as usize];
    host.count(c.policy_slot);
    host.trace(
        table.kind,
        &c.name,
        TraceKind::Policy,
        c.rules.len() as u32 + 1,
    );
    match c.policy {
        Some(Policy::Drop) => Verdict::Drop,
        _ => Verdict::Accept,
    }
}
