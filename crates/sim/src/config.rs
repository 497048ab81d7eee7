//! The settings of a simulation run, with their defaults and the parsing of the `--rate`
//! and `--duration` texts the command line gives.

use crate::SimError;

/// How events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// T-Server / SIP Server log files, rotated into segments by size.
    #[default]
    Log,
    /// One JSON event per line (docs/event-json.md), one file per site.
    JsonLines,
}

/// A simulation run's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of sites (T-Servers and SIP Servers alternate, SIP first).
    pub sites: usize,
    /// Stop after this many interactions ...
    pub interactions: Option<u64>,
    /// ... or once arrivals pass this many simulated seconds (whichever comes first; with
    /// neither, [`DEFAULT_INTERACTIONS`] unless live).
    pub duration_secs: Option<u64>,
    /// Customer calls (interactions) arriving per second, in thousandths.
    pub rate_milli: u64,
    pub seed: u64,
    /// Inject noise (foreign lines, `[BSYNC]` copies, CRLF, cut blocks) and count it.
    pub noise: bool,
    pub format: OutputFormat,
    /// A log segment is rotated once it holds this many bytes.
    pub segment_bytes: u64,
    /// Simulated start, UTC microseconds since 1970 (ignored in live mode: now).
    pub start_micros: i64,
    /// New calls that reuse an old ConnID of their server, per thousand.
    pub conn_reuse_per_mille: u64,
}

/// Interactions when neither a count nor a duration is given.
pub const DEFAULT_INTERACTIONS: u64 = 1_000;
/// 2026-02-02T08:00:00Z.
pub const DEFAULT_START_MICROS: i64 = 1_770_019_200_000_000;

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            sites: 4,
            interactions: None,
            duration_secs: None,
            rate_milli: 5_000,
            seed: 1,
            noise: false,
            format: OutputFormat::Log,
            segment_bytes: 10 << 20,
            start_micros: DEFAULT_START_MICROS,
            conn_reuse_per_mille: 20,
        }
    }
}

impl SimConfig {
    /// Checks the settings that could make a run impossible.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.sites == 0 || self.sites > 64 {
            return Err(SimError::Config(format!("sites must be 1 to 64, not {}", self.sites)));
        }
        if self.rate_milli == 0 {
            return Err(SimError::Config("the rate must be above 0 calls per second".to_string()));
        }
        if self.segment_bytes < 4096 {
            return Err(SimError::Config("log segments must hold at least 4096 bytes".to_string()));
        }
        Ok(())
    }

    /// Mean time between two arrivals, in microseconds.
    pub fn mean_gap_micros(&self) -> i64 {
        (1_000_000_000 / self.rate_milli.max(1)).max(1) as i64
    }
}

/// Reads a rate such as `5`, `2.5`, `5/s`, `300/min`, `0.5/s` into thousandths per second.
pub fn parse_rate(text: &str) -> Result<u64, SimError> {
    let bad = || {
        SimError::Config(format!(
            "rate {text:?} is not a number of calls per second (e.g. 5, 2.5/s, 300/min)"
        ))
    };
    let (number, per) = match text.trim().split_once('/') {
        Some((number, unit)) => (number.trim(), unit.trim()),
        None => (text.trim(), "s"),
    };
    let divisor = match per {
        "s" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        _ => return Err(bad()),
    };
    let milli = parse_thousandths(number).ok_or_else(bad)?;
    let rate = milli / divisor;
    if rate == 0 {
        return Err(bad());
    }
    Ok(rate)
}

/// Reads a duration such as `90`, `90s`, `15m`, `2h` into seconds.
pub fn parse_duration(text: &str) -> Result<u64, SimError> {
    let text = text.trim();
    let bad = || SimError::Config(format!("duration {text:?} is not like 90s, 15m or 2h"));
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let value: u64 = digits.parse().map_err(|_| bad())?;
    let factor = match unit {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    value.checked_mul(factor).filter(|seconds| *seconds > 0).ok_or_else(bad)
}

/// `12.345` → 12345 (at most three decimals).
fn parse_thousandths(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut thousandths: u64 = 0;
    for (index, digit) in fraction.chars().enumerate() {
        let digit = u64::from(digit.to_digit(10)?);
        thousandths += digit * 10_u64.pow(2 - index as u32);
    }
    whole.checked_mul(1000)?.checked_add(thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_per_second_and_per_minute() {
        assert_eq!(parse_rate("5").ok(), Some(5_000));
        assert_eq!(parse_rate("2.5/s").ok(), Some(2_500));
        assert_eq!(parse_rate("300/min").ok(), Some(5_000));
        assert_eq!(parse_rate("0.25").ok(), Some(250));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("1.2345").is_err());
    }

    #[test]
    fn durations_read_units() {
        assert_eq!(parse_duration("90").ok(), Some(90));
        assert_eq!(parse_duration("15m").ok(), Some(900));
        assert_eq!(parse_duration("2h").ok(), Some(7200));
        assert!(parse_duration("2x").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
