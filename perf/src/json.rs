//! A small JSON writer for the results files (objects keep their insertion order).

use std::fmt::{self, Write};

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn obj<K: Into<String>>(fields: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Obj(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Adds (or replaces) a field of an object; no-op on other values.
    pub fn set(&mut self, key: &str, v: Json) {
        if let Json::Obj(f) = self {
            match f.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = v,
                None => f.push((key.to_string(), v)),
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(f) => f.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Indented text with a trailing newline.
    pub fn pretty(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0).expect("writing to a String");
        s.push('\n');
        s
    }

    fn write(&self, out: &mut String, indent: usize) -> fmt::Result {
        let pad = |n: usize| "  ".repeat(n);
        match self {
            Json::Null => out.write_str("null"),
            Json::Bool(b) => write!(out, "{b}"),
            Json::Int(i) => write!(out, "{i}"),
            Json::Num(x) if !x.is_finite() => out.write_str("null"),
            Json::Num(x) if x.fract() == 0.0 && x.abs() < 1e15 => write!(out, "{x:.1}"),
            Json::Num(x) => write!(out, "{}", (x * 1e6).round() / 1e6),
            Json::Str(s) => write_str(out, s),
            Json::Arr(v) if v.is_empty() => out.write_str("[]"),
            Json::Arr(v) => {
                out.write_str("[\n")?;
                for (i, x) in v.iter().enumerate() {
                    out.write_str(&pad(indent + 1))?;
                    x.write(out, indent + 1)?;
                    out.write_str(if i + 1 < v.len() { ",\n" } else { "\n" })?;
                }
                write!(out, "{}]", pad(indent))
            }
            Json::Obj(f) if f.is_empty() => out.write_str("{}"),
            Json::Obj(f) => {
                out.write_str("{\n")?;
                for (i, (k, x)) in f.iter().enumerate() {
                    out.write_str(&pad(indent + 1))?;
                    write_str(out, k)?;
                    out.write_str(": ")?;
                    x.write(out, indent + 1)?;
                    out.write_str(if i + 1 < f.len() { ",\n" } else { "\n" })?;
                }
                write!(out, "{}}}", pad(indent))
            }
        }
    }
}

fn write_str(out: &mut String, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

impl From<f64> for Json {
    fn from(x: f64) -> Json {
        Json::Num(x)
    }
}
impl From<u64> for Json {
    fn from(x: u64) -> Json {
        Json::Int(x as i64)
    }
}
impl From<usize> for Json {
    fn from(x: usize) -> Json {
        Json::Int(x as i64)
    }
}
impl From<u32> for Json {
    fn from(x: u32) -> Json {
        Json::Int(i64::from(x))
    }
}
impl From<bool> for Json {
    fn from(x: bool) -> Json {
        Json::Bool(x)
    }
}
impl From<&str> for Json {
    fn from(x: &str) -> Json {
        Json::Str(x.to_string())
    }
}
impl From<String> for Json {
    fn from(x: String) -> Json {
        Json::Str(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_values() {
        let mut j = Json::obj([("a", Json::from(1u64)), ("b", Json::from("x\"y"))]);
        j.set(
            "c",
            Json::Arr(vec![Json::from(1.5), Json::Null, Json::from(true)]),
        );
        j.set("a", Json::from(2.0));
        assert_eq!(
            j.pretty(),
            "{\n  \"a\": 2.0,\n  \"b\": \"x\\\"y\",\n  \"c\": [\n    1.5,\n    null,\n    true\n  ]\n}\n"
        );
        assert_eq!(j.get("b"), Some(&Json::from("x\"y")));
    }
}
