//! `-m mac --mac-source`: the Ethernet source address (xt_mac; only where a frame was
//! received: PREROUTING, INPUT, FORWARD).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacMatch {
    pub inv: bool,
    pub addr: [u8; 6],
}

impl MacMatch {
    /// No link header (locally generated packets) never matches.
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        pkt.meta
            .src_mac
            .is_some_and(|m| (m == self.addr) != self.inv)
    }
}

impl crate::ruleset::ext::MatchExt for MacMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "mac";
    const REVISION: u8 = 0;
    fn usable(&self) -> crate::ruleset::Usable {
        use crate::ruleset::Hook;
        crate::ruleset::Usable::hooks(&[Hook::Prerouting, Hook::Input, Hook::Forward])
    }
}

impl crate::ruleset::ext::PacketMatch for MacMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};
    use crate::ruleset::packet::{PacketMeta, PacketView};

    #[test]
    fn source_mac_and_no_link_header() {
        let p = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]);
        let m = |addr, inv| MacMatch { inv, addr };
        assert!(m([2, 0, 0, 0, 0, 1], false).matches(&view(&p)));
        assert!(!m([2, 0, 0, 0, 0, 2], false).matches(&view(&p)));
        assert!(m([2, 0, 0, 0, 0, 2], true).matches(&view(&p)));
        let local = PacketView::parse(&p, PacketMeta::default()).unwrap();
        assert!(!m([2, 0, 0, 0, 0, 2], true).matches(&local));
    }
}
