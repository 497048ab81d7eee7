//! The service's Prometheus metrics (`GET /metrics`): events in by site and type, parse
//! problems by kind, interactions open and completed, ingest lag, store latency.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub site: String,
    pub message: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProblemLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    pub events: Family<EventLabels, Counter>,
    pub problems: Family<ProblemLabels, Counter>,
    pub rejected: Family<SourceLabels, Counter>,
    pub calls_in_progress: Gauge,
    pub segments_waiting: Gauge,
    pub interactions_completed: Counter,
    pub interactions_written: Counter,
    pub ingest_lag: Gauge<f64, AtomicU64>,
    pub orphan_media: Counter,
    pub clock_outliers: Counter,
    pub snapshot_failures: Counter,
    pub interactions_live: Gauge,
    pub interactions_archived: Gauge,
    pub commit_seconds: Histogram,
    pub batch_events: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("callstitch");
        let events = Family::<EventLabels, Counter>::default();
        registry.register("events", "T-Library events ingested, by site and message", events.clone());
        let problems = Family::<ProblemLabels, Counter>::default();
        registry.register(
            "parse_problems",
            "Log lines or blocks that could not be read as they are",
            problems.clone(),
        );
        let rejected = Family::<SourceLabels, Counter>::default();
        registry.register(
            "rejected_requests",
            "Ingest requests refused (bad JSON, too large, no room)",
            rejected.clone(),
        );
        let calls_in_progress = Gauge::default();
        registry.register(
            "calls_in_progress",
            "Calls the engine holds (not ended yet)",
            calls_in_progress.clone(),
        );
        let segments_waiting = Gauge::default();
        registry.register(
            "interactions_open",
            "Ended calls the linker holds until their interaction is settled",
            segments_waiting.clone(),
        );
        let interactions_completed = Counter::default();
        registry.register(
            "interactions_completed",
            "Interactions handed out complete",
            interactions_completed.clone(),
        );
        let interactions_written = Counter::default();
        registry.register(
            "interactions_written",
            "Interaction writes (first versions and revisions)",
            interactions_written.clone(),
        );
        let ingest_lag = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "ingest_lag_seconds",
            "Seconds from a followed event being read to its commit, last batch",
            ingest_lag.clone(),
        );
        let orphan_media = Counter::default();
        registry.register(
            "orphan_media_files",
            "Media files of the feed that no interaction claimed (P2)",
            orphan_media.clone(),
        );
        let clock_outliers = Counter::default();
        registry.register(
            "clock_outliers",
            "Events whose time was far from their site's other events or ahead of the wall clock: kept, moving no clock",
            clock_outliers.clone(),
        );
        let snapshot_failures = Counter::default();
        registry.register(
            "snapshot_failures",
            "Pipeline snapshots that could not be taken (a restart replays from the last one taken)",
            snapshot_failures.clone(),
        );
        let interactions_live = Gauge::default();
        registry.register(
            "interactions_live",
            "Interactions with a call up now (the customer is in the system)",
            interactions_live.clone(),
        );
        let interactions_archived = Gauge::default();
        registry.register(
            "interactions_archived",
            "Complete interactions kept as bytes because late evidence could still join them",
            interactions_archived.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.0002, 2.0, 16));
        registry.register("store_commit_seconds", "Time to commit one ingest batch", commit_seconds.clone());
        let batch_events = Histogram::new(exponential_buckets(1.0, 4.0, 10));
        registry.register("batch_events", "Events per committed batch", batch_events.clone());
        Metrics {
            registry,
            events,
            problems,
            rejected,
            calls_in_progress,
            segments_waiting,
            interactions_completed,
            interactions_written,
            ingest_lag,
            orphan_media,
            clock_outliers,
            snapshot_failures,
            interactions_live,
            interactions_archived,
            commit_seconds,
            batch_events,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
