//! The arptables language (arptables 1.8.9, nf_tables): commands, `arptables-save` and
//! `arptables-restore`, with arptables' messages and exit codes (tests/golden/arptables).
//! Commands edit the `ArpTable` held in the `Ruleset`; the caller publishes it. A refused
//! command or restore changes nothing.

pub mod parse;
pub mod print;

use crate::iptables::lexer::split_words;
use dataplane::arptables::{ArpChain, ArpTable, ArpTableError, ArpTarget};
use parse::{Command, Parsed};

pub const VERSION: &str = "v1.8.9 (nf_tables)";

/// A new chain's name must be shorter than this (arptables-nft's limit).
const CHAIN_NAME_MAX: usize = 29;

/// Names a new chain may not take.
const TARGETS: [&str; 5] = ["ACCEPT", "DROP", "RETURN", "mangle", "CLASSIFY"];

/// What the `arptables` program would print and return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Why a command is refused, in arptables' words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fail {
    /// A usage error (exit 2, with the "Try" line).
    Usage(String),
    /// `arptables: MSG` (exit 1).
    Plain(String),
    /// What the kernel refused (exit 4): the operation and the chain.
    Kernel(&'static str, &'static str, String),
    /// `-L` of a chain that does not exist (arptables-nft's words, exit 1).
    NoListChain(String),
    /// `-t` of a table other than filter (exit 3).
    NoTable(String),
    /// A word that is not an option (exit 2).
    BadArgument(String),
}

impl Fail {
    fn code(&self) -> i32 {
        match self {
            Fail::Usage(_) | Fail::BadArgument(_) => 2,
            Fail::Plain(_) | Fail::NoListChain(_) => 1,
            Fail::Kernel(..) => 4,
            Fail::NoTable(_) => 3,
        }
    }

    /// The message as `prog` (`arptables` or `arptables-restore`) prints it; `line` for
    /// a restore.
    fn render(&self, prog: &str, line: Option<usize>) -> String {
        let at = line.map_or(String::new(), |l| format!("Error occurred at line: {l}\n"));
        let try_line = format!("Try `{prog} -h' or '{prog} --help' for more information.\n");
        match self {
            Fail::Usage(m) => format!("{prog} {VERSION}: {m}\n{at}{try_line}"),
            Fail::Plain(m) => format!("arptables: {m}\n{at}"),
            Fail::Kernel(op, why, chain) => {
                format!("{prog} {VERSION}:  {op} failed ({why}): {chain}\n{at}")
            }
            Fail::NoListChain(c) => format!(
                "{prog} {VERSION}: chain `{c}' in table `filter' is incompatible, use 'nft' tool.\n"
            ),
            Fail::NoTable(t) => format!(
                "{prog} {VERSION}: table '{t}' does not exist\nPerhaps arptables or your kernel needs to be upgraded.\n"
            ),
            Fail::BadArgument(w) => format!("Bad argument `{w}'\n{at}{try_line}"),
        }
    }
}

/// The checks of `-N` (and of a restore's chain lines): shorter than `CHAIN_NAME_MAX`,
/// not a target's name, no blank.
fn check_new_name(c: &str) -> Result<(), Fail> {
    if c.len() >= CHAIN_NAME_MAX {
        return Err(Fail::Usage(format!(
            "chain name `{c}' too long (must be under {CHAIN_NAME_MAX} chars)"
        )));
    }
    if TARGETS.contains(&c) {
        return Err(Fail::Usage(
            "chain name may not clash with target name".into(),
        ));
    }
    if c.is_empty() || c.contains(char::is_whitespace) {
        return Err(Fail::Usage(format!("Invalid chain name `{c}'")));
    }
    Ok(())
}

fn no_chain() -> Fail {
    Fail::Plain("No chain/target/match by that name.".into())
}

fn chain_mut<'a>(t: &'a mut ArpTable, name: &str) -> Result<&'a mut ArpChain, Fail> {
    t.chain_mut(name).ok_or_else(no_chain)
}

