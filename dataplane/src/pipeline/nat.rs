//! NAT at the hooks: the nat table for a connection's first packet, then every packet of
//! a translated connection rewritten to its binding, and ICMP errors about translated
//! connections put back the way each side knows them (nf_nat_packet,
//! nf_nat_icmp_reply_translation). IPv6's counterpart is `nat6.rs`.

use super::*;

impl Pipeline {
    /// The nat table at a hook (nf_nat_inet_fn): only the first packet of a connection
    /// traverses the chain, and gets the identity binding if no rule chose one; then
    /// every tracked packet is rewritten to its connection's binding.
    #[inline]
    pub(super) fn nat_hook(&mut self, hook: Hook, manip: Manip, pkt: &mut Pkt) -> Flow {
        // A packet of a confirmed connection that is not an ICMP error (most packets):
        // only its binding applies, decided here without the call.
        if pkt.ct.pending.is_none()
            && pkt.ct.expected_nat.is_none()
            && pkt.ct.state != CtState::Related
        {
            // A side no binding translates (PREROUTING of a MASQUERADEd flow): the bits
            // conntrack found say so without the entry.
            if pkt.ct.nat_bits & nat_status_bit(manip, pkt.ct.reply) != 0 {
                // TCP and UDP by the other direction's tuple conntrack copied (where it
                // knew the bits), read crosswise as in `nat_rewrite`.
                if !rewrite_by_other(pkt, manip) {
                    self.nat_rewrite(manip, pkt);
                }
            }
            return Ok(());
        }
        self.nat_hook_all(hook, manip, pkt)
    }

    #[inline(never)]
    fn nat_hook_all(&mut self, hook: Hook, manip: Manip, pkt: &mut Pkt) -> Flow {
        // A connection a helper expected behind NAT goes to the inside end it announced.
        if let (Manip::Dst, Some((addr, port))) = (manip, pkt.ct.expected_nat) {
            if let Some(e) = pkt.ct.pending.as_mut().filter(|e| !e.nat_done(manip)) {
                let req = NatRequest {
                    manip,
                    addrs: Some((addr, addr)),
                    ports: Some(crate::ruleset::PortRange::single(port)),
                    port_base: None,
                    random: false,
                    persistent: false,
                };
                if !self.conntrack.bind(e, &req) {
                    return Err(Stop::Drop(DropReason::Nat));
                }
            }
        }
        let fresh = pkt.ct.pending.as_ref().is_some_and(|e| !e.nat_done(manip));
        if fresh {
            self.run_hook(hook, &[TableKind::Nat], pkt)?;
            if let Some(e) = pkt.ct.pending.as_mut() {
                if !e.nat_done(manip) && !self.conntrack.bind_identity(e, manip) {
                    return Err(Stop::Drop(DropReason::Nat));
                }
            }
        }
        let reply = pkt.ct.reply;
        if pkt.ct.state == CtState::Related && is_icmp_error(pkt.buf.data()) {
            if let Some(e) = pkt.ct.id.and_then(|id| self.conntrack.entry(id)) {
                translate_icmp_error(pkt.buf.data_mut(), e, reply, manip);
            }
            return Ok(());
        }
        // A new connection's binding is at hand: one that leaves this side of the tuple
        // as it is (no rule chose one, as at S2's PREROUTING) needs no rewrite.
        let unchanged = |e: &ConnEntry| e.status & nat_status_bit(manip, reply) == 0;
        if pkt.ct.pending.as_ref().is_some_and(unchanged) {
            return Ok(());
        }
        self.nat_rewrite(manip, pkt);
        Ok(())
    }

    /// Rewrites the packet to its connection's binding on the `manip` side.
    #[inline]
    fn nat_rewrite(&self, manip: Manip, pkt: &mut Pkt) {
        let reply = pkt.ct.reply;
        let entry = pkt.ct.entry(&self.conntrack);
        // Without a binding that changed this side of the tuple the rewrite would write
        // back what is there (nf_nat_packet tests the same status bit).
        let Some(e) = entry.filter(|e| e.status & nat_status_bit(manip, reply) != 0) else {
            return;
        };
        // TCP and UDP: the target is the other direction's tuple read crosswise
        // (`target_tuple` without the inversion), written by `rewrite_ported` where the
        // packet is the plain case it handles.
        if matches!(e.orig.proto, 6 | 17) {
            let other = if reply { &e.orig } else { &e.reply };
            let (addr, port) = match manip {
                Manip::Src => (other.dst, other.dport),
                Manip::Dst => (other.src, other.sport),
            };
            if rewrite_ported(pkt.buf.data_mut(), manip, addr, port) {
                return;
            }
        }
        if let Some(t) = e.target_tuple(reply) {
            apply_nat(pkt.buf.data_mut(), &t, manip);
        }
    }
}

