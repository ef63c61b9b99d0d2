//! The hook pipeline of SPEC.md section 1: every packet through the tables in the
//! kernel's order for its path (to this host, forwarded, generated here), routing with
//! TTL handling, and the extension points where connection tracking and NAT run.
//!
//! One `Pipeline` per worker: it owns its counters and per-rule state and reads the
//! shared `CompiledRuleset`; nothing here locks.

pub mod arp;
pub mod classify;
pub mod compile;
pub mod eval;
pub mod owner;
pub mod tables;
pub mod trace;
pub mod traverse;

pub use compile::{
    Action, CompileError, CompiledRule, CompiledRuleset, CompiledTable, DEFAULT_CLASSIFIER_MEMORY,
};
pub use traverse::{traverse, RuleHost, TargetOutcome, TraceKind, Verdict};

use crate::conntrack::nat::{Manip, NatRequest};
use crate::conntrack::{ConnEntry, Conntrack, CtConfig, CtInfo, CtState, Tuple};
use crate::defrag::{Defrag, DefragStats, Reassembly};
use crate::neigh::NeighTable;
use crate::port::{MacAddr, PacketBuf, PortId};
use crate::route::{Fib, NextHop, RouteCache};
use crate::ruleset::targets::connmark::ConnmarkTarget;
use crate::ruleset::targets::log::{flags as log_flags, format_packet};
use crate::ruleset::targets::reject;
use crate::ruleset::targets::tcpmss::MssOutcome;
use crate::ruleset::{Counters, Hook, TableKind, Target};
use crate::wire::{EtherType, EthernetFrame, Ipv4Packet};
use eval::{MatchEnv, RuleState};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The flags TRACE logs with (NF_LOG_DEFAULT_MASK without the socket owner).
pub const TRACE_FLAGS: u8 = log_flags::TCPSEQ | log_flags::TCPOPT | log_flags::IPOPT;

/// What the pipeline hands back for a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emit {
    /// A complete Ethernet frame to send on a port.
    Tx { port: PortId, frame: PacketBuf },
    /// An IPv4 packet for the host's own stack (INPUT).
    Local { packet: PacketBuf },
}

/// Why packets did not make it, and how many did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineStats {
    pub received: u64,
    pub not_ipv4: u64,
    pub malformed: u64,
    pub bad_checksum: u64,
    pub dropped_by_rules: u64,
    pub ttl_expired: u64,
    pub no_route: u64,
    pub no_neighbor: u64,
    pub forwarded: u64,
    pub delivered_local: u64,
    pub sent_local: u64,
    pub icmp_errors: u64,
    /// Packets dropped because their new connection could not be entered (table full).
    pub conntrack_drops: u64,
    /// Too big for the next link with DF set (answered with fragmentation needed).
    pub frag_needed: u64,
    pub fragments_sent: u64,
}

/// A packet on its way through the hooks.
struct Pkt {
    /// The IPv4 packet (no link header).
    buf: PacketBuf,
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
    /// The helper `-j CT --helper` attached in raw, given to the new connection.
    helper: u8,
}

impl Pkt {
    fn new(buf: PacketBuf, in_port: Option<PortId>, mac_header: Option<[u8; 14]>) -> Pkt {
        Pkt {
            buf,
            in_port,
            out_port: None,
            gateway: None,
            mac_header,
            ct: CtInfo::untracked(),
            notrack: false,
            frag_max: 0,
            helper: 0,
        }
    }

    /// The connection entry of the packet: the new one it carries, or the table's.
    fn entry_mut<'a>(&'a mut self, ct: &'a mut Conntrack) -> Option<&'a mut ConnEntry> {
        match (self.ct.pending.as_mut(), self.ct.id) {
            (Some(e), _) => Some(e),
            (None, Some(id)) => ct.entry_mut(id),
            _ => None,
        }
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
    neighbors: NeighTable<PacketBuf>,
    conntrack: Conntrack,
    tables: tables::NamedTables,
    defrag: Defrag,
    counters: Vec<Counters>,
    state: Vec<RuleState>,
    stats: PipelineStats,
    arp: arp::ArpStats,
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
    /// The classifier's candidate sets, kept between packets.
    scratch: traverse::Scratch,
    ident: u16,
    rng: u64,
    now_ns: u64,
    /// Set on each worker of a multi-core data plane (`set_worker`).
    multicore: Option<owner::Multicore>,
    /// Reassembled datagrams owned by other workers (`take_deferred`).
    deferred: Vec<(u16, crate::handoff::Handed)>,
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
        Pipeline {
            rules,
            parked_rules: Some(Arc::new(CompiledRuleset {
                tables: Default::default(),
                slots: Vec::new(),
                generation: 0,
                needs_conntrack: false,
            })),
            fib,
            routes: RouteCache::default(),
            neighbors,
            conntrack: Conntrack::new(CtConfig::default()),
            tables: tables::NamedTables::default(),
            defrag: Defrag::default(),
            counters: vec![Counters::default(); n],
            state: vec![RuleState::default(); n],
            stats: PipelineStats::default(),
            arp: arp::ArpStats::default(),
            trace: None,
            watches: Vec::new(),
            watch_hit: false,
            log: None,
            generated: Vec::new(),
            scratch: traverse::Scratch::default(),
            ident: 1,
            rng: 0x9e37_79b9_7f4a_7c15,
            now_ns: 0,
            multicore: None,
            deferred: Vec::new(),
        }
    }

    /// A static neighbour (the replay mode resolves next hops only through these).
    pub fn add_neighbor(&mut self, port: PortId, ip: Ipv4Addr, mac: MacAddr) {
        self.neighbors.add_static(port, ip, mac, self.now_ns);
    }

    /// Installs a new ruleset generation. Counters and per-rule state of rules that are
    /// still there carry over, as the kernel's do across `iptables -I/-A/-D/-R`: policies
    /// of chains that remain, and rules with the same criteria and action in the same
    /// chain, matched by `carried_rules` even where an insert or delete shifted them.
    pub fn set_ruleset(&mut self, rules: Arc<CompiledRuleset>) {
        let old = std::mem::replace(&mut self.rules, rules);
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
    }

