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
