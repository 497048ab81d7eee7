//! The ingest loop: the one thread that owns the [`Pipeline`]. It recovers (restores the
//! last snapshot and replays the stored events after it), then takes what the followed files
//! and the HTTP API bring, numbers every event, runs it through the pipeline, and commits the
//! raw events, the files' positions and everything derived from them in ONE transaction, so a
//! crash at any point leaves the store at a batch boundary it can restart from exactly.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use callstitch_follow::{FollowProblem, FollowedEvent, Follower, Position};
use callstitch_recording::{FeedFile, MediaUpdate};
use callstitch_store::{Batch, EventRecord, MediaRecord, Snapshot, Store, StoreError};
use callstitch_tlib::Event;
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::merge::SiteMerge;
use crate::metrics::{EventCounters, ProblemLabels};
use crate::pipeline::{Pipeline, PipelineConfig, Settled};
use crate::state::{Shared, StreamItem};

/// Events replayed per read from the store during recovery.
const REPLAY_CHUNK: usize = 5_000;

/// What the store's `positions` holds: how far every source was consumed, committed with
/// what was derived from it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// Followed files.
    #[serde(default)]
    pub follow: Vec<Position>,
    /// The last one-shot import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportMark>,
}

/// How far an import got: its inputs (path and size of every file, in order) and how many
/// events of their time-merged stream were taken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportMark {
    pub inputs: Vec<(String, u64)>,
    pub consumed: u64,
    pub finished: bool,
}

/// The events, calls and interactions an import (or a catch-up) took and wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taken {
    pub events: u64,
    pub calls: u64,
    pub interactions: u64,
}

/// What the HTTP API hands the ingest loop.
pub enum Request {
    Events {
        events: Vec<Event>,
        reply: oneshot::Sender<Result<Accepted, String>>,
    },
    Media {
        files: Vec<FeedFile>,
        records: Vec<MediaRecord>,
        reply: oneshot::Sender<Result<Accepted, String>>,
    },
}

/// Where an import begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStart {
    Fresh,
    /// An interrupted import of the same inputs took this many events: skip them.
    Resume(u64),
    AlreadyDone,
}

/// What a committed ingest request got.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Accepted {
    pub accepted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
}

/// The sending side of the ingest queue: bounded, so a flood is refused, not buffered.
#[derive(Clone)]
pub struct Ingress {
    sender: SyncSender<Request>,
}

impl Ingress {
    /// Queues a request; `Err` with the request when the queue is full or the loop stopped.
    pub fn offer(&self, request: Request) -> Result<(), &'static str> {
        match self.sender.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err("the ingest queue is full; retry shortly"),
            Err(TrySendError::Disconnected(_)) => Err("the service is shutting down"),
        }
    }
}

pub fn queue(capacity: usize) -> (Ingress, Receiver<Request>) {
    let (sender, receiver) = std::sync::mpsc::sync_channel(capacity);
    (Ingress { sender }, receiver)
}

/// Ingest settings.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    pub batch_events: usize,
    pub poll: Duration,
    pub snapshot_every: Duration,
    /// After this long without events, the stitching clock moves on with wall time.
    pub idle_tick: Duration,
    /// The longest an event waits in the pending batch before it is committed (group
    /// commit: one transaction per this interval at high rates, at once when quiet).
    pub commit_every: Duration,
    /// Live interactions that changed are written at most this often (each once, as it
    /// stands then).
    pub interactions_every: Duration,
    /// A live service (wall-clock arrivals, idle ticks); false for a one-shot import.
    pub live: bool,
}

