//! Shared helpers for the engine's fixture tests: read a fixture log, run the engine over it,
//! and assert a finished call against the answer written from the seed tables.

#![allow(dead_code)]

use std::path::PathBuf;

use callstitch_engine::{
    CallModel, Confidence, EnderKind, Engine, EngineConfig, EngineStats, Exit, FinishedCall, Outcome,
    PartyState, Provenance,
};
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::Event;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The events of a fixture; the log must parse with no problem.
pub fn events(name: &str) -> Vec<Event> {
    let mut reader = LogReader::open(&fixture_path(name), ReaderOptions::default()).expect("fixture opens");
    let events: Vec<Event> = reader.by_ref().map(|event| event.expect("no I/O error")).collect();
    assert_eq!(reader.stats().problem_count(), 0, "{name} parses cleanly: {:?}", reader.take_problems());
    assert!(!events.is_empty(), "{name} has events");
    events
}

pub fn run_events(events: &[Event]) -> (Vec<FinishedCall>, EngineStats) {
    Engine::run(EngineConfig::default(), events)
}

/// Runs the engine over a fixture.
pub fn run(name: &str) -> (Vec<FinishedCall>, EngineStats) {
    run_events(&events(name))
}

/// The only call of a fixture.
pub fn single(name: &str) -> FinishedCall {
    let (calls, _) = run(name);
    assert_eq!(
        calls.len(),
        1,
        "{name}: one call, got {:?}",
        calls.iter().map(|call| &call.key).collect::<Vec<_>>()
    );
    calls.into_iter().next().expect("one call")
}

/// The call of a fixture with this CallUUID token (as in fixtures.spec).
pub fn by_uuid<'a>(calls: &'a [FinishedCall], token: &str) -> &'a FinishedCall {
    let wanted = format!("{:0<32}", format!("00RP30KH7088L1IC08GB82LA{}", token.to_uppercase()));
    calls
        .iter()
        .find(|call| call.call_uuid.as_ref().is_some_and(|uuid| uuid.as_str() == wanted))
        .unwrap_or_else(|| panic!("a call with CallUUID token {token}"))
}

/// Asserts model, conformance, outcome, completeness and each party's (DN, exit, final state)
/// in order of appearance.
pub fn expect(
    call: &FinishedCall,
    model: CallModel,
    conformant: bool,
    outcome: Outcome,
    parties: &[(&str, Exit)],
) {
    let context = format!("{} {}", call.site, call.key);
    assert_eq!(call.model, model, "{context}: model");
    assert_eq!(call.model.name(), model.name());
    assert_eq!(call.conformant, conformant, "{context}: conformance, deviations {:#?}", call.deviations);
    assert_eq!(call.outcome, outcome, "{context}: outcome");
    let seen: Vec<(&str, Exit)> =
        call.parties.iter().map(|party| (party.dn.as_str(), party.exit.unwrap_or(Exit::Unknown))).collect();
    assert_eq!(seen, parties, "{context}: parties and exits");
    for party in &call.parties {
        let expected_state = if call.complete { PartyState::Null } else { party.state };
        assert_eq!(party.state, expected_state, "{context}: {} final state", party.dn);
        assert!(!party.history.is_empty(), "{context}: {} has a history", party.dn);
        let seqs: Vec<u64> = party.history.iter().filter_map(|event| event.seq).collect();
        assert!(seqs.windows(2).all(|pair| pair[0] <= pair[1]), "{context}: history in sequence order");
    }
}

/// The call's release verdict as (DN, kind, provenance, confidence, conflict).
pub fn ended_by(call: &FinishedCall) -> (Option<&str>, EnderKind, Provenance, Confidence, bool) {
    let release = &call.release;
    (
        release.ended_by.dn.as_deref(),
        release.ended_by.kind,
        release.provenance,
        release.confidence,
        release.conflict,
    )
}
