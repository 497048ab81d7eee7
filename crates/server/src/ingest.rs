//! The ingest loop: the one thread that owns the [`Pipeline`]. It recovers (restores the
//! last snapshot and replays the stored events after it, with the media posts among them
//! where they came), then takes what the followed files
//! and the HTTP API bring, numbers every event, runs it through the pipeline, and commits the
//! raw events, the files' positions and everything derived from them in ONE transaction, so a
//! crash at any point leaves the store at a batch boundary it can restart from exactly.
//!
//! A store that refuses a write for a reason that can pass (a full disk, a lock, a read-only
//! file, an I/O error) does not end the loop: the batch is kept and tried again with a
//! growing pause, nothing new is read or taken meanwhile (HTTP ingest is refused with a
//! reason and a time to retry), and the service says it is degraded until the write goes
//! through (docs/serve.md, "Failure modes and limits").

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use callstitch_recording::{FeedFile, MediaUpdate};
use callstitch_store::{Batch, EventRecord, MediaPost, MediaRecord, Snapshot, Store, StoreError};
use callstitch_tlib::Event;
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::encoder::{packed, restored, Encoder};
use crate::metrics::{EventCounters, ProblemLabels};
use crate::pipeline::{Pipeline, PipelineConfig, Settled, Unwritten};
use crate::source::{
    AnySource, BusCheckpoint, BusGauges, BusInput, BusSource, Checkpoints, FollowCheckpoint, FollowSource,
    ImportMark,
};
use crate::state::{IngestState, Refusal, Shared, StreamItem};

/// Events replayed per read from the store during recovery.
const REPLAY_CHUNK: usize = 5_000;

/// The most events of the sources one round of the loop runs through the pipeline, whatever
/// `batch_events`: the stop flag is looked at between rounds, so a catch-up on a large
/// backlog still stops promptly (the rest stay held, their positions not committed).
const STEP_EVENTS: usize = 2_000;

/// How often a loop that waits (on a failing store) looks at the stop flag and the queue.
const WAIT_SLICE: Duration = Duration::from_millis(50);

/// Where a request is answered: once its events are committed, or with why they are not.
pub type Reply = oneshot::Sender<Result<Accepted, NotStored>>;

/// Why an ingest request was not stored (its answer is a 503).
#[derive(Debug, thiserror::Error)]
pub enum NotStored {
    /// Refused before it was taken: the store refuses writes, the service stops.
    #[error("{}", .0.reason)]
    Refused(Refusal),
    /// The media files of a post cannot be written down to be replayed after a restart.
    #[error("the media files cannot be kept for a restart")]
    MediaNotKept(#[source] serde_json::Error),
    /// The batch it was taken in was never committed; the loop stopped on this error.
    #[error("not stored")]
    Commit(#[source] Arc<IngestError>),
}

impl NotStored {
    /// What the client is told: the error and its first cause.
    pub fn reason(&self) -> String {
        match self {
            NotStored::Refused(refusal) => refusal.reason.clone(),
            NotStored::MediaNotKept(cause) => format!("{self}: {cause}"),
            NotStored::Commit(cause) => format!("{self}: {cause}"),
        }
    }

    /// When the client may try again, if it is worth it.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NotStored::Refused(refusal) => refusal.retry_after,
            NotStored::MediaNotKept(_) | NotStored::Commit(_) => None,
        }
    }
}

impl From<NotStored> for Refusal {
    fn from(error: NotStored) -> Refusal {
        Refusal::new(error.reason(), error.retry_after())
    }
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
    Events { events: Vec<Event>, reply: Reply },
    Media { files: Vec<FeedFile>, records: Vec<MediaRecord>, reply: Reply },
}

impl Request {
    /// Answers the request without taking it.
    pub(crate) fn refuse(self, refusal: Refusal) {
        let (Request::Events { reply, .. } | Request::Media { reply, .. }) = self;
        // The client may have gone: nothing to tell.
        let _ = reply.send(Err(NotStored::Refused(refusal)));
    }
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
    /// Queues a request; refused when the queue is full or the loop stopped.
    pub fn offer(&self, request: Request) -> Result<(), Refusal> {
        match self.sender.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                Err(Refusal::new("the ingest queue is full; retry shortly", Some(Duration::from_secs(1))))
            }
            Err(TrySendError::Disconnected(_)) => Err(Refusal::new("the service is shutting down", None)),
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
    /// Live: the interactions written with one commit, at least; the rest wait, in the order
    /// they began to wait, for the next commits (a flush that hands out thousands would
    /// otherwise hold every event behind one long transaction). A snapshot is committed
    /// once those handed out before its capture are written; the last commit before a stop
    /// writes them all.
    pub interactions_per_commit: usize,
    /// Live: how long an interaction waits to be written at most; a commit takes every one
    /// that waited longer, however many (a burst is not starved behind newer changes).
    pub interactions_wait: Duration,
    /// A live service (wall-clock arrivals, idle ticks); false for a one-shot import.
    pub live: bool,
    /// What to do when the store refuses a write that can go through later (a full disk):
    /// wait and retry (the service), or fail at once (`None`: an import, which a rerun
    /// resumes).
    pub store_retry: Option<StoreRetry>,
}

/// The pauses between attempts at a write the store refused: from `first`, doubling, at most
/// `longest`.
#[derive(Debug, Clone, Copy)]
pub struct StoreRetry {
    pub first: Duration,
    pub longest: Duration,
}

impl Default for StoreRetry {
    fn default() -> Self {
        StoreRetry { first: Duration::from_millis(100), longest: Duration::from_secs(5) }
    }
}

