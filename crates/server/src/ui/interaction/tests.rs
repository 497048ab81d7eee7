//! The interaction page over a real SQLite store filled the way the service fills it: the
//! pipeline runs over real logs (a simulated center's multi-site conference, the seed's
//! two-site call) with their media feed, and its calls, interactions and raw events are
//! committed as the ingest loop commits them. What the page reads is then exactly what the
//! service stores (the GIR-shaped recording metadata beside the trace document), not a
//! hand-made double of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use callstitch_link::SiteDirectory;
use callstitch_pipeline::{Collected, Pipeline, PipelineConfig};
use callstitch_recording::{read_feed, MediaFeed};
use callstitch_store::{
    Batch, CallRecord, EventRecord, InteractionRecord, SqliteOptions, SqliteStore, Store,
};
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::{Event, Text};
use serde_json::Value;
use tower::ServiceExt;

use crate::api::{App, AppInner};
use crate::state::Shared;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// The events of every `*.log` in `dir`, each file's stem naming its site unless its
/// header does, in time order (as the simulator's sites interleave them).
fn read_logs(dir: &Path) -> (Vec<Event>, Vec<String>) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    paths.sort();
    let (mut events, mut sites) = (Vec::new(), Vec::new());
    for path in paths {
        let site = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or("unknown").to_string();
        let options = ReaderOptions { site: Some(Text::from(site.as_str())), ..ReaderOptions::default() };
        let mut reader = LogReader::open(&path, options).expect("fixture log opens");
        while let Some(event) = reader.next_event().expect("fixture log reads") {
            events.push(event);
        }
        sites.push(site);
    }
    events.sort_by_key(|event| event.time().map(|time| time.0));
    (events, sites)
}

fn feed(path: &Path) -> MediaFeed {
    let text = std::fs::read(path).expect("feed reads");
    read_feed(text.as_slice()).expect("in memory")
}

/// A store holding what the service would after taking `events` (and `media`): raw events,
/// calls, and every revision of every interaction, in the order handed out.
pub(super) struct Filled {
    pub router: Router,
    /// The interactions' ids, last revisions only.
    pub ids: Vec<String>,
    pub events: Vec<Event>,
    _dir: tempfile::TempDir,
}

pub(super) async fn filled(events: Vec<Event>, sites: &[String], media: Option<MediaFeed>) -> Filled {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("ui.db"), SqliteOptions::default()).expect("store");
    let mut pipeline = Pipeline::new(
        &PipelineConfig::default(),
        SiteDirectory::new(sites.iter().map(String::as_str)),
        media,
    );
    let mut out = Collected::default();
    for event in &events {
        pipeline.push(event, &mut out);
    }
    pipeline.finish(&mut out);
    let records = events.iter().enumerate().map(|(n, event)| EventRecord::new(n as u64 + 1, event, None));
    let calls = out.calls.iter().map(CallRecord::new).collect();
    let batch = Batch { events: records.collect(), calls, ..Batch::default() };
    store.commit(Arc::new(batch)).await.expect("events and calls stored");
    let mut ids: Vec<String> = Vec::new();
    for (interaction, recording) in &out.interactions {
        let record = InteractionRecord::new(interaction, recording);
        ids.retain(|id| !record.replaces.contains(id) && *id != record.id);
        ids.push(record.id.clone());
        let batch = Batch { interactions: vec![record], ..Batch::default() };
        store.commit(Arc::new(batch)).await.expect("interaction stored");
    }
    let (ingress, _requests) = crate::ingest::queue(1);
    let app = App::new(AppInner {
        store,
        ingress,
        shared: Arc::new(Shared::new()),
        tokens: Vec::new(),
        mask_numbers: false,
        max_body_bytes: 1 << 20,
        edge: crate::api::Edge::default(),
        sign_ins: Default::default(),
        sites: sites.to_vec(),
    });
    Filled { router: crate::api::router(app), ids, events, _dir: dir }
}

