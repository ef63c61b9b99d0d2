//! conntrack 1.4.7's command line -> a command and a [`ConntrackFilter`], with its
//! error messages (exit status 2, the "Try `conntrack -h'" line after them).

use super::ct_format::PREFIX;
use crate::api::pb::ConntrackFilter;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// conntrack's commands that nfdp serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtCommand {
    List,
    Get,
    Delete,
    Flush,
    Count,
    Stats,
    Events,
    /// `-U`: sets the mark (`-m VALUE[/MASK]`) of the entries the other options match.
    Update,
}

/// A parsed conntrack command line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CtInvocation {
    /// `None`: no command (conntrack prints its usage).
    pub command: Option<CtCommand>,
    pub filter: ConntrackFilter,
    /// `-o extended`.
    pub extended: bool,
    /// `-o labels`: entries end with their connlabel names (from the label file).
    pub labels: bool,
    /// `-e/--event-mask` for -E (NEW, UPDATE, DESTROY); empty: all.
    pub event_types: Vec<String>,
    /// `-V/--version`.
    pub version: bool,
}

/// A refused command line: conntrack's message (without its prefix) and exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtUsageError {
    pub message: String,
    /// Usage errors add "Try `conntrack -h' ..." and exit 2.
    pub usage: bool,
}

impl CtUsageError {
    fn usage(message: impl Into<String>) -> Self {
        CtUsageError {
            message: message.into(),
            usage: true,
        }
    }
    /// conntrack's exit status for it.
    pub fn exit_code(&self) -> i32 {
        if self.usage {
            2
        } else {
            1
        }
    }
}

impl fmt::Display for CtUsageError {
    /// The exact stderr text, newline-terminated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{PREFIX}{}", self.message)?;
        if self.usage {
            writeln!(
                f,
                "Try `conntrack -h' or 'conntrack --help' for more information."
            )?;
        }
        Ok(())
    }
}

/// conntrack's usage text (what it prints with no command).
pub const USAGE: &str = "Command line interface for the connection tracking system. Version 1.4.7
Usage: conntrack [commands] [options]

Commands:
  -L [table] [options]\t\tList conntrack or expectation table
  -G [table] parameters\t\tGet conntrack or expectation
  -D [table] parameters\t\tDelete conntrack or expectation
  -U [table] parameters\t\tUpdate a conntrack
  -E [table] [options]\t\tShow events
  -F [table]\t\t\tFlush table
  -C [table]\t\t\tShow counter
  -S\t\t\t\tShow statistics

Tables: conntrack

Conntrack parameters and options:
  -n, --src-nat\t\t\tsource NAT
  -g, --dst-nat\t\t\tdestination NAT
  -m, --mark mark[/mask]\t\tmark
  -e, --event-mask eventmask\t\tEvent mask, eg. NEW,DESTROY
  -o, --output type[,...]\t\tOutput format: extended

Common parameters and options:
  -s, --src, --orig-src ip\t\tSource address from original direction
  -d, --dst, --orig-dst ip\t\tDestination address from original direction
  -r, --reply-src ip\t\tSource addres from reply direction
  -q, --reply-dst ip\t\tDestination address from reply direction
  -p, --protonum proto\t\tLayer 4 Protocol, eg. 'tcp'
  -u, --status status\t\tStatus, eg. ASSURED

";

const TCP_STATES: &[&str] = &[
    "NONE",
    "SYN_SENT",
    "SYN_RECV",
    "ESTABLISHED",
    "FIN_WAIT",
    "CLOSE_WAIT",
    "LAST_ACK",
    "TIME_WAIT",
    "CLOSE",
    "SYN_SENT2",
];
const STATUS_BITS: &[&str] = &[
    "EXPECTED",
    "ASSURED",
    "SEEN_REPLY",
    "FIXED_TIMEOUT",
    "UNSET",
    "OFFLOAD",
    "HW_OFFLOAD",
];
const EVENTS: &[&str] = &["NEW", "UPDATE", "DESTROY"];

/// Layer-4 protocols by conntrack's names; numbers are accepted as such.
fn parse_proto(s: &str) -> Option<u32> {
    let n = match s.to_ascii_lowercase().as_str() {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "sctp" => 132,
        "dccp" => 33,
        "udplite" => 136,
        "gre" => 47,
        "icmpv6" => 58,
        _ => return s.parse::<u8>().ok().map(u32::from),
    };
    Some(n)
}

