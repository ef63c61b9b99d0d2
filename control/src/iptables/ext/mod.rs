//! The text side of every extension, cut like iptables' libxt_* modules: for each match
//! and target, the options it takes (`OPTIONS`), `parse` of one option, `finish` (the
//! final checks once the rule is read) and `save` (the canonical form `iptables -S` and
//! `iptables-save` print). The typed options live in `dataplane::ruleset`.

pub mod addrtype;
pub mod ah;
pub mod ah6;
pub mod comment;
pub mod connbytes;
pub mod connlabel;
pub mod connlimit;
pub mod conntrack;
pub mod dccp;
pub mod dscp;
pub mod ecn;
pub mod esp;
pub mod frag;
pub mod hashlimit;
pub mod hbh;
pub mod helper;
pub mod hl;
pub mod icmp;
pub mod icmp6;
pub mod ipcomp;
pub mod iprange;
pub mod ipv6header;
pub mod length;
pub mod limit;
pub mod mac;
pub mod mark;
pub mod mh;
pub mod multiport;
pub mod pkttype;
pub mod quota;
pub mod recent;
pub mod rpfilter;
pub mod rt;
pub mod sctp;
pub mod set;
pub mod statistic;
pub mod string;
pub mod tcp;
pub mod tcpmss;
pub mod time;
pub mod ttl;
pub mod u32;
pub mod udp;

pub mod t_checksum;
pub mod t_connmark;
pub mod t_ct;
pub mod t_ecn;
pub mod t_hl;
pub mod t_hmark;
pub mod t_log;
pub mod t_mark;
pub mod t_nat;
pub mod t_netmap;
pub mod t_nflog;
pub mod t_reject;
pub mod t_reject6;
pub mod t_set;
pub mod t_synproxy;
pub mod t_tcpmss;
pub mod t_tcpoptstrip;
pub mod t_tee;
pub mod t_tos;
pub mod t_trace;
pub mod t_ttl;

use super::names;
use dataplane::ruleset::ext::{MatchExt, TargetExt};
use dataplane::ruleset::matches::{self as m, Match};
use dataplane::ruleset::targets::Target;
use dataplane::ruleset::{Families, Family, Ipv4Net, Ipv6Net, PortRange, TableKind};
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The words of one command line, consumed left to right.
pub struct Args {
    words: Vec<String>,
    pos: usize,
}

impl Args {
    pub fn new(words: Vec<String>) -> Args {
        Args { words, pos: 0 }
    }
    pub fn take_word(&mut self) -> Option<String> {
        let w = self.words.get(self.pos).cloned();
        if w.is_some() {
            self.pos += 1;
        }
        w
    }
    pub fn peek(&self) -> Option<&str> {
        self.words.get(self.pos).map(|s| s.as_str())
    }
    /// The argument of `opt`.
    pub fn value(&mut self, opt: &str) -> Result<String, String> {
        self.take_word()
            .ok_or_else(|| format!("option \"{opt}\" requires an argument"))
    }
    /// The next word if it is an argument rather than an option (`-n` style words
    /// start with `-`; a lone `!` is the negation of the next option).
    pub fn optional_value(&mut self) -> Option<String> {
        match self.peek() {
            Some(w) if !w.starts_with('-') && w != "!" => self.take_word(),
            _ => None,
        }
    }
}

/// Resolves `--opt` against an option list: exact, or an unambiguous prefix (getopt_long
/// accepts `--to` for `--to-source`).
pub fn resolve_option(options: &'static [&'static str], opt: &str) -> Option<&'static str> {
    if let Some(o) = options.iter().find(|o| **o == opt) {
        return Some(o);
    }
    if opt.len() < 3 {
        return None;
    }
    let mut hits = options.iter().filter(|o| o.starts_with(opt));
    match (hits.next(), hits.next()) {
        (Some(o), None) => Some(o),
        _ => None,
    }
}

/// Options that cannot be negated say so, as iptables does.
pub fn no_inv(inv: bool, opt: &str) -> Result<(), String> {
    if inv {
        Err(format!("unexpected \"!\" before \"{opt}\""))
    } else {
        Ok(())
    }
}

/// Options given twice are refused.
pub fn once<T>(slot: &Option<T>, opt: &str) -> Result<(), String> {
    if slot.is_some() {
        Err(format!("multiple {opt} flags not allowed"))
    } else {
        Ok(())
    }
}

