//! `-j SET` from the packet side: the element a packet adds to or deletes from a set, as
//! each type's `kadt` builds it in the kernel, and the operation that carries it from a
//! worker to the control plane's table (`SetTable::apply_packet_op`).

use super::{AddExt, Dirs, Elem, IpSet, Members, PacketFields, SetError, SetTable};
use crate::ruleset::matches::{IPPROTO_TCP, IPPROTO_UDP};
use std::sync::Arc;

/// What `-j SET` asks of one set for one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketSetOp {
    /// The set the rule names.
    pub index: u32,
    pub del: bool,
    /// `--exist`: an add refreshes an element already there.
    pub exist: bool,
    /// `--timeout`: overrides the set's default for an add (ignored without timeouts).
    pub timeout: Option<u32>,
    pub elem: OpElem,
}

/// The element(s) of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpElem {
    One(Elem),
    /// A list:set: the element for each member set in order; the first that takes the
    /// operation ends it (`list_set_kadd` / `list_set_kdel`).
    Members(Vec<(u32, Elem)>),
}

impl IpSet {
    /// The element `pkt` makes for this set with `dirs`, as the type's `kadt` makes it
    /// for an add or a delete; `None` where the kernel returns an error (too few
    /// directions, no port to read, a port outside a bitmap's range, a list:set, whose
    /// members decide: `SetTable::packet_op`).
    pub fn packet_elem(&self, pkt: &PacketFields, dirs: Dirs) -> Option<Elem> {
        if usize::from(dirs.count) < self.set_type.dimension() {
            return None;
        }
        Some(match &self.members {
            Members::V4(m) => return m.packet_elem(pkt, dirs),
            Members::V6(m) => return m.packet_elem(pkt, dirs),
            Members::BitmapPort(m) => {
                // ip_set_get_ip_port: TCP and UDP only.
                if !matches!(pkt.proto, IPPROTO_TCP | IPPROTO_UDP) {
                    return None;
                }
                let port = pkt.port(dirs.src(0))?;
                m.slot(port)?;
                Elem::Port(port)
            }
            Members::ListSet(_) => return None,
        })
    }
}

impl SetTable {
    /// The operation `-j SET` asks of set `index` for `pkt`; `None` when the set is gone
    /// or the packet makes no element for it.
    pub fn packet_op(
        &self,
        index: u32,
        pkt: &PacketFields,
        dirs: Dirs,
        del: bool,
        exist: bool,
        timeout: Option<u32>,
    ) -> Option<PacketSetOp> {
        let set = &self.get(index)?.set;
        let elem = match &set.members {
            Members::ListSet(l) => OpElem::Members(
                l.members
                    .iter()
                    .filter_map(|(m, _)| {
                        let e = self.get(*m)?.set.packet_elem(pkt, dirs)?;
                        Some((*m, e))
                    })
                    .collect(),
            ),
            _ => OpElem::One(set.packet_elem(pkt, dirs)?),
        };
        Some(PacketSetOp {
            index,
            del,
            exist,
            timeout,
            elem,
        })
    }

    /// Applies a worker's operation to this (the control plane's) table, as `ip_set_add`
    /// / `ip_set_del` apply it in the kernel: an add of an element already there without
    /// `--exist`, a delete of an absent one, a full set are silently nothing. True when a
    /// set changed.
    pub fn apply_packet_op(&mut self, op: &PacketSetOp, now_ns: u64) -> bool {
        match &op.elem {
            OpElem::One(e) => self.apply_one(op.index, op, e, now_ns).is_ok(),
            OpElem::Members(ms) => {
                // The list itself must still be there (and still a list).
                if !self
                    .get(op.index)
                    .is_some_and(|s| matches!(s.set.members, Members::ListSet(_)))
                {
                    return false;
                }
                ms.iter()
                    .any(|(m, e)| self.apply_one(*m, op, e, now_ns).is_ok())
            }
        }
    }

    fn apply_one(
        &mut self,
        index: u32,
        op: &PacketSetOp,
        elem: &Elem,
        now_ns: u64,
    ) -> Result<(), SetError> {
        let slot = self
            .slots
            .get_mut(index as usize)
            .and_then(Option::as_mut)
            .ok_or(SetError::NoSuchSet)?;
        // Check first: a no-op must not copy a set other workers still read.
        if op.del {
            if !slot.set.test_elem_alive(elem, now_ns) {
                return Err(SetError::NotAdded);
            }
            Arc::make_mut(&mut slot.set).del(elem, false, now_ns)
        } else {
            if !op.exist && slot.set.test_elem_alive(elem, now_ns) {
                return Err(SetError::AlreadyAdded);
            }
            let ext = AddExt {
                timeout: op.timeout.filter(|_| slot.set.options.timeout.is_some()),
                ..AddExt::default()
            };
            Arc::make_mut(&mut slot.set).add(elem, &ext, op.exist, now_ns)
        }
    }
}

impl SetTable {
    /// This table with `ops` applied in order (each changed set copied once), or `None`
    /// when none of them changed anything.
    pub fn with_packet_ops<'a>(
        &self,
        ops: impl IntoIterator<Item = &'a PacketSetOp>,
        now_ns: u64,
    ) -> Option<SetTable> {
        let mut next = self.clone();
        let mut changed = false;
        for op in ops {
            changed |= next.apply_packet_op(op, now_ns);
        }
        changed.then_some(next)
    }
}
