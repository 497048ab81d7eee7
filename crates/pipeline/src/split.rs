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
//! **The renumbering**: one engine numbers calls 1, 2, ... as they are created, whatever
//! their site; an engine per site numbers each site's calls from 1 in the same order. Every
//! call is told opened before any other news of it, in the order it was created, so the
//! linker side gives the next number to each call at its `opened` news in merged order: the
//! number one engine gave it. Calls still live at the end of input are finished by one engine
//! in the order of their numbers, whatever their site: the linker side orders the sites' last
//! news by call the same way.

use std::collections::{BinaryHeap, HashMap};
use std::cmp::Reverse;

use callstitch_engine::{CallHandle, ClockConfig, Engine, FinishedCall, SiteClock};
use callstitch_link::news::Recorder as NewsRecorder;
use callstitch_link::{CallNews, Interaction, Linker, SiteDirectory};
use callstitch_recording::{EventSignals, MediaFeed, Recorder, Signals};
use callstitch_tlib::{Event, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{PipelineConfig, Sink, Stage};

/// What one event of a site makes known to the linker side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteNews {
    /// Where the event puts its site in the time merge (µs): its time as the site's clock
    /// believes it, else the key before; `i64::MIN` before the site's first time.
    #[serde(rename = "k")]
    pub key: i64,
    /// The event's own time (recording signals are kept and pruned on it).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// The site's engine clock after the event (µs).
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<i64>,
    /// What the engine told of calls, in the order told (handles numbered by the site).
    #[serde(rename = "n", default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallNews>,
    /// The event's recording signals, if it carries any.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<EventSignals>,
}

/// What one event of a site gives: its news, and the calls it finished, whole.
#[derive(Debug)]
pub struct SiteStep {
    pub news: SiteNews,
    /// Numbered by the site ([`FinishedCall::handle`], and the key of a call without
    /// CallUUID): [`EstateLinker`] tells their estate numbers ([`Sink::ended`]).
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
        debug_assert_eq!(event.site, self.site, "a site engine takes its own site's events");
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
        };
        SiteStep { news, finished: told.finished }
    }

    /// The input ended: every call still live is finished. Their news, in the order told.
    pub fn finish(&mut self) -> (Vec<CallNews>, Vec<FinishedCall>) {
        let mut told = NewsRecorder::default();
        self.engine.finish_all(&mut told);
        (told.news, told.finished)
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

/// The numbers one engine for every site would have given the calls of each site's engine.
#[derive(Debug, Default)]
struct Renumbering {
    /// The last number given.
    last: u64,
    /// (site, the site's number) → the estate's, while the call is live.
    live: HashMap<(Text, u64), u64>,
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
        self.signals.observe_time(news.time);
        if let Some(signals) = &news.signals {
            self.signals.take(site, news.time, signals);
        }
        for call in news.calls {
            self.take_call(site, call, sink);
        }
        self.linker.site_clock(site, news.clock);
        self.advance(sink);
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
    for index in 0..sites.len() {
        let head = sites[index].news.next();
        if let Some(news) = &head {
            put_in_line(linker, &sites[index].site, news.key, index, &mut heads, sink);
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
