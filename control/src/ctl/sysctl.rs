//! `nfdpctl sysctl [-n] [-w] [-a] NAME[=VALUE]...` over the Sysctl service, printed as
//! procps sysctl prints (`name = value`).

use super::connect::Conn;
use super::{status_message, Io};
use crate::api::pb::sysctl_client::SysctlClient;
use crate::api::pb::{SysctlGetRequest, SysctlSetRequest, SysctlValue};

/// sysctl's arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysctlArgs {
    /// `-n`: values only.
    pub values_only: bool,
    /// `-q`: print nothing for assignments.
    pub quiet: bool,
    /// In order: (name, Some(value)) assigns, (name, None) reads.
    pub items: Vec<(String, Option<String>)>,
}

/// Parses the arguments; Err: sysctl's message (exit 255).
pub fn parse(args: &[String]) -> Result<SysctlArgs, String> {
    let mut a = SysctlArgs::default();
    for s in args {
        match s.as_str() {
            "-w" | "--write" | "-a" | "--all" | "-A" | "-X" | "-e" => {}
            "-n" | "--values" => a.values_only = true,
            "-q" | "--quiet" => a.quiet = true,
            _ if s.starts_with('-') => return Err(format!("sysctl: unknown option {s}")),
            _ => match s.split_once('=') {
                Some((n, v)) => a
                    .items
                    .push((n.trim().to_string(), Some(v.trim().to_string()))),
                None => a.items.push((s.clone(), None)),
            },
        }
    }
    Ok(a)
}

fn print(io: &mut Io<'_>, a: &SysctlArgs, v: &SysctlValue) {
    if a.values_only {
        io.out_line(&v.value);
    } else {
        io.out_line(&format!("{} = {}", v.name, v.value));
    }
}

/// Reads and writes in order; exit 255 on the first refusal, as sysctl does.
pub async fn run(conn: Conn, a: &SysctlArgs, io: &mut Io<'_>) -> i32 {
    let mut c = SysctlClient::new(conn);
    if a.items.is_empty() {
        return match c.get(SysctlGetRequest { names: vec![] }).await {
            Ok(r) => {
                r.into_inner().values.iter().for_each(|v| print(io, a, v));
                0
            }
            Err(s) => {
                io.err_line(&format!("sysctl: {}", status_message(&s)));
                255
            }
        };
    }
    for (name, value) in &a.items {
        let r = match value {
            Some(v) => {
                let values = vec![SysctlValue {
                    name: name.clone(),
                    value: v.clone(),
                }];
                c.set(SysctlSetRequest { values }).await
            }
            None => {
                c.get(SysctlGetRequest {
                    names: vec![name.clone()],
                })
                .await
            }
        };
        match r {
            Ok(r) => {
                if value.is_none() || !a.quiet {
                    r.into_inner().values.iter().for_each(|v| print(io, a, v));
                }
            }
            Err(s) => {
                io.err_line(&format!("sysctl: {}", status_message(&s)));
                return 255;
            }
        }
    }
    0
}
