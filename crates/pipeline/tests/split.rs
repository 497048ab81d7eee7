//! The pipeline split in two (crates/pipeline/src/split.rs): one engine per site telling its
//! news as data, and the linker side taking every site's news merged as `callstitch trace`
//! merges log files, give what the pipeline in one piece gives on the same logs, byte for
//! byte: the trace document of every interaction, in the order handed out, and every
//! finished call, in the order finished, with the numbers one engine gives.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;

use callstitch_engine::{CallHandle, ClockConfig, EngineConfig, FinishedCall, SiteClock};
use callstitch_link::{CallEnding, CallNews, Interaction, LinkerConfig, LiveClock, SiteDirectory, SECOND};
use callstitch_pipeline::split::{link_sites, EstateLinker, SiteEngine, SiteNews, SiteStream};
use callstitch_pipeline::{Pipeline, PipelineConfig, Sink, TraceDocument};
use callstitch_recording::Recording;
use callstitch_sim::feed::{Estate, HOUR, YEAR};
use callstitch_sim::{simulate, DirStorage, SimConfig};
use callstitch_tlib::{CallUuid, ConnId, Context, Event, Message, Text, Timestamp};
use proptest::prelude::*;

/// What either run hands out, as bytes: trace documents, and finished calls with the
/// numbers and clocks their JSON leaves out.
#[derive(Debug, Default, PartialEq)]
struct Output {
    interactions: Vec<String>,
    calls: Vec<String>,
}

fn call_line(call: &FinishedCall) -> String {
    format!("{} {} {}", call.handle.0, call.clock, serde_json::to_string(call).unwrap())
}

#[derive(Default)]
struct Documents {
    interactions: Vec<String>,
    calls: Vec<String>,
    /// Split: (site, the site's number, the estate's number), in the order taken.
    ended: Vec<(Text, u64, u64)>,
}

impl Sink for Documents {
    fn call(&mut self, call: &FinishedCall) {
        self.calls.push(call_line(call));
    }

    fn interaction(&mut self, interaction: Interaction, recording: Recording) {
        let document = TraceDocument::new(interaction, recording);
        self.interactions.push(serde_json::to_string(&document).unwrap());
    }

    fn ended(&mut self, site_handle: CallHandle, call: &CallEnding) {
        self.ended.push((call.site.clone(), site_handle.0, call.handle.0));
    }
}

fn config() -> PipelineConfig {
    PipelineConfig::new(EngineConfig::default(), LinkerConfig::default(), None)
}

fn directory(estate: &Estate) -> SiteDirectory {
    SiteDirectory::new(estate.sites.iter().map(|site| site.site.as_str()))
}

/// The pipeline in one piece, fed as `callstitch trace` feeds it from one log per site
/// (crates/cli/src/input/feed.rs): merged by each site's believed time, ties to the site
/// first, floors before each head, the end after each site's last event.
fn one_piece(estate: &Estate) -> Output {
    let mut pipeline = Pipeline::new(&config(), directory(estate), None);
    let mut out = Documents::default();
    let keys: Vec<Vec<i64>> = estate.sites.iter().map(|site| merge_keys(&site.events)).collect();
    let mut next = vec![0usize; estate.sites.len()];
    let mut heads = BinaryHeap::new();
    for (index, site) in estate.sites.iter().enumerate() {
        if let Some(&key) = keys[index].first() {
            heads.push(Reverse((key, index)));
            if key != i64::MIN {
                pipeline.raise_floor(&site.site, Timestamp(key), &mut out);
            }
        }
    }
    while let Some(Reverse((_, index))) = heads.pop() {
        let site = &estate.sites[index];
        pipeline.push(&site.events[next[index]], &mut out);
        next[index] += 1;
        match keys[index].get(next[index]) {
            Some(&key) => {
                heads.push(Reverse((key, index)));
                if key != i64::MIN {
                    pipeline.raise_floor(&site.site, Timestamp(key), &mut out);
                }
            }
            None => pipeline.end_site(&site.site, &mut out),
        }
    }
    pipeline.finish(&mut out);
    Output { interactions: out.interactions, calls: out.calls }
}

/// Each event's place in the merge: its site's believed time so far.
fn merge_keys(events: &[Event]) -> Vec<i64> {
    let mut clock = SiteClock::default();
    let mut key = i64::MIN;
    events
        .iter()
        .map(|event| {
            if let Some(time) = event.time() {
                clock.observe(time.0, ClockConfig::default(), None);
                key = clock.now().unwrap_or(time.0);
            }
            key
        })
        .collect()
}

