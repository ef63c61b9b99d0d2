//! `-j SET` (xt_SET revision 3): `--add-set NAME src|dst[,...]` adds the packet's element
//! to a set, `--del-set NAME ...` deletes it, `--exist` refreshes an element already there
//! (its timeout), `--timeout N` overrides the set's default timeout for what it adds. The
//! rule goes on with the next one (XT_CONTINUE) whatever the set said.
//!
//! The workers read sets from a snapshot; the target builds the element from the packet
//! here (`SetTable::packet_op`, the kernel's `kadt`) and the pipeline queues it for the
//! control plane, which applies it to its table and publishes the result (see
//! `Pipeline::drain_set_ops` and docs/deviations.md for when other packets see it).

use crate::ipset::Dirs;

/// One set the target writes to, resolved to its index while the rule is parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetRef {
    pub name: String,
    pub index: u32,
    pub dirs: Dirs,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetTarget {
    pub add: Option<SetRef>,
    pub del: Option<SetRef>,
    /// `--exist`: re-adding an element updates it instead of failing.
    pub exist: bool,
    /// `--timeout N` for what `--add-set` adds (a set without timeouts ignores it).
    pub timeout: Option<u32>,
}

/// The kernel caps a timeout given to an add at this many seconds (`IPSET_MAX_TIMEOUT`).
pub const MAX_TIMEOUT: u32 = (u32::MAX >> 1) / 1000;

impl SetTarget {
    /// The sets the target references.
    pub fn set_refs(&self) -> impl Iterator<Item = &SetRef> {
        self.add.iter().chain(self.del.iter())
    }

    /// The timeout an add carries, capped as `ip_set_timeout_uget` caps it.
    pub fn add_timeout(&self) -> Option<u32> {
        self.timeout.map(|t| t.min(MAX_TIMEOUT))
    }
}

impl crate::ruleset::ext::TargetExt for SetTarget {
    const NAME: &'static str = "SET";
    const REVISION: u8 = 3;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const TERMINAL: bool = false;

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        cx.queue_set_ops(self);
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_above_the_kernel_maximum_are_capped() {
        let mut t = SetTarget::default();
        assert_eq!(t.add_timeout(), None);
        t.timeout = Some(600);
        assert_eq!(t.add_timeout(), Some(600));
        t.timeout = Some(4_294_967_294);
        assert_eq!(t.add_timeout(), Some(2_147_483));
    }

    #[test]
    fn references_are_the_add_and_the_del_set() {
        let r = |name: &str, index| SetRef {
            name: name.into(),
            index,
            dirs: Dirs {
                src_bits: 1,
                count: 1,
            },
        };
        let t = SetTarget {
            add: Some(r("a", 3)),
            del: Some(r("b", 5)),
            ..SetTarget::default()
        };
        let idx: Vec<u32> = t.set_refs().map(|s| s.index).collect();
        assert_eq!(idx, [3, 5]);
    }
}
