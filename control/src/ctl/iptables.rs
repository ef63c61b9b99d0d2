//! `iptables`, `iptables-save` and `iptables-restore` over the Rules service: the
//! arguments go to the daemon, which answers with what iptables 1.8.9 prints. The
//! ip6tables forms are the same code with `Family::V6`: the requests name the family and
//! every text names ip6tables.

use super::connect::Conn;
use super::{status_message, Io};
use crate::api::pb::rules_client::RulesClient;
use crate::api::pb::{ExecRequest, IpFamily, RestoreRequest, SaveRequest};
use crate::iptables::cli::program;
use dataplane::ruleset::Family;
use std::time::{SystemTime, UNIX_EPOCH};

/// `iptables -V`.
pub const VERSION: &str = "iptables v1.8.9 (nf_tables)";

/// `iptables -V` or `ip6tables -V`; `suffix` names `-save` or `-restore`.
pub fn version(family: Family, suffix: &str) -> String {
    format!("{}{suffix} v1.8.9 (nf_tables)", program(family))
}

/// The request field for `family`.
fn pb_family(family: Family) -> i32 {
    match family {
        Family::V4 => IpFamily::Ipv4 as i32,
        Family::V6 => IpFamily::Ipv6 as i32,
    }
}

/// Drops the xtables lock options (`-w`/`--wait [SECONDS]`, `-W`/`--wait-interval USEC`):
/// nfdp applies each command atomically, there is no lock to wait for.
pub fn strip_wait_options(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    let is_num = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        match a {
            "-w" | "--wait" => {
                if i < args.len() && is_num(&args[i]) {
                    i += 1;
                }
            }
            "-W" | "--wait-interval" => {
                if i < args.len() && is_num(&args[i]) {
                    i += 1;
                }
            }
            _ if a.starts_with("--wait=") || a.starts_with("--wait-interval=") => {}
            _ if a.len() > 2 && (a.starts_with("-w") || a.starts_with("-W")) && is_num(&a[2..]) => {
            }
            _ => out.push(a.to_string()),
        }
    }
    out
}

/// What iptables 1.8.9 says about `-W`: a warning, and a usage error without `-w`.
pub fn wait_interval_warning(args: &[String], io: &mut Io<'_>) -> Option<i32> {
    wait_interval_warning_in(args, io, Family::V4)
}

/// `wait_interval_warning` of iptables or ip6tables.
pub fn wait_interval_warning_in(args: &[String], io: &mut Io<'_>, family: Family) -> Option<i32> {
    let is = |a: &String, short: &str, long: &str| {
        a == short
            || a.starts_with(long)
            || (a.starts_with(short) && a.len() > 2 && !a.starts_with("--"))
    };
    if !args.iter().any(|a| is(a, "-W", "--wait-interval")) {
        return None;
    }
    io.err_line("Ignoring deprecated --wait-interval option.");
    let waits = args
        .iter()
        .any(|a| a == "-w" || (is(a, "-w", "--wait") && !a.starts_with("--wait-interval")));
    if waits {
        return None;
    }
    let prog = program(family);
    let version = version(family, "");
    io.err(
        format!(
            "{version}: --wait-interval only makes sense with --wait\n\n\
             Try `{prog} -h' or '{prog} --help' for more information.\n"
        )
        .as_bytes(),
    );
    Some(2)
}

/// `iptables ARGS` (after [`wait_interval_warning`]): forwarded to `Rules.Exec`; its stdout, stderr and exit code reproduced.
pub async fn iptables(conn: Conn, args: &[String], family: Family, io: &mut Io<'_>) -> i32 {
    let args = strip_wait_options(args);
    let mut client = RulesClient::new(conn);
    let req = ExecRequest {
        args,
        family: pb_family(family),
    };
    match client.exec(req).await {
        Ok(r) => {
            let r = r.into_inner();
            io.out(r.stdout.as_bytes());
            io.err(r.stderr.as_bytes());
            r.exit_code
        }
        Err(s) => {
            io.err_line(&prefixed(
                &format!("{}: ", version(family, "")),
                &status_message(&s),
            ));
            failure_code(&s)
        }
    }
}

