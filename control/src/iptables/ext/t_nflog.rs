//! libxt_NFLOG: `--nflog-group N` (0-65535), `--nflog-prefix STR`, `--nflog-range N`
//! (deprecated: a warning, then dropped, as iptables-nft 1.8.9 drops it), `--nflog-size N`
//! (0-4294967295, not with `--nflog-range`), `--nflog-threshold N` (0-65535); numbers as
//! `xtables_strtoul` reads them (base 0). libxtables' guided parser words the refusals.
//! Saved and listed in libxt_NFLOG's order (prefix, group when not 0, size, threshold
//! when not 0), listed without the target's name.

use super::{save_string, Args};
use dataplane::ruleset::targets::nflog::{NflogTarget, MAX_PREFIX_LEN};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--nflog-group",
    "--nflog-prefix",
    "--nflog-range",
    "--nflog-size",
    "--nflog-threshold",
];

/// What libxt_NFLOG's final check prints to stderr for `--nflog-range` (then goes on).
pub const RANGE_WARNING: &str = "warn: --nflog-range has never worked and is no longer supported, please use --nflog-size instead\n";

/// The refusal of a `!` before an option.
pub fn inverted(opt: &str) -> String {
    format!("NFLOG: option \"{opt}\" cannot be inverted.")
}

/// `xtables_strtoul` over `min..=max`, worded as libxtables' XTTYPE_UINT* parsers.
fn number(s: &str, opt: &str, max: u64) -> Result<u64, String> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let t = if t.starts_with('-') {
        None
    } else {
        Some(t.strip_prefix('+').unwrap_or(t))
    };
    t.and_then(super::parse_uint)
        .filter(|v| *v <= max)
        .ok_or_else(|| format!("NFLOG: bad value for option \"{opt}\", or out of range (0-{max})."))
}

/// One option (a repeated one is refused by the caller with `repeated`).
pub fn parse(t: &mut NflogTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    match o {
        "--nflog-group" => t.group = number(&v, o, u16::MAX.into())? as u16,
        "--nflog-prefix" => {
            if v.is_empty() {
                return Err("Argument must have a minimum length of 1 characters\n".into());
            }
            // iptables-nft keeps what the nft log expression holds (127 bytes).
            t.prefix = super::t_log::prefix(&v, MAX_PREFIX_LEN)?;
        }
        // Checked as a number, then not kept.
        "--nflog-range" => {
            number(&v, o, u32::MAX.into())?;
        }
        "--nflog-size" => t.size = Some(number(&v, o, u32::MAX.into())? as u32),
        "--nflog-threshold" => t.threshold = number(&v, o, u16::MAX.into())? as u16,
        _ => return Err(format!("unknown option \"{o}\"")),
    }
    Ok(())
}

