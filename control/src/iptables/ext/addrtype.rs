//! libxt_addrtype (rev 1): `--src-type`, `--dst-type`, `--limit-iface-in|out`.

use super::{no_inv, once, opt, Args};
use dataplane::ruleset::matches::addrtype::{AddrtypeMatch, TYPE_NAMES};
use dataplane::ruleset::Inv;

pub const OPTIONS: &[&str] = &[
    "--src-type",
    "--dst-type",
    "--limit-iface-in",
    "--limit-iface-out",
];

fn parse_types(s: &str) -> Result<u16, String> {
    let mut bits = 0u16;
    for w in s.split(',') {
        let i = TYPE_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(w))
            .ok_or_else(|| format!("addrtype: bad type `{w}'"))?;
        bits |= 1 << i;
    }
    Ok(bits)
}

pub fn fmt_types(bits: u16) -> String {
    TYPE_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

impl super::MatchText for AddrtypeMatch {
    fn new(_name: &str) -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn for_family(&mut self, family: dataplane::ruleset::Family) {
        self.family = family;
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        match o {
            "--src-type" => {
                once(&self.src, o)?;
                self.src = Some(Inv::new(inv, parse_types(&args.value(o)?)?));
            }
            "--dst-type" => {
                once(&self.dst, o)?;
                self.dst = Some(Inv::new(inv, parse_types(&args.value(o)?)?));
            }
            "--limit-iface-in" => {
                no_inv(inv, o)?;
                self.limit_iface_in = true;
            }
            _ => {
                no_inv(inv, o)?;
                self.limit_iface_out = true;
            }
        }
        Ok(())
    }

    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        if self.src.is_none() && self.dst.is_none() {
            return Err("addrtype: you must specify --src-type or --dst-type".into());
        }
        if self.limit_iface_in && self.limit_iface_out {
            return Err(
                "addrtype: you can't specify both --limit-iface-in and --limit-iface-out".into(),
            );
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        for (name, t) in [("--src-type", self.src), ("--dst-type", self.dst)] {
            if let Some(t) = t {
                opt(out, t.inv, name);
                out.push(' ');
                out.push_str(&fmt_types(t.val));
            }
        }
        if self.limit_iface_in {
            out.push_str(" --limit-iface-in");
        }
        if self.limit_iface_out {
            out.push_str(" --limit-iface-out");
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" ADDRTYPE match");
        for (name, t) in [(" src-type ", self.src), (" dst-type ", self.dst)] {
            if let Some(t) = t {
                out.push_str(name);
                if t.inv {
                    out.push('!');
                }
                out.push_str(&fmt_types(t.val));
            }
        }
        if self.limit_iface_in {
            out.push_str(" limit-in");
        }
        if self.limit_iface_out {
            out.push_str(" limit-out");
        }
    }
}
