//! `[eal] args` checked the way DPDK 22.11's `rte_eal_init` reads them (getopt_long with
//! the EAL's option tables, lib/eal/common/eal_common_options.c), so a mistyped option or a
//! missing value is reported with the config line at load time instead of as "EAL: Invalid
//! argument" after the daemon started. Only the form is checked; values (core lists, memory
//! sizes, device addresses) are the EAL's to judge.

/// Short options: the letter and whether it takes a value (`a:b:c:s:d:hl:S:m:n:r:v`).
const SHORT: &[(char, bool)] = &[
    ('a', true),
    ('b', true),
    ('c', true),
    ('s', true),
    ('d', true),
    ('h', false),
    ('l', true),
    ('S', true),
    ('m', true),
    ('n', true),
    ('r', true),
    ('v', false),
];

/// How a long option takes its value (getopt's `has_arg`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    None,
    Required,
    /// Only as `--opt=value`.
    Optional,
}

/// Long options of DPDK 22.11 on Linux.
const LONG: &[(&str, Value)] = &[
    ("allow", Value::Required),
    ("base-virtaddr", Value::Required),
    ("block", Value::Required),
    ("create-uio-dev", Value::None),
    ("file-prefix", Value::Required),
    ("force-max-simd-bitwidth", Value::Required),
    ("help", Value::None),
    ("huge-dir", Value::Required),
    ("huge-unlink", Value::Optional),
    ("huge-worker-stack", Value::Optional),
    ("in-memory", Value::None),
    ("iova-mode", Value::Required),
    ("lcores", Value::Required),
    ("legacy-mem", Value::None),
    ("log-level", Value::Required),
    ("main-lcore", Value::Required),
    ("match-allocations", Value::None),
    ("mbuf-pool-ops-name", Value::Required),
    ("no-hpet", Value::None),
    ("no-huge", Value::None),
    ("no-pci", Value::None),
    ("no-shconf", Value::None),
    ("no-telemetry", Value::None),
    ("proc-type", Value::Required),
    ("single-file-segments", Value::None),
    ("socket-limit", Value::Required),
    ("socket-mem", Value::Required),
    ("syslog", Value::Required),
    ("telemetry", Value::None),
    ("trace", Value::Required),
    ("trace-bufsz", Value::Required),
    ("trace-dir", Value::Required),
    ("trace-mode", Value::Required),
    ("vdev", Value::Required),
    ("vfio-intr", Value::Required),
    ("vfio-vf-token", Value::Required),
    ("vmware-tsc-map", Value::None),
];

/// The problem with `args`: the index of the argument to blame and what is wrong.
pub fn check(args: &[&str]) -> Result<(), (usize, String)> {
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        if arg.contains('\0') {
            return Err((i, format!("EAL argument {arg:?} contains a NUL byte")));
        }
        if arg == "--" {
            return Err((
                i,
                "`--` ends the EAL's options; nfdp takes no application arguments here".into(),
            ));
        }
        let takes_next = if let Some(long) = arg.strip_prefix("--") {
            check_long(long).map_err(|m| (i, m))?
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            check_short(short).map_err(|m| (i, m))?
        } else {
            return Err((
                i,
                format!("`{arg}` is not an EAL option (options start with `-` or `--`)"),
            ));
        };
        if takes_next {
            if i + 1 == args.len() {
                return Err((i, format!("EAL option `{arg}` needs a value")));
            }
            i += 1;
        }
        i += 1;
    }
    Ok(())
}

/// `--name[=value]`; `Ok(true)` when the value is the next argument.
fn check_long(long: &str) -> Result<bool, String> {
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (long, None),
    };
    // getopt_long takes an exact name or an unambiguous abbreviation.
    let found = match LONG.iter().find(|(n, _)| *n == name) {
        Some(o) => *o,
        None => {
            let prefixed: Vec<_> = LONG.iter().filter(|(n, _)| n.starts_with(name)).collect();
            match prefixed.as_slice() {
                [o] if !name.is_empty() => **o,
                [] | [_] => return Err(format!("unknown EAL option `--{name}`")),
                many => {
                    let names: Vec<String> = many.iter().map(|(n, _)| format!("--{n}")).collect();
                    return Err(format!(
                        "ambiguous EAL option `--{name}` (could be {})",
                        names.join(", ")
                    ));
                }
            }
        }
    };
    refuse_help(found.0)?;
    match (found.1, inline) {
        (Value::None, Some(_)) => Err(format!("EAL option `--{}` takes no value", found.0)),
        (Value::Required, None) => Ok(true),
        _ => Ok(false),
    }
}

/// `-x`, `-xVALUE` or flags run together (`-vh`); `Ok(true)` when the value is the next
/// argument.
fn check_short(short: &str) -> Result<bool, String> {
    for (at, c) in short.char_indices() {
        let Some(&(_, value)) = SHORT.iter().find(|(s, _)| *s == c) else {
            return Err(format!("unknown EAL option `-{c}`"));
        };
        if c == 'h' {
            refuse_help("help")?;
        }
        if value {
            // The rest of the argument is the value, or else the next argument is.
            return Ok(at + c.len_utf8() == short.len());
        }
    }
    Ok(false)
}

fn refuse_help(name: &str) -> Result<(), String> {
    if name == "help" {
        return Err("EAL option `--help` prints the EAL's usage and exits; remove it".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn the_shipped_forms_pass() {
        for args in [
            &[
                "--no-huge",
                "-m",
                "1024",
                "--no-pci",
                "--file-prefix",
                "nfdp-lab",
            ][..],
            &["-m", "1024", "--file-prefix", "nfdp-gw"],
            &["-l0-3", "-n4", "--socket-mem=1024,1024", "--huge-unlink"],
            &[
                "--huge-unlink=never",
                "--in-mem",
                "-a",
                "0000:03:00.0",
                "-v",
            ],
            &["--log-level", "lib.eal:debug", "--iova-mode=va"],
            &[],
        ] {
            assert_eq!(check(args), Ok(()), "{args:?}");
        }
    }

    #[test]
    fn mistakes_name_the_argument() {
        let cases: &[(&[&str], usize, &str)] = &[
            (&["-m", "512", "--no-hugepages"], 2, "unknown EAL option `--no-hugepages`"),
            (&["-x"], 0, "unknown EAL option `-x`"),
            (&["-m", "1024", "--file-prefix"], 2, "EAL option `--file-prefix` needs a value"),
            (&["-m"], 0, "EAL option `-m` needs a value"),
            (&["--no-pci=1"], 0, "EAL option `--no-pci` takes no value"),
            (&["-m", "1024", "512"], 2, "`512` is not an EAL option (options start with `-` or `--`)"),
            (&["--no"], 0, "ambiguous EAL option `--no` (could be --no-hpet, --no-huge, --no-pci, --no-shconf, --no-telemetry)"),
            (&["-h"], 0, "EAL option `--help` prints the EAL's usage and exits; remove it"),
            (&["--he"], 0, "EAL option `--help` prints the EAL's usage and exits; remove it"),
            (&["--", "x"], 0, "`--` ends the EAL's options; nfdp takes no application arguments here"),
            (&["-"], 0, "`-` is not an EAL option (options start with `-` or `--`)"),
        ];
        for (args, at, msg) in cases {
            assert_eq!(check(args), Err((*at, msg.to_string())), "{args:?}");
        }
    }
}
