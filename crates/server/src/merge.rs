//! Merging the followed sites by event time before the pipeline, as `trace` does for files.
//!
//! The linker joins calls of different sites while both are in memory and its clock moves
//! with event time, so it must see the sites roughly in time order. When the service catches
//! up on a backlog (at start, after downtime) one site's file can be read far ahead of
//! another's. [`SiteMerge`] holds each site's events in a queue and releases them in time
//! order, up to the time every site that still has a backlog has been read to; a site that
//! is caught up never holds the others back. Live, every site is caught up after each poll
//! and everything read is released at once, in time order.
//!
//! Events held back are not committed, so the positions committed for their files must stop
//! before them: [`SiteMerge::held`] gives, per file, the offset of its oldest held event.

use std::collections::{BTreeMap, VecDeque};

use callstitch_follow::{FollowedEvent, SiteRead};
use callstitch_tlib::Event;

/// What the merge holds: an event and whatever its source needs to know of where it came
/// from (a followed file's offsets, a stream's sequence).
pub trait Merged {
    fn event(&self) -> &Event;
}

impl Merged for FollowedEvent {
    fn event(&self) -> &Event {
        &self.event
    }
}

#[derive(Debug)]
struct SiteQueue<T> {
    events: VecDeque<T>,
    /// The time of the newest event read from the site (UTC µs).
    frontier: Option<i64>,
    /// The time of the last event released, for events without a time of their own.
    carry: i64,
    /// The site spent its read budget last time it was read: more may be waiting.
    backlog: bool,
}

