//! Waiting for a service to settle and comparing what two runs stored: every interaction by
//! id, as the API gives it, with what depends on when a run read what (revisions, replaced
//! ids) left out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Service;

/// The longest a service may take to settle.
pub const SETTLE: Duration = Duration::from_secs(120);

/// Every interaction, by id, as the API gives it.
pub fn all_interactions(service: &Service) -> BTreeMap<String, Value> {
    let mut found = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/interactions?limit=1000&cursor={cursor}"),
            None => "/v1/interactions?limit=1000".to_string(),
        };
        let (status, page) = service.get(&path);
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().cloned().unwrap_or_default() {
            let id = item["interaction_id"].as_str().unwrap_or_default().to_string();
            let (_, doc) = service.get(&format!("/v1/interactions/{id}"));
            assert!(found.insert(id.clone(), doc).is_none(), "{id} listed twice");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return found,
        }
    }
}

/// Waits until every event is stored, no call is in progress, every interaction written is
/// complete (none live or settling), and what is written has stopped changing (the linker
/// keeps written interactions a while for late evidence, so its memory does not go to zero).
pub fn settled(service: &Service, events: u64) -> Value {
    let start = Instant::now();
    let mut last: Option<Value> = None;
    loop {
        let status = service.wait_for("/v1/status", SETTLE, |status| {
            status["stored"]["events"] == events && status["in_memory"]["calls_in_progress"] == 0
        });
        for state in ["live", "settling"] {
            service.wait_for(&format!("/v1/interactions?state={state}&limit=1"), SETTLE, |page| {
                page["items"].as_array().is_some_and(Vec::is_empty)
            });
        }
        if last.as_ref() == Some(&status["stored"]) {
            return status;
        }
        last = Some(status["stored"].clone());
        assert!(start.elapsed() < SETTLE, "never settled: {status}");
        std::thread::sleep(Duration::from_millis(2500));
    }
}

/// An interaction as both runs must agree on: everything but how many times it was written
/// before (`revision`) and under which ids (`replaces`), which depend on when each run
/// happened to read what, not on what it read.
pub fn settled_content(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(object) = doc.as_object_mut() {
        object.remove("revision");
        object.remove("replaces");
    }
    doc
}

pub fn assert_same(reference: &BTreeMap<String, Value>, found: &BTreeMap<String, Value>, seed: u64) {
    let missing: Vec<&String> = reference.keys().filter(|id| !found.contains_key(*id)).collect();
    let extra: Vec<&String> = found.keys().filter(|id| !reference.contains_key(*id)).collect();
    let show = |ids: &[&String], docs: &BTreeMap<String, Value>| -> Vec<String> {
        ids.iter()
            .filter_map(|id| docs.get(*id))
            .map(|doc| format!("{} {} {}", doc["interaction_id"], doc["state"], doc["segments"]))
            .collect()
    };
    assert!(
        missing.is_empty() && extra.is_empty(),
        "seed {seed}: missing {missing:?} {:?}, extra {extra:?} {:?}",
        show(&missing, reference),
        show(&extra, found)
    );
    for (id, doc) in reference {
        assert_eq!(
            Some(settled_content(doc)),
            found.get(id).map(settled_content),
            "seed {seed}: interaction {id} differs"
        );
    }
}
