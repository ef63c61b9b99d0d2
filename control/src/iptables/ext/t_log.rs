//! libxt_LOG: `--log-level`, `--log-prefix`, `--log-tcp-sequence`, `--log-tcp-options`,
//! `--log-ip-options`, `--log-uid`, `--log-macdecode`.

use super::{save_string, Args};
use dataplane::ruleset::targets::log::{flags, LogTarget, DEFAULT_LEVEL, LEVEL_NAMES, MAX_PREFIX_LEN};
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
                .chain([("debug", 7)].iter())
                .find(|(n, _)| n.eq_ignore_ascii_case(&v))
                .map(|(_, l)| *l)
                .ok_or_else(|| format!("log-level `{v}' unknown"))?,
        };
    } else {
        if v.len() > MAX_PREFIX_LEN {
            return Err(format!(
                "Maximum prefix length {MAX_PREFIX_LEN} for --log-prefix"
            ));
        }
        if v.contains('\n') {
            return Err("Newlines not allowed in --log-prefix".into());
        }
        t.prefix = v;
    }
    Ok(())
}

pub fn save(t: &LogTarget, out: &mut String) {
    if !t.prefix.is_empty() {
        out.push_str(" --log-prefix");
        save_string(out, &t.prefix);
    }
    if t.level != DEFAULT_LEVEL {
        let _ = write!(out, " --log-level {}", t.level);
    }
    for (name, f) in FLAG_OPTIONS {
        if t.flags & f != 0 {
            out.push(' ');
            out.push_str(name);
        }
    }
}
