//! The embedded backend: one SQLite file in WAL mode, one writer connection and a small pool
//! of reader connections, so queries are answered while the ingest path writes. Every call
//! runs on tokio's blocking pool; the futures are `Send` like a networked backend's.
//!
//! The store owns its file: opening it takes the lock beside it ([`owner`]) and checks it can
//! be written and is sound ([`startup`]). A thread checkpoints the write-ahead log and keeps
//! it bounded; [`Store::close`] empties it at a clean exit. Every failure of a read, a
//! write or a checkpoint is recorded for [`Store::health`].

mod blocks;
mod owner;
mod read;
mod reporting;
mod schema;
mod startup;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;
use crate::health::{HealthLog, Operation, StoreHealth};
use crate::query::{InteractionQuery, Page};
use crate::record::{Batch, MediaPost};
use crate::{Pruned, Recovery, Store, StoreCounts, StoredCall, StoredEvent, StoredInteraction};

pub use owner::lock_path;
pub use read::MAX_PAGE;
pub use schema::SCHEMA_VERSION;

/// A write-ahead log larger than this is truncated back to it by SQLite once it starts over
/// (`journal_size_limit`); the checkpoint thread makes it start over once it grew past it
/// (a RESTART checkpoint), instead of never under a steady stream of commits.
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// How often a connection that found the database locked looks again. SQLite's own busy
/// timeout sleeps longer and longer (up to 100 ms a time), so a writer kept out for 35 ms by
/// a checkpoint waited 53 or 78; at a commit every 20 ms that was the service's latency tail.
const BUSY_POLL: Duration = Duration::from_millis(1);

/// How many looks a connection takes before it answers "database is locked": 10 s.
const BUSY_LOOKS: i32 = 10_000;

/// How many looks the checkpoint thread takes for the lock of its RESTART (200 ms): the next
/// round tries again.
const CHECKPOINT_LOOKS: i32 = 200;

/// A busy handler (a plain `fn`: SQLite's callback captures nothing) that waits
/// [`BUSY_POLL`] and looks again, at most `LOOKS` times.
fn busy_poll<const LOOKS: i32>(looks: i32) -> bool {
    std::thread::sleep(BUSY_POLL);
    looks < LOOKS
}

/// How the database file is opened.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// `synchronous = FULL` instead of `NORMAL`. With WAL, NORMAL already survives a crash
    /// of the process (SIGKILL); FULL also survives losing power, at a cost per commit.
    pub durable: bool,
    /// Reader connections kept open.
    pub readers: usize,
    /// Copy the write-ahead log into the database from a background thread this often,
    /// instead of inside a commit once the log is large (which stalls ingest for as long as
    /// the copy takes). `None`: SQLite's own automatic checkpoints.
    ///
    /// Often and small: a round's copy and sync slow the commits running beside it, and at
    /// 10,000 events/s a round every 200 ms took 40–130 ms and made the commits beside it
    /// 30–45 ms (the live p99); every 50 ms, no round took 10 ms (docs/benchmarks.md,
    /// "Checkpoints often and small"). An idle log costs a round next to nothing.
    pub checkpoint_every: Option<Duration>,
    /// The longest the start-up integrity check (`PRAGMA quick_check`) may take; a larger
    /// database is opened unchecked after it, with a warning. `None`: no check.
    pub integrity_budget: Option<Duration>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durable: false,
            readers: 4,
            checkpoint_every: Some(Duration::from_millis(50)),
            integrity_budget: Some(Duration::from_secs(30)),
        }
    }
}

struct Inner {
    path: PathBuf,
    options: SqliteOptions,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    health: Arc<HealthLog>,
    /// Set by [`SqliteStore::close`]: the checkpoint thread ends.
    closed: Arc<AtomicBool>,
    /// Held by the checkpoint thread for a round, and by [`SqliteStore::close`] for its
    /// TRUNCATE: SQLite runs one checkpoint at a time and answers a second "busy" at once,
    /// so a close that met a round in progress left the whole log behind.
    checkpointing: Arc<Mutex<()>>,
    /// Held while the store is open: one owner of the file.
    _owner: owner::OwnerLock,
}

/// See the module documentation. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a connection that is still usable: SQLite rolls
    // back an unfinished transaction when it is dropped.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn open_connection(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    let open_error = |source| StoreError::Open { path: path.display().to_string(), source };
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags).map_err(open_error)?;
    configure(&connection, options).map_err(open_error)?;
    Ok(connection)
}

