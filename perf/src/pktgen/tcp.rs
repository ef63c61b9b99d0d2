//! Stateful TCP: each flow slot carries one connection at a time, and the generator plays
//! both ends. The client transmits on the tx port (SYN with MSS, the handshake's ACK,
//! `segments` stamped data segments within the peer's window, FIN/ACK once every byte was
//! acknowledged, the final ACK); the server answers on the rx port without any state of its
//! own, from each segment it receives (SYN -> SYN/ACK, data -> ACK, FIN -> FIN/ACK), to the
//! tuple it received, so NAT in between (MASQUERADE, DNAT) is transparent. The client finds
//! its connection by the reply tuple in a table built once; sequence and acknowledgement
//! numbers are exact, so routers that track windows (conntrack with tcp_loose=0) accept
//! every segment. Nothing is allocated per packet.

use super::fields::{FlowSpec, FlowTuple};
use super::packet::{Macs, Stamp, FCS, MAGIC, STAMP_LEN};
use super::rx::{RxCounter, RxReport};
use super::{Clock, GenPort, RunConfig, MAX_BURST};
use dataplane::port::MacAddr;
use dataplane::wire::checksum;
use dataplane::wire::IpProtocol;
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

const ETH: usize = 14;
const IP: usize = 20;
const TCP: usize = 20;
/// Ethernet's minimum frame (without FCS): shorter frames are padded.
const MIN_ETH: usize = 60;
/// The smallest data segment on the wire (FCS included): headers plus the stamp.
pub const MIN_TCP_SIZE: u16 = (ETH + IP + TCP + STAMP_LEN + FCS) as u16;
/// The window both ends advertise (no window scaling).
pub const WINDOW: u16 = 65535;
/// Bytes the client keeps in flight at most (under the advertised window).
const IN_FLIGHT: u32 = 32768;
pub const MSS: u16 = 1460;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// How the connections go.
#[derive(Debug, Clone)]
pub struct TcpConfig {
    /// Connections opened per second (0: as fast as slots free up).
    pub conn_rate: f64,
    /// Data segments per connection.
    pub segments: u32,
    /// Open at most this many connections (None: until the run's duration is over).
    pub connections: Option<u64>,
    /// A connection without progress for this long counts as failed.
    pub timeout_ns: u64,
    /// Data segment size on the wire, FCS included (at least `MIN_TCP_SIZE`).
    pub size: u16,
    /// Without progress for this long, the client sends again what is unacknowledged (SYN,
    /// data from the first unacknowledged byte, FIN); 0: never.
    pub rto_ns: u64,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            conn_rate: 1000.0,
            segments: 4,
            connections: None,
            timeout_ns: 2_000_000_000,
            size: 128,
            rto_ns: 200_000_000,
        }
    }
}

/// One TCP segment as read from a frame.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    pub tuple: FlowTuple,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: usize,
}

impl Segment {
    /// Ethernet + IPv4 (first fragment, any header length) + TCP; None for anything else.
    pub fn parse(f: &[u8]) -> Option<Segment> {
        if f.get(12..14)? != [0x08, 0x00] {
            return None;
        }
        let ip = f.get(ETH..)?;
        let ihl = usize::from(ip.first()? & 0x0f) * 4;
        if ihl < IP || ip[0] >> 4 != 4 || *ip.get(9)? != 6 {
            return None;
        }
        if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
            return None;
        }
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
        let tcp = ip.get(ihl..total)?;
        let doff = usize::from(*tcp.get(12)? >> 4) * 4;
        if doff < TCP || doff > tcp.len() {
            return None;
        }
        let a4 = |o: usize| Ipv4Addr::new(ip[o], ip[o + 1], ip[o + 2], ip[o + 3]);
        let u32_at = |o: usize| u32::from_be_bytes([tcp[o], tcp[o + 1], tcp[o + 2], tcp[o + 3]]);
        let mac = |o: usize| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&f[o..o + 6]);
            MacAddr(m)
        };
        Some(Segment {
            dst_mac: mac(0),
            src_mac: mac(6),
            tuple: FlowTuple {
                src: a4(12),
                dst: a4(16),
                sport: u16::from_be_bytes([tcp[0], tcp[1]]),
                dport: u16::from_be_bytes([tcp[2], tcp[3]]),
            },
            seq: u32_at(4),
            ack: u32_at(8),
            flags: tcp[13],
            payload: tcp.len() - doff,
        })
    }
}

