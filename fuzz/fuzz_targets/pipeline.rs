//! The hook pipeline fed sequences of frames on three ports (LAN, WAN, and an IPv6-only DMZ)
//! and packets from the host (OUTPUT), under a gateway ruleset: conntrack, MASQUERADE, SNAT,
//! DNAT, the FTP helper, REJECT, LOG, a small WAN MTU (fragmentation, frag-needed) and
//! defragmentation; and an ip6tables ruleset for IPv6 forwarding between LAN and DMZ (IPv6
//! conntrack and reassembly, MARK, HL, REJECT, hop limit expiry, packet too big at the DMZ's
//! 1280 bytes, no route, neighbour discovery). The conntrack table is kept small so early drop and the table bound are
//! exercised.
//!
//! Frames are built from a structured description (arbitrary): addresses and ports from the
//! gateway's world, valid IPv4 header and L4 checksums, FTP commands, fragments of valid
//! datagrams in any order; raw bytes too.
//!
//! Asserted: no panic; every frame sent on a port is Ethernet carrying IPv4, IPv6 or ARP that
//! parses; every IPv4 packet sent or delivered to the host has a valid header checksum, and,
//! when every input of the run had valid checksums, a valid TCP/UDP/ICMP(v6) checksum (whole,
//! unfragmented packets); neither conntrack table ever holds more than its maximum.
#![no_main]

