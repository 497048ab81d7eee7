//! The estate's clocks: how far each site's events have come, and how far the whole estate's
//! have, as the linker may use them to decide that nothing more will come.
//!
//! Each site's time is its own believed event time (the engine's per-site clock, which one
//! wrong time stamp cannot move), raised by what the reader can promise (`floor`: reading
//! files merged by time, no event of a site comes before the head of its file) and set to
//! the end of time once its input ended.
//!
//! The estate's time, which settles interactions, is the *minimum* over the sites that take
//! part, never the newest event of any site:
//!
//! - reading input (batch): every monitored site named up front takes part, and every site
//!   seen so far; a site named but not seen yet holds the estate back until it appears;
//! - live (the service passes wall-clock time with each arrival): the sites that sent
//!   anything within [`LiveClock::idle_after`] of wall time take part; a site idle longer is
//!   left out, so one quiet or dead site does not stop the estate. When every site is idle,
//!   the estate moves on with wall time from the newest event.
//!
//! A wait for a particular site (the other end of a link, the origin of an ISCC transfer)
//! runs on that site's own time when it takes part, and on the estate's time otherwise; in
//! batch, a wait for a site never seen lasts until the input ends.

use std::collections::HashMap;

use callstitch_tlib::Text;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One site's time as the linker sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteTime {
    /// The engine's believed clock for the site (µs), `None` before its first event.
    pub now: Option<i64>,
    /// The reader's promise: no event of the site comes before this (µs).
    pub floor: Option<i64>,
    /// The site's input ended (batch): its time is the end of time.
    pub ended: bool,
    /// Wall time of the site's last arrival (µs), live only.
    pub arrived: Option<i64>,
    /// The believed clock right after the site's last arrival (µs), live only: while the
    /// site is quiet its time is this plus the wall time since, not its clock as the last
    /// tick moved it plus the whole quiet again (which made a quiet site's time race ahead:
    /// an hour of ticks a minute apart moved it on two days). `None` in snapshots taken
    /// before it existed: the next tick takes the clock then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_arrival: Option<i64>,
}

impl SiteTime {
    /// The site's time: `i64::MIN` when nothing is known.
    pub fn time(&self) -> i64 {
        if self.ended {
            return i64::MAX;
        }
        self.now.unwrap_or(i64::MIN).max(self.floor.unwrap_or(i64::MIN))
    }

    pub(crate) fn seen(&self) -> bool {
        self.now.is_some() || self.floor.is_some() || self.ended
    }
}

/// Live settings: how long a quiet site still holds the estate's time back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveClock {
    /// A site that sent nothing for this long (wall µs) is idle and leaves the estate's
    /// minimum.
    pub idle_after: i64,
}

/// Every site's time, and the estate's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstateClocks {
    /// In order of first appearance, found by name through a map.
    sites: SiteTimes,
    /// The newest wall time told (live), µs.
    wall: Option<i64>,
}

