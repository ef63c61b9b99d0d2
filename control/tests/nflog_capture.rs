//! `-j NFLOG` through a running daemon core on in-memory wires: the packets an NFLOG rule
//! logs reach the `nfdp-nflog` thread and land in `[nflog] dir`/group-N.pcap (raw IPv4,
//! cut to `--nflog-size`, the original length recorded), and they go on through the
//! chain (NFLOG does not decide anything).

mod support;

use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::daemon::{boot, config_text, serial, temp_dir, write_config, Running};
use support::frames::{from_lan, ip_out, udp};
use support::{GATEWAY_MAC, HOST, PATIENCE, WAN_MAC};

const RULES: &str = "*filter
:FORWARD DROP [0:0]
-A FORWARD -p udp --dport 53 -j NFLOG --nflog-group 5 --nflog-size 40
-A FORWARD -p udp --dport 123 -j NFLOG --nflog-group 6 --nflog-prefix ntp
-A FORWARD -i lan0 -j ACCEPT
COMMIT
";

/// A UDP packet from the LAN host to `dport`; the IP packet that came out on wan0.
fn forward(run: &Running, dport: u16, payload: &[u8]) -> Vec<u8> {
    let ip = udp(HOST, [93, 184, 216, 34], 40000, dport, payload);
    run.wires[0].inject(0, &from_lan(&ip));
    let out = run.wires[1].wait(1, PATIENCE);
    assert_eq!(out.len(), 1, "forwarded to wan0");
    let sent = ip_out(&out[0], GATEWAY_MAC, WAN_MAC).to_vec();
    // FORWARD sees the packet after the TTL was decremented, as it goes out.
    assert_eq!(sent[8], ip[8] - 1);
    sent
}

/// The records of a capture: timestamp, original length, bytes.
fn records(path: &std::path::Path) -> (DataLink, Vec<(Duration, u32, Vec<u8>)>) {
    let mut r = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let link = r.header().datalink;
    let mut v = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        v.push((p.timestamp, p.orig_len, p.data.to_vec()));
    }
    (link, v)
}

#[test]
fn nflog_writes_the_group_capture_and_the_packets_go_on() {
    let serial = serial();
    let dir = temp_dir("nflog");
    std::fs::write(dir.join("rules.v4"), RULES).unwrap();
    std::fs::create_dir_all(dir.join("nflog")).unwrap();
    let extra = format!("\n[nflog]\ndir = \"{}/nflog\"\n", dir.display());
    let cfg = write_config(&dir, &config_text(&dir, &extra));
    assert_eq!(cfg.nflog_dir, Some(dir.join("nflog")));
    let (daemon, wires) = boot(cfg);
    let run = Running::new(daemon, wires, dir.clone(), serial);
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();

    // A short query (under 40 bytes in all), a long one, and one the rule does not take.
    let short = forward(&run, 53, b"q");
    let long = forward(&run, 53, &[0xab; 100]);
    forward(&run, 80, b"not logged");
    assert_eq!(short.len(), 29);
    assert_eq!(long.len(), 128);

    let path = dir.join("nflog/group-5.pcap");
    let deadline = Instant::now() + PATIENCE;
    let (link, got) = loop {
        if path.exists() {
            let (link, got) = records(&path);
            if got.len() >= 2 {
                break (link, got);
            }
        }
        assert!(Instant::now() < deadline, "no capture for group 5");
        std::thread::sleep(Duration::from_millis(20));
    };
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(link, DataLink::RAW);
    assert_eq!(got.len(), 2, "exactly the two port-53 packets");
    assert_eq!((got[0].1, &got[0].2), (29, &short));
    assert_eq!((got[1].1, &got[1].2[..]), (128, &long[..40]));
    for (ts, _, _) in &got {
        // The wall clock (the workers' packet clock follows it from their start).
        let slack = Duration::from_secs(5);
        assert!(*ts + slack >= before && *ts <= after + slack, "{ts:?}");
    }
    // No other group had a packet: no other file.
    let names: Vec<_> = std::fs::read_dir(dir.join("nflog"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["group-5.pcap"]);

    // Group 6 without --nflog-size: the whole packet.
    let ntp = forward(&run, 123, &[7; 48]);
    let path6 = dir.join("nflog/group-6.pcap");
    let deadline = Instant::now() + PATIENCE;
    while !path6.exists() || records(&path6).1.is_empty() {
        assert!(Instant::now() < deadline, "no capture for group 6");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, got6) = records(&path6);
    assert_eq!(got6.len(), 1);
    assert_eq!((got6[0].1 as usize, &got6[0].2), (ntp.len(), &ntp));
    assert_eq!(records(&path).1.len(), 2, "group 5 unchanged");
}
