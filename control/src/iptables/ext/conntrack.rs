//! libxt_conntrack (rev 3) and its `-m state` alias.

use super::{
    fmt_addr6, fmt_net_bare_host, fmt_port_range, once, opt, parse_net, parse_port_range, Args,
};
use crate::iptables::names;
use dataplane::ruleset::matches::conntrack::{
    state, status, ConntrackFlavor, ConntrackMatch, CtDir,
};
use dataplane::ruleset::Inv;
use dataplane::ruleset::{Family, Ipv6Net};
use std::fmt::Write;

const CONNTRACK_OPTIONS: &[&str] = &[
    "--ctstate",
    "--ctproto",
    "--ctorigsrc",
    "--ctorigdst",
    "--ctreplsrc",
    "--ctrepldst",
    "--ctorigsrcport",
    "--ctorigdstport",
    "--ctreplsrcport",
    "--ctrepldstport",
    "--ctstatus",
    "--ctexpire",
    "--ctdir",
];
const STATE_OPTIONS: &[&str] = &["--state"];

fn parse_bits<T: Copy + std::ops::BitOr<Output = T> + Default>(
    s: &str,
    names: &[(&str, T)],
    what: &str,
) -> Result<T, String> {
    let mut bits = T::default();
    for w in s.split(',') {
        let b = names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(w))
            .map(|(_, b)| *b)
            .ok_or_else(|| format!("Bad {what} \"{w}\""))?;
        bits = bits | b;
    }
    Ok(bits)
}

/// The names whose bits are set, comma-separated, in table order; "NONE" for no bits.
fn fmt_bits<T: Copy + std::ops::BitAnd<Output = T> + Default + PartialEq>(
    bits: T,
    names: &[(&str, T)],
) -> String {
    let v: Vec<&str> = names
        .iter()
        .filter(|(_, b)| bits & *b != T::default())
        .map(|(n, _)| *n)
        .collect();
    if v.is_empty() {
        "NONE".into()
    } else {
        v.join(",")
    }
}

pub fn fmt_states(bits: u16) -> String {
    fmt_bits(bits, &state::NAMES)
}

pub fn fmt_status(bits: u8) -> String {
    fmt_bits(bits, &status::NAMES)
}

/// A numeric IPv6 address as libxtables' XTTYPE_HOST reads it in ip6tables (getaddrinfo,
/// no name service here), refused in getaddrinfo's words.
pub(super) fn parse_numeric_host6(a: &str) -> Result<std::net::Ipv6Addr, String> {
    a.parse::<std::net::Ipv6Addr>().map_err(|_| {
        if a.parse::<std::net::Ipv4Addr>().is_ok() {
            "getaddrinfo: Address family for hostname not supported".to_string()
        } else {
            "getaddrinfo: Name or service not known".to_string()
        }
    })
}

/// ip6tables' `--ctorigsrc ADDR[/MASK]` (libxtables' XTTYPE_HOSTMASK): a numeric address
/// (no name service here) and a length 0..=128 or a mask in address form; the address is
/// kept as given, not masked. `ext` names the extension in the mask's refusal.
pub(super) fn parse_host6_of(ext: &str, v: &str, o: &str) -> Result<Ipv6Net, String> {
    let (a, mk) = match v.split_once('/') {
        Some((a, mk)) => (a, Some(mk)),
        None => (v, None),
    };
    let addr = parse_numeric_host6(a)?;
    let bad = || {
        format!(
            "{ext}: bad value for option \"{o}\", neither a valid network mask nor valid CIDR (0-128)."
        )
    };
    let mask = match mk {
        None => u128::MAX,
        Some(mk) => match mk.parse::<std::net::Ipv6Addr>() {
            Ok(m) => u128::from(m),
            Err(_) => super::parse_uint(mk)
                .filter(|n| *n <= 128)
                .map(|n| dataplane::ruleset::prefix_mask6(n as u8))
                .ok_or_else(bad)?,
        },
    };
    Ok(Ipv6Net { addr, mask })
}

fn parse_host6(v: &str, o: &str) -> Result<Ipv6Net, String> {
    parse_host6_of("conntrack", v, o)
}

/// How ip6tables saves a conntrack address: a host or a non-contiguous mask as the
/// address alone, a prefix as `addr/len`.
fn fmt_host6(n: &Ipv6Net) -> String {
    match n.prefix_len() {
        Some(len) if len < 128 => format!("{}/{len}", fmt_addr6(&n.addr)),
        _ => fmt_addr6(&n.addr),
    }
}

