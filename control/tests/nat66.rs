//! NAT66 through ip6tables' nat table: frames in on one port, frames out on the other,
//! with the addresses, ports and checksums checked on the wire (every upper-layer
//! checksum verified by recomputing it over the pseudo-header), the replies translated
//! back, ICMPv6 errors about translated connections put back, and the IPv6 conntrack
//! entries' reply tuples.

mod support;

use dataplane::pipeline::{DropReason, Emit, Pipeline};
use dataplane::port::{PacketBuf, PortId};
use dataplane::wire::checksum;
use dataplane::wire::IpProtocol;
use std::net::Ipv6Addr;
use support::{GATEWAY_MAC, HOST_MAC, LAN_MAC, WAN_MAC};

/// The dual-stack network with a second LAN host (2001:db8:1::20).
const CONFIG: &str = support::ipv6::dual_stack_config!(
    r#"
[[neighbor]]
ip = "2001:db8:1::20"
mac = "02:00:00:00:01:20"
"#
);

const LAN: PortId = PortId(0);
const WAN: PortId = PortId(1);
const T0: u64 = 1_700_000_000_000_000_000;
const HOST: &str = "2001:db8:1::10";
const SERVER: &str = "2001:db8:1::20";
const FAR: &str = "2001:db8:99::5";
const WAN_ADDR: &str = "2001:db8:ff::1";

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn pipeline(nat: &str) -> Pipeline {
    let rules = format!("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{nat}COMMIT\n");
    support::ipv6::pipeline(CONFIG, &rules)
}

/// An IPv6 packet with upper-layer `l4` of protocol `proto`, its checksum at `csum_at`
/// filled.
fn ipv6(src: &str, dst: &str, proto: u8, l4: &[u8], csum_at: usize) -> Vec<u8> {
    support::ipv6::packet(src, dst, 64, proto, &[], l4, csum_at)
}

fn tcp(src: &str, dst: &str, ports: (u16, u16), flags: u8) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&ports.0.to_be_bytes());
    t[2..4].copy_from_slice(&ports.1.to_be_bytes());
    t[4..8].copy_from_slice(&1000u32.to_be_bytes());
    if flags & 0x10 != 0 {
        t[8..12].copy_from_slice(&1001u32.to_be_bytes());
    }
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    ipv6(src, dst, 6, &t, 16)
}

fn udp(src: &str, dst: &str, ports: (u16, u16)) -> Vec<u8> {
    support::ipv6::udp(src, dst, 64, ports, b"ping")
}

fn echo(src: &str, dst: &str, ty: u8, id: u16) -> Vec<u8> {
    let mut e = vec![ty, 0, 0, 0, 0, 0, 0, 1, b'h', b'i'];
    e[4..6].copy_from_slice(&id.to_be_bytes());
    ipv6(src, dst, 58, &e, 2)
}

/// What the pipeline did with `ip` received on `port`: frames sent (port, IP packet)
/// and packets for the host stack (`None`).
fn send(p: &mut Pipeline, port: PortId, ip: &[u8]) -> Vec<(Option<PortId>, Vec<u8>)> {
    let (dst_mac, src_mac) = if port == LAN {
        (LAN_MAC, HOST_MAC)
    } else {
        (WAN_MAC, GATEWAY_MAC)
    };
    let mut f = dst_mac.to_vec();
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(ip);
    let mut out = Vec::new();
    p.receive(port, PacketBuf::from_slice(&f), T0, &mut out);
    out.into_iter()
        .map(|e| match e {
            Emit::Tx { port, frame } => (Some(port), frame.data()[14..].to_vec()),
            Emit::Local { packet } => (None, packet.data().to_vec()),
        })
        .collect()
}

/// The one packet sent out of `port`.
fn one_out(out: &[(Option<PortId>, Vec<u8>)], port: Option<PortId>) -> Vec<u8> {
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, port);
    out[0].1.clone()
}

fn src(ip: &[u8]) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap())
}

fn dst(ip: &[u8]) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap())
}

fn ports(ip: &[u8]) -> (u16, u16) {
    (
        u16::from_be_bytes([ip[40], ip[41]]),
        u16::from_be_bytes([ip[42], ip[43]]),
    )
}

/// The upper-layer checksum (right after the fixed header) verifies over the
/// pseudo-header.
fn checksum_ok(ip: &[u8]) -> bool {
    let l4 = &ip[40..];
    let p =
        checksum::pseudo_header_ipv6(src(ip), dst(ip), IpProtocol::from(ip[6]), l4.len() as u32);
    checksum::combine(&[p, checksum::data(l4)]) == 0xffff
}

