//! `-m u32 [!] --u32 TESTS` (xt_u32): up to 10 tests joined by `&&`, each reading 32-bit
//! big-endian words of the IP packet (offset 0 is the IP header) through a chain of
//! `&`, `<<`, `>>` and `@` (move the base by the value read, then read at an offset from
//! it) and matching when the result falls in one of up to 10 ranges. A read past the end
//! of the packet fails the tests, and `!` turns that into a match, as the kernel's
//! `u32_match_it(...) ^ invert` does.

/// At most this many tests, locations per test and ranges per test (`XT_U32_MAXSIZE`).
pub const MAX_SIZE: usize = 10;

/// How a location step combines with the value so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum U32Op {
    And,
    ShiftLeft,
    ShiftRight,
    /// `@`: the base moves on by the value so far, then a word is read at the number.
    At,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct U32Test {
    /// The first word's offset.
    pub start: u32,
    /// Then each step, in order.
    pub steps: Vec<(U32Op, u32)>,
    /// Inclusive ranges; a range with `min > max` matches nothing.
    pub ranges: Vec<(u32, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct U32Match {
    pub tests: Vec<U32Test>,
    pub inv: bool,
}

/// The word at `at` of `ip`, if the packet holds all four bytes.
fn word(ip: &[u8], at: u64) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    let b = ip.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl U32Test {
    /// `None` when a read falls outside the packet (the kernel's `u32_match_it` returns
    /// false there).
    fn eval(&self, ip: &[u8]) -> Option<bool> {
        let mut base: u32 = 0;
        let mut val = word(ip, u64::from(self.start))?;
        for &(op, n) in &self.steps {
            match op {
                U32Op::And => val &= n,
                // Shifts of 32 or more: x86's, which takes the count modulo 32.
                U32Op::ShiftLeft => val = val.wrapping_shl(n),
                U32Op::ShiftRight => val = val.wrapping_shr(n),
                U32Op::At => {
                    base = base.checked_add(val)?;
                    val = word(ip, u64::from(base) + u64::from(n))?;
                }
            }
        }
        Some(self.ranges.iter().any(|&(lo, hi)| lo <= val && val <= hi))
    }
}

impl U32Match {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        self.matches_ip(pkt.ip)
    }

    /// Every test must hold (a read outside the packet fails), then the negation.
    pub fn matches_ip(&self, ip: &[u8]) -> bool {
        let all = self.tests.iter().all(|t| t.eval(ip) == Some(true));
        all != self.inv
    }
}

impl crate::ruleset::ext::MatchExt for U32Match {
    const NAME: &'static str = "u32";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
}

impl crate::ruleset::ext::PacketMatch for U32Match {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(start: u32, steps: &[(U32Op, u32)], ranges: &[(u32, u32)]) -> U32Test {
        U32Test {
            start,
            steps: steps.to_vec(),
            ranges: ranges.to_vec(),
        }
    }

    /// A TCP SYN to port 80 with 4 payload bytes "HTTP".
    fn syn() -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IP
            0x13, 0x88, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ];
        p.extend_from_slice(b"HTTP");
        p
    }

    #[test]
    fn the_man_pages_examples() {
        use U32Op::*;
        let p = syn();
        // "6 & 0xFF = 6": the protocol byte.
        let proto = |v| U32Match {
            tests: vec![test(6, &[(And, 0xff)], &[(v, v)])],
            inv: false,
        };
        assert!(proto(6).matches_ip(&p));
        assert!(!proto(17).matches_ip(&p));
        // "0>>22&0x3C@0>>16=80": the destination port, past the IP header.
        let dport = U32Match {
            tests: vec![test(
                0,
                &[(ShiftRight, 22), (And, 0x3c), (At, 0), (And, 0xffff)],
                &[(80, 80)],
            )],
            inv: false,
        };
        assert!(dport.matches_ip(&p));
        // The payload's first word, past the TCP header (data offset).
        let http = U32Match {
            tests: vec![test(
                0,
                &[
                    (ShiftRight, 22),
                    (And, 0x3c),
                    (At, 12),
                    (ShiftRight, 26),
                    (At, 0),
                ],
                &[(0x4854_5450, 0x4854_5450)],
            )],
            inv: false,
        };
        assert!(http.matches_ip(&p));
        // Two tests: both must hold; ranges.
        let both = U32Match {
            tests: vec![
                test(6, &[(And, 0xff)], &[(1, 1), (5, 7)]),
                test(4, &[(And, 0x3fff)], &[(0, 0)]),
            ],
            inv: false,
        };
        assert!(both.matches_ip(&p));
        let mut frag = p.clone();
        frag[7] = 1;
        assert!(!both.matches_ip(&frag));
    }

    #[test]
    fn reads_past_the_end_fail_and_the_negation_turns_that_around() {
        let p = syn();
        let past = |inv| U32Match {
            tests: vec![test(p.len() as u32 - 3, &[], &[(0, u32::MAX)])],
            inv,
        };
        assert!(!past(false).matches_ip(&p));
        assert!(past(true).matches_ip(&p));
        let last = U32Match {
            tests: vec![test(p.len() as u32 - 4, &[], &[(0x4854_5450, 0x4854_5450)])],
            inv: true,
        };
        assert!(!last.matches_ip(&p), "in range, negated");
        // `@` that overflows the base, and a huge offset.
        let wrap = |inv| U32Match {
            tests: vec![test(
                0,
                &[(U32Op::ShiftLeft, 0), (U32Op::At, u32::MAX)],
                &[(0, u32::MAX)],
            )],
            inv,
        };
        assert!(!wrap(false).matches_ip(&p));
        assert!(wrap(true).matches_ip(&p));
        // A failed test makes the negated match true.
        let no = U32Match {
            tests: vec![test(6, &[(U32Op::And, 0xff)], &[(17, 17)])],
            inv: true,
        };
        assert!(no.matches_ip(&p));
        // min > max matches nothing.
        let empty = U32Match {
            tests: vec![test(0, &[], &[(5, 3)])],
            inv: false,
        };
        assert!(!empty.matches_ip(&p));
    }

    /// u32 counts from the network header of either family.
    #[test]
    fn ipv6_from_the_network_header() {
        use crate::ruleset::packet::tests::{ipv6, view};
        let p = ipv6(17, "2001:db8::1", "::2", &[0, 1, 0, 53, 0, 8, 0, 0]);
        // "4 & 0xff00 = 0x1100": byte 6, the next header; "40 & 0xffff = 53": the port.
        let m = |start, mask, v, inv| U32Match {
            tests: vec![test(start, &[(U32Op::And, mask)], &[(v, v)])],
            inv,
        };
        assert!(m(4, 0xff00, 0x1100, false).matches(&view(&p)));
        assert!(m(40, 0xffff, 53, false).matches(&view(&p)));
        assert!(!m(40, 0xffff, 54, false).matches(&view(&p)));
        assert!(m(40, 0xffff, 54, true).matches(&view(&p)));
        assert!(m(8, 0xffff_ffff, 0x2001_0db8, false).matches(&view(&p)));
        // A read past the packet fails.
        assert!(!m(46, 0xffff, 0, false).matches(&view(&p)));
    }
}
