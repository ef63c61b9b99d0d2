//! The hook pipeline of SPEC.md section 1: every packet through the tables in the
//! kernel's order for its path (to this host, forwarded, generated here), routing with
//! TTL handling, and the extension points where connection tracking and NAT run.
//!
//! One `Pipeline` per worker: it owns its counters and per-rule state and reads the
//! shared `CompiledRuleset`; nothing here locks.

pub mod arp;
pub mod classify;
pub mod compile;
mod counters;
mod drop;
mod egress;
pub mod eval;
pub mod forward6;
mod helper;
mod hooks;
mod host;
pub mod icmp_limit;
pub mod ipv6;
mod nat;
mod nat6;
pub mod ndisc;
pub mod owner;
pub mod synproxy;
pub mod tables;
pub mod trace;
pub mod traverse;

pub use compile::{
    Action, CompileError, CompiledRule, CompiledRuleset, CompiledTable, HeadRule, TablePlan,
    DEFAULT_CLASSIFIER_MEMORY,
};
pub use drop::{DropCounters, DropReason};
pub use host::TargetCx;
pub use traverse::{
    single_rule, traverse, traverse_from, RuleHost, TargetOutcome, TraceKind, Verdict,
};

use crate::conntrack::nat::{Manip, NatRequest};
use crate::conntrack::{ConnEntry, ConnEntry6, Conntrack, CtConfig, CtInfo, CtState, Tuple};
use crate::defrag::{Defrag, DefragStats, Reassembly};
use crate::ipset::SetTable;
use crate::neigh::NeighTable;
use crate::port::{MacAddr, PacketBuf, PortId};
use crate::route::{Fib, NextHop, RouteCache, RouteCache6};
use crate::ruleset::targets::log::{flags as log_flags, format_packet};
use crate::ruleset::targets::reject;
use crate::ruleset::targets::tee::TeeTarget;
use crate::ruleset::{Counters, Hook, TableKind, Target};
use crate::wire::{EtherType, EthernetFrame, Ipv4Packet};
use counters::carried_slots;
use egress::{ipv4_dst, reply_source};
use eval::{MatchEnv, RuleState};
use nat::is_icmp_error;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// `-j SET` operations a pipeline queues between two drains by its worker loop (a burst
/// makes at most one per packet and rule; more means the control plane is not draining).
pub const MAX_SET_OPS: usize = 4096;

/// `-j NFLOG` records a pipeline queues between two drains by its worker loop (more are
/// lost and counted: the control plane's writer is not keeping up).
pub const MAX_NFLOG_RECORDS: usize = 4096;

/// Pushes what `item` makes on a queue the worker loop drains (`-j SET`, `-j NFLOG`),
/// bounded by `max`: counted as queued, or as lost (and not made) when the queue is full.
fn push_bounded<T>(
    q: &mut Vec<T>,
    max: usize,
    item: impl FnOnce() -> T,
    queued: &mut u64,
    lost: &mut u64,
) {
    if q.len() < max {
        q.push(item());
        *queued += 1;
    } else {
        *lost += 1;
    }
}

/// `n` drained items the worker's channel refused: from queued to lost.
fn move_to_lost(queued: &mut u64, lost: &mut u64, n: u64) {
    *lost += n;
    *queued -= n.min(*queued);
}

/// The flags TRACE logs with (NF_LOG_DEFAULT_MASK without the socket owner).
pub const TRACE_FLAGS: u8 = log_flags::TCPSEQ | log_flags::TCPOPT | log_flags::IPOPT;

/// What the pipeline hands back for a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emit {
    /// A complete Ethernet frame to send on a port.
    Tx { port: PortId, frame: PacketBuf },
    /// An IPv4 or IPv6 packet for the host's own stack (past INPUT).
    Local { packet: PacketBuf },
}

