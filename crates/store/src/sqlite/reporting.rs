//! Compact rows and the reporting schema (docs/reporting.md).
//!
//! The interaction document and the call report are stored as one zstd frame each; the
//! recording metadata and the search list's summary are rendered on read from the document
//! and the typed columns. What a report writer needs is typed: the parties' time in each
//! state, queue and agent, the segments' times, the recording's media files; and the
//! `report_*` views put it in the shape docs/reporting.md promises.
//!
//! A database of the schema before ([`MIGRATION`]) is converted in place by [`convert`]: its
//! documents compressed, the new columns filled from them.

use rusqlite::{params, Transaction};
use serde_json::Value;

use crate::compact::pack;
use crate::error::StoreError;

/// The new interactions and calls tables (filled by the conversion, then put in the old
/// ones' place: copied row by row they come out compact, where rows updated in place and a
/// column dropped left most of every page empty), the typed columns of the child tables and
/// the media files table.
pub const MIGRATION: &str = r#"
    CREATE TABLE interactions_compact (
        id               TEXT PRIMARY KEY,
        revision         INTEGER NOT NULL,
        start_us         INTEGER NOT NULL,
        end_us           INTEGER,
        complete         INTEGER NOT NULL,
        state            TEXT NOT NULL DEFAULT 'complete',
        linking          TEXT,
        outcome          TEXT NOT NULL,
        released_by      TEXT NOT NULL,
        released_by_dn   TEXT,
        ani              TEXT,
        dnis             TEXT,
        current_site     TEXT,
        current_since_us INTEGER,
        replaces         TEXT,
        sites            TEXT,
        call_uuids       TEXT,
        party_dns        TEXT,
        recording_id     TEXT NOT NULL,
        media_files      INTEGER NOT NULL,
        findings         INTEGER NOT NULL,
        doc_z            BLOB NOT NULL,
        recording_z      BLOB
    );
    CREATE TABLE calls_compact (
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
        report_z       BLOB NOT NULL
    );
    ALTER TABLE segments ADD COLUMN start_us INTEGER;
    ALTER TABLE segments ADD COLUMN end_us INTEGER;
    ALTER TABLE parties ADD COLUMN queue TEXT;
    ALTER TABLE parties ADD COLUMN agent_id TEXT;
    ALTER TABLE parties ADD COLUMN dialing_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE parties ADD COLUMN ringing_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE parties ADD COLUMN queued_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE parties ADD COLUMN talking_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE parties ADD COLUMN held_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE parties ADD COLUMN first_us INTEGER;
    ALTER TABLE parties ADD COLUMN last_us INTEGER;
    CREATE TABLE interaction_media_files (
        interaction_id TEXT NOT NULL,
        ord            INTEGER NOT NULL,
        media_id       TEXT NOT NULL,
        site           TEXT NOT NULL,
        call_uuid      TEXT NOT NULL,
        recorded_dn    TEXT NOT NULL,
        side           TEXT NOT NULL,
        provenance     TEXT NOT NULL,
        matched_by     TEXT NOT NULL,
        segment        TEXT,
        start_us       INTEGER NOT NULL,
        stop_us        INTEGER,
        archive_id     TEXT,
        PRIMARY KEY (interaction_id, ord)
    );
"#;

/// After the conversion: the compact tables take the old ones' place, with their indexes.
const SWAP: &str = r#"
    DROP TABLE interactions;
    ALTER TABLE interactions_compact RENAME TO interactions;
    CREATE INDEX interactions_start ON interactions(start_us DESC, id DESC);
    CREATE INDEX interactions_recording ON interactions(recording_id);
    CREATE INDEX interactions_end ON interactions(end_us);
    CREATE INDEX interactions_state ON interactions(state, start_us DESC, id DESC);
    DROP TABLE calls;
    ALTER TABLE calls_compact RENAME TO calls;
    CREATE INDEX calls_key ON calls(site, key);
    CREATE INDEX calls_last ON calls(last_us);
"#;

