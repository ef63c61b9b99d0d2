//! Connection tracking, one `Conntrack` shard per worker (SPEC.md section 4): both
//! tuples of a connection index one compact entry; a timer wheel expires entries with
//! O(1) work per packet; a NEW connection enters the table only when its first packet is
//! confirmed at the end of its path (a packet dropped by the rules leaves nothing).
//! A shard tracks one address family (`family.rs`): `Conntrack` is IPv4, `Conntrack6`
//! IPv6 with the same protocol state machines, NAT bindings (`nat.rs`, NAT66), mark,
//! labels and accounting (which ip6tables' rules read and set as iptables' do). The
//! conntrack filters and FTP expectations are IPv4 only so far; the multi-core owner
//! directory has one table per family.

mod expect;
pub mod family;
pub mod filter;
pub mod ftp;
mod icmp;
mod index;
mod listing;
pub mod nat;
pub mod owners;
pub mod seqadj;
mod slab;
pub mod state;
pub mod status;
pub mod tcp;
mod tcp_packet;
pub mod tuple;
mod wheel;

pub use family::CtAddr;
pub use filter::CtFilter;
pub use tcp::TcpState;
pub use tuple::Tuple;

/// The IPv6 table and its records (`Conntrack` and the rest default to IPv4).
pub type Conntrack6 = Conntrack<Ipv6Addr>;
pub type Tuple6 = Tuple<Ipv6Addr>;
pub type ConnEntry6 = ConnEntry<Ipv6Addr>;
pub type CtInfo6 = CtInfo<Ipv6Addr>;

use hashbrown::HashMap;
use state as st;
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use tcp_packet::{tcp_reopens, tcp_update, TcpVerdict};

pub use expect::{EXPECT_TIMEOUT_NS, MAX_EXPECTATIONS};
pub use listing::{event_line, proc_line};
use wheel::TimerWheel;

const NS: u64 = 1_000_000_000;

/// The FTP helper (`-j CT --helper ftp`).
pub const HELPER_FTP: u8 = 1;

/// Run-time tunables, by their sysctl names (without `net.netfilter.`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtConfig {
    pub max: u32,
    pub generic_timeout: u32,
    pub icmp_timeout: u32,
    /// ICMPv6 queries (nf_conntrack_icmpv6_timeout).
    pub icmpv6_timeout: u32,
    pub udp_timeout: u32,
    pub udp_timeout_stream: u32,
    /// Indexed by `TcpState as usize` (None and SynSent2 use syn_sent's).
    pub tcp_timeouts: [u32; 10],
    pub tcp_timeout_unacknowledged: u32,
    /// The timeout of a connection whose last ACK was retransmitted `tcp_max_retrans`
    /// times, or whose last ACK closed the window.
    pub tcp_timeout_max_retrans: u32,
    pub tcp_max_retrans: u8,
    /// Let a RST below the peer's highest ACK through (nf_conntrack_tcp_ignore_invalid_rst).
    pub tcp_ignore_invalid_rst: bool,
    pub tcp_loose: bool,
    pub tcp_be_liberal: bool,
    pub checksum: bool,
    pub acct: bool,
}

impl Default for CtConfig {
    fn default() -> Self {
        CtConfig {
            max: 262_144,
            generic_timeout: 600,
            icmp_timeout: 30,
            icmpv6_timeout: 30,
            udp_timeout: 30,
            udp_timeout_stream: 180,
            // None, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK,
            // TIME_WAIT, CLOSE, SYN_SENT2
            tcp_timeouts: [120, 120, 60, 432_000, 120, 60, 30, 120, 10, 120],
            tcp_timeout_unacknowledged: 300,
            tcp_timeout_max_retrans: 300,
            tcp_max_retrans: 3,
            tcp_ignore_invalid_rst: false,
            tcp_loose: true,
            tcp_be_liberal: false,
            checksum: true,
            acct: false,
        }
    }
}

impl CtConfig {
    /// Applies `nf_conntrack_*` tunables; `get` returns the configured value of a name.
    pub fn from_tunables(get: impl Fn(&str) -> Option<u64>) -> CtConfig {
        let mut c = CtConfig::default();
        let v = |name: &str, cur: u32| get(name).map_or(cur, |x| x.min(u64::from(u32::MAX)) as u32);
        c.max = v("nf_conntrack_max", c.max);
        c.generic_timeout = v("nf_conntrack_generic_timeout", c.generic_timeout);
        c.icmp_timeout = v("nf_conntrack_icmp_timeout", c.icmp_timeout);
        c.icmpv6_timeout = v("nf_conntrack_icmpv6_timeout", c.icmpv6_timeout);
        c.udp_timeout = v("nf_conntrack_udp_timeout", c.udp_timeout);
        c.udp_timeout_stream = v("nf_conntrack_udp_timeout_stream", c.udp_timeout_stream);
        let names = [
            "syn_sent",
            "syn_sent",
            "syn_recv",
            "established",
            "fin_wait",
            "close_wait",
            "last_ack",
            "time_wait",
            "close",
            "syn_sent",
        ];
        for (i, n) in names.iter().enumerate() {
            c.tcp_timeouts[i] = v(&format!("nf_conntrack_tcp_timeout_{n}"), c.tcp_timeouts[i]);
        }
        c.tcp_timeout_unacknowledged = v(
            "nf_conntrack_tcp_timeout_unacknowledged",
            c.tcp_timeout_unacknowledged,
        );
        c.tcp_timeout_max_retrans = v(
            "nf_conntrack_tcp_timeout_max_retrans",
            c.tcp_timeout_max_retrans,
        );
        c.tcp_max_retrans =
            get("nf_conntrack_tcp_max_retrans").map_or(c.tcp_max_retrans, |x| x.min(255) as u8);
        let flag = |name: &str, cur: bool| get(name).map_or(cur, |x| x != 0);
        c.tcp_ignore_invalid_rst = flag(
            "nf_conntrack_tcp_ignore_invalid_rst",
            c.tcp_ignore_invalid_rst,
        );
        c.tcp_loose = flag("nf_conntrack_tcp_loose", c.tcp_loose);
        c.tcp_be_liberal = flag("nf_conntrack_tcp_be_liberal", c.tcp_be_liberal);
        c.checksum = flag("nf_conntrack_checksum", c.checksum);
        c.acct = flag("nf_conntrack_acct", c.acct);
        c
    }
}