    /// Installs a changed FIB (routes, policy rules). The route cache is keyed by the FIB's
    /// generation, so no cached lookup of the old one is answered.
    pub fn set_fib(&mut self, fib: Fib) {
        self.fib = fib;
    }

    pub fn set_conntrack_config(&mut self, cfg: CtConfig) {
        self.conntrack.set_config(cfg);
    }

    /// A port went down or lost `addr`: connections masqueraded to it are forgotten (the
    /// next packet of such a flow starts a new connection with the current address).
    pub fn forget_masqueraded(&mut self, addr: Ipv4Addr) -> usize {
        self.conntrack.forget_nat_source(addr)
    }

    pub fn conntrack(&self) -> &Conntrack {
        &self.conntrack
    }

    pub fn conntrack_mut(&mut self) -> &mut Conntrack {
        &mut self.conntrack
    }

    /// Runs conntrack on a packet that raw did not exempt.
    fn ct_in(&mut self, pkt: &mut Pkt, verify: bool) {
        pkt.ct = if pkt.notrack || !self.rules.needs_conntrack {
            CtInfo::untracked()
        } else {
            self.conntrack
                .packet_in(pkt.buf.data(), verify, self.now_ns)
        };
        if let Some(e) = pkt.ct.pending.as_mut() {
            e.helper = pkt.helper;
        }
    }

