//! The wire parsers (dataplane/src/wire) on arbitrary bytes: every view's `new_checked`, every
//! accessor and mutator behind it, every `Repr::parse`; where a `Repr` parses, emitting it
//! and parsing the emitted bytes gives it back. Nothing may panic.
//!
//! The walk is `dataplane/tests/support/wire_checks.rs`, which the proptest of
//! `dataplane/tests/wire_fuzz.rs` runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../dataplane/tests/support/wire_checks.rs"]
mod wire_checks;

fuzz_target!(|data: &[u8]| {
    wire_checks::fuzz_all(data);
});
