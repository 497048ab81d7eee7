//! The sites' JetStream streams (docs/scale.md) as a [`Source`]: what `callstitch collect`
//! published, read back in each site's log order and merged by time like followed files.
//!
//! Reading happens on the service's runtime, off the ingest thread: a task looks for site
//! streams under the prefix every few seconds (a site whose collector starts late is read
//! from its first event when its stream appears), and each site has a task of its own that
//! reads its stream from the checkpoint on and hands events over through a bounded queue.
//! [`Source::poll`] never waits: it takes what the queues hold, within each site's budget,
//! into a [`SiteMerge`], and releases in time order what may go.
//!
//! The checkpoint ([`BusCheckpoint`]) is, per site, the stream sequence of the last event
//! released; events the merge holds back are read again after a restart. A message that is
//! not an event is a [`SourceProblem`] naming its site and sequence, and is skipped: it never
//! blocks its site. Events a stream no longer holds (its `max_age` dropped them before they
//! were read) are said as a gap, with the sequences missing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use callstitch_bus::{follow_site, Bus, BusItem, BusOptions, TakesReads};
use callstitch_follow::SiteRead;
use callstitch_tlib::Event;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Source, SourceCheckpoint, SourceProblem};
use crate::merge::{Merged, SiteMerge};
use crate::metrics::SiteLabels;
use crate::state::BusStatus;

/// Where the bus is and how it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusInput {
    /// The NATS server (`nats://host:port`).
    pub url: String,
    /// The prefix the collectors publish under ([`callstitch_bus::names::DEFAULT_PREFIX`]).
    pub prefix: String,
    /// How often new site streams are looked for.
    pub discover_every: Duration,
}

/// How far each site's stream was consumed: the sequence of the last event released (0: none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusCheckpoint {
    /// The prefix the sequences belong to: another prefix starts afresh.
    pub prefix: String,
    pub sites: BTreeMap<String, u64>,
}

impl SourceCheckpoint for BusCheckpoint {
    const SECTION: &'static str = "bus";
}

/// One event read from a site's stream, with its sequence there.
#[derive(Debug)]
pub struct BusEvent {
    /// Boxed as the reader hands it over: the queues move a pointer, not the event.
    event: Box<Event>,
    seq: u64,
}

impl Merged for BusEvent {
    fn event(&self) -> &Event {
        &self.event
    }
}

/// What a site's task hands over.
enum Incoming {
    Event(BusEvent),
    /// A message skipped (not an event, or another site's), or a gap in the stream.
    Problem {
        seq: u64,
        kind: &'static str,
        message: String,
    },
}

/// A site being read: its queue, and how far behind its stream the reader was last.
struct SiteFeed {
    site: String,
    queue: mpsc::Receiver<Incoming>,
    pending: Arc<AtomicU64>,
}

/// See the module documentation.
pub struct BusSource {
    prefix: String,
    feeds: Vec<SiteFeed>,
    new_feeds: mpsc::UnboundedReceiver<SiteFeed>,
    /// Set by the discovery task once it has listed the streams and handed over a feed for
    /// each: before that, no site can be told quiet (their streams are not being read yet).
    listed: Arc<AtomicBool>,
    /// `listed` as the last poll saw it, before it took the feeds handed over.
    feeds_known: bool,
    merge: SiteMerge<BusEvent>,
    /// Per site, the sequence of the last event released or message skipped.
    consumed: BTreeMap<String, u64>,
    problems: Vec<SourceProblem>,
    read: Vec<BusEvent>,
    released: Vec<BusEvent>,
    /// The discovery task; the site tasks end when their queue is dropped with this source.
    discovery: JoinHandle<()>,
    /// `callstitch_bus_sequence` and `callstitch_bus_pending`, by site.
    gauges: Option<BusGauges>,
}

/// What a [`BusSource`] keeps up to date for the service: its /metrics gauges and what
/// /healthz says of the bus.
#[derive(Clone)]
pub struct BusGauges {
    pub sequence: Family<SiteLabels, Gauge>,
    pub pending: Family<SiteLabels, Gauge>,
    pub status: BusStatus,
}

impl BusGauges {
    fn set(family: &Family<SiteLabels, Gauge>, site: &str, value: u64) {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        family.get_or_create(&SiteLabels { site: site.to_string() }).set(value);
    }
}

impl BusSource {
    /// Starts reading the bus on `runtime` from `checkpoint`, holding at most `per_site`
    /// events of a site back.
    pub fn open(
        input: BusInput,
        checkpoint: BusCheckpoint,
        per_site: usize,
        runtime: &Handle,
        gauges: Option<BusGauges>,
    ) -> BusSource {
        let consumed = if checkpoint.prefix == input.prefix {
            checkpoint.sites
        } else {
            if !checkpoint.sites.is_empty() {
                tracing::warn!(
                    stored = %checkpoint.prefix,
                    now = %input.prefix,
                    "the bus prefix changed: its site streams are read from their start"
                );
            }
            BTreeMap::new()
        };
        let per_site = per_site.max(1);
        let (found, new_feeds) = mpsc::unbounded_channel();
        let status = gauges.as_ref().map(|gauges| gauges.status.clone()).unwrap_or_default();
        status.start(&input.url);
        let listed = Arc::new(AtomicBool::new(false));
        let discovery = runtime.spawn(discover(
            input.clone(),
            consumed.clone(),
            per_site,
            found,
            Arc::clone(&listed),
            status,
        ));
        BusSource {
            prefix: input.prefix,
            feeds: Vec::new(),
            new_feeds,
            listed,
            feeds_known: false,
            merge: SiteMerge::new(per_site),
            consumed,
            problems: Vec::new(),
            read: Vec::new(),
            released: Vec::new(),
            discovery,
            gauges,
        }
    }

