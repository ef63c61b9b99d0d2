//! `-j ECN --ecn-tcp-remove` (mangle only, `-p tcp`): clears ECE and CWR in the TCP
//! header, checksum patched incrementally (ipt_ECN's `set_ect_tcp`), for paths where a
//! broken middlebox drops ECN-setup segments. A later fragment has no TCP header: it
//! passes unchanged.

use crate::wire::{checksum, read_u16, write_u16};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EcnTarget;

const TCP_ECE_CWR: u16 = 0x00c0;

impl EcnTarget {
    /// Applies to an IPv4 packet; returns whether it changed.
    pub fn apply_to_packet(&self, ip: &mut [u8]) -> bool {
        if ip.len() < 20 || ip[9] != 6 || u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
            return false;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        // The data offset / flags word of the TCP header, and its checksum.
        let (flags_at, csum_at) = (ihl + 12, ihl + 16);
        if ihl < 20 || ip.len() < csum_at + 2 {
            return false;
        }
        let old = read_u16(ip, flags_at);
        let new = old & !TCP_ECE_CWR;
        if old == new {
            return false;
        }
        write_u16(ip, flags_at, new);
        let c = checksum::update_u16(read_u16(ip, csum_at), old, new);
        write_u16(ip, csum_at, c);
        true
    }
}

impl crate::ruleset::ext::TargetExt for EcnTarget {
    const NAME: &'static str = "ECN";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Mangle)
    }

    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        if spec.exact_proto() != Some(crate::ruleset::matches::IPPROTO_TCP) {
            return Err("ECN target: cannot use operation on non-tcp rule".into());
        }
        Ok(())
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
    use crate::ruleset::packet::tests::{ipv4, tcp};

    fn tcp_checksum_ok(ip: &[u8]) -> bool {
        let src = std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let l4 = &ip[20..];
        let ph = checksum::pseudo_header(src, dst, crate::wire::IpProtocol::Tcp, l4.len() as u32);
        checksum::combine(&[ph, checksum::data(l4)]) == 0xffff
    }

    #[test]
    fn ece_and_cwr_cleared_checksum_kept_valid() {
        let mut p = ipv4(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &tcp(1000, 80, 0xc2, &[], b"hi"),
        );
        let src = std::net::Ipv4Addr::new(10, 0, 0, 1);
        let dst = std::net::Ipv4Addr::new(10, 0, 0, 2);
        let ph = checksum::pseudo_header(
            src,
            dst,
            crate::wire::IpProtocol::Tcp,
            (p.len() - 20) as u32,
        );
        let c = !checksum::combine(&[ph, checksum::data(&p[20..])]);
        p[36..38].copy_from_slice(&c.to_be_bytes());
        assert!(tcp_checksum_ok(&p));
        assert!(EcnTarget.apply_to_packet(&mut p));
        assert_eq!(p[33], 0x02, "SYN kept, ECE and CWR gone");
        assert!(tcp_checksum_ok(&p));
        assert!(!EcnTarget.apply_to_packet(&mut p), "nothing left to clear");
    }
}
