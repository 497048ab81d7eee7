//! The release and recording check: who ended each interaction, how each party left, and
//! who is heard on each media file, as found (`callstitch trace --json`) against the truth.
//!
//! An interaction is checked when it was found exactly (the same segment set); a party when
//! its segment was found (matched by DN and appearance); a media file by its media id. A
//! verdict is *right* when it names who the truth says, *wrong* when it names someone else,
//! *unknown* when it says the evidence cannot decide; an unknown interaction verdict's
//! candidate is counted right or wrong apart, since it is a guess, not a verdict
//! (docs/engine.md, "Honest inference"). A file must hear at least the truth's `heard`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::truth::{Interaction, Party, ReleasedBy, SegmentRef};
use crate::verify::latest_objects;
use crate::SimError;

/// What a found interaction says of who released and who is heard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoundVerdicts {
    pub segments: Vec<SegmentRef>,
    pub released_by: Option<ReleasedBy>,
    /// Each segment's parties, with their own verdicts.
    pub parties: Vec<(SegmentRef, Vec<Party>)>,
    /// Media id → the DNs heard on the file.
    pub heard: BTreeMap<String, Vec<String>>,
}

/// Reads found interactions (JSON lines or one JSON array, the last revision of each id) for
/// [`verify_verdicts`].
pub fn read_verdicts(text: &str) -> Result<Vec<FoundVerdicts>, SimError> {
    let mut found = Vec::new();
    for (line, value) in latest_objects(text)? {
        let Some(segments) = value.get("segments").and_then(|segments| segments.as_array()) else {
            continue;
        };
        let json = |source| SimError::Json { line, source };
        let mut verdicts = FoundVerdicts::default();
        for segment in segments {
            let reference: SegmentRef = serde_json::from_value(segment.clone()).map_err(json)?;
            let parties = match segment.get("parties") {
                Some(parties) => serde_json::from_value(parties.clone()).map_err(json)?,
                None => Vec::new(),
            };
            verdicts.segments.push(reference.clone());
            verdicts.parties.push((reference, parties));
        }
        if let Some(released) = value.get("released_by") {
            verdicts.released_by = Some(serde_json::from_value(released.clone()).map_err(json)?);
        }
        let files = value.pointer("/recording/media_files").and_then(|files| files.as_array());
        for file in files.into_iter().flatten() {
            let Some(media_id) = file.get("media_id").and_then(|id| id.as_str()) else { continue };
            let heard = file.get("heard").and_then(|heard| heard.as_array());
            let dns = heard.into_iter().flatten().filter_map(|party| party.get("dn")?.as_str());
            verdicts.heard.insert(media_id.to_string(), dns.map(str::to_string).collect());
        }
        found.push(verdicts);
    }
    Ok(found)
}

/// Verdicts by how they compare with the truth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    pub right: usize,
    pub wrong: usize,
    /// Verdicts that say `unknown`.
    pub unknown: usize,
    /// Of the unknown ones, the candidates that name who the truth says, and the others.
    pub candidate_right: usize,
    pub candidate_wrong: usize,
}

impl VerdictCounts {
    fn render(&self) -> String {
        let mut text = format!("{} right, {} wrong, {} unknown", self.right, self.wrong, self.unknown);
        if self.candidate_right + self.candidate_wrong > 0 {
            let _ =
                write!(text, " (candidate right {}, wrong {})", self.candidate_right, self.candidate_wrong);
        }
        text
    }
}

/// The result of [`verify_verdicts`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerdictReport {
    /// Who ended each interaction found exactly.
    pub interactions: VerdictCounts,
    /// How each party of a found segment left (`self` / `other`).
    pub parties: VerdictCounts,
    /// Media files of the truth found by media id, and how many of them miss someone the
    /// truth says is heard.
    pub files: usize,
    pub files_missing_heard: usize,
    pub differences: Vec<String>,
    pub more_differences: usize,
}

impl VerdictReport {
    /// No verdict names someone the truth does not, and every file hears whom it should.
    pub fn is_right(&self) -> bool {
        self.interactions.wrong == 0 && self.parties.wrong == 0 && self.files_missing_heard == 0
    }

    pub fn render_text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "interactions released by: {}", self.interactions.render());
        let _ = writeln!(text, "parties released by: {}", self.parties.render());
        let _ = writeln!(
            text,
            "media files: {} checked, {} missing someone who is heard",
            self.files, self.files_missing_heard
        );
        for difference in &self.differences {
            let _ = writeln!(text, "  - {difference}");
        }
        if self.more_differences > 0 {
            let _ = writeln!(text, "  ... and {} more", self.more_differences);
        }
        text
    }

    fn differ(&mut self, max: usize, text: String) {
        if self.differences.len() < max {
            self.differences.push(text);
        } else {
            self.more_differences += 1;
        }
    }
}

