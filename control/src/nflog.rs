//! Where `-j NFLOG` packets end up: one pcap file per group in `[nflog] dir`
//! (`DIR/group-N.pcap`), as ulogd's PCAP output plugin writes them for an operator who
//! runs it on a group (`stack=log1:NFLOG,base1:BASE,pcap1:PCAP`): the IPv4 or IPv6 packet
//! as the hook saw it, without a link-layer header, cut to `--nflog-size`, with its original
//! length in the record. Raw IPv4 rather than Ethernet because that is what ulogd writes
//! and what the hook sees: in OUTPUT and POSTROUTING there is no Ethernet header yet, and in
//! PREROUTING the one the packet came with is not part of what netfilter logs either.
//! The link type is LINKTYPE_RAW (101), the portable number for libpcap's DLT_RAW, whose
//! packets start with an IPv4 or an IPv6 header (the version nibble says which): ip6tables'
//! NFLOG rules write to the same group files.
//!
//! A file that is already there and holds a pcap header of this kind is appended to (as
//! ulogd appends); one with another header is left alone and its group's packets are
//! dropped, with a warning. Files are created when their group's first packet comes.

use dataplane::ruleset::targets::nflog::NflogRecord;
use pcap_file::pcap::PcapHeader;
use pcap_file::{DataLink, Endianness, TsResolution};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The header of every capture file this writes.
fn header() -> PcapHeader {
    PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen: 65_535,
        datalink: DataLink::RAW,
        ts_resolution: TsResolution::MicroSecond,
        endianness: Endianness::Little,
    }
}

/// The path of `group`'s capture in `dir`.
pub fn group_file(dir: &Path, group: u16) -> PathBuf {
    dir.join(format!("group-{group}.pcap"))
}

/// The open capture files of one directory, by group.
pub struct NflogWriter {
    dir: PathBuf,
    /// None: the group's file could not be used (warned once).
    files: HashMap<u16, Option<BufWriter<File>>>,
    /// Start every file afresh rather than append (`nfdp replay`).
    fresh: bool,
    /// Records written, and those that could not be.
    pub written: u64,
    pub failed: u64,
}

impl NflogWriter {
    pub fn new(dir: impl Into<PathBuf>) -> NflogWriter {
        NflogWriter {
            dir: dir.into(),
            files: HashMap::new(),
            fresh: false,
            written: 0,
            failed: 0,
        }
    }

    /// A writer that replaces the files it opens instead of appending to them.
    pub fn replacing(dir: impl Into<PathBuf>) -> NflogWriter {
        NflogWriter {
            fresh: true,
            ..NflogWriter::new(dir)
        }
    }

