//! The API's listeners: `[api] socket` (a Unix socket, mode 0660, no token) and, with
//! `[api] listen` + `[api] token_file`, TCP with a bearer token. Both serve the same
//! services: nfdp.v1's, the standard health service and server reflection.

use super::pb;
use crate::daemon::Control;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tonic::service::{InterceptorLayer, Routes};
use tonic::{Request, Status};
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

/// The largest request the API decodes (a million rules of ~60 bytes); larger ones are
/// refused with RESOURCE_EXHAUSTED before anything is parsed.
pub const MAX_MESSAGE: usize = 64 << 20;

/// The nfdp.v1 services health reports on, besides the server as a whole ("").
const SERVICES: &[&str] = &[
    "nfdp.v1.Rules",
    "nfdp.v1.Sysctl",
    "nfdp.v1.Net",
    "nfdp.v1.Stats",
    "nfdp.v1.Conntrack",
    "nfdp.v1.Trace",
];

/// The services every listener serves, built once.
pub fn routes(
    control: &Arc<Control>,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
) -> Result<Routes, String> {
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(super::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| format!("server reflection: {e}"))?;
    let mut b = Routes::builder();
    b.add_service(health)
        .add_service(reflection)
        .add_service(
            pb::rules_server::RulesServer::new(super::rules::RulesService::new(Arc::clone(
                control,
            )))
            .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            pb::ipset_server::IpsetServer::new(super::ipset::IpsetService::new(Arc::clone(
                control,
            )))
            .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            pb::arptables_server::ArptablesServer::new(super::arptables::ArptablesService::new(
                Arc::clone(control),
            ))
            .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            pb::sysctl_server::SysctlServer::new(super::sysctl::SysctlService::new(Arc::clone(
                control,
            )))
            .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            pb::net_server::NetServer::new(super::net::NetService::new(Arc::clone(control)))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            pb::stats_server::StatsServer::new(super::stats::StatsService::new(Arc::clone(
                control,
            )))
            .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            pb::conntrack_server::ConntrackServer::new(super::conntrack::ConntrackService::new(
                control.workers.senders().to_vec(),
            ))
            .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            pb::trace_server::TraceServer::new(super::trace::TraceService::new(
                control.workers.senders().to_vec(),
            ))
            .max_decoding_message_size(MAX_MESSAGE),
        );
    Ok(b.routes())
}

/// The largest token file read: a token is one line.
pub(crate) const TOKEN_FILE_LIMIT: u64 = 64 << 10;

/// Reads `[api] token_file`: its first line, trimmed; empty is refused.
pub fn read_token(path: &Path) -> Result<String, String> {
    let text = crate::input_file::read_text(path, TOKEN_FILE_LIMIT)
        .map_err(|e| format!("[api] token_file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(format!(
            "[api] token_file {}: the token is empty",
            path.display()
        ));
    }
    Ok(token)
}

/// Checks `authorization: Bearer TOKEN` in constant time.
fn check_token(token: &[u8], req: &Request<()>) -> Result<(), Status> {
    let given = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::as_bytes);
    match given {
        Some(g) if bool::from(g.ct_eq(token)) => Ok(()),
        Some(_) => Err(Status::unauthenticated("wrong bearer token")),
        None => Err(Status::unauthenticated(
            "missing `authorization: Bearer TOKEN` metadata",
        )),
    }
}

/// Binds `path`: the parent directory is created, a stale socket file replaced (a live
/// one is refused: another daemon serves it), and the socket made mode 0660.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, String> {
    let what = |e: std::io::Error| format!("[api] socket {}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(what)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(format!(
                    "[api] socket {}: another process is serving it",
                    path.display()
                ));
            }
            std::fs::remove_file(path).map_err(what)?;
        }
        Ok(_) => {
            return Err(format!(
                "[api] socket {}: exists and is not a socket",
                path.display()
            ))
        }
        Err(_) => {}
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(what)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(what)?;
    Ok(listener)
}

async fn set_health(health: &HealthReporter, serving: bool) {
    let status = if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    health.set_service_status("", status).await;
    for s in SERVICES {
        health.set_service_status(*s, status).await;
    }
}

/// The running listeners.
pub struct ApiServer {
    health: HealthReporter,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    socket: PathBuf,
    pub tcp_addr: Option<SocketAddr>,
}

impl ApiServer {
    /// Binds the listeners (errors name the config key) and serves them on `rt`.
    pub fn start(
        rt: &tokio::runtime::Runtime,
        control: Arc<Control>,
        token: Option<String>,
    ) -> Result<ApiServer, String> {
        let _enter = rt.enter();
        let (health, health_server) = tonic_health::server::health_reporter();
        let routes = routes(&control, health_server)?;
        let socket = control.config.api_socket.clone();
        let unix = bind_unix(&socket)?;
        let tcp = match (control.config.api_listen, token) {
            (Some(addr), Some(token)) => {
                let std = std::net::TcpListener::bind(addr)
                    .map_err(|e| format!("[api] listen {addr}: {e}"))?;
                std.set_nonblocking(true)
                    .map_err(|e| format!("[api] listen {addr}: {e}"))?;
                let l = tokio::net::TcpListener::from_std(std)
                    .map_err(|e| format!("[api] listen {addr}: {e}"))?;
                Some((l, token))
            }
            (Some(_), None) => {
                return Err("[api] listen needs [api] token_file (the bearer token)".into())
            }
            _ => None,
        };
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let stopped = |mut w: tokio::sync::watch::Receiver<bool>| async move {
            let _ = w.wait_for(|s| *s).await;
        };
        let mut tasks = Vec::new();
        {
            let routes = routes.clone();
            let stop = stopped(watch.clone());
            tasks.push(rt.spawn(async move {
                let incoming = tokio_stream::wrappers::UnixListenerStream::new(unix);
                if let Err(e) = tonic::transport::Server::builder()
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(incoming, stop)
                    .await
                {
                    tracing::error!("API (unix socket): {e}");
                }
            }));
        }
        let mut tcp_addr = None;
        if let Some((listener, token)) = tcp {
            tcp_addr = listener.local_addr().ok();
            let stop = stopped(watch.clone());
            let token = Arc::new(token.into_bytes());
            tasks.push(rt.spawn(async move {
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                let auth = move |req: Request<()>| check_token(&token, &req).map(|()| req);
                if let Err(e) = tonic::transport::Server::builder()
                    .layer(InterceptorLayer::new(auth))
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(incoming, stop)
                    .await
                {
                    tracing::error!("API (tcp): {e}");
                }
            }));
        }
        // Health follows the workers: NOT_SERVING once one has died or they stop.
        {
            let health = health.clone();
            let control = Arc::clone(&control);
            let mut stop = watch.clone();
            tasks.push(rt.spawn(async move {
                let mut serving = true;
                loop {
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => break,
                        _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
                    }
                    let now = control.workers.running();
                    if now != serving {
                        serving = now;
                        if !now {
                            tracing::error!("the workers are not running: health NOT_SERVING");
                        }
                        set_health(&health, now).await;
                    }
                }
            }));
        }
        let api = ApiServer {
            health,
            shutdown,
            tasks,
            socket,
            tcp_addr,
        };
        rt.block_on(api.set_serving(true));
        Ok(api)
    }

    /// What the health service reports for the server and every nfdp.v1 service.
    pub async fn set_serving(&self, serving: bool) {
        set_health(&self.health, serving).await;
    }

    /// Stops accepting, lets calls in flight finish (briefly) and removes the socket file.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), t).await;
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}