/// How a found `who` / `dn` compares with the truth's.
fn names(truth: &ReleasedBy, who: &str, dn: Option<&str>) -> bool {
    who == truth.who && truth.dn.as_deref().is_none_or(|truth_dn| dn == Some(truth_dn))
}

/// Compares the verdicts and the heard lists of `found` with `truth`.
pub fn verify_verdicts(
    truth: &[Interaction],
    found: &[FoundVerdicts],
    max_differences: usize,
) -> VerdictReport {
    let mut report = VerdictReport::default();
    let by_set: BTreeMap<BTreeSet<&SegmentRef>, &FoundVerdicts> =
        found.iter().map(|verdicts| (verdicts.segments.iter().collect(), verdicts)).collect();
    let parties: BTreeMap<&SegmentRef, &[Party]> = found
        .iter()
        .flat_map(|verdicts| verdicts.parties.iter().map(|(segment, parties)| (segment, parties.as_slice())))
        .collect();
    let heard: BTreeMap<&str, &[String]> = found
        .iter()
        .flat_map(|verdicts| verdicts.heard.iter().map(|(id, dns)| (id.as_str(), dns.as_slice())))
        .collect();
    for interaction in truth {
        let keys: Vec<SegmentRef> = interaction.segments.iter().map(|segment| segment.key()).collect();
        if let (Some(expected), Some(found)) = (&interaction.released_by, by_set.get(&keys.iter().collect()))
        {
            check_interaction(&mut report, max_differences, &interaction.interaction_id, expected, found);
        }
        for (segment, key) in interaction.segments.iter().zip(&keys) {
            if let Some(found) = parties.get(key) {
                check_parties(&mut report, max_differences, key, &segment.parties, found);
            }
        }
        for file in &interaction.media {
            let Some(found) = heard.get(file.media_id.as_str()) else { continue };
            report.files += 1;
            let missing: Vec<&String> = file.heard.iter().filter(|dn| !found.contains(dn)).collect();
            if !missing.is_empty() {
                report.files_missing_heard += 1;
                let text = format!("file {}: {missing:?} not heard (heard {found:?})", file.media_id);
                report.differ(max_differences, text);
            }
        }
    }
    report
}

fn check_interaction(
    report: &mut VerdictReport,
    max: usize,
    id: &str,
    expected: &ReleasedBy,
    found: &FoundVerdicts,
) {
    let Some(said) = &found.released_by else { return };
    let counts = &mut report.interactions;
    if said.who == "unknown" {
        counts.unknown += 1;
        if let Some(candidate) = &said.candidate {
            if names(expected, &candidate.who, candidate.dn.as_deref()) {
                counts.candidate_right += 1;
            } else {
                counts.candidate_wrong += 1;
            }
        }
        return;
    }
    if names(expected, &said.who, said.dn.as_deref()) {
        counts.right += 1;
        return;
    }
    counts.wrong += 1;
    let text = format!(
        "interaction {id}: released by {} {} [{}], the truth says {} {}",
        said.who,
        said.dn.as_deref().unwrap_or("-"),
        said.provenance,
        expected.who,
        expected.dn.as_deref().unwrap_or("-")
    );
    report.differ(max, text);
}

fn check_parties(
    report: &mut VerdictReport,
    max: usize,
    segment: &SegmentRef,
    truth: &[Party],
    found: &[Party],
) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for party in truth {
        let appearance = seen.entry(party.dn.as_str()).or_default();
        let nth = *appearance;
        *appearance += 1;
        let Some(expected) = party.released_by.as_deref().filter(|by| matches!(*by, "self" | "other")) else {
            continue;
        };
        let Some(said) = found.iter().filter(|other| other.dn == party.dn).nth(nth) else { continue };
        let counts = &mut report.parties;
        match said.released_by.as_deref() {
            Some(by) if by == expected => counts.right += 1,
            Some("self" | "other") => {
                counts.wrong += 1;
                let text = format!(
                    "party {} on {}:{}: released by {}, the truth says {expected}",
                    party.dn,
                    segment.site,
                    segment.call_uuid,
                    said.released_by.as_deref().unwrap_or("-")
                );
                report.differ(max, text);
            }
            _ => counts.unknown += 1,
        }
    }
}
