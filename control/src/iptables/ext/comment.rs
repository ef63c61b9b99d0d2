//! libxt_comment: `--comment TEXT` (at most 255 bytes).

use super::{no_inv, save_string, Args};
use dataplane::ruleset::matches::comment::{CommentMatch, MAX_COMMENT_LEN};

pub const OPTIONS: &[&str] = &["--comment"];

impl super::MatchText for CommentMatch {
    fn new(_name: &str) -> Self {
        CommentMatch {
            text: String::new(),
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
        no_inv(inv, o)?;
        let text = args.value(o)?;
        if text.len() > MAX_COMMENT_LEN {
            return Err(format!(
                "comment: \"--comment\" must be no longer than {MAX_COMMENT_LEN} characters"
            ));
        }
        self.text = text;
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("comment: option \"--comment\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --comment");
        save_string(out, &self.text);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" /* ");
        out.push_str(&self.text);
        out.push_str(" */");
    }
}
