//! callstitch-worker: `callstitch worker`, one of any number of processes that share a
//! large estate (issue 14, docs/scale.md).
//!
//! A worker reads sites' JetStream streams (what `callstitch collect` published), runs the
//! call engine of each site it owns ([`site::OwnedSite`]) and commits, per site and step, the
//! raw events, the finished calls, the engine's news and the stream position in one
//! PostgreSQL transaction ([`callstitch_store::EstateDb`]). The linker
//! (`callstitch serve --workers`) reads the news and writes the interactions.
//!
//! **Ownership.** Sites are taken through the database: a site's session advisory lock
//! (it goes with the worker's connection, however the worker ends). Every few seconds a worker
//! lists the site streams and counts the workers connected; it owns at most its fair share
//! (the sites divided by the workers, rounded up), gives back what is over (after
//! committing it), and takes free sites up to it, starting at a place of its own in the list
//! so that workers do not all reach for the same site.
//!
//! **Commits.** One step is committed at a time, through the worker's one connection (it
//! holds the sites' locks), by a task of its own: the loop goes on reading and running the
//! engines while the database writes. A step's rows (raw event blocks, call reports, news,
//! compressed state) are made on a thread of their own from when it is taken, while the step
//! before it is written, so that making rows and writing them overlap; at most
//! [`WAITING_STEPS`] steps wait so. Steps are committed in the order they were taken. A
//! site's next step may be taken before its last one is committed: it goes on from the news
//! position that one leaves (a step with news writes the site's next row), and the commit
//! checks that it did.
//!
//! **Failures.** A commit that fails because another worker wrote the site drops the site
//! (it is no longer this worker's), and any step of it that waits; one that fails because
//! the connection went drops every site (their locks went with it) and every step waiting,
//! and the worker connects again and takes sites from what was committed: nothing was
//! committed of what it held, so nothing is lost or taken twice.
//! A message that is not an event is committed as a problem with its stream sequence and
//! skipped.
//!
//! **Backfills.** Given the sites' log files ([`WorkerOptions::logs`], `worker --logs`), a
//! worker reads each site it owns from its files instead of its stream ([`logs`]): no bus,
//! the same ownership, commits and state, with the place in the files as the position.

pub mod logs;
pub mod site;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use callstitch_bus::{follow_site, Bus, BusItem, BusOptions, TakesReads};
use callstitch_pipeline::PipelineConfig;
use callstitch_store::{EstateDb, SiteCommit, StoreError};
use callstitch_tlib::Event;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::logs::{read_site_logs, LogEvent, LogReading, Logs};
use crate::site::{CommitError, OwnedSite, TakenStep};

/// What every worker's connection name starts with: the workers are counted by it.
pub const APPLICATION_PREFIX: &str = "callstitch-worker/";

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The NATS server (`nats://host:port`).
    pub nats_url: String,
    /// The prefix the collectors publish under.
    pub prefix: String,
    /// `postgres://…`.
    pub database: String,
    /// This worker's name (its connection is `callstitch-worker/<name>`).
    pub name: String,
    pub pipeline: PipelineConfig,
    /// A site's step is committed at this many events…
    pub batch_events: usize,
    /// …or when its oldest part is this old.
    pub commit_every: Duration,
    /// How often the time of a quiet site moves on with the wall clock.
    pub idle_tick: Duration,
    /// How often the sites and the workers are counted again.
    pub balance_every: Duration,
    /// A backfill: the sites are these log files' sites, read from the files, not from the
    /// bus ([`logs`]).
    pub logs: Option<Logs>,
}

/// Why a worker stops with an error.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a worker has done, for `/metrics` and its log.
#[derive(Debug, Default)]
pub struct WorkerStatus {
    pub events: AtomicU64,
    pub problems: AtomicU64,
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
    pub database_connected: AtomicU64,
    pub bus_connected: AtomicU64,
    /// The sites are read from their log files (a backfill), not from the bus.
    pub reads_logs: AtomicBool,
    /// Per owned site: the stream sequence committed and the messages still unread.
    pub sites: Mutex<BTreeMap<String, SiteGauge>>,
}

