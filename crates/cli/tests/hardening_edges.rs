//! Issue 15, the edges of the service, against the real `callstitch serve` binary: metric
//! labels bounded whatever the events are called, followed logs that shrink or cannot be
//! read, media starts posted twice, gauges that come down once traffic stops.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

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

// --- followed logs ---

/// A T-Server log header.
fn log_header(app: &str) -> String {
    format!(
        "Application name: {app}\nApplication type: TServer (1)\nHost name:        ts-host\nUTC time:         2026-02-02T09:00:00.000\nLocal time:       2026-02-02T10:00:00.000\n\n"
    )
}

/// Event `n`'s block: an EventRinging of its own call, a few attribute lines and a blank one.
fn log_block(n: u64) -> String {
    let seconds = n % 3600;
    format!(
        "@10:{:02}:{:02}.0000 [0] 8.1.001.05 distribute_event: message EventRinging\n\tAttributeEventSequenceNumber\t{n:016x}\n\tAttributeConnID\t{:016x}\n\tAttributeCallUUID\t'UUID{n:028}'\n\tAttributeThisDN\t'7001'\n\tAttributeOtherDN\t'5551234'\n\n",
        seconds / 60,
        seconds % 60,
        0x009a_0000_0000_0000u64 + n,
    )
}

fn log_blocks(numbers: std::ops::Range<u64>) -> String {
    numbers.map(log_block).collect()
}

fn append(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut file =
        std::fs::OpenOptions::new().create(true).append(true).open(path).expect("log opened for append");
    file.write_all(text.as_bytes()).expect("log written");
}

fn stored_events(service: &Service) -> u64 {
    let (status, body) = service.get("/v1/status");
    assert_eq!(status, 200, "{body}");
    body["stored"]["events"].as_u64().expect("stored events")
}

/// Waits until `events` are stored, then a while longer to see that no more come.
fn exactly_stored(service: &Service, events: u64) {
    service.wait_for("/v1/status", WAIT, |status| status["stored"]["events"].as_u64() >= Some(events));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(stored_events(service), events, "stored events (more: read twice)");
}

fn follow_config(dir: &std::path::Path, logs: &std::path::Path) -> String {
    format!("{}[[site]]\nname = \"TS1\"\nlogs = [\"{}\"]\n", base_config(dir), logs.display())
}

#[test]
fn a_followed_log_that_shrinks_is_not_read_again_and_what_follows_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("TS1.log");
    append(&log, &log_header("TS1"));
    append(&log, &log_blocks(1..41));
    let service = Service::start(dir.path(), &follow_config(dir.path(), &log));
    exactly_stored(&service, 40);

    // Cut inside a line a little past the middle (not at 0: a copytruncate is another case),
    // then the writer goes on appending.
    let text = std::fs::read_to_string(&log).expect("log");
    let mut cut = text.len() / 2;
    while text.as_bytes()[cut - 1] == b'\n' {
        cut += 1;
    }
    std::fs::OpenOptions::new().write(true).open(&log).expect("log").set_len(cut as u64).expect("truncated");
    append(&log, &log_blocks(41..51));
    exactly_stored(&service, 50);

    // And again, cut at a line's end this time, twice in a row.
    let size = std::fs::metadata(&log).expect("log").len();
    let text = std::fs::read_to_string(&log).expect("log");
    let line_end = text[..(size as usize * 3 / 4)].rfind('\n').expect("lines") + 1;
    std::fs::OpenOptions::new().write(true).open(&log).expect("log").set_len(line_end as u64).expect("cut");
    append(&log, &log_blocks(51..56));
    exactly_stored(&service, 55);

    // A copytruncate (the same path, new content from byte 0) is a new file: all of it is read.
    std::fs::OpenOptions::new().write(true).truncate(true).open(&log).expect("log truncated");
    append(&log, &log_header("TS1").replace("10:00:00.000", "11:00:00.000"));
    append(&log, &log_blocks(56..64));
    exactly_stored(&service, 63);

    // Cut while the service is stopped (seen by its size at start: docs/serve.md).
    let stopped = service.stop();
    assert!(stopped.success());
    let size = std::fs::metadata(&log).expect("log").len();
    std::fs::OpenOptions::new().write(true).open(&log).expect("log").set_len(size - 100).expect("cut");
    let service = Service::start(dir.path(), &follow_config(dir.path(), &log));
    exactly_stored(&service, 63);
    append(&log, &log_blocks(64..67));
    exactly_stored(&service, 66);
}

