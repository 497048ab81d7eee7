//! End-to-end tests of `callstitch serve`: the real binary on a free port against a
//! temporary database, fed by followed log files and by HTTP, asked through every endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{base_config, fixture, parsed_lines, Service};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn seed_logs(dir: &std::path::Path) -> std::path::PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    for name in ["SIPServer1.log", "Tserver2.log"] {
        std::fs::copy(fixture("seed-islink").join(name), logs.join(name)).expect("fixture copied");
    }
    logs
}

/// What `callstitch trace --json` says of the seed with the service's timeouts.
fn traced_seed() -> Value {
    let output = common::binary()
        .args(["trace", "--json", "--link-timeout", "2"])
        .arg(fixture("seed-islink"))
        .output()
        .expect("trace runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().next().expect("one interaction")).expect("JSON")
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

fn ids(page: &Value) -> Vec<String> {
    items(page).iter().map(|item| item["interaction_id"].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn followed_logs_are_answered_by_every_endpoint_and_filter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = seed_logs(dir.path());
    // The seed's calls never end (four EventCallDataChanged, seconds apart): the idle
    // timeout closes them, and must be longer than the gaps between their events.
    let config = format!(
        "{}[[site]]\nname = \"SIPServer1\"\nlogs = [\"{}\"]\n[[site]]\nname = \"Tserver2\"\nlogs = [\"{}\"]\n",
        base_config(dir.path()).replace("call_idle_timeout_s = 2", "call_idle_timeout_s = 5"),
        logs.join("SIPServer1.log").display(),
        logs.join("Tserver2.log").display()
    );
    let service = Service::start(dir.path(), &config);
    // Written as its calls opened (live), then again complete once they idled out.
    let page = service.wait_for("/v1/interactions", WAIT, |page| {
        items(page).len() == 1 && items(page)[0]["state"] == "complete"
    });
    let expected = traced_seed();
    let id = expected["interaction_id"].as_str().expect("id").to_string();
    assert_eq!(ids(&page), vec![id.clone()]);

    // The interaction is the trace --json object.
    let (status, mut interaction) = service.get(&format!("/v1/interactions/{id}"));
    assert_eq!(status, 200);
    // Live, it was written before (while its links waited): a later revision, replacing
    // the ids it had then. All else is what trace says.
    assert!(interaction["revision"].as_u64() >= Some(1), "{interaction}");
    let replaced = interaction["replaces"].clone();
    for field in ["revision", "replaces"] {
        interaction.as_object_mut().map(|object| object.remove(field));
    }
    let mut expected_doc = expected.clone();
    expected_doc.as_object_mut().map(|object| object.remove("revision"));
    assert_eq!(interaction, expected_doc, "the service and trace agree on the seed");
    for old in replaced.as_array().cloned().unwrap_or_default() {
        let old = old.as_str().unwrap_or_default();
        let response =
            ureq::get(&service.url(&format!("/v1/interactions/{old}"))).call().expect("old id answers");
        assert_eq!(response.header("content-location"), Some(format!("/v1/interactions/{id}").as_str()));
    }

    // Every filter: a value that holds finds it, another finds nothing.
    let uuid = expected["segments"][0]["call_uuid"].as_str().expect("uuid").to_string();
    let conn = expected["segments"][0]["conn_ids"][0].as_str().expect("conn").to_string();
    let islink = expected["links"][0]["islink"].as_str().expect("islink").to_string();
    let outcome = expected["outcome"].as_str().expect("outcome").to_string();
    let who = expected["released_by"]["who"].as_str().expect("who").to_string();
    let conn_upper_short = conn.trim_start_matches('0').to_ascii_uppercase();
    let other_outcome = if outcome == "abandoned-in-queue" { "answered" } else { "abandoned-in-queue" };
    let cases = [
        (format!("call_uuid={uuid}"), "call_uuid=00NOSUCHUUID".to_string()),
        (format!("conn_id={conn}"), "conn_id=0000000000000001".to_string()),
        (format!("conn_id={conn_upper_short}"), "conn_id=ffff".to_string()),
        (format!("islink={islink}"), "islink=NOSUCHLINK".to_string()),
        ("site=Tserver2".to_string(), format!("site=Tserver2&outcome={other_outcome}")),
        (format!("outcome={outcome}"), format!("outcome={other_outcome}")),
        (format!("released_by={who}"), "released_by=martian".to_string()),
        (
            "from=2012-10-29T00:00:00Z&to=2012-10-30T00:00:00Z".to_string(),
            "from=2012-10-30T00:00:00Z".to_string(),
        ),
        ("has_findings=false".to_string(), "has_findings=true".to_string()),
        ("complete=true".to_string(), "complete=false".to_string()),
    ];
    for (hit, miss) in cases {
        let (status, page) = service.get(&format!("/v1/interactions?{hit}"));
        assert_eq!((status, ids(&page)), (200, vec![id.clone()]), "{hit} finds it");
        let (status, page) = service.get(&format!("/v1/interactions?{miss}"));
        assert_eq!((status, ids(&page)), (200, vec![]), "{miss} finds nothing");
    }

    // Empty parameters (an HTML form's empty fields) are no filter (found by schemathesis).
    let (status, page) = service.get(
        "/v1/interactions?call_uuid=&conn_id=&dn=&islink=&site=&from=&to=&outcome=&released_by=&cursor=",
    );
    assert_eq!((status, ids(&page)), (200, vec![id.clone()]), "{page}");

    // Bad queries: a clear 400 with the reason.
    for (query, says) in [
        ("from=yesterday", "RFC 3339"),
        ("conn_id=xyz", "ConnID"),
        ("cursor=nonsense", "cursor"),
        ("limit=many", "limit"),
        ("limit=0", "limit=0"),
        ("limit=5000", "cursor"),
        ("colour=red", "colour"),
        // Issue 16: these were an empty 200 while every other filter was strict.
        ("outcome=nothing-like-it", "abandoned-in-queue"),
        ("site=TS9", "known sites: SIPServer1, Tserver2"),
    ] {
        let (status, body) = service.get(&format!("/v1/interactions?{query}"));
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"], "bad-request");
        assert!(body["reason"].as_str().unwrap_or_default().contains(says), "{query}: {body}");
    }

    // The recording, by recording id and by any CallUUID.
    let recording_id = expected["recording"]["recording_id"].as_str().expect("recording id").to_string();
    let (status, recording) = service.get(&format!("/v1/recordings/{recording_id}"));
    assert_eq!(status, 200);
    assert_eq!(recording["id"].as_str(), Some(recording_id.as_str()));
    let other_uuid = expected["segments"][1]["call_uuid"].as_str().expect("uuid");
    assert_eq!(service.get(&format!("/v1/recordings/{other_uuid}")).1, recording);

    // One call with its raw events: exactly the fixture's events of that call.
    let site = expected["segments"][0]["site"].as_str().expect("site");
    let (status, call) = service.get(&format!("/v1/calls/{site}/{uuid}"));
    assert_eq!(status, 200);
    let events = call["events"].as_array().cloned().unwrap_or_default();
    let lines = parsed_lines(&[fixture("seed-islink")]);
    let fixture_events: Vec<Value> = lines
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["call_uuid"] == uuid.as_str())
        .collect();
    assert_eq!(events.len(), fixture_events.len());
    assert!(!events.is_empty());
    assert_eq!(call["calls"][0]["interaction_id"].as_str(), Some(id.as_str()));

    // Issue 16: the interaction answers by any CallUUID of its calls, as the recording does,
    // and says its own id.
    for asked in [uuid.as_str(), other_uuid] {
        let response =
            ureq::get(&service.url(&format!("/v1/interactions/{asked}"))).call().expect("a CallUUID answers");
        assert_eq!(response.header("content-location"), Some(format!("/v1/interactions/{id}").as_str()));
        let doc: Value = response.into_json().expect("JSON");
        assert_eq!(doc["interaction_id"].as_str(), Some(id.as_str()), "{asked}");
    }

    // The page's spellings, the counts and the CSV of a search.
    let (status, page) = service.get(&format!("/v1/interactions?findings=no&from=2012-10-29&q={uuid}"));
    assert_eq!((status, ids(&page)), (200, vec![id.clone()]), "{page}");
    let (status, counts) = service.get("/v1/counts?site=SIPServer1");
    assert_eq!(status, 200);
    assert_eq!(counts["interactions"], 1, "{counts}");
    assert_eq!(counts["by_site"][0]["by_outcome"][&outcome], 1, "{counts}");
    let csv = ureq::get(&service.url(&format!("/v1/interactions.csv?call_uuid={uuid}")))
        .call()
        .expect("CSV")
        .into_string()
        .expect("text");
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with(&format!("{id},")), "{csv}");

    // A mistyped page is an HTML page; the API's own 404 stays JSON.
    let mistyped = ureq::get(&service.url("/serch")).call();
    let Err(ureq::Error::Status(404, response)) = mistyped else { panic!("/serch: {mistyped:?}") };
    assert!(response.content_type().starts_with("text/html"));
    assert!(response.into_string().unwrap_or_default().contains("<!DOCTYPE html>"));

    // Not found is a JSON 404 everywhere.
    for path in
        ["/v1/interactions/ffffffffffffffff", "/v1/recordings/nope", "/v1/calls/TS9/nope", "/v1/nothing"]
    {
        let (status, body) = service.get(path);
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "not-found", "{path}");
    }

    // Health, metrics, the OpenAPI document.
    assert_eq!(service.get("/healthz").1["status"], "ok");
    let metrics = ureq::get(&service.url("/metrics")).call().expect("metrics").into_string().expect("text");
    assert!(
        metrics.contains("callstitch_events_total{site=\"SIPServer1\",message=\"EventCallDataChanged\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("callstitch_interactions_completed_total 1"), "{metrics}");
    let (status, openapi) = service.get("/openapi.json");
    assert_eq!(status, 200);
    for path in [
        "/v1/interactions",
        "/v1/interactions.csv",
        "/v1/counts",
        "/v1/interactions/{id}",
        "/v1/recordings/{id}",
        "/v1/calls/{site}/{call_uuid}",
        "/v1/stream",
        "/v1/events",
        "/v1/media",
        "/healthz",
        "/metrics",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} is documented");
    }
    assert!(service.stop().success(), "SIGTERM ends the service cleanly");
}

#[test]
fn pages_cover_every_interaction_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = dir.path().join("sim");
    let output = common::binary()
        .args(["simulate", "--sites", "2", "--interactions", "40", "--seed", "7", "--out"])
        .arg(&sim)
        .output()
        .expect("simulate runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let service = Service::start(dir.path(), &base_config(dir.path()));
    let lines = parsed_lines(std::slice::from_ref(&sim));
    let (status, accepted) = service.post("/v1/events", &lines, None);
    assert_eq!(status, 200, "{accepted}");
    let truth = std::fs::read_to_string(sim.join("truth.jsonl")).expect("truth");
    let expected = truth.lines().filter(|line| !line.trim().is_empty()).count();
    service.wait_for("/v1/interactions?limit=1000", WAIT, |page| items(page).len() >= expected);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut starts = Vec::new();
    loop {
        let query = match &cursor {
            Some(cursor) => format!("/v1/interactions?limit=7&cursor={cursor}"),
            None => "/v1/interactions?limit=7".to_string(),
        };
        let (status, page) = service.get(&query);
        assert_eq!(status, 200);
        assert!(items(&page).len() <= 7);
        starts.extend(items(&page).iter().map(|item| item["start"].as_str().unwrap_or_default().to_string()));
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let (_, all) = service.get("/v1/interactions?limit=1000");
    assert_eq!(seen, ids(&all), "pages of 7 give the same list as one page");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no interaction twice");
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, sorted, "newest first");
}

#[test]
fn http_ingest_is_all_or_nothing_and_streams_what_it_builds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!("{}[ingest]\nmax_body_bytes = 65536\n", base_config(dir.path()));
    let service = Service::start(dir.path(), &config);

    // Subscribe before anything is sent.
    let stream = ureq::get(&service.url("/v1/stream")).call().expect("stream");
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let (sender, received) = std::sync::mpsc::channel::<String>();
    let reader = BufReader::new(stream.into_reader());
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });

    let lines = parsed_lines(&[fixture("seed-islink")]);
    let good: Vec<&str> = lines.lines().collect();
    assert_eq!(good.len(), 4);

    // One bad line refuses the whole request, naming the line and the field.
    let mut bad = good.clone();
    let wrong_type = good[1].replacen("\"site\":\"", "\"site\":17,\"x\":\"", 1);
    bad[2] = "{\"message\": \"EventRinging\", \"site\": \"SIPServer1\", \"colour\": \"red\"}";
    let (status, body) = service.post("/v1/events", &bad.join("\n"), None);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["line"], 3);
    assert!(body["reason"].as_str().unwrap_or_default().contains("colour"), "{body}");
    let (status, body) = service.post("/v1/events", &wrong_type, None);
    assert_eq!((status, body["line"].as_u64()), (400, Some(1)), "{body}");
    let (status, body) = service.post("/v1/events", "not json at all", None);
    assert_eq!(status, 400, "{body}");
    let uuid = serde_json::from_str::<Value>(good[0]).expect("event")["call_uuid"]
        .as_str()
        .expect("uuid")
        .to_string();
    assert_eq!(
        service.get(&format!("/v1/calls/SIPServer1/{uuid}")).0,
        404,
        "nothing of the refused requests was stored"
    );

    // Too large: 413 with a JSON reason.
    // Just over the limit (a body far larger is refused before it is sent whole, which
    // clients see as a broken pipe rather than a 413).
    let huge = format!("{}\n", good[0]).repeat(65536 / good[0].len() + 2);
    let (status, body) = service.post("/v1/events", &huge, None);
    assert_eq!(status, 413, "{body}");
    assert!(body["reason"].as_str().unwrap_or_default().contains("max_body_bytes"));

    // The good request: stored before the answer.
    let (status, accepted) = service.post("/v1/events", &good.join("\n"), None);
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["accepted"], 4);
    assert_eq!(accepted["last_seq"].as_u64(), accepted["first_seq"].as_u64().map(|first| first + 3));
    assert_eq!(service.get(&format!("/v1/calls/SIPServer1/{uuid}")).0, 200, "stored when answered");

    // The stream delivers the interaction once it is built.
    let expected = traced_seed();
    let id = expected["interaction_id"].as_str().expect("id");
    let deadline = std::time::Instant::now() + WAIT;
    let mut kind = None;
    while std::time::Instant::now() < deadline {
        let Ok(line) = received.recv_timeout(Duration::from_millis(200)) else { continue };
        if let Some(name) = line.strip_prefix("event: ") {
            kind = Some(name.to_string());
        }
        if let Some(data) = line.strip_prefix("data: ") {
            let summary: Value = serde_json::from_str(data).expect("data is JSON");
            // Live, the interaction is written as its calls open (`created`, `updated`);
            // the seed's calls never end, so it completes once they idle out.
            if summary["interaction_id"] == id && kind.as_deref() == Some("completed") {
                assert_eq!(summary["calls"], 3);
                return media_is_all_or_nothing(&service, &expected);
            }
        }
    }
    panic!("the stream never delivered {id}");
}

