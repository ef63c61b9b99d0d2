//! libxt_SYNPROXY: `--mss N`, `--wscale N` (XTTYPE_UINT32, kept in a u16 and a u8: the
//! high bits are lost, as libxt_SYNPROXY's assignment loses them), `--sack-perm`,
//! `--timestamp`, `--ecn`. Saved and listed in the order libxt_SYNPROXY prints them:
//! sack-perm, timestamp, wscale, mss, ecn.

use super::Args;
use dataplane::ruleset::targets::synproxy::{opt, SynproxyTarget};

pub const OPTIONS: &[&str] = &["--mss", "--wscale", "--sack-perm", "--timestamp", "--ecn"];

/// The refusal of a `!` before an option.
pub fn inverted(opt: &str) -> String {
    format!("SYNPROXY: option \"{opt}\" cannot be inverted.")
}

/// `xtables_strtoul` over a u32, worded as libxtables' XTTYPE_UINT32 parser.
fn number(s: &str, o: &str) -> Result<u32, String> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let t = if t.starts_with('-') {
        None
    } else {
        Some(t.strip_prefix('+').unwrap_or(t))
    };
    t.and_then(super::parse_uint)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            format!("SYNPROXY: bad value for option \"{o}\", or out of range (0-4294967295).")
        })
}

/// One option (a repeated one is refused by the caller with `repeated`).
pub fn parse(t: &mut SynproxyTarget, o: &str, args: &mut Args) -> Result<(), String> {
    match o {
        "--mss" => {
            let v = args.value(o)?;
            t.mss = number(&v, o)? as u16;
            t.options |= opt::MSS;
        }
        "--wscale" => {
            let v = args.value(o)?;
            t.wscale = number(&v, o)? as u8;
            t.options |= opt::WSCALE;
        }
        "--sack-perm" => t.options |= opt::SACK_PERM,
        "--timestamp" => t.options |= opt::TIMESTAMP,
        "--ecn" => t.options |= opt::ECN,
        _ => return Err(format!("unknown option \"{o}\"")),
    }
    Ok(())
}

/// The options as libxt_SYNPROXY prints them, `--` before each word when saved.
fn words(t: &SynproxyTarget, dashes: &str, out: &mut String) {
    use std::fmt::Write;
    if t.has(opt::SACK_PERM) {
        let _ = write!(out, " {dashes}sack-perm");
    }
    if t.has(opt::TIMESTAMP) {
        let _ = write!(out, " {dashes}timestamp");
    }
    if t.has(opt::WSCALE) {
        let _ = write!(out, " {dashes}wscale {}", t.wscale);
    }
    if t.has(opt::MSS) {
        let _ = write!(out, " {dashes}mss {}", t.mss);
    }
    if t.has(opt::ECN) {
        let _ = write!(out, " {dashes}ecn");
    }
}

pub fn save(t: &SynproxyTarget, out: &mut String) {
    words(t, "--", out);
}

impl super::TargetText for SynproxyTarget {
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

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    /// `SYNPROXY sack-perm ... ` (libxt_SYNPROXY's print ends with a blank).
    fn list(&self, _numeric: bool, out: &mut String) {
        let t = self;
        out.push_str(" SYNPROXY");
        words(t, "", out);
        out.push(' ');
    }

    /// What libxtables says of an option given twice.
    fn repeated(opt: &str) -> String {
        format!("SYNPROXY: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lose_their_high_bits_as_libxt_synproxy_stores_them() {
        let mut t = SynproxyTarget::default();
        let mut a = Args::new(vec!["65536".into()]);
        parse(&mut t, "--mss", &mut a).unwrap();
        let mut a = Args::new(vec!["0x101".into()]);
        parse(&mut t, "--wscale", &mut a).unwrap();
        assert_eq!((t.mss, t.wscale, t.options), (0, 1, opt::MSS | opt::WSCALE));
        let mut a = Args::new(vec!["-1".into()]);
        assert!(parse(&mut t, "--wscale", &mut a)
            .unwrap_err()
            .contains("(0-4294967295)"));
        let mut s = String::new();
        save(&t, &mut s);
        assert_eq!(s, " --wscale 1 --mss 0");
    }
}