/// One connection: one cache line (`entry_fits_a_cache_line`). What only TCP needs
/// (window tracking, 60 bytes) lives in a side slab (`Conntrack::tcp_track`), so UDP and
/// ICMP connections do not pay for it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(align(64))]
pub struct ConnEntry<A = Ipv4Addr> {
    pub orig: Tuple<A>,
    pub reply: Tuple<A>,
    pub timeout_ns: u64,
    pub start_ns: u64,
    pub mark: u32,
    /// `status::*` bits (SEEN_REPLY, ASSURED, CONFIRMED).
    pub status: u8,
    pub tcp: TcpState,
    /// The helper attached by `-j CT --helper` (`HELPER_*`).
    pub helper: u8,
    /// The timer wheel second this entry is scheduled for. While pending: the table's
    /// `generation` (its low 32 bits) when packet_in found the original tuple absent
    /// (a pending connection lives through one packet's path, never 2^32 inserts).
    wheel_at: u32,
    /// Its window tracking in the shard's TCP slab (`NO_TCP` for other protocols and
    /// while pending: `CtInfo::pending_tcp` holds it then).
    tcpx: u32,
    /// Its connlabel bits in the shard's label slab; `NO_LABELS` for a connection without
    /// labels (started while no connlabel rule was installed), `ZERO_LABELS` for one that
    /// has labels but no bit set yet (no slot taken; while pending,
    /// `CtInfo::pending_labels` holds the bits).
    labelx: u32,
}

/// `ConnEntry::tcpx` of an entry without TCP state in the slab.
const NO_TCP: u32 = u32::MAX;
/// `ConnEntry::labelx` of a connection without labels (the kernel's connection without
/// its labels extension).
const NO_LABELS: u32 = u32::MAX;
/// `ConnEntry::labelx` of a connection with labels, all clear (nothing in the slab).
const ZERO_LABELS: u32 = u32::MAX - 1;

/// A wheel second as the entry keeps it (u32 seconds last 136 years).
fn wheel_sec(sec: u64) -> u32 {
    u32::try_from(sec).unwrap_or(u32::MAX)
}

/// One entry as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtRecord<A = Ipv4Addr> {
    /// The entry's slot in its shard (stable while it lives).
    pub id: u32,
    pub entry: ConnEntry<A>,
    /// With accounting on.
    pub counters: Option<Counters>,
    /// Its connlabel bits, when it has labels.
    pub labels: Option<u128>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtEventKind {
    New,
    Update,
    Destroy,
}

impl CtEventKind {
    /// `NEW`, `UPDATE`, `DESTROY`.
    pub fn name(self) -> &'static str {
        match self {
            CtEventKind::New => "NEW",
            CtEventKind::Update => "UPDATE",
            CtEventKind::Destroy => "DESTROY",
        }
    }

    /// The tag `conntrack -E` prints.
    pub fn tag(self) -> &'static str {
        match self {
            CtEventKind::New => "[NEW]",
            CtEventKind::Update => "[UPDATE]",
            CtEventKind::Destroy => "[DESTROY]",
        }
    }
}

/// One event as a record: the entry as it was then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtEvent<A = Ipv4Addr> {
    pub kind: CtEventKind,
    pub id: u32,
    pub entry: ConnEntry<A>,
    /// With accounting on.
    pub counters: Option<Counters>,
    /// When it happened (for the seconds left in `event_line`).
    pub now_ns: u64,
}

/// The connection state a packet has as rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtState {
    New,
    Established,
    Related,
    Invalid,
    Untracked,
}

impl CtState {
    /// The `--ctstate` bit.
    pub fn bit(self) -> u16 {
        match self {
            CtState::New => st::NEW,
            CtState::Established => st::ESTABLISHED,
            CtState::Related => st::RELATED,
            CtState::Invalid => st::INVALID,
            CtState::Untracked => st::UNTRACKED,
        }
    }
}

/// Packets and bytes of a connection, original direction then reply: kept beside the
/// entries and counted only with `nf_conntrack_acct` on (the kernel's acct extension).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
}

impl Counters {
    fn add(&mut self, reply: bool, len: u64) {
        let d = usize::from(reply);
        self.packets[d] += 1;
        self.bytes[d] += len;
    }
}

/// What `track` found: a known connection's packet (in a few words), or anything else.
enum Tracked<'a, A> {
    Found {
        state: CtState,
        id: u32,
        reply: bool,
        /// The entry's NAT binding bits (`CtInfo::nat_bits`).
        nat_bits: u8,
        /// The other direction's tuple (`CtInfo::nat_other`).
        other: Tuple<A>,
    },
    /// A packet that may start a connection: `track_new` builds it in the caller's
    /// `CtInfo` (its pending entry and window state are not moved through a return
    /// value), out of `track`'s frame, which the established path keeps small.
    New {
        t: Tuple<A>,
        l4: &'a [u8],
        len: u64,
        hash: u64,
    },
    /// `track_new` wrote the new connection into the caller's `CtInfo`.
    Written,
    /// INVALID (`shed`: refused by an overloaded worker's allowance), set in the
    /// caller's `CtInfo` in place: a shed SYN of a flood costs no whole `CtInfo` moved.
    Invalid {
        shed: bool,
    },
    Other(CtInfo<A>),
}

impl<A> From<CtInfo<A>> for Tracked<'_, A> {
    fn from(info: CtInfo<A>) -> Self {
        Tracked::Other(info)
    }
}

/// What conntrack attached to a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtInfo<A = Ipv4Addr> {
    pub state: CtState,
    /// The confirmed entry this packet belongs to (for RELATED: the master).
    pub id: Option<u32>,
    /// The packet travels in the reply direction.
    pub reply: bool,
    /// A new connection waiting for confirmation. The `pending_*` fields below are
    /// read only while this is `Some`.
    pub pending: Option<ConnEntry<A>>,
    /// Its window tracking when it is TCP (moved to the shard's TCP slab on confirm);
    /// not written for a new connection of another protocol.
    pub pending_tcp: tcp::TcpTrack,
    /// The length of the packet that made `pending` (its first counted packet).
    pub pending_len: u64,
    /// The hash of `pending`'s original tuple, from the lookup that found it new, so that
    /// confirm does not compute it again (`None`: confirm computes it).
    pub pending_hash: Option<u64>,
    /// Its connlabel bits (moved to the shard's label slab on confirm when any is set).
    pub pending_labels: u128,
    /// For an expected connection behind NAT: the inside end it must be DNATed to
    /// (FTP expectations are IPv4 only: always `None` for IPv6).
    pub expected_nat: Option<(Ipv4Addr, u16)>,
    /// The packet would start a connection past the overloaded worker's allowance
    /// (`set_new_allowance`): nothing was created, the caller drops it.
    pub shed: bool,
    /// The `nat::bits::SRC_NAT | DST_NAT` bits of the confirmed entry `id` names, as
    /// conntrack found it (a binding is made only while pending, so they hold for the
    /// packet's path): the nat hooks skip a packet whose side is not translated without
    /// reading the entry. 0 without an entry; `NAT_BITS_UNKNOWN` where an entry is named
    /// but conntrack did not say (the hooks read the entry).
    pub nat_bits: u8,
    /// With `nat_bits` known and not 0: the connection's tuple of the other direction,
    /// whose inverse this packet is rewritten to (`ConnEntry::target_tuple`), copied
    /// while conntrack had the entry at hand so the nat hooks need not look it up.
    pub nat_other: Option<Tuple<A>>,
}

