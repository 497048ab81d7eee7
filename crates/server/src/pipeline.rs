//! The transform of the service: events in, rows out. It holds the call engine and linker
//! ([`Stitcher`]), the recording signals and the recorder, turns each event into the calls
//! and interactions (with their recordings) it settles, and saves and restores all of that
//! state as one snapshot. No I/O: the ingest loop decides what is read and when it is stored.

use callstitch_engine::config::SECOND;
use callstitch_engine::{EngineConfig, FinishedCall};
use callstitch_link::stitcher::CLOCK_MARGIN;
use callstitch_link::{Interaction, LinkerConfig, SiteDirectory, Stitcher};
use callstitch_recording::{FeedFile, Finding, Recorder, RecorderConfig, Retention, Signals};
use callstitch_store::{CallRecord, InteractionRecord};
use callstitch_tlib::Event;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("snapshot is truncated or not a callstitch snapshot")]
    Framing,
    #[error("snapshot part {part}: {message}")]
    Part { part: &'static str, message: String },
}

/// What one or more events settled: rows for the store.
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

/// How the pipeline is built (the part of the service config it needs).
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub sites: Vec<String>,
    pub link_timeout_s: u32,
    pub linger_s: u32,
    pub clock_margin_s: u32,
    pub call_idle_timeout_s: u32,
    pub record_marker: Option<String>,
}

impl PipelineConfig {
    fn engine(&self) -> EngineConfig {
        EngineConfig { idle_timeout: i64::from(self.call_idle_timeout_s) * SECOND, ..EngineConfig::default() }
    }

    fn linker(&self) -> LinkerConfig {
        LinkerConfig {
            link_timeout: i64::from(self.link_timeout_s) * SECOND,
            linger: i64::from(self.linger_s) * SECOND,
            ..LinkerConfig::default()
        }
    }
}

pub struct Pipeline {
    stitcher: Stitcher,
    signals: Signals,
    recorder: Recorder,
}

impl Pipeline {
    pub fn new(config: &PipelineConfig) -> Pipeline {
        let sites = SiteDirectory::new(config.sites.iter().map(String::as_str));
        let linker = config.linker();
        let mut retention = Retention::for_linker(&linker);
        // The linker's clock runs this much behind: signals must outlive that too.
        retention.after_interaction += (i64::from(config.clock_margin_s) * SECOND - CLOCK_MARGIN).max(0);
        let recorder = RecorderConfig { retention, ..RecorderConfig::default() };
        Pipeline {
            stitcher: Stitcher::new(config.engine(), linker, sites)
                .with_clock_margin(i64::from(config.clock_margin_s) * SECOND),
            signals: Signals::with_retention(config.record_marker.clone(), retention),
            recorder: Recorder::new(recorder, None),
        }
    }

    /// Takes one event; what it settles goes into `settled`.
    pub fn push(&mut self, event: &Event, settled: &mut Settled) {
        self.signals.observe(event);
        let Pipeline { stitcher, signals, recorder } = self;
        let (mut on_call, mut on_interaction) = sinks(settled, recorder, signals);
        stitcher.push(event, &mut on_call, &mut on_interaction);
    }

    /// Moves event time on to `time` (UTC µs) without an event: calls and interactions
    /// waiting on time are handed out.
    pub fn advance_to(&mut self, time: i64, settled: &mut Settled) {
        let Pipeline { stitcher, signals, recorder } = self;
        let (mut on_call, mut on_interaction) = sinks(settled, recorder, signals);
        stitcher.advance_to(callstitch_tlib::Timestamp(time), &mut on_call, &mut on_interaction);
    }

    /// A media file of the recording-side feed.
    pub fn add_media(&mut self, file: FeedFile) {
        self.recorder.add_media(file);
    }

    /// Drops media files no interaction can claim any more; the orphans among them are
    /// returned as findings (P2).
    pub fn prune_media(&mut self, now: i64) -> Vec<Finding> {
        self.recorder.prune(callstitch_tlib::Timestamp(now))
    }