/// What one frame to write carries.
#[derive(Debug, Clone, Copy)]
pub struct SegmentSpec {
    pub macs: Macs,
    pub tuple: FlowTuple,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// Payload bytes (a stamp first when `stamp` is set; zeros otherwise).
    pub payload: usize,
    pub stamp: Option<Stamp>,
}

/// Writes an Ethernet/IPv4/TCP frame (an MSS option on SYNs, valid IPv4 and TCP checksums,
/// padded to Ethernet's minimum) into `buf`; returns its length, or 0 if `buf` is short.
pub fn write_tcp(buf: &mut [u8], s: &SegmentSpec) -> usize {
    let opts = if s.flags & SYN != 0 { 4 } else { 0 };
    let payload = if s.stamp.is_some() {
        s.payload.max(STAMP_LEN)
    } else {
        s.payload
    };
    let tcp_len = TCP + opts + payload;
    let ip_len = IP + tcp_len;
    let len = (ETH + ip_len).max(MIN_ETH);
    if buf.len() < len || ip_len > usize::from(u16::MAX) {
        return 0;
    }
    buf[0..6].copy_from_slice(&s.macs.dst.0);
    buf[6..12].copy_from_slice(&s.macs.src.0);
    buf[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut buf[ETH..ETH + IP];
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    ip[4..8].copy_from_slice(&[0, 0, 0x40, 0]);
    ip[8] = 64;
    ip[9] = 6;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&s.tuple.src.octets());
    ip[16..20].copy_from_slice(&s.tuple.dst.octets());
    let c = !checksum::data(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let tcp = &mut buf[ETH + IP..ETH + ip_len];
    tcp[0..2].copy_from_slice(&s.tuple.sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&s.tuple.dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&s.seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&s.ack.to_be_bytes());
    tcp[12] = (((TCP + opts) / 4) as u8) << 4;
    tcp[13] = s.flags;
    tcp[14..16].copy_from_slice(&WINDOW.to_be_bytes());
    tcp[16..20].copy_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    if opts > 0 {
        tcp[20..24].copy_from_slice(&[2, 4, (MSS >> 8) as u8, MSS as u8]);
    }
    let body = &mut tcp[TCP + opts..];
    body.fill(0);
    if let Some(st) = &s.stamp {
        body[0..2].copy_from_slice(&MAGIC);
        body[2..6].copy_from_slice(&st.flow.to_be_bytes());
        body[6..10].copy_from_slice(&st.seq.to_be_bytes());
        body[10..18].copy_from_slice(&st.tx_ns.to_be_bytes());
    }
    let ph = checksum::pseudo_header(s.tuple.src, s.tuple.dst, IpProtocol::Tcp, tcp_len as u32);
    let c = checksum::finish(&[ph, checksum::data(tcp)]);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    buf[ETH + ip_len..len].fill(0);
    len
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Idle,
    SynSent,
    Established,
    FinSent,
    Done,
    Failed,
}

impl State {
    fn active(self) -> bool {
        matches!(self, State::SynSent | State::Established | State::FinSent)
    }
}

const PEND_SYN: u8 = 1;
const PEND_ACK: u8 = 2;
const PEND_FIN: u8 = 4;
const PEND_LAST_ACK: u8 = 8;

/// The client's side of one connection.
#[derive(Debug, Clone, Copy, Default)]
struct Conn {
    state: State,
    /// `PEND_*`: control segments waiting to be sent.
    pend: u8,
    queued: bool,
    iss: u32,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    data_sent: u32,
    /// Last progress (a segment of the peer that moved the connection on).
    last_ns: u64,
    /// Last SYN, data or FIN sent (the retransmission timer runs from the later of this
    /// and `last_ns`).
    retx_ns: u64,
}

/// Connection counts of a TCP run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpCounts {
    /// SYNs sent (connections opened).
    pub opened: u64,
    /// SYN/ACKs accepted: handshakes the client completed.
    pub established: u64,
    /// FIN handshakes done (the final ACK sent).
    pub completed: u64,
    /// Timed out or reset.
    pub failed: u64,
    pub timed_out: u64,
    pub reset: u64,
    /// Retransmission timeouts that sent something again.
    pub retransmits: u64,
    /// Segments the client sent: data, and everything else.
    pub data_segments: u64,
    pub control_segments: u64,
    /// Segments the server sent, and replies it could not queue.
    pub server_segments: u64,
    pub server_dropped: u64,
    /// Frames that were no TCP segment of ours.
    pub foreign: u64,
    /// Frames a port refused (tx ring full; they are sent again).
    pub refused: u64,
}

