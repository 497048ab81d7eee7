//! Identities and times: ConnID, CallUUID, UTC time stamps and the local log clock.
//!
//! A ConnID is a 64-bit id printed as 16 hex digits; it repeats and changes (tlib-events.md
//! §4.1), so it is never an identity on its own. A CallUUID identifies one call on one server.
//! Times are UTC microseconds; the `@` clock of a log line is local time of day and only
//! becomes UTC with the file header's date and offset.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Text;

/// A T-Server connection id (AttributeConnID and its relatives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl ConnId {
    /// `0000000000000000` is how T-Server prints "no ConnID".
    pub fn is_null(self) -> bool {
        self.0 == 0
    }

    /// Reads 1 to 16 hex digits, either case. Anything else is `None`.
    pub fn parse_hex(text: &[u8]) -> Option<ConnId> {
        parse_hex_u64(text).map(ConnId)
    }
}

impl ConnId {
    /// The 16 lowercase hex digits T-Server prints, written nibble by nibble (`fmt`'s
    /// padded hex cost ten times as much, once per ConnID of every event's JSON line).
    fn hex(self) -> [u8; 16] {
        let mut text = [0_u8; 16];
        for (index, digit) in text.iter_mut().enumerate() {
            let nibble = ((self.0 >> (60 - 4 * index)) & 0xf) as u8;
            *digit = if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 };
        }
        text
    }
}

/// Digits and separators written into a buffer, as text (they are ASCII, so the fallback to
/// an empty text is never taken).
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ascii(&self.hex()))
    }
}

impl Serialize for ConnId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(ascii(&self.hex()))
    }
}

impl<'de> Deserialize<'de> for ConnId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ConnId::parse_hex(text.as_bytes())
            .ok_or_else(|| serde::de::Error::custom(format!("ConnID {text:?} is not 1 to 16 hex digits")))
    }
}

/// Reads 1 to 16 hex digits as a u64.
pub(crate) fn parse_hex_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 16 {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text {
        let digit = *HEX_DIGITS.get(usize::from(byte))?;
        if digit == NOT_HEX {
            return None;
        }
        value = (value << 4) | u64::from(digit);
    }
    Some(value)
}

const NOT_HEX: u8 = 0xFF;

/// The value of each byte as a hex digit, or [`NOT_HEX`].
// Built at compile time: an index out of range fails the build, it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
static HEX_DIGITS: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut index = 0;
    while index < 10 {
        table[b'0' as usize + index] = index as u8;
        index += 1;
    }
    let mut index = 0;
    while index < 6 {
        table[b'a' as usize + index] = 10 + index as u8;
        table[b'A' as usize + index] = 10 + index as u8;
        index += 1;
    }
    table
};

/// AttributeCallUUID (and OrigCallUUID / RefCallUUID): a call's id on one server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallUuid(pub Text);

