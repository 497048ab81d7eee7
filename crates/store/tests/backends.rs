//! The store's conformance suite (tests/conformance) run against every backend: SQLite, on a
//! real database file in a temporary directory. A backend adds its [`conformance::Backend`]
//! and one `conformance_suite!` line; what only one backend does is tested beside it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

#[macro_use]
mod conformance;

use callstitch_store::{SqliteOptions, SqliteStore, StoreError};

/// The embedded SQLite store, one database file per test.
struct Sqlite;

impl conformance::Backend for Sqlite {
    type Store = SqliteStore;
    type Place = tempfile::TempDir;

    fn place() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    fn open(dir: &tempfile::TempDir) -> SqliteStore {
        SqliteStore::open(&dir.path().join("store.db"), SqliteOptions::default()).expect("store opens")
    }
}

mod sqlite {
    use super::*;

    conformance_suite!(Sqlite);

    #[tokio::test]
    async fn a_database_from_a_newer_callstitch_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("new.db");
        let connection = rusqlite::Connection::open(&path).expect("open");
        connection.pragma_update(None, "user_version", 99).expect("pragma");
        drop(connection);
        let error = SqliteStore::open(&path, SqliteOptions::default()).err();
        assert!(matches!(error, Some(StoreError::NewerSchema { found: 99, .. })), "{error:?}");
    }
}
