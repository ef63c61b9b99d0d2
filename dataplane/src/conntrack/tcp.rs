//! TCP connection states as netfilter tracks them (for timeouts, not TCP's own), with the
//! kernel's transition table (`tcp_conntracks` in nf_conntrack_proto_tcp.c).

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    None = 0,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
    SynSent2,
}

impl TcpState {
    /// The name /proc/net/nf_conntrack prints.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }
}

/// What the table says for a segment: a new state, "ignore" (accept without updating),
/// or "invalid".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    To(TcpState),
    Ignore,
    Invalid,
}

/// The segment kinds the table is indexed by (`get_conntrack_index`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SegKind {
    Syn,
    SynAck,
    Fin,
    Ack,
    Rst,
    #[default]
    None,
}

impl SegKind {
    pub fn of(flags: u8) -> SegKind {
        let (fin, syn, rst, ack) = (
            flags & 1 != 0,
            flags & 2 != 0,
            flags & 4 != 0,
            flags & 0x10 != 0,
        );
        if rst {
            SegKind::Rst
        } else if syn {
            if ack {
                SegKind::SynAck
            } else {
                SegKind::Syn
            }
        } else if fin {
            SegKind::Fin
        } else if ack {
            SegKind::Ack
        } else {
            SegKind::None
        }
    }
}

/// Flag combinations the kernel rejects outright (`tcp_valid_flags`): a packet with them
/// is INVALID.
pub fn valid_flags(flags: u8) -> bool {
    // ECE, CWR and PSH do not change validity; URG only goes with SYN, ACK, FIN|ACK.
    let f = flags & 0x3f & !0x08;
    matches!(
        f,
        0x02 | 0x22 | 0x12 | 0x04 | 0x14 | 0x11 | 0x31 | 0x10 | 0x30
    )
}

/// The transition of a segment of `kind` in direction `reply` from `state`.
pub fn transition(reply: bool, kind: SegKind, state: TcpState) -> Transition {
    use TcpState::*;
    use Transition::{Ignore as IG, Invalid as IV, To};
    let (ss, sr, es, fw, cw, la, tw, cl, s2) = (
        To(SynSent),
        To(SynRecv),
        To(Established),
        To(FinWait),
        To(CloseWait),
        To(LastAck),
        To(TimeWait),
        To(Close),
        To(SynSent2),
    );
    // Columns: None SynSent SynRecv Established FinWait CloseWait LastAck TimeWait Close SynSent2
    let row: [Transition; 10] = match (reply, kind) {
        (false, SegKind::Syn) => [ss, ss, IG, IG, IG, IG, IG, ss, ss, s2],
        (false, SegKind::SynAck) => [IV, IV, sr, IV, IV, IV, IV, IV, IV, sr],
        (false, SegKind::Fin) => [IV, IV, fw, fw, la, la, la, tw, cl, IV],
        (false, SegKind::Ack) => [es, IV, es, es, cw, cw, tw, tw, cl, IV],
        (false, SegKind::Rst) => [IV, cl, cl, cl, cl, cl, cl, cl, cl, cl],
        (false, SegKind::None) => [IV; 10],
        (true, SegKind::Syn) => [IV, s2, IV, IV, IV, IV, IV, ss, IV, s2],
        (true, SegKind::SynAck) => [IV, sr, IG, IG, IG, IG, IG, IG, IG, sr],
        (true, SegKind::Fin) => [IV, IV, fw, fw, la, la, la, tw, cl, IV],
        (true, SegKind::Ack) => [IV, IG, sr, es, cw, cw, tw, tw, cl, IG],
        (true, SegKind::Rst) => [IV, cl, cl, cl, cl, cl, cl, cl, cl, cl],
        (true, SegKind::None) => [IV; 10],
    };
    row[state as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_and_close() {
        use TcpState::*;
        let t = |reply, flags, s| transition(reply, SegKind::of(flags), s);
        assert_eq!(t(false, 0x02, None), Transition::To(SynSent));
        assert_eq!(t(true, 0x12, SynSent), Transition::To(SynRecv));
        assert_eq!(t(false, 0x10, SynRecv), Transition::To(Established));
        assert_eq!(t(false, 0x11, Established), Transition::To(FinWait));
        assert_eq!(t(true, 0x10, FinWait), Transition::To(CloseWait));
        assert_eq!(t(true, 0x11, CloseWait), Transition::To(LastAck));
        assert_eq!(t(false, 0x10, LastAck), Transition::To(TimeWait));
        assert_eq!(t(false, 0x04, Established), Transition::To(Close));
        // A SYN/ACK from the originator never starts anything.
        assert_eq!(t(false, 0x12, None), Transition::Invalid);
        // A mid-stream ACK picks the connection up as ESTABLISHED (tcp_loose).
        assert_eq!(t(false, 0x10, None), Transition::To(Established));
        assert!(valid_flags(0x02) && valid_flags(0x18) && !valid_flags(0x03) && !valid_flags(0x00));
    }
}

/// Per-direction window tracking state (struct ip_ct_tcp_state).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpWindow {
    pub td_end: u32,
    pub td_maxend: u32,
    pub td_maxwin: u32,
    /// The highest ACK this side sent (valid once `MAXACK_SET`): a RST from the other
    /// side before it is stale.
    pub td_maxack: u32,
    pub td_scale: u8,
    pub flags: u8,
}

