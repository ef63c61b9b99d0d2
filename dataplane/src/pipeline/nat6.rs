//! NAT66 at the IPv6 hooks: ip6tables' nat table for a connection's first packet, then
//! every packet of a translated connection rewritten to its binding (nf_nat_ipv6_fn,
//! nf_nat_ipv6_manip_pkt), and ICMPv6 errors about translated connections put back the
//! way each side knows them (nf_nat_icmpv6_reply_translation). IPv6 has no header
//! checksum: only the TCP, UDP and ICMPv6 checksums change, over their pseudo-header (an
//! ICMPv6 echo's checksum changes with the addresses, unlike ICMPv4's).

use super::nat::nat_status_bit;
use super::*;
use crate::conntrack::{CtAddr, Tuple6};
use crate::wire::checksum;
use crate::wire::ipv6::{next_header, ExtHeaders, HEADER_LEN};
use std::net::Ipv6Addr;

impl Pipeline {
    /// The nat table at an IPv6 hook (nf_nat_ipv6_fn): only the first packet of a
    /// connection traverses the chain, and gets the identity binding if no rule chose one;
    /// then every tracked packet is rewritten to its connection's binding. Nothing without
    /// an ip6tables nat table (its hooks are not registered then).
    pub(super) fn nat_hook6(&mut self, hook: Hook, manip: Manip, pkt: &mut Pkt) -> Flow {
        if self.rules.ip6.tables[TableKind::Nat as usize].is_none() {
            return Ok(());
        }
        let fresh = self
            .ct6
            .pending
            .as_ref()
            .is_some_and(|e| !e.nat_done(manip));
        if fresh {
            self.run_hook(hook, &[TableKind::Nat], pkt)?;
            if let Some(e) = self.ct6.pending.as_mut() {
                if !e.nat_done(manip) && !self.conntrack6.bind_identity(e, manip) {
                    return Err(Stop::Drop(DropReason::Nat));
                }
            }
            // The later hooks' rules read the binding's status (`--ctstate DNAT`).
            if self.rules.ip6.reads_ct_entry {
                pkt.ct = self.ct6.rule_view(&self.conntrack6);
            }
        }
        let reply = self.ct6.reply;
        let entry = match (&self.ct6.pending, self.ct6.id) {
            (Some(e), _) => Some(e),
            (None, Some(id)) => self.conntrack6.entry(id),
            _ => None,
        };
        if self.ct6.state == CtState::Related && is_icmp6_error(pkt.buf.data()) {
            if let Some(e) = self.ct6.id.and_then(|id| self.conntrack6.entry(id)) {
                translate_icmp6_error(pkt.buf.data_mut(), e, reply, manip);
            }
            return Ok(());
        }
        // Without a binding that changed this side of the tuple the rewrite would write
        // back what is there (nf_nat_packet tests the same status bit).
        let target = entry
            .filter(|e| e.status & nat_status_bit(manip, reply) != 0)
            .and_then(|e| e.target_tuple(reply));
        if let Some(t) = target {
            manip_pkt6(pkt.buf.data_mut(), &t, manip);
        }
        Ok(())
    }
}

/// An ICMPv6 error message (types below 128): RELATED through the packet it quotes.
pub(super) fn is_icmp6_error(ip: &[u8]) -> bool {
    Ipv6Addr::l3(ip)
        .filter(|l3| l3.proto == next_header::ICMPV6)
        .and_then(|l3| ip.get(l3.l4_start))
        .is_some_and(|&t| t < 128)
}