/// What became of the packets a pipeline saw: delivered, forwarded, sent, and why the
/// others were dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineStats {
    pub received: u64,
    pub forwarded: u64,
    pub delivered_local: u64,
    pub sent_local: u64,
    pub icmp_errors: u64,
    /// ICMP errors (the appliance's own and REJECT's) not sent: over `icmp_send`'s rate
    /// limits (`icmp_limit`).
    pub icmp_rate_limited: u64,
    pub fragments_sent: u64,
    /// `-j SET` operations queued for the control plane, and those lost because the
    /// queue was full (`MAX_SET_OPS`: the control plane is not keeping up).
    pub set_ops: u64,
    pub set_ops_lost: u64,
    /// `-j NFLOG` packets queued for the control plane's capture writer, and those lost
    /// because a queue was full (`MAX_NFLOG_RECORDS`, or the worker's channel).
    pub nflog: u64,
    pub nflog_lost: u64,
    /// `-j SYNPROXY`'s counters (/proc/net/stat/synproxy).
    pub synproxy: synproxy::SynproxyStats,
    /// Every packet dropped, by reason (`Pipeline::count_drop`).
    pub drops: DropCounters,
}

/// Why a packet's way through the hooks ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// Dropped, and why (counted once, where the packet's path ends).
    Drop(DropReason),
    /// Kept elsewhere for now: a fragment waiting for its datagram, a datagram handed to
    /// the worker that owns it, an ARP frame answered or learned from.
    Held,
}

impl Stop {
    const MALFORMED: Stop = Stop::Drop(DropReason::Malformed);
}

/// The outcome of one step of a packet's path: go on, or stop there.
type Flow = Result<(), Stop>;

/// A packet conntrack refused for the overloaded worker (`CtInfo::shed`): out of the
/// established path's way.
#[cold]
#[inline(never)]
fn shed() -> Flow {
    Err(Stop::Drop(DropReason::Overload))
}

/// A packet on its way through the hooks.
struct Pkt {
    /// The IP packet (no link header).
    buf: PacketBuf,
    /// Which tables it goes through: iptables' or ip6tables'.
    family: crate::ruleset::Family,
    in_port: Option<PortId>,
    out_port: Option<PortId>,
    /// The route's gateway, when it has one (MASQUERADE picks its address by it).
    gateway: Option<Ipv4Addr>,
    /// The link header it arrived with (for `-m mac` and the MAC= of LOG/TRACE).
    mac_header: Option<[u8; 14]>,
    /// What conntrack says about the packet.
    ct: CtInfo,
    /// Set by NOTRACK / `CT --notrack` in raw: conntrack leaves the packet alone.
    notrack: bool,
    /// For a reassembled datagram: the largest fragment it arrived in (it leaves in
    /// pieces no larger).
    frag_max: usize,
    /// For a reassembled IPv6 datagram: how it arrived (it leaves cut the same way).
    frag6: Option<crate::defrag6::Frag6>,
    /// The helper `-j CT --helper` attached in raw, given to the new connection.
    helper: u8,
    /// Set by a target that drops for a reason other than a rule's verdict (NAT without
    /// a port or address, TCPMSS without room).
    drop_reason: Option<DropReason>,
    /// Marked by `-j TRACE` (nf_trace): the rest of its way is traced.
    nf_trace: bool,
    /// TRACE lines are due for this packet: the replay traces everything, an open watch
    /// selected it, or `-j TRACE` marked it (decided once, read at every hook).
    traced: bool,
}

impl Pkt {
    /// It arrived in a frame sent to a link-layer broadcast or multicast address (not
    /// PACKET_HOST): not forwarded, and `icmp_send` does not answer it.
    fn link_broadcast(&self) -> bool {
        self.mac_header.is_some_and(|h| h[0] & 1 == 1)
    }

    fn new(buf: PacketBuf, in_port: Option<PortId>, mac_header: Option<[u8; 14]>) -> Pkt {
        Pkt {
            buf,
            family: crate::ruleset::Family::V4,
            in_port,
            out_port: None,
            gateway: None,
            mac_header,
            ct: CtInfo::untracked(),
            notrack: false,
            frag_max: 0,
            frag6: None,
            helper: 0,
            drop_reason: None,
            nf_trace: false,
            traced: false,
        }
    }

    /// An IPv6 packet (ip6tables' tables, untracked: IPv6 conntrack is not in the path).
    fn new6(buf: PacketBuf, in_port: Option<PortId>, mac_header: Option<[u8; 14]>) -> Pkt {
        Pkt {
            family: crate::ruleset::Family::V6,
            ..Pkt::new(buf, in_port, mac_header)
        }
    }

    /// The IPv4 connection entry of the packet: the new one it carries, or the table's.
    #[inline]
    fn entry<'a>(&'a self, ct: &'a Conntrack) -> Option<&'a ConnEntry> {
        self.ct.entry(ct)
    }

