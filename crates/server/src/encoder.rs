//! Snapshots encoded off the thread that links.
//!
//! A snapshot has two parts: capturing the state (a copy of what is in memory, which must
//! happen between two events, on the thread that owns the state) and encoding it into bytes
//! (most of the cost, which can happen anywhere). [`Encoder`] runs the encoding of one
//! captured state at a time on a thread of its own; the loop goes on taking events and
//! attaches the encoded snapshot to whichever batch it commits once the bytes are ready.
//! Both loops use it: `serve`'s ingest loop (crate::ingest, the pipeline's state, tagged with
//! the event and media post it was captured after) and the linker role's (crate::estate, the
//! linker side's state, tagged with each site's position).
//!
//! The bytes are stored zstd-compressed ([`packed`], read back by [`unpacked`]): a busy
//! estate's state is tens of MB of JSON, which PostgreSQL's own compression (pglz) took a
//! few hundred milliseconds of the commit to write; zstd, here off the loop, writes a tenth
//! of the bytes. A snapshot stored before (not compressed) is still read.
//!
//! That is safe because a snapshot is as of the input it was captured after (its tag): all
//! that input's changes are committed in that batch or an earlier one, and a restart goes on
//! from the tag, wherever the snapshot itself was committed. Until the bytes are committed,
//! the previous snapshot stays the one a restart begins from.

use std::borrow::Cow;
use std::thread::JoinHandle;

use callstitch_pipeline::split::EstateLinkerState;
use callstitch_pipeline::PipelineState;
use callstitch_store::compact::{pack, unpack};
use callstitch_store::StoreError;

use crate::pipeline::SnapshotError;

/// A captured state that can be turned into a snapshot's bytes.
pub(crate) trait Captured: Send + 'static {
    fn encode(&self) -> Result<Vec<u8>, SnapshotError>;
}

impl Captured for PipelineState {
    fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        PipelineState::encode(self)
    }
}

impl Captured for EstateLinkerState {
    fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        EstateLinkerState::encode(self)
    }
}

/// One captured state being encoded, with what it was captured after.
struct Encoding<T> {
    tag: T,
    job: JoinHandle<Result<Vec<u8>, EncodeError>>,
}

/// See the module documentation. `T`: what a state was captured after, handed back with its
/// bytes.
pub(crate) struct Encoder<T> {
    running: Option<Encoding<T>>,
    /// Test support: an encoding waits while a test holds this lock, so that a test can
    /// take events while the snapshot is still being encoded.
    #[cfg(test)]
    pub(crate) gate: std::sync::Arc<std::sync::Mutex<()>>,
}

impl<T> Default for Encoder<T> {
    fn default() -> Self {
        Encoder {
            running: None,
            #[cfg(test)]
            gate: std::sync::Arc::default(),
        }
    }
}

/// Why an encoding gave no snapshot.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("the snapshot cannot be compressed: {0}")]
    Pack(StoreError),
    #[error("the snapshot encoder thread stopped without an answer")]
    Lost,
}

/// The first bytes of a zstd frame: no encoded snapshot starts with them (each starts with
/// its format's magic text).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A snapshot's bytes as they are stored: `encoded`, compressed.
pub(crate) fn packed(encoded: Result<Vec<u8>, SnapshotError>) -> Result<Vec<u8>, EncodeError> {
    pack(&encoded?).map_err(EncodeError::Pack)
}

/// A stored snapshot's encoded bytes: [`packed`] ones uncompressed, older ones as they are.
pub(crate) fn unpacked(stored: &[u8]) -> Result<Cow<'_, [u8]>, StoreError> {
    if stored.starts_with(&ZSTD_MAGIC) {
        return unpack("snapshot", stored).map(Cow::Owned);
    }
    Ok(Cow::Borrowed(stored))
}

impl<T> Encoder<T> {
    /// Whether an encoding is running (a new one waits for it).
    pub(crate) fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Encodes `state`, captured after `tag`, on a thread of its own. False when no thread
    /// could be started: the caller snapshots on its own thread instead.
    pub(crate) fn start(&mut self, state: impl Captured, tag: T) -> bool {
        debug_assert!(self.running.is_none(), "one encoding at a time");
        #[cfg(test)]
        let gate = std::sync::Arc::clone(&self.gate);
        let spawned = std::thread::Builder::new().name("callstitch-snapshot".into()).spawn(move || {
            #[cfg(test)]
            let _open = gate.lock();
            packed(state.encode())
        });
        match spawned {
            Ok(job) => {
                self.running = Some(Encoding { tag, job });
                true
            }
            Err(_) => false,
        }
    }

    /// The snapshot whose encoding finished since the last call, if one did: its bytes and
    /// its tag.
    pub(crate) fn finished(&mut self) -> Option<(Result<Vec<u8>, EncodeError>, T)> {
        if !self.running.as_ref()?.job.is_finished() {
            return None;
        }
        self.wait()
    }

    /// Waits for the running encoding, if any.
    pub(crate) fn wait(&mut self) -> Option<(Result<Vec<u8>, EncodeError>, T)> {
        let Encoding { tag, job } = self.running.take()?;
        let bytes = job.join().unwrap_or(Err(EncodeError::Lost));
        Some((bytes, tag))
    }

    /// Test support: blocks until the running encoding has finished, leaving its snapshot
    /// for the next batch to take, as if the loop had been busy long enough.
    #[cfg(test)]
    pub(crate) fn settle(&self) {
        while self.running.as_ref().is_some_and(|encoding| !encoding.job.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Why a stored snapshot gave no state.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RestoreError {
    #[error(transparent)]
    Unpack(StoreError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// The state `restore` makes of a stored snapshot's bytes ([`unpacked`] first).
pub(crate) fn restored<T>(
    stored: &[u8],
    restore: impl FnOnce(&[u8]) -> Result<T, SnapshotError>,
) -> Result<T, RestoreError> {
    let encoded = unpacked(stored).map_err(RestoreError::Unpack)?;
    Ok(restore(&encoded)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_packed_snapshot_reads_back_and_one_stored_uncompressed_reads_as_it_is() {
        let encoded = b"callstitch-pipeline-2\n{\"calls\":[]}".repeat(50);
        let stored = packed(Ok(encoded.clone())).unwrap();
        assert!(stored.len() < encoded.len() / 4, "compressed: {} of {}", stored.len(), encoded.len());
        assert_eq!(unpacked(&stored).unwrap().as_ref(), encoded.as_slice());
        assert!(matches!(unpacked(&encoded).unwrap(), Cow::Borrowed(_)), "an older snapshot as it is");
        let mut damaged = stored.clone();
        damaged.truncate(stored.len() / 2);
        assert!(unpacked(&damaged).is_err(), "a cut frame is an error, not a panic");
    }
}
