//! Shared by the ladder tests: run the real pipeline (engine, linker, recorder) over fixture
//! logs the way `callstitch trace --json` does, keep the events of each interaction's calls,
//! compare an SVG with its stored snapshot, and check that an SVG is well-formed XML.
#![allow(dead_code)]

mod minimal;

pub use minimal::{complete, document};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use callstitch_link::{Interaction, LinkerConfig, SiteDirectory, Stitcher};
use callstitch_pipeline::TraceDocument;
use callstitch_recording::{read_feed, Recorder, RecorderConfig, Recording, Signals};
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::{Event, Text};
use serde_json::Value;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One log to read: the site it belongs to and its path from the repository's root.
pub struct Log {
    pub site: String,
    pub path: String,
}

/// The `*.log` files of a fixture directory (from the repository's root), each named for its
/// file stem, in name order.
pub fn logs_in(dir: &str) -> Vec<Log> {
    let mut logs: Vec<Log> = std::fs::read_dir(repo().join(dir))
        .expect("fixture directory lists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .map(|path| {
            let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or("unknown").to_string();
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("").to_string();
            Log { site: stem, path: format!("{dir}/{name}") }
        })
        .collect();
    logs.sort_by(|a, b| a.path.cmp(&b.path));
    logs
}

/// Every event of the logs, by time (the file names in events are repository paths, so
/// tooltips do not depend on where the repository is checked out).
pub fn read_events(logs: &[Log]) -> Vec<Event> {
    let mut events = Vec::new();
    for log in logs {
        let options = ReaderOptions {
            site: Some(Text::from(log.site.as_str())),
            file: Some(Arc::from(log.path.as_str())),
            ..ReaderOptions::default()
        };
        let mut reader = LogReader::open(&repo().join(&log.path), options).expect("fixture log opens");
        while let Some(event) = reader.next_event().expect("fixture log reads") {
            events.push(event);
        }
    }
    events.sort_by_key(|event| event.time().map(|time| time.0));
    events
}

/// Every event of in-memory logs (site, file name, bytes), by time.
pub fn read_memory(logs: &[(String, String, Vec<u8>)]) -> Vec<Event> {
    let mut events = Vec::new();
    for (site, name, bytes) in logs {
        let options = ReaderOptions {
            site: Some(Text::from(site.as_str())),
            file: Some(Arc::from(name.as_str())),
            ..ReaderOptions::default()
        };
        let mut reader = LogReader::new(bytes.as_slice(), options);
        while let Some(event) = reader.next_event().expect("simulated log reads") {
            events.push(event);
        }
    }
    events.sort_by_key(|event| event.time().map(|time| time.0));
    events
}

/// One interaction of the simulator (docs/simulator.md): `scenario` played once over
/// `sites` sites with `seed`, its logs read from memory with its media feed, through the
/// real pipeline.
pub fn simulated(scenario: callstitch_sim::scenario::Scenario, sites: usize, seed: u64) -> Traced {
    use callstitch_sim::{simulate, MemoryStorage, SimConfig};
    let config = SimConfig {
        sites,
        interactions: Some(1),
        seed,
        mix: Some(vec![(scenario, 1)]),
        long_calls_per_mille: 0,
        ..SimConfig::default()
    };
    let mut storage = MemoryStorage::new();
    simulate(&config, &mut storage).expect("the simulator runs in memory");
    let files = storage.files();
    let logs: Vec<(String, String, Vec<u8>)> = files
        .iter()
        .filter(|(name, _)| name.ends_with(".log"))
        .map(|(name, bytes)| {
            // `{application}-{segment:04}.{stamp}.log`: the site is the application.
            let base = name.rsplit('/').next().unwrap_or(name);
            let site = base.rsplit_once('-').map_or(base, |(site, _)| site).to_string();
            (site.clone(), format!("sim/{site}.log"), bytes.clone())
        })
        .collect();
    assert!(!logs.is_empty(), "the simulator wrote logs: {:?}", files.keys().collect::<Vec<_>>());
    let events = read_memory(&logs);
    let sites: Vec<String> = logs.iter().map(|(site, ..)| site.clone()).collect();
    let feed =
        files.get(callstitch_sim::run::MEDIA_FILE).map(|bytes| read_feed(bytes.as_slice()).expect("feed"));
    let mut all = run_pipeline(events, &sites, feed);
    assert_eq!(all.len(), 1, "one interaction of {scenario:?}");
    all.remove(0)
}

/// One interaction as `trace --json` prints it, and the events of its calls.
pub struct Traced {
    pub trace: Value,
    pub interaction: Interaction,
    pub events: Vec<Event>,
}

/// The trace JSON object of an interaction with its recording (what `trace --json` prints).
pub fn trace_json(interaction: &Interaction, recording: &Recording) -> Value {
    TraceDocument::new(interaction.clone(), recording.clone()).to_value().expect("the document serializes")
}

