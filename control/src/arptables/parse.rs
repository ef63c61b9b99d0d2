//! arptables' command line: the command, the rule's options and the target's, with the
//! checks and messages of arptables 1.8.9 (nf_tables). Options may come in any order and
//! a `!` negates the option after it (or, deprecated, sits between an option and its
//! value).

use super::Fail;
use crate::iptables::ext::mac::parse_mac;
use crate::iptables::ext::{parse_addr, parse_net};
use dataplane::arptables::{
    ArpMangle, ArpMatch, ArpRule, ArpTarget, FieldMatch, MacMatch, MangleVerdict,
};
use dataplane::port::MacAddr;
use dataplane::ruleset::{Iface, IFNAME_MAX};

/// What a command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Append(String),
    Check(String),
    Delete(String, Option<usize>),
    Insert(String, usize),
    Replace(String, usize),
    List(Option<String>),
    ListRules(Option<String>),
    Flush(Option<String>),
    Zero(Option<String>),
    NewChain(String),
    DeleteChain(Option<String>),
    Policy(String, String),
    Rename(String, String),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListFlags {
    pub numeric: bool,
    pub verbose: bool,
    pub line_numbers: bool,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub command: Command,
    pub rule: ArpRule,
    /// `-j NAME` of a chain that must exist (checked against the table by the caller).
    pub jump: Option<String>,
    pub list: ListFlags,
    /// Warnings printed on standard error, the command going on.
    pub warnings: Vec<String>,
}

const DEPRECATED: &str = "Using intrapositioned negation (`--option ! this`) is deprecated in favor of extrapositioned (`! --option this`).";

/// ARP opcodes by name, as `--opcode` takes them and `-L` prints them (1..=9).
pub const OPCODES: [&str; 9] = [
    "Request",
    "Reply",
    "Request_Reverse",
    "Reply_Reverse",
    "DRARP_Request",
    "DRARP_Reply",
    "DRARP_Error",
    "InARP_Request",
    "ARP_NAK",
];

fn usage(msg: impl Into<String>) -> Fail {
    Fail::Usage(msg.into())
}

/// Which rule option a word is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opt {
    SrcIp,
    DstIp,
    SrcMac,
    DstMac,
    In,
    Out,
    HLen,
    Opcode,
    HType,
    PType,
}

fn rule_option(w: &str) -> Option<(Opt, &'static str)> {
    Some(match w {
        "-s" | "--source-ip" | "--src-ip" => (Opt::SrcIp, "-s"),
        "-d" | "--destination-ip" | "--dst-ip" => (Opt::DstIp, "-d"),
        "--source-mac" | "--src-mac" => (Opt::SrcMac, "--source-mac"),
        "--destination-mac" | "--dst-mac" => (Opt::DstMac, "--destination-mac"),
        "-i" | "--in-interface" => (Opt::In, "-i"),
        "-o" | "--out-interface" => (Opt::Out, "-o"),
        "-l" | "--h-length" => (Opt::HLen, "-l"),
        "--opcode" => (Opt::Opcode, "--opcode"),
        "--h-type" => (Opt::HType, "--h-type"),
        "--proto-type" => (Opt::PType, "--proto-type"),
        _ => return None,
    })
}

/// A number as C's `strtol` with `base` reads a whole word (0: `0x` hex, `0` octal).
fn strtol(s: &str, base: u32) -> Option<u64> {
    let (digits, radix) = match base {
        0 => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => (h, 16),
            None if s.len() > 1 && s.starts_with('0') => (&s[1..], 8),
            None => (s, 10),
        },
        16 => (
            s.strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s),
            16,
        ),
        b => (s, b),
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `value[/mask]` of a 16-bit field: the value by `read`, a mask that must read as a
/// decimal number. arptables-nft accepts the mask and then leaves it out of the rule it
/// loads (nft_arp_add compares the whole field), so nfdp does the same.
fn field16(s: &str, read: impl Fn(&str) -> Option<u64>, what: &str) -> Result<u16, Fail> {
    let bad = || usage(format!("Problem with specified {what}"));
    let (v, mask) = match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    if let Some(m) = mask {
        strtol(m, 10).filter(|&m| m <= 0xffff).ok_or_else(bad)?;
    }
    read(v)
        .filter(|&v| v <= 0xffff)
        .map(|v| v as u16)
        .ok_or_else(bad)
}

