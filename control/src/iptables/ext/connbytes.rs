//! libxt_connbytes: `[!] --connbytes FROM[:TO]`, `--connbytes-dir original|reply|both`,
//! `--connbytes-mode packets|bytes|avgpkt`, all three required. `!` swaps the bounds, as
//! iptables hands them to the kernel; saved and listed with the bounds back in order and
//! `:TO` left out when it is the largest count.

use super::Args;
use dataplane::ruleset::matches::connbytes::{ConnbytesDir, ConnbytesMatch, ConnbytesMode};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--connbytes", "--connbytes-dir", "--connbytes-mode"];

fn count(s: &str) -> Result<u64, String> {
    s.parse::<u64>().map_err(|_| {
        format!(
            "connbytes: bad value for option \"--connbytes\" near \"{s}\", or out of range (0-{}).",
            u64::MAX
        )
    })
}

fn cannot_invert(inv: bool, o: &str) -> Result<(), String> {
    if inv {
        return Err(format!("connbytes: option \"{o}\" cannot be inverted."));
    }
    Ok(())
}

/// `(inverted, low, high)`.
fn bounds(m: &ConnbytesMatch) -> (bool, u64, u64) {
    if m.from > m.to {
        (true, m.to, m.from)
    } else {
        (false, m.from, m.to)
    }
}

fn range(out: &mut String, lo: u64, hi: u64) {
    if hi == u64::MAX {
        let _ = write!(out, "{lo}");
    } else {
        let _ = write!(out, "{lo}:{hi}");
    }
}

impl super::MatchText for ConnbytesMatch {
    fn new(_name: &str) -> Self {
        ConnbytesMatch {
            from: 0,
            to: u64::MAX,
            mode: ConnbytesMode::Packets,
            dir: ConnbytesDir::Both,
        }
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
        let v = args.value(o)?;
        match o {
            "--connbytes" => {
                let (from, to) = match v.split_once(':') {
                    Some((a, b)) => (
                        if a.is_empty() { 0 } else { count(a)? },
                        if b.is_empty() { u64::MAX } else { count(b)? },
                    ),
                    None => (count(&v)?, u64::MAX),
                };
                if from > to {
                    return Err(format!("{from} should be less than {to}"));
                }
                (self.from, self.to) = if inv { (to, from) } else { (from, to) };
            }
            "--connbytes-dir" => {
                cannot_invert(inv, o)?;
                self.dir = match v.as_str() {
                    "original" => ConnbytesDir::Original,
                    "reply" => ConnbytesDir::Reply,
                    "both" => ConnbytesDir::Both,
                    _ => return Err(format!("Unknown --connbytes-dir `{v}'")),
                };
            }
            _ => {
                cannot_invert(inv, o)?;
                self.mode = match v.as_str() {
                    "packets" => ConnbytesMode::Packets,
                    "bytes" => ConnbytesMode::Bytes,
                    "avgpkt" => ConnbytesMode::Avgpkt,
                    _ => return Err(format!("Unknown --connbytes-mode `{v}'")),
                };
            }
        }
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        for o in OPTIONS {
            if !seen.contains(o) {
                return Err(format!("connbytes: option \"{o}\" must be specified"));
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let (inv, lo, hi) = bounds(self);
        out.push_str(if inv {
            " ! --connbytes "
        } else {
            " --connbytes "
        });
        range(out, lo, hi);
        let _ = write!(
            out,
            " --connbytes-mode {} --connbytes-dir {}",
            self.mode.name(),
            self.dir.name()
        );
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let (inv, lo, hi) = bounds(self);
        out.push_str(if inv { " ! connbytes " } else { " connbytes " });
        range(out, lo, hi);
        let _ = write!(
            out,
            " connbytes mode {} connbytes direction {}",
            self.mode.name(),
            self.dir.name()
        );
    }
}
