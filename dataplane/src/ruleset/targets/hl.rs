//! `-j HL` (mangle only): set, decrement or increment the IPv6 hop limit (ip6t_HL), for
//! ip6tables rulesets only. IPv6 has no header checksum, so the rewrite is one byte.
//! `run` rewrites an IPv6 packet and leaves anything else alone (the pipeline drops IPv6
//! before any rule today, so it is reached only once IPv6 rules are evaluated).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HlTarget {
    Set(u8),
    Dec(u8),
    Inc(u8),
}

/// Offset of the hop limit in the IPv6 header.
const HOP_LIMIT_AT: usize = 7;
const IPV6_HEADER_LEN: usize = 40;

impl HlTarget {
    #[inline]
    pub fn apply(&self, hl: u8) -> u8 {
        match *self {
            HlTarget::Set(v) => v,
            HlTarget::Dec(v) => hl.saturating_sub(v),
            HlTarget::Inc(v) => hl.saturating_add(v),
        }
    }

    /// ip6t_HL on an IPv6 packet (header first); returns whether it changed. Not an IPv6
    /// header (version 6, 40 bytes): left alone.
    pub fn apply_to_packet(&self, ip: &mut [u8]) -> bool {
        if ip.len() < IPV6_HEADER_LEN || ip[0] >> 4 != 6 {
            return false;
        }
        let old = ip[HOP_LIMIT_AT];
        ip[HOP_LIMIT_AT] = self.apply(old);
        ip[HOP_LIMIT_AT] != old
    }
}

impl crate::ruleset::ext::TargetExt for HlTarget {
    const NAME: &'static str = "HL";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;

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

    #[test]
    fn rewrites_ipv6_hop_limit_only() {
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[7] = 64;
        assert!(HlTarget::Dec(1).apply_to_packet(&mut p));
        assert_eq!(p[7], 63);
        assert!(HlTarget::Inc(250).apply_to_packet(&mut p));
        assert_eq!(p[7], 255);
        assert!(!HlTarget::Set(255).apply_to_packet(&mut p));
        let mut v4 = vec![0x45u8; 40];
        assert!(!HlTarget::Set(1).apply_to_packet(&mut v4));
        assert_eq!(v4[7], 0x45);
    }
}
