//! The header block of a T-Server / SIP Server log file.
//!
//! `Application name` names the server (the `<application>` of other sites' location-names);
//! `UTC time` and `Local time` give the date of the `@` clock lines that follow and the
//! offset of the log clock (tlog-format.md "File header"). Rotated segments repeat it.

use serde::Serialize;

use crate::ids::LocalTime;

/// What a header said. Every field is optional: headers are often partial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Header {
    pub application_name: Option<String>,
    pub application_type: Option<String>,
    pub host_name: Option<String>,
    pub time_zone: Option<String>,
    #[serde(skip)]
    pub utc_time: Option<LocalTime>,
    #[serde(skip)]
    pub local_time: Option<LocalTime>,
    pub file: Option<String>,
}

/// Microseconds in a minute: header offsets are rounded to whole minutes.
const MICROS_PER_MINUTE: i64 = 60_000_000;

impl Header {
    /// Local time minus UTC, in microseconds, rounded to the minute; `None` unless both
    /// times and their dates are known.
    pub fn clock_offset_micros(&self) -> Option<i64> {
        let local = self.local_time?;
        let utc = self.utc_time?;
        let local_micros = local.date?.midnight_micros()? + local.micros_of_day;
        let utc_micros = utc.date?.midnight_micros()? + utc.micros_of_day;
        let offset = local_micros - utc_micros;
        Some((offset as f64 / MICROS_PER_MINUTE as f64).round() as i64 * MICROS_PER_MINUTE)
    }
}

/// A header line both readers take the same way: a new header begins at `Application name`
/// (a rotated segment repeats it), or at any key when none was read.
pub(crate) fn take_header_line(header: &mut Option<Header>, key: &str, value: &[u8]) -> HeaderLine {
    let begins = key == "Application name" || header.is_none();
    let header = match header {
        Some(header) if !begins => header,
        _ => header.insert(Header::default()),
    };
    let text = || String::from_utf8_lossy(value).into_owned();
    let time_ok = match key {
        "Application name" => set(&mut header.application_name, text()),
        "Application type" => set(&mut header.application_type, text()),
        "Host name" => set(&mut header.host_name, text()),
        "Time zone" => set(&mut header.time_zone, text()),
        "File" => set(&mut header.file, text()),
        "UTC time" => {
            header.utc_time = LocalTime::parse_iso(value);
            header.utc_time.is_some()
        }
        "Local time" => {
            header.local_time = LocalTime::parse_iso(value);
            header.local_time.is_some()
        }
        _ => true,
    };
    HeaderLine { begins, time_ok }
}

fn set(field: &mut Option<String>, text: String) -> bool {
    *field = Some(text);
    true
}

/// What one header line did.
pub(crate) struct HeaderLine {
    /// It began a new header (the clock starts again).
    pub(crate) begins: bool,
    /// False when it was a time that is not `YYYY-MM-DDTHH:MM:SS.fff`.
    pub(crate) time_ok: bool,
}

/// The header keys the reader recognises at the start of a line (`Key: value`).
pub(crate) const HEADER_KEYS: &[&str] = &[
    "Application name",
    "Application type",
    "Command line",
    "Host name",
    "DST",
    "Time zone",
    "UTC time",
    "Local time",
    "Start time (UTC)",
    "Running time",
    "Host info",
    "File",
];

/// Splits a `Key: value` header line when the key is a known header key.
pub(crate) fn split_header_line(line: &[u8]) -> Option<(&'static str, &[u8])> {
    let (key, value) = crate::bytes::split_around(line, memchr::memchr(b':', line)?, 1)?;
    let known = HEADER_KEYS.iter().find(|candidate| candidate.as_bytes() == key)?;
    Some((known, value.trim_ascii()))
}
