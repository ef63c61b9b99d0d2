//! The IPv6 packet path: a received IPv6 packet (neither neighbour discovery nor an echo
//! to the appliance, which `ipv6.rs` answers) through PREROUTING, FORWARD and POSTROUTING
//! with ip6tables' tables (`CompiledRuleset::ip6`), routed by the IPv6 FIB with hop limit
//! expiry and packet too big answered in ICMPv6, as ip6_forward does. With conntrack,
//! fragments are reassembled before raw (nf_defrag_ipv6, `Defrag6`) and the datagram leaves
//! cut again no larger than its largest fragment. Connection tracking runs after raw (its
//! own table, `Conntrack6`) and confirms as the packet leaves; the rules read the IPv6
//! connection itself (`ct6` in `conntrack6`: the matches are generic over `ConnFamily`)
//! and CONNMARK sets its mark. The nat table translates connections at the kernel's hooks
//! (`nat6.rs`): DNAT and REDIRECT in PREROUTING (the route follows, as ip6_rcv_finish
//! routes after the hook) and OUTPUT, SNAT and MASQUERADE in POSTROUTING and INPUT.
//!
//! What the path does not run yet is refused when the ruleset is loaded
//! (`ipv6_path_refusal`), so no ip6tables rule is silently skipped.

use super::{DropReason, Emit, Flow, Pipeline, Pkt, Stop};
use crate::conntrack::nat::Manip;
use crate::conntrack::{CtInfo6, CtState};
use crate::defrag6::{fragment6, Frag6, Reassembly6, IIF_OUTPUT};
use crate::port::{is_link_local6, MacAddr, PacketBuf, PortId};
use crate::ruleset::{Hook, Match, RuleSpec, TableKind, Target};
use crate::wire::{Icmpv6Repr, Ipv6Packet};

/// Why an ip6tables rule cannot be run by the IPv6 packet path yet (`None`: it can).
/// The rules read and change IPv6 connections as IPv4 ones (addresses, mark, labels,
/// accounting, connlimit's count over `Conntrack6`); what needs a helper (`-m helper`,
/// `-j CT --helper`: nfdp's FTP helper is IPv4 only) or a target the path does not run
/// is refused rather than evaluated wrongly.
pub fn ipv6_path_refusal(spec: &RuleSpec) -> Option<String> {
    if let Some(m) = spec.matches.iter().find(|m| matches!(m, Match::Helper(_))) {
        return Some(format!(
            "-m {}: IPv6 connection tracking in nfdp's packet path has no helpers yet",
            m.name()
        ));
    }
    let target = match &spec.target {
        Target::None
        | Target::Accept
        | Target::Drop
        | Target::Return
        | Target::Jump(_)
        | Target::Goto(_)
        | Target::Mark(_)
        | Target::Connmark(_)
        | Target::Hl(_)
        | Target::Reject6(_)
        // format_packet prints IPv6 as nf_log_ip6_packet; TRACE lines use the same text.
        | Target::Log(_)
        | Target::Trace(_)
        // Rewrite the traffic class (tos_tg6, dscp_tg6).
        | Target::Tos(_)
        | Target::Dscp(_) => return None,
        Target::Notrack(_) => return None,
        // The packet's element for `family inet6` sets (kadt.rs, `packet_fields`).
        Target::Set(_) => return None,
        // TCP found past the extension headers (tcpmss_tg6, tcpoptstrip_tg6); TCPMSS
        // inserts with IPv6's default MSS and clamps to the path MTU less 60. CHECKSUM has
        // nothing to fill on either family (every packet here carries its checksum).
        Target::Tcpmss(_) | Target::Tcpoptstrip(_) | Target::Checksum(_) => return None,
        // The IPv6 packet as the hook sees it, to the group's capture (LINKTYPE_RAW holds
        // either family: the version nibble tells them apart).
        Target::Nflog(_) => return None,
        // hmark_tg_v6: each masked address folded to 32 bits, AH's SPI as the ports.
        Target::Hmark(_) => return None,
        // NAT66 (`nat6.rs`).
        Target::Snat(_)
        | Target::Dnat(_)
        | Target::Masquerade(_)
        | Target::Redirect(_)
        | Target::Netmap(_) => return None,
        // --zone, --ctevents and --expevents do on IPv6 what they do on IPv4.
        Target::Ct(c) if c.helper.is_none() => return None,
        Target::Ct(_) => "CT --helper",
        other => other.name(),
    };
    Some(format!("-j {target}: not in nfdp's IPv6 packet path yet"))
}

