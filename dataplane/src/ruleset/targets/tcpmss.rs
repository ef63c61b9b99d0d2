//! `-j TCPMSS`: set or clamp the MSS option of TCP SYN segments (xt_TCPMSS).

use super::tcp_segment as segment;
use crate::ruleset::{Hook, Usable};
use crate::wire::{checksum, read_u16, write_u16};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpmssTarget {
    SetMss(u16),
    /// Clamp to the path MTU minus 40 (IPv4) or 60 (IPv6); needs a known output route.
    ClampPmtu,
}

impl TcpmssTarget {
    pub fn usable(&self) -> Usable {
        match self {
            TcpmssTarget::SetMss(_) => Usable::ANYWHERE,
            TcpmssTarget::ClampPmtu => {
                Usable::hooks(&[Hook::Forward, Hook::Output, Hook::Postrouting])
            }
        }
    }
}

/// MSS a SYN is assumed to carry when it has no MSS option (RFC 1122 4.2.2.6): an inserted
/// option never advertises more.
pub const DEFAULT_MSS: u16 = 536;
/// `sizeof(iphdr) + sizeof(tcphdr)`: what `--clamp-mss-to-pmtu` subtracts from the path MTU.
pub const CLAMP_OVERHEAD: u16 = 40;
/// IPv6's default when the SYN has none (tcpmss_mangle_packet: RFC 2460's minimum MTU of
/// 1280 less 60).
pub const DEFAULT_MSS6: u16 = 1220;
/// `sizeof(ipv6hdr) + sizeof(tcphdr)`: tcpmss_tg6's `minlen`.
pub const CLAMP_OVERHEAD6: u16 = 60;
const IPV6_PAYLOAD_LEN_AT: usize = 4;
const TCPOLEN_MSS: usize = 4;

/// What [`TcpmssTarget::apply_in_place`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MssOutcome {
    /// Not TCP, a non-first fragment, the MSS is already small enough, or the option cannot be
    /// added (data after the header, a 60-byte header).
    Unchanged,
    /// The MSS option value was lowered in place.
    Rewritten,
    /// An MSS option was inserted at the start of the options: 4 bytes longer.
    Inserted,
    /// An option must be inserted but the buffer has no 4 bytes of tailroom past the packet:
    /// nothing was changed; grow the buffer and apply again.
    NoTailroom,
    /// The kernel drops the packet (`NF_DROP`): a TCP header that does not fit, or a path
    /// MTU of 40 or less (IPv6: 60) with `--clamp-mss-to-pmtu`.
    Drop,
}

/// xt_TCPMSS's `optlen`: EOL and NOP, and options claiming length 0, advance by one byte.
fn optlen(opt: &[u8], i: usize) -> usize {
    if opt[i] <= 1 || opt[i + 1] == 0 {
        1
    } else {
        usize::from(opt[i + 1])
    }
}

impl TcpmssTarget {
    /// The MSS this target writes, for a path MTU `pmtu` (`min(egress route MTU, MTU of the
    /// route back to the source)`, used by `--clamp-mss-to-pmtu` only); None when the kernel
    /// drops the packet because that MTU is 40 or less (60 or less for IPv6: `minlen`).
    pub fn target_mss(&self, pmtu: u16) -> Option<u16> {
        self.target_mss_for(pmtu, CLAMP_OVERHEAD)
    }

    fn target_mss_for(&self, pmtu: u16, overhead: u16) -> Option<u16> {
        match *self {
            TcpmssTarget::SetMss(m) => Some(m),
            TcpmssTarget::ClampPmtu if pmtu <= overhead => None,
            TcpmssTarget::ClampPmtu => Some(pmtu - overhead),
        }
    }