fn has_ports(proto: Option<u32>) -> bool {
    matches!(proto, Some(6 | 17 | 33 | 132 | 136))
}

/// An address or NET/LEN of either family, and its family (4 or 6); conntrack's
/// message for anything else (conntrack-tools' `parse_addr` and `parse_inetaddr`).
/// `opt`: the option's long name; the reply tuple's addresses take no length.
fn parse_addr(s: &str, opt: &str) -> Result<(String, u32), CtUsageError> {
    let bad = || CtUsageError::usage(format!("Invalid IP address `{s}'"));
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (s, None),
    };
    let (family, max) = if ip.parse::<Ipv4Addr>().is_ok() {
        (4, 32)
    } else if ip.parse::<Ipv6Addr>().is_ok() {
        (6, 128)
    } else {
        return Err(bad());
    };
    if let Some(len) = len {
        if matches!(opt, "reply-src" | "reply-dst") {
            return Err(CtUsageError::usage(format!(
                "CIDR notation unavailable for `--{opt}'"
            )));
        }
        match len.parse::<u8>() {
            Ok(n) if n <= max && len.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => return Err(CtUsageError::usage("Invalid netmask")),
        }
    }
    Ok((s.to_string(), family))
}

/// Sets the family an address or `-f` implies: conntrack takes the first and refuses
/// another.
fn set_family(family: &mut Option<u32>, f: u32) -> Result<(), CtUsageError> {
    match *family {
        Some(had) if had != f => Err(CtUsageError::usage("mismatched address family")),
        _ => {
            *family = Some(f);
            Ok(())
        }
    }
}

/// strtoul(s, NULL, 0) as conntrack uses it for numbers: 0x.. hex, 0.. octal, leading
/// digits only (garbage is 0).
fn strtoul(s: &str) -> u32 {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    u64::from_str_radix(&digits[..end], radix).map_or(0, |v| v.min(u64::from(u32::MAX)) as u32)
}

fn parse_port(s: &str) -> Result<u32, CtUsageError> {
    s.parse::<u32>()
        .map(|p| p & 0xffff)
        .map_err(|_| CtUsageError::usage(format!("Bad parameter `{s}'")))
}

fn parse_u8(s: &str) -> Result<u32, CtUsageError> {
    s.parse::<u8>()
        .map(u32::from)
        .map_err(|_| CtUsageError::usage(format!("Bad parameter `{s}'")))
}

fn upper_list(
    s: &str,
    allowed: &[&str],
    err: impl Fn(&str) -> String,
) -> Result<Vec<String>, CtUsageError> {
    s.split(',')
        .map(|w| {
            let u = w.to_ascii_uppercase();
            if allowed.contains(&u.as_str()) {
                Ok(u)
            } else {
                Err(CtUsageError::usage(err(w)))
            }
        })
        .collect()
}

/// The canonical name conntrack reports an option by.
struct Opt {
    long: &'static str,
    /// Takes a value.
    arg: Arg,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    None,
    Required,
    Optional,
}

fn short_opt(c: char) -> Option<(&'static str, Arg)> {
    Some(match c {
        'L' => ("dump", Arg::None),
        'G' => ("get", Arg::None),
        'D' => ("delete", Arg::None),
        'F' => ("flush", Arg::None),
        'C' => ("count", Arg::None),
        'E' => ("event", Arg::None),
        'S' => ("stats", Arg::None),
        'I' => ("create", Arg::None),
        'U' => ("update", Arg::None),
        'h' => ("help", Arg::None),
        'V' => ("version", Arg::None),
        'p' => ("protonum", Arg::Required),
        's' => ("src", Arg::Required),
        'd' => ("dst", Arg::Required),
        'r' => ("reply-src", Arg::Required),
        'q' => ("reply-dst", Arg::Required),
        'm' => ("mark", Arg::Required),
        'u' => ("status", Arg::Required),
        'e' => ("event-mask", Arg::Required),
        'o' => ("output", Arg::Required),
        'f' => ("family", Arg::Required),
        'n' => ("src-nat", Arg::Optional),
        'g' => ("dst-nat", Arg::Optional),
        _ => return None,
    })
}

