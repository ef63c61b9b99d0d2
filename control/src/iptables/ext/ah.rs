//! libipt_ah: `[!] --ahspi SPI[:SPI]` (the range helpers are `esp`'s).

use super::esp::{list_spis, parse_spis, save_spis};
use super::Args;
use dataplane::ruleset::matches::ah::AhMatch;
use dataplane::ruleset::matches::esp::SpiRange;

pub const OPTIONS: &[&str] = &["--ahspi"];

impl super::MatchText for AhMatch {
    fn new(_name: &str) -> Self {
        AhMatch {
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
        self.spis = parse_spis(&args.value(o)?, o, "ah", inv)?;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_spis(&self.spis, "--ahspi", true, out);
    }

    /// `ah ` then the SPIs (iptables prints the space even without them).
    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" ah ");
        list_spis(&self.spis, out);
    }
}
