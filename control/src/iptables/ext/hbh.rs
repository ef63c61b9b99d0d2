//! libip6t_hbh and libip6t_dst: `[!] --hbh-len N` / `[!] --dst-len N` and
//! `--hbh-opts TYPE[:LEN],...` / `--dst-opts ...` (at most 16). The option numbers are
//! read as `strtol` reads them and cut to a byte, as libip6t_hbh does (`256` is 0, `-1`
//! is 255; a length of 255 means any length and is not printed).

use super::{parse_uint, Args};
use dataplane::ruleset::matches::hbh::{OptsMatch, MAX_OPTS};
use dataplane::ruleset::Inv;
use std::fmt::Write;

const HBH_OPTIONS: &[&str] = &["--hbh-len", "--hbh-opts"];
const DST_OPTIONS: &[&str] = &["--dst-len", "--dst-opts"];

/// `strtol(s, &end, 0)`: a sign, a base prefix and the digits that follow; None when no
/// digit was read (what libip6t_hbh reports as "no valid digits").
fn strtol(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if t.starts_with('0') {
        (t, 8)
    } else {
        (t, 10)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        // `0x` without hex digits still read the 0.
        return (radix == 16).then_some(0);
    }
    let v = i64::from_str_radix(&digits[..end], radix).unwrap_or(i64::MAX);
    Some(if neg { v.wrapping_neg() } else { v })
}

fn parse_opts(name: &str, v: &str) -> Result<Vec<u16>, String> {
    let mut opts = Vec::new();
    for item in v.split(',') {
        if opts.len() == MAX_OPTS {
            return Err("too many addresses specified".into());
        }
        let (t, len) = match item.split_once(':') {
            Some((t, l)) => (t, Some(l)),
            None => (item, None),
        };
        let t = strtol(t).ok_or_else(|| format!("{name}: no valid digits in opt `{t}'"))?;
        let len = match len {
            Some(l) => {
                strtol(l).ok_or_else(|| format!("{name}: no valid digits in length `{l}'"))?
            }
            None => 0xff,
        };
        opts.push((((t & 0xff) as u16) << 8) | (len & 0xff) as u16);
    }
    Ok(opts)
}

impl super::MatchText for OptsMatch {
    const NAMES: &'static [&'static str] = &["hbh", "dst"];

    fn new(name: &str) -> Self {
        OptsMatch {
            dst: name == "dst",
            len: None,
            opts: Vec::new(),
        }
    }

    fn options(&self) -> &'static [&'static str] {
        if self.dst {
            DST_OPTIONS
        } else {
            HBH_OPTIONS
        }
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let name = dataplane::ruleset::ext::MatchExt::name(self);
        let v = args.value(opt)?;
        if opt.ends_with("-len") {
            let len = parse_uint(&v)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    format!(
                        "{name}: bad value for option \"{opt}\", or out of range (0-{}).",
                        u32::MAX
                    )
                })?;
            self.len = Some(Inv::new(inv, len));
        } else {
            if inv {
                return Err(format!("{name}: option \"{opt}\" cannot be inverted."));
            }
            self.opts = parse_opts(name, &v)?;
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let [len_opt, opts_opt] = [self.options()[0], self.options()[1]];
        if let Some(l) = self.len {
            super::opt(out, l.inv, len_opt);
            let _ = write!(out, " {}", l.val);
        }
        if !self.opts.is_empty() {
            out.push(' ');
            out.push_str(opts_opt);
            let mut sep = ' ';
            for o in &self.opts {
                let _ = write!(out, "{sep}{}", o >> 8);
                if o & 0xff != 0xff {
                    let _ = write!(out, ":{}", o & 0xff);
                }
                sep = ',';
            }
        }
    }

    /// ` hbh length:8 opts 1:2` (libip6t_hbh's print, roughly).
    fn list(&self, _numeric: bool, out: &mut String) {
        let name = dataplane::ruleset::ext::MatchExt::name(self);
        let _ = write!(out, " {name}");
        if let Some(l) = self.len {
            let _ = write!(out, " length:{}{}", if l.inv { "!" } else { "" }, l.val);
        }
        if !self.opts.is_empty() {
            out.push_str(" opts");
            let mut sep = ' ';
            for o in &self.opts {
                let _ = write!(out, "{sep}{}", o >> 8);
                if o & 0xff != 0xff {
                    let _ = write!(out, ":{}", o & 0xff);
                }
                sep = ',';
            }
        }
    }

    fn repeated(opt: &str) -> String {
        let name = if opt.starts_with("--dst") {
            "dst"
        } else {
            "hbh"
        };
        format!("{name}: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_cut_to_bytes_as_libip6t_hbh_does() {
        assert_eq!(parse_opts("hbh", "1"), Ok(vec![0x01ff]));
        assert_eq!(parse_opts("hbh", "0x10:0x2,3:0"), Ok(vec![0x1002, 0x0300]));
        assert_eq!(parse_opts("hbh", "256"), Ok(vec![0x00ff]));
        assert_eq!(parse_opts("hbh", "-1"), Ok(vec![0xffff]));
        assert_eq!(parse_opts("hbh", "1:256"), Ok(vec![0x0100]));
        assert_eq!(
            parse_opts("hbh", "1:"),
            Err("hbh: no valid digits in length `'".into())
        );
        assert_eq!(
            parse_opts("dst", "x"),
            Err("dst: no valid digits in opt `x'".into())
        );
        let many = (1..=17)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            parse_opts("hbh", &many),
            Err("too many addresses specified".into())
        );
    }
}