fn mac_match(s: &str, inv: bool, which: &str) -> Result<MacMatch, Fail> {
    let bad = || usage(format!("Problem with specified {which} mac"));
    let (a, m) = match s.split_once('/') {
        Some((a, m)) => (a, parse_mac(m).map_err(|_| bad())?),
        None => (s, [0xff; 6]),
    };
    let addr = parse_mac(a).map_err(|_| bad())?;
    Ok(MacMatch {
        addr: MacAddr(addr),
        mask: MacAddr(m),
        inv,
    })
}

fn iface(s: &str, warnings: &mut Vec<String>) -> Result<Iface, Fail> {
    if s.len() > IFNAME_MAX {
        return Err(usage(format!(
            "interface name `{s}' must be shorter than IFNAMSIZ ({IFNAME_MAX})"
        )));
    }
    if s.contains(['/', ' ']) {
        warnings.push(format!(
            "Warning: weird character in interface `{s}' ('/' and ' ' are not allowed by the kernel)."
        ));
    }
    // A `/` matches no port, as in the kernel; a blank could not be saved and restored.
    Iface::with_any_chars(s).ok_or_else(|| {
        usage(format!(
            "interface name `{s}' holds a blank or a control character: not supported by nfdp"
        ))
    })
}

fn set_option(
    spec: &mut ArpMatch,
    opt: Opt,
    value: &str,
    inv: bool,
    warnings: &mut Vec<String>,
) -> Result<(), Fail> {
    match opt {
        Opt::SrcIp | Opt::DstIp => {
            let net = parse_net(value).map_err(usage)?;
            let m = (net.mask != 0 || inv).then_some((net, inv));
            if opt == Opt::SrcIp {
                spec.src_ip = m;
            } else {
                spec.dst_ip = m;
            }
        }
        Opt::SrcMac => spec.src_mac = Some(mac_match(value, inv, "source")?),
        Opt::DstMac => spec.dst_mac = Some(mac_match(value, inv, "destination")?),
        Opt::In => spec.in_iface = Some((iface(value, warnings)?, inv)),
        Opt::Out => spec.out_iface = Some((iface(value, warnings)?, inv)),
        Opt::HLen => {
            let len = field16(value, |v| strtol(v, 10), "hardware length")?;
            if len != 6 {
                return Err(usage(
                    "Only harware address length of 6 is supported currently.",
                ));
            }
            if inv {
                // arptables-nft loads no test for it, so the rule would match every
                // frame; nfdp refuses what cannot mean what it says (docs/deviations.md).
                return Err(usage(
                    "! --h-length 6 matches no frame nfdp handles (every one is Ethernet); not supported by nfdp",
                ));
            }
        }
        Opt::Opcode => {
            let code = field16(
                value,
                |v| {
                    OPCODES
                        .iter()
                        .position(|n| n.eq_ignore_ascii_case(v))
                        .map(|i| i as u64 + 1)
                        .or_else(|| strtol(v, 10))
                },
                "opcode",
            )?;
            spec.opcode = Some(FieldMatch { value: code, inv });
        }
        Opt::HType => {
            let t = field16(
                value,
                |v| {
                    if v.eq_ignore_ascii_case("Ethernet") {
                        Some(1)
                    } else {
                        strtol(v, 16)
                    }
                },
                "hardware type",
            )?;
            if t == 1 && inv {
                return Err(usage(
                    "! --h-type 1 matches no frame nfdp handles (every one is Ethernet); not supported by nfdp",
                ));
            }
            // Ethernet is what every rule tests already (arptables-nft leaves it out).
            spec.htype = (t != 1).then_some(FieldMatch { value: t, inv });
        }
        Opt::PType => {
            let t = field16(
                value,
                |v| match v.to_ascii_lowercase().as_str() {
                    "ipv4" | "ip" | "ip4" => Some(0x800),
                    "arp" => Some(0x806),
                    _ => strtol(v, 0),
                },
                "protocol type",
            )?;
            spec.ptype = Some(FieldMatch { value: t, inv });
        }
    }
    Ok(())
}

