//! What `callstitch collect --listen ADDR` shows on `/metrics` and `/healthz`
//! (docs/scale.md, "Operations"): events published, read again and skipped, problems, failed
//! steps, each site's stream sequence, and whether the last step reached NATS.
//!
//! Labels are bounded: `site` is one of the collector's own sites (its inputs).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use callstitch_server::ops::RoleReport;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::json;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabel {
    site: String,
}

/// The collector's counters and state, updated after every step.
pub struct CollectorReport {
    name: String,
    registry: Registry,
    published: Counter,
    skipped: Counter,
    problems: Counter,
    failed_steps: Counter,
    sequence: Family<SiteLabel, Gauge<i64, AtomicI64>>,
    state: Mutex<StepState>,
}

/// How the last steps went.
#[derive(Debug)]
struct StepState {
    /// The error of the last step, when it failed, and since when steps fail.
    failing: Option<(String, Instant)>,
    last_success: Option<Instant>,
    sites: BTreeMap<String, u64>,
}

impl CollectorReport {
    pub fn new(name: &str) -> CollectorReport {
        let mut registry = Registry::with_prefix("callstitch_collector");
        let published = Counter::default();
        registry.register("published", "Events published to their site's stream", published.clone());
        let skipped = Counter::default();
        registry.register(
            "skipped",
            "Events read again after a restart and skipped: the stream held them already",
            skipped.clone(),
        );
        let problems = Counter::default();
        registry.register(
            "problems",
            "Log lines or blocks that could not be read as they are",
            problems.clone(),
        );
        let failed_steps = Counter::default();
        registry.register(
            "failed_steps",
            "Steps that failed (NATS down or refusing) and were tried again from the checkpoint",
            failed_steps.clone(),
        );
        let sequence = Family::<SiteLabel, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "stream_sequence",
            "The sequence each site's stream ends at, as of this collector's last checkpoint",
            sequence.clone(),
        );
        CollectorReport {
            name: name.to_string(),
            registry,
            published,
            skipped,
            problems,
            failed_steps,
            sequence,
            state: Mutex::new(StepState { failing: None, last_success: None, sites: BTreeMap::new() }),
        }
    }

    /// A step went through.
    pub fn step(&self, published: u64, skipped: u64, problems: u64, sites: &BTreeMap<String, u64>) {
        self.published.inc_by(published);
        self.skipped.inc_by(skipped);
        self.problems.inc_by(problems);
        for (site, seq) in sites {
            let seq = i64::try_from(*seq).unwrap_or(i64::MAX);
            self.sequence.get_or_create(&SiteLabel { site: site.clone() }).set(seq);
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.failing = None;
        state.last_success = Some(Instant::now());
        state.sites.clone_from(sites);
    }

    /// A step failed with `error`; it is tried again.
    pub fn failed(&self, error: &str) {
        self.failed_steps.inc();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let since = state.failing.as_ref().map_or_else(Instant::now, |(_, since)| *since);
        state.failing = Some((error.to_string(), since));
    }
}

impl RoleReport for CollectorReport {
    fn metrics(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    fn health(&self) -> (bool, serde_json::Value) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let since_success = state.last_success.map(|at| at.elapsed().as_secs_f64());
        let body = match &state.failing {
            None => json!({
                "status": "ok",
                "role": "collector",
                "collector": self.name,
                "seconds_since_last_step": since_success,
                "sites": state.sites,
            }),
            Some((error, since)) => json!({
                "status": "failing",
                "role": "collector",
                "collector": self.name,
                "error": error,
                "failing_for_seconds": since.elapsed().as_secs_f64(),
                "seconds_since_last_step": since_success,
                "sites": state.sites,
            }),
        };
        (state.failing.is_none(), body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_step_makes_the_collector_unhealthy_until_a_step_goes_through() {
        let report = CollectorReport::new("north");
        let sites = BTreeMap::from([("TS1".to_string(), 42)]);
        report.step(40, 2, 1, &sites);
        assert!(report.health().0);
        report.failed("NATS is down");
        let (healthy, body) = report.health();
        assert!(!healthy);
        assert_eq!(body["error"], "NATS is down");
        report.step(1, 0, 0, &BTreeMap::from([("TS1".to_string(), 43)]));
        let (healthy, body) = report.health();
        assert!(healthy, "{body}");
        assert_eq!(body["sites"]["TS1"], 43);
        let metrics = report.metrics();
        for line in [
            "callstitch_collector_published_total 41",
            "callstitch_collector_skipped_total 2",
            "callstitch_collector_failed_steps_total 1",
            "callstitch_collector_stream_sequence{site=\"TS1\"} 43",
        ] {
            assert!(metrics.lines().any(|metric| metric == line), "{line} in {metrics}");
        }
    }
}
