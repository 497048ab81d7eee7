//! `callstitch collect` against the machine's NATS server (scripts/services starts it; the
//! tests skip without one unless CALLSTITCH_REQUIRE_NATS=1): killed with SIGKILL again and
//! again while it publishes, then run to the end, every site's stream holds each event of
//! its logs once, in log order, as `callstitch parse` prints it.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use callstitch_bus::{Bus, BusItem, BusOptions, SiteReader, SiteStream};

use crate::common::nats::{nats_or_skip, nats_url, remove_prefix};

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

/// Every message of a site's stream as its JSON line.
async fn stream_lines(bus: &Bus, site: &str) -> Vec<String> {
    let last = SiteStream::open(bus, site).await.expect("stream").last();
    let mut reader = SiteReader::open(bus, site, 0).await.expect("reader");
    let mut lines = Vec::new();
    let mut seen = 0;
    while seen < last {
        match reader.next(Duration::from_secs(10)).await.expect("read") {
            Some(BusItem::Event { seq, event }) => {
                let mut line = Vec::new();
                callstitch_tlib::json::write_json_line(&mut line, &event).expect("to memory");
                lines.push(String::from_utf8(line).expect("utf-8").trim_end().to_string());
                seen = seq;
            }
            Some(BusItem::Problem { seq, problem }) => panic!("{site}: message {seq}: {problem}"),
            None => panic!("{site}: the stream ends at {last}, reading stopped at {seen}"),
        }
    }
    lines
}

/// `parse`'s lines of each site, in the order read.
fn parsed_by_site(dir: &str) -> BTreeMap<String, Vec<String>> {
    let parsed = callstitch(&["parse", dir]);
    let mut sites: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&parsed.stdout).lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let site = value["site"].as_str().expect("a site").to_string();
        sites.entry(site).or_default().push(line.to_string());
    }
    sites
}

#[test]
fn a_collector_killed_again_and_again_publishes_every_event_once_in_log_order() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let prefix = format!("clitest{}", std::process::id());
    let bus = match runtime
        .block_on(Bus::connect(&nats_url(), BusOptions { prefix: prefix.clone(), ..BusOptions::default() }))
    {
        Ok(bus) => bus,
        Err(error) if std::env::var("CALLSTITCH_REQUIRE_NATS").as_deref() != Ok("1") => {
            eprintln!("skipped: {error}");
            return;
        }
        Err(error) => panic!("NATS is required here: {error}"),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let center = simulated_center(dir.path(), "400", "3", "9");
    let center = center.as_str();

    let args = ["collect", "--nats", &nats_url(), "--prefix", &prefix, "--batch", "60", center];
    // Killed at different points of its work: while publishing, between publishing and its
    // checkpoint, while idle.
    for wait_ms in [120, 35, 260, 80, 10, 190] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_callstitch"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("collect starts");
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    let finished = callstitch(&[&args[..], &["--once", "--json"]].concat());
    assert_eq!(finished.status.code(), Some(0), "{}", String::from_utf8_lossy(&finished.stderr));
    eprintln!("the last run: {}", String::from_utf8_lossy(&finished.stdout));

    let expected = parsed_by_site(center);
    assert_eq!(expected.len(), 3);
    for (site, lines) in &expected {
        let stored = runtime.block_on(stream_lines(&bus, site));
        assert_eq!(stored.len(), lines.len(), "{site}: every event once");
        assert!(&stored == lines, "{site}: the stream is the site's log order");
    }
    runtime.block_on(async {
        for site in expected.keys() {
            let _ = bus.delete_site_stream(site).await;
        }
        let _ = bus.delete_checkpoints().await;
    });
}

