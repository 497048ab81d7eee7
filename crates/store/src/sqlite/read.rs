//! The SQLite read path: recovery, replay, the interaction search with its cursor, and the
//! lookups of one interaction, recording or call.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde_json::Value;

use crate::error::StoreError;
use crate::query::{Cursor, InteractionQuery, Page};
use crate::record::{MediaPost, Snapshot};
use crate::{Recovery, StoreCounts, StoredCall, StoredEvent, StoredInteraction};

/// The most rows one page returns, whatever the caller asks.
pub const MAX_PAGE: usize = 1000;

fn parse(what: &'static str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::BadDocument { what, source })
}

pub fn recover(connection: &Connection) -> Result<Recovery, StoreError> {
    let positions: Option<String> =
        connection.query_row("SELECT positions FROM checkpoint WHERE id = 1", [], |row| row.get(0))?;
    let snapshot = connection
        .query_row("SELECT seq, state, media_posts FROM snapshot WHERE id = 1", [], |row| {
            Ok(Snapshot {
                seq: row.get::<_, i64>(0)? as u64,
                state: row.get(1)?,
                media_posts: row.get::<_, i64>(2)? as u64,
            })
        })
        .optional()?;
    let last: Option<i64> = connection.query_row("SELECT MAX(seq) FROM events", [], |row| row.get(0))?;
    // After a prune every event may be gone: never hand out a number already used.
    let floor = snapshot.as_ref().map_or(0, |snapshot| snapshot.seq);
    let next_seq = (last.unwrap_or(0) as u64).max(floor) + 1;
    Ok(Recovery { next_seq, snapshot, positions })
}

