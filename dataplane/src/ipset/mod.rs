//! IP sets (the kernel's ip_set): named sets of addresses, networks, address/port pairs,
//! ports and other sets, tested by `-m set`. The control plane edits a `SetTable` and
//! publishes it to the workers as an immutable snapshot (arc-swap, as rulesets), so an
//! `ipset add` never recompiles rules; rules hold a set's index, which stays put for the
//! set's life (`swap` exchanges contents, not indices). One file per set type; `elem`
//! holds the extensions (timeout, counters, comment, nomatch), `store` the hash tables.

pub mod bitmap_port;
pub mod elem;
pub mod hash_ip;
pub mod hash_ip_port;
pub mod hash_net;
pub mod hash_net_iface;
pub mod hash_net_port;
pub mod kadt;
pub mod list_set;
pub mod store;

use crate::ruleset::matches::{
    IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
};
use elem::{match_extensions, ElemCounters, ElemExt, Lookup, TestFlags};
use hash_ip_port::IpPortKey;
use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Set names are at most 31 bytes (IPSET_MAXNAMELEN - 1).
pub const MAX_NAME_LEN: usize = 31;
/// A match or target names at most 6 directions (IPSET_DIM_MAX).
pub const MAX_DIRS: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetType {
    HashIp,
    HashNet,
    HashIpPort,
    HashNetPort,
    HashNetIface,
    BitmapPort,
    ListSet,
}

impl SetType {
    pub fn name(self) -> &'static str {
        match self {
            SetType::HashIp => "hash:ip",
            SetType::HashNet => "hash:net",
            SetType::HashIpPort => "hash:ip,port",
            SetType::HashNetPort => "hash:net,port",
            SetType::HashNetIface => "hash:net,iface",
            SetType::BitmapPort => "bitmap:port",
            SetType::ListSet => "list:set",
        }
    }

    pub fn from_name(s: &str) -> Option<SetType> {
        [
            SetType::HashIp,
            SetType::HashNet,
            SetType::HashIpPort,
            SetType::HashNetPort,
            SetType::HashNetIface,
            SetType::BitmapPort,
            SetType::ListSet,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }

    /// The revision `ipset list` prints (ipset 7.17 on Linux 6.x).
    pub fn revision(self) -> u8 {
        match self {
            SetType::HashIp => 6,
            SetType::HashNet | SetType::HashIpPort => 7,
            SetType::HashNetPort | SetType::HashNetIface => 8,
            SetType::BitmapPort | SetType::ListSet => 3,
        }
    }

    /// How many packet fields an element is made of (the kernel's dimension).
    pub fn dimension(self) -> usize {
        match self {
            SetType::HashIpPort | SetType::HashNetPort | SetType::HashNetIface => 2,
            _ => 1,
        }
    }

    pub fn is_hash(self) -> bool {
        !matches!(self, SetType::BitmapPort | SetType::ListSet)
    }

    /// Whether elements may be `nomatch` (the kernel's IPSET_TYPE_NOMATCH).
    pub fn has_nomatch(self) -> bool {
        matches!(
            self,
            SetType::HashNet | SetType::HashNetPort | SetType::HashNetIface
        )
    }
}

/// What `ipset create` was given, normalised as the kernel stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetOptions {
    pub hashsize: u32,
    pub maxelem: u32,
    pub bucketsize: u8,
    pub initval: u32,
    /// Default element timeout in seconds; `Some` makes it a timeout set.
    pub timeout: Option<u32>,
    pub counters: bool,
    pub comment: bool,
    /// bitmap:port's range.
    pub range: (u16, u16),
    /// list:set's size.
    pub size: u32,
}

impl Default for SetOptions {
    fn default() -> Self {
        SetOptions {
            hashsize: 1024,
            maxelem: 65536,
            bucketsize: 12,
            initval: 0,
            timeout: None,
            counters: false,
            comment: false,
            range: (0, 0),
            size: 8,
        }
    }
}

