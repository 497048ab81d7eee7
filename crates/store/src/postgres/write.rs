//! The PostgreSQL write path: one transaction per [`Batch`]. Raw events go in as blocks
//! ([`super::blocks`]); finished calls and the rows of the batch's interactions in bulk by
//! `COPY`, after the replaced rows are deleted: an interaction's rows are gathered while the
//! batch is read in order (a later record of the same id, or one that replaces it, takes its
//! place among them) and copied once at the end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use tokio_postgres::types::Type;
use tokio_postgres::Transaction;

use super::copy::CopyIn;
use super::partition::{self, Known, Part};
use crate::compact::pack;
use crate::error::StoreError;
use crate::record::{Batch, CallRecord, InteractionRecord, MediaRecord, CHILD_TABLES};
use crate::Pruned;

/// Writes `batch`; the day partitions it made.
pub async fn commit(
    transaction: &Transaction<'_>,
    known: &Mutex<Known>,
    batch: &Batch,
) -> Result<Vec<Part>, StoreError> {
    let mut made = super::blocks::insert(transaction, known, &batch.events).await?;
    made.extend(insert_calls(transaction, known, &batch.calls).await?);
    for media in &batch.media {
        upsert_media(transaction, media).await?;
    }
    for post in &batch.media_posts {
        transaction
            .execute(
                "INSERT INTO media_posts (ordinal, after_seq, files) VALUES ($1, $2, $3)",
                &[&(post.ordinal as i64), &(post.after_seq as i64), &post.files],
            )
            .await?;
    }
    let mut pending = Pending::new(transaction, &batch.interactions).await?;
    for interaction in &batch.interactions {
        upsert_interaction(transaction, &mut pending, interaction).await?;
    }
    pending.copy(transaction).await?;
    if let Some(positions) = &batch.positions {
        transaction.execute("UPDATE checkpoint SET positions = $1 WHERE id = 1", &[positions]).await?;
    }
    if let Some(snapshot) = &batch.snapshot {
        transaction
            .execute(
                "INSERT INTO snapshot (id, seq, state, media_posts) VALUES (1, $1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, state = EXCLUDED.state,
                     media_posts = EXCLUDED.media_posts",
                &[&(snapshot.seq as i64), &snapshot.state, &(snapshot.media_posts as i64)],
            )
            .await?;
    }
    Ok(made)
}

