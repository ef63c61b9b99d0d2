//! libip6t_hl: `--hl-eq` (negatable: not equal), `--hl-lt`, `--hl-gt`; one of them.
//! A guided-option extension: its refusals are libxtables' words.

use super::{parse_uint, Args};
use dataplane::ruleset::matches::hl::{HlMatch, HlOp};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--hl-eq", "--hl-lt", "--hl-gt"];

impl super::MatchText for HlMatch {
    fn new(_name: &str) -> Self {
        HlMatch {
            op: HlOp::Eq,
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
        if inv && o != "--hl-eq" {
            return Err(format!("hl: option \"{o}\" cannot be inverted."));
        }
        let v = args.value(o)?;
        let value = parse_uint(&v)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| format!("hl: bad value for option \"{o}\", or out of range (0-255)."))?;
        let op = match o {
            "--hl-eq" if inv => HlOp::Ne,
            "--hl-eq" => HlOp::Eq,
            "--hl-lt" => HlOp::Lt,
            _ => HlOp::Gt,
        };
        *self = HlMatch { op, value };
        Ok(())
    }

    /// libip6t_hl's final check, then libxtables' exclusions (`--hl-lt` and `--hl-gt`
    /// exclude every other option; the first of them in the option table is named).
    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("HL match: You must specify one of `--hl-eq', `--hl-lt', `--hl-gt'".into());
        }
        super::exclusive_options("hl", OPTIONS, &["--hl-lt", "--hl-gt"], seen)
    }

    fn save(&self, out: &mut String) {
        let _ = match self.op {
            HlOp::Eq => write!(out, " --hl-eq {}", self.value),
            HlOp::Ne => write!(out, " ! --hl-eq {}", self.value),
            HlOp::Lt => write!(out, " --hl-lt {}", self.value),
            HlOp::Gt => write!(out, " --hl-gt {}", self.value),
        };
    }

    /// ` HL match HL == 64` (libip6t_hl's print).
    fn list(&self, _numeric: bool, out: &mut String) {
        let op = match self.op {
            HlOp::Eq => "==",
            HlOp::Ne => "!=",
            HlOp::Lt => "<",
            HlOp::Gt => ">",
        };
        let _ = write!(out, " HL match HL {op} {}", self.value);
    }

    fn repeated(opt: &str) -> String {
        format!("hl: option \"{opt}\" can only be used once.\n")
    }
}