/// Both ends of the generated connections.
pub struct TcpGen {
    cfg: TcpConfig,
    macs: Macs,
    tuples: Vec<FlowTuple>,
    /// The client's tuple (local address, port, remote address, port) -> slot.
    by_tuple: HashMap<(u32, u16, u32, u16), u32>,
    conns: Vec<Conn>,
    /// Per slot: data segments sent (the stamps' sequence numbers).
    seq: Vec<u32>,
    /// Slots with something to send.
    ready: VecDeque<u32>,
    /// The server's answers waiting for the rx port.
    replies: VecDeque<SegmentSpec>,
    payload: usize,
    active: u64,
    open_start: Option<u64>,
    last_sweep: u64,
    pub counts: TcpCounts,
}

/// Connections with something to send above which no new one is opened.
const OPEN_BACKLOG: usize = 4 * MAX_BURST;

/// Most server replies queued (what does not fit is dropped and counted).
const REPLY_QUEUE: usize = 16384;

impl TcpGen {
    /// One slot per flow of `flows` (their tuples must be distinct).
    pub fn new(flows: &FlowSpec, macs: Macs, cfg: TcpConfig) -> Result<TcpGen, String> {
        flows.validate()?;
        if cfg.size < MIN_TCP_SIZE || cfg.size > super::packet::MAX_SIZE {
            return Err(format!(
                "TCP segment size {} out of range: {MIN_TCP_SIZE}..{} bytes",
                cfg.size,
                super::packet::MAX_SIZE
            ));
        }
        if !(cfg.conn_rate >= 0.0 && cfg.conn_rate.is_finite()) {
            return Err("the new-connection rate must be a positive number".into());
        }
        if flows.flows > 1 << 22 {
            return Err("TCP mode holds at most 4194304 flows (connection slots)".into());
        }
        let tuples: Vec<FlowTuple> = (0..flows.flows).map(|i| flows.tuple(i)).collect();
        let mut by_tuple = HashMap::with_capacity(tuples.len());
        for (i, t) in tuples.iter().enumerate() {
            by_tuple.insert(
                (u32::from(t.src), t.sport, u32::from(t.dst), t.dport),
                i as u32,
            );
        }
        if by_tuple.len() != tuples.len() {
            return Err(format!(
                "TCP needs a distinct tuple per flow: the ranges hold {} of the {} flows",
                by_tuple.len(),
                tuples.len()
            ));
        }
        let n = tuples.len();
        Ok(TcpGen {
            payload: usize::from(cfg.size) - FCS - ETH - IP - TCP,
            cfg,
            macs,
            tuples,
            by_tuple,
            conns: vec![Conn::default(); n],
            seq: vec![0; n],
            ready: VecDeque::with_capacity(n),
            replies: VecDeque::with_capacity(REPLY_QUEUE),
            active: 0,
            open_start: None,
            last_sweep: 0,
            counts: TcpCounts::default(),
        })
    }

    pub fn config(&self) -> &TcpConfig {
        &self.cfg
    }

    /// Connections between SYN and the end of their teardown.
    pub fn active(&self) -> u64 {
        self.active
    }

    /// Whether `connections` were opened already.
    pub fn all_opened(&self) -> bool {
        self.cfg
            .connections
            .is_some_and(|n| self.counts.opened >= n)
    }

    /// Whether nothing is left to do (no open connection, no reply waiting).
    pub fn idle(&self) -> bool {
        self.active == 0 && self.replies.is_empty()
    }

    /// Data segments sent per slot (the receive side's reference for loss).
    pub fn sent_per_flow(&self) -> Vec<u64> {
        self.seq.iter().map(|&s| u64::from(s)).collect()
    }

    fn push_ready(&mut self, slot: u32) {
        let c = &mut self.conns[slot as usize];
        if !c.queued {
            c.queued = true;
            self.ready.push_back(slot);
        }
    }

    fn may_send_data(&self, c: &Conn) -> bool {
        c.state == State::Established
            && c.data_sent < self.cfg.segments
            && c.snd_nxt.wrapping_sub(c.snd_una) + self.payload as u32 <= IN_FLIGHT
    }

