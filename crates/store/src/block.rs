//! Raw events as blocks, whatever database keeps them: which events of a batch are new, how
//! they are cut into blocks of one site ([`BLOCK_EVENTS`] at most, framed and compressed as
//! [`crate::frame`] says) with what a block's row and its index rows hold, and how the reads
//! merge blocks back into pages of events in sequence order ([`Earliest`]) and choose a call's
//! events among a block's ([`ConnSpan`], [`is_of_call`]).
//!
//! The backends keep the rows (SQLite: `sqlite/blocks.rs`; PostgreSQL: `postgres/blocks.rs`)
//! and read them with their own SQL; what a block is and means is decided here, once.

use std::collections::{BTreeSet, BinaryHeap};

use crate::error::StoreError;
use crate::frame::{self, BlockEvent, EventFields};
use crate::record::EventRecord;
use crate::StoredEvent;

/// The most events a block holds: large enough to compress well (zstd finds the repeats
/// between JSON lines), small enough that a call's page decompresses little besides its own.
pub const BLOCK_EVENTS: usize = 1000;

/// One block to write: its row's columns and the keys its index rows name.
#[derive(Debug)]
pub struct NewBlock<'a> {
    pub site: &'a str,
    pub first_seq: i64,
    pub last_seq: i64,
    /// The first and last event times among the events with one.
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
    /// Events without a time.
    pub untimed: i64,
    pub events: i64,
    /// Framed and compressed.
    pub data: Vec<u8>,
    /// The CallUUIDs of its events.
    pub calls: BTreeSet<&'a str>,
    /// The ConnIDs of its events without a CallUUID.
    pub conns: BTreeSet<&'a str>,
}

pub fn bad_block(block: i64, error: frame::FrameError) -> StoreError {
    StoreError::BadBlock { block, detail: error.to_string() }
}

/// The events of `events` to write: those not `stored` (sequence numbers already kept, a
/// batch committed again) and each number once.
pub fn fresh<'a>(events: &'a [EventRecord], stored: &BTreeSet<u64>) -> Vec<&'a EventRecord> {
    let mut seen = BTreeSet::new();
    events.iter().filter(|event| !stored.contains(&event.seq) && seen.insert(event.seq)).collect()
}

/// The lowest sequence number of `events` when it is at most `stored_up_to` (some may be
/// stored already: the backend looks them up from it to `stored_up_to`).
pub fn may_be_stored(events: &[EventRecord], stored_up_to: Option<u64>) -> Option<u64> {
    let lowest = events.iter().map(|event| event.seq).min()?;
    (lowest <= stored_up_to.unwrap_or(0)).then_some(lowest)
}

/// `events` (in sequence order) as blocks: each site's in order, [`BLOCK_EVENTS`] at most a
/// block, sites in the order they first appear.
pub fn blocks<'a>(events: &[&'a EventRecord]) -> Result<Vec<NewBlock<'a>>, StoreError> {
    let mut sites: Vec<&str> = Vec::new();
    for event in events {
        if !sites.contains(&event.site.as_str()) {
            sites.push(&event.site);
        }
    }
    let mut compressor = frame::compressor().map_err(|error| bad_block(0, error))?;
    let mut blocks = Vec::new();
    for site in sites {
        let of_site: Vec<&EventRecord> = events.iter().copied().filter(|event| event.site == site).collect();
        for chunk in of_site.chunks(BLOCK_EVENTS) {
            blocks.push(new_block(&mut compressor, chunk)?);
        }
    }
    Ok(blocks)
}

fn new_block<'a>(
    compressor: &mut zstd::bulk::Compressor<'_>,
    events: &[&'a EventRecord],
) -> Result<NewBlock<'a>, StoreError> {
    let fields = events.iter().map(|event| EventFields {
        seq: event.seq,
        time_us: event.time_us,
        arrived_us: event.arrived_us,
        call_uuid: event.call_uuid.as_deref(),
        conn_id: event.conn_id.as_deref(),
        doc: &event.doc,
    });
    let data = frame::compress(compressor, &frame::encode(fields)).map_err(|error| bad_block(0, error))?;
    let seqs = events.iter().map(|event| event.seq as i64);
    let times = events.iter().filter_map(|event| event.time_us);
    Ok(NewBlock {
        site: events.first().map_or("", |event| event.site.as_str()),
        first_seq: seqs.clone().min().unwrap_or(0),
        last_seq: seqs.max().unwrap_or(0),
        first_us: times.clone().min(),
        last_us: times.max(),
        untimed: events.iter().filter(|event| event.time_us.is_none()).count() as i64,
        events: events.len() as i64,
        data,
        calls: events.iter().filter_map(|event| event.call_uuid.as_deref()).collect(),
        conns: events
            .iter()
            .filter(|event| event.call_uuid.is_none())
            .filter_map(|event| event.conn_id.as_deref())
            .collect(),
    })
}