pub struct IngestLoop<S: Store + Clone> {
    store: S,
    runtime: Handle,
    pipeline: Pipeline,
    follower: Option<Follower>,
    requests: Receiver<Request>,
    shared: Arc<Shared>,
    settings: IngestSettings,
    next_seq: u64,
    last_snapshot: Instant,
    /// A new snapshot is due (events were taken since the last one).
    dirty: bool,
    import: Option<ImportMark>,
    /// The batch being built (import path).
    pending: Batch,
    pending_settled: Settled,
    taken: Taken,
    /// The newest event time taken (UTC µs) and when it was taken, for the idle clock.
    newest: Option<(i64, Instant)>,
    last_tick: Instant,
    /// The followed sites merged by time; what it holds back is not committed yet.
    merge: SiteMerge,
    /// Reused buffer of what a poll read.
    read: Vec<FollowedEvent>,
    /// `callstitch_events_total`, its labels bounded to the configured sites and known messages.
    event_counters: EventCounters,
    /// Requests whose events are in the pending batch, answered once it is committed.
    pending_replies: Vec<(oneshot::Sender<Result<Accepted, String>>, Accepted)>,
    /// When the first event of the pending batch was taken.
    pending_since: Option<Instant>,
    /// When changed interactions were last handed out for writing.
    last_flush: Instant,
    /// When the live interactions were last counted for /metrics.
    last_live_count: Instant,
    /// The commit running while the next batch is built.
    in_flight: Option<InFlight>,
}

/// A batch being committed, with what to do once it is.
struct InFlight {
    task: tokio::task::JoinHandle<Result<(), StoreError>>,
    replies: Vec<(oneshot::Sender<Result<Accepted, String>>, Accepted)>,
    items: Vec<StreamItem>,
    events: usize,
    read_at: Instant,
    started: Instant,
}

/// Recovery failed or the store refused a write: the loop cannot go on without losing data.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored event {seq} cannot be read back: {message}")]
    StoredEvent { seq: u64, message: String },
}

/// How often the live interactions are counted for `callstitch_interactions_live`.
const LIVE_COUNT_EVERY: Duration = Duration::from_secs(5);

