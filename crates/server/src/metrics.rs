//! The service's Prometheus metrics (`GET /metrics`): events in by site and type, parse
//! problems by kind, interactions open and completed, ingest lag, store latency.
//!
//! Every label value comes from a closed set, so the number of series is bounded whatever
//! the inputs are called (docs/serve.md, "Failure modes and limits"): `site` is a configured
//! site or one of the first [`MAX_UNCONFIGURED_SITES`] others seen, `message` a documented
//! T-Library message; anything else is counted under [`OTHER`] ([`EventCounters`]).
//! Problem kinds and refused-request sources are fixed names of the code.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;

use callstitch_tlib::{Event, Message, Text};

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
    /// A problem kind's fixed name (never text of the input).
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SiteLabels {
    /// A site with a stream on the bus (bounded by the streams under the prefix).
    pub site: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// What refused the request: `auth`, `events` or `media` (fixed names of the API).
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
    pub interactions_unwritten: Gauge,
    pub ingest_lag: Gauge<f64, AtomicU64>,
    pub orphan_media: Counter,
    pub media_conflicts: Counter,
    pub clock_outliers: Counter,
    pub snapshot_failures: Counter,
    pub interactions_live: Gauge,
    pub interactions_archived: Gauge,
    pub commit_seconds: Histogram,
    pub batch_events: Histogram,
    /// Per site read from the bus: the stream sequence of the last event taken.
    pub bus_sequence: Family<SiteLabels, Gauge>,
    /// Per site read from the bus: messages its stream holds beyond what was read.
    pub bus_pending: Family<SiteLabels, Gauge>,
    /// The linker role (`serve --workers`), per site: the last news row wholly taken.
    pub linker_news_row: Family<SiteLabels, Gauge>,
    /// The linker role, per site: items read and waiting for the merge.
    pub linker_queued: Family<SiteLabels, Gauge>,
    /// The linker role, per site: 1 while the site holds the others back (its worker has
    /// more to store).
    pub linker_holding: Family<SiteLabels, Gauge>,
    /// The linker role: site events taken whose changes are committed (answered by the API).
    pub linker_events: Counter,
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
            "Requests refused: ingest (bad JSON, too large, no room, no token) and reads refused for their token",
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
        let interactions_unwritten = Gauge::default();
        registry.register(
            "interactions_unwritten",
            "Live interactions handed out and waiting for a commit (ingest.interactions_per_commit go with each, and every one that waited ingest.interactions_wait_ms)",
            interactions_unwritten.clone(),
        );
        let ingest_lag = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "ingest_lag_seconds",
            "Seconds from a followed event being read to its commit, last batch; 0 once nothing waits",
            ingest_lag.clone(),
        );
        let orphan_media = Counter::default();
        registry.register(
            "orphan_media_files",
            "Media files of the feed that no interaction claimed (P2)",
            orphan_media.clone(),
        );
        let media_conflicts = Counter::default();
        registry.register(
            "media_conflicts",
            "Media files posted again naming another call, site, DN, side or start than the first time (the first is kept)",
            media_conflicts.clone(),
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
        let bus_sequence = Family::<SiteLabels, Gauge>::default();
        registry.register(
            "bus_sequence",
            "Per site read from the bus: the stream sequence of the last event taken",
            bus_sequence.clone(),
        );
        let bus_pending = Family::<SiteLabels, Gauge>::default();
        registry.register(
            "bus_pending",
            "Per site read from the bus: messages its stream holds beyond what was read (the lag)",
            bus_pending.clone(),
        );
        let per_site = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<SiteLabels, Gauge>::default();
            registry.register(name, help, family.clone());
            family
        };
        let linker_news_row = per_site(
            &mut registry,
            "linker_news_row",
            "The linker role (serve --workers), per site: the last row of the site's news wholly taken",
        );
        let linker_queued = per_site(
            &mut registry,
            "linker_queued",
            "The linker role, per site: items of the site's news read and waiting for the merge",
        );
        let linker_holding = per_site(
            &mut registry,
            "linker_holding",
            "The linker role, per site: 1 while the site holds the others back (its worker has more to store)",
        );
        let linker_events = Counter::default();
        registry.register(
            "linker_events",
            "The linker role: site events linked whose changes are committed (the API answers them)",
            linker_events.clone(),
        );
        Metrics {
            registry,
            events,
            problems,
            rejected,
            calls_in_progress,
            segments_waiting,
            interactions_completed,
            interactions_written,
            interactions_unwritten,
            ingest_lag,
            orphan_media,
            media_conflicts,
            clock_outliers,
            snapshot_failures,
            interactions_live,
            interactions_archived,
            commit_seconds,
            batch_events,
            bus_sequence,
            bus_pending,
            linker_news_row,
            linker_queued,
            linker_holding,
            linker_events,
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

/// The label value of every site or message outside the known ones.
pub const OTHER: &str = "other";

/// Sites seen in events that are not configured (`[[site]]`) and still get a label of their
/// own, the first ones seen; the events of any later one count under `site="other"`.
pub const MAX_UNCONFIGURED_SITES: usize = 64;

/// `callstitch_events_total{site, message}` with bounded labels: the counter of each label
/// pair is looked up in the registry once and kept (the registry's lookup allocates).
pub struct EventCounters {
    family: Family<EventLabels, Counter>,
    /// Every site with a label of its own, with its index in `site_labels`.
    sites: HashMap<Text, usize>,
    site_labels: Vec<String>,
    unconfigured: usize,
    /// By (site index or `None` for other, message number or `None` for other).
    counters: HashMap<(Option<usize>, Option<u16>), Counter>,
}

impl EventCounters {
    /// Counters of `metrics`' events family; `configured` sites always have their own label.
    pub fn new(metrics: &Metrics, configured: impl IntoIterator<Item = String>) -> EventCounters {
        let mut counters = EventCounters {
            family: metrics.events.clone(),
            sites: HashMap::new(),
            site_labels: Vec::new(),
            unconfigured: 0,
            counters: HashMap::new(),
        };
        for site in configured {
            let site = Text::from(site.as_str());
            if !counters.sites.contains_key(&site) {
                counters.label_site(site);
            }
        }
        counters
    }

    /// Counts one event.
    pub fn count(&mut self, event: &Event) {
        let site = self.site_index(&event.site);
        let message = event.message.number();
        if let Some(counter) = self.counters.get(&(site, message)) {
            counter.inc();
            return;
        }
        let labels = EventLabels {
            site: site.map_or(OTHER, |index| self.site_labels[index].as_str()).to_string(),
            message: message_label(&event.message).to_string(),
        };
        let counter = self.family.get_or_create(&labels).clone();
        counter.inc();
        self.counters.insert((site, message), counter);
    }

    /// The site's label index; a site not seen before gets one while there is room.
    fn site_index(&mut self, site: &Text) -> Option<usize> {
        if let Some(index) = self.sites.get(site) {
            return Some(*index);
        }
        if self.unconfigured >= MAX_UNCONFIGURED_SITES {
            return None;
        }
        self.unconfigured += 1;
        Some(self.label_site(site.clone()))
    }

    fn label_site(&mut self, site: Text) -> usize {
        let index = self.site_labels.len();
        self.site_labels.push(site.to_string());
        self.sites.insert(site, index);
        index
    }
}

/// A documented message's name; any other name is [`OTHER`].
fn message_label(message: &Message) -> &'static str {
    message.known_name().unwrap_or(OTHER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(site: &str, message: &str) -> Event {
        Event::new(Message::from_name(message), site)
    }

    #[test]
    fn event_labels_are_configured_or_first_seen_sites_and_documented_messages() {
        let metrics = Metrics::new();
        let mut counters = EventCounters::new(&metrics, ["TS1".to_string(), "TS1".to_string()]);
        for n in 0..MAX_UNCONFIGURED_SITES + 10 {
            counters.count(&event(&format!("s{n}"), "EventRinging"));
        }
        counters.count(&event("TS1", "EventRinging"));
        counters.count(&event("TS1", "ISCCEventMadeUp"));
        let text = metrics.render();
        let series: Vec<&str> =
            text.lines().filter(|line| line.starts_with("callstitch_events_total{")).collect();
        assert_eq!(series.len(), MAX_UNCONFIGURED_SITES + 1 + 2, "{series:#?}");
        assert!(
            text.contains("callstitch_events_total{site=\"other\",message=\"EventRinging\"} 10"),
            "{text}"
        );
        assert!(text.contains("callstitch_events_total{site=\"TS1\",message=\"other\"} 1"), "{text}");
        assert!(text.contains("callstitch_events_total{site=\"s0\",message=\"EventRinging\"} 1"), "{text}");
        assert!(!text.contains(&format!("site=\"s{MAX_UNCONFIGURED_SITES}\"")), "{text}");
    }
}