/// Runs the engine, the linker and the recorder over the logs (with the media feed, if
/// any) and gives every interaction (its last revision), in id order.
pub fn pipeline(logs: &[Log], feed: Option<&str>) -> Vec<Traced> {
    let events = read_events(logs);
    let sites: Vec<String> = logs.iter().map(|log| log.site.clone()).collect();
    let feed = feed.map(|path| {
        let text = std::fs::read(repo().join(path)).expect("feed reads");
        read_feed(text.as_slice()).expect("feed in memory")
    });
    run_pipeline(events, &sites, feed)
}

/// The pipeline over events already read.
pub fn run_pipeline(
    events: Vec<Event>,
    sites: &[String],
    feed: Option<callstitch_recording::MediaFeed>,
) -> Vec<Traced> {
    let sites: Vec<&str> = sites.iter().map(String::as_str).collect();
    let mut stitcher = Stitcher::new(Default::default(), LinkerConfig::default(), SiteDirectory::new(sites));
    let mut signals = Signals::new(None);
    let mut found = Vec::new();
    for event in &events {
        signals.observe(event);
        stitcher.push(event, &mut |_| {}, &mut |interaction| found.push(interaction));
    }
    stitcher.finish(&mut |_| {}, &mut |interaction| found.push(interaction));
    let mut latest: BTreeMap<String, Interaction> = BTreeMap::new();
    for interaction in found {
        for old in &interaction.replaces {
            latest.remove(old);
        }
        latest.insert(interaction.interaction_id.clone(), interaction);
    }
    let mut recorder = Recorder::new(RecorderConfig::default(), feed);
    latest
        .into_values()
        .map(|interaction| {
            let recording = recorder.recording(&interaction, &signals);
            let calls: Vec<(String, String)> = interaction
                .segments
                .iter()
                .flat_map(|segment| {
                    let site = segment.site.to_string();
                    let mut keys = vec![(site.clone(), segment.key.clone())];
                    keys.extend(segment.conn_ids.iter().map(|conn| (site.clone(), conn.clone())));
                    keys
                })
                .collect();
            let own: Vec<Event> = events
                .iter()
                .filter(|event| {
                    let site = event.site.to_string();
                    let uuid = event.call_uuid.as_ref().map(|uuid| (site.clone(), uuid.to_string()));
                    let conn = event.conn_id.map(|conn| (site.clone(), conn.to_string()));
                    uuid.is_some_and(|key| calls.contains(&key))
                        || conn.is_some_and(|key| calls.contains(&key))
                })
                .cloned()
                .collect();
            Traced { trace: trace_json(&interaction, &recording), interaction, events: own }
        })
        .collect()
}

/// The single interaction of a fixture.
pub fn only(logs: &[Log], feed: Option<&str>) -> Traced {
    let mut all = pipeline(logs, feed);
    assert_eq!(all.len(), 1, "one interaction in {:?}", logs.iter().map(|log| &log.path).collect::<Vec<_>>());
    all.remove(0)
}

/// Compares `svg` with `tests/snapshots/<name>.svg`; UPDATE_SNAPSHOTS=1 rewrites it.
pub fn assert_snapshot(name: &str, svg: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(format!("{name}.svg"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|value| value == "1") {
        std::fs::write(&path, svg).expect("snapshot written");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {}: run with UPDATE_SNAPSHOTS=1 to write it, then review it", path.display())
    });
    if expected != svg {
        let line = expected.lines().zip(svg.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{name}: the SVG differs from {} from line {} on:\n  expected: {}\n  actual:   {}\n\
             If the change is intended, rerun with UPDATE_SNAPSHOTS=1 and review the diff.",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            svg.lines().nth(line).unwrap_or("<end>")
        );
    }
}

/// A small well-formedness check: tags balance, attribute values are quoted and hold no
/// `<`, every `&` starts an entity, text holds no `<` or `>`.
pub fn assert_well_formed(svg: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let close = rest[open..].find('>').map(|at| open + at).expect("every tag closes");
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "a '<' inside tag <{tag}>");
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "closing </{name}> matches its opening");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or_default().to_string();
            stack.push(name);
        }
        for value in tag.split('"').skip(1).step_by(2) {
            check_text(value);
        }
        rest = &rest[close + 1..];
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

fn check_text(text: &str) {
    assert!(!text.contains('>'), "a raw '>' in text {text:?}");
    for (at, _) in text.match_indices('&') {
        let entity = &text[at..];
        let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|name| entity.starts_with(name));
        assert!(known, "a raw '&' in text {text:?}");
    }
}

/// The DNs of the lane headers of an SVG (lanes and quiet parties), as written (escaped):
/// each header's tooltip reads "DN at SITE: ...".
pub fn lane_titles(svg: &str) -> Vec<String> {
    svg.split("<g class=\"lane-head")
        .skip(1)
        .filter_map(|part| {
            let start = part.find("<title>")? + "<title>".len();
            let end = part[start..].find(" at ")? + start;
            Some(part[start..end].to_string())
        })
        .collect()
}
