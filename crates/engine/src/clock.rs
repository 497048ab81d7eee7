//! Per-site event clocks that one wrong time stamp cannot poison.
//!
//! Every site keeps its own clock: the newest event time of that site that the clock
//! believes. Timers of a site's calls run on that site's clock only, so a site whose events
//! arrive late (a lagging log shipper, a backfill of one archive after another) neither
//! finishes the calls of other sites early nor is finished early by them.
//!
//! A server's own events come in its own order, so its times move in small steps. An event
//! more than [`ClockConfig::jump`] away from its site's clock is *suspect*: it is applied to
//! its call as if it happened at the clock's time, and the clock does not move. A second
//! event near the suspect one confirms a real jump (a site quiet overnight, a clock stepped
//! by NTP), and the clock moves there; an event back near the clock proves the suspect an
//! outlier, which is counted. With a ceiling (the live service passes the wall clock plus a
//! tolerance), an event beyond it is an outlier at once and never confirms.

use serde::{Deserialize, Serialize};

use crate::config::SECOND;

/// How far a site's clock may move in one step before the step needs confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockConfig {
    /// Microseconds. Events further than this from their site's clock are suspect.
    pub jump: i64,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig { jump: 15 * 60 * SECOND }
    }
}

/// What the clock made of an event's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Believed: the clock is at least this time now.
    Believed,
    /// Not believed (yet): the event is applied at the clock's time.
    Suspect,
}

/// One site's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteClock {
    /// The newest believed event time (µs); `None` before the site's first event.
    now: Option<i64>,
    /// A time far from `now`, waiting for a second event to confirm it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suspect: Option<i64>,
    /// Events whose time was not believed.
    #[serde(default)]
    outliers: u64,
}

impl SiteClock {
    /// The clock's time, `None` before any event.
    pub fn now(&self) -> Option<i64> {
        self.now
    }

    /// Events whose time was not believed so far.
    pub fn outliers(&self) -> u64 {
        self.outliers
    }

    /// Takes an event's time; `ceiling` is the latest time that can be true (live: the wall
    /// clock plus a tolerance).
    pub fn observe(&mut self, time: i64, config: ClockConfig, ceiling: Option<i64>) -> Reading {
        if ceiling.is_some_and(|ceiling| time > ceiling) {
            self.outliers += 1;
            return Reading::Suspect;
        }
        let Some(now) = self.now else {
            self.now = Some(time);
            return Reading::Believed;
        };
        if time.abs_diff(now) <= config.jump.unsigned_abs() {
            if self.suspect.take().is_some() {
                self.outliers += 1;
            }
            self.now = Some(now.max(time));
            return Reading::Believed;
        }
        match self.suspect {
            Some(suspect) if time.abs_diff(suspect) <= config.jump.unsigned_abs() => {
                // Two events agree: the site's time really moved (forward after a quiet
                // night, or back when the clock's first reading was the wrong one).
                if time < now {
                    self.outliers += 1;
                }
                self.suspect = None;
                self.now = Some(time.max(suspect));
                Reading::Believed
            }
            Some(_) => {
                self.outliers += 1;
                self.suspect = Some(time);
                Reading::Suspect
            }
            None => {
                self.suspect = Some(time);
                Reading::Suspect
            }
        }
    }

    /// Moves the clock to at least `time` without an event (the live service's idle tick).
    pub fn advance_to(&mut self, time: i64) {
        self.now = Some(self.now.map_or(time, |now| now.max(time)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60 * SECOND;
    const HOUR: i64 = 60 * MINUTE;

    fn clock_after(times: &[i64]) -> (SiteClock, Vec<Reading>) {
        let mut clock = SiteClock::default();
        let readings = times.iter().map(|time| clock.observe(*time, ClockConfig::default(), None)).collect();
        (clock, readings)
    }

    #[test]
    fn one_event_a_year_ahead_does_not_move_the_clock() {
        let year = 365 * 24 * HOUR;
        let (clock, readings) = clock_after(&[0, SECOND, year, 2 * SECOND, 3 * SECOND]);
        assert_eq!(clock.now(), Some(3 * SECOND));
        assert_eq!(readings[2], Reading::Suspect);
        assert_eq!(clock.outliers(), 1);
    }

    #[test]
    fn one_event_an_hour_ahead_does_not_move_the_clock() {
        let (clock, _) = clock_after(&[0, HOUR, SECOND]);
        assert_eq!(clock.now(), Some(SECOND));
        assert_eq!(clock.outliers(), 1);
    }

    #[test]
    fn a_quiet_night_moves_the_clock_once_two_events_agree() {
        let morning = 12 * HOUR;
        let (clock, readings) = clock_after(&[0, morning, morning + SECOND]);
        assert_eq!(readings, vec![Reading::Believed, Reading::Suspect, Reading::Believed]);
        assert_eq!(clock.now(), Some(morning + SECOND));
        assert_eq!(clock.outliers(), 0);
    }

    #[test]
    fn a_wrong_first_time_is_corrected_by_the_events_after_it() {
        let year = 365 * 24 * HOUR;
        let (clock, _) = clock_after(&[year, SECOND, 2 * SECOND, 3 * SECOND]);
        assert_eq!(clock.now(), Some(3 * SECOND));
        assert_eq!(clock.outliers(), 1);
    }

    #[test]
    fn steps_within_the_jump_are_believed_at_once() {
        let (clock, readings) = clock_after(&[0, 14 * MINUTE, 5 * MINUTE, 28 * MINUTE]);
        assert!(readings.iter().all(|reading| *reading == Reading::Believed));
        assert_eq!(clock.now(), Some(28 * MINUTE));
    }

    #[test]
    fn a_time_beyond_the_ceiling_never_confirms() {
        let mut clock = SiteClock::default();
        let config = ClockConfig::default();
        assert_eq!(clock.observe(0, config, Some(MINUTE)), Reading::Believed);
        assert_eq!(clock.observe(HOUR, config, Some(MINUTE)), Reading::Suspect);
        assert_eq!(clock.observe(HOUR + SECOND, config, Some(MINUTE)), Reading::Suspect);
        assert_eq!(clock.now(), Some(0));
        assert_eq!(clock.outliers(), 2);
    }
}
