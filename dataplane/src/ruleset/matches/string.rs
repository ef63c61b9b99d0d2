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
