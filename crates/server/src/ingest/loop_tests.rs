//! The ingest loop driven round by round on a [`TestClock`]: recovery and replay after a
//! crash, group commit, the answers of a failed commit and the store's retry policy, and the
//! snapshot cadence, against the real SQLite store (wrapped to fail on cue). No real sleep:
//! a test calls [`IngestLoop::step`] itself and moves the clock by hand.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use callstitch_store::{
    Batch, InteractionQuery, MediaPost, Page, Pruned, Recovery, SqliteOptions, SqliteStore, Store,
    StoreCounts, StoreError, StoreHealth, StoredCall, StoredEvent, StoredInteraction,
};
use callstitch_tlib::Event;
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use super::{
    queue, Accepted, IngestError, IngestLoop, IngestSettings, Ingress, NotStored, Request, StoreRetry,
};
use crate::clock::TestClock;
use crate::pipeline::PipelineConfig;
use crate::state::Shared;

/// The real store; its commits first fail with the errors queued in `failures`, one each.
/// It counts the commits that went through and notes where every replay read began.
#[derive(Clone)]
struct ScriptedStore {
    store: SqliteStore,
    failures: Arc<Mutex<VecDeque<StoreError>>>,
    commits: Arc<AtomicUsize>,
    replay_reads: Arc<Mutex<Vec<u64>>>,
    /// Per commit that went through: (interactions written, carried a snapshot).
    written: Arc<Mutex<Vec<(usize, bool)>>>,
}

impl ScriptedStore {
    fn new(store: SqliteStore) -> ScriptedStore {
        ScriptedStore {
            store,
            failures: Arc::default(),
            commits: Arc::default(),
            replay_reads: Arc::default(),
            written: Arc::default(),
        }
    }

    fn fail_next(&self, errors: impl IntoIterator<Item = StoreError>) {
        self.failures.lock().expect("lock").extend(errors);
    }

    fn commits(&self) -> usize {
        self.commits.load(Ordering::SeqCst)
    }
}

impl Store for ScriptedStore {
    async fn commit(&self, batch: Arc<Batch>) -> Result<(), StoreError> {
        let failure = self.failures.lock().expect("lock").pop_front();
        if let Some(error) = failure {
            return Err(error);
        }
        let written = (batch.interactions.len(), batch.snapshot.is_some());
        self.store.commit(batch).await?;
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.written.lock().expect("lock").push(written);
        Ok(())
    }
    async fn recover(&self) -> Result<Recovery, StoreError> {
        self.store.recover().await
    }
    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.replay_reads.lock().expect("lock").push(after);
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
    async fn call_events(&self, site: &str, key: &str, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
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

fn sqlite_error(code: std::ffi::c_int) -> StoreError {
    StoreError::Sqlite(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None))
}

/// A disk full: a failure that can pass.
fn disk_full() -> StoreError {
    sqlite_error(rusqlite::ffi::SQLITE_FULL)
}

/// A damaged database: a failure that does not pass by waiting.
fn damaged() -> StoreError {
    sqlite_error(rusqlite::ffi::SQLITE_CORRUPT)
}

/// `count` ringing events of calls `C<from>`…, without times (no idle tick is due).
fn events(from: u32, count: u32) -> Vec<Event> {
    (from..from + count)
        .map(|n| {
            let line = format!("{{\"message\":\"EventRinging\",\"site\":\"S\",\"call_uuid\":\"C{n}\"}}");
            callstitch_tlib::json::event_from_json(&line).expect("an event")
        })
        .collect()
}

const COMMIT_EVERY: Duration = Duration::from_secs(1);
const SNAPSHOT_EVERY: Duration = Duration::from_secs(60);
const INTERACTIONS_WAIT: Duration = Duration::from_secs(2);

/// Live settings, in time only the test clock measures.
fn settings() -> IngestSettings {
    settings_writing(100)
}

/// The same, writing at most `interactions_per_commit` interactions with a commit.
fn settings_writing(interactions_per_commit: usize) -> IngestSettings {
    IngestSettings {
        batch_events: 100,
        poll: Duration::from_millis(5),
        snapshot_every: SNAPSHOT_EVERY,
        idle_tick: Duration::from_secs(3600),
        commit_every: COMMIT_EVERY,
        interactions_every: Duration::ZERO,
        interactions_per_commit,
        interactions_wait: INTERACTIONS_WAIT,
        live: true,
        store_retry: Some(StoreRetry {
            first: Duration::from_millis(100),
            longest: Duration::from_millis(400),
        }),
    }
}

fn config() -> PipelineConfig {
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

/// A database in a temp dir, a runtime and a clock at 2012-10-29T14:41:00Z.
struct Bench {
    _dir: tempfile::TempDir,
    runtime: Runtime,
    store: ScriptedStore,
    clock: Arc<TestClock>,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).expect("store");
        let wall_start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_351_521_660);
        Bench {
            _dir: dir,
            runtime: Runtime::new().expect("runtime"),
            store: ScriptedStore::new(sqlite),
            clock: Arc::new(TestClock::starting_at(wall_start)),
        }
    }

    /// A loop recovered from the store (a start, or a restart after a crash).
    fn start(&self) -> (IngestLoop<ScriptedStore>, Ingress) {
        self.start_with(settings())
    }

    fn start_with(&self, settings: IngestSettings) -> (IngestLoop<ScriptedStore>, Ingress) {
        let (ingress, requests) = queue(16);
        let ingest = IngestLoop::recover(
            self.store.clone(),
            self.runtime.handle().clone(),
            &config(),
            None,
            requests,
            Arc::new(Shared::new()),
            settings,
            Arc::new(AtomicBool::new(false)),
            self.clock.clone(),
        )
        .expect("recovered")
        .expect("not stopped");
        (ingest, ingress)
    }

    fn stored_events(&self) -> u64 {
        self.runtime.block_on(self.store.counts()).expect("counts").events
    }

    fn stored_interactions(&self) -> u64 {
        self.runtime.block_on(self.store.counts()).expect("counts").interactions
    }

    /// Interactions written by each commit since the last look, and whether it carried a
    /// snapshot.
    fn written(&self) -> Vec<(usize, bool)> {
        std::mem::take(&mut *self.store.written.lock().expect("lock"))
    }

    fn snapshot_seq(&self) -> Option<u64> {
        let recovery = self.runtime.block_on(self.store.recover()).expect("recovery");
        recovery.snapshot.map(|snapshot| snapshot.seq)
    }
}

