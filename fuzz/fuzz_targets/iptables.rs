//! The iptables language (control/src/iptables) on arbitrary text: iptables-restore input and
//! single commands. Nothing may panic, refusals must render (iptables' error text), and
//! whatever is accepted saves to a text that restores to the same ruleset: save, restore,
//! save again gives the same text, with and without counters (`nfdp_fuzz::round_trip`, with
//! the one exception iptables itself has: values with a double quote in them).
//!
//! The first byte picks the mode, the rest is the text (UTF-8, lossy):
//! - 0: iptables-restore; 1: `--noflush` over the gateway ruleset; 2: `--counters`;
//! - 3: one command per line (`iptables ARGS`), run in order on the gateway ruleset.
#![no_main]

use control::iptables::cli::{exec_refusal, parse_refusal, restore_refusal};
use control::iptables::lexer::split_words;
use control::iptables::{execute_typed, parse_command, restore, RestoreOptions, Source};
use dataplane::ruleset::Ruleset;
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
    match mode % 4 {
        m @ 0..=2 => {
            let mut rs = if m == 1 {
                base().clone()
            } else {
                Ruleset::default()
            };
            let opts = RestoreOptions {
                noflush: m == 1,
                counters: m == 2,
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
