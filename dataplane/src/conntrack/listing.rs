//! What conntrack shows of its table: `conntrack -L` / `-G` records, the
//! /proc/net/nf_conntrack listing and `conntrack -E` event lines.

use super::*;

impl<A: CtAddr> Conntrack<A> {
    /// The live entries `filter` matches, with their ids and counters (`conntrack -L`),
    /// in id order. Expired entries the wheel has not reaped yet are left out.
    pub fn records(&self, filter: &CtFilter, now_ns: u64) -> Vec<CtRecord<A>> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i as u32, e)))
            .filter(|(_, e)| e.timeout_ns > now_ns && filter.matches(*e))
            .map(|(id, e)| self.record(id, e))
            .collect()
    }

    /// The live entry one of whose tuples is `t` (`conntrack -G`).
    pub fn get(&self, t: &Tuple<A>, now_ns: u64) -> Option<CtRecord<A>> {
        let (id, _) = self.lookup(t)?;
        let e = self.entry(id).filter(|e| e.timeout_ns > now_ns)?;
        Some(self.record(id, e))
    }

    /// `conntrack -U -m VALUE[/MASK]`: sets the mark bits `mask` of the live entries
    /// `filter` matches to `value`'s (ctnetlink_change_mark). Only the entries whose mark
    /// changed are returned and reported as UPDATE, as conntrack counts them.
    pub fn update_marks(
        &mut self,
        filter: &CtFilter,
        value: u32,
        mask: u32,
        now_ns: u64,
    ) -> Vec<CtRecord<A>> {
        let ids: Vec<u32> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.as_ref().is_some_and(|e| {
                    e.timeout_ns > now_ns
                        && filter.matches(e)
                        && (e.mark & !mask) | (value & mask) != e.mark
                })
            })
            .map(|(i, _)| i as u32)
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(e) = self.entry_mut(id) else {
                continue;
            };
            e.mark = (e.mark & !mask) | (value & mask);
            let e = e.clone();
            self.event(CtEventKind::Update, id, &e);
            out.push(self.record(id, &e));
        }
        out
    }

    fn record(&self, id: u32, e: &ConnEntry<A>) -> CtRecord<A> {
        CtRecord {
            id,
            entry: e.clone(),
            counters: self.cfg.acct.then(|| self.counters(id)),
            labels: self.labels(id),
        }
    }

    /// The table in /proc/net/nf_conntrack's format, one line per connection, sorted.
    /// Expired entries the wheel has not reaped yet are left out, as ct_seq_show does.
    pub fn listing(&self, now_ns: u64) -> Vec<String> {
        let acct = self.cfg.acct.then_some(&self.acct);
        let mut lines: Vec<String> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
            .filter(|(_, e)| e.timeout_ns > now_ns)
            .map(|(i, e)| proc_line(e, acct.and_then(|a| a.get(i)), now_ns))
            .collect();
        lines.sort();
        lines
    }
}

/// `    [NEW] tcp      6 120 SYN_SENT src=... [UNREPLIED] src=...` as `conntrack -E`
/// prints it (IPv6 addresses compressed, as conntrack-tools print them).
pub fn event_line<A: CtAddr>(tag: &str, e: &ConnEntry<A>, now_ns: u64) -> String {
    let line = entry_line(e, None, now_ns, Tuple::user_fmt);
    let body = line.strip_prefix(A::PROC_PREFIX).unwrap_or(&line);
    let body = body.split(" mark=").next().unwrap_or(body).trim_end();
    format!("{tag:>9} {body}")
}

/// `ipv4     2 tcp      6 431999 ESTABLISHED src=... [ASSURED] mark=0 zone=0 use=2`,
/// with `packets= bytes=` when `acct` (accounting on) is given; `ipv6     10 ...` with
/// the addresses in full (`%pI6`) for IPv6.
pub fn proc_line<A: CtAddr>(e: &ConnEntry<A>, acct: Option<&Counters>, now_ns: u64) -> String {
    entry_line(e, acct, now_ns, Tuple::proc_fmt)
}

/// `proc_line` with the tuples written by `tuple`.
fn entry_line<A: CtAddr>(
    e: &ConnEntry<A>,
    acct: Option<&Counters>,
    now_ns: u64,
    tuple: fn(&Tuple<A>, &mut String),
) -> String {
    let name = match e.orig.proto {
        6 => "tcp",
        17 => "udp",
        p if p == A::ICMP_PROTO => A::ICMP_NAME,
        136 => "udplite",
        _ => "unknown",
    };
    let left = e.timeout_ns.saturating_sub(now_ns) / NS;
    let mut s = format!("{}{:<8} {} {} ", A::PROC_PREFIX, name, e.orig.proto, left);
    if e.orig.proto == 6 {
        s.push_str(e.tcp.name());
        s.push(' ');
    }
    tuple(&e.orig, &mut s);
    if let Some(c) = acct {
        let _ = write!(s, "packets={} bytes={} ", c.packets[0], c.bytes[0]);
    }
    if e.status & status::SEEN_REPLY == 0 {
        s.push_str("[UNREPLIED] ");
    }
    tuple(&e.reply, &mut s);
    if let Some(c) = acct {
        let _ = write!(s, "packets={} bytes={} ", c.packets[1], c.bytes[1]);
    }
    if e.status & status::ASSURED != 0 {
        s.push_str("[ASSURED] ");
    }
    let _ = write!(s, "mark={} zone=0 use=2", e.mark);
    s
}
