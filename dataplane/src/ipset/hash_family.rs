//! The hash:* types over one address family: `HashMembers<u32>` is a `family inet` set,
//! `HashMembers<u128>` a `family inet6` one (the kernel's `ip_set_hash_*ipv4` /
//! `*ipv6` variants, one generic code path here). An element or packet of the other
//! family is in no set.

use super::elem::{ElemExt, Lookup, TestFlags};
use super::hash_ip::HashIp;
use super::hash_ip_port::{HashIpPort, IpPortKey};
use super::hash_net::HashNet;
use super::hash_net_iface::{iface_bytes, HashNetIface, IfaceKey};
use super::hash_net_port::HashNetPort;
use super::store::{masked, NetKey, SetAddr};
use super::{Dirs, Elem, PacketFields, SetType};

#[derive(Clone, Debug)]
pub enum HashMembers<A: SetAddr + NetKey<Addr = A>> {
    Ip(HashIp<A>),
    Net(HashNet<A>),
    IpPort(HashIpPort<A>),
    NetPort(HashNetPort<A>),
    NetIface(HashNetIface<A>),
}

/// The longest prefix length in use, or a host's (`INIT_CIDR(h->nets[0].cidr[0],
/// HOST_MASK)`): what a packet adds to a hash:net type.
fn add_prefix<A: SetAddr>(prefixes: &[u8]) -> u8 {
    prefixes.first().copied().unwrap_or(A::BITS)
}

impl<A: SetAddr + NetKey<Addr = A>> HashMembers<A> {
    /// An empty set of hash type `t` (`None` for the other types); `netmask` is
    /// hash:ip's.
    pub fn new(t: SetType, netmask: Option<u8>) -> Option<HashMembers<A>> {
        Some(match t {
            SetType::HashIp => HashMembers::Ip(HashIp::with_netmask(netmask.unwrap_or(A::BITS))),
            SetType::HashNet => HashMembers::Net(HashNet::default()),
            SetType::HashIpPort => HashMembers::IpPort(HashIpPort::default()),
            SetType::HashNetPort => HashMembers::NetPort(HashNetPort::default()),
            SetType::HashNetIface => HashMembers::NetIface(HashNetIface::default()),
            SetType::BitmapPort | SetType::ListSet => return None,
        })
    }