impl<T> Default for SiteQueue<T> {
    fn default() -> Self {
        SiteQueue { events: VecDeque::new(), frontier: None, carry: 0, backlog: false }
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct SiteMerge<T = FollowedEvent> {
    sites: BTreeMap<String, SiteQueue<T>>,
    /// Most events held per site.
    per_site: usize,
}

impl<T: Merged> SiteMerge<T> {
    pub fn new(per_site: usize) -> SiteMerge<T> {
        SiteMerge { sites: BTreeMap::new(), per_site: per_site.max(1) }
    }

    /// How many events `site` may read now.
    pub fn budget(&self, site: &str) -> usize {
        let held = self.sites.get(site).map_or(0, |queue| queue.events.len());
        self.per_site.saturating_sub(held)
    }

    /// Takes what a poll read, with the poll's per-site report.
    pub fn take(&mut self, read: &mut Vec<T>, reports: &[SiteRead]) {
        for report in reports {
            self.sites.entry(report.site.clone()).or_default().backlog = report.more;
        }
        for event in read.drain(..) {
            let queue = self.sites.entry(event.event().site.to_string()).or_default();
            if let Some(time) = event.event().time() {
                queue.frontier = Some(queue.frontier.map_or(time.0, |frontier| frontier.max(time.0)));
            }
            queue.events.push_back(event);
        }
    }

    /// The time up to which events may go: the least frontier of the sites with a backlog
    /// (`None`: no site has one, everything may go).
    fn watermark(&self) -> Option<i64> {
        self.sites
            .values()
            .filter(|queue| queue.backlog)
            .map(|queue| queue.frontier.unwrap_or(i64::MIN))
            .min()
    }

    /// Moves every event that may go into `out`, in time order (each site's own order kept).
    pub fn release(&mut self, out: &mut Vec<T>) {
        self.release_at_most(out, usize::MAX);
    }

    /// [`Self::release`], at most `most` events: the rest stay held (and their files'
    /// committed positions stop before them) until the next call.
    pub fn release_at_most(&mut self, out: &mut Vec<T>, most: usize) {
        let limit = self.watermark().unwrap_or(i64::MAX);
        for _ in 0..most {
            let next = self
                .sites
                .iter()
                .filter_map(|(site, queue)| {
                    let front = queue.events.front()?;
                    let time = front.event().time().map_or(queue.carry, |time| time.0);
                    (time <= limit).then_some((time, site))
                })
                .min();
            let Some((time, site)) = next else { return };
            let site = site.clone();
            let Some(queue) = self.sites.get_mut(&site) else { return };
            queue.carry = time;
            if let Some(event) = queue.events.pop_front() {
                out.push(event);
            }
        }
    }

    /// Some site is being caught up on: it spent its read budget last time, or events of it
    /// wait here. Wall time passing then is reading, not quiet.
    pub fn catching_up(&self) -> bool {
        self.sites.values().any(|queue| queue.backlog || !queue.events.is_empty())
    }

    /// Events of `site` are held.
    pub fn holds(&self, site: &str) -> bool {
        self.sites.get(site).is_some_and(|queue| !queue.events.is_empty())
    }

    pub fn holding(&self) -> usize {
        self.sites.values().map(|queue| queue.events.len()).sum()
    }
}

impl SiteMerge<FollowedEvent> {
    /// Per file with events held: the offset its committed position must stop at.
    pub fn held(&self) -> BTreeMap<u64, u64> {
        let mut held = BTreeMap::new();
        for queue in self.sites.values() {
            for event in &queue.events {
                held.entry(event.file).or_insert(event.start_offset);
            }
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callstitch_tlib::{Event, Message, Timestamp};

    fn event(site: &str, file: u64, time: i64, offset: u64) -> FollowedEvent {
        let mut event = Event::new(Message::EventRinging, site);
        event.timestamp = Some(Timestamp(time));
        FollowedEvent {
            event,
            file,
            start_offset: offset,
            end_offset: offset + 10,
            fingerprint: callstitch_follow::Fingerprint::default(),
        }
    }

    fn times(events: &[FollowedEvent]) -> Vec<(String, i64)> {
        events.iter().map(|e| (e.event.site.to_string(), e.event.time().map_or(-1, |t| t.0))).collect()
    }

    fn report(site: &str, more: bool) -> SiteRead {
        SiteRead { site: site.to_string(), events: 0, more }
    }

    #[test]
    fn a_site_with_a_backlog_holds_later_events_of_the_others() {
        let mut merge = SiteMerge::new(100);
        let mut read =
            vec![event("A", 1, 10, 0), event("A", 1, 50, 10), event("B", 2, 20, 0), event("B", 2, 30, 10)];
        merge.take(&mut read, &[report("A", false), report("B", true)]);
        let mut out = Vec::new();
        merge.release(&mut out);
        assert_eq!(times(&out), vec![("A".into(), 10), ("B".into(), 20), ("B".into(), 30)]);
        assert_eq!(merge.held(), BTreeMap::from([(1, 10)]), "A's event at 50 is held from offset 10");
        assert!(merge.catching_up(), "B has a backlog, A an event held: no site is quiet");
        let mut read = vec![event("B", 2, 60, 20)];
        merge.take(&mut read, &[report("B", false)]);
        out.clear();
        merge.release(&mut out);
        assert_eq!(times(&out), vec![("A".into(), 50), ("B".into(), 60)]);
        assert!(merge.held().is_empty());
        assert!(!merge.catching_up(), "caught up: wall time is quiet time again");
    }

    #[test]
    fn a_release_of_at_most_n_events_keeps_the_rest_held_in_order() {
        let mut merge = SiteMerge::new(100);
        let mut read = vec![event("A", 1, 10, 0), event("A", 1, 30, 10), event("B", 2, 20, 0)];
        merge.take(&mut read, &[report("A", false), report("B", false)]);
        let mut out = Vec::new();
        merge.release_at_most(&mut out, 2);
        assert_eq!(times(&out), vec![("A".into(), 10), ("B".into(), 20)]);
        assert_eq!(merge.held(), BTreeMap::from([(1, 10)]), "the event not released is still held");
        out.clear();
        merge.release_at_most(&mut out, 2);
        assert_eq!(times(&out), vec![("A".into(), 30)]);
        assert!(merge.held().is_empty());
    }

    #[test]
    fn a_full_queue_stops_reading_that_site() {
        let mut merge = SiteMerge::new(2);
        let mut read = vec![event("A", 1, 10, 0), event("A", 1, 11, 10)];
        merge.take(&mut read, &[report("A", true), report("B", true)]);
        assert_eq!(merge.budget("A"), 0);
        assert_eq!(merge.budget("B"), 2);
    }
}
