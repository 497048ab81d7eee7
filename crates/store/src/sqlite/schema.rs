//! The SQLite schema and its versioned migrations (`PRAGMA user_version`).
//!
//! Each migration runs once, in order, in its own transaction. A database written by a newer
//! callstitch (a higher version) is refused rather than guessed at.

use rusqlite::Connection;

use crate::error::StoreError;
use crate::sqlite::reporting;

/// Migration `n` (1-based) takes the schema from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE events (
        seq       INTEGER PRIMARY KEY,
        site      TEXT NOT NULL,
        time_us   INTEGER,
        message   TEXT NOT NULL,
        call_uuid TEXT,
        conn_id   TEXT,
        doc       TEXT NOT NULL
    );
    CREATE INDEX events_call ON events(site, call_uuid) WHERE call_uuid IS NOT NULL;
    CREATE INDEX events_conn ON events(site, conn_id) WHERE conn_id IS NOT NULL;

    CREATE TABLE calls (
        id             INTEGER PRIMARY KEY,
        site           TEXT NOT NULL,
        key            TEXT NOT NULL,
        call_uuid      TEXT,
        conn_ids       TEXT NOT NULL,
        first_us       INTEGER,
        last_us        INTEGER,
        model          TEXT NOT NULL,
        outcome        TEXT NOT NULL,
        conformant     INTEGER NOT NULL,
        released_by    TEXT NOT NULL,
        released_by_dn TEXT,
        report         TEXT NOT NULL
    );
    CREATE INDEX calls_key ON calls(site, key);
    CREATE INDEX calls_last ON calls(last_us);

    CREATE TABLE interactions (
        id             TEXT PRIMARY KEY,
        revision       INTEGER NOT NULL,
        start_us       INTEGER NOT NULL,
        end_us         INTEGER,
        complete       INTEGER NOT NULL,
        outcome        TEXT NOT NULL,
        released_by    TEXT NOT NULL,
        released_by_dn TEXT,
        ani            TEXT,
        dnis           TEXT,
        recording_id   TEXT NOT NULL,
        media_files    INTEGER NOT NULL,
        findings       INTEGER NOT NULL,
        doc            TEXT NOT NULL,
        recording      TEXT NOT NULL,
        summary        TEXT NOT NULL
    );
    CREATE INDEX interactions_start ON interactions(start_us DESC, id DESC);
    CREATE INDEX interactions_recording ON interactions(recording_id);
    CREATE INDEX interactions_end ON interactions(end_us);

    CREATE TABLE segments (
        interaction_id TEXT NOT NULL,
        ord            INTEGER NOT NULL,
        site           TEXT NOT NULL,
        key            TEXT NOT NULL,
        call_uuid      TEXT,
        role           TEXT NOT NULL,
        model          TEXT NOT NULL,
        outcome        TEXT NOT NULL,
        PRIMARY KEY (interaction_id, ord)
    );
    CREATE INDEX segments_call_uuid ON segments(call_uuid);
    CREATE INDEX segments_key ON segments(site, key);

    CREATE TABLE parties (
        interaction_id TEXT NOT NULL,
        segment_ord    INTEGER NOT NULL,
        ord            INTEGER NOT NULL,
        dn             TEXT NOT NULL,
        kind           TEXT NOT NULL,
        role           TEXT,
        final_state    TEXT NOT NULL,
        released_by    TEXT NOT NULL,
        released_by_dn TEXT,
        provenance     TEXT NOT NULL,
        PRIMARY KEY (interaction_id, segment_ord, ord)
    );

    CREATE TABLE interaction_dns (
        dn             TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        PRIMARY KEY (dn, interaction_id)
    ) WITHOUT ROWID;
    CREATE INDEX interaction_dns_id ON interaction_dns(interaction_id);

    CREATE TABLE interaction_conn_ids (
        conn_id        TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        PRIMARY KEY (conn_id, interaction_id)
    ) WITHOUT ROWID;
    CREATE INDEX interaction_conn_ids_id ON interaction_conn_ids(interaction_id);

    CREATE TABLE links (
        interaction_id TEXT NOT NULL,
        ord            INTEGER NOT NULL,
        evidence       TEXT NOT NULL,
        islink         TEXT,
        from_segment   TEXT NOT NULL,
        to_segment     TEXT NOT NULL,
        consistent     INTEGER NOT NULL,
        PRIMARY KEY (interaction_id, ord)
    );
    CREATE INDEX links_islink ON links(islink) WHERE islink IS NOT NULL;

    CREATE TABLE findings (
        interaction_id TEXT NOT NULL,
        ord            INTEGER NOT NULL,
        rule           TEXT NOT NULL,
        message        TEXT NOT NULL,
        doc            TEXT NOT NULL,
        PRIMARY KEY (interaction_id, ord)
    );

    CREATE TABLE aliases (
        old_id TEXT PRIMARY KEY,
        id     TEXT NOT NULL
    );

    CREATE TABLE media_files (
        media_id  TEXT PRIMARY KEY,
        site      TEXT NOT NULL,
        call_uuid TEXT NOT NULL,
        doc       TEXT NOT NULL
    );
    CREATE INDEX media_files_call ON media_files(call_uuid);

    CREATE TABLE checkpoint (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        positions    TEXT,
        snapshot_seq INTEGER,
        snapshot     BLOB
    );
    INSERT INTO checkpoint (id) VALUES (1);
    "#,
    // 2: live interactions (their lifecycle and the site that has the customer now) and the
    // wall time each event arrived (a replay after a restart sees the same arrivals).
    r#"
    ALTER TABLE events ADD COLUMN arrived_us INTEGER;
    ALTER TABLE interactions ADD COLUMN state TEXT NOT NULL DEFAULT 'complete';
    ALTER TABLE interactions ADD COLUMN current_site TEXT;
    CREATE INDEX interactions_state ON interactions(state, start_us DESC, id DESC);
    "#,
    // 3: the pipeline's snapshot (tens of MB on a busy estate) in a row of its own. Sharing a
    // row with the read positions, every commit's positions update rewrote (and compared,
    // page by page) the whole snapshot: most of the writer's time at 10,000 events/s.
    r#"
    CREATE TABLE snapshot (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        seq   INTEGER NOT NULL,
        state BLOB NOT NULL
    );
    INSERT INTO snapshot (id, seq, state)
        SELECT 1, snapshot_seq, snapshot FROM checkpoint
        WHERE id = 1 AND snapshot_seq IS NOT NULL AND snapshot IS NOT NULL;
    ALTER TABLE checkpoint DROP COLUMN snapshot;
    ALTER TABLE checkpoint DROP COLUMN snapshot_seq;
    "#,
    // 4: the media posts in the order the pipeline took them, each after the event it
    // followed, and the last post a snapshot includes: a restart replays the posts after the
    // snapshot among the events (media_files holds each file merged, not when its parts
    // came). Older snapshots include no post (there are none to replay).
    r#"
    CREATE TABLE media_posts (
        ordinal   INTEGER PRIMARY KEY,
        after_seq INTEGER NOT NULL,
        files     TEXT NOT NULL
    );
    ALTER TABLE snapshot ADD COLUMN media_posts INTEGER NOT NULL DEFAULT 0;
    "#,
    // 5: an Inter-Site Link id that never paired is searchable. `links` holds paired links
    // only; these hold every link id a finished call took part in (a link end seen on one
    // site, whether its other end leads to a site callstitch reads or not), and the link ids
    // an interaction holds with one end only, live calls included (its `unpaired_links`,
    // taken from the documents already stored).
    r#"
    CREATE TABLE call_islinks (
        islink TEXT NOT NULL,
        site   TEXT NOT NULL,
        key    TEXT NOT NULL,
        PRIMARY KEY (islink, site, key)
    ) WITHOUT ROWID;
    CREATE INDEX call_islinks_call ON call_islinks(site, key);
    CREATE TABLE interaction_islinks (
        islink         TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        PRIMARY KEY (islink, interaction_id)
    ) WITHOUT ROWID;
    CREATE INDEX interaction_islinks_id ON interaction_islinks(interaction_id);
    INSERT OR IGNORE INTO interaction_islinks (islink, interaction_id)
        SELECT link.value, i.id FROM interactions i, json_each(i.doc, '$.unpaired_links') link
        WHERE json_valid(i.doc) AND link.type = 'text';
    "#,
    // 6: raw events in zstd-compressed blocks of one site (sqlite/blocks.rs, frame.rs)
    // instead of one row each: the rows took four times the logs' size. The indexes lead from
    // a site's CallUUID, and from a site's ConnID of an event without CallUUID, to the blocks
    // holding such events. The rows of `events` move into blocks in Rust
    // (blocks::move_rows_into_blocks, run right after this), which then drops the table.
    r#"
    CREATE TABLE event_blocks (
        id        INTEGER PRIMARY KEY,
        site      TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq  INTEGER NOT NULL,
        first_us  INTEGER,
        last_us   INTEGER,
        untimed   INTEGER NOT NULL,
        events    INTEGER NOT NULL,
        data      BLOB NOT NULL
    );
    CREATE INDEX event_blocks_seq ON event_blocks(first_seq, last_seq);
    CREATE INDEX event_blocks_span ON event_blocks(last_seq - first_seq);
    CREATE TABLE event_block_calls (
        site      TEXT NOT NULL,
        call_uuid TEXT NOT NULL,
        block     INTEGER NOT NULL,
        PRIMARY KEY (site, call_uuid, block)
    ) WITHOUT ROWID;
    CREATE TABLE event_block_conns (
        site    TEXT NOT NULL,
        conn_id TEXT NOT NULL,
        block   INTEGER NOT NULL,
        PRIMARY KEY (site, conn_id, block)
    ) WITHOUT ROWID;
    "#,
    // 7 (issue 13): documents compressed, the recording
    // metadata and the summary rendered on read, the typed reporting columns and the
    // `report_*` views (docs/reporting.md); the rows converted by `reporting::convert`.
    reporting::MIGRATION,
    // 8: the ids an interaction replaced point at it; when it is replaced in turn, they are
    // moved on to its successor (`UPDATE aliases ... WHERE id = ?`). Without this index each
    // move read the whole table: most of a live service's writes after a few minutes of a
    // multi-site estate, growing with every interaction ever merged (PostgreSQL has had it
    // from its first schema).
    "CREATE INDEX aliases_id ON aliases(id);",
];

