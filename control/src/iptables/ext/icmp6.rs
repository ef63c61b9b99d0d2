//! libip6t_icmp6: `--icmpv6-type NAME|TYPE[/CODE[:CODE]]`. Names are matched by
//! case-insensitive prefix (two hits are ambiguous); numbers as `strtoul` base 0 reads
//! them. Saved as numbers, a code range as its first code (libip6t_icmp6's save).

use super::{opt, parse_uint, Args};
use dataplane::ruleset::matches::icmp6::Icmp6Match;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--icmpv6-type"];

/// ip6tables' ICMPv6 names in its order (the order decides which two an ambiguous prefix
/// names): (name, type, code_min, code_max).
pub const ICMPV6_NAMES: [(&str, u8, u8, u8); 28] = [
    ("destination-unreachable", 1, 0, 0xff),
    ("no-route", 1, 0, 0),
    ("communication-prohibited", 1, 1, 1),
    ("beyond-scope", 1, 2, 2),
    ("address-unreachable", 1, 3, 3),
    ("port-unreachable", 1, 4, 4),
    ("failed-policy", 1, 5, 5),
    ("reject-route", 1, 6, 6),
    ("packet-too-big", 2, 0, 0xff),
    ("time-exceeded", 3, 0, 0xff),
    ("ttl-exceeded", 3, 0, 0xff),
    ("ttl-zero-during-transit", 3, 0, 0),
    ("ttl-zero-during-reassembly", 3, 1, 1),
    ("parameter-problem", 4, 0, 0xff),
    ("bad-header", 4, 0, 0),
    ("unknown-header-type", 4, 1, 1),
    ("unknown-option", 4, 2, 2),
    ("echo-request", 128, 0, 0xff),
    ("ping", 128, 0, 0xff),
    ("echo-reply", 129, 0, 0xff),
    ("pong", 129, 0, 0xff),
    ("router-solicitation", 133, 0, 0xff),
    ("router-advertisement", 134, 0, 0xff),
    ("neighbour-solicitation", 135, 0, 0xff),
    ("neighbor-solicitation", 135, 0, 0xff),
    ("neighbour-advertisement", 136, 0, 0xff),
    ("neighbor-advertisement", 136, 0, 0xff),
    ("redirect", 137, 0, 0xff),
];

fn byte(s: &str) -> Option<u8> {
    parse_uint(s).and_then(|v| u8::try_from(v).ok())
}

/// A name (by prefix), or `TYPE[/CODE[:CODE]]`.
fn parse_type(s: &str) -> Result<(u8, u8, u8), String> {
    let lower = s.to_ascii_lowercase();
    let mut hits = ICMPV6_NAMES.iter().filter(|(n, ..)| n.starts_with(&lower));
    if let Some(first) = hits.next() {
        if let Some(second) = hits.next() {
            return Err(format!(
                "Ambiguous ICMPv6 type `{s}': `{}' or `{}'?",
                first.0, second.0
            ));
        }
        return Ok((first.1, first.2, first.3));
    }
    let (t, code) = match s.split_once('/') {
        Some((t, c)) => (t, Some(c)),
        None => (s, None),
    };
    let t = byte(t).ok_or_else(|| format!("Unknown ICMPv6 type `{s}'"))?;
    let Some(code) = code else {
        return Ok((t, 0, 0xff));
    };
    let bad_code = || format!("Unknown ICMPv6 code `{s}'");
    let (lo, hi) = code.split_once(':').unwrap_or((code, code));
    Ok((
        t,
        byte(lo).ok_or_else(bad_code)?,
        byte(hi).ok_or_else(bad_code)?,
    ))
}

impl super::MatchText for Icmp6Match {
    fn new(_name: &str) -> Self {
        Icmp6Match::default()
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
        *self = Icmp6Match {
            inv,
            icmp_type: t,
            code_min: lo,
            code_max: hi,
        };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("icmp6: option \"--icmpv6-type\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        opt(out, self.inv, "--icmpv6-type");
        let _ = write!(out, " {}", self.icmp_type);
        if self.code_min != 0 || self.code_max != 0xff {
            let _ = write!(out, "/{}", self.code_min);
        }
    }

    /// ` ipv6-icmp echo-request`, or ` ipv6-icmp type 1 code 3` (libip6t_icmp6's print).
    fn list(&self, numeric: bool, out: &mut String) {
        let m = self;
        out.push_str(" ipv6-icmp");
        let inv = if m.inv { "!" } else { "" };
        if !numeric {
            let named = ICMPV6_NAMES
                .iter()
                .find(|(_, t, lo, hi)| *t == m.icmp_type && *lo == m.code_min && *hi == m.code_max);
            if let Some((name, ..)) = named {
                let _ = write!(out, " {inv}{name}");
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

    fn repeated(opt: &str) -> String {
        format!("icmp6: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_refusals_as_ip6tables_reads_them() {
        assert_eq!(parse_type("echo-req"), Ok((128, 0, 0xff)));
        assert_eq!(parse_type("ECHO-REQUEST"), Ok((128, 0, 0xff)));
        assert_eq!(parse_type("0x80"), Ok((128, 0, 0xff)));
        assert_eq!(parse_type("010"), Ok((8, 0, 0xff)));
        assert_eq!(parse_type("1/2:3"), Ok((1, 2, 3)));
        assert_eq!(parse_type("no-route"), Ok((1, 0, 0)));
        assert_eq!(
            parse_type("e"),
            Err("Ambiguous ICMPv6 type `e': `echo-request' or `echo-reply'?".into())
        );
        assert_eq!(parse_type("300"), Err("Unknown ICMPv6 type `300'".into()));
        assert_eq!(parse_type("any"), Err("Unknown ICMPv6 type `any'".into()));
        assert_eq!(parse_type("1/"), Err("Unknown ICMPv6 code `1/'".into()));
        assert_eq!(
            parse_type("1/300"),
            Err("Unknown ICMPv6 code `1/300'".into())
        );
    }
}