impl<S: Store + Clone> IngestLoop<S> {
    /// Recovers from the store and gets ready to follow `follow` (sites' log inputs).
    pub fn recover(
        store: S,
        runtime: Handle,
        config: &PipelineConfig,
        follow: Option<callstitch_follow::FollowConfig>,
        requests: Receiver<Request>,
        shared: Arc<Shared>,
        settings: IngestSettings,
    ) -> Result<IngestLoop<S>, IngestError> {
        let recovery = runtime.block_on(store.recover())?;
        let (pipeline, replay_from) = match &recovery.snapshot {
            Some(snapshot) => match config.restore(&snapshot.state) {
                Ok(pipeline) => (pipeline, snapshot.seq),
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "the stored snapshot cannot be restored; replaying every stored event");
                    (config.pipeline(), 0)
                }
            },
            None => (config.pipeline(), 0),
        };
        let checkpoint: Checkpoint = recovery
            .positions
            .as_deref()
            .and_then(|text| {
                serde_json::from_str(text)
                    .map_err(|error| tracing::warn!(%error, "stored positions unreadable; files are read from the start"))
                    .ok()
            })
            .unwrap_or_default();
        let follower = follow.map(|config| Follower::new(config, checkpoint.follow));
        let settings_batch = settings.batch_events;
        let event_counters = EventCounters::new(&shared.metrics, config.sites.iter().cloned());
        let mut ingest = IngestLoop {
            store,
            runtime,
            pipeline,
            follower,
            requests,
            shared,
            settings,
            next_seq: recovery.next_seq,
            last_snapshot: Instant::now(),
            dirty: false,
            import: checkpoint.import,
            pending: Batch::default(),
            pending_settled: Settled::default(),
            taken: Taken::default(),
            newest: None,
            last_tick: Instant::now(),
            merge: SiteMerge::new(settings_batch),
            read: Vec::new(),
            event_counters,
            pending_replies: Vec::new(),
            pending_since: None,
            last_flush: Instant::now(),
            last_live_count: Instant::now(),
            in_flight: None,
        };
        ingest.replay(replay_from)?;
        if let Some(wall) = ingest.wall_now() {
            // The time the service was down is no site's quiet: their logs were not read.
            ingest.pipeline.resume(wall);
        }
        Ok(ingest)
    }

    /// Runs the stored events after `from` through the pipeline again; what they settle is
    /// written again (the same rows: the pipeline is deterministic).
    fn replay(&mut self, mut from: u64) -> Result<(), IngestError> {
        let started = Instant::now();
        let mut replayed = 0u64;
        loop {
            let stored = self.runtime.block_on(self.store.events_after(from, REPLAY_CHUNK))?;
            let Some(last) = stored.last() else { break };
            from = last.seq;
            let mut settled = Settled::default();
            for event in &stored {
                let parsed = callstitch_tlib::json::event_from_json(&event.doc)
                    .map_err(|message| IngestError::StoredEvent { seq: event.seq, message })?;
                self.note_time(&parsed);
                // The same arrival time as the first time round: the same decisions.
                self.pipeline.push_at(&parsed, event.arrived_us, &mut settled);
            }
            self.pipeline.flush(&mut settled);
            replayed += stored.len() as u64;
            let batch = {
                let (calls, interactions) = settled.into_rows();
                Batch { calls, interactions, ..Batch::default() }
            };
            self.runtime.block_on(self.store.commit(batch))?;
        }
        if replayed > 0 {
            tracing::info!(
                events = replayed,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "replayed stored events after the snapshot"
            );
            self.dirty = true;
        }
        Ok(())
    }

    /// Runs until `stop` says so; then commits what it holds and a last snapshot.
    pub fn run(mut self, stop: &std::sync::atomic::AtomicBool) -> Result<(), IngestError> {
        let mut followed = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let took = self.step(&mut followed)?;
            if !took {
                match self.requests.recv_timeout(self.settings.poll) {
                    Ok(request) => self.take(vec![request], &mut followed)?,
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => std::thread::sleep(self.settings.poll),
                }
            }
        }
        self.checkpoint()?;
        tracing::info!("ingest stopped at a checkpoint");
        Ok(())
    }

    /// One round: what the files and the queue have now. False when there was nothing.
    fn step(&mut self, followed: &mut Vec<FollowedEvent>) -> Result<bool, IngestError> {
        let mut requests = Vec::new();
        while requests.len() < 256 {
            match self.requests.try_recv() {
                Ok(request) => requests.push(request),
                Err(_) => break,
            }
        }
        if let Some(follower) = &mut self.follower {
            let merge = &mut self.merge;
            let mut read = std::mem::take(&mut self.read);
            let reports = follower.poll_sites(&|site| merge.budget(site), &mut read);
            merge.take(&mut read, &reports);
            merge.release(followed);
            follower.hold(merge.held().into_keys());
            self.read = read;
            // Logged and counted as met, even when nothing else comes (an unreadable file).
            self.note_problems();
        }
        if followed.is_empty() && requests.is_empty() {
            // The sources are drained: commit now. (While they are not, the commit in
            // flight paces the next one, so a busy stream is committed in larger batches.)
            if !self.pending.is_empty() || !self.pending_replies.is_empty() {
                self.commit_pending(false)?;
            }
            // Nothing more to overlap with: answer and publish what is committed.
            self.wait_in_flight()?;
            if self.pending.is_empty() && self.pending_replies.is_empty() {
                self.idle_tick()?;
                if self.snapshot_due() {
                    self.checkpoint()?;
                }
            }
            return Ok(false);
        }
        self.take(requests, followed)?;
        Ok(true)
    }

    fn snapshot_due(&self) -> bool {
        self.dirty && self.last_snapshot.elapsed() >= self.settings.snapshot_every
    }

    /// Numbers and runs the followed events, then the requests in order, into the pending
    /// batch; commits it once it is full or has waited `commit_every`.
    fn take(&mut self, requests: Vec<Request>, followed: &mut Vec<FollowedEvent>) -> Result<(), IngestError> {
        self.pending_since.get_or_insert_with(Instant::now);
        let mut batch = std::mem::take(&mut self.pending);
        let mut settled = std::mem::take(&mut self.pending_settled);
        for item in followed.drain(..) {
            self.push(&item.event, &mut batch, &mut settled);
        }
        for request in requests {
            match request {
                Request::Events { events, reply } => {
                    let first = self.next_seq;
                    for event in &events {
                        self.push(event, &mut batch, &mut settled);
                    }
                    let last = self.next_seq.checked_sub(1).filter(|last| *last >= first);
                    let accepted =
                        Accepted { accepted: events.len(), first_seq: last.map(|_| first), last_seq: last };
                    self.pending_replies.push((reply, accepted));
                }
                Request::Media { files, records, reply } => {
                    let accepted = Accepted { accepted: records.len(), first_seq: None, last_seq: None };
                    for file in files {
                        self.add_media(file);
                    }
                    batch.media.extend(records);
                    self.pending_replies.push((reply, accepted));
                }
            }
        }
        self.pending = batch;
        self.pending_settled = settled;
        if self.commit_due() {
            self.commit_pending(false)?;
        }
        Ok(())
    }

    /// Takes a media file of `POST /v1/media`; one that says otherwise than the file held
    /// under its media id is reported (the first is kept, here and in the store).
    fn add_media(&mut self, file: FeedFile) {
        let media_id = file.media_id.clone();
        if let MediaUpdate::Conflicting(field) = self.pipeline.add_media(file) {
            self.shared.metrics.media_conflicts.inc();
            tracing::warn!(%media_id, field, "a media file posted again says otherwise than the first time; the first is kept");
        }
    }

    /// The pending batch is full, or has waited long enough.
    fn commit_due(&self) -> bool {
        self.pending.events.len() >= self.settings.batch_events
            || self.pending_since.is_some_and(|since| since.elapsed() >= self.settings.commit_every)
    }

    // --- one-shot import ---

    /// Starts an import of `inputs` (path and size of every file, in reading order). Says
    /// how many events of their merged stream an interrupted import of the same inputs
    /// already took, or that these inputs were imported whole already.
    pub fn begin_import(&mut self, inputs: Vec<(String, u64)>) -> ImportStart {
        match &self.import {
            Some(mark) if mark.inputs == inputs && mark.finished => ImportStart::AlreadyDone,
            Some(mark) if mark.inputs == inputs => ImportStart::Resume(mark.consumed),
            _ => {
                self.import = Some(ImportMark { inputs, consumed: 0, finished: false });
                ImportStart::Fresh
            }
        }
    }

    /// Takes one event of the import; commits a batch when it is full.
    pub fn import_event(&mut self, event: &Event) -> Result<(), IngestError> {
        let mut batch = std::mem::take(&mut self.pending);
        let mut settled = std::mem::take(&mut self.pending_settled);
        self.push(event, &mut batch, &mut settled);
        self.pending = batch;
        self.pending_settled = settled;
        if let Some(mark) = &mut self.import {
            mark.consumed += 1;
        }
        if self.pending.events.len() >= self.settings.batch_events {
            self.commit_pending(false)?;
        }
        Ok(())
    }

    /// Ends the import: with `finish`, every call and interaction still open is handed out
    /// (the files are all there is); then the last batch and a snapshot are committed.
    pub fn end_import(mut self, finish: bool) -> Result<Taken, IngestError> {
        if finish {
            let mut settled = std::mem::take(&mut self.pending_settled);
            self.pipeline.finish(&mut settled);
            self.pending_settled = settled;
        }
        if let Some(mark) = &mut self.import {
            mark.finished = true;
        }
        self.commit_pending(true)?;
        self.wait_in_flight()?;
        Ok(self.taken)
    }

    /// Commits the pending batch while the next one is built: the commit before it is
    /// waited for first (its requests answered, its interactions published), so commits
    /// keep their order and at most one is in flight.
    fn commit_pending(&mut self, force_snapshot: bool) -> Result<(), IngestError> {
        // Each interaction that changed since the last write, built once as it stands now
        // (at most every `interactions_every`, and at every snapshot, which must not name
        // news that was never written).
        let mut settled = std::mem::take(&mut self.pending_settled);
        if force_snapshot
            || self.snapshot_due()
            || self.last_flush.elapsed() >= self.settings.interactions_every
        {
            self.pipeline.flush(&mut settled);
            self.last_flush = Instant::now();
        }
        let mut batch = std::mem::take(&mut self.pending);
        let replies = std::mem::take(&mut self.pending_replies);
        let read_at = self.pending_since.take().unwrap_or_else(Instant::now);
        self.taken.events += batch.events.len() as u64;
        let (calls, interactions) = settled.into_rows();
        self.taken.calls += calls.len() as u64;
        self.taken.interactions += interactions.len() as u64;
        batch.calls = calls;
        batch.interactions = interactions;
        batch.positions = self.checkpoint_text();
        self.dirty = true;
        if force_snapshot || self.snapshot_due() {
            batch.snapshot = self.snapshot();
        }
        self.wait_in_flight()?;
        let items = stream_items(&batch);
        let events = batch.events.len();
        let store = self.store.clone();
        let task = self.runtime.spawn(async move { store.commit(batch).await });
        self.in_flight = Some(InFlight { task, replies, items, events, read_at, started: Instant::now() });
        Ok(())
    }

    /// Waits for the commit in flight; answers its requests and publishes what it wrote.
    fn wait_in_flight(&mut self) -> Result<(), IngestError> {
        let Some(in_flight) = self.in_flight.take() else { return Ok(()) };
        let result = match self.runtime.block_on(in_flight.task) {
            Ok(result) => result,
            Err(error) => Err(StoreError::Worker(error.to_string())),
        };
        let metrics = &self.shared.metrics;
        metrics.commit_seconds.observe(in_flight.started.elapsed().as_secs_f64());
        metrics.batch_events.observe(in_flight.events as f64);
        if let Err(error) = result {
            for (reply, _) in in_flight.replies {
                let _ = reply.send(Err(format!("not stored: {error}")));
            }
            return Err(error.into());
        }
        metrics.ingest_lag.set(in_flight.read_at.elapsed().as_secs_f64());
        for (reply, accepted) in in_flight.replies {
            let _ = reply.send(Ok(accepted));
        }
        self.publish(in_flight.items);
        Ok(())
    }

    fn note_time(&mut self, event: &Event) {
        let Some(time) = event.time() else { return };
        if self.newest.is_none_or(|(newest, _)| time.0 > newest) {
            self.newest = Some((time.0, Instant::now()));
        }
    }

    /// Every `idle_tick`: time moves on with the wall clock for sites that went quiet (their
    /// calls' waits run out, interactions waiting on time are written, idle sites leave the
    /// estate's time; docs/serve.md, "Clocks").
    fn idle_tick(&mut self) -> Result<(), IngestError> {
        let Some(wall) = self.wall_now() else { return Ok(()) };
        if self.newest.is_none() || self.last_tick.elapsed() < self.settings.idle_tick {
            return Ok(());
        }
        if self.merge.catching_up() {
            // Behind on a backlog (at start, after downtime): no site is quiet, its events
            // are on their way; moving its time on would close its calls before they come.
            return Ok(());
        }
        self.last_tick = Instant::now();
        let mut settled = Settled::default();
        self.pipeline.tick(wall, &mut settled);
        self.pipeline.flush(&mut settled);
        // Nothing is pending: no lag; and what the tick closed or dropped shows even when it
        // wrote nothing (the gauges would otherwise keep the last commit's values).
        self.shared.metrics.ingest_lag.set(0.0);
        self.update_gauges(true);
        if settled.is_empty() {
            return Ok(());
        }
        self.pending_settled = settled;
        self.commit_pending(false)?;
        self.wait_in_flight()
    }

    fn push(&mut self, event: &Event, batch: &mut Batch, settled: &mut Settled) {
        self.note_time(event);
        let seq = self.next_seq;
        self.next_seq += 1;
        let arrived = self.wall_now();
        batch.events.push(EventRecord::new(seq, event, arrived));
        self.event_counters.count(event);
        let outliers = self.pipeline.engine_stats().clock_outliers;
        self.pipeline.push_at(event, arrived, settled);
        let new = self.pipeline.engine_stats().clock_outliers.saturating_sub(outliers);
        if new > 0 {
            self.shared.metrics.clock_outliers.inc_by(new);
            tracing::warn!(
                site = %event.site,
                seq = ?event.seq,
                time = %event.time().map(|time| time.to_string()).unwrap_or_default(),
                "an event's time is far from its site's other events (or ahead of the wall clock): it is kept and applied, but moves no clock (docs/linking.md)"
            );
        }
    }

    /// Live: the wall clock now (UTC µs); `None` for a one-shot import, which reads its
    /// input as files are read (no site is ever idle).
    fn wall_now(&self) -> Option<i64> {
        if !self.settings.live {
            return None;
        }
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
        i64::try_from(since_epoch.as_micros()).ok()
    }

    fn note_problems(&mut self) {
        let Some(follower) = &mut self.follower else { return };
        for problem in follower.take_problems() {
            tracing::warn!(problem = %problem, "log input");
            let kind = problem_kind(&problem);
            self.shared.metrics.problems.get_or_create(&ProblemLabels { kind }).inc();
        }
    }

    fn checkpoint_text(&self) -> Option<String> {
        let held = self.merge.held();
        let follow =
            self.follower.as_ref().map(|follower| follower.positions_holding(&held)).unwrap_or_default();
        serde_json::to_string(&Checkpoint { follow, import: self.import.clone() }).ok()
    }

    fn snapshot(&mut self) -> Option<Snapshot> {
        if let Some((newest, _)) = self.newest {
            for finding in self.pipeline.prune_media(callstitch_tlib::Timestamp(newest)) {
                tracing::warn!(rule = finding.rule.label(), message = %finding.message, files = ?finding.files, "media file of no interaction");
                self.shared.metrics.orphan_media.inc();
            }
        }
        match self.pipeline.snapshot() {
            Ok(state) => {
                self.last_snapshot = Instant::now();
                self.dirty = false;
                Some(Snapshot { seq: self.next_seq - 1, state })
            }
            Err(error) => {
                // Tried again after another `snapshot_every`, not at every commit.
                self.last_snapshot = Instant::now();
                self.shared.metrics.snapshot_failures.inc();
                tracing::error!(error = %error_chain(&error), "cannot snapshot the stitching state; a restart will replay more");
                None
            }
        }
    }

    /// Commits what is pending, the positions and a snapshot now.
    fn checkpoint(&mut self) -> Result<(), IngestError> {
        self.commit_pending(true)?;
        self.wait_in_flight()
    }

    /// The gauges of what the pipeline holds; live interactions (a walk of every one held)
    /// only every few seconds unless `count_live` (an idle tick).
    fn update_gauges(&mut self, count_live: bool) {
        let (calls, segments) = self.pipeline.in_memory();
        let metrics = &self.shared.metrics;
        metrics.calls_in_progress.set(calls as i64);
        metrics.segments_waiting.set(segments as i64);
        let linker = self.pipeline.stitcher().linker();
        metrics.interactions_archived.set(linker.archived_in_memory() as i64);
        if count_live || self.last_live_count.elapsed() >= LIVE_COUNT_EVERY {
            metrics.interactions_live.set(linker.interactions_in_memory().1 as i64);
            self.last_live_count = Instant::now();
        }
    }

    fn publish(&mut self, items: Vec<StreamItem>) {
        self.update_gauges(false);
        let metrics = &self.shared.metrics;
        for item in items {
            metrics.interactions_written.inc();
            if item.kind == "completed" {
                metrics.interactions_completed.inc();
            }
            // No subscriber is fine.
            let _ = self.shared.stream.send(item);
        }
    }
}

/// The metric label of a follow problem.
fn problem_kind(problem: &FollowProblem) -> &'static str {
    match problem {
        FollowProblem::Parse(problem) => problem.kind.label(),
        FollowProblem::Unreadable { .. } => "unreadable",
        FollowProblem::Vanished { .. } => "vanished",
        FollowProblem::Truncated { .. } => "truncated",
        FollowProblem::PositionLost { .. } => "position-lost",
    }
}

/// What the stream says of the interactions of a batch.
fn stream_items(batch: &Batch) -> Vec<StreamItem> {
    batch
        .interactions
        .iter()
        .map(|record| {
            let kind = if record.state == "complete" {
                "completed"
            } else if record.first {
                "created"
            } else {
                "updated"
            };
            let summary: Value = record.summary.clone();
            StreamItem { kind, id: record.id.clone(), summary }
        })
        .collect()
}

/// An error with its causes, for a log line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
