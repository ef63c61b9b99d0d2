//! The iptables-restore format: `*table`, `:CHAIN POLICY [p:b]`, commands (`-A`, `-I`,
//! `-D`, `-N`, ... each optionally prefixed with `[p:b]`), `COMMIT`, `#` comments.
//!
//! A file is applied all or nothing: every table section is built and validated, and the
//! ruleset is replaced only when the whole file is good. Errors name the line at fault.

use super::command::{parse_command_in, Command, Source};
use super::lexer::split_words;
use dataplane::ruleset::{
    Counters, Family, Policy, RuleSpec, Ruleset, RulesetError, Table, TableKind, ValidationError,
};
use std::collections::HashMap;
use std::fmt;

#[derive(Clone, Copy, Debug, Default)]
pub struct RestoreOptions {
    /// `--noflush`: tables are edited in place instead of replaced.
    pub noflush: bool,
    /// `--counters`: counters in the file are kept.
    pub counters: bool,
    /// The ruleset goes to the packet path, not only checked: an ip6tables rule the IPv6
    /// path cannot run yet is refused at its line (`Command::check_ipv6_path`).
    pub packet_path: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for RestoreError {}

/// The table being assembled, with the source line of every rule so that a validation
/// failure at COMMIT points at the rule that caused it.
struct Section {
    table: Table,
    start: usize,
    lines: HashMap<String, Vec<usize>>,
}

impl Section {
    fn new(table: Table, start: usize) -> Section {
        let lines = table
            .chains
            .iter()
            .map(|c| (c.name.clone(), vec![start; c.rules.len()]))
            .collect();
        Section {
            table,
            start,
            lines,
        }
    }

    fn rule_lines(&mut self, chain: &str) -> &mut Vec<usize> {
        self.lines.entry(chain.to_string()).or_default()
    }

    fn line_of(&self, e: &ValidationError) -> usize {
        self.lines
            .get(&e.chain)
            .and_then(|l| l.get(e.rule.wrapping_sub(1)))
            .copied()
            .unwrap_or(self.start)
    }

    /// Declares a chain (`:NAME POLICY [p:b]`): a built-in gets its policy; a user chain
    /// is created, or flushed when it exists.
    fn declare(
        &mut self,
        name: &str,
        policy: &str,
        counters: Option<Counters>,
    ) -> Result<(), String> {
        match self.table.chain_mut(name) {
            Some(c) if c.is_builtin() => {
                c.policy = Some(Policy::from_name(policy).ok_or("Bad policy name.")?);
                c.counters = counters.unwrap_or_default();
            }
            Some(c) => {
                // iptables 1.8.9 ignores a policy given to a user chain in a restore file.
                c.rules.clear();
                self.rule_lines(name).clear();
            }
            None => {
                if dataplane::ruleset::Hook::from_chain_name(name).is_some() {
                    return Err(format!(
                        "chain `{name}' is not a built-in chain of table {}",
                        self.table.kind
                    ));
                }
                self.table.new_chain(name).map_err(|e| e.to_string())?;
                self.rule_lines(name).clear();
            }
        }
        Ok(())
    }