/// The final check: `--nflog-range` warns (on stderr, with the refusal below when there
/// is one) and excludes `--nflog-size`.
pub fn finish(seen: &[&'static str]) -> Result<(), String> {
    if seen.contains(&"--nflog-range") && seen.contains(&"--nflog-size") {
        return Err(
            "NFLOG: option \"--nflog-range\" cannot be used together with \"--nflog-size\".".into(),
        );
    }
    Ok(())
}

fn print(t: &NflogTarget, dashes: &str, out: &mut String) {
    if !t.prefix.is_empty() {
        let _ = write!(out, " {dashes}nflog-prefix");
        save_string(out, &t.prefix);
    }
    if t.group != 0 {
        let _ = write!(out, " {dashes}nflog-group {}", t.group);
    }
    if let Some(n) = t.size {
        let _ = write!(out, " {dashes}nflog-size {n}");
    }
    if t.threshold != 0 {
        let _ = write!(out, " {dashes}nflog-threshold {}", t.threshold);
    }
}

pub fn save(t: &NflogTarget, out: &mut String) {
    print(t, "--", out);
}

pub fn list(t: &NflogTarget, out: &mut String) {
    print(t, "", out);
}

impl super::TargetText for NflogTarget {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        if inv {
            return Err(inverted(opt));
        }
        parse(self, opt, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        finish(seen)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }

    /// What libxtables says of an option given twice.
    fn repeated(opt: &str) -> String {
        format!("NFLOG: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(words: &[&str]) -> Result<NflogTarget, String> {
        let mut t = NflogTarget::default();
        let mut args = Args::new(words.iter().map(|w| w.to_string()).collect());
        let mut seen = Vec::new();
        while let Some(o) = args.take_word() {
            let o = super::super::resolve_option(OPTIONS, &o).expect("an option");
            seen.push(o);
            parse(&mut t, o, &mut args)?;
        }
        finish(&seen)?;
        Ok(t)
    }

    fn saved(t: &NflogTarget) -> String {
        let mut s = String::new();
        save(t, &mut s);
        s
    }

    #[test]
    fn every_option_is_parsed_and_saved_in_libxt_order() {
        let t = parsed(&[
            "--nflog-threshold",
            "10",
            "--nflog-size",
            "0x10",
            "--nflog-group",
            "010",
            "--nflog-prefix",
            "DROP: ",
        ])
        .unwrap();
        assert_eq!(
            t,
            NflogTarget {
                group: 8,
                prefix: "DROP: ".into(),
                size: Some(16),
                threshold: 10,
            }
        );
        assert_eq!(
            saved(&t),
            " --nflog-prefix \"DROP: \" --nflog-group 8 --nflog-size 16 --nflog-threshold 10"
        );
        let mut l = String::new();
        list(&t, &mut l);
        assert_eq!(
            l,
            " nflog-prefix \"DROP: \" nflog-group 8 nflog-size 16 nflog-threshold 10"
        );
    }

    #[test]
    fn defaults_print_nothing_and_size_0_is_kept() {
        assert_eq!(saved(&parsed(&[]).unwrap()), "");
        assert_eq!(saved(&parsed(&["--nflog-group", "0"]).unwrap()), "");
        assert_eq!(
            saved(&parsed(&["--nflog-size", "0"]).unwrap()),
            " --nflog-size 0"
        );
    }

    #[test]
    fn range_is_checked_then_dropped_and_excludes_size() {
        assert_eq!(
            parsed(&["--nflog-range", "256"]).unwrap(),
            NflogTarget::default()
        );
        assert!(parsed(&["--nflog-range", "x"])
            .unwrap_err()
            .contains("\"--nflog-range\", or out of range (0-4294967295)"));
        for words in [
            ["--nflog-size", "10", "--nflog-range", "20"],
            ["--nflog-range", "20", "--nflog-size", "10"],
        ] {
            assert_eq!(
                parsed(&words).unwrap_err(),
                "NFLOG: option \"--nflog-range\" cannot be used together with \"--nflog-size\"."
            );
        }
    }

    #[test]
    fn bounds_and_bad_values() {
        assert_eq!(parsed(&["--nflog-group", "65535"]).unwrap().group, 65535);
        for bad in ["65536", "-1", "abc", ""] {
            assert_eq!(
                parsed(&["--nflog-group", bad]).unwrap_err(),
                "NFLOG: bad value for option \"--nflog-group\", or out of range (0-65535)."
            );
        }
        assert_eq!(
            parsed(&["--nflog-size", "4294967295"]).unwrap().size,
            Some(u32::MAX)
        );
        assert!(parsed(&["--nflog-size", "4294967296"]).is_err());
        assert!(parsed(&["--nflog-threshold", "65536"]).is_err());
        assert_eq!(
            parsed(&["--nflog-prefix", ""]).unwrap_err(),
            "Argument must have a minimum length of 1 characters\n"
        );
        assert_eq!(
            parsed(&["--nflog-prefix", "a\nb"]).unwrap_err(),
            "Newlines not allowed in --log-prefix"
        );
    }

    #[test]
    fn a_long_prefix_is_cut_to_127_bytes() {
        let long = "a".repeat(200);
        assert_eq!(
            parsed(&["--nflog-prefix", &long]).unwrap().prefix.len(),
            127
        );
        let p64 = "b".repeat(64);
        assert_eq!(parsed(&["--nflog-prefix", &p64]).unwrap().prefix, p64);
    }

    #[test]
    fn prefixes_of_option_names_are_accepted() {
        assert_eq!(parsed(&["--nflog-gr", "3"]).unwrap().group, 3);
    }
}
