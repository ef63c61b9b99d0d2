//! The host side of the TAP exception port: local delivery (INPUT) hands IPv4 and IPv6
//! packets to the kernel behind the TAP interface, and what the kernel sends (OUTPUT) comes
//! back into the pipeline. To the kernel, nfdp is one big neighbour: every address it
//! resolves on the TAP interface (ARP, or neighbour discovery for IPv6) answers with
//! `HostLink::gateway_mac`, and nfdp routes what it gets by its own FIB.

use dataplane::pipeline::ndisc;
use dataplane::port::{MacAddr, PacketBuf};
use dataplane::wire::arp::{self, Operation};
use dataplane::wire::icmpv6::na_flags;
use dataplane::wire::ipv6::{next_header, HEADER_LEN};
use dataplane::wire::{EtherType, EthernetAddress, EthernetFrame, Icmpv6Message, Ipv6Packet};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The MAC nfdp answers the kernel's ARP requests and neighbour solicitations with on the
/// TAP link.
pub const HOST_GATEWAY_MAC: MacAddr = MacAddr([0x02, 0x6e, 0x66, 0x64, 0xff, 0xfe]);

/// What a frame from the kernel turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum FromHost {
    /// An IPv4 or IPv6 packet (the Ethernet header removed) for the OUTPUT path.
    Output(PacketBuf),
    /// An ARP reply or a neighbour advertisement to send back to the kernel.
    Answer(PacketBuf),
    /// Anything else (IPv6 to groups or link-local addresses: MLD reports, router
    /// solicitations; LLDP, malformed frames): dropped and counted.
    Ignored,
}

/// Addresses of the two ends of the TAP link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLink {
    /// The kernel interface's MAC: local deliveries are addressed to it.
    pub kernel_mac: MacAddr,
    /// The MAC nfdp uses towards the kernel.
    pub gateway_mac: MacAddr,
}

impl HostLink {
    /// Wraps a packet delivered locally into a frame for the kernel, its ethertype from
    /// the IP version.
    pub fn to_host(&self, mut packet: PacketBuf) -> PacketBuf {
        let ethertype = match packet.data().first().map(|b| b >> 4) {
            Some(6) => EtherType::IPV6,
            _ => EtherType::IPV4,
        };
        let hdr = packet.prepend(14);
        hdr[0..6].copy_from_slice(&self.kernel_mac.0);
        hdr[6..12].copy_from_slice(&self.gateway_mac.0);
        hdr[12..14].copy_from_slice(&ethertype.0.to_be_bytes());
        packet
    }

    /// Classifies a frame the kernel sent on the TAP interface.
    pub fn from_host(&self, mut frame: PacketBuf) -> FromHost {
        let (ethertype, offset) = match EthernetFrame::new_checked(frame.data())
            .ok()
            .and_then(|f| f.l3_header().ok())
        {
            Some(l3) => (l3.ethertype, l3.offset),
            None => return FromHost::Ignored,
        };
        if ethertype == EtherType::IPV4 {
            frame.pull(offset);
            return FromHost::Output(frame);
        }
        if ethertype == EtherType::IPV6 {
            return self.ipv6_from_host(frame, offset);
        }
        if ethertype != EtherType::ARP {
            return FromHost::Ignored;
        }
        let Some(request) = frame
            .data()
            .get(offset..)
            .and_then(|b| arp::Packet::new_checked(b).ok())
            .and_then(|p| arp::Repr::parse(&p).ok())
        else {
            return FromHost::Ignored;
        };
        // The kernel resolving anything but its own address (a duplicate address probe
        // or an announcement has target == sender) gets nfdp's MAC.
        if request.operation != Operation::Request
            || request.target_protocol_addr == request.source_protocol_addr
            || request.target_protocol_addr == Ipv4Addr::UNSPECIFIED
        {
            return FromHost::Ignored;
        }
        let reply = request.reply(EthernetAddress(self.gateway_mac.0));
        let mut out = PacketBuf::from_slice(&[0u8; 14 + arp::PACKET_LEN]);
        let bytes = out.data_mut();
        bytes[0..6].copy_from_slice(&request.source_hardware_addr.0);
        bytes[6..12].copy_from_slice(&self.gateway_mac.0);
        bytes[12..14].copy_from_slice(&EtherType::ARP.0.to_be_bytes());
        reply.emit(&mut arp::Packet::new_unchecked(&mut bytes[14..]));
        FromHost::Answer(out)
    }

