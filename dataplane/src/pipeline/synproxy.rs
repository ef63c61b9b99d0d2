//! `-j SYNPROXY`'s packet work, in the kernel's three steps (xt_SYNPROXY,
//! nf_synproxy_core, ipv4_synproxy_hook):
//!
//! 1. A client's SYN (untracked by `-t raw ... -j CT --notrack`) is answered with a
//!    SYN-ACK whose ISN is a SYN cookie (and, with `--timestamp`, whose timestamp encodes
//!    the client's window scale, SACK and ECN); the SYN goes no further.
//! 2. The client's ACK (INVALID to conntrack with `nf_conntrack_tcp_loose=0`) is checked
//!    against the cookie; a valid one makes the appliance send the server a SYN with the
//!    client's options, from which the real connection is tracked. An invalid one is
//!    dropped.
//! 3. The server's SYN-ACK is taken at the hook before confirm: the appliance ACKs it,
//!    sends the client a window update, and every later packet of the connection has its
//!    sequence numbers (SACK blocks included) and timestamps shifted between the cookie's
//!    and the server's numbers (`conntrack::seqadj`).
//!
//! The cookie is the kernel's construction (`secure_tcp_syn_cookie`: a keyed hash of the
//! addresses and ports plus the client's ISN, a minute counter in the top 8 bits, the MSS
//! index in the low 24 bits under a second keyed hash), keyed with SipHash-2-4 and a
//! random 128-bit secret per process; a cookie is valid for the minute it was made and
//! the next one (`MAX_SYNCOOKIE_AGE` 2).

use super::*;
use crate::conntrack::seqadj::{self, SynproxyConn};
use crate::conntrack::tcp::TcpState;
use crate::ruleset::targets::synproxy::{opt, SynproxyTarget};
use crate::wire::tcp::field::{OPT_END, OPT_MSS, OPT_NOP, OPT_SACKPERM, OPT_TSTAMP, OPT_WS};
use crate::wire::{IpProtocol, TcpFlags, TcpPacket};

/// `/proc/net/stat/synproxy`'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynproxyStats {
    pub syn_received: u64,
    pub cookie_invalid: u64,
    pub cookie_valid: u64,
    pub cookie_retrans: u64,
    pub conn_reopened: u64,
}

impl SynproxyStats {
    /// The counters by their /proc/net/stat/synproxy names.
    pub fn named(&self) -> [(&'static str, u64); 5] {
        [
            ("syn_received", self.syn_received),
            ("cookie_invalid", self.cookie_invalid),
            ("cookie_valid", self.cookie_valid),
            ("cookie_retrans", self.cookie_retrans),
            ("conn_reopened", self.conn_reopened),
        ]
    }
}

/// A pipeline's SYNPROXY state: the cookie secret, and the connection its last SYN to a
/// server opens (the kernel's template conntrack: given the SYNPROXY extension when that
/// SYN's connection is confirmed).
#[derive(Debug)]
pub(super) struct Synproxy {
    key: CookieKey,
    template: Option<Flow4>,
}

impl Default for Synproxy {
    fn default() -> Self {
        Synproxy {
            key: CookieKey::random(),
            template: None,
        }
    }
}

/// Addresses and ports of a segment as it travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow4 {
    pub saddr: Ipv4Addr,
    pub daddr: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

/// `msstab`: the MSS values a cookie can carry (index in the low bits).
pub const MSSTAB: [u16; 4] = [536, 1300, 1440, 1460];
const COOKIEBITS: u32 = 24;
const COOKIEMASK: u32 = (1 << COOKIEBITS) - 1;
/// A cookie is good for the counter it was made in and the next one.
const MAX_SYNCOOKIE_AGE: u32 = 2;
/// The counter's period (`tcp_cookie_time`: one minute).
const COOKIE_PERIOD_NS: u64 = 60_000_000_000;

/// The cookie counter at `now_ns`.
pub fn cookie_time(now_ns: u64) -> u32 {
    (now_ns / COOKIE_PERIOD_NS) as u32
}

/// The secret the cookies are keyed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieKey(pub [u64; 2]);

impl CookieKey {
    /// The fixed key of `nfdp replay` (a replay is reproducible; a running appliance
    /// keys its cookies with `random`).
    pub const REPLAY: CookieKey = CookieKey([0x6e66_6470_2d72_6570, 0x6c61_792d_6b65_7921]);

