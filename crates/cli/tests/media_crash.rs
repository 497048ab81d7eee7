//! Never lose data, media included: a media file `POST /v1/media` answered 200 before a
//! SIGKILL (and before any snapshot) is in the recording of its interaction once the
//! restarted service has replayed the stored events and settled it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::time::Duration;

use common::{base_config, Service};

const WAIT: Duration = Duration::from_secs(60);

fn media_line(uuid: &str, media_id: &str, stop: Option<&str>) -> String {
    let stop = stop.map_or("null".to_string(), |stop| format!("\"{stop}\""));
    format!(
        "{{\"type\":\"media\",\"site\":\"SIPServer1\",\"call_uuid\":\"{uuid}\",\"media_id\":\"{media_id}\",\"recorded_dn\":\"7001\",\"side\":\"agent\",\"start\":\"2012-10-29T14:41:00Z\",\"stop\":{stop}}}"
    )
}

/// No snapshot in the run: a restart replays everything stored.
fn config(dir: &std::path::Path) -> String {
    format!("{}[ingest]\nsnapshot_every_s = 3600\n", base_config(dir))
}

#[test]
fn media_acknowledged_before_a_crash_is_in_the_recording_after_the_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let events: Vec<String> =
        common::parsed_lines(&[common::fixture("seed-islink")]).lines().map(str::to_string).collect();
    let first: serde_json::Value = serde_json::from_str(&events[0]).expect("event");
    let uuid = first["call_uuid"].as_str().expect("uuid").to_string();
    let media_id = format!("{uuid}_1");

    let service = Service::start(dir.path(), &config(dir.path()));
    // The start of the file, the calls, then the file's stop: each stored when answered.
    let (status, body) = service.post("/v1/media", &media_line(&uuid, &media_id, None), None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = service.post("/v1/events", &events.join("\n"), None);
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        service.post("/v1/media", &media_line(&uuid, &media_id, Some("2012-10-29T14:42:00Z")), None);
    assert_eq!(status, 200, "{body}");
    service.kill();

    let service = Service::start(dir.path(), &config(dir.path()));
    service.wait_for("/healthz", WAIT, |health| health["status"] == "ok");
    service.wait_for(&format!("/v1/interactions?state=complete&call_uuid={uuid}"), WAIT, |page| {
        page["items"].as_array().is_some_and(|items| !items.is_empty())
    });
    let (status, recording) = service.get(&format!("/v1/recordings/{uuid}"));
    assert_eq!(status, 200, "{recording}");
    let files = recording["mediaFiles"].as_array().cloned().unwrap_or_default();
    assert_eq!(files.len(), 1, "the acknowledged media file is in the recording: {recording}");
    assert_eq!(files[0]["mediaId"], media_id.as_str(), "{recording}");
    assert!(
        files[0]["stopTime"].as_str().is_some_and(|stop| stop.starts_with("2012-10-29T14:42:00")),
        "its stop, posted after the calls, too: {recording}"
    );
}