    /// Opens the connections due at `now` (at most `max`).
    fn open(&mut self, now: u64, max: usize) {
        let start = *self.open_start.get_or_insert(now);
        let mut due = if self.cfg.conn_rate > 0.0 {
            let allowed = (now.saturating_sub(start) as f64 * self.cfg.conn_rate / 1e9) as u64 + 1;
            allowed.saturating_sub(self.counts.opened) as usize
        } else {
            max
        };
        if let Some(n) = self.cfg.connections {
            due = due.min(n.saturating_sub(self.counts.opened) as usize);
        }
        // Back-pressure: while the generator itself is behind (many connections waiting for
        // their turn to send), opening more would only time connections out in its queue.
        let room = OPEN_BACKLOG.saturating_sub(self.ready.len());
        for _ in 0..due.min(max).min(room) {
            let slot = (self.counts.opened % self.conns.len() as u64) as u32;
            let c = &mut self.conns[slot as usize];
            if c.state.active() {
                // The slot's previous connection is still open: wait for it.
                return;
            }
            // Initial sequence numbers spread over the space, different per reuse.
            let iss = (self.counts.opened as u32)
                .wrapping_mul(0x9e37_79b9)
                .wrapping_add(0x1234_5678);
            *c = Conn {
                state: State::SynSent,
                pend: PEND_SYN,
                queued: c.queued,
                iss,
                snd_una: iss,
                snd_nxt: iss,
                rcv_nxt: 0,
                data_sent: 0,
                last_ns: now,
                retx_ns: now,
            };
            self.counts.opened += 1;
            self.active += 1;
            self.push_ready(slot);
        }
    }

    /// The next segment slot `s` sends, and what sending it changes.
    fn plan(&self, s: u32, now: u64) -> Option<(SegmentSpec, u8)> {
        let c = &self.conns[s as usize];
        let tuple = self.tuples[s as usize];
        let mut spec = SegmentSpec {
            macs: self.macs,
            tuple,
            seq: c.snd_nxt,
            ack: c.rcv_nxt,
            flags: ACK,
            payload: 0,
            stamp: None,
        };
        let what = if c.pend & PEND_SYN != 0 {
            spec.seq = c.iss;
            spec.ack = 0;
            spec.flags = SYN;
            PEND_SYN
        } else if c.pend & PEND_ACK != 0 {
            PEND_ACK
        } else if self.may_send_data(c) {
            spec.flags = ACK | PSH;
            spec.payload = self.payload;
            spec.stamp = Some(Stamp {
                flow: s,
                seq: self.seq[s as usize],
                tx_ns: now,
            });
            0
        } else if c.pend & PEND_FIN != 0 {
            spec.flags = FIN | ACK;
            PEND_FIN
        } else if c.pend & PEND_LAST_ACK != 0 {
            PEND_LAST_ACK
        } else {
            return None;
        };
        Some((spec, what))
    }

    fn commit(&mut self, s: u32, what: u8, now: u64) {
        let payload = self.payload as u32;
        let c = &mut self.conns[s as usize];
        c.pend &= !what;
        match what {
            PEND_SYN => {
                c.retx_ns = now;
                c.snd_nxt = c.iss.wrapping_add(1);
                self.counts.control_segments += 1;
            }
            0 => {
                c.retx_ns = now;
                c.snd_nxt = c.snd_nxt.wrapping_add(payload);
                c.data_sent += 1;
                self.seq[s as usize] = self.seq[s as usize].wrapping_add(1);
                self.counts.data_segments += 1;
            }
            PEND_FIN => {
                c.retx_ns = now;
                c.snd_nxt = c.snd_nxt.wrapping_add(1);
                c.state = State::FinSent;
                self.counts.control_segments += 1;
            }
            PEND_LAST_ACK => {
                c.state = State::Done;
                c.last_ns = now;
                self.active -= 1;
                self.counts.completed += 1;
                self.counts.control_segments += 1;
            }
            _ => self.counts.control_segments += 1,
        }
    }

    /// `transmit` for an in-process lab: the client on `lan`, the server on `wan`,
    /// opening what is due.
    pub fn transmit_pair(
        &mut self,
        lan: &mut dyn GenPort,
        wan: &mut dyn GenPort,
        now: u64,
        burst: usize,
    ) {
        self.transmit(&mut [lan, wan], (0, 1), now, true, burst);
    }

