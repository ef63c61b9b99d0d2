//! IPv4 prefixes (`a.b.c.d/n`), and IPv6 networks with a mask (`Ipv6Net`: ip6tables' rules,
//! conntrack-tools' filters and the sets share it).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why an address or prefix string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixError {
    /// Not `a.b.c.d` or `a.b.c.d/n` with n in 0..=32.
    Syntax(String),
    /// Host bits set where a network was required (`ip route`'s "Invalid prefix for given
    /// prefix length").
    HostBits(String),
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrefixError::Syntax(s) => {
                write!(f, "bad CIDR `{s}`: expected a.b.c.d/n with n from 0 to 32")
            }
            PrefixError::HostBits(s) => write!(
                f,
                "bad CIDR `{s}`: host bits set (invalid prefix for given prefix length)"
            ),
        }
    }
}

impl std::error::Error for PrefixError {}

/// Netmask of a prefix length (0..=32; larger lengths are treated as 32).
pub fn mask(len: u8) -> u32 {
    match len {
        0 => 0,
        l if l >= 32 => u32::MAX,
        l => u32::MAX << (32 - u32::from(l)),
    }
}

/// Parses `a.b.c.d/n` (or a bare `a.b.c.d`, meaning /32) into an address and length, keeping
/// host bits: interface addresses such as `192.168.1.1/24` need them.
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8), PrefixError> {
    let err = || PrefixError::Syntax(s.to_string());
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: Ipv4Addr = a.parse().map_err(|_| err())?;
    let len = match l {
        None => 32,
        Some(l) if !l.is_empty() && l.len() <= 2 && l.bytes().all(|b| b.is_ascii_digit()) => {
            l.parse::<u8>().map_err(|_| err())?
        }
        Some(_) => return Err(err()),
    };
    if len > 32 {
        return Err(err());
    }
    Ok((addr, len))
}

/// An IPv4 network: an address with its host bits cleared and a length of 0..=32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: u32,
    len: u8,
}

impl Prefix {
    /// The default route's prefix, 0.0.0.0/0.
    pub const DEFAULT: Prefix = Prefix { addr: 0, len: 0 };

    /// The network containing `addr` at length `len` (host bits cleared); `None` if
    /// `len > 32`.
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Prefix> {
        (len <= 32).then(|| Prefix {
            addr: u32::from(addr) & mask(len),
            len,
        })
    }

    /// Parses `a.b.c.d/n` and refuses host bits, as `ip route add` does for a destination.
    pub fn parse_exact(s: &str) -> Result<Prefix, PrefixError> {
        let (addr, len) = parse_cidr(s)?;
        if u32::from(addr) & !mask(len) != 0 {
            return Err(PrefixError::HostBits(s.to_string()));
        }
        Ok(Prefix {
            addr: u32::from(addr),
            len,
        })
    }

    pub fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr)
    }

    /// The prefix length (a bit count, not a size, hence no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True only for /0, which contains every address.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    pub fn mask(&self) -> u32 {
        mask(self.len)
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == self.addr
    }

    /// The directed broadcast address (all host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr | !self.mask())
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// Parses `a.b.c.d/n` and normalises (clears host bits): `10.1.2.3/8` is `10.0.0.0/8`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = parse_cidr(s)?;
        Prefix::new(addr, len).ok_or_else(|| PrefixError::Syntax(s.to_string()))
    }
}

/// An IPv6 address with a mask as ip6tables keeps it (`struct ip6t_ip6`): the mask need
/// not be contiguous (`-s 2001:db8::/ffff:ffff:0:ffff::` is legal), the address is stored
/// masked. A type beside `Ipv4Net` rather than one address enum: the IPv4 pipeline and
/// classifier keep reading `Ipv4Net` fields unchanged, and an IPv6 rule carries its
/// addresses in fields of its own (`RuleSpec::src6` / `dst6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Net {
    pub addr: Ipv6Addr,
    pub mask: u128,
}

impl Ipv6Net {
    pub fn new(addr: Ipv6Addr, mask: u128) -> Ipv6Net {
        Ipv6Net {
            addr: Ipv6Addr::from(u128::from(addr) & mask),
            mask,
        }
    }

    pub fn with_prefix(addr: Ipv6Addr, len: u8) -> Ipv6Net {
        Ipv6Net::new(addr, prefix_mask6(len))
    }

    /// The prefix length when the mask is contiguous.
    pub fn prefix_len(&self) -> Option<u8> {
        let ones = self.mask.leading_ones();
        (self.mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
    }

    #[inline]
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask == u128::from(self.addr)
    }
}

/// The IPv6 netmask of a prefix length (0..=128; larger saturates to /128).
pub fn prefix_mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_normalise_display() {
        let p: Prefix = "192.168.1.77/24".parse().unwrap();
        assert_eq!(p.to_string(), "192.168.1.0/24");
        assert_eq!(p.broadcast(), Ipv4Addr::new(192, 168, 1, 255));
        assert!(p.contains(Ipv4Addr::new(192, 168, 1, 200)));
        assert!(!p.contains(Ipv4Addr::new(192, 168, 2, 1)));
        assert_eq!(
            "10.0.0.1".parse::<Prefix>().unwrap().to_string(),
            "10.0.0.1/32"
        );
        assert_eq!("1.2.3.4/0".parse::<Prefix>().unwrap(), Prefix::DEFAULT);
        assert!(Prefix::DEFAULT.contains(Ipv4Addr::new(255, 255, 255, 255)));
        assert_eq!(mask(0), 0);
        assert_eq!(mask(32), u32::MAX);
        assert_eq!(mask(20), 0xffff_f000);
    }

    #[test]
    fn parse_refuses_garbage() {
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4/",
            "1.2.3.4/33",
            "1.2.3.4/+8",
            "1.2.3.4/ 8",
            "256.1.1.1/8",
            "1.2.3.4/8/8",
            "a.b.c.d/8",
            "1.2.3.4/008",
        ] {
            assert!(
                matches!(bad.parse::<Prefix>(), Err(PrefixError::Syntax(_))),
                "{bad}"
            );
        }
        assert_eq!(
            Prefix::parse_exact("10.1.0.0/8"),
            Err(PrefixError::HostBits("10.1.0.0/8".into()))
        );
        assert_eq!(
            Prefix::parse_exact("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_cidr("192.168.1.1/24").unwrap(),
            (Ipv4Addr::new(192, 168, 1, 1), 24)
        );
        assert!(Prefix::new(Ipv4Addr::LOCALHOST, 33).is_none());
    }
}
