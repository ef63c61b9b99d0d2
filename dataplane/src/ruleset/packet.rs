//! `PacketView`: the facts of an IPv4 or IPv6 packet a rule looks at, read once from the
//! bytes without copying or allocating. Any input is safe: what is missing reads as
//! absent, and a criterion that needs an absent field does not match.
//!
//! An IPv6 view is what ip6_tables reads: the addresses, the upper-layer protocol found
//! past the extension headers (`ipv6_find_hdr(.., -1, ..)`, what `-p` compares), the
//! fragment offset of a fragment header, and the hop limit and traffic class in the
//! places IPv4's TTL and TOS take, so the matches both families share read them alike.

use super::{Family, Ipv4Net, Ipv6Net, RuleSpec};
use crate::wire::ipv6::{ExtHeaders, HEADER_LEN as IPV6_HEADER_LEN};
use std::net::{Ipv4Addr, Ipv6Addr};

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
    pub family: Family,
    /// IPv4's addresses (unspecified in an IPv6 view: `src6` and `dst6` read those).
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// IPv4's protocol; IPv6's upper-layer protocol past the extension headers (for a
    /// non-first fragment, the next header of its fragment header).
    pub proto: u8,
    /// IPv4's total length; IPv6's payload length plus its 40-byte header, in 16 bits as
    /// ip6t_length computes it.
    pub total_len: u16,
    /// TTL, or the IPv6 hop limit.
    pub ttl: u8,
    /// TOS, or the IPv6 traffic class.
    pub tos: u8,
    /// Fragment offset in 8-byte units; non-zero for every fragment but the first.
    pub frag_offset: u16,
    pub more_frags: bool,
    /// The transport header and payload; `None` for non-first fragments.
    pub l4: Option<&'a [u8]>,
    pub meta: PacketMeta<'a>,
}

/// The length an IPv6 header's payload length gives (`None`: over the buffer, or not
/// IPv6).
fn ipv6_total(ip: &[u8]) -> Option<usize> {
    if ip.len() < IPV6_HEADER_LEN || ip[0] >> 4 != 6 {
        return None;
    }
    let total = IPV6_HEADER_LEN + usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    (total <= ip.len()).then_some(total)
}

impl<'a> PacketView<'a> {
    /// Whether `parse` accepts `ip` (what a rule without criteria still requires).
    pub fn is_parseable(ip: &[u8]) -> bool {
        if ip.len() < 20 {
            return false;
        }
        if ip[0] >> 4 != 4 {
            return ipv6_total(ip).is_some();
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        ihl >= 20 && total >= ihl && total <= ip.len()
    }

    /// Reads an IPv4 or IPv6 packet; `None` when it is neither (too short, another
    /// version, header or total length inconsistent with the buffer).
    pub fn parse(ip: &'a [u8], meta: PacketMeta<'a>) -> Option<PacketView<'a>> {
        if ip.first().is_some_and(|b| b >> 4 == 6) {
            return PacketView::parse6(ip, meta);
        }
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
            family: Family::V4,
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

    /// Reads an IPv6 packet and its extension header chain. A chain that is truncated
    /// or malformed gives no view: the pipeline drops such packets before the hooks.
    fn parse6(ip: &'a [u8], meta: PacketMeta<'a>) -> Option<PacketView<'a>> {
        let ip = &ip[..ipv6_total(ip)?];
        let ext = ExtHeaders::parse(ip[6], &ip[IPV6_HEADER_LEN..]).ok()?;
        let (frag_offset, more_frags) = ext
            .fragment
            .map_or((0, false), |f| (f.frag_offset, f.more_frags));
        Some(PacketView {
            ip,
            family: Family::V6,
            src: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::UNSPECIFIED,
            proto: u8::from(ext.protocol),
            total_len: ip.len() as u16,
            ttl: ip[7],
            tos: (u16::from_be_bytes([ip[0], ip[1]]) >> 4) as u8,
            frag_offset,
            more_frags,
            l4: ext.upper_offset.and_then(|o| ip.get(o..)),
            meta,
        })
    }

    /// The IPv6 source address (unspecified in an IPv4 view).
    pub fn src6(&self) -> Ipv6Addr {
        self.addr6(8)
    }

    /// The IPv6 destination address (unspecified in an IPv4 view).
    pub fn dst6(&self) -> Ipv6Addr {
        self.addr6(24)
    }

    fn addr6(&self, at: usize) -> Ipv6Addr {
        match (self.family, self.ip.get(at..at + 16)) {
            (Family::V6, Some(b)) => {
                let mut o = [0u8; 16];
                o.copy_from_slice(b);
                Ipv6Addr::from(o)
            }
            _ => Ipv6Addr::UNSPECIFIED,
        }
    }

