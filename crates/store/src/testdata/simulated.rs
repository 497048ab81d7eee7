//! A simulated estate through the real pipeline, for the store's tests: the calls and the
//! final revision of each interaction with its recording, as the pipeline typed them (the
//! store's rows are built from these; the tests compute what they expect from them too).
//! Shared by the unit tests (`crate::testdata`) and the integration tests (`#[path]`).

use std::collections::BTreeMap;

use callstitch_engine::{EngineConfig, FinishedCall};
use callstitch_link::{Interaction, LinkerConfig, SiteDirectory};
use callstitch_pipeline::{Collected, Pipeline, PipelineConfig};
use callstitch_recording::{read_feed, Recording};
use callstitch_sim::run::MEDIA_FILE;
use callstitch_sim::{simulate, MemoryStorage, OutputFormat, SimConfig};
use callstitch_tlib::json::event_from_json;

/// What the pipeline made of a simulated estate.
pub struct Simulated {
    pub calls: Vec<FinishedCall>,
    /// Every interaction as handed out, in order (revisions and replacements included).
    pub handed_out: Vec<(Interaction, Recording)>,
}

impl Simulated {
    /// `interactions` interactions on `sites` sites, with the simulator's media feed.
    pub fn run(interactions: u64, sites: usize, seed: u64) -> Simulated {
        let config = SimConfig {
            sites,
            interactions: Some(interactions),
            rate_milli: 3_000,
            seed,
            format: OutputFormat::JsonLines,
            ..SimConfig::default()
        };
        let mut storage = MemoryStorage::new();
        simulate(&config, &mut storage).expect("simulated");
        let mut events = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        let mut feed = None;
        for (name, bytes) in storage.files() {
            if name == MEDIA_FILE {
                feed = Some(read_feed(bytes.as_slice()).expect("the simulator's feed reads"));
            } else if name.ends_with(".jsonl")
                && !["truth.jsonl", "recordings.jsonl"].contains(&name.as_str())
            {
                for line in String::from_utf8_lossy(&bytes).lines() {
                    let event = event_from_json(line).expect("event");
                    names.insert(event.site.to_string());
                    events.push(event);
                }
            }
        }
        events.sort_by_key(|event| event.time().map(|time| time.0));
        let pipeline_config = PipelineConfig::new(EngineConfig::default(), LinkerConfig::default(), None);
        let mut pipeline =
            Pipeline::new(&pipeline_config, SiteDirectory::new(names.iter().map(String::as_str)), feed);
        let mut collected = Collected::default();
        for event in &events {
            pipeline.push(event, &mut collected);
        }
        pipeline.finish(&mut collected);
        Simulated { calls: collected.calls, handed_out: collected.interactions }
    }

    /// The last revision of each interaction still standing (one that replaced others
    /// stands for them).
    pub fn last_revisions(&self) -> BTreeMap<String, (Interaction, Recording)> {
        let mut last: BTreeMap<String, (Interaction, Recording)> = BTreeMap::new();
        for (interaction, recording) in &self.handed_out {
            for old in &interaction.replaces {
                last.remove(old);
            }
            last.insert(interaction.interaction_id.clone(), (interaction.clone(), recording.clone()));
        }
        last
    }
}