impl CallUuid {
    pub fn new(text: &str) -> CallUuid {
        CallUuid(Text::from(text))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for CallUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One second in microseconds, the unit of [`Timestamp`] and of every duration of event time
/// (the one definition the other crates use).
pub const SECOND: i64 = 1_000_000;

const MICROS_PER_SECOND: i64 = SECOND;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A UTC instant in microseconds since 1970-01-01T00:00:00Z.
///
/// JSON and display form: RFC 3339 with six fractional digits, e.g.
/// `2012-10-29T14:41:00.540480Z`. The instants RFC 3339 can write in UTC are the range:
/// [`Timestamp::MIN`] (`0000-01-01T00:00:00Z`) to [`Timestamp::MAX`]
/// (`9999-12-31T23:59:59.999999Z`), both ends included, on input and on output alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const EPOCH_DAYS_FROM_MARCH_0000: i64 = 719_468;
/// Days in a 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_DAYS_FROM_MARCH_0000
}

/// The (year, month, day) of a count of days since 1970-01-01 (Hinnant's civil_from_days;
/// proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + EPOCH_DAYS_FROM_MARCH_0000;
    let era = days.div_euclid(DAYS_PER_ERA);
    let day_of_era = days - era * DAYS_PER_ERA;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Timestamp {
    /// `0000-01-01T00:00:00Z`, the first instant RFC 3339 can write.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200 * MICROS_PER_SECOND);
    /// `9999-12-31T23:59:59.999999Z`, the last instant RFC 3339 can write (to the microsecond).
    pub const MAX: Timestamp = Timestamp(253_402_300_800 * MICROS_PER_SECOND - 1);

    /// The instant, if it lies in the range RFC 3339 can write ([`Timestamp::MIN`] to
    /// [`Timestamp::MAX`]).
    pub fn checked(micros: i64) -> Option<Timestamp> {
        (Timestamp::MIN.0..=Timestamp::MAX.0).contains(&micros).then_some(Timestamp(micros))
    }

    /// The AttributeTimeStamp shape: 8 hex digits of seconds, then 8 of microseconds.
    pub fn parse_tlib_hex(text: &[u8]) -> Option<Timestamp> {
        if text.len() != 16 {
            return None;
        }
        let (seconds, micros) = text.split_at_checked(8)?;
        let (seconds, micros) = (parse_hex_u64(seconds)?, parse_hex_u64(micros)?);
        if micros >= 1_000_000 {
            return None;
        }
        Some(Timestamp(seconds as i64 * MICROS_PER_SECOND + micros as i64))
    }

    /// The AttributeTimeStamp form of this instant, when it fits (0 to 2^32-1 seconds).
    pub fn to_tlib_hex(self) -> Option<String> {
        let seconds = self.0.div_euclid(MICROS_PER_SECOND);
        let micros = self.0.rem_euclid(MICROS_PER_SECOND);
        let seconds = u32::try_from(seconds).ok()?;
        Some(format!("{seconds:08x}{micros:08x}"))
    }

    /// Reads RFC 3339 (`2012-10-29T14:41:00.540480Z`, any offset, up to 9 fractional digits;
    /// digits past the microsecond are dropped), if the instant lies in the range.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let pieces = jiff::fmt::temporal::Pieces::parse(text).ok()?;
        let offset = pieces.to_numeric_offset()?;
        let time = pieces.time()?;
        let date = pieces.date();
        let days = days_from_civil(i64::from(date.year()), i64::from(date.month()), i64::from(date.day()));
        let seconds_of_day =
            i64::from(time.hour()) * 3600 + i64::from(time.minute()) * 60 + i64::from(time.second());
        let local =
            (days * 86_400 + seconds_of_day) * MICROS_PER_SECOND + i64::from(time.subsec_nanosecond()) / 1000;
        Timestamp::checked(local - i64::from(offset.seconds()) * MICROS_PER_SECOND)
    }
}

/// `2012-10-29T14:41:00.540480Z`: the length of every RFC 3339 time a [`Timestamp`] writes.
const RFC3339_LEN: usize = 27;

impl Timestamp {
    /// The instant as RFC 3339 in UTC with microseconds (`2012-10-29T14:41:00.540480Z`), or
    /// `None` outside [`Timestamp::MIN`]..=[`Timestamp::MAX`]. Written digit by digit into
    /// a buffer: every event's JSON line and every document carries times, and `fmt`'s
    /// padded integers cost ten times as much.
    fn rfc3339(self) -> Option<Rfc3339> {
        Timestamp::checked(self.0)?;
        let (year, month, day) = civil_from_days(self.0.div_euclid(MICROS_PER_DAY));
        let of_day = self.0.rem_euclid(MICROS_PER_DAY);
        let seconds = of_day / MICROS_PER_SECOND;
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        put_digits(&mut text[0..4], year);
        put_digits(&mut text[5..7], month);
        put_digits(&mut text[8..10], day);
        put_digits(&mut text[11..13], seconds / 3600);
        put_digits(&mut text[14..16], seconds / 60 % 60);
        put_digits(&mut text[17..19], seconds % 60);
        put_digits(&mut text[20..26], of_day % MICROS_PER_SECOND);
        Some(Rfc3339(text))
    }
}

/// A time written by [`Timestamp::rfc3339`]: ASCII digits and separators only.
struct Rfc3339([u8; RFC3339_LEN]);

impl Rfc3339 {
    fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

/// Writes `value` (not negative, with no more digits than `out` has room for) as decimal
/// digits filling `out`, zero-padded on the left.
fn put_digits(out: &mut [u8], mut value: i64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rfc3339() {
            Some(text) => f.write_str(text.as_str()),
            None => write!(f, "@{}us", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339() {
            Some(text) => serializer.serialize_str(text.as_str()),
            None => Err(serde::ser::Error::custom("time stamp out of range")),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "time {text:?} is not RFC 3339 from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z \
                 (e.g. 2012-10-29T14:41:00.540480Z)"
            ))
        })
    }
}

/// A civil (calendar) date as a log prints it, with no time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogDate {
    pub year: i16,
    pub month: i8,
    pub day: i8,
}