/// `IP_CT_TCP_FLAG_*` bits kept per direction (the last two only in `LastSegment::flags`).
pub mod wflags {
    pub const WINDOW_SCALE: u8 = 0x01;
    pub const SACK_PERM: u8 = 0x02;
    pub const CLOSE_INIT: u8 = 0x04;
    pub const BE_LIBERAL: u8 = 0x08;
    pub const DATA_UNACKNOWLEDGED: u8 = 0x10;
    pub const MAXACK_SET: u8 = 0x20;
    /// A SYN was let through in LAST_ACK: the ACK answering it is a challenge ACK.
    pub const EXP_CHALLENGE_ACK: u8 = 0x40;
    pub const SIMULTANEOUS_OPEN: u8 = 0x80;
}

/// What the kernel remembers of the last segment it tracked or ignored (the `last_*`
/// fields and `retrans` of struct ip_ct_tcp): retransmission counting, getting back in
/// sync from an ignored SYN, and the RST checks use it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastSegment {
    pub seq: u32,
    pub ack: u32,
    pub end: u32,
    /// The raw (unscaled) window.
    pub win: u16,
    pub kind: SegKind,
    pub reply: bool,
    /// How many times the same ACK segment was seen in a row.
    pub retrans: u8,
    /// SACK_PERM / WINDOW_SCALE of an ignored SYN, EXP_CHALLENGE_ACK, SIMULTANEOUS_OPEN.
    pub flags: u8,
    /// The window scale of an ignored SYN.
    pub wscale: u8,
}

/// A TCP connection's window tracking, kept beside its entry (only TCP needs it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpTrack {
    /// Original direction then reply.
    pub win: [TcpWindow; 2],
    /// The last segment seen (retransmissions, RST checks, resynchronisation).
    pub last: LastSegment,
}

/// `tcp_in_window`'s verdict: in window, outside it but harmless (accepted without
/// updating the entry), or INVALID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowCheck {
    Accept,
    Ignore,
    Invalid,
}

/// `after(a, b)`: a is later than b in sequence space.
pub fn after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

pub fn before(a: u32, b: u32) -> bool {
    after(b, a)
}

/// What window tracking needs from a segment.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    pub flags: u8,
    /// Payload length (after the TCP header).
    pub payload: u32,
    pub options: &'a [u8],
}

impl Segment<'_> {
    /// `segment_seq_plus_len`: the sequence number after this segment.
    pub fn end(&self) -> u32 {
        self.seq
            .wrapping_add(self.payload)
            .wrapping_add(u32::from(self.flags & 0x02 != 0))
            .wrapping_add(u32::from(self.flags & 0x01 != 0))
    }

    /// Reads segment fields from a TCP header and its payload.
    pub fn parse(l4: &[u8]) -> Option<Segment<'_>> {
        let h = l4.get(..20)?;
        let doff = usize::from(h[12] >> 4) * 4;
        let options = l4.get(20..doff)?;
        Some(Segment {
            seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
            win: u16::from_be_bytes([h[14], h[15]]),
            flags: h[13],
            payload: (l4.len() - doff) as u32,
            options,
        })
    }

    fn walk(&self) -> impl Iterator<Item = (u8, &[u8])> {
        crate::wire::tcp::walk_options(self.options)
    }

    /// `tcp_options`: window scale and SACK-permitted from a SYN. Options present reset
    /// what an earlier SYN announced (all flags but BE_LIBERAL go).
    pub fn learn_options(&self, w: &mut TcpWindow) {
        if self.options.is_empty() {
            return;
        }
        w.td_scale = 0;
        w.flags &= wflags::BE_LIBERAL;
        for (kind, body) in self.walk() {
            match (kind, body) {
                (3, [s]) => {
                    w.flags |= wflags::WINDOW_SCALE;
                    w.td_scale = (*s).min(14);
                }
                (4, []) => w.flags |= wflags::SACK_PERM,
                _ => {}
            }
        }
    }

    /// `tcp_sack`: the highest right edge of the SACK blocks beyond `ack`.
    fn sack(&self, ack: u32) -> u32 {
        let mut sack = ack;
        for (kind, body) in self.walk() {
            if kind == 5 {
                for block in body.chunks_exact(8) {
                    let right = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
                    if after(right, sack) {
                        sack = right;
                    }
                }
            }
        }
        sack
    }
}

