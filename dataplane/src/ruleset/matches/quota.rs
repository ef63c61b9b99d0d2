//! `-m quota [!] --quota BYTES`: matches while the rule's byte allowance lasts (xt_quota).
//! Each packet that reaches the match and fits what is left takes its IP length from it;
//! the first that does not fit empties it, so from then on no packet matches (or every
//! packet, inverted). Saved with the original allowance, as iptables prints it. What is
//! used is per worker (docs/deviations.md), like `-m limit`'s buckets.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaMatch {
    pub inv: bool,
    pub quota: u64,
}

impl QuotaMatch {
    /// Decides a packet of `len` bytes against the allowance, `used` being what earlier
    /// packets took (the rule's state).
    pub fn take(&self, used: &mut u64, len: u64) -> bool {
        let left = self.quota.saturating_sub(*used);
        if left >= len {
            *used += len;
            !self.inv
        } else {
            *used = self.quota;
            self.inv
        }
    }
}

impl crate::ruleset::ext::MatchExt for QuotaMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "quota";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::WorkerMatch for QuotaMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        view: &crate::ruleset::packet::PacketView<'_>,
        _env: &mut crate::ruleset::ext::MatchEnv<'_, A>,
        st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        self.take(&mut st.quota_used, u64::from(view.total_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_runs_out_and_stays_out() {
        let q = QuotaMatch {
            inv: false,
            quota: 100,
        };
        let mut used = 0;
        let got: Vec<bool> = [30, 30, 30, 30, 5, 0]
            .iter()
            .map(|&len| q.take(&mut used, len))
            .collect();
        // 90 used, then 30 does not fit what is left (10): emptied, even 5 and 0 no more.
        assert_eq!(got, [true, true, true, false, false, true]);
        let inv = QuotaMatch { inv: true, ..q };
        let mut used = 0;
        assert!(!inv.take(&mut used, 100));
        assert!(inv.take(&mut used, 1));
    }
}
