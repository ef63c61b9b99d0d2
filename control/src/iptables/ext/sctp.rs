//! libxt_sctp: `[!] --sport`/`--source-port PORT[:PORT]`, `[!] --dport`/
//! `--destination-port`, `[!] --chunk-types {all|any|only} CHUNK[:FLAGS],...` (names in any
//! case, `ALL`, `NONE`; flags are letters of the chunk's valid set, upper case set, lower
//! case clear; a type given twice with flags merges them). Saved with names; listed
//! `sctp spt:1 dpts:!2:3 all DATA:Be,INIT`, chunk numbers in hex with `-n`.

use super::{parse_port_range, Args};
use dataplane::ruleset::matches::sctp::{
    ChunkFlags, ChunkMatch, ChunkTypes, SctpMatch, MAX_FLAGGED,
};
use dataplane::ruleset::{Inv, PortRange};

pub const OPTIONS: &[&str] = &[
    "--source-port",
    "--sport",
    "--destination-port",
    "--dport",
    "--chunk-types",
];

/// libxt_sctp's chunk names with their valid flags (bit 7 first, `-` for none).
const CHUNKS: [(&str, u8, &str); 18] = [
    ("DATA", 0, "----IUBE"),
    ("INIT", 1, "--------"),
    ("INIT_ACK", 2, "--------"),
    ("SACK", 3, "--------"),
    ("HEARTBEAT", 4, "--------"),
    ("HEARTBEAT_ACK", 5, "--------"),
    ("ABORT", 6, "-------T"),
    ("SHUTDOWN", 7, "--------"),
    ("SHUTDOWN_ACK", 8, "--------"),
    ("ERROR", 9, "--------"),
    ("COOKIE_ECHO", 10, "--------"),
    ("COOKIE_ACK", 11, "--------"),
    ("ECN_ECNE", 12, "--------"),
    ("ECN_CWR", 13, "--------"),
    ("SHUTDOWN_COMPLETE", 14, "-------T"),
    ("ASCONF", 193, "--------"),
    ("ASCONF_ACK", 128, "--------"),
    ("FORWARD_TSN", 192, "--------"),
];

fn chunk_by_number(t: u8) -> Option<&'static (&'static str, u8, &'static str)> {
    CHUNKS.iter().find(|c| c.1 == t)
}

fn parse_chunks(how: &str, list: &str) -> Result<ChunkTypes, String> {
    let how = match how.to_ascii_lowercase().as_str() {
        "all" => ChunkMatch::All,
        "any" => ChunkMatch::Any,
        "only" => ChunkMatch::Only,
        _ => return Err("Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"".into()),
    };
    let mut c = ChunkTypes {
        how,
        map: [0; 4],
        flags: Vec::new(),
    };
    // `ALL` and `NONE` stand alone (in a list they are unknown names).
    if list.eq_ignore_ascii_case("ALL") {
        c.map = [u64::MAX; 4];
        return Ok(c);
    }
    if list.eq_ignore_ascii_case("NONE") {
        return Ok(c);
    }
    for item in list.split(',') {
        let (name, flags) = match item.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (item, None),
        };
        let &(_, t, valid) = CHUNKS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("Unknown sctp chunk `{name}'"))?;
        c.set(t);
        let Some(flags) = flags else { continue };
        let (mut set, mut mask) = (0u8, 0u8);
        for ch in flags.chars() {
            let j = valid
                .chars()
                .position(|v| v != '-' && v == ch.to_ascii_uppercase())
                .ok_or_else(|| format!("Invalid flags for chunk type {t}"))?;
            let bit = 1u8 << (7 - j);
            mask |= bit;
            if ch.is_ascii_uppercase() {
                set |= bit;
            }
        }
        let full = c.flags.len() == MAX_FLAGGED;
        match c.flags.iter_mut().find(|e| e.chunk == t) {
            Some(e) => {
                e.flags |= set;
                e.mask |= mask;
            }
            None if full => {
                return Err("Number of chunk types with flags exceeds currently allowed limit.Increasing this limit involves changing IPT_NUM_SCTP_FLAGS andrecompiling both the kernel space and user space modules".into());
            }
            None => c.flags.push(ChunkFlags {
                chunk: t,
                flags: set,
                mask,
            }),
        }
    }
    Ok(c)
}

/// libxt_sctp's own port parser (its range message differs from libxt_tcp's).
fn port_range(s: &str) -> Result<PortRange, String> {
    let r = parse_port_range(s, "sctp")?;
    if s.contains(':') && r.lo > r.hi {
        return Err("invalid portrange (min > max)".into());
    }
    Ok(r)
}

