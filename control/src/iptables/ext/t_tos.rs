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

pub fn finish_tos(_: &mut TosTarget, seen: &[&str]) -> Result<(), String> {
    match seen.len() {
        0 => Err("TOS: An action is required".into()),
        1 => Ok(()),
        _ => Err("TOS: Only one action may be given".into()),
    }
}

pub fn save_tos(t: &TosTarget, out: &mut String) {
    let _ = write!(out, " --set-tos 0x{:02x}/0x{:02x}", t.value, t.mask);
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

pub fn finish_dscp(_: &mut DscpTarget, seen: &[&str]) -> Result<(), String> {
    match seen.len() {
        0 => Err("DSCP target: Parameter --set-dscp is required".into()),
        1 => Ok(()),
        _ => Err("DSCP target: Only use --set-dscp ONCE!".into()),
    }
}

pub fn save_dscp(t: &DscpTarget, out: &mut String) {
    let _ = write!(out, " --set-dscp 0x{:02x}", t.dscp);
}
