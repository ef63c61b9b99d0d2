//! Golden tests: every ruleset under tests/golden/cases was loaded into the real iptables
//! 1.8.9 and saved (tests/golden/gen.sh); `nfdp ruleset --check` must print the same text.
//! Also: check(check(x)) == check(x), and every file under tests/golden/errors is refused.

use control::ruleset_check::check_text_with_sets;
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

fn cases(sub: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(golden_dir().join(sub))
        .expect("golden dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// The rules file's sets (`NAME.ipset` beside it), if any.
fn sets_of(rules: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(rules.with_extension("ipset")).ok()
}

fn check_text_for(rules: &std::path::Path, text: &str) -> Result<String, (usize, String)> {
    check_text_with_sets(sets_of(rules).as_deref(), text)
}

fn first_diff(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  iptables: {w}\n  nfdp:     {g}", i + 1);
        }
    }
    format!(
        "length differs: iptables {} lines, nfdp {} lines",
        want.lines().count(),
        got.lines().count()
    )
}

#[test]
fn goldens_match_iptables_save() {
    let files = cases("cases", "rules");
    assert!(files.len() >= 30, "expected at least 30 golden cases");
    let mut failures = Vec::new();
    for rules in &files {
        let golden = rules.with_extension("golden");
        let want = std::fs::read_to_string(&golden).expect("golden file");
        let text = std::fs::read_to_string(rules).expect("rules file");
        match check_text_for(rules, &text) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{}: {}", rules.display(), first_diff(&want, &got))),
            Err((line, msg)) => failures.push(format!("{}:{line}: {msg}", rules.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} goldens differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn check_is_idempotent() {
    for rules in cases("cases", "rules") {
        let text = std::fs::read_to_string(&rules).expect("rules file");
        let Ok(once) = check_text_for(&rules, &text) else {
            continue;
        };
        // An unclosed quote swallows the line end into a comment (an iptables quirk the
        // goldens record); such output cannot be reloaded by iptables either.
        if once.contains("\n\"") {
            continue;
        }
        let twice = check_text_for(&rules, &once)
            .unwrap_or_else(|(l, m)| panic!("{}: reload failed at {l}: {m}", rules.display()));
        assert_eq!(
            once,
            twice,
            "{}: check(check(x)) != check(x)",
            rules.display()
        );
    }
}

#[test]
fn iptables_refusals_are_refused() {
    let mut accepted = Vec::new();
    for rules in cases("errors", "rules") {
        let text = std::fs::read_to_string(&rules).expect("rules file");
        if check_text_for(&rules, &text).is_ok() {
            accepted.push(rules.display().to_string());
        }
    }
    assert!(
        accepted.is_empty(),
        "iptables refused these, nfdp accepted them:\n{}",
        accepted.join("\n")
    );
}

#[test]
fn shipped_rulesets_load() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("configs") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "rules") {
            let text = std::fs::read_to_string(&p).expect("read");
            check_text_with_sets(None, &text)
                .unwrap_or_else(|(l, m)| panic!("{}:{l}: {m}", p.display()));
            n += 1;
        }
    }
    assert!(n >= 4, "expected the example rulesets in configs/");
}
