//! The log files of `callstitch worker --logs [NAME=]PATH...`: the arguments resolved as every
//! command resolves them (sites named, rotated segments ordered), and each site's files read
//! one at a time from a place in them, for a worker's backfill (crates/worker, `logs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use callstitch_worker::logs::{LogError, LogEvent, LogPlace, LogSites};

use super::{read_events, Format, ReadOptions, Source, UsageError};

/// Every site's log files, in the order they are read.
pub struct SiteFiles {
    sites: BTreeMap<String, Vec<Source>>,
    options: ReadOptions,
}

impl SiteFiles {
    /// The sites of resolved `sources`: T-Server log files with a site each (named by
    /// `NAME=`, their header or their stem). Standard input and JSON lines are refused: a
    /// worker reads a site's files again from a place in them, and a JSON-lines file may hold
    /// several sites (publish those with `collect`).
    pub fn new(sources: Vec<Source>, options: ReadOptions) -> Result<SiteFiles> {
        let mut sites: BTreeMap<String, Vec<Source>> = BTreeMap::new();
        for source in sources {
            let refused = match (&source.path, &source.site, source.format) {
                (None, _, _) => Some("standard input cannot be read again from a place in it"),
                (_, _, Format::JsonLines) => {
                    Some("a JSON-lines file may hold several sites: publish it with `callstitch collect`")
                }
                (_, None, _) => Some("its site is not known: give it as NAME=PATH"),
                _ => None,
            };
            if let Some(reason) = refused {
                return Err(UsageError(format!("--logs {}: {reason}", source.display())).into());
            }
            let site = source.site.clone().unwrap_or_default();
            sites.entry(site).or_default().push(source);
        }
        Ok(SiteFiles { sites, options })
    }
}

impl LogSites for SiteFiles {
    fn sites(&self) -> Vec<String> {
        self.sites.keys().cloned().collect()
    }

    fn files(&self, site: &str) -> usize {
        self.sites.get(site).map_or(0, Vec::len)
    }

    fn read(
        &self,
        site: &str,
        from: Option<&LogPlace>,
        take: &mut dyn FnMut(LogEvent) -> bool,
    ) -> Result<(), LogError> {
        let files = self.sites.get(site).ok_or_else(|| LogError::NoSuchSite { site: site.to_string() })?;
        let (first, mut skip) = match from {
            None => (0, 0),
            Some(place) => {
                let index = files
                    .iter()
                    .position(|file| file.display() == place.file)
                    .ok_or_else(|| LogError::FileGone { site: site.to_string(), file: place.file.clone() })?;
                (index, place.events)
            }
        };
        for (file_index, source) in files.iter().enumerate().skip(first) {
            let file: Arc<str> = Arc::from(source.display());
            let mut in_file = 0;
            let mut stopped = false;
            let summary = read_events(std::slice::from_ref(source), &self.options, |event| {
                in_file += 1;
                if in_file <= skip {
                    return Ok(());
                }
                let read = LogEvent { file: Arc::clone(&file), file_index, in_file, event: Box::new(event) };
                if !take(read) {
                    stopped = true;
                    anyhow::bail!("stopped");
                }
                Ok(())
            });
            if stopped {
                return Ok(());
            }
            let summary = summary.map_err(|error| read_error(site, &error))?;
            if let Some(error) = summary.io_errors.first() {
                return Err(LogError::Read { site: site.to_string(), detail: error.clone() });
            }
            if in_file < skip {
                let file = file.to_string();
                return Err(LogError::FileShrank {
                    site: site.to_string(),
                    file,
                    holds: in_file,
                    taken: skip,
                });
            }
            skip = 0;
        }
        Ok(())
    }
}

