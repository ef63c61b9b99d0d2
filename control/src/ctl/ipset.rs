//! `nfdpctl ipset ARGS...`: ipset 7.17 over the API. `restore` (`-R`) reads its text from
//! stdin (or `-file FILE`) and sends it whole (`Ipset.Restore`: all or nothing); every
//! other command goes to `Ipset.Exec`, whose stdout, stderr and exit status are ipset's.

use super::{status_message, Conn, Io};
use crate::api::pb::ipset_client::IpsetClient;
use crate::api::pb::{ExecRequest, IpsetRestoreRequest};
use crate::ipset::VERSION;

/// Whether the command line is a restore (then its `-exist` and `-file`).
fn restore_args(args: &[String]) -> Option<(bool, Option<String>)> {
    if !args
        .iter()
        .any(|a| matches!(a.as_str(), "restore" | "-R" | "--restore"))
    {
        return None;
    }
    let exist = args
        .iter()
        .any(|a| matches!(a.as_str(), "-exist" | "-!" | "--exist"));
    let file = args
        .iter()
        .position(|a| a == "-file" || a == "-f")
        .and_then(|i| args.get(i + 1).cloned());
    Some((exist, file))
}

fn failure(io: &mut Io<'_>, s: &tonic::Status) -> i32 {
    let m = status_message(s);
    if m.starts_with("ipset ") {
        io.err_line(&m);
    } else {
        io.err_line(&format!("ipset {VERSION}: {m}"));
    }
    s.metadata()
        .get("nfdp-exit-code")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Runs `ipset ARGS`; `input` stands in for stdin (tests).
pub async fn ipset(conn: Conn, args: &[String], input: Option<String>, io: &mut Io<'_>) -> i32 {
    let mut client = IpsetClient::new(conn);
    if let Some((exist, file)) = restore_args(args) {
        let text = match (input, file) {
            (_, Some(f)) => std::fs::read_to_string(&f)
                .map_err(|e| format!("cannot read {f}: {}", super::os_error(&e))),
            (Some(t), None) => Ok(t),
            (None, None) => std::io::read_to_string(std::io::stdin())
                .map_err(|e| format!("cannot read stdin: {}", super::os_error(&e))),
        };
        let text = match text {
            Ok(t) => t,
            Err(m) => {
                io.err_line(&format!("ipset {VERSION}: {m}"));
                return 1;
            }
        };
        return match client.restore(IpsetRestoreRequest { text, exist }).await {
            Ok(_) => 0,
            Err(s) => failure(io, &s),
        };
    }
    match client
        .exec(ExecRequest {
            args: args.to_vec(),
            ..Default::default()
        })
        .await
    {
        Ok(r) => {
            let r = r.into_inner();
            io.out(r.stdout.as_bytes());
            io.err(r.stderr.as_bytes());
            r.exit_code
        }
        Err(s) => failure(io, &s),
    }
}