/// Every site's news, as its own engine tells it, with the calls it finished.
struct SitesNews {
    sites: Vec<(Text, Vec<SiteNews>, Vec<CallNews>)>,
    finished: BTreeMap<(Text, u64), FinishedCall>,
    events: usize,
}

fn site_news(estate: &Estate) -> SitesNews {
    let config = config();
    let mut found = SitesNews { sites: Vec::new(), finished: BTreeMap::new(), events: 0 };
    for site in &estate.sites {
        let name = Text::from(site.site.as_str());
        let mut engine = SiteEngine::new(name.clone(), &config);
        let mut news = Vec::new();
        let mut keep = |calls: Vec<FinishedCall>| {
            for call in calls {
                found.finished.insert((name.clone(), call.handle.0), call);
            }
        };
        for event in &site.events {
            let step = engine.push(event);
            news.push(step.news);
            keep(step.finished);
        }
        let (last, calls) = engine.finish();
        keep(calls);
        found.events += site.events.len();
        found.sites.push((name, news, last));
    }
    found
}

/// The linker side over the sites' news; the calls the sites finished renumbered as the
/// linker side says.
fn split(estate: &Estate, news: &SitesNews) -> Output {
    let mut linker = EstateLinker::new(&config(), directory(estate), None);
    let mut out = Documents::default();
    let streams = news
        .sites
        .iter()
        .map(|(site, news, last)| SiteStream {
            site: site.clone(),
            news: news.clone().into_iter(),
            last: last.clone(),
        })
        .collect();
    link_sites(&mut linker, streams, &mut out);
    let calls = out
        .ended
        .iter()
        .map(|(site, site_number, number)| {
            let mut call = news.finished.get(&(site.clone(), *site_number)).expect("the site's call").clone();
            renumber(&mut call, *number);
            call_line(&call)
        })
        .collect();
    Output { interactions: out.interactions, calls }
}

/// A site's call under the number one engine gives it.
fn renumber(call: &mut FinishedCall, number: u64) {
    call.handle = CallHandle(number);
    if call.call_uuid.is_none() {
        let conn = call.conn_ids.first().map(ToString::to_string).unwrap_or_default();
        call.key = format!("~{conn}-{number}");
    }
}

/// The news through JSON and back: unchanged, and written again the same.
fn round_trip(news: &SitesNews) -> (SitesNews, usize) {
    let mut bytes = 0;
    let mut sites = Vec::new();
    for (site, events, last) in &news.sites {
        let mut back = Vec::new();
        for piece in events {
            let text = serde_json::to_string(piece).unwrap();
            bytes += text.len();
            let read: SiteNews = serde_json::from_str(&text).unwrap();
            assert_eq!(&read, piece, "news of {site} read back: {text}");
            assert_eq!(serde_json::to_string(&read).unwrap(), text);
            back.push(read);
        }
        let text = serde_json::to_string(last).unwrap();
        let read: Vec<CallNews> = serde_json::from_str(&text).unwrap();
        assert_eq!(&read, last);
        sites.push((site.clone(), back, read));
    }
    (SitesNews { sites, finished: news.finished.clone(), events: news.events }, bytes)
}

/// Every other site's events without CallUUIDs (servers that send none): their calls are
/// keyed `~<first ConnID>-<number>`, by the number one engine gives them.
fn drop_call_uuids(estate: &mut Estate) {
    for site in estate.sites.iter_mut().step_by(2) {
        for event in &mut site.events {
            event.call_uuid = None;
            event.orig_call_uuid = None;
            event.ref_call_uuid = None;
        }
    }
}

fn simulated(config: &SimConfig) -> (tempfile::TempDir, Estate) {
    let dir = tempfile::tempdir().unwrap();
    simulate(config, &mut DirStorage::new(dir.path()).unwrap()).expect("simulated");
    let estate = Estate::read_dir(dir.path()).expect("logs read back");
    (dir, estate)
}

fn assert_same(estate: &Estate, what: &str) -> SitesNews {
    let want = one_piece(estate);
    let news = site_news(estate);
    let got = split(estate, &news);
    assert_outputs(&got, &want, what);
    news
}

