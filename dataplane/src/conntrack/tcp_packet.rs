//! TCP's part of tracking a packet (`nf_conntrack_tcp_packet`, `nf_tcp_handle_invalid`):
//! the state machine around the transition table and the window tracking of `tcp.rs`, and
//! when a SYN reopens a closed connection's tuple.

use super::tcp::{self, TcpState};
use super::*;

/// What a TCP segment does to its entry (`nf_conntrack_tcp_packet`).
pub(super) enum TcpVerdict {
    Invalid,
    /// Accepted, the entry's timeout left as it is (ignored segments, SYN retransmissions).
    Unrefreshed,
    /// Accepted, the entry lives this many seconds more.
    Refresh(u32),
    /// A RST before any reply: the entry dies now.
    Kill,
}

/// Whether a SYN on `e` reopens its tuple: in TIME_WAIT or CLOSE, after a FIN exchange,
/// or when this side's RST closed it. The kernel kills the old entry then and tracks the
/// SYN as a new connection; otherwise the SYN is ignored and the entry kept.
pub(super) fn tcp_reopens<A>(
    e: &ConnEntry<A>,
    x: &tcp::TcpTrack,
    reply: bool,
    kind: tcp::SegKind,
) -> bool {
    let closing_flags = x.win[0].flags | x.win[1].flags;
    tcp::transition(reply, kind, e.tcp) == tcp::Transition::To(TcpState::SynSent)
        && e.tcp >= TcpState::TimeWait
        && (closing_flags & tcp::wflags::CLOSE_INIT != 0
            || (x.last.reply == reply && x.last.kind == tcp::SegKind::Rst))
}