    /// Takes what `feed`'s queue holds, within its budget; says whether more is waiting.
    fn drain(&mut self, index: usize) -> SiteRead {
        let feed = &mut self.feeds[index];
        let budget = self.merge.budget(&feed.site);
        let mut events = 0;
        while events < budget {
            match feed.queue.try_recv() {
                Ok(Incoming::Event(event)) => {
                    self.read.push(event);
                    events += 1;
                }
                Ok(Incoming::Problem { seq, kind, message }) => {
                    let message = format!("site {:?}, stream sequence {seq}: {message}", feed.site);
                    self.problems.push(SourceProblem { source: "bus", kind, message });
                    // Nothing of the site is held or read before it: skipped for good.
                    if events == 0 && !self.merge.holds(&feed.site) {
                        self.consumed.insert(feed.site.clone(), seq);
                    }
                }
                Err(_) => break,
            }
        }
        let pending = feed.pending.load(Ordering::Relaxed);
        if let Some(gauges) = &self.gauges {
            BusGauges::set(&gauges.pending, &feed.site, pending.saturating_add(feed.queue.len() as u64));
        }
        let more = !feed.queue.is_empty() || pending > 0;
        SiteRead { site: feed.site.clone(), events, more }
    }
}

impl Drop for BusSource {
    fn drop(&mut self) {
        self.discovery.abort();
    }
}

impl Source for BusSource {
    type Checkpoint = BusCheckpoint;

    fn poll(&mut self, most: usize, out: &mut Vec<Event>) {
        // Read before the feeds are taken: every feed handed over before it was set is
        // taken below.
        self.feeds_known = self.listed.load(Ordering::Acquire);
        while let Ok(feed) = self.new_feeds.try_recv() {
            self.feeds.push(feed);
        }
        let reports: Vec<SiteRead> = (0..self.feeds.len()).map(|index| self.drain(index)).collect();
        self.merge.take(&mut self.read, &reports);
        self.merge.release_at_most(&mut self.released, most);
        for released in self.released.drain(..) {
            let consumed = self.consumed.entry(released.event.site.to_string()).or_default();
            debug_assert!(released.seq > *consumed, "a site's stream is released in its order");
            *consumed = released.seq;
            out.push(*released.event);
        }
        if let Some(gauges) = &self.gauges {
            for (site, seq) in &self.consumed {
                BusGauges::set(&gauges.sequence, site, *seq);
            }
        }
    }

    fn checkpoint(&self) -> BusCheckpoint {
        BusCheckpoint { prefix: self.prefix.clone(), sites: self.consumed.clone() }
    }

    /// Also before the streams were first listed (connecting at start, or after a restart):
    /// wall time passing then is not the sites' quiet, their events are on their way. Idle
    /// ticks of a restarted service still connecting would otherwise move the restored sites'
    /// clocks on by the time it takes, and close calls and links before their events come.
    fn catching_up(&self) -> bool {
        !self.feeds_known || self.merge.catching_up()
    }

    fn take_problems(&mut self) -> Vec<SourceProblem> {
        std::mem::take(&mut self.problems)
    }
}

/// How long a failed connection or a failed reader waits before it tries again.
const RETRY: Duration = Duration::from_secs(1);