fn assert_outputs(got: &Output, want: &Output, what: &str) {
    assert!(!want.interactions.is_empty(), "{what}: no interaction");
    assert_eq!(got.calls.len(), want.calls.len(), "{what}: finished calls");
    for (index, (got, want)) in got.calls.iter().zip(&want.calls).enumerate() {
        assert_eq!(got, want, "{what}: finished call {index}");
    }
    assert_eq!(got.interactions.len(), want.interactions.len(), "{what}: interactions");
    for (index, (got, want)) in got.interactions.iter().zip(&want.interactions).enumerate() {
        assert_eq!(got, want, "{what}: interaction {index}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn split_equals_one_piece_on_simulated_estates(
        sites in 2usize..=6,
        seed in 0u64..1_000_000,
        skew_ms in prop::sample::select(vec![0i64, 450, 5_000, 90_000]),
        long_calls in prop::sample::select(vec![0u64, 50, 400]),
        conn_reuse in prop::sample::select(vec![0u64, 20, 500]),
        noise in any::<bool>(),
        without_uuids in any::<bool>(),
    ) {
        let config = SimConfig {
            sites,
            interactions: Some(60),
            seed,
            noise,
            skew_max_micros: skew_ms * 1_000,
            long_calls_per_mille: long_calls,
            conn_reuse_per_mille: conn_reuse,
            conn_reuse_after_secs: 5,
            ..SimConfig::default()
        };
        let (_dir, mut estate) = simulated(&config);
        if without_uuids {
            drop_call_uuids(&mut estate);
        }
        let what = format!("{config:?}, without CallUUIDs on every other site: {without_uuids}");
        let news = assert_same(&estate, &what);
        if without_uuids {
            let keyed = one_piece(&estate).interactions.iter().any(|document| document.contains(r#""key":"~"#));
            prop_assert!(keyed, "calls keyed by their number: {}", what);
        }
        let (read_back, _) = round_trip(&news);
        assert_outputs(&split(&estate, &read_back), &one_piece(&estate), &format!("{what}, news read back"));
    }
}

#[test]
fn split_equals_one_piece_on_the_seed_logs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink");
    let estate = Estate::read_dir(&dir).expect("the seed logs");
    assert_eq!(estate.sites.len(), 2);
    let news = assert_same(&estate, "seed-islink");
    let (read_back, _) = round_trip(&news);
    assert_outputs(&split(&estate, &read_back), &one_piece(&estate), "seed-islink, news read back");
}

/// The size of the news, JSON and zstd-compressed JSON (as a store would keep a batch):
/// printed for docs/scale.md, bounded so that a change that bloats it is seen.
#[test]
fn news_bytes_per_event() {
    let config =
        SimConfig { sites: 4, interactions: Some(300), seed: 7, noise: true, ..SimConfig::default() };
    let (_dir, estate) = simulated(&config);
    let news = site_news(&estate);
    let (_, json) = round_trip(&news);
    let mut lines = Vec::new();
    for (_, events, _) in &news.sites {
        for piece in events {
            lines.extend_from_slice(serde_json::to_string(piece).unwrap().as_bytes());
            lines.push(b'\n');
        }
    }
    let compressed = zstd::encode_all(lines.as_slice(), 3).unwrap().len();
    let events = news.events as f64;
    let told =
        news.sites.iter().flat_map(|(_, events, _)| events).filter(|news| !news.calls.is_empty()).count();
    eprintln!(
        "news: {} events, {:.1} JSON bytes/event, {:.1} zstd-3 bytes/event; {:.0}% of events tell call news",
        news.events,
        json as f64 / events,
        compressed as f64 / events,
        100.0 * told as f64 / events
    );
    assert!(json as f64 / events < 400.0, "news grew: {:.1} bytes/event", json as f64 / events);
}

/// Ties in the merge go to the site given first: a site whose events are a copy of
/// another's, under another name, ties with it at every event.
#[test]
fn split_equals_one_piece_when_every_event_of_two_sites_ties() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink");
    let seed = Estate::read_dir(&dir).expect("the seed logs");
    let mut estate = Estate::default();
    for site in &seed.sites {
        for event in &site.events {
            estate.push(event.clone());
            if site.site == "SIPServer1" {
                let mut copy = event.clone();
                copy.site = Text::from("SIPServer1b");
                estate.push(copy);
            }
        }
    }
    assert_eq!(estate.sites.len(), 3);
    assert_same(&estate, "seed-islink with a copy of SIPServer1");
}

/// A site's calls due at one time: one engine for every site gives them slots in its one
/// table, where another site's call can have freed a slot that the later call takes. Each
/// site's engine must finish them in the same order (crates/engine: by creation, not slot).
#[test]
fn split_equals_one_piece_when_another_sites_call_freed_a_slot() {
    const T0: i64 = 1_770_019_200 * SECOND;
    let mut seq = BTreeMap::new();
    let mut event = |message: Message, site: &str, uuid: Option<&str>, at: i64| {
        let seq = seq.entry(site.to_string()).and_modify(|seq| *seq += 1).or_insert(1u64);
        let mut event = Event::new(message, site);
        event.seq = Some(*seq);
        event.timestamp = Some(Timestamp(at));
        if let Some(uuid) = uuid {
            event.context = Context::DistributeCallPartyEvent;
            event.call_uuid = Some(CallUuid::new(uuid));
            event.conn_id = Some(ConnId(0x100 + uuid.len() as u64 + uuid.as_bytes()[uuid.len() - 1] as u64));
        }
        event
    };
    let mut estate = Estate::default();
    for event in [
        event(Message::EventCallCreated, "B", Some("B-1"), T0),
        event(Message::EventCallCreated, "A", Some("A-1"), T0 + SECOND),
        event(Message::EventCallDeleted, "B", Some("B-1"), T0 + 2 * SECOND),
        event(Message::EventDNBackInService, "B", None, T0 + 100 * SECOND),
        event(Message::EventCallCreated, "A", Some("A-2"), T0 + 101 * SECOND),
        event(Message::EventCallDeleted, "A", Some("A-1"), T0 + 102 * SECOND),
        event(Message::EventCallDeleted, "A", Some("A-2"), T0 + 102 * SECOND),
        event(Message::EventDNBackInService, "A", None, T0 + 200 * SECOND),
    ] {
        estate.push(event);
    }
    assert_same(&estate, "A's calls due together");
}

fn live_config() -> PipelineConfig {
    let linker =
        LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..LinkerConfig::default() };
    PipelineConfig::new(EngineConfig::default(), linker, None)
}

