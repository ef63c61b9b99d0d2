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

impl super::MatchText for MultiportMatch {
    fn new(_name: &str) -> Self {
        MultiportMatch {
            inv: false,
            dir: MultiportDir::Either,
            ports: Vec::new(),
        }
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, o: &str, inv: bool, args: &mut Args, ctx: &Ctx) -> Result<(), String> {
        if !self.ports.is_empty() {
            return Err("multiport can only have one option".into());
        }
        self.dir = match o {
            "--source-ports" | "--sports" => MultiportDir::Source,
            "--destination-ports" | "--dports" => MultiportDir::Destination,
            _ => MultiportDir::Either,
        };
        self.inv = inv;
        let list = args.value(o)?;
        for item in list.split(',') {
            self.ports.push(parse_port_range(item, ctx.proto_name())?);
        }
        if self.slots() > MAX_SLOTS {
            return Err("too many ports specified".into());
        }
        Ok(())
    }

    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        if self.ports.is_empty() {
            return Err("multiport expects an option".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let name = match self.dir {
            MultiportDir::Source => "--sports",
            MultiportDir::Destination => "--dports",
            MultiportDir::Either => "--ports",
        };
        opt(out, self.inv, name);
        out.push(' ');
        let list: Vec<String> = self.ports.iter().map(fmt_port_range).collect();
        out.push_str(&list.join(","));
    }

    fn list(&self, numeric: bool, out: &mut String) {
        list_for_proto(self, "tcp", numeric, out);
    }
}

/// libxt_multiport's print: ports named as services of the rule's protocol `proto`.
pub fn list_for_proto(m: &MultiportMatch, proto: &str, numeric: bool, out: &mut String) {
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
        super::tcp::list_port(out, r.lo, proto, numeric);
        if r.lo != r.hi {
            out.push(':');
            super::tcp::list_port(out, r.hi, proto, numeric);
        }
    }
}