/// libxtables' exclusions at the final check (`xtables_options_fcheck`): the first
/// option of `table` that was given and excludes the others (`excl`) is refused beside
/// the first other option given, both in table order.
pub fn exclusive_options(
    ext: &str,
    table: &[&str],
    excl: &[&str],
    seen: &[&str],
) -> Result<(), String> {
    let given: Vec<&str> = table.iter().copied().filter(|o| seen.contains(o)).collect();
    for o in given.iter().filter(|o| excl.contains(o)) {
        if let Some(other) = given.iter().find(|x| *x != o) {
            return Err(format!(
                "{ext}: option \"{o}\" cannot be used together with \"{other}\"."
            ));
        }
    }
    Ok(())
}

/// `strtoul(s, 0)`: decimal, `0x` hex or leading-zero octal, whole string.
pub fn parse_uint(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

pub fn parse_u32(s: &str, opt: &str) -> Result<u32, String> {
    parse_uint(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("invalid value \"{s}\" for {opt}"))
}

pub fn parse_bounded(s: &str, opt: &str, min: u64, max: u64) -> Result<u64, String> {
    match parse_uint(s) {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "{opt}: \"{s}\" is not a number between {min} and {max}"
        )),
    }
}

/// `value[/mask]` as mark, connmark and MARK take it; the mask defaults to all ones.
pub fn parse_value_mask(s: &str, opt: &str) -> Result<(u32, u32), String> {
    match s.split_once('/') {
        Some((v, mk)) => Ok((parse_u32(v, opt)?, parse_u32(mk, opt)?)),
        None => Ok((parse_u32(s, opt)?, u32::MAX)),
    }
}

/// One part of a numeric address as xtables reads it (`strtoul` base 0: decimal, `0x` hex,
/// leading-zero octal, leading blanks skipped), at most `max`.
fn address_part(p: &str, max: u32) -> Option<u32> {
    let p = p.trim_start_matches([' ', '\t']);
    let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (h, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    u32::from_str_radix(digits, radix)
        .ok()
        .filter(|v| *v <= max)
}

/// xtables' numeric address: one to four dot-separated bytes, the missing trailing ones
/// zero (`10/8` is 10.0.0.0/8, `0/0` every address); failing that, a number as the
/// resolver's `inet_aton` reads it, its last part filling the bytes left (`256` is
/// 0.0.1.0), which is what iptables gets when it tries the text as a host name.
fn numeric_addr(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() <= 4 {
        let bytes: Option<Vec<u32>> = parts.iter().map(|p| address_part(p, 255)).collect();
        if let Some(b) = bytes {
            let mut a = [0u8; 4];
            for (i, v) in b.iter().enumerate() {
                a[i] = *v as u8;
            }
            return Some(Ipv4Addr::from(a));
        }
        let (last, head) = parts.split_last()?;
        let head: Option<Vec<u32>> = head.iter().map(|p| address_part(p, 255)).collect();
        let head = head?;
        let room = 8 * (4 - head.len() as u32);
        let tail =
            address_part(last, u32::MAX).filter(|v| room == 32 || u64::from(*v) < 1u64 << room)?;
        let high = head
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | v << (24 - 8 * i as u32));
        return Some(Ipv4Addr::from(high | tail));
    }
    None
}

/// A numeric address as iptables reads it (`numeric_addr`), or a host name resolved the
/// way iptables does (first IPv4 address).
pub fn parse_addr(s: &str) -> Result<Ipv4Addr, String> {
    if let Some(a) = numeric_addr(s) {
        return Ok(a);
    }
    let not_found = || format!("host/network `{s}' not found");
    let looks_like_name = !s.is_empty()
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !looks_like_name {
        return Err(not_found());
    }
    // Fuzz builds (cargo-fuzz passes --cfg fuzzing, fuzz/README.md): no name service, every
    // name unknown, as on a host without DNS; a lookup would stall the fuzzer on the network
    // for the resolver's timeout and make its runs depend on it.
    if cfg!(fuzzing) {
        return Err(not_found());
    }
    use std::net::ToSocketAddrs;
    (s, 0)
        .to_socket_addrs()
        .map_err(|_| not_found())?
        .find_map(|a| match a.ip() {
            std::net::IpAddr::V4(v4) => Some(v4),
            _ => None,
        })
        .ok_or_else(not_found)
}

/// An IPv6 address as ip6tables reads it: `inet_pton` first, then a host name resolved
/// (its first IPv6 address).
pub fn parse_addr6(s: &str) -> Result<Ipv6Addr, String> {
    if let Ok(a) = s.parse::<Ipv6Addr>() {
        return Ok(a);
    }
    let not_found = || format!("host/network `{s}' not found");
    let looks_like_name = !s.is_empty()
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    // Fuzz builds resolve nothing (see `parse_addr`).
    if !looks_like_name || cfg!(fuzzing) {
        return Err(not_found());
    }
    use std::net::ToSocketAddrs;
    (s, 0)
        .to_socket_addrs()
        .map_err(|_| not_found())?
        .find_map(|a| match a.ip() {
            std::net::IpAddr::V6(v6) => Some(v6),
            _ => None,
        })
        .ok_or_else(not_found)
}

