//! Small value types shared by the base criteria and the extensions.

pub use crate::route::{prefix_mask6, Ipv6Net};
use std::net::Ipv4Addr;

/// A criterion that may be negated with `!`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Inv<T> {
    pub inv: bool,
    pub val: T,
}

impl<T> Inv<T> {
    pub fn new(inv: bool, val: T) -> Inv<T> {
        Inv { inv, val }
    }
    pub fn plain(val: T) -> Inv<T> {
        Inv { inv: false, val }
    }
    /// Applies the negation to the outcome of the underlying test.
    #[inline]
    pub fn apply(&self, matched: bool) -> bool {
        matched != self.inv
    }
}

/// An address with a mask as iptables keeps it: the mask need not be contiguous
/// (`-s 10.0.0.0/255.0.255.0` is legal), and the address is stored already masked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub mask: u32,
}

impl Ipv4Net {
    pub fn new(addr: Ipv4Addr, mask: u32) -> Ipv4Net {
        Ipv4Net {
            addr: Ipv4Addr::from(u32::from(addr) & mask),
            mask,
        }
    }

    pub fn with_prefix(addr: Ipv4Addr, len: u8) -> Ipv4Net {
        Ipv4Net::new(addr, prefix_mask(len))
    }

    pub fn host(addr: Ipv4Addr) -> Ipv4Net {
        Ipv4Net::new(addr, u32::MAX)
    }

    /// The prefix length when the mask is contiguous.
    pub fn prefix_len(&self) -> Option<u8> {
        let ones = self.mask.leading_ones();
        (self.mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
    }

    #[inline]
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask == u32::from(self.addr)
    }
}

/// The address family of a ruleset: iptables' (IPv4) or ip6tables' (IPv6). The two are
/// separate rulesets in netfilter (`NFPROTO_IPV4`, `NFPROTO_IPV6`), each with its own
/// tables; an extension is registered for one or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Family {
    #[default]
    V4,
    V6,
}

impl Family {
    /// The program whose language the family is (`iptables`, `ip6tables`).
    pub fn program(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }
}

/// The families an extension is registered for (libxtables' `.family`: `NFPROTO_IPV4`,
/// `NFPROTO_IPV6`, or `NFPROTO_UNSPEC` for both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Families {
    pub v4: bool,
    pub v6: bool,
}

impl Families {
    pub const V4: Families = Families {
        v4: true,
        v6: false,
    };
    pub const V6: Families = Families {
        v4: false,
        v6: true,
    };
    pub const BOTH: Families = Families { v4: true, v6: true };

    pub fn contains(self, family: Family) -> bool {
        match family {
            Family::V4 => self.v4,
            Family::V6 => self.v6,
        }
    }
}

/// The netmask of a prefix length (0..=32; larger saturates to /32).
pub fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// An interface name as `-i`/`-o` take it: at most 15 bytes, a trailing `+` matches every
/// name with that prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Iface(String);

/// IFNAMSIZ - 1: the longest interface name the kernel accepts.
pub const IFNAME_MAX: usize = 15;

impl Iface {
    /// Accepts what iptables accepts: 1..=15 bytes, no whitespace, no `/`.
    pub fn new(name: &str) -> Option<Iface> {
        let ok = !name.is_empty()
            && name.len() <= IFNAME_MAX
            && !name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b == b'/' || b == 0);
        ok.then(|| Iface(name.to_string()))
    }

    /// What arptables accepts with a warning: a `/` (such a name matches no port). Blanks
    /// and control characters are refused still: the saved rule would not restore.
    pub fn with_any_chars(name: &str) -> Option<Iface> {
        let ok = !name.is_empty()
            && name.len() <= IFNAME_MAX
            && !name.chars().any(|c| c.is_whitespace() || c.is_control());
        ok.then(|| Iface(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `eth+` matches any name starting with `eth`; a lone `+` matches every interface.
    pub fn matches(&self, name: &str) -> bool {
        match self.0.strip_suffix('+') {
            Some(prefix) => name.starts_with(prefix),
            None => self.0 == name,
        }
    }
}

/// Port ranges are conntrack's (NAT bindings take them too).
pub use crate::conntrack::tuple::PortRange;

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn net_masks_address_and_reports_prefix() {
        let n = Ipv4Net::with_prefix(Ipv4Addr::new(10, 1, 2, 3), 8);
        assert_eq!(n.addr, Ipv4Addr::new(10, 0, 0, 0));
        assert_eq!(n.prefix_len(), Some(8));
        assert!(n.contains(Ipv4Addr::new(10, 255, 0, 1)));
        assert!(!n.contains(Ipv4Addr::new(11, 0, 0, 1)));
        let odd = Ipv4Net::new(Ipv4Addr::new(10, 9, 0, 0), 0xff00ff00);
        assert_eq!(odd.prefix_len(), None);
        assert_eq!(Ipv4Net::host(Ipv4Addr::LOCALHOST).prefix_len(), Some(32));
        assert_eq!(
            Ipv4Net::with_prefix(Ipv4Addr::LOCALHOST, 0).prefix_len(),
            Some(0)
        );
    }

    #[test]
    fn net6_masks_address_and_reports_prefix() {
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let n = Ipv6Net::with_prefix(a, 32);
        assert_eq!(n.addr, "2001:db8::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(n.prefix_len(), Some(32));
        assert!(n.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!n.contains("2001:db9::1".parse().unwrap()));
        let odd = Ipv6Net::new(a, 0xffff_0000_0000_0000_0000_0000_0000_ff00);
        assert_eq!(odd.prefix_len(), None);
        assert_eq!(Ipv6Net::with_prefix(a, 128).prefix_len(), Some(128));
        assert_eq!(Ipv6Net::with_prefix(a, 0).prefix_len(), Some(0));
        assert!(Families::BOTH.contains(Family::V6) && !Families::V4.contains(Family::V6));
    }

    #[test]
    fn iface_wildcard() {
        let w = Iface::new("eth+").unwrap();
        assert!(w.matches("eth0") && w.matches("eth") && !w.matches("wlan0"));
        assert!(Iface::new("+").unwrap().matches("anything"));
        assert!(Iface::new("eth0").unwrap().matches("eth0"));
        assert!(!Iface::new("eth0").unwrap().matches("eth01"));
        assert!(Iface::new("a234567890123456").is_none());
        assert!(Iface::new("").is_none());
    }

    #[test]
    fn inversion() {
        assert!(Inv::new(true, ()).apply(false));
        assert!(!Inv::new(true, ()).apply(true));
        assert!(Inv::plain(()).apply(true));
    }
}