    /// As `entry`, to change it.
    fn entry_mut<'a>(&'a mut self, ct: &'a mut Conntrack) -> Option<&'a mut ConnEntry> {
        self.ct.entry_mut(ct)
    }
}

pub struct Pipeline {
    rules: Arc<CompiledRuleset>,
    /// An empty ruleset that stands in for `rules` while `run` traverses them (moved
    /// out, so the traversal borrows them beside `&mut self` without an `Arc` clone's
    /// two atomic operations per packet). Nothing a traversal calls reads `rules`.
    parked_rules: Option<Arc<CompiledRuleset>>,
    fib: Fib,
    /// Forwarding lookups of recent destinations (exact: keyed by the FIB generation).
    routes: RouteCache,
    /// MASQUERADE's last answer for an egress port whose address does not depend on
    /// the next hop (one address, or none), keyed by the FIB generation like `routes`:
    /// `(generation, port, address)` (`TargetCx::masquerade_source`).
    masq_source: std::cell::Cell<Option<(u64, PortId, Option<Ipv4Addr>)>>,
    routes6: RouteCache6,
    neighbors: NeighTable<PacketBuf>,
    /// The IPv6 neighbour cache (neighbour discovery).
    nd: crate::nd::NdTable<PacketBuf>,
    conntrack: Conntrack,
    /// IPv6's connection tracking (its own table: IPv4 entries stay one cache line).
    conntrack6: crate::conntrack::Conntrack6,
    /// The conntrack verdict of the IPv6 packet in the hooks (one goes through them at a
    /// time: what it generates runs after it), kept here rather than in every `Pkt`.
    ct6: crate::conntrack::CtInfo6,
    tables: tables::NamedTables,
    /// The IP sets `-m set` tests: the snapshot last published to this worker.
    sets: Arc<SetTable>,
    /// `-j SET` operations waiting for the worker loop to hand them to the control plane
    /// (`drain_set_ops`); at most `MAX_SET_OPS`.
    set_ops: Vec<crate::ipset::kadt::PacketSetOp>,
    /// `-j NFLOG` records waiting for the worker loop (`drain_nflog`); None while nobody
    /// collects them (`collect_nflog`: no capture is configured, so nothing is copied).
    nflog: Option<Vec<crate::ruleset::targets::nflog::NflogRecord>>,
    defrag: Defrag,
    /// IPv6 reassembly (per worker: the fragments of a datagram meet at its fragment home,
    /// `owner_of`).
    defrag6: crate::defrag6::Defrag6,
    counters: Vec<Counters>,
    state: Vec<RuleState>,
    stats: PipelineStats,
    arp: arp::ArpStats,
    ndisc: ndisc::NdiscStats,
    ipv6: ipv6::Ipv6Stats,
    /// Packets and bytes of each arptables rule (`ArpTable::rule_count` order).
    arp_counters: Vec<Counters>,
    /// TRACE lines, when tracing every packet (replay).
    trace: Option<Vec<String>>,
    /// Open trace watches (the API's filtered tracing); empty when nobody watches.
    watches: Vec<trace::TraceWatch>,
    /// Whether some watch traces the packet going through now.
    watch_hit: bool,
    /// LOG target lines, when collected (replay, tests); they also go to `tracing`.
    log: Option<Vec<String>>,
    /// Packets generated while handling another (REJECT answers, ICMP errors), run
    /// through the OUTPUT path afterwards.
    generated: Vec<PacketBuf>,
    /// Generated packets that conntrack leaves alone (SYNPROXY's SYN-ACKs, sent with the
    /// client's untracked SYN's conntrack), run through OUTPUT after `generated`.
    generated_untracked: Vec<PacketBuf>,
    /// `-j SYNPROXY`'s cookie secret and the connection its SYN to a server opens.
    synproxy: synproxy::Synproxy,
    /// Copies `-j TEE` made, with the port and gateway they leave for: sent with what
    /// the packet produced, past every table.
    teed: Vec<(PacketBuf, PortId, Ipv4Addr)>,
    /// The rate limits ICMP errors pass before they are generated.
    icmp_limit: icmp_limit::IcmpRateLimit,
    /// The classifier's candidate sets, kept between packets; boxed, so that a traversal
    /// takes them out of the pipeline and puts them back by moving a pointer (`None`
    /// only while a traversal holds them).
    scratch: Option<Box<traverse::Scratch>>,
    /// A received burst's conntrack tuples (`prefetch_burst`), kept between bursts.
    burst_tuples: Vec<Tuple>,
    /// Per port (by `PortId` index): the worker loop's transmit queues, when it gave
    /// the pipeline them (`set_tx_queues`). A forwarded frame goes straight in while
    /// the caller's `Emit` list is empty (what is in it leaves after the queue's
    /// frames, so the order on a port stays as produced); without queues every frame
    /// is an `Emit`.
    tx_queues: Vec<Vec<PacketBuf>>,
    /// A received burst's classifier probes and likely first candidates
    /// (`prefetch_forward_rules`), kept between bursts.
    burst_probes: Vec<(classify::Probe, u32)>,
    /// Bursts left that skip `prefetch_forward_rules` (its last burst had few keys).
    prefetch_rest: u8,
    ident: u16,
    rng: u64,
    now_ns: u64,
    /// Set on each worker of a multi-core data plane (`set_worker`).
    multicore: Option<owner::Multicore>,
    /// Reassembled datagrams owned by other workers (`take_deferred`).
    deferred: Vec<(u16, crate::handoff::Handed)>,
    /// How the datagram another worker reassembled and handed here came cut
    /// (`receive_handed`, `output_handed`): `ipv6_in` and the OUTPUT paths give it to the
    /// packet (taken: only the handed packet gets it, not what it generates).
    handed_frag6: Option<crate::defrag6::Frag6>,
    handed_frag_max: usize,
}