/// The simulated center's multi-site conference (three sites, three media files).
pub(super) async fn conference() -> Filled {
    let case = repo("crates/recording/tests/fixtures/multi-site-conference");
    let (events, sites) = read_logs(&case);
    filled(events, &sites, Some(feed(&case.join("media.jsonl")))).await
}

/// The seed's two-site call (Tserver2 → SIPServer1), logs with headers (UTC and local time).
pub(super) async fn seed() -> Filled {
    let (events, sites) = read_logs(&repo("fixtures/seed-islink"));
    filled(events, &sites, None).await
}

pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

pub(super) async fn get(router: &Router, path: &str) -> Answer {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = router.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.expect("a body");
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// The page's section whose heading has this id, up to the next section.
fn section<'a>(body: &'a str, heading_id: &str) -> &'a str {
    let start =
        body.find(&format!("aria-labelledby=\"{heading_id}\"")).unwrap_or_else(|| panic!("no {heading_id}"));
    let rest = &body[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn the_recording_section_lists_every_media_file_the_store_holds() {
    let center = conference().await;
    assert_eq!(center.ids.len(), 1, "one interaction: {:?}", center.ids);
    let page = get(&center.router, &format!("/i/{}", center.ids[0])).await;
    assert_eq!(page.status, StatusCode::OK);
    let recording = section(&page.body, "recording-heading");
    assert!(!recording.contains("No media file"), "the page says it was not recorded:\n{recording}");
    let feed = feed(&repo("crates/recording/tests/fixtures/multi-site-conference/media.jsonl"));
    assert_eq!(feed.files.len(), 3);
    for file in &feed.files {
        assert!(recording.contains(&file.media_id), "media file {} missing:\n{recording}", file.media_id);
    }
    for (site, dn) in [("SIP_LON", "1016"), ("SIP_BLR", "3002")] {
        assert!(recording.contains(site) && recording.contains(dn), "{site} {dn}:\n{recording}");
    }
}

#[tokio::test]
async fn the_recording_json_download_is_the_stored_gir_metadata() {
    let center = conference().await;
    let answer = get(&center.router, &format!("/i/{}/recording.json", center.ids[0])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_DISPOSITION].to_str().unwrap_or("").contains("recording.json"));
    let doc: Value = serde_json::from_str(&answer.body).expect("JSON");
    assert_eq!(doc["mediaFiles"].as_array().map(Vec::len), Some(3), "{doc}");
}

/// The event as its JSON form, without where it was read (the file differs).
fn placed_nowhere(event: &Event) -> Value {
    let mut doc = serde_json::to_value(event).expect("JSON");
    if let Some(map) = doc.as_object_mut() {
        map.remove("file");
        map.remove("line");
    }
    doc
}

#[tokio::test]
async fn events_log_says_each_sites_clock_so_reading_it_back_neither_warns_nor_moves_an_event() {
    let seed = seed().await;
    assert_eq!(seed.ids.len(), 1, "{:?}", seed.ids);
    let log = get(&seed.router, &format!("/i/{}/events.log", seed.ids[0])).await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(
        log.body.starts_with("Application name: Tserver2\nTime zone: 18000, UTC-05:00, UTC-05:00\n"),
        "{}",
        log.body
    );
    let mut reader = LogReader::new(log.body.as_bytes(), ReaderOptions::default());
    let mut read = Vec::new();
    while let Some(event) = reader.next_event().expect("in memory") {
        read.push(event);
    }
    let problems: Vec<String> = reader.take_problems().iter().map(|problem| format!("{problem:?}")).collect();
    assert!(problems.is_empty(), "reading events.log back warns: {problems:?}");
    let mut stored: Vec<Value> = seed.events.iter().map(placed_nowhere).collect();
    let mut again: Vec<Value> = read.iter().map(placed_nowhere).collect();
    let key = |doc: &Value| (doc["site"].to_string(), doc["seq"].as_u64(), doc["message"].to_string());
    stored.sort_by_key(key);
    again.sort_by_key(key);
    assert_eq!(again.len(), stored.len());
    for (again, stored) in again.iter().zip(&stored) {
        assert_eq!(again, stored, "an event changed on the way through events.log");
    }
}
