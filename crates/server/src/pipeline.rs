//! The service's side of the pipeline: the one composition every command runs
//! ([`callstitch_pipeline::Pipeline`]), configured from the service's settings, and the sink
//! that turns what it hands out into rows for the store. No I/O: the ingest loop decides
//! what is read and when it is stored.

use callstitch_engine::config::SECOND;
use callstitch_engine::{EngineConfig, FinishedCall};
use callstitch_link::{Interaction, LinkerConfig, LiveClock, SiteDirectory};
use callstitch_pipeline::TraceDocument;
use callstitch_recording::Recording;
use callstitch_store::{CallRecord, InteractionRecord};
use std::collections::HashMap;

pub use callstitch_pipeline::{Pipeline, SnapshotError};

/// What one or more events settled: rows for the store. An interaction handed out several
/// times in one batch (live: each change) is written once, as it stands last, at the place of
/// its last hand-out; a row it replaces goes from the batch (written after it, a replaced row
/// would come back).
#[derive(Debug, Default)]
pub struct Settled {
    pub calls: Vec<CallRecord>,
    /// Hand-outs in order; `None` where a later one took the place.
    interactions: Vec<Option<InteractionRecord>>,
    /// Interaction id → its place in `interactions`.
    places: HashMap<String, usize>,
}

impl Settled {
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.places.is_empty()
    }

    /// The interactions to write, each once, in order.
    pub fn interactions(&self) -> impl Iterator<Item = &InteractionRecord> {
        self.interactions.iter().flatten()
    }

    /// The rows: calls and interactions.
    pub fn into_rows(self) -> (Vec<CallRecord>, Vec<InteractionRecord>) {
        (self.calls, self.interactions.into_iter().flatten().collect())
    }
}

impl callstitch_pipeline::Sink for Settled {
    fn call(&mut self, call: &FinishedCall) {
        self.calls.push(CallRecord::new(call));
    }

    fn interaction(&mut self, interaction: Interaction, recording: Recording) {
        let mut record = InteractionRecord::of(&TraceDocument::new(interaction, recording));
        if let Some(earlier) =
            self.places.remove(&record.id).and_then(|place| self.interactions[place].take())
        {
            record.first |= earlier.first;
            for id in earlier.replaces {
                if !record.replaces.contains(&id) && id != record.id {
                    record.replaces.push(id);
                }
            }
        }
        for id in &record.replaces {
            if let Some(place) = self.places.remove(id) {
                self.interactions[place] = None;
            }
        }
        self.places.insert(record.id.clone(), self.interactions.len());
        self.interactions.push(Some(record));
    }
}

/// How the pipeline is built (the part of the service config it needs).
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub sites: Vec<String>,
    pub link_timeout_s: u32,
    pub linger_s: u32,
    /// A site that sent nothing for this long (wall seconds) stops holding the estate's time
    /// back (docs/serve.md, "Clocks").
    pub site_idle_s: u32,
    pub call_idle_timeout_s: u32,
    pub record_marker: Option<String>,
    /// A live service (interactions written as they change) rather than a one-shot import.
    pub live: bool,
}

impl PipelineConfig {
    /// The pipeline's configuration.
    pub fn build(&self) -> callstitch_pipeline::PipelineConfig {
        let engine = EngineConfig {
            idle_timeout: i64::from(self.call_idle_timeout_s) * SECOND,
            ..EngineConfig::default()
        };
        let linker = LinkerConfig {
            link_timeout: i64::from(self.link_timeout_s) * SECOND,
            linger: i64::from(self.linger_s) * SECOND,
            live: self.live.then(|| LiveClock { idle_after: i64::from(self.site_idle_s) * SECOND }),
            ..LinkerConfig::default()
        };
        callstitch_pipeline::PipelineConfig::new(engine, linker, self.record_marker.clone())
    }

    /// The monitored sites.
    pub fn directory(&self) -> SiteDirectory {
        SiteDirectory::new(self.sites.iter().map(String::as_str))
    }

    /// A fresh pipeline.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(&self.build(), self.directory(), None)
    }

    /// The pipeline of a snapshot.
    pub fn restore(&self, bytes: &[u8]) -> Result<Pipeline, SnapshotError> {
        Pipeline::restore(bytes, &self.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callstitch_pipeline::Sink;

    fn handed_out(id: &str, revision: u32, replaces: &[&str], state: &str) -> (Interaction, Recording) {
        let json = serde_json::json!({
            "interaction_id": id, "revision": revision, "replaces": replaces, "state": state,
            "complete": false, "linking": "waiting", "calls": "active", "sites": ["A"],
            "segments": [], "links": [], "outcome": "in-progress",
            "released_by": {"who": "unknown", "provenance": "unknown", "conflict": false},
        });
        let interaction: Interaction = serde_json::from_value(json).expect("an interaction");
        let recording = Recording {
            recording_id: id.to_string(),
            aliases: Vec::new(),
            interaction_id: id.to_string(),
            media_files: Vec::new(),
            findings: Vec::new(),
        };
        (interaction, recording)
    }

    /// Regression: an interaction handed out again in a batch kept the place of its first
    /// hand-out, so a row it replaced, handed out in between, was written after it and came
    /// back as a stale live row (found by the crash test's settle check).
    #[test]
    fn a_replaced_interaction_handed_out_earlier_in_the_batch_is_not_written_after_its_replacement() {
        let mut settled = Settled::default();
        for (id, revision, replaces, state) in [
            ("joined", 3, vec![], "live"),
            ("alone", 1, vec![], "live"),
            ("joined", 4, vec!["alone"], "live"),
        ] {
            let (interaction, recording) = handed_out(id, revision, &replaces, state);
            settled.interaction(interaction, recording);
        }
        let ids: Vec<(&str, u32)> =
            settled.interactions().map(|record| (record.id.as_str(), record.revision)).collect();
        assert_eq!(ids, [("joined", 4)]);
        let (_, rows) = settled.into_rows();
        assert!(!rows[0].first, "revision 3 was not its first hand-out");
        assert_eq!(rows[0].replaces, ["alone"]);
    }
}