fn prefixed(prefix: &str, msg: &str) -> String {
    if msg.starts_with("iptables") || msg.starts_with("ip6tables") {
        msg.to_string()
    } else {
        format!("{prefix}{msg}")
    }
}

// iptables exits 4 ("resource problem") when it cannot talk to the kernel.
/// The daemon's refusals carry the tool's exit status (`nfdp-exit-code`: iptables-restore
/// exits 2 for a parameter problem, 1 for others); a lost daemon is iptables' 4.
fn failure_code(s: &tonic::Status) -> i32 {
    if let Some(code) = s
        .metadata()
        .get("nfdp-exit-code")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    {
        code
    } else if s.code() == tonic::Code::Unavailable {
        4
    } else {
        1
    }
}

/// iptables-save's options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaveArgs {
    pub counters: bool,
    pub table: String,
    /// `-f FILE`: write there instead of stdout.
    pub file: Option<String>,
    pub version: bool,
}

/// getopt_long's refusal of an option, as iptables-save / iptables-restore print it.
fn getopt_error(prog: &str, opt: &str, missing_arg: bool) -> String {
    let trailer = if prog.ends_with("-save") {
        format!("Look at manual page `{prog}.8' for more information.\n")
    } else {
        format!("Try `{prog} -h' for more information.\n")
    };
    let first = match (opt.strip_prefix("--"), missing_arg) {
        (Some(long), true) => format!(
            "option '--{}' requires an argument",
            long.split('=').next().unwrap_or(long)
        ),
        (Some(_), false) => format!("unrecognized option '{opt}'"),
        (None, true) => format!("option requires an argument -- '{}'", &opt[1..2]),
        (None, false) => format!("invalid option -- '{}'", opt.chars().nth(1).unwrap_or('-')),
    };
    format!("{prog}: {first}\n{trailer}")
}

/// iptables-save's command line; Err is the exact stderr text (exit 1).
pub fn parse_save(args: &[String]) -> Result<SaveArgs, String> {
    parse_save_in(args, Family::V4)
}

/// `parse_save` of iptables-save or ip6tables-save.
pub fn parse_save_in(args: &[String], family: Family) -> Result<SaveArgs, String> {
    let prog = &format!("{}-save", program(family));
    let mut s = SaveArgs::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        let mut value = |name: &str| -> Result<String, String> {
            if let Some((_, v)) = a.split_once('=') {
                return Ok(v.to_string());
            }
            if a.len() > 2 && !a.starts_with("--") {
                return Ok(a[2..].to_string());
            }
            if i < args.len() {
                i += 1;
                Ok(args[i - 1].clone())
            } else {
                Err(getopt_error(prog, name, true))
            }
        };
        match a {
            "-c" | "--counters" => s.counters = true,
            "-V" | "--version" => s.version = true,
            _ if a == "-t"
                || a.starts_with("--table")
                || (a.starts_with("-t") && !a.starts_with("--")) =>
            {
                s.table = value(if a.starts_with("--") { "--table" } else { "-t" })?
            }
            _ if a == "-f"
                || a.starts_with("--file")
                || (a.starts_with("-f") && !a.starts_with("--")) =>
            {
                s.file = Some(value(if a.starts_with("--") { "--file" } else { "-f" })?)
            }
            _ if a == "-M" || a.starts_with("--modprobe") => {
                value(if a.starts_with("--") {
                    "--modprobe"
                } else {
                    "-M"
                })?;
            }
            _ if a.starts_with('-') => return Err(getopt_error(prog, a, false)),
            _ => return Err("Unknown arguments found on commandline\n".to_string()),
        }
    }
    Ok(s)
}

/// ctime(3) of the current time (UTC), as iptables-save stamps its comment lines:
/// `Wed Dec  2 00:46:20 2026`.
pub fn ctime_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    ctime(secs)
}

/// ctime(3) of `secs` since the epoch, UTC.
pub fn ctime(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86400;
    let rem = secs % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        y
    )
}