use arbitrary::Arbitrary;
use control::config::Config;
use control::iptables::{restore, RestoreOptions};
use dataplane::conntrack::CtConfig;
use dataplane::neigh::NeighTable;
use dataplane::pipeline::{CompiledRuleset, Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use dataplane::route::Fib;
use dataplane::ruleset::Ruleset;
use dataplane::wire::checksum;
use dataplane::wire::{
    ArpPacket, ArpRepr, EthernetFrame, Icmpv4Packet, IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket,
    UdpPacket,
};
use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{Arc, OnceLock};

const CONFIG: &str = r#"
[[port]]
name = "lan0"
driver = "mem"
mac = "02:00:00:00:01:01"
addresses = ["192.168.1.1/24", "2001:db8:1::1/64"]

[[port]]
name = "wan0"
driver = "mem"
mac = "02:00:00:00:02:01"
addresses = ["203.0.113.1/24"]
mtu = 576

[[port]]
name = "dmz0"
driver = "mem"
mac = "02:00:00:00:03:01"
addresses = ["2001:db8:2::1/64"]
mtu = 1280

[[route]]
dst = "0.0.0.0/0"
via = "203.0.113.254"

[[route]]
dst = "::/0"
via = "2001:db8:2::fe"

[[neighbor]]
ip = "2001:db8:2::fe"
mac = "02:00:00:00:03:fe"

[[neighbor]]
ip = "203.0.113.254"
mac = "02:00:00:00:02:fe"

[[neighbor]]
ip = "192.168.1.10"
mac = "02:00:00:00:01:10"
"#;

const RULES: &str = "\
*raw
-A PREROUTING -p tcp --dport 21 -j CT --helper ftp
-A OUTPUT -p tcp --dport 21 -j CT --helper ftp
-A PREROUTING -i wan0 -p tcp --syn -m multiport --dports 443,2222 -j CT --notrack
COMMIT
*mangle
-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
COMMIT
*nat
-A PREROUTING -d 203.0.113.1 -p tcp --dport 21 -j DNAT --to-destination 192.168.1.10
-A PREROUTING -d 203.0.113.1 -p tcp --dport 8080 -j DNAT --to-destination 192.168.1.20:80
-A PREROUTING -d 203.0.113.1 -p udp --dport 53 -j DNAT --to-destination 192.168.1.20
-A PREROUTING -i lan0 -p tcp --dport 3128 -j REDIRECT --to-ports 22
-A POSTROUTING -s 192.168.1.20 -o wan0 -p udp -j SNAT --to-source 203.0.113.2-203.0.113.3:1024-1030
-A POSTROUTING -o wan0 -j MASQUERADE --random
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i wan0 -p tcp --dport 2222 -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --timestamp --ecn --mss 536
-A INPUT -i lan0 -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 23 -j LOG --log-prefix \"telnet: \" --log-tcp-options --log-ip-options
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
-A INPUT -p udp -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -i wan0 -p tcp --dport 443 -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
-A FORWARD -m conntrack --ctstate INVALID -j LOG --log-prefix \"invalid: \"
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp --dport 25 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp --dport 137 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p icmp -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -i lan0 -o wan0 -j ACCEPT
-A FORWARD -i wan0 -o lan0 -m conntrack --ctstate DNAT -j ACCEPT
-A FORWARD -j LOG --log-prefix \"fwd drop: \" --log-level 4
COMMIT
";

const RULES6: &str = "\
*raw
-A PREROUTING -p tcp --dport 23 -j NOTRACK
COMMIT
*mangle
-A PREROUTING -i lan0 -p udp -j MARK --set-mark 7
-A FORWARD -m mark --mark 7 -j HL --hl-dec 1
-A POSTROUTING -o dmz0 -p tcp -m hl --hl-lt 5 -j HL --hl-set 64
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -j REJECT --reject-with icmp6-port-unreachable
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -m frag --fragmore -j DROP
-A FORWARD -p tcp --dport 25 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp --dport 137 -j REJECT --reject-with icmp6-adm-prohibited
-A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT
-A FORWARD -i lan0 -o dmz0 -j ACCEPT
-A FORWARD -i dmz0 -o lan0 -p tcp ! --syn -j ACCEPT
-A FORWARD -i dmz0 -o lan0 -p udp --sport 53 -j ACCEPT
COMMIT
";

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const DMZ: PortId = PortId(2);
const LAN_MAC: [u8; 6] = [2, 0, 0, 0, 1, 1];
const WAN_MAC: [u8; 6] = [2, 0, 0, 0, 2, 1];
const DMZ_MAC: [u8; 6] = [2, 0, 0, 0, 3, 1];
const T0: u64 = 1_700_000_000_000_000_000;

struct World {
    rules: [Arc<CompiledRuleset>; 2],
    fib: Fib,
    neighbors: NeighTable<PacketBuf>,
    neighbors6: Vec<(PortId, std::net::Ipv6Addr, dataplane::port::MacAddr)>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let cfg = Config::parse(CONFIG, Path::new("fuzz.toml")).expect("config");
        let topo = cfg.build().expect("topology");
        let mut rs = Ruleset::default();
        restore(RULES, &mut rs, RestoreOptions::default()).expect("rules");
        let mut rs6 = Ruleset::new(dataplane::ruleset::Family::V6);
        let opts = RestoreOptions {
            packet_path: true,
            ..RestoreOptions::default()
        };
        restore(RULES6, &mut rs6, opts).expect("rules6");
        rs.ip6 = Some(Arc::new(rs6));
        let names = ["lan0".to_string(), "wan0".to_string(), "dmz0".to_string()];
        World {
            rules: [
                Arc::new(CompiledRuleset::compile_for_ports(&rs, 1, &names)),
                // The same rules as a second generation (a swap mid-run), unindexed.
                Arc::new(CompiledRuleset::compile_for_ports(&rs, 2, &names).without_index()),
            ],
            fib: topo.fib.clone(),
            neighbors: topo.neighbors.clone(),
            neighbors6: topo.neighbors6.clone(),
        }
    })
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Host6 {
    LanHost,
    LanLinkLocal,
    RouterLan,
    RouterLinkLocal,
    RouterDmz,
    DmzGateway,
    Server(u8),
    AllNodes,
    RouterGroup,
    Any([u8; 16]),
}

impl Host6 {
    fn addr(self) -> Ipv6Addr {
        let a = |s: &str| s.parse::<Ipv6Addr>().expect("address");
        match self {
            Host6::LanHost => a("2001:db8:1::10"),
            Host6::LanLinkLocal => a("fe80::10"),
            Host6::RouterLan => a("2001:db8:1::1"),
            Host6::RouterLinkLocal => a("fe80::ff:fe00:101"),
            Host6::RouterDmz => a("2001:db8:2::1"),
            Host6::DmzGateway => a("2001:db8:2::fe"),
            Host6::Server(n) => Ipv6Addr::new(0x2001, 0xdb8, 0x99, 0, 0, 0, 0, u16::from(n % 4)),
            Host6::AllNodes => a("ff02::1"),
            Host6::RouterGroup => a("ff02::1:ff00:1"),
            Host6::Any(b) => Ipv6Addr::from(b),
        }
    }
}

