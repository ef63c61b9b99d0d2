//! libxt_TEE: `--gateway ADDR` (required; a host name is resolved once, as iptables does)
//! and `--oif NAME`.

use super::{parse_addr, Args};
use dataplane::ruleset::targets::tee::TeeTarget;

pub const OPTIONS: &[&str] = &["--gateway", "--oif"];

pub fn parse(t: &mut TeeTarget, o: &str, args: &mut Args) -> Result<(), String> {
    let v = args.value(o)?;
    match o {
        "--gateway" => {
            // libxt_TEE resolves with getaddrinfo: what it cannot read is its error.
            t.gateway =
                parse_addr(&v).map_err(|_| "getaddrinfo: Name or service not known".to_string())?;
        }
        _ => t.oif = Some(v),
    }
    Ok(())
}

impl super::TargetText for TeeTarget {
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
        if !seen.contains(&"--gateway") {
            return Err("TEE: option \"--gateway\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --gateway ");
        out.push_str(&self.gateway.to_string());
        if let Some(oif) = &self.oif {
            out.push_str(" --oif ");
            out.push_str(oif);
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" TEE gw:");
        out.push_str(&self.gateway.to_string());
        if let Some(oif) = &self.oif {
            out.push_str(" oif=");
            out.push_str(oif);
        }
    }
}