fn long_opt(name: &str, proto: Option<u32>) -> Option<Opt> {
    let common = |long, arg| Some(Opt { long, arg });
    match name {
        "dump" | "get" | "delete" | "flush" | "count" | "event" | "stats" | "create" | "update"
        | "help" | "version" => common(leak(name), Arg::None),
        "protonum" | "proto" => common("protonum", Arg::Required),
        "src" | "orig-src" => common("src", Arg::Required),
        "dst" | "orig-dst" => common("dst", Arg::Required),
        "reply-src" => common("reply-src", Arg::Required),
        "reply-dst" => common("reply-dst", Arg::Required),
        "mark" => common("mark", Arg::Required),
        "status" => common("status", Arg::Required),
        "event-mask" => common("event-mask", Arg::Required),
        "output" => common("output", Arg::Required),
        "family" => common("family", Arg::Required),
        "src-nat" => common("src-nat", Arg::Optional),
        "dst-nat" => common("dst-nat", Arg::Optional),
        // Protocol options exist only once -p named a protocol that has them.
        "sport" | "orig-port-src" if has_ports(proto) => common("orig-port-src", Arg::Required),
        "dport" | "orig-port-dst" if has_ports(proto) => common("orig-port-dst", Arg::Required),
        "reply-port-src" if has_ports(proto) => common("reply-port-src", Arg::Required),
        "reply-port-dst" if has_ports(proto) => common("reply-port-dst", Arg::Required),
        "state" if proto == Some(6) => common("state", Arg::Required),
        "icmp-type" if proto == Some(1) => common("icmp-type", Arg::Required),
        "icmp-code" if proto == Some(1) => common("icmp-code", Arg::Required),
        "icmp-id" if proto == Some(1) => common("icmp-id", Arg::Required),
        "icmpv6-type" if proto == Some(58) => common("icmpv6-type", Arg::Required),
        "icmpv6-code" if proto == Some(58) => common("icmpv6-code", Arg::Required),
        "icmpv6-id" if proto == Some(58) => common("icmpv6-id", Arg::Required),
        _ => None,
    }
}

// Command names come from a fixed list; map them to 'static without allocation.
fn leak(name: &str) -> &'static str {
    [
        "dump", "get", "delete", "flush", "count", "event", "stats", "create", "update", "help",
        "version",
    ]
    .into_iter()
    .find(|n| *n == name)
    .unwrap_or("dump")
}

fn command_of(long: &str) -> Option<CtCommand> {
    Some(match long {
        "dump" => CtCommand::List,
        "get" => CtCommand::Get,
        "delete" => CtCommand::Delete,
        "flush" => CtCommand::Flush,
        "count" => CtCommand::Count,
        "event" => CtCommand::Events,
        "stats" => CtCommand::Stats,
        "update" => CtCommand::Update,
        _ => return None,
    })
}