/// The finished calls not stored yet (a replay hands a call out again, identical and
/// compressed the same), by `COPY`; their link ids.
pub(super) async fn insert_calls(
    transaction: &Transaction<'_>,
    known: &Mutex<Known>,
    calls: &[CallRecord],
) -> Result<Vec<Part>, StoreError> {
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    let sites: Vec<&str> = calls.iter().map(|call| call.site.as_str()).collect();
    let keys: Vec<&str> = calls.iter().map(|call| call.key.as_str()).collect();
    let rows = transaction
        .query(
            "SELECT c.site, c.key, c.report_z FROM calls c
               JOIN unnest($1::text[], $2::text[]) AS k(site, key) ON c.site = k.site AND c.key = k.key",
            &[&sites, &keys],
        )
        .await?;
    let mut stored: BTreeSet<(String, String, Vec<u8>)> = BTreeSet::new();
    for row in rows {
        stored.insert((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
    }
    let mut fresh = Vec::new();
    for call in calls {
        let report = pack(call.report.as_bytes())?;
        if stored.insert((call.site.clone(), call.key.clone(), report.clone())) {
            fresh.push((call, report));
        }
    }
    let day = |call: &CallRecord| partition::key(call.last_us.or(call.first_us));
    let made =
        partition::ensure(transaction, known, "calls", fresh.iter().map(|(call, _)| day(call))).await?;
    let mut rows = CopyIn::start(
        transaction,
        "calls",
        "site, key, call_uuid, conn_ids, first_us, last_us, model, outcome, conformant, released_by,
         released_by_dn, report_z, day_us",
        &[
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::BOOL,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::INT8,
        ],
    )
    .await?;
    for (call, report) in &fresh {
        let conn_ids = call.conn_ids_json();
        rows.row(&[
            &call.site,
            &call.key,
            &call.call_uuid,
            &conn_ids,
            &call.first_us,
            &call.last_us,
            &call.model,
            &call.outcome,
            &call.conformant,
            &call.released_by,
            &call.released_by_dn,
            report,
            &day(call),
        ])
        .await?;
    }
    rows.finish().await?;
    let (mut links, mut link_sites, mut link_keys) = (Vec::new(), Vec::new(), Vec::new());
    for (call, _) in &fresh {
        for id in &call.islinks {
            links.push(id.as_str());
            link_sites.push(call.site.as_str());
            link_keys.push(call.key.as_str());
        }
    }
    if !links.is_empty() {
        transaction
            .execute(
                "INSERT INTO call_islinks (islink, site, key) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                 ON CONFLICT DO NOTHING",
                &[&links, &link_sites, &link_keys],
            )
            .await?;
    }
    Ok(made)
}

/// Stores a media file, or merges it into the one stored under its media id, as SQLite's
/// store does (the first start wins; only missing values are filled; one naming another
/// call or site is not merged).
async fn upsert_media(transaction: &Transaction<'_>, media: &MediaRecord) -> Result<(), StoreError> {
    let stored = transaction
        .query_opt("SELECT site, call_uuid, doc FROM media_files WHERE media_id = $1", &[&media.media_id])
        .await?;
    let doc = match stored {
        None => media.doc.clone(),
        Some(row) => {
            let (site, call_uuid, doc): (String, String, String) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            if site != media.site || call_uuid != media.call_uuid {
                return Ok(());
            }
            match crate::record::merged_media(&doc, &media.doc) {
                Some(doc) => doc,
                None => return Ok(()),
            }
        }
    };
    transaction
        .execute(
            "INSERT INTO media_files (media_id, site, call_uuid, doc) VALUES ($1, $2, $3, $4)
             ON CONFLICT (media_id) DO UPDATE SET doc = EXCLUDED.doc",
            &[&media.media_id, &media.site, &media.call_uuid, &doc.to_string()],
        )
        .await?;
    Ok(())
}

/// What a batch's interactions find stored before it, looked up once for the whole batch
/// (three queries, not three a record): which of their ids (and the ids they replace) have
/// rows, which are aliases, and which stored interactions hold their calls.
#[derive(Default)]
struct Stored {
    existing: BTreeSet<String>,
    aliased: BTreeSet<String>,
    /// By (site, key): the stored interactions with a segment of that call.
    holders: BTreeMap<(String, String), Vec<String>>,
}

async fn look_up(transaction: &Transaction<'_>, records: &[InteractionRecord]) -> Result<Stored, StoreError> {
    let mut stored = Stored::default();
    if records.is_empty() {
        return Ok(stored);
    }
    let ids: Vec<&str> = records
        .iter()
        .flat_map(|record| {
            std::iter::once(record.id.as_str()).chain(record.replaces.iter().map(String::as_str))
        })
        .collect();
    for (sql, into) in [
        ("SELECT id FROM interactions WHERE id = ANY($1)", &mut stored.existing),
        ("SELECT old_id FROM aliases WHERE old_id = ANY($1)", &mut stored.aliased),
    ] {
        for row in transaction.query(sql, &[&ids]).await? {
            into.insert(row.try_get(0)?);
        }
    }
    let segments = records.iter().flat_map(|record| &record.segments);
    let sites: Vec<&str> = segments.clone().map(|segment| segment.site.as_str()).collect();
    let keys: Vec<&str> = segments.map(|segment| segment.key.as_str()).collect();
    let rows = transaction
        .query(
            "SELECT DISTINCT s.site, s.key, s.interaction_id FROM segments s
               JOIN unnest($1::text[], $2::text[]) AS k(site, key) ON s.site = k.site AND s.key = k.key",
            &[&sites, &keys],
        )
        .await?;
    for row in rows {
        let holder: String = row.try_get(2)?;
        // Stored: its rows go when a record replaces it.
        stored.existing.insert(holder.clone());
        stored.holders.entry((row.try_get(0)?, row.try_get(1)?)).or_default().push(holder);
    }
    Ok(stored)
}

/// A batch's interactions on their way in: the stored ones they delete (deleted together
/// before the copy), and the records still to copy, by id, in the order they came.
struct Pending<'a> {
    stored: Stored,
    doomed: BTreeSet<String>,
    records: BTreeMap<&'a str, (usize, &'a InteractionRecord)>,
    /// The pending records' calls, (site, key), and the ids holding each: a batch of many
    /// interactions finds the ones sharing a call without comparing every pair.
    calls: HashMap<(&'a str, &'a str), Vec<&'a str>>,
    next: usize,
}

