//! libipt_ttl: `--ttl-eq`, `--ttl-lt`, `--ttl-gt` (only `--ttl-eq` negates).

use super::{no_inv, parse_bounded, Args};
use dataplane::ruleset::matches::ttl::{TtlMatch, TtlOp};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--ttl-eq", "--ttl-lt", "--ttl-gt"];

pub fn new() -> TtlMatch {
    TtlMatch {
        op: TtlOp::Eq,
        value: 0,
    }
}

pub fn parse(m: &mut TtlMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    let value = parse_bounded(&args.value(o)?, o, 0, 255)? as u8;
    let op = match o {
        "--ttl-eq" if inv => TtlOp::Ne,
        "--ttl-eq" => TtlOp::Eq,
        "--ttl-lt" => {
            no_inv(inv, o)?;
            TtlOp::Lt
        }
        _ => {
            no_inv(inv, o)?;
            TtlOp::Gt
        }
    };
    *m = TtlMatch { op, value };
    Ok(())
}

pub fn finish(_: &mut TtlMatch, seen: &[&str]) -> Result<(), String> {
    match seen.len() {
        0 => Err("TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt'".into()),
        1 => Ok(()),
        _ => Err("Can't specify TTL option twice".into()),
    }
}
pub fn save(m: &TtlMatch, out: &mut String) {
    let _ = match m.op {
        TtlOp::Eq => write!(out, " --ttl-eq {}", m.value),
        TtlOp::Ne => write!(out, " ! --ttl-eq {}", m.value),
        TtlOp::Lt => write!(out, " --ttl-lt {}", m.value),
        TtlOp::Gt => write!(out, " --ttl-gt {}", m.value),
    };
}

pub fn list(m: &TtlMatch, out: &mut String) {
    let op = match m.op {
        TtlOp::Eq => "==",
        TtlOp::Ne => "!=",
        TtlOp::Lt => "<",
        TtlOp::Gt => ">",
    };
    let _ = write!(out, " TTL match TTL {op} {}", m.value);
}

impl super::MatchText for dataplane::ruleset::matches::ttl::TtlMatch {
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

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        finish(self, seen)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }
}
