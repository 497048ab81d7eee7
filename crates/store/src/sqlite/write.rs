//! The SQLite write path: one transaction per [`Batch`], prepared statements reused from the
//! connection's cache, and the replacement of an interaction (its rows, its children, and the
//! ids it replaces, which become aliases so that old URLs keep working).

use rusqlite::{params, OptionalExtension, Transaction};

use crate::compact::pack;
use crate::error::StoreError;
use crate::record::{
    Batch, CallRecord, EventRecord, InteractionRecord, MediaFileRow, MediaPost, MediaRecord, CHILD_TABLES,
};
use crate::Pruned;

pub fn commit(transaction: &Transaction<'_>, batch: &Batch) -> Result<(), StoreError> {
    insert_events(transaction, &batch.events)?;
    for call in &batch.calls {
        insert_call(transaction, call)?;
    }
    for media in &batch.media {
        upsert_media(transaction, media)?;
    }
    insert_media_posts(transaction, &batch.media_posts)?;
    for interaction in &batch.interactions {
        upsert_interaction(transaction, interaction)?;
    }
    if let Some(positions) = &batch.positions {
        transaction.execute("UPDATE checkpoint SET positions = ?1 WHERE id = 1", [positions])?;
    }
    if let Some(snapshot) = &batch.snapshot {
        transaction.execute(
            "INSERT OR REPLACE INTO snapshot (id, seq, state, media_posts) VALUES (1, ?1, ?2, ?3)",
            params![snapshot.seq as i64, snapshot.state, snapshot.media_posts as i64],
        )?;
    }
    Ok(())
}

/// The batch's raw events, as compressed blocks ([`super::blocks`]); one already stored (the
/// same sequence number, a batch committed again) is skipped.
fn insert_events(transaction: &Transaction<'_>, events: &[EventRecord]) -> Result<(), StoreError> {
    super::blocks::insert(transaction, events)
}

fn insert_call(transaction: &Transaction<'_>, call: &CallRecord) -> Result<(), StoreError> {
    let conn_ids = call.conn_ids_json();
    let report = pack(call.report.as_bytes())?;
    // A call is finished once; a replay after a restart hands it out again, identical (and
    // compressed the same).
    let existing: Option<i64> = transaction
        .prepare_cached("SELECT id FROM calls WHERE site = ?1 AND key = ?2 AND report_z = ?3")?
        .query_row(params![call.site, call.key, report], |row| row.get(0))
        .optional()?;
    if existing.is_some() {
        return Ok(());
    }
    let mut islink = transaction
        .prepare_cached("INSERT OR IGNORE INTO call_islinks (islink, site, key) VALUES (?1, ?2, ?3)")?;
    for id in &call.islinks {
        islink.execute(params![id, call.site, call.key])?;
    }
    transaction
        .prepare_cached(
            "INSERT INTO calls (site, key, call_uuid, conn_ids, first_us, last_us, model, outcome,
                                conformant, released_by, released_by_dn, report_z)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            call.site,
            call.key,
            call.call_uuid,
            conn_ids,
            call.first_us,
            call.last_us,
            call.model,
            call.outcome,
            call.conformant,
            call.released_by,
            call.released_by_dn,
            report
        ])?;
    Ok(())
}

fn insert_media_posts(transaction: &Transaction<'_>, posts: &[MediaPost]) -> Result<(), StoreError> {
    if posts.is_empty() {
        return Ok(());
    }
    let mut statement = transaction
        .prepare_cached("INSERT INTO media_posts (ordinal, after_seq, files) VALUES (?1, ?2, ?3)")?;
    for post in posts {
        statement.execute(params![post.ordinal as i64, post.after_seq as i64, post.files])?;
    }
    Ok(())
}