/// Parses conntrack's arguments (after the program name).
pub fn parse(args: &[String]) -> Result<CtInvocation, CtUsageError> {
    let mut inv = CtInvocation::default();
    let mut filter_opts: Vec<&'static str> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        // (canonical long name, kind, inline value)
        let (opt, inline): (Opt, Option<String>) = if let Some(rest) = a.strip_prefix("--") {
            let (name, val) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (rest, None),
            };
            let o = long_opt(name, inv.filter.proto)
                .ok_or_else(|| CtUsageError::usage(format!("unknown option `{a}'")))?;
            (o, val)
        } else if a.len() > 1 && a.starts_with('-') {
            let mut chars = a[1..].chars();
            let c = chars.next().unwrap_or('-');
            let (long, arg) = short_opt(c)
                .ok_or_else(|| CtUsageError::usage(format!("unknown option `-{c}'")))?;
            let rest: String = chars.collect();
            (Opt { long, arg }, (!rest.is_empty()).then_some(rest))
        } else if inv.command.is_some() {
            // A command's optional table argument.
            return Err(match a {
                "expect" | "dying" | "unconfirmed" => CtUsageError {
                    message: format!("Operation failed: the `{a}' table is not supported by nfdp"),
                    usage: false,
                },
                _ => CtUsageError::usage(format!("unknown type `{a}'")),
            });
        } else {
            return Err(CtUsageError::usage(format!("unknown type `{a}'")));
        };
        let value = match opt.arg {
            Arg::None => None,
            Arg::Required => match inline {
                Some(v) => Some(v),
                None if i < args.len() => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => {
                    let shown = if a.starts_with("--") {
                        a.to_string()
                    } else {
                        a[..2].to_string()
                    };
                    return Err(CtUsageError::usage(format!(
                        "option `{shown}' requires an argument"
                    )));
                }
            },
            Arg::Optional => inline,
        };
        // The table argument of a command (`-L conntrack`).
        if opt.arg == Arg::None && i < args.len() && args[i] == "conntrack" {
            i += 1;
        }
        let v = value.as_deref().unwrap_or("");
        match opt.long {
            "help" => {
                inv.command = None;
                return Ok(inv);
            }
            "version" => {
                inv.version = true;
                return Ok(inv);
            }
            "create" => {
                return Err(CtUsageError {
                    message: format!("Operation failed: --{} is not supported by nfdp", opt.long),
                    usage: false,
                });
            }
            long if command_of(long).is_some() => {
                if inv.command.is_some() {
                    return Err(CtUsageError::usage("Invalid commands combination"));
                }
                inv.command = command_of(long);
                continue;
            }
            "protonum" => {
                inv.filter.proto =
                    Some(parse_proto(v).ok_or_else(|| {
                        CtUsageError::usage(format!("`{v}' unsupported protocol"))
                    })?);
            }
            "src" | "dst" | "reply-src" | "reply-dst" => {
                let (addr, family) = parse_addr(v, opt.long)?;
                set_family(&mut inv.filter.family, family)?;
                *match opt.long {
                    "src" => &mut inv.filter.orig_src,
                    "dst" => &mut inv.filter.orig_dst,
                    "reply-src" => &mut inv.filter.reply_src,
                    _ => &mut inv.filter.reply_dst,
                } = Some(addr);
            }
            "orig-port-src" => inv.filter.orig_sport = Some(parse_port(v)?),
            "orig-port-dst" => inv.filter.orig_dport = Some(parse_port(v)?),
            "reply-port-src" => inv.filter.reply_sport = Some(parse_port(v)?),
            "reply-port-dst" => inv.filter.reply_dport = Some(parse_port(v)?),
            "state" => {
                inv.filter.tcp_state =
                    upper_list(v, TCP_STATES, |w| format!("unknown TCP state `{w}'"))?
            }
            // The filter's ICMP fields are the entry's family's ICMP: ICMPv6 for -p icmpv6.
            "icmp-type" | "icmpv6-type" => inv.filter.icmp_type = Some(parse_u8(v)?),
            "icmp-code" | "icmpv6-code" => inv.filter.icmp_code = Some(parse_u8(v)?),
            "icmp-id" | "icmpv6-id" => inv.filter.icmp_id = Some(parse_port(v)?),
            "mark" => {
                let (val, mask) = match v.split_once('/') {
                    Some((val, mask)) => (strtoul(val), Some(strtoul(mask))),
                    None => (strtoul(v), None),
                };
                inv.filter.mark = Some(val);
                inv.filter.mark_mask = mask;
            }
            "status" => {
                inv.filter.status = upper_list(v, STATUS_BITS, |w| format!("Bad parameter `{w}'"))?
            }
            "event-mask" => {
                let mut types = Vec::new();
                for w in v.split(',') {
                    match w.to_ascii_uppercase().as_str() {
                        "ALL" => types = EVENTS.iter().map(|s| s.to_string()).collect(),
                        u if EVENTS.contains(&u) => types.push(u.to_string()),
                        _ => return Err(CtUsageError::usage(format!("Bad parameter `{w}'"))),
                    }
                }
                inv.event_types = types;
            }
            "output" => {
                for w in v.split(',') {
                    match w {
                        "extended" => inv.extended = true,
                        "labels" => inv.labels = true,
                        // Accepted; nfdp prints nothing more for them.
                        "id" | "timestamp" | "ktimestamp" | "userspace" => {}
                        "xml" => {
                            return Err(CtUsageError {
                                message: "Operation failed: -o xml is not supported by nfdp".into(),
                                usage: false,
                            })
                        }
                        _ => return Err(CtUsageError::usage(format!("Bad parameter `{w}'"))),
                    }
                }
            }
            // Unset is not ipv4 for -F and -E (both families, conntrack's AF_UNSPEC).
            "family" if v.eq_ignore_ascii_case("ipv6") => set_family(&mut inv.filter.family, 6)?,
            "family" if v.eq_ignore_ascii_case("ipv4") => set_family(&mut inv.filter.family, 4)?,
            "family" => {
                return Err(CtUsageError::usage(format!("`{v}' unsupported protocol")));
            }
            "src-nat" | "dst-nat" => {
                if value.is_some() {
                    // nfdp's filter has no NAT address; a wider match could delete more.
                    return Err(CtUsageError {
                        message: format!(
                            "Operation failed: --{} with an address is not supported by nfdp",
                            opt.long
                        ),
                        usage: false,
                    });
                }
                if opt.long == "src-nat" {
                    inv.filter.src_nat = true;
                } else {
                    inv.filter.dst_nat = true;
                }
            }
            _ => {}
        }
        if !matches!(opt.long, "output" | "event-mask") {
            filter_opts.push(opt.long);
        }
        if opt.long == "event-mask" && inv.command.is_some_and(|c| c != CtCommand::Events) {
            return Err(CtUsageError::usage(
                "Illegal option `--event-mask' with this command",
            ));
        }
    }
    check_command(&inv, &filter_opts)?;
    Ok(inv)
}