/// The reporting views (docs/reporting.md). Times are UTC: `*_us` microseconds since the
/// epoch, `*_time` the same as ISO 8601 text to the millisecond; durations in milliseconds.
pub const VIEWS: &str = r#"
    CREATE VIEW report_interactions AS
    SELECT i.id AS interaction_id, i.revision, i.state, i.complete, i.linking,
           NULLIF(i.start_us, 0) AS start_us, i.end_us,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(i.start_us, 0) / 1000000.0, 'unixepoch') AS start_time,
           strftime('%Y-%m-%dT%H:%M:%fZ', i.end_us / 1000000.0, 'unixepoch') AS end_time,
           CASE WHEN i.start_us <> 0 THEN (i.end_us - i.start_us) / 1000 END AS duration_ms,
           i.outcome, i.released_by, i.released_by_dn, i.ani, i.dnis, i.current_site,
           json_array_length(i.sites) AS site_count, i.sites,
           (SELECT COUNT(*) FROM segments s WHERE s.interaction_id = i.id) AS call_count,
           i.recording_id, i.media_files AS media_file_count, i.findings AS finding_count
      FROM interactions i;

    CREATE VIEW report_segments AS
    SELECT s.interaction_id, s.ord, s.site, s.key, s.call_uuid, s.role, s.model, s.outcome,
           s.start_us, s.end_us,
           strftime('%Y-%m-%dT%H:%M:%fZ', s.start_us / 1000000.0, 'unixepoch') AS start_time,
           strftime('%Y-%m-%dT%H:%M:%fZ', s.end_us / 1000000.0, 'unixepoch') AS end_time,
           (s.end_us - s.start_us) / 1000 AS duration_ms
      FROM segments s;

    CREATE VIEW report_parties AS
    SELECT p.interaction_id, p.segment_ord, p.ord, s.site, s.key, s.call_uuid,
           p.dn, p.kind, p.role, p.final_state, p.released_by, p.released_by_dn,
           p.provenance AS release_provenance, p.queue, p.agent_id,
           p.dialing_ms, p.ringing_ms, p.queued_ms, p.talking_ms, p.held_ms,
           p.first_us, p.last_us,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.first_us / 1000000.0, 'unixepoch') AS first_time,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.last_us / 1000000.0, 'unixepoch') AS last_time
      FROM parties p
      JOIN segments s ON s.interaction_id = p.interaction_id AND s.ord = p.segment_ord;

    CREATE VIEW report_calls AS
    SELECT c.site, c.key, c.call_uuid, c.conn_ids, c.first_us, c.last_us,
           strftime('%Y-%m-%dT%H:%M:%fZ', c.first_us / 1000000.0, 'unixepoch') AS first_time,
           strftime('%Y-%m-%dT%H:%M:%fZ', c.last_us / 1000000.0, 'unixepoch') AS last_time,
           c.model, c.outcome, c.conformant, c.released_by, c.released_by_dn,
           (SELECT s.interaction_id FROM segments s WHERE s.site = c.site AND s.key = c.key LIMIT 1)
               AS interaction_id
      FROM calls c;

    CREATE VIEW report_links AS
    SELECT l.interaction_id, l.ord, l.evidence, l.islink, l.from_segment, l.to_segment, l.consistent
      FROM links l;

    CREATE VIEW report_findings AS
    SELECT f.interaction_id, f.ord, f.rule, f.message,
           json_extract(f.doc, '$.segments') AS segments,
           json_extract(f.doc, '$.files') AS files,
           json_extract(f.doc, '$.evidence') AS evidence
      FROM findings f;

    CREATE VIEW report_media_files AS
    SELECT m.interaction_id, m.ord, m.media_id, m.site, m.call_uuid, m.recorded_dn, m.side,
           m.provenance, m.matched_by, m.segment, m.start_us, m.stop_us,
           strftime('%Y-%m-%dT%H:%M:%fZ', m.start_us / 1000000.0, 'unixepoch') AS start_time,
           strftime('%Y-%m-%dT%H:%M:%fZ', m.stop_us / 1000000.0, 'unixepoch') AS stop_time,
           (m.stop_us - m.start_us) / 1000 AS duration_ms, m.archive_id
      FROM interaction_media_files m;
"#;

/// Converts the rows a schema-5 database holds: each interaction's document and recording
/// metadata compressed (the recording stays as it was rendered: the parties' first and last
/// events it was made from are not in the document), its new columns filled from its
/// document; each call's report compressed. Then the compact tables take the old ones' place
/// and the views come. (The pages the old tables held are free for later writes; `VACUUM`
/// gives them back to the file system.)
pub fn convert(transaction: &Transaction<'_>) -> Result<(), StoreError> {
    copy_interactions(transaction)?;
    copy_calls(transaction)?;
    transaction.execute_batch(SWAP)?;
    transaction.execute_batch(VIEWS)?;
    Ok(())
}

/// The interaction columns both schemas have, in order.
const KEPT: &str =
    "id, revision, start_us, end_us, complete, state, outcome, released_by, released_by_dn, ani, dnis,
    current_site, recording_id, media_files, findings";