fn configure(connection: &Connection, options: &SqliteOptions) -> Result<(), rusqlite::Error> {
    connection.busy_handler(Some(busy_poll::<BUSY_LOOKS>))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = if options.durable { "FULL" } else { "NORMAL" };
    connection.pragma_update(None, "synchronous", synchronous)?;
    // A larger page cache than the 2 MB default: the event indexes take random keys, and
    // every miss is a read system call.
    connection.pragma_update(None, "cache_size", -65_536)?;
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    connection.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES as i64)?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Runs `work` in one transaction on `connection`.
fn in_transaction<T>(
    connection: &mut Connection,
    work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !connection.is_autocommit() {
        // A failed rollback (the disk was full) can leave a transaction open: end it, or
        // every later write would fail to begin.
        connection.execute_batch("ROLLBACK")?;
    }
    // IMMEDIATE: the write lock is taken at the start, waiting (busy timeout) for the
    // checkpoint thread if it holds it. A deferred transaction that read first and then
    // wrote could be refused at once ("database is locked") when the lock changed hands in
    // between: SQLite cannot wait there without risking a deadlock.
    let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let value = work(&transaction)?;
    transaction.commit()?;
    Ok(value)
}

/// The stored raw events above `after`, in order, at most `limit`, read on a connection of
/// the caller's own (a read-only one, for a tool beside a running service, which takes no
/// lock): the events are stored compressed ([`blocks`]), so plain SQL cannot read them.
pub fn events_after_in(
    connection: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    read::events_after(connection, after, limit)
}

/// The size of the write-ahead log of the database at `path` (0 when there is none).
pub fn wal_bytes(path: &Path) -> u64 {
    let mut name = path.file_name().map(|name| name.to_os_string()).unwrap_or_default();
    name.push("-wal");
    std::fs::metadata(path.with_file_name(name)).map_or(0, |meta| meta.len())
}

/// One round of the checkpoint thread: a passive checkpoint (it never waits); once the log
/// grew past [`WAL_LIMIT_BYTES`], a second passive one for what came meanwhile and a RESTART,
/// which holds the writer out only while it copies the little that is left (a TRUNCATE also
/// cut the file to nothing, which the writer then grew again: 100–330 ms held out at
/// 10,000 events/s), so that the next commit starts the log over.
fn checkpoint_round(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    if wal_bytes(path) > WAL_LIMIT_BYTES {
        connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        // Busy (a reader or the writer in the way) is not an error: the next round tries again.
        connection.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
    }
    Ok(())
}

impl SqliteStore {
    /// Takes the database at `path` for writing: locks it against a second writer, opens
    /// (creating if needed), checks that it can be written and is sound, and migrates it.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let owner = owner::OwnerLock::acquire(path)?;
        let health = HealthLog::default();
        let writer = startup::open_writer(path, &options, &health)?;
        if options.checkpoint_every.is_some() {
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        let checkpoint_every = options.checkpoint_every;
        let inner = Inner {
            path: path.to_path_buf(),
            options,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            health: Arc::new(health),
            closed: Arc::new(AtomicBool::new(false)),
            checkpointing: Arc::new(Mutex::new(())),
            _owner: owner,
        };
        let store = SqliteStore { inner: Arc::new(inner) };
        if let Some(every) = checkpoint_every {
            store.spawn_checkpointer(every)?;
        }
        Ok(store)
    }

