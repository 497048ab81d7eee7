//! The PostgreSQL backend: the same rows as SQLite's (built by [`crate::record`]) in the same
//! shapes, raw events as zstd blocks of one site with their index tables ([`crate::block`]),
//! compact interaction and call rows whose documents are rendered on read, and the
//! `report_*` views of docs/reporting.md, in a database of a PostgreSQL server.
//!
//! One writer connection, held for the store's life, holds a session advisory lock: one
//! owner of a database at a time, as SQLite's lock file makes it ([`lock`]). Every commit is
//! one transaction on it; its many rows go in by `COPY … BINARY`. Reads take connections
//! from a pool. Raw event blocks and calls are partitioned by day ([`partition`]); retention
//! drops a day's partition whole once all of it is prunable. The schema is versioned like
//! SQLite's, and a database from a newer callstitch is refused ([`schema`]). Every failure of
//! a read or a write is recorded for [`Store::health`].

mod blocks;
mod copy;
pub mod estate;
mod lock;
mod partition;
mod read;
mod schema;
pub mod scratch;
mod write;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::Mutex;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::StoreError;
use crate::health::{HealthLog, Operation, StoreHealth};
use crate::query::{InteractionQuery, Page};
use crate::record::{Batch, MediaPost};
use crate::{Pruned, Recovery, Store, StoreCounts, StoredCall, StoredEvent, StoredInteraction};

pub use lock::LOCK_KEY;
pub use schema::SCHEMA_VERSION;

/// Whether a `--database` value names a PostgreSQL database rather than a SQLite file.
pub fn is_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// How the store connects.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?…]`.
    pub url: String,
    /// Reader connections kept in the pool.
    pub readers: usize,
    /// How long opening waits for the advisory lock before it refuses: a writer that just
    /// stopped lets go when the server notices its connection closed.
    pub lock_wait: Duration,
}

impl PostgresOptions {
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions { url: url.into(), readers: 4, lock_wait: Duration::from_secs(1) }
    }
}

struct Inner {
    /// The URL without its password, for messages.
    name: String,
    config: Config,
    lock_wait: Duration,
    /// The connection that holds the advisory lock and writes; `None` once it was lost,
    /// until the next write connects again.
    writer: Mutex<Option<Client>>,
    pool: Pool,
    health: HealthLog,
    /// Day partitions known to exist (created by a committed transaction).
    partitions: std::sync::Mutex<partition::Known>,
}

/// See the module documentation. Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

/// `url` without the password it may carry.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_info = &url[scheme + 3..at];
            match user_info.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Opens a connection, its driver running on the current tokio runtime.
async fn connect(config: &Config, name: &str) -> Result<Client, StoreError> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|error| StoreError::Connect { url: name.to_string(), detail: error.to_string() })?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "a PostgreSQL connection ended");
        }
    });
    Ok(client)
}

impl PostgresStore {
    /// Takes the database at `options.url` for writing: connects, takes the advisory lock
    /// (refused with [`StoreError::InUse`] while another writer holds it), migrates the
    /// schema and makes the pool of readers. Must run on a tokio runtime, which drives its
    /// connections.
    pub async fn open(options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let name = redacted(&options.url);
        let mut config: Config = options.url.parse().map_err(|error: tokio_postgres::Error| {
            StoreError::BadUrl { url: name.clone(), detail: error.to_string() }
        })?;
        config.application_name(lock::application_name());
        config.connect_timeout(Duration::from_secs(10));
        let mut writer = connect(&config, &name).await?;
        lock::acquire(&writer, &name, options.lock_wait).await?;
        schema::migrate(&mut writer).await?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(options.readers.max(1))
            .build()
            .map_err(|error| StoreError::Connect { url: name.clone(), detail: error.to_string() })?;
        let known = partition::Known::load(&writer).await?;
        let inner = Inner {
            name,
            config,
            lock_wait: options.lock_wait,
            writer: Mutex::new(Some(writer)),
            pool,
            health: HealthLog::default(),
            partitions: std::sync::Mutex::new(known),
        };
        Ok(PostgresStore { inner: Arc::new(inner) })
    }

