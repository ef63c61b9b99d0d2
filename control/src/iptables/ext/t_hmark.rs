//! libxt_HMARK: `--hmark-tuple WORD[,WORD...]` (`ct`, `src`, `dst`, `sport`, `dport`,
//! `proto`, `spi`; any case, any prefix, tried in that order), the masks and sets
//! `--hmark-src-prefix`, `--hmark-dst-prefix` (a length or a dotted mask; what is not a
//! contiguous mask counts as 32), `--hmark-sport-mask`, `--hmark-dport-mask`,
//! `--hmark-spi-mask`, `--hmark-sport`, `--hmark-dport`, `--hmark-spi`,
//! `--hmark-proto-mask`, and `--hmark-rnd`, `--hmark-mod` (both required, the modulus not
//! 0), `--hmark-offset`. A tuple word fills the same field as its option: given after the
//! word, the option is "used twice" as libxtables sees it. Saved with every mask spelled
//! out (`src` is `--hmark-src-prefix 32`), `ct` last.

use super::Args;
use dataplane::ruleset::targets::hmark::{flag, v4_mask, HmarkTarget};
use dataplane::ruleset::Family;

pub const OPTIONS: &[&str] = &[
    "--hmark-tuple",
    "--hmark-src-prefix",
    "--hmark-dst-prefix",
    "--hmark-sport-mask",
    "--hmark-dport-mask",
    "--hmark-spi-mask",
    "--hmark-sport",
    "--hmark-dport",
    "--hmark-spi",
    "--hmark-proto-mask",
    "--hmark-rnd",
    "--hmark-mod",
    "--hmark-offset",
];

/// What libxtables says of an option given twice.
pub fn repeated(opt: &str) -> String {
    format!("HMARK: option \"{opt}\" can only be used once.\n")
}

/// The option's bit (its libxt_HMARK id), none for `--hmark-tuple`.
fn option_flag(opt: &str) -> u32 {
    match opt {
        "--hmark-src-prefix" => flag::SADDR_MASK,
        "--hmark-dst-prefix" => flag::DADDR_MASK,
        "--hmark-spi" => flag::SPI,
        "--hmark-spi-mask" => flag::SPI_MASK,
        "--hmark-sport" => flag::SPORT,
        "--hmark-dport" => flag::DPORT,
        "--hmark-sport-mask" => flag::SPORT_MASK,
        "--hmark-dport-mask" => flag::DPORT_MASK,
        "--hmark-proto-mask" => flag::PROTO_MASK,
        "--hmark-rnd" => flag::RND,
        "--hmark-mod" => flag::MODULUS,
        "--hmark-offset" => flag::OFFSET,
        _ => 0,
    }
}

/// `xtables_strtoul`: blanks and a `+` may lead, a `-` may not; base 0; `min..=max`.
fn xt_number(s: &str, min: u64, max: u64) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    if t.starts_with('-') {
        return None;
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    super::parse_uint(t).filter(|v| (min..=max).contains(v))
}

fn number(s: &str, opt: &str, min: u64, max: u64) -> Result<u64, String> {
    xt_number(s, min, max).ok_or_else(|| {
        format!("HMARK: bad value for option \"{opt}\", or out of range ({min}-{max}).")
    })
}

/// One part of a dotted address as glibc's `inet_aton` reads it: a digit first, then
/// `0x` hex, leading-zero octal or decimal.
fn aton_part(p: &str) -> Option<u64> {
    if !p.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    super::parse_uint(p)
}

/// `inet_aton` (what getaddrinfo with AI_NUMERICHOST takes for IPv4): one to four parts,
/// the last filling the bytes left.
fn inet_aton(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let (last, head) = parts.split_last()?;
    let mut v: u64 = 0;
    for (i, p) in head.iter().enumerate() {
        let b = aton_part(p).filter(|b| *b <= 0xff)?;
        v |= b << (24 - 8 * i);
    }
    let room = 32 - 8 * head.len() as u32;
    let tail = aton_part(last).filter(|t| *t < 1u64 << room)?;
    u32::try_from(v | tail).ok()
}

/// XTTYPE_PLENMASK for IPv4: a length 0..=32, else a numeric dotted mask (a mask that is
/// not contiguous ends up all ones, as libxtables 1.8.9 leaves it).
fn prefix_mask(s: &str, opt: &str) -> Result<u32, String> {
    let len = match xt_number(s, 0, 32) {
        Some(len) => len as u32,
        None => {
            let m = inet_aton(s).ok_or_else(|| {
                format!(
                    "HMARK: bad value for option \"{opt}\", neither a valid network mask nor valid CIDR (0-32)."
                )
            })?;
            if m.leading_ones() + m.trailing_zeros() == 32 {
                m.leading_ones()
            } else {
                32
            }
        }
    };
    Ok(if len == 0 { 0 } else { u32::MAX << (32 - len) })
}

