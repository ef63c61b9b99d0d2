//! `-j TOS` and `-j DSCP` (mangle only): rewrite the TOS byte / DS field of an IPv4
//! packet, or the traffic class of an IPv6 one (`tos_tg6`, `dscp_tg6`: the same rule on
//! `ipv6_get_dsfield`, written back by `ipv6_change_dsfield`; IPv6 has no header
//! checksum).

use crate::wire::ipv4::HEADER_LEN;
use crate::wire::{checksum, read_u16, write_u16};

/// `tos = (tos & !mask) ^ value`, the kernel's xt_tos_target_info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TosTarget {
    pub value: u8,
    pub mask: u8,
}

/// The 6-bit DSCP value to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DscpTarget {
    pub dscp: u8,
}

/// DiffServ class names (`--set-dscp-class`, `--dscp-class`) and their DSCP values.
pub const DSCP_CLASSES: [(&str, u8); 22] = [
    ("CS0", 0x00),
    ("CS1", 0x08),
    ("CS2", 0x10),
    ("CS3", 0x18),
    ("CS4", 0x20),
    ("CS5", 0x28),
    ("CS6", 0x30),
    ("CS7", 0x38),
    ("BE", 0x00),
    ("AF11", 0x0a),
    ("AF12", 0x0c),
    ("AF13", 0x0e),
    ("AF21", 0x12),
    ("AF22", 0x14),
    ("AF23", 0x16),
    ("AF31", 0x1a),
    ("AF32", 0x1c),
    ("AF33", 0x1e),
    ("AF41", 0x22),
    ("AF42", 0x24),
    ("AF43", 0x26),
    ("EF", 0x2e),
];

/// `ipv4_change_dsfield`: set the TOS byte and patch the header checksum incrementally.
fn set_dsfield(ip: &mut [u8], new: u8) {
    let old_word = read_u16(ip, 0);
    ip[1] = new;
    let new_word = read_u16(ip, 0);
    let c = checksum::update_u16(read_u16(ip, 10), old_word, new_word);
    write_u16(ip, 10, c);
}

/// The IPv4 TOS or IPv6 traffic class of `ip` set to `f` of it, written only when that
/// differs (as tos_tg/tos_tg6 and dscp_tg/dscp_tg6 do, the ECN bits as `f` leaves them);
/// whether the packet changed. A buffer shorter than its IP header is left alone.
#[inline]
fn rewrite_dsfield(ip: &mut [u8], f: impl Fn(u8) -> u8) -> bool {
    if let Some(tc) = dsfield6(ip) {
        let new = f(tc);
        if new != tc {
            set_dsfield6(ip, new);
        }
        return new != tc;
    }
    if ip.len() < HEADER_LEN || ip[0] >> 4 != 4 {
        return false;
    }
    let new = f(ip[1]);
    if new == ip[1] {
        return false;
    }
    set_dsfield(ip, new);
    true
}

/// The IPv6 traffic class (`ipv6_get_dsfield`), when `ip` is a whole IPv6 header.
fn dsfield6(ip: &[u8]) -> Option<u8> {
    let h = ip.get(..crate::wire::ipv6::HEADER_LEN)?;
    (h[0] >> 4 == 6).then(|| (h[0] << 4) | (h[1] >> 4))
}

/// `ipv6_change_dsfield(iph, 0, new)`: the traffic class straddles bytes 0 and 1.
fn set_dsfield6(ip: &mut [u8], new: u8) {
    ip[0] = (ip[0] & 0xf0) | (new >> 4);
    ip[1] = (ip[1] & 0x0f) | (new << 4);
}

impl TosTarget {
    #[inline]
    pub fn apply(&self, tos: u8) -> u8 {
        (tos & !self.mask) ^ self.value
    }

    /// xt_TOS (`tos_tg`, `tos_tg6`): `tos = (tos & !mask) ^ value`, an IPv4 checksum
    /// patched incrementally. Returns whether the packet changed (a buffer shorter than its
    /// IP header is left alone).
    pub fn apply_to_packet(&self, ip: &mut [u8]) -> bool {
        rewrite_dsfield(ip, |tos| self.apply(tos))
    }
}

impl DscpTarget {
    #[inline]
    pub fn apply(&self, tos: u8) -> u8 {
        (tos & 0x03) | (self.dscp << 2)
    }

    /// xt_DSCP (`dscp_tg`, `dscp_tg6`): the six DSCP bits set, the two ECN bits kept, an
    /// IPv4 checksum patched incrementally. Returns whether the packet changed.
    pub fn apply_to_packet(&self, ip: &mut [u8]) -> bool {
        rewrite_dsfield(ip, |tos| self.apply(tos))
    }
}

impl crate::ruleset::ext::TargetExt for TosTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "TOS";
    const REVISION: u8 = 1;
    const TERMINAL: bool = false;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Mangle)
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        self.apply_to_packet(cx.packet_mut());
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

