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