    /// The process's key, drawn once from its random source (std's random hasher keys)
    /// and shared by every worker, as the kernel's secret is shared by every CPU: a
    /// cookie is good whichever worker sees the ACK.
    pub fn random() -> CookieKey {
        use std::hash::BuildHasher;
        static KEY: std::sync::OnceLock<CookieKey> = std::sync::OnceLock::new();
        *KEY.get_or_init(|| {
            let s = std::collections::hash_map::RandomState::new();
            CookieKey([s.hash_one(0x5359_4e50u64), s.hash_one(0x524f_5859u64)])
        })
    }

    fn hash(&self, f: &Flow4, count: u32, c: u64) -> u32 {
        let a = u64::from(u32::from(f.saddr)) << 32 | u64::from(u32::from(f.daddr));
        let b = u64::from(f.sport) << 48 | u64::from(f.dport) << 32 | u64::from(count);
        siphash24(self.0, &[a, b, c]) as u32
    }

    /// `__cookie_v4_init_sequence`: the cookie ISN for a SYN of `f` with sequence number
    /// `sseq` and MSS `mss`, and the MSS it stands for (the table's largest not above).
    pub fn make(&self, f: &Flow4, sseq: u32, count: u32, mss: u16) -> (u32, u16) {
        let ind = (1..MSSTAB.len())
            .rev()
            .find(|&i| mss >= MSSTAB[i])
            .unwrap_or(0);
        let data = ind as u32;
        let cookie = self
            .hash(f, 0, 0)
            .wrapping_add(sseq)
            .wrapping_add(count << COOKIEBITS)
            .wrapping_add(self.hash(f, count, 1).wrapping_add(data) & COOKIEMASK);
        (cookie, MSSTAB[ind])
    }