    /// An IPv6 frame from the kernel: its neighbour solicitations are answered, unicast to
    /// anything but a link-local address goes to OUTPUT, the rest (MLD reports, router
    /// solicitations, link-local traffic: the TAP is no port's link) is ignored.
    fn ipv6_from_host(&self, mut frame: PacketBuf, offset: usize) -> FromHost {
        let Some(ip) = frame
            .data()
            .get(offset..)
            .and_then(|b| Ipv6Packet::new_checked(b).ok())
        else {
            return FromHost::Ignored;
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let is_icmp = u8::from(ip.next_header()) == next_header::ICMPV6;
        if is_icmp && ip.payload().first() == Some(&Icmpv6Message::NEIGHBOR_SOLICIT.0) {
            return self.answer_solicitation(&frame.data()[..offset], &ip);
        }
        if dst.is_multicast() || dst.is_unspecified() || is_link_local(dst) || is_link_local(src) {
            return FromHost::Ignored;
        }
        let len = offset + HEADER_LEN + usize::from(ip.payload_len());
        frame.truncate(len);
        frame.pull(offset);
        FromHost::Output(frame)
    }

    /// The kernel resolving a next hop on the TAP link (every one is nfdp): a neighbour
    /// advertisement with `gateway_mac`, solicited, override and router set, as ARP
    /// answers. Duplicate address probes (from ::) are not answered, or the kernel would
    /// give up its address; the daemon adds its addresses with `nodad` so none come.
    fn answer_solicitation(&self, eth: &[u8], ip: &Ipv6Packet<&[u8]>) -> FromHost {
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let Ok(ns) = ndisc::check_solicitation(src, dst, ip.hop_limit(), ip.payload()) else {
            return FromHost::Ignored;
        };
        if ns.dad || ns.target == src || ns.target.is_multicast() {
            return FromHost::Ignored;
        }
        let to_mac = ns
            .source_mac
            .or_else(|| EthernetAddress::from_bytes(eth.get(6..)?).map(|a| MacAddr(a.0)))
            .unwrap_or(self.kernel_mac);
        let flags = na_flags::SOLICITED | na_flags::OVERRIDE;
        let mut na = ndisc::advert(self.gateway_mac, ns.target, src, flags, true);
        let hdr = na.prepend(14);
        hdr[0..6].copy_from_slice(&to_mac.0);
        hdr[6..12].copy_from_slice(&self.gateway_mac.0);
        hdr[12..14].copy_from_slice(&EtherType::IPV6.0.to_be_bytes());
        FromHost::Answer(na)
    }
}

fn is_link_local(a: Ipv6Addr) -> bool {
    dataplane::port::is_link_local6(a)
}

/// Reads a kernel interface's MAC from sysfs (the TAP's kernel end lives in the daemon's
/// network namespace).
pub fn kernel_mac(iface: &str) -> Result<MacAddr, String> {
    let path = format!("/sys/class/net/{iface}/address");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    text.trim().parse().map_err(|e| format!("{path}: {e}"))
}

/// Gives the kernel's TAP interface the appliance's addresses (as /32s and /128s, so the
/// kernel does not answer for or route by the connected subnets itself) and sends
/// everything else it originates to nfdp: a default route of each family through the TAP.
/// IPv6 is enabled on the TAP only with IPv6 addresses, and without router discovery,
/// autoconfiguration or duplicate address detection: nfdp is its only neighbour.
pub fn configure_kernel(
    iface: &str,
    addresses: &[(Ipv4Addr, u8)],
    addresses6: &[(Ipv6Addr, u8)],
) -> Result<(), String> {
    let ip = |args: &[&str]| -> Result<(), String> {
        let out = std::process::Command::new("ip")
            .args(args)
            .output()
            .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    if !addresses6.is_empty() {
        // Before the link comes up: its link-local address then skips DAD and no router
        // solicitation goes out. disable_ipv6 last: a namespace with IPv6 disabled on
        // `all` (the lab's router) created the TAP with it disabled too (from `default`).
        for (key, value) in [
            ("accept_ra", "0"),
            ("autoconf", "0"),
            ("dad_transmits", "0"),
            ("router_solicitations", "0"),
            ("disable_ipv6", "0"),
        ] {
            let path = format!("/proc/sys/net/ipv6/conf/{iface}/{key}");
            std::fs::write(&path, value).map_err(|e| format!("{path}: {e}"))?;
        }
    }
    ip(&["link", "set", "dev", iface, "up"])?;
    for (addr, _) in addresses {
        ip(&["addr", "replace", &format!("{addr}/32"), "dev", iface])?;
    }
    ip(&["route", "replace", "default", "dev", iface])?;
    for (addr, _) in addresses6 {
        let a = format!("{addr}/128");
        ip(&["-6", "addr", "replace", &a, "dev", iface, "nodad"])?;
    }
    if !addresses6.is_empty() {
        // On-link: the kernel resolves every destination on the TAP, nfdp answers.
        ip(&["-6", "route", "replace", "default", "dev", iface])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: HostLink = HostLink {
        kernel_mac: MacAddr([0x0a, 0, 0, 0, 0, 1]),
        gateway_mac: HOST_GATEWAY_MAC,
    };

    fn arp_request(sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&LINK.kernel_mac.0);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&LINK.kernel_mac.0);
        f.extend_from_slice(&sender);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&target);
        f
    }

