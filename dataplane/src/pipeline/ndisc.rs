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
//!   unicast probes in PROBE), with the source link-layer address option; the timers are the
//!   neighbour cache's (`nd`).
//! - A port coming up sends an unsolicited advertisement (O set, to ff02::1) for each address.
//!
//! Differences from Linux: the R flag is clear (nfdp does not forward IPv6 yet: Linux with
//! `forwarding` 0); Linux sends the unsolicited advertisements only with `ndisc_notify` 1 and
//! runs duplicate address detection on its own addresses instead, which nfdp does not;
//! solicitations go from the port's address for the target (Linux prefers the source of
//! the packet that waits when it is on the port); messages behind extension headers are not
//! handled.

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
fn common(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, icmp: &[u8]) -> Result<Icmpv6Repr<'_>, Invalid> {
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
    let Icmpv6Repr::NeighborSolicit { target, options } = common(src, dst, hop_limit, icmp)?
    else {
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
pub fn advert(mac: MacAddr, target: Ipv6Addr, dst: Ipv6Addr, flags: u8, with_option: bool) -> PacketBuf {
    let mut opt = [0u8; 8];
    let options: &[u8] = if with_option {
        // Cannot fail: 8 bytes for an 8-byte option.
        let _ = NdOption::TargetLinkLayerAddr(EthernetAddress(mac.0)).emit(&mut opt);
        &opt
    } else {
        &[]
    };
    let na = Icmpv6Repr::NeighborAdvert {
        flags,
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
        let ours = self
            .fib
            .ports()
            .get(rx.port)
            .is_some_and(|p| p.has_ipv6(ns.target));
        if !ours {
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
                let waiting = self
                    .nd
                    .learn_solicitation(rx.port, src, mac, self.now_ns);
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
        let waiting = self.nd.learn_advert(rx.port, na.target, advert, self.now_ns);
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
            .map(|p| (p.mac, p.ipv6_source_for(next_hop)))
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
            let Some((mac, Some(src))) = self
                .fib
                .ports()
                .get(port)
                .map(|p| (p.mac, p.ipv6_source_for(target)))
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

    /// Unsolicited advertisements (O set, to ff02::1) for every IPv6 address of `port`.
    pub(super) fn ndisc_announce(&mut self, port: PortId, out: &mut Vec<Emit>) {
        let Some(p) = self.fib.ports().get(port) else {
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