impl Pipeline {
    /// A pipeline over the ports and routes of `fib`, resolving next hops through
    /// `neighbors` (static entries from the config; ARP learning fills it on DPDK ports).
    pub fn new(
        rules: Arc<CompiledRuleset>,
        fib: Fib,
        neighbors: NeighTable<PacketBuf>,
    ) -> Pipeline {
        let n = rules.slot_count();
        let arp_rules = rules.arp.rule_count();
        let mut conntrack = Conntrack::new(CtConfig::default());
        let mut conntrack6 = crate::conntrack::Conntrack6::with_config(CtConfig::default());
        if rules.needs_acct {
            conntrack.force_acct();
            conntrack6.force_acct();
        }
        conntrack.use_labels(rules.needs_labels);
        conntrack6.use_labels(rules.needs_labels);
        Pipeline {
            rules,
            parked_rules: Some(Arc::new(CompiledRuleset {
                tables: Default::default(),
                slots: Vec::new(),
                generation: 0,
                needs_conntrack: false,
                needs_acct: false,
                needs_labels: false,
                plan: Default::default(),
                arp: Default::default(),
                ip6: Default::default(),
            })),
            fib,
            routes: RouteCache::default(),
            masq_source: std::cell::Cell::new(None),
            routes6: RouteCache6::default(),
            neighbors,
            nd: Default::default(),
            conntrack,
            conntrack6,
            ct6: crate::conntrack::CtInfo6::with_state(CtState::Untracked),
            tables: tables::NamedTables::default(),
            sets: Arc::new(SetTable::default()),
            set_ops: Vec::new(),
            nflog: None,
            defrag: Defrag::default(),
            defrag6: Default::default(),
            counters: vec![Counters::default(); n],
            state: vec![RuleState::default(); n],
            stats: PipelineStats::default(),
            arp: arp::ArpStats::default(),
            ndisc: ndisc::NdiscStats::default(),
            ipv6: ipv6::Ipv6Stats::default(),
            arp_counters: vec![Counters::default(); arp_rules],
            trace: None,
            watches: Vec::new(),
            watch_hit: false,
            log: None,
            generated: Vec::new(),
            generated_untracked: Vec::new(),
            synproxy: synproxy::Synproxy::default(),
            teed: Vec::new(),
            icmp_limit: icmp_limit::IcmpRateLimit::default(),
            scratch: Some(Box::default()),
            burst_tuples: Vec::new(),
            tx_queues: Vec::new(),
            burst_probes: Vec::new(),
            prefetch_rest: 0,
            ident: 1,
            rng: 0x9e37_79b9_7f4a_7c15,
            now_ns: 0,
            multicore: None,
            deferred: Vec::new(),
            handed_frag6: None,
            handed_frag_max: 0,
        }
    }

    /// A static neighbour (the replay mode resolves next hops only through these).
    pub fn add_neighbor(&mut self, port: PortId, ip: Ipv4Addr, mac: MacAddr) {
        self.neighbors.add_static(port, ip, mac, self.now_ns);
    }