/// `tcp_new`'s initialisation of the originator's state from the first segment.
pub fn init_window(w: &mut [TcpWindow; 2], seg: &Segment, syn: bool) {
    *w = [TcpWindow::default(); 2];
    let s = &mut w[0];
    s.td_end = seg.end();
    s.td_maxwin = u32::from(seg.win).max(1);
    if syn {
        s.td_maxend = s.td_end;
        seg.learn_options(s);
    } else {
        s.td_maxend = s.td_end.wrapping_add(s.td_maxwin);
        // Picked up mid-stream: history is lost, be liberal in both directions.
        w[0].flags = wflags::SACK_PERM | wflags::BE_LIBERAL;
        w[1].flags = wflags::SACK_PERM | wflags::BE_LIBERAL;
    }
}

/// `tcp_init_sender`: a SYN (or SYN/ACK) starts this side's sequence space over.
fn init_sender(sender: &mut TcpWindow, receiver: &mut TcpWindow, seg: &Segment, reply: bool) {
    sender.td_end = seg.end();
    sender.td_maxend = sender.td_end;
    sender.td_maxwin = u32::from(seg.win).max(1);
    seg.learn_options(sender);
    // Window scaling only when both sides offered it (RFC 1323).
    let both = sender.flags & receiver.flags & wflags::WINDOW_SCALE != 0;
    if reply && !both {
        sender.td_scale = 0;
        receiver.td_scale = 0;
    }
}

/// `MAXACKWINDOW`: how far below the receiver's end an ACK may lag.
fn max_ack_window(sender: &TcpWindow) -> u32 {
    sender.td_maxwin.max(66000)
}

