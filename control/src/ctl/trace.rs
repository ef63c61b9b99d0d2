//! `nfdpctl trace [-p PROTO] [-s NET] [-d NET] [--sport N] [--dport N] [-i IFACE]
//! [--limit N]`: TRACE lines of the matching packets as they come, until Ctrl-C or the
//! limit.

use super::connect::Conn;
use super::{status_message, Io};
use crate::api::pb::trace_client::TraceClient;
use crate::api::pb::TraceFilter;
use tokio_stream::StreamExt;

/// Parses the filter options; Err: the message (exit 2).
pub fn parse(args: &[String]) -> Result<TraceFilter, String> {
    let mut f = TraceFilter::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("nfdpctl trace: option {a} requires an argument"))
        };
        let num = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("nfdpctl trace: bad number `{v}' for {a}"))
        };
        match a.as_str() {
            "-p" | "--proto" | "--protocol" => {
                let v = val()?;
                f.proto = Some(match v.as_str() {
                    "tcp" => 6,
                    "udp" => 17,
                    "icmp" => 1,
                    "sctp" => 132,
                    _ => v
                        .parse::<u8>()
                        .map(u32::from)
                        .map_err(|_| format!("nfdpctl trace: unknown protocol `{v}'"))?,
                });
            }
            "-s" | "--src" | "--source" => f.src = Some(val()?),
            "-d" | "--dst" | "--destination" => f.dst = Some(val()?),
            "--sport" => f.sport = Some(num(val()?)? as u32),
            "--dport" => f.dport = Some(num(val()?)? as u32),
            "-i" | "--in-interface" | "--iface" => f.iface = val()?,
            "--limit" | "-n" => f.limit = num(val()?)?,
            _ => return Err(format!("nfdpctl trace: unknown option `{a}'")),
        }
    }
    if (f.sport.is_some() || f.dport.is_some()) && !matches!(f.proto, Some(6 | 17 | 132)) {
        return Err("nfdpctl trace: --sport/--dport need -p tcp, udp or sctp".into());
    }
    Ok(f)
}

/// Prints the lines of the watch; stops at Ctrl-C, at the stream's end, or once `limit`
/// packets were shown (the daemon stops there too; this holds if it sends more).
pub async fn run(conn: Conn, f: TraceFilter, io: &mut Io<'_>) -> i32 {
    let limit = f.limit;
    let mut packets: Option<(u64, u64)> = None; // (last packet number, packets seen)
    let mut interrupt = super::Interrupt::new();
    let mut stream = match TraceClient::new(conn).watch(f).await {
        Ok(r) => r.into_inner(),
        Err(s) => {
            io.err_line(&format!("nfdpctl: {}", status_message(&s)));
            return 1;
        }
    };
    loop {
        tokio::select! {
            _ = interrupt.recv() => return 0,
            ev = stream.next() => match ev {
                Some(Ok(ev)) => {
                    let seen = match packets {
                        Some((last, n)) if last == ev.packet => n,
                        Some((_, n)) => n + 1,
                        None => 1,
                    };
                    if limit != 0 && seen > limit {
                        return 0;
                    }
                    packets = Some((ev.packet, seen));
                    io.out_line(&ev.line);
                    io.flush();
                }
                Some(Err(s)) => {
                    io.err_line(&format!("nfdpctl: {}", status_message(&s)));
                    return 1;
                }
                None => return 0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_options() {
        let a: Vec<String> = "-p tcp --dport 80 -s 10.0.0.0/8 -i lan0 --limit 5"
            .split(' ')
            .map(String::from)
            .collect();
        assert_eq!(
            parse(&a).unwrap(),
            TraceFilter {
                proto: Some(6),
                src: Some("10.0.0.0/8".into()),
                dport: Some(80),
                iface: "lan0".into(),
                limit: 5,
                ..Default::default()
            }
        );
        assert!(parse(&["--dport".to_string(), "80".to_string()]).is_err());
        assert!(parse(&["-x".to_string()]).is_err());
    }
}
