//! `nfdp`: the appliance. Subcommands that need no DPDK run anywhere.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nfdp",
    version,
    about = "netfilter-compatible router/NAT on a DPDK data plane"
)]
struct Cli {
    /// Run the appliance described by this config (TOML; see configs/): EAL, ports,
    /// workers, rules, metrics. Stops cleanly on SIGINT/SIGTERM; SIGHUP reloads the rules.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Offline ruleset tools.
    Ruleset {
        /// Load FILE (iptables-restore format, `-` for stdin) and print it in
        /// iptables-save form; on error print FILE:LINE: message and exit 1.
        #[arg(long, value_name = "FILE")]
        check: String,
        /// The file is ip6tables-restore text, printed in ip6tables-save form (the
        /// language only: `[rules] file6` also refuses what the IPv6 path cannot run).
        #[arg(short = '6', long = "ipv6")]
        ipv6: bool,
        /// The IP sets the rules reference (`ipset restore` text), loaded first.
        #[arg(long, value_name = "FILE")]
        ipset: Option<PathBuf>,
    },
    /// The iptables extensions nfdp knows (matches and targets, with their revision,
    /// what a match reads and where the kernel allows each), and those it refuses.
    Extensions,
    /// Offline config tools.
    Config {
        /// Check FILE as `nfdp --config FILE` does before it starts anything: ports,
        /// addresses, routes, policies, neighbours, EAL arguments, the rules file it names
        /// and the API token file. Prints a summary, or FILE:LINE: message and exits 1.
        #[arg(long, value_name = "FILE")]
        check: PathBuf,
    },
    /// Run pcap captures through the pipeline without DPDK.
    Replay {
        /// Appliance config (TOML): ports, addresses, routes, neighbours, rules file.
        #[arg(long, value_name = "CFG")]
        config: PathBuf,
        /// Ruleset (iptables-restore format); overrides the config's [rules] file.
        #[arg(long, value_name = "RULES")]
        rules: Option<PathBuf>,
        /// ip6tables' ruleset (ip6tables-restore format); overrides the config's
        /// [rules] file6.
        #[arg(long, value_name = "RULES6")]
        rules6: Option<PathBuf>,
        /// Input capture for a port, as PORT=FILE.pcap; repeat for more ports.
        #[arg(long = "in", value_name = "PORT=FILE", required = true)]
        inputs: Vec<String>,
        /// Output directory: PORT.pcap per transmitting port, local.pcap, trace.txt.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also write the conntrack table at the end (/proc/net/nf_conntrack format).
        #[arg(long, value_name = "FILE")]
        conntrack: Option<PathBuf>,
        /// Also write conntrack's NEW / UPDATE / DESTROY events (`conntrack -E` shape).
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
        /// Also write the -j NFLOG packets, DIR/group-N.pcap per group (raw IPv4).
        #[arg(long, value_name = "DIR")]
        nflog_dir: Option<PathBuf>,
    },
}

/// `rules`: the iptables and ip6tables rulesets given on the command line.
fn replay(
    config: PathBuf,
    rules: (Option<PathBuf>, Option<PathBuf>),
    inputs: Vec<String>,
    out: PathBuf,
    conntrack: Option<PathBuf>,
    events: Option<PathBuf>,
    nflog_dir: Option<PathBuf>,
) -> ExitCode {
    let mut parsed = Vec::new();
    for i in &inputs {
        match i.split_once('=') {
            Some((port, file)) if !port.is_empty() && !file.is_empty() => {
                parsed.push((port.to_string(), PathBuf::from(file)))
            }
            _ => {
                eprintln!("--in {i}: expected PORT=FILE.pcap");
                return ExitCode::from(2);
            }
        }
    }
    let args = control::replay::ReplayArgs {
        config,
        rules: rules.0,
        rules6: rules.1,
        inputs: parsed,
        out_dir: out,
        conntrack,
        events,
        nflog_dir,
    };
    match control::replay::run(&args) {
        Ok(s) => {
            let written: Vec<String> = s
                .written
                .iter()
                .map(|(k, v)| format!("{k}.pcap: {v}"))
                .collect();
            println!(
                "replayed {} packets; wrote {}; see {}/trace.txt",
                s.packets,
                if written.is_empty() {
                    "nothing".to_string()
                } else {
                    written.join(", ")
                },
                args.out_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match (cli.command, cli.config) {
        (Some(c), None) => c,
        (None, Some(config)) => {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            return match control::daemon::run(&config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("nfdp: {e}");
                    ExitCode::from(1)
                }
            };
        }
        (Some(_), Some(_)) => {
            eprintln!("nfdp: --config runs the daemon; it does not combine with a subcommand");
            return ExitCode::from(2);
        }
        (None, None) => {
            eprintln!(
                "nfdp: give --config FILE to run the appliance, or a subcommand (see --help)"
            );
            return ExitCode::from(2);
        }
    };
    match command {
        Cmd::Replay {
            config,
            rules,
            rules6,
            inputs,
            out,
            conntrack,
            events,
            nflog_dir,
        } => replay(
            config,
            (rules, rules6),
            inputs,
            out,
            conntrack,
            events,
            nflog_dir,
        ),
        Cmd::Extensions => {
            print!("{}", control::iptables::ext::extensions_listing());
            ExitCode::SUCCESS
        }
        Cmd::Config { check } => match control::config_check::check(&check) {
            Ok(checked) => {
                println!("{}", checked.summary());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        Cmd::Ruleset { check, ipset, ipv6 } => {
            let sets = match &ipset {
                None => None,
                Some(p) => match control::input_file::read_text(
                    p,
                    control::config::DEFAULT_RULES_FILE_LIMIT,
                ) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        eprintln!("{}: {e}", p.display());
                        return ExitCode::from(1);
                    }
                },
            };
            if let (Some(p), Some(text)) = (&ipset, &sets) {
                let mut rs = dataplane::ruleset::Ruleset::default();
                if let Err(e) = control::ipset::restore(&mut rs, text, false, 0) {
                    eprintln!("{}:{}: {}", p.display(), e.line, e.message);
                    return ExitCode::from(1);
                }
            }
            let text = if check == "-" {
                match control::input_file::read_stdin(control::config::DEFAULT_RULES_FILE_LIMIT) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("-: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                match control::input_file::read_text(
                    std::path::Path::new(&check),
                    control::config::DEFAULT_RULES_FILE_LIMIT,
                ) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("{check}: {e}");
                        return ExitCode::from(1);
                    }
                }
            };
            let family = if ipv6 {
                dataplane::ruleset::Family::V6
            } else {
                dataplane::ruleset::Family::V4
            };
            match control::ruleset_check::check_family_text_with_sets(
                family,
                sets.as_deref(),
                &text,
            ) {
                Ok(out) => {
                    print!("{out}");
                    ExitCode::SUCCESS
                }
                Err((line, msg)) => {
                    eprintln!("{check}:{line}: {msg}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