fn ports(r: PortRange) -> String {
    if r.lo == r.hi {
        r.lo.to_string()
    } else {
        format!("{}:{}", r.lo, r.hi)
    }
}

/// `print_chunks`: the match type, then `NONE`, `ALL` or each type with its flags.
fn chunks(c: &ChunkTypes, numeric: bool, out: &mut String) {
    out.push_str(match c.how {
        ChunkMatch::Any => " any",
        ChunkMatch::All => " all",
        ChunkMatch::Only => " only",
    });
    if c.map == [0; 4] {
        out.push_str(" NONE");
        return;
    }
    if c.map == [u64::MAX; 4] {
        out.push_str(" ALL");
        return;
    }
    let mut first = true;
    for t in (0..=255u8).filter(|&t| c.has(t)) {
        out.push(if first { ' ' } else { ',' });
        first = false;
        let named = chunk_by_number(t);
        match named {
            Some((name, _, _)) if !numeric => out.push_str(name),
            _ => out.push_str(&format!("0x{t:04X}")),
        }
        for e in c.flags.iter().filter(|e| e.chunk == t && e.mask != 0) {
            out.push(':');
            let valid = named.map_or("--------", |n| n.2).as_bytes();
            for i in (0..8).rev() {
                if e.mask & (1 << i) != 0 {
                    let ch = valid[7 - i] as char;
                    out.push(if e.flags & (1 << i) != 0 {
                        ch
                    } else {
                        ch.to_ascii_lowercase()
                    });
                }
            }
        }
    }
}

/// The ports as `iptables -L` lists them for sctp and dccp (`spt:N`, `dpts:A:B`, `!`
/// after the colon; a plain full range is left out).
pub fn list_ports(
    sport: &Option<Inv<PortRange>>,
    dport: &Option<Inv<PortRange>>,
    out: &mut String,
) {
    for (name, r) in [("spt", sport), ("dpt", dport)] {
        let Some(r) = r else { continue };
        if !r.inv && r.val == PortRange::ANY {
            continue;
        }
        let inv = if r.inv { "!" } else { "" };
        if r.val.lo == r.val.hi {
            out.push_str(&format!(" {name}:{inv}{}", r.val.lo));
        } else {
            out.push_str(&format!(" {name}s:{inv}{}:{}", r.val.lo, r.val.hi));
        }
    }
}

impl super::MatchText for SctpMatch {
    fn new(_name: &str) -> Self {
        Default::default()
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
        let m = self;
        match o {
            "--source-port" | "--sport" => {
                if m.sport.is_some() {
                    return Err(Self::repeated(o));
                }
                m.sport = Some(Inv::new(inv, port_range(&args.value(o)?)?));
            }
            "--destination-port" | "--dport" => {
                if m.dport.is_some() {
                    return Err(Self::repeated(o));
                }
                m.dport = Some(Inv::new(inv, port_range(&args.value(o)?)?));
            }
            _ => {
                if m.chunks.is_some() {
                    return Err(Self::repeated(o));
                }
                let how = args.value(o)?;
                // The list is the next word, unless that is an option or a `!`.
                let two = || "--chunk-types requires two args".to_string();
                if args.peek().is_none_or(|w| w.starts_with(['-', '!'])) {
                    return Err(two());
                }
                let list = args.take_word().ok_or_else(two)?;
                m.chunks = Some(Inv::new(inv, parse_chunks(&how, &list)?));
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        for (name, r) in [("--sport", &self.sport), ("--dport", &self.dport)] {
            if let Some(r) = r {
                if r.inv {
                    out.push_str(" !");
                }
                out.push_str(&format!(" {name} {}", ports(r.val)));
            }
        }
        if let Some(c) = &self.chunks {
            if c.inv {
                out.push_str(" !");
            }
            out.push_str(" --chunk-types");
            chunks(&c.val, false, out);
        }
    }

    fn list(&self, numeric: bool, out: &mut String) {
        out.push_str(" sctp");
        list_ports(&self.sport, &self.dport, out);
        if let Some(c) = &self.chunks {
            if c.inv {
                out.push_str(" !");
            }
            chunks(&c.val, numeric, out);
        }
    }

    /// What libxt_sctp says of an option given twice (under any of its names).
    fn repeated(opt: &str) -> String {
        let name = match opt {
            "--sport" | "--source-port" => "--source-port",
            "--dport" | "--destination-port" => "--destination-port",
            o => o,
        };
        format!("Only one `{name}' allowed")
    }
}