    /// `__cookie_v4_check`: the MSS a cookie (`cookie` = ACK - 1, `sseq` = SEQ - 1)
    /// stands for, or `None` if it is not one of ours or too old.
    pub fn check(&self, f: &Flow4, cookie: u32, sseq: u32, count: u32) -> Option<u16> {
        let c = cookie.wrapping_sub(self.hash(f, 0, 0).wrapping_add(sseq));
        let diff = count.wrapping_sub(c >> COOKIEBITS) & (u32::MAX >> COOKIEBITS);
        if diff >= MAX_SYNCOOKIE_AGE {
            return None;
        }
        let ind = c.wrapping_sub(self.hash(f, count.wrapping_sub(diff), 1)) & COOKIEMASK;
        MSSTAB.get(ind as usize).copied()
    }
}

/// SipHash-2-4 of whole 64-bit words (little-endian), as the kernel keys its cookies.
fn siphash24(k: [u64; 2], words: &[u64]) -> u64 {
    let mut v = [
        k[0] ^ 0x736f_6d65_7073_6575,
        k[1] ^ 0x646f_7261_6e64_6f6d,
        k[0] ^ 0x6c79_6765_6e65_7261,
        k[1] ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let last = ((words.len() as u64 * 8) & 0xff) << 56;
    for &m in words.iter().chain(std::iter::once(&last)) {
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    }
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// `struct synproxy_options`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Opts {
    pub options: u8,
    pub wscale: u8,
    pub mss_option: u16,
    pub mss_encode: u16,
    pub tsval: u32,
    pub tsecr: u32,
}

impl Opts {
    /// `synproxy_parse_options` over a header's option bytes: a known kind with the wrong
    /// length is skipped, a partial option ends the walk.
    pub fn parse(o: &[u8]) -> Opts {
        let mut p = Opts::default();
        let mut i = 0;
        while i < o.len() {
            match o[i] {
                OPT_END => break,
                OPT_NOP => i += 1,
                kind => {
                    let Some(&len) = o.get(i + 1) else {
                        break;
                    };
                    let len = usize::from(len);
                    if len < 2 || i + len > o.len() {
                        break;
                    }
                    let body = &o[i + 2..i + len];
                    match (kind, body.len()) {
                        (OPT_MSS, 2) => {
                            p.mss_option = u16::from_be_bytes([body[0], body[1]]);
                            p.options |= opt::MSS;
                        }
                        (OPT_WS, 1) => {
                            p.wscale = body[0].min(14);
                            p.options |= opt::WSCALE;
                        }
                        (OPT_TSTAMP, 8) => {
                            p.tsval = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                            p.tsecr = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                            p.options |= opt::TIMESTAMP;
                        }
                        (OPT_SACKPERM, 0) => p.options |= opt::SACK_PERM,
                        _ => {}
                    }
                    i += len;
                }
            }
        }
        p
    }

    /// `synproxy_options_size`.
    fn size(&self) -> usize {
        let mut n = 0;
        if self.options & opt::MSS != 0 {
            n += 4;
        }
        if self.options & opt::TIMESTAMP != 0 {
            n += 12;
        } else if self.options & opt::SACK_PERM != 0 {
            n += 4;
        }
        if self.options & opt::WSCALE != 0 {
            n += 4;
        }
        n
    }

    /// `synproxy_build_options`: the option bytes in the kernel's layout.
    fn build(&self, out: &mut [u8]) {
        let mut w = Vec4(out, 0);
        let o = self.options;
        if o & opt::MSS != 0 {
            let m = self.mss_option.to_be_bytes();
            w.push([OPT_MSS, 4, m[0], m[1]]);
        }
        if o & opt::TIMESTAMP != 0 {
            if o & opt::SACK_PERM != 0 {
                w.push([OPT_SACKPERM, 2, OPT_TSTAMP, 10]);
            } else {
                w.push([OPT_NOP, OPT_NOP, OPT_TSTAMP, 10]);
            }
            w.push(self.tsval.to_be_bytes());
            w.push(self.tsecr.to_be_bytes());
        } else if o & opt::SACK_PERM != 0 {
            w.push([OPT_NOP, OPT_NOP, OPT_SACKPERM, 2]);
        }
        if o & opt::WSCALE != 0 {
            w.push([OPT_NOP, OPT_WS, 3, self.wscale]);
        }
    }

    /// `synproxy_init_timestamp_cookie`: the SYN-ACK's timestamp carries the client's
    /// window scale (0xf: none), SACK and ECN in its low 6 bits.
    fn init_timestamp_cookie(&mut self, info: &SynproxyTarget, now_ns: u64) {
        self.tsecr = self.tsval;
        self.tsval = ((now_ns / 1_000_000) as u32) & !0x3f;
        if self.options & opt::WSCALE != 0 {
            self.tsval |= u32::from(self.wscale);
            self.wscale = info.wscale;
        } else {
            self.tsval |= 0xf;
        }
        if self.options & opt::SACK_PERM != 0 {
            self.tsval |= 1 << 4;
        }
        if self.options & opt::ECN != 0 {
            self.tsval |= 1 << 5;
        }
    }

    /// `synproxy_check_timestamp_cookie`: the client's options back from its echo.
    fn check_timestamp_cookie(&mut self) {
        self.wscale = (self.tsecr & 0xf) as u8;
        if self.wscale != 0xf {
            self.options |= opt::WSCALE;
        }
        if self.tsecr & (1 << 4) != 0 {
            self.options |= opt::SACK_PERM;
        }
        if self.tsecr & (1 << 5) != 0 {
            self.options |= opt::ECN;
        }
    }
}

/// Four option bytes at a time into a buffer sized by `Opts::size`.
struct Vec4<'a>(&'a mut [u8], usize);

impl Vec4<'_> {
    fn push(&mut self, b: [u8; 4]) {
        if let Some(d) = self.0.get_mut(self.1..self.1 + 4) {
            d.copy_from_slice(&b);
        }
        self.1 += 4;
    }
}

/// The addresses, ports and header fields of one TCP segment: one the appliance sends
/// (`build`: `synproxy_build_ip` + the TCP header), or one the target or hook looks at
/// (`of`).
struct Segment {
    flow: Flow4,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    opts: Opts,
}