pub struct IngestLoop<S: Store + Clone> {
    store: S,
    /// Where the loop reads the time and waits ([`crate::clock::SystemClock`] in the service).
    clock: Arc<dyn Clock>,
    runtime: Handle,
    pipeline: Pipeline,
    /// What the loop reads (the followed files), each with its checkpoint.
    sources: Vec<Box<dyn AnySource>>,
    requests: Receiver<Request>,
    shared: Arc<Shared>,
    settings: IngestSettings,
    /// Set when the service stops: recovery, replay and a failing store give way to it.
    stop: Arc<AtomicBool>,
    /// The positions as recovered, each source's section replaced by its own at every
    /// commit; the sections of sources this loop does not run are kept as they are (an
    /// import into the service's database must not forget the followed files').
    checkpoints: Checkpoints,
    /// (replayed, total) while a recovery replays; what /healthz shows meanwhile.
    replaying: Option<(u64, u64)>,
    next_seq: u64,
    /// The number of the last media post taken (0: none yet).
    media_posts: u64,
    last_snapshot: Instant,
    /// A new snapshot is due (events were taken since the last one).
    dirty: bool,
    import: Option<ImportMark>,
    /// The batch being built (import path).
    pending: Batch,
    pending_settled: Settled,
    /// Interactions handed out and not written yet (live: a few go with each commit).
    unwritten: Unwritten,
    taken: Taken,
    /// The newest event time taken (UTC µs) and when it was taken, for the idle clock.
    newest: Option<(i64, Instant)>,
    last_tick: Instant,
    /// `callstitch_events_total`, its labels bounded to the configured sites and known messages.
    event_counters: EventCounters,
    /// Requests whose events are in the pending batch, answered once it is committed.
    pending_replies: Vec<(Reply, Accepted)>,
    /// When the first event of the pending batch was taken.
    pending_since: Option<Instant>,
    /// When changed interactions were last handed out for writing.
    last_flush: Instant,
    /// When the live interactions were last counted for /metrics.
    last_live_count: Instant,
    /// The commit running while the next batch is built.
    in_flight: Option<InFlight>,
    /// The snapshot being encoded off this thread.
    /// Tagged with the event and the media post it was captured after.
    encoder: Encoder<(u64, u64)>,
    /// The end of the write queue when the last snapshot was captured ([`Unwritten::end`]):
    /// a snapshot says that everything handed out before it is written, so it goes with the
    /// commit that takes the last of those, not before.
    snapshot_barrier: usize,
    /// An encoded snapshot (or one taken on this thread, where no encoder thread could
    /// start) waiting for that commit.
    held_snapshot: Option<Snapshot>,
}

/// A batch being committed, with what to do once it is.
struct InFlight {
    task: tokio::task::JoinHandle<Result<(), StoreError>>,
    /// The batch itself, to try again if the store refused it.
    batch: Arc<Batch>,
    replies: Vec<(Reply, Accepted)>,
    items: Vec<StreamItem>,
    events: usize,
    read_at: Instant,
    started: Instant,
}

/// The stored media posts a replay gives the pipeline again, read in chunks as it reaches
/// them.
struct MediaReplay {
    /// The number of the last post read.
    after: u64,
    read: VecDeque<MediaPost>,
    /// Every stored post was read.
    exhausted: bool,
    replayed: u64,
}

impl MediaReplay {
    fn after(after: u64) -> MediaReplay {
        MediaReplay { after, read: VecDeque::new(), exhausted: false, replayed: 0 }
    }
}

/// Recovery failed or the store refused a write: the loop cannot go on without losing data.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored event {seq} cannot be read back: {source}")]
    StoredEvent {
        seq: u64,
        #[source]
        source: callstitch_tlib::json::EventJsonError,
    },
    #[error("stored media post {ordinal} cannot be read back: {source}")]
    StoredMedia {
        ordinal: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "stopped while the store refused writes ({error}): what was read since the last commit is \
         not stored ({events} events in the refused batch, none of them answered 200); followed \
         files are read again from their last stored position at the next start"
    )]
    NotStoredAtStop { error: StoreError, events: usize },
    /// The error that ended the loop, shared with the requests it left unstored.
    #[error(transparent)]
    Shared(Arc<IngestError>),
    /// The linker role's loop ended (crate::estate).
    #[error("linker: {0}")]
    Estate(String),
}

/// How often the live interactions are counted for `callstitch_interactions_live`.
const LIVE_COUNT_EVERY: Duration = Duration::from_secs(5);

