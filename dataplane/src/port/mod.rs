//! Ports: the identity of the appliance's interfaces (`PortId`, `PortInfo`, `PortTable`), the
//! burst I/O trait the worker loop polls (`Port`), the packet buffer it moves (`PacketBuf`,
//! recycled through `PacketPool`), and the in-memory port used by tests, replay and benchmarks.

mod buf;
#[cfg(feature = "dpdk")]
#[allow(unsafe_code)]
pub mod dpdk;
mod mem;

pub use buf::{PacketBuf, PacketPool, RxChecksum, DEFAULT_BUF_SIZE, DEFAULT_HEADROOM};
pub use mem::{InjectError, MemPort};

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Symmetric Toeplitz key (the DPDK port's RSS): 0x6d5a repeated makes both directions of
/// a flow hash alike, so one worker sees both (its conntrack shard holds the connection).
/// Its period, 16 bits, divides the distance between source and destination in every
/// hashed input (32 bits for IPv4 addresses, 128 for IPv6, 16 for ports): IPv4 and IPv6
/// alike.
pub const RSS_KEY_WORD: [u8; 2] = [0x6d, 0x5a];

/// Index of a port in the appliance's `PortTable`. A small integer so packets, routes and
/// conntrack entries can carry it cheaply; the name lives in `PortInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PortId(pub u16);

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port{}", self.0)
    }
}

/// An Ethernet (MAC) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// Group (multicast or broadcast) addresses have the low bit of the first octet set; they
    /// can never be a port's or a neighbour's own address.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// A usable station address: neither zero nor a group address.
    pub fn is_unicast(&self) -> bool {
        !self.is_zero() && !self.is_multicast()
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// Why a MAC address string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacParseError(pub String);

impl fmt::Display for MacParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad MAC address `{}`: expected six hex octets like 02:00:00:00:01:01",
            self.0
        )
    }
}

impl std::error::Error for MacParseError {}

impl FromStr for MacAddr {
    type Err = MacParseError;

    /// Accepts `aa:bb:cc:dd:ee:ff` (or `-` separated), one or two hex digits per octet.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split(sep) {
            if n == 6 || part.is_empty() || part.len() > 2 {
                return Err(err());
            }
            out[n] = u8::from_str_radix(part, 16).map_err(|_| err())?;
            n += 1;
        }
        if n != 6 {
            return Err(err());
        }
        Ok(MacAddr(out))
    }
}

/// Static facts about one port: what the routing, neighbour and rule code needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub id: PortId,
    /// The name rules use with `-i` / `-o`.
    pub name: String,
    pub mac: MacAddr,
    /// Interface addresses with their prefix length; the first is the primary (the source of
    /// locally generated packets and of MASQUERADE).
    pub addresses: Vec<(Ipv4Addr, u8)>,
    /// Configured IPv6 addresses with their prefix length (the link-local one is derived
    /// from the MAC, `link_local`).
    pub addresses6: Vec<(Ipv6Addr, u8)>,
    pub mtu: u16,
}

/// The smallest MTU IPv6 runs on (RFC 8200); Linux disables IPv6 on a device below it.
pub const IPV6_MIN_MTU: u16 = 1280;

impl PortInfo {
    /// The primary address, if the port has any.
    pub fn primary(&self) -> Option<Ipv4Addr> {
        self.addresses.first().map(|&(a, _)| a)
    }

