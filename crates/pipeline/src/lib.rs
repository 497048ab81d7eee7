//! callstitch-pipeline: the one transform every command and the service run.
//!
//! Events of every site go through the call engine and the cross-site linker
//! ([`Stitcher`]); each interaction the linker hands out gets its recording from the
//! [`Recorder`] (media files from a feed, or inferred from the [`Signals`] of the event
//! stream). `callstitch trace`, `ladder`, `recording`, `import` and `serve` all compose it
//! the same way through [`Pipeline`], and take its output through a [`Sink`]: typed calls and
//! interactions, never JSON. Pure like its parts: no I/O, no wall clock (live callers pass
//! wall time in). What they write and read back of an interaction is one [`TraceDocument`]
//! ([`document`]).

use callstitch_engine::{CallHandle, EngineConfig, EngineStats, FinishedCall};
use callstitch_link::{
    CallEnding, Interaction, LinkerConfig, LinkerStats, SiteDirectory, Stitcher, StitcherState,
};
use callstitch_recording::{
    FeedFile, Finding, MediaFeed, MediaUpdate, Recorder, RecorderConfig, RecorderState, Recording, Retention,
    Signals, SignalsState,
};
use callstitch_tlib::{Event, Timestamp};

pub mod document;
pub mod sorted_json;
pub mod split;

pub use callstitch_link::SnapshotError as PartError;
pub use document::{DocumentError, RecordingDocument, TraceDocument};

/// Where the pipeline's output goes.
pub trait Sink {
    /// A call the engine finished (before the linker takes it).
    fn call(&mut self, _call: &FinishedCall) {}
    /// An interaction handed out, with its recording.
    fn interaction(&mut self, interaction: Interaction, recording: Recording);
    /// The linker side of a split run ([`split::EstateLinker`]) took the end of a call that
    /// its site's engine numbered `site_handle`; `call.handle` is the estate's number for it
    /// (one engine's: also in the key of a call without CallUUID). The site's engine handed
    /// the call itself on ([`split::SiteStep::finished`]).
    fn ended(&mut self, _site_handle: CallHandle, _call: &CallEnding) {}
}

/// How the pipeline is built.
#[derive(Debug, Clone, Default)]
pub struct PipelineConfig {
    pub engine: EngineConfig,
    pub linker: LinkerConfig,
    /// The deployment's user-data key meaning "this call is being recorded".
    pub record_marker: Option<String>,
    pub recorder: RecorderConfig,
}

impl PipelineConfig {
    /// A configuration whose signals and recorder keep what this linker can still revise.
    pub fn new(engine: EngineConfig, linker: LinkerConfig, record_marker: Option<String>) -> PipelineConfig {
        let retention = Retention::for_linker(&linker);
        PipelineConfig {
            engine,
            linker,
            record_marker,
            recorder: RecorderConfig { retention, ..RecorderConfig::default() },
        }
    }
}

/// Why a snapshot could not be taken or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot is truncated or not a callstitch pipeline snapshot")]
    Framing,
    #[error("snapshot part {part}")]
    Part {
        part: &'static str,
        #[source]
        source: PartError,
    },
}

/// Engine, linker, signals and recorder, composed once.
pub struct Pipeline {
    stitcher: Stitcher,
    signals: Signals,
    recorder: Recorder,
}

/// Hands the stitcher's output on: each interaction with its recording.
struct Stage<'a, S> {
    signals: &'a mut Signals,
    recorder: &'a mut Recorder,
    sink: &'a mut S,
}

impl<S: Sink> Stage<'_, S> {
    fn interaction(&mut self, interaction: Interaction) {
        let recording = self.recorder.recording(&interaction, self.signals);
        self.signals.forget_interaction(&interaction);
        self.sink.interaction(interaction, recording);
    }
}

