//! systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram of
//! `KEY=VALUE` lines to the unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the
//! abstract namespace). `configs/nfdp.service` is `Type=notify`: `systemctl start nfdp`
//! returns once the ports are up, the workers run and the API socket listens. Without
//! `$NOTIFY_SOCKET` (not started by systemd) nothing is sent.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` (e.g. `READY=1\nSTATUS=...`) to `$NOTIFY_SOCKET`; `Ok(false)` when the
/// variable is not set.
pub fn notify(state: &str) -> io::Result<bool> {
    match std::env::var_os(NOTIFY_SOCKET) {
        Some(socket) if !socket.is_empty() => notify_to(&socket, state).map(|()| true),
        _ => Ok(false),
    }
}

/// Sends `state` to the notification socket `socket` (`$NOTIFY_SOCKET`'s form).
pub fn notify_to(socket: &OsStr, state: &str) -> io::Result<()> {
    let addr = socket_addr(socket)?;
    let sock = UnixDatagram::unbound()?;
    let sent = sock.send_to_addr(state.as_bytes(), &addr)?;
    if sent != state.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short write to NOTIFY_SOCKET",
        ));
    }
    Ok(())
}

fn socket_addr(socket: &OsStr) -> io::Result<SocketAddr> {
    let bytes = socket.as_bytes();
    match bytes.first() {
        Some(b'/') => SocketAddr::from_pathname(socket),
        Some(b'@') => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(&bytes[1..])
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{NOTIFY_SOCKET}={} is neither an absolute path nor @abstract",
                socket.to_string_lossy()
            ),
        )),
    }
}

/// `READY=1` with a status line: the ports are up and the workers run.
pub fn ready_message(ports: usize, workers: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "READY=1\nSTATUS=forwarding: {ports} port{}, {workers} worker{}\n",
        plural(ports),
        plural(workers)
    )
}

/// `STOPPING=1`: the daemon is shutting down (systemd shows it as deactivating).
pub const STOPPING: &str = "STOPPING=1\nSTATUS=stopping\n";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn receive(sock: &UnixDatagram) -> String {
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).expect("a datagram");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn ready_arrives_on_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("nfdp-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        notify_to(path.as_os_str(), &ready_message(2, 1)).unwrap();
        assert_eq!(
            receive(&listener),
            "READY=1\nSTATUS=forwarding: 2 ports, 1 worker\n"
        );
        notify_to(path.as_os_str(), STOPPING).unwrap();
        assert_eq!(receive(&listener), "STOPPING=1\nSTATUS=stopping\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ready_arrives_on_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("nfdp-notify-test-{}", std::process::id());
        let listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        notify_to(OsStr::new(&format!("@{name}")), "READY=1\n").unwrap();
        assert_eq!(receive(&listener), "READY=1\n");
    }

    #[test]
    fn a_socket_that_is_not_there_or_not_a_socket_address_is_an_error() {
        assert!(notify_to(OsStr::new("/nonexistent/nfdp/notify.sock"), "READY=1\n").is_err());
        let e = notify_to(OsStr::new("relative.sock"), "READY=1\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
