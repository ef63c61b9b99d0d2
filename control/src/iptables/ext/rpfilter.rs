//! libxt_rpfilter: `--loose`, `--validmark`, `--accept-local`, `--invert` (flags; none
//! takes `!`), saved in that order.

use super::Args;
use dataplane::ruleset::matches::rpfilter::RpfilterMatch;

pub const OPTIONS: &[&str] = &["--loose", "--validmark", "--accept-local", "--invert"];

fn flags(m: &RpfilterMatch) -> impl Iterator<Item = &'static str> {
    [m.loose, m.validmark, m.accept_local, m.invert]
        .into_iter()
        .zip(OPTIONS)
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
}

impl super::MatchText for RpfilterMatch {
    fn new(_name: &str) -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        _args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        if inv {
            return Err(format!("rpfilter: option \"{o}\" cannot be inverted."));
        }
        match o {
            "--loose" => self.loose = true,
            "--validmark" => self.validmark = true,
            "--accept-local" => self.accept_local = true,
            _ => self.invert = true,
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        for f in flags(self) {
            out.push(' ');
            out.push_str(f);
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" rpfilter");
        for f in flags(self) {
            out.push(' ');
            out.push_str(&f[2..]);
        }
    }
}