    /// Calls and segments in memory now.
    pub fn in_memory(&self) -> (usize, usize) {
        self.stitcher.in_memory()
    }

    /// Everything ends (only for one-shot imports: a service never finishes).
    pub fn finish(&mut self, settled: &mut Settled) {
        let Pipeline { stitcher, signals, recorder } = self;
        let (mut on_call, mut on_interaction) = sinks(settled, recorder, signals);
        stitcher.finish(&mut on_call, &mut on_interaction);
    }

    /// The whole state as bytes: three length-prefixed parts.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        let part = |part: &'static str, message: String| SnapshotError::Part { part, message };
        let stitcher = self.stitcher.snapshot().map_err(|error| part("stitcher", error.to_string()))?;
        let signals = self.signals.snapshot().map_err(|error| part("signals", error.to_string()))?;
        let recorder = self.recorder.snapshot().map_err(|error| part("recorder", error.to_string()))?;
        let mut bytes = Vec::with_capacity(stitcher.len() + signals.len() + recorder.len() + 32);
        bytes.extend_from_slice(MAGIC);
        for piece in [&stitcher, &signals, &recorder] {
            bytes.extend_from_slice(&(piece.len() as u64).to_le_bytes());
            bytes.extend_from_slice(piece);
        }
        Ok(bytes)
    }

    /// The state of [`Pipeline::snapshot`], with this configuration.
    pub fn restore(bytes: &[u8], config: &PipelineConfig) -> Result<Pipeline, SnapshotError> {
        let part = |part: &'static str, message: String| SnapshotError::Part { part, message };
        let rest = bytes.strip_prefix(MAGIC).ok_or(SnapshotError::Framing)?;
        let (stitcher, rest) = split_part(rest)?;
        let (signals, rest) = split_part(rest)?;
        let (recorder, rest) = split_part(rest)?;
        if !rest.is_empty() {
            return Err(SnapshotError::Framing);
        }
        Ok(Pipeline {
            stitcher: Stitcher::restore(stitcher, config.engine(), config.linker())
                .map_err(|error| part("stitcher", error.to_string()))?
                .with_clock_margin(i64::from(config.clock_margin_s) * SECOND),
            signals: Signals::restore(signals).map_err(|error| part("signals", error.to_string()))?,
            recorder: Recorder::restore(recorder).map_err(|error| part("recorder", error.to_string()))?,
        })
    }
}

const MAGIC: &[u8] = b"callstitch-pipeline-1\n";

fn split_part(bytes: &[u8]) -> Result<(&[u8], &[u8]), SnapshotError> {
    let (length, rest) = bytes.split_first_chunk::<8>().ok_or(SnapshotError::Framing)?;
    let length = usize::try_from(u64::from_le_bytes(*length)).map_err(|_| SnapshotError::Framing)?;
    if rest.len() < length {
        return Err(SnapshotError::Framing);
    }
    Ok(rest.split_at(length))
}

/// Where the stitcher's finished calls and settled interactions go: rows of `settled`, each
/// interaction with its recording.
fn sinks<'a>(
    settled: &'a mut Settled,
    recorder: &'a mut Recorder,
    signals: &'a mut Signals,
) -> (impl FnMut(&FinishedCall) + 'a, impl FnMut(Interaction) + 'a) {
    let Settled { calls, interactions } = settled;
    let on_call = move |call: &FinishedCall| calls.push(CallRecord::new(call));
    let on_interaction =
        move |interaction: Interaction| interactions.push(record(recorder, signals, &interaction));
    (on_call, on_interaction)
}

/// The stored form of one interaction with its recording.
fn record(recorder: &mut Recorder, signals: &mut Signals, interaction: &Interaction) -> InteractionRecord {
    let recording = recorder.recording(interaction, signals);
    let record = InteractionRecord::new(interaction, &recording);
    signals.forget_interaction(interaction);
    record
}
