//! The host side of the TAP exception port: local delivery (INPUT) hands IPv4 packets to the
//! kernel behind the TAP interface, and what the kernel sends (OUTPUT) comes back into the
//! pipeline. To the kernel, nfdp is one big neighbour: every address it resolves on the TAP
//! interface answers with `HostLink::gateway_mac`, and nfdp routes what it gets by its own FIB.

use dataplane::port::{MacAddr, PacketBuf};
use dataplane::wire::arp::{self, Operation};
use dataplane::wire::{EtherType, EthernetAddress, EthernetFrame};
use std::net::Ipv4Addr;

/// The MAC nfdp answers the kernel's ARP requests with on the TAP link.
pub const HOST_GATEWAY_MAC: MacAddr = MacAddr([0x02, 0x6e, 0x66, 0x64, 0xff, 0xfe]);

/// What a frame from the kernel turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum FromHost {
    /// An IPv4 packet (the Ethernet header removed) for the OUTPUT path.
    Output(PacketBuf),
    /// An ARP reply to send back to the kernel.
    Answer(PacketBuf),
    /// Anything else (IPv6, LLDP, malformed): dropped and counted.
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
    /// Wraps a packet delivered locally into a frame for the kernel.
    pub fn to_host(&self, mut packet: PacketBuf) -> PacketBuf {
        let hdr = packet.prepend(14);
        hdr[0..6].copy_from_slice(&self.kernel_mac.0);
        hdr[6..12].copy_from_slice(&self.gateway_mac.0);
        hdr[12..14].copy_from_slice(&EtherType::IPV4.0.to_be_bytes());
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
}

/// Reads a kernel interface's MAC from sysfs (the TAP's kernel end lives in the daemon's
/// network namespace).
pub fn kernel_mac(iface: &str) -> Result<MacAddr, String> {
    let path = format!("/sys/class/net/{iface}/address");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    text.trim().parse().map_err(|e| format!("{path}: {e}"))
}

/// Gives the kernel's TAP interface the appliance's addresses (as /32s, so the kernel does
/// not answer for or route by the connected subnets itself) and sends everything else it
/// originates to nfdp: connected subnets and a default route through the TAP.
pub fn configure_kernel(iface: &str, addresses: &[(Ipv4Addr, u8)]) -> Result<(), String> {
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
    ip(&["link", "set", "dev", iface, "up"])?;
    for (addr, _) in addresses {
        ip(&["addr", "replace", &format!("{addr}/32"), "dev", iface])?;
    }
    ip(&["route", "replace", "default", "dev", iface])?;
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
        for n in 0..req.len() {
            assert_eq!(
                LINK.from_host(PacketBuf::from_slice(&req[..n])),
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
            FromHost::Ignored
        );
    }
}
