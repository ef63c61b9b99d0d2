//! libxt_TCPOPTSTRIP: `--strip-options KIND[,KIND...]`, each a name (`wscale`, `mss`,
//! `sack-permitted`, `sack`, `timestamp`, `md5`, as written) or a number 2..=255 (C's
//! base 0). Saved as numbers; listed as `TCPOPTSTRIP options ...` with names unless `-n`.

use super::Args;
use dataplane::ruleset::targets::tcpoptstrip::TcpoptstripTarget;

pub const OPTIONS: &[&str] = &["--strip-options"];

/// libxt_TCPOPTSTRIP's names, in its order.
const NAMES: [(&str, u8); 6] = [
    ("wscale", 3),
    ("mss", 2),
    ("sack-permitted", 4),
    ("sack", 5),
    ("timestamp", 8),
    ("md5", 19),
];

pub fn parse(t: &mut TcpoptstripTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    for s in v.split(',') {
        let kind = match NAMES.iter().find(|(n, _)| *n == s) {
            Some(&(_, k)) => u64::from(k),
            None => super::parse_uint(s)
                .filter(|&k| k <= 255)
                .ok_or_else(|| format!("Bad TCP option value \"{s}\""))?,
        };
        if kind < 2 {
            return Err("Option value may not be 0 or 1".into());
        }
        let kind = kind as u8;
        if t.strips(kind) {
            return Err(format!("Option \"{s}\" already specified"));
        }
        t.add(kind);
    }
    Ok(())
}

fn kinds(t: &TcpoptstripTarget, numeric: bool) -> String {
    t.iter()
        .map(|k| match NAMES.iter().find(|&&(_, n)| n == k) {
            Some((name, _)) if !numeric => name.to_string(),
            _ => k.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl super::TargetText for TcpoptstripTarget {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        super::no_inv(inv, opt)?;
        parse(self, opt, args)
    }

    fn save(&self, out: &mut String) {
        let t = self;
        if t.iter().next().is_some() {
            out.push_str(" --strip-options ");
            out.push_str(&kinds(t, true));
        }
    }

    fn list(&self, numeric: bool, out: &mut String) {
        let t = self;
        if t.iter().next().is_some() {
            out.push_str(" TCPOPTSTRIP options ");
            out.push_str(&kinds(t, numeric));
        }
    }
}