    pub fn len(&self) -> usize {
        match self {
            HashMembers::Ip(m) => m.elems.len(),
            HashMembers::Net(m) => m.elems.len(),
            HashMembers::IpPort(m) => m.elems.len(),
            HashMembers::NetPort(m) => m.elems.len(),
            HashMembers::NetIface(m) => m.elems.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prefix lengths in use, longest first (empty for the types without networks).
    pub fn prefixes(&self) -> &[u8] {
        match self {
            HashMembers::Net(m) => m.elems.prefixes(),
            HashMembers::NetPort(m) => m.elems.prefixes(),
            HashMembers::NetIface(m) => m.elems.prefixes(),
            HashMembers::Ip(_) | HashMembers::IpPort(_) => &[],
        }
    }

    /// The element's extensions, if it is in the set (alive or not).
    pub fn find(&self, elem: &Elem) -> Option<&ElemExt> {
        match (self, elem) {
            (HashMembers::Ip(m), Elem::Ip(a)) => m.get(A::from_ip(*a)?),
            (HashMembers::Net(m), Elem::Net(a, l)) => m.get(A::from_ip(*a)?, *l),
            (HashMembers::IpPort(m), Elem::IpPort(a, proto, port)) => m.get(IpPortKey {
                addr: A::from_ip(*a)?,
                proto: *proto,
                port: *port,
            }),
            (HashMembers::NetPort(m), Elem::NetPort(a, l, proto, port)) => m.get(
                IpPortKey {
                    addr: A::from_ip(*a)?,
                    proto: *proto,
                    port: *port,
                },
                *l,
            ),
            (HashMembers::NetIface(m), Elem::NetIface(a, l, iface, physdev)) => m.get(
                IfaceKey {
                    addr: A::from_ip(*a)?,
                    iface: iface_bytes(iface)?,
                    physdev: *physdev,
                },
                *l,
            ),
            _ => None,
        }
    }

    /// Stores `elem` (its network masked) with `ext`, replacing what was there.
    pub fn insert(&mut self, elem: &Elem, ext: ElemExt) {
        match (self, elem) {
            (HashMembers::Ip(m), Elem::Ip(a)) => {
                if let Some(a) = A::from_ip(*a) {
                    let key = m.key(a);
                    m.elems.insert(key, ext);
                }
            }
            (HashMembers::Net(m), Elem::Net(a, l)) => {
                if let Some(a) = A::from_ip(*a) {
                    m.elems.insert(*l, masked(a, *l), ext)
                }
            }
            (HashMembers::IpPort(m), Elem::IpPort(a, proto, port)) => {
                if let Some(addr) = A::from_ip(*a) {
                    let key = IpPortKey {
                        addr,
                        proto: *proto,
                        port: *port,
                    };
                    m.elems.insert(key, ext);
                }
            }
            (HashMembers::NetPort(m), Elem::NetPort(a, l, proto, port)) => {
                if let Some(a) = A::from_ip(*a) {
                    let key = IpPortKey {
                        addr: masked(a, *l),
                        proto: *proto,
                        port: *port,
                    };
                    m.elems.insert(*l, key, ext)
                }
            }
            (HashMembers::NetIface(m), Elem::NetIface(a, l, iface, physdev)) => {
                if let (Some(a), Some(iface)) = (A::from_ip(*a), iface_bytes(iface)) {
                    let key = IfaceKey {
                        addr: masked(a, *l),
                        iface,
                        physdev: *physdev,
                    };
                    m.elems.insert(*l, key, ext);
                }
            }
            _ => {}
        }
    }

    /// Removes `elem`; false when it was not there.
    pub fn remove(&mut self, elem: &Elem) -> bool {
        match (self, elem) {
            (HashMembers::Ip(m), Elem::Ip(a)) => A::from_ip(*a).is_some_and(|a| {
                let key = m.key(a);
                m.elems.remove(&key).is_some()
            }),
            (HashMembers::Net(m), Elem::Net(a, l)) => {
                A::from_ip(*a).is_some_and(|a| m.elems.remove(*l, &masked(a, *l)))
            }
            (HashMembers::IpPort(m), Elem::IpPort(a, proto, port)) => {
                A::from_ip(*a).is_some_and(|addr| {
                    let key = IpPortKey {
                        addr,
                        proto: *proto,
                        port: *port,
                    };
                    m.elems.remove(&key).is_some()
                })
            }
            (HashMembers::NetPort(m), Elem::NetPort(a, l, proto, port)) => A::from_ip(*a)
                .is_some_and(|a| {
                    let key = IpPortKey {
                        addr: masked(a, *l),
                        proto: *proto,
                        port: *port,
                    };
                    m.elems.remove(*l, &key)
                }),
            (HashMembers::NetIface(m), Elem::NetIface(a, l, iface, physdev)) => {
                match (A::from_ip(*a), iface_bytes(iface)) {
                    (Some(a), Some(iface)) => {
                        let key = IfaceKey {
                            addr: masked(a, *l),
                            iface,
                            physdev: *physdev,
                        };
                        m.elems.remove(*l, &key)
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// `ipset test` of a host address (/32, /128) in a hash:net type: looked up as a
    /// packet's is (longest prefix, nomatch honoured), as the kernel's `mtype_test`.
    /// `None` for every other element (tested as itself).
    pub fn test_host(&self, elem: &Elem, quiet: &TestFlags, now_ns: u64) -> Option<bool> {
        let r = match (self, elem) {
            (HashMembers::Net(m), Elem::Net(a, l)) if *l == A::BITS => {
                m.lookup(A::from_ip(*a)?, quiet, 0, now_ns)
            }
            (HashMembers::NetPort(m), Elem::NetPort(a, l, proto, port)) if *l == A::BITS => {
                let key = IpPortKey {
                    addr: A::from_ip(*a)?,
                    proto: *proto,
                    port: *port,
                };
                m.lookup(key, quiet, 0, now_ns)
            }
            (HashMembers::NetIface(m), Elem::NetIface(a, l, iface, false)) if *l == A::BITS => {
                m.lookup(A::from_ip(*a)?, iface, quiet, 0, now_ns)
            }
            _ => return None,
        };
        Some(r == Lookup::Hit)
    }

    /// Every element (expired ones too) with its extensions, unordered.
    pub fn elements(&self) -> Vec<(Elem, &ElemExt)> {
        match self {
            HashMembers::Ip(m) => m
                .elems
                .iter()
                .map(|(k, e)| (Elem::Ip(k.to_ip()), e))
                .collect(),
            HashMembers::Net(m) => m
                .elems
                .iter()
                .map(|(l, k, e)| (Elem::Net(k.to_ip(), l), e))
                .collect(),
            HashMembers::IpPort(m) => m
                .elems
                .iter()
                .map(|(k, e)| (Elem::IpPort(k.addr.to_ip(), k.proto, k.port), e))
                .collect(),
            HashMembers::NetPort(m) => m
                .elems
                .iter()
                .map(|(l, k, e)| (Elem::NetPort(k.addr.to_ip(), l, k.proto, k.port), e))
                .collect(),
            HashMembers::NetIface(m) => m
                .elems
                .iter()
                .map(|(l, k, e)| {
                    let end = k.iface.iter().position(|b| *b == 0).unwrap_or(16);
                    let name = String::from_utf8_lossy(&k.iface[..end]).into_owned();
                    (Elem::NetIface(k.addr.to_ip(), l, name, k.physdev), e)
                })
                .collect(),
        }
    }

    /// The kernel's `kadt` test of a packet: a packet of the other family, without a
    /// port to read or an interface is a miss.
    #[inline]
    pub fn lookup(&self, pkt: &PacketFields, dirs: Dirs, flags: &TestFlags, now_ns: u64) -> Lookup {
        let bytes = u64::from(pkt.len);
        let Some(addr) = A::of_packet(&pkt.addrs, dirs.src(0)) else {
            return Lookup::Miss;
        };
        let ip_port = |src_port: bool| {
            pkt.port(src_port).map(|port| IpPortKey {
                addr,
                proto: pkt.proto,
                port,
            })
        };
        match self {
            HashMembers::Ip(m) => m.lookup(addr, flags, bytes, now_ns),
            HashMembers::Net(m) => m.lookup(addr, flags, bytes, now_ns),
            HashMembers::IpPort(m) => {
                ip_port(dirs.src(1)).map_or(Lookup::Miss, |k| m.lookup(k, flags, bytes, now_ns))
            }
            HashMembers::NetPort(m) => {
                ip_port(dirs.src(1)).map_or(Lookup::Miss, |k| m.lookup(k, flags, bytes, now_ns))
            }
            HashMembers::NetIface(m) => pkt
                .iface(dirs.src(1))
                .map_or(Lookup::Miss, |i| m.lookup(addr, i, flags, bytes, now_ns)),
        }
    }

    /// The element `pkt` makes for an add or a delete (the type's `kadt`): the address
    /// masked to the longest prefix in use for the net types; `None` for a packet of the
    /// other family or without the port or interface the type needs.
    pub fn packet_elem(&self, pkt: &PacketFields, dirs: Dirs) -> Option<Elem> {
        let addr = A::of_packet(&pkt.addrs, dirs.src(0))?;
        let len = add_prefix::<A>(self.prefixes());
        let net = masked(addr, len).to_ip();
        Some(match self {
            HashMembers::Ip(m) => Elem::Ip(m.key(addr).to_ip()),
            HashMembers::Net(_) => Elem::Net(net, len),
            HashMembers::IpPort(_) => Elem::IpPort(addr.to_ip(), pkt.proto, pkt.port(dirs.src(1))?),
            HashMembers::NetPort(_) => Elem::NetPort(net, len, pkt.proto, pkt.port(dirs.src(1))?),
            HashMembers::NetIface(_) => {
                let iface = pkt.iface(dirs.src(1))?;
                Elem::NetIface(net, len, iface.to_string(), false)
            }
        })
    }
}
