//! libip6t_rt: `[!] --rt-type N`, `[!] --rt-segsleft N[:N]`, `[!] --rt-len N`, and for
//! `--rt-type 0` (given before them) `--rt-0-res`, `--rt-0-addrs ADDR,...` (at most 16,
//! numeric) and `--rt-0-not-strict` (after the addresses). Numbers as `strtoul` base 0
//! reads them.

use super::{fmt_addr6, parse_uint, Args};
use dataplane::ruleset::matches::esp::SpiRange;
use dataplane::ruleset::matches::rt::{RtMatch, MAX_ADDRS};
use dataplane::ruleset::Inv;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--rt-type",
    "--rt-segsleft",
    "--rt-len",
    "--rt-0-res",
    "--rt-0-addrs",
    "--rt-0-not-strict",
];

fn number(s: &str, opt: &str) -> Result<u32, String> {
    parse_uint(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            format!(
                "rt: bad value for option \"{opt}\", or out of range (0-{}).",
                u32::MAX
            )
        })
}

fn range_number(s: &str) -> Result<u32, String> {
    parse_uint(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            format!(
                "rt: bad value for option \"--rt-segsleft\" near \"{s}\", or out of range (0-{}).",
                u32::MAX
            )
        })
}

fn parse_addrs(v: &str) -> Result<Vec<std::net::Ipv6Addr>, String> {
    let items: Vec<&str> = v.split(',').collect();
    if items.len() > MAX_ADDRS {
        return Err("too many addresses specified".into());
    }
    items
        .iter()
        .map(|a| a.parse().map_err(|_| format!("bad address: {a}")))
        .collect()
}

impl super::MatchText for RtMatch {
    fn new(_name: &str) -> Self {
        RtMatch::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        if inv && !matches!(opt, "--rt-type" | "--rt-segsleft" | "--rt-len") {
            return Err(format!("rt: option \"{opt}\" cannot be inverted."));
        }
        let type0 = self.rt_type == Some(Inv::plain(0));
        match opt {
            "--rt-type" => self.rt_type = Some(Inv::new(inv, number(&args.value(opt)?, opt)?)),
            "--rt-len" => self.len = Some(Inv::new(inv, number(&args.value(opt)?, opt)?)),
            "--rt-segsleft" => {
                let v = args.value(opt)?;
                let (min, max) = match v.split_once(':') {
                    Some((a, b)) => (
                        if a.is_empty() { 0 } else { range_number(a)? },
                        if b.is_empty() {
                            u32::MAX
                        } else {
                            range_number(b)?
                        },
                    ),
                    None => {
                        let n = range_number(&v)?;
                        (n, n)
                    }
                };
                self.segsleft = SpiRange { min, max, inv };
            }
            "--rt-0-res" | "--rt-0-addrs" if !type0 => {
                return Err(format!("`--rt-type 0' required before `{opt}'"));
            }
            "--rt-0-res" => self.res = true,
            "--rt-0-addrs" => self.addrs = parse_addrs(&args.value(opt)?)?,
            _ => {
                if self.addrs.is_empty() {
                    return Err("`--rt-0-addr ...' required before `--rt-0-not-strict'".into());
                }
                self.not_strict = true;
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if let Some(t) = self.rt_type {
            super::opt(out, t.inv, "--rt-type");
            let _ = write!(out, " {}", t.val);
        }
        if (self.segsleft.min, self.segsleft.max) != (0, u32::MAX) {
            super::esp::save_spis(&self.segsleft, "--rt-segsleft", false, out);
        }
        if let Some(l) = self.len {
            super::opt(out, l.inv, "--rt-len");
            let _ = write!(out, " {}", l.val);
        }
        if self.res {
            out.push_str(" --rt-0-res");
        }
        if !self.addrs.is_empty() {
            out.push_str(" --rt-0-addrs ");
            let list: Vec<String> = self.addrs.iter().map(fmt_addr6).collect();
            out.push_str(&list.join(","));
        }
        if self.not_strict {
            out.push_str(" --rt-0-not-strict");
        }
    }

    /// ` rt type:0 segslefts:2:3 length:8 reserved 0-addrs ::1 0-not-strict`
    /// (libip6t_rt's print, roughly).
    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" rt");
        if let Some(t) = self.rt_type {
            let _ = write!(out, " type:{}{}", if t.inv { "!" } else { "" }, t.val);
        }
        let s = self.segsleft;
        if (s.min, s.max) != (0, u32::MAX) {
            let inv = if s.inv { "!" } else { "" };
            let _ = if s.min == s.max {
                write!(out, " segsleft:{inv}{}", s.min)
            } else {
                write!(out, " segslefts:{inv}{}:{}", s.min, s.max)
            };
        }
        if let Some(l) = self.len {
            let _ = write!(out, " length:{}{}", if l.inv { "!" } else { "" }, l.val);
        }
        if self.res {
            out.push_str(" reserved");
        }
        if !self.addrs.is_empty() {
            let list: Vec<String> = self.addrs.iter().map(fmt_addr6).collect();
            let _ = write!(out, " 0-addrs {}", list.join(","));
        }
        if self.not_strict {
            out.push_str(" 0-not-strict");
        }
    }

    fn repeated(opt: &str) -> String {
        format!("rt: option \"{opt}\" can only be used once.\n")
    }
}
