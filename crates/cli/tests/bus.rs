//! `callstitch serve --nats`: the sites' streams that `callstitch collect` published, read
//! back by the service (crates/server/src/source/bus.rs). Against the machine's NATS server
//! (scripts/services; skipped without one unless CALLSTITCH_REQUIRE_NATS=1):
//!
//! - the service reading the bus stores exactly what the same service following the logs
//!   stores: every event once, the same interactions;
//! - killed with SIGKILL while it reads the bus and started again, it still does (its bus
//!   checkpoint is committed with the events it covers);
//! - a message on a site's stream that is not an event is reported with its site and
//!   sequence and skipped: the site goes on.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::nats::{
    collect, config, followed, nats_or_skip, nats_url, noisy_estate, publish_with_a_bad_message,
    remove_prefix,
};
use common::settle::{all_interactions, assert_same, settled};
use common::Service;

fn bus_section(prefix: &str) -> String {
    format!("[bus]\nurl = \"{}\"\nprefix = \"{prefix}\"\ndiscover_s = 1\n", nats_url())
}

fn named_only(logs: &[(String, PathBuf)]) -> Vec<(String, Option<&Path>)> {
    logs.iter().map(|(site, _)| (site.clone(), None)).collect()
}

#[test]
fn serve_reads_the_collected_streams_as_it_reads_the_logs() {
    let Some(prefix) = nats_or_skip("busserve") else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = noisy_estate(work.path(), "3", "300", "23", &[]);
    let expected = followed(work.path(), &logs, events);
    assert!(expected.len() >= 250, "a set worth comparing: {}", expected.len());
    collect(&prefix, &logs);

    let dir = work.path().join("bus");
    std::fs::create_dir_all(&dir).expect("dir");
    let config = config(&dir, &named_only(&logs), &bus_section(&prefix));
    let service = Service::start(&dir, &config);
    settled(&service, events);
    assert_same(&expected, &all_interactions(&service), 23);
    let metrics = ureq::get(&service.url("/metrics")).call().expect("metrics").into_string().expect("text");
    let gauge = |name: &str| -> u64 {
        let lines = metrics.lines().filter(|line| line.starts_with(name));
        lines.filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok()).sum()
    };
    assert_eq!(gauge("callstitch_bus_sequence{"), events, "each stream read to its end: {metrics}");
    assert_eq!(gauge("callstitch_bus_pending{"), 0, "nothing left to read: {metrics}");
    drop(service);
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

