//! The PostgreSQL schema and its versioned migrations: the version is the one row of
//! `callstitch_schema`, read under a row lock. The steps a database lacks run once, in
//! order, in one transaction with the version's update (PostgreSQL's DDL is transactional:
//! a migration that fails leaves the database as it was); a database written by a newer
//! callstitch (a higher version) is refused rather than guessed at, as SQLite's
//! `PRAGMA user_version` is.
//!
//! Version 1 is SQLite's schema 7 in PostgreSQL's types: the same tables and columns (raw
//! event blocks with their index tables, compact interactions and calls, the typed children
//! and the `report_*` views of docs/reporting.md), with `event_blocks` and `calls`
//! partitioned by day ([`super::partition`]; rows without a day in the `_undated` partition).

use tokio_postgres::Client;

use crate::error::StoreError;

/// The steps of the schema, in order; [`VERSIONS`] says which make which version.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema (SQLite's 7).
    r#"
    CREATE SEQUENCE event_blocks_id;
    CREATE TABLE event_blocks (
        id        BIGINT NOT NULL DEFAULT nextval('event_blocks_id'),
        site      TEXT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq  BIGINT NOT NULL,
        first_us  BIGINT,
        last_us   BIGINT,
        untimed   BIGINT NOT NULL,
        events    BIGINT NOT NULL,
        data      BYTEA NOT NULL,
        day_us    BIGINT
    ) PARTITION BY RANGE (day_us);
    CREATE TABLE event_blocks_undated PARTITION OF event_blocks (CHECK (day_us IS NULL)) DEFAULT;
    CREATE INDEX event_blocks_seq ON event_blocks (first_seq, last_seq);
    CREATE INDEX event_blocks_span ON event_blocks ((last_seq - first_seq));
    CREATE INDEX event_blocks_block ON event_blocks (id);
    CREATE TABLE event_block_calls (
        site      TEXT NOT NULL,
        call_uuid TEXT NOT NULL,
        block     BIGINT NOT NULL,
        PRIMARY KEY (site, call_uuid, block)
    );
    CREATE INDEX event_block_calls_block ON event_block_calls (block);
    CREATE TABLE event_block_conns (
        site    TEXT NOT NULL,
        conn_id TEXT NOT NULL,
        block   BIGINT NOT NULL,
        PRIMARY KEY (site, conn_id, block)
    );
    CREATE INDEX event_block_conns_block ON event_block_conns (block);

    CREATE SEQUENCE calls_id;
    CREATE TABLE calls (
        id             BIGINT NOT NULL DEFAULT nextval('calls_id'),
        site           TEXT NOT NULL,
        key            TEXT NOT NULL,
        call_uuid      TEXT,
        conn_ids       TEXT NOT NULL,
        first_us       BIGINT,
        last_us        BIGINT,
        model          TEXT NOT NULL,
        outcome        TEXT NOT NULL,
        conformant     BOOLEAN NOT NULL,
        released_by    TEXT NOT NULL,
        released_by_dn TEXT,
        report_z       BYTEA NOT NULL,
        day_us         BIGINT
    ) PARTITION BY RANGE (day_us);
    CREATE TABLE calls_undated PARTITION OF calls (CHECK (day_us IS NULL)) DEFAULT;
    CREATE INDEX calls_key ON calls (site, key);
    CREATE INDEX calls_last ON calls (last_us);
    CREATE TABLE call_islinks (
        islink TEXT NOT NULL,
        site   TEXT NOT NULL,
        key    TEXT NOT NULL,
        PRIMARY KEY (islink, site, key)
    );
    CREATE INDEX call_islinks_call ON call_islinks (site, key);

    CREATE TABLE interactions (
        id               TEXT COLLATE "C" PRIMARY KEY,
        revision         BIGINT NOT NULL,
        start_us         BIGINT NOT NULL,
        end_us           BIGINT,
        complete         BOOLEAN NOT NULL,
        state            TEXT NOT NULL DEFAULT 'complete',
        linking          TEXT,
        outcome          TEXT NOT NULL,
        released_by      TEXT NOT NULL,
        released_by_dn   TEXT,
        ani              TEXT,
        dnis             TEXT,
        current_site     TEXT,
        current_since_us BIGINT,
        replaces         TEXT,
        sites            TEXT,
        call_uuids       TEXT,
        party_dns        TEXT,
        recording_id     TEXT NOT NULL,
        media_files      BIGINT NOT NULL,
        findings         BIGINT NOT NULL,
        doc_z            BYTEA NOT NULL
    );
    CREATE INDEX interactions_start ON interactions (start_us DESC, id DESC);
    CREATE INDEX interactions_recording ON interactions (recording_id);
    CREATE INDEX interactions_end ON interactions (end_us);
    CREATE INDEX interactions_state ON interactions (state, start_us DESC, id DESC);

    CREATE TABLE segments (
        interaction_id TEXT NOT NULL,
        ord            BIGINT NOT NULL,
        site           TEXT COLLATE "C" NOT NULL,
        key            TEXT NOT NULL,
        call_uuid      TEXT,
        role           TEXT NOT NULL,
        model          TEXT NOT NULL,
        outcome        TEXT NOT NULL,
        start_us       BIGINT,
        end_us         BIGINT,
        PRIMARY KEY (interaction_id, ord)
    );
    CREATE INDEX segments_call_uuid ON segments (call_uuid);
    CREATE INDEX segments_key ON segments (site, key);
    CREATE INDEX segments_key_only ON segments (key);

    CREATE TABLE parties (
        interaction_id TEXT NOT NULL,
        segment_ord    BIGINT NOT NULL,
        ord            BIGINT NOT NULL,
        dn             TEXT NOT NULL,
        kind           TEXT NOT NULL,
        role           TEXT,
        final_state    TEXT NOT NULL,
        released_by    TEXT NOT NULL,
        released_by_dn TEXT,
        provenance     TEXT NOT NULL,
        queue          TEXT,
        agent_id       TEXT,
        dialing_ms     BIGINT NOT NULL DEFAULT 0,
        ringing_ms     BIGINT NOT NULL DEFAULT 0,
        queued_ms      BIGINT NOT NULL DEFAULT 0,
        talking_ms     BIGINT NOT NULL DEFAULT 0,
        held_ms        BIGINT NOT NULL DEFAULT 0,
        first_us       BIGINT,
        last_us        BIGINT,
        PRIMARY KEY (interaction_id, segment_ord, ord)
    );

    CREATE TABLE interaction_dns (
        dn             TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        PRIMARY KEY (dn, interaction_id)
    );
    CREATE INDEX interaction_dns_id ON interaction_dns (interaction_id);
    CREATE TABLE interaction_conn_ids (
        conn_id        TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        PRIMARY KEY (conn_id, interaction_id)
    );
    CREATE INDEX interaction_conn_ids_id ON interaction_conn_ids (interaction_id);
    CREATE TABLE links (
        interaction_id TEXT NOT NULL,
        ord            BIGINT NOT NULL,
        evidence       TEXT NOT NULL,
        islink         TEXT,
        from_segment   TEXT NOT NULL,
        to_segment     TEXT NOT NULL,
        consistent     BOOLEAN NOT NULL,
        PRIMARY KEY (interaction_id, ord)
    );
    CREATE INDEX links_islink ON links (islink) WHERE islink IS NOT NULL;
    CREATE TABLE interaction_islinks (
        islink         TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        PRIMARY KEY (islink, interaction_id)
    );
    CREATE INDEX interaction_islinks_id ON interaction_islinks (interaction_id);
    CREATE TABLE findings (
        interaction_id TEXT NOT NULL,
        ord            BIGINT NOT NULL,
        rule           TEXT NOT NULL,
        message        TEXT NOT NULL,
        doc            TEXT NOT NULL,
        PRIMARY KEY (interaction_id, ord)
    );
    CREATE TABLE interaction_media_files (
        interaction_id TEXT NOT NULL,
        ord            BIGINT NOT NULL,
        media_id       TEXT NOT NULL,
        site           TEXT NOT NULL,
        call_uuid      TEXT NOT NULL,
        recorded_dn    TEXT NOT NULL,
        side           TEXT NOT NULL,
        provenance     TEXT NOT NULL,
        matched_by     TEXT NOT NULL,
        segment        TEXT,
        start_us       BIGINT NOT NULL,
        stop_us        BIGINT,
        archive_id     TEXT,
        PRIMARY KEY (interaction_id, ord)
    );
    CREATE TABLE aliases (
        old_id TEXT PRIMARY KEY,
        id     TEXT NOT NULL
    );
    CREATE INDEX aliases_id ON aliases (id);

    CREATE TABLE media_files (
        media_id  TEXT PRIMARY KEY,
        site      TEXT NOT NULL,
        call_uuid TEXT NOT NULL,
        doc       TEXT NOT NULL
    );
    CREATE INDEX media_files_call ON media_files (call_uuid);
    CREATE TABLE media_posts (
        ordinal   BIGINT PRIMARY KEY,
        after_seq BIGINT NOT NULL,
        files     TEXT NOT NULL
    );
    CREATE TABLE checkpoint (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        positions TEXT
    );
    INSERT INTO checkpoint (id) VALUES (1);
    CREATE TABLE snapshot (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        seq         BIGINT NOT NULL,
        state       BYTEA NOT NULL,
        media_posts BIGINT NOT NULL DEFAULT 0
    );
    "#,
    // 1 continued: the reporting views (docs/reporting.md).
    VIEWS,
    // 2: workers that share the estate (docs/scale.md, super::estate): each site's owner
    // commits its stream position, its engine's state and its news; the linker reads the
    // news; raw events are numbered from one counter.
    r#"
    CREATE TABLE estate_sites (
        site       TEXT PRIMARY KEY,
        stream_seq BIGINT NOT NULL DEFAULT 0,
        news_pos   BIGINT NOT NULL DEFAULT 0,
        engine     BYTEA,
        worker     TEXT,
        written_us BIGINT
    );
    CREATE TABLE estate_news (
        site      TEXT NOT NULL,
        pos       BIGINT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq  BIGINT NOT NULL,
        items     INTEGER NOT NULL,
        data      BYTEA NOT NULL,
        PRIMARY KEY (site, pos)
    );
    CREATE TABLE estate_problems (
        site       TEXT NOT NULL,
        stream_seq BIGINT NOT NULL,
        problem    TEXT NOT NULL,
        PRIMARY KEY (site, stream_seq)
    );
    CREATE TABLE estate_seq (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        next BIGINT NOT NULL
    );
    INSERT INTO estate_seq (id, next) SELECT 1, COALESCE(MAX(last_seq), 0) + 1 FROM event_blocks;
    "#,
    // 3: backfills read from the log files (`callstitch worker --logs`): a site whose owner
    // has not read its files to their end holds the linker, as a stream not read to its end
    // does.
    r#"
    ALTER TABLE estate_sites ADD COLUMN reading BOOLEAN NOT NULL DEFAULT false;
    "#,
];

