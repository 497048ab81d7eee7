//! Issue 15, the edges of the service, against the real `callstitch serve` binary: metric
//! labels bounded whatever the events are called, followed logs that shrink or cannot be
//! read, media starts posted twice, gauges that come down once traffic stops.

mod common;

use std::time::Duration;

use common::{base_config, Service};

const WAIT: Duration = Duration::from_secs(60);

/// The `callstitch_events_total` series of a /metrics text: (labels, count).
fn event_series(metrics: &str) -> Vec<(String, f64)> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("callstitch_events_total{"))
        .filter_map(|rest| {
            let (labels, value) = rest.rsplit_once("} ")?;
            Some((labels.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

fn metrics_text(service: &Service) -> String {
    let (status, body) = service.get("/metrics");
    assert_eq!(status, 200);
    body.as_str().expect("metrics are text").to_string()
}

#[test]
fn metric_labels_stay_bounded_whatever_sites_and_messages_events_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!("{}\n[[site]]\nname = \"TS-configured\"\n", base_config(dir.path()));
    let service = Service::start(dir.path(), &config);

    const UNIQUE: usize = 10_000;
    let mut body = String::new();
    for n in 0..UNIQUE {
        body.push_str(&format!("{{\"message\":\"EventMadeUp{n}\",\"site\":\"site-{n}\"}}\n"));
    }
    // Known names are kept: a configured site and a documented message.
    body.push_str("{\"message\":\"EventRinging\",\"site\":\"TS-configured\"}\n");
    let (status, accepted) = service.post("/v1/events", &body, None);
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["accepted"].as_u64(), Some(UNIQUE as u64 + 1));

    let metrics = metrics_text(&service);
    let series = event_series(&metrics);
    let total: f64 = series.iter().map(|(_, count)| count).sum();
    assert_eq!(total, (UNIQUE + 1) as f64, "every event is counted once: {series:?}");
    assert!(series.len() <= 1 + 64 + 1, "{} series of callstitch_events_total", series.len());
    assert!(metrics.len() < 64 << 10, "/metrics is {} bytes", metrics.len());
    let other: f64 = series
        .iter()
        .filter(|(labels, _)| labels.contains("site=\"other\"") && labels.contains("message=\"other\""))
        .map(|(_, count)| count)
        .sum();
    assert_eq!(other, (UNIQUE - 64) as f64, "the sites after the first 64 unconfigured ones: {series:?}");
    assert!(
        series.iter().any(|(labels, count)| labels.contains("site=\"TS-configured\"")
            && labels.contains("message=\"EventRinging\"")
            && *count == 1.0),
        "{series:?}"
    );
    assert!(!metrics.contains("EventMadeUp"), "no unknown message name becomes a label");
    assert!(!metrics.contains("site-9999"), "no site past the cap becomes a label");
}
