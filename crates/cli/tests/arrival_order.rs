//! Acceptance of issue 12 through the real binary: one simulated estate with every shape that
//! broke the linker (five sites, noise, receiving calls that outlast the link timeout,
//! returns to an earlier site, SIP-to-SIP hops that keep the CallUUID, ConnIDs kept across
//! hops and handed out again, clocks up to 5 s off), its events fed to `callstitch trace
//! --json` in the orders they reach callstitch in practice, and `callstitch verify` on each:
//! precision = recall = exact = order = 1, and every interaction id printed once.
//!
//! Run with `cargo test -p callstitch --test arrival_order -- --nocapture` to see the figures
//! of each feed. Three tests check the estate and the feeds themselves.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use callstitch_sim::feed::{self, HOUR, YEAR};
use callstitch_tlib::Event;
use common::estate::Estate;

/// The estate every test here reads (simulated once per run of this file).
fn estate() -> &'static Estate {
    static ESTATE: OnceLock<Estate> = OnceLock::new();
    ESTATE.get_or_init(|| {
        Estate::simulate(
            "arrival-order",
            &[
                "--sites",
                "5",
                "--interactions",
                "1200",
                "--seed",
                "12",
                "--noise",
                "--long-calls",
                "10%",
                "--skew-ms",
                "5000",
                "--conn-reuse",
                "10%",
                "--conn-reuse-after",
                "2m",
            ],
        )
    })
}

/// The site whose clock goes wrong, and the event of it that does: the middle one.
fn wrong_clock_event(estate: &Estate) -> (usize, &str, usize) {
    let site = &estate.events.sites[1];
    (1, site.site.as_str(), site.events.len() / 2)
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

// --- the estate and the feeds (these hold today) -----------------------------------------

/// Each shape of issue 12 is in the estate, so a feed test that passes has met all of them.
#[test]
fn the_estate_has_every_shape_of_issue_12() {
    let estate = estate();
    let truth = json_lines(&std::fs::read_to_string(estate.truth()).expect("the truth"));
    assert_eq!(truth.len(), 1200);
    let scenarios: BTreeSet<&str> =
        truth.iter().filter_map(|interaction| interaction["scenario"].as_str()).collect();
    for wanted in [
        "iscc-transfer",
        "return-trip",
        "sip-reinvite-transfer",
        "sip-refer-transfer",
        "multi-site-conference",
    ] {
        assert!(scenarios.contains(wanted), "no {wanted} in the estate");
    }
    // The last event of each call, on its server's clock.
    let mut ends: BTreeMap<(String, String), i64> = BTreeMap::new();
    for site in &estate.events.sites {
        for event in &site.events {
            if let (Some(uuid), Some(time)) = (&event.call_uuid, event.time()) {
                let end = ends.entry((site.site.clone(), uuid.to_string())).or_insert(time.0);
                *end = (*end).max(time.0);
            }
        }
    }
    let end = |side: &serde_json::Value| {
        let key = (
            side["site"].as_str().unwrap_or_default().to_string(),
            side["call_uuid"].as_str().unwrap_or_default().to_string(),
        );
        ends.get(&key).copied()
    };
    let mut outlasting = 0;
    let mut returns = 0;
    let mut same_uuid_hops = 0;
    let mut kept_conns = 0;
    let mut conn_interactions: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (index, interaction) in truth.iter().enumerate() {
        for link in interaction["links"].as_array().into_iter().flatten() {
            if let (Some(from), Some(to)) = (end(&link["from"]), end(&link["to"])) {
                outlasting += usize::from(link["kind"] == "islink" && to - from > 600_000_000);
            }
            same_uuid_hops += usize::from(
                link["from"]["call_uuid"] == link["to"]["call_uuid"]
                    && link["from"]["site"] != link["to"]["site"],
            );
        }
        let segments = interaction["segments"].as_array().cloned().unwrap_or_default();
        let sites: Vec<&str> = segments.iter().filter_map(|segment| segment["site"].as_str()).collect();
        returns +=
            usize::from(sites.first().is_some_and(|home| sites.iter().skip(1).any(|site| site == home)));
        let mut conn_sites: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for segment in &segments {
            for conn in segment["conn_ids"].as_array().into_iter().flatten().filter_map(|conn| conn.as_str())
            {
                conn_sites.entry(conn).or_default().insert(segment["site"].as_str().unwrap_or_default());
                conn_interactions.entry(conn.to_string()).or_default().insert(index);
            }
        }
        kept_conns += conn_sites.values().filter(|sites| sites.len() > 1).count();
    }
    let reused = conn_interactions.values().filter(|interactions| interactions.len() > 1).count();
    assert!(outlasting >= 20, "only {outlasting} receiving calls outlast the 600 s link timeout");
    assert!(returns >= 20, "only {returns} returns to the first site");
    assert!(same_uuid_hops >= 40, "only {same_uuid_hops} SIP-to-SIP hops that keep the CallUUID");
    assert!(kept_conns >= 20, "only {kept_conns} ConnIDs kept across a hop");
    assert!(reused >= 20, "only {reused} ConnIDs handed out again");
    let center: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(estate.dir.join("center.json")).expect("center.json"))
            .expect("JSON");
    let skews: Vec<i64> = center["sites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|site| site["skew_micros"].as_i64())
        .collect();
    assert!(skews.iter().any(|skew| skew.abs() > 1_000_000), "a clock more than a second off: {skews:?}");
    let noise: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(estate.dir.join("noise.json")).expect("noise.json"))
            .expect("JSON");
    assert!(
        noise["cut_blocks"].as_u64().unwrap_or(0) > 0 && noise["foreign_lines"].as_u64().unwrap_or(0) > 0
    );
}

