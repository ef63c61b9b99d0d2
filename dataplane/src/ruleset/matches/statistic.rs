//! `-m statistic`: random sampling or every n-th packet (xt_statistic).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatisticMode {
    /// Probability as the kernel keeps it: `p * 2^31`, rounded.
    Random { probability: u32 },
    /// Matches when the rule's counter, counting 0..every-1, equals `packet`.
    /// `every` is the value given on the command line (>= 1).
    Nth { every: u32, packet: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatisticMatch {
    pub inv: bool,
    pub mode: StatisticMode,
}

/// The kernel's fixed-point scale of `--probability`.
pub const PROBABILITY_SCALE: f64 = 2147483648.0;

impl StatisticMatch {
    pub fn validate(&self) -> Result<(), String> {
        match self.mode {
            StatisticMode::Nth { every, packet } if every == 0 || packet >= every => {
                Err("statistic: the --packet p must be 0 <= p <= n-1 for --every n".into())
            }
            _ => Ok(()),
        }
    }
}

/// `-m statistic`: xt_statistic's nth counter and random test.
pub fn statistic_matches(
    m: &StatisticMatch,
    st: &mut crate::ruleset::ext::RuleState,
    random: &mut dyn FnMut() -> u32,
) -> bool {
    let hit = match m.mode {
        StatisticMode::Random { probability } => (random() & 0x7fff_ffff) < probability,
        StatisticMode::Nth { every, packet } => {
            // iptables starts the kernel's counter at every-1-packet, so packet i (from 0)
            // matches when i % every == packet; `st.nth` is i % every.
            let i = st.nth;
            st.nth = if i + 1 >= every { 0 } else { i + 1 };
            i == packet
        }
    };
    hit != m.inv
}

impl crate::ruleset::ext::MatchExt for StatisticMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "statistic";
    const REVISION: u8 = 0;

    fn validate(&self, _spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        StatisticMatch::validate(self)
    }
}

impl crate::ruleset::ext::ConnMatch for StatisticMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        cx: &mut crate::ruleset::ext::ConnCx<'_, A>,
    ) -> bool {
        statistic_matches(self, cx.state, cx.random)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::ext::RuleState;
    #[test]
    fn nth_counts_like_the_kernel() {
        let m = StatisticMatch {
            inv: false,
            mode: StatisticMode::Nth {
                every: 3,
                packet: 0,
            },
        };
        let mut st = RuleState::default();
        let hits: Vec<bool> = (0..6)
            .map(|_| statistic_matches(&m, &mut st, &mut || 0))
            .collect();
        // What a namespace router with `--every 3 --packet 0` did with six packets
        // (tests/conformance/scenarios/m_statistic_nth.toml has the on-the-wire check).
        assert_eq!(hits, [true, false, false, true, false, false]);
        let half = StatisticMatch {
            inv: false,
            mode: StatisticMode::Random {
                probability: 1 << 30,
            },
        };
        assert!(statistic_matches(&half, &mut st, &mut || 0x3fff_ffff));
        assert!(!statistic_matches(&half, &mut st, &mut || 0x4000_0000));
    }
}