impl<'a> Pending<'a> {
    async fn new(
        transaction: &Transaction<'_>,
        records: &[InteractionRecord],
    ) -> Result<Pending<'a>, StoreError> {
        Ok(Pending {
            stored: look_up(transaction, records).await?,
            doomed: BTreeSet::new(),
            records: BTreeMap::new(),
            calls: HashMap::new(),
            next: 0,
        })
    }

    /// Interaction `id` goes: its stored rows (with the others doomed), or its pending record.
    fn delete(&mut self, id: &str) {
        if let Some((_, record)) = self.records.remove(id) {
            for segment in &record.segments {
                if let Some(ids) = self.calls.get_mut(&(segment.site.as_str(), segment.key.as_str())) {
                    ids.retain(|holder| *holder != id);
                }
            }
        }
        if self.stored.existing.remove(id) {
            self.doomed.insert(id.to_string());
        }
    }

    /// Interactions under another id (stored and not deleted, or pending) that hold one of
    /// `record`'s calls: a call belongs to one interaction, so `record` replaces them.
    fn holding_its_calls(&self, record: &InteractionRecord) -> Vec<String> {
        let mut holders: Vec<String> = Vec::new();
        for segment in &record.segments {
            let stored = self.stored.holders.get(&(segment.site.clone(), segment.key.clone()));
            for id in stored.into_iter().flatten() {
                if *id != record.id && !self.doomed.contains(id) && !holders.contains(id) {
                    holders.push(id.clone());
                }
            }
        }
        for segment in &record.segments {
            let pending = self.calls.get(&(segment.site.as_str(), segment.key.as_str()));
            for id in pending.into_iter().flatten() {
                if *id != record.id && !holders.iter().any(|holder| holder == id) {
                    holders.push((*id).to_string());
                }
            }
        }
        holders
    }

    /// `record` is pending: its calls are held by it.
    fn hold(&mut self, record: &'a InteractionRecord) {
        self.records.insert(&record.id, (self.next, record));
        self.next += 1;
        for segment in &record.segments {
            self.calls.entry((segment.site.as_str(), segment.key.as_str())).or_default().push(&record.id);
        }
    }
}

async fn upsert_interaction<'a>(
    transaction: &Transaction<'_>,
    pending: &mut Pending<'a>,
    record: &'a InteractionRecord,
) -> Result<(), StoreError> {
    pending.delete(&record.id);
    for old in record.replaces.iter().chain(&pending.holding_its_calls(record)) {
        if *old == record.id {
            continue;
        }
        pending.delete(old);
        transaction
            .execute(
                "INSERT INTO aliases (old_id, id) VALUES ($1, $2) ON CONFLICT (old_id) DO UPDATE SET id = EXCLUDED.id",
                &[old, &record.id],
            )
            .await?;
        transaction.execute("UPDATE aliases SET id = $2 WHERE id = $1", &[old, &record.id]).await?;
        pending.stored.aliased.insert(old.clone());
    }
    // The id itself is live again: it is nobody's alias.
    if pending.stored.aliased.remove(&record.id) {
        transaction.execute("DELETE FROM aliases WHERE old_id = $1", &[&record.id]).await?;
    }
    pending.hold(record);
    Ok(())
}

