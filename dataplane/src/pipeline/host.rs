//! The traversal's view of one packet (`RuleHost`): rule matching with the packet's
//! context, the targets that are not verdicts or jumps, rule counters and TRACE lines.

use super::*;
use crate::ipset::packet_fields;
use crate::ruleset::ext::ConnFamily;
use crate::ruleset::packet::{PacketMeta, PacketView};
use crate::ruleset::Family;
use eval::RuleEval;
use std::net::Ipv6Addr;

impl Pipeline {
    /// One table at one hook, its chains traversed from rule `first` of the hook's chain
    /// (the ones before it known not to match).
    #[inline(never)]
    pub(super) fn traverse_table(
        &mut self,
        table: TableKind,
        hook: Hook,
        first: usize,
        pkt: &mut Pkt,
    ) -> Verdict {
        // A traversal inside a traversal (none today) would start from fresh cursors.
        let mut scratch = self.scratch.take().unwrap_or_default();
        let v = self.with_rules(|rules, p| match rules.table_of(pkt.family, table) {
            Some(t) => traverse_from(t, hook, first, &mut Host { p, pkt }, &mut scratch),
            None => Verdict::Accept,
        });
        self.scratch = Some(scratch);
        v
    }

    /// `traverse_table` for a `TablePlan::Single` chain and an untraced packet.
    pub(super) fn run_single(&mut self, table: TableKind, hook: Hook, pkt: &mut Pkt) -> Verdict {
        let v = self.with_rules(|rules, p| match rules.table_of(pkt.family, table) {
            Some(t) => single_rule(t, hook, &mut Host { p, pkt }),
            None => Some(Verdict::Accept),
        });
        // Never planned for another chain; should one be, it is traversed.
        v.unwrap_or_else(|| self.traverse_table(table, hook, 0, pkt))
    }

    /// Runs `f` with the ruleset beside a mutable pipeline (targets change the
    /// pipeline): moved out with `parked_rules`' stand-in put in its place (no reference
    /// count touched), or an `Arc` clone when the stand-in is already out; put back after.
    #[inline(always)]
    fn with_rules<R>(&mut self, f: impl FnOnce(&CompiledRuleset, &mut Pipeline) -> R) -> R {
        let (rules, parked) = match self.parked_rules.take() {
            Some(stand_in) => (std::mem::replace(&mut self.rules, stand_in), true),
            None => (Arc::clone(&self.rules), false),
        };
        let v = f(&rules, self);
        if parked {
            self.parked_rules = Some(std::mem::replace(&mut self.rules, rules));
        }
        v
    }
}

/// The traversal's view of one packet in one pipeline.
struct Host<'a> {
    p: &'a mut Pipeline,
    pkt: &'a mut Pkt,
}

impl Host<'_> {
    /// The packet in the kernel's LOG/TRACE shape (`IN= OUT= MAC= SRC= ...`) after `line`.
    fn describe(&self, line: &mut String, flags: u8) {
        format_packet(
            line,
            self.p.port_name(self.pkt.in_port),
            self.p.port_name(self.pkt.out_port),
            self.pkt.mac_header.as_ref().map(|m| &m[..]),
            self.pkt.buf.data(),
            flags,
            self.pkt.buf.mark,
        );
    }

    /// The rule's `-i` / `-o` by port id: `Some(false)` decides the rule, `Some(true)`
    /// leaves the rest to decide, `None` (no interface criteria, or a port not known when
    /// the ruleset was compiled) leaves the names to compare.
    fn ifaces_match(&self, rule: &CompiledRule) -> Option<bool> {
        rule.ifaces?.matches(self.pkt.in_port, self.pkt.out_port)
    }

    /// `rule_matches` for `RuleEval::View`: the packet and its interfaces, MACs and mark.
    #[inline(never)]
    fn view_matches(&self, rule: &CompiledRule) -> bool {
        let ifaces_checked = match self.ifaces_match(rule) {
            Some(false) => return false,
            Some(true) => true,
            None => false,
        };
        let ports = self.p.fib.ports();
        let name = |p: Option<PortId>| p.and_then(|p| ports.get(p)).map(|p| p.name.as_str());
        let meta = PacketMeta {
            in_iface: name(self.pkt.in_port),
            out_iface: name(self.pkt.out_port),
            src_mac: self
                .pkt
                .mac_header
                .map(|h| [h[6], h[7], h[8], h[9], h[10], h[11]]),
            dst_mac: self
                .pkt
                .mac_header
                .map(|h| [h[0], h[1], h[2], h[3], h[4], h[5]]),
            mark: self.pkt.buf.mark,
        };
        let ip = self.pkt.buf.data();
        eval::view_rule_matches(
            &rule.spec,
            ifaces_checked,
            ip,
            meta,
            &self.p.sets,
            self.p.now_ns,
        )
    }
}

