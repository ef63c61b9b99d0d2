//! `-m limit`: a token bucket shared by all packets of the rule (xt_limit).

/// XT_LIMIT_SCALE: the period is kept in 1/10000 s per packet.
pub const LIMIT_SCALE: u32 = 10000;
pub const DEFAULT_BURST: u32 = 5;
/// The default `--limit 3/hour`.
pub const DEFAULT_AVG: u32 = LIMIT_SCALE * 3600 / 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitMatch {
    /// Average period between packets in 1/10000 s (`--limit 3/hour` = 12_000_000).
    pub avg: u32,
    pub burst: u32,
}

impl Default for LimitMatch {
    fn default() -> Self {
        LimitMatch {
            avg: DEFAULT_AVG,
            burst: DEFAULT_BURST,
        }
    }
}

/// The units of `N/unit` in the order iptables tries them when printing, with their
/// period in 1/10000 s.
pub const RATE_UNITS: [(&str, u32); 4] = [
    ("day", LIMIT_SCALE * 24 * 60 * 60),
    ("hour", LIMIT_SCALE * 60 * 60),
    ("min", LIMIT_SCALE * 60),
    ("sec", LIMIT_SCALE),
];

/// `-m limit`: xt_limit's token bucket at nanosecond resolution: one packet costs its
/// average period, the bucket holds `burst` packets and starts full.
pub fn limit_allows(m: &LimitMatch, st: &mut crate::ruleset::ext::RuleState, now_ns: u64) -> bool {
    let cost = u64::from(m.avg) * 100_000; // 1/10000 s units -> ns
    let cap = cost.saturating_mul(u64::from(m.burst.max(1)));
    let credit = match st.credit_ns {
        None => cap,
        Some(c) => c.saturating_add(now_ns.saturating_sub(st.last_ns)).min(cap),
    };
    st.last_ns = now_ns;
    if credit >= cost {
        st.credit_ns = Some(credit - cost);
        true
    } else {
        st.credit_ns = Some(credit);
        false
    }
}

impl crate::ruleset::ext::MatchExt for LimitMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "limit";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::ConnMatch for LimitMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        cx: &mut crate::ruleset::ext::ConnCx<'_, A>,
    ) -> bool {
        limit_allows(self, cx.state, cx.now_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::ext::RuleState;
    #[test]
    fn limit_is_a_token_bucket() {
        // 2/sec, burst 3: three at once, then one every 500 ms.
        let m = LimitMatch {
            avg: LIMIT_SCALE / 2,
            burst: 3,
        };
        let mut st = RuleState::default();
        let t0 = 1_000_000_000;
        assert!(limit_allows(&m, &mut st, t0));
        assert!(limit_allows(&m, &mut st, t0));
        assert!(limit_allows(&m, &mut st, t0));
        assert!(!limit_allows(&m, &mut st, t0));
        assert!(!limit_allows(&m, &mut st, t0 + 499_999_999));
        assert!(limit_allows(&m, &mut st, t0 + 500_000_000));
        assert!(!limit_allows(&m, &mut st, t0 + 500_000_001));
        // A long pause refills only up to the burst.
        let later = t0 + 3_600_000_000_000;
        assert!((0..3).all(|_| limit_allows(&m, &mut st, later)));
        assert!(!limit_allows(&m, &mut st, later));
    }
}
