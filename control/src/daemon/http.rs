//! The metrics port (`[metrics] listen`): read-only, two resources. `GET /metrics` (the
//! Prometheus text exposition, 503 once the workers stop) and `GET /healthz` (200 `ok`, or
//! 503 with the reason), HEAD of both; other methods get 405 with `Allow`, other paths 404.
//! Request bodies are never read.
//!
//! Scrapers must not be able to hurt each other or the appliance: every connection is a
//! task (an idle or slow client delays only itself), headers must arrive within
//! `header_read_timeout` and fit in `max_header_bytes` (else 431 and the connection
//! closes), and at most `max_connections` are open at once: beyond that a new connection is
//! closed as soon as it is accepted, not queued.

use super::metrics::{Health, MetricsView};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// The bounds the port serves under.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// A request's headers (and an idle keep-alive connection's next request) must arrive
    /// within this.
    pub header_read_timeout: Duration,
    /// The largest request head (request line and headers); hyper's floor is 8 KiB.
    pub max_header_bytes: usize,
    /// Connections served at once; more are closed on accept.
    pub max_connections: usize,
    /// After this a connection finishes its current response and closes (a client that
    /// stops reading its response is cut off here).
    pub connection_lifetime: Duration,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            header_read_timeout: Duration::from_secs(5),
            max_header_bytes: 8 << 10,
            max_connections: 64,
            connection_lifetime: Duration::from_secs(60),
        }
    }
}

/// How long a connection past its lifetime gets to finish its response.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serves the metrics port on `listener` with the default limits until `shutdown`
/// completes; open connections are then closed.
pub async fn serve_metrics(
    listener: TcpListener,
    view: MetricsView,
    shutdown: impl Future<Output = ()>,
) {
    serve_metrics_with(listener, view, HttpLimits::default(), shutdown).await
}

/// `serve_metrics` with explicit limits.
pub async fn serve_metrics_with(
    listener: TcpListener,
    view: MetricsView,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) {
    let router = router(view);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            // Reap finished connections (a JoinSet keeps their results until joined).
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: do not spin on it.
                        tracing::warn!("metrics port: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    tracing::debug!("metrics port: {} connections open, closing a new one", limits.max_connections);
                    drop(stream);
                    continue;
                };
                connections.spawn(serve_connection(stream, router.clone(), limits, slot));
            }
        }
    }
    connections.shutdown().await;
}

/// One connection: HTTP/1.1 with keep-alive, under `limits`; `_slot` is released when it
/// ends.
async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: HttpLimits,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    // The router is always ready (axum's Router::poll_ready is Ready), so it is called
    // directly.
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        tower::Service::call(&mut router.clone(), req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(8 << 10) * 2)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        done = conn.as_mut() => {
            if let Err(e) = done {
                tracing::debug!("metrics port: {e}");
            }
            return;
        }
        () = tokio::time::sleep(limits.connection_lifetime) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
}

/// `/metrics` and `/healthz`; axum answers HEAD from the GET handlers, 405 with `Allow` for
/// other methods, and the fallback 404 for other paths.
pub fn router(view: MetricsView) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(view)
}

async fn metrics(State(view): State<MetricsView>) -> Response {
    match view.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

async fn healthz(State(view): State<MetricsView>) -> Response {
    match view.health() {
        Health::Ok => "ok\n".into_response(),
        Health::Unhealthy(why) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response()
        }
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "the metrics port serves GET /metrics and GET /healthz only\n",
    )
        .into_response()
}