impl Host<'_> {
    /// `rule_matches` for `RuleEval::SetAddr`.
    #[inline(never)]
    fn set_addr_matches(&self, rule: &CompiledRule, index: u32, src: bool, inv: bool) -> bool {
        let ip = self.pkt.buf.data();
        if !PacketView::is_parseable(ip) {
            return false;
        }
        let at = if src { 12 } else { 16 };
        let addr = ip
            .get(at..at + 4)
            .map_or(0, |a| u32::from_be_bytes([a[0], a[1], a[2], a[3]]));
        let bytes = u64::from(u16::from_be_bytes([ip[2], ip[3]]));
        if let Some(hit) = self.p.sets.test_addr(index, addr, bytes, self.p.now_ns) {
            return hit != inv;
        }
        self.view_matches(rule)
    }

    /// `rule_matches` for `RuleEval::Context` and `Full`: the rule's matches with the
    /// connection, the rule's state and the rest of the pipeline's context.
    #[inline(never)]
    fn context_matches(&mut self, hook: Hook, rule: &CompiledRule) -> bool {
        let ifaces_checked = match self.ifaces_match(rule) {
            Some(false) => return false,
            Some(true) => true,
            None => false,
        };
        let Pipeline {
            fib,
            state,
            rng,
            now_ns,
            conntrack,
            conntrack6,
            ct6,
            tables,
            sets,
            ..
        } = &mut *self.p;
        let Some(st) = state.get_mut(rule.slot as usize) else {
            return false;
        };
        let cx = ConnRuleCx {
            fib,
            tables,
            sets,
            now_ns: *now_ns,
            st,
            random: &mut || next_random(rng),
        };
        // Each family reads its own connection and table (`ConnFamily`): one
        // monomorphic instance per family.
        match self.pkt.family {
            Family::V4 => conn_rule_matches(
                rule,
                hook,
                ifaces_checked,
                self.pkt.buf.data(),
                PktCtx::of(self.pkt),
                &mut self.pkt.ct,
                conntrack,
                cx,
            ),
            Family::V6 => conn_rule_matches(
                rule,
                hook,
                ifaces_checked,
                self.pkt.buf.data(),
                PktCtx::of(self.pkt),
                ct6,
                conntrack6,
                cx,
            ),
        }
    }
}

impl Host<'_> {
    /// `rule_matches`, inlined into each of its two callers.
    #[inline(always)]
    fn decide(&mut self, hook: Hook, rule: &CompiledRule) -> bool {
        let ip = self.pkt.buf.data();
        match rule.eval {
            // A catch-all rule needs none of the context below.
            RuleEval::Unconditional => PacketView::is_parseable(ip),
            RuleEval::Base(b) => b
                .matches(&rule.spec, ip, self.pkt.in_port, self.pkt.out_port)
                .unwrap_or_else(|| self.view_matches(rule)),
            RuleEval::CtState { bits, inv } => match self.pkt.family {
                Family::V4 => {
                    let entry = self.pkt.entry(&self.p.conntrack);
                    eval::ctstate_matches(ip, bits, inv, &self.pkt.ct, entry)
                }
                Family::V6 => {
                    let entry = self.p.ct6.entry(&self.p.conntrack6);
                    eval::ctstate_matches(ip, bits, inv, &self.p.ct6, entry)
                }
            },
            RuleEval::SetAddr { index, src, inv } => self.set_addr_matches(rule, index, src, inv),
            RuleEval::View => self.view_matches(rule),
            RuleEval::Context | RuleEval::Full => self.context_matches(hook, rule),
        }
    }
}

