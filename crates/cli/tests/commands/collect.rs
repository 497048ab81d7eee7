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
