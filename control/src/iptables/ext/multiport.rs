//! libxt_multiport (rev 1): `--sports`, `--dports`, `--ports` with ranges.

use super::{fmt_port_range, opt, parse_port_range, Args, Ctx};
use dataplane::ruleset::matches::multiport::{MultiportDir, MultiportMatch, MAX_SLOTS};

pub const OPTIONS: &[&str] = &[
    "--source-ports",
    "--sports",
    "--destination-ports",
    "--dports",
    "--ports",
];

pub fn new() -> MultiportMatch {
    MultiportMatch {
        inv: false,
        dir: MultiportDir::Either,
        ports: Vec::new(),
    }
}

pub fn parse(
    m: &mut MultiportMatch,
    o: &str,
    inv: bool,
    args: &mut Args,
    ctx: &Ctx,
) -> Result<(), String> {
    if !m.ports.is_empty() {
        return Err("multiport can only have one option".into());
    }
    m.dir = match o {
        "--source-ports" | "--sports" => MultiportDir::Source,
        "--destination-ports" | "--dports" => MultiportDir::Destination,
        _ => MultiportDir::Either,
    };
    m.inv = inv;
    let list = args.value(o)?;
    for item in list.split(',') {
        m.ports.push(parse_port_range(item, ctx.proto_name())?);
    }
    if m.slots() > MAX_SLOTS {
        return Err("too many ports specified".into());
    }
    Ok(())
}

pub fn finish(m: &mut MultiportMatch) -> Result<(), String> {
    if m.ports.is_empty() {
        return Err("multiport expects an option".into());
    }
    Ok(())
}

pub fn save(m: &MultiportMatch, out: &mut String) {
    let name = match m.dir {
        MultiportDir::Source => "--sports",
        MultiportDir::Destination => "--dports",
        MultiportDir::Either => "--ports",
    };
    opt(out, m.inv, name);
    out.push(' ');
    let list: Vec<String> = m.ports.iter().map(fmt_port_range).collect();
    out.push_str(&list.join(","));
}

pub fn list(m: &MultiportMatch, numeric: bool, out: &mut String) {
    out.push_str(match m.dir {
        MultiportDir::Source => " multiport sports ",
        MultiportDir::Destination => " multiport dports ",
        MultiportDir::Either => " multiport ports ",
    });
    if m.inv {
        out.push_str(" !");
    }
    for (i, r) in m.ports.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        super::tcp::list_port(out, r.lo, "tcp", numeric);
        if r.lo != r.hi {
            out.push(':');
            super::tcp::list_port(out, r.hi, "tcp", numeric);
        }
    }
}

impl super::MatchText for dataplane::ruleset::matches::multiport::MultiportMatch {
    fn new(_name: &str) -> Self {
        new()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut super::Args,
        ctx: &super::Ctx,
    ) -> Result<(), String> {
        parse(self, opt, inv, args, ctx)
    }

    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        finish(self)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, numeric: bool, out: &mut String) {
        list(self, numeric, out);
    }
}