/// Where an event was written: its sequence number and its line in the log.
type Place = (Option<u64>, Option<u64>);

/// The places of a feed's events per site, in arrival order.
fn per_site_order<'e>(events: impl IntoIterator<Item = &'e Event>) -> BTreeMap<String, Vec<Place>> {
    let mut order: BTreeMap<String, Vec<Place>> = BTreeMap::new();
    for event in events {
        order.entry(event.site.to_string()).or_default().push((event.seq, event.line));
    }
    order
}

#[test]
fn every_feed_holds_every_event_once_in_each_sites_own_order() {
    let events = &estate().events;
    let expected = per_site_order(events.site_after_site());
    assert_eq!(expected.len(), 5);
    let (_, site, nth) = wrong_clock_event(estate());
    let merged = events.merged_by_time();
    let feeds: Vec<(&str, Vec<&Event>)> = vec![
        ("merged by time", merged.clone()),
        ("one site late", events.one_site_late(2)),
        ("batches", events.interleaved(7, 500)),
    ];
    for (name, feed) in &feeds {
        assert_eq!(per_site_order(feed.iter().copied()), expected, "{name}");
    }
    let year = feed::with_clock_error(&merged, site, nth, YEAR).expect("the event exists");
    assert_eq!(per_site_order(&year), expected, "a year ahead");
    let moved: Vec<_> = year.iter().zip(&merged).filter(|(wrong, right)| wrong != *right).collect();
    assert_eq!(moved.len(), 1, "exactly one event is dated wrong");
    let (wrong, right) = moved[0];
    assert_eq!(wrong.timestamp.map(|time| time.0), right.timestamp.map(|time| time.0 + YEAR));
    // Merged by time, the sites alternate; site after site, each comes once.
    assert!(feed::site_runs(merged.iter().copied()).len() > 1000);
    assert_eq!(feed::site_runs(events.site_after_site()).len(), 5);
    let late = feed::site_runs(events.one_site_late(2));
    assert_eq!(late.last().map(|(site, _)| site.as_str()), Some(events.sites[2].site.as_str()));
}

/// What `callstitch parse` does with several sites: each site's events, one site after the
/// other (in the order of the file names), so `parse DIR` is the site-after-site feed.
#[test]
fn parse_of_a_directory_prints_the_sites_one_after_the_other() {
    let estate = estate();
    let written = estate.write_feed("parse-site-after-site", estate.events.site_after_site());
    let parsed = common::binary().args(["parse", "--quiet"]).arg(&estate.dir).output().expect("parse runs");
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let expected = std::fs::read(written).expect("the feed");
    assert!(parsed.stdout == expected, "parse DIR differs from the site-after-site feed");
}

