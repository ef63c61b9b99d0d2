//! iptables-restore's refusal texts: every case of tests/golden/errors (captured from
//! iptables-restore 1.8.9 by gen.sh) restored over BASELINE.txt must print the same stderr
//! and exit status through `iptables::cli::restore_refusal` (what the API's Restore
//! answers), except the recorded deviations below.

use control::iptables::cli::restore_refusal;
use control::iptables::{restore, RestoreOptions};
use dataplane::ruleset::Ruleset;
use std::path::PathBuf;

/// Cases whose text nfdp does not reproduce (the refusal itself matches: nothing changes).
/// `! --limit`: the parser says `unexpected "!" before "--limit"` where iptables names
/// the match (`limit: option "--limit" cannot be inverted.`).
const DEVIATIONS: &[&str] = &["limit_negated"];

#[test]
fn restore_refusals_print_what_iptables_restore_prints() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/errors");
    let baseline = std::fs::read_to_string(dir.join("BASELINE.txt")).unwrap();
    let mut base = Ruleset::default();
    restore(&baseline, &mut base, RestoreOptions::default()).unwrap();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    let mut matched = 0;
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(case).unwrap();
        let expect = std::fs::read_to_string(case.with_extension("expect")).unwrap();
        let mut lines: Vec<&str> = expect.lines().collect();
        let code: i32 = lines.remove(0).parse().unwrap();
        lines.pop(); // "untouched: ..."
        let stderr = format!("{}\n", lines.join("\n"));
        let mut before = base.clone();
        if let Ok(sets) = std::fs::read_to_string(case.with_extension("ipset")) {
            control::ipset::restore(&mut before, &sets, false, 0).unwrap();
        }
        let mut rs = before.clone();
        let e = restore(&text, &mut rs, RestoreOptions::default()).expect_err(&name);
        assert_eq!(rs, before, "{name}: a refused restore changed the ruleset");
        let got = restore_refusal(&text, &e);
        if (got.code, got.stderr.as_str()) == (code, stderr.as_str()) {
            matched += 1;
            assert!(!DEVIATIONS.contains(&name.as_str()), "{name} matches now");
        } else if !DEVIATIONS.contains(&name.as_str()) {
            failures.push(format!(
                "{name}:\n  want {code} {stderr:?}\n  got  {} {:?}",
                got.code, got.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{matched} match; these differ:\n{}",
        failures.join("\n")
    );
}
