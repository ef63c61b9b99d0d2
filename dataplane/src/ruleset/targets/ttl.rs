//! `-j TTL` (mangle only): set, decrement or increment the IP TTL (ipt_TTL).

use crate::wire::ipv4::HEADER_LEN;
use crate::wire::{checksum, read_u16, write_u16};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlTarget {
    Set(u8),
    Dec(u8),
    Inc(u8),
}

impl TtlTarget {
    pub fn validate(&self) -> Result<(), String> {
        match self {
            TtlTarget::Dec(0) | TtlTarget::Inc(0) => {
                Err("TTL: increment/decrement by 0 is pointless".into())
            }
            _ => Ok(()),
        }
    }

    #[inline]
    pub fn apply(&self, ttl: u8) -> u8 {
        match *self {
            TtlTarget::Set(v) => v,
            TtlTarget::Dec(v) => ttl.saturating_sub(v),
            TtlTarget::Inc(v) => ttl.saturating_add(v),
        }
    }
}

impl TtlTarget {
    /// ipt_TTL on an IPv4 packet (header first): rewrites the TTL (inc saturates at 255, dec at
    /// 0) and patches the header checksum incrementally. Returns whether the packet changed; a
    /// buffer shorter than an IPv4 header is left alone (the kernel drops such a packet long
    /// before mangle).
    pub fn apply_to_packet(&self, ip: &mut [u8]) -> bool {
        if ip.len() < HEADER_LEN {
            return false;
        }
        let old = ip[TTL_AT];
        let new = self.apply(old);
        if new == old {
            return false;
        }
        let old_word = read_u16(ip, TTL_AT);
        ip[TTL_AT] = new;
        let new_word = read_u16(ip, TTL_AT);
        let c = checksum::update_u16(read_u16(ip, CHECKSUM_AT), old_word, new_word);
        write_u16(ip, CHECKSUM_AT, c);
        true
    }
}

const TTL_AT: usize = 8;
const CHECKSUM_AT: usize = 10;

impl crate::ruleset::ext::TargetExt for TtlTarget {
    const NAME: &'static str = "TTL";
    const REVISION: u8 = 0;
    const TERMINAL: bool = false;

    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Mangle)
    }

    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        TtlTarget::validate(self)
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

    /// A 20-byte header 10.77.1.1 -> 10.77.2.1, TCP, total length 40, with a valid checksum.
    fn header(ident: u8, ttl: u8) -> Vec<u8> {
        let mut h = vec![
            0x45, 0, 0, 40, 0, ident, 0, 0, ttl, 6, 0, 0, 10, 77, 1, 1, 10, 77, 2, 1,
        ];
        let c = !checksum::data(&h);
        write_u16(&mut h, 10, c);
        h
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The kernel oracle: SYNs sent through a namespace router with
    /// `-t mangle -A FORWARD -p tcp --dport 7003 -j TTL --ttl-dec 5` (sent with TTL 3, so 2 at
    /// the FORWARD hook) and `--dport 7004 -j TTL --ttl-inc 200` (TTL 100, 99 at the hook);
    /// the expected bytes are the IP headers tcpdump captured behind the router.
    #[test]
    fn kernel_results() {
        let mut h = header(0xce, 2);
        assert!(TtlTarget::Dec(5).apply_to_packet(&mut h));
        assert_eq!(h, hex("4500002800ce00000006a2670a4d01010a4d0201"));
        let mut h = header(0xcf, 99);
        assert!(TtlTarget::Inc(200).apply_to_packet(&mut h));
        assert_eq!(h, hex("4500002800cf0000ff06a3650a4d01010a4d0201"));
    }

    #[test]
    fn set_dec_inc_and_checksum() {
        for (t, before, after) in [
            (TtlTarget::Set(1), 64, 1),
            (TtlTarget::Dec(1), 64, 63),
            (TtlTarget::Dec(200), 64, 0),
            (TtlTarget::Inc(1), 64, 65),
            (TtlTarget::Inc(255), 1, 255),
        ] {
            let mut h = header(1, before);
            assert!(t.apply_to_packet(&mut h));
            assert_eq!(h[8], after);
            assert_eq!(checksum::data(&h), 0xffff, "{t:?}");
            assert_eq!(h, header(1, after));
        }
        let mut h = header(1, 64);
        assert!(!TtlTarget::Set(64).apply_to_packet(&mut h));
        assert!(!TtlTarget::Dec(1).apply_to_packet(&mut [0u8; 19]));
    }
}
