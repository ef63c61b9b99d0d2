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
//!    untranslated flow to one worker, and a new flow starts where RSS put it).
//!
//! An ICMP error is decided by the packet it quotes (the tuple of the direction the
//! error travels), as conntrack relates it.
//!
//! Fragments: a non-first fragment has no ports, so all fragments of a datagram go to
//! one "fragment home", a hash of (source, destination, protocol, IP id) over the
//! workers. It reassembles them; the whole datagram, now with its ports, is then
//! decided by the rules above and handed on once more if it belongs elsewhere
//! (`take_deferred`). The receiver of that datagram gets it unfragmented and never hands
//! it on, so nothing travels more than two hops and no connection is created twice.

use super::{Emit, Pipeline, Pkt};
use crate::conntrack::{tuple, Tuple};
use crate::handoff::{Handed, OwnerDirectory, RegisterError};
use crate::hash::mix64;
use crate::port::{PacketBuf, PortId};
use crate::wire::{EtherType, EthernetFrame};
use std::sync::Arc;

/// This pipeline's place among the workers.
pub(super) struct Multicore {
    pub dir: Arc<OwnerDirectory>,
    pub me: u16,
    pub workers: u16,
}

/// The key that steers a tuple addressed to the appliance: the destination port, or
/// the id of an ICMP query.
fn steer_key(t: &Tuple) -> Option<u16> {
    match t.proto {
        6 | 17 | 136 => Some(t.dport),
        1 if tuple::icmp_reply_type((t.dport >> 8) as u8).is_some() => Some(t.sport),
        _ => None,
    }
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
    pub fn set_worker(&mut self, index: u16, count: u16, dir: Option<Arc<OwnerDirectory>>) {
        self.conntrack.set_worker(index, count);
        let (me, workers) = self.conntrack.worker();
        self.conntrack.set_directory(dir.clone());
        self.multicore = dir.map(|dir| Multicore { dir, me, workers });
    }

    /// The worker that must process `frame` (an Ethernet frame as received), or `None`
    /// for this one.
    pub fn owner_of(&self, frame: &[u8]) -> Option<u16> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        let l3 = eth.l3_header().ok()?;
        if l3.ethertype != EtherType::IPV4 {
            return None;
        }
        self.owner_of_ip(frame.get(l3.offset..)?)
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
        if self.conntrack.lookup(&t).is_some() {
            return None;
        }
        let owner = mc.dir.lookup(&t).or_else(|| self.steered(mc, &t))?;
        (owner != mc.me).then_some(owner)
    }

    /// Rule 3: the worker a packet with tuple `t` goes to when no table knows it.
    fn steered(&self, mc: &Multicore, t: &Tuple) -> Option<u16> {
        let key = steer_key(t)?;
        self.fib.is_local(t.dst).then_some(key % mc.workers)
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
        if mc.workers < 2 {
            return Ok([None, None]);
        }
        if e.reply != e.orig && self.conntrack.lookup(&e.reply).is_some() {
            return Err(RegisterError::Taken(mc.me));
        }
        mc.dir.register(&e.orig, mc.me)?;
        if e.reply == e.orig {
            return Ok([Some(e.orig), None]);
        }
        if let Err(x) = mc.dir.register(&e.reply, mc.me) {
            mc.dir.unregister(&e.orig, mc.me);
            return Err(x);
        }
        Ok([Some(e.orig), Some(e.reply)])
    }

    pub(super) fn unregister_owner(&self, tuples: [Option<Tuple>; 2]) {
        if let Some(mc) = self.multicore.as_ref() {
            for t in tuples.iter().flatten() {
                mc.dir.unregister(t, mc.me);
            }
        }
    }

    /// After reassembly: hands the whole datagram to its owner when that is another
    /// worker; `true` when it did (the packet goes no further here).
    pub(super) fn defer_datagram(&mut self, pkt: &Pkt, whole: &[u8], frag_max: usize) -> bool {
        let (Some(mac), Some(port)) = (pkt.mac_header, pkt.in_port) else {
            return false;
        };
        let Some(owner) = self.owner_of_ip(whole) else {
            return false;
        };
        let mut frame = PacketBuf::from_slice(whole);
        frame.prepend(14).copy_from_slice(&mac);
        frame.mark = pkt.buf.mark;
        self.deferred.push((
            owner,
            Handed {
                port,
                frame,
                frag_max,
                from_host: false,
            },
        ));
        true
    }

    /// Datagrams this pipeline reassembled for other workers, with their owners.
    pub fn take_deferred(&mut self, out: &mut Vec<(u16, Handed)>) {
        out.append(&mut self.deferred);
    }

    /// A frame another worker handed over: processed here whatever `owner_of` says.
    /// `frag_max` is the largest fragment of a datagram the sender reassembled (0 for
    /// a frame as received).
    pub fn receive_handed(
        &mut self,
        port: PortId,
        frame: PacketBuf,
        frag_max: usize,
        now_ns: u64,
        out: &mut Vec<Emit>,
    ) {
        self.receive_frame(port, frame, frag_max, now_ns, out);
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
