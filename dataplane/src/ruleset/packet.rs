//! `PacketView`: the facts of an IPv4 packet a rule looks at, read once from the bytes
//! without copying or allocating. Any input is safe: what is missing reads as absent, and
//! a criterion that needs an absent field does not match.

use super::{Ipv4Net, RuleSpec};
use std::net::Ipv4Addr;

/// What the pipeline knows about a packet besides its bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct PacketMeta<'a> {
    /// Ingress interface (`-i`); `None` for locally generated packets.
    pub in_iface: Option<&'a str>,
    /// Egress interface (`-o`); `None` before routing.
    pub out_iface: Option<&'a str>,
    /// Ethernet source address, when the packet arrived with a link header.
    pub src_mac: Option<[u8; 6]>,
    /// Ethernet destination address, likewise (`-m pkttype`).
    pub dst_mac: Option<[u8; 6]>,
    pub mark: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct PacketView<'a> {
    /// The IP packet, trimmed to its total length.
    pub ip: &'a [u8],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub total_len: u16,
    pub ttl: u8,
    pub tos: u8,
    /// Fragment offset in 8-byte units; non-zero for every fragment but the first.
    pub frag_offset: u16,
    pub more_frags: bool,
    /// The transport header and payload; `None` for non-first fragments.
    pub l4: Option<&'a [u8]>,
    pub meta: PacketMeta<'a>,
}

impl<'a> PacketView<'a> {
    /// Whether `parse` accepts `ip` (what a rule without criteria still requires).
    pub fn is_parseable(ip: &[u8]) -> bool {
        if ip.len() < 20 || ip[0] >> 4 != 4 {
            return false;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        ihl >= 20 && total >= ihl && total <= ip.len()
    }

    /// Reads an IPv4 packet; `None` when it is not one (too short, wrong version, header
    /// or total length inconsistent with the buffer).
    pub fn parse(ip: &'a [u8], meta: PacketMeta<'a>) -> Option<PacketView<'a>> {
        if !PacketView::is_parseable(ip) {
            return None;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let ip = &ip[..total];
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        let frag_offset = frag & 0x1fff;
        Some(PacketView {
            ip,
            src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            proto: ip[9],
            total_len: total as u16,
            ttl: ip[8],
            tos: ip[1],
            frag_offset,
            more_frags: frag & 0x2000 != 0,
            l4: (frag_offset == 0).then(|| &ip[ihl..]),
            meta,
        })
    }

    /// Source and destination ports of a TCP, UDP, UDP-Lite, SCTP or DCCP packet
    /// (the first four bytes of all of them).
    pub fn ports(&self) -> Option<(u16, u16)> {
        let l4 = self.l4?;
        if !matches!(self.proto, 6 | 17 | 33 | 132 | 136) || l4.len() < 4 {
            return None;
        }
        Some((
            u16::from_be_bytes([l4[0], l4[1]]),
            u16::from_be_bytes([l4[2], l4[3]]),
        ))
    }

    /// The TCP header (at least 20 bytes, data offset checked) of a first fragment.
    pub fn tcp_header(&self) -> Option<&'a [u8]> {
        let l4 = self.l4?;
        if self.proto != 6 || l4.len() < 20 {
            return None;
        }
        let doff = usize::from(l4[12] >> 4) * 4;
        (doff >= 20 && doff <= l4.len()).then(|| &l4[..doff])
    }

    pub fn tcp_flags(&self) -> Option<u8> {
        self.tcp_header().map(|h| h[13])
    }

    /// The raw TCP options bytes.
    pub fn tcp_options(&self) -> Option<&'a [u8]> {
        self.tcp_header().map(|h| &h[20..])
    }

    pub fn icmp_type_code(&self) -> Option<(u8, u8)> {
        let l4 = self.l4?;
        (self.proto == 1 && l4.len() >= 2).then(|| (l4[0], l4[1]))
    }
}

pub use crate::wire::tcp::walk_options as tcp_options;

fn net_matches(n: &Option<super::Inv<Ipv4Net>>, addr: Ipv4Addr) -> bool {
    n.as_ref().is_none_or(|n| n.apply(n.val.contains(addr)))
}

fn iface_matches(rule: &Option<super::Inv<super::Iface>>, actual: Option<&str>) -> bool {
    // A packet without the interface compares as the empty name, as the kernel does.
    rule.as_ref()
        .is_none_or(|i| i.apply(i.val.matches(actual.unwrap_or(""))))
}

impl RuleSpec {
    /// The fixed part of a rule (`-s -d -i -o -p -f`), ip_tables' `ip_packet_match`.
    /// No criterion at all (`-A FORWARD -j ACCEPT`): every parseable packet matches.
    /// (An ip6tables rule's addresses count as criteria; such rules are not compiled into
    /// the IPv4 pipeline, which `base_matches` serves.)
    pub fn is_unconditional(&self) -> bool {
        self.src.is_none()
            && self.dst.is_none()
            && self.addrs6.is_none()
            && self.in_iface.is_none()
            && self.out_iface.is_none()
            && self.proto.is_none()
            && self.fragment.is_none()
            && self.matches.is_empty()
    }