/// The reporting views, with the names and columns of SQLite's (docs/reporting.md): times
/// UTC, `*_us` microseconds since the epoch, `*_time` ISO 8601 text to the millisecond,
/// durations in milliseconds, flags 1 or 0, lists JSON text.
const VIEWS: &str = r#"
    -- To the millisecond exactly as SQLite's strftime('%f', us / 1000000.0, 'unixepoch')
    -- makes it: the seconds as a double, to a Julian day in milliseconds by its arithmetic
    -- (which rounds up some times a microsecond short of half a millisecond).
    CREATE FUNCTION callstitch_time(us BIGINT) RETURNS TEXT LANGUAGE SQL IMMUTABLE AS $$
        SELECT to_char(
            to_timestamp((trunc((us::float8 / 1000000.0::float8) * 1000.0::float8
                                + 210866760000000.0::float8 + 0.5::float8)::bigint
                          - 210866760000000) / 1000.0) AT TIME ZONE 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    $$;

    CREATE VIEW report_interactions AS
    SELECT i.id AS interaction_id, i.revision, i.state, i.complete::int AS complete, i.linking,
           NULLIF(i.start_us, 0) AS start_us, i.end_us,
           callstitch_time(NULLIF(i.start_us, 0)) AS start_time,
           callstitch_time(i.end_us) AS end_time,
           CASE WHEN i.start_us <> 0 THEN (i.end_us - i.start_us) / 1000 END AS duration_ms,
           i.outcome, i.released_by, i.released_by_dn, i.ani, i.dnis, i.current_site,
           json_array_length(i.sites::json) AS site_count, i.sites,
           (SELECT COUNT(*) FROM segments s WHERE s.interaction_id = i.id) AS call_count,
           i.recording_id, i.media_files AS media_file_count, i.findings AS finding_count
      FROM interactions i;

    CREATE VIEW report_segments AS
    SELECT s.interaction_id, s.ord, s.site, s.key, s.call_uuid, s.role, s.model, s.outcome,
           s.start_us, s.end_us, callstitch_time(s.start_us) AS start_time,
           callstitch_time(s.end_us) AS end_time, (s.end_us - s.start_us) / 1000 AS duration_ms
      FROM segments s;

    CREATE VIEW report_parties AS
    SELECT p.interaction_id, p.segment_ord, p.ord, s.site, s.key, s.call_uuid,
           p.dn, p.kind, p.role, p.final_state, p.released_by, p.released_by_dn,
           p.provenance AS release_provenance, p.queue, p.agent_id,
           p.dialing_ms, p.ringing_ms, p.queued_ms, p.talking_ms, p.held_ms,
           p.first_us, p.last_us, callstitch_time(p.first_us) AS first_time,
           callstitch_time(p.last_us) AS last_time
      FROM parties p
      JOIN segments s ON s.interaction_id = p.interaction_id AND s.ord = p.segment_ord;

    CREATE VIEW report_calls AS
    SELECT c.site, c.key, c.call_uuid, c.conn_ids, c.first_us, c.last_us,
           callstitch_time(c.first_us) AS first_time, callstitch_time(c.last_us) AS last_time,
           c.model, c.outcome, c.conformant::int AS conformant, c.released_by, c.released_by_dn,
           (SELECT s.interaction_id FROM segments s WHERE s.site = c.site AND s.key = c.key LIMIT 1)
               AS interaction_id
      FROM calls c;

    CREATE VIEW report_links AS
    SELECT l.interaction_id, l.ord, l.evidence, l.islink, l.from_segment, l.to_segment,
           l.consistent::int AS consistent
      FROM links l;

    CREATE VIEW report_findings AS
    SELECT f.interaction_id, f.ord, f.rule, f.message,
           (f.doc::json -> 'segments')::text AS segments,
           (f.doc::json -> 'files')::text AS files,
           (f.doc::json -> 'evidence')::text AS evidence
      FROM findings f;

    CREATE VIEW report_media_files AS
    SELECT m.interaction_id, m.ord, m.media_id, m.site, m.call_uuid, m.recorded_dn, m.side,
           m.provenance, m.matched_by, m.segment, m.start_us, m.stop_us,
           callstitch_time(m.start_us) AS start_time, callstitch_time(m.stop_us) AS stop_time,
           (m.stop_us - m.start_us) / 1000 AS duration_ms, m.archive_id
      FROM interaction_media_files m;
"#;

/// Where each version's steps end in [`MIGRATIONS`]: version `n` (1-based) is the steps
/// from the end of version `n - 1` to `VERSIONS[n - 1]`.
const VERSIONS: &[usize] = &[2, 3, 4];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = VERSIONS.len() as i64;

/// The version table, made when missing (a fresh database is at version 0).
const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS callstitch_schema (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version BIGINT NOT NULL
    );
    INSERT INTO callstitch_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;";

/// The key of the transaction's advisory lock that serializes migrations ("csschema").
const MIGRATION_LOCK: i64 = 0x6373_7363_6865_6d61;

/// Brings the database to [`SCHEMA_VERSION`], or refuses one from a newer callstitch.
pub async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    // Processes that open a fresh database at once (a worker and the linker started
    // together) migrate it one after the other: `CREATE TABLE IF NOT EXISTS` alone is not
    // safe against a concurrent one (both pass the check, one fails on the catalog's
    // unique index), so the whole migration holds a lock that goes with the transaction.
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    transaction.batch_execute(VERSION_TABLE).await?;
    let found: i64 = transaction
        .query_one("SELECT version FROM callstitch_schema WHERE id = 1 FOR UPDATE", &[])
        .await?
        .try_get(0)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found, known: SCHEMA_VERSION });
    }
    let mut from = 0;
    for (version, end) in VERSIONS.iter().enumerate() {
        let version = version as i64 + 1;
        if version > found {
            for sql in MIGRATIONS.get(from..*end).unwrap_or_default() {
                transaction.batch_execute(sql).await?;
            }
            transaction
                .execute("UPDATE callstitch_schema SET version = $1 WHERE id = 1", &[&version])
                .await?;
        }
        from = *end;
    }
    transaction.commit().await?;
    Ok(())
}