    /// Confirms a new connection as its packet leaves the hooks; `false`: drop it. The
    /// connection's helper runs first (nf_conntrack_helper's hook sits before confirm).
    fn ct_confirm(&mut self, pkt: &mut Pkt) -> bool {
        self.ct_help(pkt);
        let Ok(registered) = self.register_owner(pkt) else {
            self.stats.conntrack_drops += 1;
            return false;
        };
        if self.conntrack.confirm(&mut pkt.ct, self.now_ns) {
            true
        } else {
            self.unregister_owner(registered);
            self.stats.conntrack_drops += 1;
            false
        }
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

    fn trace_line(&mut self, line: String) {
        if self.watch_hit {
            for w in self.watches.iter_mut().filter(|w| w.hit) {
                w.lines.push((w.packets, line.clone()));
            }
        }
        if let Some(t) = self.trace.as_mut() {
            t.push(line);
        }
    }

    /// A frame received on `port` at time `now_ns` (nanoseconds since the Unix epoch:
    /// the time match and rate limits read it).
    pub fn receive(&mut self, port: PortId, frame: PacketBuf, now_ns: u64, out: &mut Vec<Emit>) {
        self.receive_frame(port, frame, 0, now_ns, out);
    }

    fn receive_frame(
        &mut self,
        port: PortId,
        mut frame: PacketBuf,
        frag_max: usize,
        now_ns: u64,
        out: &mut Vec<Emit>,
    ) {
        self.now_ns = now_ns;
        self.stats.received += 1;
        let (l3_offset, mac_header) = {
            let Ok(eth) = EthernetFrame::new_checked(frame.data()) else {
                self.stats.malformed += 1;
                return;
            };
            let Ok(l3) = eth.l3_header() else {
                self.stats.malformed += 1;
                return;
            };
            if l3.ethertype == EtherType::ARP {
                self.arp_in(port, frame.data(), &l3, out);
                return;
            }
            if l3.ethertype != EtherType::IPV4 {
                self.stats.not_ipv4 += 1;
                return;
            }
            let mut mac = [0u8; 14];
            mac.copy_from_slice(&frame.data()[..14]);
            (l3.offset, mac)
        };
        frame.pull(l3_offset);
        frame.port = port;
        let mut pkt = Pkt::new(frame, Some(port), Some(mac_header));
        pkt.frag_max = frag_max;
        self.prerouting(pkt, out);
        self.flush_generated(out);
    }

    /// An IPv4 packet generated by the host itself (the OUTPUT path).
    pub fn output(&mut self, packet: PacketBuf, now_ns: u64, out: &mut Vec<Emit>) {
        self.now_ns = now_ns;
        self.local_out(packet, out);
        self.flush_generated(out);
    }

    fn flush_generated(&mut self, out: &mut Vec<Emit>) {
        // Bounded: answers to answers are not generated (no REJECT of ICMP errors/RSTs),
        // but cap the loop anyway.
        for _ in 0..16 {
            if self.generated.is_empty() {
                break;
            }
            for p in std::mem::take(&mut self.generated) {
                self.local_out(p, out);
            }
        }
        self.generated.clear();
    }

    /// Checks a received IPv4 header as `ip_rcv` does and trims link padding.
    fn sane_ipv4(&mut self, buf: &mut PacketBuf) -> bool {
        let total = match Ipv4Packet::new_checked(buf.data()) {
            Ok(ip) if ip.version() == 4 => {
                if !ip.verify_checksum() {
                    self.stats.bad_checksum += 1;
                    return false;
                }
                ip.total_len() as usize
            }
            _ => {
                self.stats.malformed += 1;
                return false;
            }
        };
        buf.truncate(total);
        true
    }

    fn run(&mut self, table: TableKind, hook: Hook, pkt: &mut Pkt) -> Verdict {
        let Some(t) = self.rules.table(table) else {
            return Verdict::Accept;
        };
        let Some(entry) = t.entry(hook) else {
            return Verdict::Accept;
        };
        // A built-in chain without rules only applies its policy: count it there without
        // a traversal (most hooks of most tables look like this).
        if entry.rules.is_empty() && self.trace.is_none() && !self.watch_hit {
            if let Some(c) = self.counters.get_mut(entry.policy_slot as usize) {
                c.packets += 1;
                c.bytes += pkt.buf.len() as u64;
            }
            if entry.policy == Some(crate::ruleset::Policy::Drop) {
                self.stats.dropped_by_rules += 1;
                return Verdict::Drop;
            }
            return Verdict::Accept;
        }
        let (rules, parked) = match self.parked_rules.take() {
            Some(stand_in) => (std::mem::replace(&mut self.rules, stand_in), true),
            None => (Arc::clone(&self.rules), false),
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        let v = match rules.table(table) {
            Some(t) => traverse(t, hook, &mut Host { p: self, pkt }, &mut scratch),
            None => Verdict::Accept,
        };
        self.scratch = scratch;
        if parked {
            self.parked_rules = Some(std::mem::replace(&mut self.rules, rules));
        }
        if v == Verdict::Drop {
            self.stats.dropped_by_rules += 1;
        }
        v
    }

    /// The nat table at a hook (nf_nat_inet_fn): only the first packet of a connection
    /// traverses the chain, and gets the identity binding if no rule chose one; then
    /// every tracked packet is rewritten to its connection's binding.
    fn nat_hook(&mut self, hook: Hook, manip: Manip, pkt: &mut Pkt) -> bool {
        // A connection a helper expected behind NAT goes to the inside end it announced.
        if let (Manip::Dst, Some((addr, port))) = (manip, pkt.ct.expected_nat) {
            if let Some(e) = pkt.ct.pending.as_mut().filter(|e| !e.nat_done(manip)) {
                let req = NatRequest {
                    manip,
                    addrs: Some((addr, addr)),
                    ports: Some(crate::ruleset::PortRange::single(port)),
                    random: false,
                    persistent: false,
                };
                if !self.conntrack.bind(e, &req) {
                    return false;
                }
            }
        }
        let fresh = pkt.ct.pending.as_ref().is_some_and(|e| !e.nat_done(manip));
        if fresh {
            if self.run(TableKind::Nat, hook, pkt) != Verdict::Accept {
                return false;
            }
            if let Some(e) = pkt.ct.pending.as_mut() {
                if !e.nat_done(manip) && !self.conntrack.bind_identity(e, manip) {
                    self.stats.conntrack_drops += 1;
                    return false;
                }
            }
        }
        let reply = pkt.ct.reply;
        if pkt.ct.state == CtState::Related && is_icmp_error(pkt.buf.data()) {
            if let Some(e) = pkt.ct.id.and_then(|id| self.conntrack.entry(id)) {
                translate_icmp_error(pkt.buf.data_mut(), e, reply, manip);
            }
            return true;
        }
        let entry = match (&pkt.ct.pending, pkt.ct.id) {
            (Some(e), _) => Some(e),
            (None, Some(id)) => self.conntrack.entry(id),
            _ => None,
        };
        // Without a binding that changed this side of the tuple the rewrite would write
        // back what is there (nf_nat_packet tests the same status bit).
        let target = entry
            .filter(|e| e.status & nat_status_bit(manip, reply) != 0)
            .and_then(|e| e.target_tuple(reply));
        if let Some(t) = target {
            apply_nat(pkt.buf.data_mut(), &t, manip);
        }
        true
    }

    /// Runs the tables of `hook` in order; the first table that does not accept ends it.
    fn run_hook(&mut self, hook: Hook, tables: &[TableKind], pkt: &mut Pkt) -> bool {
        tables
            .iter()
            .all(|t| self.run(*t, hook, pkt) == Verdict::Accept)
    }

    /// Reassembles fragments (before raw, as nf_defrag_ipv4); `false` while a datagram
    /// is incomplete or was dropped.
    fn defragment(&mut self, pkt: &mut Pkt) -> bool {
        // Reassembly comes with conntrack (nf_defrag_ipv4 is its dependency).
        if !self.rules.needs_conntrack {
            return true;
        }
        match self.defrag.push(pkt.buf.data(), self.now_ns) {
            Reassembly::NotFragment => true,
            Reassembly::Held | Reassembly::Dropped => false,
            Reassembly::Complete(whole, max) => {
                if self.multicore.is_some() && self.defer_datagram(pkt, &whole, max) {
                    return false;
                }
                let mark = pkt.buf.mark;
                pkt.buf = PacketBuf::from_slice(&whole);
                pkt.buf.mark = mark;
                pkt.frag_max = max;
                true
            }
        }
    }

    /// The FTP helper on a packet of a control connection: expects the data connection it
    /// announces, rewrites the announcement behind NAT, keeps sequence numbers consistent.
    fn ct_help(&mut self, pkt: &mut Pkt) {
        use crate::conntrack::ftp::{self, AnnounceKind, Expectation};
        use crate::conntrack::nat::bits;
        let (Some(id), None) = (pkt.ct.id, pkt.ct.pending.as_ref()) else {
            return;
        };
        if pkt.ct.state == CtState::Related {
            return;
        }
        // Most connections have no helper: decide before copying anything.
        let has_ftp = self
            .conntrack
            .entry(id)
            .is_some_and(|e| e.helper == crate::conntrack::HELPER_FTP && e.orig.proto == 6);
        if !has_ftp {
            return;
        }
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
                    if let Some(e) = self.conntrack.entry_mut(id) {
                        e.win[0].flags |= crate::conntrack::tcp::wflags::BE_LIBERAL;
                        e.win[1].flags |= crate::conntrack::tcp::wflags::BE_LIBERAL;
                    }
                }
            }
        }
        if let Some(adj) = self.conntrack.seqadj(id).copied() {
            seq_adjust(pkt.buf.data_mut(), &adj, reply);
        }
    }

    pub fn defrag_stats(&self) -> &DefragStats {
        &self.defrag.stats
    }

    fn prerouting(&mut self, mut pkt: Pkt, out: &mut Vec<Emit>) {
        if !self.sane_ipv4(&mut pkt.buf) {
            return;
        }
        if !self.defragment(&mut pkt) {
            return;
        }
        if !self.watches.is_empty() {
            self.trace_gate(&pkt);
        }
        if !self.run_hook(Hook::Prerouting, &[TableKind::Raw], &mut pkt) {
            return;
        }
        // Extension point: defragmentation runs here, before conntrack.
        self.ct_in(&mut pkt, true);
        if !self.run_hook(Hook::Prerouting, &[TableKind::Mangle], &mut pkt) {
            return;
        }
        if !self.nat_hook(Hook::Prerouting, Manip::Dst, &mut pkt) {
            return;
        }
        let dst = ipv4_dst(&pkt.buf);
        if self.fib.is_local_or_broadcast(dst) {
            self.local_in(pkt, out);
        } else {
            self.forward(pkt, out);
        }
    }

    fn local_in(&mut self, mut pkt: Pkt, out: &mut Vec<Emit>) {
        use TableKind::*;
        if !self.run_hook(Hook::Input, &[Mangle, Filter, Security], &mut pkt) {
            return;
        }
        if !self.nat_hook(Hook::Input, Manip::Src, &mut pkt) {
            return;
        }
        if !self.ct_confirm(&mut pkt) {
            return;
        }
        self.stats.delivered_local += 1;
        out.push(Emit::Local { packet: pkt.buf });
    }

    fn forward(&mut self, mut pkt: Pkt, out: &mut Vec<Emit>) {
        use TableKind::*;
        let (dst, ttl) = {
            let ip = Ipv4Packet::new_unchecked(pkt.buf.data());
            (ip.dst_addr(), ip.ttl())
        };
        let Some(hop) = self.route(dst, pkt.buf.mark) else {
            self.stats.no_route += 1;
            self.icmp_error(&pkt, 3, 0);
            return;
        };
        // ip_forward: a packet that would leave with TTL 0 is answered with time exceeded.
        if ttl <= 1 {
            self.stats.ttl_expired += 1;
            self.icmp_error(&pkt, 11, 0);
            return;
        }
        // ip_exceeds_mtu: too big for the next link and DF set: fragmentation needed.
        let mtu = self.port_mtu(hop.port);
        let df = Ipv4Packet::new_unchecked(pkt.buf.data()).dont_frag();
        if pkt.buf.len() > mtu && df && (pkt.frag_max == 0 || pkt.frag_max > mtu) {
            self.stats.frag_needed += 1;
            self.frag_needed(&pkt, mtu);
            return;
        }
        Ipv4Packet::new_unchecked(pkt.buf.data_mut()).decrement_ttl();
        pkt.out_port = Some(hop.port);
        pkt.gateway = hop.gateway;
        if !self.run_hook(Hook::Forward, &[Mangle, Filter, Security], &mut pkt) {
            return;
        }
        if !self.run_hook(Hook::Postrouting, &[Mangle], &mut pkt) {
            return;
        }
        if !self.nat_hook(Hook::Postrouting, Manip::Src, &mut pkt) {
            return;
        }
        if !self.ct_confirm(&mut pkt) {
            return;
        }
        self.stats.forwarded += 1;
        let dst = ipv4_dst(&pkt.buf);
        self.transmit_fragmented(
            pkt.buf,
            pkt.frag_max,
            hop.port,
            hop.gateway.unwrap_or(dst),
            out,
        );
    }

    fn local_out(&mut self, buf: PacketBuf, out: &mut Vec<Emit>) {
        use TableKind::*;
        let mut pkt = Pkt::new(buf, None, None);
        if Ipv4Packet::new_checked(pkt.buf.data()).is_err() {
            self.stats.malformed += 1;
            return;
        }
        if !self.defragment(&mut pkt) {
            return;
        }
        if !self.watches.is_empty() {
            self.trace_gate(&pkt);
        }
        let (dst0, mark0) = (ipv4_dst(&pkt.buf), pkt.buf.mark);
        let local = self.fib.is_local(dst0);
        let hop = if local {
            None
        } else {
            match self.route(dst0, mark0) {
                Some(h) => Some(h),
                None => {
                    self.stats.no_route += 1;
                    return;
                }
            }
        };
        pkt.out_port = hop.map(|h| h.port);
        pkt.gateway = hop.and_then(|h| h.gateway);
        if !self.run_hook(Hook::Output, &[Raw], &mut pkt) {
            return;
        }
        self.ct_in(&mut pkt, false);
        if !self.run_hook(Hook::Output, &[Mangle], &mut pkt) {
            return;
        }
        if !self.nat_hook(Hook::Output, Manip::Dst, &mut pkt) {
            return;
        }
        // Re-route when mangle or nat OUTPUT changed the destination or the mark.
        let (dst, mark) = (ipv4_dst(&pkt.buf), pkt.buf.mark);
        let hop = if (dst, mark) != (dst0, mark0) && !self.fib.is_local(dst) {
            match self.route(dst, mark) {
                Some(h) => Some(h),
                None => {
                    self.stats.no_route += 1;
                    return;
                }
            }
        } else {
            hop
        };
        pkt.out_port = hop.map(|h| h.port);
        pkt.gateway = hop.and_then(|h| h.gateway);
        if !self.run_hook(Hook::Output, &[Filter, Security], &mut pkt) {
            return;
        }
        if !self.run_hook(Hook::Postrouting, &[Mangle], &mut pkt) {
            return;
        }
        if !self.nat_hook(Hook::Postrouting, Manip::Src, &mut pkt) {
            return;
        }
        if !self.ct_confirm(&mut pkt) {
            return;
        }
        match hop {
            None => {
                self.stats.delivered_local += 1;
                out.push(Emit::Local { packet: pkt.buf });
            }
            Some(h) => {
                self.stats.sent_local += 1;
                self.transmit_fragmented(
                    pkt.buf,
                    pkt.frag_max,
                    h.port,
                    h.gateway.unwrap_or(dst),
                    out,
                );
            }
        }
    }

    /// `Fib::lookup` through the worker's route cache.
    fn route(&mut self, dst: Ipv4Addr, mark: u32) -> Option<NextHop> {
        self.routes.lookup(&self.fib, dst, mark)
    }

    fn port_mtu(&self, port: PortId) -> usize {
        self.fib
            .ports()
            .get(port)
            .map_or(1500, |p| usize::from(p.mtu))
    }

    /// ICMP fragmentation needed, with the next hop's MTU (RFC 1191).
    fn frag_needed(&mut self, pkt: &Pkt, mtu: usize) {
        let src = reply_source(&self.fib, pkt.buf.data());
        let ident = self.next_ident();
        let mut out = Vec::new();
        if reject::icmp_error(pkt.buf.data(), 3, 4, src, ident, &mut out) && out.len() >= 28 {
            out[26..28].copy_from_slice(&(mtu as u16).to_be_bytes());
            out[22] = 0;
            out[23] = 0;
            let c = !crate::wire::checksum::data(&out[20..]);
            out[22..24].copy_from_slice(&c.to_be_bytes());
            self.stats.icmp_errors += 1;
            self.generated.push(PacketBuf::from_slice(&out));
        }
    }

    /// Cuts a datagram that does not fit the egress MTU (or that arrived in smaller
    /// fragments) and sends the pieces.
    fn transmit_fragmented(
        &mut self,
        buf: PacketBuf,
        frag_max: usize,
        port: PortId,
        next_hop: Ipv4Addr,
        out: &mut Vec<Emit>,
    ) {
        let mut limit = self.port_mtu(port);
        if frag_max > 0 {
            limit = limit.min(frag_max);
        }
        if buf.len() <= limit {
            return self.transmit(buf, port, next_hop, out);
        }
        let mark = buf.mark;
        for piece in crate::defrag::fragment(buf.data(), limit) {
            let mut b = PacketBuf::from_slice(&piece);
            b.mark = mark;
            self.stats.fragments_sent += 1;
            self.transmit(b, port, next_hop, out);
        }
    }

    /// Adds the Ethernet header for the next hop and emits the frame; without a neighbour
    /// the packet waits for ARP to resolve it.
    fn transmit(&mut self, buf: PacketBuf, port: PortId, next_hop: Ipv4Addr, out: &mut Vec<Emit>) {
        let Some(dst_mac) = self.neighbors.lookup(port, next_hop, self.now_ns) else {
            return self.neighbor_miss(buf, port, next_hop, out);
        };
        out.push(self.ethernet_out(buf, port, dst_mac));
    }

    /// An IPv4 packet framed from `port`'s MAC to `dst_mac`.
    fn ethernet_out(&self, mut buf: PacketBuf, port: PortId, dst_mac: MacAddr) -> Emit {
        let src_mac = self
            .fib
            .ports()
            .get(port)
            .map(|p| p.mac)
            .unwrap_or(MacAddr([0; 6]));
        let hdr = buf.prepend(14);
        hdr[0..6].copy_from_slice(&dst_mac.0);
        hdr[6..12].copy_from_slice(&src_mac.0);
        hdr[12..14].copy_from_slice(&EtherType::IPV4.0.to_be_bytes());
        Emit::Tx { port, frame: buf }
    }

    /// An ICMP error about `pkt` from the appliance (time exceeded, unreachable): from
    /// the address of the port facing the sender, as `icmp_send` picks it.
    fn icmp_error(&mut self, pkt: &Pkt, icmp_type: u8, code: u8) {
        let src = reply_source(&self.fib, pkt.buf.data());
        let ident = self.next_ident();
        let mut out = Vec::new();
        if reject::icmp_error(pkt.buf.data(), icmp_type, code, src, ident, &mut out) {
            self.stats.icmp_errors += 1;
            self.generated.push(PacketBuf::from_slice(&out));
        }
    }

    fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }

    fn port_name(&self, port: Option<PortId>) -> Option<&str> {
        port.and_then(|p| self.fib.ports().get(p))
            .map(|p| p.name.as_str())
    }
}

