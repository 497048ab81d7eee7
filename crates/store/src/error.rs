//! The store's errors: what failed and, where it helps, what to do.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "database schema version {found} is newer than this callstitch knows ({known}); \
         use a newer callstitch or another database file"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error("stored document is not valid JSON ({what}): {source}")]
    BadDocument { what: &'static str, source: serde_json::Error },
    #[error("bad cursor {0:?}: pass the next_cursor of the previous page unchanged")]
    BadCursor(String),
    #[error("the store's worker stopped: {0}")]
    Worker(String),
}
