//! libxt_LOG: `--log-level`, `--log-prefix`, `--log-tcp-sequence`, `--log-tcp-options`,
//! `--log-ip-options`, `--log-uid`, `--log-macdecode`.

use super::{save_string, Args};
use dataplane::ruleset::targets::log::{
    flags, LogTarget, DEFAULT_LEVEL, LEVEL_NAMES, MAX_PREFIX_LEN,
};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--log-level",
    "--log-prefix",
    "--log-tcp-sequence",
    "--log-tcp-options",
    "--log-ip-options",
    "--log-uid",
    "--log-macdecode",
];

const FLAG_OPTIONS: [(&str, u8); 5] = [
    ("--log-tcp-sequence", flags::TCPSEQ),
    ("--log-tcp-options", flags::TCPOPT),
    ("--log-ip-options", flags::IPOPT),
    ("--log-uid", flags::UID),
    ("--log-macdecode", flags::MACDECODE),
];

pub fn parse(t: &mut LogTarget, o: &str, args: &mut Args) -> Result<(), String> {
    if let Some((_, f)) = FLAG_OPTIONS.iter().find(|(n, _)| *n == o) {
        t.flags |= f;
        return Ok(());
    }
    let v = args.value(o)?;
    if o == "--log-level" {
        t.level = match v.parse::<u8>() {
            Ok(n) if n <= 7 => n,
            _ => LEVEL_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&v))
                .map(|(_, l)| *l)
                .ok_or_else(|| format!("log level \"{v}\" unknown"))?,
        };
    } else {
        // iptables 1.8.9 cuts a longer prefix to the kernel's 29 bytes without a word.
        t.prefix = prefix(&v, MAX_PREFIX_LEN)?;
    }
    Ok(())
}

/// A log prefix (LOG's, NFLOG's) cut to `max` bytes on a character boundary; iptables
/// refuses a newline in it (with `--log-prefix` in the message, for NFLOG too).
pub fn prefix(v: &str, max: usize) -> Result<String, String> {
    if v.contains('\n') {
        return Err("Newlines not allowed in --log-prefix".into());
    }
    let mut end = v.len().min(max);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    Ok(v[..end].to_string())
}

impl super::TargetText for LogTarget {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse(self, opt, args)
    }

    fn save(&self, out: &mut String) {
        if !self.prefix.is_empty() {
            out.push_str(" --log-prefix");
            save_string(out, &self.prefix);
        }
        if self.level != DEFAULT_LEVEL {
            let _ = write!(out, " --log-level {}", self.level);
        }
        for (name, f) in FLAG_OPTIONS {
            if self.flags & f != 0 {
                out.push(' ');
                out.push_str(name);
            }
        }
    }

    fn list(&self, numeric: bool, out: &mut String) {
        out.push_str(" LOG");
        if numeric {
            let _ = write!(out, " flags {} level {}", self.flags, self.level);
        } else {
            // iptables-nft lists the level of nft's log expression, in nft's words
            // (`warn`, `err`), not the LOG option's (`warning`, `error`).
            const NFT_LEVELS: [&str; 8] = [
                "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
            ];
            match NFT_LEVELS.get(usize::from(self.level)) {
                Some(name) => {
                    let _ = write!(out, " level {name}");
                }
                None => {
                    let _ = write!(out, " UNKNOWN level {}", self.level);
                }
            }
            for (name, f) in [
                (" tcp-sequence", flags::TCPSEQ),
                (" tcp-options", flags::TCPOPT),
                (" ip-options", flags::IPOPT),
                (" uid", flags::UID),
                (" macdecode", flags::MACDECODE),
            ] {
                if self.flags & f != 0 {
                    out.push_str(name);
                }
            }
        }
        if !self.prefix.is_empty() {
            let _ = write!(out, " prefix \"{}\"", self.prefix);
        }
    }
}