/// The IPv6 conntrack lines as /proc/net/nf_conntrack prints them.
fn proc_lines(p: &Pipeline) -> Vec<String> {
    p.conntrack6()
        .entries()
        .map(|e| dataplane::conntrack::proc_line(e, None, T0))
        .collect()
}

#[test]
fn snat_rewrites_the_source_and_the_reply_comes_back() {
    let mut p = pipeline("-A POSTROUTING -o wan0 -j SNAT --to-source 2001:db8:ff::1\n");
    let syn = tcp(HOST, FAR, (40000, 80), 0x02);
    let out = one_out(&send(&mut p, LAN, &syn), Some(WAN));
    assert_eq!((src(&out), dst(&out)), (a6(WAN_ADDR), a6(FAR)));
    assert_eq!(ports(&out), (40000, 80), "a free port is kept");
    assert!(checksum_ok(&out));
    let synack = tcp(FAR, WAN_ADDR, (80, 40000), 0x12);
    let back = one_out(&send(&mut p, WAN, &synack), Some(LAN));
    assert_eq!((src(&back), dst(&back)), (a6(FAR), a6(HOST)));
    assert_eq!(ports(&back), (80, 40000));
    assert!(checksum_ok(&back));
    let e = p.conntrack6().entries().next().expect("the connection");
    assert_eq!(e.reply.dst, a6(WAN_ADDR));
    assert_eq!(e.orig.src, a6(HOST));
}

#[test]
fn masquerade_takes_the_egress_ports_address_and_echo_checksums_follow() {
    let mut p = pipeline("-A POSTROUTING -o wan0 -j MASQUERADE\n");
    let req = echo(HOST, FAR, 128, 0x4242);
    let out = one_out(&send(&mut p, LAN, &req), Some(WAN));
    assert_eq!(src(&out), a6(WAN_ADDR));
    // The id is kept, the checksum is not: the pseudo-header changed.
    assert_eq!(&out[44..46], &[0x42, 0x42]);
    assert_ne!(&out[42..44], &req[42..44]);
    assert!(checksum_ok(&out));
    let reply = echo(FAR, WAN_ADDR, 129, 0x4242);
    let back = one_out(&send(&mut p, WAN, &reply), Some(LAN));
    assert_eq!(dst(&back), a6(HOST));
    assert!(checksum_ok(&back));
}

#[test]
fn dnat_sends_the_connection_inside_and_the_reply_out_as_the_router() {
    let mut p = pipeline(
        "-A PREROUTING -i wan0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8:1::20]:80\n",
    );
    let syn = tcp(FAR, WAN_ADDR, (50000, 8080), 0x02);
    let inside = one_out(&send(&mut p, WAN, &syn), Some(LAN));
    assert_eq!((src(&inside), dst(&inside)), (a6(FAR), a6(SERVER)));
    assert_eq!(ports(&inside), (50000, 80));
    assert!(checksum_ok(&inside));
    let synack = tcp(SERVER, FAR, (80, 50000), 0x12);
    let out = one_out(&send(&mut p, LAN, &synack), Some(WAN));
    assert_eq!((src(&out), dst(&out)), (a6(WAN_ADDR), a6(FAR)));
    assert_eq!(ports(&out), (8080, 50000));
    assert!(checksum_ok(&out));
    // /proc/net/nf_conntrack: the reply tuple is the translated one.
    let lines = proc_lines(&p);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains(
            "src=2001:0db8:0001:0000:0000:0000:0000:0020 dst=2001:0db8:0099:0000:0000:0000:0000:0005 sport=80 dport=50000"
        ),
        "{}",
        lines[0]
    );
}

#[test]
fn a_clashing_source_port_is_remapped() {
    // Two hosts behind one address, the same source port to the same server.
    let mut p = pipeline("-A POSTROUTING -o wan0 -j SNAT --to-source 2001:db8:ff::1\n");
    let first = one_out(&send(&mut p, LAN, &udp(HOST, FAR, (5000, 53))), Some(WAN));
    let second = one_out(&send(&mut p, LAN, &udp(SERVER, FAR, (5000, 53))), Some(WAN));
    assert_eq!(ports(&first).0, 5000);
    let remapped = ports(&second).0;
    assert!((1024..=65535).contains(&remapped) && remapped != 5000);
    assert_eq!((src(&second), checksum_ok(&second)), (a6(WAN_ADDR), true));
    // Each reply finds its own host.
    let back = one_out(
        &send(&mut p, WAN, &udp(FAR, WAN_ADDR, (53, remapped))),
        Some(LAN),
    );
    assert_eq!((dst(&back), ports(&back)), (a6(SERVER), (53, 5000)));
    let back = one_out(
        &send(&mut p, WAN, &udp(FAR, WAN_ADDR, (53, 5000))),
        Some(LAN),
    );
    assert_eq!(dst(&back), a6(HOST));
}

