//! The accuracy check: interactions found (the linker's output) against the truth.
//!
//! Interactions are matched by their segment sets, never by id. Measures: pairwise
//! precision and recall over the pairs of segments placed in one interaction, the rate of
//! truth interactions found exactly (same segment set), and among those the rate found in
//! the right order; plus the first differences, in words.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::truth::{Interaction, SegmentRef};
use crate::verdicts::VerdictReport;
use crate::SimError;

/// One interaction as a list of segments in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    pub id: String,
    pub segments: Vec<SegmentRef>,
}

impl From<&Interaction> for Grouping {
    fn from(interaction: &Interaction) -> Grouping {
        Grouping {
            id: interaction.interaction_id.clone(),
            segments: interaction.segments.iter().map(|segment| segment.key()).collect(),
        }
    }
}

/// How to compare.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Leave the truth's consultation segments out on both sides (for a linker that folds
    /// a merged consultation into its main call).
    pub ignore_consultations: bool,
    /// Differences listed in words.
    pub max_differences: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions { ignore_consultations: false, max_differences: 10 }
    }
}

/// The result of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub truth_interactions: usize,
    pub found_interactions: usize,
    pub truth_pairs: u64,
    pub found_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub exact: usize,
    pub exact_rate: f64,
    pub ordered: usize,
    pub order_rate: f64,
    /// Truth segments no found interaction holds.
    pub missing_segments: usize,
    /// Found segments that are in no truth interaction.
    pub unknown_segments: usize,
    pub differences: Vec<String>,
    /// Differences beyond the ones listed.
    pub more_differences: usize,
    /// Per scenario of the truth: (found exactly and in order, total).
    pub by_scenario: BTreeMap<String, (usize, usize)>,
    /// Who released and who is heard, against the truth (set by the caller that has the found
    /// verdicts: [`crate::verify_verdicts`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<VerdictReport>,
}

impl VerifyReport {
    /// True when everything was found, exactly and in order, and no verdict checked names
    /// someone the truth does not (nor misses someone heard).
    pub fn is_perfect(&self) -> bool {
        self.precision == 1.0
            && self.recall == 1.0
            && self.exact == self.truth_interactions
            && self.ordered == self.exact
            && self.verdicts.as_ref().is_none_or(VerdictReport::is_right)
    }

    /// The report as text.
    pub fn render_text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "truth interactions: {}   found: {}",
            self.truth_interactions, self.found_interactions
        );
        let _ = writeln!(
            text,
            "pairwise precision: {:.4} ({} of {} found pairs)   recall: {:.4} ({} of {} true pairs)",
            self.precision,
            self.correct_pairs,
            self.found_pairs,
            self.recall,
            self.correct_pairs,
            self.truth_pairs
        );
        let _ = writeln!(
            text,
            "exact interactions: {:.4} ({} of {})",
            self.exact_rate, self.exact, self.truth_interactions
        );
        let _ = writeln!(
            text,
            "right order (of exact): {:.4} ({} of {})",
            self.order_rate, self.ordered, self.exact
        );
        let _ = writeln!(
            text,
            "segments missing: {}   segments not in the truth: {}",
            self.missing_segments, self.unknown_segments
        );
        let imperfect: Vec<String> = self
            .by_scenario
            .iter()
            .filter(|(_, (right, total))| right < total)
            .map(|(scenario, (right, total))| format!("{scenario} {right}/{total}"))
            .collect();
        if !imperfect.is_empty() {
            let _ = writeln!(text, "scenarios not all found exactly in order: {}", imperfect.join(", "));
        }
        if self.differences.is_empty() {
            let _ = writeln!(text, "no differences");
        } else {
            let _ = writeln!(text, "first differences:");
            for difference in &self.differences {
                let _ = writeln!(text, "  - {difference}");
            }
            if self.more_differences > 0 {
                let _ = writeln!(text, "  ... and {} more", self.more_differences);
            }
        }
        if let Some(verdicts) = &self.verdicts {
            text.push_str(&verdicts.render_text());
        }
        text
    }
}

/// Reads found interactions: JSON lines or one JSON array of objects, each with
/// `segments: [{site, call_uuid}, ...]` (other fields are ignored); the id is
/// `interaction_id` when present. A stream with revisions (the linker hands an interaction
/// out again when late evidence changes it) keeps the last revision of each id and drops
/// the ids a later interaction `replaces`.
pub fn read_groupings(text: &str) -> Result<Vec<Grouping>, SimError> {
    let mut groupings = Vec::new();
    for (line, value) in latest_objects(text)? {
        if let Some(grouping) = grouping_of(line, &value)? {
            groupings.push(grouping);
        }
    }
    Ok(groupings)
}