impl EstateClocks {
    /// Clocks that expect these sites (batch: a site named up front holds the estate's time
    /// back until its events appear).
    pub fn expecting<'a>(sites: impl IntoIterator<Item = &'a str>) -> EstateClocks {
        let mut clocks = EstateClocks::default();
        for site in sites {
            clocks.entry(site);
        }
        clocks
    }

    fn entry(&mut self, site: &str) -> &mut SiteTime {
        self.sites.entry(site)
    }

    /// The site's believed clock is now `time` (µs). True when the site was not known.
    pub fn observe(&mut self, site: &str, time: Option<i64>) -> bool {
        let entry = self.entry(site);
        let new = !entry.seen();
        if let Some(time) = time {
            entry.now = Some(entry.now.map_or(time, |now| now.max(time)));
        }
        new
    }

    /// A live arrival from the site at wall time `wall` (µs).
    pub fn arrived(&mut self, site: &str, wall: i64) {
        self.entry(site).arrived = Some(wall);
        self.wall = Some(self.wall.map_or(wall, |known| known.max(wall)));
    }

    /// The site's believed clock right after an arrival (live): what its quiet is counted
    /// from.
    pub fn arrival_clock(&mut self, site: &str, clock: Option<i64>) {
        let entry = self.entry(site);
        entry.at_arrival = clock.or(entry.now);
    }

    /// Wall time moved on with no arrival (live tick).
    pub fn tick(&mut self, wall: i64) {
        self.wall = Some(self.wall.map_or(wall, |known| known.max(wall)));
        for (_, time) in &mut self.sites.times {
            if time.at_arrival.is_none() && time.arrived.is_some() {
                time.at_arrival = time.now;
            }
        }
    }

    /// Live: the time a quiet site has reached at wall time `wall`: its clock at its last
    /// arrival plus the wall time since. `None` before it arrived, or when no wall time has
    /// passed.
    pub fn quiet_time(time: &SiteTime, wall: i64) -> Option<i64> {
        let (base, arrived) = (time.at_arrival.or(time.now)?, time.arrived?);
        let quiet = wall.saturating_sub(arrived);
        (quiet > 0).then(|| base.saturating_add(quiet))
    }

    /// Live, after a restart at wall time `wall`: the time the service was down counts as
    /// no site's quiet (their logs were not read, not empty), so every arrival moves on by
    /// it; a site quiet for a while before the stop stays quiet for that while.
    pub fn resume(&mut self, wall: i64) {
        let Some(known) = self.wall else { return };
        let down = wall.saturating_sub(known);
        if down <= 0 {
            return;
        }
        for (_, time) in &mut self.sites.times {
            time.arrived = time.arrived.map(|arrived| arrived.saturating_add(down));
        }
        self.wall = Some(wall);
    }

    /// No event of `site` will come before `time` (µs). True when the site was not known.
    pub fn raise_floor(&mut self, site: &str, time: i64) -> bool {
        let entry = self.entry(site);
        let new = !entry.seen();
        entry.floor = Some(entry.floor.map_or(time, |floor| floor.max(time)));
        new
    }

    /// The site's input ended.
    pub fn end(&mut self, site: &str) {
        self.entry(site).ended = true;
    }

    pub fn get(&self, site: &str) -> Option<&SiteTime> {
        self.sites.get(site)
    }

    /// Test only: site entries examined so far to find a site by name.
    #[cfg(test)]
    pub(crate) fn sites_examined(&self) -> u64 {
        self.sites.examined.get()
    }

    pub fn sites(&self) -> impl Iterator<Item = (&Text, &SiteTime)> {
        self.sites.times.iter().map(|(name, time)| (name, time))
    }

    /// Live: `live` is the idle rule; `None` reading input.
    fn takes_part(&self, time: &SiteTime, live: Option<LiveClock>) -> bool {
        match (live, self.wall, time.arrived) {
            (None, _, _) => true,
            (Some(live), Some(wall), Some(arrived)) => wall.saturating_sub(arrived) <= live.idle_after,
            (Some(_), _, _) => false,
        }
    }

    /// The estate's time (µs): see the module documentation.
    pub fn estate(&self, live: Option<LiveClock>) -> i64 {
        let taking_part = self
            .sites
            .times
            .iter()
            .filter(|(_, time)| self.takes_part(time, live))
            .map(|(_, time)| time.time())
            .min();
        if let Some(time) = taking_part {
            return time;
        }
        // Live, every site idle: the newest event time, moved on by the wall time since the
        // newest arrival (from the clocks at arrival: a tick's moves are not counted twice).
        let newest = self.sites.times.iter().filter_map(|(_, time)| time.at_arrival.or(time.now)).max();
        let last_arrival = self.sites.times.iter().filter_map(|(_, time)| time.arrived).max();
        match (newest, last_arrival, self.wall) {
            (Some(newest), Some(arrived), Some(wall)) => newest.saturating_add(wall.saturating_sub(arrived)),
            (Some(newest), _, _) => newest,
            _ => i64::MIN,
        }
    }

    /// The newest believed time of any site (µs), `i64::MIN` before any.
    pub fn newest(&self) -> i64 {
        self.sites.times.iter().filter_map(|(_, time)| time.now).max().unwrap_or(i64::MIN)
    }

    /// The time a wait for `site` runs on: the site's own while it takes part, else the
    /// estate's; reading input, a site never seen gives `i64::MIN` (wait for the end).
    pub fn partner(&self, site: Option<&str>, live: Option<LiveClock>) -> i64 {
        match (site.and_then(|site| self.position(site)), live) {
            (Some(position), _) => self.partner_at(position, live),
            (None, Some(_)) => self.estate(live),
            (None, None) => i64::MIN,
        }
    }

    /// The position of a site seen (its place in the order of first appearance, which never
    /// changes): [`EstateClocks::partner_at`] takes it without finding the site by name.
    pub(crate) fn position(&self, site: &str) -> Option<usize> {
        self.sites.position(site)
    }

    /// [`EstateClocks::partner`] for the site at `position` (from [`EstateClocks::position`]).
    pub(crate) fn partner_at(&self, position: usize, live: Option<LiveClock>) -> i64 {
        let Some((_, time)) = self.sites.times.get(position) else { return self.partner(None, live) };
        match live {
            Some(_) if !self.takes_part(time, live) => self.estate(live),
            _ => time.time(),
        }
    }
}