/// Adds iptables-save's `# Generated by` / `# Completed on` lines around every table of
/// `text` (the daemon's Save reply holds the tables only).
pub fn with_comment_lines(text: &str, stamp: &str) -> String {
    with_comment_lines_in(text, stamp, Family::V4)
}

/// `with_comment_lines` naming iptables-save or ip6tables-save.
pub fn with_comment_lines_in(text: &str, stamp: &str, family: Family) -> String {
    if text.starts_with("# Generated by") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 128);
    for line in text.lines() {
        if line.starts_with('*') {
            out.push_str(&format!(
                "# Generated by {} on {stamp}\n",
                version(family, "-save")
            ));
        }
        out.push_str(line);
        out.push('\n');
        if line == "COMMIT" {
            out.push_str(&format!("# Completed on {stamp}\n"));
        }
    }
    out
}

/// `iptables-save [-c] [-t TABLE]` (ip6tables-save with `Family::V6`).
pub async fn iptables_save(conn: Conn, a: &SaveArgs, family: Family, io: &mut Io<'_>) -> i32 {
    let mut client = RulesClient::new(conn);
    let req = SaveRequest {
        table: a.table.clone(),
        counters: a.counters,
        family: pb_family(family),
    };
    match client.save(req).await {
        Ok(r) => {
            let text = with_comment_lines_in(&r.into_inner().text, &ctime_now(), family);
            match &a.file {
                Some(f) => match std::fs::write(f, text) {
                    Ok(()) => 0,
                    Err(e) => {
                        io.err_line(&format!(
                            "Failed to open file, error: {}",
                            super::os_error(&e)
                        ));
                        1
                    }
                },
                None => {
                    io.out(text.as_bytes());
                    0
                }
            }
        }
        // A refusal (with its exit status) is the tool's own stderr; other failures
        // are prefixed as iptables-save prefixes its errors.
        Err(s) if s.metadata().contains_key("nfdp-exit-code") => {
            io.err_line(&status_message(&s));
            failure_code(&s)
        }
        Err(s) => {
            io.err_line(&prefixed(
                &format!("{}: ", version(family, "-save")),
                &status_message(&s),
            ));
            failure_code(&s)
        }
    }
}

/// iptables-restore's options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreArgs {
    pub noflush: bool,
    pub counters: bool,
    pub test: bool,
    pub table: String,
    /// Input file; stdin when absent.
    pub file: Option<String>,
    pub version: bool,
    /// `-h` / `--help`: the usage, on stderr.
    pub help: bool,
}

/// iptables-restore's command line; Err is the exact stderr text (exit 1).
pub fn parse_restore(args: &[String]) -> Result<RestoreArgs, String> {
    parse_restore_in(args, Family::V4)
}

/// `parse_restore` of iptables-restore or ip6tables-restore.
pub fn parse_restore_in(args: &[String], family: Family) -> Result<RestoreArgs, String> {
    let prog = &format!("{}-restore", program(family));
    let args = strip_wait_options(args);
    let mut r = RestoreArgs::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        match a {
            "-n" | "--noflush" => r.noflush = true,
            "-c" | "--counters" => r.counters = true,
            "-t" | "--test" => r.test = true,
            "-v" | "--verbose" => {}
            "-V" | "--version" => r.version = true,
            "-h" | "--help" => r.help = true,
            "-T" | "--table" | "-M" | "--modprobe" => {
                if i >= args.len() {
                    return Err(getopt_error(prog, a, true));
                }
                if a == "-T" || a == "--table" {
                    r.table = args[i].clone();
                }
                i += 1;
            }
            _ if a.starts_with("--table=") => r.table = a["--table=".len()..].to_string(),
            _ if a.starts_with("-T") && a.len() > 2 => r.table = a[2..].to_string(),
            // Combined short flags (-nc).
            _ if a.starts_with('-')
                && a.len() > 2
                && !a.starts_with("--")
                && a[1..].chars().all(|c| "nctv".contains(c)) =>
            {
                for c in a[1..].chars() {
                    match c {
                        'n' => r.noflush = true,
                        'c' => r.counters = true,
                        't' => r.test = true,
                        _ => {}
                    }
                }
            }
            _ if a.starts_with('-') && a != "-" => {
                return Err(getopt_error(prog, a, false));
            }
            _ => {
                if r.file.is_some() {
                    return Err("Unknown arguments found on commandline\n".to_string());
                }
                r.file = Some(a.to_string());
            }
        }
    }
    Ok(r)
}