/// ICMPv6 types the path sends (RFC 4443).
pub mod icmp6_type {
    pub const DST_UNREACH: u8 = 1;
    pub const PKT_TOOBIG: u8 = 2;
    pub const TIME_EXCEED: u8 = 3;
}

/// Destination unreachable codes.
pub mod unreach_code {
    pub const NOROUTE: u8 = 0;
    /// Beyond the scope of the source address.
    pub const NOT_NEIGHBOUR: u8 = 2;
}

/// The hop limit of what the appliance sends (the device's `hop_limit`, 64).
const HOP_LIMIT: u8 = super::ipv6::DEFAULT_HOP_LIMIT;

/// What of the offending packet an ICMPv6 error quotes: as much as keeps the error within
/// the minimum MTU (1280 - 40 - 8).
const ERROR_QUOTE_MAX: usize = 1232;

impl Pipeline {
    /// Connection tracking of an IPv6 packet raw did not exempt (after raw, as the
    /// kernel's priority -200): the verdict in `ct6`, which the rules read with its entry
    /// in `conntrack6` (`pkt.ct`, IPv4's, stays untracked).
    fn ct_in6(&mut self, pkt: &mut Pkt, verify: bool) -> Flow {
        self.ct6 = if pkt.notrack || !self.rules.ip6.needs_conntrack {
            CtInfo6::with_state(CtState::Untracked)
        } else {
            self.conntrack6
                .packet_in(pkt.buf.data(), verify, self.now_ns)
        };
        if self.ct6.shed {
            return super::shed();
        }
        Ok(())
    }

    /// Confirms a new IPv6 connection as its packet leaves the hooks; `Err`: drop it.
    /// With several workers both its tuples are registered in the owner directory first
    /// (`register_owner6`), as IPv4's `ct_confirm` does.
    fn ct_confirm6(&mut self) -> Flow {
        if self.ct6.pending.is_none() {
            return Ok(());
        }
        let Ok(registered) = self.register_owner6() else {
            return Err(Stop::Drop(DropReason::Conntrack));
        };
        if self.conntrack6.confirm(&mut self.ct6, self.now_ns) {
            Ok(())
        } else {
            self.unregister_owner6(registered);
            Err(Stop::Drop(DropReason::Conntrack))
        }
    }

    /// Reassembles fragments before raw (nf_defrag_ipv6, which conntrack brings in): the
    /// datagram goes on once whole. `iif`: the receiving port, or `IIF_OUTPUT`.
    fn defragment6(&mut self, pkt: &mut Pkt, iif: u32) -> Flow {
        if !self.rules.ip6.needs_conntrack {
            return Ok(());
        }
        match self.defrag6.push(pkt.buf.data(), iif, self.now_ns) {
            Reassembly6::NotFragment => Ok(()),
            Reassembly6::Held => Err(Stop::Held),
            Reassembly6::Dropped => Err(Stop::Drop(DropReason::Defrag)),
            Reassembly6::Complete(whole, f) => {
                // The fragment home (`owner_of`) hands the datagram to its owner.
                if self.multicore.is_some() && self.defer_datagram(pkt, &whole, 0, Some(f)) {
                    return Err(Stop::Held);
                }
                let (mark, port) = (pkt.buf.mark, pkt.buf.port);
                pkt.buf = PacketBuf::from_slice(&whole);
                pkt.buf.mark = mark;
                pkt.buf.port = port;
                pkt.frag6 = Some(f);
                Ok(())
            }
        }
    }

