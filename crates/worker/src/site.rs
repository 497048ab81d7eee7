//! One site a worker owns: its engine ([`SiteEngine`]), its time as a live service keeps it,
//! and the step being built until it is committed.
//!
//! Pure: events and wall times in, a [`SiteCommit`] out; no I/O. The worker's loop
//! ([`crate::Worker`]) reads the site's stream, feeds it here, and commits.
//!
//! **Time.** Each event arrives at a wall time; the site's clock right after it is kept
//! ([`SiteTime::at_arrival`]). While the site is quiet its time is that clock plus the wall
//! time since ([`EstateClocks::quiet_time`]), exactly as `serve` moves a quiet site: each tick
//! moves the engine there ([`SiteEngine::advance_to`]) and records a
//! [`SiteItem::Moved`] for the linker. A worker that restarts counts the time it was down
//! as no quiet (the site's events were not read, not absent): [`OwnedSite::restore`].
//!
//! **State.** What is committed with each step ([`SiteCommit::engine`]) is this struct's
//! state: a header (the site's time, the wall time of the step) and the engine's snapshot,
//! zstd-compressed (format 2). The snapshot is the engine's whole state, hundreds of KB of JSON
//! on a busy site, written with every step: left to PostgreSQL, its TOAST compression (pglz)
//! took about 40% of the database's time of a worker's commits; zstd does it in a fraction of
//! that and writes a tenth of the bytes. A state of format 1 (the snapshot as it is) is still
//! read.

use std::sync::Arc;

use callstitch_engine::FinishedCall;
use callstitch_link::{EstateClocks, SiteTime};
use callstitch_pipeline::split::{SiteEngine, SiteItem};
use callstitch_pipeline::PipelineConfig;
use callstitch_store::compact::{pack, unpack};
use callstitch_store::{encode_news, CallRecord, EventRecord, SiteCommit, SiteState, StoreError};
use callstitch_tlib::{Event, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::logs::LogPlace;

/// What a stored site state does not hold.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the stored state of site {site} is not one this worker writes ({detail}); delete its row of estate_sites to read its stream again from the start")]
    Unreadable { site: String, detail: String },
    #[error("site {site} was read from its log files up to event {seq} (`callstitch worker --logs`): a worker reading the bus cannot go on from there; finish the backfill with `worker --logs`, or delete the site's row of estate_sites to read its stream from the start")]
    ReadFromLogs { site: String, seq: u64 },
    #[error("site {site} was read from its stream up to message {seq}: a worker reading log files (`--logs`) cannot go on from there; read it from the bus, or delete the site's row of estate_sites to backfill it from its first file")]
    ReadFromBus { site: String, seq: u64 },
}

/// The header of a stored site state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Header {
    /// The state's format.
    v: u32,
    time: SiteTime,
    /// The wall time of the step that wrote it (µs).
    wall: Option<i64>,
    /// Where the site's log files were read to, for a site read from them
    /// ([`crate::logs`]); `None` for one read from the bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logs: Option<LogPlace>,
}

/// The state's format written: 2, the engine's snapshot zstd-compressed.
const STATE_VERSION: u32 = 2;
/// The format of the first workers: the engine's snapshot uncompressed.
const STATE_VERSION_PLAIN: u32 = 1;

/// The step being built: what is committed next. It holds what the engine gave as it
/// gave it; the rows are made of it by [`TakenStep::seal`], off the worker's loop.
#[derive(Debug, Default)]
struct Step {
    /// The events taken, with the wall time each arrived at (µs).
    events: Vec<(Box<Event>, i64)>,
    calls: Vec<FinishedCall>,
    items: Vec<SiteItem>,
    problems: Vec<(u64, String)>,
    first_seq: u64,
    last_seq: u64,
    /// A tick or a message was taken since the last commit.
    dirty: bool,
}