    /// `receive` for an in-process lab (`transmit_pair`'s ports).
    pub fn receive_pair(
        &mut self,
        lan: &mut dyn GenPort,
        wan: &mut dyn GenPort,
        rxc: &mut RxCounter,
        clock: &Clock,
    ) -> usize {
        self.receive(&mut [lan, wan], (0, 1), rxc, clock)
    }

    /// Opens what is due (when `open`), then sends a burst of client segments on
    /// `ports[tx]` and of server replies on `ports[rx]`.
    pub fn transmit(
        &mut self,
        ports: &mut [&mut dyn GenPort],
        (tx, rx): (usize, usize),
        now: u64,
        open: bool,
        burst: usize,
    ) {
        let burst = burst.clamp(1, MAX_BURST);
        if open && !self.all_opened() {
            self.open(now, burst);
        }
        // The client: one segment per ready slot and burst.
        let mut planned = [(0u32, 0u8); MAX_BURST];
        let mut specs = [None::<SegmentSpec>; MAX_BURST];
        let mut n = 0;
        while n < burst {
            let Some(s) = self.ready.pop_front() else {
                break;
            };
            self.conns[s as usize].queued = false;
            if let Some((spec, what)) = self.plan(s, now) {
                planned[n] = (s, what);
                specs[n] = Some(spec);
                n += 1;
            }
        }
        if n > 0 {
            let (_, sent) = ports[tx].tx(n, &mut |i, room| {
                specs[i].as_ref().map_or(0, |sp| write_tcp(room, sp))
            });
            for &(s, what) in &planned[..sent] {
                self.commit(s, what, now);
            }
            self.counts.refused += (n - sent) as u64;
            for &(s, _) in &planned[..n] {
                let c = &self.conns[s as usize];
                if c.state.active() && (c.pend != 0 || self.may_send_data(c)) {
                    self.push_ready(s);
                }
            }
        }
        // The server.
        let m = self.replies.len().min(burst);
        if m > 0 {
            let replies = &self.replies;
            let (_, sent) = ports[rx].tx(m, &mut |i, room| write_tcp(room, &replies[i]));
            self.replies.drain(..sent);
            self.counts.server_segments += sent as u64;
            self.counts.refused += (m - sent) as u64;
        }
    }

    /// Every 10 ms: sends again what a connection without progress for `rto_ns` has not
    /// seen acknowledged, and fails the ones without progress for the timeout.
    fn sweep(&mut self, now: u64) {
        if now.saturating_sub(self.last_sweep) < 10_000_000 || self.active == 0 {
            return;
        }
        self.last_sweep = now;
        let (rto, payload) = (self.cfg.rto_ns, self.payload as u32);
        for slot in 0..self.conns.len() {
            let c = &mut self.conns[slot];
            // A queued connection waits for the generator, not for the network: its timers
            // restart when it sends.
            if !c.state.active() || c.queued {
                continue;
            }
            if now.saturating_sub(c.last_ns) > self.cfg.timeout_ns {
                c.state = State::Failed;
                c.pend = 0;
                self.active -= 1;
                self.counts.failed += 1;
                self.counts.timed_out += 1;
                continue;
            }
            if rto == 0 || now.saturating_sub(c.last_ns.max(c.retx_ns)) <= rto {
                continue;
            }
            c.retx_ns = now;
            match c.state {
                State::SynSent => c.pend |= PEND_SYN,
                State::Established if c.snd_nxt != c.snd_una => {
                    // Go back to the first unacknowledged byte (new stamps: the lost
                    // segments count as lost, the new ones as received).
                    let back = c.snd_nxt.wrapping_sub(c.snd_una) / payload.max(1);
                    c.data_sent -= back.min(c.data_sent);
                    c.snd_nxt = c.snd_una;
                }
                State::FinSent => {
                    c.snd_nxt = c.snd_nxt.wrapping_sub(1);
                    c.state = State::Established;
                    c.pend |= PEND_FIN;
                }
                _ => continue,
            }
            self.counts.retransmits += 1;
            self.push_ready(slot as u32);
        }
    }

    /// Counts the connections still open as timed out (the end of a run).
    pub fn abandon_open(&mut self) {
        for c in self.conns.iter_mut().filter(|c| c.state.active()) {
            c.state = State::Failed;
            c.pend = 0;
            self.counts.failed += 1;
            self.counts.timed_out += 1;
        }
        self.active = 0;
    }