/// `CtInfo::nat_bits` when not known: every bit set, so the hooks look at the entry.
pub const NAT_BITS_UNKNOWN: u8 = u8::MAX;

impl CtInfo {
    pub fn untracked() -> CtInfo {
        CtInfo::with_state(CtState::Untracked)
    }
}

impl<A> CtInfo<A> {
    /// A packet in `state` with nothing else known.
    pub fn with_state(state: CtState) -> CtInfo<A> {
        CtInfo {
            state,
            id: None,
            reply: false,
            pending: None,
            pending_tcp: tcp::TcpTrack::default(),
            pending_len: 0,
            pending_hash: None,
            pending_labels: 0,
            expected_nat: None,
            shed: false,
            // No entry: nothing to rewrite.
            nat_bits: 0,
            nat_other: None,
        }
    }
    fn invalid() -> CtInfo<A> {
        CtInfo::with_state(CtState::Invalid)
    }

    /// A verdict without a new connection, written in place. The pending fields mean
    /// something only with a pending entry: a packet's fresh `CtInfo` (the pipeline's)
    /// has none, and its window state is not written again for every packet.
    #[inline]
    fn set(&mut self, state: CtState, id: Option<u32>, reply: bool, shed: bool, nat_bits: u8) {
        self.state = state;
        self.nat_bits = nat_bits;
        self.id = id;
        self.reply = reply;
        if self.pending.is_some() {
            self.pending = None;
            self.pending_tcp = tcp::TcpTrack::default();
            self.pending_len = 0;
            self.pending_hash = None;
            self.pending_labels = 0;
        }
        self.expected_nat = None;
        self.shed = shed;
    }
}

impl<A: CtAddr> CtInfo<A> {
    /// The packet's connection as the rules read it: the new one it carries, or the
    /// table's (`table` being the table of the packet's family).
    #[inline]
    pub fn entry<'a>(&'a self, table: &'a Conntrack<A>) -> Option<&'a ConnEntry<A>> {
        match (self.pending.as_ref(), self.id) {
            (Some(e), _) => Some(e),
            (None, Some(id)) => table.entry(id),
            _ => None,
        }
    }

