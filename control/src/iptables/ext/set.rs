//! libxt_set (match revision 4): `[!] --match-set NAME src|dst[,...]`,
//! `--return-nomatch`, `! --update-counters`, `! --update-subcounters`,
//! `[!] --packets-eq N`, `--packets-lt|gt N`, `[!] --bytes-eq N`, `--bytes-lt|gt N`.
//! The set's index is filled in by `resolve` against the set table (`Set NAME doesn't
//! exist.` otherwise), as iptables asks the kernel for it while parsing.

use super::{parse_uint, Args};
use dataplane::ipset::elem::{CounterCmp, TestFlags};
use dataplane::ipset::{Dirs, SetTable, MAX_DIRS, MAX_NAME_LEN};
use dataplane::ruleset::matches::set::SetMatch;
use dataplane::ruleset::Family;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--match-set",
    "--return-nomatch",
    "--update-counters",
    "--update-subcounters",
    "--packets-eq",
    "--packets-lt",
    "--packets-gt",
    "--bytes-eq",
    "--bytes-lt",
    "--bytes-gt",
];

/// Not resolved yet: no set has this index.
pub const UNRESOLVED: u32 = u32::MAX;

/// `src,dst,...` as the match and the SET target take it.
pub fn parse_dirs(s: &str) -> Result<Dirs, String> {
    let mut dirs = Dirs {
        src_bits: 0,
        count: 0,
    };
    for (i, w) in s.split(',').enumerate() {
        if i >= MAX_DIRS {
            return Err(format!("Can't be more src/dst options than {MAX_DIRS}."));
        }
        match w {
            "src" => dirs.src_bits |= 1 << i,
            "dst" => {}
            _ => {
                return Err("You must spefify (the comma separated list of) 'src' or 'dst'.".into())
            }
        }
        dirs.count += 1;
    }
    Ok(dirs)
}

pub fn fmt_dirs(d: Dirs, out: &mut String) {
    for i in 0..usize::from(d.count) {
        if i > 0 {
            out.push(',');
        }
        out.push_str(if d.src(i) { "src" } else { "dst" });
    }
}

/// A set name as iptables checks it before asking the kernel.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "setname `{name}' too long, max {MAX_NAME_LEN} characters."
        ));
    }
    Ok(())
}

fn counter_value(s: &str) -> Result<u64, String> {
    parse_uint(s).ok_or_else(|| format!("Cannot parse {s} as a counter value"))
}

/// Set `name`'s index as libxt_set's `get_set_byname` finds it for a rule of `family`:
/// refused when there is no such set, or when it is a set of the other family (a
/// bitmap:port or list:set has none and serves both).
pub fn set_index(name: &str, sets: &SetTable, family: Family) -> Result<u32, String> {
    let index = sets
        .index(name)
        .ok_or_else(|| format!("Set {name} doesn't exist."))?;
    match sets.get(index).and_then(|s| s.set.family()) {
        Some(f) if f != family => Err(format!(
            "The protocol family of set {name} is {}, which is not applicable.",
            if f == Family::V4 { "IPv4" } else { "IPv6" }
        )),
        _ => Ok(index),
    }
}

/// Fills in the set's index; iptables' refusal when there is no such set (or it is of
/// the other family).
pub fn resolve(m: &mut SetMatch, sets: &SetTable, family: Family) -> Result<(), String> {
    m.index = set_index(&m.name, sets, family)?;
    Ok(())
}

fn counter(out: &mut String, what: &str, c: Option<(CounterCmp, u64)>, listing: bool) {
    let Some((op, v)) = c else {
        return;
    };
    let (inv, op) = match op {
        CounterCmp::Eq => (false, "eq"),
        CounterCmp::Ne => (true, "eq"),
        CounterCmp::Lt => (false, "lt"),
        CounterCmp::Gt => (false, "gt"),
    };
    let dashes = if listing { "" } else { "--" };
    let _ = write!(
        out,
        " {}{dashes}{what}-{op} {v}",
        if inv { "! " } else { "" }
    );
}

fn print(m: &SetMatch, out: &mut String, listing: bool) {
    let dashes = if listing { "" } else { "--" };
    let _ = write!(
        out,
        " {}{dashes}match-set {} ",
        if m.inv { "! " } else { "" },
        m.name
    );
    fmt_dirs(m.dirs, out);
    if m.flags.return_nomatch {
        let _ = write!(out, " {dashes}return-nomatch");
    }
    if m.flags.skip_counter_update {
        let _ = write!(out, " ! {dashes}update-counters");
    }
    if m.flags.skip_subcounter_update {
        let _ = write!(out, " ! {dashes}update-subcounters");
    }
    counter(out, "packets", m.flags.packets, listing);
    counter(out, "bytes", m.flags.bytes, listing);
}

impl super::MatchText for SetMatch {
    fn new(_name: &str) -> Self {
        SetMatch {
            inv: false,
            name: String::new(),
            index: UNRESOLVED,
            dirs: Dirs {
                src_bits: 0,
                count: 0,
            },
            flags: TestFlags::default(),
        }
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        match o {
            "--match-set" => {
                let (Some(name), Some(dirs)) = (args.take_word(), args.take_word()) else {
                    return Err("--match-set requires two args.".into());
                };
                check_name(&name)?;
                self.dirs = parse_dirs(&dirs)?;
                self.name = name;
                self.inv = inv;
            }
            "--return-nomatch" => {
                if inv {
                    return Err("--return-nomatch flag cannot be inverted".into());
                }
                self.flags.return_nomatch = true;
            }
            // Only the negated forms do anything (the default is to update).
            "--update-counters" => self.flags.skip_counter_update = inv,
            "--update-subcounters" => self.flags.skip_subcounter_update = inv,
            _ => {
                let (packets, op) = match o {
                    "--packets-eq" => (true, CounterCmp::Eq),
                    "--packets-lt" => (true, CounterCmp::Lt),
                    "--packets-gt" => (true, CounterCmp::Gt),
                    "--bytes-eq" => (false, CounterCmp::Eq),
                    "--bytes-lt" => (false, CounterCmp::Lt),
                    _ => (false, CounterCmp::Gt),
                };
                let op = match (op, inv) {
                    (CounterCmp::Eq, true) => CounterCmp::Ne,
                    (op, false) => op,
                    (_, true) => return Err(format!("{o} option cannot be inverted")),
                };
                let slot = if packets {
                    &mut self.flags.packets
                } else {
                    &mut self.flags.bytes
                };
                if slot.is_some() {
                    let what = if packets { "packets" } else { "bytes" };
                    return Err(format!("only one of the --{what}-[eq|lt|gt] is allowed"));
                }
                let v = counter_value(&args.value(o)?)?;
                *slot = Some((op, v));
            }
        }
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if !seen.contains(&"--match-set") {
            return Err("You must specify `--match-set' with proper arguments".into());
        }
        let _ = self;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let m = self;
        print(m, out, false);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let m = self;
        print(m, out, true);
    }
}
