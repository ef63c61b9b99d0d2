//! libxt_pkttype: `[!] --pkt-type unicast|broadcast|multicast|otherhost` (any case; `host`
//! is unicast), listed as `PKTTYPE = NAME` or `PKTTYPE != NAME`.

use super::Args;
use dataplane::ruleset::matches::pkttype::{PktType, PkttypeMatch};

pub const OPTIONS: &[&str] = &["--pkt-type"];

impl super::MatchText for PkttypeMatch {
    fn new(_name: &str) -> Self {
        PkttypeMatch {
            inv: false,
            pkt_type: PktType::Unicast,
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
        let pkt_type = match v.to_ascii_lowercase().as_str() {
            "unicast" | "host" => PktType::Unicast,
            "broadcast" => PktType::Broadcast,
            "multicast" => PktType::Multicast,
            "otherhost" => PktType::OtherHost,
            _ => return Err(format!("Bad packet type '{v}'")),
        };
        *self = PkttypeMatch { inv, pkt_type };
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("pkttype: option \"--pkt-type\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" --pkt-type ");
        out.push_str(self.pkt_type.name());
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(if self.inv {
            " PKTTYPE != "
        } else {
            " PKTTYPE = "
        });
        out.push_str(self.pkt_type.name());
    }
}