    fn apply(
        &mut self,
        cmd: Command,
        counters: Option<Counters>,
        line: usize,
    ) -> Result<(), RulesetError> {
        let with_counters = |spec: RuleSpec| {
            let mut r = dataplane::ruleset::Rule::new(spec);
            r.counters = counters.unwrap_or_default();
            r
        };
        match cmd {
            Command::Append { chain, rules } => {
                for spec in rules {
                    self.table.append(&chain, spec)?;
                    if let Some(c) = self.table.chain_mut(&chain) {
                        if let Some(r) = c.rules.last_mut() {
                            *r = with_counters(r.spec.clone());
                        }
                    }
                    self.rule_lines(&chain).push(line);
                }
            }
            Command::Insert { chain, num, rules } => {
                for (i, spec) in rules.into_iter().enumerate() {
                    self.table.insert(&chain, num + i, spec)?;
                    let lines = self.rule_lines(&chain);
                    lines.insert((num + i - 1).min(lines.len()), line);
                }
            }
            Command::DeleteNum { chain, num } => {
                self.table.delete_num(&chain, num)?;
                let lines = self.rule_lines(&chain);
                if num <= lines.len() {
                    lines.remove(num - 1);
                }
            }
            Command::Delete { chain, rules } => {
                for spec in rules {
                    let idx = self
                        .table
                        .chain(&chain)
                        .and_then(|c| c.rules.iter().position(|r| r.spec == spec));
                    self.table.delete_spec(&chain, &spec)?;
                    if let Some(i) = idx {
                        let lines = self.rule_lines(&chain);
                        if i < lines.len() {
                            lines.remove(i);
                        }
                    }
                }
            }
            Command::Replace { chain, num, rule } => {
                self.table.replace(&chain, num, rule)?;
                if let Some(l) = self.rule_lines(&chain).get_mut(num - 1) {
                    *l = line;
                }
            }
            Command::Flush { chain } => {
                self.table.flush(chain.as_deref())?;
                match chain {
                    Some(c) => self.rule_lines(&c).clear(),
                    None => self.lines.values_mut().for_each(Vec::clear),
                }
            }
            // ip6tables-restore zeroes the chain even when a rule is named.
            Command::Zero { chain, .. } => self.table.zero(chain.as_deref())?,
            Command::NewChain { chain } => {
                self.table.new_chain(&chain)?;
                self.rule_lines(&chain).clear();
            }
            Command::DeleteChain { chain } => {
                self.table.delete_chain(chain.as_deref())?;
                let names: Vec<String> = self.table.chains.iter().map(|c| c.name.clone()).collect();
                self.lines.retain(|k, _| names.contains(k));
            }
            Command::Policy { chain, policy } => self.table.set_policy(&chain, policy)?,
            Command::Rename { old, new } => {
                self.table.rename_chain(&old, &new)?;
                let l = self.lines.remove(&old).unwrap_or_default();
                self.lines.insert(new, l);
            }
            Command::Check { .. } | Command::List { .. } | Command::ListRules { .. } => {
                return Err(RulesetError::InvalidChainName(
                    "-C, -L and -S cannot be used in iptables-restore".into(),
                ));
            }
        }
        Ok(())
    }
}

/// `[packets:bytes]`.
fn parse_counters(s: &str) -> Option<Counters> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

/// Applies an iptables-restore text (an ip6tables-restore one for an IPv6 ruleset) to the
/// ruleset: all of it, or (on error) none of it.
pub fn restore(text: &str, rs: &mut Ruleset, opts: RestoreOptions) -> Result<(), RestoreError> {
    let mut work = rs.clone();
    let mut section: Option<Section> = None;
    let mut last_line = 0;
    let err = |line: usize, message: String| RestoreError { line, message };

    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        last_line = line;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('*') {
            if section.is_some() {
                return Err(err(
                    line,
                    format!("table `{name}' starts before COMMIT of the previous table"),
                ));
            }
            let kind = TableKind::from_name(name.trim()).ok_or_else(|| {
                err(
                    line,
                    format!("can't initialize iptables table `{name}': Table does not exist"),
                )
            })?;
            let table = if opts.noflush {
                work.table(kind)
                    .cloned()
                    .unwrap_or_else(|| Table::new(kind))
            } else {
                Table::new(kind)
            };
            section = Some(Section::new(table, line));
            continue;
        }
        let Some(sec) = section.as_mut() else {
            return Err(err(
                line,
                "rule or chain outside of a table (no `*table' line before it)".into(),
            ));
        };
        if trimmed == "COMMIT" {
            if let Err(e) = sec.table.validate() {
                let at = sec.line_of(&e);
                return Err(err(
                    at,
                    format!("rule {} in chain {}: {e}", e.rule, e.chain),
                ));
            }
            let done = section.take().map(|s| s.table);
            if let Some(t) = done {
                work.replace_table(t);
            }
            continue;
        }
        if let Some(decl) = trimmed.strip_prefix(':') {
            let words: Vec<&str> = decl.split_whitespace().collect();
            let (name, policy) = match words.as_slice() {
                [n, p] | [n, p, _] => (*n, *p),
                _ => {
                    return Err(err(
                        line,
                        "bad chain declaration, expected `:CHAIN POLICY [packets:bytes]'".into(),
                    ))
                }
            };
            let counters = match words.get(2) {
                Some(c) => Some(
                    parse_counters(c).ok_or_else(|| err(line, format!("bad counters `{c}'")))?,
                ),
                None => None,
            };
            sec.declare(name, policy, counters.filter(|_| opts.counters))
                .map_err(|m| err(line, m))?;
            continue;
        }
        let mut words = split_words(raw);
        let mut counters = None;
        if words.first().is_some_and(|w| w.starts_with('[')) {
            let w = words.remove(0);
            counters =
                Some(parse_counters(&w).ok_or_else(|| err(line, format!("bad counters `{w}'")))?);
        }
        let mut parsed =
            parse_command_in(words, Source::Restore, work.family).map_err(|m| err(line, m))?;
        if opts.packet_path && work.family == Family::V6 {
            parsed.command.check_ipv6_path().map_err(|m| err(line, m))?;
        }
        parsed
            .command
            .resolve_sets(&work.sets, work.family)
            .map_err(|m| err(line, m))?;
        // A `[p:b]` prefix counts only with --counters; a `-c P B` option on the rule is
        // kept either way (iptables 1.8.9's `-L -v` shows it after a plain restore).
        let counters = counters.filter(|_| opts.counters).or(parsed.counters);
        sec.apply(parsed.command, counters, line)
            .map_err(|e| err(line, e.to_string()))?;
    }
    if section.is_some() {
        return Err(err(last_line.max(1), "COMMIT expected".into()));
    }
    *rs = work;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iptables::save_ruleset;