/// `addr[/len|/mask]` as ip6tables reads it (libxtables' `ip6parse_mask`): a mask in
/// address form, or a length 0..=128 (`strtoul` base 0); the host part is cleared. With a
/// zero mask the address is not even read (`anything/0` is `::/0`), as libxtables does.
pub fn parse_net6(s: &str) -> Result<Ipv6Net, String> {
    let (a, mask) = match s.split_once('/') {
        None => (s, u128::MAX),
        Some((a, mk)) => {
            let mask = match mk.parse::<Ipv6Addr>() {
                Ok(m) => u128::from(m),
                Err(_) => match parse_uint(mk) {
                    Some(len) if len <= 128 => dataplane::ruleset::prefix_mask6(len as u8),
                    _ => return Err(format!("invalid mask `{mk}' specified")),
                },
            };
            (a, mask)
        }
    };
    if mask == 0 {
        return Ok(Ipv6Net::new(Ipv6Addr::UNSPECIFIED, 0));
    }
    Ok(Ipv6Net::new(parse_addr6(a)?, mask))
}

/// An IPv6 address as glibc's `inet_ntop` writes it (what ip6tables prints): the longest
/// run of two or more zero groups (the first of equals) as `::`, lower-case hex, and the
/// last 32 bits dotted for `::a.b.c.d` and `::ffff:a.b.c.d`.
pub fn fmt_addr6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    let (mut best, mut cur): ((usize, usize), Option<(usize, usize)>) = ((0, 0), None);
    for (i, word) in w.iter().enumerate() {
        if *word == 0 {
            let (base, len) = cur.unwrap_or((i, 0));
            cur = Some((base, len + 1));
        } else {
            cur = None;
        }
        if let Some(c) = cur {
            if c.1 > best.1 {
                best = c;
            }
        }
    }
    let (base, len) = if best.1 >= 2 { best } else { (9, 0) };
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if i == base {
            out.push(':');
            i += len;
            if i == 8 {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && base == 0 && (len == 6 || (len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            let _ = write!(out, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
            break;
        }
        let _ = write!(out, "{:x}", w[i]);
        i += 1;
    }
    out
}

/// `addr/len`, or `addr/mask` for a non-contiguous mask, as ip6tables-save prints them.
pub fn fmt_net6(n: &Ipv6Net) -> String {
    match n.prefix_len() {
        Some(len) => format!("{}/{len}", fmt_addr6(&n.addr)),
        None => format!(
            "{}/{}",
            fmt_addr6(&n.addr),
            fmt_addr6(&Ipv6Addr::from(n.mask))
        ),
    }
}

/// `addr[/len|/dotted-mask]`; the host part is cleared, as iptables does.
pub fn parse_net(s: &str) -> Result<Ipv4Net, String> {
    let (a, mask) = match s.split_once('/') {
        None => (s, u32::MAX),
        Some((a, mk)) => {
            let mask = if mk.contains('.') {
                u32::from(
                    mk.parse::<Ipv4Addr>()
                        .map_err(|_| format!("invalid mask `{mk}' specified"))?,
                )
            } else {
                match mk.parse::<u8>() {
                    Ok(len) if len <= 32 => dataplane::ruleset::prefix_mask(len),
                    _ => return Err(format!("invalid mask `{mk}' specified")),
                }
            };
            (a, mask)
        }
    };
    Ok(Ipv4Net::new(parse_addr(a)?, mask))
}

/// `a.b.c.d/len`, or with a dotted mask when it is not contiguous; `/32` is printed.
pub fn fmt_net(n: &Ipv4Net) -> String {
    match n.prefix_len() {
        Some(len) => format!("{}/{len}", n.addr),
        None => format!("{}/{}", n.addr, Ipv4Addr::from(n.mask)),
    }
}

/// Like `fmt_net` but a host address prints bare (conntrack's style).
pub fn fmt_net_bare_host(n: &Ipv4Net) -> String {
    if n.mask == u32::MAX {
        n.addr.to_string()
    } else {
        fmt_net(n)
    }
}

pub fn parse_port(s: &str, proto: &str) -> Result<u16, String> {
    names::parse_port(s, Some(proto)).ok_or_else(|| format!("invalid port/service `{s}' specified"))
}

/// `a`, `a:b`, `:b` (from 0), `a:` (to 65535).
pub fn parse_port_range(s: &str, proto: &str) -> Result<PortRange, String> {
    let r = match s.split_once(':') {
        None => PortRange::single(parse_port(s, proto)?),
        Some((lo, hi)) => PortRange {
            lo: if lo.is_empty() {
                0
            } else {
                parse_port(lo, proto)?
            },
            hi: if hi.is_empty() {
                65535
            } else {
                parse_port(hi, proto)?
            },
        },
    };
    if r.lo > r.hi {
        return Err(format!("invalid portrange `{s}' (min > max)"));
    }
    Ok(r)
}

/// `min[:max]` of 16-bit values as libxt_length and libxt_tcpmss read it: an empty side
/// is 0 or 65535; `lone_empty_is_zero`: an empty value alone is 0 (libxt_length), else
/// it is refused as a number. The caller checks `min <= max` (each words it its own way).
pub fn parse_u16_range(v: &str, opt: &str, lone_empty_is_zero: bool) -> Result<(u64, u64), String> {
    let num = |s: &str, empty: u64| {
        if s.is_empty() {
            Ok(empty)
        } else {
            parse_bounded(s, opt, 0, 65535)
        }
    };
    match v.split_once(':') {
        Some((a, b)) => Ok((num(a, 0)?, num(b, 65535)?)),
        None if lone_empty_is_zero => num(v, 0).map(|n| (n, n)),
        None => parse_bounded(v, opt, 0, 65535).map(|n| (n, n)),
    }
}

/// ` min` or ` min:max` after `prefix` (a space, or nothing).
pub fn write_u16_range(out: &mut String, prefix: &str, min: u16, max: u16) {
    if min == max {
        let _ = write!(out, "{prefix}{min}");
    } else {
        let _ = write!(out, "{prefix}{min}:{max}");
    }
}

pub fn fmt_port_range(r: &PortRange) -> String {
    if r.lo == r.hi {
        r.lo.to_string()
    } else {
        format!("{}:{}", r.lo, r.hi)
    }
}

/// ` ! --opt` or ` --opt`.
pub fn opt(out: &mut String, inv: bool, name: &str) {
    if inv {
        out.push_str(" !");
    }
    out.push(' ');
    out.push_str(name);
}

/// Appends ` value`.
pub fn val(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, " {v}");
}

/// iptables' `xtables_save_string`: bare when only [A-Za-z0-9_-], else double quotes
/// with `"`, `\` and `'` escaped by a backslash.
pub fn save_string(out: &mut String, s: &str) {
    out.push(' ');
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Everything a parser needs to know about the rule around it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ctx {
    /// The rule's `-p` when it is exact (service names are looked up for it).
    pub proto: Option<u8>,
    /// The ruleset's family (iptables or ip6tables).
    pub family: Family,
}

impl Ctx {
    pub fn proto_name(&self) -> &'static str {
        match self.proto {
            Some(m::IPPROTO_UDP) => "udp",
            _ => "tcp",
        }
    }
}

/// Matches that need the kernel's host stack, which nfdp has not: refused by name with the
/// reason, rather than as an unknown extension (issue 15, item 5; docs/deviations.md).
const HOST_STACK_MATCHES: &[(&str, &str)] = &[
    (
        "owner",
        "it matches the local socket that sent a packet; nfdp's own packets come through its TAP port, which carries no socket owner",
    ),
    (
        "cgroup",
        "it matches the cgroup of the local socket that sent a packet; nfdp sees no local sockets",
    ),
    (
        "socket",
        "it looks up a local socket for the packet; nfdp's data plane has no sockets (the host stack sits behind its TAP port)",
    ),
    (
        "physdev",
        "it matches the ports of a Linux bridge; nfdp does not bridge, its ports are routed interfaces (use -i / -o)",
    ),
    (
        "policy",
        "it matches IPsec (xfrm) policies; nfdp does no IPsec processing",
    ),
];

/// Targets that need the kernel's host stack (see `HOST_STACK_MATCHES`).
const HOST_STACK_TARGETS: &[(&str, &str)] = &[
    (
        "SECMARK",
        "it labels packets for SELinux in the kernel; nfdp's packets never reach a kernel security module",
    ),
    (
        "CONNSECMARK",
        "it copies SELinux labels between packets and connections; nfdp has no security module",
    ),
    (
        "AUDIT",
        "it writes kernel audit records; nfdp has no audit subsystem (use -j LOG or -j NFLOG)",
    ),
    (
        "TPROXY",
        "it diverts packets to a local socket without rewriting them; nfdp's data plane has no sockets (use DNAT or REDIRECT)",
    ),
    (
        "NFQUEUE",
        "it hands packets to a user-space program through nfnetlink_queue; nfdp has no such queue",
    ),
];

/// Why `-m name` cannot be supported by nfdp, for a match that needs a host stack.
pub fn host_stack_match(name: &str) -> Option<&'static str> {
    HOST_STACK_MATCHES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// Why `-j NAME` cannot be supported by nfdp, for a target that needs a host stack.
pub fn host_stack_target(name: &str) -> Option<&'static str> {
    HOST_STACK_TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// The text side of a match (libxt_NAME): its options, their parsing, the final checks
/// and the two printed forms. Implemented beside the match in `ext/NAME.rs`; registered
/// by the match's line in `dataplane::for_each_match!`.
pub trait MatchText: MatchExt + Sized {
    /// The names `-m` takes for it.
    const NAMES: &'static [&'static str] = &[Self::NAME];

    /// A fresh match for `-m name`.
    fn new(name: &str) -> Self;
    /// The options it takes.
    fn options(&self) -> &'static [&'static str];
    /// Parses one (already resolved) option.
    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args, ctx: &Ctx) -> Result<(), String>;
    /// The checks iptables makes once all options of the rule are read.
    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        Ok(())
    }
    /// The match says nothing once read and is dropped from the rule (as iptables-nft
    /// drops `! --dport 0:65535`).
    fn vanishes(&self, _seen: &[&'static str]) -> bool {
        false
    }
    /// Its options as iptables-save prints them.
    fn save(&self, out: &mut String);
    /// Its options as the last column of `iptables -L` shows them.
    fn list(&self, numeric: bool, out: &mut String);
    /// What iptables says of an option given twice (libxtables' guided option parser
    /// and the older extensions word it apart).
    fn repeated(opt: &str) -> String {
        format!("multiple {opt} flags not allowed")
    }
    /// Sets the defaults that depend on the ruleset's family, once the match is loaded
    /// (libxtables' `init` sees the family: connlimit's mask is /128 in ip6tables).
    fn for_family(&mut self, _family: Family) {}
}

