//! `-j CHECKSUM --checksum-fill` (mangle only): xt_CHECKSUM computes the TCP/UDP checksum
//! of a packet whose checksum was left to the NIC (`CHECKSUM_PARTIAL`: the host's own
//! packets with offload), for guests that cannot take such packets (libvirt's DHCP rule).
//! Every packet nfdp handles carries its whole checksum already (it verifies received
//! ones, rewrites incrementally, and builds its own complete), so there is nothing to
//! fill: the target leaves the packet as it is and the traversal goes on, as the kernel
//! does for a packet that is not CHECKSUM_PARTIAL.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChecksumTarget;

impl crate::ruleset::ext::TargetExt for ChecksumTarget {
    const NAME: &'static str = "CHECKSUM";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const TERMINAL: bool = false;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Mangle)
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        // Every packet here has its whole checksum: nothing to fill.
        let _ = cx;
        crate::ruleset::ext::TargetOutcome::Continue
    }
}