type Answer = oneshot::Receiver<Result<Accepted, NotStored>>;

fn send(ingress: &Ingress, events: Vec<Event>) -> Answer {
    let (reply, answer) = oneshot::channel();
    ingress.offer(Request::Events { events, reply }).map_err(|refusal| refusal.reason).expect("queued");
    answer
}

/// One round of the loop.
fn step<S: Store + Clone>(ingest: &mut IngestLoop<S>) -> Result<bool, IngestError> {
    ingest.step(&mut Vec::new())
}

fn unanswered(answer: &mut Answer) -> bool {
    matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Empty))
}

/// The event numbers a committed request was given.
fn stored_as(answer: &mut Answer) -> (Option<u64>, Option<u64>) {
    let accepted = answer.try_recv().expect("answered").map_err(|error| error.reason()).expect("stored");
    (accepted.first_seq, accepted.last_seq)
}

fn not_stored(answer: &mut Answer) -> NotStored {
    answer.try_recv().expect("answered").expect_err("not stored")
}

#[test]
fn requests_taken_together_are_committed_in_one_batch_and_answered_only_after_it() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start();
    let mut answers =
        [send(&ingress, events(0, 2)), send(&ingress, events(2, 3)), send(&ingress, events(5, 1))];

    assert!(step(&mut ingest).expect("taken"), "the three requests are taken in one round");
    assert!(answers.iter_mut().all(unanswered), "nothing is answered before it is committed");
    assert_eq!((bench.store.commits(), bench.stored_events()), (0, 0));

    assert!(!step(&mut ingest).expect("committed"), "the queue is drained: the batch is committed");
    assert_eq!(bench.store.commits(), 1, "one transaction for the three requests");
    assert_eq!(bench.stored_events(), 6);
    let numbers: Vec<_> = answers.iter_mut().map(stored_as).collect();
    assert_eq!(numbers, [(Some(1), Some(2)), (Some(3), Some(5)), (Some(6), Some(6))]);
}

#[test]
fn a_batch_that_waited_commit_every_is_committed_while_requests_keep_coming() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start();
    let mut first = send(&ingress, events(0, 1));
    step(&mut ingest).expect("taken");
    bench.clock.advance(COMMIT_EVERY);
    let mut second = send(&ingress, events(1, 1));
    step(&mut ingest).expect("taken, and the batch is due");
    let mut third = send(&ingress, events(2, 1));
    step(&mut ingest).expect("taken into the next batch");
    assert!(unanswered(&mut third));

    step(&mut ingest).expect("drained");
    assert_eq!(bench.store.commits(), 2, "the batch due, then the one after it");
    assert_eq!(stored_as(&mut first), (Some(1), Some(1)));
    assert_eq!(stored_as(&mut second), (Some(2), Some(2)));
    assert_eq!(stored_as(&mut third), (Some(3), Some(3)));
}