/// Killed (SIGKILL) fifteen times: seven times once it has stored a given share of the
/// events (mid-read on any machine), seven times within a few milliseconds of its start
/// (while it recovers or connects), and once after everything was stored, so that the last
/// start has nothing new to read (it must still tick what its snapshot holds to an end: an
/// interaction was left "live" before). Every event is stored once and every interaction
/// equals the uninterrupted reference. `KEEP_KILL=1` keeps the stores for a look.
#[test]
fn serve_killed_while_it_reads_the_bus_stores_what_following_the_logs_stores() {
    let Some(prefix) = nats_or_skip("buskill") else { return };
    let work = tempfile::Builder::new()
        .disable_cleanup(std::env::var("KEEP_KILL").is_ok())
        .tempdir()
        .expect("temp dir");
    eprintln!("KILLDIR {}", work.path().display());
    let (logs, events) = noisy_estate(work.path(), "3", "300", "23", &[]);
    let expected = followed(work.path(), &logs, events);
    collect(&prefix, &logs);
    let crash = work.path().join("bus-crash");
    std::fs::create_dir_all(&crash).expect("dir");
    let config = config(&crash, &named_only(&logs), &bus_section(&prefix));
    for share in [5, 20, 35, 50, 65, 80, 95] {
        let service = Service::start(&crash, &config);
        kill_when_stored(service, events * share / 100);
        let service = Service::start(&crash, &config);
        std::thread::sleep(Duration::from_millis(share * 3));
        service.kill();
    }
    let service = Service::start(&crash, &config);
    kill_when_stored(service, events);
    let service = Service::start(&crash, &config);
    let status = settled(&service, events);
    assert_eq!(status["stored"]["events"], events, "every event once: {status}");
    assert_same(&expected, &all_interactions(&service), 23);
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

/// Kills `service` (SIGKILL) once it has stored `at_least` events: mid-read whatever the
/// machine's speed, not after a fixed pause.
fn kill_when_stored(service: Service, at_least: u64) {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let (_, status) = service.get("/v1/status");
        if status["stored"]["events"].as_u64().is_some_and(|stored| stored >= at_least) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    service.kill();
}

#[test]
fn a_message_that_is_not_an_event_is_reported_and_its_site_goes_on() {
    let Some(prefix) = nats_or_skip("busbad") else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = noisy_estate(work.path(), "3", "40", "5", &[]);
    let expected = followed(work.path(), &logs, events);
    let (first, rest) = logs.split_at(1);
    // The first site's events published by hand with a message of a bad peer in the middle;
    // the other sites' by their collector.
    publish_with_a_bad_message(&prefix, &first[0].0, &first[0].1);
    collect(&prefix, rest);

    let dir = work.path().join("bus");
    std::fs::create_dir_all(&dir).expect("dir");
    let service = Service::start(&dir, &config(&dir, &named_only(&logs), &bus_section(&prefix)));
    settled(&service, events);
    assert_same(&expected, &all_interactions(&service), 5);
    let metrics = ureq::get(&service.url("/metrics")).call().expect("metrics").into_string().expect("text");
    assert!(
        metrics.lines().any(|line| line.contains("bus-bad-message") && line.ends_with(" 1")),
        "the bad message is counted once: {metrics}"
    );
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

#[test]
fn a_site_whose_collector_starts_late_joins_the_interactions_already_stored() {
    let Some(prefix) = nats_or_skip("buslate") else { return };
    let work = tempfile::tempdir().expect("temp dir");
    // Clocks that disagree by up to 3 s, long calls, ConnIDs reused.
    let variety = ["--skew-ms", "3000", "--long-calls", "10", "--conn-reuse", "20"];
    let (logs, events) = noisy_estate(work.path(), "3", "120", "31", &variety);
    let expected = followed(work.path(), &logs, events);
    // Each site in turn is the late one: a SIP Server whose calls share CallUUIDs with the
    // other's, and the T-Server reached by ISCC.
    for late in 0..logs.len() {
        let prefix = format!("{prefix}x{late}");
        let early: Vec<(String, PathBuf)> =
            logs.iter().enumerate().filter(|(index, _)| *index != late).map(|(_, log)| log.clone()).collect();
        let early_events =
            common::parsed_lines(&early.iter().map(|(_, path)| path.clone()).collect::<Vec<_>>())
                .lines()
                .count();
        collect(&prefix, &early);

        let dir = work.path().join(format!("bus{late}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let service = Service::start(&dir, &config(&dir, &named_only(&logs), &bus_section(&prefix)));
        service.wait_for("/v1/status", common::settle::SETTLE, |status| {
            status["stored"]["events"] == early_events as u64 && status["in_memory"]["calls_in_progress"] == 0
        });
        // What the early sites make alone is stored (written as it is seen, live).
        let before = all_interactions(&service);
        assert!(!before.is_empty());
        collect(&prefix, std::slice::from_ref(&logs[late]));
        settled(&service, events);
        let after = all_interactions(&service);
        assert_same(&expected, &after, late as u64);
        // Every interaction stored before the late site came is still found by its id:
        // itself, or the interaction that took it in.
        for id in before.keys() {
            let (status, doc) = service.get(&format!("/v1/interactions/{id}"));
            assert_eq!(status, 200, "{id}: {doc}");
            let found = doc["interaction_id"].as_str().unwrap_or_default();
            assert!(after.contains_key(found), "{id} answers with {found}, which is stored");
        }
        remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
    }
}

#[test]
fn healthz_says_when_the_bus_does_not_answer_and_the_service_goes_on() {
    let work = tempfile::tempdir().expect("temp dir");
    // Nothing listens on port 9 of this machine (discard): the bus does not answer.
    let bus = "[bus]\nurl = \"nats://127.0.0.1:9\"\ndiscover_s = 1\n";
    let service = Service::start(work.path(), &config(work.path(), &[("TS1".to_string(), None)], bus));
    let health =
        service.wait_for("/healthz", Duration::from_secs(30), |body| body["bus"]["connected"] == false);
    assert_eq!(health["status"], "ok", "a short outage is waited out: {health}");
    assert_eq!(health["bus"]["url"], "nats://127.0.0.1:9");
    assert!(health["bus"]["error"].as_str().is_some_and(|error| !error.is_empty()), "{health}");
    let (status, _) = service.get("/v1/interactions");
    assert_eq!(status, 200, "stored interactions are answered");
}

/// The two services of a large estate's set-up in one: the bus read into PostgreSQL stores
/// what the service following the logs into SQLite stores. Skipped without PostgreSQL unless
/// CALLSTITCH_REQUIRE_POSTGRES=1. (Killed while it reads: the known defect above.)
#[test]
fn the_bus_read_into_postgres_stores_what_following_the_logs_stores() {
    let Some(prefix) = nats_or_skip("buspg") else { return };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if !runtime.block_on(callstitch_store::postgres::scratch::available_for_tests()) {
        return;
    }
    let database =
        runtime.block_on(callstitch_store::postgres::scratch::Scratch::new("buspg")).expect("database");
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = noisy_estate(work.path(), "3", "150", "47", &["--long-calls", "10"]);
    let expected = followed(work.path(), &logs, events);
    collect(&prefix, &logs);

    let dir = work.path().join("bus-postgres");
    std::fs::create_dir_all(&dir).expect("dir");
    let sqlite = dir.join("callstitch.db").display().to_string();
    let config = config(&dir, &named_only(&logs), &bus_section(&prefix)).replace(&sqlite, &database.url());
    let service = Service::start(&dir, &config);
    let status = settled(&service, events);
    assert_eq!(status["stored"]["events"], events, "every event once: {status}");
    assert_same(&expected, &all_interactions(&service), 47);
    drop(service);
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}