/// The status bit of a connection whose packets in direction `reply` get `manip`: the
/// source of an original packet is rewritten by SNAT, that of a reply by DNAT.
fn nat_status_bit(manip: Manip, reply: bool) -> u8 {
    use crate::conntrack::nat::bits;
    match (manip, reply) {
        (Manip::Src, false) | (Manip::Dst, true) => bits::SRC_NAT,
        (Manip::Src, true) | (Manip::Dst, false) => bits::DST_NAT,
    }
}

/// Rewrites the source (or destination) address and port of an IPv4 packet to those of
/// `t`, with incremental checksum updates (a zero UDP checksum stays zero).
fn apply_nat(ip: &mut [u8], t: &Tuple, manip: Manip) {
    let (proto, ihl, first, old_addr) = match Ipv4Packet::new_checked(&ip[..]) {
        Ok(p) => (
            p.protocol(),
            usize::from(p.header_len()),
            p.frag_offset() == 0,
            match manip {
                Manip::Src => p.src_addr(),
                Manip::Dst => p.dst_addr(),
            },
        ),
        Err(_) => return,
    };
    let (new_addr, new_port) = match manip {
        Manip::Src => (t.src, t.sport),
        Manip::Dst => (t.dst, t.dport),
    };
    if old_addr != new_addr {
        let mut p = Ipv4Packet::new_unchecked(&mut ip[..]);
        match manip {
            Manip::Src => p.rewrite_src_addr(new_addr),
            Manip::Dst => p.rewrite_dst_addr(new_addr),
        }
    }
    if !first {
        return;
    }
    let Some(l4) = ip.get_mut(ihl..) else {
        return;
    };
    match proto {
        crate::wire::IpProtocol::Tcp => {
            if let Ok(mut tcp) = crate::wire::TcpPacket::new_checked(l4) {
                if old_addr != new_addr {
                    tcp.update_checksum_addr(old_addr, new_addr);
                }
                match manip {
                    Manip::Src if tcp.src_port() != new_port => tcp.rewrite_src_port(new_port),
                    Manip::Dst if tcp.dst_port() != new_port => tcp.rewrite_dst_port(new_port),
                    _ => {}
                }
            }
        }
        crate::wire::IpProtocol::Udp => {
            if let Ok(mut udp) = crate::wire::UdpPacket::new_checked(l4) {
                if old_addr != new_addr {
                    udp.update_checksum_addr(old_addr, new_addr);
                }
                match manip {
                    Manip::Src if udp.src_port() != new_port => udp.rewrite_src_port(new_port),
                    Manip::Dst if udp.dst_port() != new_port => udp.rewrite_dst_port(new_port),
                    _ => {}
                }
            }
        }
        crate::wire::IpProtocol::Icmp => {
            if let Ok(mut icmp) = crate::wire::Icmpv4Packet::new_checked(l4) {
                // A query's id is the source part of its tuple whichever side is
                // translated (icmp_manip_pkt): the reply to a remapped echo request gets
                // the id its sender used back.
                let query = matches!(icmp.msg_type().0, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18);
                if query && icmp.echo_ident() != t.sport {
                    icmp.rewrite_echo_ident(t.sport);
                }
            }
        }
        _ => {}
    }
}