/// Runs `$body` with `on_call` and `out` closures over the pipeline's parts and `$sink`.
macro_rules! staged {
    ($self:ident, $sink:ident, |$stitcher:ident, $on_call:ident, $out:ident| $body:expr) => {{
        let Pipeline { stitcher: $stitcher, signals, recorder } = $self;
        let stage = std::cell::RefCell::new(Stage { signals, recorder, sink: $sink });
        let mut $on_call = |call: &FinishedCall| stage.borrow_mut().sink.call(call);
        let mut $out = |interaction: Interaction| stage.borrow_mut().interaction(interaction);
        $body
    }};
}

impl Pipeline {
    /// A pipeline for the monitored `sites`, with a media feed read whole (or none: then
    /// media files are inferred from the event stream, or added as they come).
    pub fn new(config: &PipelineConfig, sites: SiteDirectory, feed: Option<MediaFeed>) -> Pipeline {
        Pipeline {
            stitcher: Stitcher::new(config.engine.clone(), config.linker.clone(), sites),
            signals: Signals::with_retention(config.record_marker.clone(), config.recorder.retention),
            recorder: Recorder::new(config.recorder.clone(), feed),
        }
    }

    /// Takes one event.
    pub fn push(&mut self, event: &Event, sink: &mut impl Sink) {
        self.push_at(event, None, sink);
    }

    /// Takes one event that arrived at wall time `wall` (µs; live).
    pub fn push_at(&mut self, event: &Event, wall: Option<i64>, sink: &mut impl Sink) {
        self.signals.observe(event);
        staged!(self, sink, |stitcher, on_call, out| stitcher.push_at(event, wall, &mut on_call, &mut out));
    }

    /// Live, nothing arrived for a while: time moves on with the wall clock (µs).
    pub fn tick(&mut self, wall: i64, sink: &mut impl Sink) {
        staged!(self, sink, |stitcher, on_call, out| stitcher.tick(wall, &mut on_call, &mut out));
    }

    /// Live, restored from a snapshot at wall time `wall` (µs): the time down is no site's
    /// quiet ([`Stitcher::resume`]).
    pub fn resume(&mut self, wall: i64) {
        self.stitcher.resume(wall);
    }

    /// Live: hands out every interaction that changed since the last flush, each once, with
    /// its recording. Call it once per batch.
    pub fn flush(&mut self, sink: &mut impl Sink) {
        staged!(self, sink, |stitcher, _on_call, out| stitcher.flush(&mut out));
    }

    /// Reading input: no event of `site` comes before `time`.
    pub fn raise_floor(&mut self, site: &str, time: Timestamp, sink: &mut impl Sink) {
        staged!(self, sink, |stitcher, _on_call, out| stitcher.raise_floor(site, time, &mut out));
    }

    /// Reading input: the site's input ended.
    pub fn end_site(&mut self, site: &str, sink: &mut impl Sink) {
        staged!(self, sink, |stitcher, _on_call, out| stitcher.end_site(site, &mut out));
    }

    /// The input ended: every call and interaction is handed out.
    pub fn finish(&mut self, sink: &mut impl Sink) {
        staged!(self, sink, |stitcher, on_call, out| stitcher.finish(&mut on_call, &mut out));
    }

    /// A media file of the recording-side feed, as it comes.
    pub fn add_media(&mut self, file: FeedFile) -> MediaUpdate {
        self.recorder.add_media(file)
    }

    /// Drops media files no interaction can claim any more; the orphans among them are
    /// returned as findings (P2).
    pub fn prune_media(&mut self, now: Timestamp) -> Vec<Finding> {
        self.recorder.prune(now)
    }

    /// The feed's own findings (bad lines, orphans at the end).
    pub fn feed_findings(&self) -> Vec<Finding> {
        self.recorder.feed_findings()
    }

    pub fn stitcher(&self) -> &Stitcher {
        &self.stitcher
    }

    pub fn engine_stats(&self) -> &EngineStats {
        self.stitcher.engine_stats()
    }

    pub fn linker_stats(&self) -> &LinkerStats {
        self.stitcher.linker_stats()
    }

