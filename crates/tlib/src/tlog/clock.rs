//! The clock of a log file: turns the `@hh:mm:ss.ffff` times of its lines into UTC, from the
//! header's date and offset (tlog-format.md "File header"). Both readers, T-Library and SIP
//! layer, keep one per file.

use crate::ids::{LocalTime, Timestamp};
use crate::tlog::header::Header;

const MICROS_PER_DAY: i64 = 86_400_000_000;
const HALF_DAY: i64 = MICROS_PER_DAY / 2;

/// The date and offset that turn `@` clocks into UTC.
#[derive(Debug, Default)]
pub(crate) struct LogClock {
    offset: Option<i64>,
    /// UTC microseconds of the current local midnight.
    day_start: Option<i64>,
    last: Option<i64>,
}

impl LogClock {
    /// Takes the date and offset of a header that gives both (else changes nothing).
    pub(crate) fn set_from_header(&mut self, header: &Header) {
        let (Some(offset), Some(local)) = (header.clock_offset_micros(), header.local_time) else { return };
        self.offset = Some(offset);
        self.place_dated(local);
    }

    /// Places an `@` clock (local time of day) in UTC, rolling over midnight when the clock
    /// goes back by more than half a day.
    pub(crate) fn place(&mut self, micros_of_day: i64) -> Option<Timestamp> {
        let day_start = self.day_start.as_mut()?;
        if let Some(last) = self.last {
            if last - micros_of_day > HALF_DAY {
                *day_start += MICROS_PER_DAY;
            }
        }
        self.last = Some(micros_of_day);
        Timestamp::checked(day_start.checked_add(micros_of_day)?)
    }

    /// Places a dated local time in UTC and makes its date the current one.
    pub(crate) fn place_dated(&mut self, local: LocalTime) -> Option<Timestamp> {
        let offset = self.offset?;
        let midnight = local.date?.midnight_micros()?;
        let day_start = midnight.checked_sub(offset)?;
        self.day_start = Some(day_start);
        self.last = Some(local.micros_of_day);
        Timestamp::checked(day_start.checked_add(local.micros_of_day)?)
    }
}
