//! The Conntrack service (`conntrack -L -G -D -F -C -S -E`): every request goes to every
//! worker's shard (a connection lives in exactly one), answers are merged here. Filter
//! errors carry conntrack 1.4.7's message (without its `conntrack v1.4.7
//! (conntrack-tools): ` prefix, which nfdpctl prints).

use super::pb;
use super::workers::{ask_all, send, tell_all};
use crate::daemon::listeners::{AnyEvent, EventMsg, EventSubscription};
use crate::daemon::worker::{now_ns, Command, WorkerCtStats};
use crossbeam_channel::Sender;
use dataplane::conntrack::filter::{self, CtPrefix, FilterError};
use dataplane::conntrack::{
    ConnEntry, Counters, CtAddr, CtEvent, CtEventKind, CtFilter, CtRecord, Tuple,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

const NS: u64 = 1_000_000_000;

/// Events a stream may have waiting per worker before that worker drops more.
pub const EVENT_BUFFER: usize = 4096;

/// The Conntrack service over the workers' command queues (in worker order).
pub struct ConntrackService {
    workers: Vec<Sender<Command>>,
    next_id: AtomicU64,
}

impl ConntrackService {
    pub fn new(workers: Vec<Sender<Command>>) -> ConntrackService {
        ConntrackService {
            workers,
            next_id: AtomicU64::new(1),
        }
    }

    async fn stats_all(&self) -> Result<Vec<WorkerCtStats>, Status> {
        ask_all(&self.workers, |reply| Command::CtStats { reply }).await
    }
}

fn invalid(e: FilterError) -> Status {
    Status::invalid_argument(e.to_string())
}

fn byte(v: u32, what: &str) -> Result<u8, FilterError> {
    u8::try_from(v).map_err(|_| FilterError::Parameter(format!("{what} {v}")))
}

fn port(v: u32) -> Result<u16, FilterError> {
    u16::try_from(v).map_err(|_| FilterError::Parameter(v.to_string()))
}

fn prefix(s: &Option<String>) -> Result<Option<CtPrefix>, FilterError> {
    s.as_deref().map(filter::parse_ct_prefix).transpose()
}

/// The API's filter as the data plane's: every address, name and number checked.
impl TryFrom<&pb::ConntrackFilter> for CtFilter {
    type Error = FilterError;

    fn try_from(f: &pb::ConntrackFilter) -> Result<CtFilter, FilterError> {
        let proto = f
            .proto
            .map(|p| u8::try_from(p).map_err(|_| FilterError::Protocol(p.to_string())))
            .transpose()?;
        let mut tcp_states = 0u16;
        for name in &f.tcp_state {
            let s = filter::parse_tcp_state(name)?;
            tcp_states |= 1 << (s as u16);
        }
        let mut status = 0u16;
        for name in &f.status {
            status |= filter::parse_status(name)?;
        }
        let mark = match (f.mark, f.mark_mask) {
            (Some(v), m) => Some((v, m.unwrap_or(u32::MAX))),
            (None, Some(_)) => {
                return Err(FilterError::Other(
                    "a mark mask needs a mark (-m VALUE/MASK)".into(),
                ))
            }
            (None, None) => None,
        };
        Ok(CtFilter {
            proto,
            orig_src: prefix(&f.orig_src)?,
            orig_dst: prefix(&f.orig_dst)?,
            reply_src: prefix(&f.reply_src)?,
            reply_dst: prefix(&f.reply_dst)?,
            orig_sport: f.orig_sport.map(port).transpose()?,
            orig_dport: f.orig_dport.map(port).transpose()?,
            reply_sport: f.reply_sport.map(port).transpose()?,
            reply_dport: f.reply_dport.map(port).transpose()?,
            tcp_states,
            mark,
            status,
            icmp_type: f.icmp_type.map(|v| byte(v, "--icmp-type")).transpose()?,
            icmp_code: f.icmp_code.map(|v| byte(v, "--icmp-code")).transpose()?,
            icmp_id: f.icmp_id.map(port).transpose()?,
            src_nat: f.src_nat,
            dst_nat: f.dst_nat,
        })
    }
}

/// A tuple of either family, as `conntrack -G` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyTuple {
    V4(Tuple),
    V6(Tuple<Ipv6Addr>),
}