/// See the module documentation.
pub struct OwnedSite {
    site: Text,
    engine: SiteEngine,
    time: SiteTime,
    /// The wall time last seen (µs): an arrival or a tick.
    wall: Option<i64>,
    /// The stream sequence of the last message taken.
    stream_seq: u64,
    /// The news position last committed.
    news_pos: i64,
    /// For a site read from its log files: the file of the last event taken and its number
    /// in the file.
    log_place: Option<(Arc<str>, u64)>,
    /// Read from its log files, and they are not read to their end yet.
    reading: bool,
    step: Step,
}

impl OwnedSite {
    /// The site as its owner last committed it (a new one when nothing was), taken over at
    /// wall time `wall`, to be read from its log files (`reads_logs`) or from the bus: the
    /// same as it was read so far (a stream position is not a place in the files).
    pub fn restore(
        site: &str,
        stored: &SiteState,
        config: &PipelineConfig,
        wall: i64,
        reads_logs: bool,
    ) -> Result<OwnedSite, StateError> {
        let unreadable = |detail: String| StateError::Unreadable { site: site.to_string(), detail };
        let (header, engine) = match &stored.engine {
            None => (Header::default(), SiteEngine::new(Text::from(site), config)),
            Some(bytes) => {
                let (header, engine) = split_state(bytes).ok_or_else(|| unreadable("framing".to_string()))?;
                let header: Header =
                    serde_json::from_slice(header).map_err(|error| unreadable(error.to_string()))?;
                let engine = match header.v {
                    STATE_VERSION => {
                        unpack("site engine", engine).map_err(|error| unreadable(error.to_string()))?
                    }
                    STATE_VERSION_PLAIN => engine.to_vec(),
                    other => return Err(unreadable(format!("format {other}"))),
                };
                let engine =
                    SiteEngine::restore(&engine, config).map_err(|error| unreadable(error.to_string()))?;
                (header, engine)
            }
        };
        let seq = stored.stream_seq;
        match (&header.logs, reads_logs) {
            (Some(_), false) => return Err(StateError::ReadFromLogs { site: site.to_string(), seq }),
            (None, true) if seq > 0 => return Err(StateError::ReadFromBus { site: site.to_string(), seq }),
            _ => {}
        }
        let log_place = header.logs.as_ref().map(|place| (Arc::from(place.file.as_str()), place.events));
        let mut owned = OwnedSite {
            site: Text::from(site),
            engine,
            time: header.time,
            wall: header.wall,
            stream_seq: stored.stream_seq,
            news_pos: stored.news_pos,
            log_place,
            reading: reads_logs,
            step: Step::default(),
        };
        owned.resume(wall);
        Ok(owned)
    }

    /// The time between the last step and `wall` was nobody's quiet: the site's last arrival
    /// moves on by it.
    fn resume(&mut self, wall: i64) {
        let Some(known) = self.wall else { return };
        let down = wall.saturating_sub(known);
        if down > 0 {
            self.time.arrived = self.time.arrived.map(|arrived| arrived.saturating_add(down));
            self.wall = Some(wall);
        }
    }

    pub fn site(&self) -> &str {
        self.site.as_str()
    }

    /// The stream sequence of the last message taken.
    pub fn stream_seq(&self) -> u64 {
        self.stream_seq
    }

    /// Events and problems taken since the last commit.
    pub fn pending_events(&self) -> usize {
        self.step.events.len() + self.step.problems.len()
    }

    /// Something waits to be committed.
    pub fn dirty(&self) -> bool {
        self.step.dirty
    }

    /// For a site read from its log files: where they were read to.
    pub fn log_place(&self) -> Option<LogPlace> {
        self.log_place.as_ref().map(|(file, events)| LogPlace { file: file.to_string(), events: *events })
    }

