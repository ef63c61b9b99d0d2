//! Replays tests/golden/arptables/*.cmds against nfdp's arptables and compares the
//! transcript with the one arptables 1.8.9 (nf_tables) wrote on the kernel
//! (tests/golden/gen-arptables.sh explains the format).

use control::arptables::{exec, restore, save};
use dataplane::arptables::ArpTable;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/arptables")
}

fn transcript(name: &str) -> String {
    let d = dir();
    let cmds = std::fs::read_to_string(d.join(format!("{name}.cmds"))).unwrap();
    let mut t = ArpTable::default();
    let mut out = String::new();
    for line in cmds.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push_str(&format!("$ {line}\n"));
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        let code = match words[0].as_str() {
            "save" => {
                let text = save(&t, words.get(1).is_some_and(|w| w == "-c"), "DATE");
                for l in text.lines().filter(|l| !l.starts_with("# ")) {
                    out.push_str(l);
                    out.push('\n');
                }
                0
            }
            "restore" => {
                let text = std::fs::read_to_string(d.join(&words[1])).unwrap();
                match restore(&mut t, &text, false) {
                    Ok(()) => 0,
                    Err(e) => {
                        out.push_str(&e.stderr);
                        e.code
                    }
                }
            }
            _ => {
                let o = exec(&mut t, &words);
                // The golden holds stdout and stderr together; arptables writes one or the
                // other, warnings first.
                out.push_str(&o.stderr);
                out.push_str(&o.stdout);
                o.code
            }
        };
        if code != 0 {
            out.push_str(&format!("[exit {code}]\n"));
        }
    }
    out
}

fn check(name: &str) {
    let want = std::fs::read_to_string(dir().join(format!("{name}.golden"))).unwrap();
    let got = transcript(name);
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(8)
            .map(|(i, (a, b))| format!("line {}:\n  kernel: {a}\n  nfdp:   {b}", i + 1))
            .collect();
        panic!(
            "{name}: transcript differs from arptables 1.8.9 ({} vs {} lines)\n{}\n--- nfdp ---\n{got}",
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn seeds() {
    check("seeds");
}

#[test]
fn options() {
    check("options");
}

#[test]
fn chains() {
    check("chains");
}

#[test]
fn mangle() {
    check("mangle");
}

#[test]
fn errors() {
    check("errors");
}

#[test]
fn restore_files() {
    check("restore");
}

/// A refused command or restore leaves the table as it was.
#[test]
fn refusals_change_nothing() {
    let mut t = ArpTable::default();
    let w = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(exec(&mut t, &w("-N spoof")).code, 0);
    assert_eq!(exec(&mut t, &w("-A INPUT -j spoof")).code, 0);
    let before = t.clone();
    for bad in [
        "-A INPUT -s 10.0.0.300 -j DROP",
        "-X spoof",
        "-A INPUT -j mangle",
        "-A INPUT -j CLASSIFY --set-class 1:2",
        "-E spoof INPUT",
        "-D INPUT 3",
    ] {
        assert_ne!(exec(&mut t, &w(bad)).code, 0, "{bad}");
        assert_eq!(t, before, "{bad}");
    }
    // Names with blanks (one word, quoted on a command line) could not be saved.
    // -E checks the new name as -N does (arptables does not, and cannot restore it).
    for bad in [
        vec!["-N", "a b"],
        vec!["-E", "spoof", "c d"],
        vec!["-E", "spoof", "abcdefghijklmnopqrstuvwxyz0123"],
        vec!["-E", "spoof", "ACCEPT"],
    ] {
        let words: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
        let out = exec(&mut t, &words);
        assert_eq!(out.code, 2, "{bad:?}");
        assert_eq!(t, before);
    }
    let e = restore(&mut t, "*filter\n:INPUT DROP\n-A INPUT -j nowhere\n", false).unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(t, before);
}
