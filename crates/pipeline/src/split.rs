//! The pipeline in two halves that can run apart (issue 14): the engine of each site on one
//! side, the linker of the estate on the other, with the engine's news between them as data.
//!
//! - [`SiteEngine`] runs the call engine for one site and turns each event into one
//!   [`SiteNews`]: what the engine told of calls (owned [`CallNews`]: opened, evidence,
//!   finished as the linker takes it), the site's clock after the event, the event's
//!   recording signals ([`EventSignals`]) and where the event puts its site in the time merge.
//!   It keeps each finished call whole for its caller (a worker stores its calls). Its engine
//!   sees only its site, so it numbers its own calls.
//! - [`EstateLinker`] takes every site's news in the order one process takes the events
//!   ([`link_sites`]: the merge of `callstitch trace`), renumbers the calls into the numbers
//!   one engine for every site would have given, and runs linker, signals and recorder
//!   exactly as [`Pipeline`](crate::Pipeline) does: the same interactions, with the same
//!   recordings, in the same order.
//!
//! **The merge** (crates/cli/src/input/feed.rs): each site's next event is keyed by its time
//! as the site's clock believes it ([`SiteClock`] with the default configuration; an event
//! without a time, or with one the clock does not believe, keeps the key of the one before;
//! `i64::MIN` before the site's first time); the site with the least key goes next, ties to
//! the site given first. Before a site's event becomes its head, the linker learns the site's
//! floor (its key, once it has one); after its last event, that the site ended.
//!
//! Live, each event's news carries the wall time it arrived at, and a tick is two halves:
//! [`EstateLinker::quiet_sites`] names the sites whose time moves on and to when, their
//! engines move ([`SiteEngine::advance_to`]), and [`EstateLinker::moved`] takes what that gave.
//! Both halves have snapshots of their own ([`SiteEngine::snapshot`],
//! [`EstateLinker::snapshot`]); where each site's news stands in the merge is the caller's.
//!
//! **The renumbering**: one engine numbers calls 1, 2, ... as they are created, whatever
//! their site; an engine per site numbers each site's calls from 1 in the same order. Every
//! call is told opened before any other news of it, in the order it was created, so the
//! linker side gives the next number to each call at its `opened` news in merged order: the
//! number one engine gave it. Calls still live at the end of input are finished by one engine
//! in the order of their numbers, whatever their site: the linker side orders the sites' last
//! news by call the same way.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use callstitch_engine::{CallHandle, ClockConfig, Engine, EngineState, FinishedCall, SiteClock};
use callstitch_link::news::Recorder as NewsRecorder;
use callstitch_link::snapshot::{decode, encode};
use callstitch_link::stitcher::FUTURE_TOLERANCE;
use callstitch_link::{CallNews, EstateClocks, Interaction, Linker, LinkerState, SiteDirectory};
use callstitch_recording::{EventSignals, MediaFeed, Recorder, RecorderState, Signals, SignalsState};
use callstitch_tlib::{Event, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{frame, split_part, PartError, PipelineConfig, Sink, SnapshotError, Stage};

/// What one event of a site makes known to the linker side. Written compactly (stored per
/// event): the event's time and the site's clock only when they are not the merge key.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteNews {
    /// Where the event puts its site in the time merge (µs): its time as the site's clock
    /// believes it, else the key before; `i64::MIN` before the site's first time.
    pub key: i64,
    /// The event's own time (recording signals are kept and pruned on it).
    pub time: Option<Timestamp>,
    /// The site's engine clock after the event (µs).
    pub clock: Option<i64>,
    /// What the engine told of calls, in the order told (handles numbered by the site).
    pub calls: Vec<CallNews>,
    /// The event's recording signals, if it carries any.
    pub signals: Option<EventSignals>,
    /// Live: the wall time it arrived at (µs).
    pub wall: Option<i64>,
}