    /// As `entry`, to change it (CONNMARK).
    #[inline]
    pub fn entry_mut<'a>(
        &'a mut self,
        table: &'a mut Conntrack<A>,
    ) -> Option<&'a mut ConnEntry<A>> {
        match (self.pending.as_mut(), self.id) {
            (Some(e), _) => Some(e),
            (None, Some(id)) => table.entry_mut(id),
            _ => None,
        }
    }

    /// `-m connlabel --set` changed the connection's labels: kept with the pending
    /// connection until it is confirmed, or stored on the confirmed one.
    pub fn store_labels(&mut self, table: &mut Conntrack<A>, bits: u128) {
        if self.pending.is_some() {
            self.pending_labels = bits;
        } else if let Some(id) = self.id {
            table.set_labels(id, bits);
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtStats {
    pub found: u64,
    pub new: u64,
    pub invalid: u64,
    pub inserted: u64,
    pub early_drop: u64,
    /// New connections whose tuples another connection took first (the kernel's clash).
    pub insert_failed: u64,
    /// "table full, dropping packet"
    pub table_full: u64,
    pub expired: u64,
    /// Ports the NAT port search looked at (the work new connections cost under port
    /// pressure).
    pub nat_port_probes: u64,
}

/// A table of one address family (`Conntrack6` for IPv6).
pub struct Conntrack<A: CtAddr = Ipv4Addr> {
    cfg: CtConfig,
    /// Both tuples of every entry to `slot(id, reply)`.
    index: index::TupleIndex,
    /// The index's hash (seeded per shard: no flow set collides on purpose).
    hasher: hashbrown::DefaultHashBuilder,
    entries: slab::Chunked<Option<ConnEntry<A>>>,
    /// TCP window tracking by `ConnEntry::tcpx`, and the free slots.
    tcp: slab::Chunked<tcp::TcpTrack>,
    tcp_free: Vec<u32>,
    /// Connlabel bits by `ConnEntry::labelx`, only for connections with a bit set, and
    /// the free slots.
    labels: slab::Chunked<u128>,
    labels_free: Vec<u32>,
    /// New connections get labels (a connlabel rule is installed: the kernel's
    /// `labels_used`).
    labels_used: bool,
    /// Counters by entry id.
    acct: Vec<Counters>,
    free: Vec<u32>,
    count: u32,
    wheel: TimerWheel,
    cursor: usize,
    stats: CtStats,
    /// Connections announced by helpers and not yet seen.
    expect: Vec<ftp::Expectation>,
    /// Sequence corrections of connections whose payload a helper changed in length.
    seqadj: HashMap<u32, [ftp::SeqAdj; 2]>,
    /// SYNPROXY state of the connections the target opened (`seqadj.rs`).
    synproxy: HashMap<u32, seqadj::SynproxyConn>,
    /// NEW / UPDATE / DESTROY events in `conntrack -E`'s shape, when followed.
    events: Option<Vec<String>>,
    /// The same events as records, when followed (the API's event stream).
    records: Option<Vec<CtEvent<A>>>,
    /// The time of the packet or tick being processed (for event timeouts).
    now_ns: u64,
    /// This shard's worker and the number of workers: NAT gives each worker the ports
    /// `p % workers == worker` of every pool, so a reply's owner follows from its port.
    worker: (u16, u16),
    /// Where this worker registers connections other workers may receive packets of
    /// (multi-core): a dying entry leaves it.
    directory: Option<std::sync::Arc<owners::OwnerDirectory<A>>>,
    /// How many more packets may start a connection (`None`: any number); set by an
    /// overloaded worker per burst.
    new_allowance: Option<u32>,
    /// Connections inserted so far: a tuple found absent at one generation is still
    /// absent at the same generation.
    generation: u64,
    /// Some connection confirmed here had a helper (never cleared: the helper hook's
    /// fast exit while none ever had one).
    any_helper: bool,
}

/// Tuples whose misses `lookup_burst` / `prefetch_burst` keep in flight together.
const PREFETCH_CHUNK: usize = 32;
/// Timers each packet reaps (`expire_some`). In a steady state connections end as fast
/// as they start, at most one per packet: eight leaves room to catch up after a second
/// in which many timed out, and the worker's poll reaps `EXPIRE_PER_POLL` more.
pub const EXPIRE_PER_PACKET: usize = 8;
/// Timers each pass of a worker's loop reaps, with or without traffic.
pub const EXPIRE_PER_POLL: usize = 256;

/// Packs an entry id and a direction into the map's value.
fn slot(id: u32, reply: bool) -> u32 {
    id << 1 | u32::from(reply)
}

impl Conntrack {
    pub fn new(cfg: CtConfig) -> Conntrack {
        Conntrack::with_config(cfg)
    }
}

impl<A: CtAddr> Conntrack<A> {
    /// Limits how many further packets may start a connection (`None`: no limit); past
    /// it `packet_in` refuses them right after their lookup missed (`CtInfo::shed`).
    /// The worker's overload admission sets it per received burst. Returns what was
    /// left of the previous allowance.
    pub fn set_new_allowance(&mut self, allowance: Option<u32>) -> Option<u32> {
        std::mem::replace(&mut self.new_allowance, allowance)
    }

    /// The owner directory this shard's dying entries are removed from.
    pub fn set_directory(&mut self, dir: Option<std::sync::Arc<owners::OwnerDirectory<A>>>) {
        self.directory = dir;
    }

    /// An empty table.
    pub fn with_config(cfg: CtConfig) -> Conntrack<A> {
        // A configured maximum up to 1M connections gets its index at once, so it never
        // rehashes under load (zeroed pages: untouched slots cost no memory); beyond
        // that, or unlimited, the index grows as the table does.
        let tuples = if cfg.max <= 1 << 20 {
            cfg.max as usize * 2
        } else {
            0
        };
        Conntrack {
            cfg,
            index: index::TupleIndex::with_capacity(tuples),
            hasher: hashbrown::DefaultHashBuilder::default(),
            entries: slab::Chunked::new(),
            tcp: slab::Chunked::new(),
            tcp_free: Vec::new(),
            labels: slab::Chunked::new(),
            labels_free: Vec::new(),
            labels_used: false,
            acct: Vec::new(),
            free: Vec::new(),
            count: 0,
            wheel: TimerWheel::new(),
            cursor: 0,
            stats: CtStats::default(),
            expect: Vec::new(),
            seqadj: HashMap::new(),
            synproxy: HashMap::new(),
            events: None,
            records: None,
            now_ns: 0,
            worker: (0, 1),
            directory: None,
            new_allowance: None,
            generation: 0,
            any_helper: false,
        }
    }

    /// Makes this the shard of worker `index` of `count` (NAT port slices).
    pub fn set_worker(&mut self, index: u16, count: u16) {
        let count = count.max(1);
        self.worker = (index % count, count);
    }

    /// This shard's worker index and the number of workers.
    pub fn worker(&self) -> (u16, u16) {
        self.worker
    }

    /// The worker that owns NATed port `port` (where a reply to it must be handled).
    pub fn port_owner(&self, port: u16) -> u16 {
        port % self.worker.1
    }

    /// Forgets the connections masqueraded (source-NATed) to `addr`: MASQUERADE's answer
    /// to its port going down or changing address.
    pub fn forget_nat_source(&mut self, addr: A) -> usize {
        let victims: Vec<u32> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
            .filter(|(_, e)| e.status & nat::bits::SRC_NAT != 0 && e.reply.dst == addr)
            .map(|(i, _)| i as u32)
            .collect();
        for id in &victims {
            self.remove(*id);
        }
        victims.len()
    }

    /// Starts recording events (`conntrack -E`).
    pub fn follow_events(&mut self) {
        self.events.get_or_insert_with(Vec::new);
    }

    pub fn take_events(&mut self) -> Vec<String> {
        self.events.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Starts recording events as `CtEvent`s (`take_event_records`).
    pub fn follow_event_records(&mut self) {
        self.records.get_or_insert_with(Vec::new);
    }

    /// Stops recording event records (what was not taken is dropped).
    pub fn unfollow_event_records(&mut self) {
        self.records = None;
    }

    pub fn take_event_records(&mut self) -> Vec<CtEvent<A>> {
        self.records
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Inlined where a connection changes: without a listener (the usual case) it costs
    /// a test.
    #[inline]
    fn event(&mut self, kind: CtEventKind, id: u32, e: &ConnEntry<A>) {
        if self.events.is_some() || self.records.is_some() {
            self.emit_event(kind, id, e);
        }
    }

    #[inline(never)]
    fn emit_event(&mut self, kind: CtEventKind, id: u32, e: &ConnEntry<A>) {
        if let Some(ev) = self.events.as_mut() {
            ev.push(event_line(kind.tag(), e, self.now_ns));
        }
        if let Some(rec) = self.records.as_mut() {
            let counters = self
                .cfg
                .acct
                .then(|| self.acct.get(id as usize).copied().unwrap_or_default());
            rec.push(CtEvent {
                kind,
                id,
                entry: e.clone(),
                counters,
                now_ns: self.now_ns,
            });
        }
    }

    pub fn config(&self) -> &CtConfig {
        &self.cfg
    }

    pub fn set_config(&mut self, cfg: CtConfig) {
        if !cfg.acct {
            // Counters start from the moment accounting is turned (back) on.
            self.acct = Vec::new();
        }
        self.cfg = cfg;
    }

    pub fn stats(&self) -> &CtStats {
        &self.stats
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn entry(&self, id: u32) -> Option<&ConnEntry<A>> {
        self.entries.get(id as usize).and_then(|e| e.as_ref())
    }

    pub fn entry_mut(&mut self, id: u32) -> Option<&mut ConnEntry<A>> {
        self.entries.get_mut(id as usize).and_then(|e| e.as_mut())
    }

    /// The packets and bytes counted for an entry (zero with accounting off).
    pub fn counters(&self, id: u32) -> Counters {
        self.acct.get(id as usize).copied().unwrap_or_default()
    }

    /// The counters of an entry confirmed while accounting was on (`None` otherwise, as
    /// the kernel's connection without its acct extension).
    pub fn accounted(&self, id: u32) -> Option<Counters> {
        self.acct.get(id as usize).copied()
    }

    /// Turns accounting on for connections confirmed from now on (`-m connbytes` needs
    /// it: xt_connbytes forces `nf_conntrack_acct` on).
    pub fn force_acct(&mut self) {
        self.cfg.acct = true;
    }

    /// Whether connections started from now on carry labels (`-m connlabel` in the
    /// ruleset, as xt_connlabel's `nf_connlabels_get` makes the kernel add them).
    pub fn use_labels(&mut self, on: bool) {
        self.labels_used = on;
    }

    /// The connlabel bits of a pending connection, or `None` when it has no labels.
    pub fn pending_labels(&self, info: &CtInfo<A>) -> Option<u128> {
        let e = info.pending.as_ref()?;
        (e.labelx != NO_LABELS).then_some(info.pending_labels)
    }

    /// The connlabel bits of a confirmed connection (`None`: no such connection, or
    /// one without labels).
    pub fn labels(&self, id: u32) -> Option<u128> {
        match self.entry(id)?.labelx {
            NO_LABELS => None,
            ZERO_LABELS => Some(0),
            x => self.labels.get(x as usize).copied(),
        }
    }

    /// Replaces a confirmed connection's connlabel bits (nothing for a connection
    /// without labels). A slot is taken on the first bit set.
    pub fn set_labels(&mut self, id: u32, bits: u128) {
        let Some(x) = self.entry(id).map(|e| e.labelx) else {
            return;
        };
        match x {
            NO_LABELS => {}
            ZERO_LABELS if bits == 0 => {}
            ZERO_LABELS => {
                let x = self.alloc_labels(bits);
                if let Some(e) = self.entry_mut(id) {
                    e.labelx = x;
                }
            }
            x => {
                if let Some(l) = self.labels.get_mut(x as usize) {
                    *l = bits;
                }
            }
        }
    }

    fn alloc_labels(&mut self, bits: u128) -> u32 {
        match self.labels_free.pop() {
            Some(x) => {
                self.labels[x as usize] = bits;
                x
            }
            None => {
                self.labels.push(bits);
                (self.labels.len() - 1) as u32
            }
        }
    }

    /// The packets and bytes counted for a confirmed entry (zero with accounting off).
    pub fn counters_of(&self, e: &ConnEntry<A>) -> Counters {
        self.lookup(&e.orig)
            .map_or_else(Counters::default, |(id, _)| self.counters(id))
    }

    /// Every confirmed connection.
    pub fn entries(&self) -> impl Iterator<Item = &ConnEntry<A>> {
        self.entries.iter().flatten()
    }

    /// The entry id and direction of a tuple.
    pub fn lookup(&self, t: &Tuple<A>) -> Option<(u32, bool)> {
        self.find(self.hash(t), t)
    }

    /// Whether `t` may be in the table: its tag is indexed (`TupleIndex::has_tag`); never
    /// `false` for a tuple that is. No entry is read: one cache miss fewer per answer
    /// where a rare wrong `true` does no harm.
    #[inline]
    pub(crate) fn may_hold(&self, t: &Tuple<A>) -> bool {
        self.index.has_tag(self.hash(t))
    }

    /// Starts loading what a `lookup` of `t` reads: its index slot, or (`entry`, the slot
    /// being loaded already) the entry the slot names.
    #[inline]
    pub(crate) fn prefetch_lookup(&self, t: &Tuple<A>, entry: bool) {
        let h = self.hash(t);
        if entry {
            self.prefetch_candidate(h);
        } else {
            self.index.prefetch(h);
        }
    }

    #[inline]
    fn hash(&self, t: &Tuple<A>) -> u64 {
        A::hash_tuple(&self.hasher, t)
    }

    /// Whether index value `v` (`slot(id, reply)`) is tuple `t`.
    #[inline]
    fn is_tuple(&self, v: u32, t: &Tuple<A>) -> bool {
        self.entries
            .get((v >> 1) as usize)
            .and_then(|e| e.as_ref())
            .is_some_and(|e| {
                if v & 1 == 1 {
                    e.reply == *t
                } else {
                    e.orig == *t
                }
            })
    }

    #[inline]
    fn find(&self, hash: u64, t: &Tuple<A>) -> Option<(u32, bool)> {
        self.index
            .find(hash, |v| self.is_tuple(v, t))
            .map(|v| (v >> 1, v & 1 == 1))
    }

    /// `lookup` for a burst's tuples at once (`out[i]` for `tuples[i]`; `out` at least
    /// as long). On a table larger than the caches every lookup is two misses (index
    /// slot, then entry); one at a time they are paid in series. Here each pass only
    /// prefetches what the next pass reads, so a burst's misses are in flight together:
    /// hash all and prefetch their index slots, then read the slots and prefetch the
    /// entries their tags point to, then verify those entries. The entries stay cached
    /// for the packets' `packet_in` that follows.
    pub fn lookup_burst(&self, tuples: &[Tuple<A>], out: &mut [Option<(u32, bool)>]) {
        for (ts, out) in tuples
            .chunks(PREFETCH_CHUNK)
            .zip(out.chunks_mut(PREFETCH_CHUNK))
        {
            let (hashes, found) = self.prefetch_chunk(ts);
            for (((t, h), c), o) in ts.iter().zip(&hashes).zip(&found).zip(out.iter_mut()) {
                *o = match *c {
                    index::Candidate::Absent => None,
                    // The usual answer: the entry the pass before prefetched.
                    index::Candidate::Value(v) if self.is_tuple(v, t) => Some((v >> 1, v & 1 == 1)),
                    // A tag shared with another tuple: the whole search.
                    _ => self.find(*h, t),
                };
            }
        }
    }

    /// `lookup_burst`'s first two passes alone: the worker calls it for a received burst
    /// so that its packets' index slots and entries are in the cache (or on their way)
    /// when `packet_in` tracks them one by one.
    pub fn prefetch_burst(&self, tuples: &[Tuple<A>]) {
        for ts in tuples.chunks(PREFETCH_CHUNK) {
            self.prefetch_chunk(ts);
        }
    }

    /// `prefetch_burst`, then whether any of `tuples` is a connection alive at `now_ns`
    /// (either direction; one timed out but not reaped yet is not, as `packet_in` sees
    /// it), with the hashes the prefetch computed; stops looking at the first found.
    pub fn prefetch_burst_any_found(&self, tuples: &[Tuple<A>], now_ns: u64) -> bool {
        let mut found = false;
        for ts in tuples.chunks(PREFETCH_CHUNK) {
            let (hashes, candidates) = self.prefetch_chunk(ts);
            found = found
                || ts.iter().zip(&hashes).zip(&candidates).any(|((t, h), c)| {
                    let id = match *c {
                        index::Candidate::Absent => None,
                        index::Candidate::Value(v) if self.is_tuple(v, t) => Some(v >> 1),
                        _ => self.find(*h, t).map(|(id, _)| id),
                    };
                    id.and_then(|id| self.entry(id))
                        .is_some_and(|e| e.timeout_ns > now_ns)
                });
        }
        found
    }

    /// Hashes up to `PREFETCH_CHUNK` tuples and prefetches their index slots, then the
    /// entries the slots name; returns the hashes and what the slots said.
    fn prefetch_chunk(
        &self,
        ts: &[Tuple<A>],
    ) -> ([u64; PREFETCH_CHUNK], [index::Candidate; PREFETCH_CHUNK]) {
        let mut hashes = [0u64; PREFETCH_CHUNK];
        for (t, h) in ts.iter().zip(&mut hashes) {
            *h = self.hash(t);
            self.index.prefetch(*h);
        }
        // (A rolling pipeline, with fewer misses in flight at a time, measured slower.)
        let mut found = [index::Candidate::Absent; PREFETCH_CHUNK];
        // Which of them go on past their home line (about 1 in 12 at a load of 0.6).
        let mut beyond = [0u8; PREFETCH_CHUNK];
        let mut n_beyond = 0;
        for (i, (h, c)) in hashes[..ts.len()].iter().zip(&mut found).enumerate() {
            *c = self.index.candidate(*h);
            match *c {
                index::Candidate::Value(v) => self.prefetch_entry(v),
                index::Candidate::Absent => {}
                index::Candidate::Beyond => {
                    self.index.prefetch_next_line(*h);
                    beyond[n_beyond] = i as u8;
                    n_beyond += 1;
                }
            }
        }
        // Their next lines were loading together meanwhile (not one by one in the
        // verifying pass).
        for &i in &beyond[..n_beyond] {
            let i = usize::from(i);
            found[i] = match self.index.first_with_tag(hashes[i]) {
                Some(v) => {
                    self.prefetch_entry(v);
                    index::Candidate::Value(v)
                }
                None => index::Candidate::Absent,
            };
        }
        (hashes, found)
    }

    /// Prefetches the entry index value `v` names.
    #[inline]
    fn prefetch_entry(&self, v: u32) {
        if let Some(e) = self.entries.get((v >> 1) as usize) {
            memhint::prefetch_read(e);
        }
    }

    /// Prefetches the entry the home slot's line of `hash` names for its tag (most
    /// hits; a longer probe is rare).
    #[inline]
    fn prefetch_candidate(&self, hash: u64) {
        if let index::Candidate::Value(v) = self.index.candidate(hash) {
            self.prefetch_entry(v);
        }
    }

    /// Whether any connection confirmed in this table ever had a helper: without one no
    /// packet needs the helper hook's entry read.
    #[inline]
    pub fn any_helper(&self) -> bool {
        self.any_helper
    }

    /// A TCP connection's window tracking (`None` for other protocols).
    pub fn tcp_track(&self, id: u32) -> Option<&tcp::TcpTrack> {
        let x = self.entry(id)?.tcpx;
        self.tcp.get(x as usize)
    }

    pub fn tcp_track_mut(&mut self, id: u32) -> Option<&mut tcp::TcpTrack> {
        let x = self.entry(id)?.tcpx;
        self.tcp.get_mut(x as usize)
    }

    /// Tracks one packet (`ip` is the whole IPv4 or IPv6 packet). `verify` asks for checksum
    /// verification (the kernel does it in PREROUTING only).
    pub fn packet_in(&mut self, ip: &[u8], verify: bool, now_ns: u64) -> CtInfo<A> {
        let mut info = CtInfo::with_state(CtState::Untracked);
        self.packet_in_to(ip, verify, now_ns, &mut info);
        info
    }

    /// `packet_in` written into `info`: a packet of a known connection (most of them)
    /// sets its few fields in place rather than moving a whole `CtInfo` (with its
    /// pending entry and window state) twice.
    pub fn packet_in_to(&mut self, ip: &[u8], verify: bool, now_ns: u64, info: &mut CtInfo<A>) {
        self.expire_some(now_ns, EXPIRE_PER_PACKET);
        self.now_ns = now_ns;
        match self.track(ip, verify, now_ns) {
            Tracked::Found {
                state,
                id,
                reply,
                nat_bits,
                other,
            } => {
                info.set(state, Some(id), reply, false, nat_bits);
                info.nat_other = Some(other);
            }
            Tracked::New { t, l4, len, hash } => {
                match self.track_new(t, l4, len, hash, now_ns, info) {
                    Tracked::Invalid { shed } => info.set(CtState::Invalid, None, false, shed, 0),
                    Tracked::Other(other) => *info = other,
                    _ => {}
                }
            }
            Tracked::Invalid { shed } => info.set(CtState::Invalid, None, false, shed, 0),
            Tracked::Written => {}
            Tracked::Other(other) => *info = other,
        }
        if info.state == CtState::Invalid && !info.shed {
            self.stats.invalid += 1;
        }
    }

    fn track<'a>(&mut self, ip: &'a [u8], verify: bool, now_ns: u64) -> Tracked<'a, A> {
        // Fragments are reassembled before conntrack; one that reaches it (reassembly off
        // because no rule needs conntrack, or NOTRACK) cannot be tracked.
        let Some(l3) = A::l3(ip).filter(|l3| l3.trackable) else {
            return Tracked::Invalid { shed: false };
        };
        let l4 = &ip[l3.l4_start..l3.l4_end];
        let Some(t) = Tuple::from_l3(&l3, l4) else {
            return Tracked::Invalid { shed: false };
        };
        if verify && self.cfg.checksum && !A::l4_checksum_ok(ip, &l3) {
            return Tracked::Invalid { shed: false };
        }
        if t.proto == A::ICMP_PROTO {
            match A::icmp_class(l4[0]) {
                family::IcmpClass::Error => return self.icmp_error(l4, t.dst).into(),
                family::IcmpClass::Untracked => {
                    return CtInfo::with_state(CtState::Untracked).into()
                }
                family::IcmpClass::Query => {}
            }
        }
        if t.proto == 6 && !tcp::valid_flags(l4.get(13).copied().unwrap_or(0)) {
            return Tracked::Invalid { shed: false };
        }
        let len = ip.len() as u64;
        let hash = self.hash(&t);
        let mut found = self.find(hash, &t);
        // Timed out but not reaped yet (reaping is budgeted): gone, as the kernel's
        // lookup finds it (nf_ct_is_expired); the packet starts a new connection.
        if let Some((id, _)) = found {
            let expired = self.entry(id).is_some_and(|e| e.timeout_ns <= now_ns);
            if expired {
                self.remove(id);
                self.stats.expired += 1;
                found = None;
            }
        }
        if let (6, Some((id, reply))) = (t.proto, found) {
            // A SYN that reopens a closed connection's tuple: the old entry goes and the
            // packet starts a new one.
            let kind = tcp::SegKind::of(l4[13]);
            let reopens = self
                .entry(id)
                .zip(self.tcp_track(id))
                .is_some_and(|(e, x)| tcp_reopens(e, x, reply, kind));
            if reopens {
                self.remove(id);
                found = None;
            }
        }
        if let Some((id, reply)) = found {
            self.stats.found += 1;
            // Window tracking and its sequence adjustment: TCP's alone (another
            // protocol's entry has no slab slot).
            let receiver_offset = if t.proto == 6 {
                seqadj::receiver_offset(self.seqadj.get(&id), reply, l4)
            } else {
                0
            };
            let Some(e) = self.entries.get_mut(id as usize).and_then(|e| e.as_mut()) else {
                return Tracked::Invalid { shed: false };
            };
            let x = if t.proto == 6 {
                self.tcp.get_mut(e.tcpx as usize)
            } else {
                None
            };
            let before = (e.tcp, e.status);
            let deadline_before = e.timeout_ns;
            let tcpx = x.map(|x| (x, receiver_offset));
            let (state, counted) = update(&self.cfg, e, tcpx, reply, l4, now_ns);
            // An INVALID packet leaves the connection (nf_conntrack_in drops its reference
            // when the protocol's handler refuses the packet): no NAT binding, no entry
            // for the rules to read, nothing counted on it.
            if state == CtState::Invalid {
                return Tracked::Invalid { shed: false };
            }
            let nat_bits = e.status & (nat::bits::SRC_NAT | nat::bits::DST_NAT);
            let other = if reply { e.orig } else { e.reply };
            // A shorter timeout (RST, FIN) must not wait for the old deadline's slot. One
            // that did not move earlier (a refresh, most packets) needs no look: the
            // entry's second is at or before the old deadline's (each earlier move is
            // rescheduled here, and the wheel's floor only rises).
            if e.timeout_ns < deadline_before {
                let sec = self.wheel.second_for(e.timeout_ns);
                if sec < u64::from(e.wheel_at) {
                    e.wheel_at = wheel_sec(sec);
                    self.wheel.schedule(id, sec);
                }
            }
            if (self.events.is_some() || self.records.is_some()) && (e.tcp, e.status) != before {
                let e = e.clone();
                self.event(CtEventKind::Update, id, &e);
            }
            if counted && self.cfg.acct {
                if let Some(c) = self.acct.get_mut(id as usize) {
                    c.add(reply, len);
                }
            }
            return Tracked::Found {
                state,
                id,
                reply,
                nat_bits,
                other,
            };
        }
        Tracked::New { t, l4, len, hash }
    }

    /// `track`'s new connection, if this packet may start one, written into `info`.
    #[inline]
    fn track_new<'a>(
        &mut self,
        t: Tuple<A>,
        l4: &'a [u8],
        len: u64,
        hash: u64,
        now_ns: u64,
        info: &mut CtInfo<A>,
    ) -> Tracked<'a, A> {
        let Some(reply_t) = t.invert() else {
            return Tracked::Invalid { shed: false };
        };
        if t.proto == A::ICMP_PROTO && !A::icmp_starts_connection(l4[0]) {
            return Tracked::Invalid { shed: false };
        }
        // A TCP segment that cannot open a connection is INVALID whatever the load.
        let tcp_open = if t.proto == 6 {
            let Some(seg) = tcp::Segment::parse(l4) else {
                return Tracked::Invalid { shed: false };
            };
            match tcp::transition(false, tcp::SegKind::of(l4[13]), TcpState::None) {
                tcp::Transition::To(TcpState::SynSent) => Some((seg, true)),
                tcp::Transition::To(_) if self.cfg.tcp_loose => Some((seg, false)),
                _ => return Tracked::Invalid { shed: false },
            }
        } else {
            None
        };
        // Past an overloaded worker's allowance: refused before anything is built. Only
        // packets that would start a connection count (INVALID ones stay INVALID).
        if let Some(left) = self.new_allowance.as_mut() {
            if *left == 0 {
                return Tracked::Invalid { shed: true };
            }
            *left -= 1;
        }
        // Built where the pipeline keeps it: the entry and the window state are written
        // once, not returned and moved into the packet's `CtInfo`.
        let e = info.pending.insert(ConnEntry {
            orig: t,
            reply: reply_t,
            timeout_ns: now_ns,
            start_ns: now_ns,
            mark: 0,
            status: 0,
            tcp: TcpState::None,
            helper: 0,
            wheel_at: self.generation as u32,
            tcpx: NO_TCP,
            labelx: if self.labels_used {
                ZERO_LABELS
            } else {
                NO_LABELS
            },
        });
        // Only TCP's is read (on confirm); other protocols leave it unwritten.
        let x = &mut info.pending_tcp;
        if let Some((seg, syn)) = tcp_open {
            *x = tcp::TcpTrack::default();
            tcp::init_window(&mut x.win, &seg, syn);
        }
        // A connection a helper announced is RELATED to its master.
        let mut expected_nat = None;
        if let Some(x) = self.take_expectation(&t, now_ns) {
            e.status |= status::EXPECTED;
            expected_nat = x.nat_to;
        }
        let (state, _) = update(&self.cfg, e, Some((x, 0)), false, l4, now_ns);
        if state == CtState::Invalid {
            return Tracked::Invalid { shed: false };
        }
        self.stats.new += 1;
        info.state = if e.status & status::EXPECTED != 0 {
            CtState::Related
        } else {
            CtState::New
        };
        info.id = None;
        info.reply = false;
        info.nat_bits = NAT_BITS_UNKNOWN;
        info.pending_len = len;
        info.pending_hash = Some(hash);
        info.pending_labels = 0;
        info.expected_nat = expected_nat;
        info.shed = false;
        Tracked::Written
    }

    /// Enters a packet's new connection into the table (the kernel's confirm). `false`
    /// means the packet must be dropped: the table is full and nothing could be evicted,
    /// or the tuples are already taken.
    pub fn confirm(&mut self, info: &mut CtInfo<A>, now_ns: u64) -> bool {
        let Some(mut e) = info.pending.take() else {
            return true;
        };
        // The original tuple packet_in found absent is absent still when nothing was
        // inserted since (a removal never makes a tuple present).
        let (ho, orig_absent) = match info.pending_hash.take() {
            Some(h) => (h, e.wheel_at == self.generation as u32),
            None => (self.hash(&e.orig), false),
        };
        let hr = self.hash(&e.reply);
        if (!orig_absent && self.find(ho, &e.orig).is_some()) || self.find(hr, &e.reply).is_some() {
            self.stats.insert_failed += 1;
            return false;
        }
        if self.count >= self.cfg.max && !self.early_drop() {
            self.stats.table_full += 1;
            return false;
        }
        // Index values are `id << 1 | reply` and never u32::MAX.
        if self.free.is_empty() && self.entries.len() >= (1 << 31) - 1 {
            self.stats.table_full += 1;
            return false;
        }
        e.status |= status::CONFIRMED;
        self.any_helper |= e.helper != 0;
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.entries.push(None);
                (self.entries.len() - 1) as u32
            }
        };
        // The counters table exists only while accounting is on (32 bytes a connection).
        if self.cfg.acct {
            if self.acct.len() <= id as usize {
                self.acct.resize(id as usize + 1, Counters::default());
            }
            let mut first = Counters::default();
            first.add(false, info.pending_len);
            self.acct[id as usize] = first;
        }
        self.index.insert(ho, slot(id, false));
        self.index.insert(hr, slot(id, true));
        self.generation += 1;
        if e.orig.proto == 6 {
            e.tcpx = match self.tcp_free.pop() {
                Some(x) => {
                    self.tcp[x as usize] = info.pending_tcp;
                    x
                }
                None => {
                    self.tcp.push(info.pending_tcp);
                    (self.tcp.len() - 1) as u32
                }
            };
        }
        if e.labelx == ZERO_LABELS && info.pending_labels != 0 {
            e.labelx = self.alloc_labels(info.pending_labels);
        }
        let sec = self.wheel.second_for(e.timeout_ns.max(now_ns));
        e.wheel_at = wheel_sec(sec);
        self.wheel.schedule(id, sec);
        self.now_ns = now_ns;
        self.event(CtEventKind::New, id, &e);
        self.entries[id as usize] = Some(e);
        self.count += 1;
        self.stats.inserted += 1;
        info.id = Some(id);
        info.nat_bits = NAT_BITS_UNKNOWN;
        true
    }

    /// Evicts one connection that is not ASSURED, looking at a bounded number of entries
    /// (the kernel looks in a few hash buckets).
    fn early_drop(&mut self) -> bool {
        let n = self.entries.len();
        for _ in 0..n.min(64) {
            self.cursor = (self.cursor + 1) % n.max(1);
            let id = self.cursor as u32;
            if self
                .entry(id)
                .is_some_and(|e| e.status & status::ASSURED == 0)
            {
                self.remove(id);
                self.stats.early_drop += 1;
                return true;
            }
        }
        false
    }

    /// Removes an entry as its expiry does: both tuples (which frees its NAT binding), its
    /// helper state and expectations, its owner directory registration; a DESTROY event.
    /// The wheel's reference to it goes stale and is skipped when due.
    fn remove(&mut self, id: u32) -> Option<ConnEntry<A>> {
        self.seqadj.remove(&id);
        self.synproxy.remove(&id);
        self.expect.retain(|x| x.master != id);
        let e = self.entries.get_mut(id as usize).and_then(|e| e.take())?;
        self.index.remove(self.hash(&e.orig), slot(id, false));
        self.index.remove(self.hash(&e.reply), slot(id, true));
        if e.tcpx != NO_TCP {
            self.tcp_free.push(e.tcpx);
        }
        if e.labelx < ZERO_LABELS {
            self.labels_free.push(e.labelx);
        }
        if let Some(dir) = self.directory.as_ref() {
            dir.unregister(&e.orig, self.worker.0);
            dir.unregister(&e.reply, self.worker.0);
        }
        self.free.push(id);
        self.count -= 1;
        self.event(CtEventKind::Destroy, id, &e);
        Some(e)
    }

    /// Expires everything that timed out by `now_ns`.
    pub fn expire(&mut self, now_ns: u64) {
        self.expire_some(now_ns, usize::MAX);
    }

    /// Expires what timed out by `now_ns`, looking at no more than `budget` timers:
    /// the data path reaps a little per packet and per poll, so a second in which many
    /// connections time out never stalls one packet. Returns the timers looked at.
    #[inline]
    pub fn expire_some(&mut self, now_ns: u64, budget: usize) -> usize {
        self.now_ns = now_ns;
        // Called per packet: within a second already reaped there is nothing to do.
        if !self.wheel.is_due(now_ns) {
            return 0;
        }
        self.reap(now_ns, budget)
    }

    fn reap(&mut self, now_ns: u64, budget: usize) -> usize {
        let mut seen = 0;
        while seen < budget {
            let Some((sec, id)) = self.wheel.pop_due(now_ns) else {
                break;
            };
            seen += 1;
            let Some(e) = self.entries.get_mut(id as usize).and_then(|e| e.as_mut()) else {
                continue;
            };
            let at = u64::from(e.wheel_at);
            if at % wheel::SLOTS != sec % wheel::SLOTS {
                continue; // rescheduled elsewhere: a stale reference
            }
            if at > sec {
                self.wheel.schedule(id, at); // a later turn
                continue;
            }
            if e.timeout_ns <= now_ns {
                self.remove(id);
                self.stats.expired += 1;
            } else {
                // Refreshed since: wait for the new deadline.
                let at = self.wheel.second_for(e.timeout_ns);
                e.wheel_at = wheel_sec(at);
                self.wheel.schedule(id, at);
            }
        }
        seen
    }

    /// Drops every entry (`conntrack -F`); returns how many there were.
    pub fn flush(&mut self) -> usize {
        let ids: Vec<u32> = (0..self.entries.len() as u32).collect();
        ids.into_iter().filter_map(|id| self.remove(id)).count()
    }

    /// Deletes the entries `filter` matches (`conntrack -D`), each exactly as its expiry
    /// would: the next packet of such a flow starts a NEW connection. Returns them.
    pub fn delete_matching(&mut self, filter: &CtFilter) -> Vec<ConnEntry<A>> {
        let ids: Vec<u32> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.as_ref().is_some_and(|e| filter.matches(e)))
            .map(|(i, _)| i as u32)
            .collect();
        ids.into_iter().filter_map(|id| self.remove(id)).collect()
    }
}

