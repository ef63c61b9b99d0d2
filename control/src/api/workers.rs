//! Asking the worker threads from async code: a `Command` on each worker's queue, the
//! answer on a oneshot channel. A worker answers within one loop of its own; one that
//! does not within `ANSWER_WITHIN` is stuck or stopping, and the call fails UNAVAILABLE.

use crate::daemon::worker::Command;
use crossbeam_channel::{Sender, TrySendError};
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::Status;

/// How long a worker may take to answer.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Puts `cmd` on a worker's queue, waiting (asynchronously) while the queue is full.
pub async fn send(worker: &Sender<Command>, mut cmd: Command) -> Result<(), Status> {
    let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
    loop {
        match worker.try_send(cmd) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(_)) => return Err(stopped()),
            Err(TrySendError::Full(c)) => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(Status::unavailable("a worker does not take requests"));
                }
                cmd = c;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

fn stopped() -> Status {
    Status::unavailable("the workers have stopped")
}

/// Asks every worker (all at once) and returns their answers in worker order.
pub async fn ask_all<T>(
    workers: &[Sender<Command>],
    make: impl Fn(oneshot::Sender<T>) -> Command,
) -> Result<Vec<T>, Status> {
    let mut pending = Vec::with_capacity(workers.len());
    for w in workers {
        let (tx, rx) = oneshot::channel();
        send(w, make(tx)).await?;
        pending.push(rx);
    }
    let mut out = Vec::with_capacity(pending.len());
    for rx in pending {
        match tokio::time::timeout(ANSWER_WITHIN, rx).await {
            Ok(Ok(v)) => out.push(v),
            Ok(Err(_)) => return Err(stopped()),
            Err(_) => return Err(Status::unavailable("a worker did not answer")),
        }
    }
    Ok(out)
}

/// Tells every worker something that needs no answer, without waiting: a worker whose
/// queue is full misses it (used for unsubscribing, which workers also notice by
/// themselves when the stream's channel closes).
pub fn tell_all(workers: &[Sender<Command>], make: impl Fn() -> Command) {
    for w in workers {
        let _ = w.try_send(make());
    }
}
