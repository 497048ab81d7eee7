//! `events.log`: the raw events of an interaction written back as a T-Server log excerpt,
//! one header per site (in the order the calls visit them), each site's events in the order
//! they were stored, by the same writer as the simulator's logs.
//!
//! Each header says how the site's clock relates to UTC, as a real log header does:
//! `Time zone`, `UTC time` and `Local time` of the site's first event, the offset taken
//! from the events themselves (their `clock`, as logged, against their `log_time`, UTC).
//! So reading the file back (`callstitch parse`, `trace`, `ladder`) places every event at
//! the same UTC time as the store has it, and does not warn that the clocks are unplaced
//! (`no-header-clock`, docs/log-format.md). Events that never had a log time (a feed's JSON
//! lines) are placed by their AttributeTimeStamp instead, and read back with the log time
//! that header gives them; a site whose events have no UTC time at all gets a header with
//! its name only, as before.

use callstitch_tlib::tlog::{Header, LogWriter};
use callstitch_tlib::{Event, LocalTime, LogDate};

const MICROS_PER_MINUTE: i64 = 60_000_000;
const MICROS_PER_DAY: i64 = 24 * 60 * MICROS_PER_MINUTE;

/// Local minus UTC of `event`, in µs rounded to the minute (as log headers are read), when
/// it has its clock and a UTC time: its log time, else its AttributeTimeStamp (the server's
/// UTC clock, off by far less than the half minute the rounding forgives). Offsets run from
/// -12 h to +14 h.
fn clock_offset(event: &Event) -> Option<i64> {
    let clock = event.clock?;
    let utc = event.log_time.or(event.timestamp)?.0;
    let local = match clock.date.and_then(LogDate::midnight_micros) {
        Some(midnight) => midnight + clock.micros_of_day - utc,
        None => {
            let mut offset =
                (clock.micros_of_day - utc.rem_euclid(MICROS_PER_DAY)).rem_euclid(MICROS_PER_DAY);
            if offset > 14 * 60 * MICROS_PER_MINUTE {
                offset -= MICROS_PER_DAY;
            }
            offset
        }
    };
    Some((local as f64 / MICROS_PER_MINUTE as f64).round() as i64 * MICROS_PER_MINUTE)
}

fn dated(micros: i64) -> LocalTime {
    LocalTime {
        date: LogDate::from_midnight_micros(micros - micros.rem_euclid(MICROS_PER_DAY)),
        micros_of_day: micros.rem_euclid(MICROS_PER_DAY),
    }
}

/// `Time zone` as Genesys writes it (seconds west of UTC, then names), the names saying
/// the offset: `-19800, UTC+05:30, UTC+05:30`.
fn zone_text(offset: i64) -> String {
    let minutes = offset / MICROS_PER_MINUTE;
    let sign = if minutes < 0 { '-' } else { '+' };
    let name = format!("UTC{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60);
    format!("{}, {name}, {name}", -minutes * 60)
}

/// The header of `site` whose events (in write order) are `events`.
pub fn site_header(site: &str, events: &[&Event]) -> Header {
    let mut header = Header { application_name: Some(site.to_string()), ..Header::default() };
    let placed = events
        .iter()
        .find_map(|event| Some((event.log_time?.0, clock_offset(event)?)))
        .or_else(|| events.iter().find_map(|event| Some((event.timestamp?.0, clock_offset(event)?))));
    if let Some((utc, offset)) = placed {
        // The minute the first event falls in, so the header is no later than any clock.
        let utc = utc - utc.rem_euclid(MICROS_PER_MINUTE);
        header.time_zone = Some(zone_text(offset));
        header.utc_time = Some(dated(utc));
        header.local_time = Some(dated(utc + offset));
    }
    header
}

/// The log excerpt of `events`, in store order, each under its site's header; `site_order`
/// is the order the calls visit the sites.
pub fn log_excerpt(site_order: &[&str], events: &[&Event]) -> std::io::Result<String> {
    let mut writer = LogWriter::new(Vec::new());
    for site in site_order {
        let mine: Vec<&Event> = events.iter().copied().filter(|event| event.site == *site).collect();
        writer.write_header(&site_header(site, &mine))?;
        for event in mine {
            writer.write_event(event)?;
        }
    }
    Ok(String::from_utf8_lossy(&writer.into_inner()).into_owned())
}

#[cfg(test)]
mod tests {
    use callstitch_tlib::Timestamp;

    use super::*;

    fn at(clock: &str, utc: &str) -> Event {
        let mut event: Event =
            callstitch_tlib::json::event_from_json("{\"message\":\"EventRinging\",\"site\":\"S\"}")
                .expect("event");
        event.clock = LocalTime::parse_clock(clock.as_bytes())
            .map(|micros_of_day| LocalTime { date: None, micros_of_day });
        event.log_time = utc.parse::<jiff::Timestamp>().ok().map(|time| Timestamp(time.as_microsecond()));
        event
    }

    #[test]
    fn the_offset_comes_from_clock_and_utc_across_midnight() {
        let hour = 60 * MICROS_PER_MINUTE;
        assert_eq!(clock_offset(&at("09:41:00.5404", "2012-10-29T14:41:00.540400Z")), Some(-5 * hour));
        assert_eq!(
            clock_offset(&at("01:10:00.0000", "2026-02-02T19:40:00Z")),
            Some(5 * hour + 30 * MICROS_PER_MINUTE)
        );
        assert_eq!(clock_offset(&at("22:00:00.0000", "2026-02-03T06:00:00Z")), Some(-8 * hour));
        assert_eq!(zone_text(5 * hour + 30 * MICROS_PER_MINUTE), "-19800, UTC+05:30, UTC+05:30");
        assert_eq!(zone_text(-5 * hour), "18000, UTC-05:00, UTC-05:00");
    }

    #[test]
    fn a_site_without_utc_times_keeps_a_bare_header() {
        let mut event = at("09:41:00.5404", "2012-10-29T14:41:00Z");
        event.log_time = None;
        let header = site_header("S", &[&event]);
        assert_eq!((header.utc_time, header.time_zone), (None, None));
    }

    #[test]
    fn events_without_a_log_time_are_placed_by_their_time_stamp() {
        let mut event = at("03:00:00.3745", "2026-02-02T08:00:00Z");
        event.timestamp = event.log_time.map(|time| Timestamp(time.0 + 374_502));
        event.log_time = None;
        event.site = "TS_NYC".into();
        let header = site_header("TS_NYC", &[&event]);
        assert_eq!(header.time_zone.as_deref(), Some("18000, UTC-05:00, UTC-05:00"));
        let log = log_excerpt(&["TS_NYC"], &[&event]).expect("in memory");
        let mut reader = callstitch_tlib::tlog::LogReader::new(log.as_bytes(), Default::default());
        let read = reader.next_event().expect("in memory").expect("the event");
        assert!(reader.take_problems().is_empty(), "{log}");
        assert_eq!(
            read.log_time.map(|time| time.to_string()).as_deref(),
            Some("2026-02-02T08:00:00.374500Z")
        );
    }
}
