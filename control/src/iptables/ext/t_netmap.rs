//! libxt_NETMAP: `--to ADDR[/MASK]` (a prefix length or a dotted mask; the host part is
//! cleared and `/32` printed, as iptables does).

use super::{fmt_net, fmt_net6, parse_net, Args};
use dataplane::ruleset::targets::netmap::NetmapTarget;
use dataplane::ruleset::{Family, Ipv6Net};

pub const OPTIONS: &[&str] = &["--to"];

pub fn parse(t: &mut NetmapTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    if t.to6.is_some() {
        // ip6tables: the address with its host part cleared, as for IPv4.
        let n = super::conntrack::parse_host6_of("NETMAP", &v, o)?;
        let addr = std::net::Ipv6Addr::from(u128::from(n.addr) & n.mask);
        t.to6 = Some(Ipv6Net { addr, mask: n.mask });
        return Ok(());
    }
    t.to = parse_net(&v)?;
    Ok(())
}

/// ` ADDR/LEN` of either family.
fn fmt_to(t: &NetmapTarget) -> String {
    match &t.to6 {
        Some(n) => fmt_net6(n),
        None => fmt_net(&t.to),
    }
}

impl super::TargetText for NetmapTarget {
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

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if !seen.contains(&"--to") {
            return Err("NETMAP: option \"--to\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --to ");
        out.push_str(&fmt_to(self));
    }

    /// ` to:ADDR/LEN`.
    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" to:");
        out.push_str(&fmt_to(self));
    }

    fn for_family(&mut self, family: Family) {
        if family == Family::V6 {
            self.to6 = Some(Ipv6Net::new(0.into(), 0));
        }
    }
}
