//! libxt_SET (target revision 3): `--add-set NAME src|dst[,...]`, `--del-set NAME ...`,
//! `--exist` and `--timeout N` (both for `--add-set` only). A `!` before an option is
//! accepted and ignored, as iptables ignores it. `--map-set` is refused: nfdp's sets
//! carry no skbinfo extension to map from. Set indices are filled in by `resolve`.

use super::set::{check_name, fmt_dirs, parse_dirs, UNRESOLVED};
use super::{parse_uint, Args};
use dataplane::ipset::SetTable;
use dataplane::ruleset::targets::set::{SetRef, SetTarget};

pub const OPTIONS: &[&str] = &[
    "--add-set",
    "--del-set",
    "--exist",
    "--timeout",
    "--map-set",
    "--map-mark",
    "--map-prio",
    "--map-queue",
];

pub fn parse(t: &mut SetTarget, o: &str, args: &mut Args) -> Result<(), String> {
    match o {
        "--add-set" | "--del-set" => {
            let add = o == "--add-set";
            let slot = if add { &mut t.add } else { &mut t.del };
            if slot.is_some() {
                return Err(format!("{o} can be specified only once"));
            }
            let (Some(name), Some(dirs)) = (args.take_word(), args.take_word()) else {
                return Err(format!("{o} requires two args."));
            };
            check_name(&name)?;
            *slot = Some(SetRef {
                dirs: parse_dirs(&dirs)?,
                name,
                index: UNRESOLVED,
            });
        }
        "--exist" => t.exist = true,
        "--timeout" => {
            let v = args.value(o)?;
            t.timeout = Some(
                parse_uint(&v)
                    .filter(|n| *n < u64::from(u32::MAX))
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        "Invalid value for option --timeout or out of range 0-4294967294"
                            .to_string()
                    })?,
            );
        }
        _ => {
            return Err(format!(
                "SET {o} is not supported by nfdp: its sets carry no skbinfo (mark, priority, queue) to map"
            ))
        }
    }
    Ok(())
}

/// Fills in the sets' indices; iptables' refusal when a set is missing or of the other
/// family.
pub fn resolve(
    t: &mut SetTarget,
    sets: &SetTable,
    family: dataplane::ruleset::Family,
) -> Result<(), String> {
    for r in t.add.iter_mut().chain(t.del.iter_mut()) {
        r.index = super::set::set_index(&r.name, sets, family)?;
    }
    Ok(())
}

fn print(t: &SetTarget, out: &mut String, listing: bool) {
    let dashes = if listing { "" } else { "--" };
    let mut set = |what: &str, r: &SetRef| {
        out.push_str(&format!(" {dashes}{what} {} ", r.name));
        fmt_dirs(r.dirs, out);
    };
    if let Some(r) = &t.add {
        set("add-set", r);
    }
    if let Some(r) = &t.del {
        set("del-set", r);
    }
    if t.exist {
        out.push_str(&format!(" {dashes}exist"));
    }
    if let Some(n) = t.timeout {
        out.push_str(&format!(" {dashes}timeout {n}"));
    }
}

impl super::TargetText for SetTarget {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        // libxt_SET takes a `!` before its options and ignores it.
        let _ = inv;
        parse(self, opt, args)
    }

    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        if self.add.is_none() && self.del.is_none() {
            return Err("You must specify either `--add-set' or `--del-set' or `--map-set'".into());
        }
        if self.add.is_none() {
            if self.exist {
                return Err("Flag `--exist' can be used with `--add-set' only".into());
            }
            if self.timeout.is_some() {
                return Err("Option `--timeout' can be used with `--add-set' only".into());
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let t = self;
        print(t, out, false);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let t = self;
        print(t, out, true);
    }

    fn repeated(opt: &str) -> String {
        match opt {
            "--add-set" | "--del-set" => format!("{opt} can be specified only once"),
            _ => format!("multiple {opt} flags not allowed"),
        }
    }
}
