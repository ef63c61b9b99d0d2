//! The internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Sums are kept as folded, *uncomplemented* 16-bit one's-complement sums so that partial sums
//! (pseudo-header, header, payload) can be [`combine`]d; the value stored in a packet is the
//! complement of the final sum. NAT rewrites a few bytes of every packet, so instead of
//! re-summing the whole segment it patches the stored checksum with [`update_u16`],
//! [`update_u32`] or [`update_addr`] ([`update_addr_ipv6`] for 128-bit addresses).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ipv4::Protocol;

/// Fold a wide accumulator to 16 bits with end-around carry. A non-zero input never folds to 0,
/// which keeps full and incremental computations landing on the same representative.
#[inline]
fn fold(acc: u64) -> u16 {
    // Four end-around-carry steps take any u64 below 2^16 (no loop, no branch): 64 ->
    // 33 -> 18 -> 17 -> 16 bits.
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    acc as u16
}

/// One's-complement sum of `data` as big-endian 16-bit words (an odd trailing byte is padded
/// with zero). Returns the folded sum, not its complement.
#[inline]
pub fn data(data: &[u8]) -> u16 {
    // An IPv4 header without options (checked on every received packet): five words,
    // no loop.
    if let Ok(h) = <&[u8; 20]>::try_from(data) {
        let w = |i: usize| u64::from(u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
        return fold(w(0) + w(4) + w(8) + w(12) + w(16));
    }
    data_any(data)
}

/// Any length, 8 bytes a step. RFC 1071's byte order independence: the 16-bit words are
/// summed as the machine loads them (little-endian, no swap per word) and the folded sum
/// swapped once. Each step adds a 64-bit load's halves into two accumulators (2^32 ≡ 1
/// mod 0xffff, so the halves fold as 16-bit words would; no overflow below 16 GiB).
#[inline(never)]
fn data_any(data: &[u8]) -> u16 {
    let (mut lo, mut hi) = (0u64, 0u64);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        lo += w & 0xffff_ffff;
        hi += w >> 32;
    }
    let mut acc = lo + hi;
    let rest = chunks.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        acc += u64::from(u16::from_le_bytes([p[0], p[1]]));
    }
    // An odd last byte is the high byte of its big-endian word: the low byte here.
    if let [last] = pairs.remainder() {
        acc += u64::from(*last);
    }
    fold(acc).swap_bytes()
}

/// One's-complement sum of several partial sums.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// Sum of the IPv4 pseudo-header that TCP and UDP checksums cover: source, destination, zero,
/// protocol and the L4 length.
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: Protocol, length: u32) -> u16 {
    let s = u32::from(src);
    let d = u32::from(dst);
    let acc = u64::from(s >> 16)
        + u64::from(s & 0xffff)
        + u64::from(d >> 16)
        + u64::from(d & 0xffff)
        + u64::from(u8::from(protocol))
        + u64::from(length >> 16)
        + u64::from(length & 0xffff);
    fold(acc)
}

/// Sum of the 16 bytes of an IPv6 address as 32-bit words (folded by the caller).
#[inline]
fn addr_ipv6_acc(a: Ipv6Addr) -> u64 {
    let v = u128::from(a);
    u64::from((v >> 96) as u32)
        + u64::from((v >> 64) as u32)
        + u64::from((v >> 32) as u32)
        + u64::from(v as u32)
}

/// Sum of the IPv6 pseudo-header that TCP, UDP and ICMPv6 checksums cover (RFC 8200 section
/// 8.1): source, destination, the upper-layer length as 32 bits, three zero bytes and the
/// next header (the upper-layer protocol, not an extension header).
pub fn pseudo_header_ipv6(src: Ipv6Addr, dst: Ipv6Addr, next_header: Protocol, length: u32) -> u16 {
    let acc = addr_ipv6_acc(src)
        + addr_ipv6_acc(dst)
        + u64::from(length)
        + u64::from(u8::from(next_header));
    fold(acc)
}

/// The checksum to store for a message whose parts sum to `sums` (complement of [`combine`]).
pub fn finish(sums: &[u16]) -> u16 {
    !combine(sums)
}

/// RFC 1624 eqn. 3: the stored checksum after one 16-bit word of the covered data changed from
/// `old` to `new`: `HC' = ~(~HC + ~m + m')`.
#[inline]
pub fn update_u16(csum: u16, old: u16, new: u16) -> u16 {
    !fold(u64::from(!csum) + u64::from(!old) + u64::from(new))
}

/// As [`update_u16`], for an aligned 32-bit field (two words).
#[inline]
pub fn update_u32(csum: u16, old: u32, new: u32) -> u16 {
    let acc = u64::from(!csum)
        + u64::from(!(old >> 16) as u16)
        + u64::from(!(old as u16))
        + u64::from((new >> 16) as u16)
        + u64::from(new as u16);
    !fold(acc)
}

