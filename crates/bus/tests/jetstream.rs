//! The bus against the machine's own NATS server with JetStream (127.0.0.1:4222, or
//! `CALLSTITCH_NATS_URL`; `scripts/services` starts it). Without a server the tests skip,
//! unless `CALLSTITCH_REQUIRE_NATS=1` (CI) makes that a failure.
//!
//! Each test works under a prefix of its own and removes its streams at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use callstitch_bus::{Bus, BusError, BusItem, BusOptions, Collector, Outgoing, SiteReader, SiteStream};
use callstitch_follow::{FollowConfig, FollowInput, FollowedEvent, Follower};
use callstitch_sim::config::SimConfig;
use callstitch_sim::storage::DirStorage;
use callstitch_tlib::json::write_json_line;

fn nats_url() -> String {
    std::env::var("CALLSTITCH_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

/// A bus under a prefix no other run uses, or `None` (skip) when no server answers and none
/// is required.
async fn bus(test: &str) -> Option<Bus> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |time| time.subsec_nanos());
    let prefix = format!("t{}_{test}_{}_{nanos}", std::process::id(), test.len());
    let options = BusOptions { prefix, in_flight: 64, ..BusOptions::default() };
    match Bus::connect(&nats_url(), options).await {
        Ok(bus) => Some(bus),
        Err(error) if std::env::var("CALLSTITCH_REQUIRE_NATS").as_deref() != Ok("1") => {
            eprintln!("skipped: {error}");
            None
        }
        Err(error) => panic!("NATS is required here: {error}"),
    }
}

/// A simulated estate's logs, rotated small so that a site spans several files.
fn simulated_logs(dir: &Path, sites: usize, interactions: u64, seed: u64) {
    let config = SimConfig {
        sites,
        interactions: Some(interactions),
        seed,
        noise: true,
        segment_bytes: 96 * 1024,
        ..SimConfig::default()
    };
    let mut storage = DirStorage::new(dir).expect("log directory");
    callstitch_sim::run::simulate(&config, &mut storage).expect("simulate");
}

fn follow_config(dir: &Path) -> FollowConfig {
    let mut config = FollowConfig::new(vec![FollowInput { site: None, path: dir.to_path_buf() }]);
    config.settle = Duration::from_millis(1);
    config
}

fn json_line(event: &FollowedEvent) -> String {
    let mut line = Vec::new();
    write_json_line(&mut line, &event.event).expect("to memory");
    String::from_utf8(line).expect("utf-8").trim_end().to_string()
}

