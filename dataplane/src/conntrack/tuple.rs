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

    /// The tuple of an Ethernet frame's IPv4 packet (`from_ip` of what follows the
    /// 14-byte header; `None` for another EtherType). TCP and UDP in a header without
    /// options are read at their fixed offsets without the parser: the burst prefetch
    /// reads every frame's tuple before the pipeline parses it.
    #[inline]
    pub fn of_ipv4_frame(frame: &[u8]) -> Option<Tuple> {
        if frame.get(12..14) != Some(&[0x08, 0x00][..]) {
            return None;
        }
        if let Some(h) = frame.first_chunk::<38>() {
            // Version 4 with a 20-byte header, TCP or UDP: the ports are the 4 bytes
            // after the header, as `from_l3` reads them.
            if h[14] == 0x45 && (h[23] == 6 || h[23] == 17) {
                let be16 = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
                return Some(Tuple {
                    src: Ipv4Addr::new(h[26], h[27], h[28], h[29]),
                    dst: Ipv4Addr::new(h[30], h[31], h[32], h[33]),
                    proto: h[23],
                    sport: be16(34),
                    dport: be16(36),
                });
            }
        }
        Tuple::from_ip(frame.get(14..)?)
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

    /// `of_ipv4_frame`'s fixed offsets give what the parser gives, whatever the frame:
    /// every EtherType, version/IHL byte, protocol and length near the cut-offs, over
    /// bytes from a fixed-seed generator.
    #[test]
    fn ipv4_frame_tuple_is_the_parsers() {
        let parser = |f: &[u8]| {
            if f.get(12..14) == Some(&[0x08, 0x00][..]) {
                Tuple::from_ip(&f[14..])
            } else {
                None
            }
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut byte = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        let mut fast = 0;
        for ethertype in [[0x08, 0x00], [0x86, 0xdd], [0x08, 0x06], [0x81, 0x00]] {
            for ver_ihl in [0x45, 0x46, 0x4f, 0x44, 0x40, 0x55, 0x65, 0x05] {
                for proto in [6, 17, 1, 136, 58, 0, 47] {
                    for len in 0..80 {
                        for _ in 0..4 {
                            let mut f: Vec<u8> = (0..len).map(|_| byte()).collect();
                            for (i, v) in [
                                (12, ethertype[0]),
                                (13, ethertype[1]),
                                (14, ver_ihl),
                                (23, proto),
                            ] {
                                if let Some(b) = f.get_mut(i) {
                                    *b = v;
                                }
                            }
                            let t = Tuple::of_ipv4_frame(&f);
                            assert_eq!(t, parser(&f), "frame {f:02x?}");
                            fast += usize::from(t.is_some() && ver_ihl == 0x45 && len >= 38);
                        }
                    }
                }
            }
        }
        assert!(fast > 0);
    }
}
