//! libxt_mac: `--mac-source XX:XX:XX:XX:XX:XX`.

use super::{opt, Args};
use dataplane::ruleset::matches::mac::MacMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--mac-source"];

pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let mut mac = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(format!("Bad mac address \"{s}\""));
    }
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 {
            return Err(format!("Bad mac address \"{s}\""));
        }
        mac[i] = u8::from_str_radix(p, 16).map_err(|_| format!("Bad mac address \"{s}\""))?;
    }
    Ok(mac)
}

pub fn fmt_mac(mac: &[u8; 6]) -> String {
    let mut s = String::with_capacity(17);
    for (i, b) in mac.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl super::MatchText for MacMatch {
    fn new(_name: &str) -> Self {
        MacMatch {
            inv: false,
            addr: [0; 6],
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
        self.addr = parse_mac(&args.value(o)?)?;
        self.inv = inv;
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("mac: option \"--mac-source\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        opt(out, self.inv, "--mac-source");
        out.push(' ');
        out.push_str(&fmt_mac(&self.addr));
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let _ = write!(
            out,
            " MAC {}{}",
            if self.inv { "! " } else { "" },
            fmt_mac(&self.addr)
        );
    }
}