impl Segment {
    /// The IPv4 packet: TOS 0, id 0, DF, TTL 64 (`ip_default_ttl`), checksums filled.
    fn build(&self) -> PacketBuf {
        let tcp_len = 20 + self.opts.size();
        let total = 20 + tcp_len;
        let mut b = [0u8; 20 + 20 + 40];
        let b = &mut b[..total];
        {
            let mut ip = Ipv4Packet::new_unchecked(&mut *b);
            ip.set_version(4);
            ip.set_header_len(20);
            ip.set_total_len(total as u16);
            ip.set_dont_frag(true);
            ip.set_ttl(64);
            ip.set_protocol(IpProtocol::Tcp);
            ip.set_src_addr(self.flow.saddr);
            ip.set_dst_addr(self.flow.daddr);
            ip.fill_checksum();
        }
        let mut t = TcpPacket::new_unchecked(&mut b[20..]);
        t.set_src_port(self.flow.sport);
        t.set_dst_port(self.flow.dport);
        t.set_seq_number(self.seq);
        t.set_ack_number(self.ack);
        t.set_header_len(tcp_len as u8);
        t.set_flags(self.flags);
        t.set_window_len(self.window);
        self.opts.build(t.options_mut());
        t.fill_checksum(self.flow.saddr, self.flow.daddr);
        PacketBuf::from_slice(b)
    }
}

impl Segment {
    /// `None` for what is not a whole first TCP fragment.
    fn of(ip: &[u8], verify: bool) -> Option<Segment> {
        let p = Ipv4Packet::new_checked(ip).ok()?;
        if p.protocol() != IpProtocol::Tcp || p.frag_offset() != 0 {
            return None;
        }
        let (saddr, daddr) = (p.src_addr(), p.dst_addr());
        let t = TcpPacket::new_checked(p.payload()).ok()?;
        if verify && !t.verify_checksum(saddr, daddr) {
            return None;
        }
        Some(Segment {
            flow: Flow4 {
                saddr,
                daddr,
                sport: t.src_port(),
                dport: t.dst_port(),
            },
            seq: t.seq_number(),
            ack: t.ack_number(),
            flags: t.flags(),
            window: t.window_len(),
            opts: Opts::parse(t.options()),
        })
    }

    fn has(&self, f: TcpFlags) -> bool {
        self.flags.contains(f)
    }
}

fn reversed(f: &Flow4) -> Flow4 {
    Flow4 {
        saddr: f.daddr,
        daddr: f.saddr,
        sport: f.dport,
        dport: f.sport,
    }
}

impl Pipeline {
    /// Replaces the SYN cookie secret (replay: a fixed one, so runs are reproducible).
    pub fn set_synproxy_key(&mut self, key: CookieKey) {
        self.synproxy.key = key;
    }

    /// The target (`synproxy_tg4`): a SYN answered with a cookie, an ACK checked against
    /// one; other segments go on to the next rule.
    pub(super) fn synproxy_target(&mut self, pkt: &mut Pkt, t: &SynproxyTarget) -> TargetOutcome {
        let drop = |pkt: &mut Pkt| {
            pkt.drop_reason = Some(DropReason::Synproxy);
            TargetOutcome::Verdict(Verdict::Drop)
        };
        // nf_ip_checksum and the header: a bad one is dropped.
        let Some(mut s) = Segment::of(pkt.buf.data(), true) else {
            return drop(pkt);
        };
        let (syn, ack) = (s.has(TcpFlags::SYN), s.has(TcpFlags::ACK));
        let fin_rst = s.flags.intersects(TcpFlags::FIN | TcpFlags::RST);
        if syn && !ack && !fin_rst {
            self.stats.synproxy.syn_received += 1;
            if s.has(TcpFlags::ECE) && s.has(TcpFlags::CWR) {
                s.opts.options |= opt::ECN;
            }
            s.opts.options &= t.options;
            s.opts.mss_encode = s.opts.mss_option;
            s.opts.mss_option = t.mss;
            if s.opts.options & opt::TIMESTAMP != 0 {
                s.opts.init_timestamp_cookie(t, self.now_ns);
            } else {
                s.opts.options &= !(opt::WSCALE | opt::SACK_PERM | opt::ECN);
            }
            self.send_client_synack(&s);
            return TargetOutcome::Verdict(Verdict::Stolen);
        }
        if ack && !syn && !fin_rst {
            let recv_seq = s.seq;
            return if self.recv_client_ack(&mut s, recv_seq) {
                TargetOutcome::Verdict(Verdict::Stolen)
            } else {
                drop(pkt)
            };
        }
        TargetOutcome::Continue
    }

