//! `-m mark` and `-m connmark`: `(mark & mask) == value` on the packet or connection mark.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkMatch {
    pub inv: bool,
    pub value: u32,
    pub mask: u32,
}

impl MarkMatch {
    #[inline]
    pub fn matches_mark(&self, mark: u32) -> bool {
        ((mark & self.mask) == self.value) != self.inv
    }
}

/// `-m connmark`: the mark test on the packet's connection (no connection: no match).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnmarkMatch(pub MarkMatch);

impl crate::ruleset::ext::MatchExt for ConnmarkMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "connmark";
    const REVISION: u8 = 1;
}

impl crate::ruleset::ext::ConnMatch for ConnmarkMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        cx: &mut crate::ruleset::ext::ConnCx<'_, A>,
    ) -> bool {
        cx.entry.is_some_and(|e| self.0.matches_mark(e.mark))
    }
}

impl crate::ruleset::ext::MatchExt for MarkMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "mark";
    const REVISION: u8 = 1;
}

impl crate::ruleset::ext::PacketMatch for MarkMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches_mark(cx.view.meta.mark)
    }
}