    /// Receives on both ports: segments for the client on `ports[tx]`, for the server on
    /// `ports[rx]` (on one port, by the client's table). Data segments go to `rxc`. Then
    /// the timers: retransmissions, connections failed by timeout.
    pub fn receive(
        &mut self,
        ports: &mut [&mut dyn GenPort],
        (tx, rx): (usize, usize),
        rxc: &mut RxCounter,
        clock: &Clock,
    ) -> usize {
        let mut got = 0;
        let sides: &[(usize, Option<bool>)] = if tx == rx {
            &[(tx, None)] // one port: sorted by the client's table
        } else {
            &[(tx, Some(true)), (rx, Some(false))]
        };
        for &(p, side) in sides {
            let mut here = 0;
            loop {
                let mut t = None;
                let n = ports[p].rx(MAX_BURST, &mut |f| {
                    let now = *t.get_or_insert_with(|| clock.now());
                    self.frame(f, side, rxc, now)
                });
                here += n;
                if n < MAX_BURST || here >= 16 * MAX_BURST {
                    break;
                }
            }
            got += here;
        }
        // Timers after what arrived was seen (a descheduled generator must not time out
        // segments that are waiting in a ring).
        self.sweep(clock.now());
        got
    }

    /// One received frame: `to_client` says which end it is for (None: by the table).
    pub fn frame(&mut self, f: &[u8], to_client: Option<bool>, rxc: &mut RxCounter, now: u64) {
        let Some(seg) = Segment::parse(f) else {
            self.counts.foreign += 1;
            return;
        };
        let t = &seg.tuple;
        let slot = self
            .by_tuple
            .get(&(u32::from(t.dst), t.dport, u32::from(t.src), t.sport))
            .copied();
        match (to_client.unwrap_or(slot.is_some()), slot) {
            (true, Some(s)) => self.client(s, &seg, now),
            (true, None) => self.counts.foreign += 1,
            (false, _) => self.server(f, &seg, rxc, now),
        }
    }

    fn client(&mut self, s: u32, seg: &Segment, now: u64) {
        let segments = self.cfg.segments;
        let c = &mut self.conns[s as usize];
        if !c.state.active() {
            return; // late or duplicate: the connection is over
        }
        if seg.flags & RST != 0 {
            c.state = State::Failed;
            c.pend = 0;
            self.active -= 1;
            self.counts.failed += 1;
            self.counts.reset += 1;
            return;
        }
        if seg.flags & ACK == 0 {
            return;
        }
        match c.state {
            State::SynSent if seg.flags & SYN != 0 && seg.ack == c.iss.wrapping_add(1) => {
                c.rcv_nxt = seg.seq.wrapping_add(1);
                c.snd_una = seg.ack;
                c.state = State::Established;
                // (A SYN sent again and still queued is not needed any more.)
                c.pend = PEND_ACK;
                if segments == 0 {
                    c.pend |= PEND_FIN;
                }
                c.last_ns = now;
                self.counts.established += 1;
            }
            State::Established => {
                // Acknowledged bytes between what was and what is in flight.
                let acked = seg.ack.wrapping_sub(c.snd_una);
                if acked != 0 && acked <= c.snd_nxt.wrapping_sub(c.snd_una) {
                    c.snd_una = seg.ack;
                    c.last_ns = now;
                }
                if c.data_sent >= segments && c.snd_una == c.snd_nxt {
                    c.pend |= PEND_FIN;
                }
            }
            State::FinSent if seg.flags & FIN != 0 && seg.ack == c.snd_nxt => {
                c.snd_una = seg.ack;
                c.rcv_nxt = seg.seq.wrapping_add(1);
                c.pend |= PEND_LAST_ACK;
                c.last_ns = now;
            }
            _ => return,
        }
        self.push_ready(s);
    }

