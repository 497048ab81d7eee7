//! The linker's acceptance (issue 4 refers to it): on a generated set of 10,000
//! interactions over four sites, the engine and the linker must find every interaction
//! exactly, in the right order: pairwise precision = recall = 1.0.

mod common;

use callstitch_link::{stitch, SiteDirectory};
use callstitch_sim::{read_groupings, verify, SimConfig, VerifyOptions};
use callstitch_tlib::Event;

/// The events of every site merged by time stamp, each site's own order kept (what
/// `callstitch trace` reads).
fn merged_by_time(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|event| event.timestamp.map(|time| time.0).unwrap_or(i64::MIN));
    events
}

fn found_by_the_linker(set: &common::Set) -> Vec<callstitch_sim::Grouping> {
    let (events, stats) = set.read_back();
    assert!(stats.problems.is_empty(), "{:?}", stats.problems);
    let sites: Vec<String> =
        set.summary.files.iter().filter_map(|name| name.split('-').next()).map(str::to_string).collect();
    let interactions = stitch(&merged_by_time(events), SiteDirectory::new(sites.iter().map(String::as_str)));
    let lines: Vec<String> = interactions
        .iter()
        .map(|interaction| serde_json::to_string(interaction).unwrap_or_default())
        .collect();
    read_groupings(&lines.join("\n")).unwrap_or_else(|error| panic!("{error}"))
}

/// The scenario mix covers every multi-site flow (ISCC, SIP re-INVITE and REFER, returns,
/// consultation transfers across sites, three-site conferences) and the same-site flows whose
/// calls end out of order (a consultation merged before its main call ends). Talk times are
/// the short ones of issue 4 (no call outlasts the link timeout); the next test has the
/// long calls of the default mix.
#[test]
fn linking_ten_thousand_generated_interactions_finds_every_one_in_order() {
    let set = common::generate(&SimConfig {
        interactions: Some(10_000),
        sites: 4,
        seed: 2026,
        long_calls_per_mille: 0,
        ..SimConfig::default()
    });
    expect_every_interaction_in_order(&set, 10_000);
}

/// The default mix: 5% of conversations last 10 to 30 minutes, so calls on a receiving site
/// outlast the link timeout (issue 12). Before the live linker: recall 0.9796, exact 0.9926,
/// order 0.9981, 12 segments missing.
#[test]
#[ignore = "needs the live linker of issue 12"]
fn linking_ten_thousand_interactions_with_long_calls_finds_every_one_in_order() {
    let set = common::generate(&SimConfig {
        interactions: Some(10_000),
        sites: 4,
        seed: 2026,
        ..SimConfig::default()
    });
    expect_every_interaction_in_order(&set, 10_000);
}

fn expect_every_interaction_in_order(set: &common::Set, count: usize) {
    let truth = set.truth();
    assert_eq!(truth.len(), count);
    let found = found_by_the_linker(set);
    let report = verify(&truth, &found, &VerifyOptions { max_differences: 15, ..VerifyOptions::default() });
    assert!(report.is_perfect(), "{}", report.render_text());
}