fn mangle_option(m: &mut ArpMangle, opt: &str, value: &str) -> Result<(), Fail> {
    let ip = |v: &str| parse_addr(v).map_err(usage);
    match opt {
        "--mangle-ip-s" => m.src_ip = Some(ip(value)?),
        "--mangle-ip-d" => m.dst_ip = Some(ip(value)?),
        "--mangle-mac-s" => {
            m.src_mac = Some(MacAddr(
                parse_mac(value).map_err(|_| usage("invalid source MAC"))?,
            ))
        }
        "--mangle-mac-d" => {
            m.dst_mac = Some(MacAddr(
                parse_mac(value).map_err(|_| usage("invalid target MAC"))?,
            ))
        }
        _ => {
            m.verdict = match value {
                "ACCEPT" => MangleVerdict::Accept,
                "DROP" => MangleVerdict::Drop,
                "CONTINUE" => MangleVerdict::Continue,
                _ => return Err(usage("bad target for --mangle-target")),
            }
        }
    }
    Ok(())
}

fn class(value: &str) -> Result<ArpTarget, Fail> {
    let bad = || usage(format!("Bad class value \"{value}\""));
    let (a, b) = value.split_once(':').ok_or_else(bad)?;
    let part = |p: &str| {
        u16::from_str_radix(p, 16)
            .ok()
            .filter(|_| !p.is_empty())
            .ok_or_else(bad)
    };
    Ok(ArpTarget::Classify {
        major: part(a)?,
        minor: part(b)?,
    })
}

/// A rule number (1 = first): anything else is refused, as arptables refuses `0` or `abc`.
fn rule_number(s: &str) -> Result<usize, Fail> {
    s.parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| usage(format!("Invalid rule number `{s}'")))
}

