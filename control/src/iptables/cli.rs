//! What the iptables and iptables-restore programs (1.8.9, nf_tables) print when they
//! refuse something: the parser's and the ruleset's refusals turned into the programs'
//! stderr text and exit status (tests/golden/api holds the captures they follow).
//! 1: a refusal by the "kernel" (`iptables: MSG.`), 2: bad usage (with the `Try ...` line),
//! 3: no such table, 4: an nf_tables batch refused.

use super::command::{Command, ParsedCommand};
use super::exec::ExecError;
use super::restore::RestoreError;
use dataplane::ruleset::{Family, RulesetError, ValidationErrorKind};

const VERSION: &str = "v1.8.9 (nf_tables)";

/// A program's stderr and exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub stderr: String,
    pub code: i32,
}

fn refusal(stderr: String, code: i32) -> Refusal {
    Refusal { stderr, code }
}

fn try_help(prog: &str) -> String {
    format!("Try `{prog} -h' or '{prog} --help' for more information.\n")
}

/// Messages iptables formats with a trailing newline (so a blank line follows them).
fn ends_with_newline(msg: &str) -> bool {
    msg.starts_with("Can't use ")
        || msg.starts_with("log level ")
        || msg.contains(" also requires ")
        || msg.ends_with(" cannot be inverted.")
        // libxt_set's lookup of the set (xtables_error with a trailing newline).
        || (msg.starts_with("Set ") && msg.ends_with(" doesn't exist."))
        || (msg.starts_with("The protocol family of set ") && msg.ends_with(" not applicable."))
        // libxtables' option checks (xtables_options_fcheck).
        || msg.ends_with("\" must be specified")
        || msg.contains("\" cannot be used together with \"")
        || (msg.contains(": bad value for option \"") && msg.ends_with(")."))
        || msg.starts_with("getaddrinfo: ")
        // libxtables' load of an unknown match (checked with iptables- and
        // ip6tables-restore 1.8.9).
        || msg.starts_with("Couldn't load match `")
}

/// Lines an extension printed to stderr before its refusal (libxt_connlabel's
/// `Warning: cannot open ...`), split from the message that follows them.
fn split_warnings(msg: &str) -> (&str, &str) {
    let mut at = 0;
    while msg[at..].starts_with("Warning: ") {
        match msg[at..].find('\n') {
            Some(n) => at += n + 1,
            None => break,
        }
    }
    msg.split_at(at)
}

/// What an extension's final check printed to stderr before the refusal (libxt_NFLOG
/// warns of `--nflog-range` before libxtables refuses it beside `--nflog-size`).
fn warned_before(msg: &str) -> &'static str {
    if msg.starts_with("NFLOG: option \"--nflog-range\" cannot be used together") {
        super::ext::t_nflog::RANGE_WARNING
    } else {
        ""
    }
}

/// The parser's wording where iptables' differs.
fn as_iptables_says(msg: &str) -> String {
    if msg.starts_with("invalid portrange `") && msg.ends_with("(min > max)") {
        return "invalid portrange (min > max)".into();
    }
    if msg == "tcp match: only valid for protocol 6" {
        return "TCP match requires '-p tcp'".into();
    }
    msg.to_string()
}

/// The program that speaks `family`'s language: iptables or ip6tables.
pub fn program(family: Family) -> &'static str {
    match family {
        Family::V4 => "iptables",
        Family::V6 => "ip6tables",
    }
}

/// What `iptables` prints for a command line the parser refused.
pub fn parse_refusal(msg: &str) -> Refusal {
    parse_refusal_in(msg, Family::V4)
}

/// `parse_refusal` of iptables or ip6tables (the program named in it).
pub fn parse_refusal_in(msg: &str, family: Family) -> Refusal {
    let prog = program(family);
    if msg.starts_with("Bad policy name") {
        return refusal(
            format!("{prog}: Bad policy name. Run `dmesg' for more information.\n"),
            1,
        );
    }
    if let Some(rest) = msg.strip_prefix("can't initialize iptables table `") {
        let table = rest.split('\'').next().unwrap_or("");
        return refusal(
            format!(
                "{prog} {VERSION}: table '{table}' does not exist\nPerhaps {prog} or your kernel needs to be upgraded.\n"
            ),
            3,
        );
    }
    if msg.starts_with("The \"nat\" table is not intended for filtering") {
        return refusal(
            format!("{prog} {VERSION}: \n{msg}\n\n\n{}", try_help(prog)),
            2,
        );
    }
    let (warnings, msg) = split_warnings(msg);
    let msg = &as_iptables_says(msg);
    let blank = if ends_with_newline(msg) { "\n" } else { "" };
    refusal(
        format!(
            "{warnings}{}{prog} {VERSION}: {msg}\n{blank}{}",
            warned_before(msg),
            try_help(prog)
        ),
        2,
    )
}