/// The TCP state machine around the transition table and window tracking, after
/// `nf_conntrack_tcp_packet`.
pub(super) fn tcp_update<A>(
    cfg: &CtConfig,
    e: &mut ConnEntry<A>,
    x: &mut tcp::TcpTrack,
    reply: bool,
    l4: &[u8],
    now_ns: u64,
    receiver_offset: i32,
) -> TcpVerdict {
    use tcp::{wflags, SegKind, Transition, WindowCheck};
    use TcpState as S;
    let Some(seg) = tcp::Segment::parse(l4) else {
        return TcpVerdict::Invalid;
    };
    let kind = SegKind::of(seg.flags);
    let dir = usize::from(reply);
    let assured = e.status & status::ASSURED != 0;
    let seen_reply = e.status & status::SEEN_REPLY != 0;
    let mut old = e.tcp;
    let mut new = match tcp::transition(reply, kind, old) {
        Transition::Invalid => return TcpVerdict::Invalid,
        // A SYN in TIME_WAIT/CLOSE that does not reopen (track() removed those) is ignored.
        Transition::To(S::SynSent) if old >= S::TimeWait => None,
        Transition::Ignore => None,
        Transition::To(s) => Some(s),
    };
    // Whether the window check is skipped (RSTs answering segments we let through).
    let mut trusted = false;
    match new {
        None => {
            let last = x.last;
            if kind == SegKind::SynAck
                && last.kind == SegKind::Syn
                && last.reply != reply
                && seg.ack == last.end
            {
                // The SYN/ACK answers a SYN we ignored: both ends are in sync and we are
                // not. Take the SYN's side from what was noted of it, start this side over.
                old = S::SynSent;
                new = Some(S::SynRecv);
                x.last.flags &= !wflags::EXP_CHALLENGE_ACK;
                let syn_side = &mut x.win[usize::from(last.reply)];
                syn_side.td_end = last.end;
                syn_side.td_maxend = last.end;
                syn_side.td_maxwin = u32::from(last.win).max(1);
                syn_side.td_scale = last.wscale;
                syn_side.flags = x.last.flags;
                let this_side = &mut x.win[dir];
                *this_side = tcp::TcpWindow {
                    flags: this_side.flags & wflags::BE_LIBERAL,
                    ..Default::default()
                };
            } else {
                x.last.kind = kind;
                x.last.reply = reply;
                x.last.seq = seg.seq;
                x.last.end = seg.end();
                x.last.win = seg.win;
                if kind == SegKind::Syn && !reply {
                    // Note the SYN's options for the SYN/ACK that may answer it.
                    let mut seen = tcp::TcpWindow::default();
                    seg.learn_options(&mut seen);
                    x.last.flags = seen.flags & (wflags::WINDOW_SCALE | wflags::SACK_PERM);
                    x.last.wscale = if seen.flags & wflags::WINDOW_SCALE != 0 {
                        seen.td_scale
                    } else {
                        0
                    };
                    // The peer may answer a SYN in LAST_ACK with a challenge ACK (RFC 5961).
                    if old == S::LastAck {
                        x.last.flags |= wflags::EXP_CHALLENGE_ACK;
                    }
                }
                if old == S::SynSent && kind == SegKind::Ack && reply {
                    // Possibly a challenge ACK answering the SYN.
                    x.last.ack = seg.ack;
                }
                return TcpVerdict::Unrefreshed;
            }
        }
        Some(S::TimeWait)
            if old == S::LastAck
                && kind == SegKind::Ack
                && x.last.reply != reply
                && x.last.kind == SegKind::Syn
                && x.last.flags & wflags::EXP_CHALLENGE_ACK != 0 =>
        {
            // A challenge ACK to a SYN, not the ACK of the last FIN.
            x.last.flags &= !wflags::EXP_CHALLENGE_ACK;
            return TcpVerdict::Unrefreshed;
        }
        Some(S::SynSent2) => x.last.flags |= wflags::SIMULTANEOUS_OPEN,
        Some(S::SynRecv)
            if reply && kind == SegKind::Ack && x.last.flags & wflags::SIMULTANEOUS_OPEN != 0 =>
        {
            new = Some(S::Established);
        }
        Some(S::Close) if kind == SegKind::Rst => {
            if matches!(
                old,
                S::FinWait | S::LastAck | S::TimeWait | S::Close | S::CloseWait
            ) {
                // Closing already: the tuple may be in use again, the sequence state is
                // stale.
                trusted = true;
            } else {
                let established = old == S::Established && assured;
                let peer = x.win[1 - dir];
                // The RST must not be before what the peer has acknowledged (td_maxack is
                // stale after a SYN we let through).
                let mut check_answers = true;
                if peer.flags & wflags::MAXACK_SET != 0 && x.last.kind != SegKind::Syn {
                    let seq = seg.seq;
                    if seq == 0 && !established {
                        // Most likely the answer to a SYN we let through.
                        check_answers = false;
                    } else if tcp::before(seq, peer.td_maxack) && !cfg.tcp_ignore_invalid_rst {
                        return TcpVerdict::Invalid;
                    } else if !established || seq == peer.td_maxack {
                        check_answers = false;
                    } else if x.last.kind == SegKind::Ack
                        && x.last.reply == reply
                        && seq == x.last.end
                    {
                        // The RST right after this side's data.
                        check_answers = false;
                    } else {
                        // In the window but not at the exact next sequence number: the
                        // peer will answer with a challenge ACK, the connection stays.
                        new = Some(old);
                    }
                }
                if check_answers {
                    let answers_ignored = ((seen_reply && x.last.kind == SegKind::Syn)
                        || (!assured && x.last.kind == SegKind::Ack))
                        && seg.ack == x.last.end;
                    let answers_challenge = old == S::SynSent
                        && x.last.kind == SegKind::Ack
                        && x.last.reply
                        && seg.seq == x.last.ack;
                    // A RST answering a SYN or ACK we let through unchecked: it may
                    // acknowledge what we ignored, so no window check.
                    trusted = answers_ignored || answers_challenge;
                }
            }
        }
        _ => {}
    }
    let Some(new) = new else {
        return TcpVerdict::Unrefreshed;
    };
    if !trusted {
        match tcp::in_window(
            &mut x.win,
            &mut x.last,
            reply,
            e.tcp,
            &seg,
            cfg.tcp_be_liberal,
            receiver_offset,
        ) {
            WindowCheck::Accept => {}
            WindowCheck::Ignore => return TcpVerdict::Unrefreshed,
            WindowCheck::Invalid => {
                tcp_invalid(cfg, e, x, reply, kind, assured, now_ns);
                return TcpVerdict::Invalid;
            }
        }
    }
    x.last.kind = kind;
    x.last.reply = reply;
    e.tcp = new;
    if old != new && new == S::FinWait {
        x.win[dir].flags |= wflags::CLOSE_INIT;
    }
    let timeouts = &cfg.tcp_timeouts;
    let max_retrans = cfg.tcp_timeout_max_retrans;
    let unacked = cfg.tcp_timeout_unacknowledged;
    let for_state = timeouts[new as usize];
    let data_unacked = (x.win[0].flags | x.win[1].flags) & wflags::DATA_UNACKNOWLEDGED != 0;
    let mut timeout = if x.last.retrans >= cfg.tcp_max_retrans && for_state > max_retrans {
        // The same segment over and over: the peer may be gone.
        max_retrans
    } else if kind == SegKind::Rst {
        timeouts[S::Close as usize]
    } else if data_unacked && for_state > unacked {
        // Data one side sent and the other has not acknowledged yet: the connection
        // may be dead, keep it no longer than the unacknowledged timeout.
        unacked
    } else if x.last.win == 0 && for_state > max_retrans {
        // The last ACK closed the window (or none was seen yet).
        max_retrans
    } else {
        for_state
    };
    if !seen_reply {
        if kind == SegKind::Rst {
            return TcpVerdict::Kill;
        }
        if kind == SegKind::Syn && old == S::SynSent {
            // A retransmitted SYN does not renew the timeout: a client or NAT reusing
            // the port could otherwise keep the entry alive forever.
            return TcpVerdict::Unrefreshed;
        }
        // A picked-up connection without a reply: keep it short.
        if new == S::Established {
            timeout = timeout.min(unacked);
        }
    } else if !assured && matches!(old, S::SynRecv | S::Established) && new == S::Established {
        e.status |= status::ASSURED;
    }
    TcpVerdict::Refresh(timeout)
}

/// `nf_tcp_handle_invalid`: a FIN or RST out of the window answering one from the other
/// side shortens an ASSURED connection's timeout to the unacknowledged one, so that a
/// connection conntrack lost sync with does not linger for days.
pub(super) fn tcp_invalid<A>(
    cfg: &CtConfig,
    e: &mut ConnEntry<A>,
    x: &mut tcp::TcpTrack,
    reply: bool,
    kind: tcp::SegKind,
    assured: bool,
    now_ns: u64,
) {
    use tcp::SegKind;
    if !assured || !matches!(kind, SegKind::Rst | SegKind::Fin) {
        return;
    }
    if x.last.reply != reply && matches!(x.last.kind, SegKind::Fin | SegKind::Rst) {
        let left = e.timeout_ns.saturating_sub(now_ns);
        let unacked = u64::from(cfg.tcp_timeout_unacknowledged) * NS;
        if left >= 120 * NS && left > unacked {
            e.timeout_ns = now_ns + unacked;
        }
    } else {
        x.last.kind = kind;
        x.last.reply = reply;
    }
}
