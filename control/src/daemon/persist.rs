//! Writing the rules file back: a crash at any point leaves the old file or the new one,
//! never a mix (a temporary file in the same directory, written and fsynced, renamed over
//! the old one, and the directory fsynced so the rename itself is durable).

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Replaces `path`'s content with `data` atomically and durably.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file path"))?;
    let tmp = dir.join(temporary_name(name, std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        // Keep the old file's permissions (a rules file may be private).
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The temporary process `pid` writes before renaming it over `name`:
/// `temporary_prefix(name)`, the pid, `.tmp`.
fn temporary_name(name: &OsStr, pid: u32) -> String {
    format!("{}{pid}.tmp", temporary_prefix(name))
}

fn temporary_prefix(name: &OsStr) -> String {
    format!(".{}.nfdp-", name.to_string_lossy())
}

/// Removes the temporaries that processes killed mid-write left beside `path` (never read,
/// but one more after every such crash); a temporary of a process still running (another
/// daemon writing the same file) is left alone. Returns how many went.
pub fn remove_stale_temporaries(path: &Path) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return 0;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = temporary_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(prefix.as_str()))
            .and_then(|f| f.strip_suffix(".tmp"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let running = Path::new(&format!("/proc/{pid}")).exists();
        if !running && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("nfdp-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rules.v4");
        std::fs::write(&path, "old\n").unwrap();
        write_atomically(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("rules.v4")]);
        // A directory that does not exist: an error, nothing written.
        assert!(write_atomically(&dir.join("no/such/rules"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_temporaries_go_and_a_running_writer_s_stays() {
        let dir = std::env::temp_dir().join(format!("nfdp-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rules.v4");
        // No process has a pid above the kernel's limit of 2^22.
        let gone = dir.join(".rules.v4.nfdp-99999999.tmp");
        let running = dir.join(format!(".rules.v4.nfdp-{}.tmp", std::process::id()));
        let other = dir.join(".other.nfdp-99999999.tmp");
        for f in [&path, &gone, &running, &other] {
            std::fs::write(f, "x").unwrap();
        }
        assert_eq!(remove_stale_temporaries(&path), 1);
        assert!(!gone.exists() && running.exists() && other.exists() && path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
