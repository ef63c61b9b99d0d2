//! Rule counters across ruleset swaps: which counters of the old generation carry over
//! to which rules of the new one, as the kernel's do across `iptables -I/-A/-D/-R`.

use super::*;
use crate::ruleset::Family;

/// (new slot, old slot) for every counter that carries over from `old` to `new`.
pub(super) fn carried_slots(old: &CompiledRuleset, new: &CompiledRuleset) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let families = [
        (Family::V4, new.tables.iter()),
        (Family::V6, new.ip6.tables.iter()),
    ];
    for (family, table) in families
        .into_iter()
        .flat_map(|(f, ts)| ts.flatten().map(move |t| (f, t)))
    {
        let Some(old_table) = old.table_of(family, table.kind) else {
            continue;
        };
        for chain in &table.chains {
            let Some(old_chain) = old_table.chains.iter().find(|c| c.name == chain.name) else {
                continue;
            };
            if chain.policy.is_some() && old_chain.policy.is_some() {
                pairs.push((chain.policy_slot as usize, old_chain.policy_slot as usize));
            }
            for (i, j) in carried_rules(&old_chain.rules, &chain.rules) {
                pairs.push((
                    chain.rules[i].slot as usize,
                    old_chain.rules[j].slot as usize,
                ));
            }
        }
    }
    pairs
}

/// (new index, old index) of the rules of one chain that continue an old rule: the
/// unchanged head and tail of the chain (all that one insert, append, delete or replace
/// leaves, shifted or not), and in between rules equal at the same position. Linear, so a
/// swap of a large chain costs a worker no more than compiling it did.
pub(super) fn carried_rules(
    old: &[compile::CompiledRule],
    new: &[compile::CompiledRule],
) -> Vec<(usize, usize)> {
    let same = |a: &compile::CompiledRule, b: &compile::CompiledRule| {
        a.spec == b.spec && a.action == b.action
    };
    let (m, n) = (old.len(), new.len());
    let head = old.iter().zip(new).take_while(|(a, b)| same(a, b)).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| same(a, b))
        .count();
    let mut pairs: Vec<(usize, usize)> = (0..head).map(|i| (i, i)).collect();
    pairs.extend(
        (head..n - tail)
            .filter(|&i| i < m - tail && same(&old[i], &new[i]))
            .map(|i| (i, i)),
    );
    pairs.extend((1..=tail).map(|k| (n - k, m - k)));
    pairs
}
