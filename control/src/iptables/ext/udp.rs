//! libxt_udp: `--sport`, `--dport`.

use super::tcp::{nft_port_range, no_alias_twice, save_ports, vanished};
use super::{no_inv, parse_port_range, Args};
use dataplane::ruleset::matches::udp::UdpMatch;

pub const OPTIONS: &[&str] = &["--source-port", "--sport", "--destination-port", "--dport"];

pub fn parse(m: &mut UdpMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
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

pub fn save(m: &UdpMatch, out: &mut String) {
    save_ports(out, "--sport", &m.sport);
    save_ports(out, "--dport", &m.dport);
}

pub fn list(m: &UdpMatch, numeric: bool, out: &mut String) {
    out.push_str(" udp");
    super::tcp::list_ports(out, "spt", &m.sport, "udp", numeric);
    super::tcp::list_ports(out, "dpt", &m.dport, "udp", numeric);
}

impl super::MatchText for dataplane::ruleset::matches::udp::UdpMatch {
    fn new(_name: &str) -> Self {
        Default::default()
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

    fn vanishes(&self, seen: &[&'static str]) -> bool {
        vanished(seen, *self == UdpMatch::default())
    }

    fn save(&self, out: &mut String) {
        save(self, out);
    }

    fn list(&self, numeric: bool, out: &mut String) {
        list(self, numeric, out);
    }
}
