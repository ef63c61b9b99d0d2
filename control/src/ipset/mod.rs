//! The ipset language (ipset 7.17): the commands `create add del test destroy list save
//! flush rename swap restore` with `-exist`, `-terse`, `-name`, the `ipset save` /
//! `ipset restore` format, and ipset's messages. Commands edit the `SetTable` held in
//! the `Ruleset` (so rules and sets are checked against each other); the caller
//! publishes the table to the workers.

pub mod elem;
pub mod print;

use crate::iptables::lexer::split_words;
use dataplane::ipset::{AddExt, IpSet, SetError, SetOptions, SetTable, SetType, MAX_NAME_LEN};
use dataplane::ruleset::{Family, Ruleset};
use std::sync::Arc;

pub const VERSION: &str = "v7.17";

/// What the `ipset` program would print and return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Output {
    fn error(msg: &str, code: i32) -> Output {
        let mut stderr = format!("ipset {VERSION}: {msg}\n");
        if code == 2 {
            stderr.push_str("Try `ipset help' for more information.\n");
        }
        Output {
            stderr,
            code,
            ..Output::default()
        }
    }
}

/// A refusal: the message and ipset's exit status (2 for usage errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub code: i32,
}

impl Refusal {
    fn usage(message: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            code: 2,
        }
    }
}

impl From<String> for Refusal {
    fn from(message: String) -> Refusal {
        Refusal { message, code: 1 }
    }
}

impl From<&str> for Refusal {
    fn from(message: &str) -> Refusal {
        Refusal::from(message.to_string())
    }
}

impl From<SetError> for Refusal {
    fn from(e: SetError) -> Refusal {
        let code = if matches!(e, SetError::UnknownArgument(_)) {
            2
        } else {
            1
        };
        Refusal {
            message: e.to_string(),
            code,
        }
    }
}

/// Global options of one command.
#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    exist: bool,
    style: print::ListStyle,
}

fn command_name(w: &str) -> Option<&'static str> {
    Some(match w {
        "create" | "n" | "-N" | "--create" => "create",
        "add" | "-A" | "--add" => "add",
        "del" | "-D" | "--del" => "del",
        "test" | "-T" | "--test" => "test",
        "destroy" | "x" | "-X" | "--destroy" => "destroy",
        "list" | "-L" | "--list" => "list",
        "save" | "-S" | "--save" => "save",
        "flush" | "-F" | "--flush" => "flush",
        "rename" | "e" | "-E" | "--rename" => "rename",
        "swap" | "w" | "-W" | "--swap" => "swap",
        "restore" | "-R" | "--restore" => "restore",
        "version" | "-V" | "-v" | "--version" => "version",
        _ => return None,
    })
}

fn check_name(name: &str) -> Result<(), Refusal> {
    // ipset takes these too but saves them as text `ipset restore` reads back wrong.
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'')
    {
        return Err(format!(
            "Syntax error: setname '{name}' is empty or has a space or quote (nfdp refuses them: they would not restore)"
        )
        .into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "Syntax error: setname '{name}' is longer than {MAX_NAME_LEN} characters"
        )
        .into());
    }
    Ok(())
}

fn number<T: TryFrom<u64>>(opt: &str, v: Option<&String>) -> Result<T, Refusal> {
    let v = v.ok_or_else(|| {
        Refusal::from(format!("Syntax error: option '{opt}' requires an argument"))
    })?;
    crate::iptables::ext::parse_uint(v)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| Refusal::from(format!("Syntax error: '{v}' is invalid as number")))
}