/// An ICMP error message (destination unreachable, source quench, redirect, time
/// exceeded, parameter problem): RELATED through the packet it quotes.
fn is_icmp_error(ip: &[u8]) -> bool {
    let ihl = ip.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    ip.get(9) == Some(&1) && matches!(ip.get(ihl), Some(3 | 4 | 5 | 11 | 12))
}

/// nf_nat_icmp_reply_translation: an ICMP error about a NATed connection gets its quoted
/// packet put back the way this side sent it, and its outer address translated, at the
/// hooks where the connection's NAT applies in the error's direction.
fn translate_icmp_error(ip: &mut [u8], e: &ConnEntry, reply: bool, manip: Manip) {
    use crate::conntrack::nat::bits;
    let (src_bit, dst_bit) = if reply {
        (bits::DST_NAT, bits::SRC_NAT)
    } else {
        (bits::SRC_NAT, bits::DST_NAT)
    };
    let needed = match manip {
        Manip::Src => src_bit,
        Manip::Dst => dst_bit,
    };
    if e.status & needed == 0 {
        return;
    }
    let Ok(outer) = Ipv4Packet::new_checked(&ip[..]) else {
        return;
    };
    let ihl = usize::from(outer.header_len());
    // The quoted packet belongs to the other direction; it goes back to that direction's
    // tuple with the opposite manip.
    let other = if reply { e.orig } else { e.reply };
    let inner_at = ihl + 8;
    if let Some(inner) = ip.get_mut(inner_at..) {
        let inner_manip = match manip {
            Manip::Src => Manip::Dst,
            Manip::Dst => Manip::Src,
        };
        rewrite_quoted(inner, &other, inner_manip);
    }
    // The ICMP checksum covers the quoted bytes: recompute it.
    if let Some(icmp) = ip.get_mut(ihl..) {
        if icmp.len() >= 4 {
            icmp[2] = 0;
            icmp[3] = 0;
            let c = !crate::wire::checksum::data(icmp);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
        }
    }
    let Some(target) = other.invert() else {
        return;
    };
    let mut p = Ipv4Packet::new_unchecked(&mut ip[..]);
    match manip {
        Manip::Src if p.src_addr() != target.src => p.rewrite_src_addr(target.src),
        Manip::Dst if p.dst_addr() != target.dst => p.rewrite_dst_addr(target.dst),
        _ => {}
    }
}

