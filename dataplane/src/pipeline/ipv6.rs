//! IPv6 on the appliance itself, the first part of it: a received IPv6 frame is checked as
//! `ipv6_rcv` checks it, and what is addressed to the appliance goes to neighbour discovery
//! (`ndisc`), is answered as an echo request, or goes to the host stack behind the TAP
//! (`Emit::Local`: TCP, UDP and other ICMPv6 to a configured address); other unicast is
//! forwarded (`forward6`), the rest (multicast groups other than all-nodes and the
//! solicited-node groups of the port's addresses) is dropped under `ipv6_unhandled`. Packets the appliance sends are
//! resolved through the IPv6 neighbour cache (`nd`), waiting in its queue when needed.
//!
//! Addresses: every port with an MTU of at least 1280 has its link-local address (EUI-64
//! of its MAC) and the configured ones (`PortInfo::ipv6_addresses`). Link-local addresses
//! are answered only on their own port; a global address on any port (the weak host model,
//! as Linux delivers locally).
//!
//! Echo replies are not rate limited: Linux's `icmpv6_echo_reply` passes
//! `icmpv6_global_allow` and `icmpv6_xrlim_allow`, which let through every type outside the
//! default `icmpv6_ratemask` (0-1,3-127: errors but packet too big), and the echo reply is
//! type 129. Difference: the reply's flow label is 0 (Linux's `auto_flowlabels` puts a flow
//! hash there).

use super::{DropReason, Emit, Flow, Pipeline, Pkt, Stop};
use crate::port::{is_link_local6, MacAddr, PacketBuf, PortId};
use crate::wire::ipv6::next_header;
use crate::wire::{
    EtherType, EthernetAddress, Icmpv6Message, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Packet,
    Ipv6Repr, L3Header,
};
use std::net::Ipv6Addr;

/// Linux's default `hop_limit` for packets it originates.
pub const DEFAULT_HOP_LIMIT: u8 = 64;

/// Echo counters of one pipeline (neighbour discovery has its own, `NdiscStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ipv6Stats {
    /// IPv6 frames received (before any check).
    pub received: u64,
    /// Echo requests to the appliance's addresses, and the replies sent for them.
    pub echo_requests: u64,
    pub echo_replies: u64,
}

/// The solicited-node multicast group of `addr` (ff02::1:ffXX:XXXX, RFC 4291 2.7.1).
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// Whether `addr` is a solicited-node multicast group.
pub fn is_solicited_node(addr: Ipv6Addr) -> bool {
    addr.octets()[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]
}

/// ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The Ethernet group address an IPv6 multicast group maps to (33:33 and its last 32 bits,
/// RFC 2464 section 7).
pub fn multicast_mac(group: Ipv6Addr) -> MacAddr {
    let o = group.octets();
    MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// An IPv6 packet (no extension headers) carrying `icmp` from `src` to `dst`.
pub fn icmpv6_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    traffic_class: u8,
    icmp: &Icmpv6Repr,
) -> PacketBuf {
    let icmp_len = icmp.buffer_len();
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::from(next_header::ICMPV6),
        payload_len: icmp_len,
        hop_limit,
        traffic_class,
        flow_label: 0,
    };
    let mut bytes = vec![0u8; ip.buffer_len()];
    let (head, body) = bytes.split_at_mut(crate::wire::ipv6::HEADER_LEN);
    ip.emit(&mut Ipv6Packet::new_unchecked(head));
    icmp.emit(src, dst, &mut Icmpv6Packet::new_unchecked(body));
    PacketBuf::from_slice(&bytes)
}

/// What a received IPv6 frame is, once `ipv6_rcv`'s checks passed.
pub(super) struct Received<'a> {
    pub port: PortId,
    pub port_mac: MacAddr,
    pub ip: Ipv6Packet<&'a [u8]>,
    /// The ICMPv6 message (the packet's payload; no extension headers before it).
    pub icmp: &'a [u8],
    /// Sent to a link-layer group address.
    pub to_group: bool,
}