/// `iptables-restore [-n] [-c] [-t] [-T TABLE] [FILE]`: the text (FILE or `input`) goes to
/// `Rules.Restore`; its refusal is printed as iptables-restore prints it.
/// ip6tables-restore with `Family::V6`.
pub async fn iptables_restore(
    conn: Conn,
    a: &RestoreArgs,
    text: String,
    family: Family,
    io: &mut Io<'_>,
) -> i32 {
    let mut client = RulesClient::new(conn);
    let req = RestoreRequest {
        text,
        noflush: a.noflush,
        counters: a.counters,
        test: a.test,
        table: a.table.clone(),
        family: pb_family(family),
    };
    // Refused here, before it is sent: the daemon would refuse it with tonic's words.
    let size = prost::Message::encoded_len(&req);
    if size > crate::api::server::MAX_MESSAGE {
        io.err_line(&format!(
            "{}: input too large: {size} bytes, nfdp takes at most {} bytes ({} MiB)",
            version(family, "-restore"),
            crate::api::server::MAX_MESSAGE,
            crate::api::server::MAX_MESSAGE >> 20
        ));
        return 1;
    }
    match client.restore(req).await {
        Ok(_) => 0,
        Err(s) => {
            io.err_line(&status_message(&s));
            failure_code(&s)
        }
    }
}

/// Reads iptables-restore's input: FILE (any kind: `<(cmd)` is a pipe), or stdin. Err: the
/// exact stderr text. Reading stops past what one request may carry, so an endless input
/// (`< /dev/zero`) is refused instead of filling memory.
pub fn read_restore_input(file: Option<&str>) -> Result<String, String> {
    read_restore_input_in(file, Family::V4)
}

