//! Listing goldens, both families: what the real iptables/ip6tables 1.8.9 listed must
//! equal nfdp's listing of the same ruleset.
//!
//! IPv4 (tests/golden/gen-list.sh): for a subset of the golden cases, list/NAME.TABLE.txt
//! `-L -n -v --line-numbers`, NAME.TABLE.plain.txt `-L -n`, NAME.TABLE.exact.txt
//! `-L -n -v -x`, through `list_table`.
//! IPv6 (tests/golden/gen-list6.sh): for every cases6 ruleset, list6/ with the same names
//! plus NAME.filter.names.txt `-L -v` and NAME.TABLE.S.txt `-S`, through the ip6tables
//! command path.

use control::iptables::command::parse_command_in;
use control::iptables::{execute_typed, list::list_table, restore, ListOptions};
use control::iptables::{RestoreOptions, Source};
use dataplane::ruleset::{Family, Ruleset, TableKind};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// The ruleset of golden case `case` under `cases` (with its ipset file, if any).
fn load(cases: &str, case: &str, family: Family) -> Ruleset {
    let cases = dir().join(cases);
    let text = std::fs::read_to_string(cases.join(format!("{case}.rules"))).unwrap();
    let mut rs = Ruleset::new(family);
    if let Ok(sets) = std::fs::read_to_string(cases.join(format!("{case}.ipset"))) {
        control::ipset::restore(&mut rs, &sets, false, 0).expect("sets");
    }
    restore(&text, &mut rs, RestoreOptions::default()).unwrap_or_else(|e| panic!("{case}: {e}"));
    rs
}

/// Compares every golden NAME.TABLE[.VARIANT].txt under `list` with what `listing` prints
/// for (NAME, TABLE, VARIANT); at least `min` of them.
fn check_listings(
    list: &str,
    tool: &str,
    min: usize,
    listing: impl Fn(&str, &str, Option<&str>) -> String,
) {
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir().join(list))
        .expect("list goldens")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for golden in files {
        let name = golden.file_name().unwrap().to_string_lossy().to_string();
        let parts: Vec<&str> = name.trim_end_matches(".txt").split('.').collect();
        let (case, table, variant) = (parts[0], parts[1], parts.get(2).copied());
        let got = listing(case, table, variant);
        let want = std::fs::read_to_string(&golden).unwrap();
        checked += 1;
        if got != want {
            let diff = want
                .lines()
                .zip(got.lines())
                .enumerate()
                .find(|(_, (w, g))| w != g)
                .map(|(i, (w, g))| {
                    format!("line {}:\n  {tool:<9}: {w:?}\n  nfdp     : {g:?}", i + 1)
                })
                .unwrap_or_else(|| {
                    format!("{} vs {} lines", want.lines().count(), got.lines().count())
                });
            failures.push(format!("{name}: {diff}"));
        }
    }
    assert!(checked >= min, "expected the {list} goldens");
    eprintln!("checked {checked} listings");
    assert!(
        failures.is_empty(),
        "{} of {checked} listings differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn listings_match_iptables() {
    check_listings("list", "iptables", 60, |case, table, variant| {
        let opts = match variant {
            None => ListOptions {
                numeric: true,
                verbose: true,
                exact: false,
                line_numbers: true,
            },
            Some("plain") => ListOptions {
                numeric: true,
                ..Default::default()
            },
            Some("exact") => ListOptions {
                numeric: true,
                verbose: true,
                exact: true,
                line_numbers: false,
            },
            Some(v) => panic!("unknown variant {v}"),
        };
        let rs = load("cases", case, Family::V4);
        let kind = TableKind::from_name(table).unwrap();
        list_table(rs.table(kind).unwrap(), None, opts).unwrap()
    });
}

/// The ip6tables options a golden's variant stands for.
fn options6(variant: Option<&str>) -> &'static [&'static str] {
    match variant {
        None => &["-L", "-n", "-v", "--line-numbers"],
        Some("plain") => &["-L", "-n"],
        Some("exact") => &["-L", "-n", "-v", "-x"],
        Some("names") => &["-L", "-v"],
        Some("S") => &["-S"],
        Some(v) => panic!("unknown variant {v}"),
    }
}

#[test]
fn listings_match_ip6tables() {
    check_listings("list6", "ip6tables", 100, |case, table, variant| {
        let mut rs = load("cases6", case, Family::V6);
        // ip6tables 1.8.9 (nf_tables) drops the counters ip6tables-restore gives a rule
        // (`-c P B`, `[P:B]`; iptables keeps them): nfdp keeps them for both families, so
        // they are cleared here to compare the rest.
        for t in &mut rs.tables {
            for c in &mut t.chains {
                c.rules
                    .iter_mut()
                    .for_each(|r| r.counters = Default::default());
            }
        }
        let mut args = vec!["-t".to_string(), table.to_string()];
        args.extend(options6(variant).iter().map(|a| a.to_string()));
        let cmd = parse_command_in(args, Source::CommandLine, Family::V6).expect("command");
        execute_typed(&mut rs, cmd).unwrap_or_else(|e| panic!("{case}.{table}: {e}"))
    });
}