impl SetOptions {
    /// The kernel's rounding: hashsize to a power of two, at least 64; bucketsize to
    /// an even number 2-12; list:set's size at least 4.
    pub fn normalise(&mut self) {
        self.hashsize = self
            .hashsize
            .max(64)
            .checked_next_power_of_two()
            .unwrap_or(1 << 31);
        self.bucketsize = match self.bucketsize {
            0..=2 => 2,
            b if b >= 12 => 12,
            b => b + b % 2,
        };
        self.size = self.size.max(4);
    }
}

/// One element as the control plane names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Elem {
    Ip(Ipv4Addr),
    Net(Ipv4Addr, u8),
    IpPort(Ipv4Addr, u8, u16),
    NetPort(Ipv4Addr, u8, u8, u16),
    /// hash:net,iface: the network, the interface, whether it is a `physdev:` name.
    NetIface(Ipv4Addr, u8, String, bool),
    Port(u16),
    /// A list:set member: another set's index.
    Set(u32),
}

/// The extensions an `ipset add` gives (absent ones take the set's defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddExt {
    pub timeout: Option<u32>,
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    pub comment: Option<String>,
    pub nomatch: bool,
}

/// Why a set operation was refused; `Display` is ipset 7.17's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError {
    NoSuchSet,
    Exists,
    AlreadyAdded,
    NotAdded,
    HashFull,
    ListFull,
    OutOfRange,
    NoTimeout,
    NoCounters,
    NoComment,
    /// nomatch on a type without it: ipset's parser refuses the word.
    UnknownArgument(String),
    TypeMismatch,
    InUseDestroy,
    InUseRename,
    NoSuchMember,
    ListInList,
    WrongElement,
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetError::NoSuchSet => "The set with the given name does not exist",
            SetError::Exists => "Set cannot be created: set with the same name already exists",
            SetError::AlreadyAdded => "Element cannot be added to the set: it's already added",
            SetError::NotAdded => "Element cannot be deleted from the set: it's not added",
            SetError::HashFull => "Hash is full, cannot add more elements",
            SetError::ListFull => "The list:set is full, cannot add more elements",
            SetError::OutOfRange => "Element is out of the range of the set",
            SetError::NoTimeout => {
                "Timeout cannot be used: set was created without timeout support"
            }
            SetError::NoCounters => {
                "Packet/byte counters cannot be used: set was created without counter support"
            }
            SetError::NoComment => {
                "Comment cannot be used: set was created without comment support"
            }
            SetError::UnknownArgument(a) => return write!(f, "Unknown argument: `{a}'"),
            SetError::TypeMismatch => "The sets cannot be swapped: their type does not match",
            SetError::InUseDestroy => "Set cannot be destroyed: it is in use by a kernel component",
            SetError::InUseRename => "Set cannot be renamed: it is in use by another system",
            SetError::NoSuchMember => "Set to be added/deleted/tested as element does not exist.",
            SetError::ListInList => "Sets with list:set type cannot be added to the set.",
            SetError::WrongElement => "Syntax error: element does not fit the set type",
        })
    }
}

impl std::error::Error for SetError {}

/// The elements of one set, by type.
#[derive(Clone, Debug)]
pub enum Members {
    HashIp(hash_ip::HashIp),
    HashNet(hash_net::HashNet),
    HashIpPort(hash_ip_port::HashIpPort),
    HashNetPort(hash_net_port::HashNetPort),
    HashNetIface(hash_net_iface::HashNetIface),
    BitmapPort(bitmap_port::BitmapPort),
    ListSet(list_set::ListSet),
}

/// One set: its type, options and elements.
#[derive(Clone, Debug)]
pub struct IpSet {
    pub set_type: SetType,
    pub options: SetOptions,
    pub members: Members,
}

/// The packet fields a set looks at, read once per rule evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketFields<'a> {
    pub src: u32,
    pub dst: u32,
    pub proto: u8,
    /// Source and destination port as the kernel's `ip_set_get_ip4_port` reads them
    /// (ICMP: type << 8 | code for both; other protocols 0); `None` when it cannot (a
    /// non-first fragment of TCP/UDP/SCTP/UDPLITE/ICMP, a truncated header).
    pub ports: Option<(u16, u16)>,
    /// The packet's length (what counters add).
    pub len: u32,
    pub ifaces: PacketIfaces<'a>,
}