/// The events of a stored block's data (`block`: its id, for the error).
pub fn read_block(block: i64, data: &[u8]) -> Result<Vec<BlockEvent>, StoreError> {
    frame::decompress(data).map_err(|error| bad_block(block, error))
}

pub fn stored(event: BlockEvent) -> StoredEvent {
    StoredEvent { seq: event.seq, doc: event.doc, arrived_us: event.arrived_us }
}

/// The `limit` events of lowest sequence number among those offered, block by block in order
/// of their first sequence number.
pub struct Earliest {
    limit: usize,
    kept: Vec<StoredEvent>,
    /// The sequence numbers of the `limit` lowest kept, highest on top.
    lowest: BinaryHeap<u64>,
}

impl Earliest {
    pub fn new(limit: usize) -> Earliest {
        Earliest { limit, kept: Vec::new(), lowest: BinaryHeap::new() }
    }

    /// Whether a block starting at `first_seq` (and every later one) can add nothing.
    pub fn is_full_before(&self, first_seq: u64) -> bool {
        self.lowest.len() >= self.limit && self.lowest.peek().is_none_or(|highest| *highest < first_seq)
    }

    pub fn offer(&mut self, event: StoredEvent) {
        if self.lowest.len() >= self.limit {
            match self.lowest.peek() {
                Some(highest) if event.seq < *highest => {
                    self.lowest.pop();
                }
                _ => return,
            }
        }
        self.lowest.push(event.seq);
        self.kept.push(event);
    }

    /// The events of block `block` (its data) numbered above `after`.
    pub fn offer_after(&mut self, block: i64, data: &[u8], after: i64) -> Result<(), StoreError> {
        for event in read_block(block, data)? {
            if event.seq as i64 > after {
                self.offer(stored(event));
            }
        }
        Ok(())
    }

    /// The events of block `block` (its data) that belong to the call `key` with `spans`.
    pub fn offer_of_call(
        &mut self,
        block: i64,
        data: &[u8],
        key: &str,
        spans: &[ConnSpan],
    ) -> Result<(), StoreError> {
        for event in read_block(block, data)? {
            if is_of_call(&event, key, spans) {
                self.offer(stored(event));
            }
        }
        Ok(())
    }

    pub fn into_events(mut self) -> Vec<StoredEvent> {
        self.kept.sort_by_key(|event| event.seq);
        self.kept.dedup_by_key(|event| event.seq);
        self.kept.truncate(self.limit);
        self.kept
    }
}

/// A ConnID of a call and the time span its events without CallUUID must fall in.
pub struct ConnSpan {
    pub conn_id: String,
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
}

impl ConnSpan {
    pub fn holds(&self, event: &BlockEvent) -> bool {
        event.call_uuid.is_none()
            && event.conn_id.as_deref() == Some(self.conn_id.as_str())
            && event.time_us.is_none_or(|time| {
                time >= self.first_us.unwrap_or(i64::MIN) && time <= self.last_us.unwrap_or(i64::MAX)
            })
    }

    /// The time span to look for blocks in: from its first to its last event, open where
    /// unknown.
    pub fn bounds(&self) -> (i64, i64) {
        (self.first_us.unwrap_or(i64::MIN), self.last_us.unwrap_or(i64::MAX))
    }

    /// The spans of a stored call: each of its ConnIDs (a JSON list, as stored) over its time.
    pub fn of_call(
        conn_ids: &str,
        first_us: Option<i64>,
        last_us: Option<i64>,
    ) -> Result<Vec<ConnSpan>, StoreError> {
        let conn_ids: Vec<String> = serde_json::from_str(conn_ids)
            .map_err(|source| StoreError::BadDocument { what: "call's ConnIDs", source })?;
        Ok(conn_ids.into_iter().map(|conn_id| ConnSpan { conn_id, first_us, last_us }).collect())
    }
}

/// Whether a stored event belongs to the call `key`: its CallUUID, or one of `spans`.
pub fn is_of_call(event: &BlockEvent, key: &str, spans: &[ConnSpan]) -> bool {
    event.call_uuid.as_deref() == Some(key) || spans.iter().any(|span| span.holds(event))
}