fn copy_interactions(transaction: &Transaction<'_>) -> Result<(), StoreError> {
    let mut select = transaction.prepare(&format!("SELECT {KEPT}, doc, recording FROM interactions"))?;
    let mut rows = select.query([])?;
    let mut insert = transaction.prepare(&format!(
        "INSERT INTO interactions_compact ({KEPT}, doc_z, recording_z, linking, current_since_us, replaces, sites,
             call_uuids, party_dns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
    ))?;
    while let Some(row) = rows.next()? {
        let kept: Vec<rusqlite::types::Value> =
            (0..15).map(|index| row.get(index)).collect::<Result<_, _>>()?;
        let id: String = row.get(0)?;
        let doc: String = row.get(15)?;
        let recording: String = row.get(16)?;
        // A document that is not JSON stays as it is: reading it says so, as before.
        let parsed = serde_json::from_str::<Value>(&doc).ok();
        let empty = Value::Null;
        let member = |key: &str| parsed.as_ref().map_or(&empty, |doc| &doc[key]);
        let mut values = kept;
        values.extend([
            pack(doc.as_bytes())?.into(),
            pack(recording.as_bytes())?.into(),
            member("linking").as_str().map(str::to_string).into(),
            micros(member("current_since")).into(),
            list(member("replaces")).into(),
            member("sites").is_array().then(|| member("sites").to_string()).into(),
            parsed.as_ref().map(|doc| call_uuids_and_dns(doc).0).into(),
            parsed.as_ref().map(|doc| call_uuids_and_dns(doc).1).into(),
        ]);
        insert.execute(rusqlite::params_from_iter(values))?;
        if let Some(doc) = &parsed {
            fill_children(transaction, &id, doc)?;
        }
    }
    Ok(())
}

fn copy_calls(transaction: &Transaction<'_>) -> Result<(), StoreError> {
    const COLUMNS: &str = "id, site, key, call_uuid, conn_ids, first_us, last_us, model, outcome, conformant,
        released_by, released_by_dn";
    let mut select = transaction.prepare(&format!("SELECT {COLUMNS}, report FROM calls"))?;
    let mut rows = select.query([])?;
    let mut insert = transaction.prepare(&format!(
        "INSERT INTO calls_compact ({COLUMNS}, report_z) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?;
    while let Some(row) = rows.next()? {
        let mut values: Vec<rusqlite::types::Value> =
            (0..12).map(|index| row.get(index)).collect::<Result<_, _>>()?;
        let report: String = row.get(12)?;
        values.push(pack(report.as_bytes())?.into());
        insert.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

/// A time of the document (RFC 3339) in microseconds.
fn micros(value: &Value) -> Option<i64> {
    value.as_str().and_then(callstitch_tlib::Timestamp::parse_rfc3339).map(|time| time.0)
}

/// The JSON text of a list member, `None` when it is absent or empty.
fn list(value: &Value) -> Option<String> {
    value.as_array().filter(|list| !list.is_empty()).map(|_| value.to_string())
}

/// The search list's CallUUIDs (a segment's key without one) and party DNs of a document,
/// as JSON lists: as [`crate::record::InteractionRecord`] makes them.
fn call_uuids_and_dns(doc: &Value) -> (String, String) {
    let segments = doc["segments"].as_array().map(Vec::as_slice).unwrap_or_default();
    let text = |value: &Value| value.as_str().map(str::to_string);
    let uuids: Vec<String> = segments
        .iter()
        .filter_map(|segment| text(&segment["call_uuid"]).or_else(|| text(&segment["key"])))
        .collect();
    let mut dns: Vec<String> = segments
        .iter()
        .flat_map(|segment| segment["parties"].as_array().map(Vec::as_slice).unwrap_or_default())
        .filter_map(|party| text(&party["dn"]))
        .collect();
    dns.sort_unstable();
    dns.dedup();
    let json = |list: &[String]| serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string());
    (json(&uuids), json(&dns))
}

/// The typed columns of an interaction's segments and parties, and its media files, from
/// its document.
fn fill_children(transaction: &Transaction<'_>, id: &str, doc: &Value) -> Result<(), StoreError> {
    let segments = doc["segments"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut party_ord = 0i64;
    for (ord, segment) in segments.iter().enumerate() {
        transaction.execute(
            "UPDATE segments SET start_us = ?3, end_us = ?4 WHERE interaction_id = ?1 AND ord = ?2",
            params![id, ord as i64, micros(&segment["start"]), micros(&segment["end"])],
        )?;
        for party in segment["parties"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let times = &party["times"];
            let ms = |key: &str| times[key].as_i64().unwrap_or(0);
            transaction.execute(
                "UPDATE parties SET queue = ?3, agent_id = ?4, dialing_ms = ?5, ringing_ms = ?6, queued_ms = ?7,
                        talking_ms = ?8, held_ms = ?9
                  WHERE interaction_id = ?1 AND ord = ?2",
                params![
                    id,
                    party_ord,
                    party["queue"].as_str(),
                    party["agent_id"].as_str(),
                    ms("dialing_ms"),
                    ms("ringing_ms"),
                    ms("queued_ms"),
                    ms("talking_ms"),
                    ms("held_ms")
                ],
            )?;
            party_ord += 1;
        }
    }
    let files = doc["recording"]["media_files"].as_array().map(Vec::as_slice).unwrap_or_default();
    for (ord, file) in files.iter().enumerate() {
        let Ok(file) = serde_json::from_value::<callstitch_recording::MediaFile>(file.clone()) else {
            continue;
        };
        crate::sqlite::write::insert_media_file(transaction, id, ord, &crate::record::media_file_row(&file))?;
    }
    Ok(())
}