/// An IPv6 extension header (its next-header byte is filled when the chain is built).
#[derive(Arbitrary, Debug, Clone)]
enum Ext6 {
    HopByHop(Vec<u8>),
    DstOpts(Vec<u8>),
    Routing { kind: u8, segs: u8, data: Vec<u8> },
    Fragment { offset: u16, more: bool, id: u32 },
    Raw { number: u8, bytes: Vec<u8> },
}

impl Ext6 {
    /// Its protocol number and bytes, the next-header byte left 0.
    fn build(&self) -> (u8, Vec<u8>) {
        let padded = |number: u8, data: &[u8]| {
            let mut h = vec![0u8, 0];
            h.extend_from_slice(&data[..data.len().min(246)]);
            h.resize(h.len().div_ceil(8).max(1) * 8, 0);
            h[1] = (h.len() / 8 - 1) as u8;
            (number, h)
        };
        match self {
            Ext6::HopByHop(d) => padded(0, d),
            Ext6::DstOpts(d) => padded(60, d),
            Ext6::Routing { kind, segs, data } => {
                let mut d = vec![*kind, *segs];
                d.extend_from_slice(data);
                padded(43, &d)
            }
            Ext6::Fragment { offset, more, id } => {
                let mut h = vec![0u8; 8];
                let om = (offset & 0x1fff) << 3 | u16::from(*more);
                h[2..4].copy_from_slice(&om.to_be_bytes());
                h[4..8].copy_from_slice(&id.to_be_bytes());
                (44, h)
            }
            Ext6::Raw { number, bytes } => {
                let mut b = bytes.clone();
                b.truncate(64);
                b.resize(b.len().max(2), 0);
                (*number, b)
            }
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum L46 {
    Tcp {
        sport: L4Port,
        dport: L4Port,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: Payload,
    },
    Udp {
        sport: L4Port,
        dport: L4Port,
        payload: Payload,
    },
    Icmp6 {
        msg_type: u8,
        code: u8,
        rest: [u8; 4],
        payload: Payload,
    },
    /// A neighbour solicitation for `target` with a source link-layer address option.
    Solicit { target: Host6, mac: u8 },
    Icmp6Error {
        msg_type: u8,
        code: u8,
        quoted: Box<Ip6>,
        cut: u16,
    },
    Other {
        protocol: u8,
        payload: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug, Clone)]
struct Ip6 {
    src: Host6,
    dst: Host6,
    hop_limit: u8,
    tclass: u8,
    ext: Vec<Ext6>,
    l4: L46,
}

/// A UDP header and `payload`, cut to `max` bytes, with its length (no checksum).
fn udp_segment(sport: u16, dport: u16, payload: &[u8], max: usize) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(payload);
    u.truncate(max);
    let len = u.len() as u16;
    u[4..6].copy_from_slice(&len.to_be_bytes());
    u
}

impl Ip6 {
    /// The packet with a valid upper-layer checksum over the IPv6 pseudo-header, and whether
    /// it is valid throughout (no raw extension header, no fragment, a known protocol with
    /// its own header).
    fn build_checked(&self) -> (Vec<u8>, bool) {
        let (src, dst) = (self.src.addr(), self.dst.addr());
        let mut valid = true;
        let (proto, mut l4, csum_at) = match &self.l4 {
            L46::Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
                payload,
            } => {
                let mut t = vec![0u8; 20];
                t[0..2].copy_from_slice(&sport.get().to_be_bytes());
                t[2..4].copy_from_slice(&dport.get().to_be_bytes());
                t[4..8].copy_from_slice(&seq.to_be_bytes());
                t[8..12].copy_from_slice(&ack.to_be_bytes());
                t[12] = 5 << 4;
                t[13] = *flags;
                t[14..16].copy_from_slice(&8192u16.to_be_bytes());
                t.extend_from_slice(&payload.bytes());
                (6u8, t, Some(16))
            }
            L46::Udp {
                sport,
                dport,
                payload,
            } => {
                let u = udp_segment(sport.get(), dport.get(), &payload.bytes(), 4000);
                (17, u, Some(6))
            }
            L46::Icmp6 {
                msg_type,
                code,
                rest,
                payload,
            } => {
                let mut m = vec![*msg_type, *code, 0, 0];
                m.extend_from_slice(rest);
                m.extend_from_slice(&payload.bytes());
                (58, m, Some(2))
            }
            L46::Solicit { target, mac } => {
                let mut m = vec![135, 0, 0, 0, 0, 0, 0, 0];
                m.extend_from_slice(&target.addr().octets());
                m.extend_from_slice(&[1, 1, 2, 0, 0, 0, 1, *mac]);
                (58, m, Some(2))
            }
            L46::Icmp6Error {
                msg_type,
                code,
                quoted,
                cut,
            } => {
                let mut m = vec![*msg_type, *code, 0, 0, 0, 0, 0, 0];
                let (q, _) = quoted.build_checked();
                m.extend_from_slice(&q[..q.len().min(usize::from(*cut))]);
                (58, m, Some(2))
            }
            L46::Other { protocol, payload } => {
                valid = !matches!(protocol, 6 | 17 | 58);
                let mut p = payload.clone();
                p.truncate(2000);
                (*protocol, p, None)
            }
        };
        l4.truncate(6000);
        if let Some(at) = csum_at.filter(|&at| l4.len() >= at + 2) {
            let c = checksum::finish(&[
                checksum::pseudo_header_ipv6(src, dst, IpProtocol::from(proto), l4.len() as u32),
                checksum::data(&l4),
            ]);
            l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
        // The chain: each header's first byte names the next.
        let mut numbers = Vec::new();
        let mut headers = Vec::new();
        for e in self.ext.iter().take(6) {
            let (n, h) = e.build();
            valid &= !matches!(e, Ext6::Raw { .. } | Ext6::Fragment { .. });
            numbers.push(n);
            headers.push(h);
        }
        numbers.push(proto);
        let mut body = Vec::new();
        for (i, mut h) in headers.into_iter().enumerate() {
            h[0] = numbers[i + 1];
            body.extend_from_slice(&h);
        }
        body.extend_from_slice(&l4);
        let mut out = vec![0x60 | self.tclass >> 4, self.tclass << 4, 0, 0];
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.push(numbers[0]);
        out.push(self.hop_limit);
        out.extend_from_slice(&src.octets());
        out.extend_from_slice(&dst.octets());
        out.extend_from_slice(&body);
        (out, valid)
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Host {
    LanHost,
    LanOther(u8),
    RouterLan,
    RouterWan,
    SnatPool,
    Gateway,
    Server(u8),
    Broadcast,
    Any([u8; 4]),
}

impl Host {
    fn addr(self) -> Ipv4Addr {
        match self {
            Host::LanHost => Ipv4Addr::new(192, 168, 1, 10),
            Host::LanOther(n) => Ipv4Addr::new(192, 168, 1, 16 + n % 8),
            Host::RouterLan => Ipv4Addr::new(192, 168, 1, 1),
            Host::RouterWan => Ipv4Addr::new(203, 0, 113, 1),
            Host::SnatPool => Ipv4Addr::new(203, 0, 113, 2),
            Host::Gateway => Ipv4Addr::new(203, 0, 113, 254),
            Host::Server(n) => Ipv4Addr::new(93, 184, 216, 34 + n % 4),
            Host::Broadcast => Ipv4Addr::new(255, 255, 255, 255),
            Host::Any(a) => Ipv4Addr::from(a),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum L4Port {
    Ftp,
    FtpData,
    Ssh,
    Telnet,
    Smtp,
    Dns,
    Http,
    Forwarded,
    Proxy,
    Netbios,
    Ephemeral(u8),
    Nat(u8),
    Any(u16),
}

impl L4Port {
    fn get(self) -> u16 {
        match self {
            L4Port::Ftp => 21,
            L4Port::FtpData => 20,
            L4Port::Ssh => 22,
            L4Port::Telnet => 23,
            L4Port::Smtp => 25,
            L4Port::Dns => 53,
            L4Port::Http => 80,
            L4Port::Forwarded => 8080,
            L4Port::Proxy => 3128,
            L4Port::Netbios => 137,
            L4Port::Ephemeral(n) => 40000 + u16::from(n % 16),
            L4Port::Nat(n) => 1024 + u16::from(n % 16),
            L4Port::Any(p) => p,
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Payload {
    Bytes(Vec<u8>),
    /// Active FTP: `PORT h1,h2,h3,h4,p1,p2`.
    Port(Host, u16),
    /// Extended active: `EPRT |1|addr|port|`.
    Eprt(Host, u16),
    /// Passive reply: `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`.
    Pasv(Host, u16),
    /// Extended passive reply: `229 Entering Extended Passive Mode (|||port|)`.
    Epsv(u16),
    Text(String),
    /// A run of filler (large datagrams: fragmentation, MSS, defrag limits).
    Fill(u8, u16),
}

impl Payload {
    fn bytes(&self) -> Vec<u8> {
        let ip = |h: &Host| h.addr().octets();
        match self {
            Payload::Bytes(b) => b.clone(),
            Payload::Port(h, p) => {
                let a = ip(h);
                format!(
                    "PORT {},{},{},{},{},{}\r\n",
                    a[0],
                    a[1],
                    a[2],
                    a[3],
                    p >> 8,
                    p & 0xff
                )
                .into_bytes()
            }
            Payload::Eprt(h, p) => format!("EPRT |1|{}|{p}|\r\n", h.addr()).into_bytes(),
            Payload::Pasv(h, p) => {
                let a = ip(h);
                format!(
                    "227 Entering Passive Mode ({},{},{},{},{},{}).\r\n",
                    a[0],
                    a[1],
                    a[2],
                    a[3],
                    p >> 8,
                    p & 0xff
                )
                .into_bytes()
            }
            Payload::Epsv(p) => {
                format!("229 Entering Extended Passive Mode (|||{p}|)\r\n").into_bytes()
            }
            Payload::Text(s) => s.clone().into_bytes(),
            Payload::Fill(b, n) => vec![*b; usize::from(*n % 3000)],
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum L4 {
    Tcp {
        sport: L4Port,
        dport: L4Port,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: Vec<u8>,
        payload: Payload,
    },
    Udp {
        sport: L4Port,
        dport: L4Port,
        no_checksum: bool,
        payload: Payload,
    },
    Icmp {
        msg_type: u8,
        code: u8,
        rest: [u8; 4],
        payload: Payload,
    },
    /// An ICMP error quoting a packet (as a router or host on the way would send it).
    IcmpError {
        msg_type: u8,
        code: u8,
        rest: [u8; 4],
        quoted: Box<Ip>,
        cut: u8,
    },
    Other {
        protocol: u8,
        payload: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug, Clone)]
struct Ip {
    src: Host,
    dst: Host,
    ttl: u8,
    tos: u8,
    ident: u16,
    dont_frag: bool,
    options: Vec<u8>,
    l4: L4,
}

fn ones(data: &[u8]) -> u16 {
    !checksum::data(data)
}

impl Ip {
    /// The whole datagram, with valid IPv4 and L4 checksums.
    fn build(&self) -> Vec<u8> {
        self.build_checked().0
    }

    /// The datagram, and whether its L4 part is valid (an `Other` payload under the TCP,
    /// UDP or ICMP protocol number is not).
    fn build_checked(&self) -> (Vec<u8>, bool) {
        let mut valid = true;
        let (src, dst) = (self.src.addr(), self.dst.addr());
        let (protocol, l4) = match &self.l4 {
            L4::Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
                window,
                options,
                payload,
            } => {
                let mut opts = options.clone();
                opts.truncate(40);
                opts.resize(opts.len().div_ceil(4) * 4, 0);
                let hl = 20 + opts.len();
                let mut t = vec![0u8; hl];
                t[0..2].copy_from_slice(&sport.get().to_be_bytes());
                t[2..4].copy_from_slice(&dport.get().to_be_bytes());
                t[4..8].copy_from_slice(&seq.to_be_bytes());
                t[8..12].copy_from_slice(&ack.to_be_bytes());
                t[12] = ((hl / 4) as u8) << 4;
                t[13] = *flags;
                t[14..16].copy_from_slice(&window.to_be_bytes());
                t[20..].copy_from_slice(&opts);
                t.extend_from_slice(&payload.bytes());
                t.truncate(65535 - 60 - 20);
                let mut p = TcpPacket::new_unchecked(&mut t[..]);
                p.fill_checksum(src, dst);
                (IpProtocol::Tcp, t)
            }
            L4::Udp {
                sport,
                dport,
                no_checksum,
                payload,
            } => {
                let mut u =
                    udp_segment(sport.get(), dport.get(), &payload.bytes(), 65535 - 60 - 20);
                if !no_checksum {
                    UdpPacket::new_unchecked(&mut u[..]).fill_checksum(src, dst);
                }
                (IpProtocol::Udp, u)
            }
            L4::Icmp {
                msg_type,
                code,
                rest,
                payload,
            } => {
                let mut m = vec![*msg_type, *code, 0, 0];
                m.extend_from_slice(rest);
                m.extend_from_slice(&payload.bytes());
                m.truncate(65535 - 60 - 20);
                let c = ones(&m);
                m[2..4].copy_from_slice(&c.to_be_bytes());
                (IpProtocol::Icmp, m)
            }
            L4::IcmpError {
                msg_type,
                code,
                rest,
                quoted,
                cut,
            } => {
                let mut m = vec![*msg_type, *code, 0, 0];
                m.extend_from_slice(rest);
                let q = quoted.build();
                let keep = q.len().min(28 + usize::from(*cut));
                m.extend_from_slice(&q[..keep]);
                let c = ones(&m);
                m[2..4].copy_from_slice(&c.to_be_bytes());
                (IpProtocol::Icmp, m)
            }
            L4::Other { protocol, payload } => {
                valid = !matches!(protocol, 1 | 6 | 17);
                let mut p = payload.clone();
                p.truncate(2000);
                (IpProtocol::from(*protocol), p)
            }
        };
        let mut opts = self.options.clone();
        opts.truncate(40);
        opts.resize(opts.len().div_ceil(4) * 4, 0);
        let hl = 20 + opts.len();
        let repr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol,
            payload_len: opts.len() + l4.len(),
            ttl: self.ttl,
            tos: self.tos,
            ident: self.ident,
            dont_frag: self.dont_frag,
            more_frags: false,
            frag_offset: 0,
        };
        let mut out = vec![0u8; 20];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        out.extend_from_slice(&opts);
        out.extend_from_slice(&l4);
        // The header with its options: IHL and checksum again.
        out[0] = 0x40 | (hl / 4) as u8;
        out[10] = 0;
        out[11] = 0;
        let c = ones(&out[..hl]);
        out[10..12].copy_from_slice(&c.to_be_bytes());
        (out, valid)
    }
}

/// Fragments of a datagram: `cuts` are the fragment sizes in 8-byte units (the last takes
/// the rest); `order` permutes and repeats them.
fn fragments(datagram: &[u8], cuts: &[u8], order: &[u8]) -> Vec<Vec<u8>> {
    let p = Ipv4Packet::new_checked(datagram).expect("built datagram");
    let hl = p.header_len() as usize;
    let (header, payload) = datagram.split_at(hl);
    let mut pieces = Vec::new();
    let mut off = 0usize;
    for (i, c) in cuts.iter().enumerate() {
        if off >= payload.len() {
            break;
        }
        let last = i + 1 == cuts.len();
        let len = if last {
            payload.len() - off
        } else {
            (usize::from(*c % 64) + 1) * 8
        };
        let end = (off + len).min(payload.len());
        let mf = end < payload.len();
        let mut f = header.to_vec();
        f.extend_from_slice(&payload[off..end]);
        let total = f.len() as u16;
        f[2..4].copy_from_slice(&total.to_be_bytes());
        let flags_off = ((off / 8) as u16) | if mf { 0x2000 } else { 0 };
        f[6..8].copy_from_slice(&flags_off.to_be_bytes());
        f[10] = 0;
        f[11] = 0;
        let c = ones(&f[..hl]);
        f[10..12].copy_from_slice(&c.to_be_bytes());
        pieces.push(f);
        off = end;
    }
    if pieces.is_empty() {
        return vec![datagram.to_vec()];
    }
    if order.is_empty() {
        return pieces;
    }
    order
        .iter()
        .take(64)
        .map(|i| pieces[usize::from(*i) % pieces.len()].clone())
        .collect()
}

#[derive(Arbitrary, Debug, Clone)]
enum Frame {
    Ip(Ip),
    Fragments {
        ip: Ip,
        cuts: Vec<u8>,
        order: Vec<u8>,
    },
    Arp {
        request: bool,
        sender: Host,
        target: Host,
        mac: u8,
    },
    /// Arbitrary bytes after the Ethernet header (checksums not fixed).
    RawIp(Vec<u8>),
    Ip6(Ip6),
    /// Arbitrary bytes after an IPv6 Ethernet header.
    RawIp6(Vec<u8>),
    /// A whole arbitrary frame.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone)]
enum Step {
    /// A frame in on a port (LAN, WAN or DMZ: `port % 3`), unicast to the port's MAC or
    /// broadcast.
    Rx {
        port: u8,
        broadcast: bool,
        frame: Frame,
    },
    /// A packet from the host's stack (OUTPUT).
    Output(Ip),
    Output6(Ip6),
    /// Time passes (milliseconds), then the worker's housekeeping (expiry, ARP).
    Wait(u16),
    /// Long silence: timeouts expire (seconds).
    Sleep(u16),
    /// The other generation of the ruleset is published.
    Swap,
}

#[derive(Arbitrary, Debug)]
struct Input {
    ct_max: u8,
    trace: bool,
    steps: Vec<Step>,
}

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Checks one IPv4 packet the pipeline emitted.
fn check_ipv4(ip: &[u8], clean: bool) {
    let p = Ipv4Packet::new_checked(ip).expect("emitted IPv4 packet views");
    let r = Ipv4Repr::parse(&p).expect("emitted IPv4 header parses (version, checksum)");
    if !clean || p.is_fragment() {
        return;
    }
    let (src, dst) = (r.src_addr, r.dst_addr);
    let l4 = p.payload();
    match r.protocol {
        IpProtocol::Tcp => {
            let t = TcpPacket::new_checked(l4).expect("emitted TCP segment views");
            assert!(t.verify_checksum(src, dst), "bad TCP checksum: {ip:02x?}");
        }
        IpProtocol::Udp => {
            let u = UdpPacket::new_checked(l4).expect("emitted UDP datagram views");
            assert!(u.verify_checksum(src, dst), "bad UDP checksum: {ip:02x?}");
        }
        IpProtocol::Icmp => {
            let m = Icmpv4Packet::new_checked(l4).expect("emitted ICMP message views");
            assert!(m.verify_checksum(), "bad ICMP checksum: {ip:02x?}");
        }
        _ => {}
    }
}

/// Checks one IPv6 packet the pipeline emitted: its header, and the upper-layer checksum of a
/// whole packet without extension headers when every input was valid.
fn check_ipv6(ip: &[u8], clean: bool) {
    let p = dataplane::wire::Ipv6Packet::new_checked(ip).expect("emitted IPv6 views");
    let (src, dst) = (p.src_addr(), p.dst_addr());
    let next = u8::from(p.next_header());
    // Forwarded packets keep the sender's checksums: checked when every input was valid.
    if !clean {
        return;
    }
    let l4 = p.payload();
    if matches!(next, 6 | 17 | 58) {
        let sum = checksum::combine(&[
            checksum::pseudo_header_ipv6(src, dst, IpProtocol::from(next), l4.len() as u32),
            checksum::data(l4),
        ]);
        assert_eq!(sum, 0xffff, "bad upper-layer checksum: {ip:02x?}");
    }
}

/// An emitted packet of either family.
fn check_ip(ip: &[u8], clean: bool) {
    match ip.first().map(|b| b >> 4) {
        Some(6) => check_ipv6(ip, clean),
        _ => check_ipv4(ip, clean),
    }
}

fn check_emits(out: &mut Vec<Emit>, clean: bool) {
    for e in out.drain(..) {
        match e {
            Emit::Tx { port, frame } => {
                assert!(port == LAN || port == WAN || port == DMZ, "sent on {port:?}");
                let data = frame.data();
                let f = EthernetFrame::new_checked(data).expect("emitted frame views");
                let (ethertype, payload) = f.l3_payload().expect("emitted frame's L3");
                match u16::from(ethertype) {
                    0x0800 => check_ipv4(payload, clean),
                    0x0806 => {
                        let a = ArpPacket::new_checked(payload).expect("emitted ARP views");
                        ArpRepr::parse(&a).expect("emitted ARP parses");
                    }
                    0x86dd => check_ipv6(payload, clean),
                    other => panic!("emitted ethertype {other:#06x}"),
                }
            }
            Emit::Local { packet } => check_ip(packet.data(), clean),
        }
    }
}

fuzz_target!(|input: Input| {
    let w = world();
    let mut p = Pipeline::new(w.rules[0].clone(), w.fib.clone(), w.neighbors.clone());
    p.add_neighbors6(&w.neighbors6);
    let max = 4 + u32::from(input.ct_max % 60);
    p.set_conntrack_config(CtConfig {
        max,
        ..CtConfig::default()
    });
    p.collect_log();
    if input.trace {
        p.enable_trace();
    }
    let mut now = T0;
    let mut clean = true;
    let mut datagrams = std::collections::HashMap::new();
    let mut generation = 0;
    let mut out = Vec::new();
    for step in input.steps.iter().take(200) {
        match step {
            Step::Rx {
                port,
                broadcast,
                frame,
            } => {
                let (port, port_mac, peer) = match port % 3 {
                    0 => (LAN, LAN_MAC, [2, 0, 0, 0, 1, 0x10]),
                    1 => (WAN, WAN_MAC, [2, 0, 0, 0, 2, 0xfe]),
                    _ => (DMZ, DMZ_MAC, [2, 0, 0, 0, 3, 0xfe]),
                };
                let dst = if *broadcast { [0xff; 6] } else { port_mac };
                let frames: Vec<Vec<u8>> = match frame {
                    Frame::Ip(ip) => {
                        let (b, valid) = ip.build_checked();
                        clean &= valid;
                        vec![eth(dst, peer, 0x0800, &b)]
                    }
                    Frame::Fragments { ip, cuts, order } => {
                        let (b, valid) = ip.build_checked();
                        clean &= valid;
                        // Two different datagrams under one reassembly key (source,
                        // destination, protocol, id) reassemble into a mix of both, in the
                        // kernel as here (an exact duplicate fragment is ignored, whatever
                        // its bytes): its checksums are the sender's problem.
                        let key = (b[12..20].to_vec(), b[9], [b[4], b[5]]);
                        if datagrams.insert(key, b.clone()).is_some_and(|old| old != b) {
                            clean = false;
                        }
                        fragments(&b, cuts, order)
                            .iter()
                            .map(|f| eth(dst, peer, 0x0800, f))
                            .collect()
                    }
                    Frame::Arp {
                        request,
                        sender,
                        target,
                        mac,
                    } => {
                        let mut a = vec![0, 1, 8, 0, 6, 4, 0, if *request { 1 } else { 2 }];
                        let smac = [2, 0, 0, 0, 9, *mac];
                        a.extend_from_slice(&smac);
                        a.extend_from_slice(&sender.addr().octets());
                        a.extend_from_slice(if *request { &[0; 6] } else { &port_mac });
                        a.extend_from_slice(&target.addr().octets());
                        vec![eth(dst, smac, 0x0806, &a)]
                    }
                    Frame::RawIp(b) => {
                        clean = false;
                        vec![eth(dst, peer, 0x0800, b)]
                    }
                    Frame::Ip6(ip) => {
                        let (b, valid) = ip.build_checked();
                        clean &= valid;
                        vec![eth(dst, peer, 0x86dd, &b)]
                    }
                    Frame::RawIp6(b) => {
                        clean = false;
                        vec![eth(dst, peer, 0x86dd, b)]
                    }
                    Frame::Raw(b) => {
                        clean = false;
                        vec![b.clone()]
                    }
                };
                for f in frames {
                    p.receive(port, PacketBuf::from_slice(&f), now, &mut out);
                    check_emits(&mut out, clean);
                }
            }
            Step::Output(ip) => {
                let (b, valid) = ip.build_checked();
                clean &= valid;
                p.output(PacketBuf::from_slice(&b), now, &mut out);
                check_emits(&mut out, clean);
            }
            Step::Output6(ip) => {
                let (b, valid) = ip.build_checked();
                clean &= valid;
                p.output(PacketBuf::from_slice(&b), now, &mut out);
                check_emits(&mut out, clean);
            }
            Step::Wait(ms) => {
                now += u64::from(*ms) * 1_000_000;
                p.reap(now);
                p.tick(now, &mut out);
                check_emits(&mut out, clean);
            }
            Step::Sleep(s) => {
                now += u64::from(*s) * 1_000_000_000;
                p.reap(now);
                p.tick(now, &mut out);
                check_emits(&mut out, clean);
            }
            Step::Swap => {
                generation ^= 1;
                p.set_ruleset(w.rules[generation].clone());
            }
        }
        assert!(
            p.conntrack().len() <= max as usize,
            "conntrack holds {} entries, max {max}",
            p.conntrack().len()
        );
        assert!(
            p.conntrack6().len() <= max as usize,
            "the IPv6 conntrack holds {} entries, max {max}",
            p.conntrack6().len()
        );
        p.take_log();
        p.take_trace();
    }
});
