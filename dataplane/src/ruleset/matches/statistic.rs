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
