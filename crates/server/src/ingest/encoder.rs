//! Snapshots encoded off the ingest thread.
//!
//! A snapshot has two parts: capturing the pipeline's state (a copy of what is in memory,
//! which must happen between two events, on the ingest thread) and encoding it into bytes
//! (most of the cost, which can happen anywhere). [`Encoder`] runs the encoding of one
//! captured state at a time on a thread of its own; the ingest loop goes on taking events and
//! attaches the encoded snapshot to whichever batch it commits once the bytes are ready.
//!
//! That is safe because a snapshot is as of the event numbered `seq` it was captured after:
//! every event up to it is committed in that batch or an earlier one, and a restart replays
//! the events after `seq`, wherever the snapshot itself was committed. Until the bytes are
//! committed, the previous snapshot stays the one a restart begins from.

use std::thread::JoinHandle;

use callstitch_pipeline::PipelineState;
use callstitch_store::Snapshot;

use crate::pipeline::SnapshotError;

/// One captured state being encoded.
struct Encoding {
    seq: u64,
    media_posts: u64,
    job: JoinHandle<Result<Vec<u8>, SnapshotError>>,
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Encoder {
    running: Option<Encoding>,
    /// Test support: an encoding waits while a test holds this lock, so that a test can
    /// take events while the snapshot is still being encoded.
    #[cfg(test)]
    pub(crate) gate: std::sync::Arc<std::sync::Mutex<()>>,
}

/// Why an encoding gave no snapshot.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("the snapshot encoder thread stopped without an answer")]
    Lost,
}

impl Encoder {
    /// Whether an encoding is running (a new one waits for it).
    pub(crate) fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Encodes `state`, the pipeline as of event `seq` and media post `media_posts`, on a
    /// thread of its own. False when no thread could be started: the caller snapshots on its
    /// own thread instead.
    pub(crate) fn start(&mut self, state: PipelineState, seq: u64, media_posts: u64) -> bool {
        debug_assert!(self.running.is_none(), "one encoding at a time");
        #[cfg(test)]
        let gate = std::sync::Arc::clone(&self.gate);
        let spawned = std::thread::Builder::new().name("callstitch-snapshot".into()).spawn(move || {
            #[cfg(test)]
            let _open = gate.lock();
            state.encode()
        });
        match spawned {
            Ok(job) => {
                self.running = Some(Encoding { seq, media_posts, job });
                true
            }
            Err(_) => false,
        }
    }

    /// The snapshot whose encoding finished since the last call, if one did.
    pub(crate) fn finished(&mut self) -> Option<Result<Snapshot, EncodeError>> {
        if !self.running.as_ref()?.job.is_finished() {
            return None;
        }
        self.wait()
    }

    /// Waits for the running encoding, if any.
    pub(crate) fn wait(&mut self) -> Option<Result<Snapshot, EncodeError>> {
        let Encoding { seq, media_posts, job } = self.running.take()?;
        Some(match job.join() {
            Ok(Ok(state)) => Ok(Snapshot { seq, state, media_posts }),
            Ok(Err(error)) => Err(EncodeError::Snapshot(error)),
            Err(_) => Err(EncodeError::Lost),
        })
    }

    /// Test support: blocks until the running encoding has finished, leaving its snapshot
    /// for the next batch to take, as if the ingest loop had been busy long enough.
    #[cfg(test)]
    pub(crate) fn settle(&self) {
        while self.running.as_ref().is_some_and(|encoding| !encoding.job.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}
