//! libipt_ah: `[!] --ahspi SPI[:SPI]` (the range helpers are `esp`'s).

use super::esp::{list_spis, parse_spis, save_spis};
use super::Args;
use dataplane::ruleset::matches::ah::AhMatch;
use dataplane::ruleset::matches::esp::SpiRange;

pub const OPTIONS: &[&str] = &["--ahspi"];

pub fn new() -> AhMatch {
    AhMatch {
        spis: SpiRange::ANY,
    }
}

pub fn parse(m: &mut AhMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    m.spis = parse_spis(&args.value(o)?, o, "ah", inv)?;
    Ok(())
}

pub fn save(m: &AhMatch, out: &mut String) {
    save_spis(&m.spis, "--ahspi", true, out);
}

/// `ah ` then the SPIs (iptables prints the space even without them).
pub fn list(m: &AhMatch, out: &mut String) {
    out.push_str(" ah ");
    list_spis(&m.spis, out);
}

impl super::MatchText for dataplane::ruleset::matches::ah::AhMatch {
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