/// `PacketFields` with the packet's interfaces (hash:net,iface).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketIfaces<'a> {
    pub input: Option<&'a str>,
    pub output: Option<&'a str>,
}

impl PacketFields<'_> {
    pub fn addr(&self, src: bool) -> u32 {
        if src {
            self.src
        } else {
            self.dst
        }
    }
    pub fn port(&self, src: bool) -> Option<u16> {
        self.ports.map(|(s, d)| if src { s } else { d })
    }
    /// The input interface for `src`, the output one for `dst`.
    pub fn iface(&self, src: bool) -> Option<&str> {
        if src {
            self.ifaces.input
        } else {
            self.ifaces.output
        }
    }
}

impl IpSet {
    pub fn new(set_type: SetType, mut options: SetOptions) -> IpSet {
        options.normalise();
        let members = match set_type {
            SetType::HashIp => Members::HashIp(Default::default()),
            SetType::HashNet => Members::HashNet(Default::default()),
            SetType::HashIpPort => Members::HashIpPort(Default::default()),
            SetType::HashNetPort => Members::HashNetPort(Default::default()),
            SetType::HashNetIface => Members::HashNetIface(Default::default()),
            SetType::BitmapPort => Members::BitmapPort(bitmap_port::BitmapPort::new(
                options.range.0,
                options.range.1,
            )),
            SetType::ListSet => Members::ListSet(list_set::ListSet {
                size: options.size,
                members: Vec::new(),
            }),
        };
        IpSet {
            set_type,
            options,
            members,
        }
    }

