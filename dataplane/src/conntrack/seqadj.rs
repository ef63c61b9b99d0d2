//! Sequence-number and timestamp adjustment of a connection whose two ends do not see
//! the same numbers: a helper changed a payload's length (FTP behind NAT), or SYNPROXY
//! answered the client with a cookie ISN and a cookie timestamp while the server chose
//! its own (`nf_conntrack_seqadj`, `synproxy_tstamp_adjust`). Both are kept in side
//! tables of the shard keyed by the entry's id, so `ConnEntry` stays 64 bytes; removing
//! an entry removes them.
//!
//! Everything here works on the TCP header as the `wire` view gives it: seq, ack, the
//! SACK blocks (which name the other direction's numbers) and the timestamp option, each
//! with its checksum patched incrementally.

use super::ftp::SeqAdj;
use super::Conntrack;
use crate::wire::tcp::field::{OPT_END, OPT_NOP, OPT_SACKRNG, OPT_TSTAMP};
use crate::wire::{checksum, TcpPacket};

/// `struct nf_conn_synproxy`: the cookie ISN the client was given (`isn`), the cookie
/// timestamp it echoes (`its`), and how far the server's timestamps are from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynproxyConn {
    pub isn: u32,
    pub its: u32,
    pub tsoff: u32,
}

impl Conntrack {
    /// The SYNPROXY state of a connection the target opened to its server.
    pub fn synproxy(&self, id: u32) -> Option<&SynproxyConn> {
        self.synproxy.get(&id)
    }

    pub fn synproxy_mut(&mut self, id: u32) -> Option<&mut SynproxyConn> {
        self.synproxy.get_mut(&id)
    }

    /// Gives a confirmed connection its SYNPROXY state (the kernel's extension from the
    /// target's template). Window tracking takes the sequence offset off the
    /// acknowledgements it checks (`receiver_offset`), as the kernel's does.
    pub fn set_synproxy(&mut self, id: u32, s: SynproxyConn) {
        self.synproxy.insert(id, s);
    }

    /// Whether any connection of this shard has SYNPROXY state (the hook's fast exit).
    pub fn any_synproxy(&self) -> bool {
        !self.synproxy.is_empty()
    }

    /// `nf_ct_seqadj_init`: from now on, the sequence numbers of direction `reply` are
    /// shifted by `off` (and the other direction's acknowledgements back).
    pub fn seqadj_init(&mut self, id: u32, reply: bool, off: i32) {
        let a = &mut self.seqadj_mut(id)[usize::from(reply)];
        a.before = off;
        a.after = off;
    }
}

/// `nf_ct_seq_offset` of the direction opposite to the packet's, at its acknowledgement
/// (`l4`: its TCP header): what window tracking takes off the ACK (`tcp_in_window`'s
/// `receiver_offset`).
pub fn receiver_offset(adj: Option<&[SeqAdj; 2]>, reply: bool, l4: &[u8]) -> i32 {
    let (Some(adj), Some(&[a, b, c, d])) = (adj, l4.get(8..12)) else {
        return 0;
    };
    let ack = u32::from_be_bytes([a, b, c, d]);
    adj[usize::from(!reply)].offset(ack.wrapping_sub(1))
}

/// Replaces the 4 bytes at `at` of the TCP header with `new`, patching the checksum byte
/// by byte (an option may start at an odd offset).
fn replace4(tcp: &mut TcpPacket<&mut [u8]>, at: usize, new: u32) {
    let mut c = tcp.checksum();
    {
        let b = tcp.options_mut();
        let Some(field) = b.get_mut(at..at + 4) else {
            return;
        };
        for (i, n) in new.to_be_bytes().into_iter().enumerate() {
            // The byte's place in its 16-bit word of the checksum (options start at 20).
            let odd = (at + i) % 2 == 1;
            let word = |x: u8| if odd { u16::from(x) } else { u16::from(x) << 8 };
            c = checksum::update_u16(c, word(field[i]), word(n));
            field[i] = n;
        }
    }
    tcp.set_checksum(c);
}

