//! libxt_MARK (rev 2): every spelling becomes `--set-xmark value/mask`.

use super::{parse_u32, parse_value_mask, Args};
use dataplane::ruleset::targets::mark::MarkTarget;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &[
    "--set-xmark",
    "--set-mark",
    "--and-mark",
    "--or-mark",
    "--xor-mark",
];

/// The (value, mask) pair of `--set-xmark` that each spelling means.
pub fn parse_xmark(o: &str, v: &str) -> Result<(u32, u32), String> {
    Ok(match o {
        "--set-xmark" => parse_value_mask(v, o)?,
        "--set-mark" => {
            let (value, mask) = parse_value_mask(v, o)?;
            (value, value | mask)
        }
        "--and-mark" => (0, !parse_u32(v, o)?),
        "--or-mark" => {
            let x = parse_u32(v, o)?;
            (x, x)
        }
        _ => (parse_u32(v, o)?, 0),
    })
}

pub fn parse(t: &mut MarkTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let (value, mask) = parse_xmark(o, &args.value(o)?)?;
    *t = MarkTarget { value, mask };
    Ok(())
}

/// libxt_MARK's reading of (value, mask): and / or / xor / set / xset.
pub fn list_xmark(out: &mut String, what: &str, value: u32, mask: u32) {
    let _ = if value == 0 {
        write!(out, " {what} and 0x{:x}", !mask)
    } else if value == mask {
        write!(out, " {what} or 0x{value:x}")
    } else if mask == 0 {
        write!(out, " {what} xor 0x{value:x}")
    } else if mask == u32::MAX {
        write!(out, " {what} set 0x{value:x}")
    } else {
        write!(out, " {what} xset 0x{value:x}/0x{mask:x}")
    };
}

impl super::TargetText for MarkTarget {
    fn new() -> Self {
        MarkTarget { value: 0, mask: 0 }
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse(self, opt, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        match seen.len() {
            0 => Err("MARK target: Parameter --set/and/or/xor-mark is required".into()),
            1 => Ok(()),
            _ => Err("MARK: Only one of --set-xmark, --set-mark, --and-mark, --or-mark or --xor-mark may be given".into()),
        }
    }

    fn save(&self, out: &mut String) {
        let _ = write!(out, " --set-xmark 0x{:x}/0x{:x}", self.value, self.mask);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list_xmark(out, "MARK", self.value, self.mask);
    }
}