/// [`SiteNews`] as written: `t` (µs, `null` for none) and `c` only when they differ from
/// what the key gives (the key itself, or none before the site's first time).
#[derive(Serialize)]
struct SiteNewsOut<'a> {
    k: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<Option<i64>>,
    #[serde(skip_serializing_if = "<[CallNews]>::is_empty")]
    n: &'a [CallNews],
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'a EventSignals>,
    #[serde(skip_serializing_if = "Option::is_none")]
    w: Option<i64>,
}

/// [`SiteNews`] as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteNewsIn {
    k: i64,
    #[serde(default, deserialize_with = "present")]
    t: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    c: Option<Option<i64>>,
    #[serde(default)]
    n: Vec<CallNews>,
    #[serde(default)]
    s: Option<EventSignals>,
    #[serde(default)]
    w: Option<i64>,
}

/// A field that is there, `null` or not: `Some`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(field: D) -> Result<Option<T>, D::Error> {
    T::deserialize(field).map(Some)
}

impl SiteNews {
    /// What the key says of the event's time and the site's clock, unless told otherwise.
    fn implied(&self) -> Option<i64> {
        (self.key != i64::MIN).then_some(self.key)
    }
}

impl Serialize for SiteNews {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let implied = self.implied();
        let time = self.time.map(|time| time.0);
        SiteNewsOut {
            k: self.key,
            t: (time != implied).then_some(time),
            c: (self.clock != implied).then_some(self.clock),
            n: &self.calls,
            s: self.signals.as_ref(),
            w: self.wall,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SiteNews {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SiteNews, D::Error> {
        let read = SiteNewsIn::deserialize(deserializer)?;
        let implied = (read.k != i64::MIN).then_some(read.k);
        Ok(SiteNews {
            key: read.k,
            time: read.t.unwrap_or(implied).map(Timestamp),
            clock: read.c.unwrap_or(implied),
            calls: read.n,
            signals: read.s,
            wall: read.w,
        })
    }
}

/// One item of a site's news as a worker stores it and the linker takes it (issue 14): the
/// news of an event, or, live, what moving the site's time on with the wall clock gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every item is an event's news: boxing it would allocate once per event for the rare tick"
)]
pub enum SiteItem {
    #[serde(rename = "e")]
    Event(SiteNews),
    /// The site was quiet: its engine moved on to `time` at wall time `wall` (both µs)
    /// ([`SiteEngine::advance_to`]); `calls` and `clock` are what that gave.
    #[serde(rename = "m")]
    Moved { time: i64, wall: i64, calls: Vec<CallNews>, clock: Option<i64> },
}

impl SiteItem {
    /// Where the item puts its site in the time merge (µs): an event's key, or the time a
    /// quiet site moved on to.
    pub fn key(&self) -> i64 {
        match self {
            SiteItem::Event(news) => news.key,
            SiteItem::Moved { time, .. } => *time,
        }
    }
}

/// What one event of a site gives: its news, and the calls it finished, whole.
#[derive(Debug)]
pub struct SiteStep {
    pub news: SiteNews,
    /// Numbered by the site ([`FinishedCall::handle`], and the key of a call without
    /// CallUUID): [`EstateLinker`] tells their estate numbers ([`Sink::ended`]).
    pub finished: Vec<FinishedCall>,
}

/// What moving a quiet site's time on gives ([`SiteEngine::advance_to`]).
#[derive(Debug)]
pub struct SiteMoved {
    pub calls: Vec<CallNews>,
    /// The site's engine clock after the move (µs).
    pub clock: Option<i64>,
    /// The calls it finished, whole (numbered by the site).
    pub finished: Vec<FinishedCall>,
}

/// The call engine of one site, telling its news as data.
pub struct SiteEngine {
    site: Text,
    engine: Engine,
    /// The merge's clock of the site (as the reader of `trace` keeps it).
    merge_clock: SiteClock,
    key: i64,
    marker_key: Option<String>,
    /// The last call told opened (their numbers come in order, from 1).
    last_opened: u64,
}