fn events(connection: &Connection, sql: &str, values: Vec<SqlValue>) -> Result<Vec<StoredEvent>, StoreError> {
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(params_from_iter(values), |row| {
        Ok(StoredEvent { seq: row.get::<_, i64>(0)? as u64, doc: row.get(1)?, arrived_us: row.get(2)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn events_after(
    connection: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    events(
        connection,
        "SELECT seq, doc, arrived_us FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        vec![SqlValue::Integer(after as i64), SqlValue::Integer(limit as i64)],
    )
}

pub fn media_posts_after(
    connection: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<MediaPost>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT ordinal, after_seq, files FROM media_posts WHERE ordinal > ?1 ORDER BY ordinal LIMIT ?2",
    )?;
    let rows = statement.query_map(params![after as i64, limit.min(i64::MAX as usize) as i64], |row| {
        Ok(MediaPost {
            ordinal: row.get::<_, i64>(0)? as u64,
            after_seq: row.get::<_, i64>(1)? as u64,
            files: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds `clause` with its values when the filter is set.
struct Filter {
    sql: String,
    values: Vec<SqlValue>,
}

impl Filter {
    fn add(&mut self, clause: &str, values: impl IntoIterator<Item = SqlValue>) {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
        self.values.extend(values);
    }

    fn text(&mut self, value: &Option<String>, clause: &str, times: usize) {
        if let Some(value) = value {
            self.add(clause, std::iter::repeat_n(SqlValue::Text(value.clone()), times));
        }
    }
}

pub fn interactions(connection: &Connection, query: &InteractionQuery) -> Result<Page, StoreError> {
    let mut filter = Filter {
        sql: "SELECT start_us, id, summary FROM interactions i WHERE 1 = 1".into(),
        values: Vec::new(),
    };
    filter.text(
        &query.call_uuid,
        "i.id IN (SELECT interaction_id FROM segments WHERE call_uuid = ? UNION SELECT interaction_id FROM segments WHERE key = ?)",
        2,
    );
    filter.text(
        &query.conn_id,
        "i.id IN (SELECT interaction_id FROM interaction_conn_ids WHERE conn_id = ?)",
        1,
    );
    filter.text(&query.dn, "i.id IN (SELECT interaction_id FROM interaction_dns WHERE dn = ?)", 1);
    filter.text(&query.islink, "i.id IN (SELECT interaction_id FROM links WHERE islink = ?)", 1);
    filter.text(&query.site, "i.id IN (SELECT interaction_id FROM segments WHERE site = ?)", 1);
    filter.text(&query.outcome, "i.outcome = ?", 1);
    filter.text(&query.state, "i.state = ?", 1);
    filter.text(&query.released_by, "(i.released_by = ? OR i.released_by_dn = ?)", 2);
    if let Some(from) = query.from_us {
        filter.add("i.start_us >= ?", [SqlValue::Integer(from)]);
    }
    if let Some(to) = query.to_us {
        filter.add("i.start_us < ?", [SqlValue::Integer(to)]);
    }
    if let Some(has) = query.has_findings {
        filter.add(if has { "i.findings > 0" } else { "i.findings = 0" }, []);
    }
    if let Some(complete) = query.complete {
        filter.add("i.complete = ?", [SqlValue::Integer(i64::from(complete))]);
    }
    if let Some(Cursor { start_us, id }) = &query.cursor {
        filter.add(
            "(i.start_us < ? OR (i.start_us = ? AND i.id < ?))",
            [SqlValue::Integer(*start_us), SqlValue::Integer(*start_us), SqlValue::Text(id.clone())],
        );
    }
    let limit = query.limit.clamp(1, MAX_PAGE);
    filter.sql.push_str(" ORDER BY i.start_us DESC, i.id DESC LIMIT ?");
    filter.values.push(SqlValue::Integer(limit as i64 + 1));
    let mut statement = connection.prepare(&filter.sql)?;
    let rows: Vec<(i64, String, String)> = statement
        .query_map(params_from_iter(filter.values), |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let next_cursor = (rows.len() > limit)
        .then(|| {
            rows.get(limit - 1)
                .map(|(start_us, id, _)| Cursor { start_us: *start_us, id: id.clone() }.encode())
        })
        .flatten();
    let items =
        rows.iter().take(limit).map(|(_, _, summary)| parse("summary", summary)).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
}

/// The live id for `id`: itself, or the interaction that replaced it.
fn resolve(connection: &Connection, id: &str) -> Result<Option<String>, StoreError> {
    let alias: Option<String> = connection
        .prepare_cached("SELECT id FROM aliases WHERE old_id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(alias)
}

pub fn interaction(connection: &Connection, id: &str) -> Result<Option<StoredInteraction>, StoreError> {
    let alias = resolve(connection, id)?;
    let live = alias.clone().unwrap_or_else(|| id.to_string());
    let row: Option<(String, String)> = connection
        .prepare_cached("SELECT doc, recording FROM interactions WHERE id = ?1")?
        .query_row([&live], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((doc, recording)) = row else { return Ok(None) };
    Ok(Some(StoredInteraction {
        id: live,
        asked_as: alias.map(|_| id.to_string()),
        doc: parse("interaction", &doc)?,
        recording: parse("recording", &recording)?,
    }))
}

pub fn recording(connection: &Connection, id: &str) -> Result<Option<Value>, StoreError> {
    let live = resolve(connection, id)?.unwrap_or_else(|| id.to_string());
    let text: Option<String> = connection
        .prepare_cached(
            "SELECT recording FROM interactions WHERE recording_id = ?1 OR id = ?1
             UNION ALL
             SELECT i.recording FROM interactions i JOIN segments s ON s.interaction_id = i.id
              WHERE s.call_uuid = ?1
             LIMIT 1",
        )?
        .query_row([&live], |row| row.get(0))
        .optional()?;
    text.map(|text| parse("recording", &text)).transpose()
}

pub fn calls(connection: &Connection, site: &str, key: &str) -> Result<Vec<StoredCall>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT c.report,
                (SELECT s.interaction_id FROM segments s WHERE s.site = c.site AND s.key = c.key LIMIT 1)
           FROM calls c WHERE c.site = ?1 AND (c.key = ?2 OR c.call_uuid = ?2) ORDER BY c.id",
    )?;
    let rows: Vec<(String, Option<String>)> = statement
        .query_map(params![site, key], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(report, interaction_id)| Ok(StoredCall { report: parse("call", &report)?, interaction_id }))
        .collect()
}

pub fn call_events(
    connection: &Connection,
    site: &str,
    key: &str,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    // The call's ConnIDs and time span, from its stored report(s), for events without CallUUID.
    let mut spans: Vec<(String, Option<i64>, Option<i64>)> = Vec::new();
    let mut statement = connection.prepare_cached(
        "SELECT conn_ids, first_us, last_us FROM calls WHERE site = ?1 AND (key = ?2 OR call_uuid = ?2)",
    )?;
    let rows = statement.query_map(params![site, key], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, Option<i64>>(1)?, row.get::<_, Option<i64>>(2)?))
    })?;
    for row in rows {
        let (conn_ids, first, last) = row?;
        let conn_ids: Vec<String> = serde_json::from_str(&conn_ids).unwrap_or_default();
        spans.extend(conn_ids.into_iter().map(|conn| (conn, first, last)));
    }
    let mut found = events(
        connection,
        "SELECT seq, doc, arrived_us FROM events WHERE site = ?1 AND call_uuid = ?2 ORDER BY seq LIMIT ?3",
        vec![SqlValue::Text(site.into()), SqlValue::Text(key.into()), SqlValue::Integer(limit as i64)],
    )?;
    for (conn, first, last) in spans {
        found.extend(events(
            connection,
            "SELECT seq, doc, arrived_us FROM events WHERE site = ?1 AND conn_id = ?2 AND call_uuid IS NULL
               AND (time_us IS NULL OR (time_us >= ?3 AND time_us <= ?4)) ORDER BY seq LIMIT ?5",
            vec![
                SqlValue::Text(site.into()),
                SqlValue::Text(conn),
                SqlValue::Integer(first.unwrap_or(i64::MIN)),
                SqlValue::Integer(last.unwrap_or(i64::MAX)),
                SqlValue::Integer(limit as i64),
            ],
        )?);
    }
    found.sort_by_key(|event| event.seq);
    found.dedup_by_key(|event| event.seq);
    found.truncate(limit);
    Ok(found)
}

pub fn media_for(connection: &Connection, call_uuids: &[String]) -> Result<Vec<Value>, StoreError> {
    let mut statement =
        connection.prepare_cached("SELECT doc FROM media_files WHERE call_uuid = ?1 ORDER BY media_id")?;
    let mut found = Vec::new();
    for uuid in call_uuids {
        let rows: Vec<String> = statement.query_map([uuid], |row| row.get(0))?.collect::<Result<_, _>>()?;
        for text in rows {
            found.push(parse("media", &text)?);
        }
    }
    Ok(found)
}

pub fn counts(connection: &Connection) -> Result<StoreCounts, StoreError> {
    let count = |sql: &str| -> Result<u64, StoreError> {
        Ok(connection.query_row(sql, [], |row| row.get::<_, i64>(0))? as u64)
    };
    Ok(StoreCounts {
        // MAX(seq) rather than COUNT(*): constant time, and the same until a prune.
        events: count("SELECT COALESCE(MAX(seq), 0) FROM events")?,
        calls: count("SELECT COUNT(*) FROM calls")?,
        interactions: count("SELECT COUNT(*) FROM interactions")?,
        complete_interactions: count("SELECT COUNT(*) FROM interactions WHERE complete = 1")?,
        media_files: count("SELECT COUNT(*) FROM media_files")?,
    })
}