/// Every event arrives at its own time (or the last one's); a flush every 37 events, then
/// an hour of ticks a minute apart with a flush after each.
const FLUSH_EVERY: usize = 37;

/// The wall time an event arrives at: its own time, unless that is over an hour ahead of
/// the last arrival (a wrong clock: then the last arrival's).
fn arrival(wall: i64, event: &Event) -> i64 {
    match event.time() {
        Some(time) if wall == 0 || time.0 <= wall + HOUR => time.0,
        _ => wall,
    }
}

fn live_one_piece(estate: &Estate, feed: &[&Event]) -> Output {
    let mut pipeline = Pipeline::new(&live_config(), directory(estate), None);
    let mut out = Documents::default();
    let mut wall = 0;
    for (index, event) in feed.iter().enumerate() {
        wall = arrival(wall, event);
        pipeline.push_at(event, Some(wall), &mut out);
        if index % FLUSH_EVERY == FLUSH_EVERY - 1 {
            pipeline.flush(&mut out);
        }
    }
    for step in 1..=60 {
        pipeline.tick(wall + step * 60 * SECOND, &mut out);
        pipeline.flush(&mut out);
    }
    Output { interactions: out.interactions, calls: out.calls }
}

/// The same live, split: the news of every event and of every move read back from JSON;
/// with `restart_at`, every half is snapshotted and restored before that event.
fn live_split(estate: &Estate, feed: &[&Event], restart_at: Option<usize>) -> Output {
    let config = live_config();
    let mut engines: Vec<SiteEngine> =
        estate.sites.iter().map(|site| SiteEngine::new(Text::from(site.site.as_str()), &config)).collect();
    let mut linker = EstateLinker::new(&config, directory(estate), None);
    let mut out = Documents::default();
    let mut finished = BTreeMap::new();
    let mut keep = |calls: Vec<FinishedCall>| {
        for call in calls {
            finished.insert((call.site.clone(), call.handle.0), call);
        }
    };
    let read_back = |news: &SiteNews| -> SiteNews {
        serde_json::from_str(&serde_json::to_string(news).unwrap()).unwrap()
    };
    let mut wall = 0;
    for (index, event) in feed.iter().enumerate() {
        if restart_at == Some(index) {
            linker = EstateLinker::restore(&linker.snapshot().unwrap(), &config).unwrap();
            for engine in &mut engines {
                *engine = SiteEngine::restore(&engine.snapshot().unwrap(), &config).unwrap();
            }
        }
        wall = arrival(wall, event);
        let site = estate.site_index(&event.site).expect("the event's site");
        let step = engines[site].push_at(event, Some(wall));
        keep(step.finished);
        linker.take(&event.site, read_back(&step.news), &mut out);
        if index % FLUSH_EVERY == FLUSH_EVERY - 1 {
            linker.flush(&mut out);
        }
    }
    for step in 1..=60 {
        for (site, time) in linker.quiet_sites(wall + step * 60 * SECOND) {
            let engine = engines.iter_mut().find(|engine| *engine.site() == site).expect("a site's engine");
            let moved = engine.advance_to(time);
            keep(moved.finished);
            let calls = serde_json::from_str(&serde_json::to_string(&moved.calls).unwrap()).unwrap();
            linker.moved(&site, calls, moved.clock, &mut out);
        }
        linker.ticked(&mut out);
        linker.flush(&mut out);
    }
    let calls = out
        .ended
        .iter()
        .map(|(site, site_number, number)| {
            let mut call = finished.get(&(site.clone(), *site_number)).expect("the site's call").clone();
            renumber(&mut call, *number);
            call_line(&call)
        })
        .collect();
    Output { interactions: out.interactions, calls }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Live, every revision handed out, in order, and every finished call: the same split, and
/// the same when both halves are snapshotted and restored on the way.
    #[test]
    fn live_split_equals_live_one_piece(
        sites in 2usize..=5,
        seed in 0u64..1_000_000,
        skew_ms in prop::sample::select(vec![0i64, 450, 90_000]),
        noise in any::<bool>(),
        year_ahead in any::<bool>(),
        batch in prop::sample::select(vec![1usize, 16, 1_000_000]),
        restart_percent in 1usize..100,
        without_uuids in any::<bool>(),
    ) {
        let config = SimConfig {
            sites,
            interactions: Some(60),
            seed,
            noise,
            skew_max_micros: skew_ms * 1_000,
            long_calls_per_mille: 100,
            ..SimConfig::default()
        };
        let (_dir, mut estate) = simulated(&config);
        if without_uuids {
            drop_call_uuids(&mut estate);
        }
        if year_ahead {
            // Two events of the first site in a row dated a year ahead: the second would
            // confirm the first, but both are beyond the wall clock's tolerance: not believed.
            let middle = estate.sites[0].events.len() / 2;
            for at in [middle, middle + 1] {
                estate = estate.with_clock_error(0, at, YEAR).expect("an event with a time");
            }
        }
        let what = format!("live {config:?}, two events a year ahead: {year_ahead}, batches of {batch}, without CallUUIDs: {without_uuids}");
        // Each site's events in its own order, in batches of the sites taken at random.
        let feed = estate.interleaved(seed, batch);
        let want = live_one_piece(&estate, &feed);
        assert_outputs(&live_split(&estate, &feed, None), &want, &what);
        let restart = feed.len() * restart_percent / 100;
        assert_outputs(&live_split(&estate, &feed, Some(restart)), &want, &format!("{what}, restarted at {restart}"));
    }
}

