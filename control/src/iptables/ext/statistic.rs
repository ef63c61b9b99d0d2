//! libxt_statistic: `--mode random --probability p`, `--mode nth --every n --packet p`.

use super::{parse_u32, Args};
use dataplane::ruleset::matches::statistic::{StatisticMatch, StatisticMode, PROBABILITY_SCALE};
use std::fmt::Write;

pub const OPTIONS: &[&str] = &["--mode", "--probability", "--every", "--packet"];

const UNSET_NTH: StatisticMode = StatisticMode::Nth {
    every: 0,
    packet: u32::MAX,
};

impl super::MatchText for StatisticMatch {
    /// Parsing state: the words seen so far, turned into a mode by `finish`. Kept in the
    /// match itself: `Random` with probability u32::MAX marks "no mode yet".
    fn new(_name: &str) -> Self {
        StatisticMatch {
            inv: false,
            mode: StatisticMode::Nth {
                every: 0,
                packet: u32::MAX,
            },
        }
    }

    fn options(&self) -> &'static [&'static str] {
        OPTIONS
    }

    fn parse(
        &mut self,
        o: &str,
        inv: bool,
        args: &mut Args,
        _ctx: &super::Ctx,
    ) -> Result<(), String> {
        let m = self;
        let v = args.value(o)?;
        m.inv |= inv;
        match o {
            "--mode" => {
                if m.mode != UNSET_NTH {
                    return Err("statistic: multiple --mode flags not allowed".into());
                }
                m.mode = match v.as_str() {
                    "random" => StatisticMode::Random {
                        probability: u32::MAX,
                    },
                    // every 0 = not given yet; packet u32::MAX - 1 = not given yet.
                    "nth" => StatisticMode::Nth {
                        every: 0,
                        packet: u32::MAX - 1,
                    },
                    _ => return Err(format!("statistic: Bad mode \"{v}\"")),
                };
            }
            "--probability" => {
                let p: f64 = v
                    .parse()
                    .ok()
                    .filter(|p: &f64| (0.0..=1.0).contains(p))
                    .ok_or_else(|| {
                        "statistic: --probability must be between 0 and 1".to_string()
                    })?;
                match &mut m.mode {
                    StatisticMode::Random { probability } => {
                        *probability =
                            (PROBABILITY_SCALE * p).round().min(f64::from(u32::MAX - 1)) as u32
                    }
                    _ => {
                        return Err(
                            "statistic: --probability can only be used in random mode".into()
                        )
                    }
                }
            }
            "--every" => {
                let n = parse_u32(&v, o)?;
                match &mut m.mode {
                    StatisticMode::Nth { every, .. } if *every == 0 && n > 0 => *every = n,
                    StatisticMode::Nth { .. } if n == 0 => {
                        return Err("statistic: --every must be at least 1".into())
                    }
                    _ => return Err("statistic: --every can only be used in nth mode".into()),
                }
            }
            _ => {
                let n = parse_u32(&v, o)?;
                match &mut m.mode {
                    StatisticMode::Nth { packet, .. } if *packet == u32::MAX - 1 => *packet = n,
                    _ => return Err("statistic: --packet can only be used in nth mode".into()),
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, _seen: &[&'static str]) -> Result<(), String> {
        match self.mode {
            UNSET_NTH => Err("statistic: no mode specified".into()),
            StatisticMode::Random {
                probability: u32::MAX,
            } => Err("statistic: option \"--probability\" must be specified".into()),
            StatisticMode::Nth { every: 0, .. } => {
                Err("statistic: option \"--every\" must be specified".into())
            }
            StatisticMode::Nth { packet, .. } if packet == u32::MAX - 1 => {
                Err("statistic: option \"--every\" also requires \"--packet\".".into())
            }
            StatisticMode::Nth { every, packet } if packet >= every => Err(format!(
                "statistic: the --packet p must be 0 <= p <= n-1 for --every n (got p={packet}, n={every})"
            )),
            _ => Ok(()),
        }
    }

    fn save(&self, out: &mut String) {
        let inv = if self.inv { " !" } else { "" };
        let _ = match self.mode {
            StatisticMode::Random { probability } => write!(
                out,
                " --mode random{inv} --probability {:.11}",
                f64::from(probability) / PROBABILITY_SCALE
            ),
            StatisticMode::Nth { every, packet } => {
                write!(out, " --mode nth{inv} --every {every} --packet {packet}")
            }
        };
    }

    fn list(&self, _numeric: bool, out: &mut String) {
        let inv = if self.inv { " !" } else { "" };
        let _ = match self.mode {
            StatisticMode::Random { probability } => write!(
                out,
                " statistic mode random{inv} probability {:.11}",
                f64::from(probability) / PROBABILITY_SCALE
            ),
            StatisticMode::Nth { every, packet } => {
                let _ = write!(out, " statistic mode nth{inv} every {every}");
                if packet != 0 {
                    let _ = write!(out, " packet {packet}");
                }
                Ok(())
            }
        };
    }
}
