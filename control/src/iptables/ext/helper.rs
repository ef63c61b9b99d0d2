//! libxt_helper: `[!] --helper NAME` (at most 29 bytes; saved quoted when needed, listed
//! as `helper match "NAME"`).

use super::{save_string, Args};
use dataplane::ruleset::matches::helper::HelperMatch;

pub const OPTIONS: &[&str] = &["--helper"];

/// xt_helper_info's name field (30 bytes with its NUL).
const MAX_NAME: usize = 29;

impl super::MatchText for HelperMatch {
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
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let name = args.value(o)?;
        if name.len() > MAX_NAME {
            return Err(format!(
                "helper: \"--helper\" must be no longer than {MAX_NAME} characters"
            ));
        }
        *self = HelperMatch { inv, name };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("helper: option \"--helper\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" --helper");
        save_string(out, &self.name);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" helper match ");
        if self.inv {
            out.push_str("! ");
        }
        out.push('"');
        out.push_str(&self.name);
        out.push('"');
    }
}
