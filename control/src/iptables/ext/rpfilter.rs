//! libxt_rpfilter: `--loose`, `--validmark`, `--accept-local`, `--invert` (flags; none
//! takes `!`), saved in that order.

use super::Args;
use dataplane::ruleset::matches::rpfilter::RpfilterMatch;

pub const OPTIONS: &[&str] = &["--loose", "--validmark", "--accept-local", "--invert"];

pub fn parse(m: &mut RpfilterMatch, o: &str, inv: bool, _: &mut Args) -> Result<(), String> {
    if inv {
        return Err(format!("rpfilter: option \"{o}\" cannot be inverted."));
    }
    match o {
        "--loose" => m.loose = true,
        "--validmark" => m.validmark = true,
        "--accept-local" => m.accept_local = true,
        _ => m.invert = true,
    }
    Ok(())
}

fn flags(m: &RpfilterMatch) -> impl Iterator<Item = &'static str> {
    [m.loose, m.validmark, m.accept_local, m.invert]
        .into_iter()
        .zip(OPTIONS)
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
}

pub fn save(m: &RpfilterMatch, out: &mut String) {
    for f in flags(m) {
        out.push(' ');
        out.push_str(f);
    }
}

pub fn list(m: &RpfilterMatch, out: &mut String) {
    out.push_str(" rpfilter");
    for f in flags(m) {
        out.push(' ');
        out.push_str(&f[2..]);
    }
}

impl super::MatchText for dataplane::ruleset::matches::rpfilter::RpfilterMatch {
    fn new(_name: &str) -> Self {
        Default::default()
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
