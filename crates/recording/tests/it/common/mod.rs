//! Shared by the recording tests: cut one interaction of a simulated center into a fixture
//! (its events as one T-Server log per site, its media feed and its truth), and run the
//! engine, linker and recorder over a fixture's logs the way `callstitch trace` does.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use callstitch_link::{Interaction, LinkerConfig, SiteDirectory, Stitcher};
use callstitch_recording::{read_feed, MediaFeed, Recorder, RecorderConfig, Recording, Signals};
use callstitch_tlib::tlog::{LogReader, LogWriter, ReaderOptions};
use callstitch_tlib::{Event, Text};

pub fn fixture_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(case)
}

/// The events of a fixture's logs (`<SITE>.log`), by time.
pub fn events(case: &str) -> (Vec<Event>, Vec<String>) {
    let dir = fixture_dir(case);
    let mut events = Vec::new();
    let mut sites = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|read| read.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect())
        .unwrap_or_default();
    entries.sort();
    for path in entries.into_iter().filter(|path| path.extension().is_some_and(|ext| ext == "log")) {
        let site = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or("unknown").to_string();
        let options = ReaderOptions { site: Some(Text::from(site.as_str())), ..ReaderOptions::default() };
        let mut reader = LogReader::open(&path, options).expect("fixture log opens");
        while let Some(event) = reader.next_event().expect("fixture log reads") {
            events.push(event);
        }
        sites.push(site);
    }
    events.sort_by_key(|event| event.time().map(|time| time.0));
    (events, sites)
}

pub fn feed(case: &str, name: &str) -> MediaFeed {
    let text = fs::read(fixture_dir(case).join(name)).expect("fixture feed reads");
    read_feed(text.as_slice()).expect("in memory")
}

/// The interactions of `events` (every revision handed out) read as input of `sites`, and
/// the recording signals seen on the way.
pub fn stitch(events: &[Event], sites: &[String]) -> (Vec<Interaction>, Signals) {
    let mut stitcher = Stitcher::new(
        Default::default(),
        LinkerConfig::default(),
        SiteDirectory::new(sites.iter().map(String::as_str)),
    );
    let mut signals = Signals::new(None);
    let mut interactions = Vec::new();
    for event in events {
        signals.observe(event);
        stitcher.push(event, &mut |_| {}, &mut |interaction| interactions.push(interaction));
    }
    stitcher.finish(&mut |_| {}, &mut |interaction| interactions.push(interaction));
    (interactions, signals)
}

/// Every interaction of a fixture (the last revision of each) with its recording.
pub fn recordings(case: &str, feed: Option<MediaFeed>) -> (Vec<(Interaction, Recording)>, Recorder) {
    let (events, sites) = events(case);
    let (interactions, signals) = stitch(&events, &sites);
    let mut latest: BTreeMap<String, Interaction> = BTreeMap::new();
    for interaction in interactions {
        for old in &interaction.replaces {
            latest.remove(old);
        }
        latest.insert(interaction.interaction_id.clone(), interaction);
    }
    let mut recorder = Recorder::new(RecorderConfig::default(), feed);
    let result = latest
        .into_values()
        .map(|interaction| {
            let recording = recorder.recording(&interaction, &signals);
            (interaction, recording)
        })
        .collect();
    (result, recorder)
}

/// Writes `events` as one log per site into `dir`.
pub fn write_logs(dir: &Path, events: &[Event]) {
    let mut by_site: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for event in events {
        by_site.entry(event.site.to_string()).or_default().push(event);
    }
    for (site, events) in by_site {
        let file = fs::File::create(dir.join(format!("{site}.log"))).expect("fixture log created");
        let mut writer = LogWriter::new(std::io::BufWriter::new(file));
        for event in events {
            writer.write_event(event).expect("fixture log written");
        }
    }
}
