//! `-j NFLOG` (xt_NFLOG): the packet handed to user space for logging under a group
//! number; the packet goes on with the next rule. The kernel passes it to nfnetlink_log
//! (ulogd and friends listen on a group); nfdp has no netlink, so the packet is queued for
//! the control plane, which writes it to the group's pcap file (what ulogd's PCAP output
//! plugin would write: the IPv4 or IPv6 packet as the hook sees it, LINKTYPE_RAW).
//!
//! Options as iptables 1.8.9 (nf_tables) keeps them: `--nflog-range` is accepted but not
//! kept (the nft `log` expression has no place for it, and the kernel never used it),
//! `--nflog-threshold` is kept and printed but changes nothing here (it batches netlink
//! messages), `--nflog-size N` truncates the copy to N bytes.

/// The longest prefix iptables-nft keeps (NF_LOG_PREFIXLEN - 1; longer ones are cut).
pub const MAX_PREFIX_LEN: usize = 127;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NflogTarget {
    /// `--nflog-group`: the nfnetlink_log group (0 by default).
    pub group: u16,
    /// `--nflog-prefix`: carried with the packet to the logger (at most `MAX_PREFIX_LEN`).
    pub prefix: String,
    /// `--nflog-size`: the bytes of the packet copied; None copies the whole packet.
    pub size: Option<u32>,
    /// `--nflog-threshold`: packets nfnetlink_log queues before a message (0 = default).
    pub threshold: u16,
}

/// One packet an NFLOG rule logged, on its way to the group's capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NflogRecord {
    pub group: u16,
    pub prefix: String,
    /// The packet clock (nanoseconds) when the rule saw the packet.
    pub ts_ns: u64,
    /// The packet's length as the hook saw it.
    pub orig_len: u32,
    /// The packet's first `size` bytes (all of it without `--nflog-size`).
    pub data: Vec<u8>,
}

impl NflogTarget {
    /// How many bytes of a packet of `len` bytes are copied.
    pub fn copy_len(&self, len: usize) -> usize {
        match self.size {
            Some(n) => len.min(n as usize),
            None => len,
        }
    }

    /// The record for `packet` (the IPv4 or IPv6 packet as the hook sees it) at `ts_ns`.
    pub fn record(&self, packet: &[u8], ts_ns: u64) -> NflogRecord {
        NflogRecord {
            group: self.group,
            prefix: self.prefix.clone(),
            ts_ns,
            orig_len: u32::try_from(packet.len()).unwrap_or(u32::MAX),
            data: packet[..self.copy_len(packet.len())].to_vec(),
        }
    }
}

impl crate::ruleset::ext::TargetExt for NflogTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "NFLOG";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        cx.queue_nflog(self);
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_group_0_no_prefix_whole_packet() {
        let t = NflogTarget::default();
        assert_eq!(
            (t.group, t.prefix.as_str(), t.size, t.threshold),
            (0, "", None, 0)
        );
        assert_eq!(t.copy_len(1500), 1500);
    }

    #[test]
    fn size_truncates_the_copy_and_keeps_the_original_length() {
        let t = NflogTarget {
            group: 5,
            prefix: "dns".into(),
            size: Some(40),
            threshold: 0,
        };
        let pkt: Vec<u8> = (0..100u8).collect();
        let r = t.record(&pkt, 7);
        assert_eq!(r.group, 5);
        assert_eq!(r.prefix, "dns");
        assert_eq!(r.ts_ns, 7);
        assert_eq!(r.orig_len, 100);
        assert_eq!(r.data, pkt[..40]);
        // A packet shorter than the size is copied whole.
        assert_eq!(t.record(&pkt[..20], 0).data, pkt[..20]);
    }

    #[test]
    fn size_zero_copies_nothing() {
        let t = NflogTarget {
            size: Some(0),
            ..NflogTarget::default()
        };
        let r = t.record(&[0x45; 60], 0);
        assert!(r.data.is_empty());
        assert_eq!(r.orig_len, 60);
    }
}
