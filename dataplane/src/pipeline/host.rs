//! The traversal's view of one packet (`RuleHost`): rule matching with the packet's
//! context, the targets that are not verdicts or jumps, rule counters and TRACE lines.

use super::*;
use crate::ipset::packet_fields;
use crate::ruleset::packet::{PacketMeta, PacketView};
use crate::ruleset::targets::set::SetTarget;
use eval::RuleEval;

impl Pipeline {
    /// One table at one hook, its chains traversed.
    #[inline(never)]
    pub(super) fn traverse_table(
        &mut self,
        table: TableKind,
        hook: Hook,
        pkt: &mut Pkt,
    ) -> Verdict {
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

    /// `-j SET`: the packet's element for each set the rule names, queued for the
    /// control plane (the add first, as `set_target_v3` does it).
    fn queue_set_ops(&mut self, t: &SetTarget) {
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

    /// `rule_matches` for `RuleEval::View`: the packet and its interfaces, MACs and mark.
    fn view_matches(&self, rule: &CompiledRule) -> bool {
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
        eval::view_rule_matches(&rule.spec, ip, meta, &self.p.sets, self.p.now_ns)
    }

    /// A NAT target that found no address or port for the connection drops its packet.
    fn nat_failed(&mut self) -> TargetOutcome {
        self.pkt.drop_reason = Some(DropReason::Nat);
        TargetOutcome::Verdict(Verdict::Drop)
    }
}

impl RuleHost for Host<'_> {
    fn rule_matches(&mut self, _table: TableKind, hook: Hook, rule: &CompiledRule) -> bool {
        let ip = self.pkt.buf.data();
        match rule.eval {
            // A catch-all rule needs none of the context below.
            RuleEval::Unconditional => return PacketView::is_parseable(ip),
            RuleEval::SetAddr { index, src, inv } => {
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
                return self.view_matches(rule);
            }
            RuleEval::View => return self.view_matches(rule),
            RuleEval::Base(b) => {
                return match b.matches(&rule.spec, ip, self.pkt.in_port, self.pkt.out_port) {
                    Some(m) => m,
                    None => self.view_matches(rule),
                };
            }
            RuleEval::CtState { bits, inv } => {
                let entry = self.pkt.entry(&self.p.conntrack);
                return eval::ctstate_matches(ip, bits, inv, &self.pkt.ct, entry);
            }
            RuleEval::Context | RuleEval::Full => {}
        }
        let Pipeline {
            fib,
            state,
            rng,
            now_ns,
            conntrack,
            tables,
            sets,
            ..
        } = &mut *self.p;
        let entry = self.pkt.entry(conntrack);
        let Some(st) = state.get_mut(rule.slot as usize) else {
            return false;
        };
        let random = &mut || next_random(rng);
        if rule.eval == RuleEval::Context {
            return eval::context_rule_matches(
                &rule.spec,
                ip,
                &self.pkt.ct,
                entry,
                *now_ns,
                st,
                random,
            );
        }
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
            sets,
            labels_set: None,
        };
        let hit = eval::rule_matches(&rule.spec, ip, &mut env, st, random);
        // `-m connlabel --set` changed the connection's labels (whether the rule
        // matched or not, as the kernel sets them while it evaluates).
        if let Some(bits) = env.labels_set {
            if self.pkt.ct.pending.is_some() {
                self.pkt.ct.pending_labels = bits;
            } else if let Some(id) = self.pkt.ct.id {
                conntrack.set_labels(id, bits);
            }
        }
        hit
    }

    fn run_target(
        &mut self,
        _table: TableKind,
        hook: Hook,
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
                    match r.with.icmp_code() {
                        // nf_send_unreach answers through icmp_send and its rate limits,
                        // and icmp_send not to a frame sent to a link-layer broadcast.
                        Some(_) if self.pkt.link_broadcast() => {}
                        Some(code) => self.p.send_icmp_error(out, 3, code),
                        None => self.p.generated.push(PacketBuf::from_slice(&out)),
                    }
                }
                TargetOutcome::Verdict(Verdict::Drop)
            }
            Target::Log(l) => {
                let mut line = l.prefix.clone();
                self.describe(&mut line, l.flags);
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
            Target::Nflog(t) => {
                self.p.queue_nflog(t, self.pkt.buf.data());
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
                    self.pkt.drop_reason = Some(DropReason::Tcpmss);
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
                            None => return self.nat_failed(),
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
                            None => return self.nat_failed(),
                        }
                    }
                    _ => n.range.and_then(|r| r.addrs),
                };
                let req = NatRequest {
                    manip,
                    addrs,
                    ports: n.range.and_then(|r| r.ports),
                    port_base: n.range.and_then(|r| r.port_base),
                    random: n.random || n.random_fully,
                    persistent: n.persistent,
                };
                if let Some(e) = self.pkt.ct.pending.as_mut() {
                    if !self.p.conntrack.bind(e, &req) {
                        return self.nat_failed();
                    }
                }
                TargetOutcome::Verdict(Verdict::Accept)
            }
            Target::Netmap(n) => {
                let ip = Ipv4Packet::new_unchecked(self.pkt.buf.data());
                let (manip, addr) = match hook {
                    Hook::Prerouting | Hook::Output => (Manip::Dst, ip.dst_addr()),
                    _ => (Manip::Src, ip.src_addr()),
                };
                let a = n.map(addr);
                let req = NatRequest {
                    manip,
                    addrs: Some((a, a)),
                    ports: None,
                    port_base: None,
                    random: false,
                    persistent: false,
                };
                if let Some(e) = self.pkt.ct.pending.as_mut() {
                    if !self.p.conntrack.bind(e, &req) {
                        return self.nat_failed();
                    }
                }
                TargetOutcome::Verdict(Verdict::Accept)
            }
            // Every packet here has its whole checksum: nothing to fill.
            Target::Checksum(_) => TargetOutcome::Continue,
            Target::Ecn(e) => {
                e.apply_to_packet(self.pkt.buf.data_mut());
                TargetOutcome::Continue
            }
            Target::Tcpoptstrip(t) => {
                use crate::ruleset::targets::tcpoptstrip::StripOutcome;
                if t.apply_to_packet(self.pkt.buf.data_mut()) == StripOutcome::Drop {
                    self.pkt.drop_reason = Some(DropReason::Malformed);
                    return TargetOutcome::Verdict(Verdict::Drop);
                }
                TargetOutcome::Continue
            }
            Target::Hmark(h) => {
                let mark = if h.ct() {
                    self.pkt.entry(&self.p.conntrack).map(|e| {
                        h.mark_for_conn(
                            e.orig.proto,
                            u32::from(e.orig.src),
                            e.orig.sport,
                            u32::from(e.reply.src),
                            e.reply.sport,
                        )
                    })
                } else {
                    h.mark_for_packet(self.pkt.buf.data())
                };
                if let Some(m) = mark {
                    self.pkt.buf.mark = m;
                }
                TargetOutcome::Continue
            }
            Target::Synproxy(t) => self.p.synproxy_target(self.pkt, t),
            Target::Tee(t) => {
                self.p.tee(&self.pkt.buf, t, hook);
                TargetOutcome::Continue
            }
            Target::Set(t) => {
                self.queue_set_ops(t);
                TargetOutcome::Continue
            }
            Target::Trace => {
                self.pkt.nf_trace = true;
                self.pkt.traced = true;
                TargetOutcome::Continue
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
        if !self.pkt.traced {
            return;
        }
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