#[test]
fn an_icmpv6_error_about_a_snated_connection_is_put_back() {
    let mut p =
        pipeline("-A POSTROUTING -o wan0 -p udp -j SNAT --to-source [2001:db8:ff::1]:1000-2000\n");
    let sent = one_out(&send(&mut p, LAN, &udp(HOST, FAR, (5000, 53))), Some(WAN));
    let port = ports(&sent).0;
    assert!((1000..=2000).contains(&port));
    // The gateway answers the translated datagram: port unreachable.
    let mut msg = vec![1, 4, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&sent);
    let error = ipv6("2001:db8:ff::fe", WAN_ADDR, 58, &msg, 2);
    let back = one_out(&send(&mut p, WAN, &error), Some(LAN));
    assert_eq!((src(&back), dst(&back)), (a6("2001:db8:ff::fe"), a6(HOST)));
    assert!(checksum_ok(&back), "the ICMPv6 checksum");
    let quoted = &back[48..];
    assert_eq!((src(quoted), dst(quoted)), (a6(HOST), a6(FAR)));
    assert_eq!(ports(quoted), (5000, 53));
    assert!(checksum_ok(quoted), "the quoted UDP checksum");
}

#[test]
fn redirect_delivers_to_the_ingress_ports_address() {
    let mut p =
        pipeline("-A PREROUTING -i lan0 -p udp -m udp --dport 7000 -j REDIRECT --to-ports 5000\n");
    let here = one_out(&send(&mut p, LAN, &udp(HOST, FAR, (4000, 7000))), None);
    assert_eq!(dst(&here), a6("2001:db8:1::1"));
    assert_eq!(ports(&here), (4000, 5000));
    assert!(checksum_ok(&here));
    // Other ports are forwarded untouched.
    let out = one_out(&send(&mut p, LAN, &udp(HOST, FAR, (4000, 7001))), Some(WAN));
    assert_eq!(dst(&out), a6(FAR));
}

#[test]
fn netmap_maps_the_prefix_and_keeps_the_host_part() {
    let mut p =
        pipeline("-A POSTROUTING -o wan0 -s 2001:db8:1::/64 -j NETMAP --to 2001:db8:aa::/64\n");
    let out = one_out(
        &send(&mut p, LAN, &tcp(HOST, FAR, (40000, 80), 0x02)),
        Some(WAN),
    );
    assert_eq!(src(&out), a6("2001:db8:aa::10"));
    assert_eq!(ports(&out), (40000, 80));
    assert!(checksum_ok(&out));
    let back = one_out(
        &send(&mut p, WAN, &tcp(FAR, "2001:db8:aa::10", (80, 40000), 0x12)),
        Some(LAN),
    );
    assert_eq!(dst(&back), a6(HOST));
    assert!(checksum_ok(&back));
}

#[test]
fn hairpin_to_the_routers_dnated_address() {
    // A LAN host reaches the LAN server through the router's public address: DNAT in
    // PREROUTING routes it back to the LAN, MASQUERADE makes the server answer the router.
    let mut p = pipeline(
        "-A PREROUTING -d 2001:db8:ff::1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8:1::20]:80\n\
         -A POSTROUTING -s 2001:db8:1::/64 -d 2001:db8:1::20 -j MASQUERADE\n",
    );
    let syn = tcp(HOST, WAN_ADDR, (40000, 8080), 0x02);
    let fwd = one_out(&send(&mut p, LAN, &syn), Some(LAN));
    assert_eq!((src(&fwd), dst(&fwd)), (a6("2001:db8:1::1"), a6(SERVER)));
    assert_eq!(ports(&fwd).1, 80);
    assert!(checksum_ok(&fwd));
    let synack = tcp(SERVER, "2001:db8:1::1", (80, ports(&fwd).0), 0x12);
    let back = one_out(&send(&mut p, LAN, &synack), Some(LAN));
    assert_eq!((src(&back), dst(&back)), (a6(WAN_ADDR), a6(HOST)));
    assert_eq!(ports(&back), (8080, 40000));
    assert!(checksum_ok(&back));
}

