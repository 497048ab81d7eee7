//! Call identity (tlib-events.md §4) and tolerance (call-models.md §18): ConnID reuse, two
//! calls on one ConnID, events without CallUUID, reordering within a step, missing optional
//! and required events, duplicates, deviations, lost ends.

use crate::common;

use callstitch_engine::{
    CallModel as M, DeviationKind as D, EndReason, Engine, EngineConfig, Exit as X, InferenceKind,
    Outcome as O,
};
use common::{by_uuid, events, expect, run, single};

#[test]
fn connid_reused_at_one_site_gives_three_calls() {
    let (calls, stats) = run("t01_connid_reuse.log");
    assert_eq!(calls.len(), 3, "{:?}", calls.iter().map(|call| &call.key).collect::<Vec<_>>());
    assert_eq!(stats.calls_started, 3);
    expect(&calls[0], M::InternalInbound, true, O::Answered, &[("7001", X::Released), ("7002", X::Released)]);
    expect(&calls[1], M::Outbound, true, O::ReleasedWhileDialing, &[("7003", X::Released)]);
    expect(
        &calls[2],
        M::InternalInbound,
        true,
        O::AbandonedWhileRinging,
        &[("7004", X::Released), ("7001", X::Abandoned)],
    );
    for call in &calls {
        assert_eq!(call.conn_ids.len(), 1);
        assert_eq!(call.conn_ids[0].to_string(), "006e02a60000001e");
        assert!(call.call_uuid.is_none());
    }
    assert_ne!(calls[0].key, calls[1].key, "synthetic keys differ");
}

#[test]
fn two_live_calls_on_one_connid_are_told_apart_by_call_uuid() {
    let (calls, _) = run("t02_connid_two_calls.log");
    assert_eq!(calls.len(), 2);
    let first = by_uuid(&calls, "T02A");
    let second = by_uuid(&calls, "T02B");
    expect(first, M::InternalInbound, true, O::Answered, &[("7001", X::Released)]);
    expect(second, M::InternalInbound, true, O::Answered, &[("7002", X::Released)]);
    let held = second.party("7002").unwrap();
    assert_eq!(held.history.len(), 5, "the Held/Retrieved without CallUUID landed on the newer call");
    assert_eq!(held.times.held_us, 5_000_000);
    assert_eq!(first.release.ended_by.dn.as_deref(), Some("+15551230000"), "the customer (2 Remote)");
}

#[test]
fn events_of_one_step_in_another_order_give_the_same_call() {
    let reordered = single("t03_reordered_acd.log");
    let original = single("m02_acd.log");
    let shape = |call: &callstitch_engine::FinishedCall| {
        (
            call.model,
            call.conformant,
            call.outcome,
            call.parties.iter().map(|party| (party.dn.clone(), party.exit, party.times)).collect::<Vec<_>>(),
        )
    };
    let mut expected = shape(&original);
    // The queue is created first in the reordered stream.
    expected.3.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = shape(&reordered);
    seen.3.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen, expected);
    assert!(reordered.inferences.is_empty(), "no inference needed: every event arrived");
}

#[test]
fn missing_optional_events_are_no_deviation() {
    let (calls, _) = run("t04_missing_optional.log");
    let outbound = by_uuid(&calls, "T04A");
    expect(outbound, M::Outbound, true, O::Answered, &[("7001", X::Released)]);
    let acd = by_uuid(&calls, "T04B");
    expect(
        acd,
        M::Acd,
        true,
        O::Answered,
        &[("7002", X::Released), ("8000", X::Diverted), ("7003", X::Released)],
    );
    let queue = acd.party("8000").unwrap();
    assert!(queue.exit_inferred, "no EventDiverted: the exit is inferred");
    assert_eq!(queue.times.queued_us, 12_000_000, "the queue's part ended when the agent rang");
    assert_eq!(acd.inferences.len(), 1);
    assert_eq!(acd.inferences[0].kind, InferenceKind::QueueLeftByDelivery);
}

#[test]
fn a_missing_required_event_is_a_deviation_on_the_right_party() {
    let call = single("t05_missing_required.log");
    expect(&call, M::InternalInbound, false, O::Answered, &[("7001", X::Released), ("7002", X::Released)]);
    assert_eq!(call.deviations.len(), 1, "{:#?}", call.deviations);
    let deviation = &call.deviations[0];
    assert_eq!(deviation.kind, D::MissingEvent);
    assert_eq!(deviation.party.as_deref(), Some("7002"));
    assert_eq!(deviation.event.message.name(), "EventEstablished");
    assert!(deviation.expected.contains("EventRinging"));
}

#[test]
fn duplicates_are_dropped_and_misfits_recorded() {
    let (calls, stats) = run("t06_duplicates_and_deviations.log");
    assert_eq!(stats.duplicates, 2, "one [BSYNC] copy, one repeated sequence number");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    let kinds: Vec<D> = call.deviations.iter().map(|deviation| deviation.kind).collect();
    assert_eq!(kinds, vec![D::UnknownParty, D::AbandonWithoutAlerting, D::EventAfterExit]);
    assert_eq!(call.deviations[0].party.as_deref(), Some("7009"));
    assert!(!call.conformant);
    assert_eq!(call.party("7002").unwrap().history.len(), 3, "ringing, abandon, and the second abandon");
}

#[test]
fn a_call_whose_end_is_lost_is_closed_by_the_idle_timeout() {
    let mut events = events("t07_lost_end.log");
    let mut later = events[0].clone();
    // Unrelated events two hours later move the site's time on.
    later.message = callstitch_tlib::Message::EventAgentReady;
    later.conn_id = None;
    later.call_uuid = None;
    later.seq = Some(0x9999);
    later.timestamp = later.timestamp.map(|time| callstitch_tlib::Timestamp(time.0 + 7_200_000_000));
    // A step that far needs a second event to be believed (one alone could be a wrong clock).
    let mut confirming = later.clone();
    confirming.seq = Some(0x999a);
    confirming.timestamp = later.timestamp.map(|time| callstitch_tlib::Timestamp(time.0 + 1_000_000));
    events.push(later);
    events.push(confirming);
    let mut engine = Engine::new(EngineConfig::default());
    let mut finished = Vec::new();
    for event in &events {
        engine.apply(event, &mut |call| finished.push(call));
    }
    assert_eq!(finished.len(), 1, "closed before finish()");
    assert_eq!(engine.live_calls(), 0);
    let call = &finished[0];
    assert!(!call.complete);
    assert_eq!(call.end_reason, EndReason::IdleTimeout);
    assert_eq!(call.parties[0].exit, Some(X::StillActive));
    assert_eq!(call.outcome, O::Answered);
    assert_eq!(engine.stats().calls_incomplete, 1);
}

#[test]
fn finish_closes_open_calls_as_end_of_input() {
    let (calls, stats) = run("t07_lost_end.log");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].end_reason, EndReason::EndOfInput);
    assert!(!calls[0].complete);
    assert_eq!(stats.calls_incomplete, 1);
}

#[test]
fn seed_islink_calls_on_one_connid_stay_apart() {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink/Tserver2.log");
    if !path.exists() {
        return;
    }
    let reader =
        callstitch_tlib::tlog::LogReader::open(&path, callstitch_tlib::tlog::ReaderOptions::default())
            .unwrap();
    let events: Vec<_> = reader.map(|event| event.unwrap()).collect();
    let (calls, _) = Engine::run(EngineConfig::default(), &events);
    assert_eq!(calls.len(), 2, "same ConnID, two CallUUIDs: two calls");
    assert!(calls.iter().all(|call| call.is_links.len() == 1));
}
