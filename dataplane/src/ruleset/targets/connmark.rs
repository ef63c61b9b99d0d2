//! `-j CONNMARK`: set the connection mark, or copy between packet and connection mark.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnmarkTarget {
    /// `ctmark = (ctmark & !mask) ^ value`.
    SetXmark { value: u32, mask: u32 },
    /// `ctmark = (ctmark & !ctmask) ^ (nfmark & nfmask)`.
    Save { nfmask: u32, ctmask: u32 },
    /// `nfmark = (nfmark & !nfmask) ^ (ctmark & ctmask)`.
    Restore { nfmask: u32, ctmask: u32 },
}

impl crate::ruleset::ext::TargetExt for ConnmarkTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "CONNMARK";
    const REVISION: u8 = 2;
    const TERMINAL: bool = false;

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        let nfmark = cx.mark();
        let mut restored = None;
        // The connection of the packet's family (IPv6: `Conntrack6`'s entry).
        if let Some(ctmark) = cx.conn_mark_mut() {
            match *self {
                ConnmarkTarget::SetXmark { value, mask } => *ctmark = (*ctmark & !mask) ^ value,
                ConnmarkTarget::Save { nfmask, ctmask } => {
                    *ctmark = (*ctmark & !ctmask) ^ (nfmark & nfmask)
                }
                ConnmarkTarget::Restore { nfmask, ctmask } => {
                    restored = Some((nfmark & !nfmask) ^ (*ctmark & ctmask))
                }
            }
        }
        if let Some(m) = restored {
            cx.set_mark(m);
        }
        crate::ruleset::ext::TargetOutcome::Continue
    }
}
