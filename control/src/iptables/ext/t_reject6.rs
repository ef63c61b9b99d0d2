//! libip6t_REJECT: `--reject-with TYPE`, a type or its alias by case-insensitive prefix,
//! the first in libip6t_REJECT's table order winning (`p` is port-unreach).

use super::Args;
use dataplane::ruleset::targets::reject6::{Reject6Target, Reject6With};

pub const OPTIONS: &[&str] = &["--reject-with"];

pub fn parse_with(v: &str) -> Result<Reject6With, String> {
    let lower = v.to_ascii_lowercase();
    Reject6With::NAMES
        .iter()
        .find(|(_, name, alias)| {
            name.starts_with(&lower) || alias.is_some_and(|a| a.starts_with(&lower))
        })
        .map(|(k, _, _)| *k)
        .ok_or_else(|| format!("unknown reject type \"{v}\""))
}

impl super::TargetText for Reject6Target {
    fn new() -> Self {
        Default::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(&mut self, opt: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        if inv {
            return Err(format!("REJECT: option \"{opt}\" cannot be inverted."));
        }
        self.with = parse_with(&args.value(opt)?)?;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --reject-with ");
        out.push_str(self.with.name());
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        out.push_str(" reject-with ");
        out.push_str(self.with.name());
    }

    fn repeated(opt: &str) -> String {
        format!("REJECT: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_prefix_in_table_order() {
        assert_eq!(parse_with("p"), Ok(Reject6With::PortUnreachable));
        assert_eq!(parse_with("icmp6-a"), Ok(Reject6With::AdmProhibited));
        assert_eq!(parse_with("ICMP6-NO-ROUTE"), Ok(Reject6With::NoRoute));
        assert_eq!(parse_with("tcp"), Ok(Reject6With::TcpReset));
        assert_eq!(
            parse_with("tcp-rst"),
            Err("unknown reject type \"tcp-rst\"".into())
        );
    }
}