fn parse_create(words: &[String]) -> Result<(String, IpSet), Refusal> {
    let [name, type_name, opts @ ..] = words else {
        return Err(Refusal::usage(
            "Missing mandatory argument(s) to the command",
        ));
    };
    check_name(name)?;
    let set_type = SetType::from_name(type_name)
        .ok_or_else(|| Refusal::from(format!("Syntax error: typename '{type_name}' is unknown")))?;
    let mut o = SetOptions {
        initval: random_initval(name),
        ..SetOptions::default()
    };
    let mut range = None;
    let mut family_given = false;
    let mut netmask = None;
    let mut i = 0;
    while i < opts.len() {
        let opt = opts[i].as_str();
        let arg = opts.get(i + 1);
        let takes = |allowed: bool| -> Result<(), Refusal> {
            if allowed {
                Ok(())
            } else {
                Err(Refusal::usage(format!("Unknown argument: `{opt}'")))
            }
        };
        let hash = set_type.is_hash();
        match opt {
            "family" => {
                takes(hash)?;
                if family_given {
                    return Err("Syntax error: family already specified".into());
                }
                family_given = true;
                o.family = match arg.map(String::as_str) {
                    Some("inet" | "ipv4") => Family::V4,
                    Some("inet6" | "ipv6") => Family::V6,
                    Some(f) => return Err(format!("Syntax error: unknown inet family {f}").into()),
                    None => return Err("Syntax error: option 'family' requires an argument".into()),
                };
            }
            "hashsize" => {
                takes(hash)?;
                o.hashsize = number(opt, arg)?;
            }
            "maxelem" => {
                takes(hash)?;
                o.maxelem = number(opt, arg)?;
            }
            "netmask" => {
                takes(set_type == SetType::HashIp)?;
                netmask = Some(number::<u8>(opt, arg)?);
            }
            "bucketsize" => {
                takes(hash)?;
                o.bucketsize = number(opt, arg)?;
            }
            "initval" => {
                takes(hash)?;
                o.initval = number(opt, arg)?;
            }
            "timeout" => o.timeout = Some(number(opt, arg)?),
            "size" => {
                takes(set_type == SetType::ListSet)?;
                o.size = number(opt, arg)?;
            }
            "range" => {
                takes(set_type == SetType::BitmapPort)?;
                let v = arg.ok_or("Syntax error: option 'range' requires an argument")?;
                let ports =
                    elem::parse(SetType::BitmapPort, Family::V4, v, &SetTable::default())
                        .map_err(|_| format!("Syntax error: cannot parse '{v}' as a port range"))?;
                range = match (ports.first(), ports.last()) {
                    (
                        Some(dataplane::ipset::Elem::Port(a)),
                        Some(dataplane::ipset::Elem::Port(b)),
                    ) => Some((*a, *b)),
                    _ => None,
                };
            }
            "counters" | "comment" => {
                if opt == "counters" {
                    o.counters = true;
                } else {
                    o.comment = true;
                }
                i += 1;
                continue;
            }
            _ => return Err(Refusal::usage(format!("Unknown argument: `{opt}'"))),
        }
        i += 2;
    }
    if let Some(m) = netmask {
        let host = if o.family == Family::V6 { 128 } else { 32 };
        if !(1..=host).contains(&m) {
            return Err(
                format!("Syntax error: netmask is out of the inclusive range of 1-{host}").into(),
            );
        }
        o.netmask = Some(m);
    }
    if set_type == SetType::BitmapPort {
        o.range = range.ok_or(Refusal::usage("Mandatory option `range' is missing"))?;
    }
    Ok((name.clone(), IpSet::new(set_type, o)))
}

/// The kernel draws a random `initval`; nfdp derives one from the name and the clock.
fn random_initval(name: &str) -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let h = name
        .bytes()
        .fold(t, |h, b| dataplane::hash::mix64(h ^ u64::from(b)));
    (h >> 32) as u32
}

fn parse_add_ext(opts: &[String], set: &IpSet) -> Result<AddExt, Refusal> {
    let mut ext = AddExt::default();
    let mut i = 0;
    while i < opts.len() {
        let opt = opts[i].as_str();
        let arg = opts.get(i + 1);
        match opt {
            "timeout" => ext.timeout = Some(number(opt, arg)?),
            "packets" => ext.packets = Some(number(opt, arg)?),
            "bytes" => ext.bytes = Some(number(opt, arg)?),
            "comment" => {
                let c = arg.ok_or("Syntax error: option 'comment' requires an argument")?;
                if c.contains('"') {
                    return Err("Syntax error: \" character is not permitted in comments".into());
                }
                if !set.options.comment {
                    return Err(SetError::NoComment.into());
                }
                if !c.is_empty() {
                    ext.comment = Some(c.clone());
                }
            }
            "nomatch" if set.set_type.has_nomatch() => {
                ext.nomatch = true;
                i += 1;
                continue;
            }
            _ => return Err(Refusal::usage(format!("Unknown argument: `{opt}'"))),
        }
        i += 2;
    }
    Ok(ext)
}

/// Splits a command line as ipset does (words, double quotes keep spaces).
pub fn split(line: &str) -> Vec<String> {
    split_words(line)
}