/// One owned site's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteGauge {
    pub stream_seq: u64,
    pub pending: u64,
    /// A backfill's site: the file being read (from 1; 0 before the first) and how many the
    /// site has (0 for a site read from the bus).
    pub file: u64,
    pub files: u64,
}

/// One message of an owned site's stream, read by its reader task.
struct Incoming {
    /// Shared by every message of the site's reader, not copied into each.
    site: Arc<str>,
    /// The ownership it was read for: messages of an ownership given up are dropped.
    generation: u64,
    item: Item,
}

/// What a site's reader read, handed over in batches of at most [`BATCH`]: one hand-over
/// and wake-up for many messages.
enum Item {
    /// Messages of the site's stream, in order, each with its sequence: an event, or what
    /// was wrong with one that is no event.
    Messages(Vec<(u64, Result<Box<Event>, String>)>),
    /// Events read from the site's log files, numbered from `first` on.
    Logged { first: u64, events: Vec<LogEvent> },
    /// The site's log files are read to their end.
    FilesRead,
}

/// The most messages (or events) a reader hands over at once. A stream's reader hands over
/// what it has as soon as it has read to the stream's end, so live messages do not wait.
const BATCH: usize = 128;

/// An owned site: its state, and the task that reads its stream.
struct Owned {
    site: OwnedSite,
    generation: u64,
    reader: JoinHandle<()>,
    /// Messages beyond the last one read (`u64::MAX` until the reader has looked).
    pending: Arc<AtomicU64>,
    /// Stops a reader of log files (a thread, which `abort` does not stop).
    cancel: Arc<AtomicBool>,
    /// Read from log files: the file being read (from 1) and how many the site has.
    file: (u64, u64),
    /// When the step being built began.
    since: Option<Instant>,
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.reader.abort();
    }
}

/// A step taken, its rows being made on a thread of their own, waiting for its commit.
struct Step {
    site: String,
    /// The ownership the step was taken under.
    generation: u64,
    /// The news position the step leaves its site at.
    news_pos: i64,
    rows: JoinHandle<Result<SiteCommit, CommitError>>,
}

/// How many steps may wait for the connection while one is committed: their rows are made
/// meanwhile. A backfill's steps are big (up to `batch_events`), so this bounds memory too.
const WAITING_STEPS: usize = 1;

/// A step being committed by a task of its own, which holds the connection meanwhile and
/// gives it back with the news position written.
struct InFlight {
    site: String,
    /// The ownership the step was taken under.
    generation: u64,
    /// The news position it should leave its site at.
    news_pos: i64,
    task: JoinHandle<(EstateDb, Result<i64, String>)>,
}

/// What a commit's task ended with.
type Committed = Result<(EstateDb, Result<i64, String>), tokio::task::JoinError>;

/// Wall time now, µs since the epoch.
fn wall_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_micros() as i64)
}

/// How long a failed connection waits before it is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// See the crate documentation.
pub struct Worker {
    options: WorkerOptions,
    status: Arc<WorkerStatus>,
    bus: Option<Bus>,
    /// The connection, while no step is being committed through it.
    db: Option<EstateDb>,
    /// The step being committed (the connection is its task's meanwhile).
    in_flight: Option<InFlight>,
    /// Steps taken after it, in order, their rows being made.
    waiting: VecDeque<Step>,
    owned: BTreeMap<String, Owned>,
    /// Sites whose stored state this worker cannot read: said once, left alone.
    refused: BTreeSet<String>,
    incoming: mpsc::Receiver<Incoming>,
    sender: mpsc::Sender<Incoming>,
    generation: u64,
    last_tick: Instant,
    last_balance: Option<Instant>,
}

impl Worker {
    pub fn new(options: WorkerOptions, status: Arc<WorkerStatus>) -> Worker {
        // At most 8,192 messages or events wait, in batches.
        let capacity = 8_192 / BATCH;
        let (sender, incoming) = mpsc::channel(capacity);
        status.reads_logs.store(options.logs.is_some(), Ordering::Relaxed);
        Worker {
            options,
            status,
            bus: None,
            db: None,
            in_flight: None,
            waiting: VecDeque::new(),
            owned: BTreeMap::new(),
            refused: BTreeSet::new(),
            incoming,
            sender,
            generation: 0,
            last_tick: Instant::now(),
            last_balance: None,
        }
    }