    /// Takes message `seq` of the stream (or event `seq` of the site's log files, the
    /// `place`-th of its file), an event that arrived at wall time `wall` (µs).
    pub fn take_event(&mut self, seq: u64, event: Box<Event>, wall: i64, place: Option<(Arc<str>, u64)>) {
        debug_assert!(seq > self.stream_seq, "a site's messages are taken in stream order");
        let step = self.engine.push_at(&event, Some(wall));
        self.time.arrived = Some(wall);
        self.time.at_arrival = step.news.clock.or(self.time.at_arrival);
        self.wall = Some(self.wall.map_or(wall, |known| known.max(wall)));
        self.step.events.push((event, wall));
        self.step.calls.extend(step.finished);
        self.step.items.push(SiteItem::Event(step.news));
        if place.is_some() {
            self.log_place = place;
        }
        self.taken(seq);
    }

    /// Message `seq` of the stream is no event: kept as a problem, skipped.
    pub fn take_problem(&mut self, seq: u64, problem: String) {
        self.step.problems.push((seq, problem));
        self.taken(seq);
    }

    fn taken(&mut self, seq: u64) {
        if self.step.first_seq == 0 {
            self.step.first_seq = seq;
        }
        self.step.last_seq = seq;
        self.stream_seq = self.stream_seq.max(seq);
        self.step.dirty = true;
    }

    /// Live, the site is quiet (its stream read to its end) at wall time `wall`: its time
    /// moves on (module documentation). Nothing happens before its first arrival.
    pub fn tick(&mut self, wall: i64) {
        let Some(time) = EstateClocks::quiet_time(&self.time, wall) else { return };
        self.wall = Some(self.wall.map_or(wall, |known| known.max(wall)));
        let moved = self.engine.advance_to(Timestamp(time));
        self.step.calls.extend(moved.finished);
        self.step.items.push(SiteItem::Moved { time, wall, calls: moved.calls, clock: moved.clock });
        self.step.dirty = true;
    }

    /// The site's log files are read to their end: the next step says so (the linker no
    /// longer waits for more of the site).
    pub fn files_read(&mut self) {
        if self.reading {
            self.reading = false;
            self.step.dirty = true;
        }
    }

    /// The step to commit, as worker `worker` at wall time `wall`; the step is emptied.
    /// Its events are moved out: a failed commit means the site is taken again from its
    /// stored state ([`OwnedSite::restore`]), never retried from here.
    pub fn commit(&mut self, worker: &str, wall: i64) -> Result<SiteCommit, CommitError> {
        self.take_step(worker, wall)?.seal()
    }

    /// [`OwnedSite::commit`] in two: the step and the engine's snapshot are taken now (the
    /// engine goes on with the next events), the rows made by [`TakenStep::seal`], which may
    /// run elsewhere.
    pub fn take_step(&mut self, worker: &str, wall: i64) -> Result<TakenStep, CommitError> {
        let step = std::mem::take(&mut self.step);
        let header =
            Header { v: STATE_VERSION, time: self.time.clone(), wall: self.wall, logs: self.log_place() };
        let header = serde_json::to_vec(&header).map_err(CommitError::State)?;
        let engine = self.engine.snapshot().map_err(|error| CommitError::Engine(error.to_string()))?;
        let after_news = self.news_pos;
        // A step with news writes the site's next news row (`EstateDb::commit`).
        if !step.items.is_empty() {
            self.news_pos += 1;
        }
        Ok(TakenStep {
            site: self.site.to_string(),
            after_news,
            step,
            stream_seq: self.stream_seq,
            header,
            engine,
            worker: worker.to_string(),
            written_us: wall,
            reading: self.reading,
        })
    }

    /// The news position the last step taken leaves the site at, once it is committed.
    pub fn news_pos(&self) -> i64 {
        self.news_pos
    }
}

/// A step taken out of its site ([`OwnedSite::take_step`]): what the engine gave, and its
/// state after the step, not yet made into rows.
pub struct TakenStep {
    site: String,
    after_news: i64,
    step: Step,
    stream_seq: u64,
    header: Vec<u8>,
    /// The engine's snapshot, uncompressed.
    engine: Vec<u8>,
    worker: String,
    written_us: i64,
    reading: bool,
}

impl TakenStep {
    pub fn site(&self) -> &str {
        &self.site
    }