impl Pipeline {
    /// An IPv6 frame received on `port`, checked as `ipv6_rcv` checks it: what is for the
    /// appliance goes through PREROUTING and INPUT to neighbour discovery or the echo
    /// answer, other unicast through the forwarding path (`forward6`).
    pub(super) fn ipv6_in(
        &mut self,
        port: PortId,
        mut frame: PacketBuf,
        l3: &L3Header,
        out: &mut Vec<Emit>,
    ) -> Flow {
        self.ipv6.received += 1;
        let Some((port_mac, enabled)) = self
            .fib
            .ports()
            .get(port)
            .map(|p| (p.mac, p.ipv6_enabled()))
        else {
            return Err(Stop::Drop(DropReason::Ipv6Unhandled));
        };
        let dst_mac = EthernetAddress::from_bytes(frame.data()).ok_or(Stop::MALFORMED)?;
        // eth_type_trans's PACKET_OTHERHOST, dropped by ipv6_rcv.
        if dst_mac.is_unicast() && dst_mac.0 != port_mac.0 {
            return Err(Stop::Drop(DropReason::OtherHost));
        }
        if !enabled || l3.tag_count() > 0 {
            return Err(Stop::Drop(DropReason::Ipv6Unhandled));
        }
        let mut mac = [0u8; 14];
        mac.copy_from_slice(frame.data().get(..14).ok_or(Stop::MALFORMED)?);
        if !frame.pull(l3.offset) {
            return Err(Stop::MALFORMED);
        }
        frame.port = port;
        let (src, dst, len) = {
            let ip = Ipv6Packet::new_checked(frame.data()).map_err(|_| Stop::MALFORMED)?;
            let len = crate::wire::ipv6::HEADER_LEN + usize::from(ip.payload_len());
            (ip.src_addr(), ip.dst_addr(), len)
        };
        // Link padding trimmed (`ipv6_rcv`'s pskb_trim_rcsum).
        frame.truncate(len);
        // ip6_rcv_core: no multicast source, no loopback on the wire, no group of
        // interface-local or reserved (0) scope. (An unspecified destination is routed like
        // any other: the kernel forwards it by the default route.)
        let group_scope = (dst.is_multicast()).then(|| dst.octets()[1] & 0x0f);
        if src.is_multicast()
            || src.is_loopback()
            || dst.is_loopback()
            || matches!(group_scope, Some(0 | 1))
        {
            return Err(Stop::MALFORMED);
        }
        // The extension header chain must hold together for the tables to read it (the
        // kernel drops a bad hop-by-hop header here; see docs/deviations.md for the rest).
        if crate::ruleset::packet::PacketView::parse(frame.data(), Default::default()).is_none() {
            return Err(Stop::MALFORMED);
        }
        let to_group = dst_mac.is_multicast();
        let mut pkt = Pkt::new6(frame, Some(port), Some(mac));
        // A datagram another worker reassembled leaves cut as it came.
        pkt.frag6 = self.handed_frag6.take();
        let for_us = self.ipv6_for_us(port, dst);
        if !for_us && (dst.is_multicast() || is_link_local6(dst)) {
            return Err(Stop::Drop(DropReason::Ipv6Unhandled));
        }
        self.prerouting6(&mut pkt)?;
        // The route follows the nat table (ip6_rcv_finish routes after PREROUTING): a
        // DNATed packet may now be for the appliance, or no longer.
        let now = Ipv6Packet::new_unchecked(pkt.buf.data()).dst_addr();
        let for_us = if now == dst {
            for_us
        } else {
            self.ipv6_for_us(port, now)
        };
        if for_us {
            return self.local_in6(pkt, port_mac, to_group, out);
        }
        self.forward6(pkt, out)
    }

    /// A packet for the appliance past PREROUTING and INPUT: neighbour discovery and echo
    /// requests are answered here; the rest of what is sent to one of its configured
    /// addresses (TCP, UDP, other ICMPv6) goes to the host stack behind the TAP
    /// (`Emit::Local`), as IPv4's local_in delivers. Not delivered (`ipv6_unhandled`):
    /// what is sent to a group or a port's link-local address (the kernel owns neither:
    /// its link is the TAP, not the port) and the other neighbour discovery messages.
    pub(super) fn ipv6_deliver(
        &mut self,
        pkt: Pkt,
        port_mac: MacAddr,
        to_group: bool,
        out: &mut Vec<Emit>,
    ) -> Flow {
        let Some(port) = pkt.in_port else {
            return Err(Stop::Drop(DropReason::Ipv6Unhandled));
        };
        let (dst, proto, msg) = {
            let body = pkt.buf.data();
            let ip = Ipv6Packet::new_unchecked(body);
            let msg = body.get(crate::wire::ipv6::HEADER_LEN).copied();
            (ip.dst_addr(), u8::from(ip.next_header()), msg)
        };
        // Only ICMPv6 right after the fixed header is answered here (neighbour discovery
        // messages with extension headers are rare, fragmented ones forbidden by RFC 6980).
        let answered = proto == next_header::ICMPV6
            && matches!(
                msg.map(Icmpv6Message),
                Some(
                    Icmpv6Message::NEIGHBOR_SOLICIT
                        | Icmpv6Message::NEIGHBOR_ADVERT
                        | Icmpv6Message::ECHO_REQUEST
                )
            );
        if !answered {
            // Router solicitations and advertisements, redirects: link-scoped, not the
            // kernel's business.
            let ndisc = proto == next_header::ICMPV6 && matches!(msg, Some(133..=137));
            if ndisc || to_group || dst.is_multicast() || is_link_local6(dst) {
                return Err(Stop::Drop(DropReason::Ipv6Unhandled));
            }
            out.push(Emit::Local { packet: pkt.buf });
            return Ok(());
        }
        let body = pkt.buf.data();
        let ip = Ipv6Packet::new_unchecked(body);
        let icmp = &body[crate::wire::ipv6::HEADER_LEN..];
        let rx = Received {
            port,
            port_mac,
            ip,
            icmp,
            to_group,
        };
        match msg.map(Icmpv6Message) {
            Some(Icmpv6Message::NEIGHBOR_SOLICIT) => self.ndisc_solicitation_in(&rx, out),
            Some(Icmpv6Message::NEIGHBOR_ADVERT) => self.ndisc_advert_in(&rx, out),
            _ => self.echo_request_in(&rx, out),
        }
    }