/// A site's engine restored from its snapshot tells the same news as the one that went on,
/// merge keys included, and finishes the same calls.
#[test]
fn a_restored_site_engine_tells_the_same_news() {
    let config =
        SimConfig { sites: 3, interactions: Some(80), seed: 31, noise: true, ..SimConfig::default() };
    let (_dir, estate) = simulated(&config);
    let pipeline = live_config();
    for site in &estate.sites {
        let name = Text::from(site.site.as_str());
        let mut going_on = SiteEngine::new(name.clone(), &pipeline);
        let mut restored = SiteEngine::new(name, &pipeline);
        let middle = site.events.len() / 2;
        for (index, event) in site.events.iter().enumerate() {
            if index == middle {
                restored = SiteEngine::restore(&restored.snapshot().unwrap(), &pipeline).unwrap();
            }
            let (want, got) = (going_on.push(event), restored.push(event));
            assert_eq!(got.news, want.news, "{} event {index}", site.site);
            let lines = |calls: &[FinishedCall]| calls.iter().map(call_line).collect::<Vec<_>>();
            assert_eq!(lines(&got.finished), lines(&want.finished));
        }
        let (want, got) = (going_on.finish(), restored.finish());
        assert_eq!(got.0, want.0, "{}: the last news", site.site);
    }
}
