//! Leaving the appliance: route lookups (through the worker's cache), fragmentation to
//! the egress MTU, the Ethernet header for the next hop, and the ICMP errors the
//! appliance itself sends (time exceeded, unreachable, fragmentation needed).

use super::*;

impl Pipeline {
    /// `Fib::lookup` through the worker's route cache.
    pub(super) fn route(&mut self, dst: Ipv4Addr, mark: u32) -> Option<NextHop> {
        self.routes.lookup(&self.fib, dst, mark)
    }

    pub(super) fn port_mtu(&self, port: PortId) -> usize {
        self.fib
            .ports()
            .get(port)
            .map_or(1500, |p| usize::from(p.mtu))
    }

    /// ICMP fragmentation needed, with the next hop's MTU (RFC 1191).
    pub(super) fn frag_needed(&mut self, pkt: &Pkt, mtu: usize) {
        if pkt.link_broadcast() {
            return;
        }
        let src = reply_source(&self.fib, pkt.buf.data());
        let ident = self.next_ident();
        let mut out = Vec::new();
        if reject::icmp_error(pkt.buf.data(), 3, 4, src, ident, &mut out) && out.len() >= 28 {
            out[26..28].copy_from_slice(&(mtu as u16).to_be_bytes());
            out[22] = 0;
            out[23] = 0;
            let c = !crate::wire::checksum::data(&out[20..]);
            out[22..24].copy_from_slice(&c.to_be_bytes());
            self.stats.icmp_errors += 1;
            self.generated.push(PacketBuf::from_slice(&out));
        }
    }

    /// Cuts a datagram that does not fit the egress MTU (or that arrived in smaller
    /// fragments) and sends the pieces.
    pub(super) fn transmit_fragmented(
        &mut self,
        buf: PacketBuf,
        frag_max: usize,
        port: PortId,
        next_hop: Ipv4Addr,
        out: &mut Vec<Emit>,
    ) {
        let mtu = self.port_mtu(port);
        self.transmit_within(buf, frag_max, port, mtu, next_hop, out);
    }

    /// `transmit_fragmented` with the port's MTU already looked up.
    #[inline]
    pub(super) fn transmit_within(
        &mut self,
        buf: PacketBuf,
        frag_max: usize,
        port: PortId,
        mtu: usize,
        next_hop: Ipv4Addr,
        out: &mut Vec<Emit>,
    ) {
        let mut limit = mtu;
        if frag_max > 0 {
            limit = limit.min(frag_max);
        }
        if buf.len() <= limit {
            return self.transmit(buf, port, next_hop, out);
        }
        self.transmit_pieces(buf, limit, port, next_hop, out);
    }

    #[inline(never)]
    fn transmit_pieces(
        &mut self,
        buf: PacketBuf,
        limit: usize,
        port: PortId,
        next_hop: Ipv4Addr,
        out: &mut Vec<Emit>,
    ) {
        let mark = buf.mark;
        for piece in crate::defrag::fragment(buf.data(), limit) {
            let mut b = PacketBuf::from_slice(&piece);
            b.mark = mark;
            self.stats.fragments_sent += 1;
            self.transmit(b, port, next_hop, out);
        }
    }

    /// Adds the Ethernet header for the next hop and emits the frame; without a neighbour
    /// the packet waits for ARP to resolve it.
    #[inline]
    pub(super) fn transmit(
        &mut self,
        buf: PacketBuf,
        port: PortId,
        next_hop: Ipv4Addr,
        out: &mut Vec<Emit>,
    ) {
        let Some(dst_mac) = self.neighbors.lookup(port, next_hop, self.now_ns) else {
            return self.neighbor_miss(buf, port, next_hop, out);
        };
        out.push(self.ethernet_out(buf, port, dst_mac));
    }

    /// An IPv4 packet framed from `port`'s MAC to `dst_mac`.
    #[inline]
    pub(super) fn ethernet_out(&self, mut buf: PacketBuf, port: PortId, dst_mac: MacAddr) -> Emit {
        self.frame_in_place(&mut buf, port, dst_mac);
        Emit::Tx { port, frame: buf }
    }

