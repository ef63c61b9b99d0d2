//! What a worker hands to the API's streams: conntrack events (`conntrack -E`) and trace
//! lines (the Trace watch). Each stream has a bounded channel; the worker only ever
//! `try_send`s, so a slow reader loses messages (counted, and told with the next one it
//! gets) and never stalls the data path. With nobody listening the worker checks one
//! empty list per loop and conntrack records nothing.

use dataplane::conntrack::{CtAddr, CtEvent, CtEventKind, CtFilter};
use dataplane::pipeline::trace::TraceFilter;
use dataplane::pipeline::Pipeline;
use std::net::Ipv6Addr;
use tokio::sync::mpsc::{self, error::TrySendError};

/// An event of either table.
#[derive(Debug, Clone)]
pub enum AnyEvent {
    V4(CtEvent),
    V6(CtEvent<Ipv6Addr>),
}

/// A conntrack event from one worker.
#[derive(Debug, Clone)]
pub struct EventMsg {
    pub worker: usize,
    pub event: AnyEvent,
    /// Events this subscription lost on this worker since the previous one it got.
    pub lost: u64,
}

/// A subscription to a worker's conntrack events.
#[derive(Debug)]
pub struct EventSubscription {
    /// Chosen by the subscriber; the same id on every worker.
    pub id: u64,
    pub filter: CtFilter,
    /// `-f`: 4 or 6 for one table's events; None: both (conntrack -E's AF_UNSPEC).
    pub family: Option<u8>,
    /// Which kinds (empty: all).
    pub kinds: Vec<CtEventKind>,
    pub tx: mpsc::Sender<EventMsg>,
}

/// Trace lines from one worker, all the lines of each packet together.
#[derive(Debug, Clone)]
pub struct TraceBatch {
    pub worker: usize,
    /// (the packet's number on this worker for this watch, from 1; the TRACE line)
    pub lines: Vec<(u64, String)>,
    /// Lines this watch lost on this worker since the previous batch it got.
    pub lost: u64,
    /// This worker traced all the packets it was asked to (`limit`) and closed the watch.
    pub done: bool,
}

/// A trace watch to open on a worker.
#[derive(Debug)]
pub struct TraceRequest {
    pub id: u64,
    pub filter: TraceFilter,
    /// The input interface by name (resolved by the worker); `None`: any.
    pub iface: Option<String>,
    /// Packets to trace at most on this worker (0: no limit).
    pub limit: u64,
    pub tx: mpsc::Sender<TraceBatch>,
}

struct Watch {
    id: u64,
    tx: mpsc::Sender<TraceBatch>,
    lost: u64,
}

struct Subscriber {
    sub: EventSubscription,
    lost: u64,
}

/// A worker's subscribers and watches, with what they lost.
#[derive(Default)]
pub struct Listeners {
    subs: Vec<Subscriber>,
    watches: Vec<Watch>,
    /// Events / trace lines dropped because a reader was behind, since start.
    pub events_lost: u64,
    pub trace_lost: u64,
}