/// The exact tuple `conntrack -G` names: the original one (`-s -d --sport --dport`, or
/// `--icmp-*`), else the reply one (`-r -q --reply-port-*`), of the family of its
/// addresses. Errors as conntrack's.
pub fn exact_tuple(f: &pb::ConntrackFilter) -> Result<AnyTuple, Status> {
    let bad = |m: &str| Status::invalid_argument(m.to_string());
    let cf = CtFilter::try_from(f).map_err(invalid)?;
    let Some(proto) = cf.proto else {
        return Err(bad(
            "You need to supply the `--protonum' option for this command",
        ));
    };
    let orig = cf.orig_src.is_some() || cf.orig_dst.is_some();
    let (src, dst, sport, dport) = if orig || cf.reply_src.is_none() {
        (cf.orig_src, cf.orig_dst, cf.orig_sport, cf.orig_dport)
    } else {
        (cf.reply_src, cf.reply_dst, cf.reply_sport, cf.reply_dport)
    };
    let (Some(src), Some(dst)) = (src, dst) else {
        return Err(bad("you have to specify `--src' and `--dst'"));
    };
    if !src.is_host() {
        return Err(bad("Illegal option `--mask-src' with this command"));
    }
    if !dst.is_host() {
        return Err(bad("Illegal option `--mask-dst' with this command"));
    }
    if src.family() != dst.family() || f.family.is_some_and(|f| f != src.family()) {
        return Err(bad("mismatched address family"));
    }
    let (sport, dport) = match proto {
        6 | 17 | 132 | 136 => match (sport, dport) {
            (Some(s), Some(d)) => (s, d),
            _ => return Err(bad("you have to specify `--sport' and `--dport'")),
        },
        1 | 58 => {
            let v = if proto == 58 { "v6" } else { "" };
            let need = |o: &str| {
                bad(&format!(
                    "You need to supply the `--icmp{v}-{o}' option for this command"
                ))
            };
            let t = cf.icmp_type.ok_or_else(|| need("type"))?;
            let c = cf.icmp_code.ok_or_else(|| need("code"))?;
            // conntrack sends no id when none is given: the kernel looks up id 0.
            let id = cf.icmp_id.unwrap_or(0);
            (id, u16::from(t) << 8 | u16::from(c))
        }
        _ => (0, 0),
    };
    let addr = |p: CtPrefix| match p {
        CtPrefix::V4(p) => IpAddr::V4(p.addr()),
        CtPrefix::V6(p) => IpAddr::V6(p.addr),
    };
    Ok(match (addr(src), addr(dst)) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => AnyTuple::V6(Tuple {
            src,
            dst,
            proto,
            sport,
            dport,
        }),
        (src, dst) => {
            let v4 = |a: IpAddr| match a {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            };
            AnyTuple::V4(Tuple {
                src: v4(src),
                dst: v4(dst),
                proto,
                sport,
                dport,
            })
        }
    })
}

/// What conntrack says when `-G` finds nothing.
pub const NOT_FOUND: &str = "Operation failed: such conntrack doesn't exist";

fn tuple_pb<A: CtAddr>(t: &Tuple<A>) -> pb::Tuple {
    let mut out = pb::Tuple {
        src: t.src.to_string(),
        dst: t.dst.to_string(),
        ..Default::default()
    };
    match t.proto {
        6 | 17 | 132 | 136 => {
            out.sport = u32::from(t.sport);
            out.dport = u32::from(t.dport);
        }
        p if p == A::ICMP_PROTO => {
            out.icmp_type = u32::from(t.dport >> 8);
            out.icmp_code = u32::from(t.dport & 0xff);
            out.icmp_id = u32::from(t.sport);
        }
        _ => {}
    }
    out
}