impl RuleHost for Host<'_> {
    /// The common cheap ways (`RuleEval::Base`, `CtState`, `Unconditional`) are decided
    /// here, inlined into the traversal; the others are out of line, so that a rule of
    /// the fixed part alone does not pay for their stack frame.
    #[inline]
    fn rule_matches(&mut self, _table: TableKind, hook: Hook, rule: &CompiledRule) -> bool {
        self.decide(hook, rule)
    }

    /// Out of line: the traversal's `rule_matches` stays inlined into its one caller.
    #[inline(never)]
    fn single_rule_matches(&mut self, _table: TableKind, hook: Hook, rule: &CompiledRule) -> bool {
        self.decide(hook, rule)
    }

    fn run_target(
        &mut self,
        _table: TableKind,
        hook: Hook,
        _rule: &CompiledRule,
        target: &Target,
    ) -> TargetOutcome {
        target.run(&mut TargetCx {
            p: &mut *self.p,
            pkt: &mut *self.pkt,
            hook,
        })
    }

    #[inline]
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

    /// Inlined into the traversal: an untraced packet (all but a few) costs a test.
    #[inline]
    fn trace(&mut self, table: TableKind, chain: &str, kind: TraceKind, number: u32) {
        if self.pkt.traced {
            self.trace_rule(table, chain, kind, number);
        }
    }
}

impl Host<'_> {
    #[inline(never)]
    fn trace_rule(&mut self, table: TableKind, chain: &str, kind: TraceKind, number: u32) {
        let mut line = format!(
            "TRACE: {}:{}:{}:{} ",
            table.name(),
            chain,
            kind.name(),
            number
        );
        self.describe(&mut line, TRACE_FLAGS);
        self.p.trace_line(line, self.pkt.nf_trace);
    }
}

/// What of the worker a rule of the context or full kind reads besides the connection.
struct ConnRuleCx<'a, 'r> {
    fib: &'a Fib,
    tables: &'a mut tables::NamedTables,
    sets: &'a SetTable,
    now_ns: u64,
    st: &'a mut RuleState,
    random: &'r mut dyn FnMut() -> u32,
}

/// What of the packet those rules read besides its bytes (copied out of `Pkt`, so that
/// its connection verdict can be borrowed apart).
#[derive(Clone, Copy)]
struct PktCtx {
    in_port: Option<PortId>,
    out_port: Option<PortId>,
    mac_header: Option<[u8; 14]>,
    mark: u32,
}

impl PktCtx {
    #[inline]
    fn of(pkt: &Pkt) -> PktCtx {
        PktCtx {
            in_port: pkt.in_port,
            out_port: pkt.out_port,
            mac_header: pkt.mac_header,
            mark: pkt.buf.mark,
        }
    }
}

/// `RuleEval::Context` and `RuleEval::Full` for a packet whose connection verdict is
/// `ct` in `conntrack`, the table of its family; `-m connlabel --set` is stored on the
/// connection after (whether the rule matched or not, as the kernel sets the labels
/// while it evaluates).
#[allow(clippy::too_many_arguments)]
#[inline]
fn conn_rule_matches<A: ConnFamily>(
    rule: &CompiledRule,
    hook: Hook,
    ifaces_checked: bool,
    ip: &[u8],
    pkt: PktCtx,
    ct: &mut CtInfo<A>,
    conntrack: &mut Conntrack<A>,
    cx: ConnRuleCx<'_, '_>,
) -> bool {
    let entry = ct.entry(conntrack);
    if rule.eval == RuleEval::Context {
        return eval::context_rule_matches(&rule.spec, ip, ct, entry, cx.now_ns, cx.st, cx.random);
    }
    let name = |p: Option<PortId>| {
        p.and_then(|p| cx.fib.ports().get(p))
            .map(|p| p.name.as_str())
    };
    let mut env = MatchEnv {
        in_iface: name(pkt.in_port),
        out_iface: name(pkt.out_port),
        in_port: pkt.in_port,
        out_port: pkt.out_port,
        mac_header: pkt.mac_header.as_ref(),
        mark: pkt.mark,
        hook,
        now_ns: cx.now_ns,
        fib: cx.fib,
        ct,
        ct_entry: entry,
        conntrack,
        tables: cx.tables,
        sets: cx.sets,
        labels_set: None,
    };
    let hit = eval::rule_matches(&rule.spec, ifaces_checked, ip, &mut env, cx.st, cx.random);
    if let Some(bits) = env.labels_set {
        ct.store_labels(conntrack, bits);
    }
    hit
}