    /// Static IPv6 neighbours (`[[neighbor]]` with an IPv6 address): PERMANENT entries
    /// that neighbour discovery never probes or replaces.
    pub fn add_neighbors6(&mut self, static6: &[(PortId, std::net::Ipv6Addr, MacAddr)]) {
        for &(port, ip, mac) in static6 {
            self.nd.add_static(port, ip, mac, self.now_ns);
        }
    }

    /// Installs a new ruleset generation. Counters and per-rule state of rules that are
    /// still there carry over, as the kernel's do across `iptables -I/-A/-D/-R`: policies
    /// of chains that remain, and rules with the same criteria and action in the same
    /// chain, matched by `carried_rules` even where an insert or delete shifted them.
    pub fn set_ruleset(&mut self, rules: Arc<CompiledRuleset>) {
        let old = std::mem::replace(&mut self.rules, rules);
        if self.rules.needs_acct {
            self.conntrack.force_acct();
            self.conntrack6.force_acct();
        }
        self.conntrack.use_labels(self.rules.needs_labels);
        self.conntrack6.use_labels(self.rules.needs_labels);
        let n = self.rules.slot_count();
        let mut counters = vec![Counters::default(); n];
        let mut state = vec![RuleState::default(); n];
        for (new_slot, old_slot) in carried_slots(&old, &self.rules) {
            if let (Some(c), Some(st), Some(to_c), Some(to_st)) = (
                self.counters.get(old_slot),
                self.state.get(old_slot),
                counters.get_mut(new_slot),
                state.get_mut(new_slot),
            ) {
                *to_c = *c;
                *to_st = st.clone();
            }
        }
        self.counters = counters;
        self.state = state;
        if !Arc::ptr_eq(&old.arp, &self.rules.arp) {
            let carried = self.rules.arp.carried_from(&old.arp);
            self.arp_counters = carried
                .into_iter()
                .map(|from| {
                    from.and_then(|i| self.arp_counters.get(i))
                        .copied()
                        .unwrap_or_default()
                })
                .collect();
        }
    }

    /// Installs a changed FIB (routes, policy rules). The route cache is keyed by the FIB's
    /// generation, so no cached lookup of the old one is answered.
    pub fn set_fib(&mut self, fib: Fib) {
        self.fib = fib;
    }

    pub fn set_conntrack_config(&mut self, mut cfg: CtConfig) {
        // A ruleset with connbytes keeps accounting on whatever the sysctl says.
        cfg.acct |= self.rules.needs_acct;
        self.conntrack6.set_config(cfg.clone());
        self.conntrack.set_config(cfg);
    }

    /// A port went down or lost `addr`: connections masqueraded to it are forgotten (the
    /// next packet of such a flow starts a new connection with the current address).
    pub fn forget_masqueraded(&mut self, addr: Ipv4Addr) -> usize {
        self.conntrack.forget_nat_source(addr)
    }

    /// A worker pass's housekeeping: up to `EXPIRE_PER_POLL` conntrack timers, and the
    /// fragment queues that timed out.
    pub fn reap(&mut self, now_ns: u64) {
        self.conntrack
            .expire_some(now_ns, crate::conntrack::EXPIRE_PER_POLL);
        self.conntrack6
            .expire_some(now_ns, crate::conntrack::EXPIRE_PER_POLL);
        self.defrag.expire(now_ns);
        self.defrag6.expire(now_ns);
    }

    pub fn conntrack(&self) -> &Conntrack {
        &self.conntrack
    }

    pub fn conntrack_mut(&mut self) -> &mut Conntrack {
        &mut self.conntrack
    }

    /// The IPv6 connection table.
    pub fn conntrack6(&self) -> &crate::conntrack::Conntrack6 {
        &self.conntrack6
    }

    pub fn conntrack6_mut(&mut self) -> &mut crate::conntrack::Conntrack6 {
        &mut self.conntrack6
    }

    /// Runs conntrack on a packet that raw did not exempt.
    /// Before a received burst goes through the hooks packet by packet: its conntrack
    /// index slots and entries are fetched together, so their cache misses overlap
    /// instead of stalling each packet in turn (the burst stage of the fast path).
    pub fn prefetch_burst(&mut self, frames: &[PacketBuf]) {
        self.prefetch_forward_rules(frames);
        if !self.rules.needs_conntrack {
            return;
        }
        self.burst_tuples_of(frames);
        self.conntrack.prefetch_burst(&self.burst_tuples);
    }