    /// `synproxy_send_client_synack`: window 0, the cookie ISN, ECE when ECN was agreed;
    /// untracked, as the kernel sends it with the SYN's untracked conntrack.
    fn send_client_synack(&mut self, s: &Segment) {
        let count = cookie_time(self.now_ns);
        let (isn, _) = self
            .synproxy
            .key
            .make(&s.flow, s.seq, count, s.opts.mss_encode);
        let mut flags = TcpFlags::SYN | TcpFlags::ACK;
        if s.opts.options & opt::ECN != 0 {
            flags |= TcpFlags::ECE;
        }
        let seg = Segment {
            flow: reversed(&s.flow),
            seq: isn,
            ack: s.seq.wrapping_add(1),
            flags,
            window: 0,
            opts: s.opts,
        };
        self.generated_untracked.push(seg.build());
    }

    /// `synproxy_recv_client_ack`: a valid cookie sends the server the client's SYN.
    fn recv_client_ack(&mut self, s: &mut Segment, recv_seq: u32) -> bool {
        let count = cookie_time(self.now_ns);
        let mss =
            self.synproxy
                .key
                .check(&s.flow, s.ack.wrapping_sub(1), s.seq.wrapping_sub(1), count);
        let Some(mss) = mss else {
            self.stats.synproxy.cookie_invalid += 1;
            return false;
        };
        self.stats.synproxy.cookie_valid += 1;
        s.opts.mss_option = mss;
        s.opts.options |= opt::MSS;
        if s.opts.options & opt::TIMESTAMP != 0 {
            s.opts.check_timestamp_cookie();
        }
        // synproxy_send_server_syn: the ACK field relays the cookie ISN to the hook.
        let mut flags = TcpFlags::SYN;
        if s.opts.options & opt::ECN != 0 {
            flags |= TcpFlags::ECE | TcpFlags::CWR;
        }
        let seg = Segment {
            flow: s.flow,
            seq: recv_seq.wrapping_sub(1),
            ack: s.ack.wrapping_sub(1),
            flags,
            window: s.window,
            opts: s.opts,
        };
        self.synproxy.template = Some(s.flow);
        self.generated.push(seg.build());
        true
    }

    /// Whether a new connection is the one the last SYN to a server opens (its original
    /// tuple, whatever NAT made of the packet since): it then gets its SYNPROXY state
    /// once confirmed (`ct_confirm`).
    pub(super) fn synproxy_template(&mut self, pkt: &Pkt) -> Option<SynproxyConn> {
        let tmpl = self.synproxy.template?;
        let o = pkt.ct.pending.as_ref()?.orig;
        let orig = Flow4 {
            saddr: o.src,
            daddr: o.dst,
            sport: o.sport,
            dport: o.dport,
        };
        if o.proto != 6 || orig != tmpl {
            return None;
        }
        let s = Segment::of(pkt.buf.data(), false)?;
        if !s.has(TcpFlags::SYN) || s.has(TcpFlags::ACK) {
            return None;
        }
        self.synproxy.template = None;
        // The hook's SYN_SENT step: the cookie ISN from the ACK field, the cookie
        // timestamp from the echo.
        let its = if s.opts.options & opt::TIMESTAMP != 0 {
            s.opts.tsecr
        } else {
            0
        };
        Some(SynproxyConn {
            isn: s.ack,
            its,
            tsoff: 0,
        })
    }

    /// The SYN the template was for went its way (confirmed, or dropped on it): no
    /// later connection takes the template.
    pub(super) fn synproxy_template_spent(&mut self) {
        self.synproxy.template = None;
    }