fn check_command(inv: &CtInvocation, filter_opts: &[&str]) -> Result<(), CtUsageError> {
    let Some(cmd) = inv.command else {
        return Ok(());
    };
    match cmd {
        CtCommand::Flush | CtCommand::Count | CtCommand::Stats => {
            // conntrack 1.4.7 takes -f with -F (a flush by l3num), with nothing else.
            let flush_family = |o: &&&str| cmd == CtCommand::Flush && **o == "family";
            if let Some(o) = filter_opts.iter().find(|o| !flush_family(o)) {
                return Err(CtUsageError::usage(format!(
                    "Illegal option `--{o}' with this command"
                )));
            }
        }
        CtCommand::Get => {
            // -G names its family by its addresses only.
            if filter_opts.contains(&"family") {
                return Err(CtUsageError::usage(
                    "Illegal option `--family' with this command",
                ));
            }
            let f = &inv.filter;
            // A length is conntrack's --mask-src / --mask-dst, which -G does not take.
            let cidr = |a: &Option<String>| a.as_deref().is_some_and(|a| a.contains('/'));
            for (a, o) in [(&f.orig_src, "mask-src"), (&f.orig_dst, "mask-dst")] {
                if cidr(a) {
                    return Err(CtUsageError::usage(format!(
                        "Illegal option `--{o}' with this command"
                    )));
                }
            }
            let orig = f.orig_src.is_some() && f.orig_dst.is_some();
            let reply = f.reply_src.is_some() && f.reply_dst.is_some();
            if !orig && !reply {
                return Err(CtUsageError::usage(
                    "you have to specify `--src' and `--dst'",
                ));
            }
            if f.proto.is_none() {
                return Err(CtUsageError::usage(
                    "You need to supply the `--protonum' option for this command",
                ));
            }
            // An ICMP tuple needs its type and code; the id is 0 when not given.
            let icmp = match f.proto {
                Some(1) => Some(""),
                Some(58) => Some("v6"),
                _ => None,
            };
            if let Some(v) = icmp {
                for (set, what) in [(f.icmp_type, "type"), (f.icmp_code, "code")] {
                    if set.is_none() {
                        return Err(CtUsageError::usage(format!(
                            "You need to supply the `--icmp{v}-{what}' option for this command"
                        )));
                    }
                }
            }
        }
        CtCommand::Update => {
            // -m is the mark to set; the state and status nfdp does not set.
            if let Some(o) = filter_opts
                .iter()
                .find(|o| matches!(**o, "status" | "state"))
            {
                return Err(CtUsageError {
                    message: format!("Operation failed: -U --{o} is not supported by nfdp"),
                    usage: false,
                });
            }
        }
        _ => {}
    }
    if !inv.event_types.is_empty() && cmd != CtCommand::Events {
        return Err(CtUsageError::usage(
            "Illegal option `--event-mask' with this command",
        ));
    }
    Ok(())
}
