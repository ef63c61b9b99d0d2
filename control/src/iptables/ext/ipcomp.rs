//! libxt_ipcomp: `[!] --ipcompspi CPI[:CPI]`, `--compres`. Without `--ipcompspi` the range
//! stays 0:0 (iptables sets no default), so it is always saved and listed.

use super::esp::{list_spis, parse_spis, save_spis};
use super::Args;
use dataplane::ruleset::matches::esp::SpiRange;
use dataplane::ruleset::matches::ipcomp::IpcompMatch;

pub const OPTIONS: &[&str] = &["--ipcompspi", "--compres"];

pub fn new() -> IpcompMatch {
    IpcompMatch {
        spis: SpiRange {
            min: 0,
            max: 0,
            inv: false,
        },
        hdrres: false,
    }
}

pub fn parse(m: &mut IpcompMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    match o {
        "--compres" => {
            super::no_inv(inv, o)?;
            m.hdrres = true;
        }
        _ => m.spis = parse_spis(&args.value(o)?, o, "ipcomp", inv)?,
    }
    Ok(())
}

pub fn save(m: &IpcompMatch, out: &mut String) {
    save_spis(&m.spis, "--ipcompspi", false, out);
    if m.hdrres {
        out.push_str(" --compres");
    }
}

pub fn list(m: &IpcompMatch, out: &mut String) {
    out.push_str(" comp ");
    list_spis(&m.spis, out);
    if m.hdrres {
        out.push_str(" reserved");
    }
}

impl super::MatchText for dataplane::ruleset::matches::ipcomp::IpcompMatch {
    fn new(_name: &str) -> Self {
        new()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut super::Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        parse(self, opt, inv, args)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }
}
