//! Raw events in compressed blocks (`event_blocks`), with indexes from a site's CallUUIDs and
//! ConnIDs to the blocks that hold them.
//!
//! A commit writes the events of each site as blocks of at most [`crate::block::BLOCK_EVENTS`] events, framed
//! and compressed as [`crate::frame`] ([`crate::block`]) says; a block's row has the site, the first and last
//! sequence numbers, the first and last event times (of the events with one) and how many have
//! none. Blocks of different sites interleave in sequence numbers, so every read merges:
//!
//! - the events after a number read the blocks by `first_seq`, from the first block that can
//!   reach past it (`first_seq` above the number less the widest block's span, from an index on
//!   the span) until the events found already fill the page before the next block starts;
//! - a call's events read the blocks that `event_block_calls` (site, CallUUID) and
//!   `event_block_conns` (site, ConnID of an event without CallUUID, whose time may fall in
//!   the call) name, and filter their events exactly as the SQL on one row per event did;
//! - retention deletes a block once all its events are prunable, with its index rows.
//!
//! An event whose sequence number is already stored (a batch committed again) is skipped, as
//! `INSERT OR IGNORE` did on one row per event.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, Transaction};

use crate::block::{self, ConnSpan, Earliest, NewBlock};
use crate::error::StoreError;
use crate::frame;
use crate::record::EventRecord;
use crate::StoredEvent;

/// Writes `events` (in sequence order) as blocks, skipping those already stored.
pub fn insert(transaction: &Transaction<'_>, events: &[EventRecord]) -> Result<(), StoreError> {
    let stored_up_to = last_seq(transaction)?;
    let stored = match block::may_be_stored(events, stored_up_to) {
        Some(lowest) => stored_between(transaction, lowest, stored_up_to.unwrap_or(0))?,
        None => BTreeSet::new(),
    };
    write_by_site(transaction, &block::fresh(events, &stored))
}

/// Writes `events` as blocks: each site's in order, [`crate::block::BLOCK_EVENTS`] at most a block.
fn write_by_site(transaction: &Transaction<'_>, events: &[&EventRecord]) -> Result<(), StoreError> {
    for new in block::blocks(events)? {
        write_block(transaction, &new)?;
    }
    Ok(())
}

fn write_block(transaction: &Transaction<'_>, new: &NewBlock<'_>) -> Result<(), StoreError> {
    transaction
        .prepare_cached(
            "INSERT INTO event_blocks (site, first_seq, last_seq, first_us, last_us, untimed, events, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            new.site,
            new.first_seq,
            new.last_seq,
            new.first_us,
            new.last_us,
            new.untimed,
            new.events,
            new.data
        ])?;
    let id = transaction.last_insert_rowid();
    let mut call = transaction
        .prepare_cached("INSERT INTO event_block_calls (site, call_uuid, block) VALUES (?1, ?2, ?3)")?;
    for key in &new.calls {
        call.execute(params![new.site, key, id])?;
    }
    let mut conn = transaction
        .prepare_cached("INSERT INTO event_block_conns (site, conn_id, block) VALUES (?1, ?2, ?3)")?;
    for key in &new.conns {
        conn.execute(params![new.site, key, id])?;
    }
    Ok(())
}

/// The widest span of sequence numbers of one block (0 with none).
fn widest_span(connection: &Connection) -> Result<i64, StoreError> {
    Ok(connection.query_row(
        "SELECT COALESCE(MAX(last_seq - first_seq), 0) FROM event_blocks",
        [],
        |row| row.get(0),
    )?)
}

