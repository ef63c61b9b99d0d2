//! IP sets (the kernel's ip_set): named sets of addresses, networks, address/port pairs,
//! ports and other sets, tested by `-m set`. The control plane edits a `SetTable` and
//! publishes it to the workers as an immutable snapshot (arc-swap, as rulesets), so an
//! `ipset add` never recompiles rules; rules hold a set's index, which stays put for the
//! set's life (`swap` exchanges contents, not indices). One file per set type; `elem`
//! holds the extensions (timeout, counters, comment, nomatch), `store` the hash tables,
//! `hash_family` the hash types over either address family (`family inet` / `inet6`).

pub mod bitmap_port;
pub mod elem;
pub mod hash_family;
pub mod hash_ip;
pub mod hash_ip_port;
pub mod hash_net;
pub mod hash_net_iface;
pub mod hash_net_port;
pub mod kadt;
pub mod list_set;
pub mod store;

use crate::ruleset::matches::{
    IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
};
use crate::ruleset::Family;
use elem::{match_extensions, ElemCounters, ElemExt, Lookup, TestFlags};
use hash_family::HashMembers;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
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
    /// The hash types' address family (`family inet` / `inet6`); bitmap:port and
    /// list:set have none (the field stays `V4` and is not printed).
    pub family: Family,
    pub hashsize: u32,
    pub maxelem: u32,
    /// hash:ip's `netmask` (`None`: the host's, 32 or 128, which is not printed).
    pub netmask: Option<u8>,
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
            family: Family::V4,
            hashsize: 1024,
            maxelem: 65536,
            netmask: None,
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
        let host = match self.family {
            Family::V4 => 32,
            Family::V6 => 128,
        };
        self.netmask = self.netmask.filter(|m| *m < host);
    }
}

/// One element as the control plane names it; its address is of the set's family.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Elem {
    Ip(IpAddr),
    Net(IpAddr, u8),
    IpPort(IpAddr, u8, u16),
    NetPort(IpAddr, u8, u8, u16),
    /// hash:net,iface: the network, the interface, whether it is a `physdev:` name.
    NetIface(IpAddr, u8, String, bool),
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

/// The elements of one set, by type (the hash types by address family).
#[derive(Clone, Debug)]
pub enum Members {
    V4(HashMembers<u32>),
    V6(HashMembers<u128>),
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

/// A packet's addresses: those of an IPv4 or of an IPv6 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketAddrs {
    V4 { src: u32, dst: u32 },
    V6 { src: u128, dst: u128 },
}

impl Default for PacketAddrs {
    fn default() -> Self {
        PacketAddrs::V4 { src: 0, dst: 0 }
    }
}

