//! Neighbour discovery (RFC 4861) on the appliance's ports, as Linux's `ndisc.c` does it with
//! its default sysctls:
//!
//! - Solicitations for the port's own addresses (unicast, or to the address's solicited-node
//!   group) are answered from the target address, unicast to the solicitor, with S set; a
//!   solicitation sent to a group gets O and the target link-layer address option, a unicast
//!   one (a neighbour's reachability probe) neither (`ndisc_recv_ns`: override and the option
//!   only when `inc`). The solicitor's link-layer address, when given, is learned STALE.
//! - Duplicate address detection probes (from ::) for our addresses are answered to ff02::1
//!   with S clear and O set, and teach nothing.
//! - Advertisements update known entries (RFC 4861 7.2.5); unknown ones create nothing
//!   (`accept_untracked_na` 0); one for our own address is ignored.
//! - Validity checks of RFC 4861 7.1 as `ndisc_rcv`: hop limit 255, ICMPv6 checksum, code 0,
//!   at least 24 bytes, no multicast target, options of non-zero length, link-layer address
//!   options of the Ethernet length; a solicitation from :: must go to a solicited-node group
//!   and carry no source link-layer address; a solicited advertisement must not go to a group.
//!   What fails is dropped under `ndisc_invalid`.
//! - Next hops are resolved with multicast solicitations to the solicited-node group (and
//!   unicast probes in PROBE), with the source link-layer address option, from the source of
//!   the newest waiting packet when it is an address of the port, else from the port's
//!   link-local address (`ndisc_solicit`, `ndisc_send_ns`); the timers are the neighbour
//!   cache's (`nd`).
//! - A port with configured IPv6 addresses coming up sends an unsolicited advertisement (O
//!   set, to ff02::1) for each of its addresses, link-local included.
//!
//! Differences from Linux: the R flag is clear (nfdp does not forward IPv6 yet: Linux with
//! `forwarding` 0); Linux sends the unsolicited advertisements only with `ndisc_notify` 1 and
//! runs duplicate address detection on its own addresses instead, which nfdp does not;
//! messages behind extension headers are not handled.

use super::ipv6::{icmpv6_packet, is_solicited_node, solicited_node, Received, ALL_NODES};
use super::{DropReason, Emit, Flow, Pipeline, Stop};
use crate::nd::Advert;
use crate::port::{MacAddr, PacketBuf, PortId};
use crate::wire::icmpv6::{na_flags, nd_option_type};
use crate::wire::{EthernetAddress, Icmpv6Packet, Icmpv6Repr, NdOption};
use std::net::Ipv6Addr;

/// The hop limit of every neighbour discovery message, and the only one accepted.
pub const ND_HOP_LIMIT: u8 = 255;

/// Neighbour discovery counters of one pipeline (packets lost for want of a neighbour are
/// in the `no_neighbor` drops, by cause in `NdTable::stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NdiscStats {
    /// Valid solicitations received (DAD probes included).
    pub solicitations_received: u64,
    /// Advertisements sent in answer to solicitations for our addresses (DAD included).
    pub solicitations_answered: u64,
    /// Valid advertisements received.
    pub adverts_received: u64,
    /// Solicitations sent to resolve or probe next hops.
    pub solicitations_sent: u64,
    /// Unsolicited advertisements sent by `announce`.
    pub announcements_sent: u64,
    /// Dropped by the validity checks (also in the `ndisc_invalid` drops).
    pub invalid: u64,
    /// Valid but not acted on: targets not ours, advertisements of our own addresses, a
    /// group solicitation without the sender's address from an unknown neighbour.
    pub ignored: u64,
    /// Packets put in a neighbour queue on a miss.
    pub queued: u64,
}

/// A validated solicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Solicitation {
    pub target: Ipv6Addr,
    /// The source link-layer address option.
    pub source_mac: Option<MacAddr>,
    /// From the unspecified address: duplicate address detection.
    pub dad: bool,
}

/// A validated advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advertisement {
    pub target: Ipv6Addr,
    pub flags: u8,
    pub target_mac: Option<MacAddr>,
}

/// Why a message failed the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid(pub &'static str);

/// `ndisc_rcv`'s common checks and the message: its ICMPv6 view after the hop limit,
/// checksum and code passed.
fn common(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    icmp: &[u8],
) -> Result<Icmpv6Repr<'_>, Invalid> {
    if hop_limit != ND_HOP_LIMIT {
        return Err(Invalid("hop limit is not 255"));
    }
    let packet = Icmpv6Packet::new_checked(icmp).map_err(|_| Invalid("truncated"))?;
    if !packet.verify_checksum(src, dst) {
        return Err(Invalid("bad checksum"));
    }
    if packet.msg_code() != 0 {
        return Err(Invalid("code is not 0"));
    }
    // Repr::parse checks the length, the target and the options' lengths.
    Icmpv6Repr::parse(&Icmpv6Packet::new_unchecked(icmp)).map_err(|_| Invalid("malformed"))
}

/// The link-layer address option of `kind` (source or target): the first one, as
/// `ndisc_parse_options` keeps it; one of another length than Ethernet's is invalid.
fn link_layer_option(options: &[u8], kind: u8) -> Result<Option<MacAddr>, Invalid> {
    for opt in crate::wire::NdOptionsIter::new(options) {
        match opt.map_err(|_| Invalid("malformed option"))? {
            NdOption::SourceLinkLayerAddr(a) if kind == nd_option_type::SOURCE_LL_ADDR => {
                return Ok(Some(MacAddr(a.0)))
            }
            NdOption::TargetLinkLayerAddr(a) if kind == nd_option_type::TARGET_LL_ADDR => {
                return Ok(Some(MacAddr(a.0)))
            }
            NdOption::Other { option_type, .. } if option_type == kind => {
                return Err(Invalid("bad link-layer address length"))
            }
            _ => {}
        }
    }
    Ok(None)
}

