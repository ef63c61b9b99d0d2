//! What the fuzz targets share: the save/restore round trip of a ruleset.

use control::iptables::{restore, rule_to_string, save_ruleset, RestoreOptions};
use dataplane::ruleset::Ruleset;

/// Saved text restores to the same ruleset: save, restore, save gives the same text.
///
/// Except where iptables 1.8.9 itself cannot take its own output back, which nfdp
/// reproduces (iptables compatibility, tests/golden): a value with a double quote or a
/// newline in it. A quote left open on a restore line (`--comment a\"b`) runs to the end of
/// the line, newline included, and iptables-save prints that value across two lines, quoted
/// (tests/golden/cases/quoting_counters.golden) or not (`recent --name`); an interface name
/// is printed unquoted, so one with a `"` in it (`-i '"x'`, accepted by iptables with no
/// warning) opens a quote on the saved line. Such a saved text fails to restore at or next
/// to a line holding a `"` or continuing the line before, or, where the quotes pair up
/// (`-i '"x"'` saves as `-i "x"`), restores with the quotes gone from the lines holding
/// them; any other failure, or any other difference, is a bug.
///
/// A rule whose saved line holds a newline (such a value) is not compared at all: restored,
/// the text after the newline becomes options of its own (`--hashlimit-name "x -j DROP`
/// saves as `x -j DROP` and a newline, which restores as name `x` with target DROP).
pub fn round_trip(rs: &Ruleset, counters: bool) {
    let multi_line = rs.tables.iter().any(|t| {
        t.chains.iter().any(|c| {
            c.rules
                .iter()
                .any(|r| rule_to_string(&c.name, r, false).contains('\n'))
        })
    });
    if multi_line {
        return;
    }
    let once = save_ruleset(rs, counters);
    let mut again = Ruleset::new(rs.family);
    let opts = RestoreOptions {
        noflush: false,
        counters,
        packet_path: false,
    };
    match restore(&once, &mut again, opts) {
        Ok(()) => {
            let twice = save_ruleset(&again, counters);
            // A balanced pair of quotes in an unquoted value (`-i '"x"'`, saved as
            // `-i "x"`) restores as the value without them, as iptables-restore does.
            let only_quoted_lines_differ = once.lines().count() == twice.lines().count()
                && once
                    .lines()
                    .zip(twice.lines())
                    .all(|(a, b)| a == b || a.contains('"'));
            assert!(
                twice == once || only_quoted_lines_differ,
                "save -> restore -> save differs:\n{once}\n---\n{twice}"
            );
        }
        Err(e) => {
            let lines: Vec<&str> = once.lines().collect();
            let at = e.line.saturating_sub(1);
            let quirk = |i: usize| {
                lines.get(i).is_some_and(|l| {
                    let starts = ["-A ", "[", ":", "*", "#"];
                    l.contains('"') || !(starts.iter().any(|s| l.starts_with(s)) || *l == "COMMIT")
                })
            };
            assert!(
                quirk(at) || quirk(at + 1) || (at > 0 && quirk(at - 1)),
                "saved text does not restore: {e:?}\n{once}"
            );
        }
    }
}
