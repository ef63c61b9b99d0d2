//! `nfdp replay` end to end: a crafted capture in, per-port captures, the host's capture
//! and the trace out.

mod support;

use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn ip_header(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8], ttl: u8) -> Vec<u8> {
    let total = 20 + l4.len();
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = ttl;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let c = !dataplane::wire::checksum::data(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(l4);
    if proto == 6 {
        // A valid TCP checksum: conntrack marks a bad one INVALID and does not track it.
        let ph = dataplane::wire::checksum::pseudo_header(
            src.into(),
            dst.into(),
            dataplane::wire::IpProtocol::Tcp,
            l4.len() as u32,
        );
        let c = !dataplane::wire::checksum::combine(&[ph, dataplane::wire::checksum::data(l4)]);
        p[36..38].copy_from_slice(&c.to_be_bytes());
    }
    p
}

fn frame(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 0x10, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

fn tcp_syn(dport: u16) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&40000u16.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[12] = 0x50;
    h[13] = 0x02;
    h
}

fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let mut r = PcapReader::new(std::fs::File::open(path).expect("pcap")).expect("pcap header");
    let mut v = Vec::new();
    while let Some(p) = r.next_packet() {
        v.push(p.expect("packet").data.into_owned());
    }
    v
}

/// A fresh directory with the LAN/WAN config whose `[rules] file` holds `rules`; the
/// directory and the config's path.
fn gateway(tag: &str, rules: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("nfdp-replay-{tag}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("gw.toml");
    std::fs::write(
        &cfg,
        support::lan_wan_config!(
            r#"
[rules]
file = "gw.rules"
"#
        ),
    )
    .unwrap();
    std::fs::write(dir.join("gw.rules"), rules).unwrap();
    (dir, cfg)
}

#[test]
fn replay_writes_ports_local_and_trace() {
    let (dir, cfg) = gateway(
        "",
        "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate INVALID -j DROP\n\
         -A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n",
    );

    let input = dir.join("lan.pcap");
    {
        let mut w = PcapWriter::new(std::fs::File::create(&input).unwrap()).unwrap();
        let host = [192, 168, 1, 10];
        let pkts = [
            frame(&ip_header(6, host, [93, 184, 216, 34], &tcp_syn(80), 64)),
            frame(&ip_header(6, host, [93, 184, 216, 34], &tcp_syn(23), 64)),
            frame(&ip_header(
                1,
                host,
                [192, 168, 1, 1],
                &[8, 0, 0xf7, 0xff, 0, 0, 0, 0],
                64,
            )),
        ];
        for (i, p) in pkts.iter().enumerate() {
            let ts = Duration::new(1_700_000_000 + i as u64, 0);
            w.write_packet(&PcapPacket::new(ts, p.len() as u32, p))
                .unwrap();
        }
    }
    let out = dir.join("out");
    let res = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .args(["replay", "--config"])
        .arg(&cfg)
        .arg("--in")
        .arg(format!("lan0={}", input.display()))
        .arg("--out")
        .arg(&out)
        .arg("--conntrack")
        .arg(dir.join("ct.txt"))
        .arg("--events")
        .arg(dir.join("events.txt"))
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let events = std::fs::read_to_string(dir.join("events.txt")).unwrap();
    assert_eq!(events.lines().count(), 2, "two NEW events: {events}");
    assert!(
        events.starts_with("    [NEW] tcp      6 120 SYN_SENT src=192.168.1.10"),
        "{events}"
    );
    let ct = std::fs::read_to_string(dir.join("ct.txt")).unwrap();
    assert_eq!(
        ct,
        "ipv4     2 icmp     1 30 src=192.168.1.10 dst=192.168.1.1 type=8 code=0 id=0 [UNREPLIED] src=192.168.1.1 dst=192.168.1.10 type=0 code=0 id=0 mark=0 zone=0 use=2\n\
         ipv4     2 tcp      6 118 SYN_SENT src=192.168.1.10 dst=93.184.216.34 sport=40000 dport=80 [UNREPLIED] src=93.184.216.34 dst=192.168.1.10 sport=80 dport=40000 mark=0 zone=0 use=2\n",
        "the ping and the forwarded SYN are tracked; the dropped telnet SYN is not"
    );

    let wan = read_pcap(&out.join("wan0.pcap"));
    assert_eq!(wan.len(), 1, "only port 80 is forwarded");
    assert_eq!(&wan[0][0..12], &[2, 0, 0, 0, 2, 0xfe, 2, 0, 0, 0, 2, 1]);
    assert_eq!(wan[0][14 + 8], 63, "TTL decremented");
    assert_eq!(&wan[0][14 + 22..14 + 24], &80u16.to_be_bytes());
    let local = read_pcap(&out.join("local.pcap"));
    assert_eq!(local.len(), 1);
    assert_eq!(
        &local[0][16..20],
        &[192, 168, 1, 1],
        "raw IPv4 to the appliance"
    );
    assert!(
        !out.join("lan0.pcap").exists(),
        "nothing went back out on lan0"
    );

    let trace = std::fs::read_to_string(out.join("trace.txt")).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    assert_eq!(lines[0], "PACKET 1 IN=lan0 TIME=1700000000.000000000");
    assert!(
        trace.contains("TRACE: filter:FORWARD:rule:2 IN=lan0 OUT=wan0"),
        "{trace}"
    );
    assert!(
        trace.contains("TRACE: filter:FORWARD:policy:3 IN=lan0 OUT=wan0"),
        "{trace}"
    );
    assert!(
        trace.contains("TRACE: filter:INPUT:policy:1 IN=lan0 OUT="),
        "{trace}"
    );
    let verdicts: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("VERDICT"))
        .copied()
        .collect();
    assert_eq!(
        verdicts,
        [
            "VERDICT: TX wan0",
            "VERDICT: DROP (rules)",
            "VERDICT: LOCAL"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_runs_on_every_shipped_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("nfdp-replay-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("lan.pcap");
    {
        let mut w = PcapWriter::new(std::fs::File::create(&input).unwrap()).unwrap();
        let p = frame(&ip_header(
            6,
            [192, 168, 1, 10],
            [93, 184, 216, 34],
            &tcp_syn(80),
            64,
        ));
        w.write_packet(&PcapPacket::new(
            Duration::new(1_700_000_000, 0),
            p.len() as u32,
            &p,
        ))
        .unwrap();
    }
    let mut n = 0;
    for e in std::fs::read_dir(root.join("configs")).unwrap() {
        let cfg = e.unwrap().path();
        if cfg.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let out = dir.join(cfg.file_stem().unwrap());
        let res = Command::new(env!("CARGO_BIN_EXE_nfdp"))
            .current_dir(&root)
            .args(["replay", "--config"])
            .arg(&cfg)
            .arg("--in")
            .arg(format!("lan0={}", input.display()))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            res.status.success(),
            "{}: {}",
            cfg.display(),
            String::from_utf8_lossy(&res.stderr)
        );
        let trace = std::fs::read_to_string(out.join("trace.txt")).unwrap();
        assert!(trace.contains("VERDICT:"), "{}: {trace}", cfg.display());
        n += 1;
    }
    assert!(n >= 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Replay resolves next hops through `[[neighbor]]` only: a missing one now shows as the
/// ARP request the appliance would send (the packet waits for an answer that never comes),
/// and ARP in the capture is answered.
#[test]
fn replay_shows_arp_for_a_missing_neighbour_and_answers_arp() {
    let dir = std::env::temp_dir().join(format!("nfdp-replay-arp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("gw.toml");
    std::fs::write(&cfg, support::lan_wan_ports!()).unwrap();
    let syn = frame(&ip_header(
        6,
        [192, 168, 1, 10],
        [93, 184, 216, 34],
        &tcp_syn(80),
        64,
    ));
    // who-has 192.168.1.1 tell 192.168.1.10
    let mut who_has = vec![0xff; 6];
    who_has.extend_from_slice(&[2, 0, 0, 0, 1, 0x10, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    who_has.extend_from_slice(&[2, 0, 0, 0, 1, 0x10, 192, 168, 1, 10, 0, 0, 0, 0, 0, 0]);
    who_has.extend_from_slice(&[192, 168, 1, 1]);
    let input = dir.join("lan.pcap");
    {
        let mut w = PcapWriter::new(std::fs::File::create(&input).unwrap()).unwrap();
        for (i, p) in [&syn, &syn, &who_has].iter().enumerate() {
            let ts = Duration::new(1_700_000_000 + i as u64, 0);
            w.write_packet(&PcapPacket::new(ts, p.len() as u32, p))
                .unwrap();
        }
    }
    let out = dir.join("out");
    let res = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .args(["replay", "--config"])
        .arg(&cfg)
        .arg("--in")
        .arg(format!("lan0={}", input.display()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let mut request = vec![0xff; 6];
    request.extend_from_slice(&[2, 0, 0, 0, 2, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    request.extend_from_slice(&[2, 0, 0, 0, 2, 1, 203, 0, 113, 1, 0, 0, 0, 0, 0, 0]);
    request.extend_from_slice(&[203, 0, 113, 254]);
    assert_eq!(
        read_pcap(&out.join("wan0.pcap")),
        vec![request],
        "one request for the gateway, no IPv4"
    );
    let mut reply = vec![
        2, 0, 0, 0, 1, 0x10, 2, 0, 0, 0, 1, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4,
    ];
    reply.extend_from_slice(&[0, 2, 2, 0, 0, 0, 1, 1, 192, 168, 1, 1]);
    reply.extend_from_slice(&[2, 0, 0, 0, 1, 0x10, 192, 168, 1, 10]);
    assert_eq!(read_pcap(&out.join("lan0.pcap")), vec![reply]);
    let trace = std::fs::read_to_string(out.join("trace.txt")).unwrap();
    let verdicts: Vec<&str> = trace.lines().filter(|l| l.starts_with("VERDICT")).collect();
    assert_eq!(
        verdicts,
        [
            "VERDICT: ARP wan0, HELD (no neighbour)",
            "VERDICT: HELD (no neighbour)",
            "VERDICT: ARP lan0"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_writes_the_nflog_captures_afresh() {
    let (dir, cfg) = gateway(
        "nflog-",
        "*raw\n-A PREROUTING -p tcp --dport 22 -j NFLOG --nflog-group 3 --nflog-size 24\n\
         COMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j NFLOG --nflog-prefix dropped\n\
         COMMIT\n",
    );
    let input = dir.join("lan.pcap");
    let host = [192, 168, 1, 10];
    let pkts: Vec<Vec<u8>> = [22, 80]
        .iter()
        .map(|&p| ip_header(6, host, [93, 184, 216, 34], &tcp_syn(p), 64))
        .collect();
    {
        let mut w = PcapWriter::new(std::fs::File::create(&input).unwrap()).unwrap();
        for (i, p) in pkts.iter().enumerate() {
            let f = frame(p);
            let ts = Duration::new(1_700_000_000 + i as u64, 0);
            w.write_packet(&PcapPacket::new(ts, f.len() as u32, &f))
                .unwrap();
        }
    }
    let nflog = dir.join("nflog");
    // Left from an earlier run: replaced, not appended to.
    std::fs::create_dir_all(&nflog).unwrap();
    std::fs::write(nflog.join("group-3.pcap"), b"old").unwrap();
    let res = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .args(["replay", "--config"])
        .arg(&cfg)
        .arg("--in")
        .arg(format!("lan0={}", input.display()))
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--nflog-dir")
        .arg(&nflog)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    // raw PREROUTING: the packet as it came in (TTL 64), cut to 24 bytes.
    assert_eq!(
        read_pcap(&nflog.join("group-3.pcap")),
        [pkts[0][..24].to_vec()]
    );
    // filter FORWARD, group 0: both packets whole, after the TTL was decremented.
    let fwd = read_pcap(&nflog.join("group-0.pcap"));
    assert_eq!(fwd.len(), 2);
    for (got, sent) in fwd.iter().zip(&pkts) {
        assert_eq!(got.len(), sent.len());
        assert_eq!(got[8], 63);
        assert_eq!(got[12..], sent[12..]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