/// Up to this many sites, a site is found by comparing names rather than through the map.
const FEW_SITES: usize = 8;

/// Every site's time in order of first appearance, with the position of each name beside
/// it, kept in step: anyone who may send events names sites, so finding one must not cost a
/// scan (std's SipHash: the names are chosen by whoever sends). Serialized as the list alone,
/// the map rebuilt on reading.
#[derive(Debug, Clone, Default)]
struct SiteTimes {
    times: Vec<(Text, SiteTime)>,
    positions: HashMap<Text, usize>,
    /// Test only: site entries examined to find a site by name (work, not seconds).
    #[cfg(test)]
    examined: std::cell::Cell<u64>,
}

impl SiteTimes {
    fn from_times(times: Vec<(Text, SiteTime)>) -> SiteTimes {
        let mut site_times = SiteTimes::default();
        for (index, (name, _)) in times.iter().enumerate() {
            // The first of a name wins, as a scan would find it.
            site_times.positions.entry(name.clone()).or_insert(index);
        }
        site_times.times = times;
        site_times
    }

    fn position(&self, site: &str) -> Option<usize> {
        #[cfg(test)]
        self.examined.set(self.examined.get() + 1);
        // Asked several times per event: among a few sites comparing names costs less than
        // hashing one with SipHash.
        if self.times.len() <= FEW_SITES {
            return self.times.iter().position(|(name, _)| name == site);
        }
        self.positions.get(site).copied()
    }

    fn get(&self, site: &str) -> Option<&SiteTime> {
        self.position(site).map(|index| &self.times[index].1)
    }

    fn entry(&mut self, site: &str) -> &mut SiteTime {
        let index = match self.position(site) {
            Some(index) => index,
            None => {
                let name = Text::from(site);
                self.times.push((name.clone(), SiteTime::default()));
                self.positions.insert(name, self.times.len() - 1);
                self.times.len() - 1
            }
        };
        &mut self.times[index].1
    }
}

impl PartialEq for SiteTimes {
    fn eq(&self, other: &SiteTimes) -> bool {
        self.times == other.times
    }
}

impl Eq for SiteTimes {}

