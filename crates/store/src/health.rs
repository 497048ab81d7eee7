//! What the store has seen go wrong, for `/healthz` and `/v1/status`: failures of reads,
//! writes and the background checkpoint, counted, with the last one and how long ago it
//! was; and corruption, which stays reported until a restart (a damaged file does not heal).

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::error::{FailureKind, StoreError};

/// Which of the store's paths failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Read,
    Write,
    Checkpoint,
}

/// One failure as reported.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoreFailure {
    pub operation: Operation,
    pub kind: FailureKind,
    pub error: String,
    pub seconds_ago: u64,
}

/// The store's health as of now. See the module documentation.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct StoreHealth {
    pub read_failures: u64,
    pub write_failures: u64,
    pub checkpoint_failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<StoreFailure>,
    /// What showed the file is damaged, once anything did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrupt: Option<String>,
}

impl StoreHealth {
    /// The last failure of `operation`, if it happened within `seconds`.
    pub fn recent(&self, operation: Operation, seconds: u64) -> Option<&StoreFailure> {
        self.last_failure
            .as_ref()
            .filter(|failure| failure.operation == operation && failure.seconds_ago <= seconds)
    }
}

#[derive(Debug, Default)]
struct Seen {
    read_failures: u64,
    write_failures: u64,
    checkpoint_failures: u64,
    last: Option<(Operation, FailureKind, String, Instant)>,
    corrupt: Option<String>,
}

/// Where a backend records its failures; cheap to share.
#[derive(Debug, Default)]
pub struct HealthLog {
    seen: Mutex<Seen>,
}

impl HealthLog {
    /// Records a failure of `operation`. A bad cursor is the caller's mistake, not the
    /// store's, and is not recorded.
    pub fn record(&self, operation: Operation, error: &StoreError) {
        // The client's doing, not the store's.
        if matches!(error, StoreError::BadCursor(_) | StoreError::TooBroad { .. }) {
            return;
        }
        let kind = error.kind();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match operation {
            Operation::Read => seen.read_failures += 1,
            Operation::Write => seen.write_failures += 1,
            Operation::Checkpoint => seen.checkpoint_failures += 1,
        }
        if kind == FailureKind::Corrupt && seen.corrupt.is_none() {
            seen.corrupt = Some(error.to_string());
        }
        seen.last = Some((operation, kind, error.to_string(), Instant::now()));
    }

    pub fn health(&self) -> StoreHealth {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        StoreHealth {
            read_failures: seen.read_failures,
            write_failures: seen.write_failures,
            checkpoint_failures: seen.checkpoint_failures,
            last_failure: seen.last.as_ref().map(|(operation, kind, error, at)| StoreFailure {
                operation: *operation,
                kind: *kind,
                error: error.clone(),
                seconds_ago: at.elapsed().as_secs(),
            }),
            corrupt: seen.corrupt.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::os::raw::c_int) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None))
    }

    #[test]
    fn failures_are_counted_by_path_and_corruption_stays_reported() {
        let log = HealthLog::default();
        log.record(Operation::Read, &StoreError::BadCursor("x".to_string()));
        assert_eq!(log.health(), StoreHealth::default(), "a bad cursor is not the store's failure");
        log.record(Operation::Read, &sqlite(rusqlite::ffi::SQLITE_CORRUPT));
        log.record(Operation::Write, &sqlite(rusqlite::ffi::SQLITE_FULL));
        log.record(Operation::Checkpoint, &sqlite(rusqlite::ffi::SQLITE_FULL));
        let health = log.health();
        assert_eq!((health.read_failures, health.write_failures, health.checkpoint_failures), (1, 1, 1));
        assert!(health.corrupt.is_some(), "still reported after later failures of another kind");
        let last = health.recent(Operation::Checkpoint, 60).expect("the last failure");
        assert_eq!(last.kind, FailureKind::Full);
        assert!(health.recent(Operation::Read, 60).is_none());
    }
}
