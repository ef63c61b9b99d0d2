//! nfdpctl, the operator's client of the gRPC API: a drop-in for iptables,
//! iptables-save, iptables-restore (and their ip6tables forms), arptables*, ipset and
//! conntrack (by subcommand or by the name it is called through), plus sysctl, ip, stats
//! and trace.
//!
//! When the daemon cannot be reached the tools fail as they do when they cannot talk to
//! the kernel: iptables* print `iptables v1.8.9 (nf_tables): cannot connect to nfdp at
//! SOCKET: REASON` and exit 4 (iptables' "resource problem", what it returns when it
//! cannot fetch the ruleset); conntrack prints `conntrack v1.4.7 (conntrack-tools):
//! Operation failed: cannot connect ...` and exits 1; nfdpctl's own commands print
//! `nfdpctl: cannot connect ...` and exit 1.

pub mod arptables;
pub mod connect;
pub mod conntrack;
pub mod ct_args;
pub mod ct_format;
pub mod help;
pub mod ip;
pub mod ipset;
pub mod iptables;
pub mod links;
pub mod stats;
pub mod sysctl;
pub mod trace;

pub use connect::{connect, connect_unix, Auth, Conn, ConnectError, Target, DEFAULT_SOCKET};

use std::io::Write;

/// Where a command writes: stdout and stderr (the terminal, or buffers in tests).
pub struct Io<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

impl Io<'_> {
    pub fn out(&mut self, b: &[u8]) {
        let _ = self.stdout.write_all(b);
    }
    pub fn err(&mut self, b: &[u8]) {
        let _ = self.stderr.write_all(b);
    }
    pub fn out_line(&mut self, s: &str) {
        let _ = writeln!(self.stdout, "{s}");
    }
    pub fn err_line(&mut self, s: &str) {
        let _ = writeln!(self.stderr, "{s}");
    }
    pub fn flush(&mut self) {
        let _ = self.stdout.flush();
        let _ = self.stderr.flush();
    }
}

/// A status's message as the daemon wrote it (what the tool would print), without a
/// trailing newline; tonic's own failures (connection lost) keep their description.
pub fn status_message(s: &tonic::Status) -> String {
    let m = s.message().trim_end_matches('\n');
    if m.is_empty() {
        format!("{:?}", s.code())
    } else {
        m.to_string()
    }
}

/// An io::Error as C tools print it (strerror, without Rust's "(os error N)").
pub fn os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// SIGINT or SIGTERM, which end `conntrack -E` and `trace` (conntrack then prints its
/// summary). The handlers are installed when this is made, before the stream opens, so a
/// signal that comes early is not lost.
pub struct Interrupt {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupt {
    pub fn new() -> Interrupt {
        use tokio::signal::unix::{signal, SignalKind};
        Interrupt {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Waits for either signal (cancel-safe).
    pub async fn recv(&mut self) {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = one(&mut self.int) => {}
            _ = one(&mut self.term) => {}
        }
    }
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt::new()
    }
}

/// The tools nfdpctl stands in for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Iptables,
    IptablesSave,
    IptablesRestore,
    Ip6tables,
    Ip6tablesSave,
    Ip6tablesRestore,
    Conntrack,
    Ipset,
    Arptables,
    ArptablesSave,
    ArptablesRestore,
}

/// The tool a program name stands for: `iptables`, `iptables-legacy`, `iptables-nft`,
/// their `-save` / `-restore` forms, and `conntrack` (a directory part is ignored).
pub fn tool_for_argv0(argv0: &str) -> Option<Tool> {
    let name = argv0.rsplit('/').next().unwrap_or(argv0);
    match name {
        "iptables" | "iptables-legacy" | "iptables-nft" => Some(Tool::Iptables),
        "iptables-save" | "iptables-legacy-save" | "iptables-nft-save" => Some(Tool::IptablesSave),
        "iptables-restore" | "iptables-legacy-restore" | "iptables-nft-restore" => {
            Some(Tool::IptablesRestore)
        }
        "ip6tables" | "ip6tables-legacy" | "ip6tables-nft" => Some(Tool::Ip6tables),
        "ip6tables-save" | "ip6tables-legacy-save" | "ip6tables-nft-save" => {
            Some(Tool::Ip6tablesSave)
        }
        "ip6tables-restore" | "ip6tables-legacy-restore" | "ip6tables-nft-restore" => {
            Some(Tool::Ip6tablesRestore)
        }
        "conntrack" => Some(Tool::Conntrack),
        "ipset" => Some(Tool::Ipset),
        "arptables" | "arptables-nft" => Some(Tool::Arptables),
        "arptables-save" | "arptables-nft-save" => Some(Tool::ArptablesSave),
        "arptables-restore" | "arptables-nft-restore" => Some(Tool::ArptablesRestore),
        _ => None,
    }
}

fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Iptables => "iptables",
        Tool::IptablesSave => "iptables-save",
        Tool::IptablesRestore => "iptables-restore",
        Tool::Ip6tables => "ip6tables",
        Tool::Ip6tablesSave => "ip6tables-save",
        Tool::Ip6tablesRestore => "ip6tables-restore",
        Tool::Conntrack => "conntrack",
        Tool::Ipset => "ipset",
        Tool::Arptables => "arptables",
        Tool::ArptablesSave => "arptables-save",
        Tool::ArptablesRestore => "arptables-restore",
    }
}