    /// The database's URL without its password.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Runs `work` in one transaction on the writer connection (connecting again, and taking
    /// the lock again, when the connection was lost).
    async fn write<T>(
        inner: &Inner,
        work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>, &Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut writer = inner.writer.lock().await;
        let result = async {
            if writer.as_ref().is_none_or(Client::is_closed) {
                *writer = None;
                let client = connect(&inner.config, &inner.name).await?;
                lock::acquire(&client, &inner.name, inner.lock_wait).await?;
                *writer = Some(client);
            }
            let Some(client) = writer.as_mut() else {
                return Err(StoreError::Worker("no writer connection".to_string()));
            };
            let transaction = client.transaction().await?;
            let value = work(&transaction, inner).await?;
            transaction.commit().await?;
            Ok(value)
        }
        .await;
        if let Err(error) = &result {
            inner.health.record(Operation::Write, error);
        }
        result
    }

    /// Runs `work` on a pooled reader connection.
    async fn read<T>(
        inner: &Inner,
        work: impl AsyncFnOnce(&Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = async {
            let client = inner.pool.get().await.map_err(|error| StoreError::Connect {
                url: inner.name.clone(),
                detail: error.to_string(),
            })?;
            let client: &Client = &client;
            work(client).await
        }
        .await;
        if let Err(error) = &result {
            inner.health.record(Operation::Read, error);
        }
        result
    }
}

impl Store for PostgresStore {
    fn commit(&self, batch: Arc<Batch>) -> impl std::future::Future<Output = Result<(), StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move {
            if batch.is_empty() {
                return Ok(());
            }
            let created = Self::write(&inner, async |transaction, inner| {
                write::commit(transaction, &inner.partitions, &batch).await
            })
            .await?;
            partition::remember(&inner.partitions, created);
            Ok(())
        }
    }

    fn recover(&self) -> impl std::future::Future<Output = Result<Recovery, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move { Self::read(&inner, async |client| read::recover(client).await).await }
    }

    fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move { Self::read(&inner, async |client| blocks::events_after(client, after, limit).await).await }
    }

    fn media_posts_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<Vec<MediaPost>, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move { Self::read(&inner, async |client| read::media_posts_after(client, after, limit).await).await }
    }

    fn interactions(
        &self,
        query: InteractionQuery,
    ) -> impl std::future::Future<Output = Result<Page, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move { Self::read(&inner, async |client| read::interactions(client, &query).await).await }
    }

    fn tally(
        &self,
        query: InteractionQuery,
        budget: Duration,
    ) -> impl std::future::Future<Output = Result<crate::Tally, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move { Self::read(&inner, async |client| read::tally(client, &query, budget).await).await }
    }

    fn sites(&self) -> impl std::future::Future<Output = Result<Vec<String>, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move { Self::read(&inner, async |client| read::sites(client).await).await }
    }

    fn interaction(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<StoredInteraction>, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        let id = id.to_string();
        async move { Self::read(&inner, async |client| read::interaction(client, &id).await).await }
    }

    fn recording(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<serde_json::Value>, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        let id = id.to_string();
        async move { Self::read(&inner, async |client| read::recording(client, &id).await).await }
    }

    fn calls(
        &self,
        site: &str,
        key: &str,
    ) -> impl std::future::Future<Output = Result<Vec<StoredCall>, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        let (site, key) = (site.to_string(), key.to_string());
        async move { Self::read(&inner, async |client| read::calls(client, &site, &key).await).await }
    }

    fn call_events(
        &self,
        site: &str,
        key: &str,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        let (site, key) = (site.to_string(), key.to_string());
        async move { Self::read(&inner, async |client| read::call_events(client, &site, &key, limit).await).await }
    }

    fn prune(&self, before_us: i64) -> impl std::future::Future<Output = Result<Pruned, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move {
            let (pruned, dropped) =
                Self::write(&inner, async |transaction, _| write::prune(transaction, before_us).await)
                    .await?;
            partition::forget(&inner.partitions, &dropped);
            Ok(pruned)
        }
    }

    fn counts(&self) -> impl std::future::Future<Output = Result<StoreCounts, StoreError>> + Send {
        let inner = Arc::clone(&self.inner);
        async move { Self::read(&inner, async |client| read::counts(client).await).await }
    }

    fn health(&self) -> StoreHealth {
        self.inner.health.health()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_not_repeated_in_messages() {
        assert_eq!(redacted("postgres://u:secret@h:5432/d"), "postgres://u:***@h:5432/d");
        assert_eq!(redacted("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redacted("postgres://h/d"), "postgres://h/d");
        assert!(is_url("postgresql://h/d") && is_url("postgres://h/d") && !is_url("callstitch.db"));
    }
}