/// One entry as the API shows it, `now_ns` on the workers' clock.
pub fn entry_pb<A: CtAddr>(
    e: &ConnEntry<A>,
    counters: Option<&Counters>,
    worker: usize,
    id: u32,
    now_ns: u64,
) -> pb::ConntrackEntry {
    let c = counters.copied().unwrap_or_default();
    pb::ConntrackEntry {
        proto: u32::from(e.orig.proto),
        timeout: e.timeout_ns.saturating_sub(now_ns) / NS,
        tcp_state: if e.orig.proto == 6 {
            e.tcp.name().to_string()
        } else {
            String::new()
        },
        orig: Some(tuple_pb(&e.orig)),
        reply: Some(tuple_pb(&e.reply)),
        status: filter::status_names(e.status)
            .into_iter()
            .map(String::from)
            .collect(),
        mark: e.mark,
        zone: 0,
        // What `conntrack -L` shows for an entry nobody else holds.
        r#use: 1,
        accounting: counters.is_some(),
        orig_packets: c.packets[0],
        orig_bytes: c.bytes[0],
        reply_packets: c.packets[1],
        reply_bytes: c.bytes[1],
        worker: worker as u32,
        id: u64::from(id),
        age: now_ns.saturating_sub(e.start_ns) / NS,
        // Set by `record_pb`; events carry none (docs/deviations.md).
        labels: Vec::new(),
    }
}

fn record_pb<A: CtAddr>(r: &CtRecord<A>, worker: usize, now_ns: u64) -> pb::ConntrackEntry {
    let bits = r.labels.unwrap_or(0);
    pb::ConntrackEntry {
        labels: (0..128).filter(|b| bits >> b & 1 == 1).collect(),
        ..entry_pb(&r.entry, r.counters.as_ref(), worker, r.id, now_ns)
    }
}

/// The records of every shard's answer, in worker order.
fn records_pb<A: CtAddr>(shards: &[Option<CtRecord<A>>], now_ns: u64) -> Vec<pb::ConntrackEntry> {
    shards
        .iter()
        .enumerate()
        .filter_map(|(w, r)| r.as_ref().map(|r| record_pb(r, w, now_ns)))
        .collect()
}

/// An event for the stream; `lost` is what this stream missed just before it.
pub fn event_pb(m: &EventMsg, lost: u64) -> pb::ConntrackEvent {
    match &m.event {
        AnyEvent::V4(ev) => event_of(ev, m.worker, lost),
        AnyEvent::V6(ev) => event_of(ev, m.worker, lost),
    }
}

fn event_of<A: CtAddr>(ev: &CtEvent<A>, worker: usize, lost: u64) -> pb::ConntrackEvent {
    pb::ConntrackEvent {
        r#type: ev.kind.name().to_string(),
        entry: Some(entry_pb(
            &ev.entry,
            ev.counters.as_ref(),
            worker,
            ev.id,
            ev.now_ns,
        )),
        line: dataplane::conntrack::event_line(ev.kind.tag(), &ev.entry, ev.now_ns),
        lost,
    }
}

/// Every worker's records of the asked tables (IPv4's first, as `conntrack -L` dumps
/// them) as the API's entries: `v4` and `v6` make each table's command.
async fn ask_records(
    workers: &[Sender<Command>],
    (ipv4, ipv6): (bool, bool),
    v4: impl Fn(tokio::sync::oneshot::Sender<Vec<CtRecord>>) -> Command,
    v6: impl Fn(tokio::sync::oneshot::Sender<Vec<CtRecord<Ipv6Addr>>>) -> Command,
) -> Result<Vec<pb::ConntrackEntry>, Status> {
    let now = now_ns();
    let mut entries = Vec::new();
    if ipv4 {
        entries.extend(shard_entries(&ask_all(workers, v4).await?, now));
    }
    if ipv6 {
        entries.extend(shard_entries(&ask_all(workers, v6).await?, now));
    }
    Ok(entries)
}

/// The records of each worker's shard (in worker order) as the API's entries.
fn shard_entries<A: CtAddr>(
    shards: &[Vec<CtRecord<A>>],
    now: u64,
) -> impl Iterator<Item = pb::ConntrackEntry> + '_ {
    shards
        .iter()
        .enumerate()
        .flat_map(move |(w, recs)| recs.iter().map(move |r| record_pb(r, w, now)))
}

