//! A typed interaction document from a partial one, for tests: every member the document
//! requires (docs/trace-json.md, docs/recording.md) that the partial object leaves out gets a
//! neutral value; members it gives are kept as they are. Shared by the crate's unit tests
//! and its integration tests.

use callstitch_pipeline::TraceDocument;
use serde_json::{json, Value};

/// `partial` completed and read as a document (a test's own set-up: panics if it cannot be).
pub fn document(partial: Value) -> TraceDocument {
    TraceDocument::from_value(complete(partial)).unwrap_or_else(|error| panic!("not a document: {error}"))
}

/// `partial` with the required members it leaves out; anything but an object is kept as it is.
pub fn complete(partial: Value) -> Value {
    let ended_by = json!({"who": "unknown", "provenance": "unknown", "conflict": false});
    let mut value = fill(
        partial,
        json!({"interaction_id": "", "revision": 0, "state": "complete", "complete": true, "linking": "complete",
               "calls": "ended", "sites": [], "segments": [], "links": [], "outcome": "answered",
               "released_by": ended_by}),
    );
    let Some(document) = value.as_object_mut() else { return value };
    fill_member(document, "released_by", &ended_by);
    fill_each(document, "segments", |segment| {
        let mut segment = fill(
            segment,
            json!({"site": "", "key": "", "conn_ids": [], "role": "root", "conformant": true, "outcome": "answered",
                   "parties": [], "ended_by": ended_by, "ended": true}),
        );
        if let Some(object) = segment.as_object_mut() {
            fill_member(object, "ended_by", &ended_by);
            fill_each(object, "parties", |party| {
                fill(
                    party,
                    json!({"dn": "", "kind": "agent", "final_state": "null", "released_by": "unknown",
                           "provenance": "unknown"}),
                )
            });
        }
        segment
    });
    fill_each(document, "links", |link| fill(link, json!({"evidence": "islink", "consistent": true})));
    fill_each(document, "clock_offsets", |offset| fill(offset, json!({"links": 0, "method": "two-way"})));
    if let Some(recording) = document.get_mut("recording").and_then(Value::as_object_mut) {
        for (name, neutral) in
            [("recording_id", json!("")), ("media_files", json!([])), ("findings", json!([]))]
        {
            recording.entry(name).or_insert(neutral);
        }
        fill_each(recording, "media_files", |file| {
            fill(
                file,
                json!({"media_id": "", "site": "", "call_uuid": "", "recorded_dn": "", "side": "call",
                       "start": "0000-01-01T00:00:00Z", "provenance": "media-feed", "matched_by": "call-uuid",
                       "heard": []}),
            )
        });
        fill_each(recording, "findings", |finding| fill(finding, json!({"message": ""})));
    }
    value
}

/// `value` with the members of `neutral` it lacks.
fn fill(mut value: Value, neutral: Value) -> Value {
    if let (Some(object), Value::Object(neutral)) = (value.as_object_mut(), neutral) {
        for (name, member) in neutral {
            object.entry(name).or_insert(member);
        }
    }
    value
}

/// Member `name` of `object` with the members of `neutral` it lacks.
fn fill_member(object: &mut serde_json::Map<String, Value>, name: &str, neutral: &Value) {
    if let Some(member) = object.get_mut(name) {
        *member = fill(member.take(), neutral.clone());
    }
}

/// Each element of the array member `name` of `object`, completed by `complete`.
fn fill_each(object: &mut serde_json::Map<String, Value>, name: &str, complete: impl Fn(Value) -> Value) {
    if let Some(items) = object.get_mut(name).and_then(Value::as_array_mut) {
        for item in items.iter_mut() {
            *item = complete(item.take());
        }
    }
}
