//! Event times as the text recordings carry (`2026-02-02T13:30:04.380000Z`), written digit
//! by digit: a recording writes several per media file, and `Timestamp`'s `Display` through
//! the formatting machinery (padding each field) cost about 3,000 instructions a time, more
//! than the rest of building the file. The text is exactly `Timestamp`'s `Display`; times
//! RFC 3339 cannot write go through `Display` itself.

use callstitch_tlib::ids::civil_from_days;
use callstitch_tlib::Timestamp;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// The time's `Display` text.
pub(crate) fn time_text(time: Timestamp) -> String {
    if Timestamp::checked(time.0).is_none() {
        return time.to_string();
    }
    let (year, month, day) = civil_from_days(time.0.div_euclid(MICROS_PER_DAY));
    let of_day = time.0.rem_euclid(MICROS_PER_DAY);
    let seconds = of_day / MICROS_PER_SECOND;
    let mut text = String::with_capacity(27);
    push_digits(&mut text, year, 4);
    text.push('-');
    push_digits(&mut text, month, 2);
    text.push('-');
    push_digits(&mut text, day, 2);
    text.push('T');
    push_digits(&mut text, seconds / 3600, 2);
    text.push(':');
    push_digits(&mut text, seconds / 60 % 60, 2);
    text.push(':');
    push_digits(&mut text, seconds % 60, 2);
    text.push('.');
    push_digits(&mut text, of_day % MICROS_PER_SECOND, 6);
    text.push('Z');
    text
}

/// `value` (0 ≤ value < 10^width) zero-padded to `width` digits.
fn push_digits(text: &mut String, value: i64, width: u32) {
    let mut place = 10_i64.pow(width.saturating_sub(1));
    while place > 0 {
        let digit = (value / place % 10) as u8;
        text.push(char::from(b'0' + digit));
        place /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_display_text_from_year_0_to_9999_and_beyond() {
        let edges = [
            Timestamp::MIN.0,
            Timestamp::MIN.0 - 1,
            Timestamp::MAX.0,
            Timestamp::MAX.0 + 1,
            0,
            -1,
            951_782_400 * MICROS_PER_SECOND, // 2000-02-29
            1_770_039_004_380_000,
            i64::MIN,
            i64::MAX,
        ];
        // A walk over the whole range in uneven steps (every month, leap days, centuries).
        let step = 7_777_777_777_777;
        let walk = (0..)
            .map(|index: i64| Timestamp::MIN.0 + index * step)
            .take_while(|micros| *micros <= Timestamp::MAX.0);
        for micros in edges.into_iter().chain(walk) {
            let time = Timestamp(micros);
            assert_eq!(time_text(time), time.to_string(), "{micros} µs");
        }
    }
}
