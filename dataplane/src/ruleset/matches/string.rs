//! `-m string`: a byte pattern in the packet between two offsets (xt_string).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringAlgo {
    Bm,
    Kmp,
}

impl StringAlgo {
    pub fn name(self) -> &'static str {
        match self {
            StringAlgo::Bm => "bm",
            StringAlgo::Kmp => "kmp",
        }
    }
}

/// XT_STRING_MAX_PATTERN_SIZE.
pub const MAX_PATTERN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringMatch {
    pub inv: bool,
    pub algo: StringAlgo,
    pub pattern: Vec<u8>,
    pub from: u16,
    pub to: u16,
    pub icase: bool,
}

impl StringMatch {
    /// xt_string: the pattern lies entirely within bytes `from..to` of the packet,
    /// counted from the start of the IP header.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let data = pkt.ip;
        let start = usize::from(self.from).min(data.len());
        let end = (usize::from(self.to)).min(data.len());
        let n = self.pattern.len();
        let found = start <= end
            && end - start >= n
            && data[start..end].windows(n).any(|w| {
                if self.icase {
                    w.eq_ignore_ascii_case(&self.pattern)
                } else {
                    w == self.pattern.as_slice()
                }
            });
        found != self.inv
    }
}