fn read_error(site: &str, error: &anyhow::Error) -> LogError {
    LogError::Read { site: site.to_string(), detail: format!("{error:#}") }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;
    use crate::input::resolve;

    /// A simulated estate with noise whose logs rotate every 64 KB: several files a site.
    fn estate(dir: &std::path::Path) -> SiteFiles {
        let config = callstitch_sim::SimConfig {
            interactions: Some(120),
            noise: true,
            segment_bytes: 64 << 10,
            seed: 17,
            ..Default::default()
        };
        callstitch_sim::simulate(&config, &mut callstitch_sim::DirStorage::new(dir).unwrap()).unwrap();
        let options =
            ReadOptions { max_problems_shown: 0, quiet: true, progress: false, reader: Default::default() };
        SiteFiles::new(resolve(&[dir.display().to_string()]).unwrap(), options).unwrap()
    }

    /// Every event read from `from` on: its file, the file's place, its number in the file,
    /// its line.
    fn read_from(
        files: &SiteFiles,
        site: &str,
        from: Option<&LogPlace>,
    ) -> Vec<(String, usize, u64, Option<u64>)> {
        let mut read = Vec::new();
        files
            .read(site, from, &mut |event| {
                read.push((event.file.to_string(), event.file_index, event.in_file, event.event.line));
                true
            })
            .unwrap();
        read
    }

    /// A site taken over at the place of any event goes on with exactly the events after it,
    /// through the files' boundaries: none again, none missed.
    #[test]
    fn a_site_read_from_any_place_goes_on_with_exactly_the_events_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let files = estate(dir.path());
        let sites = files.sites();
        assert!(sites.len() >= 2, "{sites:?}");
        for site in &sites {
            let whole = read_from(&files, site, None);
            let named: std::collections::BTreeSet<&String> = whole.iter().map(|(file, ..)| file).collect();
            assert!(named.len() >= 3, "site {site}: rotated into several files: {named:?}");
            assert_eq!(files.files(site), named.len(), "site {site}: its files counted");
            let places: std::collections::BTreeSet<usize> =
                whole.iter().map(|(_, index, ..)| *index).collect();
            assert_eq!(places, (0..named.len()).collect(), "site {site}: each file's place");
            let mut expected = 0;
            read_events(&files.sites[site], &files.options, |_| {
                expected += 1;
                Ok(())
            })
            .unwrap();
            assert_eq!(whole.len(), expected, "site {site}: every event of its files, once");
            let last_of_a_file = whole.windows(2).position(|pair| pair[0].0 != pair[1].0).unwrap();
            for cut in [0, 1, last_of_a_file, last_of_a_file + 1, whole.len() / 2, whole.len() - 1] {
                let (file, _, events, _) = &whole[cut];
                let place = LogPlace { file: file.clone(), events: *events };
                assert_eq!(
                    read_from(&files, site, Some(&place)),
                    whole[cut + 1..],
                    "site {site}, after event {cut}"
                );
            }
        }
    }

    #[test]
    fn a_place_in_a_file_that_is_gone_or_shorter_is_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let files = estate(dir.path());
        let site = files.sites().remove(0);
        let whole = read_from(&files, &site, None);
        let gone = LogPlace { file: dir.path().join("gone.log").display().to_string(), events: 3 };
        let error = files.read(&site, Some(&gone), &mut |_| true).unwrap_err();
        assert!(matches!(error, LogError::FileGone { .. }), "{error}");
        assert!(error.to_string().contains("gone.log"), "{error}");
        let shorter = LogPlace { file: whole[0].0.clone(), events: 1_000_000 };
        let error = files.read(&site, Some(&shorter), &mut |_| true).unwrap_err();
        assert!(matches!(error, LogError::FileShrank { taken: 1_000_000, .. }), "{error}");
        let error = files.read("nowhere", None, &mut |_| true).unwrap_err();
        assert!(matches!(error, LogError::NoSuchSite { .. }), "{error}");
    }

    #[test]
    fn reading_stops_when_the_worker_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let files = estate(dir.path());
        let site = files.sites().remove(0);
        let mut taken = 0;
        files
            .read(&site, None, &mut |_| {
                taken += 1;
                taken < 5
            })
            .unwrap();
        assert_eq!(taken, 5);
    }

    #[test]
    fn standard_input_and_json_lines_are_refused_for_a_backfill() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("events.jsonl");
        std::fs::write(&json, "{\"message\":\"EventRinging\",\"site\":\"A\"}\n").unwrap();
        let options =
            ReadOptions { max_problems_shown: 0, quiet: true, progress: false, reader: Default::default() };
        for argument in [json.display().to_string(), "-".to_string()] {
            let error = SiteFiles::new(resolve(std::slice::from_ref(&argument)).unwrap(), options.clone())
                .err()
                .unwrap();
            assert!(error.downcast_ref::<UsageError>().is_some(), "{argument}: {error}");
        }
    }
}