/// The status bit of a connection whose packets in direction `reply` get `manip`: the
/// source of an original packet is rewritten by SNAT, that of a reply by DNAT.
pub(super) fn nat_status_bit(manip: Manip, reply: bool) -> u8 {
    use crate::conntrack::nat::bits;
    match (manip, reply) {
        (Manip::Src, false) | (Manip::Dst, true) => bits::SRC_NAT,
        (Manip::Src, true) | (Manip::Dst, false) => bits::DST_NAT,
    }
}

/// `apply_nat` for the common packet, without its header parsers: IPv4 without options,
/// not a fragment, a whole TCP or UDP header within the lengths `apply_nat`'s parsers
/// check. Writes the same bytes (the same checksum updates in the same order, each only
/// when its field changes); `false`, nothing written: the packet is not that case.
#[inline]
pub(super) fn rewrite_ported(ip: &mut [u8], manip: Manip, addr: Ipv4Addr, port: u16) -> bool {
    let n = ip.len();
    let Some(h) = ip.first_chunk_mut::<40>() else {
        return false;
    };
    let be16 = |h: &[u8; 40], i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let total = usize::from(be16(h, 2));
    let (proto, frag) = (h[9], be16(h, 6) & 0x1fff);
    // Ipv4Packet::check_len and no fragment offset; the L4 header's own checks below.
    if h[0] != 0x45 || total < 20 || total > n || frag != 0 {
        return false;
    }
    let csum_at = match proto {
        // UdpPacket::check_len: its length field within the segment.
        17 if (8..=n - 20).contains(&usize::from(be16(h, 24))) => 26,
        // TcpPacket::check_len: the data offset within the segment.
        6 if (20..=n - 20).contains(&(usize::from(h[32] >> 4) * 4)) => 36,
        _ => return false,
    };
    let (addr_at, port_at) = match manip {
        Manip::Src => (12, 20),
        Manip::Dst => (16, 22),
    };
    let old_addr = u32::from_be_bytes([h[addr_at], h[addr_at + 1], h[addr_at + 2], h[addr_at + 3]]);
    let new_addr = u32::from(addr);
    let old_port = be16(h, port_at);
    // RFC 1624 eqn. 3 terms (~m + m') of each changed field; the transport checksum
    // takes the address's and the port's in one update, which stores what the two
    // updates in turn store (the sum is the same modulo 0xffff and never 0 where either
    // would be; the UDP zero rule applies to the result as to each step).
    let mut addr_terms = 0;
    if old_addr != new_addr {
        h[addr_at..addr_at + 4].copy_from_slice(&new_addr.to_be_bytes());
        addr_terms = words_changed(old_addr, new_addr);
        let ip_sum = !fold_small(u32::from(!be16(h, 10)) + addr_terms);
        h[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    }
    let mut l4_terms = addr_terms;
    if old_port != port {
        h[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
        l4_terms += u32::from(!old_port) + u32::from(port);
    }
    let l4 = be16(h, csum_at);
    // A zero UDP checksum is "none": it stays zero; a computed zero is sent as 0xffff.
    let udp = proto == 17;
    if l4_terms == 0 || (udp && l4 == 0) {
        return true;
    }
    let mut l4 = !fold_small(u32::from(!l4) + l4_terms);
    if udp && l4 == 0 {
        l4 = 0xffff;
    }
    h[csum_at..csum_at + 2].copy_from_slice(&l4.to_be_bytes());
    true
}

/// `nat_rewrite` of a known connection's TCP or UDP packet by `CtInfo::nat_other`;
/// `false`, nothing written: not that case.
#[inline(never)]
fn rewrite_by_other(pkt: &mut Pkt, manip: Manip) -> bool {
    let known = pkt.ct.nat_bits != crate::conntrack::NAT_BITS_UNKNOWN;
    let Some(other) = pkt
        .ct
        .nat_other
        .filter(|o| known && matches!(o.proto, 6 | 17))
    else {
        return false;
    };
    let (addr, port) = match manip {
        Manip::Src => (other.dst, other.dport),
        Manip::Dst => (other.src, other.sport),
    };
    rewrite_ported(pkt.buf.data_mut(), manip, addr, port)
}

/// The RFC 1624 terms `~m + m'` of a 32-bit field changed from `old` to `new` (two words).
#[inline(always)]
fn words_changed(old: u32, new: u32) -> u32 {
    u32::from(!(old >> 16) as u16) + u32::from(!(old as u16)) + (new >> 16) + (new & 0xffff)
}

/// The one's-complement fold of a sum of at most 16 words (below 2^20): two end-around
/// carries bring it under 2^16.
#[inline(always)]
fn fold_small(acc: u32) -> u16 {
    let acc = (acc & 0xffff) + (acc >> 16);
    ((acc & 0xffff) + (acc >> 16)) as u16
}

/// Rewrites the source (or destination) address and port of an IPv4 packet to those of
/// `t`, with incremental checksum updates (a zero UDP checksum stays zero).
pub(super) fn apply_nat(ip: &mut [u8], t: &Tuple, manip: Manip) {
    let (proto, ihl, first, old_addr) = match Ipv4Packet::new_checked(&ip[..]) {
        Ok(p) => (
            p.protocol(),
            usize::from(p.header_len()),
            p.frag_offset() == 0,
            match manip {
                Manip::Src => p.src_addr(),
                Manip::Dst => p.dst_addr(),
            },
        ),
        Err(_) => return,
    };
    let (new_addr, new_port) = match manip {
        Manip::Src => (t.src, t.sport),
        Manip::Dst => (t.dst, t.dport),
    };
    if old_addr != new_addr {
        let mut p = Ipv4Packet::new_unchecked(&mut ip[..]);
        match manip {
            Manip::Src => p.rewrite_src_addr(new_addr),
            Manip::Dst => p.rewrite_dst_addr(new_addr),
        }
    }
    if !first {
        return;
    }
    let Some(l4) = ip.get_mut(ihl..) else {
        return;
    };
    match proto {
        crate::wire::IpProtocol::Tcp => {
            if let Ok(mut tcp) = crate::wire::TcpPacket::new_checked(l4) {
                if old_addr != new_addr {
                    tcp.update_checksum_addr(old_addr, new_addr);
                }
                match manip {
                    Manip::Src if tcp.src_port() != new_port => tcp.rewrite_src_port(new_port),
                    Manip::Dst if tcp.dst_port() != new_port => tcp.rewrite_dst_port(new_port),
                    _ => {}
                }
            }
        }
        crate::wire::IpProtocol::Udp => {
            if let Ok(mut udp) = crate::wire::UdpPacket::new_checked(l4) {
                if old_addr != new_addr {
                    udp.update_checksum_addr(old_addr, new_addr);
                }
                match manip {
                    Manip::Src if udp.src_port() != new_port => udp.rewrite_src_port(new_port),
                    Manip::Dst if udp.dst_port() != new_port => udp.rewrite_dst_port(new_port),
                    _ => {}
                }
            }
        }
        crate::wire::IpProtocol::Icmp => {
            if let Ok(mut icmp) = crate::wire::Icmpv4Packet::new_checked(l4) {
                // A query's id is the source part of its tuple whichever side is
                // translated (icmp_manip_pkt): the reply to a remapped echo request gets
                // the id its sender used back.
                let query = matches!(icmp.msg_type().0, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18);
                if query && icmp.echo_ident() != t.sport {
                    icmp.rewrite_echo_ident(t.sport);
                }
            }
        }
        _ => {}
    }
}

/// An ICMP error message (destination unreachable, source quench, redirect, time
/// exceeded, parameter problem): RELATED through the packet it quotes.
pub(super) fn is_icmp_error(ip: &[u8]) -> bool {
    let ihl = ip.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    ip.get(9) == Some(&1) && matches!(ip.get(ihl), Some(3 | 4 | 5 | 11 | 12))
}

/// nf_nat_icmp_reply_translation: an ICMP error about a NATed connection gets its quoted
/// packet put back the way this side sent it, and its outer address translated, at the
/// hooks where the connection's NAT applies in the error's direction.
pub(super) fn translate_icmp_error(ip: &mut [u8], e: &ConnEntry, reply: bool, manip: Manip) {
    use crate::conntrack::nat::bits;
    let (src_bit, dst_bit) = if reply {
        (bits::DST_NAT, bits::SRC_NAT)
    } else {
        (bits::SRC_NAT, bits::DST_NAT)
    };
    let needed = match manip {
        Manip::Src => src_bit,
        Manip::Dst => dst_bit,
    };
    if e.status & needed == 0 {
        return;
    }
    let Ok(outer) = Ipv4Packet::new_checked(&ip[..]) else {
        return;
    };
    let ihl = usize::from(outer.header_len());
    // The quoted packet belongs to the other direction; it goes back to that direction's
    // tuple with the opposite manip.
    let other = if reply { e.orig } else { e.reply };
    let inner_at = ihl + 8;
    if let Some(inner) = ip.get_mut(inner_at..) {
        let inner_manip = match manip {
            Manip::Src => Manip::Dst,
            Manip::Dst => Manip::Src,
        };
        rewrite_quoted(inner, &other, inner_manip);
    }
    // The ICMP checksum covers the quoted bytes: recompute it.
    if let Some(icmp) = ip.get_mut(ihl..) {
        if icmp.len() >= 4 {
            icmp[2] = 0;
            icmp[3] = 0;
            let c = !crate::wire::checksum::data(icmp);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
        }
    }
    let Some(target) = other.invert() else {
        return;
    };
    let mut p = Ipv4Packet::new_unchecked(&mut ip[..]);
    match manip {
        Manip::Src if p.src_addr() != target.src => p.rewrite_src_addr(target.src),
        Manip::Dst if p.dst_addr() != target.dst => p.rewrite_dst_addr(target.dst),
        _ => {}
    }
}

/// Rewrites the source (or destination) of a quoted IPv4 packet to `t`'s: its header
/// checksum, its ports, and its transport checksum when the quote holds it.
pub(super) fn rewrite_quoted(inner: &mut [u8], t: &Tuple, manip: Manip) {
    if inner.len() < 20 || inner[0] >> 4 != 4 {
        return;
    }
    let ihl = usize::from(inner[0] & 0x0f) * 4;
    if ihl < 20 || inner.len() < ihl {
        return;
    }
    let (addr_at, port_at, new_addr, new_port) = match manip {
        Manip::Src => (12, 0, t.src, t.sport),
        Manip::Dst => (16, 2, t.dst, t.dport),
    };
    let old_addr = Ipv4Addr::new(
        inner[addr_at],
        inner[addr_at + 1],
        inner[addr_at + 2],
        inner[addr_at + 3],
    );
    inner[addr_at..addr_at + 4].copy_from_slice(&new_addr.octets());
    inner[10] = 0;
    inner[11] = 0;
    let c = !crate::wire::checksum::data(&inner[..ihl]);
    inner[10..12].copy_from_slice(&c.to_be_bytes());
    let proto = inner[9];
    let first = u16::from_be_bytes([inner[6], inner[7]]) & 0x1fff == 0;
    let l4 = &mut inner[ihl..];
    if !first || l4.len() < 4 || !matches!(proto, 6 | 17) {
        return;
    }
    let old_port = u16::from_be_bytes([l4[port_at], l4[port_at + 1]]);
    l4[port_at..port_at + 2].copy_from_slice(&new_port.to_be_bytes());
    let csum_at = if proto == 6 { 16 } else { 6 };
    if l4.len() >= csum_at + 2 {
        let old = u16::from_be_bytes([l4[csum_at], l4[csum_at + 1]]);
        if proto == 17 && old == 0 {
            return;
        }
        let mut c = crate::wire::checksum::update_addr(old, old_addr, new_addr);
        c = crate::wire::checksum::update_u16(c, old_port, new_port);
        if proto == 17 && c == 0 {
            c = 0xffff;
        }
        l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: the fixed-seed bytes of the comparisons below.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<T: Copy>(&mut self, of: &[T]) -> T {
            of[self.below(of.len() as u64) as usize]
        }
    }

    /// A packet near the plain case: mostly an IPv4 header without options over TCP or
    /// UDP with lengths that hold, each field sometimes off (options, a fragment, a
    /// short or long length, another protocol, a zero or 0xffff checksum).
    fn packet(r: &mut Rng) -> Vec<u8> {
        let len = r.pick(&[20, 28, 39, 40, 41, 46, 60, 64, 80, 100, 1500]) as usize;
        let mut ip: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
        let byte = |ip: &mut Vec<u8>, i: usize, v: u8| {
            if let Some(b) = ip.get_mut(i) {
                *b = v;
            }
        };
        let word = |ip: &mut Vec<u8>, i: usize, v: u16| {
            if ip.len() >= i + 2 {
                ip[i..i + 2].copy_from_slice(&v.to_be_bytes());
            }
        };
        // Each field right most of the time, else one of its wrong values.
        let off = |r: &mut Rng| r.below(10) == 0;
        let v = if off(r) {
            r.pick(&[0x46, 0x44, 0x55, 0x4f])
        } else {
            0x45
        };
        byte(&mut ip, 0, v);
        let total = if off(r) {
            r.pick(&[len as u16 + 1, 19, 0])
        } else {
            len as u16
        };
        word(&mut ip, 2, total);
        let frag = if off(r) {
            r.pick(&[0x2000, 0x0001, 0x4001])
        } else {
            r.pick(&[0, 0x4000])
        };
        word(&mut ip, 6, frag);
        let proto = if off(r) {
            r.pick(&[1, 47, 0])
        } else {
            r.pick(&[6, 17])
        };
        byte(&mut ip, 9, proto);
        let seg = len.saturating_sub(20) as u16;
        if proto == 17 {
            let l = if off(r) {
                r.pick(&[8, 7, 0, seg + 1])
            } else {
                seg
            };
            word(&mut ip, 24, l);
        } else {
            let d = if off(r) {
                r.pick(&[0x40, 0x60, 0xf0, 0x00])
            } else {
                0x50
            };
            byte(&mut ip, 32, d);
        }
        for at in [10, 26, 36] {
            if r.below(4) == 0 {
                word(&mut ip, at, r.pick(&[0, 0xffff, 0xfffe, 1]));
            }
        }
        ip
    }

    /// `rewrite_ported` writes exactly what `apply_nat` writes wherever it takes the
    /// packet, and nothing where it does not: over a fixed-seed set of packets, both
    /// sides, addresses and ports changed or kept (the UDP zero and 0xffff checksum cases
    /// included).
    #[test]
    fn rewrite_ported_writes_what_apply_nat_writes() {
        let mut r = Rng(0x5eed_1234_abcd_0001);
        let mut taken = 0;
        let cases = 200_000;
        for _ in 0..cases {
            let ip = packet(&mut r);
            let manip = r.pick(&[Manip::Src, Manip::Dst]);
            let (addr_at, port_at) = match manip {
                Manip::Src => (12, 20),
                Manip::Dst => (16, 22),
            };
            let addr = match (r.below(3), ip.get(addr_at..addr_at + 4)) {
                (0, Some(o)) => Ipv4Addr::new(o[0], o[1], o[2], o[3]),
                _ => {
                    let any = r.next() as u32;
                    Ipv4Addr::from(r.pick(&[any, 0, u32::MAX, 0xffff_0000]))
                }
            };
            let port = match (r.below(3), ip.get(port_at..port_at + 2)) {
                (0, Some(p)) => u16::from_be_bytes([p[0], p[1]]),
                _ => {
                    let any = r.next() as u16;
                    r.pick(&[any, 0, 0xffff])
                }
            };
            let other = Ipv4Addr::from(r.next() as u32);
            let t = match manip {
                Manip::Src => Tuple {
                    src: addr,
                    dst: other,
                    proto: ip.get(9).copied().unwrap_or(0),
                    sport: port,
                    dport: r.next() as u16,
                },
                Manip::Dst => Tuple {
                    src: other,
                    dst: addr,
                    proto: ip.get(9).copied().unwrap_or(0),
                    sport: r.next() as u16,
                    dport: port,
                },
            };
            let mut old = ip.clone();
            apply_nat(&mut old, &t, manip);
            let mut new = ip.clone();
            if rewrite_ported(&mut new, manip, addr, port) {
                taken += 1;
                assert_eq!(new, old, "{manip:?} {addr} {port} of {ip:02x?}");
            } else {
                assert_eq!(new, ip, "written without taking {ip:02x?}");
            }
        }
        // Enough of the set is the plain case for the comparison to mean something.
        assert!(taken > cases / 3, "{taken} of {cases}");
    }

    /// A TCP or UDP connection's target read crosswise from the other direction's tuple,
    /// as `nat_rewrite` reads it, is `target_tuple`'s.
    #[test]
    fn crosswise_target_is_target_tuple() {
        let mut r = Rng(0x0dd_ba11);
        for _ in 0..10_000 {
            let mut tuple = || Tuple {
                src: Ipv4Addr::from(r.next() as u32),
                dst: Ipv4Addr::from(r.next() as u32),
                proto: 6 + 11 * (r.next() as u8 & 1),
                sport: r.next() as u16,
                dport: r.next() as u16,
            };
            let (orig, reply) = (tuple(), tuple());
            for is_reply in [false, true] {
                let other = if is_reply { &orig } else { &reply };
                let t = other.invert().unwrap();
                assert_eq!((t.src, t.sport), (other.dst, other.dport));
                assert_eq!((t.dst, t.dport), (other.src, other.sport));
            }
        }
    }
}
