//! libipt_ttl: `--ttl-eq`, `--ttl-lt`, `--ttl-gt` (only `--ttl-eq` negates).

use super::{no_inv, parse_bounded, Args};
use dataplane::ruleset::matches::ttl::{TtlMatch, TtlOp};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--ttl-eq", "--ttl-lt", "--ttl-gt"];

impl super::MatchText for TtlMatch {
    fn new(_name: &str) -> Self {
        TtlMatch {
            op: TtlOp::Eq,
            value: 0,
        }
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
        *self = TtlMatch { op, value };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        match seen.len() {
            0 => {
                Err("TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt'".into())
            }
            1 => Ok(()),
            _ => Err("Can't specify TTL option twice".into()),
        }
    }

    fn save(&self, out: &mut String) {
        let _ = match self.op {
            TtlOp::Eq => write!(out, " --ttl-eq {}", self.value),
            TtlOp::Ne => write!(out, " ! --ttl-eq {}", self.value),
            TtlOp::Lt => write!(out, " --ttl-lt {}", self.value),
            TtlOp::Gt => write!(out, " --ttl-gt {}", self.value),
        };
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let op = match self.op {
            TtlOp::Eq => "==",
            TtlOp::Ne => "!=",
            TtlOp::Lt => "<",
            TtlOp::Gt => ">",
        };
        let _ = write!(out, " TTL match TTL {op} {}", self.value);
    }
}
