//! What the pipeline's live tests share: simulated estates as events, and each
//! interaction's settled document to compare a live run with reading at once.

use std::collections::{BTreeMap, BTreeSet};

use callstitch_link::Interaction;
use callstitch_recording::Recording;
use callstitch_sim::{simulate, MemoryStorage, SimConfig};
use callstitch_tlib::json::event_from_json;
use callstitch_tlib::Event;

/// The events `config` simulates (its format must be JSON lines), in time order, and the
/// sites they come from.
pub fn simulated(config: &SimConfig) -> (Vec<Event>, Vec<String>) {
    let mut storage = MemoryStorage::new();
    simulate(config, &mut storage).expect("simulated");
    let mut events = Vec::new();
    let mut sites = BTreeSet::new();
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

/// Each interaction's last revision, with its recording, as JSON without what depends on
/// when it was handed out (its revision and the ids it replaces), sorted.
pub fn settled_documents(found: &[(Interaction, Recording)]) -> Vec<String> {
    let mut last: BTreeMap<String, (Interaction, Recording)> = BTreeMap::new();
    for (interaction, recording) in found {
        for old in &interaction.replaces {
            last.remove(old);
        }
        last.insert(interaction.interaction_id.clone(), (interaction.clone(), recording.clone()));
    }
    let mut documents: Vec<String> = last
        .into_values()
        .map(|(mut interaction, recording)| {
            interaction.revision = 0;
            interaction.replaces.clear();
            let interaction = serde_json::to_string(&interaction).expect("json");
            let recording = serde_json::to_string(&recording).expect("json");
            format!("{interaction} {recording}")
        })
        .collect();
    documents.sort();
    documents
}