impl<S: Store + Clone> IngestLoop<S> {
    /// Recovers from the store and gets ready to follow `follow` (sites' log inputs), reading
    /// the time from `clock` (the service's [`crate::clock::SystemClock`], a test's
    /// [`crate::clock::TestClock`]). `None` when `stop` was set during the replay: what was
    /// replayed is committed, with a snapshot, so the next start goes on from there.
    #[allow(clippy::too_many_arguments)]
    pub fn recover(
        store: S,
        runtime: Handle,
        config: &PipelineConfig,
        follow: Option<callstitch_follow::FollowConfig>,
        requests: Receiver<Request>,
        shared: Arc<Shared>,
        settings: IngestSettings,
        stop: Arc<AtomicBool>,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<IngestLoop<S>>, IngestError> {
        let recovery = runtime.block_on(store.recover())?;
        let (pipeline, replay_from, media_posts) = match &recovery.snapshot {
            Some(snapshot) => match restored(&snapshot.state, |state| config.restore(state)) {
                Ok(pipeline) => (pipeline, snapshot.seq, snapshot.media_posts),
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "the stored snapshot cannot be restored; replaying every stored event");
                    (config.pipeline(), 0, 0)
                }
            },
            None => (config.pipeline(), 0, 0),
        };
        let checkpoints = Checkpoints::restore(recovery.positions.as_deref());
        let mut sources: Vec<Box<dyn AnySource>> = Vec::new();
        if let Some(config) = follow {
            let checkpoint: FollowCheckpoint = checkpoints.get();
            let per_site = settings.batch_events;
            sources.push(Box::new(FollowSource::open(config, checkpoint, per_site, Arc::clone(&clock))));
        }
        let import = checkpoints.get();
        let event_counters = EventCounters::new(&shared.metrics, config.sites.iter().cloned());
        let now = clock.now();
        // Restored: the newest time the pipeline had seen. A service restarted with nothing
        // new to read must still tick, or the calls and interactions its snapshot holds open
        // (a call waiting out its last seconds, an interaction lingering) would stay open.
        let restored = pipeline.stitcher().linker().clocks().newest();
        let newest = (restored != i64::MIN).then_some((restored, now));
        let mut ingest = IngestLoop {
            store,
            clock,
            runtime,
            pipeline,
            sources,
            requests,
            shared,
            settings,
            stop,
            checkpoints,
            replaying: None,
            next_seq: recovery.next_seq,
            media_posts,
            last_snapshot: now,
            dirty: false,
            import,
            pending: Batch::default(),
            pending_settled: Settled::default(),
            unwritten: Unwritten::default(),
            taken: Taken::default(),
            newest,
            last_tick: now,
            event_counters,
            pending_replies: Vec::new(),
            pending_since: None,
            last_flush: now,
            last_live_count: now,
            in_flight: None,
            encoder: Encoder::default(),
            snapshot_barrier: 0,
            held_snapshot: None,
        };
        if !ingest.replay(replay_from)? {
            return Ok(None);
        }
        ingest.shared.set_ingest_state(IngestState::Running);
        if let Some(wall) = ingest.wall_now() {
            // The time the service was down is no site's quiet: their logs were not read.
            ingest.pipeline.resume(wall);
        }
        Ok(Some(ingest))
    }

    /// Reads the sites' JetStream streams too ([`BusSource`]), from the checkpoint the store
    /// holds for them.
    pub fn read_bus(&mut self, input: BusInput) {
        let checkpoint: BusCheckpoint = self.checkpoints.get();
        let per_site = self.settings.batch_events;
        let metrics = &self.shared.metrics;
        let gauges = BusGauges {
            sequence: metrics.bus_sequence.clone(),
            pending: metrics.bus_pending.clone(),
            status: self.shared.bus.clone(),
        };
        self.sources.push(Box::new(BusSource::open(
            input,
            checkpoint,
            per_site,
            &self.runtime,
            Some(gauges),
        )));
    }

    /// How long ago `then` was, on the loop's clock.
    fn since(&self, then: Instant) -> Duration {
        self.clock.now().saturating_duration_since(then)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The state to show when the store takes writes.
    fn normal_state(&self) -> IngestState {
        match self.replaying {
            Some((replayed, total)) => IngestState::Recovering { replayed, total },
            None => IngestState::Running,
        }
    }

    /// Runs the stored events after `from` through the pipeline again, and the media posts
    /// the snapshot does not include, each right after the event it followed the first time
    /// round; what they settle is written again (the same rows: the pipeline is
    /// deterministic). False when `stop` ended it early; what was replayed is then committed
    /// with a snapshot as of the last event replayed, so that the next start does not replay
    /// it again.
    fn replay(&mut self, mut from: u64) -> Result<bool, IngestError> {
        let started = self.clock.now();
        let total = self.next_seq.saturating_sub(1).saturating_sub(from);
        let mut replayed = 0u64;
        self.set_replaying(replayed, total);
        let mut posts = MediaReplay::after(self.media_posts);
        self.replay_media(&mut posts, Some(from))?;
        let mut stopped = false;
        while !stopped {
            let stored = self.runtime.block_on(self.store.events_after(from, REPLAY_CHUNK))?;
            if stored.is_empty() {
                break;
            }
            let mut settled = Settled::default();
            for event in &stored {
                if self.stopping() {
                    stopped = true;
                    break;
                }
                self.replay_media(&mut posts, Some(event.seq.saturating_sub(1)))?;
                let parsed = callstitch_tlib::json::event_from_json(&event.doc)
                    .map_err(|error| IngestError::StoredEvent { seq: event.seq, source: error })?;
                self.note_time(&parsed);
                // The same arrival time as the first time round: the same decisions.
                self.pipeline.push_at(&parsed, event.arrived_us, &mut settled);
                from = event.seq;
                replayed += 1;
                if replayed.is_multiple_of(1000) {
                    self.set_replaying(replayed, total);
                }
            }
            if stopped {
                // The posts that came after the last event replayed, before the snapshot.
                self.replay_media(&mut posts, Some(from))?;
            }
            self.pipeline.flush(&mut settled);
            let (calls, interactions) = settled.into_rows();
            let mut batch = Batch { calls, interactions, ..Batch::default() };
            if stopped && replayed + posts.replayed > 0 {
                batch.snapshot = self.replay_snapshot(from);
            }
            self.commit_now(Arc::new(batch))?;
            self.set_replaying(replayed, total);
        }
        if !stopped {
            // The posts after the last event, and any whose event is gone.
            let mut settled = Settled::default();
            self.replay_media(&mut posts, None)?;
            self.pipeline.flush(&mut settled);
            if !settled.is_empty() {
                let (calls, interactions) = settled.into_rows();
                self.commit_now(Arc::new(Batch { calls, interactions, ..Batch::default() }))?;
            }
        }
        self.replaying = None;
        let anything = replayed + posts.replayed > 0;
        if anything {
            tracing::info!(
                events = replayed,
                of = total,
                media_posts = posts.replayed,
                elapsed_ms = self.since(started).as_millis() as u64,
                stopped,
                "replayed stored events and media posts after the snapshot"
            );
            self.dirty = true;
        }
        if !stopped && anything {
            self.snapshot_after_replay(from)?;
        }
        Ok(!stopped)
    }

    /// Gives the pipeline again the stored media posts taken after the event numbered
    /// `through` at the latest (every one left: `None`), in the order they were taken.
    /// What they said the first time round (a conflict) was reported then.
    fn replay_media(&mut self, posts: &mut MediaReplay, through: Option<u64>) -> Result<(), IngestError> {
        loop {
            if posts.read.is_empty() && !posts.exhausted {
                let chunk = self.runtime.block_on(self.store.media_posts_after(posts.after, REPLAY_CHUNK))?;
                posts.exhausted = chunk.len() < REPLAY_CHUNK;
                posts.read.extend(chunk);
            }
            let Some(post) = posts.read.pop_front() else { return Ok(()) };
            if through.is_some_and(|seq| post.after_seq > seq) {
                posts.read.push_front(post);
                return Ok(());
            }
            let files: Vec<FeedFile> = serde_json::from_str(&post.files)
                .map_err(|error| IngestError::StoredMedia { ordinal: post.ordinal, source: error })?;
            for file in files {
                self.pipeline.add_media(file);
            }
            posts.after = post.ordinal;
            posts.replayed += 1;
            self.media_posts = post.ordinal;
        }
    }

    /// Saves the state a whole replay reached at once, not `snapshot_every` later: a process
    /// that crashes sooner than that after every start (a crash loop, an import killed
    /// again and again) would otherwise replay the same events at each start, more each
    /// time, and never get further.
    fn snapshot_after_replay(&mut self, seq: u64) -> Result<(), IngestError> {
        let Some(snapshot) = self.replay_snapshot(seq) else {
            return Ok(());
        };
        self.commit_now(Arc::new(Batch { snapshot: Some(snapshot), ..Batch::default() }))?;
        self.last_snapshot = self.clock.now();
        self.dirty = false;
        Ok(())
    }

    fn set_replaying(&mut self, replayed: u64, total: u64) {
        self.replaying = Some((replayed, total));
        if !matches!(self.shared.ingest_state(), IngestState::Degraded { .. }) {
            self.shared.set_ingest_state(IngestState::Recovering { replayed, total });
        }
    }

    /// The snapshot of a replay stopped after event `seq`.
    fn replay_snapshot(&mut self, seq: u64) -> Option<Snapshot> {
        match packed(self.pipeline.snapshot()) {
            Ok(state) => Some(Snapshot { seq, state, media_posts: self.media_posts }),
            Err(error) => {
                self.shared.metrics.snapshot_failures.inc();
                tracing::error!(error = %error_chain(&error), "cannot snapshot the replayed state; the next start replays it again");
                None
            }
        }
    }

    /// Commits `batch` now, through the store error policy ([`Self::retry_commit`]).
    fn commit_now(&mut self, batch: Arc<Batch>) -> Result<(), IngestError> {
        let result = self.runtime.block_on(self.store.commit(Arc::clone(&batch)));
        match result {
            Ok(()) => Ok(()),
            Err(error) => self.retry_commit(batch, error),
        }
    }

    /// The store error policy, after a commit of `batch` failed with `error`: a failure
    /// that can pass is retried with growing pauses until the commit goes through, while
    /// the service says it is degraded and refuses new ingest; anything else, or a stop
    /// while the store still refuses, ends the loop.
    fn retry_commit(&mut self, batch: Arc<Batch>, mut error: StoreError) -> Result<(), IngestError> {
        let Some(retry) = self.settings.store_retry.filter(|_| error.is_transient()) else {
            return Err(error.into());
        };
        let mut pause = retry.first;
        let mut tried_after_stop = false;
        loop {
            if !error.is_transient() {
                return Err(error.into());
            }
            if tried_after_stop {
                return Err(IngestError::NotStoredAtStop { error, events: batch.events.len() });
            }
            self.degrade(&error);
            tried_after_stop = self.wait_degraded(pause);
            pause = (pause * 2).min(retry.longest);
            match self.runtime.block_on(self.store.commit(Arc::clone(&batch))) {
                Ok(()) => {
                    tracing::info!("the store takes writes again; ingest goes on");
                    self.shared.set_ingest_state(self.normal_state());
                    return Ok(());
                }
                Err(again) => error = again,
            }
        }
    }

    /// Says the store refuses writes (logged when it starts and when the reason changes).
    fn degrade(&self, error: &StoreError) {
        let kind = error.kind();
        let reason = format!("{} ({error}); {}", kind.summary(), kind.advice());
        let since = match self.shared.ingest_state() {
            IngestState::Degraded { reason: known, since } => {
                if known == reason {
                    return;
                }
                since
            }
            _ => self.clock.now(),
        };
        tracing::error!(%error, "the store refuses writes; what was read is held and retried, nothing new is taken until it passes");
        self.shared.set_ingest_state(IngestState::Degraded { reason, since });
    }

    /// Waits `pause` while the store refuses writes, refusing queued ingest requests
    /// meanwhile. True when the service is stopping (the pause is cut short).
    fn wait_degraded(&mut self, pause: Duration) -> bool {
        let until = self.clock.now() + pause;
        loop {
            while let Ok(request) = self.requests.try_recv() {
                let refusal = self.shared.ingest_refusal().unwrap_or_else(|| {
                    Refusal::new("store unavailable; retry later", Some(crate::state::RETRY_AFTER))
                });
                request.refuse(refusal);
            }
            if self.stopping() {
                return true;
            }
            let left = until.saturating_duration_since(self.clock.now());
            if left.is_zero() {
                return false;
            }
            self.clock.sleep(left.min(WAIT_SLICE));
        }
    }

    /// Runs until the stop flag says so; then commits what it holds and a last snapshot.
    pub fn run(mut self) -> Result<(), IngestError> {
        let mut polled = Vec::new();
        while !self.stopping() {
            let took = self.step(&mut polled)?;
            if !took {
                match self.requests.recv_timeout(self.settings.poll) {
                    Ok(request) => self.take(vec![request], &mut polled)?,
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => self.clock.sleep(self.settings.poll),
                }
            }
        }
        self.checkpoint()?;
        tracing::info!("ingest stopped at a checkpoint");
        Ok(())
    }

    /// One round: what the sources and the queue have now. False when there was nothing.
    fn step(&mut self, polled: &mut Vec<Event>) -> Result<bool, IngestError> {
        let mut requests = Vec::new();
        while requests.len() < 256 {
            match self.requests.try_recv() {
                Ok(request) => requests.push(request),
                Err(_) => break,
            }
        }
        for source in &mut self.sources {
            source.poll(STEP_EVENTS.saturating_sub(polled.len()), polled);
        }
        // Logged and counted as met, even when nothing else comes (an unreadable file).
        self.note_problems();
        if polled.is_empty() && requests.is_empty() {
            // The sources are drained: commit now. (While they are not, the commit in
            // flight paces the next one, so a busy stream is committed in larger batches.)
            if !self.pending.is_empty() || !self.pending_replies.is_empty() || !self.unwritten.is_empty() {
                self.commit_pending(false)?;
            }
            // Nothing more to overlap with: answer and publish what is committed.
            self.wait_in_flight()?;
            if self.pending.is_empty() && self.pending_replies.is_empty() {
                self.idle_tick()?;
                // A snapshot due is captured now and committed once it is encoded.
                if self.snapshot_due() || self.encoder.busy() || self.held_snapshot.is_some() {
                    self.checkpoint_soon()?;
                }
            }
            // Interactions still waiting go with the next commit at once, a few at a time
            // (an event that comes meanwhile waits for one short commit, not for all).
            return Ok(!self.unwritten.is_empty());
        }
        self.take(requests, polled)?;
        Ok(true)
    }

    fn snapshot_due(&self) -> bool {
        self.dirty && self.since(self.last_snapshot) >= self.settings.snapshot_every
    }

    /// Numbers and runs the sources' events, then the requests in order, into the pending
    /// batch; commits it once it is full or has waited `commit_every`.
    fn take(&mut self, requests: Vec<Request>, polled: &mut Vec<Event>) -> Result<(), IngestError> {
        let now = self.clock.now();
        self.pending_since.get_or_insert(now);
        let mut batch = std::mem::take(&mut self.pending);
        let mut settled = std::mem::take(&mut self.pending_settled);
        for event in polled.drain(..) {
            self.push(&event, &mut batch, &mut settled);
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
                    self.take_media(files, records, reply, &mut batch)
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

    /// Takes the media files of one `POST /v1/media` into the pipeline and the batch: the
    /// merged files for reading, and the post itself, numbered, after the last event taken,
    /// for a replay after a crash. Answered once the batch is committed.
    fn take_media(
        &mut self,
        files: Vec<FeedFile>,
        records: Vec<MediaRecord>,
        reply: Reply,
        batch: &mut Batch,
    ) {
        let text = match serde_json::to_string(&files) {
            Ok(text) => text,
            Err(error) => {
                let _ = reply.send(Err(NotStored::MediaNotKept(error)));
                return;
            }
        };
        self.media_posts += 1;
        batch.media_posts.push(MediaPost {
            ordinal: self.media_posts,
            after_seq: self.next_seq.saturating_sub(1),
            files: text,
        });
        let accepted = Accepted { accepted: records.len(), first_seq: None, last_seq: None };
        for file in files {
            self.add_media(file);
        }
        batch.media.extend(records);
        self.pending_replies.push((reply, accepted));
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
            || self.pending_since.is_some_and(|since| self.since(since) >= self.settings.commit_every)
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
            || self.since(self.last_flush) >= self.settings.interactions_every
        {
            self.pipeline.flush(&mut settled);
            self.last_flush = self.clock.now();
        }
        let mut batch = std::mem::take(&mut self.pending);
        // Something was taken since the last snapshot (a batch of positions alone, or one
        // that only carries an encoded snapshot, is not news).
        let taken = !(batch.events.is_empty()
            && batch.media.is_empty()
            && batch.media_posts.is_empty()
            && settled.is_empty());
        let replies = std::mem::take(&mut self.pending_replies);
        let read_at = self.pending_since.take().unwrap_or_else(|| self.clock.now());
        self.taken.events += batch.events.len() as u64;
        let (calls, handed_out) = settled.into_parts();
        let now = self.clock.now();
        for record in handed_out {
            self.unwritten.hand_out(record, now);
        }
        self.taken.calls += calls.len() as u64;
        batch.calls = calls;
        batch.positions = self.checkpoint_text();
        self.dirty |= taken;
        if force_snapshot {
            // Stopping or at a checkpoint: this state, now (one encoding running, or one
            // held, is older), with everything that waits.
            let _ = self.encoder.wait();
            self.held_snapshot = None;
            batch.snapshot = self.snapshot();
            batch.interactions = self.unwritten.take_all();
        } else {
            if self.snapshot_due() && !self.encoder.busy() && self.held_snapshot.is_none() {
                self.start_snapshot();
            }
            batch.interactions = if self.settings.live {
                let waited_from = now.checked_sub(self.settings.interactions_wait).unwrap_or(now);
                self.unwritten.take(self.settings.interactions_per_commit.max(1), waited_from)
            } else {
                self.unwritten.take_all()
            };
            // The snapshot goes once what was handed out before its capture is written,
            // with this commit or an earlier one: a few a commit, and none later than
            // `interactions_wait` (a commit writing the whole queue held every event
            // behind it).
            if self.held_snapshot.is_none() {
                self.held_snapshot = self.encoded_snapshot();
            }
            if self.unwritten.written_before(self.snapshot_barrier) {
                batch.snapshot = self.held_snapshot.take();
            }
        }
        self.taken.interactions += batch.interactions.len() as u64;
        self.shared.metrics.interactions_unwritten.set(self.unwritten.len() as i64);
        self.wait_in_flight()?;
        let items = stream_items(&batch);
        let events = batch.events.len();
        let batch = Arc::new(batch);
        let store = self.store.clone();
        let committed = Arc::clone(&batch);
        let task = self.runtime.spawn(async move { store.commit(committed).await });
        self.in_flight =
            Some(InFlight { task, batch, replies, items, events, read_at, started: self.clock.now() });
        Ok(())
    }

    /// Waits for the commit in flight; answers its requests and publishes what it wrote.
    fn wait_in_flight(&mut self) -> Result<(), IngestError> {
        let Some(in_flight) = self.in_flight.take() else { return Ok(()) };
        let result = match self.runtime.block_on(in_flight.task) {
            Ok(result) => result,
            Err(error) => Err(StoreError::Worker(error.to_string())),
        };
        if let Err(error) = result {
            // The requests of the batch wait for it: answered once it is stored, or refused
            // if it never is.
            if let Err(error) = self.retry_commit(Arc::clone(&in_flight.batch), error) {
                let error = Arc::new(error);
                for (reply, _) in in_flight.replies {
                    let _ = reply.send(Err(NotStored::Commit(Arc::clone(&error))));
                }
                return Err(IngestError::Shared(error));
            }
        }
        let metrics = &self.shared.metrics;
        metrics.commit_seconds.observe(self.since(in_flight.started).as_secs_f64());
        metrics.batch_events.observe(in_flight.events as f64);
        metrics.ingest_lag.set(self.since(in_flight.read_at).as_secs_f64());
        for (reply, accepted) in in_flight.replies {
            let _ = reply.send(Ok(accepted));
        }
        self.publish(in_flight.items);
        Ok(())
    }

    fn note_time(&mut self, event: &Event) {
        let Some(time) = event.time() else { return };
        if self.newest.is_none_or(|(newest, _)| time.0 > newest) {
            self.newest = Some((time.0, self.clock.now()));
        }
    }

    /// Every `idle_tick`: time moves on with the wall clock for sites that went quiet (their
    /// calls' waits run out, interactions waiting on time are written, idle sites leave the
    /// estate's time; docs/serve.md, "Clocks").
    fn idle_tick(&mut self) -> Result<(), IngestError> {
        let Some(wall) = self.wall_now() else { return Ok(()) };
        if self.newest.is_none() || self.since(self.last_tick) < self.settings.idle_tick {
            return Ok(());
        }
        if self.sources.iter().any(|source| source.catching_up()) {
            // Behind on a backlog (at start, after downtime): no site is quiet, its events
            // are on their way; moving its time on would close its calls before they come.
            return Ok(());
        }
        self.last_tick = self.clock.now();
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
        let since_epoch = self.clock.wall().duration_since(std::time::UNIX_EPOCH).ok()?;
        i64::try_from(since_epoch.as_micros()).ok()
    }

    fn note_problems(&mut self) {
        for source in &mut self.sources {
            for problem in source.take_problems() {
                tracing::warn!(problem = %problem.message, "{}", problem.source);
                let kind = problem.kind;
                self.shared.metrics.problems.get_or_create(&ProblemLabels { kind }).inc();
            }
        }
    }

    /// Every source's checkpoint as of the events taken, in the stored form (`None`, and
    /// the positions stored before kept, if it cannot be written).
    fn checkpoint_text(&mut self) -> Option<String> {
        let mut written = self.checkpoints.set(&self.import);
        for source in &self.sources {
            written = written.and_then(|()| source.checkpoint_into(&mut self.checkpoints));
        }
        written
            .and_then(|()| self.checkpoints.to_text())
            .map_err(|error| tracing::error!(%error, "cannot write the sources' positions; the last ones stored are kept"))
            .ok()
    }

    /// Drops media files no interaction can claim any more (before a snapshot, which need
    /// not hold them).
    fn prune_media(&mut self) {
        if let Some((newest, _)) = self.newest {
            for finding in self.pipeline.prune_media(callstitch_tlib::Timestamp(newest)) {
                tracing::warn!(rule = finding.rule.label(), message = %finding.message, files = ?finding.files, "media file of no interaction");
                self.shared.metrics.orphan_media.inc();
            }
        }
    }

    /// Captures the state now and encodes it on another thread ([`encoder`]); the snapshot
    /// goes with a later batch. Where no thread can be started, snapshots here instead, and
    /// holds it for that batch.
    fn start_snapshot(&mut self) {
        self.prune_media();
        let state = self.pipeline.capture();
        self.snapshot_barrier = self.unwritten.end();
        self.last_snapshot = self.clock.now();
        self.dirty = false;
        if !self.encoder.start(state, (self.next_seq - 1, self.media_posts)) {
            self.held_snapshot = self.snapshot();
        }
    }

    /// The snapshot encoded since the last batch, if one was.
    fn encoded_snapshot(&mut self) -> Option<Snapshot> {
        match self.encoder.finished()? {
            (Ok(state), (seq, media_posts)) => Some(Snapshot { seq, state, media_posts }),
            (Err(error), _) => {
                self.shared.metrics.snapshot_failures.inc();
                tracing::error!(error = %error_chain(&error), "cannot snapshot the stitching state; a restart will replay more");
                None
            }
        }
    }

    fn snapshot(&mut self) -> Option<Snapshot> {
        self.prune_media();
        match packed(self.pipeline.snapshot()) {
            Ok(state) => {
                self.last_snapshot = self.clock.now();
                self.dirty = false;
                Some(Snapshot { seq: self.next_seq - 1, state, media_posts: self.media_posts })
            }
            Err(error) => {
                // Tried again after another `snapshot_every`, not at every commit.
                self.last_snapshot = self.clock.now();
                self.shared.metrics.snapshot_failures.inc();
                tracing::error!(error = %error_chain(&error), "cannot snapshot the stitching state; a restart will replay more");
                None
            }
        }
    }

    /// Commits what is pending and the positions, with the snapshot once it is encoded off
    /// this thread.
    fn checkpoint_soon(&mut self) -> Result<(), IngestError> {
        self.commit_pending(false)?;
        self.wait_in_flight()
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
        if count_live || self.since(self.last_live_count) >= LIVE_COUNT_EVERY {
            metrics.interactions_live.set(linker.interactions_in_memory().1 as i64);
            self.last_live_count = self.clock.now();
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

/// What the stream says of the interactions of a batch.
pub(crate) fn stream_items(batch: &Batch) -> Vec<StreamItem> {
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
            let summary: Value = record.summary();
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

#[cfg(test)]
mod loop_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{SystemClock, TestClock};
    use callstitch_store::{
        InteractionQuery, Page, Pruned, Recovery, SqliteOptions, SqliteStore, StoreCounts, StoreHealth,
        StoredCall, StoredEvent, StoredInteraction,
    };

    /// A real store whose commits fail with SQLITE_FULL while `full` is set.
    #[derive(Clone)]
    struct FillingStore {
        store: SqliteStore,
        full: Arc<AtomicBool>,
    }

    impl Store for FillingStore {
        async fn commit(&self, batch: Arc<Batch>) -> Result<(), StoreError> {
            if self.full.load(Ordering::SeqCst) {
                let full = rusqlite_full();
                return Err(full);
            }
            self.store.commit(batch).await
        }
        async fn recover(&self) -> Result<Recovery, StoreError> {
            self.store.recover().await
        }
        async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
            self.store.events_after(after, limit).await
        }
        async fn media_posts_after(&self, after: u64, limit: usize) -> Result<Vec<MediaPost>, StoreError> {
            self.store.media_posts_after(after, limit).await
        }
        async fn interactions(&self, query: InteractionQuery) -> Result<Page, StoreError> {
            self.store.interactions(query).await
        }
        async fn interaction(&self, id: &str) -> Result<Option<StoredInteraction>, StoreError> {
            self.store.interaction(id).await
        }
        async fn recording(&self, id: &str) -> Result<Option<Value>, StoreError> {
            self.store.recording(id).await
        }
        async fn calls(&self, site: &str, key: &str) -> Result<Vec<StoredCall>, StoreError> {
            self.store.calls(site, key).await
        }
        async fn call_events(
            &self,
            site: &str,
            key: &str,
            limit: usize,
        ) -> Result<Vec<StoredEvent>, StoreError> {
            self.store.call_events(site, key, limit).await
        }
        async fn prune(&self, before_us: i64) -> Result<Pruned, StoreError> {
            self.store.prune(before_us).await
        }
        async fn counts(&self) -> Result<StoreCounts, StoreError> {
            self.store.counts().await
        }
        fn health(&self) -> StoreHealth {
            self.store.health()
        }
    }

    fn rusqlite_full() -> StoreError {
        let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL);
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, None))
    }

    fn events(from: u32, count: u32) -> Vec<Event> {
        (from..from + count)
            .map(|n| {
                let line = format!("{{\"message\":\"EventRinging\",\"site\":\"S\",\"call_uuid\":\"C{n}\"}}");
                callstitch_tlib::json::event_from_json(&line).expect("an event")
            })
            .collect()
    }

    /// An ingest loop recovered from `store` with no follower, no requests and no stop.
    fn recover_quietly<S: Store + Clone>(
        store: S,
        runtime: &tokio::runtime::Runtime,
    ) -> Option<IngestLoop<S>> {
        let (_ingress, requests) = queue(1);
        let (settings, config) = (test_settings(None), test_config());
        let (shared, stop) = (Arc::new(Shared::new()), Arc::new(AtomicBool::new(false)));
        IngestLoop::recover(
            store,
            runtime.handle().clone(),
            &config,
            None,
            requests,
            shared,
            settings,
            stop,
            Arc::new(SystemClock),
        )
        .expect("recovered")
    }

    /// Quick settings: commits at once, no snapshot or idle tick unless a test asks.
    fn test_settings(store_retry: Option<StoreRetry>) -> IngestSettings {
        IngestSettings {
            batch_events: 100,
            poll: Duration::from_millis(5),
            snapshot_every: Duration::from_secs(3600),
            idle_tick: Duration::from_secs(3600),
            commit_every: Duration::from_millis(1),
            interactions_every: Duration::from_millis(1),
            interactions_per_commit: 100,
            interactions_wait: Duration::from_secs(1),
            live: true,
            store_retry,
        }
    }

    /// One site, `S`, whose calls are not closed by the idle timeout.
    fn test_config() -> PipelineConfig {
        PipelineConfig {
            sites: vec!["S".to_string()],
            link_timeout_s: 2,
            linger_s: 1,
            site_idle_s: 60,
            call_idle_timeout_s: 3600,
            record_marker: None,
            live: true,
        }
    }

    fn wait_until(what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(30), "waited for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A crash loop (or an import killed again and again) sooner than `snapshot_every` after
    /// each start: the state a replay reaches is saved as soon as the replay ends, so the
    /// next start does not replay the same events again.
    #[test]
    fn a_finished_replay_is_snapshotted_so_a_crash_loop_does_not_replay_it_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).expect("store");
        let stored = events(0, 50);
        let records = stored.iter().enumerate().map(|(n, event)| EventRecord::new(n as u64 + 1, event, None));
        let batch = Batch { events: records.collect(), ..Batch::default() };
        runtime.block_on(store.commit(Arc::new(batch))).expect("stored events, no snapshot: a crash");
        assert!(runtime.block_on(store.recover()).expect("recovery").snapshot.is_none());

        let recovered = recover_quietly(store.clone(), &runtime);
        assert!(recovered.is_some(), "not stopped");
        drop(recovered); // SIGKILL: nothing more is committed

        let snapshot = runtime.block_on(store.recover()).expect("recovery").snapshot;
        assert_eq!(snapshot.map(|snapshot| snapshot.seq), Some(50), "the next start replays nothing");
    }

    /// A database written before the sources' checkpoints were typed: its interrupted
    /// import resumes, and the followed files' positions, which an import does not touch,
    /// are written back as they were.
    #[test]
    fn positions_stored_before_the_checkpoints_were_typed_restore() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).expect("store");
        let stored = r#"{"follow":[{"path":"/logs/TS1.log","fingerprint":{"len":1024,"hash":"00000000deadbeef"},"offset":4096,"finished":false}],"import":{"inputs":[["/old/TS2.log",81920]],"consumed":500,"finished":false}}"#;
        let batch = Batch { positions: Some(stored.to_string()), ..Batch::default() };
        runtime.block_on(store.commit(Arc::new(batch))).expect("the old positions");

        let mut ingest = recover_quietly(store.clone(), &runtime).expect("not stopped");
        let inputs = vec![("/old/TS2.log".to_string(), 81_920)];
        assert_eq!(ingest.begin_import(inputs), ImportStart::Resume(500));
        ingest.end_import(false).expect("committed");

        let positions = runtime.block_on(store.recover()).expect("recovery").positions.expect("positions");
        let (after, before): (Value, Value) =
            (serde_json::from_str(&positions).expect("JSON"), serde_json::from_str(stored).expect("JSON"));
        assert_eq!(after["follow"], before["follow"], "the followed files' positions as they were");
        assert_eq!(after["import"]["finished"], true, "{after}");
    }

    fn call_event(message: &str, time: &str) -> Event {
        let line = format!(
            "{{\"message\":\"{message}\",\"site\":\"S\",\"call_uuid\":\"UUID-REC\",\"conn_id\":\"0000000000000001\",\
             \"this_dn\":\"7001\",\"other_dn\":\"5551234\",\"timestamp\":\"{time}\"}}"
        );
        callstitch_tlib::json::event_from_json(&line).expect("an event")
    }

    fn media_post(stop: Option<&str>) -> (Vec<FeedFile>, Vec<MediaRecord>) {
        let stop = stop.map_or("null".to_string(), |stop| format!("\"{stop}\""));
        let line = format!(
            "{{\"type\":\"media\",\"site\":\"S\",\"call_uuid\":\"UUID-REC\",\"media_id\":\"UUID-REC_1\",\
             \"recorded_dn\":\"7001\",\"side\":\"agent\",\"start\":\"2012-10-29T14:41:01Z\",\"stop\":{stop}}}"
        );
        let feed = callstitch_recording::read_feed(line.as_bytes()).expect("a feed");
        assert!(feed.errors.is_empty(), "{:?}", feed.errors);
        let records = crate::api::media_records(&feed.files);
        (feed.files, records)
    }

    /// Killed once everything was read and snapshotted, the service comes back with nothing
    /// new to read: its idle ticks must still move the sites' time on, or a call its
    /// snapshot holds waiting out its last seconds (and its interaction) stays open for good
    /// (found by the bus SIGKILL test: an interaction left "live" after the last kill).
    #[test]
    fn a_restart_with_nothing_new_to_read_still_ticks_what_its_snapshot_holds_to_an_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).expect("store");
        let clock = Arc::new(TestClock::starting_at(std::time::SystemTime::now()));
        let settings = IngestSettings { idle_tick: Duration::from_millis(100), ..test_settings(None) };
        let recover = |store: SqliteStore| {
            let (_ingress, requests) = queue(1);
            let (shared, stop) = (Arc::new(Shared::new()), Arc::new(AtomicBool::new(false)));
            let clock: Arc<dyn Clock> = clock.clone();
            IngestLoop::recover(
                store,
                runtime.handle().clone(),
                &test_config(),
                None,
                requests,
                shared,
                settings.clone(),
                stop,
                clock,
            )
            .expect("recovered")
            .expect("not stopped")
        };
        let mut first = recover(store.clone());
        let mut call = vec![
            call_event("EventRinging", "2012-10-29T14:41:00Z"),
            call_event("EventEstablished", "2012-10-29T14:41:01Z"),
            call_event("EventReleased", "2012-10-29T14:41:30Z"),
            call_event("EventCallDeleted", "2012-10-29T14:41:30Z"),
        ];
        first.take(Vec::new(), &mut call).expect("taken");
        first.checkpoint().expect("committed with a snapshot");
        assert_eq!(first.pipeline.in_memory().0, 1, "the released call waits out its last moment");
        drop(first); // SIGKILL: everything read is stored, and the snapshot is of the last event

        let mut second = recover(store);
        assert_eq!(second.pipeline.in_memory().0, 1, "restored, the call still waits");
        for _ in 0..30 {
            clock.advance(Duration::from_millis(200));
            second.step(&mut Vec::new()).expect("a round with nothing to read");
        }
        assert_eq!(second.pipeline.in_memory().0, 0, "the idle ticks ended the call");
    }

    /// Never lose data: a media file answered 200 (committed) after the last snapshot is
    /// given to the pipeline again by the replay after a crash, at the same point among the
    /// events, so the recording of an interaction settled after the restart lists it.
    #[test]
    fn media_posted_after_the_last_snapshot_is_replayed_after_a_crash() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).expect("store");
        let full = Arc::new(AtomicBool::new(false));
        let filling = FillingStore { store: store.clone(), full: Arc::clone(&full) };
        let (settings, config) = (test_settings(None), test_config());
        let (ingress, requests) = queue(8);
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared::new());
        let (handle, loop_config, loop_settings) =
            (runtime.handle().clone(), config.clone(), settings.clone());
        let (loop_shared, loop_stop) = (Arc::clone(&shared), Arc::clone(&stop));
        let ingest = std::thread::spawn(move || {
            IngestLoop::recover(
                filling,
                handle,
                &loop_config,
                None,
                requests,
                loop_shared,
                loop_settings,
                loop_stop,
                Arc::new(SystemClock),
            )
            .map(|ingest| ingest.expect("not stopped").run())
        });
        wait_until("recovery", || shared.ingest_state() == IngestState::Running);
        let offer = |request: Request, answer: oneshot::Receiver<Result<Accepted, NotStored>>| {
            ingress.offer(request).map_err(|refusal| refusal.reason).expect("queued");
            runtime.block_on(answer).expect("answered").map_err(|error| error.reason()).expect("stored")
        };
        // The start of the file, the call, then its stop: each answered once committed.
        let (files, records) = media_post(None);
        let (reply, answer) = oneshot::channel();
        offer(Request::Media { files, records, reply }, answer);
        let call = vec![
            call_event("EventRinging", "2012-10-29T14:41:00Z"),
            call_event("EventEstablished", "2012-10-29T14:41:01Z"),
        ];
        let (reply, answer) = oneshot::channel();
        offer(Request::Events { events: call, reply }, answer);
        let (files, records) = media_post(Some("2012-10-29T14:41:30Z"));
        let (reply, answer) = oneshot::channel();
        offer(Request::Media { files, records, reply }, answer);
        let (reply, answer) = oneshot::channel();
        offer(
            Request::Events { events: vec![call_event("EventReleased", "2012-10-29T14:41:30Z")], reply },
            answer,
        );
        // SIGKILL before any snapshot: the stop's checkpoint is never written.
        full.store(true, Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        let ended = ingest.join().expect("no panic").expect("recovered");
        assert!(ended.is_err(), "the checkpoint at the stop was not written");
        assert!(runtime.block_on(store.recover()).expect("recovery").snapshot.is_none());

        let mut recovered = recover_quietly(store.clone(), &runtime).expect("not stopped");
        let mut settled = Settled::default();
        recovered.pipeline.finish(&mut settled);
        let (_, interactions) = settled.into_rows();
        let doc = &interactions.last().expect("the interaction settles").doc;
        let doc: Value = serde_json::from_str(doc).expect("JSON");
        let recording = &doc["recording"];
        let files = recording["media_files"].as_array().cloned().unwrap_or_default();
        assert_eq!(files.len(), 1, "the media posted before the crash is in the recording: {recording}");
        assert_eq!(files[0]["media_id"], "UUID-REC_1", "{recording}");
        assert!(
            files[0]["stop"].as_str().is_some_and(|stop| stop.starts_with("2012-10-29T14:41:30")),
            "{recording}"
        );
    }

    /// A media post taken right after a snapshot, before any other event, has the same
    /// last event as the snapshot: the snapshot's own count of posts, not the event number,
    /// says it is not in the snapshot, and the replay gives it to the pipeline.
    #[test]
    fn a_media_post_right_after_a_snapshot_is_replayed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).expect("store");
        let call = [
            call_event("EventRinging", "2012-10-29T14:41:00Z"),
            call_event("EventEstablished", "2012-10-29T14:41:01Z"),
        ];
        let records = call.iter().enumerate().map(|(n, event)| EventRecord::new(n as u64 + 1, event, None));
        let batch = Batch { events: records.collect(), ..Batch::default() };
        runtime.block_on(store.commit(Arc::new(batch))).expect("stored events");
        let (settings, config) = (test_settings(None), test_config());
        let recover = || {
            let (_ingress, requests) = queue(1);
            IngestLoop::recover(
                store.clone(),
                runtime.handle().clone(),
                &config,
                None,
                requests,
                Arc::new(Shared::new()),
                settings.clone(),
                Arc::new(AtomicBool::new(false)),
                Arc::new(SystemClock),
            )
            .expect("recovered")
            .expect("not stopped")
        };
        drop(recover()); // the replay is snapshotted as of event 2
        let snapshot = runtime.block_on(store.recover()).expect("recovery").snapshot.expect("a snapshot");
        assert_eq!((snapshot.seq, snapshot.media_posts), (2, 0));

        let (files, _) = media_post(Some("2012-10-29T14:41:30Z"));
        let post =
            MediaPost { ordinal: 1, after_seq: 2, files: serde_json::to_string(&files).expect("JSON") };
        let batch = Batch { media_posts: vec![post], ..Batch::default() };
        runtime.block_on(store.commit(Arc::new(batch))).expect("the post, then a crash");

        let mut recovered = recover();
        assert_eq!(recovered.media_posts, 1, "the next post is numbered after it");
        let mut settled = Settled::default();
        recovered.pipeline.finish(&mut settled);
        let (_, interactions) = settled.into_rows();
        let doc: Value =
            serde_json::from_str(&interactions.last().expect("the interaction").doc).expect("JSON");
        let files = doc["recording"]["media_files"].as_array().cloned().unwrap_or_default();
        assert_eq!(files.len(), 1, "{doc}");
        let snapshot = runtime.block_on(store.recover()).expect("recovery").snapshot.expect("a snapshot");
        assert_eq!((snapshot.seq, snapshot.media_posts), (2, 1), "the replayed post is in the new snapshot");
    }

    /// The store error policy: a full disk degrades the service (HTTP ingest refused with a
    /// time to retry), holds the batch it could not write and its requests, and writes them
    /// once (answering their requests) as soon as the store takes writes again.
    #[test]
    fn a_full_store_degrades_ingest_holds_the_batch_and_writes_it_once_when_space_comes_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).expect("store");
        let full = Arc::new(AtomicBool::new(true));
        let filling = FillingStore { store: store.clone(), full: Arc::clone(&full) };
        let shared = Arc::new(Shared::new());
        let (ingress, requests) = queue(8);
        let stop = Arc::new(AtomicBool::new(false));
        let retry = StoreRetry { first: Duration::from_millis(5), longest: Duration::from_millis(20) };
        let (settings, config) = (test_settings(Some(retry)), test_config());
        let handle = runtime.handle().clone();
        let (loop_shared, loop_stop) = (Arc::clone(&shared), Arc::clone(&stop));
        let ingest = std::thread::spawn(move || {
            IngestLoop::recover(
                filling,
                handle,
                &config,
                None,
                requests,
                loop_shared,
                settings,
                loop_stop,
                Arc::new(SystemClock),
            )
            .map(|ingest| ingest.expect("not stopped").run())
        });
        wait_until("recovery", || shared.ingest_state() == IngestState::Running);

        let (reply, held) = oneshot::channel();
        ingress
            .offer(Request::Events { events: events(0, 3), reply })
            .map_err(|refusal| refusal.reason)
            .expect("queued");
        wait_until("degraded", || matches!(shared.ingest_state(), IngestState::Degraded { .. }));
        let health = shared.health(&StoreHealth::default());
        assert_eq!(health.body["status"], "degraded");
        assert!(
            health.body["reason"].as_str().is_some_and(|reason| reason.contains("disk full")),
            "{}",
            health.body
        );
        let refusal = shared.ingest_refusal().expect("HTTP ingest is refused");
        assert!(refusal.reason.starts_with("store unavailable: disk full") && refusal.retry_after.is_some());
        // A request already queued is answered with the refusal, not taken.
        let (reply, refused) = oneshot::channel();
        ingress
            .offer(Request::Events { events: events(10, 1), reply })
            .map_err(|refusal| refusal.reason)
            .expect("queued");
        let answer = runtime.block_on(refused).expect("answered");
        assert!(answer.is_err_and(|error| error.retry_after().is_some()));

        full.store(false, Ordering::SeqCst);
        let accepted = runtime.block_on(held).expect("answered").expect("stored once there is room");
        assert_eq!((accepted.accepted, accepted.first_seq, accepted.last_seq), (3, Some(1), Some(3)));
        wait_until("running again", || shared.ingest_state() == IngestState::Running);
        stop.store(true, Ordering::SeqCst);
        ingest.join().expect("no panic").expect("recovered").expect("a clean stop");
        let counts = runtime.block_on(store.counts()).expect("counts");
        assert_eq!(counts.events, 3, "the held batch, once; the refused request, never");
    }
}
