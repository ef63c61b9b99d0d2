//! Which worker a received packet belongs to (DESIGN.md "Multi-core NAT"), decided
//! before the pipeline runs, from the packet alone and without changing it:
//!
//! 1. a tuple this worker's shard knows: here;
//! 2. a tuple in the owner directory: its owner (DNAT, REDIRECT, and any NATed
//!    connection whose reply rule 3 would not steer home);
//! 3. a tuple addressed to one of the appliance's own addresses with a port (TCP, UDP,
//!    UDP-Lite: the destination port; ICMP queries: the id): worker `port % workers`.
//!    That is where NAT put a source-NATed connection (each worker allocates only its
//!    slice of every pool), and where a new connection to the appliance is created, so
//!    its next packets find it the same way;
//! 4. anything else: here (RSS with a symmetric key brings both directions of an
//!    untranslated flow to one worker, and a new flow starts where RSS put it). The
//!    lab's af_packet fanout hashes symmetrically too (`__skb_get_hash_symmetric`), but
//!    an IPv6 packet with a flow label is hashed on its addresses alone and one without
//!    on its ports as well: a flow labelled one way only may arrive split, and rules 1-2
//!    bring its packets together.
//!
//! An ICMP error is decided by the packet it quotes (the tuple of the direction the
//! error travels), as conntrack relates it.
//!
//! IPv6 follows the same rules with its own shard (`Conntrack6`), its own directory
//! (`OwnerDirectory6`) and the appliance's IPv6 addresses; ICMPv6 errors are decided by
//! what they quote, and neighbour discovery (untracked, no key) stays where it lands
//! (`is_neighbor_advert` copies advertisements to every worker's cache).
//!
//! Fragments: a non-first fragment has no ports, so all fragments of a datagram go to
//! one "fragment home", a hash of (source, destination, protocol, IP id) over the
//! workers (IPv6: source, destination and the fragment header's identification). It
//! reassembles them; the whole datagram, now with its ports, is then decided by the
//! rules above and handed on once more if it belongs elsewhere (`take_deferred`; an
//! IPv6 one carries its `Frag6` so the owner sends it on cut as it came). The host's own
//! fragments (OUTPUT through the TAP port) meet the same way, and their datagram goes on
//! to its owner as the host's. The receiver of that datagram gets it unfragmented and never hands
//! it on, so nothing travels more than two hops and no connection is created twice.

use super::{Emit, Pipeline, Pkt};
use crate::conntrack::family::{CtAddr, L3};
use crate::conntrack::{ConnEntry, Conntrack, Tuple};
use crate::defrag6::Frag6;
use crate::handoff::{Handed, OwnerDirectory, OwnerDirectory6, RegisterError};
use crate::hash::mix64;
use crate::port::PacketBuf;
use crate::wire::ipv6::{next_header, ExtHeaders, HEADER_LEN};
use crate::wire::{EtherType, EthernetFrame};
use std::net::Ipv6Addr;
use std::sync::Arc;

/// This pipeline's place among the workers.
pub(super) struct Multicore {
    pub dir: Arc<OwnerDirectory>,
    pub dir6: Arc<OwnerDirectory6>,
    pub me: u16,
    pub workers: u16,
}

/// The key that steers a tuple addressed to the appliance: the destination port, or
/// the id of an ICMP (ICMPv6) query.
#[inline]
fn steer_key<A: CtAddr>(t: &Tuple<A>) -> Option<u16> {
    match t.proto {
        6 | 17 | 136 => Some(t.dport),
        p if p == A::ICMP_PROTO && A::icmp_reply_type((t.dport >> 8) as u8).is_some() => {
            Some(t.sport)
        }
        _ => None,
    }
}

/// The worker of a tuple no table knows: `port % workers` when it is addressed to the
/// appliance (`local`) and has a key, else none (here).
#[inline]
fn steered<A: CtAddr>(mc: &Multicore, t: &Tuple<A>, local: impl FnOnce(A) -> bool) -> Option<u16> {
    let key = steer_key(t)?;
    local(t.dst).then_some(key % mc.workers)
}