/// Parses the words after `arptables`.
pub fn parse(words: &[String]) -> Result<Parsed, Fail> {
    let mut command: Option<Command> = None;
    let mut rule = ArpRule::default();
    let mut jump: Option<String> = None;
    let mut mangle: Option<ArpMangle> = None;
    let mut set_class: Option<ArpTarget> = None;
    let mut list = ListFlags::default();
    let mut warnings = Vec::new();
    let mut seen: Vec<Opt> = Vec::new();
    let mut inv = false;
    let mut i = 0;
    let arg = |i: usize, name: &str| -> Result<&String, Fail> {
        words
            .get(i)
            .ok_or_else(|| usage(format!("option \"{name}\" requires an argument")))
    };
    // An optional argument of a command (a chain, a rule number): the next word when it
    // is not an option.
    let optional = |i: usize| words.get(i).filter(|w| !w.starts_with('-') && *w != "!");
    while i < words.len() {
        let w = words[i].as_str();
        i += 1;
        if w == "!" {
            inv = true;
            continue;
        }
        if let Some((opt, name)) = rule_option(w) {
            if seen.contains(&opt) {
                return Err(usage(format!("multiple {name} flags not allowed")));
            }
            seen.push(opt);
            let mut v = arg(i, w)?;
            i += 1;
            if v == "!" {
                warnings.push(DEPRECATED.to_string());
                inv = true;
                v = arg(i, w)?;
                i += 1;
            }
            set_option(&mut rule.spec, opt, v, inv, &mut warnings)?;
            inv = false;
            continue;
        }
        let cmd = |c: Command, command: &mut Option<Command>| -> Result<(), Fail> {
            if command.is_some() {
                return Err(usage("Cannot use more than one command"));
            }
            *command = Some(c);
            Ok(())
        };
        match w {
            "-A" | "--append" | "-C" | "--check" | "-N" | "--new-chain" | "--new" | "-E"
            | "--rename-chain" | "-P" | "--policy" | "-R" | "--replace" => {
                let chain = arg(i, w)?.clone();
                i += 1;
                let c = match w {
                    "-A" | "--append" => Command::Append(chain),
                    "-C" | "--check" => Command::Check(chain),
                    "-N" | "--new-chain" | "--new" => Command::NewChain(chain),
                    "-R" | "--replace" => {
                        let n = rule_number(
                            optional(i).ok_or_else(|| usage("-R requires a rule number"))?,
                        )?;
                        i += 1;
                        Command::Replace(chain, n)
                    }
                    _ => {
                        let second = words
                            .get(i)
                            .ok_or_else(|| usage(format!("{w} requires old-chain and new-chain")))?
                            .clone();
                        i += 1;
                        if matches!(w, "-P" | "--policy") {
                            Command::Policy(chain, second)
                        } else {
                            Command::Rename(chain, second)
                        }
                    }
                };
                cmd(c, &mut command)?;
            }
            "-D" | "--delete" | "-I" | "--insert" => {
                let chain = arg(i, w)?.clone();
                i += 1;
                let n = optional(i).map(|s| rule_number(s)).transpose()?;
                if n.is_some() {
                    i += 1;
                }
                let c = if matches!(w, "-D" | "--delete") {
                    Command::Delete(chain, n)
                } else {
                    Command::Insert(chain, n.unwrap_or(1))
                };
                cmd(c, &mut command)?;
            }
            "-L" | "--list" | "-S" | "--list-rules" | "-F" | "--flush" | "-Z" | "--zero" | "-X"
            | "--delete-chain" => {
                let chain = optional(i).cloned();
                if chain.is_some() {
                    i += 1;
                }
                let c = match w {
                    "-L" | "--list" => Command::List(chain),
                    "-S" | "--list-rules" => Command::ListRules(chain),
                    "-F" | "--flush" => Command::Flush(chain),
                    "-Z" | "--zero" => Command::Zero(chain),
                    _ => Command::DeleteChain(chain),
                };
                cmd(c, &mut command)?;
            }
            "-j" | "--jump" => {
                let t = arg(i, w)?.clone();
                i += 1;
                if rule.target.is_some() || jump.is_some() {
                    return Err(usage("multiple -j flags not allowed"));
                }
                match t.as_str() {
                    "ACCEPT" => rule.target = Some(ArpTarget::Accept),
                    "DROP" => rule.target = Some(ArpTarget::Drop),
                    "RETURN" => rule.target = Some(ArpTarget::Return),
                    "mangle" => mangle = Some(ArpMangle::default()),
                    "CLASSIFY" => rule.target = Some(ArpTarget::Classify { major: 0, minor: 0 }),
                    _ => jump = Some(t),
                }
            }
            "--mangle-ip-s" | "--mangle-ip-d" | "--mangle-mac-s" | "--mangle-mac-d"
            | "--mangle-target"
                if mangle.is_some() =>
            {
                let v = arg(i, w)?;
                i += 1;
                if let Some(m) = mangle.as_mut() {
                    mangle_option(m, w, v)?;
                }
            }
            "--set-class" if matches!(rule.target, Some(ArpTarget::Classify { .. })) => {
                set_class = Some(class(arg(i, w)?)?);
                i += 1;
            }
            "-c" | "--set-counters" => {
                let p = arg(i, w)?;
                let b = words
                    .get(i + 1)
                    .ok_or_else(|| usage("-c requires packet and byte counter"))?;
                i += 2;
                rule.packets = p
                    .parse()
                    .map_err(|_| usage("-c packet counter not numeric"))?;
                rule.bytes = b
                    .parse()
                    .map_err(|_| usage("-c byte counter not numeric"))?;
            }
            "-n" | "--numeric" => list.numeric = true,
            "-v" | "--verbose" => list.verbose = true,
            "-x" | "--exact" => {}
            "--line-numbers" => list.line_numbers = true,
            "-t" | "--table" => {
                let t = arg(i, w)?;
                i += 1;
                if t != "filter" {
                    return Err(Fail::NoTable(t.clone()));
                }
            }
            _ if w.starts_with('-') && w.len() > 1 => {
                return Err(usage(format!("unknown option \"{w}\"")));
            }
            _ => return Err(Fail::BadArgument(w.to_string())),
        }
    }
    if let Some(m) = mangle {
        rule.target = Some(ArpTarget::Mangle(m));
    }
    if matches!(rule.target, Some(ArpTarget::Classify { .. })) {
        rule.target = Some(
            set_class
                .ok_or_else(|| usage("CLASSIFY: option \"--set-class\" must be specified\n"))?,
        );
    }
    if let Some(j) = &jump {
        rule.target = Some(ArpTarget::Jump(j.clone()));
    }
    let command = command.ok_or_else(|| usage("no command specified"))?;
    if let Command::Append(c) | Command::Insert(c, _) | Command::Replace(c, _) | Command::Check(c) =
        &command
    {
        if c == "INPUT" && rule.spec.out_iface.is_some() {
            return Err(usage("Can't use -o with INPUT\n"));
        }
        if c == "OUTPUT" && rule.spec.in_iface.is_some() {
            return Err(usage("Can't use -i with OUTPUT\n"));
        }
    }
    Ok(Parsed {
        command,
        rule,
        jump,
        list,
        warnings,
    })
}
