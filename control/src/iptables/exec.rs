//! Runs a parsed iptables command against a ruleset, the way `iptables` does against the
//! kernel: edits are validated and applied whole or not at all, listings are returned as
//! text.

use super::command::{Command, ParsedCommand};
use super::save::list_rules;
use dataplane::ruleset::{
    Counters, Policy, Rule, RuleSpec, Ruleset, RulesetError, Table, TableKind,
};

fn with_counters(spec: RuleSpec, counters: Option<Counters>) -> Rule {
    let mut r = Rule::new(spec);
    r.counters = counters.unwrap_or_default();
    r
}

fn push_rules(
    t: &mut Table,
    chain: &str,
    at: Option<usize>,
    rules: Vec<Rule>,
) -> Result<(), RulesetError> {
    for (i, r) in rules.into_iter().enumerate() {
        let counters = r.counters;
        let pos = match at {
            Some(n) => {
                t.insert(chain, n + i, r.spec)?;
                n + i - 1
            }
            None => {
                t.append(chain, r.spec)?;
                t.chain(chain).map_or(0, |c| c.rules.len() - 1)
            }
        };
        if let Some(rule) = t.chain_mut(chain).and_then(|c| c.rules.get_mut(pos)) {
            rule.counters = counters;
        }
    }
    Ok(())
}

/// Why a command was refused, kept typed so that callers can print what iptables prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    Ruleset(RulesetError),
    Message(String),
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::Ruleset(e) => write!(f, "{e}"),
            ExecError::Message(m) => f.write_str(m),
        }
    }
}

impl From<String> for ExecError {
    fn from(m: String) -> Self {
        ExecError::Message(m)
    }
}

impl From<&str> for ExecError {
    fn from(m: &str) -> Self {
        ExecError::Message(m.to_string())
    }
}

/// Executes one command. `Ok` carries what iptables would print on stdout.
pub fn execute(rs: &mut Ruleset, cmd: ParsedCommand) -> Result<String, String> {
    execute_typed(rs, cmd).map_err(|e| e.to_string())
}

