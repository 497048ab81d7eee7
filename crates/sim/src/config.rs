//! The settings of a simulation run, with their defaults and the parsing of the `--rate`
//! and `--duration` texts the command line gives.

use crate::center::ContactCenter;
use crate::flow::Shapes;
use crate::scenario::{Scenario, MIX};
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
    /// A ConnID comes back only once its call on that server ended this long ago.
    pub conn_reuse_after_secs: u64,
    /// Hops to or from a T-Server that keep the sending call's ConnID, in percent.
    pub keep_conn_percent: u64,
    /// Conversations that last 10 to 30 minutes (longer than the linker's default link
    /// timeout), per thousand; 0 gives the short talk times of the simulator before issue 12.
    pub long_calls_per_mille: u64,
    /// The scenarios played and their weights; `None` is the whole mix
    /// ([`crate::scenario::MIX`]).
    pub mix: Option<Vec<(Scenario, u32)>>,
    /// The largest clock error of a site's server, in microseconds: each site but the first
    /// is off true time by a random amount up to this, either way.
    pub skew_max_micros: i64,
}

/// Interactions when neither a count nor a duration is given.
pub const DEFAULT_INTERACTIONS: u64 = 1_000;
/// 2026-02-02T08:00:00Z.
pub const DEFAULT_START_MICROS: i64 = 1_770_019_200_000_000;
/// 5% of conversations are long (10 to 30 minutes).
pub const DEFAULT_LONG_CALLS_PER_MILLE: u64 = 50;
/// ±450 ms: a receiving site can log a link before its sender, as in seed 000.
pub const DEFAULT_SKEW_MAX_MICROS: i64 = 450_000;
/// A day: beyond that a clock is not skewed but wrong (a wrong clock is a feed's shape, see
/// [`crate::feed`]).
pub const MAX_SKEW_MICROS: i64 = 86_400_000_000;

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
            conn_reuse_after_secs: 600,
            keep_conn_percent: 50,
            long_calls_per_mille: DEFAULT_LONG_CALLS_PER_MILLE,
            mix: None,
            skew_max_micros: DEFAULT_SKEW_MAX_MICROS,
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
        if !(0..=MAX_SKEW_MICROS).contains(&self.skew_max_micros) {
            return Err(SimError::Config(format!(
                "the clock skew must be 0 to 86400000 ms, not {} ms",
                self.skew_max_micros / 1000
            )));
        }
        for (what, value, most) in [
            ("long calls", self.long_calls_per_mille, 1000),
            ("ConnID reuse", self.conn_reuse_per_mille, 1000),
            ("ConnIDs kept across hops", self.keep_conn_percent * 10, 1000),
        ] {
            if value > most {
                return Err(SimError::Config(format!(
                    "{what} must be 0 to 100%, not {}%",
                    value as f64 / 10.0
                )));
            }
        }
        if self.mix.is_some() {
            let center = ContactCenter::for_config(self.sites, self.seed, self.skew_max_micros);
            let playable =
                self.weights().iter().any(|(scenario, weight)| *weight > 0 && scenario.feasible(&center));
            if !playable {
                return Err(SimError::Config(format!(
                    "none of the chosen scenarios can be played with {} sites (weights above 0, and enough sites of the kinds they need)",
                    self.sites
                )));
            }
        }
        if self.segment_bytes < 4096 {
            return Err(SimError::Config("log segments must hold at least 4096 bytes".to_string()));
        }
        Ok(())
    }

    /// The shapes every interaction's flow is built with.
    pub fn shapes(&self) -> Shapes {
        Shapes { long_calls_per_mille: self.long_calls_per_mille, keep_conn_percent: self.keep_conn_percent }
    }

    /// Each scenario of [`MIX`] with its weight in this run (0 for one left out).
    pub fn weights(&self) -> Vec<(Scenario, u32)> {
        match &self.mix {
            None => MIX.to_vec(),
            Some(chosen) => MIX
                .iter()
                .map(|(scenario, _)| {
                    let weight =
                        chosen.iter().find(|(wanted, _)| wanted == scenario).map_or(0, |(_, weight)| *weight);
                    (*scenario, weight)
                })
                .collect(),
        }
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

/// Reads a share such as `5`, `5%`, `0.5%` into thousandths (per mille), 0 to 100%.
pub fn parse_percent(text: &str) -> Result<u64, SimError> {
    let bad = || SimError::Config(format!("{text:?} is not a percentage from 0 to 100 (e.g. 5, 5%, 0.5%)"));
    let number = text.trim().trim_end_matches('%').trim();
    let thousandths = parse_thousandths(number).ok_or_else(bad)?;
    if thousandths % 100 != 0 || thousandths > 100_000 {
        return Err(bad());
    }
    Ok(thousandths / 100)
}

/// Reads `--scenarios`: comma-separated scenario names, each with an optional `=WEIGHT`
/// (else its weight in the mix), e.g. `return-trip,sip-refer-transfer=2`.
pub fn parse_scenarios(text: &str) -> Result<Vec<(Scenario, u32)>, SimError> {
    let mut chosen = Vec::new();
    for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
        let (name, weight) = match item.split_once('=') {
            Some((name, weight)) => {
                let weight = weight.trim().parse::<u32>().map_err(|_| {
                    SimError::Config(format!("{item:?}: the weight after = must be a whole number"))
                })?;
                (name.trim(), Some(weight))
            }
            None => (item, None),
        };
        let Some((scenario, default)) = MIX.iter().find(|(scenario, _)| scenario.slug() == name) else {
            let names: Vec<&str> = MIX.iter().map(|(scenario, _)| scenario.slug()).collect();
            return Err(SimError::Config(format!(
                "no scenario {name:?}; the scenarios are {}",
                names.join(", ")
            )));
        };
        chosen.retain(|(earlier, _)| earlier != scenario);
        chosen.push((*scenario, weight.unwrap_or(*default)));
    }
    if chosen.is_empty() {
        return Err(SimError::Config("--scenarios names no scenario".to_string()));
    }
    Ok(chosen)
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
    fn percentages_read_into_per_mille() {
        assert_eq!(parse_percent("5").ok(), Some(50));
        assert_eq!(parse_percent("5%").ok(), Some(50));
        assert_eq!(parse_percent("0.5%").ok(), Some(5));
        assert_eq!(parse_percent("100").ok(), Some(1000));
        assert_eq!(parse_percent("0").ok(), Some(0));
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("0.05").is_err());
        assert!(parse_percent("many").is_err());
    }

    #[test]
    fn scenarios_read_names_and_weights() {
        let chosen = parse_scenarios("return-trip, sip-refer-transfer=2").unwrap_or_default();
        assert_eq!(chosen, vec![(Scenario::ReturnTrip, 5), (Scenario::SipRefer, 2)]);
        assert!(parse_scenarios("return-trip,teleport").is_err());
        assert!(parse_scenarios("acd=x").is_err());
        assert!(parse_scenarios(",").is_err());
        let config = SimConfig { mix: Some(chosen), ..SimConfig::default() };
        let weights = config.weights();
        assert_eq!(weights.len(), MIX.len());
        assert_eq!(weights.iter().filter(|(_, weight)| *weight > 0).count(), 2);
        let zero = SimConfig { mix: Some(vec![(Scenario::Acd, 0)]), ..SimConfig::default() };
        assert!(zero.validate().is_err());
        let impossible =
            SimConfig { sites: 2, mix: Some(vec![(Scenario::SipRefer, 4)]), ..SimConfig::default() };
        assert!(impossible.validate().is_err(), "SIP to SIP needs two SIP Servers");
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
