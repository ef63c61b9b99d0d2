//! libxt_string: `--string`, `--hex-string`, `--algo`, `--from`, `--to`, `--icase`.

use super::{no_inv, opt, parse_bounded, Args};
use dataplane::ruleset::matches::string::{StringAlgo, StringMatch, MAX_PATTERN};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--from",
    "--to",
    "--algo",
    "--string",
    "--hex-string",
    "--icase",
];

pub fn new() -> StringMatch {
    StringMatch {
        inv: false,
        algo: StringAlgo::Bm,
        pattern: Vec::new(),
        from: 0,
        to: u16::MAX,
        icase: false,
    }
}

/// `--hex-string`: text with `|41 42|` hex blocks, as libxt_string parses it.
fn parse_hex_string(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut hex = false;
    let mut digits = String::new();
    for c in s.chars() {
        match c {
            '|' => {
                if hex && !digits.is_empty() {
                    return Err("Odd number of hex digits".into());
                }
                hex = !hex;
            }
            ' ' if hex => {}
            c if hex => {
                if !c.is_ascii_hexdigit() {
                    return Err(format!("Invalid hex char `{c}'"));
                }
                digits.push(c);
                if digits.len() == 2 {
                    out.push(u8::from_str_radix(&digits, 16).map_err(|e| e.to_string())?);
                    digits.clear();
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if hex {
        return Err("Invalid hex block".into());
    }
    Ok(out)
}

/// ` "text"` (quotes and backslashes escaped) or ` "|hex|"` for unprintable bytes.
fn save_pattern(m: &StringMatch, out: &mut String) {
    if is_printable(m) {
        out.push_str(" \"");
        for &b in &m.pattern {
            if b == b'"' || b == b'\\' {
                out.push('\\');
            }
            out.push(b as char);
        }
        out.push('"');
    } else {
        out.push_str(" \"|");
        for b in &m.pattern {
            let _ = write!(out, "{b:02x}");
        }
        out.push_str("|\"");
    }
}

fn is_printable(m: &StringMatch) -> bool {
    m.pattern.iter().all(|b| (0x20..0x7f).contains(b))
}

impl super::MatchText for StringMatch {
    fn new(_name: &str) -> Self {
        new()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let m = self;
        match o {
            "--icase" => {
                no_inv(inv, o)?;
                m.icase = true;
                return Ok(());
            }
            "--string" | "--hex-string" => {
                if !m.pattern.is_empty() {
                    return Err("Can't specify multiple strings".into());
                }
                let v = args.value(o)?;
                let p = if o == "--string" {
                    v.into_bytes()
                } else {
                    parse_hex_string(&v)?
                };
                if p.is_empty() || p.len() > MAX_PATTERN {
                    return Err(format!("STRING must be 1 to {MAX_PATTERN} bytes"));
                }
                m.pattern = p;
                m.inv = inv;
            }
            "--algo" => {
                no_inv(inv, o)?;
                m.algo = match args.value(o)?.as_str() {
                    "bm" => StringAlgo::Bm,
                    "kmp" => StringAlgo::Kmp,
                    a => return Err(format!("string: unknown algorithm `{a}'")),
                };
            }
            "--from" => {
                no_inv(inv, o)?;
                m.from = parse_bounded(&args.value(o)?, o, 0, 65535)? as u16;
            }
            _ => {
                no_inv(inv, o)?;
                m.to = parse_bounded(&args.value(o)?, o, 0, 65535)? as u16;
            }
        }
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if self.pattern.is_empty() {
            return Err(
                "string: STRING match: You must specify `--string' or `--hex-string'".into(),
            );
        }
        if !seen.contains(&"--algo") {
            return Err("string: STRING match: You must specify `--algo'".into());
        }
        if self.from > self.to {
            return Err("string: --from must be less or equal to --to".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let m = self;
        opt(
            out,
            m.inv,
            if is_printable(m) {
                "--string"
            } else {
                "--hex-string"
            },
        );
        save_pattern(m, out);
        let _ = write!(out, " --algo {}", m.algo.name());
        if m.from != 0 {
            let _ = write!(out, " --from {}", m.from);
        }
        if m.to != u16::MAX {
            let _ = write!(out, " --to {}", m.to);
        }
        if m.icase {
            out.push_str(" --icase");
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let m = self;
        let _ = write!(out, " STRING match {}", if m.inv { "!" } else { "" });
        let mut pattern = String::new();
        save_pattern(m, &mut pattern);
        out.push_str(&pattern);
        let _ = write!(out, " ALGO name {}", m.algo.name());
        if m.from != 0 {
            let _ = write!(out, " FROM {}", m.from);
        }
        if m.to != u16::MAX {
            let _ = write!(out, " TO {}", m.to);
        }
        if m.icase {
            out.push_str(" ICASE");
        }
    }
}