/// What `iptables` prints when `cmd` was parsed but refused by the ruleset.
pub fn exec_refusal(cmd: &ParsedCommand, e: &ExecError) -> Refusal {
    exec_refusal_in(cmd, e, Family::V4)
}

/// `exec_refusal` of iptables or ip6tables (the program named in it).
pub fn exec_refusal_in(cmd: &ParsedCommand, e: &ExecError, family: Family) -> Refusal {
    let prog = program(family);
    let nft_refusal = |op: &str, errno: &str, what: &str| {
        refusal(
            format!("{prog} {VERSION}:  {op} failed ({errno}): {what}\n"),
            4,
        )
    };
    let kernel = |msg: &str| refusal(format!("{prog}: {msg}\n"), 1);
    let parse_refusal = |msg: &str| parse_refusal_in(msg, family);
    let (op, chain) = match &cmd.command {
        Command::Append { chain, .. } => ("RULE_APPEND", chain.as_str()),
        Command::Insert { chain, .. } => ("RULE_INSERT", chain.as_str()),
        Command::Replace { chain, .. } => ("RULE_REPLACE", chain.as_str()),
        Command::Policy { chain, .. } => ("CHAIN_POLICY", chain.as_str()),
        _ => ("RULE_APPEND", ""),
    };
    let rule_in = format!("rule in chain {chain}");
    match e {
        ExecError::Message(m) if m.starts_with("Bad rule") => {
            kernel("Bad rule (does a matching rule exist in that chain?).")
        }
        ExecError::Message(m) if m == "No chain/target/match by that name." => {
            match &cmd.command {
                Command::List { chain: Some(c), .. }
                | Command::ListRules { chain: Some(c), .. } => {
                    refusal(
                        format!(
                            "{prog} {VERSION}: chain `{c}' in table `{}' is incompatible, use 'nft' tool.\n",
                            cmd.table.name()
                        ),
                        1,
                    )
                }
                _ => kernel(m),
            }
        }
        ExecError::Message(m) => parse_refusal(m),
        ExecError::Ruleset(r) => match r {
            RulesetError::NoSuchChain(_) => kernel("No chain/target/match by that name."),
            RulesetError::ChainExists(_) => kernel("Chain already exists."),
            RulesetError::InvalidChainName(c)
                if dataplane::ruleset::Hook::from_chain_name(c).is_some() =>
            {
                kernel("Chain already exists.")
            }
            RulesetError::InvalidChainName(c) => {
                parse_refusal(&format!("Invalid chain name `{c}'"))
            }
            RulesetError::BuiltinChain(c)
            | RulesetError::ChainReferenced(c, _)
            | RulesetError::ChainNotEmpty(c) => {
                nft_refusal("CHAIN_DEL", "Device or resource busy", &format!("chain {c}"))
            }
            RulesetError::PolicyOnUserChain(_) => kernel("Bad built-in chain name."),
            RulesetError::BadRuleNumber(..) => match &cmd.command {
                Command::Insert { .. } => kernel("Index of insertion too big."),
                Command::Replace { .. } => kernel("Index of replacement too big."),
                _ => kernel("Index of deletion too big."),
            },
            RulesetError::NoMatchingRule(_) => {
                kernel("Bad rule (does a matching rule exist in that chain?).")
            }
            RulesetError::Invalid(v) => match &v.kind {
                ValidationErrorKind::UnknownChain(c) => {
                    parse_refusal(&format!("Chain '{c}' does not exist"))
                }
                ValidationErrorKind::Interface { .. } => parse_refusal(&v.to_string()),
                ValidationErrorKind::Rule(m)
                    if m == "tcp match: only valid for protocol 6"
                        || m == dataplane::ruleset::targets::nat::NEED_PORT_PROTO =>
                {
                    parse_refusal(m)
                }
                ValidationErrorKind::Loop(_) => nft_refusal(op, "Too many links", &rule_in),
                ValidationErrorKind::Rule(m) if m.contains("(Numerical result out of range)") => {
                    nft_refusal(op, "Numerical result out of range", &rule_in)
                }
                _ => nft_refusal(op, "Invalid argument", &rule_in),
            },
        },
    }
}

/// What `iptables-restore` prints for a refused text (`text` finds the COMMIT line an
/// error at commit time is reported on).
pub fn restore_refusal(text: &str, e: &RestoreError) -> Refusal {
    restore_refusal_in(text, e, Family::V4)
}

