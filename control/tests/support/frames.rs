//! Packet builders for test traffic: IPv4 with correct header and TCP/UDP checksums,
//! UDP, TCP, ICMP echo, Ethernet and ARP frames, and readers for what the daemon sent.

use super::{GATEWAY_MAC, HOST_MAC, LAN_MAC, WAN_MAC};
use dataplane::wire::checksum;

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;

/// An IPv4 packet (DF, TTL 64) around `l4`, its header and TCP/UDP checksums filled in.
pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    ipv4_ttl(src, dst, proto, 64, l4)
}

pub fn ipv4_ttl(src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(20 + l4.len() as u16).to_be_bytes());
    p[6] = 0x40;
    p[8] = ttl;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let c = !checksum::data(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(l4);
    if proto == 6 || proto == 17 {
        let at = 20 + if proto == 6 { 16 } else { 6 };
        let c = !l4_sum(&p);
        p[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// The one's-complement sum of a TCP/UDP segment with its pseudo header.
pub fn l4_sum(ip: &[u8]) -> u16 {
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&ip[12..20]);
    pseudo.extend_from_slice(&[0, ip[9]]);
    pseudo.extend_from_slice(&((ip.len() - 20) as u16).to_be_bytes());
    pseudo.extend_from_slice(&ip[20..]);
    checksum::data(&pseudo)
}

pub fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    u.extend_from_slice(payload);
    ipv4(src, dst, 17, &u)
}

/// A 20-byte TCP header (window 64240) with `flags`, no payload.
pub fn tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 0x50;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    ipv4(src, dst, 6, &t)
}

/// An ICMP echo request (`kind` 8) or reply (0) carrying "nfdp ping".
pub fn icmp_echo(src: [u8; 4], dst: [u8; 4], kind: u8, id: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![kind, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(b"nfdp ping");
    let c = !checksum::data(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4(src, dst, 1, &m)
}

pub fn ether(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 packet in an Ethernet frame.
pub fn ether_ipv4(dst: [u8; 6], src: [u8; 6], ip: &[u8]) -> Vec<u8> {
    ether(dst, src, 0x0800, ip)
}

/// An ARP message (Ethernet/IPv4) in an Ethernet frame.
pub fn arp(
    dst: [u8; 6],
    op: u16,
    sha: [u8; 6],
    spa: [u8; 4],
    tha: [u8; 6],
    tpa: [u8; 4],
) -> Vec<u8> {
    let mut a = vec![0, 1, 0x08, 0, 6, 4];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&sha);
    a.extend_from_slice(&spa);
    a.extend_from_slice(&tha);
    a.extend_from_slice(&tpa);
    ether(dst, sha, 0x0806, &a)
}

/// A frame from the LAN host to the appliance's LAN port.
pub fn from_lan(ip: &[u8]) -> Vec<u8> {
    ether_ipv4(LAN_MAC, HOST_MAC, ip)
}

/// A frame from the upstream gateway to the WAN port.
pub fn from_wan(ip: &[u8]) -> Vec<u8> {
    ether_ipv4(WAN_MAC, GATEWAY_MAC, ip)
}

/// Checks a transmitted IPv4 frame's link header and checksums; returns its IP packet.
pub fn ip_out(frame: &[u8], dst_mac: [u8; 6], src_mac: [u8; 6]) -> &[u8] {
    assert_eq!(&frame[0..6], &dst_mac, "destination MAC of {frame:02x?}");
    assert_eq!(&frame[6..12], &src_mac, "source MAC of {frame:02x?}");
    assert_eq!(&frame[12..14], &[0x08, 0x00]);
    let ip = &frame[14..];
    assert_eq!(checksum::data(&ip[..20]), 0xffff, "IP header checksum");
    if ip[9] == 6 || ip[9] == 17 {
        assert_eq!(l4_sum(ip), 0xffff, "L4 checksum of {ip:02x?}");
    }
    ip
}

pub fn src_ip(ip: &[u8]) -> [u8; 4] {
    ip[12..16].try_into().unwrap()
}
pub fn dst_ip(ip: &[u8]) -> [u8; 4] {
    ip[16..20].try_into().unwrap()
}
pub fn sport(ip: &[u8]) -> u16 {
    u16::from_be_bytes([ip[20], ip[21]])
}
pub fn dport(ip: &[u8]) -> u16 {
    u16::from_be_bytes([ip[22], ip[23]])
}
