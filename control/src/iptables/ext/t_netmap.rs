//! libxt_NETMAP: `--to ADDR[/MASK]` (a prefix length or a dotted mask; the host part is
//! cleared and `/32` printed, as iptables does).

use super::{fmt_net, parse_net, Args};
use dataplane::ruleset::targets::netmap::NetmapTarget;

pub const OPTIONS: &[&str] = &["--to"];

pub fn parse(t: &mut NetmapTarget, o: &str, args: &mut Args) -> Result<(), String> {
    t.to = parse_net(&args.value(o)?)?;
    Ok(())
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
        out.push_str(&fmt_net(&self.to));
    }

    /// ` to:ADDR/LEN`.
    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" to:");
        out.push_str(&fmt_net(&self.to));
    }
}