/// Rules 1 to 3 for a tuple of either family.
#[inline]
fn owner_by_tuple<A: CtAddr>(
    mc: &Multicore,
    ct: &Conntrack<A>,
    dir: &OwnerDirectory<A>,
    t: &Tuple<A>,
    local: impl FnOnce(A) -> bool,
) -> Option<u16> {
    if ct.lookup(t).is_some() {
        return None;
    }
    let owner = dir.lookup(t).or_else(|| steered(mc, t, local))?;
    (owner != mc.me).then_some(owner)
}

/// Registers both tuples of the new connection `e` for worker `mc.me` in `dir`
/// (refusing a reply tuple this shard or another worker already holds).
fn register_in<A: CtAddr>(
    mc: &Multicore,
    ct: &Conntrack<A>,
    dir: &OwnerDirectory<A>,
    e: &ConnEntry<A>,
) -> Result<[Option<Tuple<A>>; 2], RegisterError> {
    if mc.workers < 2 {
        return Ok([None, None]);
    }
    if e.reply != e.orig && ct.lookup(&e.reply).is_some() {
        return Err(RegisterError::Taken(mc.me));
    }
    dir.register(&e.orig, mc.me)?;
    if e.reply == e.orig {
        return Ok([Some(e.orig), None]);
    }
    if let Err(x) = dir.register(&e.reply, mc.me) {
        dir.unregister(&e.orig, mc.me);
        return Err(x);
    }
    Ok([Some(e.orig), Some(e.reply)])
}

/// An ARP reply (every worker's neighbour table should learn from it).
pub fn is_arp_reply(frame: &[u8]) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    let Ok(l3) = eth.l3_header() else {
        return false;
    };
    l3.ethertype == EtherType::ARP && frame.get(l3.offset + 6..l3.offset + 8) == Some(&[0, 2][..])
}

/// A neighbour advertisement right after the IPv6 header (every worker's neighbour cache
/// should learn from it, as from an ARP reply).
pub fn is_neighbor_advert(frame: &[u8]) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    let Ok(l3) = eth.l3_header() else {
        return false;
    };
    l3.ethertype == EtherType::IPV6
        && frame.get(l3.offset + 6) == Some(&crate::wire::ipv6::next_header::ICMPV6)
        && frame.get(l3.offset + 40) == Some(&136)
}

impl Pipeline {
    /// Makes this the pipeline of worker `index` of `count`: NAT allocates this
    /// worker's port slices, connections other workers may see packets of are
    /// registered in `dir`, and `owner_of` answers.
    /// `dirs`: the IPv4 and IPv6 owner directories the workers share.
    pub fn set_worker(
        &mut self,
        index: u16,
        count: u16,
        dirs: Option<(Arc<OwnerDirectory>, Arc<OwnerDirectory6>)>,
    ) {
        self.conntrack.set_worker(index, count);
        self.conntrack6.set_worker(index, count);
        let (me, workers) = self.conntrack.worker();
        self.conntrack
            .set_directory(dirs.as_ref().map(|d| d.0.clone()));
        self.conntrack6
            .set_directory(dirs.as_ref().map(|d| d.1.clone()));
        self.multicore = dirs.map(|(dir, dir6)| Multicore {
            dir,
            dir6,
            me,
            workers,
        });
    }

