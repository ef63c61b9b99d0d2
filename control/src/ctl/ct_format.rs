//! conntrack 1.4.7's output: entry lines (libnetfilter_conntrack's default format), event
//! lines, `-S` lines and the summary lines on stderr.

use crate::api::pb::{ConntrackEntry, ConntrackWorkerStats, Tuple};
use crate::iptables::ext::connlabel::LabelMap;
use std::fmt::Write;

/// conntrack's prefix for every message on stderr.
pub const PREFIX: &str = "conntrack v1.4.7 (conntrack-tools): ";

/// How to print entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Format {
    /// `-o extended`: the `ipv4     2 ` (`ipv6     10 `) layer-3 prefix.
    pub extended: bool,
    /// Event lines carry no `use=` (the kernel sends no use count with events).
    pub event: bool,
}

/// The protocol's name as conntrack prints it (`unknown` for others).
pub fn proto_name(proto: u32) -> &'static str {
    match proto {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        47 => "gre",
        58 => "icmpv6",
        132 => "sctp",
        136 => "udplite",
        _ => "unknown",
    }
}

fn has(e: &ConntrackEntry, status: &str) -> bool {
    e.status.iter().any(|s| s == status)
}

fn tuple(out: &mut String, proto: u32, t: Option<&Tuple>) {
    let d = Tuple::default();
    let t = t.unwrap_or(&d);
    let _ = write!(out, "src={} dst={} ", t.src, t.dst);
    match proto {
        6 | 17 | 33 | 132 | 136 => {
            let _ = write!(out, "sport={} dport={} ", t.sport, t.dport);
        }
        1 | 58 => {
            let _ = write!(
                out,
                "type={} code={} id={} ",
                t.icmp_type, t.icmp_code, t.icmp_id
            );
        }
        _ => {}
    }
}

/// One entry as `conntrack -L` prints it (no newline):
/// `tcp      6 431999 ESTABLISHED src=... dst=... sport=... dport=... src=... [ASSURED] mark=0 use=1`.
pub fn entry_line(e: &ConntrackEntry, f: Format) -> String {
    let mut out = String::new();
    if f.extended {
        let v6 = e.orig.as_ref().is_some_and(|t| t.src.contains(':'));
        out.push_str(if v6 { "ipv6     10 " } else { "ipv4     2 " });
    }
    let _ = write!(out, "{:<8} {} {} ", proto_name(e.proto), e.proto, e.timeout);
    if !e.tcp_state.is_empty() {
        let _ = write!(out, "{} ", e.tcp_state);
    }
    tuple(&mut out, e.proto, e.orig.as_ref());
    if e.accounting {
        let _ = write!(out, "packets={} bytes={} ", e.orig_packets, e.orig_bytes);
    }
    if !has(e, "SEEN_REPLY") {
        out.push_str("[UNREPLIED] ");
    }
    tuple(&mut out, e.proto, e.reply.as_ref());
    if e.accounting {
        let _ = write!(out, "packets={} bytes={} ", e.reply_packets, e.reply_bytes);
    }
    if has(e, "ASSURED") {
        out.push_str("[ASSURED] ");
    }
    let _ = write!(out, "mark={} ", e.mark);
    if e.zone != 0 {
        let _ = write!(out, "zone={} ", e.zone);
    }
    if !f.event {
        let _ = write!(out, "use={} ", e.r#use);
    }
    out.pop(); // the last blank, as libnetfilter_conntrack drops it
    out
}

/// ` labels=NAME,...` after an entry line (`-o labels`, libnetfilter_conntrack's
/// `__snprintf_clabels`): the names `map` has for the entry's bits, in bit order; bits
/// without a name are left out, and with none named the `=` goes too (its "remove the
/// last comma" takes it). An entry without a bit set shows nothing.
pub fn append_labels(line: &mut String, e: &ConntrackEntry, map: &LabelMap) {
    if e.labels.is_empty() {
        return;
    }
    let mut bits: Vec<u32> = e.labels.clone();
    bits.sort_unstable();
    let names: Vec<&str> = bits
        .iter()
        .filter_map(|b| u16::try_from(*b).ok().and_then(|b| map.name(b)))
        .collect();
    line.push_str(" labels");
    if !names.is_empty() {
        line.push('=');
        line.push_str(&names.join(","));
    }
}

/// One `conntrack -E` line: `    [NEW] udp      17 30 src=...` (the type right-aligned in 9).
pub fn event_line(kind: &str, e: &ConntrackEntry, extended: bool) -> String {
    let tag = format!("[{kind}]");
    format!(
        "{tag:>9} {}",
        entry_line(
            e,
            Format {
                extended,
                event: true
            }
        )
    )
}

/// One `conntrack -S` line per worker (conntrack's per-cpu line; clash_resolve and
/// chaintoolong have no nfdp counterpart and print 0).
pub fn stats_line(s: &ConntrackWorkerStats) -> String {
    format!(
        "cpu={:<4}\tfound={} invalid={} insert={} insert_failed={} drop={} early_drop={} error={} search_restart={} clash_resolve=0 chaintoolong=0 ",
        s.worker, s.found, s.invalid, s.insert, s.insert_failed, s.drop, s.early_drop, s.error, s.search_restart
    )
}

/// `conntrack v1.4.7 (conntrack-tools): N flow entries have been shown.`
pub fn shown(n: usize) -> String {
    format!("{PREFIX}{n} flow entries have been shown.")
}

/// `conntrack v1.4.7 (conntrack-tools): N flow entries have been deleted.`
pub fn deleted(n: u64) -> String {
    format!("{PREFIX}{n} flow entries have been deleted.")
}

/// `conntrack -U`'s count.
pub fn updated(n: usize) -> String {
    format!("{PREFIX}{n} flow entries have been updated.")
}

/// `conntrack v1.4.7 (conntrack-tools): N flow events have been shown.`
pub fn events_shown(n: u64) -> String {
    format!("{PREFIX}{n} flow events have been shown.")
}

/// `-F`'s line.
pub fn emptied() -> String {
    format!("{PREFIX}connection tracking table has been emptied.")
}
