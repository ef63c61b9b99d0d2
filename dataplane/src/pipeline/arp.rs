//! ARP on the appliance's ports, as a Linux router does it with its default sysctls:
//!
//! - Answers requests for any of the appliance's addresses on the port they arrive on
//!   (`arp_ignore=0`, the weak host model: an address of another port is answered too), from
//!   the port's MAC, unicast to the requester; the requester is learned STALE (`neigh_event_ns`).
//!   Probes (sender 0.0.0.0, RFC 5227 / DHCP duplicate address detection) are answered the same
//!   way with target IP 0.0.0.0, and teach nothing.
//! - Learns from replies to its requests and updates known neighbours from any other ARP
//!   (`arp_accept=0`: unrequested replies and announcements create nothing). No proxy ARP.
//! - Resolves next hops on a miss: the packet waits in the neighbour queue, a broadcast request
//!   goes out from the port's address on the next hop's subnet (`inet_select_addr`), retried
//!   every second, given up after three (`mcast_solicit`); a used STALE entry is re-probed by
//!   unicast (`ucast_probes`).
//! - Ignores ARP on a port without addresses (the kernel would still answer there for the
//!   addresses of other ports: such a port is not part of the IP configuration here).
//!
//! Frames are what Linux hands its driver (42 bytes, the NIC pads to 60); the layouts were
//! compared byte for byte with Linux 6.18 on a veth pair (see the tests).
//!
//! Deviation: for the sender address of a request the kernel (`arp_announce=0`) prefers the
//! source of the queued packet when it is a local address; this uses the port's address on
//! the next hop's subnet always (the same for forwarded traffic).

use super::{DropReason, Emit, Pipeline};
use crate::arptables::{ArpFields, ArpHook, ArpVerdict};
use crate::neigh::Learn;
use crate::port::{MacAddr, PacketBuf, PortId};
use crate::route::AddrType;
use crate::wire::arp::PACKET_LEN;
use crate::wire::{ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, L3Header};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// An untagged Ethernet/ARP frame without padding.
pub const FRAME_LEN: usize = 14 + PACKET_LEN;

/// ARP counters of one pipeline. Packets lost for want of a neighbour are counted in
/// `PipelineStats::no_neighbor`, and by cause in `NeighTable::stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArpStats {
    /// Well-formed requests received on an addressed port, probes included.
    pub requests_received: u64,
    /// Replies sent to requests and probes for the appliance's addresses.
    pub requests_answered: u64,
    /// Well-formed replies received on an addressed port.
    pub replies_received: u64,
    /// Requests sent to resolve next hops: first ones, retries and unicast re-probes.
    pub requests_sent: u64,
    /// Gratuitous requests sent by `announce`.
    pub announcements_sent: u64,
    /// Dropped: truncated, not Ethernet/IPv4 (htype, ptype, hlen, plen), unknown operation,
    /// a group or zero sender MAC, an impossible sender address (multicast, broadcast,
    /// 0.0.0.0/8 outside a probe, loopback), a multicast or loopback target.
    pub malformed: u64,
    /// Valid but not acted on: requests for other hosts, probes for addresses not ours, a
    /// sender claiming one of our addresses or our MAC, VLAN-tagged ARP, unicast to another
    /// MAC, ARP on a port without addresses.
    pub ignored: u64,
    /// Packets put in a neighbour queue on a miss (released when the address resolves).
    pub queued: u64,
    /// Dropped by arptables: received frames at INPUT (neither answered nor learned
    /// from), frames of the appliance's own at OUTPUT (not sent).
    pub filtered_in: u64,
    pub filtered_out: u64,
}

/// Why a received ARP frame is not handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    Malformed,
    Ignored,
}

/// The checks of `arp_rcv` and the start of `arp_process`, plus a sane sender MAC: the ARP
/// message of an untagged frame for this port (`port_mac`), and whether the frame was sent
/// to a group address.
fn check(frame: &[u8], l3: &L3Header, port_mac: MacAddr) -> Result<(ArpRepr, bool), Refused> {
    if l3.tag_count() > 0 {
        return Err(Refused::Ignored);
    }
    let dst = EthernetAddress::from_bytes(frame).ok_or(Refused::Malformed)?;
    // PACKET_OTHERHOST: a promiscuous port sees unicast for other stations.
    if dst.is_unicast() && dst.0 != port_mac.0 {
        return Err(Refused::Ignored);
    }
    let body = frame.get(l3.offset..).ok_or(Refused::Malformed)?;
    let packet = ArpPacket::new_checked(body).map_err(|_| Refused::Malformed)?;
    let repr = ArpRepr::parse(&packet).map_err(|_| Refused::Malformed)?;
    if !matches!(repr.operation, ArpOperation::Request | ArpOperation::Reply) {
        return Err(Refused::Malformed);
    }
    let sha = repr.source_hardware_addr;
    if sha.is_multicast() || sha == EthernetAddress::UNSPECIFIED {
        return Err(Refused::Malformed);
    }
    if sha.0 == port_mac.0 {
        return Err(Refused::Ignored);
    }
    let tip = repr.target_protocol_addr;
    if tip.is_multicast() || tip.is_loopback() {
        return Err(Refused::Malformed);
    }
    Ok((repr, dst.is_multicast()))
}

/// An Ethernet frame carrying `repr`, from `src` to `dst`.
pub fn frame(dst: MacAddr, src: MacAddr, repr: &ArpRepr) -> PacketBuf {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&src.0);
    f[12..14].copy_from_slice(&EtherType::ARP.0.to_be_bytes());
    repr.emit(&mut ArpPacket::new_unchecked(&mut f[14..]));
    PacketBuf::from_slice(&f)
}

