//! The release and heard check (`verdicts`): the truth found as itself is right, known
//! wrong and unknown verdicts are counted as such, and today's engine and linker over a
//! simulated estate name nobody the truth does not.

use crate::common;

use callstitch_sim::truth::Candidate;
use callstitch_sim::{read_verdicts, verify_verdicts, Interaction, SimConfig};

fn lines(truth: &[Interaction]) -> String {
    let lines: Vec<String> =
        truth.iter().map(|interaction| serde_json::to_string(interaction).unwrap_or_default()).collect();
    lines.join("\n")
}

#[test]
fn the_truth_found_as_itself_has_every_verdict_right() {
    let truth =
        common::generate(&SimConfig { interactions: Some(300), seed: 4, ..SimConfig::default() }).truth();
    let found = read_verdicts(&lines(&truth)).expect("the truth reads as found verdicts");
    let report = verify_verdicts(&truth, &found, 10);
    let with_verdict = truth.iter().filter(|interaction| interaction.released_by.is_some()).count();
    assert_eq!(report.interactions.right, with_verdict, "{}", report.render_text());
    assert!(report.parties.right > truth.len(), "{}", report.render_text());
    assert!(report.is_right() && report.differences.is_empty(), "{}", report.render_text());
}

#[test]
fn wrong_and_unknown_verdicts_are_counted_apart_and_a_candidate_is_never_right() {
    let truth =
        common::generate(&SimConfig { interactions: Some(60), seed: 5, ..SimConfig::default() }).truth();
    let mut found = truth.clone();
    let verdicts: Vec<usize> =
        (0..found.len()).filter(|index| found[*index].released_by.is_some()).take(3).collect();
    assert_eq!(verdicts.len(), 3);
    // A wrong verdict, an unknown with the right candidate, an unknown with a wrong one.
    let wrong = found[verdicts[0]].released_by.as_mut().expect("a verdict");
    wrong.dn = Some("somebody-else".into());
    for (index, candidate_dn) in [(verdicts[1], None), (verdicts[2], Some("nobody".to_string()))] {
        let released = found[index].released_by.as_mut().expect("a verdict");
        let dn = candidate_dn.or_else(|| released.dn.clone());
        released.candidate = Some(Candidate { dn, who: released.who.clone() });
        released.who = "unknown".into();
        released.dn = None;
    }
    // A party that says `self` where the truth says `other`.
    let party = found
        .iter_mut()
        .flat_map(|interaction| interaction.segments.iter_mut())
        .flat_map(|segment| segment.parties.iter_mut())
        .find(|party| party.released_by.as_deref() == Some("other"))
        .expect("a party released by the other side");
    party.released_by = Some("self".into());
    let report = verify_verdicts(&truth, &read_verdicts(&lines(&found)).expect("reads"), 10);
    let counts = report.interactions;
    let with_verdict = truth.iter().filter(|interaction| interaction.released_by.is_some()).count();
    assert_eq!((counts.right, counts.wrong, counts.unknown), (with_verdict - 3, 1, 2));
    assert_eq!((counts.candidate_right, counts.candidate_wrong), (1, 1));
    assert_eq!(report.parties.wrong, 1);
    assert!(!report.is_right());
    assert_eq!(report.differences.len(), 2, "{:?}", report.differences);
}

#[test]
fn todays_engine_names_nobody_the_truth_does_not() {
    let config = SimConfig { interactions: Some(1_500), sites: 5, seed: 21, ..SimConfig::default() };
    let set = common::generate(&config);
    let found: Vec<String> = common::stitch(&set)
        .iter()
        .map(|interaction| serde_json::to_string(interaction).unwrap_or_default())
        .collect();
    let truth = set.truth();
    let report = verify_verdicts(&truth, &read_verdicts(&found.join("\n")).expect("reads"), 10);
    println!("{}", report.render_text());
    assert!(report.interactions.right > truth.len() / 2, "{}", report.render_text());
    assert!(report.is_right(), "{}", report.render_text());
}