/// What a target's per-packet function (`TargetExt::run`) may do to the packet and ask
/// of the worker: the pipeline's services to extensions, nothing more.
pub struct TargetCx<'a> {
    p: &'a mut Pipeline,
    pkt: &'a mut Pkt,
    hook: Hook,
}

impl TargetCx<'_> {
    /// The hook whose chain runs the target.
    pub fn hook(&self) -> Hook {
        self.hook
    }

    /// The IPv4 packet (no link header).
    pub fn packet(&self) -> &[u8] {
        self.pkt.buf.data()
    }

    pub fn packet_mut(&mut self) -> &mut [u8] {
        self.pkt.buf.data_mut()
    }

    /// The packet's buffer, for targets that change its length (TCPMSS).
    pub fn buf_mut(&mut self) -> &mut PacketBuf {
        &mut self.pkt.buf
    }

    /// The packet's mark (nfmark).
    pub fn mark(&self) -> u32 {
        self.pkt.buf.mark
    }

    pub fn set_mark(&mut self, mark: u32) {
        self.pkt.buf.mark = mark;
    }

    /// The packet's IPv4 connection (new or confirmed), if it has one.
    pub fn entry(&self) -> Option<&ConnEntry> {
        self.pkt.entry(&self.p.conntrack)
    }

    /// The packet's IPv6 connection (new or confirmed), if it has one.
    pub fn entry6(&self) -> Option<&crate::conntrack::ConnEntry6> {
        self.p.ct6.entry(&self.p.conntrack6)
    }

    /// The mark of the packet's connection, of either family (CONNMARK: xt_connmark is
    /// NFPROTO_UNSPEC), to read or change; `None` without a connection.
    pub fn conn_mark_mut(&mut self) -> Option<&mut u32> {
        match self.pkt.family {
            Family::V4 => self
                .pkt
                .entry_mut(&mut self.p.conntrack)
                .map(|e| &mut e.mark),
            Family::V6 => self
                .p
                .ct6
                .entry_mut(&mut self.p.conntrack6)
                .map(|e| &mut e.mark),
        }
    }

    /// Drops the packet for a reason other than a rule's verdict (counted under it).
    pub fn drop_for(&mut self, reason: DropReason) -> TargetOutcome {
        self.pkt.drop_reason = Some(reason);
        TargetOutcome::Verdict(Verdict::Drop)
    }

    /// The egress port's MTU (the route's MTU is the port's here); 1500 without one.
    pub fn egress_mtu(&self) -> u16 {
        self.pkt
            .out_port
            .and_then(|p| self.p.fib.ports().get(p))
            .map_or(1500, |p| p.mtu)
    }

    /// The path MTU `--clamp-mss-to-pmtu` clamps to. IPv4: the egress port's. IPv6: as
    /// tcpmss_tg6, the smaller of the egress port's and that of the route back to the
    /// source (tcpmss_reverse_mtu6; a link-local source is reached through the port it came
    /// in on, a source without a route sets no bound).
    pub fn path_mtu(&self) -> u16 {
        let out = self.egress_mtu();
        if self.pkt.family != Family::V6 {
            return out;
        }
        let Ok(ip) = crate::wire::Ipv6Packet::new_checked(self.pkt.buf.data()) else {
            return out;
        };
        let src = ip.src_addr();
        let back = if crate::port::is_link_local6(src) {
            self.pkt.in_port
        } else {
            self.p.fib.lookup6(src).map(|(port, _)| port)
        };
        let ports = self.p.fib.ports();
        back.and_then(|p| ports.get(p))
            .map_or(out, |p| out.min(p.mtu))
    }

    /// It arrived in a frame sent to a link-layer broadcast or multicast address.
    pub fn link_broadcast(&self) -> bool {
        self.pkt.link_broadcast()
    }

    /// The source address of an answer to this packet (the kernel's choice for REJECT
    /// and ICMP errors).
    pub fn reply_source(&self) -> Ipv4Addr {
        reply_source(&self.p.fib, self.pkt.buf.data())
    }

    /// An IP id for a packet the appliance generates.
    pub fn next_ident(&mut self) -> u16 {
        self.p.next_ident()
    }

    /// An ICMP error built by the target, sent through `icmp_send`'s rate limits.
    pub fn send_icmp_error(&mut self, packet: Vec<u8>, icmp_type: u8, code: u8) {
        self.p.send_icmp_error(packet, icmp_type, code);
    }

    /// icmp6_send: an ICMPv6 error about the packet, by the rules and rate limits of the
    /// kernel's (`Pipeline::icmp6_error`).
    pub fn send_icmp6_error(&mut self, icmp_type: u8, code: u8) {
        self.p.icmp6_error(self.pkt, icmp_type, code, 0);
    }

    /// A packet built by the target (a TCP reset), sent through the OUTPUT path.
    pub fn send_generated(&mut self, packet: &[u8]) {
        let mut buf = PacketBuf::from_slice(packet);
        // The way back to a link-local source (IPv6) is the port the packet came in on.
        if let Some(port) = self.pkt.in_port {
            buf.port = port;
        }
        self.p.generated.push(buf);
    }

    /// The packet in the kernel's LOG/TRACE shape (`IN= OUT= MAC= SRC= ...`) after `line`.
    pub fn describe(&self, line: &mut String, flags: u8) {
        format_packet(
            line,
            self.p.port_name(self.pkt.in_port),
            self.p.port_name(self.pkt.out_port),
            self.pkt.mac_header.as_ref().map(|m| &m[..]),
            self.pkt.buf.data(),
            flags,
            self.pkt.buf.mark,
        );
    }

    /// A LOG line kept where the pipeline collects them (replay, tests).
    pub fn collect_log(&mut self, line: String) {
        if let Some(log) = self.p.log.as_mut() {
            log.push(line);
        }
    }

    /// `-j NFLOG`: the packet to its group's capture.
    pub fn queue_nflog(&mut self, t: &crate::ruleset::targets::nflog::NflogTarget) {
        self.p.queue_nflog(t, self.pkt.buf.data());
    }

    /// `-j TEE`: a copy of the packet to the gateway.
    pub fn tee(&mut self, t: &TeeTarget) {
        self.p.tee(&self.pkt.buf, t, self.hook);
    }

    /// Binds the packet's new connection to `req`'s translation (nothing for a packet
    /// of a known connection: NAT targets see only the first); a connection that finds
    /// no address or port drops its packet.
    pub fn bind_nat(&mut self, req: &NatRequest) -> TargetOutcome {
        if let Some(e) = self.pkt.ct.pending.as_mut() {
            if !self.p.conntrack.bind(e, req) {
                return self.drop_for(DropReason::Nat);
            }
        }
        TargetOutcome::Verdict(Verdict::Accept)
    }

    /// The packet goes through ip6tables' tables (its connection is `Conntrack6`'s).
    pub fn is_ipv6(&self) -> bool {
        self.pkt.family == crate::ruleset::Family::V6
    }

    /// `bind_nat` for an IPv6 packet's new connection.
    pub fn bind_nat6(&mut self, req: &NatRequest<Ipv6Addr>) -> TargetOutcome {
        if let Some(e) = self.p.ct6.pending.as_mut() {
            if !self.p.conntrack6.bind(e, req) {
                return self.drop_for(DropReason::Nat);
            }
        }
        TargetOutcome::Verdict(Verdict::Accept)
    }

    /// The IPv6 packet's destination.
    fn dst6(&self) -> Ipv6Addr {
        crate::wire::Ipv6Packet::new_unchecked(self.pkt.buf.data()).dst_addr()
    }

    /// MASQUERADE's IPv6 address (nf_nat_masquerade_ipv6): the source the egress port
    /// picks for the packet's destination (ipv6_dev_get_saddr), as ICMPv6 errors pick
    /// theirs (`PortInfo::ipv6_source_for`).
    pub fn masquerade_source6(&self) -> Option<Ipv6Addr> {
        let dst = self.dst6();
        self.pkt
            .out_port
            .and_then(|p| self.p.fib.ports().get(p))
            .and_then(|p| p.ipv6_source_for(dst))
    }

    /// REDIRECT's IPv6 address (nf_nat_redirect_ipv6): ::1 for OUTPUT, else the first
    /// usable address of the ingress port's list whose scope the destination's allows: a
    /// link-local destination takes the link-local address; any other (scope 0 there)
    /// the first of the list, where the kernel keeps the global addresses newest first
    /// (ipv6_link_dev_addr), then the link-local one.
    pub fn redirect_address6(&self) -> Option<Ipv6Addr> {
        let Some(port) = self.pkt.in_port else {
            return Some(Ipv6Addr::LOCALHOST);
        };
        let p = self.p.fib.ports().get(port)?;
        if !p.ipv6_enabled() {
            return None;
        }
        if crate::port::is_link_local6(self.dst6()) {
            return p.link_local();
        }
        p.addresses6
            .last()
            .map(|&(a, _)| a)
            .or_else(|| p.link_local())
    }

    /// MASQUERADE's address: the egress port's address on the next hop's subnet
    /// (inet_select_addr).
    pub fn masquerade_source(&self) -> Option<Ipv4Addr> {
        let port = self.pkt.out_port?;
        let generation = self.p.fib.generation();
        if let Some((g, p, addr)) = self.p.masq_source.get() {
            if (g, p) == (generation, port) {
                return addr;
            }
        }
        let next_hop = self.pkt.gateway.unwrap_or_else(|| ipv4_dst(&self.pkt.buf));
        let info = self.p.fib.ports().get(port);
        let addr = info.and_then(|p| p.source_for(next_hop));
        // With one address or none the next hop does not choose: the port's answer holds
        // for every connection until the FIB (its addresses included) changes.
        if info.is_none_or(|p| p.addresses.len() <= 1) {
            self.p.masq_source.set(Some((generation, port, addr)));
        }
        addr
    }

    /// REDIRECT's address: the ingress port's primary address (127.0.0.1 for OUTPUT).
    pub fn redirect_address(&self) -> Option<Ipv4Addr> {
        match self.pkt.in_port {
            Some(p) => self.p.fib.ports().get(p).and_then(|p| p.primary()),
            None => Some(Ipv4Addr::LOCALHOST),
        }
    }

    /// `-j TRACE`: the rest of the packet's way is traced (nf_trace).
    pub fn set_nf_trace(&mut self) {
        self.pkt.nf_trace = true;
        self.pkt.traced = true;
    }

    /// NOTRACK / `CT --notrack`: conntrack leaves the packet alone.
    pub fn set_notrack(&mut self) {
        self.pkt.notrack = true;
    }

    /// `CT --helper`: the helper the packet's new connection gets.
    pub fn set_helper(&mut self, helper: u8) {
        self.pkt.helper = helper;
    }

    /// `-j SYNPROXY`: the client's handshake answered with a cookie, or its ACK checked
    /// and the server's handshake started (`pipeline::synproxy`).
    pub fn synproxy(
        &mut self,
        t: &crate::ruleset::targets::synproxy::SynproxyTarget,
    ) -> TargetOutcome {
        self.p.synproxy_target(self.pkt, t)
    }

    /// `-j SET`: the packet's element for each set the rule names, queued for the
    /// control plane (the add first, as `set_target_v3` does it).
    pub fn queue_set_ops(&mut self, t: &crate::ruleset::targets::set::SetTarget) {
        let ports = self.p.fib.ports();
        let name = |p: Option<PortId>| p.and_then(|p| ports.get(p)).map(|p| p.name.as_str());
        let meta = PacketMeta {
            in_iface: name(self.pkt.in_port),
            out_iface: name(self.pkt.out_port),
            mark: self.pkt.buf.mark,
            ..PacketMeta::default()
        };
        let Some(view) = PacketView::parse(self.pkt.buf.data(), meta) else {
            return;
        };
        let fields = packet_fields(&view);
        let ops = [(&t.add, false), (&t.del, true)].map(|(r, del)| {
            r.as_ref().and_then(|r| {
                let timeout = if del { None } else { t.add_timeout() };
                self.p
                    .sets
                    .packet_op(r.index, &fields, r.dirs, del, t.exist, timeout)
            })
        });
        for op in ops.into_iter().flatten() {
            self.p.queue_set_op(op);
        }
    }
}