    /// Whether a packet to `dst` received on `port` is for the appliance: a configured
    /// address of any port, the link-local address of this one, all-nodes, or the
    /// solicited-node group of one of this port's addresses.
    fn ipv6_for_us(&self, port: PortId, dst: Ipv6Addr) -> bool {
        let Some(p) = self.fib.ports().get(port) else {
            return false;
        };
        if dst == ALL_NODES {
            return true;
        }
        if is_solicited_node(dst) {
            return p.ipv6_addresses().any(|a| solicited_node(a) == dst);
        }
        if is_link_local6(dst) {
            return p.link_local() == Some(dst);
        }
        self.fib
            .ports()
            .iter()
            .any(|q| q.ipv6_enabled() && q.addresses6.iter().any(|&(a, _)| a == dst))
    }

    /// An echo request to the appliance: the reply goes back with the same identifier,
    /// sequence number and data, from the address asked (from the port's address for the
    /// requester when asked at a group), with the request's traffic class.
    fn echo_request_in(&mut self, rx: &Received, out: &mut Vec<Emit>) -> Flow {
        let (src, dst) = (rx.ip.src_addr(), rx.ip.dst_addr());
        let packet = Icmpv6Packet::new_checked(rx.icmp).map_err(|_| Stop::MALFORMED)?;
        if !packet.verify_checksum(src, dst) {
            return Err(Stop::Drop(DropReason::BadChecksum));
        }
        let Ok(Icmpv6Repr::EchoRequest {
            ident,
            seq_no,
            data,
        }) = Icmpv6Repr::parse(&packet)
        else {
            return Err(Stop::Drop(DropReason::Ipv6Unhandled));
        };
        self.ipv6.echo_requests += 1;
        // No answer to the unspecified address.
        if src.is_unspecified() {
            return Err(Stop::MALFORMED);
        }
        let reply_src = if dst.is_multicast() {
            let p = self.fib.ports().get(rx.port);
            match p.and_then(|p| p.ipv6_source_for(src)) {
                Some(a) => a,
                None => return Err(Stop::Drop(DropReason::NoRoute)),
            }
        } else {
            dst
        };
        let reply = Icmpv6Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        let buf = icmpv6_packet(
            reply_src,
            src,
            DEFAULT_HOP_LIMIT,
            rx.ip.traffic_class(),
            &reply,
        );
        self.ipv6.echo_replies += 1;
        self.send6(buf, Some(rx.port), out);
        Err(Stop::Held)
    }

    /// Sends an IPv6 packet of the appliance's own through OUTPUT and POSTROUTING
    /// (`local_out6`), counting a drop under its reason.
    pub(super) fn send6(&mut self, buf: PacketBuf, via: Option<PortId>, out: &mut Vec<Emit>) {
        let flow = self.local_out6(buf, via, out);
        self.settle(flow);
    }

    /// Frames an IPv6 packet for `next_hop` on `port`: a group's MAC for multicast, the
    /// neighbour's otherwise; without one the packet waits and a solicitation goes out.
    pub(super) fn transmit6(
        &mut self,
        buf: PacketBuf,
        port: PortId,
        next_hop: Ipv6Addr,
        out: &mut Vec<Emit>,
    ) {
        if next_hop.is_multicast() {
            out.push(self.ethernet_out6(buf, port, multicast_mac(next_hop)));
            return;
        }
        match self.nd.lookup(port, next_hop, self.now_ns) {
            Some(mac) => out.push(self.ethernet_out6(buf, port, mac)),
            None => self.ndisc_miss(buf, port, next_hop, out),
        }
    }

    /// An IPv6 packet framed from `port`'s MAC to `dst_mac`.
    pub(super) fn ethernet_out6(&self, mut buf: PacketBuf, port: PortId, dst_mac: MacAddr) -> Emit {
        let src_mac = self.fib.ports().get(port).map_or(MacAddr::ZERO, |p| p.mac);
        let hdr = buf.prepend(14);
        hdr[0..6].copy_from_slice(&dst_mac.0);
        hdr[6..12].copy_from_slice(&src_mac.0);
        hdr[12..14].copy_from_slice(&EtherType::IPV6.0.to_be_bytes());
        Emit::Tx { port, frame: buf }
    }

    pub fn ipv6_stats(&self) -> &Ipv6Stats {
        &self.ipv6
    }
}
