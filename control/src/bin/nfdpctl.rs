//! `nfdpctl`: the operator's client of nfdp's gRPC API. Called through a link named
//! iptables, iptables-save, iptables-restore, ip6tables, ip6tables-save, ip6tables-restore
//! (also their -legacy / -nft forms), conntrack, ipset or arptables*, it behaves as that
//! tool (`nfdpctl install-links DIR` makes the links).

use clap::{Parser, Subcommand};
use control::ctl::{self, CtlCommand, Io, Target, Tool};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "nfdpctl",
    version,
    about = "nfdp's operator CLI: iptables, ip6tables, arptables, ipset, conntrack, sysctl, ip, stats and trace over the gRPC API"
)]
struct Cli {
    /// The daemon's Unix socket (else $NFDP_SOCKET, else /run/nfdp/nfdp.sock).
    #[arg(long, value_name = "PATH", global = true)]
    socket: Option<PathBuf>,
    /// The daemon's TCP API, http://HOST:PORT (else $NFDP_ADDRESS); needs --token-file.
    #[arg(long, value_name = "URL", global = true)]
    address: Option<String>,
    /// The bearer token for --address (else $NFDP_TOKEN_FILE).
    #[arg(long, value_name = "FILE", global = true)]
    token_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// iptables ARGS: run as iptables 1.8.9 would (output and exit status).
    #[command(disable_help_flag = true)]
    Iptables {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// iptables-save [-c] [-t TABLE].
    #[command(name = "iptables-save", disable_help_flag = true)]
    IptablesSave {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// iptables-restore [-n] [-c] [-t] [-T TABLE] [FILE] (stdin without FILE).
    #[command(name = "iptables-restore", disable_help_flag = true)]
    IptablesRestore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// ip6tables ARGS: run as ip6tables 1.8.9 would (ip6tables' tables).
    #[command(disable_help_flag = true)]
    Ip6tables {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// ip6tables-save [-c] [-t TABLE].
    #[command(name = "ip6tables-save", disable_help_flag = true)]
    Ip6tablesSave {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// ip6tables-restore [-n] [-c] [-t] [-T TABLE] [FILE] (stdin without FILE).
    #[command(name = "ip6tables-restore", disable_help_flag = true)]
    Ip6tablesRestore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// conntrack -L|-G|-D|-F|-C|-E|-S [filter options] [-o extended].
    #[command(disable_help_flag = true)]
    Conntrack {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// ipset ARGS: run as ipset 7.17 would (`restore` reads stdin or -file FILE, whole).
    #[command(disable_help_flag = true)]
    Ipset {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// arptables ARGS: run as arptables 1.8.9 would (the ARP table).
    #[command(disable_help_flag = true)]
    Arptables {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// arptables-save [-c].
    #[command(name = "arptables-save", disable_help_flag = true)]
    ArptablesSave {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// arptables-restore [-c] [FILE] (stdin without FILE): replaces the ARP table.
    #[command(name = "arptables-restore", disable_help_flag = true)]
    ArptablesRestore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// sysctl [-n] [-w] NAME[=VALUE]...: the conntrack tunables.
    #[command(disable_help_flag = true)]
    Sysctl {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// ip route|rule|neigh|link [show|add|del ...] (iproute2 syntax).
    #[command(disable_help_flag = true)]
    Ip {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Ports, workers and drops by reason.
    Stats,
    /// trace [-p PROTO] [-s NET] [-d NET] [--sport N] [--dport N] [-i IFACE] [--limit N]:
    /// TRACE lines of matching packets until Ctrl-C or the limit.
    #[command(disable_help_flag = true)]
    Trace {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Creates DIR/{iptables,ip6tables,arptables}{,-save,-restore}, conntrack, ipset ->
    /// this binary.
    InstallLinks { dir: PathBuf },
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nfdpctl: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    }
}

/// What main runs once the command line is understood.
enum Job {
    Tool(Tool, Vec<String>),
    Ctl(CtlCommand),
}

fn run(job: Job, target: &Target) -> i32 {
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut io = Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
    };
    let code = runtime().block_on(async {
        match job {
            Job::Tool(tool, args) => ctl::run_tool(tool, &args, target, &mut io).await,
            Job::Ctl(c) => ctl::run_ctl(c, target, &mut io).await,
        }
    });
    io.flush();
    code
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let argv0 = argv.first().cloned().unwrap_or_default();
    if let Some(tool) = ctl::tool_for_argv0(&argv0) {
        std::process::exit(run(
            Job::Tool(tool, argv[1..].to_vec()),
            &Target::from_env(),
        ));
    }
    let cli = Cli::parse();
    let target = Target::resolve(cli.socket, cli.address, cli.token_file, |k| {
        std::env::var(k).ok()
    });
    let job = match cli.command {
        Cmd::Iptables { args } => Ok(Job::Tool(Tool::Iptables, args)),
        Cmd::IptablesSave { args } => Ok(Job::Tool(Tool::IptablesSave, args)),
        Cmd::IptablesRestore { args } => Ok(Job::Tool(Tool::IptablesRestore, args)),
        Cmd::Ip6tables { args } => Ok(Job::Tool(Tool::Ip6tables, args)),
        Cmd::Ip6tablesSave { args } => Ok(Job::Tool(Tool::Ip6tablesSave, args)),
        Cmd::Ip6tablesRestore { args } => Ok(Job::Tool(Tool::Ip6tablesRestore, args)),
        Cmd::Conntrack { args } => Ok(Job::Tool(Tool::Conntrack, args)),
        Cmd::Ipset { args } => Ok(Job::Tool(Tool::Ipset, args)),
        Cmd::Arptables { args } => Ok(Job::Tool(Tool::Arptables, args)),
        Cmd::ArptablesSave { args } => Ok(Job::Tool(Tool::ArptablesSave, args)),
        Cmd::ArptablesRestore { args } => Ok(Job::Tool(Tool::ArptablesRestore, args)),
        Cmd::InstallLinks { dir } => std::process::exit(install_links(&dir)),
        Cmd::Sysctl { args } => ctl::sysctl::parse(&args)
            .map(|a| Job::Ctl(CtlCommand::Sysctl(a)))
            .map_err(|e| (e, 255)),
        Cmd::Ip { args } => ctl::ip::parse(&args)
            .map(|c| Job::Ctl(CtlCommand::Ip(c)))
            .map_err(|e| (e, 255)),
        Cmd::Stats => Ok(Job::Ctl(CtlCommand::Stats)),
        Cmd::Trace { args } => ctl::trace::parse(&args)
            .map(|f| Job::Ctl(CtlCommand::Trace(f)))
            .map_err(|e| (e, 2)),
    };
    let code = match job {
        Ok(job) => run(job, &target),
        Err((msg, code)) => {
            eprintln!("{msg}");
            code
        }
    };
    std::process::exit(code);
}

fn install_links(dir: &std::path::Path) -> i32 {
    let exe = match std::env::current_exe().and_then(|p| p.canonicalize()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("nfdpctl: cannot find my own path: {}", ctl::os_error(&e));
            return 1;
        }
    };
    match ctl::links::install_links(dir, &exe) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!(
                "nfdpctl: install-links {}: {}",
                dir.display(),
                ctl::os_error(&e)
            );
            1
        }
    }
}