    /// The server keeps no state: its answer follows from the segment.
    fn server(&mut self, f: &[u8], seg: &Segment, rxc: &mut RxCounter, now: u64) {
        if seg.payload > 0 {
            rxc.frame(f, now);
        }
        let (seq, ack, flags) = if seg.flags & RST != 0 {
            return;
        } else if seg.flags & SYN != 0 {
            if seg.flags & ACK != 0 {
                return;
            }
            // The server's initial sequence number, from the client's.
            let iss = seg.seq.rotate_left(13) ^ 0x5eed_0001;
            (iss, seg.seq.wrapping_add(1), SYN | ACK)
        } else if seg.flags & FIN != 0 {
            let fin_seq = seg.seq.wrapping_add(seg.payload as u32);
            (seg.ack, fin_seq.wrapping_add(1), FIN | ACK)
        } else if seg.payload > 0 {
            (seg.ack, seg.seq.wrapping_add(seg.payload as u32), ACK)
        } else {
            return; // a pure ACK needs no answer
        };
        if self.replies.len() >= REPLY_QUEUE {
            self.counts.server_dropped += 1;
            return;
        }
        let t = seg.tuple;
        self.replies.push_back(SegmentSpec {
            macs: Macs {
                src: seg.dst_mac,
                dst: seg.src_mac,
            },
            tuple: FlowTuple {
                src: t.dst,
                dst: t.src,
                sport: t.dport,
                dport: t.sport,
            },
            seq,
            ack,
            flags,
            payload: 0,
            stamp: None,
        });
    }
}

/// A TCP run's figures.
#[derive(Debug, Clone, Default)]
pub struct TcpStats {
    /// Opening phase length, nanoseconds.
    pub open_ns: u64,
    /// The whole run including teardown, nanoseconds.
    pub total_ns: u64,
    pub counts: TcpCounts,
    /// Connections opened per second over the opening phase.
    pub cps: f64,
    /// Data segments: loss, reordering and latency.
    pub rx: RxReport,
}

/// Opens connections at the configured rate from `ports[tx]` for `cfg.duration_ns` (or
/// until `connections` were opened), answers them from `ports[rx]`, then lets the open ones
/// finish (or time out). `middle` runs between transmit and receive (an in-process
/// forwarder). `cfg.rate` is not used: data goes as fast as the window allows.
pub fn run_tcp(
    gen: &mut TcpGen,
    rxc: &mut RxCounter,
    ports: &mut [&mut dyn GenPort],
    (tx, rx): (usize, usize),
    cfg: &RunConfig,
    clock: &mut Clock,
    mut middle: Option<&mut dyn FnMut(u64)>,
) -> TcpStats {
    let start = clock.now();
    let end = start + cfg.duration_ns;
    let give_up = cfg.drain_max_ns.max(gen.cfg.timeout_ns + 100_000_000);
    let mut open_end = None;
    let mut last_status = start;
    let mut last_opened = 0;
    loop {
        let now = clock.now();
        let opening = now < end && !gen.all_opened();
        if !opening {
            let e = *open_end.get_or_insert(now);
            if gen.idle() || now - e > give_up {
                break;
            }
        }
        gen.transmit(ports, (tx, rx), now, opening, cfg.burst);
        if let Some(m) = middle.as_mut() {
            m(now);
        }
        gen.receive(ports, (tx, rx), rxc, clock);
        if let Clock::Virtual(v) = clock {
            *v += 1000;
        }
        if cfg.status && now - last_status >= 1_000_000_000 {
            let dt = (now - last_status) as f64 / 1e9;
            let k = gen.counts;
            eprintln!(
                "[{:>5.1} s] {:>9.0} conn/s  opened {}  established {}  completed {}  failed {}  open {}",
                (now - start) as f64 / 1e9,
                (k.opened - last_opened) as f64 / dt,
                k.opened,
                k.established,
                k.completed,
                k.failed,
                gen.active
            );
            last_status = now;
            last_opened = k.opened;
        }
    }
    gen.abandon_open();
    let now = clock.now();
    let open_ns = (open_end.unwrap_or(now) - start).max(1);
    TcpStats {
        open_ns,
        total_ns: now - start,
        counts: gen.counts,
        cps: gen.counts.opened as f64 * 1e9 / open_ns as f64,
        rx: rxc.report(&gen.sent_per_flow()),
    }
}