// --- each feed through trace and verify (the live linker of issue 12) --------------------

/// (a) The log files, merged by time by trace's reader.
#[test]
fn logs_merged_by_time_are_traced_exactly() {
    let estate = estate();
    estate.trace("logs", &[&estate.dir]).expect_exact();
}

/// (a) The same events as one JSON-lines stream, in time order (a live collector).
#[test]
fn one_stream_merged_by_time_is_traced_exactly() {
    let estate = estate();
    let feed = estate.write_feed("merged-by-time", estate.events.merged_by_time());
    estate.trace("merged-by-time", &[&feed]).expect_exact();
}

/// (b) One JSON-lines stream, site after site (`callstitch parse` of each site appended).
#[test]
fn one_stream_site_after_site_is_traced_exactly() {
    let estate = estate();
    let feed = estate.write_feed("site-after-site", estate.events.site_after_site());
    estate.trace("site-after-site", &[&feed]).expect_exact();
}

/// (b) The same stream on standard input (`trace --json -`).
#[test]
fn one_stream_site_after_site_on_standard_input_is_traced_exactly() {
    let estate = estate();
    let feed = estate.write_feed("site-after-site-stdin", estate.events.site_after_site());
    estate.trace_stdin("site-after-site-stdin", &feed).expect_exact();
}

/// (b') Every other site merged by time, then one site's events (a day late).
#[test]
fn one_site_a_day_late_is_traced_exactly() {
    let estate = estate();
    for late in [0, 3] {
        let name = format!("site-{late}-late");
        let feed = estate.write_feed(&name, estate.events.one_site_late(late));
        estate.trace(&name, &[&feed]).expect_exact();
    }
}

/// (c) in one stream: batches of 500 events of one site, the sites in a shuffled order.
#[test]
fn batches_in_shuffled_site_order_are_traced_exactly() {
    let estate = estate();
    let feed = estate.write_feed("batches", estate.events.interleaved(7, 500));
    estate.trace("batches", &[&feed]).expect_exact();
}

/// (d) The merged stream with one event of one site dated a year ahead, where it arrived.
#[test]
fn one_event_a_year_ahead_in_the_stream_changes_nothing() {
    let estate = estate();
    let (_, site, nth) = wrong_clock_event(estate);
    let events = feed::with_clock_error(&estate.events.merged_by_time(), site, nth, YEAR).expect("the event");
    let feed = estate.write_feed("year-ahead", &events);
    estate.trace("year-ahead", &[&feed]).expect_exact();
}

/// (d) The same, one hour ahead.
#[test]
fn one_event_an_hour_ahead_in_the_stream_changes_nothing() {
    let estate = estate();
    let (_, site, nth) = wrong_clock_event(estate);
    let events = feed::with_clock_error(&estate.events.merged_by_time(), site, nth, HOUR).expect("the event");
    let feed = estate.write_feed("hour-ahead", &events);
    estate.trace("hour-ahead", &[&feed]).expect_exact();
}

/// (d) Site after site, one event a year ahead.
#[test]
fn one_event_a_year_ahead_site_after_site_changes_nothing() {
    let estate = estate();
    let (_, site, nth) = wrong_clock_event(estate);
    let events =
        feed::with_clock_error(&estate.events.site_after_site(), site, nth, YEAR).expect("the event");
    let feed = estate.write_feed("site-after-site-year-ahead", &events);
    estate.trace("site-after-site-year-ahead", &[&feed]).expect_exact();
}

/// (d) One JSON-lines file per site, one event a year ahead in its site's file: trace's
/// reader merges the files by time, so the rest of that site queues behind the wrong event.
#[test]
fn one_event_a_year_ahead_in_per_site_files_changes_nothing() {
    let estate = estate();
    let (site, _, nth) = wrong_clock_event(estate);
    let wrong = estate.events.with_clock_error(site, nth, YEAR).expect("the event");
    let files = estate.write_site_files("per-site-year-ahead", &wrong);
    let inputs: Vec<&std::path::Path> = files.iter().map(|path| path.as_path()).collect();
    estate.trace("per-site-year-ahead", &inputs).expect_exact();
}