/// Connects, then looks for site streams every `input.discover_every` and starts a reader
/// for each new one.
async fn discover(
    input: BusInput,
    consumed: BTreeMap<String, u64>,
    per_site: usize,
    found: mpsc::UnboundedSender<SiteFeed>,
    listed: Arc<AtomicBool>,
    status: BusStatus,
) {
    let bus = connect(&input, &status).await;
    let mut started = BTreeSet::new();
    let mut every = tokio::time::interval(input.discover_every.max(Duration::from_millis(10)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let sites = match bus.sites().await {
            Ok(sites) => sites,
            Err(error) => {
                tracing::warn!(%error, "cannot list the site streams; trying again");
                status.unreachable(&error.to_string());
                continue;
            }
        };
        status.reached(sites.len());
        for site in sites {
            if !started.insert(site.clone()) {
                continue;
            }
            let after = consumed.get(&site).copied().unwrap_or(0);
            let (queue_in, queue) = mpsc::channel(per_site);
            let pending = Arc::new(AtomicU64::new(1));
            tokio::spawn(read_site(bus.clone(), site.clone(), after, queue_in, Arc::clone(&pending)));
            tracing::info!(%site, after, "reading the site's stream");
            if found.send(SiteFeed { site, queue, pending }).is_err() {
                return;
            }
        }
        // After the feeds it handed over: a poll that sees this has taken them all.
        listed.store(true, Ordering::Release);
    }
}

/// The bus, once it answers; tried again every [`RETRY`] and said once while it does not.
async fn connect(input: &BusInput, status: &BusStatus) -> Bus {
    let options = BusOptions { prefix: input.prefix.clone(), ..BusOptions::default() };
    let mut said = false;
    loop {
        match Bus::connect(&input.url, options.clone()).await {
            Ok(bus) => {
                if said {
                    tracing::info!(url = %input.url, "connected to the bus");
                }
                return bus;
            }
            Err(error) => {
                status.unreachable(&error.to_string());
                if !said {
                    tracing::warn!(%error, "the bus is not reachable; trying again every second");
                    said = true;
                }
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// Reads `site`'s stream from after `after` into `queue` until the queue is dropped
/// ([`follow_site`]: a failed reader is opened again where it stopped).
async fn read_site(
    bus: Bus,
    site: String,
    after: u64,
    queue: mpsc::Sender<Incoming>,
    pending: Arc<AtomicU64>,
) {
    let mut feed = SiteFeedIn { site: site.clone(), after, queue, pending };
    follow_site(&bus, &site, after, Duration::from_millis(500), &mut feed).await;
}

/// Where a site's reader hands what it reads: the site's queue.
struct SiteFeedIn {
    site: String,
    /// The last message handed over.
    after: u64,
    queue: mpsc::Sender<Incoming>,
    pending: Arc<AtomicU64>,
}

impl TakesReads for SiteFeedIn {
    async fn take(&mut self, read: Option<(BusItem, u64)>) -> bool {
        let Some((item, beyond)) = read else {
            self.pending.store(0, Ordering::Relaxed);
            return !self.queue.is_closed();
        };
        let (seq, incoming) = incoming(&self.site, self.after, item);
        for incoming in incoming {
            if self.queue.send(incoming).await.is_err() {
                return false;
            }
        }
        self.pending.store(beyond, Ordering::Relaxed);
        self.after = seq;
        true
    }
}

/// What one message of `site`'s stream hands over, read after sequence `after`: its event or
/// the problem with it, after a gap said when sequences were skipped.
fn incoming(site: &str, after: u64, item: BusItem) -> (u64, Vec<Incoming>) {
    let seq = match &item {
        BusItem::Event { seq, .. } | BusItem::Problem { seq, .. } => *seq,
    };
    let mut out = Vec::with_capacity(2);
    if seq > after + 1 {
        out.push(Incoming::Problem {
            seq: after,
            kind: "bus-gap",
            message: format!(
                "sequences {} to {} are no longer in the stream (removed by its max age or by hand) and were \
                 not read",
                after + 1,
                seq - 1
            ),
        });
    }
    out.push(match item {
        BusItem::Event { seq, event } if event.site.as_str() == site => {
            Incoming::Event(BusEvent { event, seq })
        }
        BusItem::Event { seq, event } => Incoming::Problem {
            seq,
            kind: "bus-other-site",
            message: format!("an event of site {:?} in this site's stream was skipped", event.site.as_str()),
        },
        BusItem::Problem { seq, problem } => {
            Incoming::Problem { seq, kind: "bus-bad-message", message: format!("skipped: {problem}") }
        }
    });
    (seq, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bus_whose_streams_were_never_listed_keeps_every_site_from_going_quiet() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let input = BusInput {
            url: "nats://127.0.0.1:1".to_string(),
            prefix: "callstitch".to_string(),
            discover_every: Duration::from_millis(10),
        };
        let checkpoint = BusCheckpoint {
            prefix: "callstitch".to_string(),
            sites: BTreeMap::from([("north".to_string(), 7)]),
        };
        let mut source = BusSource::open(input, checkpoint, 10, runtime.handle(), None);
        let mut out = Vec::new();
        for _ in 0..5 {
            source.poll(100, &mut out);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(out.is_empty());
        assert!(
            source.catching_up(),
            "not connected yet: the restored sites' time must not move on with the wall clock"
        );
        assert_eq!(
            source.checkpoint().sites.get("north"),
            Some(&7),
            "the checkpoint is kept while connecting"
        );
    }

    #[test]
    fn a_message_that_is_not_an_event_is_a_problem_with_its_sequence() {
        let (seq, out) = incoming("north", 4, callstitch_bus::reader::item(5, b"not json"));
        assert_eq!(seq, 5);
        assert!(matches!(out.as_slice(), [Incoming::Problem { seq: 5, kind: "bus-bad-message", .. }]));
    }

    #[test]
    fn sequences_missing_from_the_stream_are_said_as_a_gap() {
        let (seq, out) = incoming("north", 4, callstitch_bus::reader::item(9, b"{}"));
        assert_eq!(seq, 9);
        match out.as_slice() {
            [Incoming::Problem { kind: "bus-gap", message, .. }, Incoming::Problem { seq: 9, .. }] => {
                assert!(message.contains("5 to 8"), "{message}");
            }
            _ => panic!("a gap, then the message"),
        }
    }
}
