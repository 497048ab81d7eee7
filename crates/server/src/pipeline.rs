//! The service's side of the pipeline: the one composition every command runs
//! ([`callstitch_pipeline::Pipeline`]), configured from the service's settings, and the sink
//! that turns what it hands out into rows for the store. No I/O: the ingest loop decides
//! what is read and when it is stored.

use callstitch_engine::config::SECOND;
use callstitch_engine::{EngineConfig, FinishedCall};
use callstitch_link::{Interaction, LinkerConfig, LiveClock, SiteDirectory};
use callstitch_recording::Recording;
use callstitch_store::{CallRecord, InteractionRecord};

pub use callstitch_pipeline::{Pipeline, SnapshotError};

/// What one or more events settled: rows for the store. An interaction handed out several
/// times in one batch (live: each change) is written once, as it stands last.
#[derive(Debug, Default)]
pub struct Settled {
    pub calls: Vec<CallRecord>,
    pub interactions: Vec<InteractionRecord>,
}

impl Settled {
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.interactions.is_empty()
    }
}

impl callstitch_pipeline::Sink for Settled {
    fn call(&mut self, call: &FinishedCall) {
        self.calls.push(CallRecord::new(call));
    }

    fn interaction(&mut self, interaction: Interaction, recording: Recording) {
        let record = InteractionRecord::new(&interaction, &recording);
        // A later revision of the same interaction in this batch replaces the earlier one
        // (and keeps the ids it replaced).
        if let Some(known) = self.interactions.iter_mut().find(|known| known.id == record.id) {
            let mut replaces = std::mem::take(&mut known.replaces);
            *known = record;
            for id in replaces.drain(..) {
                if !known.replaces.contains(&id) {
                    known.replaces.push(id);
                }
            }
            return;
        }
        self.interactions.push(record);
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
        let engine =
            EngineConfig { idle_timeout: i64::from(self.call_idle_timeout_s) * SECOND, ..EngineConfig::default() };
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