/// A request for `target` from `sender` at `mac`: broadcast, or unicast to a known `to`
/// (a re-probe). The target MAC is left zero in both, as Linux's `arp_solicit` does.
pub fn request(mac: MacAddr, sender: Ipv4Addr, target: Ipv4Addr, to: Option<MacAddr>) -> PacketBuf {
    let repr = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(mac.0),
        source_protocol_addr: sender,
        target_hardware_addr: EthernetAddress::UNSPECIFIED,
        target_protocol_addr: target,
    };
    frame(to.unwrap_or(MacAddr::BROADCAST), mac, &repr)
}

/// A gratuitous ARP announcing `addr` at `mac` (a broadcast request for itself).
pub fn announcement(mac: MacAddr, addr: Ipv4Addr) -> PacketBuf {
    request(mac, addr, addr, None)
}

/// True for a sender address no host may use (martian sources, `ip_route_input`).
fn impossible_sender(kind: AddrType, sip: Ipv4Addr) -> bool {
    matches!(kind, AddrType::Broadcast | AddrType::Multicast) || sip.is_loopback()
}

impl Pipeline {
    /// Handles an ARP frame received on `port` (its L3 header described by `l3`).
    pub(super) fn arp_in(
        &mut self,
        port: PortId,
        frame: &[u8],
        l3: &L3Header,
        out: &mut Vec<Emit>,
    ) {
        let Some((port_mac, addressed)) = self
            .fib
            .ports()
            .get(port)
            .map(|p| (p.mac, !p.addresses.is_empty()))
        else {
            self.arp.ignored += 1;
            return;
        };
        let (mut repr, to_group) = match check(frame, l3, port_mac) {
            Ok(m) => m,
            Err(Refused::Malformed) => return self.arp.malformed += 1,
            Err(Refused::Ignored) => return self.arp.ignored += 1,
        };
        if !self.rules.arp.is_empty() && !self.arp_input(port, &mut repr) {
            self.arp.filtered_in += 1;
            return;
        }
        if !addressed {
            self.arp.ignored += 1;
            return;
        }
        let (sip, tip) = (repr.source_protocol_addr, repr.target_protocol_addr);
        let sha = MacAddr(repr.source_hardware_addr.0);
        let request = repr.operation == ArpOperation::Request;
        if sip.is_unspecified() && request {
            self.arp.requests_received += 1;
            if self.fib.is_local(tip) {
                self.arp.requests_answered += 1;
                let reply = frame_reply(&repr, port_mac);
                self.arp_out(port, reply, out);
            } else {
                self.arp.ignored += 1;
            }
            return;
        }
        let kind = self.fib.addr_type(sip, None);
        if impossible_sender(kind, sip) {
            self.arp.malformed += 1;
            return;
        }
        if kind == AddrType::Local {
            // Someone claims our address: neither answered nor learned.
            self.arp.ignored += 1;
            return;
        }
        let how = if request {
            self.arp.requests_received += 1;
            if self.fib.is_local(tip) {
                Learn::Request
            } else {
                self.arp.ignored += 1;
                Learn::Gratuitous
            }
        } else {
            self.arp.replies_received += 1;
            // Broadcast replies and announcements do not confirm reachability.
            if to_group || sip == tip {
                Learn::Gratuitous
            } else {
                Learn::Reply
            }
        };
        // Packets that waited for the sender go first, then the answer (neigh_event_ns
        // before arp_send in arp_process).
        for buf in self.neighbors.learn(port, sip, sha, how, self.now_ns) {
            let f = self.ethernet_out(buf, port, sha);
            out.push(f);
        }
        if how == Learn::Request {
            self.arp.requests_answered += 1;
            let reply = frame_reply(&repr, port_mac);
            self.arp_out(port, reply, out);
        }
    }

    /// `transmit` found no neighbour for `next_hop`: the packet waits for resolution and a
    /// request goes out if the entry is new. Broadcast and multicast next hops are not
    /// resolved by ARP (they are dropped, as before ARP existed here).
    #[inline(never)]
    pub(super) fn neighbor_miss(
        &mut self,
        mut buf: PacketBuf,
        port: PortId,
        next_hop: Ipv4Addr,
        out: &mut Vec<Emit>,
    ) {
        let sender = self.solicit_source(port, next_hop);
        let (Some(mac), Some(sender)) = (self.port_mac(port), sender) else {
            self.count_drop(DropReason::NoNeighbor, 1);
            return;
        };
        if self.fib.addr_type(next_hop, None) != AddrType::Unicast {
            self.count_drop(DropReason::NoNeighbor, 1);
            return;
        }
        self.arp.queued += 1;
        // It may wait for seconds: off the rx mempool.
        buf.detach();
        let q = self.neighbors.enqueue(port, next_hop, buf, self.now_ns);
        if q.dropped.is_some() {
            self.count_drop(DropReason::NoNeighbor, 1);
        }
        if q.solicit {
            self.arp.requests_sent += 1;
            let f = request(mac, sender, next_hop, None);
            self.arp_out(port, f, out);
        }
    }

    /// The sender address of a request for `target` on `port`: the port's address on the
    /// target's subnet, else its primary, else (a port without addresses) the first address
    /// of the appliance, as `inet_select_addr` falls back to other devices.
    fn solicit_source(&self, port: PortId, target: Ipv4Addr) -> Option<Ipv4Addr> {
        let ports = self.fib.ports();
        ports
            .get(port)
            .and_then(|p| p.source_for(target))
            .or_else(|| ports.iter().find_map(|p| p.primary()))
    }

    fn port_mac(&self, port: PortId) -> Option<MacAddr> {
        self.fib.ports().get(port).map(|p| p.mac)
    }

