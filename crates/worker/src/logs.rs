//! A backfill read from the sites' log files themselves (`callstitch worker --logs`), not
//! copied through the bus: months of rotated T-Server logs go straight from the disk into the
//! engine (issue 14, docs/scale.md "Backfills").
//!
//! A worker that reads logs takes sites exactly as one that reads the bus (advisory locks,
//! fair shares), but each site it owns is read from that site's files in their order
//! (rotated segments by start), on a thread of its own. The files are the work items: where
//! a site stands is the file of the last event taken and how many of that file's events were
//! taken ([`LogPlace`]), committed with the site's state. A worker that takes the site over
//! (after a crash, or as the shares change) opens that file, passes over the events already
//! taken and goes on: the files before it are not read again, so a restart costs at most one
//! file's reading, however long the backfill.
//!
//! The site's stream sequence, for a site read from its logs, is the number of the event
//! among all the site's events read so far: the event blocks, news and problems are numbered
//! by it as they are for the bus.
//!
//! What reads the files is given by the caller ([`LogSites`]): the command line resolves
//! `[NAME=]PATH` arguments and reads them as every other command does (crates/cli).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use callstitch_tlib::Event;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{Incoming, Item, BATCH};

/// Where a site read from its logs stands: `events` events of `file` were taken (and every
/// event of the files before it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPlace {
    /// The file as the reader names it (its path as given).
    pub file: String,
    pub events: u64,
}

/// One event read from a site's files: the file's name and the event's number in it (from 1).
#[derive(Debug)]
pub struct LogEvent {
    pub file: Arc<str>,
    /// The file's place among the site's files (from 0), for progress.
    pub file_index: usize,
    pub in_file: u64,
    pub event: Box<Event>,
}

/// Why a site's files could not be read on.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("site {site}: {file} is no longer among its log files, and the site's last committed event was read from it; put it back, or delete the site's row of estate_sites to read the site again from its first file")]
    FileGone { site: String, file: String },
    #[error("site {site}: {file} now holds {holds} events, and {taken} were taken from it: the file changed after it was read; a rotated log must not change")]
    FileShrank { site: String, file: String, holds: u64, taken: u64 },
    #[error("site {site} is not among the logs given")]
    NoSuchSite { site: String },
    #[error("site {site}: {detail}")]
    Read { site: String, detail: String },
}

/// The sites' log files, as the caller resolved them.
pub trait LogSites: Send + Sync + 'static {
    /// Every site, in a stable order.
    fn sites(&self) -> Vec<String>;

    /// How many files `site` has (0: no such site).
    fn files(&self, site: &str) -> usize;

    /// Reads `site`'s files in order from after `from` (from the first file's first event
    /// when `None`), handing each event to `take` until it says stop (false). Blocks.
    fn read(
        &self,
        site: &str,
        from: Option<&LogPlace>,
        take: &mut dyn FnMut(LogEvent) -> bool,
    ) -> Result<(), LogError>;
}

/// The logs a worker reads, for its options.
#[derive(Clone)]
pub struct Logs(pub Arc<dyn LogSites>);

impl fmt::Debug for Logs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Logs").field(&self.0.sites()).finish()
    }
}

/// What a site's reading thread needs: where to start, where to hand the events.
pub(crate) struct LogReading {
    pub site: Arc<str>,
    pub generation: u64,
    /// The stream sequence of the last event taken.
    pub after: u64,
    pub from: Option<LogPlace>,
    pub queue: mpsc::Sender<Incoming>,
    /// Set when the files are read to their end: 0; `u64::MAX` until then.
    pub pending: Arc<AtomicU64>,
    /// Set when the site is given up: the thread stops at its next event.
    pub cancel: Arc<AtomicBool>,
}

/// Reads one site's files (on a blocking thread) into the worker's queue.
pub(crate) fn read_site_logs(logs: &dyn LogSites, reading: LogReading) {
    let LogReading { site, generation, after, from, queue, pending, cancel } = reading;
    let mut seq = after;
    let mut batch = Vec::with_capacity(BATCH);
    // Hands the batch over: false once the worker has gone.
    let hand_over = |batch: &mut Vec<LogEvent>, seq: u64| -> bool {
        let events = std::mem::replace(batch, Vec::with_capacity(BATCH));
        let first = seq + 1 - events.len() as u64;
        let incoming = Incoming { site: Arc::clone(&site), generation, item: Item::Logged { first, events } };
        queue.blocking_send(incoming).is_ok()
    };
    let mut take = |read: LogEvent| -> bool {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        seq += 1;
        batch.push(read);
        batch.len() < BATCH || hand_over(&mut batch, seq)
    };
    let read = logs.read(&site, from.as_ref(), &mut take);
    if cancel.load(Ordering::Relaxed) || (!batch.is_empty() && !hand_over(&mut batch, seq)) {
        return;
    }
    match read {
        Ok(()) => {
            tracing::info!(site = %site, events = seq, "the site's log files are read to their end");
            let end = Incoming { site: Arc::clone(&site), generation, item: Item::FilesRead };
            if queue.blocking_send(end).is_ok() {
                pending.store(0, Ordering::Relaxed);
            }
        }
        Err(error) => {
            tracing::error!(%error, "the site's log files cannot be read on; the site stays where it is")
        }
    }
}