#[test]
fn a_failed_commit_answers_every_waiting_request_not_stored_and_stores_none_of_them() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start();
    let mut answers = [send(&ingress, events(0, 2)), send(&ingress, events(2, 1))];
    step(&mut ingest).expect("taken");
    bench.store.fail_next([damaged()]);

    let error = step(&mut ingest).expect_err("the loop cannot go on");
    assert!(
        matches!(&error, IngestError::Shared(cause) if matches!(**cause, IngestError::Store(_))),
        "{error:?}"
    );
    for answer in &mut answers {
        let refused = not_stored(answer);
        assert!(matches!(refused, NotStored::Commit(_)), "{refused:?}");
        assert!(refused.reason().starts_with("not stored: database: "), "{}", refused.reason());
        assert_eq!(refused.retry_after(), None);
        let cause = std::error::Error::source(&refused).expect("the cause is kept");
        assert_eq!(cause.to_string(), error.to_string());
    }
    assert_eq!(bench.stored_events(), 0, "nothing answered 200, nothing stored");
}

#[test]
fn a_commit_refused_for_a_passing_reason_is_retried_with_growing_pauses_and_stored_once() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start();
    let mut answer = send(&ingress, events(0, 3));
    step(&mut ingest).expect("taken");
    bench.store.fail_next([disk_full(), disk_full(), disk_full(), disk_full()]);
    let before = bench.clock.moved();

    step(&mut ingest).expect("stored once the disk has room");
    assert_eq!(
        bench.clock.moved() - before,
        Duration::from_millis(100 + 200 + 400 + 400),
        "a pause before each retry, doubling up to the longest"
    );
    assert_eq!(stored_as(&mut answer), (Some(1), Some(3)));
    assert_eq!((bench.store.commits(), bench.stored_events()), (1, 3), "written once");
}

#[test]
fn a_snapshot_is_taken_when_snapshot_every_has_passed_and_not_before() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start();
    let mut answer = send(&ingress, events(0, 4));
    step(&mut ingest).expect("taken");
    step(&mut ingest).expect("committed");
    assert_eq!(stored_as(&mut answer), (Some(1), Some(4)));
    assert_eq!(bench.snapshot_seq(), None);

    bench.clock.advance(SNAPSHOT_EVERY - Duration::from_millis(1));
    step(&mut ingest).expect("idle");
    assert_eq!(bench.snapshot_seq(), None, "not due yet");

    bench.clock.advance(Duration::from_millis(1));
    step(&mut ingest).expect("idle: due, captured, encoding off the ingest thread");
    ingest.encoder.settle();
    step(&mut ingest).expect("idle: the encoded snapshot is committed");
    assert_eq!(bench.snapshot_seq(), Some(4), "due: the state after event 4 is saved");

    let commits = bench.store.commits();
    bench.clock.advance(SNAPSHOT_EVERY * 2);
    step(&mut ingest).expect("idle");
    assert_eq!(bench.store.commits(), commits, "nothing new taken: no snapshot to take");
}

#[test]
fn after_a_crash_the_events_after_the_snapshot_are_replayed_once_and_numbering_goes_on() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start();
    let mut first = send(&ingress, events(0, 10));
    step(&mut ingest).expect("taken");
    bench.clock.advance(SNAPSHOT_EVERY);
    step(&mut ingest).expect("committed; the state captured for a snapshot");
    ingest.encoder.settle();
    step(&mut ingest).expect("idle: the encoded snapshot is committed");
    assert_eq!((stored_as(&mut first), bench.snapshot_seq()), ((Some(1), Some(10)), Some(10)));
    let mut second = send(&ingress, events(10, 20));
    step(&mut ingest).expect("taken");
    step(&mut ingest).expect("committed, no snapshot yet");
    assert_eq!(stored_as(&mut second), (Some(11), Some(30)));
    assert_eq!((bench.stored_events(), bench.snapshot_seq()), (30, Some(10)));
    drop(ingest); // SIGKILL: no checkpoint at the stop

    bench.store.replay_reads.lock().expect("lock").clear();
    let (mut restarted, ingress) = bench.start();
    let reads = bench.store.replay_reads.lock().expect("lock").clone();
    assert_eq!(reads.first(), Some(&10), "the replay begins after the snapshot");
    assert_eq!(restarted.pipeline.engine_stats().events, 30, "every stored event applied once");
    assert_eq!(bench.snapshot_seq(), Some(30), "the replayed state is saved at once");

    let mut answer = send(&ingress, events(30, 1));
    step(&mut restarted).expect("taken");
    step(&mut restarted).expect("committed");
    assert_eq!(stored_as(&mut answer), (Some(31), Some(31)), "numbers go on after the stored ones");
    assert_eq!(bench.stored_events(), 31, "no event stored twice");
    drop(restarted);

    bench.store.replay_reads.lock().expect("lock").clear();
    let (again, _ingress) = bench.start();
    assert_eq!(again.pipeline.engine_stats().events, 31, "a second restart replays only event 31");
    let reads = bench.store.replay_reads.lock().expect("lock").clone();
    assert_eq!(reads.first(), Some(&30));
}