fn media_is_all_or_nothing(service: &Service, interaction: &Value) {
    let uuid = interaction["segments"][0]["call_uuid"].as_str().expect("uuid");
    let good = format!(
        "{{\"type\":\"media\",\"site\":\"SIPServer1\",\"call_uuid\":\"{uuid}\",\"media_id\":\"{uuid}_1\",\"recorded_dn\":\"7001\",\"side\":\"agent\",\"start\":\"2012-10-29T14:41:00Z\",\"stop\":\"2012-10-29T14:42:00Z\"}}"
    );
    let bad = format!("{good}\n{{\"type\":\"media\",\"site\":\"SIPServer1\"}}");
    let (status, body) = service.post("/v1/media", &bad, None);
    assert_eq!((status, body["line"].as_u64()), (400, Some(2)), "{body}");
    let (status, body) = service.post("/v1/media", &good, None);
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(1)), "{body}");
}

#[test]
fn tokens_scopes_and_masked_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = dir.path().join("sim");
    let output = common::binary()
        .args(["simulate", "--sites", "2", "--interactions", "10", "--seed", "3", "--out"])
        .arg(&sim)
        .output()
        .expect("simulate runs");
    assert!(output.status.success());
    let reader = "read-token-0123456789";
    let writer = "ingest-token-0123456789";
    let config = format!(
        "{}mask_numbers = true\n[[token]]\nname = \"dashboard\"\nsecret = \"{reader}\"\nscopes = [\"read\"]\n\
         [[token]]\nname = \"collector\"\nsecret = \"{writer}\"\nscopes = [\"ingest\"]\n",
        base_config(dir.path())
    );
    let service = Service::start(dir.path(), &config);
    let lines = parsed_lines(std::slice::from_ref(&sim));

    let (status, body) = service.get("/v1/interactions");
    assert_eq!(status, 401, "no token: {body}");
    assert_eq!(service.get_with("/v1/interactions", Some("wrong-token-0123456789")).0, 401);
    assert_eq!(service.get_with("/v1/interactions", Some(writer)).0, 403, "ingest token cannot read");
    assert_eq!(service.post("/v1/events", &lines, None).0, 401);
    let (status, body) = service.post("/v1/events", &lines, Some(reader));
    assert_eq!(status, 403, "read token cannot ingest: {body}");
    assert!(body["reason"].as_str().unwrap_or_default().contains("ingest scope"));
    assert_eq!(service.get("/healthz").0, 200, "health needs no token");
    assert_eq!(service.post("/v1/events", &lines, Some(writer)).0, 200);

    let page = service.wait_for_with_token(reader);
    let anis: Vec<String> = lines
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|event| event["ani"].as_str().map(str::to_string))
        .collect();
    assert!(!anis.is_empty(), "the simulated calls carry ANIs");
    let mut saw_masked = false;
    for item in items(&page) {
        let id = item["interaction_id"].as_str().expect("id");
        let (_, interaction) = service.get_with(&format!("/v1/interactions/{id}"), Some(reader));
        let segment = &interaction["segments"][0];
        let (_, call) = service.get_with(
            &format!(
                "/v1/calls/{}/{}",
                segment["site"].as_str().unwrap_or_default(),
                segment["key"].as_str().unwrap_or_default()
            ),
            Some(reader),
        );
        for text in [page.to_string(), interaction.to_string(), call.to_string()] {
            for ani in &anis {
                assert!(!text.contains(&format!("\"{ani}\"")), "{ani} shown unmasked in {text}");
            }
        }
        if let Some(ani) = interaction["ani"].as_str() {
            assert!(ani.starts_with('*'), "{ani}");
            saw_masked = true;
        }
    }
    assert!(saw_masked, "some interaction had its ANI masked");
}

