//! The pipeline live, as the service runs it: every event arrives at a wall time, ticks move
//! quiet sites on. Every interaction ends complete, and the last revision of each equals the
//! interaction the same events give read as input.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::collections::BTreeMap;

use callstitch_engine::EngineConfig;
use callstitch_link::{Interaction, Lifecycle, LinkerConfig, LiveClock, SiteDirectory, SECOND};
use callstitch_pipeline::{Collected, Pipeline, PipelineConfig};
use callstitch_sim::{simulate, MemoryStorage, OutputFormat, SimConfig};
use callstitch_tlib::json::event_from_json;
use callstitch_tlib::Event;

fn center(interactions: u64, seed: u64) -> (Vec<Event>, Vec<String>) {
    let config = SimConfig {
        sites: 4,
        interactions: Some(interactions),
        rate_milli: 2_000,
        seed,
        format: OutputFormat::JsonLines,
        ..SimConfig::default()
    };
    let mut storage = MemoryStorage::new();
    simulate(&config, &mut storage).expect("simulated");
    let mut events = Vec::new();
    let mut sites = std::collections::BTreeSet::new();
    for (name, bytes) in storage.files() {
        if name.ends_with(".jsonl")
            && !["truth.jsonl", "recordings.jsonl", "media.jsonl"].contains(&name.as_str())
        {
            for line in String::from_utf8_lossy(&bytes).lines() {
                let event = event_from_json(line).expect("event");
                sites.insert(event.site.to_string());
                events.push(event);
            }
        }
    }
    events.sort_by_key(|event| event.time().map(|time| time.0));
    (events, sites.into_iter().collect())
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