/// nf_nat_ipv6_manip_pkt: rewrites the source (or destination) address of the IPv6
/// packet `ip` to `t`'s, and on a first fragment (a reassembled datagram is one) its
/// TCP/UDP port or ICMPv6 echo id, with incremental updates of the upper-layer checksum,
/// which covers the addresses through the pseudo-header. `ip` may be a packet quoted in an
/// ICMPv6 error, cut short: what is not there is left alone (a zero UDP checksum stays
/// zero).
pub(super) fn manip_pkt6(ip: &mut [u8], t: &Tuple6, manip: Manip) {
    if ip.len() < HEADER_LEN || ip[0] >> 4 != 6 {
        return;
    }
    let (addr_at, port_at, new_addr, new_port) = match manip {
        Manip::Src => (8, 0, t.src, t.sport),
        Manip::Dst => (24, 2, t.dst, t.dport),
    };
    let mut old = [0u8; 16];
    old.copy_from_slice(&ip[addr_at..addr_at + 16]);
    let old_addr = Ipv6Addr::from(old);
    ip[addr_at..addr_at + 16].copy_from_slice(&new_addr.octets());
    let end = (HEADER_LEN + usize::from(u16::from_be_bytes([ip[4], ip[5]]))).min(ip.len());
    let upper = ExtHeaders::parse(ip[6], &ip[HEADER_LEN..end])
        .ok()
        .and_then(|ext| Some((u8::from(ext.protocol), ext.upper_offset?)));
    let Some((proto, l4_at)) = upper else {
        return;
    };
    let Some(l4) = ip.get_mut(l4_at..end) else {
        return;
    };
    let read = |b: &[u8], at: usize| b.get(at..at + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    // (where the port or id is, its new value, where the checksum is, UDP's zero rule)
    let (field_at, new_field, csum_at, udp) = match proto {
        6 => (port_at, new_port, 16, false),
        17 => (port_at, new_port, 6, true),
        // icmpv6_manip_pkt: an echo's id is the source part of its tuple whichever side
        // is translated.
        next_header::ICMPV6 if matches!(l4.first(), Some(128 | 129)) => (4, t.sport, 2, false),
        next_header::ICMPV6 => (usize::MAX, 0, 2, false),
        _ => return,
    };
    let Some(mut csum) = read(l4, csum_at) else {
        return;
    };
    if old_addr != new_addr {
        csum = if udp {
            checksum::udp_update_addr_ipv6(csum, old_addr, new_addr)
        } else {
            checksum::update_addr_ipv6(csum, old_addr, new_addr)
        };
    }
    if let Some(old_field) = read(l4, field_at).filter(|&v| v != new_field) {
        csum = if udp {
            checksum::udp_update_u16(csum, old_field, new_field)
        } else {
            checksum::update_u16(csum, old_field, new_field)
        };
        l4[field_at..field_at + 2].copy_from_slice(&new_field.to_be_bytes());
    }
    l4[csum_at..csum_at + 2].copy_from_slice(&csum.to_be_bytes());
}

/// nf_nat_icmpv6_reply_translation: an ICMPv6 error about a NATed connection gets its
/// quoted packet put back the way this side sent it (the other direction's tuple, the
/// opposite manip) and its outer address translated, at the hooks where the connection's
/// NAT applies in the error's direction; the ICMPv6 checksum is computed again.
pub(super) fn translate_icmp6_error(ip: &mut [u8], e: &ConnEntry6, reply: bool, manip: Manip) {
    if e.status & nat_status_bit(manip, reply) == 0 {
        return;
    }
    let Some(l3) = Ipv6Addr::l3(ip) else {
        return;
    };
    let other = if reply { e.orig } else { e.reply };
    let inner_manip = match manip {
        Manip::Src => Manip::Dst,
        Manip::Dst => Manip::Src,
    };
    if let Some(inner) = ip.get_mut(l3.l4_start + 8..l3.l4_end) {
        manip_pkt6(inner, &other, inner_manip);
    }
    let Some(target) = other.invert() else {
        return;
    };
    let (src, dst) = match manip {
        Manip::Src => (target.src, l3.dst),
        Manip::Dst => (l3.src, target.dst),
    };
    ip[8..24].copy_from_slice(&src.octets());
    ip[24..40].copy_from_slice(&dst.octets());
    if let Some(icmp) = ip.get_mut(l3.l4_start..l3.l4_end) {
        if let Ok(mut p) = crate::wire::Icmpv6Packet::new_checked(icmp) {
            p.fill_checksum(src, dst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::IpProtocol;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// An IPv6 packet from `src` to `dst` with upper-layer `proto` and `l4` (checksum
    /// filled in at `csum_at`).
    fn packet(src: &str, dst: &str, proto: u8, l4: &[u8], csum_at: usize) -> Vec<u8> {
        let mut ip = vec![0x60, 0, 0, 0, 0, 0, proto, 64];
        ip[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
        ip.extend_from_slice(&a(src).octets());
        ip.extend_from_slice(&a(dst).octets());
        ip.extend_from_slice(l4);
        fill(&mut ip, csum_at);
        ip
    }

    fn fill(ip: &mut [u8], csum_at: usize) {
        let (src, dst, proto) = (addr_at(ip, 8), addr_at(ip, 24), ip[6]);
        let l4 = &mut ip[HEADER_LEN..];
        l4[csum_at..csum_at + 2].copy_from_slice(&[0, 0]);
        let c = checksum::finish(&[
            checksum::pseudo_header_ipv6(src, dst, IpProtocol::from(proto), l4.len() as u32),
            checksum::data(l4),
        ]);
        l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    }

    fn addr_at(ip: &[u8], at: usize) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&ip[at..at + 16]);
        Ipv6Addr::from(o)
    }

    /// The upper-layer checksum of `ip` verifies over its pseudo-header.
    fn checksum_ok(ip: &[u8]) -> bool {
        let l3 = Ipv6Addr::l3(ip).unwrap();
        Ipv6Addr::l4_checksum_ok(ip, &l3)
    }

    fn tuple(src: &str, dst: &str, proto: u8, sport: u16, dport: u16) -> Tuple6 {
        Tuple6 {
            src: a(src),
            dst: a(dst),
            proto,
            sport,
            dport,
        }
    }

    fn tcp(sport: u16, dport: u16) -> Vec<u8> {
        let mut l4 = vec![0u8; 24];
        l4[0..2].copy_from_slice(&sport.to_be_bytes());
        l4[2..4].copy_from_slice(&dport.to_be_bytes());
        l4[12] = 5 << 4;
        l4[13] = 0x02;
        l4[20..24].copy_from_slice(b"data");
        l4
    }

    #[test]
    fn snat_rewrites_the_source_address_port_and_tcp_checksum() {
        let mut ip = packet("2001:db8:1::10", "2001:db8:2::20", 6, &tcp(40000, 80), 16);
        let t = tuple("2001:db8:2::100", "2001:db8:2::20", 6, 1025, 80);
        manip_pkt6(&mut ip, &t, Manip::Src);
        assert_eq!(addr_at(&ip, 8), a("2001:db8:2::100"));
        assert_eq!(addr_at(&ip, 24), a("2001:db8:2::20"));
        assert_eq!(&ip[40..44], &[0x04, 0x01, 0, 80]);
        assert!(checksum_ok(&ip));
        let mut want = ip.clone();
        fill(&mut want, 16);
        assert_eq!(ip, want, "the incremental checksum is the recomputed one");
    }

    #[test]
    fn dnat_rewrites_udp_and_keeps_a_zero_checksum_zero() {
        let mut l4 = vec![0u8; 12];
        l4[0..2].copy_from_slice(&5353u16.to_be_bytes());
        l4[2..4].copy_from_slice(&7000u16.to_be_bytes());
        l4[4..6].copy_from_slice(&12u16.to_be_bytes());
        let mut ip = packet("2001:db8:1::10", "2001:db8:9::99", 17, &l4, 6);
        let t = tuple("2001:db8:1::10", "2001:db8:1::2", 17, 5353, 5000);
        manip_pkt6(&mut ip, &t, Manip::Dst);
        assert_eq!(addr_at(&ip, 24), a("2001:db8:1::2"));
        assert_eq!(&ip[42..44], &5000u16.to_be_bytes());
        assert!(checksum_ok(&ip));
        // A zero UDP checksum (invalid over IPv6) is not made up.
        ip[46..48].copy_from_slice(&[0, 0]);
        let t = tuple("2001:db8:1::10", "2001:db8:3::3", 17, 5353, 6000);
        manip_pkt6(&mut ip, &t, Manip::Dst);
        assert_eq!(
            (&ip[42..44], &ip[46..48]),
            (&6000u16.to_be_bytes()[..], &[0u8, 0][..])
        );
    }

    #[test]
    fn an_echo_checksum_follows_the_addresses_and_the_id() {
        let mut l4 = vec![128, 0, 0, 0, 0x12, 0x34, 0, 1];
        l4.extend_from_slice(b"ping");
        let mut ip = packet("2001:db8:1::10", "2001:db8:2::20", 58, &l4, 2);
        let before = u16::from_be_bytes([ip[42], ip[43]]);
        // SNAT keeping the id: only the pseudo-header changed, yet the checksum must.
        let t = tuple("2001:db8:2::1", "2001:db8:2::20", 58, 0x1234, 128 << 8);
        manip_pkt6(&mut ip, &t, Manip::Src);
        assert_ne!(u16::from_be_bytes([ip[42], ip[43]]), before);
        assert!(checksum_ok(&ip));
        let t = tuple("2001:db8:2::1", "2001:db8:2::20", 58, 7, 128 << 8);
        manip_pkt6(&mut ip, &t, Manip::Src);
        assert_eq!(&ip[44..46], &[0, 7]);
        assert!(checksum_ok(&ip));
    }

    #[test]
    fn a_truncated_or_later_fragment_keeps_its_transport_header() {
        // A non-first fragment: the address changes, the bytes after the header do not.
        let mut ip = packet("2001:db8:1::10", "2001:db8:2::20", 6, &tcp(1, 2), 16);
        let frag = [6u8, 0, 0x00, 0x09, 0, 0, 0, 1];
        ip.splice(40..40, frag);
        ip[6] = 44;
        let len = (ip.len() - 40) as u16;
        ip[4..6].copy_from_slice(&len.to_be_bytes());
        let payload = ip[48..].to_vec();
        let t = tuple("2001:db8:2::100", "2001:db8:2::20", 6, 9, 2);
        manip_pkt6(&mut ip, &t, Manip::Src);
        assert_eq!(addr_at(&ip, 8), a("2001:db8:2::100"));
        assert_eq!(&ip[48..], &payload[..]);
        // Cut inside the header: nothing read out of bounds, the address still written.
        let mut short = packet("2001:db8:1::10", "2001:db8:2::20", 6, &tcp(1, 2), 16);
        short.truncate(43);
        manip_pkt6(&mut short, &t, Manip::Src);
        assert_eq!(addr_at(&short, 8), a("2001:db8:2::100"));
        manip_pkt6(&mut [0x60, 0, 0], &t, Manip::Src);
    }

    #[test]
    fn an_error_about_a_snated_connection_is_put_back() {
        // The connection: 2001:db8:1::10:40000 -> 2001:db8:2::20:80, SNATed to
        // 2001:db8:2::100:1025. A router beyond answers the translated packet.
        let orig = tuple("2001:db8:1::10", "2001:db8:2::20", 6, 40000, 80);
        let reply = tuple("2001:db8:2::20", "2001:db8:2::100", 6, 80, 1025);
        let mut e = test_entry();
        e.orig = orig;
        e.reply = reply;
        e.status |= crate::conntrack::nat::bits::SRC_NAT;
        let quoted = packet("2001:db8:2::100", "2001:db8:2::20", 6, &tcp(1025, 80), 16);
        let mut icmp = vec![1, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&quoted);
        let mut ip = packet("2001:db8:3::1", "2001:db8:2::100", 58, &icmp, 2);
        assert!(is_icmp6_error(&ip));
        // PREROUTING (Dst) of a reply-direction error.
        translate_icmp6_error(&mut ip, &e, true, Manip::Dst);
        assert_eq!(addr_at(&ip, 8), a("2001:db8:3::1"));
        assert_eq!(addr_at(&ip, 24), a("2001:db8:1::10"));
        let inner = &ip[48..];
        assert_eq!(addr_at(inner, 8), a("2001:db8:1::10"));
        assert_eq!(addr_at(inner, 24), a("2001:db8:2::20"));
        assert_eq!(&inner[40..44], &[0x9c, 0x40, 0, 80]);
        assert!(checksum_ok(&ip), "the ICMPv6 checksum");
        assert!(checksum_ok(inner), "the quoted TCP checksum");
        // POSTROUTING (Src) of the same error: nothing to do (no DNAT).
        let before = ip.clone();
        translate_icmp6_error(&mut ip, &e, true, Manip::Src);
        assert_eq!(ip, before);
    }

    fn test_entry() -> crate::conntrack::ConnEntry6 {
        let mut ct = crate::conntrack::Conntrack6::with_config(Default::default());
        let syn = packet("2001:db8:1::10", "2001:db8:2::20", 6, &tcp(40000, 80), 16);
        ct.packet_in(&syn, false, 0)
            .pending
            .expect("a new connection")
    }
}
