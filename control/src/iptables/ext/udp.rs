//! libxt_udp: `--sport`, `--dport`.

use super::tcp::{nft_port_range, no_alias_twice, save_ports, vanished};
use super::{no_inv, parse_port_range, Args};
use dataplane::ruleset::matches::udp::UdpMatch;

pub const OPTIONS: &[&str] = &["--source-port", "--sport", "--destination-port", "--dport"];

impl super::MatchText for UdpMatch {
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
                no_alias_twice(m.sport.is_some(), "--sport")?;
                m.sport = nft_port_range(inv, parse_port_range(&args.value(o)?, "udp")?);
            }
            "--destination-port" | "--dport" => {
                no_alias_twice(m.dport.is_some(), "--dport")?;
                m.dport = nft_port_range(inv, parse_port_range(&args.value(o)?, "udp")?);
            }
            _ => no_inv(true, o)?,
        }
        Ok(())
    }

    fn vanishes(&self, seen: &[&'static str]) -> bool {
        vanished(seen, *self == UdpMatch::default())
    }

    fn save(&self, out: &mut String) {
        save_ports(out, "--sport", &self.sport);
        save_ports(out, "--dport", &self.dport);
    }

    fn list(&self, numeric: bool, out: &mut String) {
        out.push_str(" udp");
        super::tcp::list_ports(out, "spt", &self.sport, "udp", numeric);
        super::tcp::list_ports(out, "dpt", &self.dport, "udp", numeric);
    }
}
