//! libxt_dscp (`--dscp`, `--dscp-class`) and libxt_tos (`--tos value[/mask]|NAME`).

use super::{opt, parse_bounded, parse_u32, Args};
use dataplane::ruleset::matches::dscp::{DscpMatch, TosMatch};
use dataplane::ruleset::targets::tos::DSCP_CLASSES;
use std::fmt::Write;

pub const DSCP_OPTIONS: &[&str] = &["--dscp", "--dscp-class"];
pub const TOS_OPTIONS: &[&str] = &["--tos"];

/// TOS names and their values; a name implies the mask 0x3f.
pub const TOS_NAMES: [(&str, u8); 5] = [
    ("Minimize-Delay", 0x10),
    ("Maximize-Throughput", 0x08),
    ("Maximize-Reliability", 0x04),
    ("Minimize-Cost", 0x02),
    ("Normal-Service", 0x00),
];

pub fn dscp_class(s: &str) -> Result<u8, String> {
    DSCP_CLASSES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("Invalid DSCP value `{s}'"))
}

/// `value[/mask]` (mask defaults to 0xff) or a TOS name (mask 0x3f).
pub fn parse_tos_value(s: &str, opt: &str) -> Result<(u8, u8), String> {
    if let Some((_, v)) = TOS_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok((*v, 0x3f));
    }
    let byte = |x: &str| {
        parse_u32(x, opt)
            .and_then(|v| u8::try_from(v).map_err(|_| format!("Bad TOS value \"{s}\"")))
    };
    match s.split_once('/') {
        Some((v, m)) => Ok((byte(v)?, byte(m)?)),
        None => Ok((byte(s)?, 0xff)),
    }
}

/// The TOS name for a value under the symbolic mask 0x3f.
pub fn tos_symbol(value: u8, mask: u8) -> Option<&'static str> {
    (mask == 0x3f)
        .then(|| TOS_NAMES.iter().find(|(_, v)| *v == value).map(|(n, _)| *n))
        .flatten()
}

impl super::MatchText for DscpMatch {
    fn new(_name: &str) -> Self {
        DscpMatch {
            inv: false,
            dscp: 0,
        }
    }

    fn options(&self) -> &'static [&'static str] {
        DSCP_OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let v = args.value(o)?;
        self.dscp = if o == "--dscp" {
            parse_bounded(&v, o, 0, 63)? as u8
        } else {
            dscp_class(&v)?
        };
        self.inv = inv;
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        match seen.len() {
            0 => Err("dscp match: Parameter --dscp is required".into()),
            1 => Ok(()),
            _ => Err("DSCP match: only use one of --dscp or --dscp-class".into()),
        }
    }

    fn save(&self, out: &mut String) {
        opt(out, self.inv, "--dscp");
        let _ = write!(out, " 0x{:02x}", self.dscp);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(
            out,
            " DSCP match {}0x{:02x}",
            if self.inv { "!" } else { "" },
            self.dscp
        );
    }
}

impl super::MatchText for TosMatch {
    fn new(_name: &str) -> Self {
        TosMatch {
            inv: false,
            value: 0,
            mask: 0,
        }
    }

    fn options(&self) -> &'static [&'static str] {
        TOS_OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let (value, mask) = parse_tos_value(&args.value(o)?, o)?;
        *self = TosMatch { inv, value, mask };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        match seen.len() {
            0 => Err("tos: option \"--tos\" must be specified".into()),
            _ => Ok(()),
        }
    }

    fn save(&self, out: &mut String) {
        opt(out, self.inv, "--tos");
        let _ = write!(out, " 0x{:02x}/0x{:02x}", self.value, self.mask);
    }

    fn list(&self, numeric: bool, out: &mut String) {
        out.push_str(" tos match");
        if self.inv {
            out.push('!');
        }
        match tos_symbol(self.value, self.mask).filter(|_| !numeric) {
            Some(name) => out.push_str(name),
            None => {
                let _ = write!(out, "0x{:02x}/0x{:02x}", self.value, self.mask);
            }
        }
    }
}