/// The snapshot encoded off the ingest thread is as of the event it was captured after, even
/// when it is committed with a later batch: a restart replays what came after the capture.
#[test]
fn a_snapshot_committed_with_a_later_batch_is_as_of_the_event_it_was_captured_after() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start();
    let gate = Arc::clone(&ingest.encoder.gate);
    let held = gate.lock().expect("gate");
    let mut first = send(&ingress, events(0, 10));
    step(&mut ingest).expect("taken");
    bench.clock.advance(SNAPSHOT_EVERY);
    step(&mut ingest).expect("committed; the state after event 10 captured");
    assert_eq!(stored_as(&mut first), (Some(1), Some(10)));
    assert!(ingest.encoder.busy(), "the snapshot is being encoded off the ingest thread");
    let mut second = send(&ingress, events(10, 20));
    step(&mut ingest).expect("taken while the snapshot is encoded");
    step(&mut ingest).expect("committed without it");
    assert_eq!(stored_as(&mut second), (Some(11), Some(30)));
    assert_eq!(bench.snapshot_seq(), None, "not encoded yet: no snapshot stored");
    drop(held);
    ingest.encoder.settle();
    step(&mut ingest).expect("idle: the encoded snapshot is committed");
    assert_eq!(bench.snapshot_seq(), Some(10), "the snapshot holds events 1 to 10 only");
    drop(ingest); // SIGKILL

    bench.store.replay_reads.lock().expect("lock").clear();
    let (restarted, _ingress) = bench.start();
    let reads = bench.store.replay_reads.lock().expect("lock").clone();
    assert_eq!(reads.first(), Some(&10), "the replay begins after the captured event");
    assert_eq!(restarted.pipeline.engine_stats().events, 30, "every stored event applied once");
}

/// A loop writing `per_commit` interactions a commit, sent `count` new calls, and its first
/// commit of them: every event, the first `per_commit` interactions (the rest wait).
fn posted_and_committed(bench: &Bench, per_commit: usize, count: u32) -> IngestLoop<ScriptedStore> {
    let (mut ingest, ingress) = bench.start_with(settings_writing(per_commit));
    let mut answer = send(&ingress, events(0, count));
    step(&mut ingest).expect("taken");
    step(&mut ingest).expect("drained: committed with the first few");
    assert_eq!(stored_as(&mut answer), (Some(1), Some(u64::from(count))), "the events do not wait for them");
    ingest
}

/// Regression: an idle tick or a flush at 10,000 events/s handed out 1,000–2,500 live
/// interactions at once, and the one commit writing them held every event behind it for up
/// to 365 ms (the service's p99). They now go at most `interactions_per_commit` a commit.
#[test]
fn a_flush_of_more_interactions_than_a_commit_takes_is_written_over_the_next_commits() {
    let bench = Bench::new();
    let mut ingest = posted_and_committed(&bench, 3, 10);
    assert_eq!((bench.stored_interactions(), bench.written()), (3, vec![(3, false)]));
    for _ in 0..3 {
        step(&mut ingest).expect("idle: a commit with the next ones waiting");
    }
    assert_eq!(bench.written(), [(3, false), (3, false), (1, false)], "in rounds of at most three");
    assert_eq!(bench.stored_interactions(), 10, "each one written");
    assert_eq!(ingest.unwritten.len(), 0);
    let commits = bench.store.commits();
    step(&mut ingest).expect("idle");
    assert_eq!(bench.store.commits(), commits, "nothing waits: no commit");
}

