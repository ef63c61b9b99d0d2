//! The iptables language (control/src/iptables) on arbitrary text: iptables-restore input and
//! single commands. Nothing may panic, refusals must render (iptables' error text), and
//! whatever is accepted saves to a text that restores to the same ruleset: save, restore,
//! save again gives the same text, with and without counters (`nfdp_fuzz::round_trip`, with
//! the one exception iptables itself has: values with a double quote in them).
//!
//! The first byte picks the mode, the rest is the text (UTF-8, lossy):
//! - 0: iptables-restore; 1: `--noflush` over the gateway ruleset; 2: `--counters`;
//! - 3: one command per line (`iptables ARGS`), run in order on the gateway ruleset;
//! - 4: arptables-restore (`--counters` when the text is odd-length);
//! - 5: one `arptables ARGS` command per line, run in order on an empty ARP table;
//! - 6: ip6tables-restore (an IPv6 ruleset; its refusals as ip6tables-restore's).
//!
//! The ARP table (control/src/arptables) must hold the same: no panic, refusals exit
//! non-zero, an accepted table passes the kernel's load checks and its arptables-save
//! text restores to the same table (a text with a double quote is left out, as above, and
//! `--h-type` from 10 on changes, as arptables' own does).
#![no_main]

use control::iptables::cli::{exec_refusal, parse_refusal, restore_refusal, restore_refusal_in};
use control::iptables::lexer::split_words;
use control::iptables::{execute_typed, parse_command, restore, RestoreOptions, Source};
use dataplane::arptables::ArpTable;
use dataplane::ruleset::{Family, Ruleset};
use libfuzzer_sys::fuzz_target;
use nfdp_fuzz::round_trip;
use std::sync::OnceLock;

const BASE: &str = include_str!("../../configs/lab.rules");

fn base() -> &'static Ruleset {
    static B: OnceLock<Ruleset> = OnceLock::new();
    B.get_or_init(|| {
        let mut rs = Ruleset::default();
        restore(BASE, &mut rs, RestoreOptions::default()).expect("lab.rules");
        rs
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 7 {
        4 | 5 => arp(mode % 7 == 4, &text),
        6 => {
            let mut rs = Ruleset::new(Family::V6);
            match restore(&text, &mut rs, RestoreOptions::default()) {
                Ok(()) => {
                    round_trip(&rs, false);
                    round_trip(&rs, true);
                }
                Err(e) => {
                    let r = restore_refusal_in(&text, &e, Family::V6);
                    assert!(r.code != 0, "a refusal exits 0: {}", r.stderr);
                }
            }
        }
        m @ 0..=2 => {
            let mut rs = if m == 1 {
                base().clone()
            } else {
                Ruleset::default()
            };
            let opts = RestoreOptions {
                noflush: m == 1,
                counters: m == 2,
                packet_path: false,
            };
            match restore(&text, &mut rs, opts) {
                Ok(()) => {
                    round_trip(&rs, false);
                    round_trip(&rs, true);
                }
                Err(e) => {
                    let r = restore_refusal(&text, &e);
                    assert!(r.code != 0, "a refusal exits 0: {}", r.stderr);
                }
            }
        }
        _ => {
            let mut rs = base().clone();
            for line in text.lines().take(32) {
                let words = split_words(line);
                match parse_command(words, Source::CommandLine) {
                    Ok(cmd) => {
                        if let Err(e) = execute_typed(&mut rs, cmd.clone()) {
                            let r = exec_refusal(&cmd, &e);
                            assert!(r.code != 0, "a refusal exits 0: {}", r.stderr);
                        }
                    }
                    Err(m) => {
                        let r = parse_refusal(&m);
                        assert!(r.code != 0, "a refusal exits 0: {}", r.stderr);
                    }
                }
            }
            round_trip(&rs, false);
            round_trip(&rs, true);
        }
    }
});

/// The ARP table: a restore or commands, then the round trip.
fn arp(restore_mode: bool, text: &str) {
    let mut t = ArpTable::default();
    if restore_mode {
        let counters = text.len() % 2 == 1;
        if let Err(e) = control::arptables::restore(&mut t, text, counters) {
            assert!(e.code != 0 && !e.stderr.is_empty(), "a refusal: {e:?}");
            assert_eq!(
                t,
                ArpTable::default(),
                "a refused restore changed the table"
            );
            return;
        }
    } else {
        for line in text.lines().take(32) {
            let before = t.clone();
            let out = control::arptables::exec(&mut t, &split_words(line));
            if out.code != 0 {
                assert!(!out.stderr.is_empty(), "a refusal says nothing: {line}");
                assert_eq!(t, before, "a refused command changed the table: {line}");
            }
        }
    }
    t.validate()
        .expect("an accepted table passes the kernel's checks");
    for counters in [false, true] {
        let once = control::arptables::print::save_body(&t, counters);
        if once.contains('"') {
            continue;
        }
        let mut again = ArpTable::default();
        control::arptables::restore(&mut again, &once, counters)
            .unwrap_or_else(|e| panic!("saved text does not restore: {e:?}\n{once}"));
        // `--h-type` prints in decimal and reads in hex (arptables 1.8.9 does the same:
        // tests/golden/arptables/restore.golden), so only such lines may differ.
        let twice = control::arptables::print::save_body(&again, counters);
        let same_but_htype = once.lines().count() == twice.lines().count()
            && once
                .lines()
                .zip(twice.lines())
                .all(|(a, b)| a == b || (a.contains("--h-type") && b.contains("--h-type")));
        assert!(
            same_but_htype,
            "arptables save -> restore -> save differs:\n{once}\n---\n{twice}"
        );
    }
}
