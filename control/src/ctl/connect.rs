//! Where nfdpctl finds the daemon (`--socket`, `NFDP_SOCKET`, the default socket; or
//! `--address` + `--token-file` for the TCP listener) and the channel to it.

use std::fmt;
use std::path::{Path, PathBuf};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// The daemon's socket when nothing else is said (`[api] socket`'s default).
pub const DEFAULT_SOCKET: &str = "/run/nfdp/nfdp.sock";

/// How to reach the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The Unix socket at this path.
    Unix(PathBuf),
    /// The TCP listener (`http://HOST:PORT`) with the bearer token read from `token_file`.
    Tcp {
        address: String,
        token_file: Option<PathBuf>,
    },
}

impl Target {
    /// The target the options and the environment name: `--address` (or `NFDP_ADDRESS`)
    /// selects TCP; else `--socket`, else `NFDP_SOCKET`, else [`DEFAULT_SOCKET`].
    pub fn resolve(
        socket: Option<PathBuf>,
        address: Option<String>,
        token_file: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Target {
        let env_nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
        if socket.is_none() {
            if let Some(address) = address.or_else(|| env_nonempty("NFDP_ADDRESS")) {
                let token_file =
                    token_file.or_else(|| env_nonempty("NFDP_TOKEN_FILE").map(PathBuf::from));
                return Target::Tcp {
                    address,
                    token_file,
                };
            }
        }
        let path = socket
            .or_else(|| env_nonempty("NFDP_SOCKET").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
        Target::Unix(path)
    }

    /// From the process environment only (the tools called through links take no
    /// nfdpctl options).
    pub fn from_env() -> Target {
        Target::resolve(None, None, None, |k| std::env::var(k).ok())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Unix(p) => write!(f, "{}", p.display()),
            Target::Tcp { address, .. } => f.write_str(address),
        }
    }
}

/// Why the daemon could not be reached; `Display` is one line naming the target.
#[derive(Debug)]
pub struct ConnectError {
    pub target: Target,
    pub reason: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot connect to nfdp at {}: {}",
            self.target, self.reason
        )
    }
}

impl std::error::Error for ConnectError {}

/// Adds `authorization: Bearer TOKEN` to every call when a token is set.
#[derive(Clone, Default)]
pub struct Auth {
    bearer: Option<MetadataValue<Ascii>>,
}

impl Auth {
    pub fn bearer(token: &str) -> Result<Auth, String> {
        let v = format!("Bearer {}", token.trim())
            .parse()
            .map_err(|_| "the token holds characters a header cannot carry".to_string())?;
        Ok(Auth { bearer: Some(v) })
    }
}

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.bearer {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// A channel with the target's credentials: what every generated client wraps
/// (`RulesClient::new(conn.clone())`).
pub type Conn = InterceptedService<Channel, Auth>;

/// Connects to a Unix socket (the URI is a placeholder; the connector dials `path`).
pub async fn connect_unix(path: &Path) -> Result<Channel, std::io::Error> {
    let path = path.to_path_buf();
    let endpoint = Endpoint::try_from("http://[::]:50051").map_err(std::io::Error::other)?;
    endpoint
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .map_err(|e| io_reason(&e))
}

// tonic wraps the connector's io::Error; the innermost message is the useful one
// ("No such file or directory", "Connection refused").
fn io_reason(e: &(dyn std::error::Error + 'static)) -> std::io::Error {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    match cur.downcast_ref::<std::io::Error>() {
        Some(io) => std::io::Error::new(io.kind(), io.to_string()),
        None => std::io::Error::other(cur.to_string()),
    }
}

/// Connects to the target: the Unix socket, or the TCP address with its bearer token.
pub async fn connect(target: &Target) -> Result<Conn, ConnectError> {
    let fail = |reason: String| ConnectError {
        target: target.clone(),
        reason,
    };
    match target {
        Target::Unix(path) => {
            let ch = connect_unix(path)
                .await
                .map_err(|e| fail(strip_os_error(&e)))?;
            Ok(InterceptedService::new(ch, Auth::default()))
        }
        Target::Tcp {
            address,
            token_file,
        } => {
            let auth = match token_file {
                Some(f) => {
                    let token =
                        crate::input_file::read_text(f, crate::api::server::TOKEN_FILE_LIMIT)
                            .map_err(|e| {
                                fail(format!("{}: {}", f.display(), strip_os_error(&e)))
                            })?;
                    Auth::bearer(&token).map_err(fail)?
                }
                None => Auth::default(),
            };
            // A daemon that does not answer fails the command instead of hanging it.
            let endpoint = Endpoint::from_shared(address.clone())
                .map_err(|e| fail(e.to_string()))?
                .connect_timeout(std::time::Duration::from_secs(10));
            let ch = endpoint
                .connect()
                .await
                .map_err(|e| fail(strip_os_error(&io_reason(&e))))?;
            Ok(InterceptedService::new(ch, auth))
        }
    }
}

// "No such file or directory (os error 2)" -> "No such file or directory", as C tools print.
fn strip_os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn socket_option_then_env_then_default() {
        let t = Target::resolve(
            Some("/a.sock".into()),
            None,
            None,
            env(&[("NFDP_SOCKET", "/b.sock")]),
        );
        assert_eq!(t, Target::Unix("/a.sock".into()));
        let t = Target::resolve(None, None, None, env(&[("NFDP_SOCKET", "/b.sock")]));
        assert_eq!(t, Target::Unix("/b.sock".into()));
        let t = Target::resolve(None, None, None, env(&[("NFDP_SOCKET", "")]));
        assert_eq!(t, Target::Unix(DEFAULT_SOCKET.into()));
    }

    #[test]
    fn address_selects_tcp_with_token_file() {
        let t = Target::resolve(
            None,
            Some("http://127.0.0.1:7".into()),
            None,
            env(&[("NFDP_TOKEN_FILE", "/tok")]),
        );
        assert_eq!(
            t,
            Target::Tcp {
                address: "http://127.0.0.1:7".into(),
                token_file: Some("/tok".into())
            }
        );
        let t = Target::resolve(
            None,
            None,
            None,
            env(&[("NFDP_ADDRESS", "http://h:1"), ("NFDP_SOCKET", "/s")]),
        );
        assert_eq!(
            t,
            Target::Tcp {
                address: "http://h:1".into(),
                token_file: None
            }
        );
        // An explicit --socket wins over NFDP_ADDRESS.
        let t = Target::resolve(
            Some("/x".into()),
            None,
            None,
            env(&[("NFDP_ADDRESS", "http://h:1")]),
        );
        assert_eq!(t, Target::Unix("/x".into()));
    }

    #[tokio::test]
    async fn missing_socket_names_it() {
        let t = Target::Unix("/nonexistent/nfdp-test.sock".into());
        let Err(e) = connect(&t).await else {
            panic!("connected to a socket that does not exist")
        };
        assert_eq!(
            e.to_string(),
            "cannot connect to nfdp at /nonexistent/nfdp-test.sock: No such file or directory"
        );
    }
}
