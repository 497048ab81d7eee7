//! Snapshots of the engine: restoring one and going on gives exactly the finished calls of a
//! run that never stopped (fixtures restored before every event, a long generated stream at
//! many split points); the same state gives the same bytes; bad bytes give errors.

use crate::common;

use crate::workload;

use callstitch_engine::snapshot::{encode, ENGINE_FORMAT, ENGINE_VERSION};
use callstitch_engine::{Engine, EngineConfig, FinishedCall, SnapshotError};
use callstitch_tlib::Event;

fn json(call: &FinishedCall) -> String {
    serde_json::to_string(call).expect("a finished call serialises")
}

/// Finished calls (as JSON, in order) of a straight run.
fn straight(events: &[Event]) -> Vec<String> {
    let (calls, _) = Engine::run(EngineConfig::default(), events);
    calls.iter().map(json).collect()
}

/// The same run, stopped after `split` events, snapshot, restored from the bytes, finished.
fn split_run(events: &[Event], split: usize) -> (Vec<String>, Engine) {
    let mut out = Vec::new();
    let mut engine = Engine::new(EngineConfig::default());
    for event in &events[..split] {
        engine.apply(event, &mut |call| out.push(json(&call)));
    }
    let bytes = engine.snapshot().expect("snapshot");
    let mut engine = Engine::restore(&bytes, EngineConfig::default()).expect("restore");
    for event in &events[split..] {
        engine.apply(event, &mut |call| out.push(json(&call)));
    }
    engine.finish(&mut |call| out.push(json(&call)));
    (out, engine)
}

#[test]
fn every_fixture_restored_before_every_event_gives_the_same_calls() {
    let mut checked = 0;
    let dir = common::fixture_path("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".log"))
        .collect();
    names.sort();
    for name in &names {
        let events = common::events(name);
        let want = straight(&events);
        for split in 0..=events.len() {
            let (got, _) = split_run(&events, split);
            assert_eq!(got, want, "{name} split after {split} events");
            checked += 1;
        }
    }
    assert!(names.len() > 60 && checked > 500, "{} fixtures, {checked} splits", names.len());
}

#[test]
fn a_long_stream_split_anywhere_gives_the_same_calls_and_counters() {
    let events = workload::generate(30_000, 60);
    let (want, stats) = Engine::run(EngineConfig::default(), &events);
    let want: Vec<String> = want.iter().map(json).collect();
    assert!(want.len() > 3_000, "{} calls", want.len());
    for split in [1, 2, 17, 500, 4_093, 9_999, 15_000, 22_222, 29_999, 30_000] {
        let (got, engine) = split_run(&events, split.min(events.len()));
        assert_eq!(got.len(), want.len(), "split {split}");
        assert_eq!(got, want, "split {split}");
        assert_eq!(engine.stats(), &stats, "split {split}: counters");
    }
}

#[test]
fn the_same_state_gives_the_same_bytes_and_restoring_keeps_them() {
    let events = workload::generate(5_000, 80);
    let mut engine = Engine::new(EngineConfig::default());
    for event in &events {
        engine.apply(event, &mut |_| {});
    }
    assert!(engine.live_calls() > 40, "{} calls in progress", engine.live_calls());
    let first = engine.snapshot().expect("snapshot");
    let second = engine.snapshot().expect("snapshot");
    assert_eq!(first, second);
    let restored = Engine::restore(&first, EngineConfig::default()).expect("restore");
    assert_eq!(restored.snapshot().expect("snapshot"), first, "a restored engine writes the same bytes");
    assert_eq!(restored.live_calls(), engine.live_calls());
}

#[test]
fn another_version_another_format_and_garbage_are_errors() {
    let engine = Engine::new(EngineConfig::default());
    let state = engine.state();
    let newer = encode(ENGINE_FORMAT, ENGINE_VERSION + 1, &state).expect("encode");
    assert!(matches!(
        Engine::restore(&newer, EngineConfig::default()),
        Err(SnapshotError::Version { found, .. }) if found == u64::from(ENGINE_VERSION) + 1
    ));
    let other = encode("callstitch-something-else", ENGINE_VERSION, &state).expect("encode");
    assert!(matches!(Engine::restore(&other, EngineConfig::default()), Err(SnapshotError::Format { .. })));
    let good = engine.snapshot().expect("snapshot");
    for bad in [&b""[..], b"garbage", b"{}", b"[1,2,3]", &good[..good.len() / 2], b"\xff\xfe{\"version\":1}"]
    {
        assert!(
            matches!(Engine::restore(bad, EngineConfig::default()), Err(SnapshotError::Decode(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn a_snapshot_whose_indexes_do_not_fit_is_refused() {
    let events = workload::generate(2_000, 20);
    let mut engine = Engine::new(EngineConfig::default());
    for event in &events {
        engine.apply(event, &mut |_| {});
    }
    let text = String::from_utf8(engine.snapshot().expect("snapshot")).expect("utf-8");
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
    value["body"]["sites"][0]["by_conn"][0][1] = serde_json::json!(1_000_000);
    let bytes = serde_json::to_vec(&value).expect("json");
    assert!(matches!(Engine::restore(&bytes, EngineConfig::default()), Err(SnapshotError::Invalid(_))));
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
    value["body"]["sites"][0]["ring"] = serde_json::json!(1000);
    let bytes = serde_json::to_vec(&value).expect("json");
    assert!(matches!(Engine::restore(&bytes, EngineConfig::default()), Err(SnapshotError::Invalid(_))));
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
    value["body"]["slots"][0]["site"] = serde_json::json!(7);
    let bytes = serde_json::to_vec(&value).expect("json");
    assert!(matches!(Engine::restore(&bytes, EngineConfig::default()), Err(SnapshotError::Invalid(_))));
}

/// A snapshot that cannot be read keeps serde's error (line, column, what) as its cause, for
/// the service's log to show through the pipeline's error chain.
#[test]
fn an_unreadable_snapshot_keeps_the_json_error_as_its_cause() {
    let good = Engine::new(EngineConfig::default()).snapshot().expect("snapshot");
    for bad in [&b"garbage"[..], &good[..good.len() / 2]] {
        let error = Engine::restore(bad, EngineConfig::default()).err().expect("refused");
        let cause = std::error::Error::source(&error).expect("the cause is kept");
        assert!(cause.is::<serde_json::Error>(), "{cause:?}");
        assert_eq!(error.to_string(), format!("snapshot cannot be read: {cause}"));
    }
}

/// A label of another build (a `via` no table of this one has) is named in the error.
#[test]
fn a_snapshot_with_an_unknown_label_names_it() {
    let events = workload::generate(200, 5);
    let mut engine = Engine::new(EngineConfig::default());
    for event in &events {
        engine.apply(event, &mut |_| {});
    }
    let text = String::from_utf8(engine.snapshot().expect("snapshot")).expect("utf-8");
    let at = text.find("\"via\":\"").expect("a call pointer in the snapshot");
    let end = at + 7 + text[at + 7..].find('"').expect("closing quote");
    let changed = format!("{}\"via\":\"by-telepathy{}", &text[..at], &text[end..]);
    let error = Engine::restore(changed.as_bytes(), EngineConfig::default()).err().expect("refused");
    assert!(error.to_string().contains("unknown label \"by-telepathy\""), "{error}");
}