    /// `ipv4_synproxy_hook` (LOCAL_IN and POST_ROUTING, just before confirm) on a packet
    /// of a confirmed connection: the server's SYN-ACK is taken, other packets have their
    /// timestamps and sequence numbers adjusted.
    pub(super) fn synproxy_hook(&mut self, pkt: &mut Pkt) -> Flow {
        let Some(id) = pkt.ct.id.filter(|_| pkt.ct.pending.is_none()) else {
            return Ok(());
        };
        if pkt.ct.state == CtState::Related {
            return Ok(());
        }
        let Some(&sp) = self.conntrack.synproxy(id) else {
            return Ok(());
        };
        let Some((state, helper)) = self.conntrack.entry(id).map(|e| (e.tcp, e.helper)) else {
            return Ok(());
        };
        let Some(mut s) = Segment::of(pkt.buf.data(), false) else {
            // A TCP header not there: NF_DROP; other protocols: NF_ACCEPT.
            return match Ipv4Packet::new_checked(pkt.buf.data()) {
                Ok(p) if p.protocol() == IpProtocol::Tcp => Err(Stop::MALFORMED),
                _ => Ok(()),
            };
        };
        let reply = pkt.ct.reply;
        let (syn, ack, rst) = (
            s.has(TcpFlags::SYN),
            s.has(TcpFlags::ACK),
            s.has(TcpFlags::RST),
        );
        let mut sent_state = state == TcpState::SynSent;
        if state == TcpState::Close {
            if rst && reply {
                self.conntrack.seqadj_init(
                    id,
                    true,
                    sp.isn.wrapping_sub(s.seq).wrapping_add(1) as i32,
                );
            } else if syn && !ack && !reply {
                // A reopened connection: adjustments start again once it is set up.
                self.conntrack.seqadj_init(id, false, 0);
                if let Some(x) = self.conntrack.synproxy_mut(id) {
                    x.tsoff = 0;
                }
                self.stats.synproxy.conn_reopened += 1;
                sent_state = true;
            }
        }
        if sent_state {
            if !syn && ack && !reply {
                // Keep-alives carry SND.NXT-1: the SYN's number is one more.
                let recv_seq = s.seq.wrapping_add(1);
                if self.recv_client_ack(&mut s, recv_seq) {
                    self.stats.synproxy.cookie_retrans += 1;
                    return Err(Stop::Held);
                }
                return Err(Stop::Drop(DropReason::Synproxy));
            }
            if let Some(x) = self.conntrack.synproxy_mut(id) {
                x.isn = s.ack;
                if s.opts.options & opt::TIMESTAMP != 0 {
                    x.its = s.opts.tsecr;
                }
            }
        } else if state == TcpState::SynRecv && syn && ack {
            self.server_synack(id, sp, &mut s);
            return Err(Stop::Held);
        }
        self.synproxy_adjust(pkt, id, reply, helper);
        Ok(())
    }

    /// The server's SYN-ACK: an ACK to the server and a window update to the client. The
    /// kernel sends them with the connection attached; here they are addressed by its
    /// tuples (the original one to the server, the reply one to the client), so conntrack
    /// finds the connection and NAT and the adjustment treat them as its packets.
    fn server_synack(&mut self, id: u32, sp: SynproxyConn, s: &mut Segment) {
        let Some((orig, reply)) = self.conntrack.entry(id).map(|e| (e.orig, e.reply)) else {
            return;
        };
        let flow = |t: crate::conntrack::Tuple| Flow4 {
            saddr: t.src,
            daddr: t.dst,
            sport: t.sport,
            dport: t.dport,
        };
        if s.opts.options & opt::TIMESTAMP != 0 {
            if let Some(x) = self.conntrack.synproxy_mut(id) {
                x.tsoff = s.opts.tsval.wrapping_sub(sp.its);
            }
        }
        let client_wscale = s.opts.wscale;
        let mut o = s.opts;
        o.options &= !(opt::MSS | opt::WSCALE | opt::SACK_PERM);
        // synproxy_send_server_ack: the client's largest window so far.
        let maxwin = self
            .conntrack
            .tcp_track(id)
            .map_or(0, |x| x.win[0].td_maxwin.min(u32::from(u16::MAX)) as u16);
        let off = sp.isn.wrapping_sub(s.seq);
        let server_ack = Segment {
            flow: flow(orig),
            seq: s.ack,
            // What the client acknowledges: the cookie ISN + 1 (the server's ISN + 1
            // once adjusted).
            ack: s.seq.wrapping_add(1).wrapping_add(off),
            flags: TcpFlags::ACK,
            window: maxwin,
            // The server's timestamp echoed: the kernel sends this ACK through the hook
            // once `tsoff` is set, so the echo leaves as the server's TSval + tsoff
            // (seen on the kernel: conformance t_synproxy); so does this one.
            opts: Opts {
                tsval: o.tsecr,
                tsecr: o.tsval,
                ..o
            },
        };
        self.generated.push(server_ack.build());
        self.conntrack.seqadj_init(id, true, off as i32);
        // synproxy_send_client_ack: the server's window, unscaled by its own shift.
        let client_ack = Segment {
            flow: flow(reply),
            seq: s.seq.wrapping_add(1),
            ack: s.ack,
            flags: TcpFlags::ACK,
            window: s.window >> client_wscale.min(15),
            opts: o,
        };
        self.generated.push(client_ack.build());
    }

