//! The pipeline live, as the service runs it: every event arrives at a wall time, ticks move
//! quiet sites on. Every interaction ends complete, and the last revision of each equals the
//! interaction the same events give read as input.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::collections::BTreeMap;

use callstitch_engine::EngineConfig;
use callstitch_link::{Interaction, Lifecycle, LinkerConfig, LiveClock, SiteDirectory, SECOND};
use callstitch_pipeline::{Collected, Pipeline, PipelineConfig};
use callstitch_sim::{OutputFormat, SimConfig};
use callstitch_tlib::Event;
use common::{settled_documents, simulated};

mod common;

fn center(interactions: u64, seed: u64) -> (Vec<Event>, Vec<String>) {
    center_at(interactions, 2_000, seed)
}

/// `interactions` starting `rate_milli` / 1000 a second.
fn center_at(interactions: u64, rate_milli: u64, seed: u64) -> (Vec<Event>, Vec<String>) {
    let config = SimConfig {
        sites: 4,
        interactions: Some(interactions),
        rate_milli,
        seed,
        format: OutputFormat::JsonLines,
        ..SimConfig::default()
    };
    simulated(&config)
}

fn last_revisions(found: &[(Interaction, callstitch_recording::Recording)]) -> BTreeMap<String, Interaction> {
    let mut last: BTreeMap<String, Interaction> = BTreeMap::new();
    for (interaction, _) in found {
        for old in &interaction.replaces {
            last.remove(old);
        }
        last.insert(interaction.interaction_id.clone(), interaction.clone());
    }
    last
}

#[test]
fn live_every_interaction_ends_complete_and_equal_to_the_batch_result() {
    let (events, sites) = center(200, 5);
    let directory = || SiteDirectory::new(sites.iter().map(String::as_str));
    let batch_config = PipelineConfig::new(EngineConfig::default(), LinkerConfig::default(), None);
    let mut batch = Pipeline::new(&batch_config, directory(), None);
    let mut expected = Collected::default();
    for event in &events {
        batch.push(event, &mut expected);
    }
    batch.finish(&mut expected);

    let linker =
        LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..LinkerConfig::default() };
    let live_config = PipelineConfig::new(EngineConfig::default(), linker, None);
    let mut live = Pipeline::new(&live_config, directory(), None);
    let mut found = Collected::default();
    let mut wall = 0;
    for (index, event) in events.iter().enumerate() {
        wall = event.time().map_or(wall, |time| time.0);
        live.push_at(event, Some(wall), &mut found);
        // The service flushes once per batch it commits.
        if index % 37 == 36 {
            live.flush(&mut found);
        }
    }
    for step in 1..=60 {
        live.tick(wall + step * 60 * SECOND, &mut found);
        live.flush(&mut found);
    }
    let last = last_revisions(&found.interactions);
    let open: Vec<(&String, Lifecycle)> =
        last.iter().filter(|(_, i)| i.state != Lifecycle::Complete).map(|(id, i)| (id, i.state)).collect();
    assert!(open.is_empty(), "{} not complete: {:?}", open.len(), &open[..open.len().min(5)]);
    let mut strip = |interaction: &Interaction| {
        let mut interaction = interaction.clone();
        interaction.revision = 0;
        interaction.replaces.clear();
        serde_json::to_string(&interaction).expect("json")
    };
    let mut want: Vec<String> = expected.interactions.iter().map(|(i, _)| strip(i)).collect();
    let mut got: Vec<String> = last.values().map(&mut strip).collect();
    want.sort();
    got.sort();
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
}

/// The live pipeline with `late`'s events held back: the other sites' events arrive as
/// they happen, then `quiet` of wall time passes with a tick every ten seconds (as the
/// service ticks when nothing arrives), then the late site's events arrive in a burst, then
/// three hours of ticks. Each interaction's last revision with its recording.
fn with_a_late_site(events: &[Event], sites: &[String], late: &str, quiet: i64) -> Vec<String> {
    let directory = SiteDirectory::new(sites.iter().map(String::as_str));
    let linker =
        LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..LinkerConfig::default() };
    let mut live =
        Pipeline::new(&PipelineConfig::new(EngineConfig::default(), linker, None), directory, None);
    let mut found = Collected::default();
    let mut wall = 0;
    let (held, early): (Vec<&Event>, Vec<&Event>) =
        events.iter().partition(|event| event.site.as_str() == late);
    for event in early {
        wall = wall.max(event.time().map_or(wall, |time| time.0));
        live.push_at(event, Some(wall), &mut found);
    }
    let tick_for = |live: &mut Pipeline, wall: &mut i64, span: i64, found: &mut Collected| {
        for _ in 0..span / (10 * SECOND) {
            *wall += 10 * SECOND;
            live.tick(*wall, found);
            live.flush(found);
        }
    };
    tick_for(&mut live, &mut wall, quiet, &mut found);
    for event in held {
        wall += SECOND / 1000;
        live.push_at(event, Some(wall), &mut found);
    }
    tick_for(&mut live, &mut wall, 3 * 3_600 * SECOND, &mut found);
    settled_documents(&found.interactions)
}