impl LogDate {
    /// Reads `YYYY-MM-DD`.
    pub fn parse(text: &[u8]) -> Option<LogDate> {
        let &[y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = text else { return None };
        let year = parse_decimal(&[y1, y2, y3, y4])? as i16;
        let month = parse_decimal(&[m1, m2])? as i8;
        let day = parse_decimal(&[d1, d2])? as i8;
        let date = LogDate { year, month, day };
        date.to_jiff().map(|_| date)
    }

    fn to_jiff(self) -> Option<jiff::civil::Date> {
        jiff::civil::Date::new(self.year, self.month, self.day).ok()
    }

    /// Microseconds from 1970-01-01 to this date's midnight, counting the date as UTC.
    pub fn midnight_micros(self) -> Option<i64> {
        let date = self.to_jiff()?;
        let zoned = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
        Some(zoned.timestamp().as_microsecond())
    }

    /// The date of the day that starts at `micros` since 1970 (counted as UTC).
    pub fn from_midnight_micros(micros: i64) -> Option<LogDate> {
        let instant =
            jiff::Timestamp::from_microsecond(micros.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY).ok()?;
        let date = instant.to_zoned(jiff::tz::TimeZone::UTC).date();
        Some(LogDate { year: date.year(), month: date.month(), day: date.day() })
    }
}

impl fmt::Display for LogDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The local clock a log line was stamped with: time of day, and the date when the line
/// printed one (ISO request trace lines do; `@` event lines do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalTime {
    pub date: Option<LogDate>,
    /// Microseconds since local midnight (below 86,400,000,000).
    pub micros_of_day: i64,
}