    /// `prefetch_burst`, then whether any of the burst's frames belongs to a known
    /// connection (either direction): the overloaded worker's admission limits only
    /// bursts with something to protect. The lookups stop at the first hit (the first
    /// packet, in a burst of established flows); IPv4 only, as the prefetch.
    pub fn prefetch_burst_any_known(&mut self, frames: &[PacketBuf], now_ns: u64) -> bool {
        self.prefetch_forward_rules(frames);
        if !self.rules.needs_conntrack {
            return false;
        }
        self.burst_tuples_of(frames);
        self.conntrack
            .prefetch_burst_any_found(&self.burst_tuples, now_ns)
    }

    /// Where filter FORWARD's classifier is too large to stay in cache (tens of
    /// thousands of rules), the burst stage of its lookups: hash every IPv4 frame's keys
    /// and prefetch the index slots, then, those read, prefetch the likely candidate
    /// rules, then their counters; so a burst's misses overlap instead of each packet
    /// waiting on three in turn. Hints only: the traversal decides as before.
    #[inline(never)]
    fn prefetch_forward_rules(&mut self, frames: &[PacketBuf]) {
        classify::prefetch_forward_burst(
            &self.rules,
            &self.counters,
            frames,
            &mut self.burst_probes,
            &mut self.prefetch_rest,
        );
    }

    /// Gives the pipeline a transmit queue per port (by `PortId` index), each with room
    /// for `capacity` frames: frames it forwards go there instead of out as `Emit`s
    /// (see `tx_queues`); the caller sends them (`tx_queues_mut`).
    pub fn set_tx_queues(&mut self, ports: usize, capacity: usize) {
        self.tx_queues = (0..ports).map(|_| Vec::with_capacity(capacity)).collect();
    }

    /// The transmit queues of `set_tx_queues` (empty without).
    pub fn tx_queues_mut(&mut self) -> &mut [Vec<PacketBuf>] {
        &mut self.tx_queues
    }

    /// The tuples of a burst's plain Ethernet + IPv4 frames into `burst_tuples`.
    fn burst_tuples_of(&mut self, frames: &[PacketBuf]) {
        self.burst_tuples.clear();
        for f in frames {
            // Anything else is tracked without the head start.
            if let Some(t) = Tuple::of_ipv4_frame(f.data()) {
                self.burst_tuples.push(t);
            }
        }
    }

    /// How many packets of each family may start a connection until
    /// `lift_new_allowance`; past it they are dropped at conntrack under
    /// `DropReason::Overload`. The worker sets it per received burst.
    pub fn set_new_allowance(&mut self, allowance: u32) {
        self.conntrack.set_new_allowance(Some(allowance));
        self.conntrack6.set_new_allowance(Some(allowance));
    }

    /// Ends `set_new_allowance(given)`: returns how many packets started a connection.
    pub fn lift_new_allowance(&mut self, given: u32) -> u32 {
        let used = |left: Option<u32>| given.saturating_sub(left.unwrap_or(given));
        used(self.conntrack.set_new_allowance(None)) + used(self.conntrack6.set_new_allowance(None))
    }

    fn ct_in(&mut self, pkt: &mut Pkt, verify: bool) -> Flow {
        if pkt.notrack || !self.rules.needs_conntrack {
            pkt.ct = CtInfo::untracked();
        } else {
            // The NIC already verified the L4 checksum (nf_ip_checksum's
            // CHECKSUM_UNNECESSARY); its word counts once.
            let nic_good = std::mem::take(&mut pkt.buf.rx_csum.l4_good);
            self.conntrack.packet_in_to(
                pkt.buf.data(),
                verify && !nic_good,
                self.now_ns,
                &mut pkt.ct,
            );
            if pkt.ct.shed {
                return shed();
            }
        }
        if let Some(e) = pkt.ct.pending.as_mut() {
            e.helper = pkt.helper;
        }
        Ok(())
    }