    /// The worker that must process `frame` (an Ethernet frame as received), or `None`
    /// for this one.
    pub fn owner_of(&self, frame: &[u8]) -> Option<u16> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        let l3 = eth.l3_header().ok()?;
        match l3.ethertype {
            EtherType::IPV4 => self.owner_of_ip(frame.get(l3.offset..)?),
            EtherType::IPV6 => self.owner_of_ip6(frame.get(l3.offset..)?),
            _ => None,
        }
    }

    /// `owner_of` for an IPv4 or IPv6 packet without its link header (what the host
    /// sends through the TAP port, a reassembled datagram).
    pub fn owner_of_packet(&self, ip: &[u8]) -> Option<u16> {
        match ip.first()? >> 4 {
            4 => self.owner_of_ip(ip),
            6 => self.owner_of_ip6(ip),
            _ => None,
        }
    }

    /// `owner_of` for an IPv4 packet.
    pub fn owner_of_ip(&self, ip: &[u8]) -> Option<u16> {
        let mc = self.multicore.as_ref()?;
        // Without conntrack nothing is kept per flow: any worker will do.
        if mc.workers < 2 || !self.rules.needs_conntrack || ip.len() < 20 || ip[0] >> 4 != 4 {
            return None;
        }
        let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
        if frag {
            let word = |at: usize| {
                u64::from(u32::from_be_bytes([
                    ip[at],
                    ip[at + 1],
                    ip[at + 2],
                    ip[at + 3],
                ]))
            };
            let id = u64::from(u16::from_be_bytes([ip[4], ip[5]]));
            let h = mix64(word(12) << 32 ^ word(16) ^ id << 8 ^ u64::from(ip[9]));
            let home = (h % u64::from(mc.workers)) as u16;
            return (home != mc.me).then_some(home);
        }
        let t = if ip[9] == 1 && super::is_icmp_error(ip) {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            ip.get(ihl + 8..)
                .and_then(Tuple::from_ip)
                .and_then(|q| q.invert())?
        } else {
            Tuple::from_ip(ip)?
        };
        owner_by_tuple(mc, &self.conntrack, &mc.dir, &t, |a| self.fib.is_local(a))
    }

    /// `owner_of` for an IPv6 packet. The extension header walk is `ExtHeaders::parse`
    /// (ipv6_skip_exthdr), bounded by the payload length as the receive path trims it.
    pub fn owner_of_ip6(&self, ip: &[u8]) -> Option<u16> {
        let mc = self.multicore.as_ref()?;
        if mc.workers < 2 || !self.rules.ip6.needs_conntrack {
            return None;
        }
        let head = ip.get(..HEADER_LEN)?;
        if head[0] >> 4 != 6 {
            return None;
        }
        let end = (HEADER_LEN + usize::from(u16::from_be_bytes([head[4], head[5]]))).min(ip.len());
        let ext = ExtHeaders::parse(head[6], ip.get(HEADER_LEN..end)?).ok()?;
        // A fragment (not an atomic one, which nf_defrag_ipv6 lets through whole): to
        // the home of its datagram, by what all its fragments carry alike.
        if let Some(f) = ext.fragment.filter(|f| f.more_frags || f.frag_offset != 0) {
            let addr = |at: usize| {
                let mut b = [0u8; 16];
                b.copy_from_slice(&head[at..at + 16]);
                u128::from_be_bytes(b)
            };
            let (s, d) = (addr(8), addr(24));
            let h = mix64(
                mix64((s >> 64) as u64 ^ s as u64 ^ u64::from(f.ident))
                    ^ (d >> 64) as u64
                    ^ d as u64,
            );
            let home = (h % u64::from(mc.workers)) as u16;
            return (home != mc.me).then_some(home);
        }
        let upper = ext.upper_offset?;
        let t = if u8::from(ext.protocol) == next_header::ICMPV6
            && ip.get(upper).is_some_and(|&ty| ty < 128)
        {
            // An ICMPv6 error: by the packet it quotes, as conntrack relates it.
            ip.get(upper + 8..end)
                .and_then(Tuple::<Ipv6Addr>::of_packet)
                .and_then(|q| q.invert())?
        } else {
            // The walk above found the upper-layer header: no second one.
            let view = crate::wire::Ipv6Packet::new_unchecked(head);
            let l3 = L3 {
                src: view.src_addr(),
                dst: view.dst_addr(),
                proto: u8::from(ext.protocol),
                l4_start: upper,
                l4_end: end,
                trackable: true,
            };
            Tuple::from_l3(&l3, ip.get(upper..end)?)?
        };
        owner_by_tuple(mc, &self.conntrack6, &mc.dir6, &t, |a| {
            self.fib.ports().ipv6_owner(a).is_some()
        })
    }

    /// Registers both tuples of a connection about to be confirmed, so that whichever
    /// worker a later packet of it lands on finds the owner. RSS alone would bring the
    /// original direction back here, but not a reply whose tuple NAT changed, nor any
    /// packet a full queue spilled onto another (af_packet's fanout rollover) or a
    /// re-programmed RSS table moved. `Err`: a tuple belongs to another connection (here
    /// or on another worker), or the directory is full; the packet must be dropped.
    pub(super) fn register_owner(&self, pkt: &Pkt) -> Result<[Option<Tuple>; 2], RegisterError> {
        let (Some(mc), Some(e)) = (self.multicore.as_ref(), pkt.ct.pending.as_ref()) else {
            return Ok([None, None]);
        };
        register_in(mc, &self.conntrack, &mc.dir, e)
    }

    pub(super) fn unregister_owner(&self, tuples: [Option<Tuple>; 2]) {
        if let Some(mc) = self.multicore.as_ref() {
            for t in tuples.iter().flatten() {
                mc.dir.unregister(t, mc.me);
            }
        }
    }

    /// `register_owner` for the new IPv6 connection about to be confirmed (`ct6`).
    pub(super) fn register_owner6(&self) -> Result<[Option<Tuple<Ipv6Addr>>; 2], RegisterError> {
        let (Some(mc), Some(e)) = (self.multicore.as_ref(), self.ct6.pending.as_ref()) else {
            return Ok([None, None]);
        };
        register_in(mc, &self.conntrack6, &mc.dir6, e)
    }

    pub(super) fn unregister_owner6(&self, tuples: [Option<Tuple<Ipv6Addr>>; 2]) {
        if let Some(mc) = self.multicore.as_ref() {
            for t in tuples.iter().flatten() {
                mc.dir6.unregister(t, mc.me);
            }
        }
    }

    /// After reassembly: hands the whole datagram (IPv4 or IPv6) to its owner when that
    /// is another worker; `true` when it did (the packet goes no further here).
    /// `frag_max` / `frag6`: how it came cut, so it leaves the owner cut the same way.
    /// A datagram of the host's (OUTPUT, no link header) goes on as the host's.
    pub(super) fn defer_datagram(
        &mut self,
        pkt: &Pkt,
        whole: &[u8],
        frag_max: usize,
        frag6: Option<Frag6>,
    ) -> bool {
        let from_host = pkt.in_port.is_none();
        if !from_host && pkt.mac_header.is_none() {
            return false;
        }
        let Some(owner) = self.owner_of_packet(whole) else {
            return false;
        };
        let mut frame = PacketBuf::from_slice(whole);
        if let Some(mac) = pkt.mac_header {
            frame.prepend(14).copy_from_slice(&mac);
        }
        frame.mark = pkt.buf.mark;
        // The host's: the port a link-local destination is reached by.
        frame.port = pkt.buf.port;
        self.deferred.push((
            owner,
            Handed {
                port: pkt.in_port.unwrap_or(pkt.buf.port),
                frame,
                frag_max,
                frag6,
                from_host,
            },
        ));
        true
    }

    /// Datagrams this pipeline reassembled for other workers, with their owners.
    pub fn take_deferred(&mut self, out: &mut Vec<(u16, Handed)>) {
        out.append(&mut self.deferred);
    }

    /// A frame another worker handed over: processed here whatever `owner_of` says.
    /// Its `frag_max` / `frag6` say how a datagram the sender reassembled came cut.
    pub fn receive_handed(&mut self, p: Handed, now_ns: u64, out: &mut Vec<Emit>) {
        if p.from_host {
            self.handed_frag6 = p.frag6;
            self.handed_frag_max = p.frag_max;
            self.output(p.frame, now_ns, out);
            self.handed_frag_max = 0;
        } else {
            self.handed_frag6 = p.frag6;
            self.receive_frame(p.port, p.frame, p.frag_max, now_ns, out);
        }
        self.handed_frag6 = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ipv6::icmpv6_packet;
    use crate::wire::Icmpv6Repr;

    fn framed(icmp: &Icmpv6Repr) -> Vec<u8> {
        let p = icmpv6_packet(
            "fe80::1".parse().unwrap(),
            "fe80::2".parse().unwrap(),
            255,
            0,
            icmp,
        );
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd];
        f.extend_from_slice(p.data());
        f
    }

    #[test]
    fn neighbour_advertisements_are_recognised_for_every_worker() {
        let target = "fe80::2".parse().unwrap();
        let na = framed(&Icmpv6Repr::NeighborAdvert {
            flags: 0x60,
            target,
            options: &[],
        });
        assert!(is_neighbor_advert(&na));
        let ns = framed(&Icmpv6Repr::NeighborSolicit {
            target,
            options: &[],
        });
        assert!(!is_neighbor_advert(&ns));
        assert!(!is_neighbor_advert(&na[..54]));
        assert!(!is_arp_reply(&na));
    }
}
