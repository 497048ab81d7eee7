//! Snapshot tests: the ladder of the seed's two-site example, of one fixture per transfer
//! model of the call engine, and of one fixture per recording model, each built by running
//! the real pipeline over the fixture's logs. The SVGs are stored under tests/snapshots/;
//! a test fails when the output changes (UPDATE_SNAPSHOTS=1 rewrites them for review).

mod common;

use callstitch_ladder::{render, LadderOptions};
use common::{assert_snapshot, assert_well_formed, logs_in, only, Log};

fn snapshot(name: &str, logs: &[Log], feed: Option<&str>) -> String {
    let traced = only(logs, feed);
    let ladder = render(&traced.trace, &traced.events, &LadderOptions::default()).expect("renders");
    assert_eq!((ladder.page, ladder.pages), (1, 1), "{name} fits one page");
    assert_well_formed(&ladder.svg);
    let again = render(&traced.trace, &traced.events, &LadderOptions::default()).expect("renders");
    assert_eq!(ladder.svg, again.svg, "{name}: the same input gives the same bytes");
    assert_snapshot(name, &ladder.svg);
    ladder.svg
}

/// One engine fixture (a single SIPServer1 log).
fn engine(name: &str) -> String {
    let logs =
        [Log { site: "SIPServer1".to_string(), path: format!("crates/engine/tests/fixtures/{name}.log") }];
    snapshot(name, &logs, None)
}

/// One recording fixture, with its media feed.
fn recording(case: &str) -> String {
    let dir = format!("crates/recording/tests/fixtures/{case}");
    snapshot(case, &logs_in(&dir), Some(&format!("{dir}/media.jsonl")))
}

#[test]
fn seed_islink() {
    let svg = snapshot("seed-islink", &logs_in("fixtures/seed-islink"), None);
    assert!(svg.contains("IS-Link 00RP30KH7088L1IC08GB82LAES000316"));
}

// --- transfer models (crates/engine/tests/fixtures, fixtures.spec) ---

#[test]
fn single_step_transfer() {
    let svg = engine("x11_single_step_transfer");
    // B (7002) releases the call to C (7003): C rings from the caller A (7001).
    assert!(svg.contains("released by 7002"), "the transferring agent's release says who released");
}

#[test]
fn two_step_transfer() {
    let svg = engine("x12_two_step_after_answer");
    assert!(svg.contains(">held</text>") && svg.contains(">dialing</text>"));
}

#[test]
fn single_step_conference() {
    let svg = engine("x13_single_step_conference");
    assert!(svg.contains("party added: 7003"));
}

#[test]
fn two_step_conference() {
    let svg = engine("x14_two_step_conference");
    assert!(svg.contains(">retrieved</text>"));
}

// --- recording models (crates/recording/tests/fixtures, docs/recording.md §6) ---

#[test]
fn recording_in_site_transfer() {
    let svg = recording("in-site-single-step-transfer");
    assert!(svg.contains("REC 3"), "three media files");
}

#[test]
fn recording_reinvite_transfer() {
    recording("sip-reinvite-transfer");
}

#[test]
fn recording_refer_transfer_unrecorded_second_site() {
    let svg = recording("sip-refer-unrecorded-site2");
    assert!(svg.contains("⚠ REC 2 P1"), "the file the finding names is marked on its bar");
    assert!(svg.contains("⚠ finding P1: "), "and the finding is said in words");
}

#[test]
fn recording_agent_multi_site_transfer() {
    recording("agent-multi-site-transfer");
}

#[test]
fn recording_consult_transfer() {
    recording("sip-consult-transfer");
}

#[test]
fn recording_single_step_conference() {
    recording("multi-site-conference");
}

#[test]
fn recording_two_step_conference() {
    recording("two-step-conference");
}

#[test]
fn recording_centralized_qualification() {
    recording("centralized-qualification");
}
