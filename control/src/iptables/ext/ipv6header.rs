//! libip6t_ipv6header: `[!] --header NAME,...` (required) and `--soft`. Names are
//! libip6t_ipv6header's own (`hop`, `dst`, `route`, `frag`, `auth`, `esp`, `none`, `prot`
//! and their numbers) or a protocol name of the system's table (`ipv6-frag`, `ah`, ...);
//! a protocol that is no extension header is refused by its number. Saved with the
//! system's names in the kernel's bit order. (getprotobyname's aliases are matched
//! without regard to case, a little wider than glibc.)

use super::Args;
use dataplane::ruleset::matches::ipv6header::{Ipv6headerMatch, HEADER_BITS};

pub const OPTIONS: &[&str] = &["--header", "--soft"];

/// libip6t_ipv6header's own names, tried after the system's protocol names.
const OWN_NAMES: [(&str, u8); 18] = [
    ("hop-by-hop", 0),
    ("protocol", 255),
    ("hop", 0),
    ("dst", 60),
    ("route", 43),
    ("frag", 44),
    ("auth", 51),
    ("esp", 50),
    ("none", 59),
    ("prot", 255),
    ("0", 0),
    ("60", 60),
    ("43", 43),
    ("44", 44),
    ("51", 51),
    ("50", 50),
    ("59", 59),
    ("255", 255),
];

fn header_proto(s: &str) -> Result<u8, String> {
    crate::iptables::names::system_proto(s)
        .or_else(|| OWN_NAMES.iter().find(|(n, _)| *n == s).map(|(_, p)| *p))
        .ok_or_else(|| format!("unknown header `{s}' specified"))
}

pub fn parse_headers(v: &str) -> Result<u8, String> {
    let mut bits = 0;
    // strtok: empty items (`frag,`) are skipped.
    for name in v.split(',').filter(|n| !n.is_empty()) {
        let p = header_proto(name)?;
        bits |=
            Ipv6headerMatch::bit_of(p).ok_or_else(|| format!("unknown header `{p}' specified"))?;
    }
    Ok(bits)
}

/// The header names in the kernel's bit order, as ip6tables prints them.
fn header_names(bits: u8) -> String {
    HEADER_BITS
        .iter()
        .filter(|(_, b)| bits & b != 0)
        .map(|(p, _)| match p {
            0 => "hop-by-hop".to_string(),
            255 => "protocol".to_string(),
            p => crate::iptables::names::proto_name(*p),
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl super::MatchText for Ipv6headerMatch {
    fn new(_name: &str) -> Self {
        Ipv6headerMatch::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        if opt == "--soft" {
            if inv {
                return Err("ipv6header: option \"--soft\" cannot be inverted.".into());
            }
            self.soft = true;
            return Ok(());
        }
        self.headers = parse_headers(&args.value(opt)?)?;
        self.inv = inv;
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if !seen.contains(&"--header") {
            return Err("ipv6header: option \"--header\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        super::opt(out, self.inv, "--header");
        out.push(' ');
        out.push_str(&header_names(self.headers));
        if self.soft {
            out.push_str(" --soft");
        }
    }

    /// ` ipv6header flags:!ipv6-frag soft` (libip6t_ipv6header's print).
    fn list(&self, numeric: bool, out: &mut String) {
        out.push_str(" ipv6header flags:");
        if self.inv {
            out.push('!');
        }
        if numeric {
            let _ = std::fmt::Write::write_fmt(out, format_args!("0x{:02X}", self.headers));
        } else {
            out.push_str(&header_names(self.headers));
        }
        if self.soft {
            out.push_str(" soft");
        }
    }

    fn repeated(opt: &str) -> String {
        format!("ipv6header: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_ip6tables_reads_them() {
        assert_eq!(parse_headers("ip"), Ok(128));
        assert_eq!(parse_headers("IPv6-Opts"), Ok(64));
        assert_eq!(parse_headers("hopopt,auth,prot"), Ok(128 | 8 | 1));
        assert_eq!(parse_headers("frag,frag"), Ok(16));
        assert_eq!(parse_headers("ipv6-frag,"), Ok(16));
        assert_eq!(
            parse_headers("tcp"),
            Err("unknown header `6' specified".into())
        );
        assert_eq!(
            parse_headers("proto"),
            Err("unknown header `proto' specified".into())
        );
        assert_eq!(
            header_names(0xff),
            "hop-by-hop,ipv6-opts,ipv6-route,ipv6-frag,ah,esp,ipv6-nonxt,protocol"
        );
    }
}
