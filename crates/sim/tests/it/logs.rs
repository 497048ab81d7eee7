//! The logs the simulator writes: they parse with zero problems, rotate with headers, keep
//! per-server order and clocks, carry exactly the noise the manifest says, and repeat
//! byte for byte for one seed.

use crate::common;

use std::collections::BTreeMap;

use callstitch_sim::{simulate_live, MemoryStorage, OutputFormat, Pacer, SimConfig};
use callstitch_tlib::json::JsonLinesReader;
use callstitch_tlib::Message;

fn config(interactions: u64, seed: u64) -> SimConfig {
    SimConfig { interactions: Some(interactions), seed, segment_bytes: 64 << 10, ..SimConfig::default() }
}

#[test]
fn generated_logs_parse_with_zero_problems_and_rotate_with_headers() {
    let set = common::generate(&config(400, 11));
    let (events, stats) = set.read_back();
    assert!(stats.problems.is_empty(), "problems: {:?}", stats.problems);
    assert_eq!(stats.foreign_lines, 0);
    assert_eq!(stats.bsync_events, 0);
    assert_eq!(events.len() as u64, set.summary.events);
    let mut segments_per_site: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, bytes) in set.logs() {
        assert!(bytes.starts_with(b"Application name: "), "{name} starts with its header");
        let site = name.split('-').next().unwrap_or_default();
        *segments_per_site.entry(site).or_default() += 1;
    }
    assert_eq!(segments_per_site.len(), 4, "{segments_per_site:?}");
    assert!(segments_per_site.values().all(|count| *count > 1), "rotation happened: {segments_per_site:?}");
}

#[test]
fn each_server_numbers_its_events_in_order_and_stamps_them_on_its_own_clock() {
    let set = common::generate(&config(300, 5));
    let (events, _) = set.read_back();
    let mut last: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for event in &events {
        let seq = event.seq.unwrap_or_default();
        let time = event.timestamp.map(|time| time.0).unwrap_or_default();
        if let Some((last_seq, last_time)) = last.get(event.site.as_str()) {
            assert_eq!(seq, last_seq + 1, "consecutive sequence numbers on {}", event.site);
            assert!(time >= *last_time, "time goes forward on {}", event.site);
        }
        last.insert(event.site.to_string(), (seq, time));
        let log_time = event.log_time.map(|time| time.0).unwrap_or_default();
        assert!(
            (log_time - time).abs() < 1_000,
            "the @ clock is the time stamp in local time ({})",
            event.site
        );
    }
}

#[test]
fn the_receiving_site_can_log_a_link_before_the_sending_site() {
    let set = common::generate(&config(600, 2));
    let (events, _) = set.read_back();
    let mut ends: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for event in events.iter().filter(|event| event.message == Message::EventCallDataChanged) {
        for link in event.is_links.iter().flatten() {
            let role = link.direction_role.as_ref().map(|role| role.as_str().to_string()).unwrap_or_default();
            ends.entry(link.id.to_string())
                .or_default()
                .push((role, event.timestamp.map(|time| time.0).unwrap_or(0)));
        }
    }
    let mut receiver_first = 0;
    for sightings in ends.values() {
        let source = sightings.iter().find(|(role, _)| role == "source").map(|(_, time)| *time);
        let target = sightings.iter().find(|(role, _)| role == "target").map(|(_, time)| *time);
        assert!(source.is_some() && target.is_some(), "every link is reported at both ends");
        if target < source {
            receiver_first += 1;
        }
    }
    assert!(receiver_first > 0, "clock skew makes some receivers log first, as in the seed");
}

#[test]
fn noise_counts_match_what_the_reader_counts() {
    let set = common::generate(&SimConfig { noise: true, ..config(500, 8) });
    let manifest = set.summary.noise.clone().unwrap_or_default();
    let (_, stats) = set.read_back();
    assert!(
        manifest.foreign_lines > 0 && manifest.bsync_events > 0 && manifest.cut_blocks > 0,
        "{manifest:?}"
    );
    assert_eq!(stats.foreign_lines, manifest.foreign_lines);
    assert_eq!(stats.bsync_events, manifest.bsync_events);
    assert_eq!(stats.incomplete_events, manifest.cut_blocks);
    let problems: BTreeMap<String, u64> =
        stats.problems.iter().map(|(kind, count)| (kind.label().to_string(), *count)).collect();
    assert_eq!(problems, manifest.expected_problems);
    let crlf_files =
        set.logs().iter().filter(|(_, bytes)| bytes.windows(2).any(|pair| pair == b"\r\n")).count();
    assert_eq!(crlf_files as u64, manifest.crlf_files);
    let written: serde_json::Value =
        serde_json::from_slice(set.files.get("noise.json").map(Vec::as_slice).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(written["cut_blocks"], manifest.cut_blocks);
}

#[test]
fn one_seed_gives_identical_bytes_and_another_seed_does_not() {
    let first = common::generate(&SimConfig { noise: true, ..config(150, 21) });
    let again = common::generate(&SimConfig { noise: true, ..config(150, 21) });
    assert_eq!(first.files, again.files);
    let other = common::generate(&SimConfig { noise: true, ..config(150, 22) });
    assert_ne!(first.files.get("truth.jsonl"), other.files.get("truth.jsonl"));
}

#[test]
fn json_lines_hold_the_same_events_as_the_logs() {
    let logs = common::generate(&config(120, 4));
    let json = common::generate(&SimConfig { format: OutputFormat::JsonLines, ..config(120, 4) });
    let (log_events, _) = logs.read_back();
    let mut json_events = Vec::new();
    for name in &json.summary.files {
        let bytes = json.files.get(name).cloned().unwrap_or_default();
        let mut reader = JsonLinesReader::new(bytes.as_slice(), None);
        while let Some(line) = reader.next_line().unwrap_or(None) {
            json_events.push(line.unwrap_or_else(|error| panic!("{error}")));
        }
    }
    assert_eq!(json_events.len(), log_events.len());
    let key = |event: &callstitch_tlib::Event| {
        (event.site.clone(), event.seq, event.message.name().to_string(), event.call_uuid.clone())
    };
    let mut from_logs: Vec<_> = log_events.iter().map(key).collect();
    let mut from_json: Vec<_> = json_events.iter().map(key).collect();
    from_logs.sort();
    from_json.sort();
    assert_eq!(from_logs, from_json);
}

/// A pacer that records where it was asked to sleep, and never sleeps.
struct FakeClock {
    now: i64,
    sleeps: Vec<i64>,
}

impl Pacer for FakeClock {
    fn now_micros(&mut self) -> i64 {
        self.now
    }

    fn sleep_until(&mut self, micros: i64) {
        self.sleeps.push(micros);
        self.now = self.now.max(micros);
    }
}

#[test]
fn live_mode_writes_each_event_when_its_time_comes() {
    let start = 1_800_000_000_000_000;
    let mut clock = FakeClock { now: start, sleeps: Vec::new() };
    let mut storage = MemoryStorage::new();
    let config = SimConfig { interactions: Some(40), rate_milli: 2_000, ..SimConfig::default() };
    let summary = simulate_live(&config, &mut storage, &mut clock).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(clock.sleeps.len() as u64, summary.events, "one wait per event");
    assert!(clock.sleeps.windows(2).all(|pair| pair[0] <= pair[1]), "events are written in time order");
    assert!(clock.sleeps.first().is_some_and(|first| *first >= start), "arrivals start now");
    let duration = clock.sleeps.last().copied().unwrap_or(start) - start;
    assert!(duration > 10_000_000, "40 calls at 2/s take simulated (here: paced) time");
}
