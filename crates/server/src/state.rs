//! What the ingest loop and the HTTP API share: the metrics, the live stream of interaction
//! changes, and whether the ingest loop is still alive.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::metrics::Metrics;

/// One change of the live stream (`GET /v1/stream`).
#[derive(Debug, Clone)]
pub struct StreamItem {
    /// `created` (first written, linking still waiting), `updated` (a later revision) or
    /// `completed` (written complete).
    pub kind: &'static str,
    pub id: String,
    /// The search-result row of the interaction.
    pub summary: Value,
}

pub struct Shared {
    pub metrics: Metrics,
    pub stream: broadcast::Sender<StreamItem>,
    ingest_alive: AtomicBool,
}

impl Default for Shared {
    fn default() -> Self {
        Shared::new()
    }
}

impl Shared {
    pub fn new() -> Shared {
        let (stream, _) = broadcast::channel(4096);
        Shared { metrics: Metrics::new(), stream, ingest_alive: AtomicBool::new(true) }
    }

    pub fn ingest_alive(&self) -> bool {
        self.ingest_alive.load(Ordering::Relaxed)
    }

    pub fn set_ingest_alive(&self, alive: bool) {
        self.ingest_alive.store(alive, Ordering::Relaxed);
    }
}
