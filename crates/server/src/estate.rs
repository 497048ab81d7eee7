//! The linker role (issue 14, docs/scale.md): `callstitch serve --workers` links what the
//! workers (`callstitch worker`, crates/worker) store, instead of reading logs or streams.
//!
//! Each site's owner commits the engine's news of its site as rows of `estate_news`, in the
//! site's stream order. This loop reads every site's rows after the position it took last,
//! merges the sites' items by their merge key exactly as `trace` merges log files (least key
//! first, ties to the site first in name order), and gives them to one
//! [`EstateLinker`]: the interactions it hands out are committed through the store as a
//! `serve` commits them, and the API, the live stream and the UI read them as usual.
//!
//! **Holding back.** A site whose owner has not yet stored all its stream holds (its stream
//! ends further on the bus than its stored position, its owner reads its log files and has
//! not reached their end, or it has more rows than were read): the
//! other sites' items go no further than its last item read, so that the order is the one of
//! reading everything at once. A site that holds without progress for [`STALL`] (its worker
//! is gone and no other has taken it yet) stops holding the estate: linking goes on, and its
//! items come late, as a late site's do.
//!
//! **Checkpoint.** With every snapshot of the linker ([`EstateLinker::snapshot`]), in the same
//! transaction, each site's position when the snapshot was captured: the last row wholly
//! taken and how many items of the next one. A restart restores the snapshot and reads on
//! from there (the interactions handed out since are handed out again, the same, as a
//! `serve` replays its events); the rows before the checkpoint are deleted. The state is
//! captured between two items and encoded on another thread (crate::encoder), as `serve`
//! does: encoding a busy estate's linker took a few hundred milliseconds of this loop, and
//! every event behind it waited.
//!
//! **Commits.** A round's batch is committed while the next round reads and links (one
//! commit in flight, [`PendingCommit`]); its interactions reach the live stream once it is
//! stored. What changed is handed out as soon as the last commit is stored ([`EAGER_FLUSH`]),
//! so commits follow each other as fast as the database takes them, each with what changed
//! meanwhile. A batch the store refuses is committed again before anything more is taken.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use callstitch_bus::{Bus, BusOptions};
use callstitch_pipeline::split::{EstateLinker, SiteItem};
use callstitch_store::{decode_news, Batch, PostgresStore, SiteProgress, Snapshot, Store, StoreError};
use callstitch_tlib::{Text, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::encoder::{packed, restored, Encoder};
use crate::ingest::{stream_items, Request};
use crate::pipeline::{PipelineConfig, Settled};
use crate::state::{IngestState, Refusal, Shared};

/// Rows read per site and round: a site that gives this many has more.
const ROWS_PER_READ: i64 = 64;

/// The most items one round takes: what they change is handed out and committed after
/// them, as `serve` commits at most this many events a round.
const STEP_ITEMS: usize = 2_000;

/// The longest a round takes items before it commits what they gave.
const ROUND_TIME: Duration = Duration::from_millis(250);

/// What changed is handed out once the last commit is stored and this long has passed since
/// the last hand-out (group commit: commits follow each other as fast as the database takes
/// them, each with what changed meanwhile), and at the latest every
/// [`EstateSettings::interactions_every`].
const EAGER_FLUSH: Duration = Duration::from_millis(20);

/// How long a site that holds the estate back may make no progress before it stops holding.
pub const STALL: Duration = Duration::from_secs(30);

/// How often the bus is asked where each site's stream ends.
const BUS_EVERY: Duration = Duration::from_millis(250);

/// Where the linker stands in one site's news.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsPosition {
    /// The last row wholly taken.
    pub row: i64,
    /// Items taken of the row after it.
    pub items: u32,
}

/// The checkpoint as stored in the store's positions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct EstateCheckpoint {
    estate: BTreeMap<String, NewsPosition>,
}