/// The objects of found output with their line, in order: the last revision of each
/// `interaction_id` in the place of its first, without the ids a later object `replaces`.
pub(crate) fn latest_objects(text: &str) -> Result<Vec<(u64, serde_json::Value)>, SimError> {
    let trimmed = text.trim_start();
    let values: Vec<(u64, serde_json::Value)> = if trimmed.starts_with('[') {
        let array: Vec<serde_json::Value> =
            serde_json::from_str(trimmed).map_err(|source| SimError::Json { line: 1, source })?;
        array.into_iter().map(|value| (1, value)).collect()
    } else {
        let mut values = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value = serde_json::from_str(line)
                .map_err(|source| SimError::Json { line: index as u64 + 1, source })?;
            values.push((index as u64 + 1, value));
        }
        values
    };
    let id_of = |value: &serde_json::Value| {
        value.get("interaction_id").and_then(|id| id.as_str()).unwrap_or_default().to_string()
    };
    let replaced: BTreeSet<String> = values
        .iter()
        .filter_map(|(_, value)| value.get("replaces").and_then(|ids| ids.as_array()))
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect();
    let mut latest: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept: Vec<(u64, serde_json::Value)> = Vec::new();
    for (line, value) in values {
        let id = id_of(&value);
        match latest.get(&id).filter(|_| !id.is_empty()) {
            Some(index) => kept[*index] = (line, value),
            None => {
                latest.insert(id, kept.len());
                kept.push((line, value));
            }
        }
    }
    kept.retain(|(_, value)| !replaced.contains(&id_of(value)));
    Ok(kept)
}

/// A grouping from one JSON object; `None` for an object that is not an interaction (a
/// summary line, say).
fn grouping_of(line: u64, value: &serde_json::Value) -> Result<Option<Grouping>, SimError> {
    let Some(segments) = value.get("segments").and_then(|segments| segments.as_array()) else {
        return Ok(None);
    };
    let mut refs = Vec::with_capacity(segments.len());
    for segment in segments {
        let reference: SegmentRef =
            serde_json::from_value(segment.clone()).map_err(|source| SimError::Json { line, source })?;
        refs.push(reference);
    }
    let id = value.get("interaction_id").and_then(|id| id.as_str()).unwrap_or_default().to_string();
    Ok(Some(Grouping { id, segments: refs }))
}

/// Compares `found` with `truth`.
pub fn verify(truth: &[Interaction], found: &[Grouping], options: &VerifyOptions) -> VerifyReport {
    let consultations: BTreeSet<SegmentRef> = truth
        .iter()
        .flat_map(|interaction| {
            interaction.segments.iter().filter(|segment| segment.consultation).map(|segment| segment.key())
        })
        .collect();
    let keep = |segments: &[SegmentRef]| -> Vec<SegmentRef> {
        segments
            .iter()
            .filter(|segment| !(options.ignore_consultations && consultations.contains(*segment)))
            .cloned()
            .collect()
    };
    let scenarios: Vec<String> = truth
        .iter()
        .map(|interaction| interaction.scenario.clone().unwrap_or_else(|| "-".to_string()))
        .collect();
    let truth: Vec<Grouping> = truth
        .iter()
        .map(|interaction| {
            let grouping = Grouping::from(interaction);
            Grouping { segments: keep(&grouping.segments), ..grouping }
        })
        .collect();
    let found: Vec<Grouping> = found
        .iter()
        .map(|grouping| Grouping { id: grouping.id.clone(), segments: keep(&grouping.segments) })
        .collect();
    let mut report = compare(&truth, &found, options.max_differences);
    report.by_scenario = by_scenario(&scenarios, &truth, &found);
    report
}

/// Per scenario: how many truth interactions were found exactly and in order.
fn by_scenario(
    scenarios: &[String],
    truth: &[Grouping],
    found: &[Grouping],
) -> BTreeMap<String, (usize, usize)> {
    let found_sets: BTreeSet<&[SegmentRef]> =
        found.iter().map(|grouping| grouping.segments.as_slice()).collect();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (scenario, grouping) in scenarios.iter().zip(truth) {
        let entry = counts.entry(scenario.clone()).or_default();
        entry.1 += 1;
        entry.0 += usize::from(found_sets.contains(grouping.segments.as_slice()));
    }
    counts
}

fn pairs(size: usize) -> u64 {
    let size = size as u64;
    size * size.saturating_sub(1) / 2
}