    pub fn base_matches(&self, pkt: &PacketView) -> bool {
        self.base_matches_with(pkt, false)
    }

    /// `base_matches`, the interfaces left out when `ifaces_checked` (the pipeline
    /// decided them by port id when the ruleset was compiled).
    #[inline]
    pub fn base_matches_with(&self, pkt: &PacketView, ifaces_checked: bool) -> bool {
        net_matches(&self.src, pkt.src)
            && net_matches(&self.dst, pkt.dst)
            && (ifaces_checked
                || iface_matches(&self.in_iface, pkt.meta.in_iface)
                    && iface_matches(&self.out_iface, pkt.meta.out_iface))
            && self.proto.is_none_or(|p| p.apply(pkt.proto == p.val))
            && self.fragment.is_none_or(|f| f == (pkt.frag_offset != 0))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ruleset::{Iface, Inv};

    /// An IPv4 packet with the given protocol and L4 bytes (checksums left zero: matches
    /// do not look at them).
    pub fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
        let total = 20 + l4.len();
        let mut p = vec![0u8; 20];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[8] = 64;
        p[9] = proto;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        p.extend_from_slice(l4);
        p
    }

    /// A TCP header with ports, flags and options (padded to 4 bytes) plus payload.
    pub fn tcp(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut opts = options.to_vec();
        while !opts.len().is_multiple_of(4) {
            opts.push(0);
        }
        let mut h = vec![0u8; 20];
        h[0..2].copy_from_slice(&sport.to_be_bytes());
        h[2..4].copy_from_slice(&dport.to_be_bytes());
        h[12] = ((20 + opts.len()) as u8 / 4) << 4;
        h[13] = flags;
        h.extend_from_slice(&opts);
        h.extend_from_slice(payload);
        h
    }

    pub fn view(p: &[u8]) -> PacketView<'_> {
        PacketView::parse(
            p,
            PacketMeta {
                in_iface: Some("eth0"),
                out_iface: None,
                src_mac: Some([2, 0, 0, 0, 0, 1]),
                dst_mac: Some([2, 0, 0, 0, 0, 2]),
                mark: 0x10,
            },
        )
        .expect("valid packet")
    }

    #[test]
    fn parse_rejects_inconsistent_headers() {
        let p = ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(1, 2, 0x02, &[], &[]));
        assert!(PacketView::parse(&p, PacketMeta::default()).is_some());
        assert!(PacketView::parse(&p[..19], PacketMeta::default()).is_none());
        let mut bad = p.clone();
        bad[0] = 0x44;
        assert!(PacketView::parse(&bad, PacketMeta::default()).is_none());
        let mut long = p.clone();
        long[3] = 200;
        assert!(PacketView::parse(&long, PacketMeta::default()).is_none());
        // Link padding after the total length is ignored.
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(
            PacketView::parse(&padded, PacketMeta::default())
                .unwrap()
                .ip
                .len(),
            p.len()
        );
    }

    #[test]
    fn non_first_fragments_have_no_ports() {
        let mut p = ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(1, 2, 0x02, &[], &[]));
        assert_eq!(view(&p).ports(), Some((1, 2)));
        p[6] = 0x00;
        p[7] = 0x03;
        let v = view(&p);
        assert_eq!((v.ports(), v.frag_offset), (None, 3));
    }

    #[test]
    fn base_criteria() {
        let p = ipv4(17, [10, 1, 2, 3], [192, 168, 0, 1], &[0; 8]);
        let v = view(&p);
        let mut spec = RuleSpec {
            src: Some(Inv::plain(Ipv4Net::with_prefix(
                Ipv4Addr::new(10, 0, 0, 0),
                8,
            ))),
            proto: Some(Inv::plain(17)),
            in_iface: Some(Inv::plain(Iface::new("eth+").unwrap())),
            ..Default::default()
        };
        assert!(spec.base_matches(&v));
        spec.proto = Some(Inv::new(true, 17));
        assert!(!spec.base_matches(&v));
        spec.proto = None;
        spec.out_iface = Some(Inv::new(true, Iface::new("eth0").unwrap()));
        assert!(
            spec.base_matches(&v),
            "no output interface is the empty name"
        );
        spec.out_iface = Some(Inv::plain(Iface::new("eth0").unwrap()));
        assert!(!spec.base_matches(&v));
        spec.out_iface = None;
        spec.fragment = Some(true);
        assert!(
            !spec.base_matches(&v),
            "-f only matches non-first fragments"
        );
        spec.fragment = Some(false);
        assert!(spec.base_matches(&v));
        spec.dst = Some(Inv::new(true, Ipv4Net::host(Ipv4Addr::new(192, 168, 0, 1))));
        assert!(!spec.base_matches(&v));
    }

    #[test]
    fn option_walk_stops_on_bad_lengths() {
        let opts = [2, 4, 5, 0xb4, 1, 1, 3, 3, 7, 8, 0];
        let v: Vec<u8> = tcp_options(&opts).map(|(k, _)| k).collect();
        assert_eq!(v, [2, 3]);
        assert_eq!(tcp_options(&[2, 0, 1]).count(), 0);
        assert_eq!(tcp_options(&[2, 9, 1]).count(), 0);
    }
}