#[test]
fn ctstate_dnat_sees_the_binding_in_forward() {
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -i wan0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8:1::20]:80\n\
        COMMIT\n*filter\n:FORWARD DROP [0:0]\n\
        -A FORWARD -m conntrack --ctstate DNAT -j ACCEPT\n\
        -A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let mut p = support::ipv6::pipeline(CONFIG, rules);
    let out = send(&mut p, WAN, &tcp(FAR, WAN_ADDR, (50000, 8080), 0x02));
    assert_eq!(one_out(&out, Some(LAN))[24..40], a6(SERVER).octets());
    // Not DNATed: the policy drops it.
    assert!(send(&mut p, WAN, &tcp(FAR, SERVER, (50001, 80), 0x02)).is_empty());
    assert_eq!(p.stats().drops[DropReason::Rules], 1);
}

/// The listings of an SNATed IPv6 connection, as a Linux 6.x router in a network namespace
/// printed them for the same flow (`ip6tables -t nat -A POSTROUTING -j SNAT --to-source
/// 2001:db8:2::100-2001:db8:2::1ff`, one UDP datagram, a second later): the reply tuple is
/// the translated one, the address the kernel picked from the range.
#[test]
fn the_listings_show_the_translated_reply_tuple_as_linux_does() {
    let mut p =
        pipeline("-A POSTROUTING -o wan0 -j SNAT --to-source 2001:db8:2::100-2001:db8:2::1ff\n");
    let out = one_out(
        &send(&mut p, LAN, &udp(HOST, "2001:db8:2::20", (44186, 7001))),
        Some(WAN),
    );
    assert_eq!(src(&out), a6("2001:db8:2::1f8"));
    let now = T0 + 1_000_000_000;
    let e = p.conntrack6().entries().next().expect("the connection");
    let proc = dataplane::conntrack::proc_line(e, None, now);
    assert!(
        proc.starts_with(
            "ipv6     10 udp      17 29 src=2001:0db8:0001:0000:0000:0000:0000:0010 \
             dst=2001:0db8:0002:0000:0000:0000:0000:0020 sport=44186 dport=7001 [UNREPLIED] \
             src=2001:0db8:0002:0000:0000:0000:0000:0020 dst=2001:0db8:0002:0000:0000:0000:0000:01f8 \
             sport=7001 dport=44186 mark=0 "
        ),
        "{proc}"
    );
    let records = p
        .conntrack6()
        .records(&dataplane::conntrack::CtFilter::default(), now);
    let r = &records[0];
    let pb = control::api::conntrack::entry_pb(&r.entry, None, 0, r.id, now);
    let fmt = control::ctl::ct_format::Format {
        extended: false,
        event: false,
    };
    assert_eq!(
        control::ctl::ct_format::entry_line(&pb, fmt),
        "udp      17 29 src=2001:db8:1::10 dst=2001:db8:2::20 sport=44186 dport=7001 [UNREPLIED] \
         src=2001:db8:2::20 dst=2001:db8:2::1f8 sport=7001 dport=44186 mark=0 use=1"
    );
}

/// What the pipeline did with `ip` sent by the host stack (OUTPUT).
fn output(p: &mut Pipeline, ip: &[u8]) -> Vec<(Option<PortId>, Vec<u8>)> {
    let mut out = Vec::new();
    p.output(PacketBuf::from_slice(ip), T0, &mut out);
    out.into_iter()
        .map(|e| match e {
            Emit::Tx { port, frame } => (Some(port), frame.data()[14..].to_vec()),
            Emit::Local { packet } => (None, packet.data().to_vec()),
        })
        .collect()
}

#[test]
fn output_dnat_reroutes_and_the_reply_comes_back_from_the_original_server() {
    let mut p = pipeline(
        "-A OUTPUT -p tcp -m tcp --dport 80 -j DNAT --to-destination [2001:db8:1::20]:8080\n\
         -A OUTPUT -p udp -m udp --dport 53 -j REDIRECT --to-ports 5353\n",
    );
    // Routed to the WAN first; after DNAT, to the LAN server.
    let syn = tcp(WAN_ADDR, FAR, (40000, 80), 0x02);
    let out = one_out(&output(&mut p, &syn), Some(LAN));
    assert_eq!((dst(&out), ports(&out)), (a6(SERVER), (40000, 8080)));
    assert!(checksum_ok(&out));
    // The server's answer reaches the host stack as from the server it asked (INPUT).
    let synack = tcp(SERVER, WAN_ADDR, (8080, 40000), 0x12);
    let here = one_out(&send(&mut p, LAN, &synack), None);
    assert_eq!((src(&here), ports(&here)), (a6(FAR), (80, 40000)));
    assert!(checksum_ok(&here));
    // REDIRECT in OUTPUT: to ::1, delivered to the host stack.
    let q = udp(WAN_ADDR, FAR, (4000, 53));
    let local = one_out(&output(&mut p, &q), None);
    assert_eq!(
        (dst(&local), ports(&local)),
        (Ipv6Addr::LOCALHOST, (4000, 5353))
    );
    assert!(checksum_ok(&local));
}

