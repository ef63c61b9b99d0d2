//! `nfdp`: the appliance. Subcommands that need no DPDK run anywhere.

use clap::{Parser, Subcommand};
use std::io::Read;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nfdp",
    version,
    about = "netfilter-compatible router/NAT on a DPDK data plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Offline ruleset tools.
    Ruleset {
        /// Load FILE (iptables-restore format, `-` for stdin) and print it in
        /// iptables-save form; on error print FILE:LINE: message and exit 1.
        #[arg(long, value_name = "FILE")]
        check: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Ruleset { check } => {
            let text = if check == "-" {
                let mut s = String::new();
                if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                    eprintln!("-: {e}");
                    return ExitCode::from(1);
                }
                s
            } else {
                match std::fs::read_to_string(&check) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("{check}: {e}");
                        return ExitCode::from(1);
                    }
                }
            };
            match control::ruleset_check::check_text(&text) {
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