/// `restore_refusal` of iptables-restore or ip6tables-restore (the program named in it).
pub fn restore_refusal_in(text: &str, e: &RestoreError, family: Family) -> Refusal {
    let prog = match family {
        Family::V4 => "iptables-restore",
        Family::V6 => "ip6tables-restore",
    };
    let at = |line: usize, msg: &str| {
        let (warnings, msg) = split_warnings(msg);
        let msg = &as_iptables_says(msg);
        let blank = if ends_with_newline(msg) { "\n" } else { "" };
        refusal(
            format!(
                "{warnings}{}{prog} {VERSION}: {msg}\n{blank}Error occurred at line: {line}\n{}",
                warned_before(msg),
                try_help(prog)
            ),
            2,
        )
    };
    let commit_line = || {
        text.lines()
            .enumerate()
            .skip(e.line.saturating_sub(1))
            .find(|(_, l)| l.trim() == "COMMIT")
            .map_or(e.line, |(i, _)| i + 1)
    };
    let m = e.message.as_str();
    if m == "COMMIT expected" {
        return refusal(
            format!(
                "{prog}: COMMIT expected at line {}\n",
                text.lines().count() + 1
            ),
            1,
        );
    }
    if m.starts_with("rule or chain outside of a table") {
        return refusal(format!("{prog}: line {} failed\n", e.line), 1);
    }
    if m.starts_with("Bad policy name") {
        return refusal(
            format!("{prog}: line {} failed: Bad policy name.\n", e.line),
            1,
        );
    }
    if m.starts_with("chain `") && m.ends_with("' does not exist") {
        return refusal(
            format!(
                "{prog}: line {} failed: No chain/target/match by that name.\n",
                e.line
            ),
            1,
        );
    }
    if let Some(rest) = m.strip_prefix("can't initialize iptables table `") {
        let table = rest.split('\'').next().unwrap_or("");
        return at(
            e.line,
            &format!("{prog}: line {} table name '{table}' invalid", e.line),
        );
    }
    if m.starts_with("Bad argument") {
        return refusal(
            format!(
                "{m}\nError occurred at line: {}\n{}",
                e.line,
                try_help(prog)
            ),
            2,
        );
    }
    // Refusals at COMMIT: "rule N in chain C: MSG".
    if let Some((chain, msg)) = m
        .strip_prefix("rule ")
        .and_then(|r| r.split_once(" in chain "))
        .and_then(|(_, r)| r.split_once(": "))
    {
        if let Some(c) = msg
            .strip_prefix("unknown target or chain `")
            .and_then(|c| c.strip_suffix('\''))
        {
            return at(commit_line(), &format!("Chain '{c}' does not exist"));
        }
        if msg.starts_with("Can't use ")
            || msg == "tcp match: only valid for protocol 6"
            || msg == dataplane::ruleset::targets::nat::NEED_PORT_PROTO
        {
            return at(e.line, msg);
        }
        let errno = if msg.starts_with("jump loop") {
            "Too many links"
        } else if msg.contains("(Numerical result out of range)") {
            "Numerical result out of range"
        } else {
            "Invalid argument"
        };
        return refusal(
            format!(
                "{prog} {VERSION}: \nline {}: RULE_APPEND failed ({errno}): rule in chain {chain}\n",
                e.line
            ),
            4,
        );
    }
    at(e.line, m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iptables::command::{parse_command, Source};
    use crate::iptables::exec::execute_typed;
    use dataplane::ruleset::Ruleset;

    fn iptables(words: &str) -> Refusal {
        let words = words.split(' ').map(str::to_string).collect();
        match parse_command(words, Source::CommandLine) {
            Err(m) => parse_refusal(&m),
            Ok(cmd) => {
                let e = execute_typed(&mut Ruleset::default(), cmd.clone()).expect_err("refused");
                exec_refusal(&cmd, &e)
            }
        }
    }

    /// What iptables 1.8.9 printed for these commands in a namespace without
    /// /etc/xtables/connlabel.conf.
    #[test]
    fn connlabel_refusals_as_iptables_prints_them() {
        if std::path::Path::new(super::super::ext::connlabel::LABEL_FILE).exists() {
            return; // the host names labels: `foo` may be one
        }
        let r = iptables("-A INPUT -m connlabel --label foo --set");
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (
                2,
                "Warning: cannot open /etc/xtables/connlabel.conf: No such file or directory\n\
                 iptables v1.8.9 (nf_tables): label 'foo' not found or invalid value\n\
                 Try `iptables -h' or 'iptables --help' for more information.\n"
            )
        );
        let r = iptables("-A INPUT -m connlabel --label 128 -j ACCEPT");
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (
                4,
                "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Numerical result out of range): rule in chain INPUT\n"
            )
        );
    }
}
