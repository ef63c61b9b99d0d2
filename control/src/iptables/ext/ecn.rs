//! libxt_ecn: `[!] --ecn-tcp-cwr`, `[!] --ecn-tcp-ece`, `[!] --ecn-ip-ect 0-3` (at least
//! one); saved ECE, CWR, ECT in that order, listed as `ECN match [!]ECE [!]CWR [!]ECT=N`.

use super::Args;
use dataplane::ruleset::matches::ecn::EcnMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--ecn-tcp-cwr", "--ecn-tcp-ece", "--ecn-ip-ect"];

fn bang(inv: bool) -> &'static str {
    if inv {
        " !"
    } else {
        ""
    }
}

impl super::MatchText for EcnMatch {
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
        match o {
            "--ecn-tcp-cwr" => self.cwr = Some(!inv),
            "--ecn-tcp-ece" => self.ece = Some(!inv),
            _ => {
                let v = args.value(o)?;
                let ect = v.parse::<u8>().ok().filter(|n| *n <= 3).ok_or_else(|| {
                    "ecn: bad value for option \"--ecn-ip-ect\", or out of range (0-3).".to_string()
                })?;
                self.ip_ect = Some((ect, inv));
            }
        }
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("ECN match: some option required".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if let Some(want) = self.ece {
            let _ = write!(out, "{} --ecn-tcp-ece", bang(!want));
        }
        if let Some(want) = self.cwr {
            let _ = write!(out, "{} --ecn-tcp-cwr", bang(!want));
        }
        if let Some((ect, inv)) = self.ip_ect {
            let _ = write!(out, "{} --ecn-ip-ect {ect}", bang(inv));
        }
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" ECN match");
        if let Some(want) = self.ece {
            let _ = write!(out, " {}ECE", if want { "" } else { "!" });
        }
        if let Some(want) = self.cwr {
            let _ = write!(out, " {}CWR", if want { "" } else { "!" });
        }
        if let Some((ect, inv)) = self.ip_ect {
            let _ = write!(out, " {}ECT={ect}", if inv { "!" } else { "" });
        }
    }
}