impl crate::ruleset::ext::TargetExt for DscpTarget {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "DSCP";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Mangle)
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        self.apply_to_packet(cx.packet_mut());
        crate::ruleset::ext::TargetOutcome::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ident: u8, tos: u8) -> Vec<u8> {
        let mut h = vec![
            0x45, tos, 0, 40, 0, ident, 0, 0, 63, 6, 0, 0, 10, 77, 1, 1, 10, 77, 2, 1,
        ];
        let c = !checksum::data(&h);
        write_u16(&mut h, 10, c);
        h
    }

    /// The kernel oracle: `-t mangle -A FORWARD -j TOS --set-tos 0x10/0x3f` on a packet with
    /// TOS 0xff, and `-j DSCP --set-dscp 0x2e` on TOS 0x03 (ECN kept); expected bytes are the
    /// IP headers tcpdump captured behind the namespace router.
    #[test]
    fn kernel_results() {
        let mut h = header(0xd0, 0xff);
        assert!(TosTarget {
            value: 0x10,
            mask: 0x3f
        }
        .apply_to_packet(&mut h));
        assert_eq!(
            h,
            [
                0x45, 0xd0, 0x00, 0x28, 0x00, 0xd0, 0x00, 0x00, 0x3f, 0x06, 0x62, 0x95, 10, 77, 1,
                1, 10, 77, 2, 1
            ]
        );
        let mut h = header(0xd1, 0x03);
        assert!(DscpTarget { dscp: 0x2e }.apply_to_packet(&mut h));
        assert_eq!(
            h,
            [
                0x45, 0xbb, 0x00, 0x28, 0x00, 0xd1, 0x00, 0x00, 0x3f, 0x06, 0x62, 0xa9, 10, 77, 1,
                1, 10, 77, 2, 1
            ]
        );
    }

    #[test]
    fn values_and_checksums() {
        for (t, before, after) in [
            (
                TosTarget {
                    value: 0x10,
                    mask: 0xff,
                },
                0x03,
                0x10,
            ),
            (
                TosTarget {
                    value: 0x10,
                    mask: 0x00,
                },
                0x10,
                0x00,
            ),
            (
                TosTarget {
                    value: 0x00,
                    mask: 0x0c,
                },
                0xff,
                0xf3,
            ),
        ] {
            let mut h = header(1, before);
            assert!(t.apply_to_packet(&mut h));
            assert_eq!(h, header(1, after));
            assert_eq!(checksum::data(&h), 0xffff);
        }
        let mut h = header(1, 0xb9);
        assert!(!DscpTarget { dscp: 0x2e }.apply_to_packet(&mut h));
        assert!(DscpTarget { dscp: 0 }.apply_to_packet(&mut h));
        assert_eq!(h, header(1, 0x01));
        assert!(!TosTarget { value: 1, mask: 1 }.apply_to_packet(&mut [0u8; 19]));
    }

    /// The kernel oracle (6.18): `ip6tables -t mangle -A PREROUTING -j TOS --set-tos
    /// 0x10/0x3f` on traffic class 0xff, then LOG, printed `TC=208` (0xd0); `-j DSCP
    /// --set-dscp 0x2e` on 0x03 printed `TC=187` (0xbb), on 0xb9 `TC=185` (unchanged); the
    /// flow label 0xabcde stayed `FLOWLBL=703710`.
    #[test]
    fn ipv6_traffic_class() {
        use crate::ruleset::packet::tests::ipv6;
        let p = |tc: u8| {
            let mut p = ipv6(17, "::1", "::2", &[0, 1, 0, 2, 0, 8, 0, 0]);
            p[0] = 0x60 | (tc >> 4);
            p[1] = (tc << 4) | 0x0a; // the flow label's top bits stay
            p[2] = 0xbc;
            p
        };
        let mut h = p(0xff);
        assert!(TosTarget {
            value: 0x10,
            mask: 0x3f
        }
        .apply_to_packet(&mut h));
        assert_eq!(h, p(0xd0));
        let mut h = p(0x03);
        assert!(DscpTarget { dscp: 0x2e }.apply_to_packet(&mut h));
        assert_eq!(h, p(0xbb));
        assert!(!DscpTarget { dscp: 0x2e }.apply_to_packet(&mut h));
        assert!(!TosTarget { value: 0, mask: 0 }.apply_to_packet(&mut h));
        assert_eq!(h, p(0xbb));
        // The rest of the header is untouched (no checksum in IPv6).
        assert_eq!(h[2..], p(0)[2..]);
        // A cut IPv6 header is left alone.
        let mut short = p(0)[..39].to_vec();
        assert!(!DscpTarget { dscp: 1 }.apply_to_packet(&mut short));
    }
}