    /// Confirms a new connection as its packet leaves the hooks; `false`: drop it. The
    /// connection's helper runs first (nf_conntrack_helper's hook sits before confirm).
    #[inline(always)]
    fn ct_confirm(&mut self, pkt: &mut Pkt) -> Flow {
        // ipv4_synproxy_hook sits just before confirm (and the helper).
        if self.conntrack.any_synproxy() {
            self.synproxy_hook(pkt)?;
        }
        self.ct_help(pkt);
        // A packet of a confirmed connection (most of them): nothing to register.
        if pkt.ct.pending.is_none() {
            return Ok(());
        }
        self.ct_confirm_new(pkt)
    }

    #[inline(never)]
    fn ct_confirm_new(&mut self, pkt: &mut Pkt) -> Flow {
        let Ok(registered) = self.register_owner(pkt) else {
            return Err(Stop::Drop(DropReason::Conntrack));
        };
        let synproxy = self.synproxy_template(pkt);
        if self.conntrack.confirm(&mut pkt.ct, self.now_ns) {
            if let (Some(sp), Some(id)) = (synproxy, pkt.ct.id) {
                self.conntrack.set_synproxy(id, sp);
            }
            Ok(())
        } else {
            self.unregister_owner(registered);
            Err(Stop::Drop(DropReason::Conntrack))
        }
    }

    /// The one place drops are counted.
    fn count_drop(&mut self, reason: DropReason, packets: u64) {
        self.stats.drops[reason] += packets;
    }

    /// Installs a new snapshot of the IP sets (no rule is recompiled: rules hold set
    /// indices, which stay valid while a rule references them).
    pub fn set_sets(&mut self, sets: Arc<SetTable>) {
        self.sets = sets;
    }

    pub fn sets(&self) -> &Arc<SetTable> {
        &self.sets
    }

    /// Queues a `-j SET` operation for the control plane (lost, and counted, past
    /// `MAX_SET_OPS`).
    fn queue_set_op(&mut self, op: crate::ipset::kadt::PacketSetOp) {
        let s = &mut self.stats;
        push_bounded(
            &mut self.set_ops,
            MAX_SET_OPS,
            || op,
            &mut s.set_ops,
            &mut s.set_ops_lost,
        );
    }

    /// Operations `drain_set_ops` handed over that did not reach the control plane.
    pub fn count_set_ops_lost(&mut self, n: u64) {
        move_to_lost(&mut self.stats.set_ops, &mut self.stats.set_ops_lost, n);
    }

