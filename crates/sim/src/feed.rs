//! The same events of one simulated estate in the orders they reach callstitch in practice,
//! to check that the interactions found do not depend on arrival order (issue 12).
//!
//! An [`Estate`] is every site's events read back from the logs a run wrote, with the log
//! reader `callstitch parse` uses (so noise, cut blocks and CRLF files read as they would).
//! From it come the feeds:
//!
//! - [`Estate::merged_by_time`]: the sites interleaved by event time, each site's own order
//!   kept (what `callstitch trace` makes of log files; a live collector of in-sync sites);
//! - [`Estate::site_after_site`]: one site's events, then the next site's (`callstitch parse`
//!   of several sites appended, an HTTP collector per site, a backfill of one archive after
//!   another);
//! - [`Estate::one_site_late`]: every other site merged by time, then one site's events
//!   (a log shipper a day behind);
//! - [`Estate::interleaved`]: batches of each site in a random order, each site's own order
//!   kept (HTTP batches of several collectors; random interleavings for property tests);
//! - [`with_clock_error`]: a feed with one event of one site dated wrong (a year or an hour
//!   ahead) where it arrived; [`Estate::with_clock_error`] the same in a site's own events,
//!   for per-site files that a reader merges by time (there the site's later events queue
//!   behind the wrong one).
//!
//! [`write_json_lines`] writes a feed as JSON lines (docs/event-json.md), the form
//! `callstitch trace` reads from a file or standard input and `POST /v1/events` takes.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use callstitch_tlib::json::write_json_line;
use callstitch_tlib::tlog::{LogReader, ParseStats, ReaderOptions};
use callstitch_tlib::{Event, Timestamp};

use crate::rng::Rng;
use crate::SimError;

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// An hour, in microseconds.
pub const HOUR: i64 = 3_600 * 1_000_000;
/// 365 days, in microseconds: the same time of day, a year ahead.
pub const YEAR: i64 = 365 * MICROS_PER_DAY;

/// One site's events, in the order its server wrote them.
#[derive(Debug, Clone)]
pub struct SiteEvents {
    pub site: String,
    pub events: Vec<Event>,
}

/// Every site's events of one estate, sites in name order (the order `callstitch parse`
/// gives a directory's sites in).
#[derive(Debug, Clone, Default)]
pub struct Estate {
    pub sites: Vec<SiteEvents>,
    /// What the log reader counted (noise, cut blocks, problems).
    pub stats: ParseStats,
}

