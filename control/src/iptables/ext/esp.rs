//! libxt_esp: `[!] --espspi SPI[:SPI]`. The SPI range parsing, saving and listing here
//! serve libxt_ah and libxt_ipcomp too.

use super::Args;
use dataplane::ruleset::matches::esp::{EspMatch, SpiRange};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--espspi"];

/// `N`, `N:M`, `N:` (to the largest) or `:M` (from 0), as xtables' `parse_range` reads
/// them; `max` is the field's largest value.
pub fn parse_spis(v: &str, opt: &str, ext: &str, inv: bool) -> Result<SpiRange, String> {
    let num = |s: &str| {
        s.parse::<u32>().map_err(|_| {
            format!(
                "{ext}: bad value for option \"{opt}\" near \"{s}\", or out of range (0-{}).",
                u32::MAX
            )
        })
    };
    let (min, max) = match v.split_once(':') {
        Some((a, b)) => (
            if a.is_empty() { 0 } else { num(a)? },
            if b.is_empty() { u32::MAX } else { num(b)? },
        ),
        None => {
            let n = num(v)?;
            (n, n)
        }
    };
    Ok(SpiRange { min, max, inv })
}

/// ` [!] OPT N` or ` [!] OPT MIN:MAX`; nothing for every SPI when `skip_any`.
pub fn save_spis(s: &SpiRange, opt: &str, skip_any: bool, out: &mut String) {
    if skip_any && *s == SpiRange::ANY {
        return;
    }
    out.push_str(if s.inv { " ! " } else { " " });
    out.push_str(opt);
    if s.min == s.max {
        let _ = write!(out, " {}", s.min);
    } else {
        let _ = write!(out, " {}:{}", s.min, s.max);
    }
}

/// `spi:[!]N` or `spis:[!]MIN:MAX`, nothing for every SPI (libxt's `print_spis`).
pub fn list_spis(s: &SpiRange, out: &mut String) {
    if *s == SpiRange::ANY {
        return;
    }
    let inv = if s.inv { "!" } else { "" };
    if s.min == s.max {
        let _ = write!(out, "spi:{inv}{}", s.min);
    } else {
        let _ = write!(out, "spis:{inv}{}:{}", s.min, s.max);
    }
}

impl super::MatchText for EspMatch {
    fn new(_name: &str) -> Self {
        EspMatch {
            spis: SpiRange::ANY,
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
        self.spis = parse_spis(&args.value(o)?, o, "esp", inv)?;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_spis(&self.spis, "--espspi", true, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" esp");
        if self.spis != SpiRange::ANY {
            out.push(' ');
            list_spis(&self.spis, out);
        }
    }
}