/// Starts the service with its log on stderr kept in `<dir>/stderr.log`, as an unprivileged
/// user when the tests run as root (root reads any file whatever its permissions).
fn start_unprivileged(dir: &std::path::Path, config: &str) -> (Service, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("service.toml");
    std::fs::write(&path, config).expect("config written");
    let stderr_path = dir.join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let root = std::process::Command::new("id").arg("-u").output().expect("id runs").stdout == b"0\n";
    let mut command = if root {
        // The service's own files must be writable by the user it runs as.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).expect("chmod dir");
        std::fs::set_permissions(&stderr_path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_callstitch")]);
        command
    } else {
        common::binary()
    };
    // As root: with setpriv, of util-linux; the service's stderr is in `stderr_path`.
    command.args(["serve", "--config"]).arg(&path).stderr(stderr).env("CALLSTITCH_LOG", "warn");
    (Service::spawn(command), stderr_path)
}

fn unreadable_problems(service: &Service) -> f64 {
    metrics_text(service)
        .lines()
        .find_map(|line| line.strip_prefix("callstitch_parse_problems_total{kind=\"unreadable\"} "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn a_log_the_service_cannot_read_is_logged_counted_and_read_once_it_can() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("logs dir");
    let log = logs.join("TS1.log");
    append(&log, &log_header("TS1"));
    append(&log, &log_blocks(1..6));
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    let (service, stderr) = start_unprivileged(dir.path(), &follow_config(dir.path(), &logs));

    let start = std::time::Instant::now();
    while unreadable_problems(&service) < 1.0 {
        assert!(start.elapsed() < WAIT, "no unreadable problem counted: {}", metrics_text(&service));
        std::thread::sleep(Duration::from_millis(100));
    }
    let logged = std::fs::read_to_string(&stderr).expect("stderr");
    let warning = logged.lines().find(|line| line.contains("TS1.log")).unwrap_or_default();
    assert!(warning.contains("WARN") && warning.contains("ermission denied"), "{logged}");
    assert_eq!(stored_events(&service), 0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(unreadable_problems(&service), 1.0, "reported once, not at every retry");

    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).expect("chmod 644");
    exactly_stored(&service, 5);
}

// --- media ---

fn media_line(uuid: &str, media_id: &str, stop: Option<&str>) -> String {
    let stop = stop.map_or("null".to_string(), |stop| format!("\"{stop}\""));
    format!(
        "{{\"type\":\"media\",\"site\":\"SIPServer1\",\"call_uuid\":\"{uuid}\",\"media_id\":\"{media_id}\",\"recorded_dn\":\"7001\",\"side\":\"agent\",\"start\":\"2012-10-29T14:41:00Z\",\"stop\":{stop}}}"
    )
}

fn seed_events() -> Vec<String> {
    common::parsed_lines(&[common::fixture("seed-islink")]).lines().map(str::to_string).collect()
}

#[test]
fn a_media_start_posted_again_keeps_the_stop_and_the_first_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &base_config(dir.path()));
    let events = seed_events();
    let first: serde_json::Value = serde_json::from_str(&events[0]).expect("event");
    let uuid = first["call_uuid"].as_str().expect("uuid").to_string();
    let media_id = format!("{uuid}_1");

    let (status, body) =
        service.post("/v1/media", &media_line(&uuid, &media_id, Some("2012-10-29T14:42:00Z")), None);
    assert_eq!(status, 200, "{body}");
    // The same start again, without its stop (a collector that re-sends), and one naming
    // another call for the same file.
    let (status, body) = service.post("/v1/media", &media_line(&uuid, &media_id, None), None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = service.post("/v1/media", &media_line("OTHER-CALL", &media_id, None), None);
    assert_eq!(status, 200, "{body}");

    let (status, body) = service.post("/v1/events", &events.join("\n"), None);
    assert_eq!(status, 200, "{body}");
    let recording = service.wait_for(&format!("/v1/recordings/{uuid}"), WAIT, |recording| {
        recording["mediaFiles"].as_array().is_some_and(|files| !files.is_empty())
    });
    let file = &recording["mediaFiles"][0];
    assert_eq!(file["mediaId"], media_id.as_str(), "{recording}");
    assert_eq!(file["callUUID"], uuid.as_str(), "the first call is kept: {recording}");
    assert!(
        file["stopTime"].as_str().is_some_and(|stop| stop.starts_with("2012-10-29T14:42:00")),
        "{recording}"
    );
    let conflicts = metrics_text(&service)
        .lines()
        .find_map(|line| line.strip_prefix("callstitch_media_conflicts_total ").map(str::to_string));
    assert_eq!(conflicts.as_deref(), Some("1"), "the conflicting post is counted");
    assert!(service.stop().success());

    // The stored row (docs/serve.md, Storage: for reporting with SQL) is the first, with its stop.
    let database = rusqlite::Connection::open(dir.path().join("callstitch.db")).expect("database");
    let (call_uuid, doc): (String, String) = database
        .query_row("SELECT call_uuid, doc FROM media_files WHERE media_id = ?1", [&media_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .expect("the media file is stored");
    assert_eq!(call_uuid, uuid);
    let doc: serde_json::Value = serde_json::from_str(&doc).expect("JSON");
    assert_eq!(doc["call_uuid"], uuid.as_str(), "{doc}");
    assert!(doc["stop"].as_str().is_some_and(|stop| stop.starts_with("2012-10-29T14:42:00")), "{doc}");
}

// --- gauges ---

fn gauge(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn gauges_come_down_to_their_true_values_once_traffic_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &base_config(dir.path()));
    // Live interactions are counted every few seconds: let the first count fall at the events.
    std::thread::sleep(Duration::from_secs(6));
    let (status, body) = service.post("/v1/events", &seed_events().join("\n"), None);
    assert_eq!(status, 200, "{body}");
    // The seed's calls never end: they are closed by the idle timeout, on idle ticks.
    service.wait_for("/v1/interactions?state=complete", WAIT, |page| {
        page["items"].as_array().is_some_and(|items| items.len() == 1)
    });
    let start = std::time::Instant::now();
    loop {
        let metrics = metrics_text(&service);
        let now = [
            gauge(&metrics, "callstitch_calls_in_progress"),
            gauge(&metrics, "callstitch_interactions_live"),
            gauge(&metrics, "callstitch_ingest_lag_seconds"),
        ];
        if now == [Some(0.0); 3] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "gauges stay stale: {now:?}\n{metrics}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
