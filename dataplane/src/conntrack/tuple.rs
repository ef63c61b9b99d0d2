//! Connection tuples: (src, dst, protocol, key). The key is the port pair for TCP/UDP,
//! the echo id with type and code for ICMP queries, zero for other protocols.

use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    /// TCP/UDP source port; ICMP id.
    pub sport: u16,
    /// TCP/UDP destination port; ICMP `type << 8 | code`.
    pub dport: u16,
}

/// ICMP query types and the type of their reply (the kernel's `invmap`).
pub fn icmp_reply_type(t: u8) -> Option<u8> {
    match t {
        8 => Some(0),
        0 => Some(8),
        13 => Some(14),
        14 => Some(13),
        15 => Some(16),
        16 => Some(15),
        17 => Some(18),
        18 => Some(17),
        _ => None,
    }
}

/// The requests that may start a connection (`valid_new` in nf_conntrack_proto_icmp).
pub fn icmp_starts_connection(t: u8) -> bool {
    matches!(t, 8 | 13 | 15 | 17)
}

impl Tuple {
    /// The tuple the replies of this direction carry.
    pub fn invert(&self) -> Option<Tuple> {
        let (sport, dport) = if self.proto == 1 {
            let reply = icmp_reply_type((self.dport >> 8) as u8)?;
            (self.sport, u16::from(reply) << 8 | (self.dport & 0xff))
        } else {
            (self.dport, self.sport)
        };
        Some(Tuple {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport,
            dport,
        })
    }

    /// Reads the tuple of an IPv4 packet (the L4 part only from a first fragment that
    /// holds it). `None` when the transport header is missing or truncated.
    pub fn from_ip(ip: &[u8]) -> Option<Tuple> {
        if ip.len() < 20 {
            return None;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let l4 = ip.get(ihl..)?;
        let proto = ip[9];
        let (sport, dport) = match proto {
            6 | 17 | 136 => {
                let h = l4.get(..4)?;
                (
                    u16::from_be_bytes([h[0], h[1]]),
                    u16::from_be_bytes([h[2], h[3]]),
                )
            }
            1 => {
                let h = l4.get(..8)?;
                (
                    u16::from_be_bytes([h[4], h[5]]),
                    u16::from(h[0]) << 8 | u16::from(h[1]),
                )
            }
            _ => (0, 0),
        };
        Some(Tuple {
            src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            proto,
            sport,
            dport,
        })
    }

    /// `src=... dst=... sport=... dport=... ` as /proc/net/nf_conntrack prints it.
    pub fn proc_fmt(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "src={} dst={} ", self.src, self.dst);
        let _ = match self.proto {
            6 | 17 | 136 => write!(out, "sport={} dport={} ", self.sport, self.dport),
            1 => write!(
                out,
                "type={} code={} id={} ",
                self.dport >> 8,
                self.dport & 0xff,
                self.sport
            ),
            _ => Ok(()),
        };
    }
}

/// An inclusive port range; a single port is `lo == hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub const ANY: PortRange = PortRange { lo: 0, hi: 65535 };
    pub fn single(p: u16) -> PortRange {
        PortRange { lo: p, hi: p }
    }
    #[inline]
    pub fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invert_ports_and_icmp() {
        let t = Tuple {
            src: Ipv4Addr::new(10, 0, 0, 2),
            dst: Ipv4Addr::new(1, 1, 1, 1),
            proto: 6,
            sport: 40000,
            dport: 80,
        };
        let r = t.invert().unwrap();
        assert_eq!((r.src, r.dst, r.sport, r.dport), (t.dst, t.src, 80, 40000));
        let ping = Tuple {
            proto: 1,
            sport: 77,
            dport: 8 << 8,
            ..t
        };
        let pong = ping.invert().unwrap();
        assert_eq!((pong.sport, pong.dport), (77, 0));
        let unreach = Tuple {
            proto: 1,
            dport: 3 << 8 | 3,
            ..t
        };
        assert!(unreach.invert().is_none());
    }
}