    pub fn len(&self) -> usize {
        match &self.members {
            Members::HashIp(m) => m.elems.len(),
            Members::HashNet(m) => m.elems.len(),
            Members::HashIpPort(m) => m.elems.len(),
            Members::HashNetPort(m) => m.elems.len(),
            Members::HashNetIface(m) => m.elems.len(),
            Members::BitmapPort(m) => m.len,
            Members::ListSet(m) => m.members.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn flush(&mut self) {
        *self = IpSet::new(self.set_type, self.options.clone());
    }

    /// Whether `elem` itself is in the set and has not expired.
    fn test_elem_alive(&self, elem: &Elem, now_ns: u64) -> bool {
        self.find(elem).is_some_and(|e| !e.expired(now_ns))
    }

    /// The element's extensions, if it is in the set (alive or not).
    fn find(&self, elem: &Elem) -> Option<&ElemExt> {
        match (&self.members, elem) {
            (Members::HashIp(m), Elem::Ip(a)) => m.get(u32::from(*a)),
            (Members::HashNet(m), Elem::Net(a, l)) => m.get(u32::from(*a), *l),
            (Members::HashIpPort(m), Elem::IpPort(a, proto, port)) => m.get(IpPortKey {
                addr: u32::from(*a),
                proto: *proto,
                port: *port,
            }),
            (Members::HashNetPort(m), Elem::NetPort(a, l, proto, port)) => m.get(
                IpPortKey {
                    addr: u32::from(*a),
                    proto: *proto,
                    port: *port,
                },
                *l,
            ),
            (Members::HashNetIface(m), Elem::NetIface(a, l, iface, physdev)) => m.get(
                hash_net_iface::IfaceKey {
                    addr: u32::from(*a),
                    iface: hash_net_iface::iface_bytes(iface)?,
                    physdev: *physdev,
                },
                *l,
            ),
            (Members::BitmapPort(m), Elem::Port(p)) => m.get(*p),
            (Members::ListSet(m), Elem::Set(i)) => m.position(*i).map(|p| &m.members[p].1),
            _ => None,
        }
    }

    fn check_elem(&self, elem: &Elem) -> Result<(), SetError> {
        let fits = matches!(
            (self.set_type, elem),
            (SetType::HashIp, Elem::Ip(_))
                | (SetType::HashNet, Elem::Net(..))
                | (SetType::HashIpPort, Elem::IpPort(..))
                | (SetType::HashNetPort, Elem::NetPort(..))
                | (SetType::HashNetIface, Elem::NetIface(..))
                | (SetType::BitmapPort, Elem::Port(_))
                | (SetType::ListSet, Elem::Set(_))
        );
        if !fits {
            return Err(SetError::WrongElement);
        }
        if let (Members::BitmapPort(m), Elem::Port(p)) = (&self.members, elem) {
            if m.slot(*p).is_none() {
                return Err(SetError::OutOfRange);
            }
        }
        Ok(())
    }

    /// `ipset add`: `exist` (`-exist`) replaces an element's extensions instead of
    /// refusing it; an expired element counts as absent.
    pub fn add(
        &mut self,
        elem: &Elem,
        ext: &AddExt,
        exist: bool,
        now_ns: u64,
    ) -> Result<(), SetError> {
        self.check_elem(elem)?;
        if ext.timeout.is_some() && self.options.timeout.is_none() {
            return Err(SetError::NoTimeout);
        }
        if (ext.packets.is_some() || ext.bytes.is_some()) && !self.options.counters {
            return Err(SetError::NoCounters);
        }
        if ext.comment.is_some() && !self.options.comment {
            return Err(SetError::NoComment);
        }
        if ext.nomatch && !self.set_type.has_nomatch() {
            return Err(SetError::UnknownArgument("nomatch".into()));
        }
        let old = self.find(elem);
        let present = old.is_some_and(|e| !e.expired(now_ns));
        if present && !exist {
            return Err(SetError::AlreadyAdded);
        }
        if old.is_none() {
            let full = match &self.members {
                Members::ListSet(m) => {
                    (m.members.len() as u32 >= m.size).then_some(SetError::ListFull)
                }
                Members::BitmapPort(_) => None,
                _ => (self.len() as u64 >= u64::from(self.options.maxelem))
                    .then_some(SetError::HashFull),
            };
            if let Some(e) = full {
                return Err(e);
            }
        }
        let timeout = ext.timeout.or(self.options.timeout).filter(|t| *t > 0);
        let counters = self.options.counters.then(|| {
            // Replacing an element keeps its counters unless new values are given.
            match (old.and_then(|o| o.counters.clone()), ext.packets, ext.bytes) {
                (Some(c), None, None) if present => c,
                _ => Arc::new(ElemCounters::new(
                    ext.packets.unwrap_or(0),
                    ext.bytes.unwrap_or(0),
                )),
            }
        });
        let new = ElemExt {
            expires_ns: timeout.map(|t| now_ns.saturating_add(u64::from(t) * 1_000_000_000)),
            counters,
            comment: ext.comment.as_deref().map(Arc::from),
            nomatch: ext.nomatch,
        };
        self.insert(elem, new);
        Ok(())
    }

    fn insert(&mut self, elem: &Elem, ext: ElemExt) {
        match (&mut self.members, elem) {
            (Members::HashIp(m), Elem::Ip(a)) => {
                m.elems.insert(u32::from(*a), ext);
            }
            (Members::HashNet(m), Elem::Net(a, l)) => {
                m.elems.insert(*l, store::masked(u32::from(*a), *l), ext)
            }
            (Members::HashIpPort(m), Elem::IpPort(a, proto, port)) => {
                m.elems.insert(
                    IpPortKey {
                        addr: u32::from(*a),
                        proto: *proto,
                        port: *port,
                    },
                    ext,
                );
            }
            (Members::HashNetPort(m), Elem::NetPort(a, l, proto, port)) => m.elems.insert(
                *l,
                IpPortKey {
                    addr: store::masked(u32::from(*a), *l),
                    proto: *proto,
                    port: *port,
                },
                ext,
            ),
            (Members::HashNetIface(m), Elem::NetIface(a, l, iface, physdev)) => {
                if let Some(iface) = hash_net_iface::iface_bytes(iface) {
                    let key = hash_net_iface::IfaceKey {
                        addr: store::masked(u32::from(*a), *l),
                        iface,
                        physdev: *physdev,
                    };
                    m.elems.insert(*l, key, ext);
                }
            }
            (Members::BitmapPort(m), Elem::Port(p)) => {
                if let Some(slot) = m.slot(*p).and_then(|s| m.slots.get_mut(s)) {
                    if slot.is_none() {
                        m.len += 1;
                    }
                    *slot = Some(ext);
                }
            }
            (Members::ListSet(m), Elem::Set(i)) => match m.position(*i) {
                Some(p) => m.members[p].1 = ext,
                None => m.members.push((*i, ext)),
            },
            _ => {}
        }
    }

    /// `ipset del`: with `exist`, a missing element is no error.
    pub fn del(&mut self, elem: &Elem, exist: bool, now_ns: u64) -> Result<(), SetError> {
        self.check_elem(elem)?;
        let alive = self.find(elem).is_some_and(|e| !e.expired(now_ns));
        let removed = match (&mut self.members, elem) {
            (Members::HashIp(m), Elem::Ip(a)) => m.elems.remove(&u32::from(*a)).is_some(),
            (Members::HashNet(m), Elem::Net(a, l)) => {
                m.elems.remove(*l, &store::masked(u32::from(*a), *l))
            }
            (Members::HashIpPort(m), Elem::IpPort(a, proto, port)) => m
                .elems
                .remove(&IpPortKey {
                    addr: u32::from(*a),
                    proto: *proto,
                    port: *port,
                })
                .is_some(),
            (Members::HashNetPort(m), Elem::NetPort(a, l, proto, port)) => m.elems.remove(
                *l,
                &IpPortKey {
                    addr: store::masked(u32::from(*a), *l),
                    proto: *proto,
                    port: *port,
                },
            ),
            (Members::HashNetIface(m), Elem::NetIface(a, l, iface, physdev)) => {
                hash_net_iface::iface_bytes(iface).is_some_and(|iface| {
                    let key = hash_net_iface::IfaceKey {
                        addr: store::masked(u32::from(*a), *l),
                        iface,
                        physdev: *physdev,
                    };
                    m.elems.remove(*l, &key)
                })
            }
            (Members::BitmapPort(m), Elem::Port(p)) => {
                let taken = m
                    .slot(*p)
                    .and_then(|s| m.slots.get_mut(s))
                    .and_then(Option::take);
                if taken.is_some() {
                    m.len -= 1;
                }
                taken.is_some()
            }
            (Members::ListSet(m), Elem::Set(i)) => match m.position(*i) {
                Some(p) => {
                    m.members.remove(p);
                    true
                }
                None => false,
            },
            _ => false,
        };
        if (removed && alive) || exist {
            Ok(())
        } else {
            Err(SetError::NotAdded)
        }
    }

    /// `ipset test` of one element. In the hash:net types a host address (/32) is looked
    /// up as a packet's is (longest prefix, nomatch honoured), a network must be there
    /// itself, as the kernel's `mtype_test`; the other types test the element. Counters
    /// are not touched.
    pub fn test_elem(&self, elem: &Elem, now_ns: u64) -> bool {
        let quiet = TestFlags {
            skip_counter_update: true,
            ..TestFlags::default()
        };
        match (&self.members, elem) {
            (Members::HashNet(m), Elem::Net(a, 32)) => {
                m.lookup(u32::from(*a), &quiet, 0, now_ns) == Lookup::Hit
            }
            (Members::HashNetPort(m), Elem::NetPort(a, 32, proto, port)) => {
                let key = IpPortKey {
                    addr: u32::from(*a),
                    proto: *proto,
                    port: *port,
                };
                m.lookup(key, &quiet, 0, now_ns) == Lookup::Hit
            }
            (Members::HashNetIface(m), Elem::NetIface(a, 32, iface, false)) => {
                m.lookup(u32::from(*a), iface, &quiet, 0, now_ns) == Lookup::Hit
            }
            _ => self
                .find(elem)
                .is_some_and(|e| !e.expired(now_ns) && !e.nomatch),
        }
    }

    /// Live elements with their extensions, in a stable order (by key).
    pub fn elements(&self, now_ns: u64) -> Vec<(Elem, ElemExt)> {
        let alive = |e: &ElemExt| !e.expired(now_ns);
        let mut out: Vec<(Elem, ElemExt)> = match &self.members {
            Members::HashIp(m) => m
                .elems
                .iter()
                .filter(|(_, e)| alive(e))
                .map(|(k, e)| (Elem::Ip(Ipv4Addr::from(*k)), e.clone()))
                .collect(),
            Members::HashNet(m) => m
                .elems
                .iter()
                .filter(|(_, _, e)| alive(e))
                .map(|(l, k, e)| (Elem::Net(Ipv4Addr::from(*k), l), e.clone()))
                .collect(),
            Members::HashIpPort(m) => m
                .elems
                .iter()
                .filter(|(_, e)| alive(e))
                .map(|(k, e)| {
                    (
                        Elem::IpPort(Ipv4Addr::from(k.addr), k.proto, k.port),
                        e.clone(),
                    )
                })
                .collect(),
            Members::HashNetPort(m) => m
                .elems
                .iter()
                .filter(|(_, _, e)| alive(e))
                .map(|(l, k, e)| {
                    (
                        Elem::NetPort(Ipv4Addr::from(k.addr), l, k.proto, k.port),
                        e.clone(),
                    )
                })
                .collect(),
            Members::HashNetIface(m) => m
                .elems
                .iter()
                .filter(|(_, _, e)| alive(e))
                .map(|(l, k, e)| {
                    let end = k.iface.iter().position(|b| *b == 0).unwrap_or(16);
                    let name = String::from_utf8_lossy(&k.iface[..end]).into_owned();
                    (
                        Elem::NetIface(Ipv4Addr::from(k.addr), l, name, k.physdev),
                        e.clone(),
                    )
                })
                .collect(),
            Members::BitmapPort(m) => m
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().map(|e| (i, e)))
                .filter(|(_, e)| alive(e))
                .map(|(i, e)| (Elem::Port(m.first + i as u16), e.clone()))
                .collect(),
            Members::ListSet(m) => {
                return m
                    .members
                    .iter()
                    .filter(|(_, e)| alive(e))
                    .map(|(i, e)| (Elem::Set(*i), e.clone()))
                    .collect()
            }
        };
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// A set's place in the table.
#[derive(Clone, Debug)]
pub struct SetSlot {
    pub name: String,
    pub set: Arc<IpSet>,
}

/// All sets, by index and by name. Cloning is cheap (each set is behind an `Arc`; an
/// edit copies only the set it changes).
#[derive(Clone, Debug, Default)]
pub struct SetTable {
    slots: Vec<Option<SetSlot>>,
    names: HashMap<String, u32>,
}

impl PartialEq for SetTable {
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names
            && self
                .slots
                .iter()
                .zip(&other.slots)
                .all(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) => a.name == b.name && Arc::ptr_eq(&a.set, &b.set),
                    (None, None) => true,
                    _ => false,
                })
    }
}