/// The settings of the loop.
#[derive(Debug, Clone)]
pub struct EstateSettings {
    pub poll: Duration,
    pub snapshot_every: Duration,
    pub interactions_every: Duration,
    /// The bus, to know where each site's stream ends (`None`: not asked; a site holds
    /// only while it has more rows than were read).
    pub bus: Option<(String, String)>,
}

/// Why the loop stops.
#[derive(Debug, thiserror::Error)]
pub enum EstateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored snapshot is not a linker's ({0}): this database was written by a `serve` that reads logs or streams; give the linker a database of its own")]
    NotALinkersSnapshot(String),
    #[error("the linker's state cannot be written: {0}")]
    Snapshot(String),
}

/// One item waiting in a site's queue, with where it came from.
struct Queued {
    item: SiteItem,
    row: i64,
    /// Its place in its row (from 1), and whether it is the row's last.
    index: u32,
    last: bool,
}

#[derive(Default)]
struct SiteQueue {
    items: VecDeque<Queued>,
    /// The last row read into the queue.
    read: i64,
    /// Items of the first row after `read` to skip (taken before a restart).
    skip: u32,
    taken: NewsPosition,
    /// Its owner has more than was read.
    behind: bool,
    /// The last time the site gave something.
    progress: Option<Instant>,
}

/// See the module documentation.
pub struct EstateLoop {
    store: PostgresStore,
    runtime: Handle,
    linker: EstateLinker,
    sites: BTreeMap<String, SiteQueue>,
    settled: Settled,
    shared: Arc<Shared>,
    requests: Receiver<Request>,
    stop: Arc<AtomicBool>,
    settings: EstateSettings,
    bus: Option<Bus>,
    stream_ends: BTreeMap<String, u64>,
    last_bus: Option<Instant>,
    last_snapshot: Instant,
    last_flush: Instant,
    /// Items taken since the last snapshot.
    since_snapshot: u64,
    /// The snapshot being encoded off this thread, with each site's position it was captured
    /// at (the checkpoint's text).
    encoder: Encoder<String>,
    /// The last batch handed to the store and not known stored yet.
    pending: Option<PendingCommit>,
    /// Site events taken, taken before the last flush, and counted as committed
    /// (`callstitch_linker_events`: what the live latency is measured by).
    events: EventCounts,
}

/// A batch handed to the store: in flight (its commit runs while the next round links), or
/// refused (committed again before anything more is taken: nothing handed out is lost while
/// the database is away).
struct PendingCommit {
    /// With a checkpoint (its positions), the news before them goes once it is stored.
    batch: Arc<Batch>,
    /// Site events taken before it was made (all of whose changes it holds).
    events: u64,
    started: Instant,
    /// The commit running; `None` once refused.
    running: Option<JoinHandle<Result<(), StoreError>>>,
}

/// Site events through the loop: taken by the linker, handed out (flushed), committed.
#[derive(Debug, Default, Clone, Copy)]
struct EventCounts {
    taken: u64,
    flushed: u64,
    committed: u64,
}

fn wall_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_micros() as i64)
}

impl EstateLoop {
    /// The loop as the store's last checkpoint left it.
    pub fn recover(
        store: PostgresStore,
        runtime: Handle,
        pipeline: &PipelineConfig,
        requests: Receiver<Request>,
        shared: Arc<Shared>,
        settings: EstateSettings,
        stop: Arc<AtomicBool>,
    ) -> Result<EstateLoop, EstateError> {
        let recovery = runtime.block_on(store.recover())?;
        let config = pipeline.build();
        let mut linker = match &recovery.snapshot {
            Some(snapshot) => restored(&snapshot.state, |state| EstateLinker::restore(state, &config))
                .map_err(|error| EstateError::NotALinkersSnapshot(error.to_string()))?,
            None => EstateLinker::new(&config, pipeline.directory(), None),
        };
        linker.resume(wall_now());
        let checkpoint: EstateCheckpoint = match &recovery.positions {
            Some(text) => serde_json::from_str(text)
                .map_err(|error| EstateError::NotALinkersSnapshot(error.to_string()))?,
            None => EstateCheckpoint::default(),
        };
        let sites = checkpoint
            .estate
            .into_iter()
            .map(|(site, taken)| {
                let queue = SiteQueue { read: taken.row, skip: taken.items, taken, ..SiteQueue::default() };
                (site, queue)
            })
            .collect();
        shared.set_ingest_state(IngestState::Running);
        Ok(EstateLoop {
            store,
            runtime,
            linker,
            sites,
            settled: Settled::default(),
            shared,
            requests,
            stop,
            settings,
            bus: None,
            stream_ends: BTreeMap::new(),
            last_bus: None,
            last_snapshot: Instant::now(),
            last_flush: Instant::now(),
            since_snapshot: 0,
            encoder: Encoder::default(),
            pending: None,
            events: EventCounts::default(),
        })
    }