    fn open(path: &Path, fresh: bool) -> Result<BufWriter<File>, String> {
        if fresh {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(format!("{}: {e}", path.display()))
                }
                _ => {}
            }
        }
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let len = f
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        if len == 0 {
            header()
                .write_to(&mut f)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        } else {
            let mut head = [0u8; 24];
            f.read_exact(&mut head)
                .map_err(|e| format!("{}: not a pcap file ({e})", path.display()))?;
            match PcapHeader::from_slice(&head) {
                Ok((_, h)) if h == header() => {}
                _ => {
                    return Err(format!(
                        "{}: not a little-endian raw IPv4 pcap file, left alone",
                        path.display()
                    ))
                }
            }
        }
        Ok(BufWriter::new(f))
    }

    /// Appends `r` to its group's file (opened or created on the group's first record).
    pub fn write(&mut self, r: &NflogRecord) {
        let (dir, fresh) = (&self.dir, self.fresh);
        let slot = self.files.entry(r.group).or_insert_with(|| {
            Self::open(&group_file(dir, r.group), fresh)
                .map_err(|e| tracing::warn!("-j NFLOG group {}: {e}", r.group))
                .ok()
        });
        let Some(w) = slot else {
            self.failed += 1;
            return;
        };
        // A pcap record: seconds, microseconds, captured and original lengths.
        let mut rec = Vec::with_capacity(16 + r.data.len());
        let secs = (r.ts_ns / 1_000_000_000) as u32;
        let usecs = (r.ts_ns % 1_000_000_000 / 1_000) as u32;
        let caplen = r.data.len().min(65_535);
        for v in [secs, usecs, caplen as u32, r.orig_len] {
            rec.extend_from_slice(&v.to_le_bytes());
        }
        rec.extend_from_slice(&r.data[..caplen]);
        match w.write_all(&rec) {
            Ok(()) => self.written += 1,
            Err(e) => {
                tracing::warn!("-j NFLOG group {}: {e}", r.group);
                self.failed += 1;
            }
        }
    }

    /// Writes out what is buffered (after each batch: a reader sees whole records).
    pub fn flush(&mut self) {
        for (group, w) in self.files.iter_mut() {
            if let Some(Err(e)) = w.as_mut().map(|w| w.flush()) {
                tracing::warn!("-j NFLOG group {group}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::PcapReader;

    fn rec(group: u16, ts_ns: u64, data: &[u8], orig_len: u32) -> NflogRecord {
        NflogRecord {
            group,
            prefix: String::new(),
            ts_ns,
            orig_len,
            data: data.to_vec(),
        }
    }

    fn read(path: &Path) -> (PcapHeader, Vec<(std::time::Duration, u32, Vec<u8>)>) {
        let mut r = PcapReader::new(File::open(path).unwrap()).unwrap();
        let h = r.header();
        let mut v = Vec::new();
        while let Some(p) = r.next_packet() {
            let p = p.unwrap();
            v.push((p.timestamp, p.orig_len, p.data.to_vec()));
        }
        (h, v)
    }

    #[test]
    fn one_file_per_group_appended_across_writers() {
        let dir = std::env::temp_dir().join(format!("nfdp-nflog-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = NflogWriter::new(&dir);
        w.write(&rec(5, 1_500_000_123_456_789, &[0x45, 1, 2], 60));
        w.write(&rec(7, 2_000_000_000, &[0x45], 1));
        w.flush();
        drop(w);
        // A second writer (a restarted daemon) appends to the same file.
        let mut w = NflogWriter::new(&dir);
        w.write(&rec(5, 3_000_000_000, &[0x45, 9], 2));
        w.flush();
        assert_eq!((w.written, w.failed), (1, 0));

        let (h, pkts) = read(&group_file(&dir, 5));
        assert_eq!(h, header());
        assert_eq!(
            pkts,
            vec![
                (
                    std::time::Duration::new(1_500_000, 123_456_000),
                    60,
                    vec![0x45, 1, 2]
                ),
                (std::time::Duration::new(3, 0), 2, vec![0x45, 9]),
            ]
        );
        assert_eq!(read(&group_file(&dir, 7)).1.len(), 1);

        // A replacing writer starts the file again.
        let mut w = NflogWriter::replacing(&dir);
        w.write(&rec(7, 4_000_000_000, &[0x45, 7], 2));
        w.flush();
        assert_eq!(
            read(&group_file(&dir, 7)).1,
            vec![(std::time::Duration::new(4, 0), 2, vec![0x45, 7])]
        );

        // An IPv6 packet goes to the same kind of file (LINKTYPE_RAW holds both families).
        let v6 = [0x60, 0, 0, 0, 0, 0, 59, 64];
        let mut w = NflogWriter::new(&dir);
        w.write(&rec(6, 5_000_000_000, &v6, 40));
        w.flush();
        let (h, pkts) = read(&group_file(&dir, 6));
        assert_eq!(h.datalink, DataLink::RAW);
        assert_eq!(
            pkts,
            vec![(std::time::Duration::new(5, 0), 40, v6.to_vec())]
        );

        // Someone else's file is left alone.
        std::fs::write(group_file(&dir, 9), [0u8; 40]).unwrap();
        let mut w = NflogWriter::new(&dir);
        w.write(&rec(9, 0, &[0x45], 1));
        w.flush();
        assert_eq!(w.failed, 1);
        assert_eq!(std::fs::read(group_file(&dir, 9)).unwrap(), [0u8; 40]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