    /// A thread with its own connection that checkpoints the write-ahead log while the
    /// store is in use, and ends with it (it never holds the store itself, so the store and
    /// its lock go the moment the last handle does). Its failures are counted and logged
    /// (once when they start, once when they stop).
    fn spawn_checkpointer(&self, every: Duration) -> Result<(), StoreError> {
        let connection = open_connection(&self.inner.path, &self.inner.options)?;
        connection.busy_handler(Some(busy_poll::<CHECKPOINT_LOOKS>))?;
        let store = Arc::downgrade(&self.inner);
        let path = self.inner.path.clone();
        let health = Arc::clone(&self.inner.health);
        let closed = Arc::clone(&self.inner.closed);
        let checkpointing = Arc::clone(&self.inner.checkpointing);
        let spawned = std::thread::Builder::new().name("sqlite-checkpoint".to_string()).spawn(move || {
            let mut failing = false;
            loop {
                std::thread::sleep(every);
                let _round = lock(&checkpointing);
                if store.strong_count() == 0 || closed.load(Ordering::Relaxed) {
                    break;
                }
                match checkpoint_round(&connection, &path) {
                    Ok(()) if failing => {
                        failing = false;
                        tracing::info!(database = %path.display(), "the write-ahead log is checkpointed again");
                    }
                    Ok(()) => {}
                    Err(error) => {
                        health.record(Operation::Checkpoint, &error);
                        if !failing {
                            failing = true;
                            tracing::warn!(
                                database = %path.display(),
                                %error,
                                "cannot checkpoint the write-ahead log; it grows until this passes (tried every {every:?})"
                            );
                        }
                    }
                }
            }
        });
        spawned
            .map(|_| ())
            .map_err(|error| StoreError::Worker(format!("cannot start the checkpoint thread: {error}")))
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` on the writer connection inside one transaction.
    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move {
            let task = tokio::task::spawn_blocking(move || {
                let result = in_transaction(&mut lock(&inner.writer), work);
                if let Err(error) = &result {
                    inner.health.record(Operation::Write, error);
                }
                result
            });
            task.await.map_err(|error| StoreError::Worker(error.to_string()))?
        }
    }

    /// Runs `work` on a reader connection from the pool (opening one when none is free).
    /// A connection whose work failed in the store (not in the query) is not kept.
    fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move {
            let task = tokio::task::spawn_blocking(move || {
                let pooled = lock(&inner.readers).pop();
                let connection = match pooled {
                    Some(connection) => connection,
                    None => open_connection(&inner.path, &inner.options).inspect_err(|error| {
                        inner.health.record(Operation::Read, error);
                    })?,
                };
                let value = work(&connection);
                if let Err(error) = &value {
                    inner.health.record(Operation::Read, error);
                }
                let keep = value.as_ref().err().is_none_or(|error| error.kind() == crate::FailureKind::Other);
                let mut readers = lock(&inner.readers);
                if keep && readers.len() < inner.options.readers {
                    readers.push(connection);
                }
                value
            });
            task.await.map_err(|error| StoreError::Worker(error.to_string()))?
        }
    }
}

impl Store for SqliteStore {
    fn commit(&self, batch: Arc<Batch>) -> impl std::future::Future<Output = Result<(), StoreError>> + Send {
        self.write(move |transaction| write::commit(transaction, &batch))
    }

    fn recover(&self) -> impl std::future::Future<Output = Result<Recovery, StoreError>> + Send {
        self.read(read::recover)
    }

    fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        self.read(move |connection| read::events_after(connection, after, limit))
    }

    fn media_posts_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<Vec<MediaPost>, StoreError>> + Send {
        self.read(move |connection| read::media_posts_after(connection, after, limit))
    }

    fn interactions(
        &self,
        query: InteractionQuery,
    ) -> impl std::future::Future<Output = Result<Page, StoreError>> + Send {
        self.read(move |connection| read::interactions(connection, &query))
    }

    fn tally(
        &self,
        query: InteractionQuery,
        budget: std::time::Duration,
    ) -> impl std::future::Future<Output = Result<crate::Tally, StoreError>> + Send {
        self.read(move |connection| read::tally_within(connection, &query, budget))
    }

    fn sites(&self) -> impl std::future::Future<Output = Result<Vec<String>, StoreError>> + Send {
        self.read(read::sites)
    }

    fn interaction(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<StoredInteraction>, StoreError>> + Send {
        let id = id.to_string();
        self.read(move |connection| read::interaction(connection, &id))
    }

    fn recording(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<serde_json::Value>, StoreError>> + Send {
        let id = id.to_string();
        self.read(move |connection| read::recording(connection, &id))
    }

    fn calls(
        &self,
        site: &str,
        key: &str,
    ) -> impl std::future::Future<Output = Result<Vec<StoredCall>, StoreError>> + Send {
        let (site, key) = (site.to_string(), key.to_string());
        self.read(move |connection| read::calls(connection, &site, &key))
    }

    fn call_events(
        &self,
        site: &str,
        key: &str,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        let (site, key) = (site.to_string(), key.to_string());
        self.read(move |connection| read::call_events(connection, &site, &key, limit))
    }

    fn prune(&self, before_us: i64) -> impl std::future::Future<Output = Result<Pruned, StoreError>> + Send {
        self.write(move |transaction| write::prune(transaction, before_us))
    }

    fn counts(&self) -> impl std::future::Future<Output = Result<StoreCounts, StoreError>> + Send {
        self.read(read::counts)
    }

    fn health(&self) -> StoreHealth {
        self.inner.health.health()
    }

    /// At a clean exit: copies the write-ahead log into the database and truncates it to
    /// nothing, so that the next start has no log to replay and needs no space to do so.
    /// False when a reader was still in the way (the log is then left as it is).
    fn close(&self) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        inner.closed.store(true, Ordering::Relaxed);
        async move {
            let task = tokio::task::spawn_blocking(move || {
                // A round in progress finishes first; the thread starts no other.
                let _no_round = lock(&inner.checkpointing);
                let connection = lock(&inner.writer);
                let busy: i64 = connection
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
                    .map_err(|error| {
                        let error = StoreError::from(error);
                        inner.health.record(Operation::Checkpoint, &error);
                        error
                    })?;
                Ok(busy == 0)
            });
            task.await.map_err(|error| StoreError::Worker(error.to_string()))?
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::EventRecord;
    use crate::FailureKind;

    fn events(from: u64, count: u64) -> Vec<EventRecord> {
        (from..from + count)
            .map(|seq| EventRecord {
                seq,
                site: "S".to_string(),
                time_us: Some(seq as i64),
                message: "EventRinging".to_string(),
                call_uuid: Some(format!("C{seq}")),
                conn_id: None,
                doc: format!(
                    "{{\"message\":\"EventRinging\",\"site\":\"S\",\"pad\":\"{}\"}}",
                    noise(seq, 2000)
                ),
                arrived_us: None,
            })
            .collect()
    }

    /// `length` letters that do not compress (xorshift from `seed`): raw events are stored
    /// compressed, and the tests that fill the disk need them to take room.
    fn noise(seed: u64, length: usize) -> String {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect()
    }

    fn writer_pragma(store: &SqliteStore, sql: &str) -> i64 {
        lock(&store.inner.writer).query_row(sql, [], |row| row.get(0)).expect("pragma")
    }

    async fn stored(store: &SqliteStore) -> u64 {
        store.counts().await.expect("counts").events
    }

    /// `PRAGMA max_page_count` makes SQLite's own SQLITE_FULL, deterministically: the batch is
    /// refused whole, the failure is counted as the store's, and the same batch goes in once
    /// there is room.
    #[tokio::test]
    async fn a_full_database_refuses_a_batch_whole_and_takes_the_same_batch_once_there_is_room() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("full.db"), SqliteOptions::default()).expect("open");
        store.commit(Batch { events: events(1, 10), ..Batch::default() }.into()).await.expect("room for 10");
        let pages = writer_pragma(&store, "PRAGMA page_count");
        writer_pragma(&store, &format!("PRAGMA max_page_count = {}", pages + 5));

        let batch = Arc::new(Batch { events: events(11, 200), ..Batch::default() });
        let error = store.commit(Arc::clone(&batch)).await.expect_err("no room for 200");
        assert_eq!(error.kind(), FailureKind::Full, "{error}");
        assert!(error.is_transient());
        assert_eq!(stored(&store).await, 10, "nothing of the refused batch");
        let health = store.health();
        assert_eq!(health.write_failures, 1);
        assert_eq!(health.recent(Operation::Write, 60).map(|failure| failure.kind), Some(FailureKind::Full));

        writer_pragma(&store, "PRAGMA max_page_count = 1073741823");
        store.commit(batch).await.expect("room again");
        assert_eq!(stored(&store).await, 210, "every event once");
    }

    #[tokio::test]
    async fn closing_truncates_the_write_ahead_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wal.db");
        let store = SqliteStore::open(&path, SqliteOptions::default()).expect("open");
        store.commit(Batch { events: events(1, 500), ..Batch::default() }.into()).await.expect("commit");
        assert!(wal_bytes(&path) > 0, "the commit went to the log");
        assert!(store.close().await.expect("closed"), "no reader in the way");
        assert_eq!(wal_bytes(&path), 0);
        assert_eq!(stored(&store).await, 500);
    }

    /// The checkpoint thread checkpointing (every millisecond here) while the store closes:
    /// the close waits for its round instead of finding the log busy and leaving all of it.
    #[tokio::test]
    async fn closing_during_a_checkpoint_round_still_truncates_the_write_ahead_log() {
        for attempt in 0..12 {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("race.db");
            let options = SqliteOptions {
                checkpoint_every: Some(Duration::from_millis(1)),
                ..SqliteOptions::default()
            };
            let store = SqliteStore::open(&path, options).expect("open");
            for batch in 0..4 {
                let first = 1 + batch * 2_000;
                store
                    .commit(Batch { events: events(first, 2_000), ..Batch::default() }.into())
                    .await
                    .expect("commit");
            }
            assert!(store.close().await.expect("closed"), "attempt {attempt}: the log was left behind");
            assert_eq!(wal_bytes(&path), 0, "attempt {attempt}");
            assert_eq!(stored(&store).await, 8_000);
        }
    }

    #[tokio::test]
    async fn an_open_store_holds_its_file_against_a_second_writer_until_it_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("owned.db");
        let store = SqliteStore::open(&path, SqliteOptions::default()).expect("open");
        let refused = SqliteStore::open(&path, SqliteOptions::default()).err().expect("refused");
        assert!(matches!(refused, StoreError::InUse { .. }), "{refused}");
        // Readers that do not take the store are not refused.
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("read-only");
        let events: i64 =
            reader.query_row("SELECT COUNT(*) FROM event_blocks", [], |row| row.get(0)).expect("read");
        assert_eq!(events, 0);
        drop(store);
        SqliteStore::open(&path, SqliteOptions::default()).expect("free once dropped");
    }
}