    /// Sends `buf` (ip6_finish_output): a reassembled datagram is cut into fragments no
    /// larger than the largest that arrived nor than `mtu`, unless it fits that whole.
    fn transmit6_within(
        &mut self,
        buf: PacketBuf,
        frag6: Option<Frag6>,
        port: PortId,
        next_hop: std::net::Ipv6Addr,
        out: &mut Vec<Emit>,
    ) {
        let Some(f) = frag6 else {
            return self.transmit6(buf, port, next_hop, out);
        };
        let mtu = self
            .port_mtu(port)
            .max(usize::from(crate::port::IPV6_MIN_MTU));
        let limit = mtu.min(f.max);
        if buf.len() <= limit {
            return self.transmit6(buf, port, next_hop, out);
        }
        let mark = buf.mark;
        for piece in fragment6(buf.data(), limit, f) {
            let mut b = PacketBuf::from_slice(&piece);
            b.mark = mark;
            self.stats.fragments_sent += 1;
            self.transmit6(b, port, next_hop, out);
        }
    }

    /// Before the hooks, while watches are open: which of them trace this packet.
    fn gate6(&mut self, pkt: &mut Pkt) {
        if !self.watches.is_empty() {
            self.trace_gate(pkt);
        }
        pkt.traced = self.trace.is_some() || self.watch_hit;
    }

    /// PREROUTING of a received IPv6 packet: reassembly, raw, conntrack, mangle and nat
    /// (DNAT, REDIRECT); the caller routes it by the destination nat left.
    pub(super) fn prerouting6(&mut self, pkt: &mut Pkt) -> Flow {
        use TableKind::*;
        let iif = pkt.in_port.map_or(IIF_OUTPUT, |p| u32::from(p.0));
        self.defragment6(pkt, iif)?;
        self.gate6(pkt);
        self.run_hook(Hook::Prerouting, &[Raw], pkt)?;
        self.ct_in6(pkt, true)?;
        self.run_hook(Hook::Prerouting, &[Mangle], pkt)?;
        self.nat_hook6(Hook::Prerouting, Manip::Dst, pkt)
    }

    /// A packet for the appliance past PREROUTING: INPUT (ip6tables' filter sees
    /// neighbour discovery too, as the kernel's does), then its handler or the host stack.
    pub(super) fn local_in6(
        &mut self,
        mut pkt: Pkt,
        port_mac: MacAddr,
        to_group: bool,
        out: &mut Vec<Emit>,
    ) -> Flow {
        use TableKind::*;
        self.run_hook(Hook::Input, &[Mangle, Filter, Security], &mut pkt)?;
        self.nat_hook6(Hook::Input, Manip::Src, &mut pkt)?;
        self.ct_confirm6()?;
        self.stats.delivered_local += 1;
        self.ipv6_deliver(pkt, port_mac, to_group, out)
    }

    /// ip6_rcv_finish and ip6_forward for a packet to another host past PREROUTING: the
    /// route, the hop limit, the source check, the path MTU, FORWARD and POSTROUTING, then
    /// out through neighbour discovery.
    pub(super) fn forward6(&mut self, mut pkt: Pkt, out: &mut Vec<Emit>) -> Flow {
        use TableKind::*;
        // ip6_forward: only frames sent to this host are forwarded.
        if pkt.link_broadcast() {
            return Err(Stop::Drop(DropReason::LinkBroadcast));
        }
        let (src, dst, hop_limit) = {
            let ip = Ipv6Packet::new_unchecked(pkt.buf.data());
            (ip.src_addr(), ip.dst_addr(), ip.hop_limit())
        };
        // ip6_route_input: the rules pick the table by the mark PREROUTING left (fib6
        // rules); no route is answered by the null route's ip6_pkt_discard.
        let Some(hop) = self.routes6.route6(&self.fib, dst, pkt.buf.mark) else {
            self.icmp6_error(&pkt, icmp6_type::DST_UNREACH, unreach_code::NOROUTE, 0);
            return Err(Stop::Drop(DropReason::NoRoute));
        };
        if hop_limit <= 1 {
            self.icmp6_error(&pkt, icmp6_type::TIME_EXCEED, 0, 0);
            return Err(Stop::Drop(DropReason::TtlExpired));
        }
        // "This check is security critical." (Redirects, sent by the kernel instead when
        // the packet leaves by the port it came in on, are not: docs/deviations.md.)
        if src.is_unspecified() || src.is_multicast() || src.is_loopback() {
            return Err(Stop::Drop(DropReason::BadSource));
        }
        if is_link_local6(src) {
            self.icmp6_error(
                &pkt,
                icmp6_type::DST_UNREACH,
                unreach_code::NOT_NEIGHBOUR,
                0,
            );
            return Err(Stop::Drop(DropReason::BadSource));
        }
        // ip6_pkt_too_big: routers do not fragment IPv6; the sender learns the MTU. A
        // reassembled datagram is judged by its largest fragment (`frag_max_size`).
        let mtu = self
            .port_mtu(hop.port)
            .max(usize::from(crate::port::IPV6_MIN_MTU));
        let frag_max = pkt.frag6.map_or(0, |f| f.max);
        if pkt.buf.len() > mtu && (frag_max == 0 || frag_max > mtu) {
            self.icmp6_error(&pkt, icmp6_type::PKT_TOOBIG, 0, mtu as u32);
            return Err(Stop::Drop(DropReason::FragNeeded));
        }
        {
            let mut ip = Ipv6Packet::new_unchecked(pkt.buf.data_mut());
            ip.set_hop_limit(hop_limit - 1);
        }
        pkt.out_port = Some(hop.port);
        self.run_hook(Hook::Forward, &[Mangle, Filter, Security], &mut pkt)?;
        self.run_hook(Hook::Postrouting, &[Mangle], &mut pkt)?;
        self.nat_hook6(Hook::Postrouting, Manip::Src, &mut pkt)?;
        self.ct_confirm6()?;
        self.stats.forwarded += 1;
        self.transmit6_within(pkt.buf.take(), pkt.frag6, hop.port, hop.next_hop, out);
        Ok(())
    }

