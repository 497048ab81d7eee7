//! Properties: the engine never panics on any event sequence and leaves nothing in memory
//! after `finish()`; permuting the events of one table step (same time stamp) changes
//! neither the model, the conformance, the outcome nor any party's exit.

use crate::common;

use callstitch_engine::{Engine, EngineConfig, FinishedCall};
use callstitch_tlib::{
    CallState, CallType, CallUuid, ConnId, DnRole, Event, KvList, Message, PartyState, Text, Timestamp, Value,
};
use proptest::prelude::*;

const MESSAGES: &[Message] = &[
    Message::EventDialing,
    Message::EventRinging,
    Message::EventQueued,
    Message::EventRouteRequest,
    Message::EventRouteUsed,
    Message::EventDiverted,
    Message::EventNetworkReached,
    Message::EventDestinationBusy,
    Message::EventEstablished,
    Message::EventReleased,
    Message::EventAbandoned,
    Message::EventHeld,
    Message::EventRetrieved,
    Message::EventPartyChanged,
    Message::EventPartyAdded,
    Message::EventPartyDeleted,
    Message::EventCallCreated,
    Message::EventCallDataChanged,
    Message::EventCallPartyAdded,
    Message::EventCallPartyState,
    Message::EventCallPartyMoved,
    Message::EventCallPartyDeleted,
    Message::EventCallDeleted,
    Message::EventAttachedDataChanged,
    Message::EventError,
    Message::EventLinkDisconnected,
    Message::RequestReleaseCall,
    Message::RequestClearCall,
    Message::EventAgentReady,
];

fn pick<T: Clone>(options: &[T], index: u8) -> T {
    options[index as usize % options.len()].clone()
}

fn maybe_conn(index: u8) -> Option<ConnId> {
    match index % 5 {
        0 => None,
        n => Some(ConnId(u64::from(n) - 1)),
    }
}

fn maybe_text(options: &[&str], index: u8) -> Option<Text> {
    let value = pick(options, index);
    (!value.is_empty()).then(|| Text::from(value))
}

/// An arbitrary event from a small alphabet, so that events collide on calls and parties.
fn arbitrary_event() -> impl Strategy<Value = (Event, i64)> {
    (any::<[u8; 16]>(), 0i64..5_000_000, any::<u32>()).prop_map(|(bytes, step, party_state)| {
        let mut event = Event::new(pick(MESSAGES, bytes[0]), if bytes[1] % 7 == 0 { "S2" } else { "S1" });
        event.conn_id = maybe_conn(bytes[2]);
        event.previous_conn_id = maybe_conn(bytes[3]);
        event.transfer_conn_id = if bytes[4] % 3 == 0 { maybe_conn(bytes[4]) } else { None };
        event.call_uuid = maybe_text(&["", "", "U1", "U2", "U3"], bytes[5]).map(CallUuid);
        event.ref_call_uuid = maybe_text(&["", "", "", "U1", "U2"], bytes[6]).map(CallUuid);
        event.orig_call_uuid = maybe_text(&["", "", "", "U2"], bytes[6] / 7).map(CallUuid);
        event.this_dn = maybe_text(&["", "7001", "7002", "7003", "8000"], bytes[7]);
        event.other_dn = maybe_text(&["", "7001", "7002", "+1555"], bytes[8]);
        event.third_party_dn = maybe_text(&["", "7001", "7003"], bytes[9]);
        event.dn = maybe_text(&["", "7001", "7002", "7003"], bytes[10]);
        event.ctrl_party = maybe_text(&["", "7001", "x"], bytes[11]);
        event.call_state = pick(
            &[
                None,
                Some(CallState::Ok),
                Some(CallState::Transferred),
                Some(CallState::Conferenced),
                Some(CallState::RemoteRelease),
            ],
            bytes[12],
        );
        event.call_type = pick(
            &[None, Some(CallType::Internal), Some(CallType::Consult), Some(CallType::Outbound)],
            bytes[13],
        );
        event.this_dn_role = pick(&[None, Some(DnRole::Origination), Some(DnRole::Destination)], bytes[14]);
        event.third_party_dn_role = pick(
            &[None, Some(DnRole::TransferredBy), Some(DnRole::ConferencedBy), Some(DnRole::DeletedBy)],
            bytes[14] / 3,
        );
        event.party_state = (bytes[15] % 2 == 0).then_some(PartyState(party_state));
        event.seq = (bytes[15] % 5 != 0).then_some(u64::from(bytes[1]) * 3 + u64::from(bytes[2]));
        event.bsync = bytes[15] % 11 == 0;
        if bytes[9] % 4 == 0 {
            let mut extensions = KvList::new();
            extensions.push(
                "ReleasingParty",
                Value::Str(Text::from(pick(&["1 Local", "2 Remote", "3 Unknown", "odd"], bytes[10]))),
            );
            event.extensions = Some(extensions);
        }
        (event, step)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_sequence_never_panics_and_finish_empties_the_engine(
        events in proptest::collection::vec(arbitrary_event(), 0..120)
    ) {
        let config = EngineConfig { idle_timeout: 30_000_000, end_linger: 1_000_000, handoff_grace: 5_000_000, dedupe_window: 16, ..EngineConfig::default() };
        let mut engine = Engine::new(config);
        let mut finished = 0u64;
        let mut time = 1_700_000_000_000_000i64;
        for (mut event, step) in events {
            time += step;
            if step % 3 != 0 {
                event.timestamp = Some(Timestamp(time));
            }
            engine.apply(&event, &mut |call: FinishedCall| {
                finished += 1;
                for party in &call.parties {
                    assert!(party.exit.is_some(), "every party of a finished call has an exit");
                }
                serde_json::to_string(&call).expect("a finished call serialises");
            });
        }
        engine.finish(&mut |_| finished += 1);
        prop_assert_eq!(engine.live_calls(), 0);
        prop_assert_eq!(engine.stats().calls_started, engine.stats().calls_finished);
        prop_assert_eq!(engine.stats().calls_finished, finished);
    }
}

/// What must not depend on the order of the events of one step.
fn shape(calls: &[FinishedCall]) -> Vec<String> {
    let mut shapes: Vec<String> = calls
        .iter()
        .map(|call| {
            let mut parties: Vec<String> = call
                .parties
                .iter()
                .map(|party| format!("{}:{:?}:{:?}", party.dn, party.exit, party.times))
                .collect();
            parties.sort();
            format!(
                "{} {:?} {} {:?} {:?} {:?}",
                call.key, call.model, call.conformant, call.outcome, call.features, parties
            )
        })
        .collect();
    shapes.sort();
    shapes
}

/// Reorders the events that share a time stamp (one table step) by the given keys.
fn permute_steps(events: &[Event], keys: &[u32]) -> Vec<Event> {
    let mut keyed: Vec<(i64, u32, Event)> = events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            (event.time().map_or(0, |time| time.0), keys[index % keys.len()], event.clone())
        })
        .collect();
    keyed.sort_by_key(|(time, key, _)| (*time, *key));
    keyed.into_iter().map(|(_, _, event)| event).collect()
}

