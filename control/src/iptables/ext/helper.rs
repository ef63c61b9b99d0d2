//! libxt_helper: `[!] --helper NAME` (at most 29 bytes; saved quoted when needed, listed
//! as `helper match "NAME"`).

use super::{save_string, Args};
use dataplane::ruleset::matches::helper::HelperMatch;

pub const OPTIONS: &[&str] = &["--helper"];

/// xt_helper_info's name field (30 bytes with its NUL).
const MAX_NAME: usize = 29;

pub fn parse(m: &mut HelperMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    let name = args.value(o)?;
    if name.len() > MAX_NAME {
        return Err(format!(
            "helper: \"--helper\" must be no longer than {MAX_NAME} characters"
        ));
    }
    *m = HelperMatch { inv, name };
    Ok(())
}

pub fn finish(seen: &[&str]) -> Result<(), String> {
    if seen.is_empty() {
        return Err("helper: option \"--helper\" must be specified".into());
    }
    Ok(())
}

pub fn save(m: &HelperMatch, out: &mut String) {
    if m.inv {
        out.push_str(" !");
    }
    out.push_str(" --helper");
    save_string(out, &m.name);
}

pub fn list(m: &HelperMatch, out: &mut String) {
    out.push_str(" helper match ");
    if m.inv {
        out.push_str("! ");
    }
    out.push('"');
    out.push_str(&m.name);
    out.push('"');
}

impl super::MatchText for dataplane::ruleset::matches::helper::HelperMatch {
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

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        finish(seen)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }
}
