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

/// ip6tables' `--connlimit-mask` (libxtables' XTTYPE_PLENMASK): a length 0..=128 or a
/// mask in address form.
fn parse_mask6(v: &str) -> Result<u8, String> {
    let bad = || {
        "connlimit: bad value for option \"--connlimit-mask\", neither a valid network mask nor valid CIDR (0-128).".to_string()
    };
    if let Ok(mask) = v.parse::<std::net::Ipv6Addr>() {
        // ip6tables keeps a non-contiguous mask and saves it as /128; nfdp keeps lengths
        // only, so such a mask is /128 here (the same text; IPv6 is not evaluated yet).
        let mask = u128::from(mask);
        let ones = mask.leading_ones();
        return Ok(match mask.checked_shl(ones).unwrap_or(0) {
            0 => ones as u8,
            _ => 128,
        });
    }
    super::parse_uint(v)
        .filter(|n| *n <= 128)
        .map(|n| n as u8)
        .ok_or_else(bad)
}

impl super::MatchText for ConnlimitMatch {
    fn new(_name: &str) -> Self {
        ConnlimitMatch {
            above: false,
            count: 0,
            mask_len: 32,
            daddr: false,
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
        ctx: &super::Ctx,
    ) -> Result<(), String> {
        let family = ctx.family;
        match o {
            "--connlimit-upto" => {
                self.count = parse_u32(&args.value(o)?, o)?;
                self.above = inv;
            }
            "--connlimit-above" => {
                self.count = parse_u32(&args.value(o)?, o)?;
                self.above = !inv;
            }
            "--connlimit-mask" if family == dataplane::ruleset::Family::V6 => {
                no_inv(inv, o)?;
                self.mask_len = parse_mask6(&args.value(o)?)?;
            }
            "--connlimit-mask" => {
                no_inv(inv, o)?;
                self.mask_len = parse_bounded(&args.value(o)?, o, 0, 32)? as u8;
            }
            "--connlimit-saddr" => {
                no_inv(inv, o)?;
                self.daddr = false;
            }
            _ => {
                no_inv(inv, o)?;
                self.daddr = true;
            }
        }
        Ok(())
    }

    /// ip6tables' default mask is /128.
    fn for_family(&mut self, family: dataplane::ruleset::Family) {
        if family == dataplane::ruleset::Family::V6 {
            self.mask_len = 128;
        }
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
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

    fn save(&self, out: &mut String) {
        let which = if self.above { "above" } else { "upto" };
        let side = if self.daddr { "daddr" } else { "saddr" };
        let _ = write!(
            out,
            " --connlimit-{which} {} --connlimit-mask {} --connlimit-{side}",
            self.count, self.mask_len
        );
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(
            out,
            " #conn {}/{} {} {}",
            if self.daddr { "dst" } else { "src" },
            self.mask_len,
            if self.above { ">" } else { "<=" },
            self.count
        );
    }
}