/// The packet fields a set looks at, read once per rule evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketFields<'a> {
    pub addrs: PacketAddrs,
    /// IPv4's protocol, IPv6's upper-layer protocol.
    pub proto: u8,
    /// Source and destination port as the kernel's `ip_set_get_ip4_port` /
    /// `ip_set_get_ip6_port` read them (ICMP and ICMPv6: type << 8 | code for both;
    /// other protocols 0); `None` when it cannot (a non-first fragment of
    /// TCP/UDP/SCTP/UDPLITE/ICMP, any non-first IPv6 fragment, a truncated header).
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
            SetType::BitmapPort => Members::BitmapPort(bitmap_port::BitmapPort::new(
                options.range.0,
                options.range.1,
            )),
            SetType::ListSet => Members::ListSet(list_set::ListSet {
                size: options.size,
                members: Vec::new(),
            }),
            _ => match options.family {
                Family::V4 => HashMembers::new(set_type, options.netmask).map(Members::V4),
                Family::V6 => HashMembers::new(set_type, options.netmask).map(Members::V6),
            }
            // Not reached: every other type is a hash type.
            .unwrap_or_else(|| Members::ListSet(list_set::ListSet::default())),
        };
        IpSet {
            set_type,
            options,
            members,
        }
    }

    /// The family a rule must be of to use the set: a hash type's; none for
    /// bitmap:port and list:set (the kernel's NFPROTO_UNSPEC).
    pub fn family(&self) -> Option<Family> {
        match self.members {
            Members::V4(_) => Some(Family::V4),
            Members::V6(_) => Some(Family::V6),
            Members::BitmapPort(_) | Members::ListSet(_) => None,
        }
    }

    pub fn len(&self) -> usize {
        match &self.members {
            Members::V4(m) => m.len(),
            Members::V6(m) => m.len(),
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
            (Members::V4(m), _) => m.find(elem),
            (Members::V6(m), _) => m.find(elem),
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
        let family_fits = match elem {
            Elem::Ip(a)
            | Elem::Net(a, _)
            | Elem::IpPort(a, ..)
            | Elem::NetPort(a, ..)
            | Elem::NetIface(a, ..) => {
                let (v6, max) = (a.is_ipv6(), if a.is_ipv6() { 128 } else { 32 });
                let len_fits = match elem {
                    Elem::Net(_, l) | Elem::NetPort(_, l, ..) | Elem::NetIface(_, l, ..) => {
                        *l <= max
                    }
                    _ => true,
                };
                self.family() == Some(if v6 { Family::V6 } else { Family::V4 }) && len_fits
            }
            _ => true,
        };
        if !fits || !family_fits {
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
            (Members::V4(m), _) => m.insert(elem, ext),
            (Members::V6(m), _) => m.insert(elem, ext),
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
            (Members::V4(m), _) => m.remove(elem),
            (Members::V6(m), _) => m.remove(elem),
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
        let host = match &self.members {
            Members::V4(m) => m.test_host(elem, &quiet, now_ns),
            Members::V6(m) => m.test_host(elem, &quiet, now_ns),
            _ => None,
        };
        match host {
            Some(hit) => hit,
            None => self
                .find(elem)
                .is_some_and(|e| !e.expired(now_ns) && !e.nomatch),
        }
    }

    /// Live elements with their extensions, in a stable order (by key).
    pub fn elements(&self, now_ns: u64) -> Vec<(Elem, ElemExt)> {
        let alive = |e: &ElemExt| !e.expired(now_ns);
        let hashed = |elems: Vec<(Elem, &ElemExt)>| {
            elems
                .into_iter()
                .filter(|(_, e)| alive(e))
                .map(|(k, e)| (k, e.clone()))
                .collect()
        };
        let mut out: Vec<(Elem, ElemExt)> = match &self.members {
            Members::V4(m) => hashed(m.elements()),
            Members::V6(m) => hashed(m.elements()),
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
        // ip_set_swap: the same type and the same family.
        let set_type = |i: usize| {
            self.slots[i]
                .as_ref()
                .map(|s| (s.set.set_type, s.set.family()))
        };
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
            Members::V4(HashMembers::Ip(m)) => m.lookup(addr, &flags, bytes, now_ns),
            Members::V4(HashMembers::Net(m)) => m.lookup(addr, &flags, bytes, now_ns),
            // An IPv6 set holds no IPv4 address (a rule cannot name one; a list can).
            Members::V6(_) => Lookup::Miss,
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
        match &set.members {
            Members::V4(m) => m.lookup(pkt, dirs, flags, now_ns),
            Members::V6(m) => m.lookup(pkt, dirs, flags, now_ns),
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

/// `ip_set_get_ip4_port` / `ip_set_get_ip6_port` over a packet: the fields every set
/// type reads.
pub fn packet_fields<'a>(view: &crate::ruleset::packet::PacketView<'a>) -> PacketFields<'a> {
    let v6 = view.family == Family::V6;
    let ports = match (view.proto, view.l4) {
        // ip_set_get_ip6_port: no IPv6 fragment but the first has ports, whatever its
        // protocol.
        _ if v6 && view.frag_offset != 0 => None,
        (_, None) if v6 || has_ports(view.proto) => None,
        (_, None) => Some((0, 0)),
        (IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_UDPLITE, Some(l4)) if l4.len() >= 4 => {
            Some((
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
            ))
        }
        (IPPROTO_ICMP | IPPROTO_ICMPV6, Some(l4)) if l4.len() >= 2 => {
            let tc = u16::from_be_bytes([l4[0], l4[1]]);
            Some((tc, tc))
        }
        (p, _) if has_ports(p) || p == IPPROTO_ICMPV6 => None,
        _ => Some((0, 0)),
    };
    let addrs = if v6 {
        PacketAddrs::V6 {
            src: u128::from(view.src6()),
            dst: u128::from(view.dst6()),
        }
    } else {
        PacketAddrs::V4 {
            src: u32::from(view.src),
            dst: u32::from(view.dst),
        }
    };
    PacketFields {
        addrs,
        proto: view.proto,
        ports,
        len: u32::from(view.total_len),
        ifaces: PacketIfaces {
            input: view.meta.in_iface,
            output: view.meta.out_iface,
        },
    }
}

/// The protocols `ip_set_get_ip4_port` reads a port (or ICMP type/code) of.
fn has_ports(proto: u8) -> bool {
    matches!(
        proto,
        IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_UDPLITE | IPPROTO_ICMP
    )
}

#[cfg(test)]
mod tests;
