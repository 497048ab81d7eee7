//! The accuracy check against known answers: the truth against itself, and against found
//! sets with a split, a merge, a wrong order and a missing segment.

use crate::common;

use callstitch_sim::truth::SegmentRef;
use callstitch_sim::{read_groupings, verify, Grouping, Interaction, SimConfig, VerifyOptions};

fn truth() -> Vec<Interaction> {
    common::generate(&SimConfig { interactions: Some(200), seed: 9, ..SimConfig::default() }).truth()
}

fn groupings(truth: &[Interaction]) -> Vec<Grouping> {
    truth.iter().map(Grouping::from).collect()
}

fn multi(truth: &[Interaction], size: usize) -> Vec<usize> {
    truth
        .iter()
        .enumerate()
        .filter(|(_, interaction)| interaction.segments.len() == size)
        .map(|(index, _)| index)
        .collect()
}

#[test]
fn the_truth_found_as_itself_is_perfect() {
    let truth = truth();
    let report = verify(&truth, &groupings(&truth), &VerifyOptions::default());
    assert!(report.is_perfect(), "{}", report.render_text());
    assert!(report.differences.is_empty());
    let text: Vec<String> =
        truth.iter().map(|interaction| serde_json::to_string(interaction).unwrap_or_default()).collect();
    let read = read_groupings(&text.join("\n")).unwrap_or_default();
    assert_eq!(read, groupings(&truth), "the truth file reads as found interactions");
}

#[test]
fn a_split_costs_recall_a_merge_costs_precision_and_order_is_counted() {
    let truth = truth();
    let pairs = multi(&truth, 2);
    let triples = multi(&truth, 3);
    assert!(pairs.len() >= 3 && !triples.is_empty());
    let mut found = groupings(&truth);
    // Split one two-segment interaction.
    let split = found[pairs[0]].clone();
    found[pairs[0]].segments.truncate(1);
    found.push(Grouping { id: "split".into(), segments: split.segments[1..].to_vec() });
    // Merge two other two-segment interactions.
    let second = found[pairs[2]].segments.clone();
    found[pairs[1]].segments.extend(second);
    found[pairs[2]].segments.clear();
    // Reverse a three-segment one.
    found[triples[0]].segments.reverse();
    let report = verify(&truth, &found, &VerifyOptions::default());
    let truth_pairs: u64 = truth.iter().map(|i| (i.segments.len() * (i.segments.len() - 1) / 2) as u64).sum();
    assert_eq!(report.truth_pairs, truth_pairs);
    assert_eq!(report.correct_pairs, truth_pairs - 1, "the split loses one pair");
    assert_eq!(report.found_pairs, truth_pairs - 1 + 4, "the merge adds four wrong pairs");
    assert_eq!(report.exact, truth.len() - 3);
    assert_eq!(report.ordered, report.exact - 1);
    assert!(report.render_text().contains("was split into 2"));
    assert!(report.differences.iter().any(|text| text.contains("merged with other segments")));
    assert!(report.differences.iter().any(|text| text.contains("wrong order")));
}

#[test]
fn missing_and_unknown_segments_are_named() {
    let truth = truth();
    let pairs = multi(&truth, 2);
    let mut found = groupings(&truth);
    found[pairs[0]].segments.pop();
    found.push(Grouping {
        id: "x".into(),
        segments: vec![SegmentRef { site: "NOWHERE".into(), call_uuid: "U".into() }],
    });
    let report = verify(&truth, &found, &VerifyOptions { max_differences: 1, ..VerifyOptions::default() });
    assert_eq!(report.missing_segments, 1);
    assert_eq!(report.unknown_segments, 1);
    assert_eq!(report.differences.len(), 1);
    assert_eq!(report.more_differences, 1);
}

#[test]
fn consultations_can_be_left_out_on_both_sides() {
    let truth = truth();
    let mut found = groupings(&truth);
    for (grouping, interaction) in found.iter_mut().zip(&truth) {
        grouping.segments.retain(|segment| {
            !interaction
                .segments
                .iter()
                .any(|truth_segment| truth_segment.consultation && truth_segment.key() == *segment)
        });
    }
    assert!(!verify(&truth, &found, &VerifyOptions::default()).is_perfect());
    let options = VerifyOptions { ignore_consultations: true, ..VerifyOptions::default() };
    assert!(verify(&truth, &found, &options).is_perfect());
}

#[test]
fn later_revisions_replace_earlier_ones() {
    let text = r#"{"interaction_id":"a","revision":0,"segments":[{"site":"S","call_uuid":"1"}]}
{"interaction_id":"a","revision":1,"segments":[{"site":"S","call_uuid":"1"},{"site":"T","call_uuid":"2"}]}
{"interaction_id":"b","segments":[{"site":"U","call_uuid":"3"}]}
{"interaction_id":"c","replaces":["b"],"segments":[{"site":"U","call_uuid":"3"},{"site":"V","call_uuid":"4"}]}
{"summary":true}"#;
    let read = read_groupings(text).unwrap_or_default();
    let sizes: Vec<(String, usize)> =
        read.iter().map(|grouping| (grouping.id.clone(), grouping.segments.len())).collect();
    assert_eq!(sizes, vec![("a".to_string(), 2), ("c".to_string(), 2)]);
}