impl Estate {
    /// Reads the `*.log` files of `dir` as `callstitch parse DIR` does: files in name order
    /// (a site's rotated segments in rotation order), each event named by its file's header,
    /// `file` being `dir` joined with the file name.
    pub fn read_dir(dir: &Path) -> Result<Estate, SimError> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(SimError::at(dir))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "log") && path.is_file())
            .collect();
        paths.sort();
        let mut estate = Estate::default();
        for path in paths {
            let file = std::fs::File::open(&path).map_err(SimError::at(&path))?;
            let name = path.display().to_string();
            estate.read_log(std::io::BufReader::new(file), &name).map_err(SimError::at(&path))?;
        }
        Ok(estate)
    }

    fn read_log(&mut self, input: impl io::Read, name: &str) -> io::Result<()> {
        let options = ReaderOptions { file: Some(Arc::from(name)), ..ReaderOptions::default() };
        let mut reader = LogReader::new(input, options);
        while let Some(event) = reader.next_event()? {
            self.push(event);
        }
        reader.take_problems();
        self.stats.merge(reader.stats());
        Ok(())
    }

    /// Adds one event at the end of its site's events.
    pub fn push(&mut self, event: Event) {
        let site = event.site.as_str();
        let index = match self.sites.binary_search_by(|known| known.site.as_str().cmp(site)) {
            Ok(index) => index,
            Err(index) => {
                self.sites.insert(index, SiteEvents { site: site.to_string(), events: Vec::new() });
                index
            }
        };
        self.sites[index].events.push(event);
    }

    /// Every event, site after site.
    pub fn events(&self) -> usize {
        self.sites.iter().map(|site| site.events.len()).sum()
    }

    /// The index of the site named `name`.
    pub fn site_index(&self, name: &str) -> Option<usize> {
        self.sites.iter().position(|site| site.site == name)
    }

    /// The sites interleaved by event time (time stamp, else log time), each site's own order
    /// kept: a site's event without a time, or with one earlier than its predecessor's, keeps
    /// its place behind it. Ties go to the site first in name order.
    pub fn merged_by_time(&self) -> Vec<&Event> {
        merge_by_time(self.sites.iter().map(|site| site.events.as_slice()).collect())
    }

    /// One site's events after the other, sites in name order.
    pub fn site_after_site(&self) -> Vec<&Event> {
        self.sites.iter().flat_map(|site| &site.events).collect()
    }

    /// Every site but `late` merged by time, then `late`'s events: one site's feed arrives
    /// after everything else (a shipper a day behind, an archive loaded later).
    pub fn one_site_late(&self, late: usize) -> Vec<&Event> {
        let others = self
            .sites
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != late)
            .map(|(_, site)| site.events.as_slice())
            .collect();
        let mut feed = merge_by_time(others);
        feed.extend(self.sites.get(late).into_iter().flat_map(|site| &site.events));
        feed
    }

    /// Batches of up to `batch` consecutive events of one site, the batches in a random order
    /// drawn from `seed` that keeps each site's own order (HTTP batches of several
    /// collectors; with `batch` 1, any interleaving of the sites).
    pub fn interleaved(&self, seed: u64, batch: usize) -> Vec<&Event> {
        let batch = batch.max(1);
        let mut rng = Rng::new(seed);
        let mut next: Vec<usize> = vec![0; self.sites.len()];
        let mut feed = Vec::with_capacity(self.events());
        loop {
            let open: Vec<usize> = (0..self.sites.len())
                .filter(|index| next[*index] < self.sites[*index].events.len())
                .collect();
            let Some(&site) = rng.pick(&open) else { break };
            let events = &self.sites[site].events;
            let end = (next[site] + batch).min(events.len());
            feed.extend(&events[next[site]..end]);
            next[site] = end;
        }
        debug_assert_eq!(feed.len(), self.events());
        feed
    }

    /// A copy where event `index` of site `site` is dated `by` microseconds off (its time
    /// stamp, its log time and its local clock): a server clock that jumped, or a feed that
    /// sent one wrong time. `None` when there is no such event.
    pub fn with_clock_error(&self, site: usize, index: usize, by: i64) -> Option<Estate> {
        let mut estate = self.clone();
        redate(estate.sites.get_mut(site)?.events.get_mut(index)?, by);
        Some(estate)
    }
}

/// A copy of `feed` in which the `nth` event (from 0) of site `site` is dated `by`
/// microseconds off, at the place it arrived. `None` when the site has no such event.
pub fn with_clock_error(feed: &[&Event], site: &str, nth: usize, by: i64) -> Option<Vec<Event>> {
    let position = feed.iter().enumerate().filter(|(_, event)| event.site == site).nth(nth)?.0;
    let mut copy: Vec<Event> = feed.iter().map(|event| (*event).clone()).collect();
    redate(&mut copy[position], by);
    Some(copy)
}

/// Moves an event's time stamp, log time and local clock by `by` microseconds.
fn redate(event: &mut Event, by: i64) {
    event.timestamp = event.timestamp.map(|time| Timestamp(time.0 + by));
    event.log_time = event.log_time.map(|time| Timestamp(time.0 + by));
    if let Some(clock) = event.clock.as_mut() {
        clock.micros_of_day = (clock.micros_of_day + by).rem_euclid(MICROS_PER_DAY);
    }
}

/// Merges per-site event lists by time, keeping each list's own order.
fn merge_by_time(sites: Vec<&[Event]>) -> Vec<&Event> {
    let total = sites.iter().map(|events| events.len()).sum();
    let mut feed = Vec::with_capacity(total);
    let mut next = vec![0_usize; sites.len()];
    let mut last = vec![i64::MIN; sites.len()];
    let mut heads: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
    let key = |event: &Event, last: i64| event.time().map_or(last, |time| time.0.max(last));
    for (site, events) in sites.iter().enumerate() {
        if let Some(first) = events.first() {
            last[site] = key(first, i64::MIN);
            heads.push(Reverse((last[site], site)));
        }
    }
    while let Some(Reverse((_, site))) = heads.pop() {
        feed.push(&sites[site][next[site]]);
        next[site] += 1;
        if let Some(event) = sites[site].get(next[site]) {
            last[site] = key(event, last[site]);
            heads.push(Reverse((last[site], site)));
        }
    }
    debug_assert_eq!(feed.len(), total);
    feed
}

/// Writes `events` as JSON lines (docs/event-json.md).
pub fn write_json_lines<'e>(
    out: &mut impl Write,
    events: impl IntoIterator<Item = &'e Event>,
) -> io::Result<()> {
    for event in events {
        write_json_line(out, event)?;
    }
    Ok(())
}