#[test]
fn a_collector_reports_the_noise_of_its_logs_with_file_and_line_and_goes_on() {
    let Some(prefix) = nats_or_skip("noise") else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let center = simulated_center(dir.path(), "60", "2", "4");
    let center = center.as_str();
    let parsed = callstitch(&["parse", "--stats", "--json", center]);
    let stats: serde_json::Value = serde_json::from_slice(&parsed.stdout).expect("stats");

    let collected =
        callstitch(&["collect", "--once", "--json", "--nats", &nats_url(), "--prefix", &prefix, center]);
    assert_eq!(collected.status.code(), Some(0), "{}", String::from_utf8_lossy(&collected.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&collected.stdout).expect("a JSON summary");
    let stderr = String::from_utf8_lossy(&collected.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|line| line.starts_with("warning: ")).collect();
    assert!(!warnings.is_empty(), "the noise is reported");
    assert_eq!(summary["problems"].as_u64(), Some(warnings.len() as u64), "each problem counted once");
    assert!(warnings.iter().all(|line| line.contains(".log:")), "each names its file and line: {warnings:?}");
    let events: u64 =
        summary["sites"].as_object().expect("sites").values().filter_map(|last| last.as_u64()).sum();
    assert_eq!(Some(events), stats["events"].as_u64(), "every event published despite the noise");
    remove_prefix(
        &prefix,
        summary["sites"].as_object().map(|sites| sites.keys().cloned().collect()).unwrap_or_default(),
    );
}

#[test]
fn collect_refuses_a_missing_input_as_a_usage_error() {
    let missing = callstitch(&["collect", "--once", "/nonexistent/callstitch/logs"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}

/// A simulated contact center with noise under `dir`: its path.
fn simulated_center(dir: &std::path::Path, interactions: &str, sites: &str, seed: &str) -> String {
    let center = dir.join("center").to_str().expect("utf-8").to_string();
    let args = [
        "simulate",
        "--out",
        &center,
        "--interactions",
        interactions,
        "--sites",
        sites,
        "--noise",
        "--seed",
        seed,
    ];
    let simulated = callstitch(&args);
    assert_eq!(simulated.status.code(), Some(0), "{}", String::from_utf8_lossy(&simulated.stderr));
    center
}

#[test]
fn a_following_collector_serves_its_metrics_and_health() {
    let Some(prefix) = nats_or_skip("ops") else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let center = simulated_center(dir.path(), "30", "2", "8");
    let parsed = callstitch(&["parse", "--stats", "--json", &center]);
    let stats: serde_json::Value = serde_json::from_slice(&parsed.stdout).expect("stats");
    let events = stats["events"].as_u64().expect("events");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args([
            "collect",
            "--no-progress",
            "--listen",
            "127.0.0.1:0",
            "--nats",
            &nats_url(),
            "--prefix",
            &prefix,
        ])
        .arg(&center)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("collect starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let (found, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split_whitespace().find(|word| word.starts_with("http://")) {
                let _ = found.send(url.trim_end_matches('/').to_string());
            }
        }
    });
    let base = address.recv_timeout(Duration::from_secs(30)).expect("the address is printed");
    let get = |path: &str| -> (u16, String) {
        match ureq::get(&format!("{base}{path}")).call() {
            Ok(response) => (response.status(), response.into_string().expect("text")),
            Err(ureq::Error::Status(status, response)) => (status, response.into_string().expect("text")),
            Err(error) => panic!("{path}: {error}"),
        }
    };
    let published = format!("callstitch_collector_published_total {events}");
    let started = std::time::Instant::now();
    let metrics = loop {
        let (status, metrics) = get("/metrics");
        assert_eq!(status, 200);
        if metrics.lines().any(|line| line == published) {
            break metrics;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never published every event: {metrics}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (status, health) = get("/healthz");
    let health: serde_json::Value = serde_json::from_str(&health).expect("JSON");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    let sites = health["sites"].as_object().expect("sites").clone();
    assert_eq!(sites.values().filter_map(|seq| seq.as_u64()).sum::<u64>(), events, "{health}");
    for (site, seq) in &sites {
        let line = format!("callstitch_collector_stream_sequence{{site=\"{site}\"}} {seq}");
        assert!(metrics.lines().any(|metric| metric == line), "{line} in {metrics}");
    }
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(child.wait().expect("collect exits").success());
    remove_prefix(&prefix, sites.keys().cloned().collect());
}