/// XTTYPE_PLENMASK for IPv6 (ip6tables): a length 0..=128, else a numeric IPv6 mask (one
/// that is not contiguous ends up all ones, as for IPv4).
fn prefix_mask6(s: &str, opt: &str) -> Result<u128, String> {
    let len = match xt_number(s, 0, 128) {
        Some(len) => len as u32,
        None => {
            let m = u128::from(s.parse::<std::net::Ipv6Addr>().map_err(|_| {
                format!(
                    "HMARK: bad value for option \"{opt}\", neither a valid network mask nor valid CIDR (0-128)."
                )
            })?);
            if m.leading_ones() + m.trailing_zeros() == 128 {
                m.leading_ones()
            } else {
                128
            }
        }
    };
    Ok(u128::MAX.checked_shl(128 - len).unwrap_or(0))
}

/// The mask of `--hmark-src-prefix`/`--hmark-dst-prefix` for the target's family.
fn family_mask(t: &HmarkTarget, s: &str, opt: &str) -> Result<u128, String> {
    if t.v6 {
        prefix_mask6(s, opt)
    } else {
        prefix_mask(s, opt).map(v4_mask)
    }
}

/// One word of `--hmark-tuple` (`strncasecmp` over the word's length, first hit wins).
fn tuple_word(t: &mut HmarkTarget, w: &str) -> bool {
    let is = |k: &str| w.len() <= k.len() && k[..w.len()].eq_ignore_ascii_case(w);
    if is("ct") {
        t.flags |= flag::CT;
    } else if is("src") {
        // libxt_HMARK sets the whole `union nf_inet_addr`.
        t.src_mask = u128::MAX;
        t.flags |= flag::SADDR_MASK;
    } else if is("dst") {
        t.dst_mask = u128::MAX;
        t.flags |= flag::DADDR_MASK;
    } else if is("sport") {
        t.port_mask |= 0xffff_0000;
        t.flags |= flag::SPORT_MASK;
    } else if is("dport") {
        t.port_mask |= 0xffff;
        t.flags |= flag::DPORT_MASK;
    } else if is("proto") {
        t.proto_mask = 0xffff;
        t.flags |= flag::PROTO_MASK;
    } else if is("spi") {
        t.port_mask = u32::MAX;
        t.flags |= flag::SPI_MASK;
    } else {
        return false;
    }
    true
}

fn parse_tuple(t: &mut HmarkTarget, v: &str) -> Result<(), String> {
    let mut rest = v;
    while let Some((w, after)) = rest.split_once(',') {
        if w.is_empty() || !tuple_word(t, w) {
            return Err(format!("Bad type \"{rest}\""));
        }
        rest = after;
    }
    if rest.is_empty() {
        return Err("\"--hmark-tuple\" requires a list of types with no spaces, e.g. src,dst,sport,dport,proto".into());
    }
    if !tuple_word(t, rest) {
        return Err(format!("Bad type \"{rest}\""));
    }
    Ok(())
}

pub fn parse(t: &mut HmarkTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let bit = option_flag(o);
    if t.flags & bit != 0 {
        return Err(repeated(o));
    }
    let v = args.value(o)?;
    const U16: u64 = u16::MAX as u64;
    const U32: u64 = u32::MAX as u64;
    match o {
        "--hmark-tuple" => return parse_tuple(t, &v),
        "--hmark-src-prefix" => t.src_mask = family_mask(t, &v, o)?,
        "--hmark-dst-prefix" => t.dst_mask = family_mask(t, &v, o)?,
        "--hmark-sport-mask" => {
            t.port_mask = (t.port_mask & 0xffff) | (number(&v, o, 0, U16)? as u32) << 16
        }
        "--hmark-dport-mask" => {
            t.port_mask = (t.port_mask & 0xffff_0000) | number(&v, o, 0, U16)? as u32
        }
        "--hmark-spi-mask" => t.port_mask = number(&v, o, 0, U32)? as u32,
        "--hmark-sport" => {
            t.port_set = (t.port_set & 0xffff) | (number(&v, o, 0, U16)? as u32) << 16
        }
        "--hmark-dport" => t.port_set = (t.port_set & 0xffff_0000) | number(&v, o, 0, U16)? as u32,
        "--hmark-spi" => t.port_set = number(&v, o, 0, U32)? as u32,
        "--hmark-proto-mask" => t.proto_mask = number(&v, o, 0, U16)? as u16,
        "--hmark-rnd" => t.rnd = number(&v, o, 0, U32)? as u32,
        "--hmark-mod" => t.modulus = number(&v, o, 1, U32)? as u32,
        _ => t.offset = number(&v, o, 0, U32)? as u32,
    }
    t.flags |= bit;
    Ok(())
}