/// Deletes the rows of interactions `ids` and of their children.
async fn delete_interactions<T: tokio_postgres::types::ToSql + Sync>(
    transaction: &Transaction<'_>,
    ids: &[T],
) -> Result<(), StoreError> {
    for table in CHILD_TABLES {
        transaction.execute(&format!("DELETE FROM {table} WHERE interaction_id = ANY($1)"), &[&ids]).await?;
    }
    transaction.execute("DELETE FROM interactions WHERE id = ANY($1)", &[&ids]).await?;
    Ok(())
}

impl Pending<'_> {
    /// The pending records in the order they came.
    fn in_order(&self) -> Vec<&InteractionRecord> {
        let mut records: Vec<(usize, &InteractionRecord)> = self.records.values().copied().collect();
        records.sort_by_key(|(order, _)| *order);
        records.into_iter().map(|(_, record)| record).collect()
    }

    /// Deletes the doomed interactions' rows and copies every pending interaction's.
    async fn copy(&self, transaction: &Transaction<'_>) -> Result<(), StoreError> {
        if !self.doomed.is_empty() {
            delete_interactions(transaction, &self.doomed.iter().collect::<Vec<_>>()).await?;
        }
        let records = self.in_order();
        if records.is_empty() {
            return Ok(());
        }
        copy_interactions(transaction, &records).await?;
        copy_segments(transaction, &records).await?;
        copy_parties(transaction, &records).await?;
        copy_lookups(transaction, &records).await?;
        copy_links_and_findings(transaction, &records).await?;
        copy_media_files(transaction, &records).await
    }
}

async fn copy_interactions(
    transaction: &Transaction<'_>,
    records: &[&InteractionRecord],
) -> Result<(), StoreError> {
    use Type as T;
    let mut rows = CopyIn::start(
        transaction,
        "interactions",
        "id, revision, start_us, end_us, complete, outcome, released_by, released_by_dn, ani, dnis, recording_id,
         media_files, findings, doc_z, linking, current_since_us, replaces, sites, state, current_site, call_uuids,
         party_dns",
        &[
            T::TEXT, T::INT8, T::INT8, T::INT8, T::BOOL, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT,
            T::INT8, T::INT8, T::BYTEA, T::TEXT, T::INT8, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT,
        ],
    )
    .await?;
    for record in records {
        let doc = pack(record.doc.as_bytes())?;
        let lists = record.list_columns();
        rows.row(&[
            &record.id,
            &i64::from(record.revision),
            &record.start_us,
            &record.end_us,
            &record.complete,
            &record.outcome,
            &record.released_by,
            &record.released_by_dn,
            &record.ani,
            &record.dnis,
            &record.recording_id,
            &(record.media_files.len() as i64),
            &(record.findings.len() as i64),
            &doc,
            &record.linking,
            &record.current_since_us,
            &lists.replaces,
            &lists.sites,
            &record.state,
            &record.current_site,
            &lists.call_uuids,
            &lists.party_dns,
        ])
        .await?;
    }
    rows.finish().await?;
    Ok(())
}

async fn copy_segments(
    transaction: &Transaction<'_>,
    records: &[&InteractionRecord],
) -> Result<(), StoreError> {
    use Type as T;
    let mut rows = CopyIn::start(
        transaction,
        "segments",
        "interaction_id, ord, site, key, call_uuid, role, model, outcome, start_us, end_us",
        &[T::TEXT, T::INT8, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::INT8, T::INT8],
    )
    .await?;
    for record in records {
        for (ord, row) in record.segments.iter().enumerate() {
            rows.row(&[
                &record.id,
                &(ord as i64),
                &row.site,
                &row.key,
                &row.call_uuid,
                &row.role,
                &row.model,
                &row.outcome,
                &row.start_us,
                &row.end_us,
            ])
            .await?;
        }
    }
    rows.finish().await?;
    Ok(())
}

