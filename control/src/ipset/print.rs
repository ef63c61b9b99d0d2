//! `ipset save` and `ipset list` text, as ipset 7.17 prints it.

use super::elem;
use dataplane::ipset::{IpSet, SetSlot, SetTable, SetType};
use dataplane::ruleset::Ruleset;
use std::fmt::Write;

/// The options after the type on a `create` line (and the `Header:` of a listing).
pub fn header(set: &IpSet) -> String {
    let o = &set.options;
    let mut h = String::new();
    match set.set_type {
        SetType::BitmapPort => {
            let _ = write!(h, "range {}-{}", o.range.0, o.range.1);
        }
        SetType::ListSet => {
            let _ = write!(h, "size {}", o.size);
        }
        _ => {
            let family = match o.family {
                dataplane::ruleset::Family::V4 => "inet",
                dataplane::ruleset::Family::V6 => "inet6",
            };
            let _ = write!(
                h,
                "family {family} hashsize {} maxelem {}",
                o.hashsize, o.maxelem
            );
            if let Some(m) = o.netmask {
                let _ = write!(h, " netmask {m}");
            }
        }
    }
    if let Some(t) = o.timeout {
        let _ = write!(h, " timeout {t}");
    }
    if o.counters {
        h.push_str(" counters");
    }
    if o.comment {
        h.push_str(" comment");
    }
    if set.set_type.is_hash() {
        let _ = write!(
            h,
            " bucketsize {} initval {:#010x}",
            o.bucketsize, o.initval
        );
    }
    h
}

/// A comment as ipset quotes it.
fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// The member lines (without the `add NAME ` prefix).
fn members(slot: &SetSlot, sets: &SetTable, now_ns: u64) -> Vec<String> {
    slot.set
        .elements(now_ns)
        .into_iter()
        .map(|(e, ext)| {
            let mut line = elem::format(&e, sets);
            if let Some(t) = ext.seconds_left(now_ns) {
                let _ = write!(line, " timeout {t}");
            } else if slot.set.options.timeout.is_some() {
                line.push_str(" timeout 0");
            }
            if ext.nomatch {
                line.push_str(" nomatch");
            }
            if let Some(c) = &ext.counters {
                let _ = write!(line, " packets {} bytes {}", c.packets(), c.bytes());
            }
            if let Some(c) = &ext.comment {
                let _ = write!(line, " comment {}", quoted(c));
            }
            line
        })
        .collect()
}

fn selected<'a>(rs: &'a Ruleset, name: Option<&str>) -> Result<Vec<(u32, &'a SetSlot)>, String> {
    match name {
        Some(n) => {
            let i = rs
                .sets
                .index(n)
                .ok_or("The set with the given name does not exist")?;
            Ok(rs.sets.get(i).map(|s| vec![(i, s)]).unwrap_or_default())
        }
        // The kernel dumps list:set sets after the others (they name them).
        None => {
            let (lists, others): (Vec<_>, Vec<_>) = rs
                .sets
                .iter()
                .partition(|(_, s)| s.set.set_type == SetType::ListSet);
            Ok(others.into_iter().chain(lists).collect())
        }
    }
}

/// `ipset save [NAME]`.
pub fn save(rs: &Ruleset, name: Option<&str>, now_ns: u64) -> Result<String, String> {
    let mut out = String::new();
    for (_, slot) in selected(rs, name)? {
        let _ = writeln!(
            out,
            "create {} {} {}",
            slot.name,
            slot.set.set_type.name(),
            header(&slot.set)
        );
        for m in members(slot, &rs.sets, now_ns) {
            let _ = writeln!(out, "add {} {m}", slot.name);
        }
    }
    Ok(out)
}

/// What a listing shows: `-terse` leaves the members out, `-name` prints names only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListStyle {
    pub terse: bool,
    pub names_only: bool,
}

/// References as the kernel counts them: rules using the set and list:set memberships.
fn references(rs: &Ruleset, index: u32) -> usize {
    let rules = rs.set_references().filter(|i| *i == index).count();
    rules + rs.sets.list_references(index)
}

/// An estimate of the set's memory (the kernel's figure depends on its hash layout).
fn size_in_memory(set: &IpSet) -> usize {
    let per_elem = if set.options.counters { 48 } else { 32 };
    200 + set.len() * per_elem
}

/// `ipset list [NAME]`.
pub fn list(
    rs: &Ruleset,
    name: Option<&str>,
    style: ListStyle,
    now_ns: u64,
) -> Result<String, String> {
    let mut out = String::new();
    for (n, (index, slot)) in selected(rs, name)?.into_iter().enumerate() {
        if style.names_only {
            let _ = writeln!(out, "{}", slot.name);
            continue;
        }
        if n > 0 {
            out.push('\n');
        }
        let m = members(slot, &rs.sets, now_ns);
        let _ = write!(
            out,
            "Name: {}\nType: {}\nRevision: {}\nHeader: {}\nSize in memory: {}\nReferences: {}\nNumber of entries: {}\n",
            slot.name,
            slot.set.set_type.name(),
            slot.set.set_type.revision(),
            header(&slot.set),
            size_in_memory(&slot.set),
            references(rs, index),
            m.len()
        );
        if !style.terse {
            out.push_str("Members:\n");
            for line in m {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    Ok(out)
}
