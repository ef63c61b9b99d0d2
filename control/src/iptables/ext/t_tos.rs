//! libxt_TOS (rev 1) and libxt_DSCP.

use super::dscp::{dscp_class, parse_tos_value};
use super::{parse_bounded, parse_u32, Args};
use dataplane::ruleset::targets::tos::{DscpTarget, TosTarget};
use std::fmt::Write;

pub const TOS_OPTIONS: &[&str] = &["--set-tos", "--and-tos", "--or-tos", "--xor-tos"];
pub const DSCP_OPTIONS: &[&str] = &["--set-dscp", "--set-dscp-class"];

pub fn parse_tos(t: &mut TosTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    let byte = |s: &str| {
        parse_u32(s, o).and_then(|x| u8::try_from(x).map_err(|_| format!("Bad TOS value \"{s}\"")))
    };
    let (value, mask) = match o {
        "--set-tos" => parse_tos_value(&v, o)?,
        "--and-tos" => (0, !byte(&v)?),
        "--or-tos" => {
            let x = byte(&v)?;
            (x, x)
        }
        _ => (byte(&v)?, 0),
    };
    *t = TosTarget { value, mask };
    Ok(())
}

pub fn parse_dscp(t: &mut DscpTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    t.dscp = if o == "--set-dscp" {
        parse_bounded(&v, o, 0, 63)? as u8
    } else {
        dscp_class(&v)?
    };
    Ok(())
}

impl super::TargetText for DscpTarget {
    fn new() -> Self {
        DscpTarget { dscp: 0xff }
    }

    fn options(&self) -> &'static [&'static str] {
        DSCP_OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse_dscp(self, opt, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        match seen.len() {
            0 => Err("DSCP target: Parameter --set-dscp is required".into()),
            1 => Ok(()),
            _ => Err("DSCP target: Only use --set-dscp ONCE!".into()),
        }
    }

    fn save(&self, out: &mut String) {
        let _ = write!(out, " --set-dscp 0x{:02x}", self.dscp);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(out, " DSCP set 0x{:02x}", self.dscp);
    }
}

impl super::TargetText for TosTarget {
    fn new() -> Self {
        TosTarget { value: 0, mask: 0 }
    }

    fn options(&self) -> &'static [&'static str] {
        TOS_OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse_tos(self, opt, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        match seen.len() {
            0 => Err("TOS: An action is required".into()),
            1 => Ok(()),
            _ => Err("TOS: Only one action may be given".into()),
        }
    }

    fn save(&self, out: &mut String) {
        let _ = write!(out, " --set-tos 0x{:02x}/0x{:02x}", self.value, self.mask);
    }

    fn list(&self, numeric: bool, out: &mut String) {
        let (v, m) = (self.value, self.mask);
        let symbol = super::dscp::tos_symbol(v, m).filter(|_| !numeric);
        let _ = if numeric {
            write!(out, " TOS set 0x{v:02x}/0x{m:02x}")
        } else if let Some(name) = symbol {
            write!(out, " TOS set {name}")
        } else if v == 0 {
            write!(out, " TOS and 0x{:02x}", !m)
        } else if v == m {
            write!(out, " TOS or 0x{v:02x}")
        } else if m == 0 {
            write!(out, " TOS xor 0x{v:02x}")
        } else {
            write!(out, " TOS set 0x{v:02x}/0x{m:02x}")
        };
    }
}
