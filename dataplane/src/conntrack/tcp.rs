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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegKind {
    Syn,
    SynAck,
    Fin,
    Ack,
    Rst,
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