/// Per-protocol update of an entry by one packet; returns the state the packet has and
/// whether it counts in the accounting (the kernel counts when it refreshes the entry).
/// `x`: the TCP window tracking and the offset the connection's sequence adjustment puts
/// on this packet's acknowledgement (`nf_ct_seq_offset` of the other direction).
#[inline(always)]
fn update<A: CtAddr>(
    cfg: &CtConfig,
    e: &mut ConnEntry<A>,
    x: Option<(&mut tcp::TcpTrack, i32)>,
    reply: bool,
    l4: &[u8],
    now_ns: u64,
) -> (CtState, bool) {
    let state = state_of(e, reply);
    let timeout_s: u32 = match e.orig.proto {
        6 => match x.map_or(TcpVerdict::Invalid, |x| {
            tcp_update(cfg, e, x.0, reply, l4, now_ns, x.1)
        }) {
            TcpVerdict::Invalid => return (CtState::Invalid, false),
            TcpVerdict::Unrefreshed => {
                // nf_conntrack_in marks the reply seen for every accepted packet.
                if reply {
                    e.status |= status::SEEN_REPLY;
                }
                return (state, false);
            }
            TcpVerdict::Kill => {
                // A RST before any reply (the reply itself, or the originator giving up):
                // the connection never existed, the kernel kills it at once.
                e.timeout_ns = now_ns;
                return (state, true);
            }
            // SEEN_REPLY is set after this (below, as nf_conntrack_in does after the
            // protocol's handler): the first reply to a picked-up connection does not
            // make it ASSURED yet, the next packet does.
            TcpVerdict::Refresh(t) => t,
        },
        17 | 136 => {
            // As for TCP, the stream test sees SEEN_REPLY as it was before this packet.
            if e.status & status::SEEN_REPLY != 0 {
                // Still active two seconds after it started: a stream.
                if now_ns > e.start_ns + 2 * NS {
                    e.status |= status::ASSURED;
                    cfg.udp_timeout_stream
                } else {
                    cfg.udp_timeout
                }
            } else {
                cfg.udp_timeout
            }
        }
        p if p == A::ICMP_PROTO => A::icmp_timeout(cfg),
        _ => cfg.generic_timeout,
    };
    if reply {
        e.status |= status::SEEN_REPLY;
    }
    e.timeout_ns = now_ns + u64::from(timeout_s) * NS;
    (state, true)
}

/// NEW until the connection has seen a reply (RELATED for one a helper expected),
/// ESTABLISHED after and for the reply.
fn state_of<A>(e: &ConnEntry<A>, reply: bool) -> CtState {
    if reply || e.status & status::SEEN_REPLY != 0 {
        CtState::Established
    } else if e.status & status::EXPECTED != 0 {
        CtState::Related
    } else {
        CtState::New
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests6;
