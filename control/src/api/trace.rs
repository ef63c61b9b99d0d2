//! The Trace service: `Watch` opens a trace watch on every worker for its filter and
//! streams the TRACE lines of the packets it selects, until `limit` packets were traced
//! or the client goes; then the watch is closed everywhere. The ruleset is not touched.
//! Several watches may be open at once, each with its own filter: a packet several of
//! them select is traced for each.

use super::pb;
use super::workers::{ask_all, tell_all};
use crate::daemon::listeners::{TraceBatch, TraceRequest};
use crate::daemon::worker::Command;
use crossbeam_channel::Sender;
use dataplane::conntrack::filter::{parse_prefix, FilterError};
use dataplane::pipeline::trace::TraceFilter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Trace batches a watch may have waiting per worker before that worker drops more.
pub const TRACE_BUFFER: usize = 1024;

pub struct TraceService {
    workers: Vec<Sender<Command>>,
    next_id: AtomicU64,
}

impl TraceService {
    pub fn new(workers: Vec<Sender<Command>>) -> TraceService {
        TraceService {
            workers,
            next_id: AtomicU64::new(1),
        }
    }
}

/// The API's trace filter as the pipeline's, and the input interface's name (the
/// workers resolve it). Errors read as conntrack's.
pub fn trace_filter(f: &pb::TraceFilter) -> Result<(TraceFilter, Option<String>), FilterError> {
    let port = |v: u32| u16::try_from(v).map_err(|_| FilterError::Parameter(v.to_string()));
    let filter = TraceFilter {
        proto: f
            .proto
            .map(|p| u8::try_from(p).map_err(|_| FilterError::Protocol(p.to_string())))
            .transpose()?,
        src: f.src.as_deref().map(parse_prefix).transpose()?,
        dst: f.dst.as_deref().map(parse_prefix).transpose()?,
        sport: f.sport.map(port).transpose()?,
        dport: f.dport.map(port).transpose()?,
        in_port: None,
    };
    let iface = (!f.iface.is_empty()).then(|| f.iface.clone());
    Ok((filter, iface))
}

/// Numbers a watch's packets across workers in the order their lines arrive, and knows
/// when `limit` of them were streamed.
struct Numbering {
    limit: u64,
    seen: HashMap<(usize, u64), u64>,
}

impl Numbering {
    /// The packet's number in this watch; `None` past the limit.
    fn number(&mut self, worker: usize, packet: u64) -> Option<u64> {
        let next = self.seen.len() as u64 + 1;
        if let Some(&n) = self.seen.get(&(worker, packet)) {
            return Some(n);
        }
        if self.limit != 0 && next > self.limit {
            return None;
        }
        self.seen.insert((worker, packet), next);
        Some(next)
    }

    fn full(&self) -> bool {
        self.limit != 0 && self.seen.len() as u64 >= self.limit
    }
}

#[tonic::async_trait]
impl pb::trace_server::Trace for TraceService {
    type WatchStream = ReceiverStream<Result<pb::TraceEvent, Status>>;

    async fn watch(
        &self,
        request: Request<pb::TraceFilter>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let req = request.into_inner();
        let (filter, iface) =
            trace_filter(&req).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel::<TraceBatch>(TRACE_BUFFER);
        let opened = ask_all(&self.workers, |reply| Command::TraceOn {
            watch: TraceRequest {
                id,
                filter: filter.clone(),
                iface: iface.clone(),
                limit: req.limit,
                tx: tx.clone(),
            },
            reply,
        })
        .await;
        drop(tx);
        let refused = match opened {
            Err(e) => Some(e),
            Ok(answers) => answers
                .into_iter()
                .find_map(|a| a.err())
                .map(Status::invalid_argument),
        };
        if let Some(e) = refused {
            tell_all(&self.workers, || Command::TraceOff { id });
            return Err(e);
        }
        let (out, stream) = mpsc::channel(256);
        let workers = self.workers.clone();
        let n_workers = workers.len();
        tokio::spawn(async move {
            let mut numbers = Numbering {
                limit: req.limit,
                seen: HashMap::new(),
            };
            let mut done_workers = 0;
            let mut lost = 0;
            'stream: loop {
                let batch = tokio::select! {
                    _ = out.closed() => break,
                    b = rx.recv() => match b {
                        Some(b) => b,
                        None => break,
                    },
                };
                lost += batch.lost;
                for (packet, line) in batch.lines {
                    let Some(n) = numbers.number(batch.worker, packet) else {
                        continue;
                    };
                    let ev = pb::TraceEvent {
                        line,
                        worker: batch.worker as u32,
                        packet: n,
                        lost,
                    };
                    if out.send(Ok(ev)).await.is_err() {
                        break 'stream;
                    }
                    lost = 0;
                }
                // A batch holds all the lines of its packets: with `limit` packets
                // streamed, the watch is complete.
                if numbers.full() {
                    break;
                }
                if batch.done {
                    done_workers += 1;
                    if done_workers == n_workers {
                        break;
                    }
                }
            }
            drop(rx);
            tell_all(&workers, || Command::TraceOff { id });
        });
        Ok(Response::new(ReceiverStream::new(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_numbered_across_workers_up_to_the_limit() {
        let mut n = Numbering {
            limit: 2,
            seen: HashMap::new(),
        };
        assert_eq!(n.number(0, 1), Some(1));
        assert_eq!(n.number(0, 1), Some(1));
        assert!(!n.full());
        assert_eq!(n.number(1, 1), Some(2));
        assert!(n.full());
        assert_eq!(n.number(0, 2), None);
        assert_eq!(n.number(1, 1), Some(2));
    }

    #[test]
    fn bad_filters_are_refused_with_conntrack_like_messages() {
        let f = |f: pb::TraceFilter| trace_filter(&f).map_err(|e| e.to_string());
        assert_eq!(
            f(pb::TraceFilter {
                src: Some("10.0.0.300".into()),
                ..Default::default()
            })
            .unwrap_err(),
            "Invalid IP address `10.0.0.300'"
        );
        assert_eq!(
            f(pb::TraceFilter {
                proto: Some(256),
                ..Default::default()
            })
            .unwrap_err(),
            "`256' unsupported protocol"
        );
        let (ok, iface) = f(pb::TraceFilter {
            proto: Some(17),
            dst: Some("10.0.0.0/8".into()),
            dport: Some(53),
            iface: "lan0".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.dport, Some(53));
        assert_eq!(iface.as_deref(), Some("lan0"));
    }
}
