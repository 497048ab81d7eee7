//! Snapshot tests: the ladder and the journey timeline of the seed's two-site example, of
//! one fixture per transfer model of the call engine, of one fixture per recording model,
//! and of one simulated interaction per transfer and conference scenario of the simulator
//! (four sites), each built by running the real pipeline over the logs. The SVGs are
//! stored under tests/snapshots/ (`NAME.svg` the ladder, `NAME.timeline.svg` the timeline);
//! a test fails when the output changes (UPDATE_SNAPSHOTS=1 rewrites them for review).

use crate::common;

use callstitch_ladder::{render_json, timeline, LadderOptions};
use callstitch_sim::scenario::Scenario;
use common::{assert_snapshot, assert_well_formed, logs_in, only, simulated, Log, Traced};

fn snapshot(name: &str, logs: &[Log], feed: Option<&str>) -> String {
    snapshot_of(name, &only(logs, feed))
}

/// The ladder and the timeline of an interaction against their snapshots; the ladder.
fn snapshot_of(name: &str, traced: &Traced) -> String {
    let view = common::document(traced.trace.clone());
    let journey = timeline::render(&view);
    assert_well_formed(&journey);
    assert_eq!(journey, timeline::render(&view), "{name}: the same input gives the same timeline");
    assert_snapshot(&format!("{name}.timeline"), &journey);
    let ladder = render_json(&traced.trace, &traced.events, &LadderOptions::default()).expect("renders");
    assert_eq!((ladder.page, ladder.pages), (1, 1), "{name} fits one page");
    assert!(ladder.svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\""));
    assert_well_formed(&ladder.svg);
    let again = render_json(&traced.trace, &traced.events, &LadderOptions::default()).expect("renders");
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
    assert!(svg.contains("7002 released by 7002"), "the transferring agent's release says who released");
}

#[test]
fn two_step_transfer() {
    let svg = engine("x12_two_step_after_answer");
    assert!(svg.contains(" held</text>") && svg.contains(" dialing</text>"));
}

#[test]
fn single_step_conference() {
    let svg = engine("x13_single_step_conference");
    assert!(svg.contains("party added: 7003"));
}

#[test]
fn two_step_conference() {
    let svg = engine("x14_two_step_conference");
    assert!(svg.contains(" retrieved</text>"));
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

// --- simulator scenarios with transfers and conferences (crates/sim/src/flows), four sites ---

fn sim(name: &str, scenario: Scenario) -> String {
    snapshot_of(&format!("sim-{name}"), &simulated(scenario, 4, 1))
}

#[test]
fn sim_single_step_transfer() {
    sim("single-step-transfer", Scenario::SingleStepTransfer);
}

#[test]
fn sim_two_step_transfer() {
    sim("two-step-transfer", Scenario::TwoStepTransfer);
}

#[test]
fn sim_single_step_conference() {
    sim("single-step-conference", Scenario::SingleStepConference);
}

#[test]
fn sim_two_step_conference() {
    sim("two-step-conference", Scenario::TwoStepConference);
}

#[test]
fn sim_iscc_transfer() {
    let svg = sim("iscc-transfer", Scenario::IsccTransfer);
    assert!(svg.contains("class=\"islink\""), "a hop between two sites");
}

#[test]
fn sim_sip_reinvite_transfer() {
    sim("sip-reinvite-transfer", Scenario::SipReinvite);
}

#[test]
fn sim_sip_refer_transfer() {
    sim("sip-refer-transfer", Scenario::SipRefer);
}

#[test]
fn sim_return_trip() {
    sim("return-trip", Scenario::ReturnTrip);
}

#[test]
fn sim_multi_site_consult_transfer() {
    sim("multi-site-consult-transfer", Scenario::MultiSiteConsultTransfer);
}

#[test]
fn sim_multi_site_conference() {
    sim("multi-site-conference", Scenario::MultiSiteConference);
}