    /// xt_TCPMSS (`tcpmss_tg4` / `tcpmss_tg6`, both through `tcpmss_mangle_packet`) on the
    /// IPv4 or IPv6 packet `buf[..len]` (bytes past its length are padding; `buf[len..]` is
    /// tailroom). Returns what was done and the packet's new length.
    ///
    /// Any TCP segment that is not a non-first fragment is touched, SYN or not: the kernel
    /// does not look at the flags, and through nft_compat (iptables 1.8.9) it does not ask
    /// the rule for a `--tcp-flags SYN SYN` match either (seen on 6.x: an ACK through
    /// `-p tcp -j TCPMSS` has its MSS option lowered). IPv6 finds TCP past the extension
    /// headers.
    /// - The first MSS option found the kernel's way (EOL and NOP skipped byte by byte, so an
    ///   option after EOL is found too) is lowered to the target MSS, never raised; the TCP
    ///   checksum is patched incrementally. Deviation: when the option sits at an odd offset
    ///   the kernel patches the checksum as if it were aligned and sends a segment with a bad
    ///   checksum (seen on 6.18); this computes the right one.
    /// - Without an MSS option, and with no payload and a header shorter than 60 bytes, an MSS
    ///   option of `min(target, 536)` (IPv4) or `min(target, 1220)` (IPv6: RFC 2460's minimum
    ///   MTU less 60) is inserted before the other options; the TCP data offset, the TCP
    ///   checksum (its pseudo-header length included) and the IPv4 total length and header
    ///   checksum, or the IPv6 payload length, are updated.
    pub fn apply_in_place(&self, buf: &mut [u8], len: usize, pmtu: u16) -> (MssOutcome, usize) {
        let unchanged = (MssOutcome::Unchanged, len);
        let Some(seg) = buf.get(..len).and_then(segment) else {
            return unchanged;
        };
        let (ihl, total) = (seg.tcp, seg.end);
        let tcp_len = total - ihl;
        if tcp_len < 20 {
            return (MssOutcome::Drop, len);
        }
        let hdrlen = usize::from(buf[ihl + 12] >> 4) * 4;
        if tcp_len < hdrlen || hdrlen < 20 {
            return (MssOutcome::Drop, len);
        }
        let (overhead, default_mss) = if seg.v6 {
            (CLAMP_OVERHEAD6, DEFAULT_MSS6)
        } else {
            (CLAMP_OVERHEAD, DEFAULT_MSS)
        };
        let Some(newmss) = self.target_mss_for(pmtu, overhead) else {
            return (MssOutcome::Drop, len);
        };
        let tcp = &mut buf[ihl..total];
        let mut i = 20;
        while i + TCPOLEN_MSS <= hdrlen {
            if tcp[i] == 2 && tcp[i + 1] == TCPOLEN_MSS as u8 {
                let oldmss = read_u16(tcp, i + 2);
                if oldmss <= newmss {
                    return unchanged;
                }
                // A value at an odd offset straddles two checksum words: it contributes
                // byte-swapped.
                let (o, n) = if i % 2 == 0 {
                    (oldmss, newmss)
                } else {
                    (oldmss.swap_bytes(), newmss.swap_bytes())
                };
                write_u16(tcp, i + 2, newmss);
                let c = checksum::update_u16(read_u16(tcp, 16), o, n);
                write_u16(tcp, 16, c);
                return (MssOutcome::Rewritten, len);
            }
            i += optlen(tcp, i);
        }
        if tcp_len > hdrlen || hdrlen >= 60 {
            return unchanged;
        }
        if buf.len() < total + TCPOLEN_MSS {
            return (MssOutcome::NoTailroom, len);
        }
        let mss = newmss.min(default_mss);
        let tcp = &mut buf[ihl..total + TCPOLEN_MSS];
        tcp.copy_within(20..tcp_len, 20 + TCPOLEN_MSS);
        let opt = [2, TCPOLEN_MSS as u8, (mss >> 8) as u8, mss as u8];
        tcp[20..24].copy_from_slice(&opt);
        let old_doff = read_u16(tcp, 12);
        tcp[12] += (TCPOLEN_MSS as u8 / 4) << 4;
        let mut c = read_u16(tcp, 16);
        // The pseudo-header length (16 bits for IPv4, 32 for IPv6: a SYN without data is
        // far below 64 KiB, so only its low word changes), the new option word pair and
        // the data offset changed; the shifted options moved by 4 bytes and keep their
        // word alignment.
        c = checksum::update_u16(c, tcp_len as u16, (tcp_len + TCPOLEN_MSS) as u16);
        c = checksum::update_u32(c, 0, u32::from_be_bytes(opt));
        c = checksum::update_u16(c, old_doff, read_u16(tcp, 12));
        write_u16(tcp, 16, c);
        if seg.v6 {
            // No IPv6 header checksum: the payload length alone (tcpmss_tg6).
            let payload = read_u16(buf, IPV6_PAYLOAD_LEN_AT);
            write_u16(buf, IPV6_PAYLOAD_LEN_AT, payload + TCPOLEN_MSS as u16);
        } else {
            let new_total = (total + TCPOLEN_MSS) as u16;
            let c = checksum::update_u16(read_u16(buf, 10), total as u16, new_total);
            write_u16(buf, 2, new_total);
            write_u16(buf, 10, c);
        }
        (MssOutcome::Inserted, total + TCPOLEN_MSS)
    }