/// Chains that `name` selects for -L/-S/-F/-Z (all of them without one).
fn selected<'a>(t: &'a ArpTable, name: &Option<String>) -> Result<Vec<&'a ArpChain>, Fail> {
    match name {
        None => Ok(t.chains.iter().collect()),
        Some(n) => t
            .chain(n)
            .map(|c| vec![c])
            .ok_or_else(|| Fail::NoListChain(n.clone())),
    }
}

/// Where a table the command produced is refused at load: the kernel's error. In a
/// restore (`now` false) the whole table is checked at COMMIT instead.
fn kernel_check(t: &ArpTable, op: &'static str, chain: &str, now: bool) -> Result<(), Fail> {
    if !now {
        return Ok(());
    }
    t.validate().map_err(|e| match e {
        ArpTableError::Loop { .. } | ArpTableError::TooDeep { .. } => Fail::Kernel(
            op,
            "Too many levels of symbolic links",
            format!("rule in chain {chain}"),
        ),
        _ => Fail::Kernel(op, "Invalid argument", format!("rule in chain {chain}")),
    })
}

/// Applies one parsed command to `t`; `check_jumps`: a `-j` to a missing chain is refused
/// now (a command) rather than at COMMIT (a restore).
fn apply(t: &mut ArpTable, p: Parsed, check_jumps: bool) -> Result<String, Fail> {
    if let Some(j) = &p.jump {
        if check_jumps && t.chain(j).is_none_or(|c| c.policy.is_some()) {
            return Err(Fail::Usage(format!("Chain '{j}' does not exist")));
        }
    }
    if let Some(ArpTarget::Mangle(m)) = &p.rule.target {
        if m.is_empty() {
            let chain = match &p.command {
                Command::Append(c) | Command::Insert(c, _) | Command::Replace(c, _) => c.clone(),
                _ => String::new(),
            };
            return Err(Fail::Kernel(
                op_name(&p.command),
                "Invalid argument",
                format!("rule in chain {chain}"),
            ));
        }
    }
    let mut next = t.clone();
    let op = op_name(&p.command);
    let same = |a: &dataplane::arptables::ArpRule, b: &dataplane::arptables::ArpRule| {
        a.spec == b.spec && a.target == b.target
    };
    match p.command {
        Command::Append(c) => {
            chain_mut(&mut next, &c)?.rules.push(p.rule);
            kernel_check(&next, op, &c, check_jumps)?;
        }
        Command::Insert(c, n) => {
            let ch = chain_mut(&mut next, &c)?;
            if n > ch.rules.len() + 1 {
                return Err(Fail::Plain("Index of insertion too big.".into()));
            }
            ch.rules.insert(n - 1, p.rule);
            kernel_check(&next, op, &c, check_jumps)?;
        }
        Command::Replace(c, n) => {
            let ch = chain_mut(&mut next, &c)?;
            let slot = ch
                .rules
                .get_mut(n - 1)
                .ok_or_else(|| Fail::Plain("Index of replacement too big.".into()))?;
            *slot = p.rule;
            kernel_check(&next, op, &c, check_jumps)?;
        }
        Command::Delete(c, n) => {
            let ch = chain_mut(&mut next, &c)?;
            let at = match n {
                None => ch
                    .rules
                    .iter()
                    .position(|r| same(r, &p.rule))
                    .ok_or_else(|| {
                        Fail::Plain("Bad rule (does a matching rule exist in that chain?).".into())
                    })?,
                Some(n) if n > ch.rules.len() => {
                    return Err(Fail::Plain("Index of deletion too big.".into()))
                }
                Some(n) => n - 1,
            };
            ch.rules.remove(at);
        }
        Command::Check(c) => {
            let ch = next.chain(&c).ok_or_else(no_chain)?;
            if !ch.rules.iter().any(|r| same(r, &p.rule)) {
                return Err(Fail::Plain(
                    "Bad rule (does a matching rule exist in that chain?).".into(),
                ));
            }
            return Ok(String::new());
        }
        Command::List(c) => {
            return Ok(print::list(t, &selected(t, &c)?, p.list));
        }
        Command::ListRules(c) => return Ok(print::list_rules(&selected(t, &c)?)),
        Command::Flush(c) => {
            let names: Vec<String> = selected(t, &c)
                .map_err(|_| no_chain())?
                .iter()
                .map(|c| c.name.clone())
                .collect();
            for n in names {
                chain_mut(&mut next, &n)?.rules.clear();
            }
        }
        Command::Zero(c) => {
            selected(t, &c).map_err(|_| no_chain())?;
            // Every rule's count starts again (the workers' too: a new epoch).
            for ch in &mut next.chains {
                if c.as_ref().is_none_or(|n| *n == ch.name) {
                    for r in &mut ch.rules {
                        r.packets = 0;
                        r.bytes = 0;
                    }
                }
            }
            next.epoch += 1;
        }
        Command::NewChain(c) => {
            check_new_name(&c)?;
            if next.chain(&c).is_some() {
                return Err(Fail::Plain("Chain already exists.".into()));
            }
            next.chains.push(ArpChain {
                name: c,
                policy: None,
                rules: Vec::new(),
            });
        }
        Command::DeleteChain(c) => {
            let victims: Vec<String> = match &c {
                Some(n) => match next.chain(n) {
                    Some(ch) if ch.policy.is_none() => vec![n.clone()],
                    _ => return Err(no_chain()),
                },
                None => next
                    .chains
                    .iter()
                    .filter(|c| c.policy.is_none())
                    .map(|c| c.name.clone())
                    .collect(),
            };
            // A chain still jumped to (from outside what is deleted) stays.
            let busy = victims.iter().find(|v| {
                next.chains
                    .iter()
                    .filter(|c| !victims.contains(&c.name))
                    .flat_map(|c| &c.rules)
                    .any(|r| matches!(&r.target, Some(ArpTarget::Jump(j)) if j == *v))
            });
            if let Some(v) = busy {
                return Err(Fail::Kernel(
                    "CHAIN_DEL",
                    "Device or resource busy",
                    format!("chain {v}"),
                ));
            }
            next.chains.retain(|c| !victims.contains(&c.name));
        }
        Command::Policy(c, pol) => {
            let ch = next
                .chain_mut(&c)
                .filter(|ch| ch.policy.is_some())
                .ok_or_else(|| Fail::Plain("Bad built-in chain name.".into()))?;
            ch.policy = Some(match pol.as_str() {
                "ACCEPT" => true,
                "DROP" => false,
                _ => {
                    return Err(Fail::Plain(
                        "Bad policy name. Run `dmesg' for more information.".into(),
                    ))
                }
            });
        }
        Command::Rename(old, new) => {
            // arptables renames to any name, also one it would not create and whose saved
            // text then does not restore; nfdp checks it as -N does (docs/deviations.md).
            check_new_name(&new)?;
            if next.chain(&new).is_some() {
                return Err(Fail::Plain("File exists.".into()));
            }
            let ch = next
                .chain_mut(&old)
                .filter(|ch| ch.policy.is_none())
                .ok_or_else(no_chain)?;
            ch.name = new.clone();
            for r in next.chains.iter_mut().flat_map(|c| &mut c.rules) {
                if let Some(ArpTarget::Jump(j)) = &mut r.target {
                    if *j == old {
                        *j = new.clone();
                    }
                }
            }
        }
    }
    *t = next;
    Ok(String::new())
}