    const BASE: &str = "*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -i lan0 -j ACCEPT\nCOMMIT\n";

    fn loaded(text: &str) -> Ruleset {
        let mut rs = Ruleset::default();
        restore(text, &mut rs, RestoreOptions::default()).unwrap();
        rs
    }

    #[test]
    fn failing_file_applies_nothing_not_even_earlier_tables() {
        let mut rs = loaded(BASE);
        let before = rs.clone();
        let bad = "*nat\n-F\nCOMMIT\n*filter\n-A INPUT -j nowhere\nCOMMIT\n";
        let e = restore(bad, &mut rs, RestoreOptions::default()).unwrap_err();
        assert_eq!(e.line, 5);
        assert_eq!(rs, before);
    }

    #[test]
    fn flush_mode_replaces_named_tables_only() {
        let mut rs = loaded(BASE);
        restore(
            "*filter\n-A INPUT -j DROP\nCOMMIT\n",
            &mut rs,
            RestoreOptions::default(),
        )
        .unwrap();
        let s = save_ruleset(&rs, false);
        assert!(
            s.contains("-A POSTROUTING -o wan0 -j MASQUERADE"),
            "nat untouched"
        );
        assert!(!s.contains("-A FORWARD -i lan0"), "filter replaced");
        assert!(
            s.contains(":FORWARD ACCEPT [0:0]"),
            "policy back to default"
        );
    }

    #[test]
    fn noflush_appends_and_counters_are_kept_on_request() {
        let mut rs = loaded(BASE);
        let opts = RestoreOptions {
            noflush: true,
            counters: true,
            packet_path: false,
        };
        restore("*filter\n:INPUT ACCEPT [3:300]\n[7:800] -A INPUT -j ACCEPT\n-A INPUT -c 9 900 -j DROP\nCOMMIT\n", &mut rs, opts).unwrap();
        let s = save_ruleset(&rs, true);
        assert!(s.contains("[0:0] -A FORWARD -i lan0 -j ACCEPT\n"), "{s}");
        assert!(s.contains(":INPUT ACCEPT [3:300]\n"));
        assert!(
            s.contains("[7:800] -A INPUT -j ACCEPT\n[9:900] -A INPUT -j DROP\n"),
            "{s}"
        );
        // Without --counters they are read and dropped.
        let mut rs = Ruleset::default();
        restore(
            "*filter\n[7:800] -A INPUT -j ACCEPT\nCOMMIT\n",
            &mut rs,
            RestoreOptions::default(),
        )
        .unwrap();
        assert!(save_ruleset(&rs, true).contains("[0:0] -A INPUT -j ACCEPT\n"));
        // ... but a rule's own `-c P B` is kept, as iptables-restore keeps it.
        let mut rs = Ruleset::default();
        restore(
            "*filter\n-A INPUT -c 9 900 -j DROP\nCOMMIT\n",
            &mut rs,
            RestoreOptions::default(),
        )
        .unwrap();
        assert!(save_ruleset(&rs, true).contains("[9:900] -A INPUT -j DROP\n"));
    }

    #[test]
    fn line_numbers_follow_inserts_and_deletes() {
        let text = "*filter\n:a - [0:0]\n-A INPUT -j ACCEPT\n-A INPUT -j ACCEPT\n-I INPUT -j a\n-D INPUT 2\n-I INPUT 2 -j MASQUERADE\nCOMMIT\n";
        let e = restore(text, &mut Ruleset::default(), RestoreOptions::default()).unwrap_err();
        assert_eq!(e.line, 7, "{e}");
    }
}
