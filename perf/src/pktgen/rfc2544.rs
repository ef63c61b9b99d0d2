//! RFC 2544 throughput search: the highest offered rate whose trial loses nothing (NDR) or
//! less than a given fraction (PDR, 0.5% here by default), by binary search between 0 and
//! a maximum rate, to a relative resolution.

/// One trial's outcome as the caller measured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trial {
    /// Offered rate asked for.
    pub rate_pps: f64,
    /// Rate actually sent (a slow generator shows here).
    pub sent_pps: f64,
    pub sent: u64,
    pub lost: u64,
    pub pass: bool,
}

#[derive(Debug, Clone)]
pub struct SearchConfig {
    pub max_pps: f64,
    /// Stop when the bracket is narrower than this fraction of its upper end.
    pub resolution: f64,
    /// 0.0: no loss at all (NDR); otherwise the loss ratio must stay below it (PDR).
    pub loss_threshold: f64,
    pub max_trials: usize,
}

impl SearchConfig {
    pub fn ndr(max_pps: f64) -> SearchConfig {
        SearchConfig {
            max_pps,
            resolution: 0.01,
            loss_threshold: 0.0,
            max_trials: 20,
        }
    }

    /// Partial drop rate: loss below 0.5%.
    pub fn pdr(max_pps: f64) -> SearchConfig {
        SearchConfig {
            loss_threshold: 0.005,
            ..SearchConfig::ndr(max_pps)
        }
    }

    fn passes(&self, sent: u64, lost: u64) -> bool {
        if sent == 0 {
            return false;
        }
        if self.loss_threshold <= 0.0 {
            lost == 0
        } else {
            (lost as f64 / sent as f64) < self.loss_threshold
        }
    }
}

#[derive(Debug, Clone)]
pub struct SearchResult {
    /// The highest passing rate (0 if none passed).
    pub rate_pps: f64,
    pub trials: Vec<Trial>,
}

/// Runs trials through `trial(rate) -> (sent, lost, sent_pps)` until the bracket is
/// within the resolution: first at the maximum, then halving the interval.
pub fn search(cfg: &SearchConfig, trial: &mut dyn FnMut(f64) -> (u64, u64, f64)) -> SearchResult {
    let mut trials = Vec::new();
    let mut run = |rate: f64, trials: &mut Vec<Trial>| {
        let (sent, lost, sent_pps) = trial(rate);
        let pass = cfg.passes(sent, lost);
        trials.push(Trial {
            rate_pps: rate,
            sent_pps,
            sent,
            lost,
            pass,
        });
        pass
    };
    if run(cfg.max_pps, &mut trials) {
        return SearchResult {
            rate_pps: cfg.max_pps,
            trials,
        };
    }
    let (mut lo, mut hi) = (0.0f64, cfg.max_pps);
    while hi - lo > cfg.resolution * hi && trials.len() < cfg.max_trials {
        let mid = (lo + hi) / 2.0;
        if run(mid, &mut trials) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    SearchResult {
        rate_pps: lo,
        trials,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_a_known_limit() {
        // A device that forwards 123,456 pps and drops the excess.
        let limit = 123_456.0;
        let mut dut = |rate: f64| {
            let sent = rate as u64;
            (sent, (rate - limit).max(0.0) as u64, rate)
        };
        let ndr = search(&SearchConfig::ndr(1e6), &mut dut);
        assert!(
            ndr.rate_pps <= limit && ndr.rate_pps >= limit * 0.99,
            "{}",
            ndr.rate_pps
        );
        let pdr = search(&SearchConfig::pdr(1e6), &mut dut);
        assert!(
            pdr.rate_pps >= ndr.rate_pps && pdr.rate_pps <= limit / 0.995,
            "{}",
            pdr.rate_pps
        );
        let all = search(&SearchConfig::ndr(1e5), &mut dut);
        assert_eq!((all.rate_pps, all.trials.len()), (1e5, 1));
    }
}