impl super::MatchText for ConntrackMatch {
    const NAMES: &'static [&'static str] = &["conntrack", "state"];

    fn new(name: &str) -> Self {
        {
            use dataplane::ruleset::matches::conntrack::{ConntrackFlavor, ConntrackMatch};
            ConntrackMatch::new(if name == "state" {
                ConntrackFlavor::State
            } else {
                ConntrackFlavor::Conntrack
            })
        }
    }

    fn options(&self) -> &'static [&'static str] {
        match self.flavor {
            ConntrackFlavor::State => STATE_OPTIONS,
            ConntrackFlavor::Conntrack => CONNTRACK_OPTIONS,
        }
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        ctx: &super::Ctx,
    ) -> Result<(), String> {
        let m = self;
        let family = ctx.family;
        let v = args.value(o)?;
        match o {
            "--ctorigsrc" | "--ctorigdst" | "--ctreplsrc" | "--ctrepldst"
                if family == Family::V6 =>
            {
                let at = ["--ctorigsrc", "--ctorigdst", "--ctreplsrc", "--ctrepldst"]
                    .iter()
                    .position(|x| *x == o)
                    .unwrap_or(0);
                let slots = m.addrs6.get_or_insert_with(Default::default);
                once(&slots[at], o)?;
                slots[at] = Some(Inv::new(inv, parse_host6(&v, o)?));
            }
            "--state" | "--ctstate" => {
                once(&m.state, o)?;
                let names: &[(&str, u16)] = if o == "--state" {
                    &state::NAMES[..5]
                } else {
                    &state::NAMES
                };
                m.state = Some(Inv::new(inv, parse_bits(&v, names, "ctstate")?));
            }
            "--ctproto" => {
                once(&m.proto, o)?;
                let p = names::parse_proto(&v)
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("unknown protocol \"{v}\" specified"))?;
                m.proto = Some(Inv::new(inv, p));
            }
            "--ctorigsrc" | "--ctorigdst" | "--ctreplsrc" | "--ctrepldst" => {
                let slot = match o {
                    "--ctorigsrc" => &mut m.orig_src,
                    "--ctorigdst" => &mut m.orig_dst,
                    "--ctreplsrc" => &mut m.repl_src,
                    _ => &mut m.repl_dst,
                };
                once(slot, o)?;
                *slot = Some(Inv::new(inv, parse_net(&v)?));
            }
            "--ctorigsrcport" | "--ctorigdstport" | "--ctreplsrcport" | "--ctrepldstport" => {
                let slot = match o {
                    "--ctorigsrcport" => &mut m.orig_src_port,
                    "--ctorigdstport" => &mut m.orig_dst_port,
                    "--ctreplsrcport" => &mut m.repl_src_port,
                    _ => &mut m.repl_dst_port,
                };
                once(slot, o)?;
                *slot = Some(Inv::new(inv, parse_port_range(&v, "tcp")?));
            }
            "--ctstatus" => {
                once(&m.status, o)?;
                let mut names = vec![("NONE", 0u8)];
                names.extend_from_slice(&status::NAMES);
                m.status = Some(Inv::new(inv, parse_bits(&v, &names, "ctstatus")?));
            }
            "--ctexpire" => {
                once(&m.expire, o)?;
                let num = |s: &str| {
                    s.parse::<u32>()
                        .map_err(|_| format!("expire value invalid: \"{v}\""))
                };
                let (lo, hi) = match v.split_once(':') {
                    Some((a, b)) => (num(a)?, num(b)?),
                    None => (num(&v)?, num(&v)?),
                };
                if lo > hi {
                    return Err(format!("expire value invalid: \"{v}\""));
                }
                m.expire = Some(Inv::new(inv, (lo, hi)));
            }
            _ => {
                super::no_inv(inv, o)?;
                m.dir = Some(match v.to_ascii_uppercase().as_str() {
                    "ORIGINAL" => CtDir::Original,
                    "REPLY" => CtDir::Reply,
                    _ => return Err(format!("Bad ctdir value \"{v}\"")),
                });
            }
        }
        Ok(())
    }

    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        let empty = self.state.is_none() && !self.tests_entry();
        if empty {
            return Err(match self.flavor {
                ConntrackFlavor::State => "state: option \"--state\" must be specified".into(),
                ConntrackFlavor::Conntrack => "conntrack: At least one option is required".into(),
            });
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if let Some(s) = self.state {
            let name = match self.flavor {
                ConntrackFlavor::State => "--state",
                ConntrackFlavor::Conntrack => "--ctstate",
            };
            opt(out, s.inv, name);
            let _ = write!(out, " {}", fmt_states(s.val));
        }
        if let Some(p) = self.proto {
            opt(out, p.inv, "--ctproto");
            let _ = write!(out, " {}", p.val);
        }
        let none6 = Default::default();
        let v6 = self.addrs6.as_deref().unwrap_or(&none6);
        for (i, (name, a)) in [
            ("--ctorigsrc", &self.orig_src),
            ("--ctorigdst", &self.orig_dst),
            ("--ctreplsrc", &self.repl_src),
            ("--ctrepldst", &self.repl_dst),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(a) = a {
                opt(out, a.inv, name);
                let _ = write!(out, " {}", fmt_net_bare_host(&a.val));
            }
            if let Some(a) = &v6[i] {
                opt(out, a.inv, name);
                let _ = write!(out, " {}", fmt_host6(&a.val));
            }
        }
        for (name, p) in [
            ("--ctorigsrcport", &self.orig_src_port),
            ("--ctorigdstport", &self.orig_dst_port),
            ("--ctreplsrcport", &self.repl_src_port),
            ("--ctrepldstport", &self.repl_dst_port),
        ] {
            if let Some(p) = p {
                opt(out, p.inv, name);
                let _ = write!(out, " {}", fmt_port_range(&p.val));
            }
        }
        if let Some(s) = self.status {
            opt(out, s.inv, "--ctstatus");
            let _ = write!(out, " {}", fmt_status(s.val));
        }
        if let Some(e) = self.expire {
            opt(out, e.inv, "--ctexpire");
            if e.val.0 == e.val.1 {
                let _ = write!(out, " {}", e.val.0);
            } else {
                let _ = write!(out, " {}:{}", e.val.0, e.val.1);
            }
        }
        if let Some(d) = self.dir {
            out.push_str(match d {
                CtDir::Original => " --ctdir ORIGINAL",
                CtDir::Reply => " --ctdir REPLY",
            });
        }
    }

    /// `ctstate NEW ctproto 6 ...` (or ` state NEW` for `-m state`).
    fn list(&self, numeric: bool, out: &mut String) {
        // libxt_conntrack's conntrack_dump_addr: the unspecified address is `anywhere`
        // without -n.
        let anywhere = |unspecified: bool, text: String| {
            if unspecified && !numeric {
                "anywhere".to_string()
            } else {
                text
            }
        };
        let neg = |out: &mut String, inv: bool| {
            if inv {
                out.push_str(" !");
            }
        };
        if let Some(s) = self.state {
            neg(out, s.inv);
            let name = match self.flavor {
                ConntrackFlavor::State => "state",
                ConntrackFlavor::Conntrack => "ctstate",
            };
            let _ = write!(out, " {name} {}", fmt_states(s.val));
        }
        if let Some(p) = self.proto {
            neg(out, p.inv);
            let _ = write!(out, " ctproto {}", p.val);
        }
        let none6 = Default::default();
        let v6 = self.addrs6.as_deref().unwrap_or(&none6);
        for (i, (name, a)) in [
            ("ctorigsrc", &self.orig_src),
            ("ctorigdst", &self.orig_dst),
            ("ctreplsrc", &self.repl_src),
            ("ctrepldst", &self.repl_dst),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(a) = a {
                neg(out, a.inv);
                let text = anywhere(a.val.addr.is_unspecified(), fmt_net_bare_host(&a.val));
                let _ = write!(out, " {name} {text}");
            }
            if let Some(a) = &v6[i] {
                neg(out, a.inv);
                let text = anywhere(a.val.addr.is_unspecified(), fmt_host6(&a.val));
                let _ = write!(out, " {name} {text}");
            }
        }
        for (name, p) in [
            ("ctorigsrcport", &self.orig_src_port),
            ("ctorigdstport", &self.orig_dst_port),
            ("ctreplsrcport", &self.repl_src_port),
            ("ctrepldstport", &self.repl_dst_port),
        ] {
            if let Some(p) = p {
                neg(out, p.inv);
                let _ = write!(out, " {name} {}", fmt_port_range(&p.val));
            }
        }
        if let Some(s) = self.status {
            neg(out, s.inv);
            let _ = write!(out, " ctstatus {}", fmt_status(s.val));
        }
        if let Some(e) = self.expire {
            neg(out, e.inv);
            if e.val.0 == e.val.1 {
                let _ = write!(out, " ctexpire {}", e.val.0);
            } else {
                let _ = write!(out, " ctexpire {}:{}", e.val.0, e.val.1);
            }
        }
        if let Some(d) = self.dir {
            out.push_str(match d {
                CtDir::Original => " ctdir ORIGINAL",
                CtDir::Reply => " ctdir REPLY",
            });
        }
    }

    /// libxt_conntrack's options are guided: libxtables words a repeated one (checked
    /// with iptables-restore and ip6tables-restore 1.8.9).
    fn repeated(opt: &str) -> String {
        let ext = if opt == "--state" {
            "state"
        } else {
            "conntrack"
        };
        format!("{ext}: option \"{opt}\" can only be used once.\n")
    }
}
