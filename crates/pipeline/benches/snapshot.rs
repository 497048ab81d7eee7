//! What a snapshot costs the live service's ingest thread:
//! `cargo bench -p callstitch-pipeline --bench snapshot`.
//!
//! Simulates a busy estate (four sites, `CALLSTITCH_BENCH_INTERACTIONS` customers, default
//! 20,000, arriving at 20 per second so that a few thousand calls are in progress at once),
//! runs it through a live pipeline as the service does, and at the middle of the stream
//! times, best of five: the snapshot as the ingest thread pays for it, its encoding (which can
//! run on another thread), the whole snapshot as one call, and the restore a restart pays.
//! The anchor printed beside them is a plain copy (`memcpy`) of as many bytes as the snapshot
//! has, measured in the same run.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::time::{Duration, Instant};

use callstitch_engine::EngineConfig;
use callstitch_link::{LinkerConfig, LiveClock, SiteDirectory, SECOND};
use callstitch_pipeline::{Collected, Pipeline, PipelineConfig};
use callstitch_sim::{simulate, MemoryStorage, OutputFormat, SimConfig};
use callstitch_tlib::json::event_from_json;
use callstitch_tlib::Event;

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let interactions = std::env::var("CALLSTITCH_BENCH_INTERACTIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20_000);
    let (events, sites) = estate(interactions);
    let linker =
        LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..LinkerConfig::default() };
    let config = PipelineConfig::new(EngineConfig::default(), linker, None);
    let mut pipeline = Pipeline::new(&config, SiteDirectory::new(sites.iter().map(String::as_str)), None);
    let mut sink = Collected::default();
    let middle = events.len() / 2;
    for (index, event) in events[..middle].iter().enumerate() {
        let wall = event.time().map(|time| time.0);
        pipeline.push_at(event, wall, &mut sink);
        if index % 100 == 99 {
            pipeline.flush(&mut sink);
            sink.interactions.clear();
            sink.calls.clear();
        }
    }
    let (calls, segments) = pipeline.in_memory();
    println!("{middle} of {} events taken; in memory: {calls} calls, {segments} segments", events.len());
    let whole = best(|| pipeline.snapshot().map_or(0, |bytes| bytes.len()));
    let captured = best(|| {
        let state = pipeline.capture();
        std::hint::black_box(&state);
        0
    });
    let state = pipeline.capture();
    let encode = best(|| state.encode().map_or(0, |bytes| bytes.len()));
    let bytes = state.encode().expect("the state encodes");
    let restore = best(|| Pipeline::restore(&bytes, &config).map_or(0, |_| 1));
    let copy = best(|| std::hint::black_box(bytes.clone()).len());
    println!("snapshot: {:.1} MB", bytes.len() as f64 / 1e6);
    println!(
        "whole snapshot {:.1} ms; capture (the ingest thread's part) {:.1} ms; encoding {:.1} ms; \
         restore {:.1} ms; memcpy of the same bytes {:.2} ms",
        ms(whole),
        ms(captured),
        ms(encode),
        ms(restore),
        ms(copy)
    );
}

fn best(mut once: impl FnMut() -> usize) -> Duration {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(once());
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The simulated estate's events in time order and its site names.
fn estate(interactions: u64) -> (Vec<Event>, Vec<String>) {
    let config = SimConfig {
        sites: 4,
        interactions: Some(interactions),
        rate_milli: 20_000,
        seed: 9,
        format: OutputFormat::JsonLines,
        ..SimConfig::default()
    };
    let mut storage = MemoryStorage::new();
    simulate(&config, &mut storage).expect("the simulation runs");
    let mut events = Vec::new();
    let mut sites = std::collections::BTreeSet::new();
    for (name, bytes) in storage.files() {
        if !name.ends_with(".jsonl")
            || ["truth.jsonl", "recordings.jsonl", "media.jsonl"].contains(&name.as_str())
        {
            continue;
        }
        for line in String::from_utf8_lossy(&bytes).lines() {
            if let Ok(event) = event_from_json(line) {
                sites.insert(event.site.to_string());
                events.push(event);
            }
        }
    }
    events.sort_by_key(|event| event.time().map(|time| time.0));
    (events, sites.into_iter().collect())
}
