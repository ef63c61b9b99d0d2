//! libxt_u32: `[!] --u32 TESTS`, read as libxt_u32's `u32_parse` reads it (its messages
//! name the character where it stopped) and printed as `u32_dump` prints it: every number
//! in hex, the whole spec in double quotes (`u32 ! "..."` in listings).

use super::Args;
use dataplane::ruleset::matches::u32::{U32Match, U32Op, U32Test, MAX_SIZE};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--u32"];

pub fn new() -> U32Match {
    U32Match {
        tests: Vec::new(),
        inv: false,
    }
}

fn err(at: usize, what: &str) -> String {
    format!("u32: at char {at}: {what}")
}

/// A number as `xtables_strtoui(s, .., 0, UINT32_MAX)` reads it (C's `strtoumax`, base
/// 0: `0x` hex, a leading `0` octal); returns it and the bytes it took.
fn number(s: &[u8], at: usize) -> Result<(u32, usize), String> {
    let bad = || err(at, "not a number or out of range");
    let mut i = 0;
    while s.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    // xtables_strtoui takes a `+`, never a `-`.
    if s.get(i) == Some(&b'+') {
        i += 1;
    }
    let hex = s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
    let (radix, from) = if hex {
        (16, i + 2)
    } else if s.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut end = from;
    let mut v: u64 = 0;
    while let Some(d) = s.get(end).and_then(|&c| (c as char).to_digit(radix)) {
        v = v
            .saturating_mul(u64::from(radix))
            .saturating_add(u64::from(d));
        end += 1;
    }
    if end == from {
        return Err(bad());
    }
    if v > u64::from(u32::MAX) {
        return Err(bad());
    }
    Ok((v as u32, end))
}

/// Parses a u32 spec (libxt_u32's state machine: locations, then `=`, then ranges).
pub fn parse_spec(spec: &str) -> Result<Vec<U32Test>, String> {
    let s = spec.as_bytes();
    let mut tests = Vec::new();
    let mut cur = U32Test {
        start: 0,
        steps: Vec::new(),
        ranges: Vec::new(),
    };
    let mut locs = 0usize;
    let mut reading_values = false;
    let mut i = 0;
    loop {
        while s.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        let Some(&c) = s.get(i) else {
            if !reading_values {
                return Err("u32: abrupt end of input after location specifier".into());
            }
            if cur.ranges.is_empty() {
                return Err("u32: test ended with no value specified".into());
            }
            tests.push(cur);
            if tests.len() > MAX_SIZE {
                return Err(err(i, "too many \"&&\"s"));
            }
            return Ok(tests);
        };
        if !reading_values {
            if c == b'=' {
                if locs == 0 {
                    return Err(err(i, "location spec missing"));
                }
                i += 1;
                reading_values = true;
                continue;
            }
            let mut op = None;
            if locs != 0 {
                op = Some(match c {
                    b'&' => U32Op::And,
                    b'<' | b'>' => {
                        i += 1;
                        if s.get(i) != Some(&c) {
                            let which = if c == b'<' { "'<'" } else { "'>'" };
                            return Err(err(i, &format!("a second {which} was expected")));
                        }
                        if c == b'<' {
                            U32Op::ShiftLeft
                        } else {
                            U32Op::ShiftRight
                        }
                    }
                    b'@' => U32Op::At,
                    _ => return Err(err(i, "operator expected")),
                });
                i += 1;
            }
            let (n, used) = number(&s[i..], i)?;
            i += used;
            match op {
                None => cur.start = n,
                Some(op) => cur.steps.push((op, n)),
            }
            locs += 1;
            if locs > MAX_SIZE {
                return Err(err(i, "too many operators"));
            }
        } else if c == b'&' {
            i += 1;
            if s.get(i) != Some(&b'&') {
                return Err(err(i, "a second '&' was expected"));
            }
            if cur.ranges.is_empty() {
                return Err(err(i, "value spec missing"));
            }
            tests.push(std::mem::replace(
                &mut cur,
                U32Test {
                    start: 0,
                    steps: Vec::new(),
                    ranges: Vec::new(),
                },
            ));
            if tests.len() > MAX_SIZE {
                return Err(err(i, "too many \"&&\"s"));
            }
            i += 1;
            reading_values = false;
            locs = 0;
        } else {
            if !cur.ranges.is_empty() {
                if c != b',' {
                    return Err(err(i, "expected \",\" or \"&&\""));
                }
                i += 1;
            }
            let (min, used) = number(&s[i..], i)?;
            i += used;
            while s.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
                i += 1;
            }
            let max = if s.get(i) == Some(&b':') {
                i += 1;
                let (max, used) = number(&s[i..], i)?;
                i += used;
                max
            } else {
                min
            };
            cur.ranges.push((min, max));
            if cur.ranges.len() > MAX_SIZE {
                return Err(err(i, "too many \",\"s"));
            }
        }
    }
}

/// `u32_dump`: `"0x0>>0x16&0x3c@0x0>>0x10=0x1234"`.
fn dump(m: &U32Match, out: &mut String) {
    out.push_str(" \"");
    for (k, t) in m.tests.iter().enumerate() {
        if k > 0 {
            out.push_str("&&");
        }
        let _ = write!(out, "{:#x}", t.start);
        for &(op, n) in &t.steps {
            out.push_str(match op {
                U32Op::And => "&",
                U32Op::ShiftLeft => "<<",
                U32Op::ShiftRight => ">>",
                U32Op::At => "@",
            });
            let _ = write!(out, "{n:#x}");
        }
        out.push('=');
        for (j, &(lo, hi)) in t.ranges.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            if lo == hi {
                let _ = write!(out, "{lo:#x}");
            } else {
                let _ = write!(out, "{lo:#x}:{hi:#x}");
            }
        }
    }
    out.push('"');
}

impl super::MatchText for U32Match {
    fn new(_name: &str) -> Self {
        new()
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
        let v = args.value(o)?;
        self.tests = parse_spec(&v)?;
        self.inv = inv;
        Ok(())
    }

    fn finish(&mut self, seen: &[&'static str]) -> Result<(), String> {
        if seen.is_empty() {
            return Err("u32: option \"--u32\" must be specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let m = self;
        out.push_str(if m.inv { " ! --u32" } else { " --u32" });
        dump(m, out);
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let m = self;
        out.push_str(if m.inv { " u32 !" } else { " u32" });
        dump(m, out);
    }

    fn repeated(opt: &str) -> String {
        format!("u32: option \"{opt}\" can only be used once.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_strtoumax_reads_them() {
        assert_eq!(number(b"0x1F=", 0), Ok((31, 4)));
        assert_eq!(number(b"010", 0), Ok((8, 3)));
        assert_eq!(number(b"0", 0), Ok((0, 1)));
        assert_eq!(
            number(b"0x", 0),
            Ok((0, 1)),
            "0x without digits is 0, then x"
        );
        assert_eq!(number(b"+7", 0), Ok((7, 2)));
        assert!(number(b"-0", 0).is_err());
        assert!(number(b"-1", 0).is_err());
        assert!(number(b"4294967296", 0).is_err());
        assert_eq!(number(b"4294967295", 0), Ok((u32::MAX, 10)));
        assert!(number(b"x", 0).is_err());
        assert!(number(b"", 0).is_err());
    }
}