/// Rewrites the source (or destination) of a quoted IPv4 packet to `t`'s: its header
/// checksum, its ports, and its transport checksum when the quote holds it.
fn rewrite_quoted(inner: &mut [u8], t: &Tuple, manip: Manip) {
    if inner.len() < 20 || inner[0] >> 4 != 4 {
        return;
    }
    let ihl = usize::from(inner[0] & 0x0f) * 4;
    if ihl < 20 || inner.len() < ihl {
        return;
    }
    let (addr_at, port_at, new_addr, new_port) = match manip {
        Manip::Src => (12, 0, t.src, t.sport),
        Manip::Dst => (16, 2, t.dst, t.dport),
    };
    let old_addr = Ipv4Addr::new(
        inner[addr_at],
        inner[addr_at + 1],
        inner[addr_at + 2],
        inner[addr_at + 3],
    );
    inner[addr_at..addr_at + 4].copy_from_slice(&new_addr.octets());
    inner[10] = 0;
    inner[11] = 0;
    let c = !crate::wire::checksum::data(&inner[..ihl]);
    inner[10..12].copy_from_slice(&c.to_be_bytes());
    let proto = inner[9];
    let first = u16::from_be_bytes([inner[6], inner[7]]) & 0x1fff == 0;
    let l4 = &mut inner[ihl..];
    if !first || l4.len() < 4 || !matches!(proto, 6 | 17) {
        return;
    }
    let old_port = u16::from_be_bytes([l4[port_at], l4[port_at + 1]]);
    l4[port_at..port_at + 2].copy_from_slice(&new_port.to_be_bytes());
    let csum_at = if proto == 6 { 16 } else { 6 };
    if l4.len() >= csum_at + 2 {
        let old = u16::from_be_bytes([l4[csum_at], l4[csum_at + 1]]);
        if proto == 17 && old == 0 {
            return;
        }
        let mut c = crate::wire::checksum::update_addr(old, old_addr, new_addr);
        c = crate::wire::checksum::update_u16(c, old_port, new_port);
        if proto == 17 && c == 0 {
            c = 0xffff;
        }
        l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    }
}

