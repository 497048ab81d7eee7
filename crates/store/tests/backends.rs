//! The store's conformance suite (tests/conformance) run against every backend: SQLite, on a
//! real database file in a temporary directory; PostgreSQL, on a fresh database of the
//! server at `CALLSTITCH_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`), made
//! for each test and dropped after it ([`scratch`]). Where no server answers the PostgreSQL tests skip,
//! saying so, unless `CALLSTITCH_REQUIRE_POSTGRES=1` (CI), which makes them fail. A backend
//! adds its [`conformance::Backend`] and one `conformance_suite!` line; what only one backend
//! does is tested beside it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

#[macro_use]
mod conformance;

use callstitch_store::postgres::scratch::{self, Scratch};
use callstitch_store::{PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, StoreError};

/// The embedded SQLite store, one database file per test.
struct Sqlite;

impl conformance::Backend for Sqlite {
    type Store = SqliteStore;
    type Place = tempfile::TempDir;

    async fn place() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    async fn open(dir: &tempfile::TempDir) -> SqliteStore {
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

/// The PostgreSQL store, one fresh database of the test server per test.
struct Postgres;

impl conformance::Backend for Postgres {
    type Store = PostgresStore;
    type Place = Scratch;

    async fn available() -> bool {
        scratch::available_for_tests().await
    }

    async fn place() -> Scratch {
        Scratch::new("store").await.expect("the test database is made")
    }

    async fn open(database: &Scratch) -> PostgresStore {
        PostgresStore::open(PostgresOptions::new(database.url())).await.expect("store opens")
    }
}

mod postgres {
    use super::*;
    use callstitch_store::{Batch, EventRecord, Snapshot, Store};

    conformance_suite!(Postgres);

    #[tokio::test]
    async fn a_database_from_a_newer_callstitch_is_refused() {
        if !scratch::available_for_tests().await {
            return;
        }
        let database = Scratch::new("store").await.expect("the test database is made");
        drop(PostgresStore::open(PostgresOptions::new(database.url())).await.expect("made"));
        database
            .client()
            .await
            .expect("connect")
            .batch_execute("UPDATE callstitch_schema SET version = 99")
            .await
            .expect("newer");
        let error = PostgresStore::open(PostgresOptions::new(database.url())).await.err();
        assert!(matches!(error, Some(StoreError::NewerSchema { found: 99, .. })), "{error:?}");
    }

    /// One writer of a database: a second store is refused with the error SQLite's lock
    /// file gives (the CLI's exit code 3), naming the holder; once the first goes, the
    /// database is free again.
    #[tokio::test]
    async fn a_second_writer_is_refused_naming_the_holder_until_the_first_lets_go() {
        if !scratch::available_for_tests().await {
            return;
        }
        let database = Scratch::new("store").await.expect("the test database is made");
        let first =
            PostgresStore::open(PostgresOptions::new(database.url())).await.expect("the first writer");
        let refused = PostgresStore::open(PostgresOptions::new(database.url())).await.err();
        match &refused {
            Some(StoreError::InUse { holder, path }) => {
                assert_eq!(holder.pid, Some(std::process::id()), "{refused:?}");
                assert!(path.ends_with(database.name()), "{path}");
            }
            other => panic!("not InUse: {other:?}"),
        }
        drop(first);
        PostgresStore::open(PostgresOptions::new(database.url())).await.expect("free once the first let go");
    }

    async fn partitions(database: &Scratch) -> Vec<String> {
        let rows = database
            .client()
            .await
            .expect("connect")
            .query(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                  WHERE i.inhparent IN ('event_blocks'::regclass, 'calls'::regclass) ORDER BY 1",
                &[],
            )
            .await
            .expect("partitions");
        rows.iter().map(|row| row.get(0)).collect()
    }

    fn event(seq: u64, day: i64, call: &str) -> EventRecord {
        let time_us = day * 86_400_000_000 + 3_600_000_000;
        EventRecord {
            seq,
            site: "S".into(),
            time_us: Some(time_us),
            message: "EventRinging".into(),
            call_uuid: Some(call.into()),
            conn_id: None,
            doc: format!(r#"{{"seq":{seq}}}"#),
            arrived_us: None,
        }
    }

    fn call(key: &str, day: i64) -> callstitch_store::CallRecord {
        let time_us = day * 86_400_000_000 + 3_600_000_000;
        callstitch_store::CallRecord {
            site: "S".into(),
            key: key.into(),
            call_uuid: Some(key.into()),
            conn_ids: Vec::new(),
            first_us: Some(time_us),
            last_us: Some(time_us),
            model: "basic".into(),
            outcome: "answered".into(),
            conformant: true,
            released_by: "customer".into(),
            released_by_dn: None,
            islinks: Vec::new(),
            report: "{}".into(),
        }
    }

    /// Raw event blocks and calls go to the partition of their day, made by the commit that
    /// needs it; retention drops the partitions of the days before the cut whole (once the
    /// snapshot covers their events), and deletes rows of the day the cut falls in.
    #[tokio::test]
    async fn day_partitions_are_made_by_commits_and_dropped_whole_by_prune() {
        if !scratch::available_for_tests().await {
            return;
        }
        let database = Scratch::new("store").await.expect("the test database is made");
        let store = PostgresStore::open(PostgresOptions::new(database.url())).await.expect("store");
        // 2026-01-01 is day 20454; a commit a day, so that each day's events are a block.
        for (seq, day, key) in [(1, 20454, "A"), (2, 20455, "B"), (3, 20456, "C")] {
            let batch = Batch {
                events: vec![event(seq, day, key)],
                calls: vec![call(key, day)],
                snapshot: Some(Snapshot { seq, state: Vec::new(), media_posts: 0 }),
                ..Batch::default()
            };
            store.commit(batch.into()).await.expect("commit");
        }
        assert_eq!(
            partitions(&database).await,
            [
                "calls_2026_01_01",
                "calls_2026_01_02",
                "calls_2026_01_03",
                "calls_undated",
                "event_blocks_2026_01_01",
                "event_blocks_2026_01_02",
                "event_blocks_2026_01_03",
                "event_blocks_undated"
            ]
        );
        // The cut at noon of 2026-01-02: the 1st goes whole, the 2nd's rows before noon go.
        let cut = 20455 * 86_400_000_000 + 43_200_000_000;
        let pruned = store.prune(cut).await.expect("prune");
        assert_eq!((pruned.calls, pruned.events), (2, 2));
        assert_eq!(
            partitions(&database).await,
            [
                "calls_2026_01_02",
                "calls_2026_01_03",
                "calls_undated",
                "event_blocks_2026_01_02",
                "event_blocks_2026_01_03",
                "event_blocks_undated"
            ]
        );
        assert_eq!(store.calls("S", "C").await.expect("calls").len(), 1);
        assert!(store.calls("S", "A").await.expect("calls").is_empty());
        let left = store.events_after(0, 10).await.expect("events");
        assert_eq!(left.iter().map(|event| event.seq).collect::<Vec<_>>(), [3]);
        // A day dropped comes back when an event of it comes again.
        store
            .commit(Batch { events: vec![event(4, 20454, "D")], ..Batch::default() }.into())
            .await
            .expect("again");
        assert!(partitions(&database).await.contains(&"event_blocks_2026_01_01".to_string()));
        assert_eq!(store.call_events("S", "D", 10).await.expect("events").len(), 1);
    }

    /// The writer's connection lost (its server process ended, as a server restart does):
    /// a commit after it connects again and takes the lock again, the failure in between is
    /// recorded for /healthz, and nothing committed is lost.
    #[tokio::test]
    async fn a_writer_whose_connection_was_lost_connects_again_and_holds_the_database_again() {
        if !scratch::available_for_tests().await {
            return;
        }
        let database = Scratch::new("store").await.expect("the test database is made");
        let store = PostgresStore::open(PostgresOptions::new(database.url())).await.expect("store");
        store
            .commit(Batch { events: vec![event(1, 20454, "A")], ..Batch::default() }.into())
            .await
            .expect("commit");
        let admin = database.client().await.expect("connect");
        let ended = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_locks
                  WHERE locktype = 'advisory' AND granted
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .await
            .expect("terminate");
        assert_eq!(ended.len(), 1, "the writer holds the lock");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let batch = std::sync::Arc::new(Batch { events: vec![event(2, 20454, "B")], ..Batch::default() });
        let mut failed = 0;
        while let Err(error) = store.commit(std::sync::Arc::clone(&batch)).await {
            assert!(error.is_transient(), "a lost connection is worth retrying: {error}");
            failed += 1;
            assert!(failed < 3, "still failing: {error}");
        }
        assert_eq!(store.health().write_failures, failed);
        let stored = store.events_after(0, 10).await.expect("events");
        assert_eq!(stored.iter().map(|event| event.seq).collect::<Vec<_>>(), [1, 2]);
        let refused = PostgresStore::open(PostgresOptions::new(database.url())).await.err();
        assert!(matches!(refused, Some(StoreError::InUse { .. })), "the lock is held again: {refused:?}");
    }

    /// A read that the database refuses is an error, recorded as a read failure, never a panic.
    #[tokio::test]
    async fn a_failed_read_is_an_error_recorded_as_a_read_failure() {
        if !scratch::available_for_tests().await {
            return;
        }
        let database = Scratch::new("store").await.expect("the test database is made");
        let store = PostgresStore::open(PostgresOptions::new(database.url())).await.expect("store");
        let admin = database.client().await.expect("connect");
        admin.batch_execute("ALTER TABLE interactions RENAME TO gone").await.expect("rename");
        let failed =
            store.interactions(callstitch_store::InteractionQuery { limit: 5, ..Default::default() }).await;
        assert!(matches!(failed, Err(StoreError::Postgres(_))), "{failed:?}");
        // The server's own words reach the message, not only "db error".
        let message = failed.err().map(|error| error.to_string()).unwrap_or_default();
        assert!(
            message.contains("\"interactions\" does not exist") && message.contains("42P01"),
            "{message}"
        );
        let health = store.health();
        assert_eq!((health.read_failures, health.write_failures), (1, 0));
        assert!(store.counts().await.is_err());
        assert_eq!(store.health().read_failures, 2);
    }

    /// A count that takes longer than its budget is refused as too broad (the server
    /// cancels it), and the connection it ran on counts again without the limit afterwards.
    #[tokio::test]
    async fn counting_past_its_budget_is_refused_as_too_broad_and_the_limit_does_not_stay() {
        if !scratch::available_for_tests().await {
            return;
        }
        let database = Scratch::new("store").await.expect("the test database is made");
        let options = PostgresOptions { readers: 1, ..PostgresOptions::new(database.url()) };
        let store = PostgresStore::open(options).await.expect("store");
        let admin = database.client().await.expect("connect");
        admin
            .batch_execute(
                "INSERT INTO interactions (id, revision, start_us, end_us, complete, outcome, released_by,
                     recording_id, media_files, findings, doc_z)
                 SELECT lpad(to_hex(i), 16, '0'), 0, 1000000 + i, 2000000 + i, true,
                        CASE i % 3 WHEN 0 THEN 'answered' ELSE 'abandoned-in-queue' END, 'customer', 'r', 0, 0, ''
                   FROM generate_series(0, 299999) AS i;
                 INSERT INTO segments (interaction_id, ord, site, key, role, model, outcome)
                 SELECT id, 0, 'S' || (start_us % 4), id, 'root', 'basic', outcome FROM interactions;",
            )
            .await
            .expect("rows");
        let everything = callstitch_store::InteractionQuery::default();
        let refused = store.tally(everything.clone(), std::time::Duration::from_millis(1)).await;
        assert!(matches!(refused, Err(StoreError::TooBroad { budget_ms: 1 })), "{refused:?}");
        // The one reader again, counting 300,000 rows (far more than 1 ms) without a limit.
        assert_eq!(store.counts().await.expect("no limit left on the connection").interactions, 300_000);
        let counted = store.tally(everything, std::time::Duration::from_secs(600)).await.expect("counted");
        assert_eq!(counted.interactions, 300_000);
        assert_eq!(counted.by_site["S1"].interactions, 75_000);
        assert_eq!(store.health().read_failures, 0, "too broad is the client's doing");
    }
}