/// The text side of a target (libxt_NAME), as `MatchText` for matches; registered by the
/// target's line in `dataplane::for_each_target!`.
pub trait TargetText: TargetExt + Sized {
    fn new() -> Self;
    fn options(&self) -> &'static [&'static str];
    /// Parses one (already resolved) option; `inv`: a `!` came before it (most targets
    /// refuse it, each in its own words).
    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String>;
    /// The checks iptables makes once all options of the rule are read.
    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        Ok(())
    }
    fn save(&self, out: &mut String);
    fn list(&self, numeric: bool, out: &mut String);
    fn repeated(opt: &str) -> String {
        format!("multiple {opt} flags not allowed")
    }
    /// The target column's name in `iptables -L`.
    fn list_name(&self) -> &'static str {
        Self::NAME
    }
    /// Sets what depends on the ruleset's family once the target is loaded (libxt_NAT
    /// reads IPv6 addresses in ip6tables).
    fn for_family(&mut self, _family: Family) {}
}

/// The dispatch over `Match`, from the registry.
macro_rules! match_text_dispatch {
    (
        packet: [$($pv:ident($pt:ty),)*],
        conn: [$($cv:ident($ct:ty),)*],
        worker: [$($wv:ident($wt:ty),)*],
    ) => {
        /// A fresh match for `-m name` in iptables, or None when nfdp does not know it.
        pub fn new_match(name: &str) -> Option<Match> {
            new_match_in(name, Family::V4)
        }

        /// A fresh match for `-m name` in a ruleset of `family`, or None when nfdp does
        /// not know it there (ip6tables does not load an IPv4-only match, and the reverse).
        pub fn new_match_in(name: &str, family: Family) -> Option<Match> {
            $(if <$pt as MatchExt>::FAMILIES.contains(family)
                && <$pt as MatchText>::NAMES.contains(&name) {
                return Some(Match::$pv(<$pt as MatchText>::new(name)));
            })*
            $(if <$ct as MatchExt>::FAMILIES.contains(family)
                && <$ct as MatchText>::NAMES.contains(&name) {
                return Some(Match::$cv(<$ct as MatchText>::new(name)));
            })*
            $(if <$wt as MatchExt>::FAMILIES.contains(family)
                && <$wt as MatchText>::NAMES.contains(&name) {
                return Some(Match::$wv(<$wt as MatchText>::new(name)));
            })*
            None
        }

        /// The options a match takes.
        pub fn match_options(mt: &Match) -> &'static [&'static str] {
            match mt {
                $(Match::$pv(x) => x.options(),)*
                $(Match::$cv(x) => x.options(),)*
                $(Match::$wv(x) => x.options(),)*
            }
        }

        /// Parses one (already resolved) option into the match.
        pub fn parse_match_option(
            mt: &mut Match,
            opt: &str,
            inv: bool,
            args: &mut Args,
            ctx: &Ctx,
        ) -> Result<(), String> {
            match mt {
                $(Match::$pv(x) => MatchText::parse(x, opt, inv, args, ctx),)*
                $(Match::$cv(x) => MatchText::parse(x, opt, inv, args, ctx),)*
                $(Match::$wv(x) => MatchText::parse(x, opt, inv, args, ctx),)*
            }
        }

        /// The checks iptables makes once all options of the rule are read. `Ok(false)`:
        /// the match vanished.
        pub fn finish_match(mt: &mut Match, seen: &[&'static str]) -> Result<bool, String> {
            match mt {
                $(Match::$pv(x) => MatchText::finish(x, seen).map(|()| !x.vanishes(seen)),)*
                $(Match::$cv(x) => MatchText::finish(x, seen).map(|()| !x.vanishes(seen)),)*
                $(Match::$wv(x) => MatchText::finish(x, seen).map(|()| !x.vanishes(seen)),)*
            }
        }

        /// ` -m name --options...` as iptables-save prints it.
        pub fn save_match(mt: &Match, out: &mut String) {
            out.push_str(" -m ");
            out.push_str(mt.name());
            match mt {
                $(Match::$pv(x) => MatchText::save(x, out),)*
                $(Match::$cv(x) => MatchText::save(x, out),)*
                $(Match::$wv(x) => MatchText::save(x, out),)*
            }
        }

        /// A match as the last column of `iptables -L` shows it.
        pub fn list_match(mt: &Match, numeric: bool, out: &mut String) {
            match mt {
                $(Match::$pv(x) => MatchText::list(x, numeric, out),)*
                $(Match::$cv(x) => MatchText::list(x, numeric, out),)*
                $(Match::$wv(x) => MatchText::list(x, numeric, out),)*
            }
        }

        /// Every registered match with a fresh instance of it (its default options),
        /// in registry order.
        fn registered_matches() -> Vec<Match> {
            let mut all = Vec::new();
            $(for name in <$pt as MatchText>::NAMES {
                all.push(Match::$pv(<$pt as MatchText>::new(name)));
            })*
            $(for name in <$ct as MatchText>::NAMES {
                all.push(Match::$cv(<$ct as MatchText>::new(name)));
            })*
            $(for name in <$wt as MatchText>::NAMES {
                all.push(Match::$wv(<$wt as MatchText>::new(name)));
            })*
            all
        }

        /// Sets a freshly loaded match's defaults for the ruleset's family.
        pub fn match_for_family(mt: &mut Match, family: Family) {
            match mt {
                $(Match::$pv(x) => MatchText::for_family(x, family),)*
                $(Match::$cv(x) => MatchText::for_family(x, family),)*
                $(Match::$wv(x) => MatchText::for_family(x, family),)*
            }
        }

        /// What iptables says of a match option given twice.
        pub fn repeated_match_option(mt: &Match, opt: &str) -> String {
            match mt {
                $(Match::$pv(_) => <$pt as MatchText>::repeated(opt),)*
                $(Match::$cv(_) => <$ct as MatchText>::repeated(opt),)*
                $(Match::$wv(_) => <$wt as MatchText>::repeated(opt),)*
            }
        }
    };
}

