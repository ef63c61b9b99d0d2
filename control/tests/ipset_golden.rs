//! ipset goldens: every tests/golden/ipset/NAME.ipset was restored into the real ipset
//! 7.17 and saved and listed (tests/golden/ipset/gen.sh); nfdp's `ipset restore` then
//! `save` / `list` must print the same text. The kernel prints members in its hash order
//! and its own allocation size, so members are compared as a set per set and `Size in
//! memory` is not compared; an `initval` the input does not give is random in both.
//! `err_*.ipset` are refused with ipset's exit status and message.

use control::ipset::{exec, print::ListStyle, restore};
use dataplane::ruleset::Ruleset;
use std::collections::BTreeSet;
use std::path::PathBuf;

const T0: u64 = 1_800_000_000_000_000_000;
/// The kernel listed a moment after the restore: half a second later, whole seconds left
/// read one less, as there.
const LISTED: u64 = T0 + 500_000_000;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/ipset")
}

fn inputs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("golden dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipset"))
        .collect();
    v.sort();
    v
}

/// Sets whose create line gives an initval (printed back as given).
fn given_initval(input: &str) -> BTreeSet<String> {
    input
        .lines()
        .filter(|l| l.starts_with("create ") && l.contains(" initval "))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// A member's seconds left depend on when the kernel was asked (`timeout 5` just after the
/// add, `4` a jiffy later): a live timeout reads as `timeout ~`, a permanent one as `0`
/// (the seconds themselves are checked with a fake clock in dataplane::ipset).
fn member(line: &str) -> String {
    let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
    for i in 1..words.len() {
        if words[i - 1] == "timeout" && words[i] != "0" {
            words[i] = "~".into();
        }
    }
    words.join(" ")
}

fn without_initval(line: &str) -> String {
    match line.find(" initval 0x") {
        Some(i) => format!("{} initval 0x?", &line[..i]),
        None => line.to_string(),
    }
}

/// `ipset save` text as (create line, members) per set.
fn save_blocks(text: &str, keep: &BTreeSet<String>) -> Vec<(String, BTreeSet<String>)> {
    let mut out: Vec<(String, BTreeSet<String>)> = Vec::new();
    for l in text.lines() {
        if l.starts_with("create ") {
            let name = l.split_whitespace().nth(1).unwrap_or("");
            let head = if keep.contains(name) {
                l.to_string()
            } else {
                without_initval(l)
            };
            out.push((head, BTreeSet::new()));
        } else if let Some(b) = out.last_mut() {
            b.1.insert(member(l));
        }
    }
    out
}

/// `ipset list` text as (header lines, members) per set.
fn list_blocks(text: &str, keep: &BTreeSet<String>) -> Vec<(Vec<String>, BTreeSet<String>)> {
    text.split("\n\n")
        .map(|block| {
            let mut head = Vec::new();
            let mut members = BTreeSet::new();
            let mut in_members = false;
            let name = block
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("Name: "))
                .unwrap_or("")
                .to_string();
            for l in block.lines() {
                if in_members {
                    members.insert(member(l));
                } else if l.starts_with("Size in memory: ") {
                    head.push("Size in memory: ?".to_string());
                } else if l.starts_with("Header: ") && !keep.contains(&name) {
                    head.push(without_initval(l));
                } else {
                    in_members = l == "Members:";
                    head.push(l.to_string());
                }
            }
            (head, members)
        })
        .collect()
}

#[test]
fn ipset_save_and_list_match_the_kernel() {
    let mut n = 0;
    for input in inputs() {
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        if name.starts_with("err_") {
            continue;
        }
        let text = std::fs::read_to_string(&input).unwrap();
        let mut rs = Ruleset::default();
        restore(&mut rs, &text, false, T0).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let keep = given_initval(&text);
        let want = std::fs::read_to_string(input.with_extension("save")).unwrap();
        let got = control::ipset::print::save(&rs, None, LISTED).unwrap();
        assert_eq!(
            save_blocks(&got, &keep),
            save_blocks(&want, &keep),
            "{name}: ipset save differs:\n--- nfdp\n{got}--- ipset\n{want}"
        );
        let want = std::fs::read_to_string(input.with_extension("list")).unwrap();
        let got = control::ipset::print::list(&rs, None, ListStyle::default(), LISTED).unwrap();
        assert_eq!(
            list_blocks(&got, &keep),
            list_blocks(&want, &keep),
            "{name}: ipset list differs:\n--- nfdp\n{got}--- ipset\n{want}"
        );
        // What nfdp saved restores to the same sets.
        let mut again = Ruleset::default();
        restore(&mut again, &got_save(&rs), false, LISTED).unwrap();
        assert_eq!(
            control::ipset::print::save(&again, None, LISTED).unwrap(),
            got_save(&rs),
            "{name}: save -> restore -> save changed"
        );
        n += 1;
    }
    assert!(n >= 6, "expected the golden cases");
}

