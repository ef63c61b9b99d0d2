//! `-m hashlimit`: a token bucket per hashed group of packets (xt_hashlimit rev 1+), or
//! with `--hashlimit-rate-match` (rev 3) a measured rate per group compared with the
//! given one once per interval.

/// Hash keys (`--hashlimit-mode`), printed in this order.
pub mod mode {
    pub const SRCIP: u32 = 1 << 0;
    pub const SRCPORT: u32 = 1 << 1;
    pub const DSTIP: u32 = 1 << 2;
    pub const DSTPORT: u32 = 1 << 3;
    pub const NAMES: [(&str, u32); 4] = [
        ("srcip", SRCIP),
        ("srcport", SRCPORT),
        ("dstip", DSTIP),
        ("dstport", DSTPORT),
    ];
}

pub const DEFAULT_BURST: u32 = 5;
pub const DEFAULT_GC_MS: u32 = 1_000;
/// The scale of `avg`: periods are kept in microseconds.
pub const SCALE: u64 = 1_000_000;
/// XT_HASHLIMIT_BYTE_SHIFT: byte rates are counted in 16-byte units.
pub const BYTE_SHIFT: u32 = 4;
/// Default expiry of byte-rate entries (XT_HASHLIMIT_BYTE_EXPIRE, in ms).
pub const BYTE_EXPIRE_MS: u32 = 15_000;

/// Bytes per second to the kernel's cost per unit (libxt_hashlimit's `bytes_to_cost`).
pub fn bytes_to_cost(bytes: u64) -> u64 {
    let r = (bytes >> BYTE_SHIFT) as u32;
    u64::from(u32::MAX / r.saturating_add(1))
}

/// The inverse, rounded as iptables rounds it (`cost_to_bytes`).
pub fn cost_to_bytes(cost: u64) -> u64 {
    let r = u64::from(u32::MAX)
        .checked_div(cost)
        .map_or(u32::MAX, |q| q as u32);
    u64::from(r.saturating_sub(1)) << BYTE_SHIFT
}

/// xt_hashlimit's credits per microsecond of `avg` (HZ * CREDITS_PER_JIFFY /
/// XT_HASHLIMIT_SCALE_v2; the same for HZ 100, 250 and 1000): `user2credits` multiplies
/// by it, and its u64 overflow is what the kernel's range check detects.
pub const CREDITS_PER_US: u64 = 137_438_953;

impl HashlimitMatch {
    /// hashlimit_mt_check_common: the rate (and burst) the kernel can represent.
    pub fn validate(&self) -> Result<(), String> {
        let out_of_range =
            || Err("hashlimit: rate out of range (Numerical result out of range)".into());
        if self.rate_match {
            if self.avg == 0 || self.avg > u64::from(u32::MAX) {
                return out_of_range();
            }
            if self.interval == 0 {
                return Err("hashlimit: invalid interval (Invalid argument)".into());
            }
        } else if self.bytes {
            if self.avg == 0 {
                return Err("hashlimit: overflow, rate too high (Invalid argument)".into());
            }
        } else {
            // user2credits(avg * burst) < user2credits(avg), in wrapping u64 as the
            // kernel computes it: the burst's credits overflowed.
            let credits = |user: u64| user.wrapping_mul(CREDITS_PER_US);
            let burst = u64::from(self.burst);
            if self.avg == 0
                || burst == 0
                || credits(self.avg.wrapping_mul(burst)) < credits(self.avg)
            {
                return out_of_range();
            }
        }
        Ok(())
    }

    /// The measured rate's threshold per interval (rateinfo_init for rate-match): the
    /// rate in packets per second, and the burst on top of it.
    pub fn rate_match_limits(&self) -> (u64, u64) {
        let rate = SCALE.checked_div(self.avg).unwrap_or(0);
        (rate, u64::from(self.burst) + rate)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashlimitMatch {
    pub name: String,
    /// `--hashlimit-above` (true) or `--hashlimit-upto`.
    pub above: bool,
    /// A byte rate (`1mb/s`): `avg` is then the kernel's per-byte cost and `burst` a
    /// multiple of the rate (0 = none given).
    pub bytes: bool,
    /// Average period between packets in microseconds (XT_HASHLIMIT_SCALE_v2).
    pub avg: u64,
    pub burst: u32,
    pub mode: u32,
    /// Prefix lengths the addresses are grouped by (0..=32, or 0..=128 for IPv6; the
    /// family's width by default).
    pub srcmask: u8,
    pub dstmask: u8,
    pub htable_size: u32,
    pub htable_max: u32,
    pub gc_interval: u32,
    pub expire: u32,
    /// `--hashlimit-rate-match`: match on the group's measured rate (no tokens).
    pub rate_match: bool,
    /// `--hashlimit-rate-interval` in seconds (0: not given; rate-match sets a default).
    pub interval: u32,
    /// While parsing only: the unit the rate was given in, in seconds (libxt_hashlimit's
    /// `udata->mult`, 15 for byte rates); the default expiry and interval derive from it.
    /// Zero once the rule is complete, so equal rules compare equal however typed.
    pub unit_s: u32,
    /// The rule's family: the width of the masks (and what they default to).
    pub family: crate::ruleset::Family,
}

impl HashlimitMatch {
    /// The address width of the rule's family, the masks' default.
    pub fn full_mask(&self) -> u8 {
        match self.family {
            crate::ruleset::Family::V4 => 32,
            crate::ruleset::Family::V6 => 128,
        }
    }
}

impl crate::ruleset::ext::MatchExt for HashlimitMatch {
    const NAME: &'static str = "hashlimit";
    const REVISION: u8 = 3;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;

    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        HashlimitMatch::validate(self)
    }
}

impl crate::ruleset::ext::WorkerMatch for HashlimitMatch {
    fn decide(
        &self,
        view: &crate::ruleset::packet::PacketView<'_>,
        env: &mut crate::ruleset::ext::MatchEnv<'_>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        let (src, dst) = match view.family {
            crate::ruleset::Family::V4 => (
                u128::from(u32::from(view.src)),
                u128::from(u32::from(view.dst)),
            ),
            crate::ruleset::Family::V6 => (u128::from(view.src6()), u128::from(view.dst6())),
        };
        env.tables.hashlimit(
            self,
            view.family,
            src,
            dst,
            view.ports(),
            view.total_len,
            env.now_ns,
        )
    }
}