    #[test]
    fn kernel_arp_requests_get_the_gateway_mac() {
        let req = arp_request([192, 168, 1, 1], [192, 168, 1, 10]);
        let FromHost::Answer(reply) = LINK.from_host(PacketBuf::from_slice(&req)) else {
            panic!("no answer");
        };
        let mut want = LINK.kernel_mac.0.to_vec();
        want.extend_from_slice(&HOST_GATEWAY_MAC.0);
        want.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
        want.extend_from_slice(&HOST_GATEWAY_MAC.0);
        want.extend_from_slice(&[192, 168, 1, 10]);
        want.extend_from_slice(&LINK.kernel_mac.0);
        want.extend_from_slice(&[192, 168, 1, 1]);
        assert_eq!(reply.data(), &want[..]);
        // Announcements and probes of its own address are not answered.
        for req in [
            arp_request([192, 168, 1, 1], [192, 168, 1, 1]),
            arp_request([0, 0, 0, 0], [0, 0, 0, 0]),
        ] {
            assert_eq!(
                LINK.from_host(PacketBuf::from_slice(&req)),
                FromHost::Ignored
            );
        }
        ignored_when_truncated(&req);
    }

    /// Every prefix of `frame` is ignored.
    fn ignored_when_truncated(frame: &[u8]) {
        for n in 0..frame.len() {
            assert_eq!(
                LINK.from_host(PacketBuf::from_slice(&frame[..n])),
                FromHost::Ignored,
                "truncated to {n}"
            );
        }
    }