/// A site whose events come late (its collector started late), after the other sites'
/// interactions were handed out complete and, after an hour of quiet, forgotten: its calls
/// join them, with the links and recordings the same events give read at once. Guards the
/// quiet sites' clocks, which each tick moved on by the whole quiet again (an hour of
/// ticks took them two days on, past the archive's horizon: nothing came back).
#[test]
fn a_site_that_comes_late_joins_the_interactions_the_others_made_without_it() {
    let plain = center_at(120, 50, 31);
    let varied = {
        let config = SimConfig {
            sites: 3,
            interactions: Some(120),
            seed: 31,
            skew_max_micros: 3 * SECOND,
            long_calls_per_mille: 100,
            conn_reuse_per_mille: 200,
            format: OutputFormat::JsonLines,
            ..SimConfig::default()
        };
        simulated(&config)
    };
    for (name, (events, sites)) in
        [("4 sites over 40 minutes", plain), ("3 sites, skew, long calls, ConnID reuse", varied)]
    {
        let directory = SiteDirectory::new(sites.iter().map(String::as_str));
        let batch_config = PipelineConfig::new(EngineConfig::default(), LinkerConfig::default(), None);
        let mut batch = Pipeline::new(&batch_config, directory, None);
        let mut expected = Collected::default();
        for event in &events {
            batch.push(event, &mut expected);
        }
        batch.finish(&mut expected);
        let want = settled_documents(&expected.interactions);
        for late in &sites {
            for quiet in [5 * 60 * SECOND, 3_600 * SECOND] {
                let got = with_a_late_site(&events, &sites, late, quiet);
                let differ: Vec<&String> = got.iter().filter(|doc| !want.contains(doc)).collect();
                assert!(
                    differ.is_empty() && got.len() == want.len(),
                    "{name}, {late} late after {} s: {} of {} differ (want {}), e.g. {}",
                    quiet / SECOND,
                    differ.len(),
                    got.len(),
                    want.len(),
                    differ.first().map_or("", |doc| &doc[..doc.len().min(800)])
                );
            }
        }
    }
}

/// The service captures the state on its ingest thread and encodes it on another while the
/// pipeline goes on. Calls and segments are shared with the capture and copied only when they
/// change: whatever the pipeline does after the capture, the captured state encodes to the
/// bytes a snapshot taken at the capture has (regression guard for the copy-on-write).
#[test]
fn a_captured_state_encodes_as_of_its_capture_however_the_pipeline_goes_on() {
    let (events, sites) = center(300, 17);
    let linker =
        LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..LinkerConfig::default() };
    let config = PipelineConfig::new(EngineConfig::default(), linker, None);
    let mut pipeline = Pipeline::new(&config, SiteDirectory::new(sites.iter().map(String::as_str)), None);
    let mut found = Collected::default();
    let mut captures = Vec::new();
    for (index, event) in events.iter().enumerate() {
        pipeline.push_at(event, event.time().map(|time| time.0), &mut found);
        if index % (events.len() / 5) == events.len() / 10 {
            pipeline.flush(&mut found);
            captures.push((pipeline.snapshot().expect("a snapshot"), pipeline.capture()));
        }
    }
    pipeline.finish(&mut found);
    assert!(captures.len() >= 4, "captured {} times", captures.len());
    let (calls, segments) = pipeline.in_memory();
    assert_eq!((calls, segments), (0, 0), "every call and segment changed or went after the captures");
    for (at, (bytes, state)) in captures.iter().enumerate() {
        assert!(state.encode().expect("encodes") == *bytes, "capture {at} changed after it was taken");
    }
}