/// The tables a request's `family` names: (IPv4, IPv6); unset is `unset`'s.
fn tables(family: Option<u32>, unset: (bool, bool)) -> Result<(bool, bool), Status> {
    match family {
        None => Ok(unset),
        Some(4) => Ok((true, false)),
        Some(6) => Ok((false, true)),
        Some(f) => Err(invalid(FilterError::Parameter(format!("family {f}")))),
    }
}

/// An event type as `conntrack -E -e` names it (public for the API fuzz target, fuzz/).
pub fn event_kind(name: &str) -> Result<CtEventKind, Status> {
    [CtEventKind::New, CtEventKind::Update, CtEventKind::Destroy]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| invalid(FilterError::Parameter(name.to_string())))
}

#[tonic::async_trait]
impl pb::conntrack_server::Conntrack for ConntrackService {
    async fn list(
        &self,
        request: Request<pb::ConntrackFilter>,
    ) -> Result<Response<pb::ConntrackEntries>, Status> {
        let filter = CtFilter::try_from(request.get_ref()).map_err(invalid)?;
        // Without -f, both families, as conntrack -L dumps them.
        let (ipv4, ipv6) = tables(request.get_ref().family, (true, true))?;
        let entries = ask_records(
            &self.workers,
            (ipv4, ipv6),
            |reply| Command::CtList {
                filter: filter.clone(),
                reply,
            },
            |reply| Command::CtList6 {
                filter: filter.clone(),
                reply,
            },
        )
        .await?;
        Ok(Response::new(pb::ConntrackEntries { entries }))
    }