    /// The source address for talking to `next_hop` through this port, as the kernel's
    /// inet_select_addr picks it: the first address whose subnet holds the next hop,
    /// else the primary.
    pub fn source_for(&self, next_hop: Ipv4Addr) -> Option<Ipv4Addr> {
        let on_link = |&&(a, len): &&(Ipv4Addr, u8)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(next_hop) & mask
        };
        self.addresses
            .iter()
            .find(on_link)
            .map(|&(a, _)| a)
            .or_else(|| self.primary())
    }

    /// Whether IPv6 runs on the port (Linux keeps it off below the minimum MTU).
    pub fn ipv6_enabled(&self) -> bool {
        self.mtu >= IPV6_MIN_MTU
    }

    /// The link-local address, fe80::/64 with the modified EUI-64 interface identifier of
    /// the MAC (RFC 4291 appendix A, Linux's `addr_gen_mode` 0); `None` without IPv6.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.ipv6_enabled().then(|| link_local_of(self.mac))
    }

    /// Every IPv6 address of the port: the link-local one first, then the configured ones.
    pub fn ipv6_addresses(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        let globals = self.addresses6.iter().map(|&(a, _)| a);
        self.link_local()
            .into_iter()
            .chain(globals.filter(|_| self.ipv6_enabled()))
    }

    /// Whether `addr` is one of the port's IPv6 addresses.
    pub fn has_ipv6(&self, addr: Ipv6Addr) -> bool {
        self.ipv6_addresses().any(|a| a == addr)
    }

    /// The source for a packet to `dst` from this port (RFC 6724's first rules, reduced):
    /// the link-local address for a link-local or multicast link-scope destination, else the
    /// first configured address whose prefix holds `dst`, else the first configured one,
    /// else the link-local one.
    pub fn ipv6_source_for(&self, dst: Ipv6Addr) -> Option<Ipv6Addr> {
        if !self.ipv6_enabled() {
            return None;
        }
        let link_scope = is_link_local6(dst) || (dst.is_multicast() && dst.octets()[1] & 0x0f <= 2);
        if link_scope {
            return self.link_local();
        }
        let on_link = |&&(a, len): &&(Ipv6Addr, u8)| {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(dst) & mask
        };
        self.addresses6
            .iter()
            .find(on_link)
            .or_else(|| self.addresses6.first())
            .map(|&(a, _)| a)
            .or_else(|| self.link_local())
    }
}

/// fe80::/64 with the modified EUI-64 of `mac`: the universal/local bit flipped and ff:fe
/// in the middle.
pub fn link_local_of(mac: MacAddr) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