impl LocalTime {
    /// Reads `HH:MM:SS` with an optional `.` and 1 to 6 fractional digits.
    pub fn parse_clock(text: &[u8]) -> Option<i64> {
        let &[h1, h2, b':', m1, m2, b':', s1, s2, ref rest @ ..] = text else { return None };
        let hours = parse_decimal(&[h1, h2])?;
        let minutes = parse_decimal(&[m1, m2])?;
        let seconds = parse_decimal(&[s1, s2])?;
        if hours > 23 || minutes > 59 || seconds > 60 {
            return None;
        }
        let mut micros = 0;
        match rest {
            [] => {}
            [b'.', fraction @ ..] if (1..=6).contains(&fraction.len()) => {
                micros = parse_decimal(fraction)? * 10_i64.pow(6 - fraction.len() as u32);
            }
            _ => return None,
        }
        Some(((hours * 60 + minutes) * 60 + seconds) * MICROS_PER_SECOND + micros)
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS(.f+)?`.
    pub fn parse_iso(text: &[u8]) -> Option<LocalTime> {
        let (date, rest) = text.split_at_checked(10)?;
        let [b'T', clock @ ..] = rest else { return None };
        let date = LogDate::parse(date)?;
        let micros_of_day = LocalTime::parse_clock(clock)?;
        Some(LocalTime { date: Some(date), micros_of_day })
    }

    /// The clock as a log prints it: `HH:MM:SS.ffff` (four digits when the value allows,
    /// six otherwise), prefixed with `YYYY-MM-DDT` when there is a date. Written digit by
    /// digit (every event's JSON line has one); through `fmt` for values no log prints.
    pub fn clock_text(&self) -> String {
        self.clock_digits().unwrap_or_else(|| self.clock_text_by_fmt())
    }

    /// [`LocalTime::clock_text`] for a clock of two-digit hours and a date of years 0 to
    /// 9999 (`None` otherwise).
    fn clock_digits(&self) -> Option<String> {
        let seconds = u64::try_from(self.micros_of_day).ok()? / 1_000_000;
        let micros = u64::try_from(self.micros_of_day).ok()? % 1_000_000;
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        if h > 99 {
            return None;
        }
        let mut text = String::with_capacity(26);
        let mut put = |value: u64, width: u32, after: Option<char>| {
            let mut unit = 10_u64.pow(width.saturating_sub(1));
            while unit > 0 {
                text.push(char::from(b'0' + (value / unit % 10) as u8));
                unit /= 10;
            }
            text.extend(after);
        };
        if let Some(date) = self.date {
            let year = u64::try_from(date.year).ok().filter(|year| *year <= 9999)?;
            let month = u64::try_from(date.month).ok().filter(|month| *month <= 99)?;
            let day = u64::try_from(date.day).ok().filter(|day| *day <= 99)?;
            put(year, 4, Some('-'));
            put(month, 2, Some('-'));
            put(day, 2, Some('T'));
        }
        put(h, 2, Some(':'));
        put(m, 2, Some(':'));
        put(s, 2, Some('.'));
        match micros % 100 {
            0 => put(micros / 100, 4, None),
            _ => put(micros, 6, None),
        }
        Some(text)
    }

    /// [`LocalTime::clock_text`] through `fmt`, for any value.
    fn clock_text_by_fmt(&self) -> String {
        let seconds = self.micros_of_day / MICROS_PER_SECOND;
        let micros = self.micros_of_day % MICROS_PER_SECOND;
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        let fraction =
            if micros % 100 == 0 { format!("{:04}", micros / 100) } else { format!("{micros:06}") };
        match self.date {
            Some(date) => format!("{date}T{h:02}:{m:02}:{s:02}.{fraction}"),
            None => format!("{h:02}:{m:02}:{s:02}.{fraction}"),
        }
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.clock_text())
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let bytes = text.as_bytes();
        let parsed = match bytes.get(10) {
            Some(b'T') => LocalTime::parse_iso(bytes),
            _ => LocalTime::parse_clock(bytes).map(|micros_of_day| LocalTime { date: None, micros_of_day }),
        };
        parsed.ok_or_else(|| {
            serde::de::Error::custom(format!(
                "clock {text:?} is neither HH:MM:SS.ffff nor YYYY-MM-DDTHH:MM:SS.fff"
            ))
        })
    }
}

/// Reads ASCII decimal digits into an i64; `None` on anything else or on overflow.
pub(crate) fn parse_decimal(text: &[u8]) -> Option<i64> {
    parse_decimal_u64(text).and_then(|value| i64::try_from(value).ok())
}

/// Reads ASCII decimal digits into a u64; `None` on anything else or on overflow.
pub(crate) fn parse_decimal_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy as _;

    use super::*;

    /// How a time stamp was written before [`Timestamp::rfc3339`]: through `fmt`.
    fn written_by_fmt(stamp: Timestamp) -> String {
        let (year, month, day) = civil_from_days(stamp.0.div_euclid(MICROS_PER_DAY));
        let of_day = stamp.0.rem_euclid(MICROS_PER_DAY);
        let seconds = of_day / MICROS_PER_SECOND;
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            of_day % MICROS_PER_SECOND
        )
    }

    proptest::proptest! {
        /// ConnIDs are written as `fmt`'s `{:016x}` wrote them, in text and in JSON.
        #[test]
        fn conn_ids_are_written_as_fmt_wrote_them(value in proptest::prelude::any::<u64>()) {
            let conn = ConnId(value);
            proptest::prop_assert_eq!(conn.to_string(), format!("{value:016x}"));
            proptest::prop_assert_eq!(serde_json::to_string(&conn).unwrap(), format!("\"{value:016x}\""));
        }

        /// Clocks are written digit by digit exactly as through `fmt`, with and without a
        /// date, inside and outside the range a log prints (negative, hours past 99, years
        /// before 0 or after 9999, months and days out of range).
        #[test]
        fn clocks_are_written_as_fmt_wrote_them(
            micros_of_day in proptest::prop_oneof![
                0_i64..86_401_000_000,
                (0_i64..86_400_000_000).prop_map(|micros| micros / 100 * 100),
                proptest::prelude::any::<i64>(),
            ],
            date in proptest::option::of((-20_i16..10_020, proptest::prelude::any::<i8>(), proptest::prelude::any::<i8>())),
        ) {
            let date = date.map(|(year, month, day)| LogDate { year, month, day });
            let clock = LocalTime { date, micros_of_day };
            proptest::prop_assert_eq!(clock.clock_text(), clock.clock_text_by_fmt());
        }

        /// The digit-by-digit writer gives exactly what `fmt` gave, over the whole range
        /// (and JSON gets the same string as Display).
        #[test]
        fn time_stamps_are_written_as_fmt_wrote_them(micros in Timestamp::MIN.0..=Timestamp::MAX.0) {
            let stamp = Timestamp(micros);
            let text = stamp.to_string();
            proptest::prop_assert_eq!(&text, &written_by_fmt(stamp));
            proptest::prop_assert_eq!(text.len(), RFC3339_LEN);
            proptest::prop_assert_eq!(serde_json::to_string(&stamp).unwrap(), format!("\"{text}\""));
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&text), Some(stamp));
        }
    }

    #[test]
    fn time_stamps_outside_rfc3339_are_written_in_microseconds_and_not_serialised() {
        let before = Timestamp(Timestamp::MIN.0 - 1);
        assert_eq!(before.to_string(), format!("@{}us", Timestamp::MIN.0 - 1));
        assert_eq!(Timestamp(Timestamp::MAX.0 + 1).to_string(), format!("@{}us", Timestamp::MAX.0 + 1));
        assert!(serde_json::to_string(&before).is_err());
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn conn_id_prints_as_16_hex_digits() {
        let conn = ConnId::parse_hex(b"009a021843038407").unwrap();
        assert_eq!(conn.0, 0x009a021843038407);
        assert_eq!(conn.to_string(), "009a021843038407");
        assert_eq!(ConnId::parse_hex(b"00890").unwrap().to_string(), "0000000000000890");
        assert_eq!(ConnId::parse_hex(b"009A021843038407"), Some(conn));
        assert_eq!(ConnId::parse_hex(b"0x9a"), None);
        assert_eq!(ConnId::parse_hex(b"00000000000000000"), None);
    }

    #[test]
    fn tlib_time_stamp_is_seconds_then_microseconds() {
        let stamp = Timestamp::parse_tlib_hex(b"508e957c00083f40").unwrap();
        assert_eq!(stamp.to_string(), "2012-10-29T14:41:00.540480Z");
        assert_eq!(stamp.to_tlib_hex().unwrap(), "508e957c00083f40");
        assert_eq!(Timestamp::parse_rfc3339("2012-10-29T14:41:00.540480Z"), Some(stamp));
        assert_eq!(Timestamp::parse_tlib_hex(b"508e957c000f4240"), None, "a million micros");
    }

    #[test]
    fn rfc3339_times_are_read_from_year_0000_to_year_9999_at_both_ends() {
        let first = Timestamp::parse_rfc3339("0000-01-01T00:00:00Z");
        let last = Timestamp::parse_rfc3339("9999-12-31T23:59:59.999999Z");
        assert_eq!((first, last), (Some(Timestamp::MIN), Some(Timestamp::MAX)));
        assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00.000000Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999999Z");
        assert_eq!(Timestamp::parse_rfc3339("9999-12-31T23:59:59.999999999Z"), Some(Timestamp::MAX));
        assert_eq!(
            Timestamp::parse_rfc3339("0001-01-01T00:59:59+01:00"),
            Timestamp::checked(-62_135_596_801_000_000)
        );
        for outside in [
            "9999-12-31T23:59:59-00:01",
            "0000-01-01T00:00:00+00:01",
            "-000001-12-31T23:59:59Z",
            "+010000-01-01T00:00:00Z",
            "2012-10-29T14:41:00",
            "2012-10-29",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(outside), None, "{outside}");
        }
        let json = |text: &str| serde_json::from_str::<Timestamp>(&format!("\"{text}\"")).ok();
        assert_eq!(json("9999-12-31T23:59:59.999999Z"), Some(Timestamp::MAX));
        assert_eq!(json("0000-01-01T00:00:00Z"), Some(Timestamp::MIN));
        assert_eq!(
            serde_json::to_string(&Timestamp::MAX).ok().as_deref(),
            Some("\"9999-12-31T23:59:59.999999Z\"")
        );
        assert!(serde_json::to_string(&Timestamp(Timestamp::MAX.0 + 1)).is_err());
        assert_eq!(Timestamp(Timestamp::MIN.0 - 1).to_string(), format!("@{}us", Timestamp::MIN.0 - 1));
    }

    #[test]
    fn the_calendar_agrees_with_jiff_wherever_jiff_reaches() {
        let mut micros = Timestamp::MIN.0 + 86_400 * MICROS_PER_SECOND;
        let step = 7_919 * 3_607 * MICROS_PER_SECOND + 123_457;
        while micros < Timestamp::MAX.0 - 2 * 86_400 * MICROS_PER_SECOND {
            let ours = Timestamp(micros).to_string();
            let theirs = jiff::Timestamp::from_microsecond(micros)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
            assert_eq!(Ok(ours.clone()), theirs.map_err(|e| e.to_string()), "{micros}");
            assert_eq!(Timestamp::parse_rfc3339(&ours), Some(Timestamp(micros)));
            micros += step;
        }
    }

    #[test]
    fn clocks_read_one_to_six_fraction_digits() {
        assert_eq!(LocalTime::parse_clock(b"09:41:00.5404"), Some(34_860_540_400));
        assert_eq!(LocalTime::parse_clock(b"09:41:00"), Some(34_860_000_000));
        assert_eq!(LocalTime::parse_clock(b"09:41:00.540480"), Some(34_860_540_480));
        assert_eq!(LocalTime::parse_clock(b"24:00:00.0000"), None);
        assert_eq!(LocalTime::parse_clock(b"09:41:00.1234567"), None);
        let iso = LocalTime::parse_iso(b"2026-02-02T13:56:06.078").unwrap();
        assert_eq!(iso.clock_text(), "2026-02-02T13:56:06.0780");
    }
}