    /// Calls and segments in memory now.
    pub fn in_memory(&self) -> (usize, usize) {
        self.stitcher.in_memory()
    }

    /// The whole state as bytes: three length-prefixed parts. The same as
    /// [`Pipeline::capture`] then [`PipelineState::encode`].
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        self.capture().encode()
    }

    /// The whole state, owned, for [`PipelineState::encode`] to turn into the snapshot's
    /// bytes elsewhere: a live service captures on its ingest thread (a copy of what is in
    /// memory) and encodes on another, so that the ingest thread does not pay for the
    /// encoding.
    pub fn capture(&self) -> PipelineState {
        PipelineState {
            stitcher: self.stitcher.state(),
            signals: self.signals.state(),
            recorder: self.recorder.state(),
        }
    }

    /// The pipeline of [`Pipeline::snapshot`], with this configuration.
    pub fn restore(bytes: &[u8], config: &PipelineConfig) -> Result<Pipeline, SnapshotError> {
        let part = |part: &'static str| move |source| SnapshotError::Part { part, source };
        let rest = bytes.strip_prefix(MAGIC).ok_or(SnapshotError::Framing)?;
        let (stitcher, rest) = split_part(rest)?;
        let (signals, rest) = split_part(rest)?;
        let (recorder, rest) = split_part(rest)?;
        if !rest.is_empty() {
            return Err(SnapshotError::Framing);
        }
        Ok(Pipeline {
            stitcher: Stitcher::restore(stitcher, config.engine.clone(), config.linker.clone())
                .map_err(part("stitcher"))?,
            signals: Signals::restore(signals).map_err(part("signals"))?,
            recorder: Recorder::restore(recorder).map_err(part("recorder"))?,
        })
    }
}

/// The pipeline's state as [`Pipeline::capture`] took it.
#[derive(Debug, Clone)]
pub struct PipelineState {
    stitcher: StitcherState,
    signals: SignalsState,
    recorder: RecorderState,
}

impl PipelineState {
    /// The bytes of [`Pipeline::snapshot`] for this state.
    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        let part = |part: &'static str| move |source| SnapshotError::Part { part, source };
        let stitcher = self.stitcher.encode().map_err(part("stitcher"))?;
        let signals = self.signals.encode().map_err(part("signals"))?;
        let recorder = self.recorder.encode().map_err(part("recorder"))?;
        Ok(frame(MAGIC, &[&stitcher, &signals, &recorder]))
    }
}

/// `magic`, then each piece after its length (8 bytes, little-endian).
fn frame(magic: &[u8], pieces: &[&[u8]]) -> Vec<u8> {
    let length: usize = pieces.iter().map(|piece| piece.len() + 8).sum();
    let mut bytes = Vec::with_capacity(magic.len() + length);
    bytes.extend_from_slice(magic);
    for piece in pieces {
        bytes.extend_from_slice(&(piece.len() as u64).to_le_bytes());
        bytes.extend_from_slice(piece);
    }
    bytes
}

const MAGIC: &[u8] = b"callstitch-pipeline-2\n";

fn split_part(bytes: &[u8]) -> Result<(&[u8], &[u8]), SnapshotError> {
    let (length, rest) = bytes.split_first_chunk::<8>().ok_or(SnapshotError::Framing)?;
    let length = usize::try_from(u64::from_le_bytes(*length)).map_err(|_| SnapshotError::Framing)?;
    if rest.len() < length {
        return Err(SnapshotError::Framing);
    }
    Ok(rest.split_at(length))
}

/// A [`Sink`] that keeps everything, in order (tests, small inputs).
#[derive(Debug, Default)]
pub struct Collected {
    pub calls: Vec<FinishedCall>,
    pub interactions: Vec<(Interaction, Recording)>,
}

impl Sink for Collected {
    fn call(&mut self, call: &FinishedCall) {
        self.calls.push(call.clone());
    }

    fn interaction(&mut self, interaction: Interaction, recording: Recording) {
        self.interactions.push((interaction, recording));
    }
}