/// The prefix length of a mask of the target's family.
fn cidr(t: &HmarkTarget, mask: u128) -> u32 {
    if t.v6 {
        mask.leading_ones()
    } else {
        ((mask >> 96) as u32).leading_ones()
    }
}

/// A prefix as `-L` prints it: HMARK_ip6_print prints xtables_ip6mask_to_numeric past its
/// '/', which for /128 is nothing.
fn list_cidr(t: &HmarkTarget, mask: u128) -> String {
    match cidr(t, mask) {
        128 => String::new(),
        n => n.to_string(),
    }
}

impl super::TargetText for HmarkTarget {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        // libxtables' guided parser words the refusal itself.
        if inv {
            return Err(format!("HMARK: option \"{opt}\" cannot be inverted."));
        }
        parse(self, opt, args)
    }

    /// libxt_HMARK's final check (HMARK_check).
    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        let t = self;
        if t.flags & flag::MODULUS == 0 {
            return Err("--hmark-mod is mandatory".into());
        }
        if t.flags & flag::RND == 0 {
            return Err("--hmark-rnd is mandatory".into());
        }
        if t.flags & flag::SPI_MASK != 0 && t.flags & (flag::SPORT_MASK | flag::DPORT_MASK) != 0 {
            return Err(
                "you cannot use --hmark-spi-mask and --hmark-?port-mask,at the same time".into(),
            );
        }
        // Every option but --hmark-rnd, --hmark-mod and --hmark-offset says what to hash.
        let what = flag::RND - 1;
        if t.flags & (what | flag::CT) == 0 {
            return Err("you have to specify --hmark-tuple at least".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        use std::fmt::Write;
        let f = |b: u32| self.flags & b != 0;
        if f(flag::SADDR_MASK) {
            let _ = write!(out, " --hmark-src-prefix {}", cidr(self, self.src_mask));
        }
        if f(flag::DADDR_MASK) {
            let _ = write!(out, " --hmark-dst-prefix {}", cidr(self, self.dst_mask));
        }
        if f(flag::SPORT_MASK) {
            let _ = write!(out, " --hmark-sport-mask 0x{:04x}", self.port_mask >> 16);
        }
        if f(flag::DPORT_MASK) {
            let _ = write!(out, " --hmark-dport-mask 0x{:04x}", self.port_mask & 0xffff);
        }
        if f(flag::SPI_MASK) {
            let _ = write!(out, " --hmark-spi-mask 0x{:08x}", self.port_mask);
        }
        if f(flag::SPORT) {
            let _ = write!(out, " --hmark-sport 0x{:04x}", self.port_set >> 16);
        }
        if f(flag::DPORT) {
            let _ = write!(out, " --hmark-dport 0x{:04x}", self.port_set & 0xffff);
        }
        if f(flag::SPI) {
            let _ = write!(out, " --hmark-spi 0x{:08x}", self.port_set);
        }
        if f(flag::PROTO_MASK) {
            let _ = write!(out, " --hmark-proto-mask 0x{:02x}", self.proto_mask);
        }
        if f(flag::RND) {
            let _ = write!(out, " --hmark-rnd 0x{:08x}", self.rnd);
        }
        if f(flag::MODULUS) {
            let _ = write!(out, " --hmark-mod {}", self.modulus);
        }
        if f(flag::OFFSET) {
            let _ = write!(out, " --hmark-offset {}", self.offset);
        }
        if f(flag::CT) {
            out.push_str(" --hmark-tuple ct");
        }
    }

    /// `HMARK mod N + 0xOFF ct, src-prefix N ... rnd 0xR ` (each part with its trailing blank).
    fn list(&self, _numeric: bool, out: &mut String) {
        use std::fmt::Write;
        let f = |b: u32| self.flags & b != 0;
        out.push_str(" HMARK ");
        if f(flag::MODULUS) {
            let _ = write!(out, "mod {} ", self.modulus);
        }
        if f(flag::OFFSET) {
            let _ = write!(out, "+ 0x{:x} ", self.offset);
        }
        if f(flag::CT) {
            out.push_str("ct, ");
        }
        if f(flag::SADDR_MASK) {
            let _ = write!(out, "src-prefix {} ", list_cidr(self, self.src_mask));
        }
        if f(flag::DADDR_MASK) {
            let _ = write!(out, "dst-prefix {} ", list_cidr(self, self.dst_mask));
        }
        if f(flag::SPORT_MASK) {
            let _ = write!(out, "sport-mask 0x{:x} ", self.port_mask >> 16);
        }
        if f(flag::DPORT_MASK) {
            let _ = write!(out, "dport-mask 0x{:x} ", self.port_mask & 0xffff);
        }
        if f(flag::SPI_MASK) {
            let _ = write!(out, "spi-mask 0x{:x} ", self.port_mask);
        }
        if f(flag::SPORT) {
            let _ = write!(out, "sport 0x{:x} ", self.port_set >> 16);
        }
        if f(flag::DPORT) {
            let _ = write!(out, "dport 0x{:x} ", self.port_set & 0xffff);
        }
        if f(flag::SPI) {
            let _ = write!(out, "spi 0x{:x} ", self.port_set);
        }
        if f(flag::PROTO_MASK) {
            let _ = write!(out, "proto-mask 0x{:x} ", self.proto_mask);
        }
        if f(flag::RND) {
            let _ = write!(out, "rnd 0x{:x} ", self.rnd);
        }
    }

    fn repeated(opt: &str) -> String {
        repeated(opt)
    }

    fn for_family(&mut self, family: Family) {
        self.v6 = family == Family::V6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_read_as_libxtables_1_8_9() {
        // What iptables 1.8.9 saved for these (checked on the kernel).
        for (s, len) in [
            ("0", 0),
            ("00", 0),
            ("+8", 8),
            ("0x10", 16),
            ("010", 8),
            ("32", 32),
            ("33", 32),
            ("129", 32),
            ("255", 32),
            ("255.255", 32),
            ("0.0", 0),
            ("255.255.0.0", 16),
            ("0xff.0xff.0.0", 16),
            ("0377.255.0.0", 16),
            ("4294901760", 16),
            ("128.0.0.0", 1),
            ("255.0.255.0", 32),
            ("1.2.3.4", 32),
        ] {
            let m = prefix_mask(s, "--hmark-src-prefix").unwrap();
            assert_eq!(m.leading_ones(), len, "{s}");
        }
        for s in [
            "abc",
            "-1",
            "8x",
            "",
            "256.0.0.0",
            " 255.255.0.0",
            "+255.255.0.0",
            "255.255.0.0x",
        ] {
            assert!(prefix_mask(s, "--hmark-src-prefix").is_err(), "{s}");
        }
    }

    #[test]
    fn tuple_words_match_by_prefix_in_libxt_order() {
        let mut t = HmarkTarget::default();
        parse_tuple(&mut t, "S,D,sp,dP,p,c").unwrap();
        assert_eq!(t.src_mask, u128::MAX);
        assert_eq!(t.dst_mask, u128::MAX);
        assert_eq!(t.port_mask, u32::MAX);
        assert_eq!(t.proto_mask, 0xffff);
        assert!(t.ct());
        assert_eq!(t.flags & flag::SPI_MASK, 0);
        let mut t = HmarkTarget::default();
        assert_eq!(
            parse_tuple(&mut t, "src,foo,dst"),
            Err("Bad type \"foo,dst\"".into())
        );
        assert!(parse_tuple(&mut HmarkTarget::default(), "srcx").is_err());
        assert!(parse_tuple(&mut HmarkTarget::default(), "src,")
            .unwrap_err()
            .starts_with("\"--hmark-tuple\" requires"));
    }

    #[test]
    fn ipv6_prefixes_read_as_ip6tables_1_8_9() {
        // What ip6tables 1.8.9 saved for these (checked on the kernel).
        for (s, len) in [
            ("64", 64),
            ("0", 0),
            ("128", 128),
            ("0x10", 16),
            ("+8", 8),
            ("ffff:ffff::", 32),
            ("ffff:0:ffff::", 128),
        ] {
            assert_eq!(
                prefix_mask6(s, "--hmark-src-prefix")
                    .unwrap()
                    .leading_ones(),
                len,
                "{s}"
            );
        }
        for s in ["129", "255.255.0.0", "abc"] {
            assert_eq!(
                prefix_mask6(s, "--hmark-src-prefix").unwrap_err(),
                "HMARK: bad value for option \"--hmark-src-prefix\", neither a valid network mask nor valid CIDR (0-128)."
            );
        }
        let t = HmarkTarget {
            v6: true,
            ..Default::default()
        };
        assert_eq!(list_cidr(&t, u128::MAX), "");
        assert_eq!(list_cidr(&t, prefix_mask6("64", "").unwrap()), "64");
        assert_eq!(prefix_mask6("0", "").unwrap(), 0);
    }
}
