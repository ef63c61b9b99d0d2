//! `-m connlimit`: the number of tracked connections per address group (xt_connlimit).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnlimitMatch {
    /// `--connlimit-above N` matches when count > N; `--connlimit-upto N` when count <= N.
    pub above: bool,
    pub count: u32,
    pub mask_len: u8,
    /// Group by destination (`--connlimit-daddr`) instead of source.
    pub daddr: bool,
}