    /// A packet the appliance sends (answers, neighbour discovery, ICMPv6 errors): routed
    /// (link-local and multicast destinations by `via`, the port of the exchange), through
    /// OUTPUT and POSTROUTING, out through neighbour discovery.
    pub(super) fn local_out6(
        &mut self,
        buf: PacketBuf,
        via: Option<PortId>,
        out: &mut Vec<Emit>,
    ) -> Flow {
        use TableKind::*;
        let dst = Ipv6Packet::new_checked(buf.data())
            .map_err(|_| Stop::MALFORMED)?
            .dst_addr();
        let mark = buf.mark;
        let hop = if is_link_local6(dst) || dst.is_multicast() {
            via.map(|p| (p, dst))
        } else {
            self.routes6
                .route6(&self.fib, dst, mark)
                .map(|h| (h.port, h.next_hop))
        };
        let (port, next_hop) = hop.ok_or(Stop::Drop(DropReason::NoRoute))?;
        let mut pkt = Pkt::new6(buf, None, None);
        pkt.frag6 = self.handed_frag6.take();
        pkt.out_port = Some(port);
        self.defragment6(&mut pkt, IIF_OUTPUT)?;
        self.gate6(&mut pkt);
        self.run_hook(Hook::Output, &[Raw], &mut pkt)?;
        self.ct_in6(&mut pkt, false)?;
        self.run_hook(Hook::Output, &[Mangle], &mut pkt)?;
        self.nat_hook6(Hook::Output, Manip::Dst, &mut pkt)?;
        // Re-routed when nat OUTPUT changed the destination (REDIRECT's ::1, or one of the
        // appliance's addresses, is delivered to the host stack, as IPv4's local_out does)
        // or mangle OUTPUT the mark (ip6t_mangle_out's ip6_route_me_harder).
        let now = Ipv6Packet::new_unchecked(pkt.buf.data()).dst_addr();
        let mark_now = pkt.buf.mark;
        let scoped = is_link_local6(now) || now.is_multicast();
        let hop = if now == dst && (mark_now == mark || scoped) {
            Some((port, next_hop))
        } else if now.is_loopback() || self.fib.ports().ipv6_owner(now).is_some() {
            None
        } else {
            let h = self
                .fib
                .route6(now, mark_now)
                .ok_or(Stop::Drop(DropReason::NoRoute))?;
            Some((h.port, h.next_hop))
        };
        pkt.out_port = hop.map(|(p, _)| p);
        self.run_hook(Hook::Output, &[Filter, Security], &mut pkt)?;
        self.run_hook(Hook::Postrouting, &[Mangle], &mut pkt)?;
        self.nat_hook6(Hook::Postrouting, Manip::Src, &mut pkt)?;
        self.ct_confirm6()?;
        let Some((port, next_hop)) = hop else {
            self.stats.delivered_local += 1;
            out.push(Emit::Local {
                packet: pkt.buf.take(),
            });
            return Ok(());
        };
        self.stats.sent_local += 1;
        self.transmit6_within(pkt.buf.take(), pkt.frag6, port, next_hop, out);
        Ok(())
    }

