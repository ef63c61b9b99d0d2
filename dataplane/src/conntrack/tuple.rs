//! Connection tuples: (src, dst, protocol, key). The key is the port pair for TCP/UDP,
//! the echo id with type and code for ICMP queries, zero for other protocols.

use super::family::{CtAddr, L3};
use std::net::Ipv4Addr;

/// A connection tuple of address family `A` (IPv4 unless said otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tuple<A = Ipv4Addr> {
    pub src: A,
    pub dst: A,
    pub proto: u8,
    /// TCP/UDP source port; ICMP id.
    pub sport: u16,
    /// TCP/UDP destination port; ICMP `type << 8 | code`.
    pub dport: u16,
}

/// ICMP query types and the type of their reply (the kernel's `invmap`).
pub fn icmp_reply_type(t: u8) -> Option<u8> {
    Ipv4Addr::icmp_reply_type(t)
}

/// The requests that may start a connection (`valid_new` in nf_conntrack_proto_icmp).
pub fn icmp_starts_connection(t: u8) -> bool {
    Ipv4Addr::icmp_starts_connection(t)
}

impl<A: CtAddr> Tuple<A> {
    /// The tuple the replies of this direction carry.
    #[inline]
    pub fn invert(&self) -> Option<Tuple<A>> {
        let (sport, dport) = if self.proto == A::ICMP_PROTO {
            let reply = A::icmp_reply_type((self.dport >> 8) as u8)?;
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

    /// The tuple of a packet whose L3 part is `l3` and whose upper-layer header and
    /// payload are `l4`. `None` when the transport header is truncated.
    #[inline]
    pub fn from_l3(l3: &L3<A>, l4: &[u8]) -> Option<Tuple<A>> {
        let (sport, dport) = match l3.proto {
            6 | 17 | 136 => {
                let h = l4.get(..4)?;
                (
                    u16::from_be_bytes([h[0], h[1]]),
                    u16::from_be_bytes([h[2], h[3]]),
                )
            }
            p if p == A::ICMP_PROTO => {
                let h = l4.get(..8)?;
                (
                    u16::from_be_bytes([h[4], h[5]]),
                    u16::from(h[0]) << 8 | u16::from(h[1]),
                )
            }
            _ => (0, 0),
        };
        Some(Tuple {
            src: l3.src,
            dst: l3.dst,
            proto: l3.proto,
            sport,
            dport,
        })
    }

    /// Reads the tuple of a packet of family `A` (the L4 part only from a first fragment
    /// that holds it). `None` when the transport header is missing or truncated.
    pub fn of_packet(ip: &[u8]) -> Option<Tuple<A>> {
        let l3 = A::l3(ip)?;
        Tuple::from_l3(&l3, &ip[l3.l4_start..l3.l4_end])
    }

    /// `src=... dst=... sport=... dport=... ` as /proc/net/nf_conntrack prints it.
    pub fn proc_fmt(&self, out: &mut String) {
        self.write_fields(out, A::write_proc);
    }

    /// The same fields as conntrack-tools print them (`conntrack -L`, `-E`): the
    /// addresses through inet_ntop, which compresses IPv6 ones.
    pub fn user_fmt(&self, out: &mut String) {
        self.write_fields(out, A::write_user);
    }

    fn write_fields(&self, out: &mut String, addr: fn(A, &mut String)) {
        use std::fmt::Write;
        out.push_str("src=");
        addr(self.src, out);
        out.push_str(" dst=");
        addr(self.dst, out);
        out.push(' ');
        let _ = match self.proto {
            6 | 17 | 136 => write!(out, "sport={} dport={} ", self.sport, self.dport),
            p if p == A::ICMP_PROTO => write!(
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

impl Tuple {
    /// Reads the tuple of an IPv4 packet (the L4 part only from a first fragment that
    /// holds it). `None` when the transport header is missing or truncated.
    #[inline]
    pub fn from_ip(ip: &[u8]) -> Option<Tuple> {
        Tuple::of_packet(ip)
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
