//! `-m comment`: matches everything; the text is for people (xt_comment).

/// XT_MAX_COMMENT_LEN - 1.
pub const MAX_COMMENT_LEN: usize = 255;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentMatch {
    pub text: String,
}

impl CommentMatch {
    pub fn matches(&self, _pkt: &crate::ruleset::packet::PacketView) -> bool {
        true
    }
}

impl crate::ruleset::ext::MatchExt for CommentMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "comment";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::PacketMatch for CommentMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}
