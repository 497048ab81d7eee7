//! Helpers shared by the simulator's tests: generate a set in memory and read it back.

#![allow(dead_code)]

use std::collections::BTreeMap;

use callstitch_sim::{simulate, Interaction, MemoryStorage, RunSummary, SimConfig};
use callstitch_tlib::tlog::{LogReader, ParseStats, ReaderOptions};
use callstitch_tlib::Event;

/// A generated set: the files by name and the run summary.
pub struct Set {
    pub files: BTreeMap<String, Vec<u8>>,
    pub summary: RunSummary,
}

pub fn generate(config: &SimConfig) -> Set {
    let mut storage = MemoryStorage::new();
    let summary = simulate(config, &mut storage).expect("an in-memory run succeeds");
    Set { files: storage.files(), summary }
}

impl Set {
    /// The log files of each site, in rotation order, grouped by site (file name prefix).
    pub fn logs(&self) -> Vec<(&str, &[u8])> {
        self.summary
            .files
            .iter()
            .filter_map(|name| self.files.get(name).map(|bytes| (name.as_str(), bytes.as_slice())))
            .collect()
    }

    /// Every event of every log, read back with the log reader, and the merged counters.
    pub fn read_back(&self) -> (Vec<Event>, ParseStats) {
        let mut events = Vec::new();
        let mut stats = ParseStats::default();
        for (name, bytes) in self.logs() {
            let options = ReaderOptions { file: Some(name.into()), ..ReaderOptions::default() };
            let mut reader = LogReader::new(bytes, options);
            while let Some(event) = reader.next_event().expect("memory reads") {
                events.push(event);
            }
            let problems = reader.take_problems();
            if !problems.is_empty() && std::env::var("SHOW_PROBLEMS").is_ok() {
                for problem in problems.iter().take(5) {
                    eprintln!("{problem}");
                }
            }
            stats.merge(reader.stats());
        }
        (events, stats)
    }

    pub fn truth(&self) -> Vec<Interaction> {
        let text =
            String::from_utf8_lossy(self.files.get("truth.jsonl").map(Vec::as_slice).unwrap_or_default())
                .into_owned();
        callstitch_sim::read_interactions(&text).expect("the truth reads back")
    }
}

/// Every interaction of `set` as the engine and the linker find them, its events read back
/// from the logs and taken in time order (as `trace` merges its inputs).
pub fn stitch(set: &Set) -> Vec<callstitch_link::Interaction> {
    let (mut events, _) = set.read_back();
    events.sort_by_key(|event| event.time().map_or(i64::MIN, |time| time.0));
    let sites: Vec<String> =
        set.summary.files.iter().filter_map(|name| name.split('-').next()).map(str::to_string).collect();
    let mut stitcher = callstitch_link::Stitcher::new(
        callstitch_engine::EngineConfig::default(),
        callstitch_link::LinkerConfig::default(),
        callstitch_link::SiteDirectory::new(sites.iter().map(String::as_str)),
    );
    let mut found = Vec::new();
    for event in &events {
        stitcher.push(event, &mut |_| {}, &mut |interaction| found.push(interaction));
    }
    stitcher.finish(&mut |_| {}, &mut |interaction| found.push(interaction));
    found
}