/// The site names of a feed in arrival order, each run of one site once (for messages).
pub fn site_runs<'e>(events: impl IntoIterator<Item = &'e Event>) -> Vec<(String, usize)> {
    let mut runs: Vec<(String, usize)> = Vec::new();
    for event in events {
        match runs.last_mut() {
            Some((site, count)) if site.as_str() == event.site.as_str() => *count += 1,
            _ => runs.push((event.site.to_string(), 1)),
        }
    }
    runs
}

/// Events per site of a feed.
pub fn per_site<'e>(events: impl IntoIterator<Item = &'e Event>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts.entry(event.site.to_string()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use callstitch_tlib::Message;

    fn event(site: &str, time: Option<i64>, seq: u64) -> Event {
        let mut event = Event::new(Message::EventRinging, site);
        event.timestamp = time.map(Timestamp);
        event.seq = Some(seq);
        event
    }

    fn estate() -> Estate {
        let mut estate = Estate::default();
        for (site, time, seq) in [
            ("B", Some(10), 1),
            ("A", Some(20), 1),
            ("B", None, 2),
            ("A", Some(5), 2),
            ("B", Some(30), 3),
            ("A", Some(40), 3),
        ] {
            estate.push(event(site, time, seq));
        }
        estate
    }

    fn order(feed: &[&Event]) -> Vec<(String, u64)> {
        feed.iter().map(|event| (event.site.to_string(), event.seq.unwrap_or(0))).collect()
    }

    fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(site, seq)| (site.to_string(), *seq)).collect()
    }

    #[test]
    fn sites_come_in_name_order_and_keep_their_own_order() {
        let estate = estate();
        assert_eq!(estate.sites.iter().map(|site| site.site.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(
            order(&estate.site_after_site()),
            pairs(&[("A", 1), ("A", 2), ("A", 3), ("B", 1), ("B", 2), ("B", 3)])
        );
    }

    #[test]
    fn the_merge_orders_by_time_without_reordering_a_site() {
        // A's second event is dated before its first: it stays behind it.
        assert_eq!(
            order(&estate().merged_by_time()),
            pairs(&[("B", 1), ("B", 2), ("A", 1), ("A", 2), ("B", 3), ("A", 3)])
        );
    }

    #[test]
    fn a_late_site_comes_after_the_others() {
        assert_eq!(
            order(&estate().one_site_late(0)),
            pairs(&[("B", 1), ("B", 2), ("B", 3), ("A", 1), ("A", 2), ("A", 3)])
        );
    }

    #[test]
    fn interleavings_keep_each_site_order_and_every_event() {
        let estate = estate();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..64 {
            let feed = estate.interleaved(seed, 1);
            assert_eq!(feed.len(), 6);
            for site in ["A", "B"] {
                let seqs: Vec<u64> =
                    feed.iter().filter(|event| event.site == site).filter_map(|event| event.seq).collect();
                assert_eq!(seqs, [1, 2, 3]);
            }
            seen.insert(order(&feed));
        }
        assert!(seen.len() > 5, "the seeds give different interleavings");
        assert_eq!(site_runs(estate.interleaved(3, 3).iter().copied()).len(), 2, "batches of a whole site");
    }

    #[test]
    fn a_clock_error_moves_one_event_and_nothing_else() {
        let estate = estate();
        let wrong = estate.with_clock_error(1, 0, YEAR).unwrap_or_default();
        assert_eq!(wrong.sites[1].events[0].timestamp, Some(Timestamp(10 + YEAR)));
        assert_eq!(wrong.sites[1].events[1..], estate.sites[1].events[1..]);
        assert_eq!(wrong.sites[0].events, estate.sites[0].events);
        assert!(estate.with_clock_error(5, 0, HOUR).is_none());
        // Merged by time, a site's later events queue behind its wrong one.
        let merged = order(&wrong.merged_by_time());
        assert_eq!(merged, pairs(&[("A", 1), ("A", 2), ("A", 3), ("B", 1), ("B", 2), ("B", 3)]));
        // In a feed, the wrong event stays where it arrived.
        let feed = estate.merged_by_time();
        let redated = with_clock_error(&feed, "B", 2, HOUR).unwrap_or_default();
        assert_eq!(order(&redated.iter().collect::<Vec<_>>()), order(&feed));
        assert_eq!(redated[4].timestamp, Some(Timestamp(30 + HOUR)));
        assert_eq!(redated[..4], feed[..4].iter().map(|event| (*event).clone()).collect::<Vec<_>>()[..]);
        assert!(with_clock_error(&feed, "B", 3, HOUR).is_none());
    }
}