#[test]
fn the_routers_own_error_about_a_dnated_packet_quotes_what_the_client_sent() {
    let mut p = pipeline(
        "-A PREROUTING -i wan0 -p udp -m udp --dport 5000 -j DNAT --to-destination [2001:db8:1::20]:53\n",
    );
    // Hop limit 1: time exceeded, about the packet its connection (never confirmed)
    // DNATed; the quote is put back (nf_ct_attach, nf_nat_icmpv6_reply_translation).
    let mut expiring = udp(FAR, WAN_ADDR, (6000, 5000));
    expiring[7] = 1;
    let error = one_out(&send(&mut p, WAN, &expiring), Some(WAN));
    assert_eq!((src(&error), dst(&error)), (a6(WAN_ADDR), a6(FAR)));
    assert_eq!(error[40], 3, "time exceeded");
    assert!(checksum_ok(&error));
    let quoted = &error[48..];
    assert_eq!(
        (src(quoted), dst(quoted), ports(quoted)),
        (a6(FAR), a6(WAN_ADDR), (6000, 5000))
    );
    assert!(checksum_ok(quoted));
    assert_eq!(
        p.conntrack6().len(),
        0,
        "the connection died with its packet"
    );
}

/// The fragments of `ip` (no extension headers): pieces of the upper layer `size`
/// bytes long (a multiple of 8), each behind a fragment header.
fn fragments(ip: &[u8], size: usize, id: u32) -> Vec<Vec<u8>> {
    let upper = &ip[40..];
    upper
        .chunks(size)
        .enumerate()
        .map(|(i, piece)| {
            let offset = i * size;
            let more = offset + piece.len() < upper.len();
            let mut f = ip[..40].to_vec();
            f[4..6].copy_from_slice(&((8 + piece.len()) as u16).to_be_bytes());
            f[6] = 44;
            f.extend_from_slice(&[ip[6], 0]);
            f.extend_from_slice(&((offset as u16) | u16::from(more)).to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(piece);
            f
        })
        .collect()
}

#[test]
fn a_fragmented_datagram_is_translated_whole_and_leaves_in_fragments() {
    let mut p = pipeline("-A POSTROUTING -o wan0 -j MASQUERADE\n");
    let mut u = vec![0u8; 8 + 1600];
    u[0..2].copy_from_slice(&5353u16.to_be_bytes());
    u[2..4].copy_from_slice(&53u16.to_be_bytes());
    u[4..6].copy_from_slice(&1608u16.to_be_bytes());
    for (i, b) in u[8..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let whole = ipv6(HOST, FAR, 17, &u, 6);
    let pieces = fragments(&whole, 1232, 0x1234_5678);
    assert!(
        send(&mut p, LAN, &pieces[0]).is_empty(),
        "held for reassembly"
    );
    let out = send(&mut p, LAN, &pieces[1]);
    assert_eq!(out.len(), 2, "cut again as it arrived");
    // Every fragment from the masqueraded address; the upper layer, put together, is
    // the datagram with its checksum right over the new pseudo-header.
    let mut upper = Vec::new();
    for (port, f) in &out {
        assert_eq!(
            (*port, src(f), dst(f), f[6]),
            (Some(WAN), a6(WAN_ADDR), a6(FAR), 44)
        );
        upper.extend_from_slice(&f[48..]);
    }
    assert_eq!(&upper[..4], &u[..4], "the port is kept");
    assert_eq!(&upper[8..], &u[8..]);
    let mut rebuilt = whole[..40].to_vec();
    rebuilt[8..24].copy_from_slice(&a6(WAN_ADDR).octets());
    rebuilt.extend_from_slice(&upper);
    assert!(checksum_ok(&rebuilt));
}

#[test]
fn snat_in_input_rewrites_what_the_host_stack_receives() {
    let mut p = pipeline("-A INPUT -i wan0 -p udp -j SNAT --to-source 2001:db8:1::99\n");
    let here = one_out(&send(&mut p, WAN, &udp(FAR, WAN_ADDR, (6000, 53))), None);
    assert_eq!(
        (src(&here), dst(&here)),
        (a6("2001:db8:1::99"), a6(WAN_ADDR))
    );
    assert!(checksum_ok(&here));
    let e = p.conntrack6().entries().next().expect("the connection");
    assert_eq!(e.reply.dst, a6("2001:db8:1::99"));
}