    async fn get(
        &self,
        request: Request<pb::ConntrackFilter>,
    ) -> Result<Response<pb::ConntrackEntries>, Status> {
        let now = now_ns();
        let found: Vec<pb::ConntrackEntry> = match exact_tuple(request.get_ref())? {
            AnyTuple::V4(tuple) => {
                let shards =
                    ask_all(&self.workers, |reply| Command::CtGet { tuple, reply }).await?;
                records_pb(&shards, now)
            }
            AnyTuple::V6(tuple) => {
                let shards =
                    ask_all(&self.workers, |reply| Command::CtGet6 { tuple, reply }).await?;
                records_pb(&shards, now)
            }
        };
        let entries: Vec<pb::ConntrackEntry> = found
            .into_iter()
            // The kernel answers a get while holding a reference of its own: conntrack -G
            // prints use=2 where -L prints use=1.
            .map(|e| pb::ConntrackEntry { r#use: 2, ..e })
            .collect();
        if entries.is_empty() {
            return Err(Status::not_found(NOT_FOUND));
        }
        Ok(Response::new(pb::ConntrackEntries { entries }))
    }

    async fn delete(
        &self,
        request: Request<pb::ConntrackFilter>,
    ) -> Result<Response<pb::DeleteReply>, Status> {
        let filter = CtFilter::try_from(request.get_ref()).map_err(invalid)?;
        let (ipv4, ipv6) = tables(request.get_ref().family, (true, true))?;
        let mut deleted = 0;
        if ipv4 {
            let gone = ask_all(&self.workers, |reply| Command::CtDelete {
                filter: filter.clone(),
                reply,
            })
            .await?;
            deleted += gone.iter().map(|g| g.len() as u64).sum::<u64>();
        }
        if ipv6 {
            let gone = ask_all(&self.workers, |reply| Command::CtDelete6 {
                filter: filter.clone(),
                reply,
            })
            .await?;
            deleted += gone.iter().map(|g| g.len() as u64).sum::<u64>();
        }
        Ok(Response::new(pb::DeleteReply { deleted }))
    }

    async fn flush(
        &self,
        request: Request<pb::FlushRequest>,
    ) -> Result<Response<pb::DeleteReply>, Status> {
        let (ipv4, ipv6) = tables(request.get_ref().family, (true, true))?;
        let gone = ask_all(&self.workers, |reply| Command::CtFlush {
            ipv4,
            ipv6,
            reply,
        })
        .await?;
        let deleted = gone.iter().map(|&n| n as u64).sum();
        Ok(Response::new(pb::DeleteReply { deleted }))
    }

    async fn count(
        &self,
        _request: Request<pb::CountRequest>,
    ) -> Result<Response<pb::CountReply>, Status> {
        let stats = self.stats_all().await?;
        Ok(Response::new(pb::CountReply {
            count: stats.iter().map(|s| s.entries).sum(),
            // Every shard runs with the same tunables.
            max: stats.first().map_or(0, |s| s.max),
        }))
    }

    async fn stats(
        &self,
        _request: Request<pb::ConntrackStatsRequest>,
    ) -> Result<Response<pb::ConntrackStatsReply>, Status> {
        let workers = self
            .stats_all()
            .await?
            .into_iter()
            .map(|s| pb::ConntrackWorkerStats {
                worker: s.worker as u32,
                found: s.found,
                invalid: s.invalid,
                insert: s.insert,
                insert_failed: s.insert_failed,
                drop: s.drop,
                early_drop: s.early_drop,
                error: s.error,
                search_restart: s.search_restart,
                entries: s.entries,
                expired: s.expired,
                events_lost: s.events_lost,
            })
            .collect();
        Ok(Response::new(pb::ConntrackStatsReply { workers }))
    }

    async fn update(
        &self,
        request: Request<pb::UpdateRequest>,
    ) -> Result<Response<pb::ConntrackEntries>, Status> {
        let req = request.into_inner();
        let f = req.filter.unwrap_or_default();
        let filter = CtFilter::try_from(&f).map_err(invalid)?;
        let (ipv4, ipv6) = tables(f.family, (true, true))?;
        let (value, mask) = (req.mark, req.mark_mask);
        let mut entries = ask_records(
            &self.workers,
            (ipv4, ipv6),
            |reply| Command::CtUpdate {
                filter: filter.clone(),
                value,
                mask,
                reply,
            },
            |reply| Command::CtUpdate6 {
                filter: filter.clone(),
                value,
                mask,
                reply,
            },
        )
        .await?;
        // The kernel answers with its own reference held, as for -G: use=2.
        for e in &mut entries {
            e.r#use = 2;
        }
        Ok(Response::new(pb::ConntrackEntries { entries }))
    }

    type EventsStream = ReceiverStream<Result<pb::ConntrackEvent, Status>>;

    async fn events(
        &self,
        request: Request<pb::EventsRequest>,
    ) -> Result<Response<Self::EventsStream>, Status> {
        let req = request.into_inner();
        let filter = match req.filter.as_ref() {
            Some(f) => CtFilter::try_from(f).map_err(invalid)?,
            None => CtFilter::default(),
        };
        let family = match tables(req.filter.as_ref().and_then(|f| f.family), (true, true))? {
            (true, true) => None,
            (true, false) => Some(4),
            _ => Some(6),
        };
        let kinds = req
            .types
            .iter()
            .map(|t| event_kind(t))
            .collect::<Result<Vec<_>, _>>()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel::<EventMsg>(EVENT_BUFFER);
        for w in &self.workers {
            let sub = EventSubscription {
                id,
                filter: filter.clone(),
                family,
                kinds: kinds.clone(),
                tx: tx.clone(),
            };
            if let Err(e) = send(w, Command::CtSubscribe(sub)).await {
                tell_all(&self.workers, || Command::CtUnsubscribe { id });
                return Err(e);
            }
        }
        drop(tx);
        // Commands run in order: once every worker answered this, every one has the
        // subscription, and nothing that happens from now on is missed.
        if let Err(e) = self.stats_all().await {
            tell_all(&self.workers, || Command::CtUnsubscribe { id });
            return Err(e);
        }
        let (out, stream) = mpsc::channel(64);
        let workers = self.workers.clone();
        tokio::spawn(async move {
            let mut lost = 0;
            loop {
                tokio::select! {
                    _ = out.closed() => break,
                    msg = rx.recv() => {
                        let Some(msg) = msg else { break };
                        lost += msg.lost;
                        if out.send(Ok(event_pb(&msg, lost))).await.is_err() {
                            break;
                        }
                        lost = 0;
                    }
                }
            }
            // The client went: the workers stop recording (they would also notice the
            // closed channel at their next event).
            drop(rx);
            tell_all(&workers, || Command::CtUnsubscribe { id });
        });
        Ok(Response::new(ReceiverStream::new(stream)))
    }
}
