//! libxt_icmp: `--icmp-type any|NAME|TYPE[/CODE[:CODE]]`. Type 255 is `any` whatever
//! the codes; a code range saves as its first code (libxt_icmp's save, lossy as it is).

use super::{opt, Args};
use dataplane::ruleset::matches::icmp::{IcmpMatch, ICMP_ANY};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--icmp-type"];

/// iptables' ICMP names: (name, type, code_min, code_max).
pub const ICMP_NAMES: [(&str, u8, u8, u8); 39] = [
    ("any", 0xff, 0, 0xff),
    ("echo-reply", 0, 0, 0xff),
    ("pong", 0, 0, 0xff),
    ("destination-unreachable", 3, 0, 0xff),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xff),
    ("redirect", 5, 0, 0xff),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xff),
    ("ping", 8, 0, 0xff),
    ("router-advertisement", 9, 0, 0xff),
    ("router-solicitation", 10, 0, 0xff),
    ("time-exceeded", 11, 0, 0xff),
    ("ttl-exceeded", 11, 0, 0xff),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xff),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xff),
    ("timestamp-reply", 14, 0, 0xff),
    ("address-mask-request", 17, 0, 0xff),
];

fn parse_type(s: &str) -> Result<(u8, u8, u8), String> {
    if let Some((_, t, lo, hi)) = ICMP_NAMES.iter().find(|(n, ..)| n.eq_ignore_ascii_case(s)) {
        return Ok((*t, *lo, *hi));
    }
    if s.eq_ignore_ascii_case("address-mask-reply") {
        return Ok((18, 0, 0xff));
    }
    let bad_type = || format!("Unknown ICMP type `{s}'");
    let bad_code = || format!("Unknown ICMP code `{s}'");
    match s.split_once('/') {
        Some((t, c)) => {
            let t = t.parse::<u8>().map_err(|_| bad_type())?;
            let (lo, hi) = match c.split_once(':') {
                Some((lo, hi)) => (lo, hi),
                None => (c, c),
            };
            let lo = lo.parse::<u8>().map_err(|_| bad_code())?;
            let hi = hi.parse::<u8>().map_err(|_| bad_code())?;
            Ok((t, lo, hi))
        }
        None => Ok((s.parse::<u8>().map_err(|_| bad_type())?, 0, 0xff)),
    }
}

impl super::MatchText for IcmpMatch {
    fn new(_name: &str) -> Self {
        IcmpMatch::any()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let (t, lo, hi) = parse_type(&args.value(o)?)?;
        *self = IcmpMatch {
            inv,
            icmp_type: t,
            code_min: lo,
            code_max: hi,
        };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("icmp: option \"--icmp-type\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        opt(out, self.inv, "--icmp-type");
        if self.icmp_type == ICMP_ANY {
            out.push_str(" any");
        } else {
            let _ = write!(out, " {}", self.icmp_type);
            if self.code_min != 0 || self.code_max != 0xff {
                let _ = write!(out, "/{}", self.code_min);
            }
        }
    }

    /// ` icmptype 8`, ` icmp !type 3 code 1`, or the name without -n.
    fn list(&self, numeric: bool, out: &mut String) {
        let m = self;
        out.push_str(" icmp");
        if !numeric {
            let named = ICMP_NAMES
                .iter()
                .chain([("address-mask-reply", 18, 0, 0xff)].iter())
                .find(|(_, t, lo, hi)| *t == m.icmp_type && *lo == m.code_min && *hi == m.code_max);
            if let Some((name, ..)) = named {
                let _ = write!(out, " {}{name}", if m.inv { "!" } else { "" });
                return;
            }
        }
        if m.inv {
            out.push_str(" !");
        }
        let _ = write!(out, "type {}", m.icmp_type);
        if m.code_min == m.code_max {
            let _ = write!(out, " code {}", m.code_min);
        } else if m.code_min != 0 || m.code_max != 0xff {
            let _ = write!(out, " codes {}-{}", m.code_min, m.code_max);
        }
    }
}