/// Unicast link-local (fe80::/10).
pub fn is_link_local6(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Why a port could not be added to a `PortTable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortTableError {
    DuplicateName(String),
    TooManyPorts,
}

impl fmt::Display for PortTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortTableError::DuplicateName(n) => write!(f, "duplicate port name `{n}`"),
            PortTableError::TooManyPorts => write!(f, "too many ports (at most {})", u16::MAX),
        }
    }
}

impl std::error::Error for PortTableError {}

/// All ports, indexed by `PortId` (the position in the table) and by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortTable {
    ports: Vec<PortInfo>,
}

impl PortTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a port and assigns its id: the next index, so ids are dense and stable.
    pub fn add(
        &mut self,
        name: &str,
        mac: MacAddr,
        addresses: Vec<(Ipv4Addr, u8)>,
        mtu: u16,
    ) -> Result<PortId, PortTableError> {
        if self.by_name(name).is_some() {
            return Err(PortTableError::DuplicateName(name.to_string()));
        }
        let id = u16::try_from(self.ports.len()).map_err(|_| PortTableError::TooManyPorts)?;
        let id = PortId(id);
        self.ports.push(PortInfo {
            id,
            name: name.to_string(),
            mac,
            addresses,
            addresses6: Vec::new(),
            mtu,
        });
        Ok(id)
    }

    /// Sets the configured IPv6 addresses of a port (false: no such port).
    pub fn set_ipv6(&mut self, id: PortId, addresses6: Vec<(Ipv6Addr, u8)>) -> bool {
        match self.ports.get_mut(usize::from(id.0)) {
            Some(p) => {
                p.addresses6 = addresses6;
                true
            }
            None => false,
        }
    }

    /// The port that has the IPv6 address `addr`, if any.
    pub fn ipv6_owner(&self, addr: Ipv6Addr) -> Option<&PortInfo> {
        self.ports.iter().find(|p| p.has_ipv6(addr))
    }

    pub fn get(&self, id: PortId) -> Option<&PortInfo> {
        self.ports.get(usize::from(id.0))
    }

    /// Lookup by name; linear, which is fine for the handful of ports an appliance has and is
    /// only used by the control plane (rules are compiled to `PortId`s).
    pub fn by_name(&self, name: &str) -> Option<&PortInfo> {
        self.ports.iter().find(|p| p.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PortInfo> {
        self.ports.iter()
    }

    pub fn len(&self) -> usize {
        self.ports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }
}

/// Counters every port keeps, in the shape the metrics endpoint exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Frames the port had to discard on receive (rx ring full).
    pub rx_dropped: u64,
    /// Frames the worker gave up on after `tx_burst` refused them (reported back through
    /// `Port::count_tx_dropped`).
    pub tx_dropped: u64,
    /// Malformed frames (empty, larger than a buffer).
    pub errors: u64,
}

/// Burst I/O over one port with one or more queues: the only interface the worker loop has to
/// the outside world, so in-memory, DPDK and any other port types are interchangeable.
pub trait Port: Send {
    fn id(&self) -> PortId;
    fn name(&self) -> &str;
    fn mac(&self) -> MacAddr;
    /// Number of rx (and tx) queues.
    fn queues(&self) -> u16;
    /// Appends up to `max` received packets to `bufs` and returns how many were appended.
    fn rx_burst(&mut self, queue: u16, bufs: &mut Vec<PacketBuf>, max: usize) -> usize;
    /// Takes packets from the front of `pkts` for transmission and returns how many were
    /// taken; the rest stay in `pkts` (in order) for the caller to retry or drop.
    fn tx_burst(&mut self, queue: u16, pkts: &mut Vec<PacketBuf>) -> usize;
    /// Records packets the caller dropped after `tx_burst` refused them, so `stats` shows
    /// them as `tx_dropped` like a NIC's counters would.
    fn count_tx_dropped(&mut self, n: u64);
    fn stats(&self) -> PortStats;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Toeplitz hash of `input` under `key` (Microsoft's RSS specification).
    fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
        let bit = |i: usize| key[i / 8] >> (7 - i % 8) & 1;
        let mut h = 0u32;
        for (n, b) in input.iter().enumerate() {
            for j in 0..8 {
                if b >> (7 - j) & 1 == 1 {
                    let at = n * 8 + j;
                    h ^= (0..32).fold(0u32, |w, k| w << 1 | u32::from(bit(at + k)));
                }
            }
        }
        h
    }

    /// RSS input: source, destination, then the ports (when `ports`).
    fn rss_input(src: &[u8], dst: &[u8], ports: Option<(u16, u16)>) -> Vec<u8> {
        let mut v = [src, dst].concat();
        if let Some((s, d)) = ports {
            v.extend_from_slice(&s.to_be_bytes());
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn the_rss_key_hashes_both_directions_alike_for_ipv4_and_ipv6() {
        // 40 bytes (most NICs), 52 (i40e and others).
        for len in [40, 52] {
            let key: Vec<u8> = RSS_KEY_WORD.iter().copied().cycle().take(len).collect();
            let v4 = ([192, 168, 1, 10], [93, 184, 216, 34]);
            let a: Ipv6Addr = "2001:db8:1::10".parse().unwrap();
            let b: Ipv6Addr = "2a00:1450:4001:82b::200e".parse().unwrap();
            for ports in [None, Some((40000, 443)), Some((53, 61000))] {
                let back = ports.map(|(s, d)| (d, s));
                assert_eq!(
                    toeplitz(&key, &rss_input(&v4.0, &v4.1, ports)),
                    toeplitz(&key, &rss_input(&v4.1, &v4.0, back))
                );
                let there = rss_input(&a.octets(), &b.octets(), ports);
                assert_eq!(
                    toeplitz(&key, &there),
                    toeplitz(&key, &rss_input(&b.octets(), &a.octets(), back)),
                    "IPv6 {ports:?}, {len}-byte key"
                );
            }
        }
        // The check can fail: a key without the period is not symmetric.
        let skewed: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        let a = rss_input(&[10, 0, 0, 1], &[10, 0, 0, 2], Some((1000, 80)));
        let b = rss_input(&[10, 0, 0, 2], &[10, 0, 0, 1], Some((80, 1000)));
        assert_ne!(toeplitz(&skewed, &a), toeplitz(&skewed, &b));
    }

    #[test]
    fn mac_parse_and_display() {
        let m: MacAddr = "02:00:00:00:01:0a".parse().unwrap();
        assert_eq!(m.0, [2, 0, 0, 0, 1, 10]);
        assert_eq!(m.to_string(), "02:00:00:00:01:0a");
        assert_eq!("2-0-0-0-1-a".parse::<MacAddr>().unwrap(), m);
        for bad in [
            "",
            "02:00:00:00:01",
            "02:00:00:00:01:01:01",
            "0g:00:00:00:01:01",
            "002:0:0:0:0:0",
            "02::00:00:01:01",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(!m.is_multicast() && m.is_unicast());
        assert!(!MacAddr::ZERO.is_unicast());
    }

    #[test]
    fn source_address_follows_the_next_hop_subnet() {
        let port = PortInfo {
            id: PortId(0),
            name: "wan0".into(),
            mac: MacAddr::ZERO,
            addresses: vec![
                ("203.0.113.1".parse().unwrap(), 24),
                ("198.51.100.1".parse().unwrap(), 24),
            ],
            addresses6: Vec::new(),
            mtu: 1500,
        };
        let src = |nh: &str| port.source_for(nh.parse().unwrap()).unwrap().to_string();
        assert_eq!(src("198.51.100.254"), "198.51.100.1");
        assert_eq!(src("203.0.113.254"), "203.0.113.1");
        assert_eq!(src("8.8.8.8"), "203.0.113.1", "off-link: the primary");
    }

    #[test]
    fn link_local_is_the_eui64_of_the_mac_as_linux_derives_it() {
        // A veth with this MAC gets fe80::ac5e:2cff:fe1b:7d3a/64 (addr_gen_mode 0).
        let mac: MacAddr = "ae:5e:2c:1b:7d:3a".parse().unwrap();
        assert_eq!(link_local_of(mac).to_string(), "fe80::ac5e:2cff:fe1b:7d3a");
        let mac: MacAddr = "02:00:00:00:01:01".parse().unwrap();
        assert_eq!(link_local_of(mac).to_string(), "fe80::ff:fe00:101");
        let mut t = PortTable::new();
        let id = t.add("lan0", mac, vec![], 1500).unwrap();
        let small = t.add("ser0", mac, vec![], 1000).unwrap();
        let g: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        assert!(t.set_ipv6(id, vec![(g, 64)]));
        assert!(t.set_ipv6(small, vec![(g, 64)]));
        let p = t.get(id).unwrap();
        assert_eq!(
            p.ipv6_addresses().collect::<Vec<_>>(),
            vec![link_local_of(mac), g]
        );
        let src = |d: &str| p.ipv6_source_for(d.parse().unwrap()).unwrap();
        assert_eq!(src("fe80::1"), link_local_of(mac));
        assert_eq!(src("ff02::1"), link_local_of(mac));
        assert_eq!(src("2001:db8:1::99"), g);
        assert_eq!(src("2001:db8:9::1"), g, "off-link: the first configured");
        // Below 1280 bytes there is no IPv6 (Linux turns it off on the device).
        let s = t.get(small).unwrap();
        assert_eq!(s.ipv6_addresses().count(), 0);
        assert!(!s.has_ipv6(g));
        assert_eq!(t.ipv6_owner(g).map(|p| p.id), Some(id));
    }

    #[test]
    fn port_table_ids_and_names() {
        let mut t = PortTable::new();
        let a = t
            .add(
                "lan0",
                MacAddr([2, 0, 0, 0, 1, 1]),
                vec![("192.168.1.1".parse().unwrap(), 24)],
                1500,
            )
            .unwrap();
        let b = t
            .add("wan0", MacAddr([2, 0, 0, 0, 2, 1]), vec![], 1500)
            .unwrap();
        assert_eq!((a, b), (PortId(0), PortId(1)));
        assert_eq!(t.by_name("wan0").unwrap().id, b);
        assert_eq!(
            t.get(a).unwrap().primary(),
            Some("192.168.1.1".parse().unwrap())
        );
        assert_eq!(t.get(b).unwrap().primary(), None);
        assert!(t.get(PortId(7)).is_none());
        assert_eq!(
            t.add("lan0", MacAddr::ZERO, vec![], 1500),
            Err(PortTableError::DuplicateName("lan0".into()))
        );
        assert_eq!(t.len(), 2);
    }
}