/// RFC 4861 7.1.1 as `ndisc_rcv` and `ndisc_recv_ns` check a solicitation.
pub fn check_solicitation(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    icmp: &[u8],
) -> Result<Solicitation, Invalid> {
    let Icmpv6Repr::NeighborSolicit { target, options } = common(src, dst, hop_limit, icmp)? else {
        return Err(Invalid("not a solicitation"));
    };
    let dad = src.is_unspecified();
    if dad && !is_solicited_node(dst) {
        return Err(Invalid("DAD not to a solicited-node group"));
    }
    let source_mac = link_layer_option(options, nd_option_type::SOURCE_LL_ADDR)?;
    if dad && source_mac.is_some() {
        return Err(Invalid("DAD with a source link-layer address"));
    }
    Ok(Solicitation {
        target,
        source_mac,
        dad,
    })
}

/// RFC 4861 7.1.2 as `ndisc_rcv` and `ndisc_recv_na` check an advertisement.
pub fn check_advert(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    icmp: &[u8],
) -> Result<Advertisement, Invalid> {
    let Icmpv6Repr::NeighborAdvert {
        flags,
        target,
        options,
    } = common(src, dst, hop_limit, icmp)?
    else {
        return Err(Invalid("not an advertisement"));
    };
    if dst.is_multicast() && flags & na_flags::SOLICITED != 0 {
        return Err(Invalid("solicited advertisement to a group"));
    }
    let target_mac = link_layer_option(options, nd_option_type::TARGET_LL_ADDR)?;
    Ok(Advertisement {
        target,
        flags,
        target_mac,
    })
}

/// An advertisement of `target` at `mac` from `target` to `dst`.
pub fn advert(
    mac: MacAddr,
    target: Ipv6Addr,
    dst: Ipv6Addr,
    flags: u8,
    with_option: bool,
) -> PacketBuf {
    let mut opt = [0u8; 8];
    let options: &[u8] = if with_option {
        // Cannot fail: 8 bytes for an 8-byte option.
        let _ = NdOption::TargetLinkLayerAddr(EthernetAddress(mac.0)).emit(&mut opt);
        &opt
    } else {
        &[]
    };
    // R: nfdp forwards IPv6 (Linux sets it from the port's `forwarding`).
    let na = Icmpv6Repr::NeighborAdvert {
        flags: flags | na_flags::ROUTER,
        target,
        options,
    };
    icmpv6_packet(target, dst, ND_HOP_LIMIT, 0, &na)
}

/// A solicitation for `target` from `src` at `mac`: to the target's solicited-node group,
/// or to the target itself (`unicast`, a reachability probe).
pub fn solicitation(mac: MacAddr, src: Ipv6Addr, target: Ipv6Addr, unicast: bool) -> PacketBuf {
    let mut opt = [0u8; 8];
    let _ = NdOption::SourceLinkLayerAddr(EthernetAddress(mac.0)).emit(&mut opt);
    let ns = Icmpv6Repr::NeighborSolicit {
        target,
        options: &opt,
    };
    let dst = if unicast {
        target
    } else {
        solicited_node(target)
    };
    icmpv6_packet(src, dst, ND_HOP_LIMIT, 0, &ns)
}

/// The source of a solicitation on port `p` (`ndisc_solicit`): that of the waiting IPv6
/// packet `waiting` when it is one of the port's addresses, else the port's link-local
/// address (`ndisc_send_ns` without a source).
fn solicit_source(p: &crate::port::PortInfo, waiting: Option<&[u8]>) -> Option<Ipv6Addr> {
    let from_packet = waiting
        .and_then(|b| crate::wire::Ipv6Packet::new_checked(b).ok())
        .map(|ip| ip.src_addr())
        .filter(|&a| p.has_ipv6(a));
    from_packet.or_else(|| p.link_local())
}

impl Pipeline {
    /// A received solicitation (its IPv6 checks passed in `ipv6_in`).
    pub(super) fn ndisc_solicitation_in(&mut self, rx: &Received, out: &mut Vec<Emit>) -> Flow {
        let (src, dst) = (rx.ip.src_addr(), rx.ip.dst_addr());
        let ns = match check_solicitation(src, dst, rx.ip.hop_limit(), rx.icmp) {
            Ok(ns) => ns,
            Err(_) => {
                self.ndisc.invalid += 1;
                return Err(Stop::Drop(DropReason::NdiscInvalid));
            }
        };
        self.ndisc.solicitations_received += 1;
        let ports = self.fib.ports();
        let ours = ports.get(rx.port).is_some_and(|p| p.has_ipv6(ns.target));
        // Our own solicitation looped back, or a host using our address: neither answered
        // nor learned (as ARP's sender check).
        let from_us = ports.ipv6_owner(src).is_some();
        if !ours || from_us {
            self.ndisc.ignored += 1;
            return Err(Stop::Held);
        }
        if ns.dad {
            // Someone wants our address: tell everyone it is taken.
            self.ndisc.solicitations_answered += 1;
            let na = advert(rx.port_mac, ns.target, ALL_NODES, na_flags::OVERRIDE, true);
            self.send6(na, Some(rx.port), out);
            return Err(Stop::Held);
        }
        match ns.source_mac {
            Some(mac) => {
                // What waited for the solicitor goes first (neigh_update before the answer).
                let waiting = self.nd.learn_solicitation(rx.port, src, mac, self.now_ns);
                for buf in waiting {
                    let f = self.ethernet_out6(buf, rx.port, mac);
                    out.push(f);
                }
            }
            // Linux answers a group solicitation without the sender's address only when it
            // already knows the sender (`__neigh_lookup` does not create the entry).
            None if rx.to_group && self.nd.get(rx.port, src).is_none() => {
                self.ndisc.ignored += 1;
                return Err(Stop::Held);
            }
            None => {}
        }
        // `inc` in ndisc_recv_ns: asked at a group.
        let inc = dst.is_multicast();
        let mut flags = na_flags::SOLICITED;
        if inc {
            flags |= na_flags::OVERRIDE;
        }
        self.ndisc.solicitations_answered += 1;
        let na = advert(rx.port_mac, ns.target, src, flags, inc);
        self.send6(na, Some(rx.port), out);
        Err(Stop::Held)
    }