async fn copy_parties(
    transaction: &Transaction<'_>,
    records: &[&InteractionRecord],
) -> Result<(), StoreError> {
    use Type as T;
    let mut rows = CopyIn::start(
        transaction,
        "parties",
        "interaction_id, segment_ord, ord, dn, kind, role, final_state, released_by, released_by_dn, provenance,
         queue, agent_id, dialing_ms, ringing_ms, queued_ms, talking_ms, held_ms, first_us, last_us",
        &[
            T::TEXT, T::INT8, T::INT8, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::TEXT,
            T::TEXT, T::INT8, T::INT8, T::INT8, T::INT8, T::INT8, T::INT8, T::INT8,
        ],
    )
    .await?;
    for record in records {
        for (ord, row) in record.parties.iter().enumerate() {
            let times = &row.times;
            rows.row(&[
                &record.id,
                &(row.segment as i64),
                &(ord as i64),
                &row.dn,
                &row.kind,
                &row.role,
                &row.final_state,
                &row.released_by,
                &row.released_by_dn,
                &row.provenance,
                &row.queue,
                &row.agent_id,
                &times.dialing_ms,
                &times.ringing_ms,
                &times.queued_ms,
                &times.talking_ms,
                &times.held_ms,
                &row.first_us,
                &row.last_us,
            ])
            .await?;
        }
    }
    rows.finish().await?;
    Ok(())
}

/// The lookup tables: DNs, ConnIDs and unpaired link ids, each once per interaction.
async fn copy_lookups(
    transaction: &Transaction<'_>,
    records: &[&InteractionRecord],
) -> Result<(), StoreError> {
    for (table, column) in
        [("interaction_dns", "dn"), ("interaction_conn_ids", "conn_id"), ("interaction_islinks", "islink")]
    {
        let mut rows = CopyIn::start(
            transaction,
            table,
            &format!("{column}, interaction_id"),
            &[Type::TEXT, Type::TEXT],
        )
        .await?;
        for record in records {
            let values: BTreeSet<&str> = match table {
                "interaction_dns" => record.dns().into_iter().collect(),
                "interaction_conn_ids" => record.conn_ids.iter().map(String::as_str).collect(),
                _ => record.unpaired_links.iter().map(String::as_str).collect(),
            };
            for value in values {
                rows.row(&[&value, &record.id]).await?;
            }
        }
        rows.finish().await?;
    }
    Ok(())
}

async fn copy_links_and_findings(
    transaction: &Transaction<'_>,
    records: &[&InteractionRecord],
) -> Result<(), StoreError> {
    use Type as T;
    let mut links = CopyIn::start(
        transaction,
        "links",
        "interaction_id, ord, evidence, islink, from_segment, to_segment, consistent",
        &[T::TEXT, T::INT8, T::TEXT, T::TEXT, T::TEXT, T::TEXT, T::BOOL],
    )
    .await?;
    for record in records {
        for (ord, row) in record.links.iter().enumerate() {
            links
                .row(&[
                    &record.id,
                    &(ord as i64),
                    &row.evidence,
                    &row.islink,
                    &row.from,
                    &row.to,
                    &row.consistent,
                ])
                .await?;
        }
    }
    links.finish().await?;
    let mut findings = CopyIn::start(
        transaction,
        "findings",
        "interaction_id, ord, rule, message, doc",
        &[T::TEXT, T::INT8, T::TEXT, T::TEXT, T::TEXT],
    )
    .await?;
    for record in records {
        for (ord, doc) in record.findings.iter().enumerate() {
            let text =
                |key: &str| doc.get(key).and_then(|value| value.as_str()).unwrap_or_default().to_string();
            findings
                .row(&[&record.id, &(ord as i64), &text("rule"), &text("message"), &doc.to_string()])
                .await?;
        }
    }
    findings.finish().await?;
    Ok(())
}