/// Work a migration needs beyond its SQL, run after it in the same transaction: the version
/// it takes the schema to, and what it does.
type Conversion = fn(&rusqlite::Transaction<'_>) -> Result<(), StoreError>;
const CONVERSIONS: &[(i64, Conversion)] =
    &[(6, super::blocks::move_rows_into_blocks), (7, reporting::convert)];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`].
pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found, known: SCHEMA_VERSION });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        let version = index as i64 + 1;
        for (_, convert) in CONVERSIONS.iter().filter(|(at, _)| *at == version) {
            convert(&transaction)?;
        }
        transaction.pragma_update(None, "user_version", index as i64 + 1)?;
        transaction.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at `version`, as that build left it.
    fn at_version(version: usize) -> Connection {
        let connection = Connection::open_in_memory().expect("open");
        for sql in &MIGRATIONS[..version] {
            connection.execute_batch(sql).expect("migration");
        }
        connection.pragma_update(None, "user_version", version as i64).expect("version");
        connection
    }

    #[test]
    fn a_snapshot_written_beside_the_positions_moves_to_its_own_row_intact() {
        let mut connection = at_version(2);
        let state: Vec<u8> = (0..100_000u32).map(|n| (n % 251) as u8).collect();
        connection
            .execute(
                "UPDATE checkpoint SET positions = 'p', snapshot_seq = 42, snapshot = ?1 WHERE id = 1",
                [&state],
            )
            .expect("checkpoint");
        migrate(&mut connection).expect("migrate");
        let recovered = crate::sqlite::read::recover(&connection).expect("recover");
        assert_eq!(recovered.positions.as_deref(), Some("p"));
        let snapshot = recovered.snapshot.expect("the snapshot survives the migration");
        assert_eq!((snapshot.seq, snapshot.state == state), (42, true));
        assert_eq!(recovered.next_seq, 43, "numbers after the snapshot's are never reused");
    }

    #[test]
    fn a_database_without_a_snapshot_migrates_to_none() {
        let mut connection = at_version(2);
        migrate(&mut connection).expect("migrate");
        let recovered = crate::sqlite::read::recover(&connection).expect("recover");
        assert!(recovered.snapshot.is_none() && recovered.positions.is_none());
    }

    /// Moving the aliases of a replaced interaction on to its successor is an index search,
    /// not a walk of every alias ever written.
    #[test]
    fn moving_aliases_to_a_successor_searches_the_index_not_the_table() {
        let mut connection = at_version(7);
        migrate(&mut connection).expect("migrate");
        let plan: Vec<String> = connection
            .prepare("EXPLAIN QUERY PLAN UPDATE aliases SET id = 'b' WHERE id = 'a'")
            .expect("prepare")
            .query_map([], |row| row.get(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(plan.iter().any(|step| step.contains("USING INDEX aliases_id")), "{plan:?}");
    }

    /// A database written before migration 5 finds the unpaired links of the interactions
    /// it holds.
    #[test]
    fn migration_five_indexes_the_unpaired_links_of_stored_interactions() {
        let mut connection = at_version(4);
        let doc = r#"{"interaction_id":"a1","unpaired_links":["L1","L2"]}"#;
        connection
            .execute(
                "INSERT INTO interactions (id, revision, start_us, complete, outcome, released_by, recording_id,
                    media_files, findings, doc, recording, summary)
                 VALUES ('a1', 0, 1, 1, 'answered', 'customer', 'r', 0, 0, ?1, '{}', '{}'),
                        ('b2', 0, 2, 1, 'answered', 'customer', 'r', 0, 0, 'not json', '{}', '{}')",
                [doc],
            )
            .expect("rows");
        migrate(&mut connection).expect("migrate");
        let found: Vec<String> = connection
            .prepare("SELECT islink || '=' || interaction_id FROM interaction_islinks ORDER BY islink")
            .expect("prepare")
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(found, ["L1=a1", "L2=a1"]);
    }

    /// The events of a call as schema 5 answered them, by its SQL over one row per event.
    fn call_events_v5(
        connection: &Connection,
        site: &str,
        key: &str,
        limit: i64,
    ) -> Vec<(i64, String, Option<i64>)> {
        let spans: Vec<(String, Option<i64>, Option<i64>)> = connection
            .prepare("SELECT conn_ids, first_us, last_us FROM calls WHERE site = ?1 AND (key = ?2 OR call_uuid = ?2)")
            .expect("prepare")
            .query_map([site, key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("calls");
        let row = |row: &rusqlite::Row<'_>| Ok((row.get(0)?, row.get(1)?, row.get(2)?));
        let mut found: Vec<(i64, String, Option<i64>)> = connection
            .prepare("SELECT seq, doc, arrived_us FROM events WHERE site = ?1 AND call_uuid = ?2 ORDER BY seq LIMIT ?3")
            .expect("prepare")
            .query_map(rusqlite::params![site, key, limit], row)
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("events");
        for (conn_ids, first, last) in spans {
            for conn in serde_json::from_str::<Vec<String>>(&conn_ids).expect("conn ids") {
                let mut statement = connection
                    .prepare(
                        "SELECT seq, doc, arrived_us FROM events WHERE site = ?1 AND conn_id = ?2 AND call_uuid IS NULL
                           AND (time_us IS NULL OR (time_us >= ?3 AND time_us <= ?4)) ORDER BY seq LIMIT ?5",
                    )
                    .expect("prepare");
                let params =
                    rusqlite::params![site, conn, first.unwrap_or(i64::MIN), last.unwrap_or(i64::MAX), limit];
                found.extend(statement.query_map(params, row).expect("query").map(|row| row.expect("event")));
            }
        }
        found.sort();
        found.dedup_by_key(|event| event.0);
        found.truncate(limit as usize);
        found
    }

    fn as_tuples(events: Vec<crate::StoredEvent>) -> Vec<(i64, String, Option<i64>)> {
        events.into_iter().map(|event| (event.seq as i64, event.doc, event.arrived_us)).collect()
    }

    /// A database of schema 5, its events one row each, keeps every event through
    /// migration 6: the events after any number and every call's events come back
    /// identical, and the old table is gone.
    #[test]
    fn migration_six_moves_every_stored_event_into_blocks_unchanged() {
        let mut connection = at_version(5);
        connection
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 45000)
                 INSERT INTO events (seq, site, time_us, message, call_uuid, conn_id, doc, arrived_us)
                 SELECT i * 2, 'S' || (i % 3),
                        CASE WHEN i % 97 = 0 THEN NULL ELSE 1000 * i END, 'EventRinging',
                        CASE WHEN i % 4 = 0 THEN NULL ELSE 'U' || (i / 12) END,
                        CASE WHEN i % 5 = 0 THEN NULL ELSE 'C' || (i / 20) END,
                        '{\"message\":\"EventRinging\",\"n\":' || i || ',\"pad\":\"' || hex(randomblob(40)) || '\"}',
                        CASE WHEN i % 2 = 0 THEN NULL ELSE 5000 * i END
                 FROM n;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
                 INSERT INTO calls (site, key, call_uuid, conn_ids, first_us, last_us, model, outcome, conformant,
                     released_by, report)
                 SELECT 'S' || (i % 3), 'U' || i, 'U' || i, json_array('C' || (i * 3 / 5), 'C' || (i * 3 / 5 + 1)),
                        12000 * i, 12000 * i + 30000, 'basic', 'answered', 1, 'customer', '{}'
                 FROM n;",
            )
            .expect("rows of schema 5");
        let pages: Vec<(u64, usize)> =
            vec![(0, usize::MAX >> 1), (0, 1), (1, 1000), (4321, 7), (89_990, 1000), (90_000, 5)];
        let before_pages: Vec<_> = pages
            .iter()
            .map(|(after, limit)| {
                connection
                    .prepare("SELECT seq, doc, arrived_us FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                    .expect("prepare")
                    .query_map(rusqlite::params![*after as i64, *limit as i64], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .expect("query")
                    .collect::<Result<Vec<(i64, String, Option<i64>)>, _>>()
                    .expect("events")
            })
            .collect();
        let calls: Vec<(String, String, i64)> =
            (0..310).map(|i| (format!("S{}", i % 3), format!("U{i}"), [1000, 3][i % 2])).collect();
        let before_calls: Vec<_> =
            calls.iter().map(|(site, key, limit)| call_events_v5(&connection, site, key, *limit)).collect();
        assert!(before_calls.iter().filter(|found| !found.is_empty()).count() > 200);

        migrate(&mut connection).expect("migrate");

        for ((after, limit), before) in pages.iter().zip(before_pages) {
            let after_migration =
                crate::sqlite::read::events_after(&connection, *after, *limit).expect("read");
            assert_eq!(as_tuples(after_migration), before, "events after {after}, {limit} at most");
        }
        for ((site, key, limit), before) in calls.iter().zip(before_calls) {
            let found =
                crate::sqlite::read::call_events(&connection, site, key, *limit as usize).expect("read");
            assert_eq!(as_tuples(found), before, "events of {site} {key}");
        }
        let recovered = crate::sqlite::read::recover(&connection).expect("recover");
        assert_eq!(recovered.next_seq, 90_001);
        let old: i64 = connection
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'events%'", [], |row| row.get(0))
            .expect("schema");
        assert_eq!(old, 0, "the table and its indexes are gone");
    }

    /// Rows as a schema-5 build wrote them: documents as text, no typed reporting columns.
    fn write_schema_five(connection: &Connection, simulated: &crate::simulated::Simulated) {
        use crate::record::{CallRecord, InteractionRecord};
        for (interaction, recording) in simulated.last_revisions().values() {
            let record = InteractionRecord::new(interaction, recording);
            let metadata = callstitch_recording::recording_metadata(recording, interaction)
                .to_value()
                .expect("the metadata encodes")
                .to_string();
            connection
                .execute(
                    "INSERT INTO interactions (id, revision, start_us, end_us, complete, outcome, released_by,
                        released_by_dn, ani, dnis, recording_id, media_files, findings, doc, recording, summary,
                        state, current_site)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                    rusqlite::params![
                        record.id,
                        record.revision,
                        record.start_us,
                        record.end_us,
                        record.complete,
                        record.outcome,
                        record.released_by,
                        record.released_by_dn,
                        record.ani,
                        record.dnis,
                        record.recording_id,
                        record.media_files.len() as i64,
                        record.findings.len() as i64,
                        record.doc,
                        metadata,
                        record.summary().to_string(),
                        record.state,
                        record.current_site
                    ],
                )
                .expect("interaction");
            for (ord, segment) in record.segments.iter().enumerate() {
                connection
                    .execute(
                        "INSERT INTO segments (interaction_id, ord, site, key, call_uuid, role, model, outcome)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        rusqlite::params![
                            record.id,
                            ord as i64,
                            segment.site,
                            segment.key,
                            segment.call_uuid,
                            segment.role,
                            segment.model,
                            segment.outcome
                        ],
                    )
                    .expect("segment");
            }
            for (ord, party) in record.parties.iter().enumerate() {
                connection
                    .execute(
                        "INSERT INTO parties (interaction_id, segment_ord, ord, dn, kind, role, final_state,
                            released_by, released_by_dn, provenance)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        rusqlite::params![
                            record.id,
                            party.segment as i64,
                            ord as i64,
                            party.dn,
                            party.kind,
                            party.role,
                            party.final_state,
                            party.released_by,
                            party.released_by_dn,
                            party.provenance
                        ],
                    )
                    .expect("party");
            }
            for (ord, finding) in record.findings.iter().enumerate() {
                let text = |key: &str| finding[key].as_str().unwrap_or_default().to_string();
                connection
                    .execute(
                        "INSERT INTO findings (interaction_id, ord, rule, message, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                        rusqlite::params![record.id, ord as i64, text("rule"), text("message"), finding.to_string()],
                    )
                    .expect("finding");
            }
        }
        for call in simulated.calls.iter().map(CallRecord::new) {
            connection
                .execute(
                    "INSERT INTO calls (site, key, call_uuid, conn_ids, first_us, last_us, model, outcome,
                        conformant, released_by, released_by_dn, report)
                     VALUES (?1, ?2, ?3, '[]', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    rusqlite::params![
                        call.site,
                        call.key,
                        call.call_uuid,
                        call.first_us,
                        call.last_us,
                        call.model,
                        call.outcome,
                        call.conformant,
                        call.released_by,
                        call.released_by_dn,
                        call.report
                    ],
                )
                .expect("call");
        }
    }

    /// The rows of a reporting view, as text, in a stable order.
    fn view(connection: &Connection, sql: &str) -> Vec<String> {
        let mut statement = connection.prepare(sql).expect("prepare");
        let columns = statement.column_count();
        let rows = statement
            .query_map([], |row| {
                (0..columns)
                    .map(|index| {
                        row.get::<_, rusqlite::types::Value>(index).map(|value| format!("{value:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|values| values.join("|"))
            })
            .expect("query")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        rows
    }

    /// A schema-5 database's rows are converted in place: every API answer stays what it
    /// was, and the typed reporting rows are those a fresh import of the same output writes
    /// (all but the parties' first and last events, which the stored documents never held).
    #[test]
    fn migration_seven_converts_stored_rows_to_what_a_fresh_import_writes() {
        let simulated = crate::simulated::Simulated::run(80, 4, 21);
        let mut old = at_version(5);
        write_schema_five(&old, &simulated);
        let stored = |sql: &str| -> Vec<(String, String)> {
            old.prepare(sql)
                .expect("prepare")
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let before =
            stored("SELECT id, doc || '\n' || recording || '\n' || summary FROM interactions ORDER BY id");
        let reports = stored("SELECT site || '/' || key, report FROM calls ORDER BY id");
        migrate(&mut old).expect("migrate");

        let mut fresh = Connection::open_in_memory().expect("open");
        migrate(&mut fresh).expect("schema");
        let transaction = fresh.transaction().expect("begin");
        let batch = crate::record::Batch {
            calls: simulated.calls.iter().map(crate::record::CallRecord::new).collect(),
            interactions: simulated
                .last_revisions()
                .values()
                .map(|(interaction, recording)| crate::record::InteractionRecord::new(interaction, recording))
                .collect(),
            ..crate::record::Batch::default()
        };
        crate::sqlite::write::commit(&transaction, &batch).expect("write");
        transaction.commit().expect("commit");

        let page = crate::sqlite::read::interactions(
            &old,
            &crate::query::InteractionQuery { limit: 1000, ..Default::default() },
        )
        .expect("page");
        assert_eq!(page.items.len(), before.len());
        for (id, text) in &before {
            let mut parts = text.splitn(3, '\n');
            let mut next = || {
                serde_json::from_str::<serde_json::Value>(parts.next().unwrap_or_default()).expect("old JSON")
            };
            let (doc, recording, summary) = (next(), next(), next());
            let read = crate::sqlite::read::interaction(&old, id).expect("read").expect("present");
            let read_doc = read.doc.to_value().expect("the document encodes");
            assert_eq!((read_doc, read.recording), (doc, recording), "{id}");
            assert!(page.items.iter().any(|item| item.render() == summary), "{id}: its summary");
        }
        for (call, report) in &reports {
            let (site, key) = call.split_once('/').expect("site/key");
            let read = crate::sqlite::read::calls(&old, site, key).expect("calls");
            let report: serde_json::Value = serde_json::from_str(report).expect("report");
            assert!(read.iter().any(|stored| stored.report == report), "{call}");
        }
        for sql in [
            "SELECT * FROM report_interactions ORDER BY interaction_id",
            "SELECT * FROM report_segments ORDER BY interaction_id, ord",
            "SELECT interaction_id, ord, dn, kind, final_state, released_by, release_provenance, queue, agent_id,
                    dialing_ms, ringing_ms, queued_ms, talking_ms, held_ms
               FROM report_parties ORDER BY interaction_id, ord",
            "SELECT * FROM report_media_files ORDER BY interaction_id, ord",
            "SELECT * FROM report_findings ORDER BY interaction_id, ord",
        ] {
            let converted = view(&old, sql);
            assert!(!converted.is_empty(), "{sql}");
            assert_eq!(converted, view(&fresh, sql), "{sql}");
        }
    }
}
