//! `-m time`: time of day, weekdays, days of the month and a date window (xt_time).

/// Seconds since midnight of 23:59:59, the default `--timestop`.
pub const DAYTIME_MAX: u32 = 86399;
/// The default `--datestop`: the largest 32-bit signed time (2038-01-19T03:14:07).
pub const DATE_MAX: u32 = i32::MAX as u32;
/// Bits 1..=7 are Mon..Sun.
pub const ALL_WEEKDAYS: u8 = 0xfe;
/// Bits 1..=31 are days 1..31.
pub const ALL_MONTHDAYS: u32 = 0xffff_fffe;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeMatch {
    pub daytime_start: u32,
    pub daytime_stop: u32,
    pub date_start: u32,
    pub date_stop: u32,
    pub weekdays: u8,
    pub monthdays: u32,
    pub kerneltz: bool,
    pub contiguous: bool,
}

impl Default for TimeMatch {
    fn default() -> Self {
        TimeMatch {
            daytime_start: 0,
            daytime_stop: DAYTIME_MAX,
            date_start: 0,
            date_stop: DATE_MAX,
            weekdays: ALL_WEEKDAYS,
            monthdays: ALL_MONTHDAYS,
            kerneltz: false,
            contiguous: false,
        }
    }
}

/// Civil date (year, month 1-12, day 1-31) of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `-m time` in UTC (`--kerneltz` is treated as UTC: the appliance runs in UTC).
pub fn time_matches(m: &TimeMatch, now_ns: u64) -> bool {
    let secs = now_ns / 1_000_000_000;
    if secs < u64::from(m.date_start) || secs > u64::from(m.date_stop) {
        return false;
    }
    let days = (secs / 86_400) as i64;
    let daytime = (secs % 86_400) as u32;
    let in_window = if m.daytime_start <= m.daytime_stop {
        (m.daytime_start..=m.daytime_stop).contains(&daytime)
    } else {
        // A window over midnight (e.g. 22:00-06:00).
        daytime >= m.daytime_start || daytime <= m.daytime_stop
    };
    if !in_window {
        return false;
    }
    // 1970-01-01 was a Thursday; bit 1 is Monday .. bit 7 Sunday. With --contiguous a
    // window over midnight belongs to the day it started on.
    let day_of_window =
        if m.contiguous && m.daytime_start > m.daytime_stop && daytime <= m.daytime_stop {
            days - 1
        } else {
            days
        };
    let weekday = ((day_of_window + 3).rem_euclid(7) + 1) as u8;
    if m.weekdays & (1 << weekday) == 0 {
        return false;
    }
    let (_, _, mday) = civil_from_days(day_of_window);
    m.monthdays & (1 << mday) != 0
}

impl crate::ruleset::ext::MatchExt for TimeMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "time";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::ConnMatch for TimeMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        cx: &mut crate::ruleset::ext::ConnCx<'_, A>,
    ) -> bool {
        time_matches(self, cx.now_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows() {
        use crate::ruleset::matches::time::{ALL_MONTHDAYS, ALL_WEEKDAYS};
        // 2024-01-01 was a Monday; 10:00:00 UTC.
        let monday_10 = 1_704_103_200u64 * 1_000_000_000;
        let office = TimeMatch {
            daytime_start: 9 * 3600,
            daytime_stop: 17 * 3600,
            weekdays: 0b0011_1110, // Mon-Fri
            ..Default::default()
        };
        assert!(time_matches(&office, monday_10));
        assert!(!time_matches(&office, monday_10 + 8 * 3600 * 1_000_000_000));
        assert!(
            !time_matches(&office, monday_10 + 5 * 86_400 * 1_000_000_000),
            "Saturday"
        );
        let night = TimeMatch {
            daytime_start: 22 * 3600,
            daytime_stop: 6 * 3600,
            weekdays: ALL_WEEKDAYS,
            monthdays: ALL_MONTHDAYS,
            ..Default::default()
        };
        assert!(!time_matches(&night, monday_10));
        assert!(time_matches(&night, monday_10 + 13 * 3600 * 1_000_000_000));
        let first = TimeMatch {
            monthdays: 1 << 1,
            ..Default::default()
        };
        assert!(time_matches(&first, monday_10));
        assert!(!time_matches(&first, monday_10 + 86_400 * 1_000_000_000));
    }
}