/// `tcp_in_window`: whether the segment is within the windows seen so far; updates them
/// (also when the answer is not Accept, as the kernel does), and counts retransmitted
/// ACK segments in `last`.
pub fn in_window(
    w: &mut [TcpWindow; 2],
    last: &mut LastSegment,
    reply: bool,
    state: TcpState,
    seg: &Segment,
    liberal: bool,
    receiver_offset: i32,
) -> WindowCheck {
    let [orig, rep] = w;
    let (sender, receiver) = if reply { (rep, orig) } else { (orig, rep) };
    let mut seq = seg.seq;
    let mut ack = seg.ack;
    let mut end = seg.end();
    let syn = seg.flags & 0x02 != 0;
    let has_ack = seg.flags & 0x10 != 0;
    let rst = seg.flags & 0x04 != 0;
    let mut sack = if receiver.flags & wflags::SACK_PERM != 0 {
        seg.sack(ack)
    } else {
        ack
    };
    // What the receiver's numbers were shifted by (seqadj: a helper's rewrite, SYNPROXY):
    // the acknowledgement is taken back to the numbers this side tracks.
    ack = ack.wrapping_sub(receiver_offset as u32);
    sack = sack.wrapping_sub(receiver_offset as u32);
    if sender.td_maxwin == 0 {
        if syn {
            // SYN/ACK in reply to a SYN (or a SYN in a simultaneous open).
            init_sender(sender, receiver, seg, reply);
            if !has_ack {
                return WindowCheck::Accept;
            }
        } else {
            sender.td_end = end;
            let swin = u32::from(seg.win) << sender.td_scale;
            sender.td_maxwin = swin.max(1);
            sender.td_maxend = end.wrapping_add(sender.td_maxwin);
            if receiver.td_maxwin == 0 {
                receiver.td_end = sack;
                receiver.td_maxend = sack;
            } else if sack == receiver.td_end.wrapping_add(1) {
                // Likely the answer to a keepalive.
                receiver.td_end = receiver.td_end.wrapping_add(1);
            }
        }
    } else if syn
        && after(end, sender.td_end)
        && matches!(state, TcpState::SynSent | TcpState::SynRecv)
    {
        // A reinitialised connection may start over with higher sequence numbers
        // (RFC 793); its options may differ too.
        init_sender(sender, receiver, seg, reply);
        if reply && !has_ack {
            return WindowCheck::Accept;
        }
    }
    if !has_ack || (rst && ack == 0) {
        ack = receiver.td_end;
        sack = receiver.td_end;
    }
    if rst && seq == 0 && state == TcpState::SynSent {
        // A RST answering a SYN.
        seq = sender.td_end;
        end = sender.td_end;
    }
    // Outside the window: INVALID or ignored, unless liberal (nf_tcp_log_invalid).
    let liberal = liberal || sender.flags & wflags::BE_LIBERAL != 0;
    let refuse = |verdict| {
        if liberal {
            WindowCheck::Accept
        } else {
            verdict
        }
    };
    let ack_above_lower = after(
        sack,
        receiver
            .td_end
            .wrapping_sub(max_ack_window(sender))
            .wrapping_sub(1),
    );
    let ack_below_upper = before(sack, receiver.td_end.wrapping_add(1));
    let end_above_lower = after(
        end,
        sender
            .td_end
            .wrapping_sub(receiver.td_maxwin)
            .wrapping_sub(1),
    );
    if !before(seq, sender.td_maxend.wrapping_add(1)) {
        // Some stacks send more than the receive window allows: when only that is wrong,
        // remember the data so that its ACK is not over the upper bound later.
        let overshot = end.wrapping_sub(sender.td_maxend).wrapping_add(1);
        if receiver.td_maxwin != 0
            && end_above_lower
            && ack_above_lower
            && overshot <= receiver.td_maxwin
            && ack_below_upper
        {
            sender.td_end = end;
            sender.flags |= wflags::DATA_UNACKNOWLEDGED;
            return refuse(WindowCheck::Ignore);
        }
        return refuse(WindowCheck::Invalid);
    }
    if !ack_below_upper {
        return refuse(WindowCheck::Invalid);
    }
    if !(receiver.td_maxwin == 0 || end_above_lower) || !ack_above_lower {
        // Old data retransmitted, or a very late ACK.
        return refuse(WindowCheck::Ignore);
    }
    let mut win = u32::from(seg.win);
    if !syn {
        win <<= sender.td_scale;
    }
    let swin = win.wrapping_add(sack.wrapping_sub(ack));
    if sender.td_maxwin < swin {
        sender.td_maxwin = swin;
    }
    if after(end, sender.td_end) {
        sender.td_end = end;
        sender.flags |= wflags::DATA_UNACKNOWLEDGED;
    }
    if has_ack {
        if sender.flags & wflags::MAXACK_SET == 0 || after(ack, sender.td_maxack) {
            sender.td_maxack = ack;
        }
        sender.flags |= wflags::MAXACK_SET;
    }
    if receiver.td_maxwin != 0 && after(end, sender.td_maxend) {
        receiver.td_maxwin = receiver
            .td_maxwin
            .wrapping_add(end.wrapping_sub(sender.td_maxend));
    }
    if after(sack.wrapping_add(win), receiver.td_maxend.wrapping_sub(1)) {
        receiver.td_maxend = sack.wrapping_add(win);
        if win == 0 {
            receiver.td_maxend = receiver.td_maxend.wrapping_add(1);
        }
    }
    if ack == receiver.td_end {
        receiver.flags &= !wflags::DATA_UNACKNOWLEDGED;
    }
    // The same ACK segment again (same direction, sequence, ACK, end and window) is a
    // retransmission; anything else starts the count over.
    if SegKind::of(seg.flags) == SegKind::Ack {
        let same = last.reply == reply
            && last.seq == seq
            && last.ack == ack
            && last.end == end
            && last.win == seg.win;
        if same {
            // A u8 in the kernel too: it wraps.
            last.retrans = last.retrans.wrapping_add(1);
        } else {
            *last = LastSegment {
                seq,
                ack,
                end,
                win: seg.win,
                reply,
                retrans: 0,
                ..*last
            };
        }
    }
    WindowCheck::Accept
}
