//! libxt_mark and libxt_connmark: `--mark value[/mask]`.

use super::{opt, parse_value_mask, Args};
use dataplane::ruleset::matches::mark::MarkMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--mark"];

pub fn new() -> MarkMatch {
    MarkMatch {
        inv: false,
        value: 0,
        mask: u32::MAX,
    }
}

pub fn parse(m: &mut MarkMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    let (value, mask) = parse_value_mask(&args.value(o)?, o)?;
    *m = MarkMatch { inv, value, mask };
    Ok(())
}

pub fn finish(_: &mut MarkMatch, seen: &[&str]) -> Result<(), String> {
    if seen.is_empty() {
        return Err("mark: option \"--mark\" must be specified".into());
    }
    Ok(())
}

pub fn fmt_mark(value: u32, mask: u32) -> String {
    if mask == u32::MAX {
        format!("0x{value:x}")
    } else {
        format!("0x{value:x}/0x{mask:x}")
    }
}

pub fn save(m: &MarkMatch, out: &mut String) {
    opt(out, m.inv, "--mark");
    let _ = write!(out, " {}", fmt_mark(m.value, m.mask));
}

/// ` mark match 0x1` / ` connmark match  0x1` (libxt_mark and libxt_connmark differ).
pub fn list(m: &MarkMatch, connmark: bool, out: &mut String) {
    if connmark {
        out.push_str(" connmark match ");
        if m.inv {
            out.push('!');
        }
    } else {
        out.push_str(" mark match");
        if m.inv {
            out.push_str(" !");
        }
    }
    let _ = write!(out, " {}", fmt_mark(m.value, m.mask));
}

impl super::MatchText for dataplane::ruleset::matches::mark::ConnmarkMatch {
    fn new(_name: &str) -> Self {
        dataplane::ruleset::matches::mark::ConnmarkMatch(new())
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
        parse(&mut self.0, opt, inv, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        finish(&mut self.0, seen)
    }

    fn save(&self, out: &mut String) {
        save(&self.0, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(&self.0, true, out);
    }
}

impl super::MatchText for MarkMatch {
    fn new(_name: &str) -> Self {
        new()
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
        parse(self, opt, inv, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        finish(self, seen)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, false, out);
    }
}
