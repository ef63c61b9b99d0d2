//! Splits an iptables-restore line into words exactly as iptables 1.8.9 does
//! (`add_param_to_argv`): `"..."` groups (inside it, a backslash escapes the next
//! character), a closing quote ends the word, single quotes and backslashes outside
//! quotes are ordinary characters, and an unclosed quote runs to the end of the line.

pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    // The C code sees the line's newline; an unclosed quote keeps it.
    let chars = line.chars().chain(std::iter::once('\n'));
    for c in chars {
        if quoted {
            if escaped {
                cur.push(c);
                escaped = false;
                continue;
            }
            match c {
                '\\' => {
                    escaped = true;
                    continue;
                }
                '"' => {
                    quoted = false;
                    words.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {
                    cur.push(c);
                    continue;
                }
            }
        }
        match c {
            '"' => quoted = true,
            ' ' | '\t' | '\n' => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    // An unclosed quote: what was read (the newline included) is the last word.
    if quoted && !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn quoting_like_iptables_restore() {
        assert_eq!(
            split_words("-A INPUT  -j  DROP "),
            ["-A", "INPUT", "-j", "DROP"]
        );
        assert_eq!(
            split_words(r#"--comment "x y" -j A"#),
            ["--comment", "x y", "-j", "A"]
        );
        assert_eq!(split_words(r#""a \"b\" \\c""#), [r#"a "b" \c"#]);
        assert_eq!(split_words(r#""""#), [""]);
        assert_eq!(split_words(r#""x"y"z""#), ["x", "yz"]);
        assert_eq!(split_words("'single quoted'"), ["'single", "quoted'"]);
        assert_eq!(split_words(r"back\slash"), [r"back\slash"]);
        assert_eq!(
            split_words(r#"--comment a\"b -j ACCEPT"#),
            ["--comment", "a\\b -j ACCEPT\n"]
        );
    }
}