trait WaitWithToken {
    fn wait_for_with_token(&self, token: &str) -> Value;
}

impl WaitWithToken for Service {
    fn wait_for_with_token(&self, token: &str) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let (status, page) = self.get_with("/v1/interactions?limit=1000", Some(token));
            if status == 200 && items(&page).len() >= 10 {
                return page;
            }
            assert!(std::time::Instant::now() < deadline, "interactions never came: {page}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The stream's events, as (kind, summary), read on a thread.
fn subscribe(service: &Service) -> std::sync::mpsc::Receiver<(String, Value)> {
    let stream = ureq::get(&service.url("/v1/stream")).call().expect("stream");
    let (sender, received) = std::sync::mpsc::channel();
    let reader = BufReader::new(stream.into_reader());
    std::thread::spawn(move || {
        let mut kind = String::new();
        for line in reader.lines().map_while(Result::ok) {
            if let Some(name) = line.strip_prefix("event: ") {
                kind = name.to_string();
            }
            if let Some(data) = line.strip_prefix("data: ") {
                let Ok(summary) = serde_json::from_str::<Value>(data) else { continue };
                if sender.send((kind.clone(), summary)).is_err() {
                    break;
                }
            }
        }
    });
    received
}

/// The seed's calls end: an EventCallDeleted for each, ten seconds after its last event.
fn seed_ends(lines: &[&str]) -> Vec<String> {
    let mut last: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    for line in lines {
        let event: Value = serde_json::from_str(line).expect("event");
        let uuid = event["call_uuid"].as_str().unwrap_or_default().to_string();
        last.insert(uuid, event);
    }
    last.into_values()
        .enumerate()
        .map(|(index, mut event)| {
            let time = callstitch_tlib::Timestamp::parse_rfc3339(event["timestamp"].as_str().expect("time"))
                .expect("RFC 3339");
            let object = event.as_object_mut().expect("object");
            object.remove("is_links");
            object.remove("line");
            object.remove("clock");
            object.remove("log_time");
            object.insert("message".into(), "EventCallDeleted".into());
            object.insert("seq".into(), (900_000 + index as u64).into());
            object.insert(
                "timestamp".into(),
                callstitch_tlib::Timestamp(time.0 + 10_000_000).to_string().into(),
            );
            event.to_string()
        })
        .collect()
}

/// Issue 12: an interaction is visible through the API, the stream and the UI while its
/// calls are still up (`state: live`, the site that has the customer now), and once they
/// ended it is the same interaction `trace --json` gives for the same events.
#[test]
fn a_multi_site_interaction_is_visible_live_and_ends_as_the_batch_result() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = base_config(dir.path()).replace("call_idle_timeout_s = 2", "call_idle_timeout_s = 3600");
    let service = Service::start(dir.path(), &config);
    let stream = subscribe(&service);
    let lines = parsed_lines(&[fixture("seed-islink")]);
    let events: Vec<&str> = lines.lines().collect();
    let by_time = |text: &&str| serde_json::from_str::<Value>(text).expect("event")["timestamp"].to_string();
    let mut ordered = events.clone();
    ordered.sort_by_key(by_time);

    // Tserver2 sends the call over L1 and SIPServer1 takes it: two calls up.
    let first_two = [ordered[0], ordered[1]].join("\n");
    assert_eq!(service.post("/v1/events", &first_two, None).0, 200);
    let page = service.wait_for("/v1/interactions?state=live", WAIT, |page| {
        items(page).first().is_some_and(|item| item["calls"] == 2)
    });
    let live = &items(&page)[0];
    let id = live["interaction_id"].as_str().expect("id").to_string();
    assert_eq!((live["state"].as_str(), live["current_site"].as_str()), (Some("live"), Some("SIPServer1")));
    assert!(live["current_since"].is_string(), "{live}");
    let (status, doc) = service.get(&format!("/v1/interactions/{id}"));
    assert_eq!(status, 200);
    assert_eq!(doc["state"], "live");
    assert!(doc["segments"].as_array().expect("segments").iter().all(|segment| segment["live"] == true));
    let (_, settled) = service.get("/v1/interactions?state=complete");
    assert!(ids(&settled).is_empty(), "nothing is complete yet: {settled}");
    // The UI's list and page show it live, and where the customer is.
    let list = ureq::get(&service.url("/?state=live")).call().expect("page").into_string().expect("html");
    assert!(list.contains("now-live") && list.contains("at SIPServer1"), "{list}");
    let page_html =
        ureq::get(&service.url(&format!("/i/{id}"))).call().expect("page").into_string().expect("html");
    assert!(page_html.contains("the customer is at SIPServer1"), "{page_html}");

    // The call comes back to Tserver2 (L2): three calls, the customer at Tserver2.
    assert_eq!(service.post("/v1/events", &[ordered[2], ordered[3]].join("\n"), None).0, 200);
    service.wait_for(
        "/v1/interactions?state=live&call_uuid=00RP30KH7088L1IC08GB82LAES00031D",
        WAIT,
        |page| {
            items(page).first().is_some_and(|item| item["calls"] == 3 && item["current_site"] == "Tserver2")
        },
    );

    // Every call ends: the interaction completes, as `trace --json` has it for these events.
    let ends = seed_ends(&events);
    assert_eq!(service.post("/v1/events", &ends.join("\n"), None).0, 200);
    service.wait_for(
        "/v1/interactions?state=complete&call_uuid=00RP30KH7088L1IC08GB82LAES000317",
        WAIT,
        |page| items(page).len() == 1,
    );
    let (_, doc) = service.get(&format!("/v1/interactions/{id}"));
    let all = dir.path().join("all.jsonl");
    std::fs::write(&all, format!("{}\n{}\n", events.join("\n"), ends.join("\n"))).expect("events");
    let output = common::binary()
        .args(["trace", "--json", "--link-timeout", "2"])
        .arg(format!("Tserver2={}", all.display()))
        .output()
        .expect("trace runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut batch: Value = serde_json::from_slice(&output.stdout).expect("one interaction");
    let mut live_doc = doc.clone();
    for value in [&mut batch, &mut live_doc] {
        let object = value.as_object_mut().expect("object");
        object.remove("revision");
        object.remove("replaces");
    }
    assert_eq!(live_doc, batch);

    // The stream said so as it happened: created, updated, completed.
    let mut kinds = Vec::new();
    while let Ok((kind, summary)) = stream.recv_timeout(Duration::from_millis(500)) {
        if summary["interaction_id"] == id.as_str() {
            kinds.push(kind);
        }
    }
    assert_eq!(kinds.first().map(String::as_str), Some("created"), "{kinds:?}");
    assert!(kinds.iter().any(|kind| kind == "updated"), "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("completed"), "{kinds:?}");
}

/// Issue 16, item 6: an Inter-Site Link id that never paired could not be searched. The
/// seed's SIPServer1 log alone: its links wait for Tserver2's ends, which never come.
#[test]
fn an_islink_seen_on_one_site_only_finds_its_interaction() {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = seed_logs(dir.path());
    let config = format!(
        "{}[[site]]\nname = \"SIPServer1\"\nlogs = [\"{}\"]\n[[site]]\nname = \"Tserver2\"\nlogs = [\"{}\"]\n",
        base_config(dir.path()).replace("call_idle_timeout_s = 2", "call_idle_timeout_s = 5"),
        logs.join("SIPServer1.log").display(),
        dir.path().join("no-such-Tserver2.log").display()
    );
    let service = Service::start(dir.path(), &config);
    let page = service.wait_for("/v1/interactions?state=complete", WAIT, |page| !items(page).is_empty());
    let id = ids(&page)[0].clone();
    let (_, doc) = service.get(&format!("/v1/interactions/{id}"));
    assert_eq!(doc["links"], serde_json::json!([]), "nothing paired: {doc}");
    for link in ["00RP30KH7088L1IC08GB82LAES000316", "00EBGH4GK488LFQD2CGB02LAES0007J5"] {
        let (status, found) = service.get(&format!("/v1/interactions?islink={link}"));
        assert_eq!((status, ids(&found)), (200, vec![id.clone()]), "islink={link}: {found}");
        let (status, found) = service.get(&format!("/v1/interactions?q={link}"));
        assert_eq!((status, ids(&found)), (200, vec![id.clone()]), "q={link}: {found}");
    }
    assert!(service.stop().success());
}