    /// Runs until the stop flag is set; then commits a checkpoint.
    pub fn run(mut self) -> Result<(), EstateError> {
        while !self.stop.load(Ordering::Relaxed) {
            self.refuse_requests();
            let took = match self.round() {
                Ok(took) => took,
                Err(error) => {
                    tracing::warn!(%error, "the linker cannot read or write the store; trying again");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            if !took {
                std::thread::sleep(self.settings.poll);
            }
        }
        self.checkpoint_now()?;
        self.land()
    }

    /// Events are published to the bus, not posted here.
    fn refuse_requests(&self) {
        while let Ok(request) = self.requests.try_recv() {
            request.refuse(Refusal::new(
                "this service links what callstitch workers store: publish events to the bus (callstitch collect)",
                None,
            ));
        }
    }

    /// Reads, takes what may go, commits: whether anything was taken.
    fn round(&mut self) -> Result<bool, EstateError> {
        if self.pending.as_ref().is_some_and(|pending| pending.running.is_none()) {
            self.land()?;
        }
        self.ask_bus();
        let progress = self.runtime.block_on(self.store.estate_sites())?;
        self.read_news(&progress)?;
        // Catching up: steps of at most STEP_ITEMS, what each changed handed out after it (the
        // linker keeps what it completed until it is handed out, and looks at it again at
        // every item meanwhile), one commit for the steps of up to ROUND_TIME.
        let started = Instant::now();
        let mut took = 0;
        loop {
            let step = self.release(STEP_ITEMS);
            took += step;
            if (step as usize) < STEP_ITEMS {
                break;
            }
            self.flush();
            if started.elapsed() >= ROUND_TIME {
                break;
            }
        }
        let since_flush = self.last_flush.elapsed();
        if since_flush >= self.settings.interactions_every
            || (since_flush >= EAGER_FLUSH && self.commit_free())
        {
            self.flush();
        }
        if self.last_snapshot.elapsed() >= self.settings.snapshot_every
            && self.since_snapshot > 0
            && !self.encoder.busy()
        {
            self.checkpoint_soon()?;
        }
        let snapshot = self.encoded_checkpoint();
        self.commit(snapshot)?;
        self.update_gauges();
        Ok(took > 0)
    }

    /// No commit is running: the last batch is stored (or none was made).
    fn commit_free(&self) -> bool {
        self.pending
            .as_ref()
            .is_none_or(|pending| pending.running.as_ref().is_some_and(JoinHandle::is_finished))
    }

    /// Hands out what the items taken changed.
    fn flush(&mut self) {
        self.linker.flush(&mut self.settled);
        self.last_flush = Instant::now();
        self.events.flushed = self.events.taken;
    }

    /// Where each site's stream ends, every [`BUS_EVERY`].
    fn ask_bus(&mut self) {
        let Some((url, prefix)) = &self.settings.bus else { return };
        if self.last_bus.is_some_and(|last| last.elapsed() < BUS_EVERY) {
            return;
        }
        self.last_bus = Some(Instant::now());
        if self.bus.is_none() {
            let options = BusOptions { prefix: prefix.clone(), ..BusOptions::default() };
            match self.runtime.block_on(Bus::connect(url, options)) {
                Ok(bus) => self.bus = Some(bus),
                Err(error) => {
                    tracing::warn!(%error, "the bus does not answer: sites hold the estate only while they have rows unread");
                    return;
                }
            }
        }
        let Some(bus) = &self.bus else { return };
        let sites = match self.runtime.block_on(bus.sites()) {
            Ok(sites) => sites,
            Err(error) => {
                tracing::warn!(%error, "cannot list the site streams");
                return;
            }
        };
        for site in sites {
            if let Ok(last) = self.runtime.block_on(bus.last_sequence(&site)) {
                self.stream_ends.insert(site.clone(), last);
            }
            self.sites.entry(site).or_default();
        }
    }

    /// Reads each site's rows after what its queue holds; says which sites are behind.
    fn read_news(&mut self, progress: &BTreeMap<String, SiteProgress>) -> Result<(), EstateError> {
        for site in progress.keys() {
            self.sites.entry(site.clone()).or_default();
        }
        let after: BTreeMap<String, i64> =
            self.sites.iter().map(|(site, queue)| (site.clone(), queue.read)).collect();
        let rows = self.runtime.block_on(self.store.estate_news(progress, &after, ROWS_PER_READ))?;
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for row in &rows {
            *counts.entry(row.site.as_str()).or_default() += 1;
        }
        for row in &rows {
            let Some(queue) = self.sites.get_mut(&row.site) else { continue };
            let items = decode_news(&row.data)?;
            let count = items.len() as u32;
            let skip = if row.pos == queue.read + 1 { std::mem::take(&mut queue.skip) } else { 0 };
            for (index, item) in items.into_iter().enumerate().skip(skip as usize) {
                let index = index as u32 + 1;
                queue.items.push_back(Queued { item, row: row.pos, index, last: index == count });
            }
            if (count == 0 || skip >= count) && queue.items.is_empty() {
                // A row with nothing left to take, behind nothing held, is taken whole.
                queue.taken = NewsPosition { row: row.pos, items: 0 };
            }
            queue.read = row.pos;
            queue.progress = Some(Instant::now());
        }
        for (site, queue) in &mut self.sites {
            let stored = progress.get(site).copied().unwrap_or_default();
            let more_rows = stored.news_pos > queue.read
                || counts.get(site.as_str()).is_some_and(|count| *count >= ROWS_PER_READ);
            let more_stream =
                stored.reading || self.stream_ends.get(site).is_some_and(|end| *end > stored.stream_seq);
            let stalled = queue.progress.is_some_and(|last| last.elapsed() >= STALL);
            queue.behind = (more_rows || more_stream) && !stalled;
            if queue.progress.is_none() && (more_rows || more_stream) {
                queue.progress.get_or_insert_with(Instant::now);
            }
        }
        Ok(())
    }

    /// Takes the queued items that may go, in merge order, at most `most`: how many.
    fn release(&mut self, most: usize) -> u64 {
        // A site behind holds the others at its last item read (before any, at everything).
        let watermark = self
            .sites
            .values()
            .filter(|queue| queue.behind)
            .map(|queue| queue.items.back().map_or(i64::MIN, |queued| queued.item.key()))
            .min()
            .unwrap_or(i64::MAX);
        let names: Vec<String> = self.sites.keys().cloned().collect();
        let mut heads: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
        for (index, name) in names.iter().enumerate() {
            self.put_in_line(name, index, &mut heads);
        }
        let mut taken = 0;
        while let Some(Reverse((key, index))) = heads.pop() {
            if key > watermark || taken as usize >= most {
                break;
            }
            let Some(queue) = self.sites.get_mut(&names[index]) else { continue };
            let Some(queued) = queue.items.pop_front() else { continue };
            queue.taken = if queued.last {
                NewsPosition { row: queued.row, items: 0 }
            } else {
                NewsPosition { row: queued.row - 1, items: queued.index }
            };
            let site = Text::from(names[index].as_str());
            if matches!(queued.item, SiteItem::Event(_)) {
                self.events.taken += 1;
            }
            self.linker.take_item(&site, queued.item, &mut self.settled);
            self.put_in_line(&names[index], index, &mut heads);
            taken += 1;
        }
        self.since_snapshot += taken;
        taken
    }

    /// The site's next item goes into the merge; an event's key is the site's floor from
    /// now on (no event of it comes before), as `trace` tells the linker of each file's next
    /// event: without floors a site whose first event is late holds the estate's time back,
    /// and every interaction waits (and is looked at again) until it comes.
    fn put_in_line(&mut self, name: &str, index: usize, heads: &mut BinaryHeap<Reverse<(i64, usize)>>) {
        let Some(front) = self.sites.get(name).and_then(|queue| queue.items.front()) else { return };
        let key = front.item.key();
        heads.push(Reverse((key, index)));
        if matches!(front.item, SiteItem::Event(_)) && key != i64::MIN {
            self.linker.raise_floor(name, Timestamp(key), &mut self.settled);
        }
    }

    /// Hands the store what was handed out (and `snapshot` with the positions it was taken
    /// at), once the batch before it is stored: one commit in flight while the next round
    /// links.
    fn commit(&mut self, snapshot: Option<(Snapshot, String)>) -> Result<(), EstateError> {
        self.land()?;
        if self.settled.is_empty() && snapshot.is_none() {
            // Nothing to write: what was handed out changed nothing stored.
            self.count_committed(self.events.flushed);
            return Ok(());
        }
        let (calls, interactions) = std::mem::take(&mut self.settled).into_rows();
        let (snapshot, positions) = match snapshot {
            Some((snapshot, positions)) => (Some(snapshot), Some(positions)),
            None => (None, None),
        };
        let batch = Arc::new(Batch { calls, interactions, positions, snapshot, ..Batch::default() });
        self.pending = Some(PendingCommit {
            batch,
            events: self.events.flushed,
            started: Instant::now(),
            running: None,
        });
        self.start_pending();
        Ok(())
    }

    /// Starts the pending batch's commit, on the runtime.
    fn start_pending(&mut self) {
        let Some(pending) = &mut self.pending else { return };
        let (store, batch) = (self.store.clone(), Arc::clone(&pending.batch));
        pending.started = Instant::now();
        pending.running = Some(self.runtime.spawn(async move { store.commit(batch).await }));
    }

    /// Waits until the pending batch is stored (committing a refused one again); it stays
    /// pending, to be tried again, when the store refuses it.
    fn land(&mut self) -> Result<(), EstateError> {
        if self.pending.as_ref().is_some_and(|pending| pending.running.is_none()) {
            self.start_pending();
        }
        let Some(mut pending) = self.pending.take() else { return Ok(()) };
        let Some(running) = pending.running.take() else { return Ok(()) };
        let result = match self.runtime.block_on(running) {
            Ok(result) => result,
            Err(error) => Err(StoreError::Worker(format!("the commit's task ended: {error}"))),
        };
        if let Err(error) = result {
            self.pending = Some(pending);
            return Err(error.into());
        }
        self.landed(&pending);
        Ok(())
    }

    /// A batch is stored: its interactions go to the live stream, its checkpoint lets the
    /// news before it go, its events count as committed.
    fn landed(&mut self, pending: &PendingCommit) {
        self.shared.metrics.commit_seconds.observe(pending.started.elapsed().as_secs_f64());
        self.checkpointed(&pending.batch);
        for item in stream_items(&pending.batch) {
            self.shared.metrics.interactions_written.inc();
            if item.kind == "completed" {
                self.shared.metrics.interactions_completed.inc();
            }
            let _ = self.shared.stream.send(item);
        }
        self.count_committed(pending.events);
    }

    /// The site events taken up to `events` have all their changes stored.
    fn count_committed(&mut self, events: u64) {
        let newly = events.saturating_sub(self.events.committed);
        self.shared.metrics.linker_events.inc_by(newly);
        self.events.committed = self.events.committed.max(events);
    }

    /// Commits the linker's snapshot as of now with each site's position (stopping); the rows
    /// before it are forgotten once it is stored ([`EstateLoop::checkpointed`]).
    fn checkpoint_now(&mut self) -> Result<(), EstateError> {
        // One being encoded is older than this one.
        let _ = self.encoder.wait();
        self.flush();
        let text = self.positions()?;
        let state =
            packed(self.linker.snapshot()).map_err(|error| EstateError::Snapshot(error.to_string()))?;
        self.last_snapshot = Instant::now();
        self.since_snapshot = 0;
        self.commit(Some((Snapshot { seq: 0, state, media_posts: 0 }, text)))
    }

    /// Captures the linker's state now, with each site's position, and encodes it on another
    /// thread (crate::encoder); it is committed with the batch after its bytes are ready
    /// ([`EstateLoop::encoded_checkpoint`]). Everything the items taken so far changed is
    /// handed out first, so it is committed with that batch or an earlier one. Where no
    /// thread can be started, it is committed now.
    fn checkpoint_soon(&mut self) -> Result<(), EstateError> {
        self.flush();
        let text = self.positions()?;
        let state = self.linker.capture();
        self.last_snapshot = Instant::now();
        self.since_snapshot = 0;
        if self.encoder.start(state, text) {
            return Ok(());
        }
        self.checkpoint_now()
    }

    /// The checkpoint whose encoding finished, if one did.
    fn encoded_checkpoint(&mut self) -> Option<(Snapshot, String)> {
        match self.encoder.finished()? {
            (Ok(state), text) => Some((Snapshot { seq: 0, state, media_posts: 0 }, text)),
            (Err(error), _) => {
                self.shared.metrics.snapshot_failures.inc();
                tracing::error!(%error, "cannot snapshot the linker; a restart reads more of the news again");
                None
            }
        }
    }

    /// Each site's position now, as the checkpoint stores it.
    fn positions(&self) -> Result<String, EstateError> {
        let positions: BTreeMap<String, NewsPosition> =
            self.sites.iter().map(|(site, queue)| (site.clone(), queue.taken)).collect();
        serde_json::to_string(&EstateCheckpoint { estate: positions })
            .map_err(|error| EstateError::Snapshot(error.to_string()))
    }

    /// A batch is stored: with a checkpoint, the rows before its positions are never read
    /// again.
    fn checkpointed(&self, batch: &Batch) {
        let Some(text) = &batch.positions else { return };
        let Ok(checkpoint) = serde_json::from_str::<EstateCheckpoint>(text) else { return };
        let rows: BTreeMap<String, i64> =
            checkpoint.estate.into_iter().map(|(site, taken)| (site, taken.row)).collect();
        if let Err(error) = self.runtime.block_on(self.store.forget_news(&rows)) {
            tracing::warn!(%error, "cannot delete the news rows already taken; the next checkpoint tries again");
        }
    }

    fn update_gauges(&self) {
        let metrics = &self.shared.metrics;
        metrics.calls_in_progress.set(self.linker.calls_in_progress() as i64);
        metrics.segments_waiting.set(self.linker.linker().segments_in_memory() as i64);
        metrics.interactions_archived.set(self.linker.linker().archived_in_memory() as i64);
        for (site, queue) in &self.sites {
            let labels = crate::metrics::SiteLabels { site: site.clone() };
            metrics.linker_news_row.get_or_create(&labels).set(queue.taken.row);
            metrics.linker_queued.get_or_create(&labels).set(queue.items.len() as i64);
            metrics.linker_holding.get_or_create(&labels).set(i64::from(queue.behind));
        }
    }
}