/// Which packet field each dimension of a set is taken from (`src,dst,...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dirs {
    /// Bit i: dimension i is the source.
    pub src_bits: u8,
    pub count: u8,
}

impl Dirs {
    pub fn src(self, i: usize) -> bool {
        self.src_bits & (1 << i) != 0
    }
}

impl SetTable {
    pub fn index(&self, name: &str) -> Option<u32> {
        self.names.get(name).copied()
    }

    pub fn get(&self, index: u32) -> Option<&SetSlot> {
        self.slots.get(index as usize)?.as_ref()
    }

    pub fn by_name(&self, name: &str) -> Option<&SetSlot> {
        self.get(self.index(name)?)
    }

    /// Sets in creation order (as `ipset list` shows them).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &SetSlot)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as u32, s)))
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// `ipset create`; with `exist`, an identical set of that name is no error.
    pub fn create(&mut self, name: &str, set: IpSet, exist: bool) -> Result<u32, SetError> {
        if let Some(i) = self.index(name) {
            // As the kernel's `same_set`: the seed and the bucket size do not count.
            let unseeded = |o: &SetOptions| SetOptions {
                initval: 0,
                bucketsize: 0,
                ..o.clone()
            };
            let same = self.get(i).is_some_and(|s| {
                s.set.set_type == set.set_type && unseeded(&s.set.options) == unseeded(&set.options)
            });
            return if exist && same {
                Ok(i)
            } else {
                Err(SetError::Exists)
            };
        }
        let slot = SetSlot {
            name: name.to_string(),
            set: Arc::new(set),
        };
        let index = match self.slots.iter().position(Option::is_none) {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        } as u32;
        self.names.insert(name.to_string(), index);
        Ok(index)
    }