    /// A received advertisement.
    pub(super) fn ndisc_advert_in(&mut self, rx: &Received, out: &mut Vec<Emit>) -> Flow {
        let (src, dst) = (rx.ip.src_addr(), rx.ip.dst_addr());
        let na = match check_advert(src, dst, rx.ip.hop_limit(), rx.icmp) {
            Ok(na) => na,
            Err(_) => {
                self.ndisc.invalid += 1;
                return Err(Stop::Drop(DropReason::NdiscInvalid));
            }
        };
        self.ndisc.adverts_received += 1;
        let ours = self
            .fib
            .ports()
            .get(rx.port)
            .is_some_and(|p| p.has_ipv6(na.target));
        if ours {
            self.ndisc.ignored += 1;
            return Err(Stop::Held);
        }
        let advert = Advert {
            mac: na.target_mac,
            solicited: na.flags & na_flags::SOLICITED != 0,
            override_: na.flags & na_flags::OVERRIDE != 0,
        };
        let waiting = self
            .nd
            .learn_advert(rx.port, na.target, advert, self.now_ns);
        if let Some(mac) = self.nd.get(rx.port, na.target).and_then(|e| e.mac) {
            for buf in waiting {
                let f = self.ethernet_out6(buf, rx.port, mac);
                out.push(f);
            }
        }
        Err(Stop::Held)
    }

    /// `transmit6` found no neighbour: the packet waits, and a new entry is solicited.
    pub(super) fn ndisc_miss(
        &mut self,
        mut buf: PacketBuf,
        port: PortId,
        next_hop: Ipv6Addr,
        out: &mut Vec<Emit>,
    ) {
        let Some((mac, Some(src))) = self
            .fib
            .ports()
            .get(port)
            .map(|p| (p.mac, solicit_source(p, Some(buf.data()))))
        else {
            return self.count_drop(DropReason::NoNeighbor, 1);
        };
        if next_hop.is_unspecified() || next_hop.is_loopback() {
            return self.count_drop(DropReason::NoNeighbor, 1);
        }
        self.ndisc.queued += 1;
        // It may wait for seconds: off the rx mempool.
        buf.detach();
        let q = self.nd.enqueue(port, next_hop, buf, self.now_ns);
        if q.dropped.is_some() {
            self.count_drop(DropReason::NoNeighbor, 1);
        }
        if q.solicit {
            self.ndisc.solicitations_sent += 1;
            let ns = solicitation(mac, src, next_hop, false);
            self.send6(ns, Some(port), out);
        }
    }

    /// The IPv6 side of `tick`: solicitation retries, probes, and the packets of
    /// addresses that never resolved.
    pub(super) fn ndisc_tick(&mut self, now_ns: u64, out: &mut Vec<Emit>) {
        let t = self.nd.tick(now_ns);
        self.count_drop(DropReason::NoNeighbor, t.dropped.len() as u64);
        for (port, target, to) in t.solicit {
            let waiting = self
                .nd
                .get(port, target)
                .and_then(|e| e.newest_queued())
                .map(|b| b.data());
            let Some((mac, Some(src))) = self
                .fib
                .ports()
                .get(port)
                .map(|p| (p.mac, solicit_source(p, waiting)))
            else {
                continue;
            };
            self.ndisc.solicitations_sent += 1;
            let ns = solicitation(mac, src, target, to.is_some());
            match to {
                Some(dst_mac) => out.push(self.ethernet_out6(ns, port, dst_mac)),
                None => self.send6(ns, Some(port), out),
            }
        }
    }

    /// Unsolicited advertisements (O set, to ff02::1) for every IPv6 address of `port`,
    /// when it has configured ones: a port of an IPv4-only config announces on link-up
    /// what it did before IPv6 (Linux sends none unless `ndisc_notify` is 1).
    pub(super) fn ndisc_announce(&mut self, port: PortId, out: &mut Vec<Emit>) {
        let Some(p) = self
            .fib
            .ports()
            .get(port)
            .filter(|p| !p.addresses6.is_empty())
        else {
            return;
        };
        let mac = p.mac;
        let addrs: Vec<Ipv6Addr> = p.ipv6_addresses().collect();
        for a in addrs {
            self.ndisc.announcements_sent += 1;
            let na = advert(mac, a, ALL_NODES, na_flags::OVERRIDE, true);
            self.send6(na, Some(port), out);
        }
    }