/// What each site's stream must hold: every event of its logs, in the order the follower
/// reads them, from a follower of its own (no bus).
fn expected(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut follower = Follower::new(follow_config(dir), Vec::new());
    let mut events = Vec::new();
    let mut idle = 0;
    while idle < 5 {
        let before = events.len();
        follower.poll(10_000, &mut events);
        idle = if events.len() == before { idle + 1 } else { 0 };
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut sites: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in &events {
        sites.entry(event.event.site.to_string()).or_default().push(json_line(event));
    }
    sites
}

/// Steps the collector until the logs are read to their end: (published, skipped).
async fn run_to_end(collector: &mut Collector) -> (usize, usize) {
    let (mut idle, mut published, mut skipped) = (0, 0, 0);
    while idle < 5 {
        let step = collector.step().await.expect("step");
        published += step.published;
        skipped += step.skipped;
        idle = if step.read == 0 && !step.more { idle + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (published, skipped)
}

/// Every message of a site's stream, as text, with the problems' sequences.
async fn stream_contents(bus: &Bus, site: &str) -> (Vec<String>, Vec<u64>) {
    let last = SiteStream::open(bus, site).await.expect("stream").last();
    let mut reader = SiteReader::open(bus, site, 0).await.expect("reader");
    let (mut lines, mut problems) = (Vec::new(), Vec::new());
    let mut seen = 0;
    while seen < last {
        match reader.next(Duration::from_secs(10)).await.expect("read") {
            Some(BusItem::Event { seq, event }) => {
                let mut line = Vec::new();
                write_json_line(&mut line, &event).expect("to memory");
                lines.push(String::from_utf8(line).expect("utf-8").trim_end().to_string());
                seen = seq;
            }
            Some(BusItem::Problem { seq, .. }) => {
                problems.push(seq);
                seen = seq;
            }
            None => panic!("site {site}: the stream ends at {last} but reading stopped at {seen}"),
        }
    }
    (lines, problems)
}

async fn remove(bus: &Bus, sites: impl IntoIterator<Item = &String>) {
    for site in sites {
        let _ = bus.delete_site_stream(site).await;
    }
    let _ = bus.delete_checkpoints().await;
}

#[tokio::test]
async fn every_event_is_on_its_sites_stream_once_in_log_order() {
    let Some(bus) = bus("once").await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    simulated_logs(dir.path(), 3, 120, 7);
    let expected = expected(dir.path());
    assert_eq!(expected.len(), 3, "three sites");

    let mut collector =
        Collector::start(bus.clone(), "c1", follow_config(dir.path()), 500).await.expect("start");
    let (published, _) = run_to_end(&mut collector).await;
    assert_eq!(published, expected.values().map(Vec::len).sum::<usize>());

    // A second run of the same collector finds nothing new to publish.
    let mut again =
        Collector::start(bus.clone(), "c1", follow_config(dir.path()), 500).await.expect("restart");
    assert_eq!(run_to_end(&mut again).await, (0, 0), "a restart publishes nothing twice");

    for (site, lines) in &expected {
        let (stored, problems) = stream_contents(&bus, site).await;
        assert!(problems.is_empty(), "{site}: {problems:?}");
        assert_eq!(&stored, lines, "site {site}: every event once, in log order");
    }
    remove(&bus, expected.keys()).await;
}

/// The collector crashed after its events were stored and before its checkpoint was written:
/// the restart reads them again, skips what the streams hold and publishes the rest once.
#[tokio::test]
async fn a_crash_between_publishing_and_the_checkpoint_repeats_nothing() {
    let Some(bus) = bus("crash").await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    simulated_logs(dir.path(), 2, 80, 11);
    let expected = expected(dir.path());

    let mut collector =
        Collector::start(bus.clone(), "c", follow_config(dir.path()), 137).await.expect("start");
    let mut stored = collector.step().await.expect("first step").published;
    let early = bus.load_checkpoint("c").await.expect("load").expect("written");
    let mut lost = 0;
    for _ in 0..4 {
        lost += collector.step().await.expect("later step").published;
    }
    stored += lost;
    assert!(lost > 0 && stored < expected.values().map(Vec::len).sum::<usize>(), "a crash in the middle");
    drop(collector);
    // The later steps' checkpoints are lost: as if each had crashed before writing it.
    bus.save_checkpoint("c", &early).await.expect("roll the checkpoint back");

    let mut restarted =
        Collector::start(bus.clone(), "c", follow_config(dir.path()), 137).await.expect("restart");
    let (published, skipped) = run_to_end(&mut restarted).await;
    assert_eq!(skipped, lost, "the events whose checkpoint was lost are read again and skipped");
    assert_eq!(published + stored, expected.values().map(Vec::len).sum::<usize>());
    for (site, lines) in &expected {
        let (stored, _) = stream_contents(&bus, site).await;
        assert_eq!(&stored, lines, "site {site}: nothing twice, nothing lost");
    }
    remove(&bus, expected.keys()).await;
}

/// A second publisher of a site (a stale collector) is refused instead of interleaving its
/// messages, and a refused message takes every later one of its batch with it.
#[tokio::test]
async fn a_second_publisher_of_a_site_is_refused_and_nothing_lands_out_of_order() {
    let Some(bus) = bus("fence").await else { return };
    let message =
        |n: usize| Outgoing { id: format!("id-{n}"), payload: Bytes::from(format!("{{\"n\":{n}}}")) };
    let mut first = SiteStream::open(&bus, "north").await.expect("stream");
    let mut stale = SiteStream::open(&bus, "north").await.expect("stream");
    first.publish(&[message(1), message(2)]).await.expect("publish");

    let batch: Vec<Outgoing> = (3..8).map(message).collect();
    let refused = stale.publish(&batch).await.expect_err("the stale publisher expects sequence 0");
    assert!(matches!(refused, BusError::Stream { .. } | BusError::OutOfStep { .. }), "{refused}");
    assert_eq!(stale.stored_of(0, &batch).await.ok(), None, "the stream's two are not the stale batch's");
    assert_eq!(first.refresh().await.expect("refresh"), 2, "none of the refused batch landed");
    remove(&bus, [&"north".to_string()]).await;
}

/// A peer published something that is not an event: the reader reports it with its sequence
/// and goes on with the next message.
#[tokio::test]
async fn a_message_that_is_not_an_event_is_a_problem_with_its_sequence_and_reading_goes_on() {
    let Some(bus) = bus("bad").await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    simulated_logs(dir.path(), 1, 5, 3);
    let expected = expected(dir.path());
    let (site, lines) = expected.iter().next().expect("a site");
    let mut stream = SiteStream::open(&bus, site).await.expect("stream");
    let good = |n: usize| Outgoing { id: format!("g{n}"), payload: Bytes::from(lines[n].clone()) };
    let bad = [
        Outgoing { id: "b1".into(), payload: Bytes::from_static(b"{\"message\":") },
        Outgoing { id: "b2".into(), payload: Bytes::from_static(&[0xff, 0xfe]) },
    ];
    stream.publish(&[good(0)]).await.expect("publish");
    stream.publish(&bad).await.expect("publish");
    stream.publish(&[good(1)]).await.expect("publish");

    let (stored, problems) = stream_contents(&bus, site).await;
    assert_eq!(problems, vec![2, 3], "the two bad messages, by sequence");
    assert_eq!(stored, vec![lines[0].clone(), lines[1].clone()], "the events around them");
    remove(&bus, [site]).await;
}
