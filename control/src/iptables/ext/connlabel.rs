//! libxt_connlabel: `[!] --label NAME|N`, `--set`. A label is a number as `strtoul(.., 0)`
//! reads it (decimal, 0x hex, 0 octal; `int`, then the kernel's `u16`, so 65541 is 5 and
//! 2^31 and up are no number), or else a name of /etc/xtables/connlabel.conf
//! (libnetfilter_conntrack's "BIT name" lines). Without that file a name is refused after
//! iptables' warning that it cannot open it. Saved as `--label "N"` (the name when the file
//! has one), listed as `connlabel N` / `connlabel 'name'`.

use super::Args;
use dataplane::ruleset::matches::connlabel::ConnlabelMatch;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::OnceLock;

pub const OPTIONS: &[&str] = &["--label", "--set"];

/// Where libnetfilter_conntrack reads label names (`nfct_labels_get_path`).
pub const LABEL_FILE: &str = "/etc/xtables/connlabel.conf";

pub fn new() -> ConnlabelMatch {
    ConnlabelMatch {
        bit: 0,
        inv: false,
        set: false,
    }
}

/// Label names by bit and bits by name, as `nfct_labelmap_new` reads them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelMap {
    by_name: HashMap<String, u16>,
    by_bit: HashMap<u16, String>,
}

/// Bits the file may name (libnetfilter_conntrack's `MAX_BITS`).
const MAP_MAX_BITS: u64 = 1024;

impl LabelMap {
    /// The file's text: `BIT name` lines (BIT as strtoul reads it, below 1024; a name of
    /// letters, digits, blanks and `-`, trimmed), `#` lines skipped; the first line for a
    /// bit or a name wins. `None` when no line names a label.
    pub fn parse(text: &str) -> Option<LabelMap> {
        let mut m = LabelMap::default();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let (bit, rest) = strtoul(line);
            let Some(bit) = bit.filter(|b| *b < MAP_MAX_BITS) else {
                continue;
            };
            let bit = bit as u16;
            let is_space = |c: char| matches!(c, ' ' | '\x0c' | '\r' | '\t' | '\x0b');
            let name = rest.trim_matches(is_space);
            let sane = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
            if name.is_empty()
                || !sane
                || m.by_bit.contains_key(&bit)
                || m.by_name.contains_key(name)
            {
                continue;
            }
            m.by_name.insert(name.to_string(), bit);
            m.by_bit.insert(bit, name.to_string());
        }
        (!m.by_name.is_empty()).then_some(m)
    }

    pub fn bit(&self, name: &str) -> Option<u16> {
        self.by_name.get(name).copied()
    }

    pub fn name(&self, bit: u16) -> Option<&str> {
        self.by_bit.get(&bit).map(|s| s.as_str())
    }
}

/// Why there is no label map: what libxt_connlabel prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoMap {
    /// The file could not be opened (strerror's words).
    Unreadable(String),
    /// It names no label.
    Empty,
}

/// The host's label map, read once.
pub fn label_map() -> Result<&'static LabelMap, &'static NoMap> {
    static MAP: OnceLock<Result<LabelMap, NoMap>> = OnceLock::new();
    MAP.get_or_init(|| match std::fs::read_to_string(LABEL_FILE) {
        Ok(text) => LabelMap::parse(&text).ok_or(NoMap::Empty),
        Err(e) => Err(NoMap::Unreadable(io_error_text(&e))),
    })
    .as_ref()
}

/// strerror's words for the usual reasons.
fn io_error_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    }
}

/// C's `strtoul(s, &end, 0)` on a 64-bit host: the value (`None` when no digit was read)
/// and the rest of the text. Leading blanks, a sign, `0x` and `0` prefixes; a value past
/// `u64::MAX` reads as `u64::MAX`; a minus negates modulo 2^64.
fn strtoul(s: &str) -> (Option<u64>, &str) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut radix = 10;
    if b.get(i) == Some(&b'0') {
        if matches!(b.get(i + 1), Some(b'x' | b'X'))
            && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
        {
            radix = 16;
            i += 2;
        } else {
            radix = 8;
        }
    }
    let start = i;
    let mut v: u64 = 0;
    let mut over = false;
    while let Some(d) = b.get(i).and_then(|c| (*c as char).to_digit(radix)) {
        match v
            .checked_mul(u64::from(radix))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => v = x,
            None => over = true,
        }
        i += 1;
    }
    if i == start {
        return (None, s);
    }
    let v = if over {
        u64::MAX
    } else if neg {
        v.wrapping_neg()
    } else {
        v
    };
    (Some(v), &s[i..])
}

/// `connlabel_value_parse`: the whole argument as a number, as the `int` it returns
/// (negative: not a number).
fn number(arg: &str) -> Option<u16> {
    match strtoul(arg) {
        (Some(v), "") => {
            let int = v as u32 as i32;
            (int >= 0).then_some(int as u16)
        }
        _ => None,
    }
}