fn got_save(rs: &Ruleset) -> String {
    control::ipset::print::save(rs, None, LISTED).unwrap()
}

#[test]
fn ipset_refusals_match_the_kernel() {
    let mut n = 0;
    for input in inputs() {
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        if !name.starts_with("err_") {
            continue;
        }
        let text = std::fs::read_to_string(&input).unwrap();
        let want = std::fs::read_to_string(input.with_extension("expect")).unwrap();
        let (code, stderr) = want.split_once('\n').unwrap();
        let mut rs = Ruleset::default();
        let e = restore(&mut rs, &text, false, T0).expect_err(&name);
        assert_eq!(code, "1", "{name}");
        assert_eq!(e.to_ipset(), stderr, "{name}");
        assert_eq!(
            rs,
            Ruleset::default(),
            "{name}: a refused restore applies nothing"
        );
        n += 1;
    }
    assert!(n >= 5);
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn commands_print_what_ipset_prints() {
    let mut rs = Ruleset::default();
    let run = |rs: &mut Ruleset, s: &str| exec(rs, &words(s), T0);
    assert_eq!(run(&mut rs, "create bl hash:net").code, 0);
    // -exist: the same set again is no error (its random initval aside); another is.
    assert_eq!(run(&mut rs, "-exist create bl hash:net").code, 0);
    assert_eq!(run(&mut rs, "-exist create bl hash:net maxelem 5").code, 1);
    assert_eq!(run(&mut rs, "add bl 10.0.0.0/8").code, 0);
    let o = run(&mut rs, "add bl 10.0.0.0/8");
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (
            1,
            "ipset v7.17: Element cannot be added to the set: it's already added\n"
        )
    );
    assert_eq!(run(&mut rs, "-exist add bl 10.0.0.0/8").code, 0);
    assert_eq!(run(&mut rs, "add -exist bl 10.0.0.0/8").code, 0);
    let o = run(&mut rs, "test bl 10.0.0.0/8");
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (0, "Warning: 10.0.0.0/8 is in set bl.\n")
    );
    // An address is looked up as a packet's (longest prefix), a network exactly.
    let o = run(&mut rs, "test bl 10.1.2.3");
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (0, "Warning: 10.1.2.3 is in set bl.\n")
    );
    let o = run(&mut rs, "test bl 10.0.0.0/9");
    assert_eq!(o.code, 1);
    let o = run(&mut rs, "test bl 11.0.0.0/8");
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (1, "11.0.0.0/8 is NOT in set bl.\n")
    );
    assert_eq!(run(&mut rs, "create other hash:ip").code, 0);
    assert_eq!(run(&mut rs, "list -name").stdout, "bl\nother\n");
    let terse = run(&mut rs, "list -terse bl").stdout;
    assert!(terse.starts_with("Name: bl\nType: hash:net\nRevision: 7\nHeader: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x"));
    assert!(
        terse.ends_with("References: 0\nNumber of entries: 1\n"),
        "{terse}"
    );
    let o = run(&mut rs, "foo");
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (
            2,
            "ipset v7.17: No command specified: unknown argument foo\nTry `ipset help' for more information.\n"
        )
    );
    assert_eq!(run(&mut rs, "rename other renamed").code, 0);
    assert_eq!(run(&mut rs, "list -n").stdout, "bl\nrenamed\n");
    assert_eq!(run(&mut rs, "flush bl").code, 0);
    assert_eq!(run(&mut rs, "save bl").stdout.lines().count(), 1);
    assert_eq!(run(&mut rs, "destroy").code, 0);
    assert_eq!(run(&mut rs, "list").stdout, "");
    let o = run(&mut rs, "list bl");
    assert_eq!(
        o.stderr,
        "ipset v7.17: The set with the given name does not exist\n"
    );
}
