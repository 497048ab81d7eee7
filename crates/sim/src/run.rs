//! A whole simulation run: interactions are generated in arrival order, their events are
//! merged per site in time order (an event is written once no later arrival can precede
//! it), and the logs, the truth, the recording feed and the noise manifest are written.
//!
//! Live mode paces the writing on a [`Pacer`]: each event is written (and flushed) when
//! the wall clock reaches its time. Tests pass a pacer that does not sleep.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::Write;

use serde::Serialize;
use serde_json::json;

use crate::config::{OutputFormat, SimConfig};
use crate::flow::Timed;
use crate::generate::Generator;
use crate::noise::{NoiseManifest, SiteNoise};
use crate::storage::Storage;
use crate::truth::Interaction;
use crate::writer::SiteWriter;
use crate::SimError;

/// The clock and the sleeping of live mode.
pub trait Pacer {
    /// Now, UTC microseconds since 1970.
    fn now_micros(&mut self) -> i64;
    /// Returns once `micros` has come.
    fn sleep_until(&mut self, micros: i64);
}

/// The real clock.
pub struct WallClock;

impl Pacer for WallClock {
    fn now_micros(&mut self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_micros() as i64)
            .unwrap_or(0)
    }

    fn sleep_until(&mut self, micros: i64) {
        let now = self.now_micros();
        if micros > now {
            std::thread::sleep(std::time::Duration::from_micros((micros - now) as u64));
        }
    }
}

/// What a run wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub interactions: u64,
    pub events: u64,
    pub log_bytes: u64,
    /// Log (or JSON-lines) files, per site in rotation order.
    pub files: Vec<String>,
    /// Interactions per scenario.
    pub scenarios: BTreeMap<String, u64>,
    /// Present when noise was injected.
    pub noise: Option<NoiseManifest>,
}

/// Names of the files next to the logs.
pub const TRUTH_FILE: &str = "truth.jsonl";
pub const RECORDINGS_FILE: &str = "recordings.jsonl";
/// The recording-side media feed of docs/recording.md: one object per media file.
pub const MEDIA_FILE: &str = "media.jsonl";
pub const NOISE_FILE: &str = "noise.json";
pub const CENTER_FILE: &str = "center.json";

/// Runs the simulation as fast as it can, on simulated time.
pub fn simulate(config: &SimConfig, storage: &mut dyn Storage) -> Result<RunSummary, SimError> {
    run(config, storage, None)
}

/// Runs the simulation in real time on `pacer`: arrivals start now and every event is
/// written (and flushed) when its time comes.
pub fn simulate_live(
    config: &SimConfig,
    storage: &mut dyn Storage,
    pacer: &mut dyn Pacer,
) -> Result<RunSummary, SimError> {
    run(config, storage, Some(pacer))
}

/// An event waiting to be written, ordered by time then by generation order.
struct Pending {
    key: (i64, u64),
    timed: Timed,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

struct Outputs<'s, 'p> {
    storage: &'s mut dyn Storage,
    writers: Vec<SiteWriter>,
    pacer: Option<&'p mut dyn Pacer>,
    pending: BinaryHeap<Reverse<Pending>>,
    serial: u64,
}

impl Outputs<'_, '_> {
    /// Writes every pending event earlier than `until`, in time order.
    fn release(&mut self, until: i64) -> Result<(), SimError> {
        while self.pending.peek().is_some_and(|Reverse(next)| next.key.0 < until) {
            let Some(Reverse(next)) = self.pending.pop() else { break };
            if let Some(pacer) = self.pacer.as_mut() {
                pacer.sleep_until(next.timed.time);
            }
            let Some(writer) = self.writers.get_mut(next.timed.site) else { continue };
            writer.write(next.timed.event, next.timed.time, self.storage)?;
        }
        Ok(())
    }