    /// icmp6_send: an ICMPv6 error about `pkt` to its source, unless the rules for errors
    /// forbid one (about an error, to a group, from an address that names no single
    /// node) or the rate limits hold it back; queued for OUTPUT.
    pub(super) fn icmp6_error(&mut self, pkt: &Pkt, icmp_type: u8, code: u8, info: u32) {
        let orig = pkt.buf.data();
        let Ok(ip) = Ipv6Packet::new_checked(orig) else {
            return;
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        // Only packet too big answers what was sent to a group.
        if (dst.is_multicast() || pkt.link_broadcast()) && icmp_type != icmp6_type::PKT_TOOBIG {
            return;
        }
        if src.is_unspecified() || src.is_multicast() || error_ineligible(orig) {
            return;
        }
        // The way back to the source: a link-local one by the port it came in on, else
        // by the rules for mark 0 (icmp6_send's IP6_REPLY_MARK without fwmark_reflect).
        let back = if is_link_local6(src) {
            pkt.in_port.map(|p| (p, 64))
        } else {
            self.fib.route6(src, 0).map(|h| (h.port, h.prefix_len))
        };
        let Some((port, prefix_len)) = back else {
            return;
        };
        let ports = self.fib.ports();
        // From the address asked when it is the appliance's, else the address the
        // route's port would pick for the source.
        let from = if ports.ipv6_owner(dst).is_some() {
            Some(dst)
        } else {
            ports.get(port).and_then(|p| p.ipv6_source_for(src))
        };
        let Some(from) = from else {
            return;
        };
        if !self
            .icmp_limit
            .allow6(src, icmp_type, prefix_len, self.now_ns)
        {
            self.stats.icmp_rate_limited += 1;
            return;
        }
        let data = &orig[..orig.len().min(ERROR_QUOTE_MAX)];
        let repr = match icmp_type {
            icmp6_type::PKT_TOOBIG => Icmpv6Repr::PacketTooBig { mtu: info, data },
            icmp6_type::TIME_EXCEED => Icmpv6Repr::TimeExceeded { code, data },
            _ => Icmpv6Repr::DstUnreachable { code, data },
        };
        let mut error = super::ipv6::icmpv6_packet(from, src, HOP_LIMIT, 0, &repr);
        error.port = port;
        // icmp6_send's error carries the offending packet's connection (nf_ct_attach,
        // RELATED in the other direction), so OUTPUT and POSTROUTING put a NATed one
        // back (nf_nat_icmpv6_reply_translation). A connection not yet confirmed (its
        // packet dies here) is in no table a lookup would find: undone here.
        if let Some(e) = self.ct6.pending.as_ref() {
            let reply = !self.ct6.reply;
            for manip in [Manip::Dst, Manip::Src] {
                super::nat6::translate_icmp6_error(error.data_mut(), e, reply, manip);
            }
        }
        self.generated.push(error);
        self.stats.icmp_errors += 1;
    }
}

/// icmp6_send's `is_ineligible`: never answer an ICMPv6 error (or an ICMPv6 message too
/// short to tell). The walk is ipv6_skip_exthdr's: a later fragment stops at its fragment
/// header, so it is never an ICMPv6 message here.
fn error_ineligible(ip: &[u8]) -> bool {
    use crate::wire::ipv6::{next_header, ExtHeaders, HEADER_LEN};
    let (Some(&first), Some(payload)) = (ip.get(6), ip.get(HEADER_LEN..)) else {
        return true;
    };
    let Ok(ext) = ExtHeaders::parse(first, payload) else {
        return false;
    };
    if u8::from(ext.protocol) != next_header::ICMPV6 || !ext.is_first_fragment() {
        return false;
    }
    match ext.upper_offset.and_then(|o| ip.get(o)) {
        Some(&t) => t & 0x80 == 0,
        None => true,
    }
}
