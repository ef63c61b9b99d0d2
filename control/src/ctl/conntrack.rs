//! `conntrack -L|-G|-D|-F|-C|-E|-S` over the Conntrack service, printed as conntrack
//! 1.4.7 prints.

use super::connect::Conn;
use super::ct_args::{CtCommand, CtInvocation, USAGE};
use super::ct_format::{self, Format, PREFIX};
use super::{status_message, Io};
use crate::api::pb::conntrack_client::ConntrackClient;
use crate::api::pb::{
    ConntrackEntry, ConntrackFilter, ConntrackStatsRequest, CountRequest, EventsRequest,
    FlushRequest, UpdateRequest,
};
use crate::iptables::ext::connlabel::{label_map, NoMap};
use tokio_stream::StreamExt;

/// `conntrack -V`.
pub const VERSION: &str = "conntrack v1.4.7 (conntrack-tools)";

/// Prints an error status as conntrack prints a failed operation; exit 1.
fn failed(io: &mut Io<'_>, s: &tonic::Status) -> i32 {
    let msg = status_message(s);
    let msg = if msg.starts_with(PREFIX) {
        msg
    } else if s.code() == tonic::Code::NotFound && msg.is_empty() {
        format!("{PREFIX}Operation failed: such conntrack doesn't exist")
    } else if msg.starts_with("Operation failed") {
        format!("{PREFIX}{msg}")
    } else {
        format!("{PREFIX}Operation failed: {msg}")
    };
    io.err_line(&msg);
    1
}

/// What needs no daemon: usage and version. `None`: a command to run.
pub fn offline(inv: &CtInvocation, io: &mut Io<'_>) -> Option<i32> {
    if inv.version {
        io.out_line(VERSION);
        return Some(0);
    }
    if inv.command.is_none() {
        io.out(USAGE.as_bytes());
        return Some(0);
    }
    None
}

/// Runs a parsed command line against the daemon.
pub async fn run(conn: Conn, inv: &CtInvocation, io: &mut Io<'_>) -> i32 {
    let Some(cmd) = inv.command else { return 0 };
    let mut c = ConntrackClient::new(conn);
    let fmt = Format {
        extended: inv.extended,
        event: false,
    };
    // `-o labels`: conntrack loads the label map first (perror when it cannot).
    let map = if inv.labels {
        match label_map() {
            Ok(m) => Some(m),
            Err(NoMap::Unreadable(why)) => {
                io.err_line(&format!("nfct_labelmap_new: {why}"));
                None
            }
            Err(NoMap::Empty) => {
                io.err_line("nfct_labelmap_new: Success");
                None
            }
        }
    } else {
        None
    };
    let line = |e: &ConntrackEntry| {
        let mut l = ct_format::entry_line(e, fmt);
        if let Some(m) = map {
            ct_format::append_labels(&mut l, e, m);
        }
        l
    };
    let f = inv.filter.clone();
    match cmd {
        CtCommand::List | CtCommand::Get => {
            let r = if cmd == CtCommand::List {
                c.list(f).await
            } else {
                c.get(f).await
            };
            match r {
                Ok(r) => {
                    let entries = r.into_inner().entries;
                    for e in &entries {
                        io.out_line(&line(e));
                    }
                    io.err_line(&ct_format::shown(entries.len()));
                    0
                }
                Err(s) => failed(io, &s),
            }
        }
        CtCommand::Delete => {
            // conntrack prints every entry it deletes; Delete returns a count, so the
            // entries are listed with the same filter first.
            let listed = match c.list(f.clone()).await {
                Ok(r) => r.into_inner().entries,
                Err(s) => return failed(io, &s),
            };
            match c.delete(f).await {
                Ok(r) => {
                    let n = r.into_inner().deleted;
                    for e in listed.iter().take(n as usize) {
                        io.out_line(&line(e));
                    }
                    io.err_line(&ct_format::deleted(n));
                    if n == 0 {
                        1
                    } else {
                        0
                    }
                }
                Err(s) => failed(io, &s),
            }
        }
        CtCommand::Update => {
            // -m is the mark to set, not a criterion; without it nothing changes.
            let Some(mark) = f.mark else {
                io.err_line(&ct_format::updated(0));
                return 1;
            };
            let req = UpdateRequest {
                mark,
                mark_mask: f.mark_mask.unwrap_or(u32::MAX),
                filter: Some(ConntrackFilter {
                    mark: None,
                    mark_mask: None,
                    ..f
                }),
            };
            match c.update(req).await {
                Ok(r) => {
                    let entries = r.into_inner().entries;
                    for e in &entries {
                        io.out_line(&line(e));
                    }
                    io.err_line(&ct_format::updated(entries.len()));
                    i32::from(entries.is_empty())
                }
                Err(s) => failed(io, &s),
            }
        }
        CtCommand::Flush => match c.flush(FlushRequest { family: f.family }).await {
            Ok(_) => {
                io.err_line(&ct_format::emptied());
                0
            }
            Err(s) => failed(io, &s),
        },
        CtCommand::Count => match c.count(CountRequest {}).await {
            Ok(r) => {
                io.out_line(&r.into_inner().count.to_string());
                0
            }
            Err(s) => failed(io, &s),
        },
        CtCommand::Stats => match c.stats(ConntrackStatsRequest {}).await {
            Ok(r) => {
                for w in &r.into_inner().workers {
                    io.out_line(&ct_format::stats_line(w));
                }
                0
            }
            Err(s) => failed(io, &s),
        },
        CtCommand::Events => {
            let req = EventsRequest {
                types: inv.event_types.clone(),
                filter: Some(f),
            };
            let mut interrupt = super::Interrupt::new();
            let mut stream = match c.events(req).await {
                Ok(r) => r.into_inner(),
                Err(s) => return failed(io, &s),
            };
            let mut shown = 0u64;
            let code = loop {
                tokio::select! {
                    _ = interrupt.recv() => break 0,
                    ev = stream.next() => match ev {
                        Some(Ok(ev)) => {
                            let line = match &ev.entry {
                                Some(e) => ct_format::event_line(&ev.r#type, e, inv.extended),
                                None => ev.line.clone(),
                            };
                            io.out_line(&line);
                            io.flush();
                            shown += 1;
                        }
                        Some(Err(s)) => break failed(io, &s),
                        None => break 0,
                    }
                }
            };
            io.err_line(&ct_format::events_shown(shown));
            code
        }
    }
}
