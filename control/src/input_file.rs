//! Reading the files the daemon is pointed at (config, rules, the API token): only regular
//! files, only up to a size bound. A rules file replaced by a FIFO would otherwise block the
//! control thread forever (and with it SIGHUP and shutdown), one linked to /dev/zero would
//! grow the daemon until the allocator aborts it.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Reads `path` as UTF-8 text of at most `limit` bytes. Refuses, with an error that says why,
/// anything that is not a regular file (after symlinks), a file larger than `limit`, and text
/// that is not UTF-8. Never blocks on a FIFO or a device.
pub fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    let file = OpenOptions::new()
        .read(true)
        // Opening a FIFO without a writer waits for one; O_NONBLOCK returns at once (and is
        // meaningless on the regular file that passes the check below). A terminal must not
        // become the daemon's controlling one.
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    // fstat on what was opened: a file swapped after a stat of the path cannot slip in.
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "of an unknown kind"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({what})"),
        ));
    }
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    read_bounded(file, limit)
}

/// Reads standard input (`iptables-restore < FILE`, `nfdp ruleset --check -`) as UTF-8 text
/// of at most `limit` bytes: a pipe from `/dev/zero` is refused once past the bound instead
/// of growing the process without end.
pub fn read_stdin(limit: u64) -> io::Result<String> {
    read_bounded(io::stdin().lock(), limit)
}

/// `input` as UTF-8 text of at most `limit` bytes; more than that (a file that grew since
/// the fstat, a longer stream) is refused rather than cut, with `ErrorKind::FileTooLarge`.
pub fn read_bounded(input: impl Read, limit: u64) -> io::Result<String> {
    let mut bytes = Vec::new();
    input
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (an invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than the limit of {limit} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::path::PathBuf;
    use std::time::Duration;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nfdp-input-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn refusal(path: &Path, limit: u64) -> String {
        read_text(path, limit).expect_err("refused").to_string()
    }

    /// An endless stream (`nfdp ruleset --check - < /dev/zero`) is refused once past the
    /// bound, having read no more than the bound and one byte.
    #[test]
    fn an_endless_stream_is_refused_at_the_bound() {
        let e = read_bounded(io::repeat(b'x'), 4096).unwrap_err();
        assert_eq!(e.to_string(), "larger than the limit of 4096 bytes");
        assert_eq!(read_bounded(&b"ok\n"[..], 4096).unwrap(), "ok\n");
    }

    #[test]
    fn reads_a_regular_file_up_to_the_limit() {
        let dir = temp_dir("regular");
        let path = dir.join("f");
        std::fs::write(&path, "twelve bytes").unwrap();
        assert_eq!(read_text(&path, 12).unwrap(), "twelve bytes");
        assert_eq!(refusal(&path, 11), "larger than the limit of 11 bytes");
        // Through a symlink: what it points to counts.
        std::os::unix::fs::symlink(&path, dir.join("link")).unwrap();
        assert_eq!(read_text(&dir.join("link"), 12).unwrap(), "twelve bytes");
        std::fs::write(&path, b"ok\xff\xfe").unwrap();
        assert_eq!(
            refusal(&path, 12),
            "not UTF-8 text (an invalid byte at offset 2)"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_what_is_not_a_regular_file_without_blocking() {
        let dir = temp_dir("special");
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // In a thread: a regression would block here for good.
        let (tx, rx) = std::sync::mpsc::channel();
        let f = fifo.clone();
        std::thread::spawn(move || tx.send(refusal(&f, 1 << 20)).unwrap());
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5))
                .expect("the FIFO blocked"),
            "not a regular file (a FIFO)"
        );

        let zero = dir.join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(
            refusal(&zero, 1 << 20),
            "not a regular file (a character device)"
        );
        assert_eq!(refusal(&dir, 1 << 20), "not a regular file (a directory)");
        let sock = dir.join("sock");
        let _listener = UnixListener::bind(&sock).unwrap();
        // A socket cannot be opened at all (ENXIO): refused by open itself.
        assert!(read_text(&sock, 1 << 20).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
