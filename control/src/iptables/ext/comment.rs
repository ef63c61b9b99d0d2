//! libxt_comment: `--comment TEXT` (at most 255 bytes).

use super::{no_inv, save_string, Args};
use dataplane::ruleset::matches::comment::{CommentMatch, MAX_COMMENT_LEN};

pub const OPTIONS: &[&str] = &["--comment"];

pub fn parse(m: &mut CommentMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    no_inv(inv, o)?;
    let text = args.value(o)?;
    if text.len() > MAX_COMMENT_LEN {
        return Err(format!(
            "comment: \"--comment\" must be no longer than {MAX_COMMENT_LEN} characters"
        ));
    }
    m.text = text;
    Ok(())
}

pub fn finish(_: &mut CommentMatch, seen: &[&str]) -> Result<(), String> {
    if seen.is_empty() {
        return Err("comment: option \"--comment\" must be specified".into());
    }
    Ok(())
}

pub fn save(m: &CommentMatch, out: &mut String) {
    out.push_str(" --comment");
    save_string(out, &m.text);
}

pub fn list(m: &CommentMatch, out: &mut String) {
    out.push_str(" /* ");
    out.push_str(&m.text);
    out.push_str(" */");
}

impl super::MatchText for dataplane::ruleset::matches::comment::CommentMatch {
    fn new(_name: &str) -> Self {
        dataplane::ruleset::matches::comment::CommentMatch {
            text: String::new(),
        }
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
        finish(self, seen)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }
}