impl SiteEngine {
    pub fn new(site: Text, config: &PipelineConfig) -> SiteEngine {
        SiteEngine {
            site,
            engine: Engine::new(config.engine.clone()),
            merge_clock: SiteClock::default(),
            key: i64::MIN,
            marker_key: config.record_marker.clone(),
            last_opened: 0,
        }
    }

    pub fn site(&self) -> &Text {
        &self.site
    }

    /// Takes one event of the site.
    pub fn push(&mut self, event: &Event) -> SiteStep {
        self.push_at(event, None)
    }

    /// Takes one event of the site that arrived at wall time `wall` (µs; live): event times
    /// far ahead of it are not believed ([`Stitcher::push_at`](callstitch_link::Stitcher::push_at)).
    pub fn push_at(&mut self, event: &Event, wall: Option<i64>) -> SiteStep {
        debug_assert_eq!(event.site, self.site, "a site engine takes its own site's events");
        if let Some(wall) = wall {
            self.engine.set_ceiling(Some(wall.saturating_add(FUTURE_TOLERANCE)));
        }
        let time = event.time();
        if let Some(time) = time {
            self.merge_clock.observe(time.0, ClockConfig::default(), None);
            self.key = self.merge_clock.now().unwrap_or(time.0);
        }
        let mut told = NewsRecorder::default();
        self.engine.apply_to(event, &mut told);
        self.check_order(&told.news);
        let news = SiteNews {
            key: self.key,
            time,
            clock: self.engine.site_clock(&self.site),
            calls: told.news,
            signals: EventSignals::of(event, self.marker_key.as_deref()),
            wall,
        };
        SiteStep { news, finished: told.finished }
    }

    /// Live: the linker side moved the site's time on to `time` ([`EstateLinker::quiet_sites`]):
    /// calls whose waits ran out finish.
    pub fn advance_to(&mut self, time: Timestamp) -> SiteMoved {
        let mut told = NewsRecorder::default();
        self.engine.advance_site_to(&self.site, time, &mut told);
        self.check_order(&told.news);
        SiteMoved { calls: told.news, clock: self.engine.site_clock(&self.site), finished: told.finished }
    }

    /// The input ended: every call still live is finished. Their news, in the order told.
    pub fn finish(&mut self) -> (Vec<CallNews>, Vec<FinishedCall>) {
        let mut told = NewsRecorder::default();
        self.engine.finish_all(&mut told);
        (told.news, told.finished)
    }

    /// The site engine as bytes: restoring them gives an engine that goes on exactly as this
    /// one would (the wall clock's ceiling is set again by the next arrival).
    pub fn snapshot(&self) -> Result<Vec<u8>, PartError> {
        let state = SiteEngineState {
            site: self.site.clone(),
            engine: self.engine.state(),
            merge_clock: self.merge_clock.clone(),
            key: self.key,
            last_opened: self.last_opened,
        };
        encode(SITE_ENGINE_FORMAT, SPLIT_VERSION, &state)
    }

    /// The site engine a [`SiteEngine::snapshot`] was taken of, with this configuration.
    pub fn restore(bytes: &[u8], config: &PipelineConfig) -> Result<SiteEngine, PartError> {
        let state: SiteEngineState = decode(bytes, SITE_ENGINE_FORMAT, SPLIT_VERSION)?;
        Ok(SiteEngine {
            site: state.site,
            engine: Engine::from_state(state.engine, config.engine.clone())?,
            merge_clock: state.merge_clock,
            key: state.key,
            marker_key: config.record_marker.clone(),
            last_opened: state.last_opened,
        })
    }

    /// Calls are told opened in the order they were created (what the renumbering rests on).
    fn check_order(&mut self, news: &[CallNews]) {
        for call in news {
            if let CallNews::Opened { handle, .. } = call {
                debug_assert_eq!(handle.0, self.last_opened + 1, "calls told opened in creation order");
                self.last_opened = handle.0;
            }
        }
    }
}