/// The bit a `--label` argument names, with `map` for names.
pub fn parse_label(arg: &str, map: Result<&LabelMap, &NoMap>) -> Result<u16, String> {
    if arg.is_empty() {
        return Err("Argument must have a minimum length of 1 characters\n".into());
    }
    if let Some(bit) = number(arg) {
        return Ok(bit);
    }
    let not_found = format!("label '{arg}' not found or invalid value");
    match map {
        Ok(m) => m.bit(arg).ok_or(not_found),
        Err(NoMap::Unreadable(why)) => Err(format!(
            "Warning: cannot open {LABEL_FILE}: {why}\n{not_found}"
        )),
        Err(NoMap::Empty) => Err(format!("cannot parse {LABEL_FILE}: no labels found")),
    }
}

pub fn parse(m: &mut ConnlabelMatch, o: &str, inv: bool, args: &mut Args) -> Result<(), String> {
    match o {
        "--label" => {
            let v = args.value(o)?;
            m.bit = parse_label(&v, label_map())?;
            m.inv = inv;
        }
        _ => {
            if inv {
                return Err("connlabel: option \"--set\" cannot be inverted.".into());
            }
            m.set = true;
        }
    }
    Ok(())
}

fn name(bit: u16) -> Option<&'static str> {
    label_map().ok().and_then(|m| m.name(bit))
}

impl super::MatchText for ConnlabelMatch {
    fn new(_name: &str) -> Self {
        new()
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
        parse(self, opt, inv, args)
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if !seen.contains(&"--label") {
            return Err("connlabel: option \"--label\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        match name(self.bit) {
            Some(n) => {
                let _ = write!(out, " --label \"{n}\"");
            }
            None => {
                let _ = write!(out, " --label \"{}\"", self.bit);
            }
        }
        if self.set {
            out.push_str(" --set");
        }
    }

    fn list(&self, numeric: bool, out: &mut String) {
        out.push_str(" connlabel");
        if self.inv {
            out.push_str(" !");
        }
        match name(self.bit).filter(|_| !numeric) {
            Some(n) => {
                let _ = write!(out, " '{n}'");
            }
            None => {
                let _ = write!(out, " {}", self.bit);
            }
        }
        if self.set {
            out.push_str(" set");
        }
    }

    /// `-m connlabel --label ...` given twice, as `xtables_option_parse` words it.
    fn repeated(opt: &str) -> String {
        format!("connlabel: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing() -> NoMap {
        NoMap::Unreadable("No such file or directory".into())
    }

    #[test]
    fn numbers_as_strtoul_and_int_read_them() {
        let missing = missing();
        let p = |s: &str| parse_label(s, Err(&missing));
        assert_eq!(p("5"), Ok(5));
        assert_eq!(p("0x10"), Ok(16));
        assert_eq!(p("010"), Ok(8));
        assert_eq!(p(" 7"), Ok(7));
        assert_eq!(p("+3"), Ok(3));
        assert_eq!(p("-0"), Ok(0));
        // `int`, then `u16`: the kernel sees 5 and 1 (and refuses 128 itself).
        assert_eq!(p("65541"), Ok(5));
        assert_eq!(p("4294967297"), Ok(1));
        assert_eq!(p("128"), Ok(128));
        for bad in [
            "-1",
            "2147483648",
            "99999999999999999999",
            "0x",
            "5 ",
            "foo",
            " ",
        ] {
            assert_eq!(
                p(bad),
                Err(format!(
                    "Warning: cannot open /etc/xtables/connlabel.conf: No such file or directory\n\
                     label '{bad}' not found or invalid value"
                )),
                "{bad:?}"
            );
        }
        assert_eq!(
            p(""),
            Err("Argument must have a minimum length of 1 characters\n".into())
        );
    }

    #[test]
    fn names_from_the_label_file() {
        let m = LabelMap::parse(
            "# comment\n0 eth0-in\n1\tvpn  \n1 again\n2 vpn\n3 bad;name\n1024 big\n0x7f last\n",
        )
        .unwrap();
        assert_eq!(m.bit("eth0-in"), Some(0));
        assert_eq!(m.bit("vpn"), Some(1));
        assert_eq!(m.bit("again"), None, "bit 1 is taken");
        assert_eq!(m.name(2), None, "the name vpn is taken");
        assert_eq!(m.bit("bad;name"), None);
        assert_eq!(m.bit("big"), None);
        assert_eq!(m.name(127), Some("last"));
        assert_eq!(parse_label("vpn", Ok(&m)), Ok(1));
        assert_eq!(parse_label("3", Ok(&m)), Ok(3));
        assert_eq!(
            parse_label("nope", Ok(&m)),
            Err("label 'nope' not found or invalid value".into())
        );
        assert_eq!(LabelMap::parse("# nothing\n\n"), None);
    }
}