dataplane::for_each_match!(match_text_dispatch);

/// The dispatch over `Target`, from the registry.
macro_rules! target_text_dispatch {
    ($($v:ident($t:ty),)*) => {
        /// A target for `-j NAME` (not a chain) in iptables, or None.
        pub fn new_target(name: &str) -> Option<Target> {
            new_target_in(name, Family::V4)
        }

        /// A target for `-j NAME` (not a chain) in a ruleset of `family`, or None
        /// (ip6tables reads an IPv4-only target's name as a chain, and the reverse).
        pub fn new_target_in(name: &str, family: Family) -> Option<Target> {
            match name {
                "ACCEPT" => return Some(Target::Accept),
                "DROP" => return Some(Target::Drop),
                "RETURN" => return Some(Target::Return),
                _ => {}
            }
            $(if <$t as TargetExt>::FAMILIES.contains(family) && <$t as TargetExt>::NAME == name {
                return Some(Target::$v(<$t as TargetText>::new()));
            })*
            None
        }

        /// Sets a freshly loaded target's defaults for the ruleset's family.
        pub fn target_for_family(t: &mut Target, family: Family) {
            match t {
                $(Target::$v(x) => TargetText::for_family(x, family),)*
                _ => {}
            }
        }

        pub fn target_options(t: &Target) -> &'static [&'static str] {
            match t {
                $(Target::$v(x) => x.options(),)*
                _ => &[],
            }
        }

        pub fn parse_target_option(
            t: &mut Target,
            opt: &str,
            inv: bool,
            args: &mut Args,
        ) -> Result<(), String> {
            match t {
                $(Target::$v(x) => TargetText::parse(x, opt, inv, args),)*
                _ => Err(format!("unknown option \"{opt}\"")),
            }
        }

        pub fn finish_target(t: &mut Target, seen: &[&'static str]) -> Result<(), String> {
            match t {
                $(Target::$v(x) => TargetText::finish(x, seen),)*
                _ => Ok(()),
            }
        }

        /// ` -j NAME --options...` (` -g CHAIN` for a goto; nothing without a target).
        pub fn save_target(t: &Target, out: &mut String) {
            match t {
                Target::None => return,
                Target::Goto(c) => {
                    out.push_str(" -g ");
                    out.push_str(c);
                    return;
                }
                _ => {
                    out.push_str(" -j ");
                    out.push_str(t.name());
                }
            }
            match t {
                $(Target::$v(x) => TargetText::save(x, out),)*
                _ => {}
            }
        }

        /// The target column's name in `iptables -L` (iptables-nft lists NOTRACK as CT).
        pub fn list_target_name(t: &Target) -> &str {
            match t {
                $(Target::$v(x) => x.list_name(),)*
                other => other.name(),
            }
        }

        /// A target's options as the last column of `iptables -L` shows them.
        pub fn list_target(t: &Target, numeric: bool, out: &mut String) {
            match t {
                $(Target::$v(x) => TargetText::list(x, numeric, out),)*
                _ => {}
            }
        }

        /// Every registered target with its default options, in registry order.
        fn registered_targets() -> Vec<Target> {
            vec![$(Target::$v(<$t as TargetText>::new()),)*]
        }

        /// What iptables says of a target option given twice.
        pub fn repeated_target_option(t: &Target, opt: &str) -> String {
            match t {
                $(Target::$v(_) => <$t as TargetText>::repeated(opt),)*
                _ => format!("multiple {opt} flags not allowed"),
            }
        }
    };
}