impl Serialize for SiteTimes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.times.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SiteTimes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SiteTimes, D::Error> {
        Vec::deserialize(deserializer).map(SiteTimes::from_times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    #[test]
    fn the_snapshot_form_is_the_list_of_sites_and_reading_it_finds_them_by_name() {
        let mut clocks = EstateClocks::default();
        clocks.observe("B", Some(7));
        clocks.arrived("A", 3);
        let json = serde_json::to_string(&clocks).expect("serialize");
        assert_eq!(
            json,
            r#"{"sites":[["B",{"now":7,"floor":null,"ended":false,"arrived":null}],["A",{"now":null,"floor":null,"ended":false,"arrived":3}]],"wall":3}"#
        );
        let read: EstateClocks = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(read, clocks);
        assert_eq!(read.get("B").and_then(|time| time.now), Some(7));
        assert_eq!(read.get("A").and_then(|time| time.arrived), Some(3));
        let names: Vec<&str> = read.sites().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["B", "A"], "the order of first appearance");
    }

    #[test]
    fn a_restart_is_no_sites_quiet() {
        let live = Some(LiveClock { idle_after: 60 * SECOND });
        let mut clocks = EstateClocks::default();
        clocks.observe("A", Some(1_000 * SECOND));
        clocks.arrived("A", 0);
        clocks.observe("B", Some(2_000 * SECOND));
        clocks.arrived("B", 50 * SECOND);
        clocks.tick(55 * SECOND);
        // Down for an hour: both sites still take part, each as quiet as before the stop.
        clocks.resume(3_655 * SECOND);
        assert_eq!(clocks.get("A").and_then(|time| time.arrived), Some(3_600 * SECOND));
        assert_eq!(clocks.get("B").and_then(|time| time.arrived), Some(3_650 * SECOND));
        assert_eq!(clocks.estate(live), 1_000 * SECOND, "A still holds the estate's time");
        clocks.tick(3_661 * SECOND);
        assert_eq!(clocks.estate(live), 2_000 * SECOND, "A idle after its own quiet minute");
        // A wall clock that went back changes nothing.
        let before = clocks.clone();
        clocks.resume(0);
        assert_eq!(clocks, before);
    }

    #[test]
    fn the_estate_is_the_slowest_site_and_a_named_site_not_seen_holds_it() {
        let mut clocks = EstateClocks::expecting(["A", "B"]);
        clocks.observe("A", Some(100 * SECOND));
        assert_eq!(clocks.estate(None), i64::MIN, "B not seen yet");
        clocks.observe("B", Some(40 * SECOND));
        assert_eq!(clocks.estate(None), 40 * SECOND);
        clocks.raise_floor("B", 90 * SECOND);
        assert_eq!(clocks.estate(None), 90 * SECOND);
        clocks.end("B");
        assert_eq!(clocks.estate(None), 100 * SECOND);
    }

    #[test]
    fn live_an_idle_site_leaves_the_minimum_and_waits_for_it_use_the_estate() {
        let live = Some(LiveClock { idle_after: 60 * SECOND });
        let mut clocks = EstateClocks::default();
        clocks.observe("A", Some(1_000 * SECOND));
        clocks.arrived("A", 0);
        clocks.observe("B", Some(500 * SECOND));
        clocks.arrived("B", 0);
        assert_eq!(clocks.estate(live), 500 * SECOND);
        clocks.observe("A", Some(1_100 * SECOND));
        clocks.arrived("A", 100 * SECOND);
        assert_eq!(clocks.estate(live), 1_100 * SECOND, "B idle for 100 s");
        assert_eq!(clocks.partner(Some("B"), live), 1_100 * SECOND);
        assert_eq!(clocks.partner(Some("Never"), live), 1_100 * SECOND);
        assert_eq!(clocks.partner(Some("Never"), None), i64::MIN);
    }

    #[test]
    fn live_every_site_idle_moves_on_with_wall_time() {
        let live = Some(LiveClock { idle_after: 60 * SECOND });
        let mut clocks = EstateClocks::default();
        clocks.observe("A", Some(1_000 * SECOND));
        clocks.arrived("A", 0);
        clocks.tick(300 * SECOND);
        assert_eq!(clocks.estate(live), 1_300 * SECOND);
    }
}