/// Runs one command (its words, without the program name) against the ruleset's sets.
/// Edits apply whole or not at all; `Ok` is stdout.
fn run(rs: &mut Ruleset, words: &[String], now_ns: u64) -> Result<Output, Refusal> {
    let mut flags = Flags::default();
    let mut rest = Vec::new();
    let mut command = None;
    for w in words {
        match w.as_str() {
            "-exist" | "-!" | "--exist" => flags.exist = true,
            "-terse" | "-t" | "--terse" => flags.style.terse = true,
            "-name" | "-n" | "--name" => flags.style.names_only = true,
            "-quiet" | "-q" | "-sorted" | "-s" | "-resolve" | "-r" => {}
            _ if command.is_none() => match command_name(w) {
                Some(c) => command = Some(c),
                None => {
                    return Err(Refusal::usage(format!(
                        "No command specified: unknown argument {w}"
                    )))
                }
            },
            _ => rest.push(w.clone()),
        }
    }
    let Some(command) = command else {
        return Err(Refusal::usage("No command specified."));
    };
    let mut out = Output::default();
    match command {
        "list" => {
            out.stdout = print::list(rs, rest.first().map(String::as_str), flags.style, now_ns)?;
            return Ok(out);
        }
        "save" => {
            out.stdout = print::save(rs, rest.first().map(String::as_str), now_ns)?;
            return Ok(out);
        }
        _ => {}
    }
    let used: std::collections::HashSet<u32> = rs.set_references().collect();
    let in_use = |sets: &SetTable, name: &str| sets.index(name).is_some_and(|i| used.contains(&i));
    // Edited in place: copied only where a published snapshot still shares it. Every
    // refusal below comes before the edit, except in a range, which is undone.
    let sets = Arc::make_mut(&mut rs.sets);
    match command {
        "version" => out.stdout = format!("ipset {VERSION}, protocol version: 7\n"),
        "create" => {
            let (name, set) = parse_create(&rest)?;
            sets.create(&name, set, flags.exist)?;
        }
        "add" | "del" | "test" => {
            let [name, elem_text, opts @ ..] = rest.as_slice() else {
                return Err(Refusal::usage(
                    "Missing mandatory argument(s) to the command",
                ));
            };
            let slot = sets.by_name(name).ok_or(SetError::NoSuchSet)?;
            let set_type = slot.set.set_type;
            let ext = parse_add_ext(opts, &slot.set)?;
            let family = slot.set.options.family;
            let elems = elem::parse(set_type, family, elem_text, sets).map_err(Refusal::from)?;
            let elems = elem::netmasked(elems, slot.set.options.netmask);
            if command == "test" {
                let set = &slot.set;
                let all = elems.iter().all(|e| set.test_elem(e, now_ns));
                return Ok(if all {
                    Output {
                        stderr: format!("Warning: {elem_text} is in set {name}.\n"),
                        ..Output::default()
                    }
                } else {
                    Output {
                        stderr: format!("{elem_text} is NOT in set {name}.\n"),
                        code: 1,
                        ..Output::default()
                    }
                });
            }
            let set = sets.set_mut(name)?;
            let undo = (elems.len() > 1).then(|| set.clone());
            for e in &elems {
                let r = if command == "add" {
                    set.add(e, &ext, flags.exist, now_ns)
                } else {
                    set.del(e, flags.exist, now_ns)
                };
                if let Err(err) = r {
                    if let Some(old) = undo {
                        *set = old;
                    }
                    return Err(err.into());
                }
            }
        }
        "destroy" => match rest.first() {
            Some(name) => {
                let busy = in_use(sets, name);
                sets.destroy(name, busy)?
            }
            None => {
                if !used.is_empty() {
                    return Err(SetError::InUseDestroy.into());
                }
                *sets = SetTable::default();
            }
        },
        "flush" => {
            let names: Vec<String> = match rest.first() {
                Some(n) => vec![n.clone()],
                None => sets.iter().map(|(_, s)| s.name.clone()).collect(),
            };
            for n in names {
                sets.set_mut(&n)?.flush();
            }
        }
        "rename" | "swap" => {
            let [from, to] = rest.as_slice() else {
                return Err(Refusal::usage(
                    "Missing mandatory argument(s) to the command",
                ));
            };
            check_name(to)?;
            if command == "rename" {
                let busy = in_use(sets, from);
                sets.rename(from, to, busy)?;
            } else {
                sets.swap(from, to)?;
            }
        }
        _ => return Err(Refusal::usage("restore reads its commands from the input")),
    }
    Ok(out)
}

/// `ipset ARGS...`: the output and exit status ipset would give; `rs` changes only when
/// the command succeeds.
pub fn exec(rs: &mut Ruleset, words: &[String], now_ns: u64) -> Output {
    match run(rs, words, now_ns) {
        Ok(o) => o,
        Err(r) => Output::error(&r.message, r.code),
    }
}

/// A refused restore: the line (1-based) and ipset's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreError {
    pub line: usize,
    pub message: String,
}

impl RestoreError {
    /// ipset's text for it.
    pub fn to_ipset(&self) -> String {
        format!(
            "ipset {VERSION}: Error in line {}: {}\n",
            self.line, self.message
        )
    }
}

/// `ipset restore [-exist]`: every line a command (`create`, `add`, `del`, ...), blank
/// lines and `#` comments skipped, `COMMIT` ignored. All of it applies, or (on error)
/// none of it (ipset itself keeps what went in before the failing line).
pub fn restore(rs: &mut Ruleset, text: &str, exist: bool, now_ns: u64) -> Result<(), RestoreError> {
    let mut work = rs.clone();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t == "COMMIT" {
            continue;
        }
        let mut words = split(t);
        if exist {
            words.insert(0, "-exist".into());
        }
        let err = |message: String| RestoreError {
            line: i + 1,
            message,
        };
        match words.iter().find_map(|w| command_name(w)) {
            Some("list" | "save" | "restore" | "test" | "version") | None => {
                return Err(err(format!(
                    "Syntax error: '{t}' is not allowed in restore"
                )));
            }
            _ => {}
        }
        run(&mut work, &words, now_ns).map_err(|r| err(r.message))?;
    }
    *rs = work;
    Ok(())
}