dataplane::for_each_target!(target_text_dispatch);

/// Where an extension may be used, in words: the table (or tables) and the hooks.
fn usable_words(u: dataplane::ruleset::Usable, tables: Option<&[TableKind]>) -> String {
    let tables = match (u.table, tables) {
        (Some(t), _) => t.name().to_string(),
        (None, Some(ts)) => ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(","),
        (None, None) => "any".to_string(),
    };
    let hooks = if u.hooks.0 == dataplane::ruleset::HookMask::ALL.0 {
        "any".to_string()
    } else {
        u.hooks
            .iter()
            .map(|h| h.chain_name())
            .collect::<Vec<_>>()
            .join(",")
    };
    format!("table {tables}, hooks {hooks}")
}

/// The families an extension is registered for, in words.
fn family_words(f: Families) -> &'static str {
    match (f.v4, f.v6) {
        (true, true) => "ipv4,ipv6",
        (false, true) => "ipv6",
        _ => "ipv4",
    }
}

/// The registry as `nfdp extensions` prints it: one line per match name and per target,
/// with its revision, what a match reads or whether a target ends the chain, and where
/// the kernel allows it (for options that change that, as with their defaults); then
/// the extensions refused because they need a host stack.
pub fn extensions_listing() -> String {
    let mut out = String::new();
    for m in registered_matches() {
        let _ = writeln!(
            out,
            "match  {:<12} rev {}  reads {:<10}  {}, {}",
            m.name(),
            m.revision(),
            m.tier().name(),
            usable_words(m.usable(), m.tables()),
            family_words(m.families())
        );
    }
    for t in registered_targets() {
        let _ = writeln!(
            out,
            "target {:<12} rev {}  {:<16}  {}, {}",
            t.name(),
            t.revision(),
            if t.is_terminal() {
                "terminal"
            } else {
                "non-terminal"
            },
            usable_words(t.usable(), None),
            family_words(t.families())
        );
    }
    for (name, why) in HOST_STACK_MATCHES {
        let _ = writeln!(out, "match  {name:<12} refused: {why}");
    }
    for (name, why) in HOST_STACK_TARGETS {
        let _ = writeln!(out, "target {name:<12} refused: {why}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name in the registry comes back from `-m NAME` / `-j NAME` as itself, no two
    /// extensions share a name, and none is also refused as needing a host stack.
    #[test]
    fn registry_names_round_trip() {
        let mut seen = std::collections::HashSet::new();
        // A name may be registered once per family (REJECT is ipt_REJECT and ip6t_REJECT).
        let families = |f: Families| {
            [Family::V4, Family::V6]
                .into_iter()
                .filter(move |x| f.contains(*x))
        };
        for m in registered_matches() {
            for f in families(m.families()) {
                assert!(
                    seen.insert(format!("m:{}:{f:?}", m.name())),
                    "match {} twice",
                    m.name()
                );
                let again = new_match_in(m.name(), f).expect("registered");
                assert_eq!(again.name(), m.name());
                assert_eq!(again, m);
            }
            assert!(host_stack_match(m.name()).is_none());
        }
        for t in registered_targets() {
            for f in families(t.families()) {
                assert!(
                    seen.insert(format!("t:{}:{f:?}", t.name())),
                    "target {} twice",
                    t.name()
                );
                assert_eq!(new_target_in(t.name(), f).as_ref(), Some(&t));
            }
            assert!(host_stack_target(t.name()).is_none());
        }
        // IPv4-only extensions are unknown to ip6tables, and the reverse.
        assert!(new_match_in("icmp", Family::V6).is_none() && new_match("icmp6").is_none());
        assert!(new_target_in("TTL", Family::V6).is_none() && new_target("HL").is_none());
        assert_eq!(new_match("state").map(|m| m.name()), Some("state"));
        assert!(new_match("owner").is_none() && new_target("AUDIT").is_none());
        // The dataplane's own lists hold the same extensions.
        let names: Vec<&str> = dataplane::ruleset::matches::MATCHES
            .iter()
            .map(|i| i.name)
            .collect();
        assert!(registered_matches()
            .iter()
            .all(|m| names.contains(&m.name()) || ["state", "dst"].contains(&m.name())));
        assert_eq!(
            registered_targets().len(),
            dataplane::ruleset::targets::TARGETS.len()
        );
    }

    /// The listing says what the kernel says of a few well-known extensions.
    #[test]
    fn extensions_are_listed_with_revision_and_place() {
        let text = extensions_listing();
        let line = |start: &str| {
            text.lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("no line {start}:\n{text}"))
                .to_string()
        };
        assert_eq!(
            line("match  conntrack "),
            "match  conntrack    rev 3  reads connection  table any, hooks any, ipv4,ipv6"
        );
        assert_eq!(
            line("match  rpfilter "),
            "match  rpfilter     rev 0  reads worker      table raw,mangle, hooks PREROUTING, ipv4,ipv6"
        );
        assert_eq!(
            line("target MASQUERADE "),
            "target MASQUERADE   rev 0  terminal          table nat, hooks POSTROUTING, ipv4,ipv6"
        );
        assert_eq!(
            line("target REJECT "),
            "target REJECT       rev 0  terminal          table filter, hooks INPUT,FORWARD,OUTPUT, ipv4"
        );
        assert!(line("target TPROXY ").contains("refused: "));
    }

    /// glibc's inet_ntop, as ip6tables prints addresses (checked on the kernel).
    #[test]
    fn ipv6_addresses_print_as_inet_ntop() {
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
            ("1:0:0:2:0:0:1:1", "1::2:0:0:1:1"),
            ("1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("ffff:ffff::", "ffff:ffff::"),
            ("FE80::A", "fe80::a"),
        ];
        for (text, want) in cases {
            assert_eq!(fmt_addr6(&text.parse().unwrap()), want, "{text}");
        }
        assert_eq!(
            fmt_net6(&parse_net6("2001:db8::1/ffff::ff00").unwrap()),
            "2001::/ffff::ff00"
        );
        assert_eq!(
            fmt_net6(&parse_net6("2001:db8::1/0x20").unwrap()),
            "2001:db8::/32"
        );
        assert_eq!(fmt_net6(&parse_net6("nonsense/0").unwrap()), "::/0");
        assert_eq!(
            parse_net6("::1/129"),
            Err("invalid mask `129' specified".to_string())
        );
        assert_eq!(
            parse_net6("::1/"),
            Err("invalid mask `' specified".to_string())
        );
        assert_eq!(
            parse_net6("10.0.0.1"),
            Err("host/network `10.0.0.1' not found".to_string())
        );
    }

    /// What iptables 1.8.9 saved for these (tests/golden/cases/addr_short_forms) and what
    /// it refused, checked on the kernel.
    #[test]
    fn numeric_addresses_read_as_iptables_reads_them() {
        let ok = [
            ("0", "0.0.0.0"),
            ("10", "10.0.0.0"),
            ("10.1", "10.1.0.0"),
            ("1.2.3", "1.2.3.0"),
            ("010.0.0.1", "8.0.0.1"),
            ("0x0a.1.2.3", "10.1.2.3"),
            ("256", "0.0.1.0"),
            (" 1", "1.0.0.0"),
            ("192.168.1.1", "192.168.1.1"),
        ];
        for (text, want) in ok {
            assert_eq!(parse_addr(text), Ok(want.parse().unwrap()), "{text}");
        }
        for text in ["1.2.3.4.5", "10.", "10..1", "", "1.256.0.0", "-1", "09"] {
            assert_eq!(
                parse_addr(text),
                Err(format!("host/network `{text}' not found")),
                "{text}"
            );
        }
    }
}