    /// Advances the neighbour timers to `now_ns` (the clock `receive` is given): sends the
    /// retries of unanswered requests (broadcast) and the re-probes of used STALE entries
    /// (unicast to the known MAC), and drops the packets of addresses that never resolved.
    /// The worker calls it every ~100 ms.
    pub fn tick(&mut self, now_ns: u64, out: &mut Vec<Emit>) {
        self.ndisc_tick(now_ns, out);
        let t = self.neighbors.tick(now_ns);
        self.count_drop(DropReason::NoNeighbor, t.dropped.len() as u64);
        for (port, target, to) in t.solicit {
            let sender = self.solicit_source(port, target);
            if let (Some(mac), Some(sender)) = (self.port_mac(port), sender) {
                self.arp.requests_sent += 1;
                let f = request(mac, sender, target, to);
                self.arp_out(port, f, out);
            }
        }
    }

    /// Gratuitous ARP for every address of `port` (a port coming up), so that neighbours
    /// which knew another MAC for them update it; unsolicited neighbour advertisements for
    /// its IPv6 addresses likewise.
    pub fn announce(&mut self, port: PortId, out: &mut Vec<Emit>) {
        let Some(p) = self.fib.ports().get(port) else {
            return;
        };
        let frames: Vec<PacketBuf> = p
            .addresses
            .iter()
            .map(|&(addr, _)| announcement(p.mac, addr))
            .collect();
        for f in frames {
            self.arp.announcements_sent += 1;
            self.arp_out(port, f, out);
        }
        self.ndisc_announce(port, out);
    }

    /// arptables INPUT for a received message (`arp_rcv`'s `NF_ARP_IN`): false when it is
    /// dropped; `-j mangle` rewrites `repr` before it is answered or learned from.
    fn arp_input(&mut self, port: PortId, repr: &mut ArpRepr) -> bool {
        let mut f = fields(repr);
        let accept = self.arp_filter(ArpHook::Input, port, &mut f);
        repr.source_hardware_addr = EthernetAddress(f.sha);
        repr.source_protocol_addr = f.sip;
        repr.target_hardware_addr = EthernetAddress(f.tha);
        repr.target_protocol_addr = f.tip;
        accept
    }

    /// Sends an ARP frame of the appliance's own through arptables OUTPUT (`arp_xmit`'s
    /// `NF_ARP_OUT`), which may rewrite its message or drop it.
    fn arp_out(&mut self, port: PortId, mut frame: PacketBuf, out: &mut Vec<Emit>) {
        if !self.rules.arp.is_empty() {
            let Some(repr) = frame
                .data()
                .get(14..)
                .and_then(|b| ArpRepr::parse(&ArpPacket::new_checked(b).ok()?).ok())
            else {
                return;
            };
            let mut f = fields(&repr);
            if !self.arp_filter(ArpHook::Output, port, &mut f) {
                self.arp.filtered_out += 1;
                return;
            }
            let mut p = ArpPacket::new_unchecked(&mut frame.data_mut()[14..]);
            p.set_source_hardware_addr(EthernetAddress(f.sha));
            p.set_source_protocol_addr(f.sip);
            p.set_target_hardware_addr(EthernetAddress(f.tha));
            p.set_target_protocol_addr(f.tip);
        }
        out.push(Emit::Tx { port, frame });
    }

    /// Runs `f` through `hook`'s chain, counting the rules it matches (28 bytes each: the
    /// ARP message, as the kernel counts the skb without its link header).
    fn arp_filter(&mut self, hook: ArpHook, port: PortId, f: &mut ArpFields) -> bool {
        let rules = Arc::clone(&self.rules);
        let name = self.fib.ports().get(port).map_or("", |p| p.name.as_str());
        let counters = &mut self.arp_counters;
        let verdict = rules.arp.evaluate(hook, name, f, |i| {
            if let Some(c) = counters.get_mut(i) {
                c.packets += 1;
                c.bytes += PACKET_LEN as u64;
            }
        });
        verdict == ArpVerdict::Accept
    }

    /// The link of `port` went down: its learned neighbours are forgotten and their waiting
    /// packets dropped; configured ones stay. (Connections MASQUERADEd to its addresses are
    /// the caller's to forget, with `forget_masqueraded`.)
    pub fn link_down(&mut self, port: PortId) {
        let dropped = self.neighbors.flush_port(port).len() + self.nd.flush_port(port).len();
        self.count_drop(DropReason::NoNeighbor, dropped as u64);
    }

    /// `ip neigh del`: forgets an entry; packets waiting on it are dropped as no_neighbor.
    pub fn remove_neighbor(&mut self, port: PortId, ip: Ipv4Addr) -> bool {
        match self.neighbors.remove(port, ip) {
            Some(waiting) => {
                self.count_drop(DropReason::NoNeighbor, waiting.len() as u64);
                true
            }
            None => false,
        }
    }

    /// The neighbour table, for `ip neigh`-style listings and its drop counters.
    pub fn neighbors(&self) -> &crate::neigh::NeighTable<PacketBuf> {
        &self.neighbors
    }

    pub fn arp_stats(&self) -> &ArpStats {
        &self.arp
    }
}

/// What arptables looks at in an Ethernet/IPv4 ARP message (`check` admits no other).
fn fields(r: &ArpRepr) -> ArpFields {
    ArpFields {
        op: u16::from(r.operation),
        htype: 1,
        ptype: EtherType::IPV4.0,
        sha: r.source_hardware_addr.0,
        sip: r.source_protocol_addr,
        tha: r.target_hardware_addr.0,
        tip: r.target_protocol_addr,
    }
}