/// `nf_ct_seq_adjust` on a TCP header of direction `reply`: this direction's sequence
/// number, the other direction's acknowledgement and SACK blocks.
pub fn adjust(tcp: &mut TcpPacket<&mut [u8]>, adj: &[SeqAdj; 2], reply: bool) {
    let (this, other) = if reply {
        (adj[1], adj[0])
    } else {
        (adj[0], adj[1])
    };
    sack_adjust(tcp, &other);
    let seq = tcp.seq_number();
    let new_seq = seq.wrapping_add(this.offset(seq) as u32);
    let ack = tcp.ack_number();
    let new_ack = ack.wrapping_sub(ack_offset(&other, ack) as u32);
    if new_seq == seq && new_ack == ack {
        return;
    }
    let mut c = tcp.checksum();
    c = checksum::update_u32(c, seq, new_seq);
    c = checksum::update_u32(c, ack, new_ack);
    tcp.set_seq_number(new_seq);
    tcp.set_ack_number(new_ack);
    tcp.set_checksum(c);
}

/// The offset an acknowledgement (or SACK edge) of the other direction's numbers takes
/// back: `after` once past the correction point as the sender saw it.
fn ack_offset(other: &SeqAdj, n: u32) -> i32 {
    let shifted = n.wrapping_sub(other.before as u32);
    if (shifted.wrapping_sub(other.pos) as i32) > 0 {
        other.after
    } else {
        other.before
    }
}

/// Walks the options as the kernel's seqadj and synproxy walks do: EOL ends, NOP is one
/// byte, a partial option ends the walk. Calls `f` with each option's kind, length and
/// offset in the options area.
fn walk(opts: &[u8], mut f: impl FnMut(u8, usize, usize)) {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            OPT_END => return,
            OPT_NOP => i += 1,
            kind => {
                let Some(&len) = opts.get(i + 1) else {
                    return;
                };
                let len = usize::from(len);
                if len < 2 || i + len > opts.len() {
                    return;
                }
                f(kind, len, i);
                i += len;
            }
        }
    }
}

/// `nf_ct_sack_adjust`: the blocks of every SACK option, by the other direction's offset.
fn sack_adjust(tcp: &mut TcpPacket<&mut [u8]>, other: &SeqAdj) {
    if other.before == 0 && other.after == 0 {
        return;
    }
    let mut blocks = [0usize; 8];
    let mut n = 0;
    walk(tcp.options(), |kind, len, at| {
        if kind == OPT_SACKRNG && len >= 10 && (len - 2) % 8 == 0 {
            let mut b = at + 2;
            while b + 8 <= at + len && n < blocks.len() {
                blocks[n] = b;
                n += 1;
                b += 8;
            }
        }
    });
    for &b in &blocks[..n] {
        for edge in [b, b + 4] {
            let o = tcp.options();
            let v = u32::from_be_bytes([o[edge], o[edge + 1], o[edge + 2], o[edge + 3]]);
            replace4(tcp, edge, v.wrapping_sub(ack_offset(other, v) as u32));
        }
    }
}