/// Connects, or prints the tool's one-line failure and returns its exit status.
async fn connect_or_fail(
    tool: Option<Tool>,
    target: &Target,
    io: &mut Io<'_>,
) -> Result<Conn, i32> {
    connect(target).await.map_err(|e| match tool {
        Some(Tool::Conntrack) => {
            io.err_line(&format!("{}Operation failed: {e}", ct_format::PREFIX));
            1
        }
        Some(Tool::Ipset) => {
            io.err_line(&format!("ipset {}: {e}", crate::ipset::VERSION));
            1
        }
        Some(t) => {
            io.err_line(&format!("{} v1.8.9 (nf_tables): {e}", tool_name(t)));
            4
        }
        None => {
            io.err_line(&format!("nfdpctl: {e}"));
            1
        }
    })
}

/// Runs a tool with its arguments (after the program name); returns its exit status.
/// The process's stdin is read for iptables-restore without a file.
pub async fn run_tool(tool: Tool, args: &[String], target: &Target, io: &mut Io<'_>) -> i32 {
    run_tool_with_input(tool, args, None, target, io).await
}

/// [`run_tool`] with iptables-restore's standard input given (`None`: the process's stdin),
/// for tests that drive a daemon in-process: `run_tool_with_input(Tool::IptablesRestore,
/// &[], Some(text), &Target::Unix(sock), &mut Io { stdout: &mut out, stderr: &mut err })`.
pub async fn run_tool_with_input(
    tool: Tool,
    args: &[String],
    input: Option<String>,
    target: &Target,
    io: &mut Io<'_>,
) -> i32 {
    use dataplane::ruleset::Family;
    // The ip6tables tools are the iptables code with the other family.
    let family = match tool {
        Tool::Ip6tables | Tool::Ip6tablesSave | Tool::Ip6tablesRestore => Family::V6,
        _ => Family::V4,
    };
    match tool {
        Tool::Iptables | Tool::Ip6tables => {
            if args.iter().any(|a| a == "-V" || a == "--version") {
                io.out_line(&iptables::version(family, ""));
                return 0;
            }
            if help::asks_for_help(args) {
                io.out(help::main_help(family).as_bytes());
                return 0;
            }
            if let Some(code) = iptables::wait_interval_warning_in(args, io, family) {
                return code;
            }
            match connect_or_fail(Some(tool), target, io).await {
                Ok(c) => iptables::iptables(c, args, family, io).await,
                Err(code) => code,
            }
        }
        Tool::IptablesSave | Tool::Ip6tablesSave => {
            let a = match iptables::parse_save_in(args, family) {
                Ok(a) => a,
                Err(msg) => {
                    io.err(msg.as_bytes());
                    return 1;
                }
            };
            if a.version {
                io.out_line(&iptables::version(family, "-save"));
                return 0;
            }
            match connect_or_fail(Some(tool), target, io).await {
                Ok(c) => iptables::iptables_save(c, &a, family, io).await,
                Err(code) => code,
            }
        }
        Tool::IptablesRestore | Tool::Ip6tablesRestore => {
            let a = match iptables::parse_restore_in(args, family) {
                Ok(a) => a,
                Err(msg) => {
                    io.err(msg.as_bytes());
                    return 1;
                }
            };
            if a.version {
                io.out_line(&iptables::version(family, "-restore"));
                return 0;
            }
            if a.help {
                io.err(help::restore_help(family).as_bytes());
                return 0;
            }
            let read = match (input, a.file.as_deref()) {
                (Some(text), None | Some("-")) => Ok(text),
                (_, file) => iptables::read_restore_input_in(file, family),
            };
            let text = match read {
                Ok(t) => t,
                Err(msg) => {
                    io.err(msg.as_bytes());
                    return 1;
                }
            };
            match connect_or_fail(Some(tool), target, io).await {
                Ok(c) => iptables::iptables_restore(c, &a, text, family, io).await,
                Err(code) => code,
            }
        }
        Tool::Ipset => match connect_or_fail(Some(tool), target, io).await {
            Ok(c) => ipset::ipset(c, args, input, io).await,
            Err(code) => code,
        },
        Tool::Arptables => match connect_or_fail(Some(tool), target, io).await {
            Ok(c) => arptables::arptables(c, args, io).await,
            Err(code) => code,
        },
        Tool::ArptablesSave => match connect_or_fail(Some(tool), target, io).await {
            Ok(c) => arptables::arptables_save(c, args, io).await,
            Err(code) => code,
        },
        Tool::ArptablesRestore => match connect_or_fail(Some(tool), target, io).await {
            Ok(c) => arptables::arptables_restore(c, args, input, io).await,
            Err(code) => code,
        },
        Tool::Conntrack => {
            let inv = match ct_args::parse(args) {
                Ok(inv) => inv,
                Err(e) => {
                    io.err(e.to_string().as_bytes());
                    return e.exit_code();
                }
            };
            if let Some(code) = conntrack::offline(&inv, io) {
                return code;
            }
            match connect_or_fail(Some(tool), target, io).await {
                Ok(c) => conntrack::run(c, &inv, io).await,
                Err(code) => code,
            }
        }
    }
}

/// nfdpctl's own commands (not stand-ins for a tool).
#[derive(Clone, Debug, PartialEq)]
pub enum CtlCommand {
    Sysctl(sysctl::SysctlArgs),
    Ip(ip::IpCommand),
    Stats,
    Trace(crate::api::pb::TraceFilter),
}

/// Runs one of nfdpctl's own commands.
pub async fn run_ctl(cmd: CtlCommand, target: &Target, io: &mut Io<'_>) -> i32 {
    let conn = match connect_or_fail(None, target, io).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    match cmd {
        CtlCommand::Sysctl(a) => sysctl::run(conn, &a, io).await,
        CtlCommand::Ip(c) => ip::run(conn, c, io).await,
        CtlCommand::Stats => stats::run(conn, io).await,
        CtlCommand::Trace(f) => trace::run(conn, f, io).await,
    }
}

#[cfg(test)]
mod tests;