    /// `synproxy_tstamp_adjust`, then the sequence adjustment (`nf_ct_seq_adjust`; an
    /// FTP connection's is done by its helper).
    fn synproxy_adjust(&mut self, pkt: &mut Pkt, id: u32, reply: bool, helper: u8) {
        let tsoff = self.conntrack.synproxy(id).map_or(0, |x| x.tsoff);
        let adj = if helper == crate::conntrack::HELPER_FTP {
            None
        } else {
            self.conntrack.seqadj(id).copied()
        };
        let ip = pkt.buf.data_mut();
        let Ok(p) = Ipv4Packet::new_checked(&mut *ip) else {
            return;
        };
        let ihl = usize::from(p.header_len());
        let Some(th) = ip.get_mut(ihl..) else {
            return;
        };
        let Ok(mut tcp) = TcpPacket::new_checked(th) else {
            return;
        };
        seqadj::tstamp_adjust(&mut tcp, reply, tsoff);
        if let Some(adj) = adj {
            seqadj::adjust(&mut tcp, &adj, reply);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Flow4 = Flow4 {
        saddr: Ipv4Addr::new(192, 0, 2, 1),
        daddr: Ipv4Addr::new(198, 51, 100, 80),
        sport: 40000,
        dport: 80,
    };

    #[test]
    fn a_cookie_is_valid_for_its_minute_and_the_next_only() {
        let k = CookieKey([1, 2]);
        let (c, mss) = k.make(&F, 1000, 500, 1400);
        assert_eq!(mss, 1300);
        assert_eq!(k.check(&F, c, 1000, 500), Some(1300));
        assert_eq!(k.check(&F, c, 1000, 501), Some(1300));
        assert_eq!(k.check(&F, c, 1000, 502), None);
        assert_eq!(k.check(&F, c, 1000, 499), None);
        // Every MSS class comes back.
        for (m, want) in [(0, 536), (1299, 536), (1440, 1440), (9000, 1460)] {
            let (c, got) = k.make(&F, 7, 3, m);
            assert_eq!((got, k.check(&F, c, 7, 3)), (want, Some(want)));
        }
    }

    #[test]
    fn a_wrong_cookie_key_flow_or_sequence_is_refused() {
        let k = CookieKey([1, 2]);
        let (c, _) = k.make(&F, 1000, 500, 1460);
        assert_eq!(CookieKey([1, 3]).check(&F, c, 1000, 500), None);
        // (The client's ISN is added, as in the kernel: a small change moves the MSS
        // index within the table, a larger one out of it.)
        assert_eq!(k.check(&F, c, 2000, 500), None);
        assert_eq!(k.check(&reversed(&F), c, 1000, 500), None);
        assert_eq!(k.check(&F, c ^ 0x100, 1000, 500), None);
        // Of 2^16 guesses at one flow, almost none pass (4 MSS classes in 2^24).
        let hits = (0..65536u32)
            .filter(|g| k.check(&F, g.wrapping_mul(65521), 1000, 500).is_some())
            .count();
        assert!(hits < 8, "{hits}");
    }

    #[test]
    fn siphash_matches_the_reference_vector() {
        // SipHash-2-4 of bytes 0..16 under key 00..0f (the paper's test vectors).
        let k = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
        let m = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
        assert_eq!(siphash24(k, &m), 0x3f2a_cc7f_57c2_9bdb);
    }

    #[test]
    fn options_parse_and_build_as_the_kernel_lays_them_out() {
        let o = Opts::parse(&[
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ]);
        assert_eq!(
            (o.options, o.mss_option, o.wscale, o.tsval),
            (
                opt::MSS | opt::SACK_PERM | opt::TIMESTAMP | opt::WSCALE,
                1460,
                7,
                1
            )
        );
        let mut b = [0u8; 40];
        o.build(&mut b[..o.size()]);
        assert_eq!(
            &b[..o.size()],
            &[2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]
        );
        // Malformed: a wrong-length MSS skipped, a partial option ends the walk.
        let o = Opts::parse(&[2, 3, 5, 3, 3, 14, 4]);
        assert_eq!((o.options, o.wscale), (opt::WSCALE, 14));
        let o = Opts::parse(&[3, 3, 20]);
        assert_eq!(o.wscale, 14);
        assert_eq!(Opts::parse(&[8, 0, 1]).options, 0);
    }
}