    /// The set to edit (copied first if a published snapshot still shares it).
    pub fn set_mut(&mut self, name: &str) -> Result<&mut IpSet, SetError> {
        let i = self.index(name).ok_or(SetError::NoSuchSet)?;
        let slot = self.slots[i as usize].as_mut().ok_or(SetError::NoSuchSet)?;
        Ok(Arc::make_mut(&mut slot.set))
    }

    /// How many list:set sets hold set `index`.
    pub fn list_references(&self, index: u32) -> usize {
        self.iter()
            .filter(|(_, s)| matches!(&s.set.members, Members::ListSet(l) if l.contains(index)))
            .count()
    }

    /// `ipset destroy NAME`; `in_use` says whether a rule references the set.
    pub fn destroy(&mut self, name: &str, in_use: bool) -> Result<(), SetError> {
        let i = self.index(name).ok_or(SetError::NoSuchSet)?;
        if in_use || self.list_references(i) > 0 {
            return Err(SetError::InUseDestroy);
        }
        self.slots[i as usize] = None;
        self.names.remove(name);
        Ok(())
    }

    pub fn rename(&mut self, from: &str, to: &str, in_use: bool) -> Result<(), SetError> {
        let i = self.index(from).ok_or(SetError::NoSuchSet)?;
        if self.index(to).is_some() {
            return Err(SetError::Exists);
        }
        if in_use || self.list_references(i) > 0 {
            return Err(SetError::InUseRename);
        }
        if let Some(s) = self.slots[i as usize].as_mut() {
            s.name = to.to_string();
        }
        self.names.remove(from);
        self.names.insert(to.to_string(), i);
        Ok(())
    }