fn op_name(c: &Command) -> &'static str {
    match c {
        Command::Insert(..) => "RULE_INSERT",
        Command::Replace(..) => "RULE_REPLACE",
        _ => "RULE_APPEND",
    }
}

/// `arptables WORDS...` against `t`.
pub fn exec(t: &mut ArpTable, words: &[String]) -> Output {
    let (parsed, warnings) = match parse::parse(words) {
        Ok(mut p) => {
            let w = std::mem::take(&mut p.warnings);
            (Ok(p), w)
        }
        Err(e) => (Err(e), Vec::new()),
    };
    let mut stderr: String = warnings.iter().map(|w| format!("{w}\n")).collect();
    match parsed.and_then(|p| apply(t, p, true)) {
        Ok(stdout) => Output {
            stdout,
            stderr,
            code: 0,
        },
        Err(e) => {
            stderr.push_str(&e.render("arptables", None));
            Output {
                stdout: String::new(),
                stderr,
                code: e.code(),
            }
        }
    }
}

/// A refused `arptables-restore`: arptables-restore's message and exit status, and the
/// line to blame (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreError {
    pub line: usize,
    pub message: String,
    pub stderr: String,
    pub code: i32,
}

/// `arptables-restore [--counters]`: the text replaces the table (all of it or nothing).
/// A section ends at COMMIT, at the next `*table` or at the end of the text (what
/// arptables-save writes has no COMMIT).
pub fn restore(t: &mut ArpTable, text: &str, counters: bool) -> Result<(), RestoreError> {
    let fail = |line: usize, f: Fail| RestoreError {
        line,
        message: f.render("arptables-restore", None).trim_end().to_string(),
        stderr: f.render("arptables-restore", Some(line)),
        code: f.code(),
    };
    let mut result = t.clone();
    let mut section: Option<ArpTable> = None;
    let mut last = 0;
    let commit = |section: &mut Option<ArpTable>, into: &mut ArpTable, line: usize| {
        if let Some(s) = section.take() {
            s.validate().map_err(|e| {
                let f = match e {
                    ArpTableError::NoChain { target, .. } => {
                        Fail::Usage(format!("Chain '{target}' does not exist"))
                    }
                    e => Fail::Usage(e.to_string()),
                };
                fail(line, f)
            })?;
            *into = ArpTable {
                epoch: into.epoch,
                ..s
            };
        }
        Ok(())
    };
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        last = line;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(table) = l.strip_prefix('*') {
            commit(&mut section, &mut result, line)?;
            if table != "filter" {
                return Err(fail(line, Fail::NoTable(table.to_string())));
            }
            section = Some(ArpTable::default());
            continue;
        }
        let Some(s) = section.as_mut() else {
            return Err(fail(line, Fail::Usage("no table specified".into())));
        };
        if l == "COMMIT" {
            commit(&mut section, &mut result, line)?;
            continue;
        }
        if let Some(decl) = l.strip_prefix(':') {
            let mut w = decl.split_whitespace();
            let name = w.next().unwrap_or_default();
            let pol = w.next().unwrap_or("-");
            match s.chain_mut(name) {
                Some(c) if c.policy.is_some() => {
                    c.policy = Some(match pol {
                        "ACCEPT" => true,
                        "DROP" => false,
                        _ => {
                            return Err(fail(line, Fail::Usage(format!("Bad policy name `{pol}'"))))
                        }
                    })
                }
                Some(_) => {}
                // Any other name is a user chain, whatever its policy field says (as
                // arptables-restore 1.8.9 takes `:FORWARD ACCEPT`).
                None => {
                    let mut p = parse::parse(&["-N".to_string(), name.to_string()])
                        .map_err(|e| fail(line, e))?;
                    p.warnings.clear();
                    apply(s, p, false).map_err(|e| fail(line, e))?;
                }
            }
            continue;
        }
        let mut rest = l;
        let mut given: Option<(u64, u64)> = None;
        if let Some(after) = l.strip_prefix('[') {
            let (c, tail) = after
                .split_once(']')
                .ok_or_else(|| fail(line, Fail::Usage("Bad counter".into())))?;
            let (p, b) = c
                .split_once(':')
                .and_then(|(p, b)| Some((p.parse().ok()?, b.parse().ok()?)))
                .ok_or_else(|| fail(line, Fail::Usage("Bad counter".into())))?;
            given = Some((p, b));
            rest = tail;
        }
        let words = split_words(rest);
        let mut p = parse::parse(&words).map_err(|e| fail(line, e))?;
        if let (true, Some((pk, by))) = (counters, given) {
            p.rule.packets = pk;
            p.rule.bytes = by;
        }
        let mut edited = s.clone();
        apply(&mut edited, p, false).map_err(|e| fail(line, e))?;
        *s = edited;
    }
    commit(&mut section, &mut result, last.max(1))?;
    *t = result;
    Ok(())
}

/// `arptables-save [-c]`, with its comment lines.
pub fn save(t: &ArpTable, counters: bool, when: &str) -> String {
    format!(
        "# Generated by arptables-save {VERSION} on {when}\n{}# Completed on {when}\n",
        print::save_body(t, counters)
    )
}
