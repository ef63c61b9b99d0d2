//! The one integer mixer the data plane uses where it needs a well-spread, deterministic
//! hash of a few words (owner directory slots, NAT port search starts, fragment homes).

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

#[cfg(test)]
mod tests {
    use super::mix64;

    #[test]
    fn spreads_neighbouring_inputs() {
        assert_eq!(mix64(0), 0);
        let a = mix64(1);
        let b = mix64(2);
        assert_ne!(a, b);
        // About half the bits differ between neighbours.
        let d = (a ^ b).count_ones();
        assert!((16..=48).contains(&d), "{d} bits differ");
    }
}
