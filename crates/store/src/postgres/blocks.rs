//! Raw events in PostgreSQL: the blocks of [`crate::block`] as rows of `event_blocks`
//! (partitioned by the day of a block's last event, [`super::partition`]) with the index
//! tables `event_block_calls` and `event_block_conns`, written by `COPY`; the reads merge
//! blocks into pages as SQLite's do, fetching a few blocks at a time.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Transaction};

use super::copy::CopyIn;
use super::partition::{self, Known, Part};
use crate::block::{self, ConnSpan, Earliest, NewBlock};
use crate::error::StoreError;
use crate::record::EventRecord;
use crate::StoredEvent;

/// Blocks fetched at a time by [`events_after`].
const FETCH: i64 = 8;

/// The partition key of a block: its last event's time when every event of it has one.
fn day_key(new: &NewBlock<'_>) -> Option<i64> {
    if new.untimed == 0 {
        partition::key(new.last_us)
    } else {
        None
    }
}

/// Writes `events` (in sequence order) as blocks, skipping those already stored; the day
/// partitions it made.
pub async fn insert(
    transaction: &Transaction<'_>,
    known: &Mutex<Known>,
    events: &[EventRecord],
) -> Result<Vec<Part>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let stored_up_to = last_seq(transaction).await?;
    let stored = match block::may_be_stored(events, stored_up_to) {
        Some(lowest) => stored_between(transaction, lowest, stored_up_to.unwrap_or(0)).await?,
        None => BTreeSet::new(),
    };
    let blocks = block::blocks(&block::fresh(events, &stored))?;
    if blocks.is_empty() {
        return Ok(Vec::new());
    }
    let made = partition::ensure(transaction, known, "event_blocks", blocks.iter().map(day_key)).await?;
    let ids: Vec<i64> = transaction
        .query(
            "SELECT nextval('event_blocks_id') FROM generate_series(1, $1::bigint)",
            &[&(blocks.len() as i64)],
        )
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut rows = CopyIn::start(
        transaction,
        "event_blocks",
        "id, site, first_seq, last_seq, first_us, last_us, untimed, events, data, day_us",
        &[
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::BYTEA,
            Type::INT8,
        ],
    )
    .await?;
    for (id, new) in ids.iter().zip(&blocks) {
        let day = day_key(new);
        rows.row(&[
            id,
            &new.site,
            &new.first_seq,
            &new.last_seq,
            &new.first_us,
            &new.last_us,
            &new.untimed,
            &new.events,
            &new.data,
            &day,
        ])
        .await?;
    }
    rows.finish().await?;
    for (table, key) in [("event_block_calls", "call_uuid"), ("event_block_conns", "conn_id")] {
        let mut index = CopyIn::start(
            transaction,
            table,
            &format!("site, {key}, block"),
            &[Type::TEXT, Type::TEXT, Type::INT8],
        )
        .await?;
        for (id, new) in ids.iter().zip(&blocks) {
            let keys = if table == "event_block_calls" { &new.calls } else { &new.conns };
            for value in keys {
                index.row(&[&new.site, value, id]).await?;
            }
        }
        index.finish().await?;
    }
    Ok(made)
}

/// The widest span of sequence numbers of one block (0 with none).
async fn widest_span(client: &impl GenericClient) -> Result<i64, StoreError> {
    Ok(client
        .query_one("SELECT COALESCE(MAX(last_seq - first_seq), 0) FROM event_blocks", &[])
        .await?
        .try_get(0)?)
}

/// The highest stored sequence number: among the blocks that start no earlier than the last
/// block's start less the widest span (any block that ends later starts there).
pub async fn last_seq(client: &impl GenericClient) -> Result<Option<u64>, StoreError> {
    let last: Option<i64> = client
        .query_one(
            "SELECT MAX(last_seq) FROM event_blocks WHERE first_seq >=
                (SELECT MAX(first_seq) FROM event_blocks) - (SELECT COALESCE(MAX(last_seq - first_seq), 0) FROM event_blocks)",
            &[],
        )
        .await?
        .try_get(0)?;
    Ok(last.map(|last| last as u64))
}

/// The lowest stored sequence number.
pub async fn first_seq(client: &impl GenericClient) -> Result<Option<u64>, StoreError> {
    let first: Option<i64> =
        client.query_one("SELECT MIN(first_seq) FROM event_blocks", &[]).await?.try_get(0)?;
    Ok(first.map(|first| first as u64))
}

/// The stored sequence numbers from `lowest` to `highest` (rare: only for a batch committed
/// again).
async fn stored_between(
    client: &impl GenericClient,
    lowest: u64,
    highest: u64,
) -> Result<BTreeSet<u64>, StoreError> {
    let span = widest_span(client).await?;
    let rows = client
        .query(
            "SELECT id, data FROM event_blocks WHERE first_seq >= $1::bigint - $3::bigint AND first_seq <= $2 AND last_seq >= $1",
            &[&(lowest as i64), &(highest as i64), &span],
        )
        .await?;
    let mut stored = BTreeSet::new();
    for row in rows {
        let events = block::read_block(row.try_get(0)?, row.try_get(1)?)?;
        stored.extend(events.iter().map(|event| event.seq).filter(|seq| (lowest..=highest).contains(seq)));
    }
    Ok(stored)
}

