//! libip6t_mh: `[!] --mh-type TYPE[:TYPE]`, a type by name (case-insensitive prefix, an
//! exact name first, else the first in libip6t_mh's order) or number. Nothing is saved
//! for every type.

use super::{parse_uint, Args};
use dataplane::ruleset::matches::mh::MhMatch;
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--mh-type"];

/// libip6t_mh's names, in its order.
const MH_NAMES: [(&str, u8); 16] = [
    ("binding-refresh-request", 0),
    ("brr", 0),
    ("home-test-init", 1),
    ("hoti", 1),
    ("careof-test-init", 2),
    ("coti", 2),
    ("home-test", 3),
    ("hot", 3),
    ("careof-test", 4),
    ("cot", 4),
    ("binding-update", 5),
    ("bu", 5),
    ("binding-acknowledgement", 6),
    ("ba", 6),
    ("binding-error", 7),
    ("be", 7),
];

fn name_to_type(s: &str) -> Result<u8, String> {
    let lower = s.to_ascii_lowercase();
    let mut hit = None;
    for (name, t) in MH_NAMES {
        if name.starts_with(&lower) && (hit.is_none() || name.len() == lower.len()) {
            hit = Some(t);
        }
    }
    if let Some(t) = hit {
        return Ok(t);
    }
    parse_uint(s)
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| format!("Invalid MH type `{s}'"))
}

pub fn parse_types(v: &str) -> Result<(u8, u8), String> {
    match v.split_once(':') {
        None => {
            let t = name_to_type(v)?;
            Ok((t, t))
        }
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { name_to_type(a)? };
            let hi = if b.is_empty() { 0xff } else { name_to_type(b)? };
            if lo > hi {
                return Err("Invalid MH type range (min > max)".into());
            }
            Ok((lo, hi))
        }
    }
}

impl super::MatchText for MhMatch {
    fn new(_name: &str) -> Self {
        MhMatch::default()
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        opt: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let (min, max) = parse_types(&args.value(opt)?)?;
        *self = MhMatch { min, max, inv };
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if (self.min, self.max) == (0, 0xff) {
            return;
        }
        if self.inv {
            out.push_str(" !");
        }
        if self.min != self.max {
            let _ = write!(out, " --mh-type {}:{}", self.min, self.max);
        } else {
            let _ = write!(out, " --mh-type {}", self.min);
        }
    }

    /// ` mh 5` / ` mh !1:3` (libip6t_mh's print, numeric).
    /// ` mh binding-update`, ` mh !1:3` with -n (libip6t_mh's print: a type's first name).
    fn list(&self, numeric: bool, out: &mut String) {
        let name = |t: u8| match MH_NAMES.iter().find(|(_, v)| *v == t) {
            Some((n, _)) if !numeric => n.to_string(),
            _ => t.to_string(),
        };
        out.push_str(" mh");
        if (self.min, self.max) == (0, 0xff) && !self.inv {
            return;
        }
        out.push(' ');
        if self.inv {
            out.push('!');
        }
        if self.min == self.max {
            out.push_str(&name(self.min));
        } else {
            let _ = write!(out, "{}:{}", name(self.min), name(self.max));
        }
    }

    fn repeated(opt: &str) -> String {
        format!("mh: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_prefix_exact_first() {
        assert_eq!(parse_types("bu"), Ok((5, 5)));
        assert_eq!(parse_types("b"), Ok((0, 0)));
        assert_eq!(parse_types("hot"), Ok((3, 3)));
        assert_eq!(parse_types("BINDING-UPDATE"), Ok((5, 5)));
        assert_eq!(parse_types("4:"), Ok((4, 255)));
        assert_eq!(parse_types("x"), Err("Invalid MH type `x'".into()));
        assert_eq!(
            parse_types("3:1"),
            Err("Invalid MH type range (min > max)".into())
        );
    }
}