/// `execute`, with the refusal typed.
pub fn execute_typed(rs: &mut Ruleset, mut cmd: ParsedCommand) -> Result<String, ExecError> {
    cmd.command.resolve_sets(&rs.sets, rs.family)?;
    let kind = cmd.table;
    let counters = cmd.counters;
    let err = ExecError::Ruleset;
    match cmd.command {
        Command::Append { chain, rules } => {
            let rules = rules
                .into_iter()
                .map(|s| with_counters(s, counters))
                .collect();
            rs.edit(kind, |t| push_rules(t, &chain, None, rules))
                .map_err(err)?;
        }
        Command::Insert { chain, num, rules } => {
            let rules = rules
                .into_iter()
                .map(|s| with_counters(s, counters))
                .collect();
            rs.edit(kind, |t| push_rules(t, &chain, Some(num), rules))
                .map_err(err)?;
        }
        Command::DeleteNum { chain, num } => {
            rs.edit(kind, |t| t.delete_num(&chain, num)).map_err(err)?
        }
        Command::Delete { chain, rules } => rs
            .edit(kind, |t| {
                rules.iter().try_for_each(|s| t.delete_spec(&chain, s))
            })
            .map_err(err)?,
        Command::Replace { chain, num, rule } => rs
            .edit(kind, |t| t.replace(&chain, num, rule))
            .map_err(err)?,
        Command::Check { chain, rules } => {
            let t = rs.table(kind).cloned().unwrap_or_else(|| Table::new(kind));
            for spec in &rules {
                if !t.check(&chain, spec).map_err(err)? {
                    return Err("Bad rule (does a matching rule exist in that chain?).".into());
                }
            }
        }
        Command::Flush { chain } => rs.edit(kind, |t| t.flush(chain.as_deref())).map_err(err)?,
        Command::Zero {
            chain: Some(chain),
            rule: Some(n),
        } => {
            let found = rs
                .edit(kind, |t| {
                    let c = t
                        .chain_mut(&chain)
                        .ok_or_else(|| RulesetError::NoSuchChain(chain.clone()))?;
                    Ok(c.rules
                        .get_mut(n - 1)
                        .map(|r| r.counters = Counters::default())
                        .is_some())
                })
                .map_err(err)?;
            if !found {
                return Err("Bad rule (does a matching rule exist in that chain?).".into());
            }
        }
        Command::Zero { chain, .. } => rs.edit(kind, |t| t.zero(chain.as_deref())).map_err(err)?,
        Command::NewChain { chain } => rs.edit(kind, |t| t.new_chain(&chain)).map_err(err)?,
        Command::DeleteChain { chain } => rs
            .edit(kind, |t| t.delete_chain(chain.as_deref()))
            .map_err(err)?,
        Command::Policy { chain, policy } => {
            // The iptables command refuses DROP in nat (iptables-restore accepts it).
            if kind == TableKind::Nat && policy == Policy::Drop {
                return Err("The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.".into());
            }
            rs.edit(kind, |t| {
                t.set_policy(&chain, policy)?;
                if let (Some(c), Some(n)) = (t.chain_mut(&chain), counters) {
                    c.counters = n;
                }
                Ok(())
            })
            .map_err(err)?
        }
        Command::Rename { old, new } => {
            rs.edit(kind, |t| t.rename_chain(&old, &new)).map_err(err)?
        }
        Command::ListRules {
            chain: Some(chain),
            rule: Some(n),
        } => {
            let t = rs.table(kind).cloned().unwrap_or_else(|| Table::new(kind));
            let c = t
                .chain(&chain)
                .ok_or("No chain/target/match by that name.")?;
            let mut out = String::new();
            if let Some(r) = c.rules.get(n - 1) {
                super::save::list_rule(&chain, r, cmd.list.verbose, &mut out);
            }
            return Ok(out);
        }
        Command::List {
            chain: Some(chain),
            rule: Some(n),
        } => {
            let t = rs.table(kind).cloned().unwrap_or_else(|| Table::new(kind));
            return Ok(super::list::list_one(&t, &chain, n, cmd.list, rs.family)?);
        }
        Command::ListRules { chain, .. } => {
            let t = rs.table(kind).cloned().unwrap_or_else(|| Table::new(kind));
            return Ok(list_rules(&t, chain.as_deref(), cmd.list.verbose)?);
        }
        Command::List { chain, .. } => {
            let t = rs.table(kind).cloned().unwrap_or_else(|| Table::new(kind));
            return Ok(super::list::list_table_in(
                &t,
                chain.as_deref(),
                cmd.list,
                rs.family,
            )?);
        }
    }
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iptables::command::{parse_command, Source};
    use crate::iptables::save_ruleset;

    fn run(rs: &mut Ruleset, line: &str) -> Result<String, String> {
        let words = crate::iptables::lexer::split_words(line);
        execute(rs, parse_command(words, Source::CommandLine)?)
    }

    #[test]
    fn commands_edit_like_iptables() {
        let mut rs = Ruleset::default();
        run(&mut rs, "-N web").unwrap();
        run(&mut rs, "-A INPUT -p tcp --dport 80 -j web").unwrap();
        run(&mut rs, "-A web -s 10.0.0.0/8 -j ACCEPT").unwrap();
        run(&mut rs, "-I web -j LOG --log-prefix \"web: \"").unwrap();
        run(&mut rs, "-A web -j DROP").unwrap();
        run(&mut rs, "-R web 3 -j REJECT").unwrap();
        run(&mut rs, "-D web -s 10.0.0.0/8 -j ACCEPT").unwrap();
        run(&mut rs, "-C web -j REJECT").unwrap();
        assert!(run(&mut rs, "-C web -j ACCEPT").is_err());
        run(&mut rs, "-t nat -A POSTROUTING -o wan0 -j MASQUERADE").unwrap();
        run(&mut rs, "-P FORWARD DROP").unwrap();
        run(&mut rs, "-E web www").unwrap();
        let s = run(&mut rs, "-S").unwrap();
        assert_eq!(
            s,
            "-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-N www\n\
             -A INPUT -p tcp -m tcp --dport 80 -j www\n\
             -A www -j LOG --log-prefix \"web: \"\n\
             -A www -j REJECT --reject-with icmp-port-unreachable\n"
        );
        let saved = save_ruleset(&rs, false);
        assert!(saved.contains("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n"));
        run(&mut rs, "-F www").unwrap();
        run(&mut rs, "-D INPUT 1").unwrap();
        run(&mut rs, "-X www").unwrap();
        assert_eq!(
            run(&mut rs, "-S www").unwrap_err(),
            "No chain/target/match by that name."
        );
    }

    #[test]
    fn refused_commands_change_nothing() {
        let mut rs = Ruleset::default();
        run(&mut rs, "-N a").unwrap();
        run(&mut rs, "-N b").unwrap();
        run(&mut rs, "-A a -j b").unwrap();
        let before = rs.clone();
        let cases = [
            ("-A b -j a", "jump loop: a -> b -> a"),
            ("-A a -j a", "jump loop: a -> a"),
            ("-X b", "cannot delete chain `b': it is referenced by 1 rule"),
            ("-X a", "cannot delete chain `a': chain is not empty"),
            ("-X INPUT", "cannot delete or rename built-in chain `INPUT'"),
            ("-P a DROP", "cannot set a policy on user chain `a'"),
            ("-A OUTPUT -i eth0 -j ACCEPT", "Can't use -i with OUTPUT"),
            ("-A INPUT -o eth0 -j ACCEPT", "Can't use -o with INPUT"),
            ("-A INPUT -j nosuch", "unknown target or chain `nosuch'"),
            ("-A INPUT -j REJECT --reject-with tcp-reset", "REJECT: --reject-with tcp-reset is only valid with -p tcp"),
            ("-A INPUT -j MASQUERADE", "target MASQUERADE is only valid in the nat table, not in filter"),
            ("-t nat -A PREROUTING -j MASQUERADE", "target MASQUERADE is not allowed in chain PREROUTING; only in POSTROUTING"),
            ("-t nat -P PREROUTING DROP", "The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited."),
            ("-A INPUT --dport 22 -j ACCEPT", "unknown option \"--dport\""),
            ("-D INPUT 1", "index of rule 1 in chain `INPUT' is too big"),
            ("-N INPUT", "invalid chain name `INPUT'"),
            ("-N a", "chain `a' already exists"),
        ];
        for (line, want) in cases {
            assert_eq!(run(&mut rs, line).unwrap_err(), want, "{line}");
            assert_eq!(rs, before, "{line} changed the ruleset");
        }
    }
}