/// Stored events with a sequence number above `after`, in order, at most `limit`.
pub async fn events_after(
    client: &impl GenericClient,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut earliest = Earliest::new(limit);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let span = widest_span(client).await?;
    let statement = client
        .prepare(
            "SELECT id, first_seq, data FROM event_blocks
              WHERE first_seq > $1::bigint - $2::bigint AND last_seq > $1 AND (first_seq, id) > ($3, $4)
              ORDER BY first_seq, id LIMIT $5",
        )
        .await?;
    let mut from = (i64::MIN, i64::MIN);
    loop {
        let rows = client.query(&statement, &[&after, &span, &from.0, &from.1, &FETCH]).await?;
        for row in &rows {
            let (id, first): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            if earliest.is_full_before(first as u64) {
                return Ok(earliest.into_events());
            }
            earliest.offer_after(id, row.try_get(2)?, after)?;
            from = (first, id);
        }
        if (rows.len() as i64) < FETCH {
            return Ok(earliest.into_events());
        }
    }
}

/// The events of one call on `site`: those with CallUUID `key`, and those of `spans`; in
/// order, at most `limit`.
pub async fn call_events(
    client: &impl GenericClient,
    site: &str,
    key: &str,
    spans: &[ConnSpan],
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut blocks: BTreeSet<(i64, i64)> = BTreeSet::new();
    let by_call = client
        .query(
            "SELECT b.first_seq, b.id FROM event_block_calls c JOIN event_blocks b ON b.id = c.block
              WHERE c.site = $1 AND c.call_uuid = $2",
            &[&site, &key],
        )
        .await?;
    for row in by_call {
        blocks.insert((row.try_get(0)?, row.try_get(1)?));
    }
    for span in spans {
        let (first, last) = span.bounds();
        let rows = client
            .query(
                "SELECT b.first_seq, b.id FROM event_block_conns c JOIN event_blocks b ON b.id = c.block
                  WHERE c.site = $1 AND c.conn_id = $2
                    AND (b.untimed > 0 OR (b.last_us >= $3 AND b.first_us <= $4))",
                &[&site, &span.conn_id, &first, &last],
            )
            .await?;
        for row in rows {
            blocks.insert((row.try_get(0)?, row.try_get(1)?));
        }
    }
    let mut earliest = Earliest::new(limit);
    let data = client.prepare("SELECT data FROM event_blocks WHERE id = $1").await?;
    for (first_seq, id) in blocks {
        if earliest.is_full_before(first_seq as u64) {
            break;
        }
        let row = client.query_one(&data, &[&id]).await?;
        earliest.offer_of_call(id, row.try_get(0)?, key, spans)?;
    }
    Ok(earliest.into_events())
}

/// Deletes the blocks whose every event is before `before_us` and numbered at most
/// `up_to_seq`, with their index rows: a day's partition whole when all of it goes, the
/// rest row by row. How many events went, and the partitions dropped.
pub async fn prune(
    transaction: &Transaction<'_>,
    before_us: i64,
    up_to_seq: i64,
) -> Result<(u64, Vec<Part>), StoreError> {
    let mut events = 0u64;
    let mut dropped = Vec::new();
    for (name, day) in partition::before(transaction, "event_blocks", before_us).await? {
        let row = transaction
            .query_one(
                &format!(
                    "SELECT COALESCE(MAX(last_seq), 0), COALESCE(SUM(events), 0)::bigint FROM \"{name}\""
                ),
                &[],
            )
            .await?;
        let (last, count): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        if last > up_to_seq {
            continue;
        }
        for table in ["event_block_calls", "event_block_conns"] {
            transaction
                .batch_execute(&format!("DELETE FROM {table} WHERE block IN (SELECT id FROM \"{name}\")"))
                .await?;
        }
        partition::drop_partition(transaction, &name).await?;
        events += count as u64;
        dropped.push(("event_blocks", day));
    }
    let rows = transaction
        .query(
            "SELECT id, events FROM event_blocks WHERE last_seq <= $2 AND untimed = 0 AND last_us < $1",
            &[&before_us, &up_to_seq],
        )
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(row.try_get::<_, i64>(0)?);
        events += row.try_get::<_, i64>(1)? as u64;
    }
    if !ids.is_empty() {
        for table in ["event_block_calls", "event_block_conns"] {
            transaction.execute(&format!("DELETE FROM {table} WHERE block = ANY($1)"), &[&ids]).await?;
        }
        transaction.execute("DELETE FROM event_blocks WHERE id = ANY($1)", &[&ids]).await?;
    }
    Ok((events, dropped))
}