/// The format name of a site engine's snapshot.
pub const SITE_ENGINE_FORMAT: &str = "callstitch-site-engine";
/// The format name of the renumbering in a linker side's snapshot.
pub const RENUMBERING_FORMAT: &str = "callstitch-renumbering";
/// The version of the split's snapshots this build writes and reads.
pub const SPLIT_VERSION: u32 = 1;

/// The magic of a linker side's snapshot: its parts follow, each after its length.
const ESTATE_LINKER_MAGIC: &[u8] = b"callstitch-estate-linker-1\n";

/// A [`SiteEngine`] in a snapshot.
#[derive(Serialize, Deserialize)]
struct SiteEngineState {
    site: Text,
    engine: EngineState,
    merge_clock: SiteClock,
    key: i64,
    last_opened: u64,
}

/// The numbers one engine for every site would have given the calls of each site's engine.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Renumbering {
    /// The last number given.
    last: u64,
    /// (site, the site's number) → the estate's, while the call is live.
    #[serde(with = "sorted_pairs")]
    live: HashMap<(Text, u64), u64>,
}

/// A map written as a list of pairs sorted by key (the same state gives the same bytes).
mod sorted_pairs {
    use std::collections::HashMap;

    use callstitch_tlib::Text;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        map: &HashMap<(Text, u64), u64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut pairs: Vec<(&(Text, u64), &u64)> = map.iter().collect();
        pairs.sort();
        pairs.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HashMap<(Text, u64), u64>, D::Error> {
        Ok(Vec::<((Text, u64), u64)>::deserialize(deserializer)?.into_iter().collect())
    }
}

impl Renumbering {
    /// Renumbers one piece of news of `site`; a call opening takes the next number.
    fn renumber(&mut self, site: &Text, news: &mut CallNews) {
        if let CallNews::Opened { handle, .. } = news {
            self.last += 1;
            self.live.insert((site.clone(), handle.0), self.last);
        }
        let live = &self.live;
        news.renumber(|handle| {
            let number = live.get(&(site.clone(), handle.0)).copied();
            debug_assert!(number.is_some(), "news of a call told opened");
            CallHandle(number.unwrap_or(0))
        });
    }

    /// The call `news` finished is no longer live.
    fn forget(&mut self, site: &Text, site_handle: CallHandle) {
        self.live.remove(&(site.clone(), site_handle.0));
    }
}

/// The linker side's state as [`EstateLinker::capture`] took it.
#[derive(Debug, Clone)]
pub struct EstateLinkerState {
    linker: LinkerState,
    signals: SignalsState,
    recorder: RecorderState,
    numbers: Renumbering,
}

impl EstateLinkerState {
    /// The bytes of [`EstateLinker::snapshot`] for this state.
    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        let part = |part: &'static str| move |source| SnapshotError::Part { part, source };
        let linker = self.linker.encode().map_err(part("linker"))?;
        let signals = self.signals.encode().map_err(part("signals"))?;
        let recorder = self.recorder.encode().map_err(part("recorder"))?;
        let numbers =
            encode(RENUMBERING_FORMAT, SPLIT_VERSION, &self.numbers).map_err(part("renumbering"))?;
        Ok(frame(ESTATE_LINKER_MAGIC, &[&linker, &signals, &recorder, &numbers]))
    }
}

/// The linker side: every site's news in, interactions with their recordings out.
pub struct EstateLinker {
    linker: Linker,
    signals: Signals,
    recorder: Recorder,
    numbers: Renumbering,
}

impl EstateLinker {
    /// The linker side of [`Pipeline::new`](crate::Pipeline::new) with the same arguments.
    pub fn new(config: &PipelineConfig, sites: SiteDirectory, feed: Option<MediaFeed>) -> EstateLinker {
        EstateLinker {
            linker: Linker::new(config.linker.clone(), sites),
            signals: Signals::with_retention(config.record_marker.clone(), config.recorder.retention),
            recorder: Recorder::new(config.recorder.clone(), feed),
            numbers: Renumbering::default(),
        }
    }

