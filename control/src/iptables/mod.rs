//! The iptables language: command lines (`-A`, `-I`, `-D`, ... with every match and
//! target of SPEC.md), the iptables-restore file format, and the printers for `-S`,
//! `-L` and iptables-save, in the exact text iptables 1.8.9 prints.

pub mod cli;
pub mod command;
pub mod exec;
pub mod ext;
pub mod lexer;
pub mod list;
pub mod names;
pub mod restore;
pub mod save;

pub use command::{parse_command, Command, ListOptions, ParsedCommand, Source};
pub use exec::{execute, execute_typed, ExecError};
pub use restore::{restore, RestoreError, RestoreOptions};
pub use save::{rule_to_string, save_ruleset, save_table};