/// As [`update_u32`], for an IPv4 address (in the IP header or the TCP/UDP pseudo-header).
#[inline]
pub fn update_addr(csum: u16, old: Ipv4Addr, new: Ipv4Addr) -> u16 {
    update_u32(csum, u32::from(old), u32::from(new))
}

/// As [`update_addr`], for an IPv6 address in the TCP/UDP/ICMPv6 pseudo-header (NAT66; IPv6
/// has no header checksum).
#[inline]
pub fn update_addr_ipv6(csum: u16, old: Ipv6Addr, new: Ipv6Addr) -> u16 {
    // ~old is summed as the complement of each 32-bit word: 0xffff_ffff - w, which is ~w.
    let old = u128::from(old);
    let acc = u64::from(!csum)
        + u64::from(!((old >> 96) as u32))
        + u64::from(!((old >> 64) as u32))
        + u64::from(!((old >> 32) as u32))
        + u64::from(!(old as u32))
        + addr_ipv6_acc(new);
    !fold(acc)
}

/// UDP variant of [`update_u16`]: a zero checksum means "none" and stays zero, and a result of
/// zero is stored as 0xffff (RFC 768), exactly as a full recompute would store it.
#[inline]
pub fn udp_update_u16(csum: u16, old: u16, new: u16) -> u16 {
    if csum == 0 {
        return 0;
    }
    nonzero(update_u16(csum, old, new))
}

/// UDP variant of [`update_u32`] (see [`udp_update_u16`]).
#[inline]
pub fn udp_update_u32(csum: u16, old: u32, new: u32) -> u16 {
    if csum == 0 {
        return 0;
    }
    nonzero(update_u32(csum, old, new))
}

/// UDP variant of [`update_addr`] (see [`udp_update_u16`]).
#[inline]
pub fn udp_update_addr(csum: u16, old: Ipv4Addr, new: Ipv4Addr) -> u16 {
    udp_update_u32(csum, u32::from(old), u32::from(new))
}

/// UDP variant of [`update_addr_ipv6`] (see [`udp_update_u16`]). Over IPv6 a zero UDP
/// checksum is invalid (RFC 8200 section 8.1); it stays zero, and such a datagram is dropped
/// by whoever verifies it.
#[inline]
pub fn udp_update_addr_ipv6(csum: u16, old: Ipv6Addr, new: Ipv6Addr) -> u16 {
    if csum == 0 {
        return 0;
    }
    nonzero(update_addr_ipv6(csum, old, new))
}

