//! `-j SET` from the packet side: the element a packet adds to or deletes from a set, as
//! each type's `kadt` builds it in the kernel, and the operation that carries it from a
//! worker to the control plane's table (`SetTable::apply_packet_op`).

use super::{store, AddExt, Dirs, Elem, IpSet, Members, PacketFields, SetError, SetTable};
use crate::ruleset::matches::{IPPROTO_TCP, IPPROTO_UDP};
use std::net::Ipv4Addr;
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

/// The longest prefix length in use, or a host's (`INIT_CIDR(h->nets[0].cidr[0],
/// HOST_MASK)`): what a packet adds to a hash:net type.
fn add_prefix(prefixes: &[u8]) -> u8 {
    prefixes.first().copied().unwrap_or(32)
}

fn net(addr: u32, len: u8) -> Ipv4Addr {
    Ipv4Addr::from(store::masked(addr, len))
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
        let addr = pkt.addr(dirs.src(0));
        Some(match &self.members {
            Members::HashIp(_) => Elem::Ip(Ipv4Addr::from(addr)),
            Members::HashNet(m) => {
                let len = add_prefix(m.elems.prefixes());
                Elem::Net(net(addr, len), len)
            }
            Members::HashIpPort(_) => {
                Elem::IpPort(Ipv4Addr::from(addr), pkt.proto, pkt.port(dirs.src(1))?)
            }
            Members::HashNetPort(m) => {
                let len = add_prefix(m.elems.prefixes());
                Elem::NetPort(net(addr, len), len, pkt.proto, pkt.port(dirs.src(1))?)
            }
            Members::HashNetIface(m) => {
                let len = add_prefix(m.elems.prefixes());
                let iface = pkt.iface(dirs.src(1))?;
                Elem::NetIface(net(addr, len), len, iface.to_string(), false)
            }
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

#[cfg(test)]
mod tests {
    use super::super::{PacketIfaces, SetOptions, SetType};
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> PacketFields<'static> {
        PacketFields {
            src: u32::from(Ipv4Addr::from(src)),
            dst: u32::from(Ipv4Addr::from(dst)),
            proto: IPPROTO_UDP,
            ports: Some((sport, dport)),
            len: 60,
            ifaces: PacketIfaces {
                input: Some("lan0"),
                output: Some("wan0"),
            },
        }
    }

    const SRC: Dirs = Dirs {
        src_bits: 0b1,
        count: 1,
    };
    const DST_DST: Dirs = Dirs {
        src_bits: 0,
        count: 2,
    };

    fn table(sets: &[(&str, SetType, SetOptions)]) -> SetTable {
        let mut t = SetTable::default();
        for (name, ty, o) in sets {
            t.create(name, IpSet::new(*ty, o.clone()), false).unwrap();
        }
        t
    }

    fn add(index: u32, elem: Elem) -> PacketSetOp {
        PacketSetOp {
            index,
            del: false,
            exist: false,
            timeout: None,
            elem: OpElem::One(elem),
        }
    }

    #[test]
    fn each_type_builds_its_element_from_the_packet_as_kadt_does() {
        let p = udp([192, 168, 1, 10], [10, 20, 3, 4], 5000, 53);
        let mut t = table(&[
            ("ip", SetType::HashIp, SetOptions::default()),
            ("net", SetType::HashNet, SetOptions::default()),
            ("ipport", SetType::HashIpPort, SetOptions::default()),
            ("netif", SetType::HashNetIface, SetOptions::default()),
            (
                "ports",
                SetType::BitmapPort,
                SetOptions {
                    range: (1, 1000),
                    ..SetOptions::default()
                },
            ),
        ]);
        let elem =
            |t: &SetTable, name: &str, dirs| t.by_name(name).unwrap().set.packet_elem(&p, dirs);
        assert_eq!(
            elem(&t, "ip", SRC),
            Some(Elem::Ip(Ipv4Addr::new(192, 168, 1, 10)))
        );
        // An empty hash:net adds the host; with 10.9.0.0/16 in it, the /16.
        assert_eq!(
            elem(&t, "net", SRC),
            Some(Elem::Net(Ipv4Addr::new(192, 168, 1, 10), 32))
        );
        let net = t.index("net").unwrap();
        assert!(t.apply_packet_op(&add(net, Elem::Net(Ipv4Addr::new(10, 9, 0, 0), 16)), 0));
        assert_eq!(
            elem(
                &t,
                "net",
                Dirs {
                    src_bits: 0,
                    count: 1
                }
            ),
            Some(Elem::Net(Ipv4Addr::new(10, 20, 0, 0), 16))
        );
        assert_eq!(
            elem(&t, "ipport", DST_DST),
            Some(Elem::IpPort(Ipv4Addr::new(10, 20, 3, 4), IPPROTO_UDP, 53))
        );
        // Too few directions for a two-dimension type: the kernel's -EINVAL.
        assert_eq!(elem(&t, "ipport", SRC), None);
        assert_eq!(
            elem(
                &t,
                "netif",
                Dirs {
                    src_bits: 0b11,
                    count: 2
                }
            ),
            Some(Elem::NetIface(
                Ipv4Addr::new(192, 168, 1, 10),
                32,
                "lan0".into(),
                false
            ))
        );
        // bitmap:port: in range, TCP/UDP only.
        assert_eq!(
            elem(
                &t,
                "ports",
                Dirs {
                    src_bits: 0,
                    count: 1
                }
            ),
            Some(Elem::Port(53))
        );
        assert_eq!(elem(&t, "ports", SRC), None, "5000 is outside 1-1000");
        let icmp = PacketFields {
            proto: 1,
            ports: Some((0x0800, 0x0800)),
            ..p
        };
        let ports = &t.by_name("ports").unwrap().set;
        assert_eq!(
            ports.packet_elem(
                &icmp,
                Dirs {
                    src_bits: 0,
                    count: 1
                }
            ),
            None
        );
    }

    #[test]
    fn adds_and_deletes_apply_as_ip_set_add_and_del() {
        let mut t = table(&[(
            "blk",
            SetType::HashIp,
            SetOptions {
                timeout: Some(300),
                ..SetOptions::default()
            },
        )]);
        let blk = t.index("blk").unwrap();
        let p = udp([192, 168, 1, 10], [1, 1, 1, 1], 1, 2);
        let op = |t: &SetTable, del, exist, timeout| {
            t.packet_op(blk, &p, SRC, del, exist, timeout).unwrap()
        };
        let elem = Elem::Ip(Ipv4Addr::new(192, 168, 1, 10));
        let alive = |t: &SetTable, now| t.get(blk).unwrap().set.test_elem_alive(&elem, now);
        // An add with its own timeout; again without --exist changes nothing.
        assert!(t.apply_packet_op(&op(&t, false, false, Some(2)), 0));
        assert!(!t.apply_packet_op(&op(&t, false, false, Some(100)), SEC));
        assert!(alive(&t, SEC) && !alive(&t, 3 * SEC));
        // --exist refreshes the timeout.
        assert!(t.apply_packet_op(&op(&t, false, true, Some(100)), SEC));
        assert!(alive(&t, 50 * SEC));
        // A delete; a second one finds nothing.
        assert!(t.apply_packet_op(&op(&t, true, false, None), 2 * SEC));
        assert!(!alive(&t, 2 * SEC));
        assert!(!t.apply_packet_op(&op(&t, true, false, None), 2 * SEC));
        // None changed: no copy to publish.
        assert!(t
            .with_packet_ops([&op(&t, true, false, None)], 2 * SEC)
            .is_none());
    }

    #[test]
    fn a_list_set_add_lands_in_its_first_member_that_takes_it() {
        let mut t = table(&[
            (
                "ports",
                SetType::BitmapPort,
                SetOptions {
                    range: (1, 100),
                    ..SetOptions::default()
                },
            ),
            ("a", SetType::HashIp, SetOptions::default()),
            ("b", SetType::HashIp, SetOptions::default()),
            ("l", SetType::ListSet, SetOptions::default()),
        ]);
        let (ports, a, b, l) = (
            t.index("ports").unwrap(),
            t.index("a").unwrap(),
            t.index("b").unwrap(),
            t.index("l").unwrap(),
        );
        for m in [ports, a, b] {
            assert!(t.apply_packet_op(&add(l, Elem::Set(m)), 0));
        }
        // Port 5000 fits no bitmap: `a` takes it; once `a` has it, `b` does.
        let p = udp([192, 168, 1, 10], [1, 1, 1, 1], 5000, 5000);
        let op = t.packet_op(l, &p, SRC, false, false, None).unwrap();
        assert!(matches!(&op.elem, OpElem::Members(m) if m.len() == 2));
        let e = Elem::Ip(Ipv4Addr::new(192, 168, 1, 10));
        assert!(t.apply_packet_op(&op, 0));
        assert!(t.get(a).unwrap().set.test_elem_alive(&e, 0));
        assert!(!t.get(b).unwrap().set.test_elem_alive(&e, 0));
        assert!(t.apply_packet_op(&op, 0));
        assert!(t.get(b).unwrap().set.test_elem_alive(&e, 0));
        assert!(!t.apply_packet_op(&op, 0), "every member has it");
    }
}
