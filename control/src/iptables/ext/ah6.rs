//! libip6t_ah: `[!] --ahspi SPI[:SPI]`, `[!] --ahlen N`, `--ahres`. A guided-option
//! extension: numbers as `strtoul` base 0 reads them, refusals in libxtables' words.

use super::{parse_uint, Args};
use dataplane::ruleset::matches::ah6::Ah6Match;
use dataplane::ruleset::matches::esp::SpiRange;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--ahspi", "--ahlen", "--ahres"];

fn spi(s: &str) -> Result<u32, String> {
    parse_uint(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            format!(
                "ah: bad value for option \"--ahspi\" near \"{s}\", or out of range (0-{}).",
                u32::MAX
            )
        })
}

impl super::MatchText for Ah6Match {
    fn new(_name: &str) -> Self {
        Ah6Match::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        match opt {
            "--ahspi" => {
                let v = args.value(opt)?;
                let (min, max) = match v.split_once(':') {
                    Some((a, b)) => (
                        if a.is_empty() { 0 } else { spi(a)? },
                        if b.is_empty() { u32::MAX } else { spi(b)? },
                    ),
                    None => {
                        let n = spi(&v)?;
                        (n, n)
                    }
                };
                self.spis = SpiRange { min, max, inv };
            }
            "--ahlen" => {
                let v = args.value(opt)?;
                self.len = parse_uint(&v)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        format!(
                            "ah: bad value for option \"--ahlen\", or out of range (0-{}).",
                            u32::MAX
                        )
                    })?;
                self.len_inv = inv;
            }
            _ => {
                if inv {
                    return Err("ah: option \"--ahres\" cannot be inverted.".into());
                }
                self.res = true;
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if (self.spis.min, self.spis.max) != (0, u32::MAX) {
            super::esp::save_spis(&self.spis, "--ahspi", false, out);
        }
        if self.len != 0 || self.len_inv {
            super::opt(out, self.len_inv, "--ahlen");
            let _ = write!(out, " {}", self.len);
        }
        if self.res {
            out.push_str(" --ahres");
        }
    }

    /// ` ah spi:5length:3 reserved` (libip6t_ah's print: no space before `length`).
    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" ah ");
        super::esp::list_spis(&self.spis, out);
        if self.len != 0 || self.len_inv {
            let inv = if self.len_inv { "!" } else { "" };
            let _ = write!(out, "length:{inv}{}", self.len);
        }
        if self.res {
            out.push_str(" reserved");
        }
    }

    fn repeated(opt: &str) -> String {
        format!("ah: option \"{opt}\" can only be used once.\n")
    }
}