    #[test]
    fn ipv4_both_ways() {
        let ip = [
            0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let framed = LINK.to_host(PacketBuf::from_slice(&ip));
        assert_eq!(&framed.data()[0..6], &LINK.kernel_mac.0);
        assert_eq!(&framed.data()[6..12], &HOST_GATEWAY_MAC.0);
        assert_eq!(&framed.data()[12..14], &[0x08, 0x00]);
        assert_eq!(&framed.data()[14..], &ip);
        match LINK.from_host(framed) {
            FromHost::Output(p) => assert_eq!(p.data(), &ip),
            other => panic!("{other:?}"),
        }
        let mut v6 = vec![0u8; 54];
        v6[12] = 0x86;
        v6[13] = 0xdd;
        assert_eq!(
            LINK.from_host(PacketBuf::from_slice(&v6)),
            FromHost::Ignored,
            "version 0, no addresses"
        );
    }

    fn a6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// An IPv6 packet of `proto` with `l4`, its checksum at `csum_at` filled (None: left).
    fn ipv6(src: &str, dst: &str, hl: u8, proto: u8, l4: &[u8], csum_at: Option<usize>) -> Vec<u8> {
        use dataplane::wire::{checksum, IpProtocol};
        let (s, d) = (a6(src), a6(dst));
        let mut l4 = l4.to_vec();
        if let Some(at) = csum_at {
            let c = checksum::finish(&[
                checksum::pseudo_header_ipv6(s, d, IpProtocol::from(proto), l4.len() as u32),
                checksum::data(&l4),
            ]);
            l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        p.extend_from_slice(&[proto, hl]);
        p.extend_from_slice(&s.octets());
        p.extend_from_slice(&d.octets());
        p.extend_from_slice(&l4);
        p
    }

    fn eth(dst: [u8; 6], src: [u8; 6], ip: &[u8]) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x86, 0xdd]);
        f.extend_from_slice(ip);
        f
    }

    /// The kernel's solicitation for `target` from `src` (with its link-layer address).
    fn ns(src: &str, dst: &str, target: &str, dst_mac: [u8; 6]) -> Vec<u8> {
        let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&a6(target).octets());
        if src != "::" {
            icmp.extend_from_slice(&[1, 1]);
            icmp.extend_from_slice(&LINK.kernel_mac.0);
        }
        eth(
            dst_mac,
            LINK.kernel_mac.0,
            &ipv6(src, dst, 255, 58, &icmp, Some(2)),
        )
    }

    /// nfdp's advertisement of `target` at the gateway MAC, to `dst`: R, S and O set, the
    /// target link-layer address option.
    fn na(target: &str, dst: &str) -> Vec<u8> {
        let mut icmp = vec![136, 0, 0, 0, 0xe0, 0, 0, 0];
        icmp.extend_from_slice(&a6(target).octets());
        icmp.extend_from_slice(&[2, 1]);
        icmp.extend_from_slice(&HOST_GATEWAY_MAC.0);
        let ip = ipv6(target, dst, 255, 58, &icmp, Some(2));
        eth(LINK.kernel_mac.0, HOST_GATEWAY_MAC.0, &ip)
    }

    #[test]
    fn kernel_neighbour_solicitations_get_the_gateway_mac() {
        let group = [0x33, 0x33, 0xff, 0, 0, 0x10];
        let answer = |f: &[u8]| match LINK.from_host(PacketBuf::from_slice(f)) {
            FromHost::Answer(a) => a.data().to_vec(),
            other => panic!("{other:?}"),
        };
        // Resolution of a LAN host from the appliance's address, to its solicited-node
        // group; from the TAP's link-local address; a unicast reachability probe.
        let req = ns("2001:db8:1::1", "ff02::1:ff00:10", "2001:db8:1::10", group);
        assert_eq!(answer(&req), na("2001:db8:1::10", "2001:db8:1::1"));
        let ll = ns(
            "fe80::8:ff:fe00:1",
            "ff02::1:ff00:10",
            "2001:db8:1::10",
            group,
        );
        assert_eq!(answer(&ll), na("2001:db8:1::10", "fe80::8:ff:fe00:1"));
        let probe = ns(
            "2001:db8:1::1",
            "2001:db8:1::10",
            "2001:db8:1::10",
            HOST_GATEWAY_MAC.0,
        );
        assert_eq!(answer(&probe), na("2001:db8:1::10", "2001:db8:1::1"));
        // A far host (the default route is on-link): answered the same.
        let far = ns("2001:db8:1::1", "ff02::1:ff00:5", "2001:db8:99::5", group);
        assert_eq!(answer(&far), na("2001:db8:99::5", "2001:db8:1::1"));
        // Not answered: a duplicate address probe (would take the kernel's address away),
        // its own address, a bad checksum or hop limit, truncated frames.
        let dad = ns("::", "ff02::1:ff00:1", "2001:db8:1::1", group);
        let own = ns("2001:db8:1::1", "ff02::1:ff00:1", "2001:db8:1::1", group);
        let mut bad_sum = req.clone();
        bad_sum[57] ^= 1;
        let mut bad_hl = req.clone();
        bad_hl[21] = 64;
        for f in [dad, own, bad_sum, bad_hl] {
            assert_eq!(LINK.from_host(PacketBuf::from_slice(&f)), FromHost::Ignored);
        }
        ignored_when_truncated(&req);
    }

    #[test]
    fn ipv6_both_ways() {
        let mut syn = vec![0u8; 20];
        syn[0..2].copy_from_slice(&8081u16.to_be_bytes());
        syn[12] = 5 << 4;
        syn[13] = 0x12;
        let ip = ipv6("2001:db8:1::1", "2001:db8:1::10", 64, 6, &syn, Some(16));
        let framed = LINK.to_host(PacketBuf::from_slice(&ip));
        assert_eq!(
            framed.data(),
            &eth(LINK.kernel_mac.0, HOST_GATEWAY_MAC.0, &ip)[..]
        );
        // Framed by the kernel, to the gateway MAC: the packet for OUTPUT, padding trimmed.
        let mut f = eth(HOST_GATEWAY_MAC.0, LINK.kernel_mac.0, &ip);
        f.extend_from_slice(&[0; 4]);
        match LINK.from_host(PacketBuf::from_slice(&f)) {
            FromHost::Output(p) => assert_eq!(p.data(), &ip[..]),
            other => panic!("{other:?}"),
        }
        // Ignored: MLD reports and router solicitations (to groups), link-local traffic
        // (the TAP is no port's link), truncated packets.
        let mld = ipv6("fe80::8:ff:fe00:1", "ff02::16", 1, 0, &[0; 28], None);
        let rs = ipv6(
            "fe80::8:ff:fe00:1",
            "ff02::2",
            255,
            58,
            &[133, 0, 0, 0, 0, 0, 0, 0],
            Some(2),
        );
        let ll = ipv6("fe80::8:ff:fe00:1", "fe80::1", 64, 17, &[0; 8], None);
        let to_ll = ipv6("2001:db8:1::1", "fe80::1", 64, 17, &[0; 8], None);
        for ip in [mld, rs, ll, to_ll] {
            let f = eth(HOST_GATEWAY_MAC.0, LINK.kernel_mac.0, &ip);
            assert_eq!(LINK.from_host(PacketBuf::from_slice(&f)), FromHost::Ignored);
        }
        let f = eth(HOST_GATEWAY_MAC.0, LINK.kernel_mac.0, &ip);
        assert_eq!(
            LINK.from_host(PacketBuf::from_slice(&f[..f.len() - 1])),
            FromHost::Ignored
        );
    }
}
