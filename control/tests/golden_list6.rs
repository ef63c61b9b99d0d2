//! `ip6tables -L` and `-S` goldens: for every tests/golden/cases6 ruleset, what the real
//! ip6tables 1.8.9 listed (tests/golden/gen-list6.sh) must equal what nfdp's ip6tables
//! command path prints for the same ruleset: NAME.TABLE.txt `-L -n -v --line-numbers`,
//! NAME.filter.plain.txt `-L -n`, NAME.filter.exact.txt `-L -n -v -x`,
//! NAME.filter.names.txt `-L -v`, NAME.TABLE.S.txt `-S`.

use control::iptables::command::parse_command_in;
use control::iptables::{execute_typed, restore, RestoreOptions, Source};
use dataplane::ruleset::{Family, Ruleset};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// The ip6tables options a golden's name stands for.
fn options(variant: Option<&str>) -> &'static [&'static str] {
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
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir().join("list6"))
        .expect("list6 goldens")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for golden in files {
        let name = golden.file_name().unwrap().to_string_lossy().to_string();
        let parts: Vec<&str> = name.trim_end_matches(".txt").split('.').collect();
        let (case, table, variant) = (parts[0], parts[1], parts.get(2).copied());
        let text =
            std::fs::read_to_string(dir().join("cases6").join(format!("{case}.rules"))).unwrap();
        let mut rs = Ruleset::new(Family::V6);
        restore(&text, &mut rs, RestoreOptions::default())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
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
        args.extend(options(variant).iter().map(|a| a.to_string()));
        let cmd = parse_command_in(args, Source::CommandLine, Family::V6).expect("command");
        let got = execute_typed(&mut rs, cmd).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = std::fs::read_to_string(&golden).unwrap();
        checked += 1;
        if got != want {
            let diff = want
                .lines()
                .zip(got.lines())
                .enumerate()
                .find(|(_, (w, g))| w != g)
                .map(|(i, (w, g))| {
                    format!("line {}:\n  ip6tables: {w:?}\n  nfdp:      {g:?}", i + 1)
                })
                .unwrap_or_else(|| {
                    format!("{} vs {} lines", want.lines().count(), got.lines().count())
                });
            failures.push(format!("{name}: {diff}"));
        }
    }
    assert!(checked >= 100, "expected the list6 goldens");
    eprintln!("checked {checked} listings");
    assert!(
        failures.is_empty(),
        "{} of {checked} listings differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