/// The highest stored sequence number: among the blocks that start no earlier than the last
/// block's start less the widest span (any block that ends later starts there).
pub fn last_seq(connection: &Connection) -> Result<Option<u64>, StoreError> {
    let last: Option<i64> = connection
        .prepare_cached(
            "SELECT MAX(last_seq) FROM event_blocks WHERE first_seq >=
                (SELECT MAX(first_seq) FROM event_blocks) - (SELECT COALESCE(MAX(last_seq - first_seq), 0) FROM event_blocks)",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(last.map(|last| last as u64))
}

/// The lowest stored sequence number.
pub fn first_seq(connection: &Connection) -> Result<Option<u64>, StoreError> {
    let first: Option<i64> =
        connection.query_row("SELECT MIN(first_seq) FROM event_blocks", [], |row| row.get(0))?;
    Ok(first.map(|first| first as u64))
}

/// The stored sequence numbers from `lowest` to `highest` (rare: only for a batch committed
/// again), each block among them read once.
fn stored_between(connection: &Connection, lowest: u64, highest: u64) -> Result<BTreeSet<u64>, StoreError> {
    let span = widest_span(connection)?;
    let mut statement = connection.prepare_cached(
        "SELECT id, data FROM event_blocks WHERE first_seq >= ?1 - ?3 AND first_seq <= ?2 AND last_seq >= ?1",
    )?;
    let mut rows = statement.query(params![lowest as i64, highest as i64, span])?;
    let mut stored = BTreeSet::new();
    while let Some(row) = rows.next()? {
        let events = block::read_block(row.get(0)?, &row.get::<_, Vec<u8>>(1)?)?;
        stored.extend(events.iter().map(|event| event.seq).filter(|seq| (lowest..=highest).contains(seq)));
    }
    Ok(stored)
}

/// Stored events with a sequence number above `after`, in order, at most `limit`.
pub fn events_after(
    connection: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut earliest = Earliest::new(limit);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let span = widest_span(connection)?;
    let mut statement = connection.prepare_cached(
        "SELECT id, first_seq, data FROM event_blocks WHERE first_seq > ?1 - ?2 AND last_seq > ?1
          ORDER BY first_seq",
    )?;
    let mut rows = statement.query(params![after, span])?;
    while let Some(row) = rows.next()? {
        if earliest.is_full_before(row.get::<_, i64>(1)? as u64) {
            break;
        }
        earliest.offer_after(row.get(0)?, &row.get::<_, Vec<u8>>(2)?, after)?;
    }
    Ok(earliest.into_events())
}

/// The events of one call on `site`: those with CallUUID `key`, and those of `spans` (each a
/// ConnID without CallUUID, timed within its span or untimed); in order, at most `limit`.
pub fn call_events(
    connection: &Connection,
    site: &str,
    key: &str,
    spans: &[ConnSpan],
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut blocks: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut by_call = connection.prepare_cached(
        "SELECT b.first_seq, b.id FROM event_block_calls c JOIN event_blocks b ON b.id = c.block
          WHERE c.site = ?1 AND c.call_uuid = ?2",
    )?;
    for row in by_call.query_map(params![site, key], |row| Ok((row.get(0)?, row.get(1)?)))? {
        blocks.insert(row?);
    }
    let mut by_conn = connection.prepare_cached(
        "SELECT b.first_seq, b.id FROM event_block_conns c JOIN event_blocks b ON b.id = c.block
          WHERE c.site = ?1 AND c.conn_id = ?2
            AND (b.untimed > 0 OR (b.last_us >= ?3 AND b.first_us <= ?4))",
    )?;
    for span in spans {
        let (first, last) = span.bounds();
        for row in by_conn
            .query_map(params![site, span.conn_id, first, last], |row| Ok((row.get(0)?, row.get(1)?)))?
        {
            blocks.insert(row?);
        }
    }
    let mut earliest = Earliest::new(limit);
    let mut data = connection.prepare_cached("SELECT data FROM event_blocks WHERE id = ?1")?;
    for (first_seq, block) in blocks {
        if earliest.is_full_before(first_seq as u64) {
            break;
        }
        let bytes: Vec<u8> = data.query_row([block], |row| row.get(0))?;
        earliest.offer_of_call(block, &bytes, key, spans)?;
    }
    Ok(earliest.into_events())
}

/// Deletes the blocks whose every event is before `before_us` and numbered at most
/// `up_to_seq` (an untimed event is never before a time), with their index rows; how many
/// events went.
pub fn prune(transaction: &Transaction<'_>, before_us: i64, up_to_seq: i64) -> Result<u64, StoreError> {
    let doomed: Vec<(i64, String, i64, Vec<u8>)> = transaction
        .prepare(
            "SELECT id, site, events, data FROM event_blocks
              WHERE first_seq <= ?2 AND last_seq <= ?2 AND untimed = 0 AND last_us < ?1",
        )?
        .query_map(params![before_us, up_to_seq], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut events = 0;
    for (block, site, count, data) in doomed {
        forget_keys(transaction, block, &site, &data)?;
        transaction.prepare_cached("DELETE FROM event_blocks WHERE id = ?1")?.execute([block])?;
        events += count as u64;
    }
    Ok(events)
}

/// Deletes the index rows of `block`: by their keys, read from the block; by a scan of the
/// indexes when the block cannot be read (retention must not stop at a damaged block).
fn forget_keys(transaction: &Transaction<'_>, block: i64, site: &str, data: &[u8]) -> Result<(), StoreError> {
    let Ok(events) = frame::decompress(data) else {
        transaction.execute("DELETE FROM event_block_calls WHERE block = ?1", [block])?;
        transaction.execute("DELETE FROM event_block_conns WHERE block = ?1", [block])?;
        return Ok(());
    };
    let mut call = transaction
        .prepare_cached("DELETE FROM event_block_calls WHERE site = ?1 AND call_uuid = ?2 AND block = ?3")?;
    let mut conn = transaction
        .prepare_cached("DELETE FROM event_block_conns WHERE site = ?1 AND conn_id = ?2 AND block = ?3")?;
    for event in &events {
        match (&event.call_uuid, &event.conn_id) {
            (Some(key), _) => call.execute(params![site, key, block])?,
            (None, Some(key)) => conn.execute(params![site, key, block])?,
            (None, None) => 0,
        };
    }
    Ok(())
}

/// How many rows of the schema-5 `events` table one step of [`move_rows_into_blocks`] reads:
/// like a commit of the ingest loop, so that blocks span few sequence numbers.
const ROWS_PER_STEP: i64 = 20_000;

/// Migration 6: the rows of the `events` table (one per event) become blocks, read in
/// sequence order a step at a time, each step written as a commit writes its batch; then the
/// table and its indexes go.
pub fn move_rows_into_blocks(transaction: &Transaction<'_>) -> Result<(), StoreError> {
    let mut after = i64::MIN;
    loop {
        let rows: Vec<EventRecord> = transaction
            .prepare(
                "SELECT seq, site, time_us, call_uuid, conn_id, doc, arrived_us FROM events
                  WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map(params![after, ROWS_PER_STEP], |row| {
                Ok(EventRecord {
                    seq: row.get::<_, i64>(0)? as u64,
                    site: row.get(1)?,
                    time_us: row.get(2)?,
                    message: String::new(),
                    call_uuid: row.get(3)?,
                    conn_id: row.get(4)?,
                    doc: row.get(5)?,
                    arrived_us: row.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let Some(last) = rows.last() else { break };
        after = last.seq as i64;
        write_by_site(transaction, &rows.iter().collect::<Vec<_>>())?;
    }
    transaction.execute_batch("DROP TABLE events")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BLOCK_EVENTS;
    use proptest::prelude::*;

    fn database() -> Connection {
        let mut connection = Connection::open_in_memory().expect("open");
        crate::sqlite::schema::migrate(&mut connection).expect("schema");
        connection
    }

    fn commit(connection: &mut Connection, events: &[EventRecord]) {
        let transaction = connection.transaction().expect("begin");
        insert(&transaction, events).expect("insert");
        transaction.commit().expect("commit");
    }

    fn event(
        seq: u64,
        site: &str,
        time_us: Option<i64>,
        call_uuid: Option<&str>,
        conn_id: Option<&str>,
    ) -> EventRecord {
        EventRecord {
            seq,
            site: site.to_string(),
            time_us,
            message: "EventRinging".to_string(),
            call_uuid: call_uuid.map(str::to_string),
            conn_id: conn_id.map(str::to_string),
            doc: format!(
                r#"{{"seq":{seq},"site":"{site}","call_uuid":{call_uuid:?},"conn_id":{conn_id:?}}}"#
            ),
            arrived_us: time_us.map(|time| time + 7),
        }
    }

    fn as_stored(event: &EventRecord) -> StoredEvent {
        StoredEvent { seq: event.seq, doc: event.doc.clone(), arrived_us: event.arrived_us }
    }

    /// The events of one call as the SQL over one row per event (schema 5) chose them.
    fn naive_call_events(
        all: &[EventRecord],
        site: &str,
        key: &str,
        spans: &[ConnSpan],
        limit: usize,
    ) -> Vec<StoredEvent> {
        let mut found: Vec<StoredEvent> = all
            .iter()
            .filter(|event| event.site == site)
            .filter(|event| {
                event.call_uuid.as_deref() == Some(key)
                    || spans.iter().any(|span| {
                        event.call_uuid.is_none()
                            && event.conn_id.as_deref() == Some(span.conn_id.as_str())
                            && event.time_us.is_none_or(|time| {
                                time >= span.first_us.unwrap_or(i64::MIN)
                                    && time <= span.last_us.unwrap_or(i64::MAX)
                            })
                    })
            })
            .map(as_stored)
            .collect();
        found.sort_by_key(|event| event.seq);
        found.truncate(limit);
        found
    }

    const SITES: [&str; 3] = ["north", "south", "west"];
    const KEYS: [&str; 4] = ["k0", "k1", "k2", "k3"];

    /// Events numbered in order with gaps, each on one of three sites with a CallUUID and a
    /// ConnID from small pools (so that they repeat), some without a time and the others about
    /// five times their number; cut into batches.
    fn batches() -> impl Strategy<Value = Vec<Vec<EventRecord>>> {
        let one = (
            1u64..4,
            0..3usize,
            proptest::option::of(0..4usize),
            proptest::option::of(0..4usize),
            proptest::option::weighted(0.8, 0i64..20),
        );
        (proptest::collection::vec(one, 0..160), proptest::collection::vec(1usize..60, 1..8)).prop_map(
            |(drawn, cuts)| {
                let mut seq = 0;
                let events: Vec<EventRecord> = drawn
                    .into_iter()
                    .map(|(gap, site, call, conn, time)| {
                        seq += gap;
                        event(
                            seq,
                            SITES[site],
                            time.map(|jitter| seq as i64 * 5 + jitter),
                            call.map(|n| KEYS[n]),
                            conn.map(|n| KEYS[n]),
                        )
                    })
                    .collect();
                let mut batches = Vec::new();
                let mut rest = events.as_slice();
                for cut in cuts.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (batch, after) = rest.split_at((*cut).min(rest.len()));
                    batches.push(batch.to_vec());
                    rest = after;
                }
                batches
            },
        )
    }

    fn spans(drawn: &[(usize, Option<i64>, Option<i64>)]) -> Vec<ConnSpan> {
        drawn
            .iter()
            .map(|(conn, first_us, last_us)| ConnSpan {
                conn_id: KEYS[*conn].to_string(),
                first_us: *first_us,
                last_us: *last_us,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

        /// Whatever the batches and their sites' interleaving, a page after any number is
        /// exactly the stored events above it, in order, cut at the limit; a batch committed
        /// twice is stored once.
        #[test]
        fn events_after_are_the_stored_events_above_the_number_in_order(
            batches in batches(),
            again in any::<prop::sample::Index>(),
            after in 0u64..400,
            limit in 0usize..200,
        ) {
            let mut connection = database();
            for batch in &batches {
                commit(&mut connection, batch);
            }
            if !batches.is_empty() {
                commit(&mut connection, &batches[again.index(batches.len())]);
            }
            let all: Vec<&EventRecord> = batches.iter().flatten().collect();
            let expected: Vec<StoredEvent> =
                all.iter().filter(|event| event.seq > after).take(limit).map(|event| as_stored(event)).collect();
            prop_assert_eq!(events_after(&connection, after, limit).expect("read"), expected);
            let everything: Vec<StoredEvent> = all.iter().map(|event| as_stored(event)).collect();
            prop_assert_eq!(events_after(&connection, 0, usize::MAX).expect("read"), everything);
            prop_assert_eq!(last_seq(&connection).expect("last"), all.last().map(|event| event.seq));
        }

        /// A call's events are what a filter over every stored event finds: its CallUUID on its
        /// site, and its ConnIDs' events without CallUUID within their spans (or untimed).
        #[test]
        fn call_events_are_a_filter_over_every_stored_event(
            batches in batches(),
            site in 0..3usize,
            key in 0..4usize,
            drawn in proptest::collection::vec((0..4usize, proptest::option::of(0i64..2500), proptest::option::of(0i64..2500)), 0..3),
            limit in 0usize..100,
        ) {
            let mut connection = database();
            for batch in &batches {
                commit(&mut connection, batch);
            }
            let all: Vec<EventRecord> = batches.into_iter().flatten().collect();
            let spans = spans(&drawn);
            let found = call_events(&connection, SITES[site], KEYS[key], &spans, limit).expect("read");
            prop_assert_eq!(found, naive_call_events(&all, SITES[site], KEYS[key], &spans, limit));
        }

        /// Retention removes only events that qualify (before the time, covered by the
        /// snapshot), a block at a time, and counts what it removed.
        #[test]
        fn prune_removes_whole_blocks_of_qualifying_events_only(
            batches in batches(),
            before_us in 0i64..2500,
            up_to in 0i64..400,
        ) {
            let mut connection = database();
            for batch in &batches {
                commit(&mut connection, batch);
            }
            let all: Vec<EventRecord> = batches.into_iter().flatten().collect();
            let transaction = connection.transaction().expect("begin");
            let pruned = prune(&transaction, before_us, up_to).expect("prune");
            transaction.commit().expect("commit");
            let kept: Vec<u64> = events_after(&connection, 0, usize::MAX).expect("read").iter().map(|event| event.seq).collect();
            let gone: Vec<&EventRecord> = all.iter().filter(|event| !kept.contains(&event.seq)).collect();
            prop_assert_eq!(gone.len() as u64, pruned);
            for event in gone {
                prop_assert!(event.time_us.is_some_and(|time| time < before_us) && event.seq as i64 <= up_to, "{:?}", event.seq);
            }
            let rows: i64 = connection
                .query_row(
                    "SELECT (SELECT COUNT(*) FROM event_block_calls WHERE block NOT IN (SELECT id FROM event_blocks))
                          + (SELECT COUNT(*) FROM event_block_conns WHERE block NOT IN (SELECT id FROM event_blocks))",
                    [],
                    |row| row.get(0),
                )
                .expect("orphans");
            prop_assert_eq!(rows, 0, "no index row outlives its block");
        }
    }

    /// A site's events beyond a block's worth go into more blocks, each read back in order.
    #[test]
    fn a_site_with_more_events_than_a_block_holds_gets_several_blocks() {
        let mut connection = database();
        let events: Vec<EventRecord> = (1..=2 * BLOCK_EVENTS as u64 + 10)
            .map(|seq| event(seq, SITES[(seq % 5 == 0) as usize], Some(seq as i64), Some("k"), None))
            .collect();
        commit(&mut connection, &events);
        let blocks: i64 =
            connection.query_row("SELECT COUNT(*) FROM event_blocks", [], |row| row.get(0)).expect("count");
        assert_eq!(blocks, 3, "north: 1608 events in 2 blocks; south: 402 in 1");
        let expected: Vec<StoredEvent> = events.iter().map(as_stored).collect();
        assert_eq!(events_after(&connection, 0, usize::MAX).expect("read"), expected);
        assert_eq!(events_after(&connection, 1500, 3).expect("read"), expected[1500..1503]);
    }

    /// Damaged block data is an error naming the block, on every read that meets it, and
    /// retention still deletes the block.
    #[test]
    fn a_damaged_block_is_an_error_naming_it_never_a_panic() {
        let mut connection = database();
        commit(
            &mut connection,
            &[event(1, "north", Some(1), Some("k"), None), event(2, "north", Some(2), None, Some("c"))],
        );
        let original: Vec<u8> =
            connection.query_row("SELECT data FROM event_blocks", [], |row| row.get(0)).expect("data");
        let spans = [ConnSpan { conn_id: "c".to_string(), first_us: None, last_us: None }];
        for at in 0..original.len() {
            let mut damaged = original.clone();
            damaged[at] ^= 0x5a;
            connection.execute("UPDATE event_blocks SET data = ?1", [&damaged]).expect("damage");
            let read = events_after(&connection, 0, 10);
            assert!(matches!(read, Err(StoreError::BadBlock { block: 1, .. })), "byte {at}: {read:?}");
            let read = call_events(&connection, "north", "k", &spans, 10);
            assert!(matches!(read, Err(StoreError::BadBlock { block: 1, .. })), "byte {at}: {read:?}");
        }
        let transaction = connection.transaction().expect("begin");
        assert_eq!(prune(&transaction, 10, 10).expect("prune"), 2);
        transaction.commit().expect("commit");
        let left: i64 = connection
            .query_row(
                "SELECT (SELECT COUNT(*) FROM event_block_calls) + (SELECT COUNT(*) FROM event_block_conns)",
                [],
                |row| row.get(0),
            )
            .expect("count");
        assert_eq!(left, 0);
    }
}