    /// Takes the news of one event of `site` (the sites' events in merged order).
    pub fn take(&mut self, site: &Text, news: SiteNews, sink: &mut impl Sink) {
        if let Some(wall) = news.wall {
            self.linker.arrived(site, wall);
        }
        self.signals.observe_time(news.time);
        if let Some(signals) = &news.signals {
            self.signals.take(site, news.time, signals);
        }
        for call in news.calls {
            self.take_call(site, call, sink);
        }
        self.linker.site_clock(site, news.clock);
        if news.wall.is_some() {
            self.linker.arrival_clock(site, news.clock);
        }
        self.advance(sink);
    }

    /// Live, nothing arrived for a while: the first half of
    /// [`Stitcher::tick`](callstitch_link::Stitcher::tick). Each site's time is its clock at
    /// its last arrival plus the wall time since: the sites to move, and to what time. Their engines
    /// move ([`SiteEngine::advance_to`]), the linker side takes what that gives, in this order
    /// ([`EstateLinker::moved`]), then hands out what is due ([`EstateLinker::ticked`]).
    pub fn quiet_sites(&mut self, wall: i64) -> Vec<(Text, Timestamp)> {
        self.linker.tick(wall);
        self.linker
            .clocks()
            .sites()
            .filter_map(|(site, time)| Some((site.clone(), Timestamp(EstateClocks::quiet_time(time, wall)?))))
            .collect()
    }

    /// Live: what moving a quiet site's time on gave ([`EstateLinker::quiet_sites`]).
    pub fn moved(&mut self, site: &Text, calls: Vec<CallNews>, clock: Option<i64>, sink: &mut impl Sink) {
        for call in calls {
            self.take_call(site, call, sink);
        }
        self.linker.site_clock(site, clock);
    }

    /// Takes one [`SiteItem`] of `site` (the sites' items in merged order): an event's news
    /// as [`EstateLinker::take`]; a quiet site's move as a tick of that site alone, at the
    /// wall time its worker moved it.
    pub fn take_item(&mut self, site: &Text, item: SiteItem, sink: &mut impl Sink) {
        match item {
            SiteItem::Event(news) => self.take(site, news, sink),
            SiteItem::Moved { wall, calls, clock, .. } => {
                self.linker.tick(wall);
                self.moved(site, calls, clock, sink);
                self.advance(sink);
            }
        }
    }

    /// Live: the end of a tick ([`EstateLinker::quiet_sites`]): what is due is handed out.
    pub fn ticked(&mut self, sink: &mut impl Sink) {
        self.advance(sink);
    }

    /// Live: hands out every interaction that changed since the last flush, each once.
    pub fn flush(&mut self, sink: &mut impl Sink) {
        let Self { linker, signals, recorder, .. } = self;
        let mut stage = Stage { signals, recorder, sink };
        linker.flush(&mut |interaction| stage.interaction(interaction));
    }

    /// Live, restored at wall time `wall` (µs): the time down is no site's quiet.
    pub fn resume(&mut self, wall: i64) {
        self.linker.resume(wall);
    }

    /// Reading input: no event of `site` comes before `time`.
    pub fn raise_floor(&mut self, site: &str, time: Timestamp, sink: &mut impl Sink) {
        self.linker.raise_floor(site, time.0);
        self.advance(sink);
    }

    /// Reading input: the site's input ended.
    pub fn end_site(&mut self, site: &str, sink: &mut impl Sink) {
        self.linker.end_site(site);
        self.advance(sink);
    }