/// Stores a media file, or merges it into the one stored under its media id: the stored one is
/// kept (the first start wins, so a start posted again does not erase a known stop) and only
/// gains the values it lacks (a stop, an archive id). One naming another call or site is not
/// merged (the recorder reports the conflict).
fn upsert_media(transaction: &Transaction<'_>, media: &MediaRecord) -> Result<(), StoreError> {
    let stored: Option<(String, String, String)> = transaction
        .prepare_cached("SELECT site, call_uuid, doc FROM media_files WHERE media_id = ?1")?
        .query_row([&media.media_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let doc = match stored {
        None => media.doc.clone(),
        Some((site, call_uuid, _)) if site != media.site || call_uuid != media.call_uuid => return Ok(()),
        Some((_, _, doc)) => match crate::record::merged_media(&doc, &media.doc) {
            Some(doc) => doc,
            None => return Ok(()),
        },
    };
    transaction
        .prepare_cached(
            "INSERT INTO media_files (media_id, site, call_uuid, doc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (media_id) DO UPDATE SET doc = ?4",
        )?
        .execute(params![media.media_id, media.site, media.call_uuid, doc.to_string()])?;
    Ok(())
}

fn delete_interaction(transaction: &Transaction<'_>, id: &str) -> Result<(), StoreError> {
    // Most interactions are written once: one probe instead of a delete per table.
    let exists = transaction.prepare_cached("SELECT 1 FROM interactions WHERE id = ?1")?.exists([id])?;
    if !exists {
        return Ok(());
    }
    for table in CHILD_TABLES {
        transaction
            .prepare_cached(&format!("DELETE FROM {table} WHERE interaction_id = ?1"))?
            .execute([id])?;
    }
    transaction.prepare_cached("DELETE FROM interactions WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Interactions stored under another id that hold one of `record`'s calls: a call belongs to
/// one interaction, so `record` replaces them. (A replay after a crash can hand an interaction
/// out under its final id without the ids a first run wrote it under before.)
fn holding_its_calls(
    transaction: &Transaction<'_>,
    record: &InteractionRecord,
) -> Result<Vec<String>, StoreError> {
    let mut statement = transaction.prepare_cached(
        "SELECT DISTINCT interaction_id FROM segments WHERE site = ?1 AND key = ?2 AND interaction_id <> ?3",
    )?;
    let mut holders = Vec::new();
    for segment in &record.segments {
        let rows = statement
            .query_map(params![segment.site, segment.key, record.id], |row| row.get::<_, String>(0))?;
        for id in rows {
            let id = id?;
            if !holders.contains(&id) {
                holders.push(id);
            }
        }
    }
    Ok(holders)
}

fn upsert_interaction(transaction: &Transaction<'_>, record: &InteractionRecord) -> Result<(), StoreError> {
    delete_interaction(transaction, &record.id)?;
    let holders = holding_its_calls(transaction, record)?;
    for old in record.replaces.iter().chain(&holders) {
        if *old == record.id {
            continue;
        }
        delete_interaction(transaction, old)?;
        transaction
            .prepare_cached("INSERT OR REPLACE INTO aliases (old_id, id) VALUES (?1, ?2)")?
            .execute(params![old, record.id])?;
        transaction
            .prepare_cached("UPDATE aliases SET id = ?2 WHERE id = ?1")?
            .execute(params![old, record.id])?;
    }
    // The id itself is live again: it is nobody's alias.
    transaction.prepare_cached("DELETE FROM aliases WHERE old_id = ?1")?.execute([&record.id])?;
    insert_interaction_row(transaction, record)?;
    insert_children(transaction, record)
}

fn insert_interaction_row(
    transaction: &Transaction<'_>,
    record: &InteractionRecord,
) -> Result<(), StoreError> {
    let lists = record.list_columns();
    transaction
        .prepare_cached(
            "INSERT INTO interactions (id, revision, start_us, end_us, complete, outcome, released_by,
                released_by_dn, ani, dnis, recording_id, media_files, findings, doc_z, linking,
                current_since_us, replaces, sites, state, current_site, call_uuids, party_dns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        )?
        .execute(params![
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
            pack(record.doc.as_bytes())?,
            record.linking,
            record.current_since_us,
            lists.replaces,
            lists.sites,
            record.state,
            record.current_site,
            lists.call_uuids,
            lists.party_dns
        ])?;
    Ok(())
}

fn insert_children(transaction: &Transaction<'_>, record: &InteractionRecord) -> Result<(), StoreError> {
    let id = &record.id;
    let mut segment = transaction.prepare_cached(
        "INSERT INTO segments (interaction_id, ord, site, key, call_uuid, role, model, outcome, start_us, end_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (ord, row) in record.segments.iter().enumerate() {
        segment.execute(params![
            id,
            ord as i64,
            row.site,
            row.key,
            row.call_uuid,
            row.role,
            row.model,
            row.outcome,
            row.start_us,
            row.end_us
        ])?;
    }
    let mut party = transaction.prepare_cached(
        "INSERT INTO parties (interaction_id, segment_ord, ord, dn, kind, role, final_state, released_by,
                              released_by_dn, provenance, queue, agent_id, dialing_ms, ringing_ms, queued_ms,
                              talking_ms, held_ms, first_us, last_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?;
    for (ord, row) in record.parties.iter().enumerate() {
        party.execute(params![
            id,
            row.segment as i64,
            ord as i64,
            row.dn,
            row.kind,
            row.role,
            row.final_state,
            row.released_by,
            row.released_by_dn,
            row.provenance,
            row.queue,
            row.agent_id,
            row.times.dialing_ms,
            row.times.ringing_ms,
            row.times.queued_ms,
            row.times.talking_ms,
            row.times.held_ms,
            row.first_us,
            row.last_us
        ])?;
    }
    for (ord, file) in record.media_files.iter().enumerate() {
        insert_media_file(transaction, id, ord, file)?;
    }
    let mut dn = transaction
        .prepare_cached("INSERT OR IGNORE INTO interaction_dns (dn, interaction_id) VALUES (?1, ?2)")?;
    for value in record.dns() {
        dn.execute(params![value, id])?;
    }
    let mut conn = transaction.prepare_cached(
        "INSERT OR IGNORE INTO interaction_conn_ids (conn_id, interaction_id) VALUES (?1, ?2)",
    )?;
    for value in &record.conn_ids {
        conn.execute(params![value, id])?;
    }
    let mut link = transaction.prepare_cached(
        "INSERT INTO links (interaction_id, ord, evidence, islink, from_segment, to_segment, consistent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (ord, row) in record.links.iter().enumerate() {
        link.execute(params![id, ord as i64, row.evidence, row.islink, row.from, row.to, row.consistent])?;
    }
    let mut unpaired = transaction.prepare_cached(
        "INSERT OR IGNORE INTO interaction_islinks (islink, interaction_id) VALUES (?1, ?2)",
    )?;
    for value in &record.unpaired_links {
        unpaired.execute(params![value, id])?;
    }
    let mut finding = transaction.prepare_cached(
        "INSERT INTO findings (interaction_id, ord, rule, message, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (ord, doc) in record.findings.iter().enumerate() {
        let text = |key: &str| doc.get(key).and_then(|value| value.as_str()).unwrap_or_default().to_string();
        finding.execute(params![id, ord as i64, text("rule"), text("message"), doc.to_string()])?;
    }
    Ok(())
}

/// One media file of an interaction's recording.
pub fn insert_media_file(
    transaction: &Transaction<'_>,
    interaction_id: &str,
    ord: usize,
    file: &MediaFileRow,
) -> Result<(), StoreError> {
    transaction
        .prepare_cached(
            "INSERT INTO interaction_media_files (interaction_id, ord, media_id, site, call_uuid, recorded_dn,
                 side, provenance, matched_by, segment, start_us, stop_us, archive_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            interaction_id,
            ord as i64,
            file.media_id,
            file.site,
            file.call_uuid,
            file.recorded_dn,
            file.side,
            file.provenance,
            file.matched_by,
            file.segment,
            file.start_us,
            file.stop_us,
            file.archive_id
        ])?;
    Ok(())
}

/// Retention: whole interactions that ended before `before_us`, calls that ended before it,
/// and raw events before it that the last snapshot already covers (a restart replays only
/// events after the snapshot), with the media posts that came before the events kept.
pub fn prune(transaction: &Transaction<'_>, before_us: i64) -> Result<Pruned, StoreError> {
    let ids: Vec<String> = transaction
        .prepare("SELECT id FROM interactions WHERE COALESCE(end_us, start_us) < ?1")?
        .query_map([before_us], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        delete_interaction(transaction, id)?;
    }
    transaction.execute("DELETE FROM aliases WHERE id NOT IN (SELECT id FROM interactions)", [])?;
    let calls =
        transaction.execute("DELETE FROM calls WHERE COALESCE(last_us, first_us) < ?1", [before_us])?;
    transaction.execute(
        "DELETE FROM call_islinks WHERE NOT EXISTS
           (SELECT 1 FROM calls c WHERE c.site = call_islinks.site AND c.key = call_islinks.key)",
        [],
    )?;
    let snapshot: Option<(i64, i64)> = transaction
        .query_row("SELECT seq, media_posts FROM snapshot WHERE id = 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let (snapshot_seq, snapshot_posts) = snapshot.unwrap_or((0, 0));
    // A block goes once every event in it is before that time and covered by the snapshot.
    let events = super::blocks::prune(transaction, before_us, snapshot_seq)?;
    // A post the snapshot includes, before every event kept, is needed by no replay.
    let first_kept = super::blocks::first_seq(transaction)?.map_or(snapshot_seq + 1, |seq| seq as i64);
    transaction.execute(
        "DELETE FROM media_posts WHERE ordinal <= ?1 AND after_seq < ?2",
        params![snapshot_posts, first_kept],
    )?;
    transaction.execute(
        "DELETE FROM media_files WHERE call_uuid NOT IN (SELECT call_uuid FROM segments WHERE call_uuid IS NOT NULL)
           AND call_uuid NOT IN (SELECT key FROM calls)",
        [],
    )?;
    Ok(Pruned { interactions: ids.len() as u64, calls: calls as u64, events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn call(key: &str) -> CallRecord {
        CallRecord {
            site: "north".to_string(),
            key: key.to_string(),
            call_uuid: Some(key.to_string()),
            conn_ids: vec!["c1".to_string()],
            first_us: Some(1),
            last_us: Some(2),
            model: "simple".to_string(),
            outcome: "answered".to_string(),
            conformant: true,
            released_by: "customer".to_string(),
            released_by_dn: None,
            islinks: Vec::new(),
            report: r#"{"key":"k"}"#.to_string(),
        }
    }

    /// A database whose `calls` lookup fails at run time (its ids cannot be read as numbers)
    /// while inserting still works: `calls` is a view over the real table.
    fn with_an_unreadable_call_lookup() -> Connection {
        let mut connection = Connection::open_in_memory().expect("open");
        crate::sqlite::schema::migrate(&mut connection).expect("migrate");
        connection
            .execute_batch(
                "ALTER TABLE calls RENAME TO stored_calls;
                 CREATE VIEW calls AS SELECT 'not a number' AS id, site, key, call_uuid, conn_ids, first_us,
                     last_us, model, outcome, conformant, released_by, released_by_dn, report_z FROM stored_calls;
                 CREATE TRIGGER calls_insert INSTEAD OF INSERT ON calls BEGIN
                     INSERT INTO stored_calls (site, key, call_uuid, conn_ids, first_us, last_us, model,
                         outcome, conformant, released_by, released_by_dn, report_z)
                     VALUES (NEW.site, NEW.key, NEW.call_uuid, NEW.conn_ids, NEW.first_us, NEW.last_us,
                         NEW.model, NEW.outcome, NEW.conformant, NEW.released_by, NEW.released_by_dn, NEW.report_z);
                 END;",
            )
            .expect("a view in the table's place");
        connection
    }

    fn stored_calls(connection: &Connection) -> i64 {
        connection.query_row("SELECT COUNT(*) FROM stored_calls", [], |row| row.get(0)).expect("count")
    }

    #[test]
    fn a_failed_lookup_of_a_finished_call_is_an_error_not_a_second_row() {
        let mut connection = with_an_unreadable_call_lookup();
        let batch = Batch { calls: vec![call("k")], ..Batch::default() };
        let first = connection.transaction().expect("begin");
        commit(&first, &batch).expect("the first time, the lookup finds no row");
        first.commit().expect("commit");
        let again = connection.transaction().expect("begin");
        let replayed = commit(&again, &batch);
        again.commit().expect("commit");
        assert!(replayed.is_err(), "the failed lookup is reported, got {replayed:?}");
        assert_eq!(stored_calls(&connection), 1, "no duplicate row follows a failed lookup");
    }

    #[test]
    fn a_call_handed_out_again_is_stored_once() {
        let mut connection = Connection::open_in_memory().expect("open");
        crate::sqlite::schema::migrate(&mut connection).expect("migrate");
        let batch = Batch { calls: vec![call("k")], ..Batch::default() };
        for _ in 0..2 {
            let transaction = connection.transaction().expect("begin");
            commit(&transaction, &batch).expect("commit the call");
            transaction.commit().expect("commit");
        }
        let rows: i64 =
            connection.query_row("SELECT COUNT(*) FROM calls", [], |row| row.get(0)).expect("count");
        assert_eq!(rows, 1);
    }
}