async fn copy_media_files(
    transaction: &Transaction<'_>,
    records: &[&InteractionRecord],
) -> Result<(), StoreError> {
    use Type as T;
    let mut rows = CopyIn::start(
        transaction,
        "interaction_media_files",
        "interaction_id, ord, media_id, site, call_uuid, recorded_dn, side, provenance, matched_by, segment,
         start_us, stop_us, archive_id",
        &[
            T::TEXT,
            T::INT8,
            T::TEXT,
            T::TEXT,
            T::TEXT,
            T::TEXT,
            T::TEXT,
            T::TEXT,
            T::TEXT,
            T::TEXT,
            T::INT8,
            T::INT8,
            T::TEXT,
        ],
    )
    .await?;
    for record in records {
        for (ord, file) in record.media_files.iter().enumerate() {
            rows.row(&[
                &record.id,
                &(ord as i64),
                &file.media_id,
                &file.site,
                &file.call_uuid,
                &file.recorded_dn,
                &file.side,
                &file.provenance,
                &file.matched_by,
                &file.segment,
                &file.start_us,
                &file.stop_us,
                &file.archive_id,
            ])
            .await?;
        }
    }
    rows.finish().await?;
    Ok(())
}

/// Retention, as SQLite's: whole interactions that ended before `before_us`, calls that
/// ended before it (a day's partition dropped whole once its day ended by then), and raw
/// events before it that the last snapshot covers, with the media posts before the events
/// kept. The partitions dropped.
pub async fn prune(transaction: &Transaction<'_>, before_us: i64) -> Result<(Pruned, Vec<Part>), StoreError> {
    let ids: Vec<String> = transaction
        .query("SELECT id FROM interactions WHERE COALESCE(end_us, start_us) < $1", &[&before_us])
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    delete_interactions(transaction, &ids).await?;
    transaction.execute("DELETE FROM aliases WHERE id NOT IN (SELECT id FROM interactions)", &[]).await?;
    let mut dropped = Vec::new();
    let mut calls = 0u64;
    for (name, day) in partition::before(transaction, "calls", before_us).await? {
        let count: i64 =
            transaction.query_one(&format!("SELECT COUNT(*) FROM \"{name}\""), &[]).await?.try_get(0)?;
        partition::drop_partition(transaction, &name).await?;
        calls += count as u64;
        dropped.push(("calls", day));
    }
    calls += transaction
        .execute("DELETE FROM calls WHERE COALESCE(last_us, first_us) < $1", &[&before_us])
        .await?;
    transaction
        .execute(
            "DELETE FROM call_islinks ci WHERE NOT EXISTS
               (SELECT 1 FROM calls c WHERE c.site = ci.site AND c.key = ci.key)",
            &[],
        )
        .await?;
    let snapshot = transaction.query_opt("SELECT seq, media_posts FROM snapshot WHERE id = 1", &[]).await?;
    let (snapshot_seq, snapshot_posts): (i64, i64) = match snapshot {
        Some(row) => (row.try_get(0)?, row.try_get(1)?),
        None => (0, 0),
    };
    let (events, gone) = super::blocks::prune(transaction, before_us, snapshot_seq).await?;
    dropped.extend(gone);
    let first_kept = super::blocks::first_seq(transaction).await?.map_or(snapshot_seq + 1, |seq| seq as i64);
    transaction
        .execute(
            "DELETE FROM media_posts WHERE ordinal <= $1 AND after_seq < $2",
            &[&snapshot_posts, &first_kept],
        )
        .await?;
    transaction
        .execute(
            "DELETE FROM media_files WHERE call_uuid NOT IN (SELECT call_uuid FROM segments WHERE call_uuid IS NOT NULL)
               AND call_uuid NOT IN (SELECT key FROM calls)",
            &[],
        )
        .await?;
    Ok((Pruned { interactions: ids.len() as u64, calls, events }, dropped))
}