    /// The rows of the step: the raw events, the finished calls, the news encoded, and the
    /// site's state (compressed).
    pub fn seal(self) -> Result<SiteCommit, CommitError> {
        let step = self.step;
        let news = if step.items.is_empty() { Vec::new() } else { encode_news(&step.items)? };
        let engine = pack(&self.engine)?;
        Ok(SiteCommit {
            site: self.site,
            after_news: self.after_news,
            events: step.events.iter().map(|(event, wall)| EventRecord::new(0, event, Some(*wall))).collect(),
            calls: step.calls.iter().map(CallRecord::new).collect(),
            news,
            news_items: step.items.len() as u32,
            first_seq: step.first_seq,
            last_seq: step.last_seq,
            problems: step.problems,
            stream_seq: self.stream_seq,
            engine: join_state(&self.header, &engine),
            worker: self.worker,
            written_us: self.written_us,
            reading: self.reading,
        })
    }
}

/// Why a step could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the site's state cannot be written: {0}")]
    State(serde_json::Error),
    #[error("the site's engine cannot be written: {0}")]
    Engine(String),
}

/// The header's length (8 bytes, little-endian), the header, the engine.
fn join_state(header: &[u8], engine: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + header.len() + engine.len());
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(engine);
    bytes
}

fn split_state(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (length, rest) = bytes.split_first_chunk::<8>()?;
    let length = usize::try_from(u64::from_le_bytes(*length)).ok()?;
    (length <= rest.len()).then(|| rest.split_at(length))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;
    use callstitch_store::decode_news;

    /// The first site's events of a small simulated estate.
    fn events() -> Vec<Event> {
        let dir = tempfile::tempdir().unwrap();
        let config = callstitch_sim::SimConfig { interactions: Some(30), ..Default::default() };
        callstitch_sim::simulate(&config, &mut callstitch_sim::DirStorage::new(dir.path()).unwrap()).unwrap();
        let estate = callstitch_sim::feed::Estate::read_dir(dir.path()).unwrap();
        estate.sites.into_iter().next().map(|site| site.events).unwrap_or_default()
    }

    /// A worker killed after any commit and started again (its state restored) writes the
    /// same news as one that never stopped: the restored engine goes on as the first would.
    #[test]
    fn a_site_restored_from_any_commit_goes_on_with_the_same_news() {
        let config = PipelineConfig::default();
        let events = events();
        assert!(events.len() > 40, "a site worth the test: {}", events.len());
        let site = events[0].site.to_string();
        let wall = 1_000_000_000;
        let run = |cut: Option<usize>| -> Vec<SiteItem> {
            let mut owned = OwnedSite::restore(&site, &SiteState::default(), &config, wall, false).unwrap();
            let mut items = Vec::new();
            for (index, event) in events.iter().enumerate() {
                owned.take_event(index as u64 + 1, Box::new(event.clone()), wall + index as i64, None);
                if Some(index) == cut {
                    let commit = owned.commit("w", wall).unwrap();
                    items.extend(decode_news(&commit.news).unwrap());
                    let stored =
                        SiteState { stream_seq: commit.stream_seq, news_pos: 1, engine: Some(commit.engine) };
                    owned = OwnedSite::restore(&site, &stored, &config, wall + index as i64, false).unwrap();
                }
            }
            owned.tick(wall + events.len() as i64 + 5_000_000);
            let commit = owned.commit("w", wall).unwrap();
            items.extend(decode_news(&commit.news).unwrap());
            items
        };
        let whole = run(None);
        for cut in [0, 7, events.len() / 2, events.len() - 2] {
            assert_eq!(run(Some(cut)), whole, "cut after event {cut}");
        }
    }

    /// Sites stored by the first workers (format 1, the engine's snapshot uncompressed) are
    /// taken over by this one, and go on as from a state it wrote itself.
    #[test]
    fn a_state_of_the_first_format_goes_on_as_one_of_this_format() {
        let config = PipelineConfig::default();
        let events = events();
        let site = events[0].site.to_string();
        let wall = 1_000_000_000;
        let mut owned = OwnedSite::restore(&site, &SiteState::default(), &config, wall, false).unwrap();
        for (index, event) in events.iter().take(20).enumerate() {
            owned.take_event(index as u64 + 1, Box::new(event.clone()), wall + index as i64, None);
        }
        let commit = owned.commit("w", wall).unwrap();
        let (header, packed) = split_state(&commit.engine).unwrap();
        let mut header: Header = serde_json::from_slice(header).unwrap();
        assert_eq!(header.v, STATE_VERSION);
        let plain = unpack("test", packed).unwrap();
        assert!(packed.len() * 3 < plain.len(), "compressed: {} of {}", packed.len(), plain.len());
        header.v = STATE_VERSION_PLAIN;
        let old = join_state(&serde_json::to_vec(&header).unwrap(), &plain);
        let go_on = |engine: Vec<u8>| -> Vec<SiteItem> {
            let stored = SiteState { stream_seq: 20, news_pos: 1, engine: Some(engine) };
            let mut owned = OwnedSite::restore(&site, &stored, &config, wall + 20, false).unwrap();
            for (index, event) in events.iter().enumerate().skip(20) {
                owned.take_event(index as u64 + 1, Box::new(event.clone()), wall + index as i64, None);
            }
            decode_news(&owned.commit("w", wall).unwrap().news).unwrap()
        };
        assert_eq!(go_on(old), go_on(commit.engine));
    }

    /// A site read from its log files keeps its place in them with its state, and stays
    /// with readers of log files: a stream position is not a place in the files, nor the
    /// other way round.
    #[test]
    fn a_site_read_from_its_logs_keeps_its_place_and_is_not_taken_from_the_bus() {
        let config = PipelineConfig::default();
        let events = events();
        let site = events[0].site.to_string();
        let mut owned = OwnedSite::restore(&site, &SiteState::default(), &config, 0, true).unwrap();
        let file: Arc<str> = Arc::from("/logs/site.20261207.log");
        for (index, event) in events.iter().take(12).enumerate() {
            let place = Some((Arc::clone(&file), index as u64 + 3));
            owned.take_event(index as u64 + 1, Box::new(event.clone()), index as i64, place);
        }
        let commit = owned.commit("w", 0).unwrap();
        let stored = SiteState { stream_seq: commit.stream_seq, news_pos: 1, engine: Some(commit.engine) };
        let again = OwnedSite::restore(&site, &stored, &config, 5, true).unwrap();
        assert_eq!(again.log_place(), Some(LogPlace { file: file.to_string(), events: 14 }));
        assert_eq!(again.stream_seq(), 12);
        let error = OwnedSite::restore(&site, &stored, &config, 5, false).err().expect("refused");
        assert!(matches!(error, StateError::ReadFromLogs { seq: 12, .. }), "{error}");

        let mut bus = OwnedSite::restore(&site, &SiteState::default(), &config, 0, false).unwrap();
        bus.take_event(1, Box::new(events[0].clone()), 0, None);
        let commit = bus.commit("w", 0).unwrap();
        assert_eq!(
            OwnedSite::restore(&site, &SiteState::default(), &config, 0, false).unwrap().log_place(),
            None
        );
        let stored = SiteState { stream_seq: commit.stream_seq, news_pos: 1, engine: Some(commit.engine) };
        let error = OwnedSite::restore(&site, &stored, &config, 5, true).err().expect("refused");
        assert!(matches!(error, StateError::ReadFromBus { seq: 1, .. }), "{error}");
        assert!(error.to_string().contains(&site), "{error}");
    }

    #[test]
    fn a_stored_state_that_is_not_one_is_refused_with_the_site_named() {
        let stored = SiteState { stream_seq: 3, news_pos: 1, engine: Some(vec![1, 2, 3]) };
        let error =
            OwnedSite::restore("TS1", &stored, &PipelineConfig::default(), 0, false).err().expect("refused");
        assert!(error.to_string().contains("TS1"), "{error}");
    }
}