fn compare(truth: &[Grouping], found: &[Grouping], max_differences: usize) -> VerifyReport {
    let truth_of: BTreeMap<&SegmentRef, usize> = truth
        .iter()
        .enumerate()
        .flat_map(|(index, grouping)| grouping.segments.iter().map(move |segment| (segment, index)))
        .collect();
    let found_of: BTreeMap<&SegmentRef, usize> = found
        .iter()
        .enumerate()
        .flat_map(|(index, grouping)| grouping.segments.iter().map(move |segment| (segment, index)))
        .collect();
    let truth_pairs: u64 = truth.iter().map(|grouping| pairs(grouping.segments.len())).sum();
    let found_pairs: u64 = found.iter().map(|grouping| pairs(grouping.segments.len())).sum();
    let correct_pairs: u64 = found.iter().map(|grouping| correct_pairs_in(grouping, &truth_of)).sum();
    let mut differences = Differences::new(max_differences);
    let (mut exact, mut ordered, mut missing) = (0, 0, 0);
    for grouping in truth {
        let holders: BTreeSet<usize> =
            grouping.segments.iter().filter_map(|segment| found_of.get(segment).copied()).collect();
        let absent: Vec<&SegmentRef> =
            grouping.segments.iter().filter(|segment| !found_of.contains_key(*segment)).collect();
        missing += absent.len();
        for segment in &absent {
            differences.add(format!(
                "segment {} of interaction {} was not found",
                show(segment),
                grouping.id
            ));
        }
        if holders.len() > 1 {
            let parts: Vec<String> = holders.iter().map(|index| show_list(&found[*index].segments)).collect();
            differences.add(format!(
                "interaction {} was split into {} found interactions: {}",
                grouping.id,
                holders.len(),
                parts.join(" | ")
            ));
            continue;
        }
        let Some(index) = holders.first() else { continue };
        let candidate = &found[*index];
        let same_set = candidate.segments.len() == grouping.segments.len() && absent.is_empty();
        if !same_set {
            if candidate.segments.len() > grouping.segments.len() {
                differences.add(format!(
                    "interaction {} was merged with other segments: found {}",
                    grouping.id,
                    show_list(&candidate.segments)
                ));
            }
            continue;
        }
        exact += 1;
        if candidate.segments == grouping.segments {
            ordered += 1;
        } else {
            differences.add(format!(
                "interaction {}: segments in the wrong order: found {}, expected {}",
                grouping.id,
                show_list(&candidate.segments),
                show_list(&grouping.segments)
            ));
        }
    }
    let unknown: Vec<&SegmentRef> = found
        .iter()
        .flat_map(|grouping| grouping.segments.iter())
        .filter(|segment| !truth_of.contains_key(*segment))
        .collect();
    for segment in &unknown {
        differences.add(format!("found segment {} is in no interaction of the truth", show(segment)));
    }
    let rate = |part: usize, whole: usize| if whole == 0 { 1.0 } else { part as f64 / whole as f64 };
    VerifyReport {
        truth_interactions: truth.len(),
        found_interactions: found.len(),
        truth_pairs,
        found_pairs,
        correct_pairs,
        precision: if found_pairs == 0 { 1.0 } else { correct_pairs as f64 / found_pairs as f64 },
        recall: if truth_pairs == 0 { 1.0 } else { correct_pairs as f64 / truth_pairs as f64 },
        exact,
        exact_rate: rate(exact, truth.len()),
        ordered,
        order_rate: rate(ordered, exact),
        missing_segments: missing,
        unknown_segments: unknown.len(),
        more_differences: differences.more,
        differences: differences.listed,
        by_scenario: BTreeMap::new(),
        verdicts: None,
    }
}

/// Pairs of `grouping`'s segments that one truth interaction also holds together.
fn correct_pairs_in(grouping: &Grouping, truth_of: &BTreeMap<&SegmentRef, usize>) -> u64 {
    let mut per_truth: BTreeMap<usize, usize> = BTreeMap::new();
    for segment in &grouping.segments {
        if let Some(index) = truth_of.get(segment) {
            *per_truth.entry(*index).or_default() += 1;
        }
    }
    per_truth.values().map(|count| pairs(*count)).sum()
}

struct Differences {
    listed: Vec<String>,
    more: usize,
    max: usize,
}

impl Differences {
    fn new(max: usize) -> Differences {
        Differences { listed: Vec::new(), more: 0, max }
    }

    fn add(&mut self, text: String) {
        if self.listed.len() < self.max {
            self.listed.push(text);
        } else {
            self.more += 1;
        }
    }
}

fn show(segment: &SegmentRef) -> String {
    format!("{}:{}", segment.site, segment.call_uuid)
}

fn show_list(segments: &[SegmentRef]) -> String {
    let names: Vec<String> = segments.iter().map(show).collect();
    format!("[{}]", names.join(", "))
}
