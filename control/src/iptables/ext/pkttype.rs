//! libxt_pkttype: `[!] --pkt-type unicast|broadcast|multicast|otherhost` (any case; `host`
//! is unicast), listed as `PKTTYPE = NAME` or `PKTTYPE != NAME`.

use super::Args;
use dataplane::ruleset::matches::pkttype::{PktType, PkttypeMatch};

pub const OPTIONS: &[&str] = &["--pkt-type"];

pub fn new() -> PkttypeMatch {
    PkttypeMatch {
        inv: false,
        pkt_type: PktType::Unicast,
    }
}

pub fn parse(m: &mut PkttypeMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    let pkt_type = match v.to_ascii_lowercase().as_str() {
        "unicast" | "host" => PktType::Unicast,
        "broadcast" => PktType::Broadcast,
        "multicast" => PktType::Multicast,
        "otherhost" => PktType::OtherHost,
        _ => return Err(format!("Bad packet type '{v}'")),
    };
    *m = PkttypeMatch { inv, pkt_type };
    Ok(())
}

pub fn finish(seen: &[&str]) -> Result<(), String> {
    if seen.is_empty() {
        return Err("pkttype: option \"--pkt-type\" must be specified".into());
    }
    Ok(())
}

pub fn save(m: &PkttypeMatch, out: &mut String) {
    if m.inv {
        out.push_str(" !");
    }
    out.push_str(" --pkt-type ");
    out.push_str(m.pkt_type.name());
}

pub fn list(m: &PkttypeMatch, out: &mut String) {
    out.push_str(if m.inv { " PKTTYPE != " } else { " PKTTYPE = " });
    out.push_str(m.pkt_type.name());
}

impl super::MatchText for dataplane::ruleset::matches::pkttype::PkttypeMatch {
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
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        parse(self, opt, inv, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        finish(seen)
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        list(self, out);
    }
}