impl TcpStats {
    /// The result object of `nfdp-pktgen --proto tcp --json` (see perf/README.md).
    pub fn json(&self) -> crate::json::Json {
        use crate::json::Json;
        let k = &self.counts;
        let l = &self.rx.latency;
        Json::obj([
            ("proto", Json::from("tcp")),
            ("duration_s", Json::from(self.open_ns as f64 / 1e9)),
            ("total_s", Json::from(self.total_ns as f64 / 1e9)),
            ("conns_opened", Json::from(k.opened)),
            ("conns_established", Json::from(k.established)),
            ("conns_completed", Json::from(k.completed)),
            ("conns_failed", Json::from(k.failed)),
            ("conns_timed_out", Json::from(k.timed_out)),
            ("conns_reset", Json::from(k.reset)),
            ("retransmits", Json::from(k.retransmits)),
            ("cps", Json::from(self.cps)),
            (
                "completed_per_s",
                Json::from(k.completed as f64 * 1e9 / self.total_ns.max(1) as f64),
            ),
            ("data_segments", Json::from(k.data_segments)),
            ("control_segments", Json::from(k.control_segments)),
            ("server_segments", Json::from(k.server_segments)),
            ("server_dropped", Json::from(k.server_dropped)),
            ("tx_refused", Json::from(k.refused)),
            ("foreign", Json::from(k.foreign + self.rx.foreign)),
            ("rx_packets", Json::from(self.rx.received)),
            ("lost", Json::from(self.rx.lost)),
            ("loss_ratio", Json::from(self.rx.loss_ratio)),
            ("reordered", Json::from(self.rx.reordered)),
            ("flows_with_loss", Json::from(self.rx.flows_with_loss)),
            ("duplicates", Json::from(self.rx.excess)),
            (
                "latency_ns",
                Json::obj([
                    ("samples", Json::from(l.samples)),
                    ("min", Json::from(l.min)),
                    ("mean", Json::from(l.mean)),
                    ("p50", Json::from(l.p50)),
                    ("p99", Json::from(l.p99)),
                    ("p99_9", Json::from(l.p999)),
                    ("max", Json::from(l.max)),
                ]),
            ),
        ])
    }

    pub fn summary(&self) -> String {
        let k = &self.counts;
        let l = &self.rx.latency;
        format!(
            "connections: opened {} ({:.0}/s)  established {}  completed {}  failed {} (timed out {}, reset {})\n\
             data segments: sent {}  received {}  lost {}  reordered {}\n\
             latency us: min {:.1} mean {:.1} p50 {:.1} p99 {:.1} p99.9 {:.1} max {:.1}",
            k.opened,
            self.cps,
            k.established,
            k.completed,
            k.failed,
            k.timed_out,
            k.reset,
            k.data_segments,
            self.rx.received,
            self.rx.lost,
            self.rx.reordered,
            l.min as f64 / 1e3,
            l.mean / 1e3,
            l.p50 as f64 / 1e3,
            l.p99 as f64 / 1e3,
            l.p999 as f64 / 1e3,
            l.max as f64 / 1e3
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_and_data_frames_have_valid_checksums_and_parse_back() {
        let t = FlowTuple {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 1, 1),
            sport: 40000,
            dport: 80,
        };
        let macs = Macs {
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
        };
        let mut buf = [0xaau8; 256];
        let syn = SegmentSpec {
            macs,
            tuple: t,
            seq: 1000,
            ack: 0,
            flags: SYN,
            payload: 0,
            stamp: None,
        };
        assert_eq!(write_tcp(&mut buf, &syn), 60, "padded to the minimum");
        assert_eq!(checksum::data(&buf[14..34]), 0xffff);
        assert_eq!(&buf[16..18], &44u16.to_be_bytes());
        assert_eq!(&buf[54..58], &[2, 4, 0x05, 0xb4], "MSS 1460");
        let ph = checksum::pseudo_header(t.src, t.dst, IpProtocol::Tcp, 24);
        assert_eq!(
            checksum::combine(&[ph, checksum::data(&buf[34..58])]),
            0xffff
        );
        let s = Segment::parse(&buf[..60]).unwrap();
        assert_eq!((s.seq, s.flags, s.payload, s.tuple), (1000, SYN, 0, t));

        let stamp = Stamp {
            flow: 3,
            seq: 9,
            tx_ns: 77,
        };
        let data = SegmentSpec {
            flags: ACK | PSH,
            seq: 1001,
            ack: 5,
            payload: 50,
            stamp: Some(stamp),
            ..syn
        };
        assert_eq!(write_tcp(&mut buf, &data), 14 + 20 + 20 + 50);
        let ph = checksum::pseudo_header(t.src, t.dst, IpProtocol::Tcp, 70);
        assert_eq!(
            checksum::combine(&[ph, checksum::data(&buf[34..104])]),
            0xffff
        );
        assert_eq!(super::super::packet::read_stamp(&buf[..104]), Some(stamp));
        let s = Segment::parse(&buf[..104]).unwrap();
        assert_eq!((s.seq, s.ack, s.payload), (1001, 5, 50));
        assert_eq!(write_tcp(&mut buf[..100], &data), 0, "too short a buffer");
    }
}