const STEP_FIXTURES: &[&str] = &[
    "m01_internal_p3.log",
    "m02_acd.log",
    "m02_acd_p3.log",
    "m03_multi_acd.log",
    "m03_multi_acd_p2.log",
    "m04_parking.log",
    "m05_route_queue.log",
    "m06_routing.log",
    "m07_routing_outbound_p2.log",
    "m09_while_on_hold.log",
    "x11_single_step_transfer.log",
    "x12_two_step_after_answer.log",
    "x12_two_step_before_answer.log",
    "x14_two_step_conference.log",
    "r1_normal_both.log",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn permuting_a_step_keeps_the_classification(keys in proptest::collection::vec(any::<u32>(), 1..40)) {
        for name in STEP_FIXTURES {
            let events = common::events(name);
            let (expected, _) = common::run_events(&events);
            let (seen, _) = common::run_events(&permute_steps(&events, &keys));
            prop_assert_eq!(shape(&seen), shape(&expected), "{}", name);
        }
    }
}

/// The finished calls of a run as JSON, in the order they came out, plus the final counters.
fn run_json(
    events: &[(Event, i64)],
    config: &EngineConfig,
    restore_every: Option<usize>,
) -> (Vec<String>, String) {
    let mut engine = Engine::new(config.clone());
    let mut out = Vec::new();
    let mut time = 1_700_000_000_000_000i64;
    for (index, (event, step)) in events.iter().enumerate() {
        if restore_every.is_some_and(|every| index % every == 0) {
            let bytes = engine.snapshot().expect("snapshot");
            engine = Engine::restore(&bytes, config.clone()).expect("restore");
        }
        let mut event = event.clone();
        time += step;
        if step % 3 != 0 {
            event.timestamp = Some(Timestamp(time));
        }
        engine.apply(&event, &mut |call: FinishedCall| out.push(serde_json::to_string(&call).expect("json")));
    }
    engine.finish(&mut |call: FinishedCall| out.push(serde_json::to_string(&call).expect("json")));
    (out, serde_json::to_string(engine.stats()).expect("stats"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Snapshot and restore before every event (and every third) changes nothing of the output.
    #[test]
    fn restoring_a_snapshot_at_any_point_changes_nothing(
        events in proptest::collection::vec(arbitrary_event(), 0..120)
    ) {
        let config = EngineConfig { idle_timeout: 30_000_000, end_linger: 1_000_000, handoff_grace: 5_000_000, dedupe_window: 16, ..EngineConfig::default() };
        let straight = run_json(&events, &config, None);
        prop_assert_eq!(&run_json(&events, &config, Some(1)), &straight);
        prop_assert_eq!(&run_json(&events, &config, Some(3)), &straight);
    }
}