    /// The extension header chain of an IPv6 view (walked again: only the matches that
    /// read extension headers ask).
    pub fn ext_headers(&self) -> Option<ExtHeaders> {
        if self.family != Family::V6 {
            return None;
        }
        ExtHeaders::parse(*self.ip.get(6)?, self.ip.get(IPV6_HEADER_LEN..)?).ok()
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

fn net6_matches(n: Option<&super::Inv<Ipv6Net>>, addr: Ipv6Addr) -> bool {
    n.is_none_or(|n| n.apply(u128::from(addr) & n.val.mask == u128::from(n.val.addr)))
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
            && (self.addrs6.is_none()
                || net6_matches(self.src6(), pkt.src6()) && net6_matches(self.dst6(), pkt.dst6()))
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

    /// An IPv6 packet: `next` is the fixed header's next header, `payload` everything
    /// after it (extension headers included).
    pub fn ipv6(next: u8, src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
        p[6] = next;
        p[7] = 64;
        let (s, d): (Ipv6Addr, Ipv6Addr) = (src.parse().unwrap(), dst.parse().unwrap());
        p[8..24].copy_from_slice(&s.octets());
        p[24..40].copy_from_slice(&d.octets());
        p.extend_from_slice(payload);
        p
    }

    /// An 8-byte options header (hop-by-hop or destination options: PadN) before `next`.
    pub fn opts_header(next: u8) -> Vec<u8> {
        vec![next, 0, 1, 4, 0, 0, 0, 0]
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
    fn ipv6_view_reads_past_extension_headers() {
        let mut payload = opts_header(60); // hop-by-hop, then destination options
        payload.extend(opts_header(6));
        payload.extend(tcp(40000, 22, 0x02, &[], b"x"));
        let mut p = ipv6(0, "2001:db8::1", "2001:db8:1::2", &payload);
        p[1] = 0xb0; // traffic class 0x0b
        p.extend_from_slice(&[0; 4]); // link padding
        let v = view(&p);
        assert_eq!(v.family, Family::V6);
        assert_eq!(v.ip.len(), 40 + payload.len());
        assert_eq!(v.total_len as usize, 40 + payload.len());
        assert_eq!((v.proto, v.ttl, v.tos), (6, 64, 0x0b));
        assert_eq!(v.ports(), Some((40000, 22)));
        assert_eq!(v.tcp_flags(), Some(0x02));
        assert_eq!(v.src6(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(v.dst6(), "2001:db8:1::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(v.src, Ipv4Addr::UNSPECIFIED);
        // Truncated chains and payload lengths past the buffer give no view.
        assert!(PacketView::parse(&p[..44], PacketMeta::default()).is_none());
        let mut long = p.clone();
        long[4] = 0xff;
        assert!(PacketView::parse(&long, PacketMeta::default()).is_none());
    }

    #[test]
    fn ipv6_fragments_carry_their_offset_and_protocol() {
        // A non-first fragment of UDP: offset 8 (64 bytes), more fragments.
        let frag = [17, 0, 0, 0x41, 0, 0, 0, 7];
        let mut payload = frag.to_vec();
        payload.extend_from_slice(&[0xaa; 16]);
        let p = ipv6(44, "2001:db8::1", "2001:db8::2", &payload);
        let v = view(&p);
        assert_eq!((v.proto, v.frag_offset, v.more_frags), (17, 8, true));
        assert_eq!(v.l4, None);
        assert_eq!(v.ports(), None);
    }

    #[test]
    fn ipv6_rules_compare_prefixes_and_the_upper_protocol() {
        let p = ipv6(
            17,
            "2001:db8::1",
            "2001:db8:1::2",
            &[0, 1, 0, 2, 0, 8, 0, 0],
        );
        let v = view(&p);
        let net = |s: &str, len| Ipv6Net::with_prefix(s.parse().unwrap(), len);
        let mut spec = RuleSpec::default();
        spec.set_addrs6(
            Some(Inv {
                val: net("2001:db8::", 32),
                inv: false,
            }),
            None,
        );
        assert!(spec.base_matches(&v));
        spec.set_addrs6(
            None,
            Some(Inv {
                val: net("2001:db8:1::", 48),
                inv: true,
            }),
        );
        assert!(!spec.base_matches(&v));
        spec.set_addrs6(
            Some(Inv {
                val: net("2001:db9::", 32),
                inv: false,
            }),
            None,
        );
        assert!(!spec.base_matches(&v));
        spec.addrs6 = None;
        spec.proto = Some(Inv {
            val: 17,
            inv: false,
        });
        assert!(spec.base_matches(&v));
        spec.proto = Some(Inv { val: 6, inv: true });
        assert!(spec.base_matches(&v));
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