/// `synproxy_tstamp_adjust`: the server's timestamps (reply) brought down to the cookie
/// timestamp the client knows, the client's echoes (original) back up to the server's.
pub fn tstamp_adjust(tcp: &mut TcpPacket<&mut [u8]>, reply: bool, tsoff: u32) {
    if tsoff == 0 {
        return;
    }
    let mut found = None;
    walk(tcp.options(), |kind, len, at| {
        if found.is_none() && kind == OPT_TSTAMP && len == 10 {
            found = Some(at);
        }
    });
    let Some(at) = found else {
        return;
    };
    let (at, add) = if reply {
        (at + 2, tsoff.wrapping_neg())
    } else {
        (at + 6, tsoff)
    };
    let o = tcp.options();
    let v = u32::from_be_bytes([o[at], o[at + 1], o[at + 2], o[at + 3]]);
    replace4(tcp, at, v.wrapping_add(add));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Ipv4Packet;
    use std::net::Ipv4Addr;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// A TCP header with `opts` (NOP-padded to a multiple of 4), checksummed.
    fn header(seq: u32, ack: u32, opts: &[u8]) -> Vec<u8> {
        let olen = opts.len().div_ceil(4) * 4;
        let mut b = vec![0u8; 20 + olen];
        b[20..20 + opts.len()].copy_from_slice(opts);
        for x in &mut b[20 + opts.len()..] {
            *x = OPT_NOP;
        }
        let mut t = TcpPacket::new_unchecked(&mut b[..]);
        t.set_header_len((20 + olen) as u8);
        t.set_seq_number(seq);
        t.set_ack_number(ack);
        t.fill_checksum(A, B);
        b
    }

    fn ok(b: &[u8]) -> bool {
        TcpPacket::new_checked(b).unwrap().verify_checksum(A, B)
    }

    #[test]
    fn seq_ack_and_sack_blocks_move_by_the_offsets_checksum_kept() {
        let adj = [
            SeqAdj::default(),
            SeqAdj {
                pos: 0,
                before: 1000,
                after: 1000,
            },
        ];
        // An odd-aligned SACK option (one NOP before it) with two blocks.
        let mut sack = vec![OPT_NOP, OPT_SACKRNG, 18];
        for v in [5000u32, 6000, 7000, 8000] {
            sack.extend_from_slice(&v.to_be_bytes());
        }
        let mut b = header(1, 3000, &sack);
        adjust(&mut TcpPacket::new_unchecked(&mut b[..]), &adj, false);
        let t = TcpPacket::new_checked(&b[..]).unwrap();
        assert_eq!((t.seq_number(), t.ack_number()), (1, 2000));
        let o = t.options();
        let edge = |i: usize| u32::from_be_bytes([o[3 + i], o[4 + i], o[5 + i], o[6 + i]]);
        assert_eq!(
            [edge(0), edge(4), edge(8), edge(12)],
            [4000, 5000, 6000, 7000]
        );
        assert!(ok(&b));
        // The reply direction's own numbers go up; nothing of the other is adjusted.
        let mut b = header(10, 20, &[]);
        adjust(&mut TcpPacket::new_unchecked(&mut b[..]), &adj, true);
        let t = TcpPacket::new_checked(&b[..]).unwrap();
        assert_eq!((t.seq_number(), t.ack_number()), (1010, 20));
        assert!(ok(&b));
        let _ = Ipv4Packet::new_unchecked(&[0u8; 20][..]);
    }

    #[test]
    fn timestamps_shift_by_direction() {
        let mut ts = vec![OPT_NOP, OPT_NOP, OPT_TSTAMP, 10];
        ts.extend_from_slice(&100u32.to_be_bytes());
        ts.extend_from_slice(&200u32.to_be_bytes());
        let mut b = header(0, 0, &ts);
        tstamp_adjust(&mut TcpPacket::new_unchecked(&mut b[..]), true, 30);
        assert_eq!(&b[24..32], &[0, 0, 0, 70, 0, 0, 0, 200]);
        assert!(ok(&b));
        tstamp_adjust(&mut TcpPacket::new_unchecked(&mut b[..]), false, 30);
        assert_eq!(&b[24..32], &[0, 0, 0, 70, 0, 0, 0, 230]);
        assert!(ok(&b));
        // A truncated option is left alone.
        let mut b = header(0, 0, &[OPT_TSTAMP, 10, 1, 2]);
        let before = b.clone();
        tstamp_adjust(&mut TcpPacket::new_unchecked(&mut b[..]), true, 30);
        assert_eq!(b, before);
    }
}
