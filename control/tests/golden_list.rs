//! `iptables -L` goldens: for a subset of the golden cases, what the real iptables 1.8.9
//! listed (tests/golden/gen-list.sh) must equal nfdp's listing of the same ruleset.

use control::iptables::{list::list_table, restore, ListOptions, RestoreOptions};
use dataplane::ruleset::{Ruleset, TableKind};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

#[test]
fn listings_match_iptables() {
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir().join("list"))
        .expect("list goldens")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for golden in files {
        let name = golden.file_name().unwrap().to_string_lossy().to_string();
        let parts: Vec<&str> = name.trim_end_matches(".txt").split('.').collect();
        let (case, table, variant) = (parts[0], parts[1], parts.get(2).copied());
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
        let text =
            std::fs::read_to_string(dir().join("cases").join(format!("{case}.rules"))).unwrap();
        let mut rs = Ruleset::default();
        let sets = dir().join("cases").join(format!("{case}.ipset"));
        if let Ok(sets) = std::fs::read_to_string(sets) {
            control::ipset::restore(&mut rs, &sets, false, 0).expect("sets");
        }
        restore(&text, &mut rs, RestoreOptions::default())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let kind = TableKind::from_name(table).unwrap();
        let got = list_table(rs.table(kind).unwrap(), None, opts).unwrap();
        let want = std::fs::read_to_string(&golden).unwrap();
        checked += 1;
        if got != want {
            let diff = want
                .lines()
                .zip(got.lines())
                .enumerate()
                .find(|(_, (w, g))| w != g)
                .map(|(i, (w, g))| format!("line {}:\n  iptables: {w:?}\n  nfdp:     {g:?}", i + 1))
                .unwrap_or_else(|| {
                    format!("{} vs {} lines", want.lines().count(), got.lines().count())
                });
            failures.push(format!("{name}: {diff}"));
        }
    }
    assert!(checked >= 60, "expected the list goldens");
    eprintln!("checked {checked} listings");
    assert!(
        failures.is_empty(),
        "{} of {checked} listings differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
