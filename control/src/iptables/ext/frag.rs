//! libip6t_frag: `[!] --fragid ID[:ID]`, `[!] --fraglen N`, `--fragres`, `--fragfirst`,
//! `--fragmore`, `--fraglast` (more and last exclude each other). A guided-option
//! extension: numbers as `strtoul` base 0 reads them, refusals in libxtables' words.

use super::{parse_uint, Args};
use dataplane::ruleset::matches::esp::SpiRange;
use dataplane::ruleset::matches::frag::FragMatch;
use dataplane::ruleset::Inv;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--fragid",
    "--fraglen",
    "--fragres",
    "--fragfirst",
    "--fragmore",
    "--fraglast",
];

fn number(s: &str, opt: &str) -> Result<u32, String> {
    parse_uint(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            format!(
                "frag: bad value for option \"{opt}\" near \"{s}\", or out of range (0-{}).",
                u32::MAX
            )
        })
}

impl super::MatchText for FragMatch {
    fn new(_name: &str) -> Self {
        FragMatch::default()
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
        if inv && !matches!(o, "--fragid" | "--fraglen") {
            return Err(format!("frag: option \"{o}\" cannot be inverted."));
        }
        match o {
            "--fragid" => {
                let v = args.value(o)?;
                let (min, max) = match v.split_once(':') {
                    Some((a, b)) => (
                        if a.is_empty() { 0 } else { number(a, o)? },
                        if b.is_empty() {
                            u32::MAX
                        } else {
                            number(b, o)?
                        },
                    ),
                    None => {
                        let n = number(&v, o)?;
                        (n, n)
                    }
                };
                self.ids = SpiRange { min, max, inv };
            }
            "--fraglen" => {
                let v = args.value(o)?;
                self.len = Some(Inv::new(inv, number(&v, o)?));
            }
            "--fragres" => self.res = true,
            "--fragfirst" => self.first = true,
            "--fragmore" => self.more = true,
            _ => self.last = true,
        }
        Ok(())
    }

    /// `--fragmore` and `--fraglast` exclude each other (libxtables' final check).
    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        if self.more && self.last {
            return Err(
                "frag: option \"--fragmore\" cannot be used together with \"--fraglast\".".into(),
            );
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if (self.ids.min, self.ids.max) != (0, u32::MAX) {
            super::esp::save_spis(&self.ids, "--fragid", false, out);
        }
        if let Some(l) = self.len {
            super::opt(out, l.inv, "--fraglen");
            let _ = write!(out, " {}", l.val);
        }
        for (set, word) in [
            (self.res, " --fragres"),
            (self.first, " --fragfirst"),
            (self.more, " --fragmore"),
            (self.last, " --fraglast"),
        ] {
            if set {
                out.push_str(word);
            }
        }
    }

    /// ` frag id:5 length:8 reserved first more last` (libip6t_frag's print).
    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" frag ");
        let inv = if self.ids.inv { "!" } else { "" };
        if (self.ids.min, self.ids.max) != (0, u32::MAX) || self.ids.inv {
            if self.ids.min == self.ids.max {
                let _ = write!(out, "id:{inv}{}", self.ids.min);
            } else {
                let _ = write!(out, "ids:{inv}{}:{}", self.ids.min, self.ids.max);
            }
        }
        if let Some(l) = self.len {
            let _ = write!(out, " length:{}{}", if l.inv { "!" } else { "" }, l.val);
        }
        for (set, word) in [
            (self.res, " reserved"),
            (self.first, " first"),
            (self.more, " more"),
            (self.last, " last"),
        ] {
            if set {
                out.push_str(word);
            }
        }
    }

    fn repeated(opt: &str) -> String {
        format!("frag: option \"{opt}\" can only be used once.\n")
    }
}