/// The reply of the owner of the requested address at `mac`, unicast to the requester.
fn frame_reply(req: &ArpRepr, mac: MacAddr) -> PacketBuf {
    let reply = req.reply(EthernetAddress(mac.0));
    frame(MacAddr(req.source_hardware_addr.0), mac, &reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neigh::NeighState;
    use crate::pipeline::CompiledRuleset;
    use crate::port::PortTable;
    use crate::route::Fib;
    use crate::ruleset::Ruleset;
    use proptest::prelude::*;
    use std::sync::Arc;

    const SEC: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SEC;
    /// The addressing of the kernel capture below: port A (two addresses), port D (the other
    /// device), and a port without addresses.
    const A: PortId = PortId(0);
    const D: PortId = PortId(1);
    const BARE: PortId = PortId(2);
    const A_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
    const D_MAC: MacAddr = MacAddr([2, 0, 0, 0, 2, 1]);
    const HOST_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0x10]);
    const GW_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0x99]);

    // Captured from Linux 6.18 in network namespaces: a router namespace with veth arpt-a
    // (02:00:00:00:01:01, 10.77.0.1/24 and 10.77.0.2/24, arp_notify=1) and veth arpt-d
    // (10.88.0.1/24), a host 02:00:00:00:01:10 on the far end of arpt-a sending requests
    // with AF_PACKET; the router sent a UDP datagram to 10.77.0.99, which nobody answers.
    /// Gratuitous ARP for each address when arpt-a came up.
    const K_GARP_1: &str =
        "ffffffffffff020000000101080600010800060400010200000001010a4d00010000000000000a4d0001";
    const K_GARP_2: &str =
        "ffffffffffff020000000101080600010800060400010200000001010a4d00020000000000000a4d0002";
    /// Reply to "who-has 10.77.0.1 tell 10.77.0.10".
    const K_REPLY: &str =
        "020000000110020000000101080600010800060400020200000001010a4d00010200000001100a4d000a";
    /// Reply to the probe "who-has 10.77.0.1 tell 0.0.0.0".
    const K_PROBE_REPLY: &str =
        "020000000110020000000101080600010800060400020200000001010a4d000102000000011000000000";
    /// Reply on arpt-a to "who-has 10.88.0.1 tell 10.77.0.10" (arp_ignore=0).
    const K_OTHER_PORT_REPLY: &str =
        "020000000110020000000101080600010800060400020200000001010a5800010200000001100a4d000a";
    /// "who-has 10.77.0.99 tell 10.77.0.1", sent three times one second apart, then FAILED.
    const K_SOLICIT: &str =
        "ffffffffffff020000000101080600010800060400010200000001010a4d00010000000000000a4d0063";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn pipeline() -> Pipeline {
        pipeline_with(|_| {})
    }

    fn pipeline_with(routes: impl FnOnce(&mut Fib)) -> Pipeline {
        let mut ports = PortTable::new();
        let a = vec![(ip("10.77.0.1"), 24), (ip("10.77.0.2"), 24)];
        ports.add("arpt-a", A_MAC, a, 1500).unwrap();
        ports
            .add("arpt-d", D_MAC, vec![(ip("10.88.0.1"), 24)], 1500)
            .unwrap();
        ports
            .add("bare0", MacAddr([2, 0, 0, 0, 3, 1]), vec![], 1500)
            .unwrap();
        let rules = Arc::new(CompiledRuleset::compile(&Ruleset::default(), 1));
        let mut fib = Fib::new(ports);
        routes(&mut fib);
        Pipeline::new(rules, fib, Default::default())
    }

    /// An ARP frame as the test host sends it, padded to 60 bytes like a NIC would.
    fn arp(op: u16, sha: MacAddr, sip: &str, tip: &str, dst: MacAddr) -> Vec<u8> {
        let repr = ArpRepr {
            operation: ArpOperation::from(op),
            source_hardware_addr: EthernetAddress(sha.0),
            source_protocol_addr: ip(sip),
            target_hardware_addr: EthernetAddress::UNSPECIFIED,
            target_protocol_addr: ip(tip),
        };
        let mut f = frame(dst, sha, &repr).data().to_vec();
        f.resize(60, 0);
        f
    }

    fn who_has(tip: &str, sip: &str) -> Vec<u8> {
        arp(1, HOST_MAC, sip, tip, MacAddr::BROADCAST)
    }

    fn rx(p: &mut Pipeline, port: PortId, frame: &[u8], now: u64) -> Vec<Emit> {
        let mut out = Vec::new();
        p.receive(port, PacketBuf::from_slice(frame), now, &mut out);
        out
    }

    /// The frames sent, as (port, bytes).
    fn sent(out: &[Emit]) -> Vec<(PortId, Vec<u8>)> {
        out.iter()
            .map(|e| match e {
                Emit::Tx { port, frame } => (*port, frame.data().to_vec()),
                Emit::Local { .. } => panic!("unexpected local delivery"),
            })
            .collect()
    }

    /// A UDP datagram from port A's side to 10.88.0.50, behind port D.
    fn udp_frame_to_d() -> Vec<u8> {
        let mut f = udp_frame("10.88.0.50", 7);
        f[26..30].copy_from_slice(&ip("10.77.0.10").octets());
        f[30..34].copy_from_slice(&ip("10.88.0.50").octets());
        let mut h = f[14..34].to_vec();
        h[10..12].copy_from_slice(&[0, 0]);
        let c = !crate::wire::checksum::data(&h);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        f[0..6].copy_from_slice(&A_MAC.0);
        f
    }

    /// A UDP datagram from a host behind port D, as a frame to the router.
    fn udp_frame(dst: &str, ident: u16) -> Vec<u8> {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&28u16.to_be_bytes());
        p[4..6].copy_from_slice(&ident.to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&ip("10.88.0.5").octets());
        p[16..20].copy_from_slice(&ip(dst).octets());
        let c = !crate::wire::checksum::data(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p[20..22].copy_from_slice(&5000u16.to_be_bytes());
        p[22..24].copy_from_slice(&9u16.to_be_bytes());
        p[24..26].copy_from_slice(&8u16.to_be_bytes());
        let mut f = Vec::new();
        f.extend_from_slice(&D_MAC.0);
        f.extend_from_slice(&[2, 0, 0, 0, 2, 5]);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&p);
        f
    }

    /// Checks a forwarded datagram's frame: addresses, ethertype, TTL, and its IP ID.
    fn forwarded_id(frame: &[u8], dst_mac: MacAddr) -> u16 {
        assert_eq!(&frame[0..6], &dst_mac.0);
        assert_eq!(&frame[6..12], &A_MAC.0);
        assert_eq!(&frame[12..14], &[0x08, 0x00]);
        assert_eq!(frame[14 + 8], 63, "TTL decremented once");
        u16::from_be_bytes([frame[18], frame[19]])
    }

    /// The seeds' arptables: 10.77.0.10 is accepted only from HOST_MAC; OUTPUT rewrites
    /// the target MAC of what the appliance sends on arpt-d and drops its requests there.
    fn with_arptables(p: &mut Pipeline, epoch: u64) {
        use crate::arptables::*;
        use crate::ruleset::{Iface, Ipv4Net};
        let host = Some((Ipv4Net::host(ip("10.77.0.10")), false));
        let mac = |inv| MacMatch {
            addr: HOST_MAC,
            mask: MacAddr::BROADCAST,
            inv,
        };
        let rule = |spec, target| ArpRule {
            spec,
            target: Some(target),
            ..ArpRule::default()
        };
        let mut t = ArpTable {
            epoch,
            ..ArpTable::default()
        };
        t.chain_mut("INPUT").unwrap().rules = vec![
            rule(
                ArpMatch {
                    src_ip: host,
                    src_mac: Some(mac(false)),
                    ..ArpMatch::default()
                },
                ArpTarget::Accept,
            ),
            rule(
                ArpMatch {
                    src_ip: host,
                    src_mac: Some(mac(true)),
                    ..ArpMatch::default()
                },
                ArpTarget::Drop,
            ),
        ];
        let on_d = || ArpMatch {
            out_iface: Some((Iface::new("arpt-d").unwrap(), false)),
            ..ArpMatch::default()
        };
        t.chain_mut("OUTPUT").unwrap().rules = vec![
            rule(
                ArpMatch {
                    opcode: Some(FieldMatch {
                        value: 1,
                        inv: false,
                    }),
                    ..on_d()
                },
                ArpTarget::Drop,
            ),
            rule(
                on_d(),
                ArpTarget::Mangle(ArpMangle {
                    dst_mac: Some(MacAddr([2, 0, 0, 0, 0xee, 0xee])),
                    ..ArpMangle::default()
                }),
            ),
        ];
        t.validate().unwrap();
        let rs = Ruleset {
            arp: Arc::new(t),
            ..Ruleset::default()
        };
        p.set_ruleset(Arc::new(CompiledRuleset::compile(&rs, 2 + epoch)));
    }

    #[test]
    fn arptables_input_drops_a_spoofed_sender_and_output_filters_what_is_sent() {
        let mut p = pipeline();
        with_arptables(&mut p, 0);
        // The real host asks: accepted, answered, learned.
        let out = rx(&mut p, A, &who_has("10.77.0.1", "10.77.0.10"), T0);
        assert_eq!(sent(&out), vec![(A, hex(K_REPLY))]);
        // A spoofer announces 10.77.0.10 at its MAC: dropped, the entry keeps HOST_MAC.
        let spoofer = MacAddr([2, 0, 0, 0, 6, 6]);
        let out = rx(
            &mut p,
            A,
            &arp(2, spoofer, "10.77.0.10", "10.77.0.1", A_MAC),
            T0 + 1,
        );
        assert!(out.is_empty());
        rx(
            &mut p,
            A,
            &arp(1, spoofer, "10.77.0.10", "10.77.0.1", MacAddr::BROADCAST),
            T0 + 1,
        );
        let e = p.neighbors().get(A, ip("10.77.0.10")).unwrap();
        assert_eq!(e.mac, Some(HOST_MAC));
        assert_eq!(p.arp_stats().filtered_in, 2);
        let counts = |p: &Pipeline| {
            p.arp_counters()
                .iter()
                .map(|c| (c.packets, c.bytes))
                .collect::<Vec<_>>()
        };
        assert_eq!(counts(&p), vec![(1, 28), (2, 56), (0, 0), (0, 0)]);

        // On arpt-d a request for us is answered with the target MAC rewritten (the
        // Ethernet header is not arptables' business)...
        let asker = MacAddr([2, 0, 0, 0, 2, 0x10]);
        let out = sent(&rx(
            &mut p,
            D,
            &arp(1, asker, "10.88.0.7", "10.88.0.1", MacAddr::BROADCAST),
            T0,
        ));
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0].1[0..6], &asker.0, "Ethernet destination kept");
        assert_eq!(
            &out[0].1[32..38],
            &[2, 0, 0, 0, 0xee, 0xee],
            "ARP target MAC"
        );
        // ...while a resolution request there is never sent (and its packet waits).
        let out = rx(&mut p, A, &udp_frame_to_d(), T0);
        assert!(sent(&out).is_empty());
        assert_eq!(p.arp_stats().filtered_out, 1);
        assert_eq!(counts(&p)[2..], [(1, 28), (1, 28)]);

        // Counters of rules still there carry over a new table; -Z (a new epoch) clears.
        with_arptables(&mut p, 0);
        assert_eq!(counts(&p)[..2], [(1, 28), (2, 56)]);
        with_arptables(&mut p, 1);
        assert!(counts(&p).iter().all(|&c| c == (0, 0)));
    }

    #[test]
    fn answers_requests_for_own_addresses_like_linux() {
        let mut p = pipeline();
        let out = rx(&mut p, A, &who_has("10.77.0.1", "10.77.0.10"), T0);
        assert_eq!(sent(&out), vec![(A, hex(K_REPLY))]);
        // The requester is learned STALE (it will probably talk to us).
        let e = p.neighbors().get(A, ip("10.77.0.10")).unwrap();
        assert_eq!((e.state, e.mac), (NeighState::Stale, Some(HOST_MAC)));
        // A probe (duplicate address detection) is answered, and teaches nothing.
        let out = rx(&mut p, A, &who_has("10.77.0.1", "0.0.0.0"), T0);
        assert_eq!(sent(&out), vec![(A, hex(K_PROBE_REPLY))]);
        assert!(p.neighbors().get(A, ip("0.0.0.0")).is_none());
        // Another port's address is answered on the port asked (arp_ignore=0).
        let out = rx(&mut p, A, &who_has("10.88.0.1", "10.77.0.10"), T0);
        assert_eq!(sent(&out), vec![(A, hex(K_OTHER_PORT_REPLY))]);
        // A request unicast to the port's MAC (a neighbour re-validating us) too.
        let unicast = arp(1, HOST_MAC, "10.77.0.10", "10.77.0.2", A_MAC);
        let out = sent(&rx(&mut p, A, &unicast, T0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            &out[0].1[28..32],
            &[10, 77, 0, 2],
            "answers as the address asked"
        );
        let s = *p.arp_stats();
        assert_eq!((s.requests_received, s.requests_answered), (4, 4));
        assert_eq!((s.malformed, s.ignored), (0, 0));
        assert_eq!(
            p.stats().drops[DropReason::NotIpv4],
            0,
            "ARP is no longer counted as foreign"
        );
    }

    #[test]
    fn unresolved_next_hop_is_solicited_and_released_in_order() {
        let mut p = pipeline();
        let out = rx(&mut p, D, &udp_frame("10.77.0.99", 1), T0);
        assert_eq!(
            sent(&out),
            vec![(A, hex(K_SOLICIT))],
            "the request Linux sends"
        );
        let r = ArpRepr::parse(&ArpPacket::new_checked(&sent(&out)[0].1[14..]).unwrap()).unwrap();
        assert_eq!(r.operation, ArpOperation::Request);
        assert_eq!(r.source_hardware_addr, EthernetAddress(A_MAC.0));
        assert_eq!(r.source_protocol_addr, ip("10.77.0.1"));
        assert_eq!(r.target_hardware_addr, EthernetAddress::UNSPECIFIED);
        assert_eq!(r.target_protocol_addr, ip("10.77.0.99"));
        // More packets for the same next hop wait without another request.
        assert!(rx(&mut p, D, &udp_frame("10.77.0.99", 2), T0 + 1).is_empty());
        assert!(rx(&mut p, D, &udp_frame("10.77.0.99", 3), T0 + 2).is_empty());
        let e = p.neighbors().get(A, ip("10.77.0.99")).unwrap();
        assert_eq!((e.state, e.queued()), (NeighState::Incomplete, 3));
        // The reply releases them in order, to its MAC.
        let reply = arp(2, GW_MAC, "10.77.0.99", "10.77.0.1", A_MAC);
        let out = sent(&rx(&mut p, A, &reply, T0 + 3));
        let ids: Vec<u16> = out
            .iter()
            .map(|(port, f)| {
                assert_eq!(*port, A);
                forwarded_id(f, GW_MAC)
            })
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!(
            p.neighbors().get(A, ip("10.77.0.99")).unwrap().state,
            NeighState::Reachable
        );
        // Now resolved: the next packet goes straight out.
        let out = sent(&rx(&mut p, D, &udp_frame("10.77.0.99", 4), T0 + 4));
        assert_eq!(out.len(), 1);
        assert_eq!(forwarded_id(&out[0].1, GW_MAC), 4);
        let s = *p.arp_stats();
        assert_eq!((s.requests_sent, s.replies_received, s.queued), (1, 1, 3));
        assert_eq!(p.stats().drops[DropReason::NoNeighbor], 0);
        assert_eq!(p.stats().forwarded, 4);
    }

    #[test]
    fn a_request_from_the_awaited_host_releases_its_packets_then_is_answered() {
        let mut p = pipeline();
        rx(&mut p, D, &udp_frame("10.77.0.10", 1), T0);
        let out = sent(&rx(&mut p, A, &who_has("10.77.0.1", "10.77.0.10"), T0 + 1));
        assert_eq!(out.len(), 2);
        assert_eq!(forwarded_id(&out[0].1, HOST_MAC), 1);
        assert_eq!(out[1], (A, hex(K_REPLY)));
        let e = p.neighbors().get(A, ip("10.77.0.10")).unwrap();
        assert_eq!(e.state, NeighState::Stale, "a request does not confirm");
    }

    #[test]
    fn a_port_without_addresses_solicits_from_the_first_address() {
        let mut p = pipeline_with(|fib| {
            let net = crate::route::Prefix::new(ip("10.99.0.0"), 24).unwrap();
            fib.add_static(net, None, Some(BARE), 0, crate::route::MAIN_TABLE)
                .unwrap();
        });
        let out = sent(&rx(&mut p, D, &udp_frame("10.99.0.7", 1), T0));
        let bare_mac = MacAddr([2, 0, 0, 0, 3, 1]);
        let expected = request(bare_mac, ip("10.77.0.1"), ip("10.99.0.7"), None);
        assert_eq!(out, vec![(BARE, expected.data().to_vec())]);
    }

    #[test]
    fn queue_overflow_drops_the_oldest_and_counts() {
        let mut p = pipeline();
        for id in 1..=5 {
            rx(&mut p, D, &udp_frame("10.77.0.99", id), T0);
        }
        assert_eq!(p.stats().drops[DropReason::NoNeighbor], 2);
        assert_eq!(p.neighbors().stats().queue_overflow_drops, 2);
        let reply = arp(2, GW_MAC, "10.77.0.99", "10.77.0.1", A_MAC);
        let ids: Vec<u16> = sent(&rx(&mut p, A, &reply, T0 + 1))
            .iter()
            .map(|(_, f)| forwarded_id(f, GW_MAC))
            .collect();
        assert_eq!(ids, vec![3, 4, 5]);
    }

    #[test]
    fn unanswered_requests_are_retried_then_the_queue_dropped() {
        let mut p = pipeline();
        rx(&mut p, D, &udp_frame("10.77.0.99", 1), T0);
        rx(&mut p, D, &udp_frame("10.77.0.99", 2), T0);
        let mut out = Vec::new();
        p.tick(T0 + SEC / 2, &mut out);
        assert!(out.is_empty(), "not before retrans_time");
        // Linux: three requests in all, one second apart (mcast_solicit=3), then FAILED.
        for n in 1..=2 {
            p.tick(T0 + n * SEC, &mut out);
            assert_eq!(sent(&out), vec![(A, hex(K_SOLICIT))]);
            out.clear();
        }
        p.tick(T0 + 3 * SEC, &mut out);
        assert!(out.is_empty());
        assert!(p.neighbors().get(A, ip("10.77.0.99")).is_none());
        assert_eq!(p.stats().drops[DropReason::NoNeighbor], 2);
        assert_eq!(p.neighbors().stats().unresolved_drops, 2);
        assert_eq!(p.arp_stats().requests_sent, 3);
        // A late reply creates nothing (arp_accept=0); a new packet starts over.
        let reply = arp(2, GW_MAC, "10.77.0.99", "10.77.0.1", A_MAC);
        assert!(rx(&mut p, A, &reply, T0 + 4 * SEC).is_empty());
        assert!(p.neighbors().get(A, ip("10.77.0.99")).is_none());
        let out = rx(&mut p, D, &udp_frame("10.77.0.99", 3), T0 + 5 * SEC);
        assert_eq!(sent(&out), vec![(A, hex(K_SOLICIT))]);
    }

    #[test]
    fn used_stale_neighbour_is_reprobed_by_unicast() {
        let mut p = pipeline();
        rx(&mut p, A, &who_has("10.77.0.1", "10.77.0.10"), T0);
        // STALE still forwards, to the MAC it has.
        let out = sent(&rx(&mut p, D, &udp_frame("10.77.0.10", 1), T0));
        assert_eq!(forwarded_id(&out[0].1, HOST_MAC), 1);
        let mut out = Vec::new();
        p.tick(T0 + SEC, &mut out);
        let probe = request(A_MAC, ip("10.77.0.1"), ip("10.77.0.10"), Some(HOST_MAC));
        assert_eq!(sent(&out), vec![(A, probe.data().to_vec())]);
        assert_eq!(&probe.data()[0..6], &HOST_MAC.0, "unicast to the known MAC");
        assert_eq!(
            &probe.data()[32..38],
            &[0; 6],
            "target MAC zero, as arp_solicit"
        );
        // The unicast reply confirms it.
        let reply = arp(2, HOST_MAC, "10.77.0.10", "10.77.0.1", A_MAC);
        assert!(rx(&mut p, A, &reply, T0 + SEC + 1).is_empty());
        let e = p.neighbors().get(A, ip("10.77.0.10")).unwrap();
        assert_eq!(e.state, NeighState::Reachable);
    }

    #[test]
    fn announcements_and_replies_update_known_neighbours_only() {
        let mut p = pipeline();
        let moved = MacAddr([2, 0, 0, 0, 1, 0x11]);
        // Unrequested: a reply, a gratuitous request, a request for another host.
        rx(
            &mut p,
            A,
            &arp(2, HOST_MAC, "10.77.0.10", "10.77.0.1", A_MAC),
            T0,
        );
        rx(&mut p, A, &who_has("10.77.0.10", "10.77.0.10"), T0);
        let out = rx(&mut p, A, &who_has("10.77.0.200", "10.77.0.10"), T0);
        assert!(out.is_empty(), "no proxy ARP");
        assert!(p.neighbors().is_empty());
        // Known (it asked for us), then announced at a new MAC: updated, STALE.
        rx(&mut p, A, &who_has("10.77.0.1", "10.77.0.10"), T0);
        rx(
            &mut p,
            A,
            &arp(1, moved, "10.77.0.10", "10.77.0.10", MacAddr::BROADCAST),
            T0 + 1,
        );
        let e = p.neighbors().get(A, ip("10.77.0.10")).unwrap();
        assert_eq!((e.state, e.mac), (NeighState::Stale, Some(moved)));
        // A broadcast reply resolves but does not confirm.
        rx(&mut p, D, &udp_frame("10.77.0.98", 1), T0 + 2);
        let bcast_reply = arp(2, GW_MAC, "10.77.0.98", "10.77.0.1", MacAddr::BROADCAST);
        let out = sent(&rx(&mut p, A, &bcast_reply, T0 + 3));
        assert_eq!(forwarded_id(&out[0].1, GW_MAC), 1);
        let e = p.neighbors().get(A, ip("10.77.0.98")).unwrap();
        assert_eq!(e.state, NeighState::Stale);
    }

    #[test]
    fn gratuitous_arp_for_every_address_of_the_port() {
        let mut p = pipeline();
        let mut out = Vec::new();
        // The port's IPv6 advertisements come with them (pipeline::ndisc's tests).
        let arp_only = |out: &[Emit]| -> Vec<(PortId, Vec<u8>)> {
            sent(out)
                .into_iter()
                .filter(|(_, f)| f[12..14] == [0x08, 0x06])
                .collect()
        };
        p.announce(A, &mut out);
        assert_eq!(arp_only(&out), vec![(A, hex(K_GARP_1)), (A, hex(K_GARP_2))]);
        out.clear();
        p.announce(BARE, &mut out);
        p.announce(PortId(9), &mut out);
        assert!(arp_only(&out).is_empty());
        assert_eq!(p.arp_stats().announcements_sent, 2);
    }

    #[test]
    fn static_neighbours_resolve_without_arp() {
        let mut p = pipeline();
        p.add_neighbor(A, ip("10.77.0.99"), GW_MAC);
        let out = sent(&rx(&mut p, D, &udp_frame("10.77.0.99", 7), T0));
        assert_eq!(out.len(), 1);
        assert_eq!(forwarded_id(&out[0].1, GW_MAC), 7);
        // ARP cannot move it.
        let other = MacAddr([2, 0, 0, 0, 1, 0x77]);
        rx(
            &mut p,
            A,
            &arp(2, other, "10.77.0.99", "10.77.0.1", A_MAC),
            T0,
        );
        let e = p.neighbors().get(A, ip("10.77.0.99")).unwrap();
        assert_eq!((e.state, e.mac), (NeighState::Permanent, Some(GW_MAC)));
        assert_eq!(p.arp_stats().requests_sent, 0);
    }

    #[test]
    fn link_down_forgets_learned_neighbours() {
        let mut p = pipeline();
        p.add_neighbor(A, ip("10.77.0.50"), GW_MAC);
        rx(&mut p, A, &who_has("10.77.0.1", "10.77.0.10"), T0);
        rx(&mut p, D, &udp_frame("10.77.0.99", 1), T0);
        rx(&mut p, D, &who_has("10.88.0.1", "10.88.0.5"), T0);
        p.link_down(A);
        assert!(p.neighbors().get(A, ip("10.77.0.10")).is_none());
        assert!(p.neighbors().get(A, ip("10.77.0.99")).is_none());
        assert!(p.neighbors().get(A, ip("10.77.0.50")).is_some());
        assert!(p.neighbors().get(D, ip("10.88.0.5")).is_some());
        assert_eq!(
            p.stats().drops[DropReason::NoNeighbor],
            1,
            "the waiting packet"
        );
    }

    #[test]
    fn broadcast_next_hops_are_not_resolved() {
        let mut p = pipeline();
        let mut out = Vec::new();
        let mut pkt = udp_frame("10.77.0.255", 1)[14..].to_vec();
        pkt[12..16].copy_from_slice(&ip("10.77.0.1").octets());
        pkt[10..12].copy_from_slice(&[0, 0]);
        let c = !crate::wire::checksum::data(&pkt[..20]);
        pkt[10..12].copy_from_slice(&c.to_be_bytes());
        p.output(PacketBuf::from_slice(&pkt), T0, &mut out);
        assert!(out.is_empty());
        assert_eq!(p.stats().drops[DropReason::NoNeighbor], 1);
        assert!(p.neighbors().is_empty());
    }

    #[test]
    fn malformed_and_foreign_arp_is_counted_and_dropped() {
        let base = who_has("10.77.0.1", "10.77.0.10");
        let with = |at: usize, bytes: &[u8]| {
            let mut f = base.clone();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            f
        };
        let malformed = [
            base[..41].to_vec(),
            with(14, &[0, 6]),       // htype IEEE 802
            with(16, &[0x86, 0xdd]), // ptype IPv6
            with(18, &[8]),          // hlen
            with(19, &[16]),         // plen
            with(20, &[0, 3]),       // RARP request
            with(22, &[1, 0, 0x5e, 0, 0, 1]),
            with(22, &[0; 6]),
            with(28, &[224, 0, 0, 1]),
            with(28, &[255, 255, 255, 255]),
            with(28, &[10, 77, 0, 255]), // the subnet's broadcast
            with(28, &[127, 0, 0, 1]),
            with(28, &[0, 1, 2, 3]),
            with(38, &[224, 0, 0, 5]),
            with(38, &[127, 0, 0, 1]),
            arp(2, HOST_MAC, "0.0.0.0", "10.77.0.1", A_MAC), // a reply from nobody
        ];
        let ignored = [
            who_has("10.77.0.200", "10.77.0.10"),
            who_has("10.77.0.200", "0.0.0.0"),
            who_has("10.77.0.1", "10.77.0.2"), // claims our address
            with(0, &[2, 0, 0, 0, 9, 9]),      // unicast to another station
            with(22, &A_MAC.0),                // our own MAC
            {
                let mut f = base[..12].to_vec();
                f.extend_from_slice(&[0x81, 0, 0, 5]);
                f.extend_from_slice(&base[12..]);
                f
            },
        ];
        let mut p = pipeline();
        for f in &malformed {
            assert!(rx(&mut p, A, f, T0).is_empty(), "{f:02x?}");
        }
        for f in &ignored {
            assert!(rx(&mut p, A, f, T0).is_empty(), "{f:02x?}");
        }
        assert!(
            rx(&mut p, BARE, &base, T0).is_empty(),
            "a port without addresses"
        );
        let s = *p.arp_stats();
        assert_eq!(s.malformed, malformed.len() as u64);
        assert_eq!(s.ignored, ignored.len() as u64 + 1);
        assert_eq!(s.requests_answered, 0);
        assert!(p.neighbors().is_empty());
    }

    proptest! {
        #[test]
        fn fuzzed_arp_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..64),
            flips in proptest::collection::vec((14usize..60, any::<u8>()), 0..6),
            port in 0u16..4,
        ) {
            let mut p = pipeline();
            let mut random = vec![0xff; 12];
            random.extend_from_slice(&[0x08, 0x06]);
            random.extend_from_slice(&body);
            let mut mutated = who_has("10.77.0.1", "10.77.0.10");
            for (at, b) in flips {
                mutated[at] = b;
            }
            for f in [random, mutated] {
                let out = rx(&mut p, PortId(port), &f, T0);
                for (_, bytes) in sent(&out) {
                    // Only ever an answer from the port, to the sender.
                    prop_assert_eq!(bytes.len(), FRAME_LEN);
                    let mac = p.fib().ports().get(PortId(port)).map(|i| i.mac);
                    prop_assert_eq!(&bytes[6..12], &mac.unwrap_or(MacAddr::ZERO).0[..]);
                    prop_assert_eq!(&bytes[20..22], &[0, 2]);
                    prop_assert_eq!(&bytes[0..6], &f[22..28]);
                }
            }
        }
    }
}