/// Replaces `len` bytes at `at` with `text`, fixing the IP total length and both
/// checksums; returns the change in length.
fn mangle_payload(buf: &mut PacketBuf, at: usize, len: usize, text: &[u8]) -> i32 {
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
/// acknowledgement by what a helper inserted or removed so far.
fn seq_adjust(ip: &mut [u8], adj: &[crate::conntrack::ftp::SeqAdj; 2], reply: bool) {
    let (this, other) = if reply {
        (adj[1], adj[0])
    } else {
        (adj[0], adj[1])
    };
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let Some(th) = ip.get_mut(ihl..) else {
        return;
    };
    let Ok(mut tcp) = crate::wire::TcpPacket::new_checked(th) else {
        return;
    };
    let seq = tcp.seq_number();
    let new_seq = seq.wrapping_add(this.offset(seq) as u32);
    let ack = tcp.ack_number();
    let shifted = ack.wrapping_sub(other.before as u32);
    let ackoff = if (shifted.wrapping_sub(other.pos) as i32) > 0 {
        other.after
    } else {
        other.before
    };
    let new_ack = ack.wrapping_sub(ackoff as u32);
    if new_seq == seq && new_ack == ack {
        return;
    }
    let mut c = tcp.checksum();
    c = crate::wire::checksum::update_u32(c, seq, new_seq);
    c = crate::wire::checksum::update_u32(c, ack, new_ack);
    tcp.set_seq_number(new_seq);
    tcp.set_ack_number(new_ack);
    tcp.set_checksum(c);
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

/// (new slot, old slot) for every counter that carries over from `old` to `new`.
fn carried_slots(old: &CompiledRuleset, new: &CompiledRuleset) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for table in new.tables.iter().flatten() {
        let Some(old_table) = old.table(table.kind) else {
            continue;
        };
        for chain in &table.chains {
            let Some(old_chain) = old_table.chains.iter().find(|c| c.name == chain.name) else {
                continue;
            };
            if chain.policy.is_some() && old_chain.policy.is_some() {
                pairs.push((chain.policy_slot as usize, old_chain.policy_slot as usize));
            }
            for (i, j) in carried_rules(&old_chain.rules, &chain.rules) {
                pairs.push((
                    chain.rules[i].slot as usize,
                    old_chain.rules[j].slot as usize,
                ));
            }
        }
    }
    pairs
}

/// (new index, old index) of the rules of one chain that continue an old rule: the
/// unchanged head and tail of the chain (all that one insert, append, delete or replace
/// leaves, shifted or not), and in between rules equal at the same position. Linear, so a
/// swap of a large chain costs a worker no more than compiling it did.
fn carried_rules(
    old: &[compile::CompiledRule],
    new: &[compile::CompiledRule],
) -> Vec<(usize, usize)> {
    let same = |a: &compile::CompiledRule, b: &compile::CompiledRule| {
        a.spec == b.spec && a.action == b.action
    };
    let (m, n) = (old.len(), new.len());
    let head = old.iter().zip(new).take_while(|(a, b)| same(a, b)).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| same(a, b))
        .count();
    let mut pairs: Vec<(usize, usize)> = (0..head).map(|i| (i, i)).collect();
    pairs.extend(
        (head..n - tail)
            .filter(|&i| i < m - tail && same(&old[i], &new[i]))
            .map(|i| (i, i)),
    );
    pairs.extend((1..=tail).map(|k| (n - k, m - k)));
    pairs
}

/// The source of an answer to `orig`: its destination when that is the appliance
/// itself, else the address of the port the answer leaves by.
fn reply_source(fib: &Fib, orig: &[u8]) -> Ipv4Addr {
    let ip = Ipv4Packet::new_unchecked(orig);
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if fib.is_local(dst) {
        return dst;
    }
    fib.lookup(src, 0)
        .map(|h| h.src)
        .filter(|a| !a.is_unspecified())
        .unwrap_or(dst)
}

fn ipv4_dst(buf: &PacketBuf) -> Ipv4Addr {
    Ipv4Packet::new_unchecked(buf.data()).dst_addr()
}

/// The traversal's view of one packet in one pipeline.
struct Host<'a> {
    p: &'a mut Pipeline,
    pkt: &'a mut Pkt,
}

