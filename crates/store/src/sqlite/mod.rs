//! The embedded backend: one SQLite file in WAL mode, one writer connection and a small pool
//! of reader connections, so queries are answered while the ingest path writes. Every call
//! runs on tokio's blocking pool; the futures are `Send` like a networked backend's.

mod read;
mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;
use crate::query::{InteractionQuery, Page};
use crate::record::Batch;
use crate::{Pruned, Recovery, Store, StoreCounts, StoredCall, StoredEvent, StoredInteraction};

pub use read::MAX_PAGE;
pub use schema::SCHEMA_VERSION;

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
    pub checkpoint_every: Option<std::time::Duration>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durable: false,
            readers: 4,
            checkpoint_every: Some(std::time::Duration::from_secs(1)),
        }
    }
}

struct Inner {
    path: PathBuf,
    options: SqliteOptions,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
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
    connection.busy_timeout(std::time::Duration::from_secs(10)).map_err(open_error)?;
    connection.pragma_update(None, "journal_mode", "WAL").map_err(open_error)?;
    let synchronous = if options.durable { "FULL" } else { "NORMAL" };
    connection.pragma_update(None, "synchronous", synchronous).map_err(open_error)?;
    // A larger page cache than the 2 MB default: the event indexes take random keys, and
    // every miss is a read system call.
    connection.pragma_update(None, "cache_size", -65_536).map_err(open_error)?;
    connection.pragma_update(None, "temp_store", "MEMORY").map_err(open_error)?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let mut writer = open_connection(path, &options)?;
        schema::migrate(&mut writer)?;
        if options.checkpoint_every.is_some() {
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        let checkpoint_every = options.checkpoint_every;
        let inner = Inner {
            path: path.to_path_buf(),
            options,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        };
        let store = SqliteStore { inner: Arc::new(inner) };
        if let Some(every) = checkpoint_every {
            store.spawn_checkpointer(every)?;
        }
        Ok(store)
    }

    /// A thread with its own connection that checkpoints the write-ahead log (PASSIVE: it
    /// never waits for the writer or readers) while the store is in use, and ends with it.
    fn spawn_checkpointer(&self, every: std::time::Duration) -> Result<(), StoreError> {
        let connection = open_connection(&self.inner.path, &self.inner.options)?;
        let store = Arc::downgrade(&self.inner);
        let spawned = std::thread::Builder::new().name("sqlite-checkpoint".to_string()).spawn(move || {
            while store.upgrade().is_some() {
                std::thread::sleep(every);
                if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    // Busy or locked: the next round tries again.
                    let _ = error;
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
                let mut connection = lock(&inner.writer);
                let transaction = connection.transaction()?;
                let value = work(&transaction)?;
                transaction.commit()?;
                Ok(value)
            });
            task.await.map_err(|error| StoreError::Worker(error.to_string()))?
        }
    }

    /// Runs `work` on a reader connection from the pool (opening one when none is free).
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
                    None => open_connection(&inner.path, &inner.options)?,
                };
                let value = work(&connection);
                let mut readers = lock(&inner.readers);
                if readers.len() < inner.options.readers {
                    readers.push(connection);
                }
                value
            });
            task.await.map_err(|error| StoreError::Worker(error.to_string()))?
        }
    }
}

impl Store for SqliteStore {
    fn commit(&self, batch: Batch) -> impl std::future::Future<Output = Result<(), StoreError>> + Send {
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

    fn interactions(
        &self,
        query: InteractionQuery,
    ) -> impl std::future::Future<Output = Result<Page, StoreError>> + Send {
        self.read(move |connection| read::interactions(connection, &query))
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

    fn media_for(
        &self,
        call_uuids: Vec<String>,
    ) -> impl std::future::Future<Output = Result<Vec<serde_json::Value>, StoreError>> + Send {
        self.read(move |connection| read::media_for(connection, &call_uuids))
    }

    fn prune(&self, before_us: i64) -> impl std::future::Future<Output = Result<Pruned, StoreError>> + Send {
        self.write(move |transaction| write::prune(transaction, before_us))
    }

    fn counts(&self) -> impl std::future::Future<Output = Result<StoreCounts, StoreError>> + Send {
        self.read(read::counts)
    }
}
