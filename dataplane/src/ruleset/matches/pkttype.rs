//! `-m pkttype --pkt-type unicast|broadcast|multicast|otherhost`: the link-layer class of
//! the frame's destination address (xt_pkttype reads `skb->pkt_type`, which
//! `eth_type_trans` set from it).

/// `skb->pkt_type` values the option names (`PACKET_HOST` ... `PACKET_OTHERHOST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PktType {
    /// To this host (`unicast`, or `host`).
    Unicast,
    Broadcast,
    Multicast,
    /// A unicast frame for another host. The kernel drops those in `ip_rcv` before any
    /// hook, so a rule for them never matches an IPv4 packet.
    OtherHost,
}

impl PktType {
    /// The name iptables prints.
    pub fn name(self) -> &'static str {
        match self {
            PktType::Unicast => "unicast",
            PktType::Broadcast => "broadcast",
            PktType::Multicast => "multicast",
            PktType::OtherHost => "otherhost",
        }
    }

    /// The class of a frame sent to `dst` (as `eth_type_trans` decides it for a frame the
    /// port accepted); a packet without a link header (the host's own, in OUTPUT) is
    /// `PACKET_HOST`, as the kernel leaves a locally built skb.
    pub fn of(dst: Option<[u8; 6]>) -> PktType {
        match dst {
            Some([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) => PktType::Broadcast,
            Some(d) if d[0] & 1 == 1 => PktType::Multicast,
            _ => PktType::Unicast,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PkttypeMatch {
    pub inv: bool,
    pub pkt_type: PktType,
}

impl PkttypeMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        (PktType::of(pkt.meta.dst_mac) == self.pkt_type) != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for PkttypeMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "pkttype";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::PacketMatch for PkttypeMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::ipv4;
    use crate::ruleset::packet::{PacketMeta, PacketView};

    #[test]
    fn the_destination_address_decides() {
        let p = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]);
        let at = |dst: Option<[u8; 6]>| {
            PacketView::parse(
                &p,
                PacketMeta {
                    dst_mac: dst,
                    ..PacketMeta::default()
                },
            )
            .unwrap()
        };
        let m = |pkt_type, inv| PkttypeMatch { inv, pkt_type };
        let bcast = Some([0xff; 6]);
        let mcast = Some([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        let ucast = Some([0x02, 0, 0, 0, 1, 1]);
        assert!(m(PktType::Broadcast, false).matches(&at(bcast)));
        assert!(!m(PktType::Multicast, false).matches(&at(bcast)));
        assert!(m(PktType::Multicast, false).matches(&at(mcast)));
        assert!(m(PktType::Unicast, false).matches(&at(ucast)));
        assert!(!m(PktType::Unicast, false).matches(&at(mcast)));
        assert!(m(PktType::Unicast, true).matches(&at(bcast)));
        // The host's own packets carry no link header: PACKET_HOST.
        assert!(m(PktType::Unicast, false).matches(&at(None)));
        // ip_rcv drops frames for other hosts: nothing reaches a rule as otherhost.
        for d in [bcast, mcast, ucast, None] {
            assert!(!m(PktType::OtherHost, false).matches(&at(d)));
        }
    }
}