    /// `ipset swap`: the two names exchange contents; rules keep pointing at the names.
    pub fn swap(&mut self, a: &str, b: &str) -> Result<(), SetError> {
        let ia = self.index(a).ok_or(SetError::NoSuchSet)? as usize;
        let ib = self.index(b).ok_or(SetError::NoSuchSet)? as usize;
        let set_type = |i: usize| self.slots[i].as_ref().map(|s| s.set.set_type);
        if set_type(ia) != set_type(ib) {
            return Err(SetError::TypeMismatch);
        }
        let (Some(x), Some(y)) = (self.slots[ia].clone(), self.slots[ib].clone()) else {
            return Err(SetError::NoSuchSet);
        };
        if let Some(s) = self.slots[ia].as_mut() {
            s.set = y.set;
        }
        if let Some(s) = self.slots[ib].as_mut() {
            s.set = x.set;
        }
        Ok(())
    }

    /// The packet test of `-m set`: the kernel's `ip_set_test` (dimension check,
    /// `--return-nomatch`), true when the packet is in set `index`.
    pub fn test_packet(
        &self,
        index: u32,
        pkt: &PacketFields,
        dirs: Dirs,
        flags: &TestFlags,
        now_ns: u64,
    ) -> bool {
        let Some(slot) = self.get(index) else {
            return false;
        };
        let set = &slot.set;
        if usize::from(dirs.count) < set.set_type.dimension() {
            return false;
        }
        let r = self.lookup(set, pkt, dirs, flags, now_ns);
        let r = if flags.return_nomatch && set.set_type.has_nomatch() {
            match r {
                Lookup::Hit => Lookup::NoMatch,
                Lookup::NoMatch => Lookup::Hit,
                Lookup::Miss => Lookup::Miss,
            }
        } else {
            r
        };
        r == Lookup::Hit
    }

