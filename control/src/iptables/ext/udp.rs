//! libxt_udp: `--sport`, `--dport`.

use super::{no_inv, once, parse_port_range, tcp::save_ports, Args};
use dataplane::ruleset::matches::udp::UdpMatch;
use dataplane::ruleset::Inv;

pub const OPTIONS: &[&str] = &["--source-port", "--sport", "--destination-port", "--dport"];

pub fn parse(m: &mut UdpMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    match o {
        "--source-port" | "--sport" => {
            once(&m.sport, "--sport")?;
            m.sport = Some(Inv::new(inv, parse_port_range(&args.value(o)?, "udp")?));
        }
        "--destination-port" | "--dport" => {
            once(&m.dport, "--dport")?;
            m.dport = Some(Inv::new(inv, parse_port_range(&args.value(o)?, "udp")?));
        }
        _ => no_inv(true, o)?,
    }
    Ok(())
}

pub fn save(m: &UdpMatch, out: &mut String) {
    save_ports(out, "--sport", &m.sport);
    save_ports(out, "--dport", &m.dport);
}
