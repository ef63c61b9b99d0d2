//! Whole-table validation, run before any change is applied: chain references, jump
//! loops, and the kernel's per-hook legality of every match and target, checked for
//! every hook that can reach the rule (a user chain inherits the hooks of its callers).

use super::{Hook, HookMask, Rule, Table, TableKind, Usable};
use std::collections::HashMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidationErrorKind {
    /// `-j X` / `-g X` names no chain of the table and no target.
    UnknownChain(String),
    /// `-j PREROUTING`: built-in chains cannot be called.
    JumpToBuiltin(String),
    /// The jump graph has a cycle; the chains along it, the first repeated at the end.
    Loop(Vec<String>),
    /// A target or match outside the table its kernel module allows.
    WrongTable { what: String, allowed: TableKind },
    /// A target or match reached from a hook its kernel module refuses.
    WrongHook {
        what: String,
        hook: Hook,
        allowed: HookMask,
    },
    /// `-i` in OUTPUT/POSTROUTING or `-o` in PREROUTING/INPUT.
    Interface { option: &'static str, chain: String },
    /// A rule-local check of a match or target failed.
    Rule(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    pub table: TableKind,
    pub chain: String,
    /// 1-based rule number within the chain.
    pub rule: usize,
    pub kind: ValidationErrorKind,
}

fn hook_list(mask: HookMask) -> String {
    mask.iter()
        .map(|h| h.chain_name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ValidationErrorKind::*;
        match &self.kind {
            UnknownChain(c) => write!(f, "unknown target or chain `{c}'"),
            JumpToBuiltin(c) => write!(f, "cannot jump to built-in chain `{c}'"),
            Loop(path) => write!(f, "jump loop: {}", path.join(" -> ")),
            WrongTable { what, allowed } => write!(
                f,
                "{what} is only valid in the {allowed} table, not in {}",
                self.table
            ),
            WrongHook {
                what,
                hook,
                allowed,
            } => {
                if self.chain == hook.chain_name() {
                    write!(
                        f,
                        "{what} is not allowed in chain {}; only in {}",
                        hook.chain_name(),
                        hook_list(*allowed)
                    )
                } else {
                    write!(
                        f,
                        "{what} in chain {} is reached from {}; it is only valid from {}",
                        self.chain,
                        hook.chain_name(),
                        hook_list(*allowed)
                    )
                }
            }
            Interface { option, chain } => write!(f, "Can't use {option} with {chain}"),
            Rule(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ValidationError {}

/// Validates every chain and rule of one table.
pub fn validate_table(table: &Table) -> Result<(), ValidationError> {
    let index: HashMap<&str, usize> = table
        .chains
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let err = |chain: &str, rule: usize, kind| ValidationError {
        table: table.kind,
        chain: chain.to_string(),
        rule,
        kind,
    };

    // References first: later passes may then index chains directly.
    let mut edges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); table.chains.len()];
    for (ci, chain) in table.chains.iter().enumerate() {
        for (ri, rule) in chain.rules.iter().enumerate() {
            if let Some(target) = rule.spec.target.chain_ref() {
                match index.get(target) {
                    None => {
                        return Err(err(
                            &chain.name,
                            ri + 1,
                            ValidationErrorKind::UnknownChain(target.into()),
                        ))
                    }
                    Some(&ti) if table.chains[ti].is_builtin() => {
                        return Err(err(
                            &chain.name,
                            ri + 1,
                            ValidationErrorKind::JumpToBuiltin(target.into()),
                        ))
                    }
                    Some(&ti) => edges[ci].push((ti, ri)),
                }
            }
        }
    }

    find_loop(table, &edges)?;

    // Hooks reaching each chain: a fixpoint over the (acyclic) jump graph.
    let mut reach = vec![HookMask::NONE; table.chains.len()];
    let mut stack = Vec::new();
    for (ci, chain) in table.chains.iter().enumerate() {
        if let Some(h) = chain.hook() {
            reach[ci] = h.mask();
            stack.push(ci);
        }
    }
    while let Some(ci) = stack.pop() {
        for &(ti, _) in &edges[ci] {
            let merged = reach[ti].union(reach[ci]);
            if merged != reach[ti] {
                reach[ti] = merged;
                stack.push(ti);
            }
        }
    }

    for (ci, chain) in table.chains.iter().enumerate() {
        for (ri, rule) in chain.rules.iter().enumerate() {
            check_rule(table.kind, chain.hook(), reach[ci], rule)
                .map_err(|kind| err(&chain.name, ri + 1, kind))?;
        }
    }
    Ok(())
}

/// Depth-first search for a cycle; reports the rule that closes it.
fn find_loop(table: &Table, edges: &[Vec<(usize, usize)>]) -> Result<(), ValidationError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // (chain, next edge to visit)
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(&mut (ci, ref mut next)) = path.last_mut() {
            if let Some(&(ti, ri)) = edges[ci].get(*next) {
                *next += 1;
                match mark[ti] {
                    Mark::OnPath => {
                        let from = path.iter().position(|(c, _)| *c == ti).unwrap_or(0);
                        let mut names: Vec<String> = path[from..]
                            .iter()
                            .map(|(c, _)| table.chains[*c].name.clone())
                            .collect();
                        names.push(table.chains[ti].name.clone());
                        return Err(ValidationError {
                            table: table.kind,
                            chain: table.chains[ci].name.clone(),
                            rule: ri + 1,
                            kind: ValidationErrorKind::Loop(names),
                        });
                    }
                    Mark::New => {
                        mark[ti] = Mark::OnPath;
                        path.push((ti, 0));
                    }
                    Mark::Done => {}
                }
            } else {
                mark[ci] = Mark::Done;
                path.pop();
            }
        }
    }
    Ok(())
}

fn check_usable(
    what: String,
    usable: Usable,
    table: TableKind,
    reach: HookMask,
) -> Result<(), ValidationErrorKind> {
    if let Some(allowed) = usable.table {
        if allowed != table {
            return Err(ValidationErrorKind::WrongTable { what, allowed });
        }
    }
    if let Some(hook) = reach.iter().find(|h| !usable.hooks.contains(*h)) {
        return Err(ValidationErrorKind::WrongHook {
            what,
            hook,
            allowed: usable.hooks,
        });
    }
    Ok(())
}

fn check_rule(
    table: TableKind,
    builtin: Option<Hook>,
    reach: HookMask,
    rule: &Rule,
) -> Result<(), ValidationErrorKind> {
    let spec = &rule.spec;
    // iptables checks the interfaces against built-in chains only.
    if let Some(hook) = builtin {
        if spec.in_iface.is_some() && matches!(hook, Hook::Output | Hook::Postrouting) {
            return Err(ValidationErrorKind::Interface {
                option: "-i",
                chain: hook.chain_name().into(),
            });
        }
        if spec.out_iface.is_some() && matches!(hook, Hook::Prerouting | Hook::Input) {
            return Err(ValidationErrorKind::Interface {
                option: "-o",
                chain: hook.chain_name().into(),
            });
        }
    }
    // `! -s 0.0.0.0/0` matches no packet; the kernel refuses the rule (nf_tables cannot
    // express an inverted zero-length prefix: RULE_APPEND fails with EINVAL).
    for (flag, net) in [("-s", &spec.src), ("-d", &spec.dst)] {
        if net.as_ref().is_some_and(|n| n.inv && n.val.mask == 0) {
            return Err(ValidationErrorKind::Rule(format!(
                "`! {flag} 0.0.0.0/0' matches no packet (the kernel refuses it)"
            )));
        }
    }
    for (flag, net) in [("-s", spec.src6()), ("-d", spec.dst6())] {
        if net.is_some_and(|n| n.inv && n.val.mask == 0) {
            return Err(ValidationErrorKind::Rule(format!(
                "`! {flag} ::/0' matches no packet (the kernel refuses it)"
            )));
        }
    }
    for m in &spec.matches {
        m.validate(spec).map_err(ValidationErrorKind::Rule)?;
        if m.tables().is_some_and(|t| !t.contains(&table)) {
            return Err(ValidationErrorKind::Rule(format!(
                "match `{}' is not valid in the {table} table",
                m.name()
            )));
        }
        check_usable(format!("match `{}'", m.name()), m.usable(), table, reach)?;
    }
    spec.target
        .validate(spec)
        .map_err(ValidationErrorKind::Rule)?;
    check_usable(
        format!("target {}", spec.target.name()),
        spec.target.usable(),
        table,
        reach,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::targets::reject::RejectTarget;
    use crate::ruleset::{RuleSpec, Target};

    fn rule(target: Target) -> RuleSpec {
        RuleSpec {
            target,
            ..Default::default()
        }
    }

    #[test]
    fn hooks_propagate_through_user_chains() {
        let mut t = Table::new(TableKind::Filter);
        t.new_chain("deep").unwrap();
        t.new_chain("mid").unwrap();
        t.append("mid", rule(Target::Jump("deep".into()))).unwrap();
        t.append("deep", rule(Target::Reject(RejectTarget::default())))
            .unwrap();
        // Unreachable chains are only checked for their table.
        assert_eq!(validate_table(&t), Ok(()));
        t.append("INPUT", rule(Target::Goto("mid".into()))).unwrap();
        assert_eq!(validate_table(&t), Ok(()));

        let mut m = Table::new(TableKind::Mangle);
        m.new_chain("x").unwrap();
        m.append("PREROUTING", rule(Target::Jump("x".into())))
            .unwrap();
        m.append("x", rule(Target::Reject(RejectTarget::default())))
            .unwrap();
        let e = validate_table(&m).unwrap_err();
        assert_eq!((e.chain.as_str(), e.rule), ("x", 1));
        assert!(matches!(e.kind, ValidationErrorKind::WrongTable { .. }));
    }

    #[test]
    fn loops_and_missing_chains() {
        let mut t = Table::new(TableKind::Filter);
        for c in ["a", "b", "c"] {
            t.new_chain(c).unwrap();
        }
        t.append("a", rule(Target::Jump("b".into()))).unwrap();
        t.append("b", rule(Target::Goto("c".into()))).unwrap();
        assert_eq!(validate_table(&t), Ok(()));
        t.append("c", rule(Target::Jump("a".into()))).unwrap();
        let e = validate_table(&t).unwrap_err();
        assert_eq!(
            e.kind,
            ValidationErrorKind::Loop(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!((e.chain.as_str(), e.rule), ("c", 1));

        let mut t = Table::new(TableKind::Filter);
        t.append("INPUT", rule(Target::Jump("FORWARD".into())))
            .unwrap();
        assert!(matches!(
            validate_table(&t).unwrap_err().kind,
            ValidationErrorKind::JumpToBuiltin(_)
        ));
    }
}