    /// The `-j SET` operations queued since the last call, oldest first: the caller
    /// applies them to the control plane's set table (`SetTable::apply_packet_op`) and
    /// publishes it. Until then `-m set` tests see the set without them.
    pub fn drain_set_ops(&mut self) -> std::vec::Drain<'_, crate::ipset::kadt::PacketSetOp> {
        self.set_ops.drain(..)
    }

    /// Keeps `-j NFLOG` packets for `drain_nflog` (without it NFLOG rules copy nothing,
    /// as the kernel's nfnetlink_log with no listener on the group).
    pub fn collect_nflog(&mut self) {
        self.nflog.get_or_insert_with(Vec::new);
    }

    /// Queues an NFLOG record for the control plane (lost, and counted, past
    /// `MAX_NFLOG_RECORDS`).
    fn queue_nflog(&mut self, t: &crate::ruleset::targets::nflog::NflogTarget, packet: &[u8]) {
        let Some(q) = self.nflog.as_mut() else {
            return;
        };
        let (s, now) = (&mut self.stats, self.now_ns);
        let record = || t.record(packet, now);
        push_bounded(
            q,
            MAX_NFLOG_RECORDS,
            record,
            &mut s.nflog,
            &mut s.nflog_lost,
        );
    }

    /// Records `drain_nflog` handed over that did not reach the control plane.
    pub fn count_nflog_lost(&mut self, n: u64) {
        move_to_lost(&mut self.stats.nflog, &mut self.stats.nflog_lost, n);
    }

    /// The `-j NFLOG` records queued since the last call, oldest first.
    pub fn drain_nflog(
        &mut self,
    ) -> impl Iterator<Item = crate::ruleset::targets::nflog::NflogRecord> + '_ {
        self.nflog.iter_mut().flat_map(|q| q.drain(..))
    }

    pub fn ruleset(&self) -> &Arc<CompiledRuleset> {
        &self.rules
    }

    pub fn fib(&self) -> &Fib {
        &self.fib
    }

    pub fn counters(&self) -> &[Counters] {
        &self.counters
    }

    /// The arptables rules' counters, in `ArpTable::rule_count` order.
    pub fn arp_counters(&self) -> &[Counters] {
        &self.arp_counters
    }

    /// `iptables -Z`: zeroes the counters of these slots of the installed ruleset.
    pub fn zero_counters(&mut self, slots: &[usize]) {
        for &s in slots {
            if let Some(c) = self.counters.get_mut(s) {
                *c = Counters::default();
            }
        }
    }

    pub fn stats(&self) -> &PipelineStats {
        &self.stats
    }

    /// Records a TRACE line for every rule a packet matches (the replay's trace.txt).
    pub fn enable_trace(&mut self) {
        self.trace.get_or_insert_with(Vec::new);
    }

    pub fn take_trace(&mut self) -> Vec<String> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Opens a trace watch: from the next packet on, the packets `filter` selects (up to
    /// `limit`, 0: no limit) leave TRACE lines in the watch. A watch with the same id is
    /// replaced. The ruleset is not touched.
    pub fn add_trace_watch(&mut self, id: u64, filter: trace::TraceFilter, limit: u64) {
        self.watches.retain(|w| w.id != id);
        self.watches.push(trace::TraceWatch::new(id, filter, limit));
    }

    /// Closes a watch; with the last one closed, packets take the untraced path again.
    pub fn remove_trace_watch(&mut self, id: u64) -> bool {
        let before = self.watches.len();
        self.watches.retain(|w| w.id != id);
        if self.watches.is_empty() {
            self.watch_hit = false;
        }
        self.watches.len() != before
    }

    /// The open watches (their lines are taken from here).
    pub fn trace_watches_mut(&mut self) -> &mut [trace::TraceWatch] {
        &mut self.watches
    }

    /// The port a name designates (for a trace filter's input interface).
    pub fn port_by_name(&self, name: &str) -> Option<PortId> {
        self.fib.ports().by_name(name).map(|p| p.id)
    }

    /// At the entry of the hooks, while watches are open: which of them trace this packet.
    fn trace_gate(&mut self, pkt: &Pkt) {
        let mut any = false;
        for w in &mut self.watches {
            w.hit = !w.done() && w.filter.matches(pkt.buf.data(), pkt.in_port);
            if w.hit {
                w.packets += 1;
                any = true;
            }
        }
        self.watch_hit = any;
    }

    /// Keeps LOG target lines for `take_log` (they always go to `tracing` too).
    pub fn collect_log(&mut self) {
        self.log.get_or_insert_with(Vec::new);
    }

    pub fn take_log(&mut self) -> Vec<String> {
        self.log.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Seeds the generator behind `-m statistic --mode random`.
    pub fn seed(&mut self, seed: u64) {
        self.rng = seed | 1;
    }

    /// A TRACE line to the open watches that selected the packet, the replay's trace and,
    /// for a packet `-j TRACE` marked (`marked`), where LOG lines go (the `nfdp::trace`
    /// log target and `take_log`), as the kernel's nf_log prints TRACE.
    fn trace_line(&mut self, line: String, marked: bool) {
        if marked {
            tracing::info!(target: "nfdp::trace", "{line}");
            if let Some(log) = self.log.as_mut() {
                log.push(line.clone());
            }
        }
        if self.watch_hit {
            for w in self.watches.iter_mut().filter(|w| w.hit) {
                w.lines.push((w.packets, line.clone()));
            }
        }
        if let Some(t) = self.trace.as_mut() {
            t.push(line);
        }
    }

    pub fn defrag_stats(&self) -> &DefragStats {
        &self.defrag.stats
    }

    /// Datagrams waiting for fragments, and the bytes charged for them against
    /// `defrag::FRAG_MEMORY`.
    pub fn defrag_pending(&self) -> (usize, usize) {
        (self.defrag.pending(), self.defrag.memory())
    }

    pub fn defrag6_stats(&self) -> &DefragStats {
        &self.defrag6.stats
    }

    /// IPv6 datagrams waiting for fragments, and the bytes charged for them.
    pub fn defrag6_pending(&self) -> (usize, usize) {
        (self.defrag6.pending(), self.defrag6.memory())
    }

    fn port_name(&self, port: Option<PortId>) -> Option<&str> {
        port.and_then(|p| self.fib.ports().get(p))
            .map(|p| p.name.as_str())
    }
}

/// xorshift64*: cheap, per worker, seedable for tests (`-m statistic --mode random`).
fn next_random(state: &mut u64) -> u32 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
}