impl RuleHost for Host<'_> {
    fn rule_matches(&mut self, _table: TableKind, hook: Hook, rule: &CompiledRule) -> bool {
        // A catch-all rule needs none of the context below.
        if rule.spec.is_unconditional() {
            return crate::ruleset::packet::PacketView::is_parseable(self.pkt.buf.data());
        }
        let Pipeline {
            fib,
            state,
            rng,
            now_ns,
            conntrack,
            tables,
            ..
        } = &mut *self.p;
        let entry = match (&self.pkt.ct.pending, self.pkt.ct.id) {
            (Some(e), _) => Some(e),
            (None, Some(id)) => conntrack.entry(id),
            _ => None,
        };
        let name = |p: Option<PortId>| p.and_then(|p| fib.ports().get(p)).map(|p| p.name.as_str());
        let mut env = MatchEnv {
            in_iface: name(self.pkt.in_port),
            out_iface: name(self.pkt.out_port),
            in_port: self.pkt.in_port,
            out_port: self.pkt.out_port,
            mac_header: self.pkt.mac_header.as_ref(),
            mark: self.pkt.buf.mark,
            hook,
            now_ns: *now_ns,
            fib,
            ct: &self.pkt.ct,
            ct_entry: entry,
            conntrack,
            tables,
        };
        let Some(st) = state.get_mut(rule.slot as usize) else {
            return false;
        };
        eval::rule_matches(&rule.spec, self.pkt.buf.data(), &mut env, st, &mut || {
            next_random(rng)
        })
    }

    fn run_target(
        &mut self,
        _table: TableKind,
        _hook: Hook,
        _rule: &CompiledRule,
        target: &Target,
    ) -> TargetOutcome {
        match target {
            Target::Reject(r) => {
                let orig = self.pkt.buf.data();
                let src = reply_source(&self.p.fib, orig);
                let ident = self.p.next_ident();
                let mut out = Vec::new();
                if r.build(orig, src, ident, &mut out) {
                    self.p.generated.push(PacketBuf::from_slice(&out));
                }
                TargetOutcome::Verdict(Verdict::Drop)
            }
            Target::Log(l) => {
                let mut line = l.prefix.clone();
                format_packet(
                    &mut line,
                    self.p.port_name(self.pkt.in_port),
                    self.p.port_name(self.pkt.out_port),
                    self.pkt.mac_header.as_ref().map(|m| &m[..]),
                    self.pkt.buf.data(),
                    l.flags,
                    self.pkt.buf.mark,
                );
                match l.level {
                    0..=3 => tracing::error!(target: "nfdp::log", "{line}"),
                    4 => tracing::warn!(target: "nfdp::log", "{line}"),
                    5 | 6 => tracing::info!(target: "nfdp::log", "{line}"),
                    _ => tracing::debug!(target: "nfdp::log", "{line}"),
                }
                if let Some(log) = self.p.log.as_mut() {
                    log.push(line);
                }
                TargetOutcome::Continue
            }
            Target::Mark(m) => {
                self.pkt.buf.mark = m.apply(self.pkt.buf.mark);
                TargetOutcome::Continue
            }
            Target::Ttl(t) => {
                t.apply_to_packet(self.pkt.buf.data_mut());
                TargetOutcome::Continue
            }
            Target::Tos(t) => {
                t.apply_to_packet(self.pkt.buf.data_mut());
                TargetOutcome::Continue
            }
            Target::Dscp(d) => {
                d.apply_to_packet(self.pkt.buf.data_mut());
                TargetOutcome::Continue
            }
            Target::Tcpmss(t) => {
                // The egress MTU (the route's MTU is the port's here).
                let pmtu = self
                    .pkt
                    .out_port
                    .and_then(|p| self.p.fib.ports().get(p))
                    .map_or(1500, |p| p.mtu);
                let buf = &mut self.pkt.buf;
                let len = buf.len();
                let room = buf.tailroom();
                buf.append(room);
                let (outcome, new_len) = t.apply_in_place(buf.data_mut(), len, pmtu);
                buf.truncate(new_len);
                if outcome == MssOutcome::Drop {
                    return TargetOutcome::Verdict(Verdict::Drop);
                }
                TargetOutcome::Continue
            }
            Target::Snat(n) | Target::Dnat(n) | Target::Masquerade(n) | Target::Redirect(n) => {
                let manip = match target {
                    Target::Snat(_) | Target::Masquerade(_) => Manip::Src,
                    _ => Manip::Dst,
                };
                let port_addr = |p: Option<PortId>| {
                    p.and_then(|p| self.p.fib.ports().get(p))
                        .and_then(|p| p.primary())
                };
                let addrs = match target {
                    // The egress interface's address, resolved per connection.
                    // inet_select_addr: the port's address on the next hop's subnet.
                    Target::Masquerade(_) => {
                        let next_hop = self.pkt.gateway.unwrap_or_else(|| ipv4_dst(&self.pkt.buf));
                        let a = self
                            .pkt
                            .out_port
                            .and_then(|p| self.p.fib.ports().get(p))
                            .and_then(|p| p.source_for(next_hop));
                        match a {
                            Some(a) => Some((a, a)),
                            None => return TargetOutcome::Verdict(Verdict::Drop),
                        }
                    }
                    // The ingress interface's address (127.0.0.1 for OUTPUT).
                    Target::Redirect(_) => {
                        let a = if self.pkt.in_port.is_some() {
                            port_addr(self.pkt.in_port)
                        } else {
                            Some(Ipv4Addr::LOCALHOST)
                        };
                        match a {
                            Some(a) => Some((a, a)),
                            None => return TargetOutcome::Verdict(Verdict::Drop),
                        }
                    }
                    _ => n.range.and_then(|r| r.addrs),
                };
                let req = NatRequest {
                    manip,
                    addrs,
                    ports: n.range.and_then(|r| r.ports),
                    random: n.random || n.random_fully,
                    persistent: n.persistent,
                };
                if let Some(e) = self.pkt.ct.pending.as_mut() {
                    if !self.p.conntrack.bind(e, &req) {
                        return TargetOutcome::Verdict(Verdict::Drop);
                    }
                }
                TargetOutcome::Verdict(Verdict::Accept)
            }
            Target::Notrack => {
                self.pkt.notrack = true;
                TargetOutcome::Continue
            }
            Target::Ct(c) => {
                if c.notrack {
                    self.pkt.notrack = true;
                }
                if c.helper.as_deref() == Some("ftp") {
                    self.pkt.helper = crate::conntrack::HELPER_FTP;
                }
                TargetOutcome::Continue
            }
            Target::Connmark(c) => {
                let nfmark = self.pkt.buf.mark;
                let mut restored = None;
                if let Some(e) = self.pkt.entry_mut(&mut self.p.conntrack) {
                    match *c {
                        ConnmarkTarget::SetXmark { value, mask } => {
                            e.mark = (e.mark & !mask) ^ value
                        }
                        ConnmarkTarget::Save { nfmask, ctmask } => {
                            e.mark = (e.mark & !ctmask) ^ (nfmark & nfmask)
                        }
                        ConnmarkTarget::Restore { nfmask, ctmask } => {
                            restored = Some((nfmark & !nfmask) ^ (e.mark & ctmask))
                        }
                    }
                }
                if let Some(m) = restored {
                    self.pkt.buf.mark = m;
                }
                TargetOutcome::Continue
            }
            Target::None
            | Target::Accept
            | Target::Drop
            | Target::Return
            | Target::Jump(_)
            | Target::Goto(_) => TargetOutcome::Continue,
        }
    }

    fn keys(&mut self) -> Option<classify::Keys> {
        Some(classify::packet_keys(
            self.pkt.buf.data(),
            self.pkt.in_port.map(|p| p.0),
            self.pkt.out_port.map(|p| p.0),
        ))
    }

    fn count(&mut self, slot: u32) {
        if let Some(c) = self.p.counters.get_mut(slot as usize) {
            c.packets += 1;
            c.bytes += self.pkt.buf.len() as u64;
        }
    }

    fn trace(&mut self, table: TableKind, chain: &str, kind: TraceKind, number: u32) {
        if self.p.trace.is_none() && !self.p.watch_hit {
            return;
        }
        let mut line = format!(
            "TRACE: {}:{}:{}:{} ",
            table.name(),
            chain,
            kind.name(),
            number
        );
        format_packet(
            &mut line,
            self.p.port_name(self.pkt.in_port),
            self.p.port_name(self.pkt.out_port),
            self.pkt.mac_header.as_ref().map(|m| &m[..]),
            self.pkt.buf.data(),
            TRACE_FLAGS,
            self.pkt.buf.mark,
        );
        self.p.trace_line(line);
    }
}