/// `read_restore_input` of iptables-restore or ip6tables-restore (named in its errors).
pub fn read_restore_input_in(file: Option<&str>, family: Family) -> Result<String, String> {
    let prog = program(family);
    use crate::api::server::MAX_MESSAGE;
    use crate::input_file::read_bounded;
    let read = match file {
        Some(f) if f != "-" => {
            let file = std::fs::File::open(f)
                .map_err(|e| format!("Can't open {f}: {}\n", super::os_error(&e)))?;
            read_bounded(file, MAX_MESSAGE as u64)
        }
        _ => read_bounded(std::io::stdin().lock(), MAX_MESSAGE as u64),
    };
    read.map_err(|e| match e.kind() {
        std::io::ErrorKind::FileTooLarge => format!(
            "{prog}-restore v1.8.9 (nf_tables): input too large: over {MAX_MESSAGE} bytes, nfdp takes at most {MAX_MESSAGE} bytes ({} MiB)\n",
            MAX_MESSAGE >> 20
        ),
        _ => format!("{prog}-restore: reading input: {}\n", super::os_error(&e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn wait_options_are_dropped() {
        assert_eq!(
            strip_wait_options(&v(&["-w", "-I", "INPUT", "1"])),
            v(&["-I", "INPUT", "1"])
        );
        assert_eq!(strip_wait_options(&v(&["-w", "5", "-L"])), v(&["-L"]));
        assert_eq!(
            strip_wait_options(&v(&["--wait", "-W", "100000", "-L", "-n"])),
            v(&["-L", "-n"])
        );
        assert_eq!(
            strip_wait_options(&v(&["--wait=3", "-w2", "-F"])),
            v(&["-F"])
        );
        // A rule number after -w is not a wait time when -w is last before it? It is:
        // iptables reads an optional numeric argument after -w too.
        assert_eq!(
            strip_wait_options(&v(&["-D", "f2b-x", "-s", "1.2.3.4"])),
            v(&["-D", "f2b-x", "-s", "1.2.3.4"])
        );
    }

    #[test]
    fn wait_interval_warns_as_iptables_does() {
        let run = |a: &[&str]| {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = wait_interval_warning(
                &v(a),
                &mut Io {
                    stdout: &mut out,
                    stderr: &mut err,
                },
            );
            (code, String::from_utf8(err).unwrap())
        };
        assert_eq!(run(&["-w", "-L"]), (None, String::new()));
        assert_eq!(
            run(&["-w", "-W", "5", "-S"]),
            (None, "Ignoring deprecated --wait-interval option.\n".into())
        );
        assert_eq!(
            run(&["-W", "5", "-L", "INPUT"]),
            (
                Some(2),
                "Ignoring deprecated --wait-interval option.\niptables v1.8.9 (nf_tables): --wait-interval only makes sense with --wait\n\nTry `iptables -h' or 'iptables --help' for more information.\n".into()
            )
        );
    }

    #[test]
    fn ctime_matches_c() {
        // date -u -d @1796172380 -> Wed Dec  2 00:46:20 2026
        assert_eq!(ctime(1_796_172_380), "Wed Dec  2 00:46:20 2026");
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime(951_782_400), "Tue Feb 29 00:00:00 2000");
    }

    #[test]
    fn comment_lines_wrap_each_table() {
        let t = "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n";
        let s = "Wed Dec  2 00:46:20 2026";
        assert_eq!(
            with_comment_lines(t, s),
            "# Generated by iptables-save v1.8.9 (nf_tables) on Wed Dec  2 00:46:20 2026\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n# Completed on Wed Dec  2 00:46:20 2026\n\
             # Generated by iptables-save v1.8.9 (nf_tables) on Wed Dec  2 00:46:20 2026\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n# Completed on Wed Dec  2 00:46:20 2026\n"
        );
        assert_eq!(with_comment_lines("", s), "");
    }

    #[test]
    fn save_and_restore_options() {
        assert_eq!(
            parse_save(&v(&["-c", "-t", "nat"])).unwrap(),
            SaveArgs {
                counters: true,
                table: "nat".into(),
                ..Default::default()
            }
        );
        assert_eq!(parse_save(&v(&["--table=raw"])).unwrap().table, "raw");
        assert_eq!(parse_save(&v(&["-tmangle"])).unwrap().table, "mangle");
        assert!(parse_save(&v(&["-x"])).is_err());
        let r = parse_restore(&v(&["-n", "-c", "-t", "-T", "filter", "/tmp/x", "-w"])).unwrap();
        assert_eq!(
            r,
            RestoreArgs {
                noflush: true,
                counters: true,
                test: true,
                table: "filter".into(),
                file: Some("/tmp/x".into()),
                version: false,
                help: false
            }
        );
        let r = parse_restore(&v(&["-nc", "--table=nat"])).unwrap();
        assert!(r.noflush && r.counters && !r.test && r.table == "nat" && r.file.is_none());
        assert_eq!(
            parse_restore(&v(&["--bogus"])).unwrap_err(),
            "iptables-restore: unrecognized option '--bogus'\nTry `iptables-restore -h' for more information.\n"
        );
        // What the real tools print (iptables 1.8.9, Debian 12).
        assert_eq!(
            parse_restore(&v(&["-T"])).unwrap_err(),
            "iptables-restore: option requires an argument -- 'T'\nTry `iptables-restore -h' for more information.\n"
        );
        assert_eq!(
            parse_restore(&v(&["a", "b"])).unwrap_err(),
            "Unknown arguments found on commandline\n"
        );
        assert_eq!(
            parse_save(&v(&["--bogus"])).unwrap_err(),
            "iptables-save: unrecognized option '--bogus'\nLook at manual page `iptables-save.8' for more information.\n"
        );
        assert_eq!(
            parse_save(&v(&["-t"])).unwrap_err(),
            "iptables-save: option requires an argument -- 't'\nLook at manual page `iptables-save.8' for more information.\n"
        );
    }
}