    /// [`Self::apply_in_place`] on a growable packet: the vector is grown when an option is
    /// inserted (trailing padding dropped), and holds exactly the packet afterwards.
    pub fn apply(&self, ip: &mut Vec<u8>, pmtu: u16) -> MssOutcome {
        let n = ip.len();
        let (mut outcome, mut len) = self.apply_in_place(ip, n, pmtu);
        if outcome == MssOutcome::NoTailroom {
            let total = segment(ip).map_or(n, |s| s.end);
            ip.truncate(total);
            ip.resize(total + TCPOLEN_MSS, 0);
            (outcome, len) = self.apply_in_place(ip, total, pmtu);
        }
        if outcome == MssOutcome::Inserted {
            ip.truncate(len);
        }
        outcome
    }
}

impl crate::ruleset::ext::TargetExt for TcpmssTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "TCPMSS";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn usable(&self) -> Usable {
        TcpmssTarget::usable(self)
    }

    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        if spec.exact_proto() != Some(crate::ruleset::matches::IPPROTO_TCP) {
            return Err("TCPMSS target: only valid for protocol 6".into());
        }
        Ok(())
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        let pmtu = cx.path_mtu();
        let buf = cx.buf_mut();
        let len = buf.len();
        let room = buf.tailroom();
        buf.append(room);
        let (outcome, new_len) = self.apply_in_place(buf.data_mut(), len, pmtu);
        buf.truncate(new_len);
        if outcome == MssOutcome::Drop {
            return cx.drop_for(crate::pipeline::DropReason::Tcpmss);
        }
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::targets::reject::tests::hex;
    use crate::wire::{Ipv4Packet, TcpPacket};

    fn tcp_ok(ip: &[u8]) -> bool {
        let p = Ipv4Packet::new_checked(ip).unwrap();
        p.verify_checksum()
            && TcpPacket::new_checked(p.payload())
                .unwrap()
                .verify_checksum(p.src_addr(), p.dst_addr())
    }

    /// The kernel oracle: SYNs sent with scapy from 10.77.1.1 through a namespace router
    /// (nfdptgt-r) to 10.77.2.1, the egress link with MTU 1400, with
    /// `-t mangle -A FORWARD -p tcp --dport 7001 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1000`
    /// and `--dport 7002 ... -j TCPMSS --clamp-mss-to-pmtu`; `before` is the packet as sent,
    /// `after` what tcpdump captured behind the router. The FORWARD hook sees the TTL already
    /// decremented, so the test decrements it before applying the target.
    const CASES: &[(&str, TcpmssTarget, &str, &str)] = &[
        ("lowered", TcpmssTarget::SetMss(1000), "4500003c00c80000400662590a4d01010a4d0201a0291b590000000100000000a002006444440000020405b40402080a000030390000000001030307", "4500003c00c800003f0663590a4d01010a4d0201a0291b590000000100000000a002006446100000020403e80402080a000030390000000001030307"),
        ("never_raised", TcpmssTarget::SetMss(1000), "4500002c00c90000400662680a4d01010a4d0201a02a1b59000000010000000060020064c83e000002040218", "4500002c00c900003f0663680a4d01010a4d0201a02a1b59000000010000000060020064c83e000002040218"),
        ("inserted_no_options", TcpmssTarget::SetMss(1000), "4500002800ca00004006626b0a4d01010a4d0201a02b1b59000000010000000050020064dc5d0000", "4500002c00ca00003f0663670a4d01010a4d0201a02b1b59000000010000000060020064c83d000002040218"),
        ("inserted_before_options", TcpmssTarget::ClampPmtu, "4500002c00cb0000400662660a4d01010a4d0201a02c1b5a000000010000000060020064c852000001030302", "4500003000cb00003f0663620a4d01010a4d0201a02c1b5a000000010000000070020064b43200000204021801030302"),
        ("clamped", TcpmssTarget::ClampPmtu, "4500003c00cc0000400662550a4d01010a4d0201a02d1b5a0000000100000000a0020064443f0000020405b40402080a000030390000000001030307", "4500003c00cc00003f0663550a4d01010a4d0201a02d1b5a0000000100000000a002006444a30000020405500402080a000030390000000001030307"),
        ("syn_with_data_untouched", TcpmssTarget::SetMss(1000), "4500002f00cd0000400662610a4d01010a4d0201a02e1b590000000100000000500200643801000073796e64617461", "4500002f00cd00003f0663610a4d01010a4d0201a02e1b590000000100000000500200643801000073796e64617461"),
        ("odd_offset_syn_ack", TcpmssTarget::SetMss(1000), "4500003000d200004006625b0a4d01010a4d0201a0331b590000000100000000701200640336000001020405b4000000", "4500003000d200003f06635b0a4d01010a4d0201a0331b590000000100000000701200640502000001020403e8000000"),
    ];

    #[test]
    fn matches_kernel_captures() {
        for &(name, t, before, after) in CASES {
            let mut p = hex(before);
            Ipv4Packet::new_unchecked(&mut p[..]).decrement_ttl();
            let mut expected = hex(after);
            let outcome = t.apply(&mut p, 1400);
            let want = match name {
                "lowered" | "clamped" | "odd_offset_syn_ack" => MssOutcome::Rewritten,
                n if n.starts_with("inserted") => MssOutcome::Inserted,
                _ => MssOutcome::Unchanged,
            };
            assert_eq!(outcome, want, "{name}");
            assert!(tcp_ok(&p), "{name}: checksum");
            if name == "odd_offset_syn_ack" {
                // The kernel's checksum is wrong here (see apply_in_place); ours verifies.
                assert!(!tcp_ok(&expected));
                let at = 20 + 16;
                expected[at..at + 2].copy_from_slice(&p[at..at + 2]);
            }
            assert_eq!(p, expected, "{name}");
        }
    }

    fn syn(options: &[u8], payload: &[u8], flags: u8) -> Vec<u8> {
        let tcp_len = 20 + options.len() + payload.len();
        let mut p = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        write_u16(&mut p, 2, (20 + tcp_len) as u16);
        p.extend_from_slice(&[0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0]);
        p.push((((20 + options.len()) / 4) << 4) as u8);
        p.extend_from_slice(&[flags, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(options);
        p.extend_from_slice(payload);
        Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
        let (s, d) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        TcpPacket::new_unchecked(&mut p[20..]).fill_checksum(s, d);
        p
    }

    #[test]
    fn mss_after_eol_is_found_and_odd_offsets_checksum() {
        // EOL, then an MSS option at offset 21 (odd): the kernel's loop steps over EOL.
        let mut p = syn(&[0, 2, 4, 5, 0xb4, 0, 0, 0], &[], 0x02);
        assert_eq!(
            TcpmssTarget::SetMss(1200).apply(&mut p, 0),
            MssOutcome::Rewritten
        );
        assert_eq!(read_u16(&p, 20 + 23), 1200);
        assert!(tcp_ok(&p));
    }

    #[test]
    fn fragments_and_other_protocols_untouched_any_flags_rewritten() {
        // The kernel does not look at the flags (the rule does): an ACK is lowered too.
        let mut p = syn(&[2, 4, 5, 0xb4], &[], 0x10);
        assert_eq!(
            TcpmssTarget::SetMss(1000).apply(&mut p, 0),
            MssOutcome::Rewritten
        );
        assert_eq!(read_u16(&p, 42), 1000);
        assert!(tcp_ok(&p));
        let mut frag = syn(&[2, 4, 5, 0xb4], &[], 0x02);
        Ipv4Packet::new_unchecked(&mut frag[..]).set_frag_offset(2);
        let before = frag.clone();
        assert_eq!(
            TcpmssTarget::SetMss(1000).apply(&mut frag, 0),
            MssOutcome::Unchanged
        );
        assert_eq!(frag, before);
        let mut udp = syn(&[2, 4, 5, 0xb4], &[], 0x02);
        udp[9] = 17;
        assert_eq!(
            TcpmssTarget::SetMss(1000).apply(&mut udp, 0),
            MssOutcome::Unchanged
        );
    }

    #[test]
    fn insertion_limits_and_drops() {
        // A 60-byte header cannot grow.
        let mut full = syn(&[1; 40], &[], 0x02);
        assert_eq!(
            TcpmssTarget::SetMss(1000).apply(&mut full, 0),
            MssOutcome::Unchanged
        );
        // Small target MSS inserted as is (below 536).
        let mut p = syn(&[], &[], 0x02);
        assert_eq!(
            TcpmssTarget::SetMss(400).apply(&mut p, 0),
            MssOutcome::Inserted
        );
        assert_eq!(&p[40..44], &[2, 4, 1, 0x90]);
        assert_eq!(p.len(), 44);
        assert!(tcp_ok(&p));
        // In place, without tailroom, nothing changes; with tailroom and padding, it works.
        let mut q = syn(&[1, 1, 1, 1], &[], 0x02);
        let n = q.len();
        let before = q.clone();
        assert_eq!(
            TcpmssTarget::SetMss(1000).apply_in_place(&mut q, n, 0),
            (MssOutcome::NoTailroom, n)
        );
        assert_eq!(q, before);
        q.extend_from_slice(&[0xee; 6]); // 2 bytes of padding + 4 of tailroom
        let (o, len) = TcpmssTarget::SetMss(1000).apply_in_place(&mut q, n + 2, 0);
        assert_eq!((o, len), (MssOutcome::Inserted, n + 4));
        assert!(tcp_ok(&q[..len]));
        assert_eq!(&q[40..48], &[2, 4, 2, 0x18, 1, 1, 1, 1]);
        // Path MTU too small, truncated or inconsistent headers: the kernel drops.
        let mut p = syn(&[2, 4, 5, 0xb4], &[], 0x02);
        assert_eq!(TcpmssTarget::ClampPmtu.apply(&mut p, 40), MssOutcome::Drop);
        assert_eq!(
            TcpmssTarget::ClampPmtu.apply(&mut p, 41),
            MssOutcome::Rewritten
        );
        assert_eq!(read_u16(&p, 42), 1);
        let mut bad = syn(&[2, 4, 5, 0xb4], &[], 0x02);
        bad[32] = 0xf0; // data offset 60 > segment
        assert_eq!(TcpmssTarget::SetMss(1).apply(&mut bad, 0), MssOutcome::Drop);
        assert_eq!(TcpmssTarget::SetMss(1).target_mss(0), Some(1));
        assert_eq!(TcpmssTarget::ClampPmtu.target_mss(1500), Some(1460));
    }

    const SRC6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
    const DST6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    /// An IPv6 TCP segment from 2001:db8:1::10 to 2001:db8:99::1, behind `ext` (whole
    /// extension headers, each's next header byte filled in here), checksummed from scratch.
    fn syn6(ext: &[&[u8]], options: &[u8], payload: &[u8], flags: u8) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
        p.extend_from_slice(&SRC6);
        p.extend_from_slice(&DST6);
        let mut nh_at = 6;
        for h in ext {
            p[nh_at] = 60; // destination options
            nh_at = p.len();
            p.extend_from_slice(h);
        }
        p[nh_at] = 6;
        let tcp_at = p.len();
        p.extend_from_slice(&[0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0]);
        p.push((((20 + options.len()) / 4) << 4) as u8);
        p.extend_from_slice(&[flags, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(options);
        p.extend_from_slice(payload);
        let plen = (p.len() - 40) as u16;
        write_u16(&mut p, 4, plen);
        TcpPacket::new_unchecked(&mut p[tcp_at..]).fill_checksum_ipv6(SRC6.into(), DST6.into());
        p
    }

    /// The TCP checksum of an IPv6 packet recomputed from scratch over the pseudo-header
    /// (the payload length read back from the packet).
    fn tcp6_ok(p: &[u8], tcp_at: usize) -> bool {
        let end = 40 + usize::from(read_u16(p, 4));
        assert_eq!(end, p.len(), "payload length");
        TcpPacket::new_checked(&p[tcp_at..end])
            .unwrap()
            .verify_checksum_ipv6(SRC6.into(), DST6.into())
    }

    const DSTOPTS: &[u8] = &[0, 0, 1, 4, 0, 0, 0, 0];

    /// What the kernel sent in tests/conformance/scenarios/v6_tcpmss.toml (MTU 1400).
    #[test]
    fn ipv6_lowers_and_clamps_with_60_bytes_of_headers() {
        let mut p = syn6(&[], &[2, 4, 5, 0xb4, 4, 2, 1, 1], &[], 0x02);
        assert_eq!(
            TcpmssTarget::SetMss(1200).apply(&mut p, 1400),
            MssOutcome::Rewritten
        );
        assert_eq!(&p[60..64], &[2, 4, 0x04, 0xb0]);
        assert!(tcp6_ok(&p, 40));
        let mut p = syn6(&[DSTOPTS], &[2, 4, 5, 0xb4], &[], 0x12);
        assert_eq!(
            TcpmssTarget::ClampPmtu.apply(&mut p, 1400),
            MssOutcome::Rewritten
        );
        assert_eq!(read_u16(&p, 48 + 22), 1340);
        assert_eq!(read_u16(&p, 4), 8 + 24);
        assert!(tcp6_ok(&p, 48));
        // Never raised.
        let before = syn6(&[], &[2, 4, 4, 0], &[], 0x02);
        let mut p = before.clone();
        assert_eq!(
            TcpmssTarget::ClampPmtu.apply(&mut p, 1400),
            MssOutcome::Unchanged
        );
        assert_eq!(p, before);
        // minlen is 60: a path MTU of 60 drops, 61 leaves an MSS of 1.
        assert_eq!(TcpmssTarget::ClampPmtu.apply(&mut p, 60), MssOutcome::Drop);
        assert_eq!(
            TcpmssTarget::ClampPmtu.apply(&mut p, 61),
            MssOutcome::Rewritten
        );
        assert_eq!(read_u16(&p, 62), 1);
        assert!(tcp6_ok(&p, 40));
    }

    #[test]
    fn ipv6_inserts_with_its_default_and_grows_the_payload_length() {
        // No options: min(1340, 1220) inserted, payload length 20 -> 24.
        let mut p = syn6(&[], &[], &[], 0x02);
        assert_eq!(
            TcpmssTarget::ClampPmtu.apply(&mut p, 1400),
            MssOutcome::Inserted
        );
        assert_eq!(p.len(), 64);
        assert_eq!(read_u16(&p, 4), 24);
        assert_eq!(p[52] >> 4, 6, "data offset");
        assert_eq!(&p[60..64], &[2, 4, 0x04, 0xc4]);
        assert!(tcp6_ok(&p, 40));
        // Below the default: the target itself; before the other options, behind a
        // destination options header (whose bytes stay).
        let mut p = syn6(&[DSTOPTS], &[4, 2, 1, 3, 3, 7, 0, 0], &[], 0x02);
        assert_eq!(
            TcpmssTarget::SetMss(500).apply(&mut p, 0),
            MssOutcome::Inserted
        );
        assert_eq!(read_u16(&p, 4), 8 + 32);
        assert_eq!(&p[40..48], &[6, 0, 1, 4, 0, 0, 0, 0]);
        assert_eq!(&p[68..80], &[2, 4, 1, 0xf4, 4, 2, 1, 3, 3, 7, 0, 0]);
        assert!(tcp6_ok(&p, 48));
        // In place without tailroom: nothing changes.
        let mut q = syn6(&[], &[], &[], 0x02);
        let before = q.clone();
        let n = q.len();
        assert_eq!(
            TcpmssTarget::SetMss(1000).apply_in_place(&mut q, n, 0),
            (MssOutcome::NoTailroom, n)
        );
        assert_eq!(q, before);
        // Data after the header: left alone.
        let before = syn6(&[], &[], b"syndata", 0x02);
        let mut p = before.clone();
        assert_eq!(
            TcpmssTarget::SetMss(1000).apply(&mut p, 0),
            MssOutcome::Unchanged
        );
        assert_eq!(p, before);
    }

    #[test]
    fn ipv6_non_first_fragments_and_other_protocols_untouched() {
        // A fragment header at offset 8: no TCP header in this piece.
        let mut frag = syn6(&[], &[2, 4, 5, 0xb4], &[], 0x02);
        frag[6] = 44;
        frag.splice(40..40, [6, 0, 0, 8, 0, 0, 0, 1]);
        let plen = read_u16(&frag, 4) + 8;
        write_u16(&mut frag, 4, plen);
        let before = frag.clone();
        assert_eq!(
            TcpmssTarget::SetMss(100).apply(&mut frag, 0),
            MssOutcome::Unchanged
        );
        assert_eq!(frag, before);
        // The first fragment (offset 0) carries the header: rewritten.
        frag[43] = 1; // offset 0, more fragments
        assert_eq!(
            TcpmssTarget::SetMss(100).apply(&mut frag, 0),
            MssOutcome::Rewritten
        );
        assert_eq!(read_u16(&frag, 48 + 22), 100);
        let mut udp = syn6(&[], &[2, 4, 5, 0xb4], &[], 0x02);
        udp[6] = 17;
        let before = udp.clone();
        assert_eq!(
            TcpmssTarget::SetMss(100).apply(&mut udp, 0),
            MssOutcome::Unchanged
        );
        assert_eq!(udp, before);
    }
}