    /// `test_packet` of the address `addr` alone, for a one-direction test with the
    /// default flags; `None` when set `index` is of a type that needs more of the packet
    /// than an address (the caller tests it the general way).
    #[inline]
    pub fn test_addr(&self, index: u32, addr: u32, bytes: u64, now_ns: u64) -> Option<bool> {
        let Some(slot) = self.get(index) else {
            return Some(false);
        };
        let flags = TestFlags::default();
        let r = match &slot.set.members {
            Members::HashIp(m) => m.lookup(addr, &flags, bytes, now_ns),
            Members::HashNet(m) => m.lookup(addr, &flags, bytes, now_ns),
            _ => return None,
        };
        Some(r == Lookup::Hit)
    }

    fn lookup(
        &self,
        set: &IpSet,
        pkt: &PacketFields,
        dirs: Dirs,
        flags: &TestFlags,
        now_ns: u64,
    ) -> Lookup {
        let bytes = u64::from(pkt.len);
        let ip_port = |src_ip: bool, src_port: bool| {
            pkt.port(src_port).map(|port| IpPortKey {
                addr: pkt.addr(src_ip),
                proto: pkt.proto,
                port,
            })
        };
        match &set.members {
            Members::HashIp(m) => m.lookup(pkt.addr(dirs.src(0)), flags, bytes, now_ns),
            Members::HashNet(m) => m.lookup(pkt.addr(dirs.src(0)), flags, bytes, now_ns),
            Members::HashIpPort(m) => ip_port(dirs.src(0), dirs.src(1))
                .map_or(Lookup::Miss, |k| m.lookup(k, flags, bytes, now_ns)),
            Members::HashNetPort(m) => ip_port(dirs.src(0), dirs.src(1))
                .map_or(Lookup::Miss, |k| m.lookup(k, flags, bytes, now_ns)),
            Members::HashNetIface(m) => pkt.iface(dirs.src(1)).map_or(Lookup::Miss, |i| {
                m.lookup(pkt.addr(dirs.src(0)), i, flags, bytes, now_ns)
            }),
            Members::BitmapPort(m) => {
                // ip_set_get_ip_port: TCP and UDP only.
                if !matches!(pkt.proto, IPPROTO_TCP | IPPROTO_UDP) {
                    return Lookup::Miss;
                }
                pkt.port(dirs.src(0))
                    .map_or(Lookup::Miss, |p| m.lookup(p, flags, bytes, now_ns))
            }
            Members::ListSet(l) => {
                // Members are tested without counter comparison, their counters updated
                // unless `! --update-subcounters`; then the list's own element decides.
                let sub = TestFlags {
                    packets: None,
                    bytes: None,
                    skip_counter_update: flags.skip_counter_update || flags.skip_subcounter_update,
                    ..*flags
                };
                for (member, ext) in &l.members {
                    if self.test_packet(*member, pkt, dirs, &sub, now_ns)
                        && match_extensions(ext, flags, bytes, now_ns) == Lookup::Hit
                    {
                        return Lookup::Hit;
                    }
                }
                Lookup::Miss
            }
        }
    }
}

/// `ip_set_get_ip4_port` over an IPv4 packet: the fields every set type reads.
pub fn packet_fields<'a>(view: &crate::ruleset::packet::PacketView<'a>) -> PacketFields<'a> {
    let ports = match (view.proto, view.l4) {
        (_, None)
            if matches!(
                view.proto,
                IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_UDPLITE | IPPROTO_ICMP
            ) =>
        {
            None
        }
        (IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_UDPLITE, Some(l4)) if l4.len() >= 4 => {
            Some((
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
            ))
        }
        (IPPROTO_ICMP, Some(l4)) if l4.len() >= 2 => {
            let tc = u16::from_be_bytes([l4[0], l4[1]]);
            Some((tc, tc))
        }
        (IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_UDPLITE | IPPROTO_ICMP, _) => None,
        _ => Some((0, 0)),
    };
    PacketFields {
        src: u32::from(view.src),
        dst: u32::from(view.dst),
        proto: view.proto,
        ports,
        len: u32::from(view.total_len),
        ifaces: PacketIfaces {
            input: view.meta.in_iface,
            output: view.meta.out_iface,
        },
    }
}

#[cfg(test)]
mod tests;