    /// The connection name of this worker.
    pub fn application_name(&self) -> String {
        let name: String = self.options.name.chars().filter(char::is_ascii).take(40).collect();
        format!("{APPLICATION_PREFIX}{name}")
    }

    /// Runs until `shutdown` completes, then commits what it holds and lets its sites go.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                result = self.round() => result?,
            }
        }
        self.stop().await;
        Ok(())
    }

    /// One round: connect what is not connected, balance when due, take what was read, tick
    /// quiet sites, commit what is due.
    async fn round(&mut self) -> Result<(), WorkerError> {
        if !self.connected().await? {
            tokio::time::sleep(RETRY).await;
            return Ok(());
        }
        if self.last_balance.is_none_or(|last| last.elapsed() >= self.options.balance_every) {
            self.settle().await;
            self.balance().await;
            self.last_balance = Some(Instant::now());
        }
        self.take_incoming().await;
        if self.last_tick.elapsed() >= self.options.idle_tick {
            self.last_tick = Instant::now();
            self.tick_quiet_sites();
        }
        self.commit_due().await;
        self.publish_gauges();
        Ok(())
    }

    /// Both connections up; false while one is not (said in the log, tried again).
    async fn connected(&mut self) -> Result<bool, WorkerError> {
        if self.in_flight.is_some() {
            // The connection is the commit's: how it went is known when the commit ends.
            return Ok(self.source_up());
        }
        if self.db.as_ref().is_some_and(EstateDb::is_closed) {
            tracing::warn!(
                sites = self.owned.len(),
                "the database connection went: every site is let go and taken again from what was committed"
            );
            self.db = None;
            self.let_everything_go();
        }
        if self.db.is_none() {
            match EstateDb::connect(&self.options.database, &self.application_name()).await {
                Ok(db) => {
                    tracing::info!(database = db.name(), "connected to the database");
                    self.db = Some(db);
                }
                Err(error @ (StoreError::BadUrl { .. } | StoreError::NewerSchema { .. })) => {
                    return Err(error.into())
                }
                Err(error) => {
                    tracing::warn!(%error, "the database does not answer; trying again");
                }
            }
        }
        if self.bus.is_none() && self.options.logs.is_none() {
            let options = BusOptions { prefix: self.options.prefix.clone(), ..BusOptions::default() };
            match Bus::connect(&self.options.nats_url, options).await {
                Ok(bus) => {
                    tracing::info!(url = %self.options.nats_url, "connected to the bus");
                    self.bus = Some(bus);
                }
                Err(error) => tracing::warn!(%error, "the bus does not answer; trying again"),
            }
        }
        let up = self.db.is_some() && self.source_up();
        self.status.database_connected.store(u64::from(self.db.is_some()), Ordering::Relaxed);
        self.status.bus_connected.store(u64::from(self.bus.is_some()), Ordering::Relaxed);
        Ok(up)
    }

    /// Where the sites are read from is there: the bus, or log files (always).
    fn source_up(&self) -> bool {
        self.options.logs.is_some() || self.bus.is_some()
    }

    /// The sites to share: the log files' sites, else the bus's site streams.
    async fn sites(&self) -> Option<Vec<String>> {
        if let Some(logs) = &self.options.logs {
            return Some(logs.0.sites());
        }
        match self.bus.as_ref()?.sites().await {
            Ok(sites) => Some(sites),
            Err(error) => {
                tracing::warn!(%error, "cannot list the site streams");
                None
            }
        }
    }

    /// Owns this worker's fair share of the sites (crate documentation).
    async fn balance(&mut self) {
        let Some(sites) = self.sites().await else { return };
        let Some(db) = &self.db else { return };
        if self.options.logs.is_some() {
            if let Err(error) = db.expect_reading(&sites).await {
                tracing::warn!(%error, "cannot say which sites this backfill reads");
                return;
            }
        }
        let workers = match db.workers(APPLICATION_PREFIX).await {
            Ok(workers) => workers.max(1) as usize,
            Err(error) => {
                tracing::warn!(%error, "cannot count the workers");
                return;
            }
        };
        let fair = sites.len().div_ceil(workers);
        while self.owned.len() > fair {
            let Some(site) = self.owned.keys().next_back().cloned() else { break };
            self.give_back(&site).await;
        }
        if self.owned.len() >= fair || sites.is_empty() {
            return;
        }
        let start = place_of(&self.options.name, sites.len());
        for site in sites.iter().cycle().skip(start).take(sites.len()) {
            if self.owned.len() >= fair {
                break;
            }
            if self.owned.contains_key(site) || self.refused.contains(site) {
                continue;
            }
            self.try_take(site).await;
        }
    }

    /// Takes `site` if no other worker owns it.
    async fn try_take(&mut self, site: &str) {
        if !self.source_up() {
            return;
        }
        let Some(db) = &self.db else { return };
        match db.claim(site).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, site, "cannot take the site");
                return;
            }
        }
        let state = match db.site_state(site).await {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(%error, site, "cannot read the site's state; letting it go");
                let _ = db.release(site).await;
                return;
            }
        };
        let reads_logs = self.options.logs.is_some();
        let owned = match OwnedSite::restore(site, &state, &self.options.pipeline, wall_now(), reads_logs) {
            Ok(owned) => owned,
            Err(error) => {
                tracing::error!(%error, "the site is left alone");
                self.refused.insert(site.to_string());
                let _ = db.release(site).await;
                return;
            }
        };
        self.generation += 1;
        let pending = Arc::new(AtomicU64::new(u64::MAX));
        let cancel = Arc::new(AtomicBool::new(false));
        let files = self.options.logs.as_ref().map_or(0, |logs| logs.0.files(site) as u64);
        let reader = match (&self.options.logs, &self.bus) {
            (Some(logs), _) => {
                if let Err(error) = db.reading(site).await {
                    tracing::warn!(%error, site, "cannot take the site");
                    let _ = db.release(site).await;
                    return;
                }
                let logs = Arc::clone(&logs.0);
                let reading = LogReading {
                    site: Arc::from(site),
                    generation: self.generation,
                    after: state.stream_seq,
                    from: owned.log_place(),
                    queue: self.sender.clone(),
                    pending: Arc::clone(&pending),
                    cancel: Arc::clone(&cancel),
                };
                tokio::task::spawn_blocking(move || read_site_logs(logs.as_ref(), reading))
            }
            (None, Some(bus)) => tokio::spawn(read_site(
                bus.clone(),
                site.to_string(),
                state.stream_seq,
                self.generation,
                self.sender.clone(),
                Arc::clone(&pending),
            )),
            (None, None) => {
                let _ = db.release(site).await;
                return;
            }
        };
        tracing::info!(site, after = state.stream_seq, place = ?owned.log_place(), "took the site");
        let file = (0, files);
        let owned =
            Owned { site: owned, generation: self.generation, reader, pending, cancel, file, since: None };
        self.owned.insert(site.to_string(), owned);
    }

    /// Commits what `site` holds and lets it go.
    async fn give_back(&mut self, site: &str) {
        self.commit_site(site).await;
        if self.owned.remove(site).is_none() {
            return;
        }
        if let Some(db) = &self.db {
            if let Err(error) = db.release(site).await {
                tracing::warn!(%error, site, "cannot let the site go (it goes with the connection)");
            }
        }
        self.status.sites.lock().map(|mut sites| sites.remove(site)).ok();
        tracing::info!(site, "gave the site back for another worker");
    }

    /// Takes what the readers have read: waits a moment for the first message (or for the
    /// step being committed to be done), then takes every one waiting, stopping early once
    /// the connection is free for the next commit.
    async fn take_incoming(&mut self) {
        let wait = Duration::from_millis(20);
        let first = match self.in_flight.as_mut() {
            None => tokio::time::timeout(wait, self.incoming.recv()).await.ok().flatten(),
            Some(in_flight) => tokio::select! {
                received = tokio::time::timeout(wait, self.incoming.recv()) => received.ok().flatten(),
                committed = &mut in_flight.task => {
                    self.finish(committed).await;
                    return;
                }
            },
        };
        let Some(first) = first else { return };
        let mut taken = self.take(first);
        let mut look_at = 256;
        while taken < 16_384 {
            if taken >= look_at {
                if self.commit_can_start() {
                    break;
                }
                look_at = taken + 256;
            }
            match self.incoming.try_recv() {
                Ok(incoming) => taken += self.take(incoming),
                Err(_) => break,
            }
        }
    }

    /// Takes what a reader read; how many messages (or events) that was.
    fn take(&mut self, incoming: Incoming) -> usize {
        let Incoming { site, generation, item } = incoming;
        let Some(owned) = self.owned.get_mut(&*site).filter(|owned| owned.generation == generation) else {
            return 1;
        };
        owned.since.get_or_insert_with(Instant::now);
        match item {
            Item::FilesRead => owned.site.files_read(),
            Item::Logged { first, events } => {
                let count = events.len();
                if let Some(last) = events.last() {
                    owned.file.0 = last.file_index as u64 + 1;
                }
                let wall = wall_now();
                let mut taken = 0;
                // Events already taken (read again for an ownership that went on) are passed over.
                let after = owned.site.stream_seq();
                for (seq, read) in (first..).zip(events).filter(|(seq, _)| *seq > after) {
                    owned.site.take_event(seq, read.event, wall, Some((read.file, read.in_file)));
                    taken += 1;
                }
                self.status.events.fetch_add(taken, Ordering::Relaxed);
                return count;
            }
            Item::Messages(messages) => {
                let count = messages.len();
                for (seq, message) in messages {
                    take_message(&mut owned.site, &self.status, seq, message);
                }
                return count;
            }
        }
        1
    }

    /// Live: every owned site whose stream is read to its end moves on with the wall clock.
    fn tick_quiet_sites(&mut self) {
        let wall = wall_now();
        for owned in self.owned.values_mut() {
            if owned.pending.load(Ordering::Relaxed) == 0 {
                owned.site.tick(wall);
                owned.since.get_or_insert_with(Instant::now);
            }
        }
    }

    /// Takes the step of the site whose step has waited longest, of those big or old enough,
    /// while fewer than [`WAITING_STEPS`] wait for the connection, and starts committing the
    /// next step waiting once the step before is committed.
    async fn commit_due(&mut self) {
        if self.in_flight.as_ref().is_some_and(|in_flight| in_flight.task.is_finished()) {
            self.settle_one().await;
        }
        if self.waiting.len() < WAITING_STEPS {
            if let Some(site) = self.due_site().map(str::to_string) {
                self.take_step(&site);
            }
        }
        self.next_commit();
    }

    /// The site whose step has waited longest, of those big or old enough to commit.
    fn due_site(&self) -> Option<&str> {
        self.owned
            .iter()
            .filter(|(_, owned)| {
                owned.site.dirty()
                    && (owned.site.pending_events() >= self.options.batch_events
                        || owned.since.is_some_and(|since| since.elapsed() >= self.options.commit_every))
            })
            .min_by_key(|(_, owned)| owned.since)
            .map(|(site, _)| site.as_str())
    }

    /// A step may be taken now, and one is due.
    fn commit_can_start(&self) -> bool {
        self.waiting.len() < WAITING_STEPS && self.due_site().is_some()
    }

    /// Commits `site`'s step now and waits for it, and for every step before it; on failure
    /// the site is dropped (crate documentation).
    async fn commit_site(&mut self, site: &str) {
        self.take_step(site);
        self.settle().await;
    }

    /// Takes `site`'s step; its rows are made on a thread of their own while the steps before
    /// it are committed ([`Worker::next_commit`] commits it in its turn). The site's next step
    /// may be taken meanwhile: it goes on from the news position this one leaves.
    fn take_step(&mut self, site: &str) {
        let worker = self.options.name.clone();
        let Some(owned) = self.owned.get_mut(site) else { return };
        if !owned.site.dirty() {
            return;
        }
        let taken = owned.site.take_step(&worker, wall_now());
        owned.since = None;
        let rows = tokio::task::spawn_blocking(move || taken.and_then(TakenStep::seal));
        let step = Step {
            site: site.to_string(),
            generation: owned.generation,
            news_pos: owned.site.news_pos(),
            rows,
        };
        self.waiting.push_back(step);
    }

    /// Hands the next step waiting to a task of its own, with the connection, to be
    /// committed once its rows are made ([`Worker::settle_one`] takes the outcome). A step
    /// of a site no longer owned as it was taken is dropped: the site is taken again from
    /// what was committed.
    fn next_commit(&mut self) {
        if self.in_flight.is_some() || self.db.is_none() {
            return;
        }
        while let Some(step) = self.waiting.pop_front() {
            let owned = self.owned.get(&step.site).is_some_and(|owned| owned.generation == step.generation);
            if !owned {
                continue;
            }
            let Some(mut db) = self.db.take() else { return };
            let Step { site, generation, news_pos, rows } = step;
            let task = tokio::spawn(async move {
                let result = match rows.await {
                    Ok(Ok(mut step)) => db.commit(&mut step).await.map_err(|error| error.to_string()),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(error) => Err(format!("making the step's rows failed: {error}")),
                };
                (db, result)
            });
            self.in_flight = Some(InFlight { site, generation, news_pos, task });
            return;
        }
    }

    /// Waits until every step taken is committed (or dropped).
    async fn settle(&mut self) {
        loop {
            self.settle_one().await;
            self.next_commit();
            if self.in_flight.is_none() {
                // Nothing could start: nothing waits, or the connection is gone (and the
                // steps waiting with it).
                self.waiting.clear();
                return;
            }
        }
    }

    /// Waits for the step being committed, if one is, and takes its outcome.
    async fn settle_one(&mut self) {
        let Some(in_flight) = self.in_flight.as_mut() else { return };
        let committed = (&mut in_flight.task).await;
        self.finish(committed).await;
    }

    /// The step in flight ended: the connection comes back; the site's news position is the
    /// one the step was taken to leave, or the site is let go (crate documentation).
    async fn finish(&mut self, committed: Committed) {
        let Some(InFlight { site, generation, news_pos: expected, .. }) = self.in_flight.take() else {
            return;
        };
        let result = match committed {
            Ok((db, result)) => {
                self.db = Some(db);
                result
            }
            Err(error) => {
                // The task ended without giving the connection back: it is gone, and every
                // lock with it.
                tracing::error!(%error, "a commit's task failed: every site is let go and taken again from what was committed");
                self.let_everything_go();
                self.status.commit_failures.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let result = result.and_then(|news_pos| {
            if news_pos == expected {
                Ok(news_pos)
            } else {
                Err(format!("the step wrote news position {news_pos}, and {expected} was expected"))
            }
        });
        let owned = self.owned.get_mut(&site).filter(|owned| owned.generation == generation);
        match (result, owned) {
            (Ok(_), Some(_)) => {
                self.status.commits.fetch_add(1, Ordering::Relaxed);
            }
            (Ok(_), None) => {}
            (Err(error), owned) => {
                self.status.commit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(site, %error, "cannot commit the site's step: the site is let go and taken again from what was committed");
                if owned.is_none() {
                    return;
                }
                self.owned.remove(&site);
                if let Some(db) = &self.db {
                    if !db.is_closed() {
                        let _ = db.release(&site).await;
                    }
                }
            }
        }
    }

    /// The connection went, and every site's lock with it: nothing held is written; the
    /// sites are taken again from what was committed.
    fn let_everything_go(&mut self) {
        self.owned.clear();
        self.waiting.clear();
        self.last_balance = None;
    }

    fn publish_gauges(&self) {
        let Ok(mut sites) = self.status.sites.lock() else { return };
        sites.clear();
        for (site, owned) in &self.owned {
            let pending = owned.pending.load(Ordering::Relaxed);
            let gauge = SiteGauge {
                stream_seq: owned.site.stream_seq(),
                pending: if pending == u64::MAX { 0 } else { pending },
                file: owned.file.0,
                files: owned.file.1,
            };
            sites.insert(site.clone(), gauge);
        }
    }

    /// The end: what is held is committed, the sites let go.
    async fn stop(&mut self) {
        self.take_incoming().await;
        self.settle().await;
        let sites: Vec<String> = self.owned.keys().cloned().collect();
        for site in sites {
            self.give_back(&site).await;
        }
    }
}

/// Takes message `seq` of `owned`'s stream: an event, or a message that is no event (kept as a
/// problem). Messages before `seq` that the stream no longer holds are a problem too.
fn take_message(owned: &mut OwnedSite, status: &WorkerStatus, seq: u64, message: Result<Box<Event>, String>) {
    if seq <= owned.stream_seq() {
        return;
    }
    let expected = owned.stream_seq() + 1;
    if seq > expected {
        let problem = format!(
            "sequences {expected} to {} are no longer in the stream (removed by its max age or by hand) and were not read",
            seq - 1
        );
        tracing::warn!(site = owned.site(), %problem, "a gap in the site's stream");
        owned.take_problem(expected, problem);
        status.problems.fetch_add(1, Ordering::Relaxed);
    }
    match message {
        Ok(event) => {
            owned.take_event(seq, event, wall_now(), None);
            status.events.fetch_add(1, Ordering::Relaxed);
        }
        Err(problem) => {
            tracing::warn!(site = owned.site(), seq, %problem, "a message of the site's stream is no event: kept as a problem and skipped");
            owned.take_problem(seq, problem);
            status.problems.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Where in a list of `sites` sites worker `name` starts looking for free ones.
fn place_of(name: &str, sites: usize) -> usize {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (hash % sites.max(1) as u64) as usize
}

/// Reads `site`'s stream from after `after` into `queue`, as ownership `generation`
/// ([`follow_site`]: a failed reader is opened again where it stopped).
async fn read_site(
    bus: Bus,
    site: String,
    after: u64,
    generation: u64,
    queue: mpsc::Sender<Incoming>,
    pending: Arc<AtomicU64>,
) {
    let mut feed =
        Feed { site: Arc::from(site.as_str()), generation, queue, pending, batch: Vec::with_capacity(BATCH) };
    follow_site(&bus, &site, after, Duration::from_millis(200), &mut feed).await;
}

/// Where an owned site's reader hands what it reads: the worker's queue.
struct Feed {
    site: Arc<str>,
    generation: u64,
    queue: mpsc::Sender<Incoming>,
    pending: Arc<AtomicU64>,
    /// Messages read and not yet handed over.
    batch: Vec<(u64, Result<Box<Event>, String>)>,
}

impl Feed {
    /// Hands over what was read: false once the worker has gone.
    async fn hand_over(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let messages = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let incoming = Incoming {
            site: Arc::clone(&self.site),
            generation: self.generation,
            item: Item::Messages(messages),
        };
        self.queue.send(incoming).await.is_ok()
    }
}

impl TakesReads for Feed {
    async fn take(&mut self, read: Option<(BusItem, u64)>) -> bool {
        let Some((item, beyond)) = read else {
            if !self.hand_over().await {
                return false;
            }
            self.pending.store(0, Ordering::Relaxed);
            return !self.queue.is_closed();
        };
        let message = match item {
            BusItem::Event { seq, event } if event.site.as_str() == &*self.site => (seq, Ok(event)),
            BusItem::Event { seq, event } => {
                (seq, Err(format!("an event of site {:?} in this site's stream", event.site.as_str())))
            }
            BusItem::Problem { seq, problem } => (seq, Err(problem.to_string())),
        };
        self.batch.push(message);
        // Read to the stream's end: what was read goes now, not when the batch is full.
        if (self.batch.len() >= BATCH || beyond == 0) && !self.hand_over().await {
            return false;
        }
        self.pending.store(beyond, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_start_looking_for_sites_at_places_of_their_own() {
        let places: BTreeSet<usize> = (0..8).map(|worker| place_of(&format!("w{worker}"), 8)).collect();
        assert!(places.len() >= 4, "eight workers spread over eight sites: {places:?}");
        assert_eq!(place_of("any", 0), 0);
    }
}