    /// The IPv6 neighbour cache, for `ip -6 neigh`-style listings and its drop counters.
    pub fn nd_neighbors(&self) -> &crate::nd::NdTable<PacketBuf> {
        &self.nd
    }

    pub fn ndisc_stats(&self) -> &NdiscStats {
        &self.ndisc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nd::NudState;
    use crate::pipeline::CompiledRuleset;
    use crate::port::PortTable;
    use crate::route::Fib;
    use crate::ruleset::Ruleset;
    use crate::wire::Ipv6Packet;
    use std::sync::Arc;

    const SEC: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SEC;
    const A: PortId = PortId(0);
    const D: PortId = PortId(1);
    const SMALL: PortId = PortId(2);
    const BARE6: PortId = PortId(3);
    const A_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
    const HOST_MAC: MacAddr = MacAddr([2, 0, 0, 0, 1, 0x10]);

    // Captured from Linux 6.18 in network namespaces: a router namespace with veth nd6r
    // (02:00:00:00:01:01, 2001:db8:1::1/64, fe80::ff:fe00:101, forwarding 0), a host
    // 02:00:00:00:01:10 (2001:db8:1::10, fe80::ff:fe00:110) on the far end sending with
    // AF_PACKET. The echo reply's flow label (Linux's auto_flowlabels hash) is zeroed. The
    // advertisements have R set (and their checksums adjusted): Linux sets it with
    // forwarding 1, and nfdp forwards IPv6.
    /// Answer to a solicitation for 2001:db8:1::1 sent to its solicited-node group: S and O,
    /// with the target link-layer address.
    const K_MCAST_NA: &str = "02000000011002000000010186dd6000000000203aff20010db800010000000000000000000120010db800010000000000000000001088000962e000000020010db80001000000000000000000010201020000000101";
    /// Answer to a unicast solicitation (with or without the source's address): S only, no
    /// option.
    const K_UCAST_NA: &str = "02000000011002000000010186dd6000000000183aff20010db800010000000000000000000120010db800010000000000000000001088002e6cc000000020010db8000100000000000000000001";
    /// Answer to a DAD probe (from ::) for 2001:db8:1::1: to ff02::1, O only.
    const K_DAD_NA: &str = "33330000000102000000010186dd6000000000203aff20010db8000100000000000000000001ff02000000000000000000000000000188007828a000000020010db80001000000000000000000010201020000000101";
    /// Answer to a group solicitation for the link-local address.
    const K_LL_NA: &str = "02000000011002000000010186dd6000000000203afffe80000000000000000000fffe000101fe80000000000000000000fffe0001108800970de0000000fe80000000000000000000fffe0001010201020000000101";
    /// Echo replies to 2001:db8:1::1 and fe80::ff:fe00:101 (ident 0x1234, seq 1, "abcdefgh").
    const K_ECHO: &str = "02000000011002000000010186dd6000000000103a4020010db800010000000000000000000120010db800010000000000000000001081007f65123400016162636465666768";
    const K_ECHO_LL: &str = "02000000011002000000010186dd6000000000103a40fe80000000000000000000fffe000101fe80000000000000000000fffe0001108100ddd7123400016162636465666768";

    /// The router's solicitation for 2001:db8:1::10 when it sent it a datagram: to the
    /// solicited-node group, from its global address, with its link-layer address; three,
    /// one second apart, then FAILED.
    const K_SOLICIT: &str = "3333ff00001002000000010186dd6000000000203aff20010db8000100000000000000000001ff0200000000000000000001ff00001087001b090000000020010db80001000000000000000000100101020000000101";

    /// Its reachability probe of 2001:db8:1::10 (STALE, used, 5 s of DELAY, PROBE): unicast
    /// to the known MAC, from the link-local address (no packet waits), three 1 s apart.
    const K_PROBE: &str = "02000000011002000000010186dd6000000000203afffe80000000000000000000fffe00010120010db800010000000000000000001087001a8d0000000020010db80001000000000000000000100101020000000101";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn a6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    const G: &str = "2001:db8:1::1";
    const H: &str = "2001:db8:1::10";
    const LL: &str = "fe80::ff:fe00:101";
    const HLL: &str = "fe80::ff:fe00:110";

    fn pipeline() -> Pipeline {
        let mut ports = PortTable::new();
        let v4 = |s: &str| (s.parse().unwrap(), 24);
        ports
            .add("nd6r", A_MAC, vec![v4("10.77.0.1")], 1500)
            .unwrap();
        ports
            .add("nd6d", MacAddr([2, 0, 0, 0, 2, 1]), vec![], 1500)
            .unwrap();
        ports
            .add("ser0", MacAddr([2, 0, 0, 0, 3, 1]), vec![], 1000)
            .unwrap();
        ports
            .add("bare6", MacAddr([2, 0, 0, 0, 4, 1]), vec![], 1500)
            .unwrap();
        ports.set_ipv6(A, vec![(a6(G), 64)]);
        ports.set_ipv6(D, vec![(a6("2001:db8:2::1"), 64)]);
        ports.set_ipv6(SMALL, vec![(a6("2001:db8:3::1"), 64)]);
        let rules = Arc::new(CompiledRuleset::compile(&Ruleset::default(), 1));
        Pipeline::new(rules, Fib::new(ports), Default::default())
    }

    /// A frame from the test host: `icmp` from `src` to `dst` with `hop_limit`, to `dst_mac`.
    fn frame(dst_mac: MacAddr, src: &str, dst: &str, hop_limit: u8, icmp: &Icmpv6Repr) -> Vec<u8> {
        let buf = icmpv6_packet(a6(src), a6(dst), hop_limit, 0, icmp);
        let mut f = Vec::new();
        f.extend_from_slice(&dst_mac.0);
        f.extend_from_slice(&HOST_MAC.0);
        f.extend_from_slice(&[0x86, 0xdd]);
        f.extend_from_slice(buf.data());
        f
    }

    fn slla() -> [u8; 8] {
        let mut o = [1, 1, 0, 0, 0, 0, 0, 0];
        o[2..].copy_from_slice(&HOST_MAC.0);
        o
    }

    /// A solicitation for `target`, to its group (`to_group`) or to the router's MAC and
    /// the target itself.
    fn ns_frame(src: &str, target: &str, to_group: bool, options: &[u8]) -> Vec<u8> {
        let ns = Icmpv6Repr::NeighborSolicit {
            target: a6(target),
            options,
        };
        if to_group {
            let group = solicited_node(a6(target));
            frame(
                super::super::ipv6::multicast_mac(group),
                src,
                &group.to_string(),
                255,
                &ns,
            )
        } else {
            frame(A_MAC, src, target, 255, &ns)
        }
    }

    fn echo_frame(src: &str, dst: &str, seq: u16) -> Vec<u8> {
        let echo = Icmpv6Repr::EchoRequest {
            ident: 0x1234,
            seq_no: seq,
            data: b"abcdefgh",
        };
        frame(A_MAC, src, dst, 64, &echo)
    }

    fn rx(p: &mut Pipeline, port: PortId, frame: &[u8], now: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        p.receive(port, PacketBuf::from_slice(frame), now, &mut out);
        sent(&out, port)
    }

    fn sent(out: &[Emit], port: PortId) -> Vec<Vec<u8>> {
        out.iter()
            .map(|e| match e {
                Emit::Tx { port: p, frame } => {
                    assert_eq!(*p, port);
                    frame.data().to_vec()
                }
                Emit::Local { .. } => panic!("unexpected local delivery"),
            })
            .collect()
    }

    /// Checks an emitted frame's ICMPv6 checksum and returns its IPv6 view's bytes.
    fn checked(f: &[u8]) -> Ipv6Packet<&[u8]> {
        let ip = Ipv6Packet::new_checked(&f[14..]).unwrap();
        let icmp = Icmpv6Packet::new_checked(&f[54..]).unwrap();
        assert!(icmp.verify_checksum(ip.src_addr(), ip.dst_addr()));
        ip
    }

    fn drops(p: &Pipeline, r: DropReason) -> u64 {
        p.stats().drops[r]
    }

    #[test]
    fn group_solicitation_answered_as_linux_and_the_solicitor_learned() {
        let mut p = pipeline();
        let out = rx(&mut p, A, &ns_frame(H, G, true, &slla()), T0);
        assert_eq!(out, vec![hex(K_MCAST_NA)]);
        checked(&out[0]);
        // Learned STALE, used by the answer: DELAY (`ip -6 neigh` showed DELAY there too).
        let e = p.nd_neighbors().get(A, a6(H)).unwrap();
        assert_eq!((e.state, e.mac), (NudState::Delay, Some(HOST_MAC)));
        let s = p.ndisc_stats();
        assert_eq!((s.solicitations_received, s.solicitations_answered), (1, 1));
        // Link-local target, link-local solicitor.
        let out = rx(&mut p, A, &ns_frame(HLL, LL, true, &slla()), T0);
        assert_eq!(out, vec![hex(K_LL_NA)]);
        // From one of our own addresses (a loop, or a host using it): not answered.
        assert!(rx(&mut p, A, &ns_frame(LL, G, true, &slla()), T0).is_empty());
        assert!(rx(&mut p, A, &ns_frame("2001:db8:2::1", G, true, &slla()), T0).is_empty());
        assert_eq!(p.ndisc_stats().ignored, 2);
        assert!(p.nd_neighbors().get(A, a6(LL)).is_none());
    }

    #[test]
    fn unicast_solicitation_answered_with_s_only_and_no_option() {
        let mut p = pipeline();
        let out = rx(&mut p, A, &ns_frame(H, G, false, &slla()), T0);
        assert_eq!(out, vec![hex(K_UCAST_NA)]);
        // Without the solicitor's address, to a known solicitor: the same answer.
        let out = rx(&mut p, A, &ns_frame(H, G, false, &[]), T0);
        assert_eq!(out, vec![hex(K_UCAST_NA)]);
    }

    #[test]
    fn dad_probe_for_our_address_answered_to_all_nodes() {
        let mut p = pipeline();
        let out = rx(&mut p, A, &ns_frame("::", G, true, &[]), T0);
        assert_eq!(out, vec![hex(K_DAD_NA)]);
        assert!(p.nd_neighbors().is_empty(), "a DAD probe teaches nothing");
        // A probe for an address that is not ours: its group is not ours either.
        assert!(rx(&mut p, A, &ns_frame("::", "2001:db8:1::77", true, &[]), T0).is_empty());
        assert_eq!(drops(&p, DropReason::Ipv6Unhandled), 1);
    }

    #[test]
    fn solicitations_for_other_targets_or_ports_are_not_answered() {
        let mut p = pipeline();
        // Another host's address, on its group: the group is not ours (not accepted).
        let f = ns_frame(H, "2001:db8:1::77", true, &slla());
        assert!(rx(&mut p, A, &f, T0).is_empty());
        assert_eq!(drops(&p, DropReason::Ipv6Unhandled), 1);
        // Unicast to us, for another target: valid, ignored.
        let ns = Icmpv6Repr::NeighborSolicit {
            target: a6("2001:db8:1::77"),
            options: &slla(),
        };
        let f = frame(A_MAC, H, G, 255, &ns);
        assert!(rx(&mut p, A, &f, T0).is_empty());
        assert_eq!(p.ndisc_stats().ignored, 1);
        // The address of port D asked on port A: not answered (`ipv6_get_ifaddr` strict).
        let ns = Icmpv6Repr::NeighborSolicit {
            target: a6("2001:db8:2::1"),
            options: &slla(),
        };
        assert!(rx(&mut p, A, &frame(A_MAC, H, G, 255, &ns), T0).is_empty());
        assert_eq!(p.ndisc_stats().ignored, 2);
        // No IPv6 on a port below 1280 bytes.
        let ns = ns_frame(H, "2001:db8:3::1", false, &slla());
        assert!(rx(&mut p, SMALL, &ns, T0).is_empty());
    }

    #[test]
    fn invalid_solicitations_are_dropped_and_counted() {
        let mut p = pipeline();
        let group = solicited_node(a6(G)).to_string();
        let gmac = super::super::ipv6::multicast_mac(solicited_node(a6(G)));
        let ns = |options: &'static [u8]| Icmpv6Repr::NeighborSolicit {
            target: a6(G),
            options,
        };
        let long_slla: &[u8] = &[1, 2, 2, 0, 0, 0, 1, 0x10, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("hop limit 254", frame(gmac, H, &group, 254, &ns(&[]))),
            (
                "DAD with SLLA",
                frame(gmac, "::", &group, 255, &ns(&[1, 1, 2, 0, 0, 0, 1, 0x10])),
            ),
            (
                "DAD to a unicast address",
                frame(A_MAC, "::", G, 255, &ns(&[])),
            ),
            (
                "SLLA of 16 bytes",
                frame(gmac, H, &group, 255, &ns(long_slla)),
            ),
        ];
        let good = frame(gmac, H, &group, 255, &ns(&[]));
        let mut bad_sum = good.clone();
        bad_sum[56] ^= 0xff;
        cases.push(("bad checksum", bad_sum));
        // Code 1, checksum fixed up.
        let mut code = good.clone();
        code[55] = 1;
        let mut sum = u16::from_be_bytes([code[56], code[57]]);
        sum = sum.wrapping_sub(1);
        code[56..58].copy_from_slice(&sum.to_be_bytes());
        cases.push(("code 1", code));
        let zero_opt = frame(gmac, H, &group, 255, &ns(&[1, 0, 0, 0, 0, 0, 0, 0]));
        cases.push(("option of length 0", zero_opt));
        // Truncated message (20 bytes of ICMPv6), length fields consistent.
        let short = Icmpv6Repr::Other {
            msg_type: crate::wire::Icmpv6Message::NEIGHBOR_SOLICIT,
            code: 0,
            rest: 0,
            data: &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0],
        };
        cases.push(("20 bytes", frame(gmac, H, &group, 255, &short)));
        for (i, (name, f)) in cases.iter().enumerate() {
            assert!(rx(&mut p, A, f, T0).is_empty(), "{name}");
            assert_eq!(drops(&p, DropReason::NdiscInvalid), i as u64 + 1, "{name}");
        }
        assert_eq!(p.ndisc_stats().invalid, cases.len() as u64);
        assert!(p.nd_neighbors().is_empty());
        // The valid one passes.
        assert_eq!(
            rx(&mut p, A, &good, T0).len(),
            0,
            "no SLLA, unknown: not answered"
        );
        assert_eq!(p.ndisc_stats().ignored, 1);
        const SLLA: [u8; 8] = [1, 1, 2, 0, 0, 0, 1, 0x10];
        assert_eq!(
            rx(&mut p, A, &frame(gmac, H, &group, 255, &ns(&SLLA)), T0).len(),
            1
        );
    }

    #[test]
    fn echo_requests_answered_on_global_and_link_local_addresses() {
        let mut p = pipeline();
        // The host is known (it solicited first, as Linux's ping does).
        rx(&mut p, A, &ns_frame(H, G, true, &slla()), T0);
        rx(&mut p, A, &ns_frame(HLL, LL, true, &slla()), T0);
        let out = rx(&mut p, A, &echo_frame(H, G, 1), T0);
        assert_eq!(out, vec![hex(K_ECHO)]);
        checked(&out[0]);
        let out = rx(&mut p, A, &echo_frame(HLL, LL, 1), T0);
        assert_eq!(out, vec![hex(K_ECHO_LL)]);
        let s = p.ipv6_stats();
        assert_eq!((s.echo_requests, s.echo_replies), (2, 2));
        // Port D's global address answers on port A too (weak host model); port D's
        // link-local one does not.
        let out = rx(&mut p, A, &echo_frame(H, "2001:db8:2::1", 2), T0);
        assert_eq!(checked(&out[0]).src_addr(), a6("2001:db8:2::1"));
        assert!(rx(&mut p, A, &echo_frame(HLL, "fe80::ff:fe00:201", 3), T0).is_empty());
        assert_eq!(drops(&p, DropReason::Ipv6Unhandled), 1);
        // Not rate limited (echo replies are outside icmpv6_ratemask): a burst is answered.
        for seq in 0..200 {
            assert_eq!(rx(&mut p, A, &echo_frame(H, G, seq), T0).len(), 1);
        }
        // A bad checksum is dropped as such.
        let mut bad = echo_frame(H, G, 9);
        bad[57] ^= 1;
        assert!(rx(&mut p, A, &bad, T0).is_empty());
        assert_eq!(drops(&p, DropReason::BadChecksum), 1);
    }

    #[test]
    fn replies_to_unknown_hosts_wait_for_resolution() {
        let mut p = pipeline();
        let out = rx(&mut p, A, &echo_frame(H, G, 1), T0);
        // The reply waits; a solicitation for the host goes to its group, from our address
        // on its prefix, with our link-layer address.
        assert_eq!(out, vec![hex(K_SOLICIT)]);
        let ns = &out[0];
        let ip = checked(ns);
        assert_eq!(
            (ip.src_addr(), ip.dst_addr()),
            (a6(G), a6("ff02::1:ff00:10"))
        );
        assert_eq!(ip.hop_limit(), 255);
        let got = check_solicitation(ip.src_addr(), ip.dst_addr(), 255, &ns[54..]).unwrap();
        assert_eq!(got.target, a6(H));
        assert_eq!(got.source_mac, Some(A_MAC));
        assert_eq!(
            p.nd_neighbors().get(A, a6(H)).unwrap().state,
            NudState::Incomplete
        );
        // The host answers: the reply leaves, the entry is REACHABLE.
        let tlla = [2, 1, 2, 0, 0, 0, 1, 0x10];
        let na = Icmpv6Repr::NeighborAdvert {
            flags: na_flags::SOLICITED | na_flags::OVERRIDE,
            target: a6(H),
            options: &tlla,
        };
        let out = rx(&mut p, A, &frame(A_MAC, H, G, 255, &na), T0 + 1);
        assert_eq!(out, vec![hex(K_ECHO)]);
        let e = p.nd_neighbors().get(A, a6(H)).unwrap();
        assert_eq!((e.state, e.mac), (NudState::Reachable, Some(HOST_MAC)));
        assert_eq!(p.ndisc_stats().adverts_received, 1);
    }

    #[test]
    fn replies_to_off_link_hosts_go_by_the_ipv6_routes() {
        let mut p = pipeline();
        let far = "2001:db8:9::5";
        // No route: dropped as such.
        assert!(rx(&mut p, A, &echo_frame(far, G, 1), T0).is_empty());
        assert_eq!(drops(&p, DropReason::NoRoute), 1);
        let mut fib = p.fib().clone();
        fib.add_static6(a6("::"), 0, Some(a6("fe80::99")), Some(A), 1024)
            .unwrap();
        p.set_fib(fib);
        // The reply waits for the router, solicited from the reply's source (ours).
        let out = rx(&mut p, A, &echo_frame(far, G, 2), T0);
        assert_eq!(out.len(), 1);
        let ip = checked(&out[0]);
        assert_eq!(
            (ip.src_addr(), ip.dst_addr()),
            (a6(G), solicited_node(a6("fe80::99")))
        );
        let router_mac = [2, 0, 0, 0, 1, 0x99];
        let tlla = [2, 1, 2, 0, 0, 0, 1, 0x99];
        let na = Icmpv6Repr::NeighborAdvert {
            flags: na_flags::ROUTER | na_flags::SOLICITED | na_flags::OVERRIDE,
            target: a6("fe80::99"),
            options: &tlla,
        };
        let out = rx(&mut p, A, &frame(A_MAC, "fe80::99", G, 255, &na), T0 + 1);
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0][..6], &router_mac);
        let ip = checked(&out[0]);
        assert_eq!((ip.src_addr(), ip.dst_addr()), (a6(G), a6(far)));
    }

    #[test]
    fn unanswered_resolution_retries_then_drops_as_no_neighbor() {
        let mut p = pipeline();
        rx(&mut p, A, &echo_frame(H, G, 1), T0);
        let mut out = Vec::new();
        for i in 1..=2 {
            out.clear();
            p.tick(T0 + i * SEC, &mut out);
            assert_eq!(sent(&out, A), vec![hex(K_SOLICIT)]);
        }
        out.clear();
        p.tick(T0 + 3 * SEC, &mut out);
        assert!(out.is_empty());
        assert_eq!(drops(&p, DropReason::NoNeighbor), 1);
        assert_eq!(p.ndisc_stats().solicitations_sent, 3);
        assert!(p.nd_neighbors().get(A, a6(H)).is_none());
    }

    #[test]
    fn stale_entries_are_probed_by_unicast_after_the_delay() {
        let mut p = pipeline();
        // Learned from a solicitation, used by the answer: DELAY, then PROBE after 5 s
        // with a unicast solicitation to the known MAC.
        rx(&mut p, A, &ns_frame(H, G, true, &slla()), T0);
        let mut out = Vec::new();
        p.tick(T0 + 5 * SEC, &mut out);
        assert_eq!(sent(&out, A), vec![hex(K_PROBE)]);
        assert_eq!(
            p.nd_neighbors().get(A, a6(H)).unwrap().state,
            NudState::Probe
        );
        // The host's answer to a unicast probe (S, no O, no option) confirms it.
        let na = Icmpv6Repr::NeighborAdvert {
            flags: na_flags::SOLICITED,
            target: a6(H),
            options: &[],
        };
        assert!(rx(&mut p, A, &frame(A_MAC, H, G, 255, &na), T0 + 5 * SEC + 1).is_empty());
        assert_eq!(
            p.nd_neighbors().get(A, a6(H)).unwrap().state,
            NudState::Reachable
        );
    }

    #[test]
    fn advertisements_create_nothing_and_ours_are_ignored() {
        let mut p = pipeline();
        let tlla = [2, 1, 2, 0, 0, 0, 1, 0x10];
        let na = |target: &str| Icmpv6Repr::NeighborAdvert {
            flags: na_flags::OVERRIDE,
            target: a6(target),
            options: &tlla,
        };
        let n = na(H);
        assert!(rx(
            &mut p,
            A,
            &frame(MacAddr([0x33, 0x33, 0, 0, 0, 1]), H, "ff02::1", 255, &n),
            T0
        )
        .is_empty());
        assert!(p.nd_neighbors().is_empty());
        let n = na(G);
        assert!(rx(&mut p, A, &frame(A_MAC, H, G, 255, &n), T0).is_empty());
        assert_eq!(p.ndisc_stats().ignored, 1);
        // A solicited advertisement to a group is invalid.
        let bad = Icmpv6Repr::NeighborAdvert {
            flags: na_flags::SOLICITED,
            target: a6(H),
            options: &tlla,
        };
        let f = frame(MacAddr([0x33, 0x33, 0, 0, 0, 1]), H, "ff02::1", 255, &bad);
        assert!(rx(&mut p, A, &f, T0).is_empty());
        assert_eq!(drops(&p, DropReason::NdiscInvalid), 1);
    }

    #[test]
    fn port_up_announces_every_address_with_override() {
        let mut p = pipeline();
        let mut out = Vec::new();
        p.announce(A, &mut out);
        let nas: Vec<Vec<u8>> = sent(&out, A)
            .into_iter()
            .filter(|f| f[12..14] == [0x86, 0xdd])
            .collect();
        assert_eq!(nas.len(), 2);
        for (f, target) in nas.iter().zip([LL, G]) {
            assert_eq!(&f[..12], &[0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 1, 1]);
            let ip = checked(f);
            assert_eq!((ip.src_addr(), ip.dst_addr()), (a6(target), ALL_NODES));
            let na = check_advert(ip.src_addr(), ip.dst_addr(), 255, &f[54..]).unwrap();
            assert_eq!(
                (na.target, na.flags, na.target_mac),
                (
                    a6(target),
                    na_flags::ROUTER | na_flags::OVERRIDE,
                    Some(A_MAC)
                )
            );
        }
        assert_eq!(p.ndisc_stats().announcements_sent, 2);
        // Nothing from a port without IPv6 (its MTU), nor from one without configured
        // addresses (an IPv4-only config announces what it did before).
        for port in [SMALL, BARE6] {
            out.clear();
            p.announce(port, &mut out);
            assert!(out.is_empty(), "{port}");
        }
    }

    #[test]
    fn other_ipv6_is_dropped_under_its_reason() {
        let mut p = pipeline();
        // A router solicitation to all-routers, UDP to our link-local address (the kernel
        // behind the TAP does not own it), a router advertisement to our global address, a
        // unicast frame for another MAC. (Forwarding: pipeline/forward6.rs.)
        let rs = Icmpv6Repr::RouterSolicit { options: &[] };
        let f = frame(MacAddr([0x33, 0x33, 0, 0, 0, 2]), HLL, "ff02::2", 255, &rs);
        assert!(rx(&mut p, A, &f, T0).is_empty());
        let mut udp = echo_frame(HLL, LL, 1);
        udp[20] = 17;
        assert!(rx(&mut p, A, &udp, T0).is_empty());
        let mut ra = echo_frame(HLL, G, 1);
        ra[54] = 134;
        assert!(rx(&mut p, A, &ra, T0).is_empty());
        assert_eq!(drops(&p, DropReason::Ipv6Unhandled), 3);
        let mut other = echo_frame(H, G, 1);
        other[5] = 0x99;
        assert!(rx(&mut p, A, &other, T0).is_empty());
        assert_eq!(drops(&p, DropReason::OtherHost), 1);
        // Truncated IPv6.
        let mut short = echo_frame(H, G, 1);
        short.truncate(40);
        assert!(rx(&mut p, A, &short, T0).is_empty());
        assert_eq!(drops(&p, DropReason::Malformed), 1);
        assert_eq!(p.ipv6_stats().received, 5);
    }

    #[test]
    fn other_ipv6_to_our_addresses_goes_to_the_host_stack() {
        let mut p = pipeline();
        // UDP to the port's address and to another port's (the weak host model), an echo
        // reply: the IPv6 packets, without their Ethernet headers.
        let mut udp = echo_frame(H, G, 1);
        udp[20] = 17;
        let mut udp_d = echo_frame(H, "2001:db8:2::1", 1);
        udp_d[20] = 17;
        let mut reply = echo_frame(H, G, 1);
        reply[54] = 129;
        for f in [udp, udp_d, reply] {
            let mut out = Vec::new();
            p.receive(A, PacketBuf::from_slice(&f), T0, &mut out);
            match &out[..] {
                [Emit::Local { packet }] => assert_eq!(packet.data(), &f[14..]),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(p.stats().delivered_local, 3);
        assert_eq!(p.ipv6_stats().echo_requests, 0);
    }

    #[test]
    fn link_down_forgets_the_ipv6_neighbours_of_the_port() {
        let mut p = pipeline();
        rx(&mut p, A, &ns_frame(H, G, true, &slla()), T0);
        rx(&mut p, A, &echo_frame("2001:db8:1::20", G, 1), T0);
        assert_eq!(p.nd_neighbors().len(), 2);
        p.link_down(A);
        assert!(p.nd_neighbors().is_empty());
        assert_eq!(drops(&p, DropReason::NoNeighbor), 1, "the waiting reply");
    }
}