    /// `ethernet_out`'s header, pushed on `buf` where it lies.
    #[inline(always)]
    pub(super) fn frame_in_place(&self, buf: &mut PacketBuf, port: PortId, dst_mac: MacAddr) {
        let src_mac = self
            .fib
            .ports()
            .get(port)
            .map(|p| p.mac)
            .unwrap_or(MacAddr([0; 6]));
        let hdr = buf.prepend(14);
        hdr[0..6].copy_from_slice(&dst_mac.0);
        hdr[6..12].copy_from_slice(&src_mac.0);
        hdr[12..14].copy_from_slice(&EtherType::IPV4.0.to_be_bytes());
    }

    /// An ICMP error about `pkt` from the appliance (time exceeded, unreachable): from
    /// the address of the port facing the sender, as `icmp_send` picks it.
    pub(super) fn icmp_error(&mut self, pkt: &Pkt, icmp_type: u8, code: u8) {
        if pkt.link_broadcast() {
            return;
        }
        let src = reply_source(&self.fib, pkt.buf.data());
        let ident = self.next_ident();
        let mut out = Vec::new();
        if reject::icmp_error(pkt.buf.data(), icmp_type, code, src, ident, &mut out) {
            self.send_icmp_error(out, icmp_type, code);
            self.stats.icmp_errors += 1;
        }
    }

    /// Queues a built ICMP error (`out`, an IPv4 packet) for OUTPUT if `icmp_send`'s rate
    /// limits let it go: the checks that decide whether an error is due at all (fragment
    /// zero, no error about an error, addresses) come first in the kernel too.
    pub(super) fn send_icmp_error(&mut self, out: Vec<u8>, icmp_type: u8, code: u8) {
        let dst = Ipv4Packet::new_unchecked(&out[..]).dst_addr();
        if self.icmp_limit.allow(dst, icmp_type, code, self.now_ns) {
            self.generated.push(PacketBuf::from_slice(&out));
        } else {
            self.stats.icmp_rate_limited += 1;
        }
    }

    /// `-j TEE` (nf_dup_ipv4): queues a copy of `buf` for `t.gateway` as its next hop, by
    /// `--oif` or the route to the gateway. The copy gets DF, and at PREROUTING and INPUT
    /// one less TTL; one that does not fit the port's MTU is not sent (with DF set the
    /// kernel refuses to fragment it).
    pub(super) fn tee(&mut self, buf: &PacketBuf, t: &TeeTarget, hook: Hook) {
        let port = match &t.oif {
            Some(name) => self.fib.ports().by_name(name).map(|p| p.id),
            None => self.fib.lookup(t.gateway, 0).map(|h| h.port),
        };
        let Some(port) = port else {
            return;
        };
        if buf.len() > self.port_mtu(port) || Ipv4Packet::new_checked(buf.data()).is_err() {
            return;
        }
        let mut copy = PacketBuf::from_slice(buf.data());
        let mut ip = Ipv4Packet::new_unchecked(copy.data_mut());
        ip.set_dont_frag(true);
        if matches!(hook, Hook::Prerouting | Hook::Input) {
            ip.set_ttl(ip.ttl().wrapping_sub(1));
        }
        ip.fill_checksum();
        self.teed.push((copy, port, t.gateway));
    }

    pub(super) fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }
}

/// The source of an answer to `orig`: its destination when that is the appliance
/// itself, else the address of the port the answer leaves by.
pub(super) fn reply_source(fib: &Fib, orig: &[u8]) -> Ipv4Addr {
    let ip = Ipv4Packet::new_unchecked(orig);
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if fib.is_local(dst) {
        return dst;
    }
    fib.lookup(src, 0)
        .map(|h| h.src)
        .filter(|a| !a.is_unspecified())
        .unwrap_or(dst)
}

#[inline(always)]
pub(super) fn ipv4_dst(buf: &PacketBuf) -> Ipv4Addr {
    Ipv4Packet::new_unchecked(buf.data()).dst_addr()
}