/// A computed UDP checksum of 0 is transmitted as 0xffff, because 0 means "no checksum".
#[inline]
pub(crate) fn nonzero(csum: u16) -> u16 {
    if csum == 0 {
        0xffff
    } else {
        csum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fixed four-step fold lands where folding until nothing carries does, for
    /// edge values and a spread of others.
    #[test]
    fn fold_matches_the_carry_loop() {
        let slow = |mut acc: u64| {
            while acc >> 16 != 0 {
                acc = (acc & 0xffff) + (acc >> 16);
            }
            acc as u16
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let edges = [
            0,
            1,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0xffff_ffff,
            u64::MAX,
            u64::MAX - 1,
        ];
        for v in edges.into_iter().chain((0..100_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x >> (x % 64)
        })) {
            assert_eq!(fold(v), slow(v), "{v:#x}");
        }
    }

    /// The word-by-word big-endian sum `data_any` replaced (4 bytes a step, a swap per word).
    fn data_by_words(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        let mut words = data.chunks_exact(2);
        for w in &mut words {
            acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            acc += u64::from(*last) << 8;
        }
        fold(acc)
    }

    /// The 8-byte little-endian steps give the big-endian word sum exactly (the same one of
    /// 0x0000 and 0xffff too) for every length 0..=1600, at every alignment, over random,
    /// all-0xff and all-zero bytes (fixed seed).
    #[test]
    fn data_matches_the_word_by_word_sum() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut random = vec![0u8; 1608];
        for b in &mut random {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let (ones, zeros) = (vec![0xffu8; 1608], vec![0u8; 1608]);
        for buf in [&random, &ones, &zeros] {
            for len in 0..=1600 {
                for off in [0, 1, 3, 7] {
                    let d = &buf[off..off + len];
                    assert_eq!(data(d), data_by_words(d), "len {len} offset {off}");
                }
            }
        }
        // A sum that folds to 0xffff, not 0: 0xfffe + 0x0001.
        assert_eq!(data(&[0xff, 0xfe, 0, 1, 0, 0, 0, 0, 0]), 0xffff);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
        assert_eq!(finish(&[data(&bytes)]), 0x220d);
    }

    #[test]
    fn real_ipv4_header() {
        // A captured IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199) whose checksum is b861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(data(&h), 0xffff);
        h[10] = 0;
        h[11] = 0;
        assert_eq!(finish(&[data(&h)]), 0xb861);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(data(&[0xff]), 0xff00);
        assert_eq!(data(&[]), 0);
        // 8-byte steps, 2-byte and 1-byte tails all go through different loops.
        assert_eq!(data(&[0, 1, 0, 2, 0, 3, 4]), 1 + 2 + 3 + 0x0400);
    }

    #[test]
    fn combine_wraps_carry() {
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
        assert_eq!(combine(&[0x8000, 0x8000]), 0x0001);
        assert_eq!(combine(&[]), 0);
    }

    #[test]
    fn pseudo_header_matches_bytes() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(192, 168, 200, 254);
        let bytes = [10, 0, 0, 1, 192, 168, 200, 254, 0, 6, 0x05, 0xdc];
        assert_eq!(pseudo_header(src, dst, Protocol::Tcp, 1500), data(&bytes));
    }

    #[test]
    fn pseudo_header_ipv6_matches_bytes() {
        let src = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
        let dst = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0xa);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&70000u32.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(
            pseudo_header_ipv6(src, dst, Protocol::from(58), 70000),
            data(&bytes)
        );
    }

    #[test]
    fn udp_zero_rules() {
        assert_eq!(udp_update_u16(0, 1234, 4321), 0);
        assert_eq!(
            udp_update_addr(0, Ipv4Addr::new(1, 2, 3, 4), Ipv4Addr::new(4, 3, 2, 1)),
            0
        );
        // An update whose result is 0 must be stored as 0xffff for UDP:
        // ~(~0xedcb + ~0x1234 + 0x0000) = ~(0x1234 + 0xedcb) = ~0xffff = 0.
        assert_eq!(update_u16(0xedcb, 0x1234, 0x0000), 0x0000);
        assert_eq!(udp_update_u16(0xedcb, 0x1234, 0x0000), 0xffff);
    }

    /// Full recompute of the checksum over `words`.
    fn full(words: &[u16]) -> u16 {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        finish(&[data(&bytes)])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn incremental_u16_matches_full(
            mut words in proptest::collection::vec(any::<u16>(), 2..40),
            idx in any::<prop::sample::Index>(),
            new in any::<u16>(),
        ) {
            // Keep one word non-zero so the sum is never the degenerate all-zero case, which
            // has two encodings (RFC 1624 section 3).
            words[0] = words[0].max(1);
            let i = 1 + idx.index(words.len() - 1);
            let before = full(&words);
            let old = words[i];
            words[i] = new;
            prop_assert_eq!(update_u16(before, old, new), full(&words));
        }

        #[test]
        fn incremental_u32_and_addr_match_full(
            mut words in proptest::collection::vec(any::<u16>(), 4..40),
            idx in any::<prop::sample::Index>(),
            new in any::<u32>(),
        ) {
            words[0] = words[0].max(1);
            let i = 1 + idx.index(words.len() - 2);
            let before = full(&words);
            let old = (u32::from(words[i]) << 16) | u32::from(words[i + 1]);
            words[i] = (new >> 16) as u16;
            words[i + 1] = new as u16;
            let after = full(&words);
            prop_assert_eq!(update_u32(before, old, new), after);
            prop_assert_eq!(update_addr(before, Ipv4Addr::from(old), Ipv4Addr::from(new)), after);
        }

        #[test]
        fn incremental_addr_ipv6_matches_full(
            mut words in proptest::collection::vec(any::<u16>(), 9..40),
            idx in any::<prop::sample::Index>(),
            new in any::<u128>(),
        ) {
            words[0] = words[0].max(1);
            let i = 1 + idx.index(words.len() - 8);
            let before = full(&words);
            let old = words[i..i + 8].iter().fold(0u128, |a, &w| (a << 16) | u128::from(w));
            for (k, w) in words[i..i + 8].iter_mut().enumerate() {
                *w = (new >> (112 - 16 * k)) as u16;
            }
            let after = full(&words);
            let (old, new) = (Ipv6Addr::from(old), Ipv6Addr::from(new));
            prop_assert_eq!(update_addr_ipv6(before, old, new), after);
            prop_assert_eq!(udp_update_addr_ipv6(nonzero(before), old, new), nonzero(after));
            prop_assert_eq!(udp_update_addr_ipv6(0, old, new), 0);
        }

        #[test]
        fn udp_incremental_matches_full(
            mut words in proptest::collection::vec(any::<u16>(), 2..40),
            idx in any::<prop::sample::Index>(),
            new in any::<u16>(),
        ) {
            words[0] = words[0].max(1);
            let i = 1 + idx.index(words.len() - 1);
            let before = nonzero(full(&words));
            let old = words[i];
            words[i] = new;
            prop_assert_eq!(udp_update_u16(before, old, new), nonzero(full(&words)));
            prop_assert_eq!(udp_update_u16(0, old, new), 0);
            prop_assert_eq!(udp_update_u32(0, u32::from(old), 7), 0);
        }
    }
}