/// Regression (the adversarial run's SSE phase): 40,000 calls posted at once were written a
/// hundred a commit while events kept coming, and the interactions after them waited minutes.
/// Once they have waited `interactions_wait`, the next commit takes them all.
#[test]
fn interactions_that_waited_too_long_go_with_the_next_commit() {
    let bench = Bench::new();
    let mut ingest = posted_and_committed(&bench, 3, 40);
    assert_eq!(bench.written(), [(3, false)]);
    bench.clock.advance(INTERACTIONS_WAIT);
    step(&mut ingest).expect("idle: the rest, which waited too long");
    assert_eq!(bench.written(), [(37, false)], "the rest of the burst at once");
    assert_eq!((bench.stored_interactions(), ingest.unwritten.len()), (40, 0));
}

/// A snapshot says that everything handed out before it is stored. Regression: the commit
/// carrying it wrote the whole queue, and on a busy estate that commit was the live p99 (a
/// snapshot every 10 s holding every event behind it). It now goes with the commit that writes
/// the last interaction waiting at its capture; the ones handed out after wait as usual.
#[test]
fn a_snapshot_goes_with_the_commit_writing_the_last_interaction_handed_out_before_its_capture() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start_with(settings_writing(2));
    let mut answer = send(&ingress, events(0, 10));
    step(&mut ingest).expect("taken");
    bench.clock.advance(SNAPSHOT_EVERY);
    step(&mut ingest).expect("committed with two; the state captured for a snapshot");
    assert_eq!(stored_as(&mut answer), (Some(1), Some(10)));
    ingest.encoder.settle();
    let mut later = send(&ingress, events(100, 4));
    step(&mut ingest).expect("four calls more, handed out after the capture");
    let mut written = bench.written();
    while ingest.unwritten.len() > 4 {
        step(&mut ingest).expect("the next two");
        written.extend(bench.written());
    }
    assert_eq!(stored_as(&mut later), (Some(11), Some(14)));
    assert!(written.iter().all(|(count, _)| *count <= 2), "two a commit, the snapshot's too: {written:?}");
    let (last, before) = written.split_last().expect("commits");
    assert!(before.iter().all(|(_, snapshot)| !snapshot), "not before the tenth is written: {written:?}");
    assert_eq!(*last, (2, true), "the snapshot goes with the ninth and tenth: {written:?}");
    assert_eq!((bench.stored_interactions(), bench.snapshot_seq()), (10, Some(10)));
    while !ingest.unwritten.is_empty() {
        step(&mut ingest).expect("the four after it");
    }
    assert_eq!(bench.written(), [(2, false), (2, false)], "no second snapshot");
    assert_eq!(bench.stored_interactions(), 14);
}

/// The same snapshot waits no longer than `interactions_wait`: the interactions waiting since
/// its capture go all at once then, and it with them.
#[test]
fn a_snapshot_waits_for_the_interactions_before_it_no_longer_than_they_wait() {
    let bench = Bench::new();
    let (mut ingest, ingress) = bench.start_with(settings_writing(2));
    let _answer = send(&ingress, events(0, 9));
    step(&mut ingest).expect("taken");
    bench.clock.advance(SNAPSHOT_EVERY);
    step(&mut ingest).expect("committed with two twice (the second while it is encoded)");
    ingest.encoder.settle();
    bench.clock.advance(INTERACTIONS_WAIT);
    step(&mut ingest).expect("idle: the rest, which waited too long, and the snapshot");
    assert_eq!(bench.written(), [(2, false), (2, false), (5, true)]);
    assert_eq!((bench.stored_interactions(), bench.snapshot_seq()), (9, Some(9)));
}

/// A stop writes every interaction that waits, with its last snapshot.
#[test]
fn a_stop_writes_every_waiting_interaction_with_its_snapshot() {
    let bench = Bench::new();
    let mut ingest = posted_and_committed(&bench, 2, 9);
    assert_eq!(bench.written(), [(2, false)]);
    ingest.checkpoint().expect("stopped at a checkpoint");
    assert_eq!(bench.written(), [(7, true)]);
    assert_eq!((bench.stored_interactions(), bench.snapshot_seq()), (9, Some(9)));
}

/// A crash while interactions wait loses none of them: no snapshot was stored since they
/// were handed out, so the restart replays their events and writes them.
#[test]
fn interactions_waiting_for_a_commit_at_a_crash_are_written_after_the_restart() {
    let bench = Bench::new();
    let ingest = posted_and_committed(&bench, 4, 10);
    assert_eq!((bench.stored_interactions(), bench.snapshot_seq()), (4, None));
    drop(ingest); // SIGKILL, six waiting

    let (restarted, _ingress) = bench.start_with(settings_writing(4));
    assert_eq!(restarted.pipeline.engine_stats().events, 10, "every stored event replayed once");
    assert_eq!(bench.stored_interactions(), 10, "the six that waited are written by the replay");
}
