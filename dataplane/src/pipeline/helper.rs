//! The FTP helper on the packets of a control connection: expects the data connection it
//! announces, rewrites the announcement behind NAT, and keeps sequence numbers consistent
//! when the rewrite changed the payload's length (nf_conntrack_ftp, nf_nat_ftp, seqadj).

use super::*;

impl Pipeline {
    /// The FTP helper on a packet of a control connection: expects the data connection it
    /// announces, rewrites the announcement behind NAT, keeps sequence numbers consistent.
    #[inline]
    pub(super) fn ct_help(&mut self, pkt: &mut Pkt) {
        if !self.conntrack.any_helper() {
            return;
        }
        let (Some(id), None) = (pkt.ct.id, pkt.ct.pending.as_ref()) else {
            return;
        };
        if pkt.ct.state == CtState::Related {
            return;
        }
        // Most connections have no helper: decided here, before any call or copy.
        let has_ftp = self
            .conntrack
            .entry(id)
            .is_some_and(|e| e.helper == crate::conntrack::HELPER_FTP && e.orig.proto == 6);
        if has_ftp {
            self.ftp_help(pkt, id);
        }
    }

    #[inline(never)]
    fn ftp_help(&mut self, pkt: &mut Pkt, id: u32) {
        use crate::conntrack::ftp::{self, AnnounceKind, Expectation};
        use crate::conntrack::nat::bits;
        let Some(e) = self.conntrack.entry(id).cloned() else {
            return;
        };
        let reply = pkt.ct.reply;
        let data = pkt.buf.data();
        let ihl = usize::from(data[0] & 0x0f) * 4;
        let Some(th) = data.get(ihl..ihl + 20) else {
            return;
        };
        let doff = usize::from(th[12] >> 4) * 4;
        let seq = u32::from_be_bytes([th[4], th[5], th[6], th[7]]);
        let payload_at = ihl + doff;
        let announce = data.get(payload_at..).and_then(|p| ftp::parse(p, reply));
        let expires_ns = self.now_ns + crate::conntrack::EXPECT_TIMEOUT_NS;
        if let Some(a) = announce {
            let snat = e.status & bits::SRC_NAT != 0;
            let dnat = e.status & bits::DST_NAT != 0;
            let (exp, rewrite) = match (a.kind, a.addr) {
                // The server will connect to the announced address and port.
                (AnnounceKind::Port | AnnounceKind::Eprt, Some(addr)) => {
                    let behind_nat = snat && !reply;
                    let dst = if behind_nat { e.reply.dst } else { addr };
                    let exp = Expectation {
                        src: Some(e.reply.src),
                        dst,
                        dport: a.port,
                        master: id,
                        expires_ns,
                        nat_to: behind_nat.then_some((addr, a.port)),
                    };
                    (exp, behind_nat.then_some(e.reply.dst))
                }
                // The client will connect to the announced (server) address.
                (AnnounceKind::Pasv, Some(addr)) => {
                    let behind_nat = dnat && reply;
                    let dst = if behind_nat { e.orig.dst } else { addr };
                    let exp = Expectation {
                        src: Some(e.orig.src),
                        dst,
                        dport: a.port,
                        master: id,
                        expires_ns,
                        nat_to: behind_nat.then_some((addr, a.port)),
                    };
                    (exp, behind_nat.then_some(e.orig.dst))
                }
                // EPSV: the client connects to the address it already uses.
                _ => {
                    let exp = Expectation {
                        src: Some(e.orig.src),
                        dst: e.orig.dst,
                        dport: a.port,
                        master: id,
                        expires_ns,
                        nat_to: dnat.then_some((e.reply.src, a.port)),
                    };
                    (exp, None)
                }
            };
            self.conntrack.expect(exp);
            if let Some(new_addr) = rewrite {
                let text = ftp::render(a.kind, new_addr, a.port);
                let delta = mangle_payload(&mut pkt.buf, payload_at + a.at, a.len, text.as_bytes());
                if delta != 0 {
                    let d = usize::from(reply);
                    let adj = &mut self.conntrack.seqadj_mut(id)[d];
                    adj.pos = seq;
                    adj.before = adj.after;
                    adj.after += delta;
                    // Window tracking cannot follow rewritten sequence space: be liberal.
                    if let Some(x) = self.conntrack.tcp_track_mut(id) {
                        x.win[0].flags |= crate::conntrack::tcp::wflags::BE_LIBERAL;
                        x.win[1].flags |= crate::conntrack::tcp::wflags::BE_LIBERAL;
                    }
                }
            }
        }
        if let Some(adj) = self.conntrack.seqadj(id).copied() {
            seq_adjust(pkt.buf.data_mut(), &adj, reply);
        }
    }
}

/// Replaces `len` bytes at `at` with `text`, fixing the IP total length and both
/// checksums; returns the change in length.
pub(super) fn mangle_payload(buf: &mut PacketBuf, at: usize, len: usize, text: &[u8]) -> i32 {
    let old: Vec<u8> = buf.data().to_vec();
    if at + len > old.len() {
        return 0;
    }
    let mut new = Vec::with_capacity(old.len() + text.len());
    new.extend_from_slice(&old[..at]);
    new.extend_from_slice(text);
    new.extend_from_slice(&old[at + len..]);
    let ihl = usize::from(new[0] & 0x0f) * 4;
    let total = new.len() as u16;
    new[2..4].copy_from_slice(&total.to_be_bytes());
    Ipv4Packet::new_unchecked(&mut new[..]).fill_checksum();
    let (src, dst) = {
        let p = Ipv4Packet::new_unchecked(&new[..]);
        (p.src_addr(), p.dst_addr())
    };
    if let Ok(mut tcp) = crate::wire::TcpPacket::new_checked(&mut new[ihl..]) {
        tcp.fill_checksum(src, dst);
    }
    let mark = buf.mark;
    *buf = PacketBuf::from_slice(&new);
    buf.mark = mark;
    text.len() as i32 - len as i32
}

/// nf_ct_seq_adjust: shifts this direction's sequence number and the other direction's
/// acknowledgement (and SACK blocks) by what a helper inserted or removed so far.
pub(super) fn seq_adjust(ip: &mut [u8], adj: &[crate::conntrack::ftp::SeqAdj; 2], reply: bool) {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let Some(th) = ip.get_mut(ihl..) else {
        return;
    };
    let Ok(mut tcp) = crate::wire::TcpPacket::new_checked(th) else {
        return;
    };
    crate::conntrack::seqadj::adjust(&mut tcp, adj, reply);
}
