//! libxt_ipcomp: `[!] --ipcompspi CPI[:CPI]`, `--compres`. Without `--ipcompspi` the range
//! stays 0:0 (iptables sets no default), so it is always saved and listed.

use super::esp::{list_spis, parse_spis, save_spis};
use super::Args;
use dataplane::ruleset::matches::esp::SpiRange;
use dataplane::ruleset::matches::ipcomp::IpcompMatch;

pub const OPTIONS: &[&str] = &["--ipcompspi", "--compres"];

impl super::MatchText for IpcompMatch {
    fn new(_name: &str) -> Self {
        IpcompMatch {
            spis: SpiRange {
                min: 0,
                max: 0,
                inv: false,
            },
            hdrres: false,
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
        match o {
            "--compres" => {
                super::no_inv(inv, o)?;
                self.hdrres = true;
            }
            _ => self.spis = parse_spis(&args.value(o)?, o, "ipcomp", inv)?,
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_spis(&self.spis, "--ipcompspi", false, out);
        if self.hdrres {
            out.push_str(" --compres");
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" comp ");
        list_spis(&self.spis, out);
        if self.hdrres {
            out.push_str(" reserved");
        }
    }
}