    fn hold(&mut self, events: Vec<Timed>) {
        for timed in events {
            self.serial += 1;
            self.pending.push(Reverse(Pending { key: (timed.time, self.serial), timed }));
        }
    }
}

fn run(
    config: &SimConfig,
    storage: &mut dyn Storage,
    mut pacer: Option<&mut dyn Pacer>,
) -> Result<RunSummary, SimError> {
    config.validate()?;
    if config.noise && config.format == OutputFormat::JsonLines {
        return Err(SimError::Config(
            "noise is injected into logs only: use --format log with --noise".to_string(),
        ));
    }
    let live = pacer.is_some();
    let start = match pacer.as_mut() {
        Some(pacer) => pacer.now_micros(),
        None => config.start_micros,
    };
    let mut generator = Generator::new(config, start, live);
    let writers = generator
        .center()
        .sites
        .iter()
        .map(|site| {
            let noise = config.noise.then(|| SiteNoise::new(config.seed, site.index));
            SiteWriter::new(site.clone(), config.format, config.segment_bytes, noise, live)
        })
        .collect();
    let mut center_out = storage.open(CENTER_FILE)?;
    serde_json::to_writer_pretty(&mut center_out, generator.center()).map_err(std::io::Error::other)?;
    center_out.flush()?;
    let mut truth_out = storage.open(TRUTH_FILE)?;
    let mut recordings_out = storage.open(RECORDINGS_FILE)?;
    let mut media_out = storage.open(MEDIA_FILE)?;
    let mut outputs = Outputs { storage, writers, pacer, pending: BinaryHeap::new(), serial: 0 };
    let mut summary = RunSummary::default();
    while let Some(generated) = generator.next_interaction() {
        outputs.release(generated.arrival)?;
        write_truth(&mut truth_out, &generated.truth)?;
        write_recording(&mut recordings_out, &generated.truth)?;
        write_media(&mut media_out, &generated.truth)?;
        if live {
            truth_out.flush()?;
        }
        *summary.scenarios.entry(generated.scenario.slug().to_string()).or_default() += 1;
        outputs.hold(generated.events);
    }
    outputs.release(i64::MAX)?;
    truth_out.flush()?;
    recordings_out.flush()?;
    media_out.flush()?;
    summary.interactions = generator.produced();
    finish(config, &mut outputs, &mut summary)?;
    Ok(summary)
}

fn finish(
    config: &SimConfig,
    outputs: &mut Outputs<'_, '_>,
    summary: &mut RunSummary,
) -> Result<(), SimError> {
    let mut noise = NoiseManifest::default();
    for writer in &mut outputs.writers {
        writer.close()?;
        summary.events += writer.events;
        summary.log_bytes += writer.bytes;
        summary.files.extend(writer.files.iter().cloned());
        if let Some(site_noise) = writer.noise() {
            noise.add(&site_noise.counts);
        }
    }
    if config.noise {
        let mut out = outputs.storage.open(NOISE_FILE)?;
        serde_json::to_writer_pretty(&mut out, &noise).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()?;
        summary.noise = Some(noise);
    }
    Ok(())
}

fn write_truth(out: &mut Box<dyn Write>, truth: &Interaction) -> Result<(), SimError> {
    serde_json::to_writer(&mut *out, truth).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// The media feed (docs/recording.md): one `media` object per file, with its site, CallUUID,
/// media id, recorded DN and side, start and stop.
fn write_media(out: &mut Box<dyn Write>, truth: &Interaction) -> Result<(), SimError> {
    for file in &truth.media {
        let record = json!({
            "type": "media",
            "site": file.site,
            "call_uuid": file.call_uuid,
            "media_id": file.media_id,
            "recorded_dn": file.recorded_dn,
            "side": file.recorded_side,
            "start": file.start,
            "stop": file.stop,
        });
        serde_json::to_writer(&mut *out, &record).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One recording per interaction that has media, in the shape of GIR recording metadata
/// (recording.md §3.1): the recording id is the interaction root's CallUUID.
fn write_recording(out: &mut Box<dyn Write>, truth: &Interaction) -> Result<(), SimError> {
    if truth.media.is_empty() {
        return Ok(());
    }
    let root = truth.segments.first().map(|segment| segment.call_uuid.as_str()).unwrap_or_default();
    let files: Vec<serde_json::Value> = truth
        .media
        .iter()
        .map(|file| {
            json!({
                "callUUID": file.call_uuid,
                "mediaId": format!("{}.mp3", file.media_id),
                "startTime": file.start,
                "stopTime": file.stop,
                "type": "audio/mp3",
                "parameters": {"connId": file.conn_id, "recordDN": file.recorded_dn, "site": file.site},
            })
        })
        .collect();
    let start = truth.media.iter().map(|file| file.start.as_str()).min().unwrap_or_default();
    let stop = truth.media.iter().map(|file| file.stop.as_str()).max().unwrap_or_default();
    let record = json!({
        "id": root,
        "interaction_id": truth.interaction_id,
        "startTime": start,
        "stopTime": stop,
        "mediaFiles": files,
    });
    serde_json::to_writer(&mut *out, &record).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    Ok(())
}
