//! `nfdpctl install-links DIR`: the links that make nfdpctl answer as iptables,
//! iptables-save, iptables-restore, their ip6tables forms, conntrack, ipset and
//! arptables(-save, -restore) when DIR is first on PATH.

use std::io;
use std::path::Path;

/// The names `install-links` creates.
pub const LINK_NAMES: &[&str] = &[
    "iptables",
    "iptables-save",
    "iptables-restore",
    "ip6tables",
    "ip6tables-save",
    "ip6tables-restore",
    "conntrack",
    "ipset",
    "arptables",
    "arptables-save",
    "arptables-restore",
];

/// Creates DIR (if missing) and in it a symlink per [`LINK_NAMES`] to `target` (an absolute
/// path). Idempotent: a link already there is replaced if it points elsewhere; a file that
/// is not a symlink is refused (nothing of an operator's is overwritten).
pub fn install_links(dir: &Path, target: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    // Refuse before changing anything.
    for name in LINK_NAMES {
        let p = dir.join(name);
        if let Ok(m) = std::fs::symlink_metadata(&p) {
            if !m.file_type().is_symlink() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a symlink", p.display()),
                ));
            }
        }
    }
    for name in LINK_NAMES {
        let p = dir.join(name);
        match std::fs::read_link(&p) {
            Ok(cur) if cur == target => continue,
            Ok(_) => std::fs::remove_file(&p)?,
            Err(_) => {}
        }
        std::os::unix::fs::symlink(target, &p)?;
    }
    Ok(())
}