impl Listeners {
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty() && self.watches.is_empty()
    }

    pub fn subscribers(&self) -> usize {
        self.subs.len()
    }

    pub fn watches(&self) -> usize {
        self.watches.len()
    }

    pub fn subscribe(&mut self, sub: EventSubscription, p: &mut Pipeline) {
        self.subs.retain(|s| s.sub.id != sub.id);
        self.subs.push(Subscriber { sub, lost: 0 });
        p.conntrack_mut().follow_event_records();
        p.conntrack6_mut().follow_event_records();
    }

    pub fn unsubscribe(&mut self, id: u64, p: &mut Pipeline) {
        self.subs.retain(|s| s.sub.id != id);
        if self.subs.is_empty() {
            p.conntrack_mut().unfollow_event_records();
            p.conntrack6_mut().unfollow_event_records();
        }
    }

    /// Opens a watch; refused for an interface the pipeline has no port of.
    pub fn watch(&mut self, req: TraceRequest, p: &mut Pipeline) -> Result<(), String> {
        let mut filter = req.filter;
        if let Some(name) = req.iface.as_deref() {
            filter.in_port = Some(
                p.port_by_name(name)
                    .ok_or_else(|| format!("unknown interface `{name}'"))?,
            );
        }
        self.watches.retain(|w| w.id != req.id);
        self.watches.push(Watch {
            id: req.id,
            tx: req.tx,
            lost: 0,
        });
        p.add_trace_watch(req.id, filter, req.limit);
        Ok(())
    }

    pub fn unwatch(&mut self, id: u64, p: &mut Pipeline) {
        self.watches.retain(|w| w.id != id);
        p.remove_trace_watch(id);
    }

    /// Hands what happened since the last call to the readers. Call it only when
    /// `!is_empty()`.
    pub fn forward(&mut self, worker: usize, p: &mut Pipeline) {
        if !self.subs.is_empty() {
            self.forward_events(worker, p);
        }
        if !self.watches.is_empty() {
            self.forward_trace(worker, p);
        }
    }

    fn forward_events(&mut self, worker: usize, p: &mut Pipeline) {
        let events = p.conntrack_mut().take_event_records();
        let events6 = p.conntrack6_mut().take_event_records();
        if events.is_empty() && events6.is_empty() {
            return;
        }
        let mut gone = false;
        for ev in events {
            gone |= self.offer(worker, &ev, 4, AnyEvent::V4);
        }
        for ev in events6 {
            gone |= self.offer(worker, &ev, 6, AnyEvent::V6);
        }
        if gone {
            self.subs.retain(|s| !s.sub.tx.is_closed());
            if self.subs.is_empty() {
                p.conntrack_mut().unfollow_event_records();
                p.conntrack6_mut().unfollow_event_records();
            }
        }
    }

    /// Sends one event to the subscribers that want it; true when one of them went.
    fn offer<A: CtAddr>(
        &mut self,
        worker: usize,
        ev: &CtEvent<A>,
        family: u8,
        wrap: fn(CtEvent<A>) -> AnyEvent,
    ) -> bool {
        let mut gone = false;
        for s in &mut self.subs {
            let wanted = s.sub.kinds.is_empty() || s.sub.kinds.contains(&ev.kind);
            if !wanted
                || s.sub.family.is_some_and(|f| f != family)
                || !s.sub.filter.matches(&ev.entry)
            {
                continue;
            }
            let msg = EventMsg {
                worker,
                event: wrap(ev.clone()),
                lost: s.lost,
            };
            match s.sub.tx.try_send(msg) {
                Ok(()) => s.lost = 0,
                Err(TrySendError::Full(_)) => {
                    s.lost += 1;
                    self.events_lost += 1;
                }
                Err(TrySendError::Closed(_)) => gone = true,
            }
        }
        gone
    }

    fn forward_trace(&mut self, worker: usize, p: &mut Pipeline) {
        let mut close = Vec::new();
        for w in p.trace_watches_mut() {
            let done = w.done();
            if w.lines.is_empty() && !done {
                continue;
            }
            let Some(l) = self.watches.iter_mut().find(|l| l.id == w.id) else {
                close.push(w.id);
                continue;
            };
            let lines = std::mem::take(&mut w.lines);
            let n = lines.len() as u64;
            let batch = TraceBatch {
                worker,
                lines,
                lost: l.lost,
                done,
            };
            match l.tx.try_send(batch) {
                Ok(()) => l.lost = 0,
                Err(TrySendError::Full(_)) => {
                    l.lost += n;
                    self.trace_lost += n;
                }
                Err(TrySendError::Closed(_)) => close.push(w.id),
            }
            if done {
                close.push(w.id);
            }
        }
        for id in close {
            self.unwatch(id, p);
        }
    }
}