    /// The input ended: each site's last news ([`SiteEngine::finish`]) is taken call by call
    /// in the order of the calls' estate numbers, and every interaction is handed out.
    pub fn finish(&mut self, last: Vec<(Text, Vec<CallNews>)>, sink: &mut impl Sink) {
        let mut calls: Vec<(u64, Text, Vec<CallNews>)> = Vec::new();
        for (site, news) in last {
            for group in by_call(news) {
                let number = group.first().map_or(0, |news| self.estate_number(&site, news.handle()));
                calls.push((number, site.clone(), group));
            }
        }
        // Stable: a site's calls keep their order.
        calls.sort_by_key(|(number, _, _)| *number);
        for (_, site, group) in calls {
            for news in group {
                self.take_call(&site, news, sink);
            }
        }
        let Self { linker, signals, recorder, .. } = self;
        let mut stage = Stage { signals, recorder, sink };
        linker.finish(&mut |interaction| stage.interaction(interaction));
    }

    /// The estate's number of a live call of `site`.
    fn estate_number(&self, site: &Text, handle: CallHandle) -> u64 {
        self.numbers.live.get(&(site.clone(), handle.0)).copied().unwrap_or(u64::MAX)
    }

    fn take_call(&mut self, site: &Text, mut news: CallNews, sink: &mut impl Sink) {
        let site_handle = news.handle();
        self.numbers.renumber(site, &mut news);
        if let CallNews::Finished(ending) = &news {
            sink.ended(site_handle, ending);
            self.numbers.forget(site, site_handle);
        }
        self.linker.take(site, news);
    }

    fn advance(&mut self, sink: &mut impl Sink) {
        let Self { linker, signals, recorder, .. } = self;
        let mut stage = Stage { signals, recorder, sink };
        linker.advance(&mut |interaction: Interaction| stage.interaction(interaction));
    }

    pub fn linker(&self) -> &Linker {
        &self.linker
    }

    /// Calls opened and not finished, every site's.
    pub fn calls_in_progress(&self) -> usize {
        self.numbers.live.len()
    }

    /// The linker side as bytes: its linker, signals, recorder and renumbering, each a part.
    /// The same as [`EstateLinker::capture`] then [`EstateLinkerState::encode`].
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        self.capture().encode()
    }

    /// The whole state, owned, for [`EstateLinkerState::encode`] to turn into the snapshot's
    /// bytes on another thread: the linker role captures between two items (a copy of what
    /// is in memory) and goes on linking while the copy is encoded.
    pub fn capture(&self) -> EstateLinkerState {
        EstateLinkerState {
            linker: self.linker.state(),
            signals: self.signals.state(),
            recorder: self.recorder.state(),
            numbers: self.numbers.clone(),
        }
    }

    /// The linker side an [`EstateLinker::snapshot`] was taken of, with this configuration.
    pub fn restore(bytes: &[u8], config: &PipelineConfig) -> Result<EstateLinker, SnapshotError> {
        let part = |part: &'static str| move |source| SnapshotError::Part { part, source };
        let rest = bytes.strip_prefix(ESTATE_LINKER_MAGIC).ok_or(SnapshotError::Framing)?;
        let (linker, rest) = split_part(rest)?;
        let (signals, rest) = split_part(rest)?;
        let (recorder, rest) = split_part(rest)?;
        let (numbers, rest) = split_part(rest)?;
        if !rest.is_empty() {
            return Err(SnapshotError::Framing);
        }
        Ok(EstateLinker {
            linker: Linker::restore(linker, config.linker.clone()).map_err(part("linker"))?,
            signals: Signals::restore(signals).map_err(part("signals"))?,
            recorder: Recorder::restore(recorder).map_err(part("recorder"))?,
            numbers: decode(numbers, RENUMBERING_FORMAT, SPLIT_VERSION).map_err(part("renumbering"))?,
        })
    }
}

