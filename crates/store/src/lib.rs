//! callstitch-store: where the service keeps what it reads and what it builds.
//!
//! The [`Store`] trait is the whole contract between the ingest pipeline and the API on one
//! side and a database on the other: one atomic [`Batch`] per ingest step (raw events, the
//! sources' positions, finished calls, interactions with their recordings, media files and
//! media posts, and a snapshot of the stitching state), the [`Recovery`] a restart begins from, and the queries
//! the HTTP API answers. Every method returns a future, so that a networked backend
//! ([`PostgresStore`]) implements it as well as the embedded [`SqliteStore`], which runs its
//! blocking work on tokio's blocking pool.
//!
//! Records are built from the engine's, linker's and recorder's own types in [`record`], so
//! every backend stores the same rows.

pub mod block;
pub mod compact;
pub mod error;
pub mod frame;
pub mod health;
pub mod postgres;
pub mod query;
pub mod record;
pub mod search;
pub mod sqlite;

/// A simulated estate through the real pipeline (shared with the integration tests).
#[cfg(test)]
#[path = "testdata/simulated.rs"]
mod simulated;

use std::future::Future;
use std::sync::Arc;

pub use callstitch_pipeline::{RecordingDocument, TraceDocument};

pub use error::{FailureKind, Holder, StoreError};
pub use health::{Operation, StoreFailure, StoreHealth};
pub use postgres::estate::{
    decode_news, encode_news, EstateDb, NewsRow, SiteCommit, SiteProgress, SiteState,
};
pub use postgres::{PostgresOptions, PostgresStore};
pub use query::{conn_id, Count, Cursor, InteractionQuery, Page, SiteCount, Tally};
pub use record::{
    Batch, CallRecord, EventRecord, InteractionRecord, MediaPost, MediaRecord, Snapshot, Summary,
};
pub use sqlite::{SqliteOptions, SqliteStore};

/// What a restart begins from: the last committed snapshot, the sources' positions and the
/// next event sequence number.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// The sequence number the next stored event gets (1 on a fresh store).
    pub next_seq: u64,
    pub snapshot: Option<Snapshot>,
    /// The file sources' positions as last committed (the follower's own JSON).
    pub positions: Option<String>,
}

/// One stored raw event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    /// The event as a JSON-lines document (docs/event-json.md).
    pub doc: String,
    /// Wall time it arrived (UTC µs), for a live service's replay.
    pub arrived_us: Option<i64>,
}

/// A call as stored: its report (docs/check-json.md; JSON, as the engine's report type is
/// written but not read back) and the interaction it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCall {
    pub report: serde_json::Value,
    pub interaction_id: Option<String>,
}

/// A stored interaction: its document (the `trace --json` object, decoded once as it is
/// read) and the recording metadata (GIR `recording.json`, docs/recording.md).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInteraction {
    pub id: String,
    /// The id asked for when it was an older id this interaction replaced.
    pub asked_as: Option<String>,
    pub doc: TraceDocument,
    pub recording: serde_json::Value,
}

/// Counts for /metrics and the start-up log line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreCounts {
    pub events: u64,
    pub calls: u64,
    pub interactions: u64,
    pub complete_interactions: u64,
    pub media_files: u64,
}

/// What was deleted by [`Store::prune`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub interactions: u64,
    pub calls: u64,
    pub events: u64,
}

/// The storage contract. See the crate documentation.
pub trait Store: Send + Sync + 'static {
    /// Writes one batch atomically: all of it or none of it. The batch is shared so that a
    /// caller can try it again after a failure without copying it.
    fn commit(&self, batch: Arc<Batch>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Where a restart begins.
    fn recover(&self) -> impl Future<Output = Result<Recovery, StoreError>> + Send;

    /// Stored raw events with a sequence number above `after`, in order, at most `limit`.
    fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Stored media posts numbered above `after`, in order, at most `limit`.
    fn media_posts_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<MediaPost>, StoreError>> + Send;

    /// Interactions matching the query, newest first, one page.
    fn interactions(&self, query: InteractionQuery) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// What every interaction the query matches adds up to (its cursor and limit do not
    /// count), or [`StoreError::TooBroad`] when counting takes longer than `budget`. This
    /// default pages through [`Store::interactions`]; a backend may count in place.
    fn tally(
        &self,
        query: InteractionQuery,
        budget: std::time::Duration,
    ) -> impl Future<Output = Result<Tally, StoreError>> + Send {
        async move {
            let started = std::time::Instant::now();
            let mut tally = Tally::default();
            let mut query = InteractionQuery { limit: sqlite::MAX_PAGE, cursor: None, ..query };
            loop {
                if started.elapsed() > budget {
                    return Err(StoreError::TooBroad { budget_ms: budget.as_millis() as u64 });
                }
                let page = self.interactions(query.clone()).await?;
                page.items.iter().for_each(|summary| tally.add_summary(summary));
                let Some(next) = page.next_cursor else { return Ok(tally) };
                query.cursor = Some(Cursor::decode(&next)?);
            }
        }
    }

    /// The sites of the stored interactions' calls, in order: what a site filter can find.
    /// A backend that keeps no such list says none.
    fn sites(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// One interaction by id, by an id it replaced, by its recording id or by a CallUUID (or
    /// call key) of one of its calls.
    fn interaction(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredInteraction>, StoreError>> + Send;

    /// The recording metadata by recording id, interaction id or any CallUUID of it.
    fn recording(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<serde_json::Value>, StoreError>> + Send;

    /// The calls stored under (site, CallUUID or call key); more than one when a late event
    /// made a second call of the same CallUUID.
    fn calls(
        &self,
        site: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<StoredCall>, StoreError>> + Send;

    /// The raw events of one call: those with its CallUUID on its site, and those of its
    /// ConnIDs without a CallUUID between its first and last event.
    fn call_events(
        &self,
        site: &str,
        key: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Deletes whole interactions that ended before `before_us` (UTC µs), their calls and
    /// the raw events before that time that a restart no longer needs.
    fn prune(&self, before_us: i64) -> impl Future<Output = Result<Pruned, StoreError>> + Send;

    fn counts(&self) -> impl Future<Output = Result<StoreCounts, StoreError>> + Send;

    /// What the store has seen go wrong ([`health`]); a backend that keeps no account says
    /// nothing.
    fn health(&self) -> StoreHealth {
        StoreHealth::default()
    }

    /// At a clean exit, after the last commit: whatever the backend does to leave nothing
    /// for the next start to redo (SQLite folds its write-ahead log into the database).
    /// False when something was left for the next start (nothing is lost either way). A
    /// backend with nothing to do keeps this default.
    fn close(&self) -> impl Future<Output = Result<bool, StoreError>> + Send {
        async { Ok(true) }
    }
}
