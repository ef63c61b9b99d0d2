//! libxt_connlimit: `--connlimit-upto|above N`, `--connlimit-mask`, `--connlimit-saddr|daddr`.

use super::{no_inv, parse_bounded, parse_u32, Args};
use dataplane::ruleset::matches::connlimit::ConnlimitMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--connlimit-upto",
    "--connlimit-above",
    "--connlimit-mask",
    "--connlimit-saddr",
    "--connlimit-daddr",
];

pub fn new() -> ConnlimitMatch {
    ConnlimitMatch {
        above: false,
        count: 0,
        mask_len: 32,
        daddr: false,
    }
}

pub fn parse(m: &mut ConnlimitMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    match o {
        "--connlimit-upto" => {
            m.count = parse_u32(&args.value(o)?, o)?;
            m.above = inv;
        }
        "--connlimit-above" => {
            m.count = parse_u32(&args.value(o)?, o)?;
            m.above = !inv;
        }
        "--connlimit-mask" => {
            no_inv(inv, o)?;
            m.mask_len = parse_bounded(&args.value(o)?, o, 0, 32)? as u8;
        }
        "--connlimit-saddr" => {
            no_inv(inv, o)?;
            m.daddr = false;
        }
        _ => {
            no_inv(inv, o)?;
            m.daddr = true;
        }
    }
    Ok(())
}

pub fn finish(_: &mut ConnlimitMatch, seen: &[&str]) -> Result<(), String> {
    if seen.contains(&"--connlimit-saddr") && seen.contains(&"--connlimit-daddr") {
        return Err(
            "connlimit: option \"--connlimit-saddr\" cannot be used together with \"--connlimit-daddr\"."
                .into(),
        );
    }
    let n = seen
        .iter()
        .filter(|o| matches!(**o, "--connlimit-upto" | "--connlimit-above"))
        .count();
    match n {
        0 => Err(
            "connlimit: option \"--connlimit-upto\" or \"--connlimit-above\" must be specified"
                .into(),
        ),
        1 => Ok(()),
        _ => Err(
            "connlimit: \"--connlimit-upto\" and \"--connlimit-above\" are mutually exclusive"
                .into(),
        ),
    }
}

pub fn save(m: &ConnlimitMatch, out: &mut String) {
    let which = if m.above { "above" } else { "upto" };
    let side = if m.daddr { "daddr" } else { "saddr" };
    let _ = write!(
        out,
        " --connlimit-{which} {} --connlimit-mask {} --connlimit-{side}",
        m.count, m.mask_len
    );
}

pub fn list(m: &ConnlimitMatch, out: &mut String) {
    let _ = write!(
        out,
        " #conn {}/{} {} {}",
        if m.daddr { "dst" } else { "src" },
        m.mask_len,
        if m.above { ">" } else { "<=" },
        m.count
    );
}

impl super::MatchText for dataplane::ruleset::matches::connlimit::ConnlimitMatch {
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
        args: &mut super::Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        parse(self, opt, inv, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<bool, String> {
        finish(self, seen).map(|()| true)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }
}