/// A site's news split at each finished call: the news of one call, its end last.
fn by_call(news: Vec<CallNews>) -> Vec<Vec<CallNews>> {
    let mut groups = Vec::new();
    let mut group = Vec::new();
    for piece in news {
        let ends = matches!(piece, CallNews::Finished(_));
        debug_assert!(group.first().is_none_or(|first: &CallNews| first.handle() == piece.handle()));
        group.push(piece);
        if ends {
            groups.push(std::mem::take(&mut group));
        }
    }
    debug_assert!(group.is_empty(), "the last news of a site ends with a finished call");
    groups.extend((!group.is_empty()).then_some(group));
    groups
}

/// One site's news for [`link_sites`]: its events' news in the site's order, then its last.
pub struct SiteStream<I> {
    pub site: Text,
    pub news: I,
    pub last: Vec<CallNews>,
}

/// Runs the linker side over every site's news merged as `callstitch trace` merges log files
/// (module documentation), the sites in the order given, then finishes.
pub fn link_sites<I: Iterator<Item = SiteNews>>(
    linker: &mut EstateLinker,
    mut sites: Vec<SiteStream<I>>,
    sink: &mut impl Sink,
) {
    let mut heads: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::with_capacity(sites.len());
    let mut waiting: Vec<Option<SiteNews>> = Vec::with_capacity(sites.len());
    for (index, stream) in sites.iter_mut().enumerate() {
        let head = stream.news.next();
        if let Some(news) = &head {
            put_in_line(linker, &stream.site, news.key, index, &mut heads, sink);
        }
        waiting.push(head);
    }
    while let Some(Reverse((_, index))) = heads.pop() {
        let Some(news) = waiting[index].take() else { continue };
        let site = sites[index].site.clone();
        linker.take(&site, news, sink);
        match sites[index].news.next() {
            Some(next) => {
                put_in_line(linker, &site, next.key, index, &mut heads, sink);
                waiting[index] = Some(next);
            }
            None => linker.end_site(&site, sink),
        }
    }
    let last = sites.iter_mut().map(|site| (site.site.clone(), std::mem::take(&mut site.last))).collect();
    linker.finish(last, sink);
}

/// A site's next event in line, its floor told first.
fn put_in_line(
    linker: &mut EstateLinker,
    site: &Text,
    key: i64,
    index: usize,
    heads: &mut BinaryHeap<Reverse<(i64, usize)>>,
    sink: &mut impl Sink,
) {
    heads.push(Reverse((key, index)));
    if key != i64::MIN {
        linker.raise_floor(site, Timestamp(key), sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn news(key: i64, time: Option<i64>, clock: Option<i64>) -> SiteNews {
        SiteNews { key, time: time.map(Timestamp), clock, calls: Vec::new(), signals: None, wall: None }
    }

    #[test]
    fn news_writes_time_and_clock_only_when_the_key_does_not_give_them() {
        const KEY: i64 = 1_770_019_200_000_000;
        let cases = [
            (news(KEY, Some(KEY), Some(KEY)), r#"{"k":1770019200000000}"#),
            (news(i64::MIN, None, None), r#"{"k":-9223372036854775808}"#),
            (news(KEY, None, Some(KEY)), r#"{"k":1770019200000000,"t":null}"#),
            (
                news(KEY, Some(KEY + 5), Some(KEY - 1)),
                r#"{"k":1770019200000000,"t":1770019200000005,"c":1770019199999999}"#,
            ),
            (news(i64::MIN, Some(7), None), r#"{"k":-9223372036854775808,"t":7}"#),
            (news(KEY, Some(KEY), None), r#"{"k":1770019200000000,"c":null}"#),
        ];
        for (news, written) in cases {
            let text = serde_json::to_string(&news).expect("written");
            assert_eq!(text, written);
            let read: SiteNews = serde_json::from_str(&text).expect("read back");
            assert_eq!(read, news, "{text}");
        }
    }

    #[test]
    fn news_with_an_unknown_field_is_refused() {
        assert!(serde_json::from_str::<SiteNews>(r#"{"k":1,"x":2}"#).is_err());
    }
}
