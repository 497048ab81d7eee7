//! The interaction search: its filters, its page and the opaque cursor between pages, and
//! the counts of everything a filter matches ([`Tally`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::Summary;

use crate::error::StoreError;

/// Filters of `GET /v1/interactions`; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InteractionQuery {
    /// A segment with this CallUUID (or call key).
    pub call_uuid: Option<String>,
    /// A segment that had this ConnID (16 lowercase hex digits).
    pub conn_id: Option<String>,
    /// A party DN, the ANI or the DNIS.
    pub dn: Option<String>,
    /// An Inter-Site Link id among its links, paired or not (a link end seen on one site).
    pub islink: Option<String>,
    /// Any of the ids above: a CallUUID (or call key), a DN, an Inter-Site Link id, or a
    /// ConnID when the text is one ([`conn_id`]): the search box's "any id".
    pub any_id: Option<String>,
    /// A segment on this site.
    pub site: Option<String>,
    /// Started at or after (UTC µs).
    pub from_us: Option<i64>,
    /// Started before (UTC µs).
    pub to_us: Option<i64>,
    pub outcome: Option<String>,
    /// `customer`, `agent`, `system`, `unknown`, or the DN that released it.
    pub released_by: Option<String>,
    pub has_findings: Option<bool>,
    pub complete: Option<bool>,
    /// `live`, `settling` or `complete`.
    pub state: Option<String>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

/// Hex digits of an interaction id (`callstitch_link::interaction_id`).
const INTERACTION_ID_DIGITS: usize = 16;

/// A ConnID as stored (16 lowercase hex digits) from 1 to 16 hex digits in any case, or
/// `None` when the text is no ConnID.
pub fn conn_id(text: &str) -> Option<String> {
    let valid = !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| format!("{:0>16}", text.to_ascii_lowercase()))
}

/// Where the previous page ended: newest first by start time, then by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub start_us: i64,
    pub id: String,
}

impl Cursor {
    /// `<start µs>.<id>`: URL-safe as it is (ids are hex).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.start_us, self.id)
    }

    /// Reads what [`Cursor::encode`] wrote: a decimal start and an interaction id, which is
    /// 16 lowercase hex digits (anything else is no cursor of this service).
    pub fn decode(text: &str) -> Result<Cursor, StoreError> {
        let bad = || StoreError::BadCursor(text.to_string());
        let (start, id) = text.split_once('.').ok_or_else(bad)?;
        let start_us = start.parse().map_err(|_| bad())?;
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        let id_ok = id.len() == INTERACTION_ID_DIGITS && id.bytes().all(lower_hex);
        if !id_ok {
            return Err(bad());
        }
        Ok(Cursor { start_us, id: id.to_string() })
    }
}

/// One page of interaction summaries (the search list's rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub items: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// How many interactions a filter matches, by outcome and by site (an interaction counts
/// under every site it visited, as the site filter finds it), with their durations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub interactions: u64,
    /// Summed over the interactions whose start and end are known, in µs.
    pub duration_us: i64,
    /// Interactions with a known start and end.
    pub timed: u64,
    pub by_outcome: BTreeMap<String, Count>,
    pub by_site: BTreeMap<String, SiteCount>,
}

/// Interactions of one outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Count {
    pub interactions: u64,
    pub duration_us: i64,
    pub timed: u64,
}

/// Interactions that visited one site, by outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteCount {
    pub interactions: u64,
    pub by_outcome: BTreeMap<String, u64>,
}

impl Count {
    /// The mean duration in seconds, when any is known.
    pub fn mean_duration_s(&self) -> Option<f64> {
        (self.timed > 0).then(|| self.duration_us as f64 / self.timed as f64 / 1e6)
    }
}

impl Tally {
    /// Counts one interaction: its outcome, the sites it visited (each once), its duration.
    pub fn add(&mut self, outcome: &str, sites: &[&str], duration_us: Option<i64>) {
        self.interactions += 1;
        let count = self.by_outcome.entry(outcome.to_string()).or_default();
        count.interactions += 1;
        if let Some(duration) = duration_us {
            count.duration_us += duration;
            count.timed += 1;
            self.duration_us += duration;
            self.timed += 1;
        }
        let mut seen: Vec<&str> = Vec::with_capacity(sites.len());
        for site in sites {
            if seen.contains(site) {
                continue;
            }
            seen.push(site);
            let count = self.by_site.entry(site.to_string()).or_default();
            count.interactions += 1;
            *count.by_outcome.entry(outcome.to_string()).or_default() += 1;
        }
    }

    /// Counts one row of the search list (its outcome, sites, start and end).
    pub fn add_summary(&mut self, summary: &Summary) {
        let sites: Vec<&str> = summary.sites.iter().map(String::as_str).collect();
        self.add(&summary.outcome, &sites, summary.duration_us());
    }

    /// The mean duration in seconds over every interaction whose duration is known.
    pub fn mean_duration_s(&self) -> Option<f64> {
        (self.timed > 0).then(|| self.duration_us as f64 / self.timed as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_tampering() {
        let cursor = Cursor { start_us: 1_351_521_660_540_480, id: "8800f70a5c563897".to_string() };
        assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        let before_1970 = Cursor { start_us: -1, id: "8800f70a5c563897".to_string() };
        assert_eq!(Cursor::decode(&before_1970.encode()).ok(), Some(before_1970));
        for bad in ["", "12", "x.abc", "12.", "12.a'b", "12.a b", "12.zzzz", "12.9F0A11", "12.9f0a1g"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// Interaction ids are 16 hex digits: a shorter or longer id is no cursor of this
    /// service (the adversarial run's `0.0` and `-1.abc` were taken as cursors).
    #[test]
    fn a_cursor_whose_id_is_not_sixteen_hex_digits_is_refused() {
        for bad in ["0.0", "-1.abc", "12.8800f70a5c56389", "12.8800f70a5c5638970", "12.9f0a11"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_tally_counts_a_multi_site_interaction_once_per_site_and_once_overall() {
        let mut tally = Tally::default();
        tally.add("answered", &["A", "B", "A"], Some(2_000_000));
        tally.add("abandoned-in-queue", &["A"], None);
        assert_eq!(tally.interactions, 2);
        assert_eq!(tally.by_site["A"].interactions, 2);
        assert_eq!(tally.by_site["B"].by_outcome["answered"], 1);
        assert_eq!(tally.by_outcome["abandoned-in-queue"].mean_duration_s(), None);
        assert_eq!(tally.mean_duration_s(), Some(2.0));
    }

    #[test]
    fn conn_ids_of_any_case_and_length_are_stored_as_sixteen_lowercase_digits() {
        assert_eq!(conn_id("9A0218").as_deref(), Some("00000000009a0218"));
        for bad in ["", "xyz", "00112233445566778899", "12 4"] {
            assert_eq!(conn_id(bad), None, "{bad:?}");
        }
    }
}
