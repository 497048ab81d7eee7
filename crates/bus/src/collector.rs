//! The collector: follows a site's logs (the follow crate) and publishes each complete event
//! to its site's stream, exactly once and in log order, across crashes and restarts.
//!
//! One [`Collector::step`]: poll the follower, publish each site's new events (pipelined,
//! in order, [`SiteStream::publish`]), then write the [`Checkpoint`]. After a crash between the
//! publish and the checkpoint, a restart reads those events again: for each site, as many
//! events as its stream holds beyond the checkpoint are skipped, and the last one skipped is
//! checked against the stream's message (any difference stops that site: [`BusError::Diverged`]).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use callstitch_follow::{FollowConfig, FollowProblem, FollowedEvent, Follower};
use callstitch_tlib::json::write_json_line;
use futures_util::future::try_join_all;

use crate::checkpoint::Checkpoint;
use crate::names::message_id;
use crate::stream::{Outgoing, SiteStream};
use crate::{Bus, BusError};

/// How many times a refused publish is tried again (after reading where the stream ends)
/// before the step fails; the pause doubles from [`RETRY_PAUSE`].
pub const PUBLISH_ATTEMPTS: u32 = 6;
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// What one [`Collector::step`] did.
#[derive(Debug, Default)]
pub struct StepReport {
    /// Events read from the logs.
    pub read: usize,
    /// Events stored on the bus by this step.
    pub published: usize,
    /// Events read again after a restart that the streams held already.
    pub skipped: usize,
    /// More is ready at once.
    pub more: bool,
    /// What the follower met (file:line, unreadable files, rotations): kept going.
    pub problems: Vec<FollowProblem>,
}

/// One site's stream, and how many events read again it still has to skip.
struct SiteState {
    stream: SiteStream,
    /// Events the stream holds beyond the checkpoint, not yet read again.
    skip: u64,
    /// The sequence the next skipped event has in the stream.
    next_skipped_seq: u64,
}

impl SiteState {
    /// The sequence of the last event read (and published or skipped) so far.
    fn covered(&self) -> u64 {
        if self.skip > 0 {
            self.next_skipped_seq - 1
        } else {
            self.stream.last()
        }
    }
}

/// See the module documentation.
pub struct Collector {
    bus: Bus,
    name: String,
    config: FollowConfig,
    follower: Follower,
    /// The checkpoint last written (or started from): where [`Collector::restart`] goes back
    /// to, and each site's sequence there, from which a site met again skips what its stream
    /// holds beyond it.
    saved: Checkpoint,
    sites: BTreeMap<String, SiteState>,
    batch: usize,
    polled: Vec<FollowedEvent>,
}

impl Collector {
    /// A collector named `name` (its checkpoint's key) of `config`'s inputs, resuming from its
    /// checkpoint when it has one.
    pub async fn start(
        bus: Bus,
        name: &str,
        config: FollowConfig,
        batch: usize,
    ) -> Result<Collector, BusError> {
        let saved = bus.load_checkpoint(name).await?.unwrap_or_default();
        let follower = Follower::new(config.clone(), saved.positions.clone());
        Ok(Collector {
            bus,
            name: name.to_string(),
            config,
            follower,
            saved,
            sites: BTreeMap::new(),
            batch: batch.max(1),
            polled: Vec::new(),
        })
    }

    /// For every site, the sequence of the last event the follower has handed out: the
    /// checkpoint's, or further for the sites met since.
    pub fn sites(&self) -> BTreeMap<String, u64> {
        let mut sites = self.saved.sites.clone();
        for (site, state) in &self.sites {
            sites.insert(site.clone(), state.covered());
        }
        sites
    }

    /// Reads what is new, publishes it and writes the checkpoint. See the module documentation.
    pub async fn step(&mut self) -> Result<StepReport, BusError> {
        self.polled.clear();
        let poll = self.follower.poll(self.batch, &mut self.polled);
        let mut report = StepReport {
            read: self.polled.len(),
            more: poll.more,
            problems: self.follower.take_problems(),
            ..StepReport::default()
        };
        if self.polled.is_empty() {
            return Ok(report);
        }
        let by_site = group_by_site(&self.polled);
        for (site, _) in &by_site {
            self.open_site(site).await?;
        }
        // Each site's stream on its own: their acknowledgements are awaited together.
        let mut publishing = Vec::with_capacity(by_site.len());
        for (site, state) in self.sites.iter_mut() {
            if let Some((_, events)) = by_site.iter().find(|(name, _)| name == site) {
                publishing.push(publish_site(site, state, events));
            }
        }
        for (skipped, published) in try_join_all(publishing).await? {
            report.skipped += skipped;
            report.published += published;
        }
        let checkpoint = Checkpoint { positions: self.follower.positions(), sites: self.sites() };
        self.bus.save_checkpoint(&self.name, &checkpoint).await?;
        self.saved = checkpoint;
        Ok(report)
    }

    /// After a failed [`Collector::step`]: back to the last checkpoint written, as a restart
    /// would be (the events read since are read again; what the streams hold of them is
    /// skipped).
    pub fn restart(&mut self) {
        self.follower = Follower::new(self.config.clone(), self.saved.positions.clone());
        self.sites.clear();
    }

    /// Opens the stream of a site met for the first time, and works out how many events read
    /// again it holds beyond the checkpoint.
    async fn open_site(&mut self, site: &str) -> Result<(), BusError> {
        if self.sites.contains_key(site) {
            return Ok(());
        }
        let stream = SiteStream::open(&self.bus, site).await?;
        let checkpoint = self.saved.sites.get(site).copied().unwrap_or(0);
        let skip = stream.last().checked_sub(checkpoint).ok_or_else(|| BusError::StreamBehind {
            site: site.to_string(),
            stream: stream.last(),
            checkpoint,
            key: self.bus.checkpoint_subject(&self.name),
        })?;
        self.sites.insert(site.to_string(), SiteState { stream, skip, next_skipped_seq: checkpoint + 1 });
        Ok(())
    }
}

/// Skips what the site's stream holds already, then publishes the rest; (skipped, published).
async fn publish_site(
    site: &str,
    state: &mut SiteState,
    events: &[Outgoing],
) -> Result<(usize, usize), BusError> {
    let skipped = usize::try_from(state.skip).map_or(events.len(), |skip| skip.min(events.len()));
    let (again, new) = events.split_at(skipped);
    if let Some(last) = again.last() {
        state.skip -= skipped as u64;
        state.next_skipped_seq += skipped as u64;
        let seq = state.next_skipped_seq - 1;
        if state.stream.message(seq).await? != last.payload {
            return Err(BusError::Diverged { site: site.to_string(), seq });
        }
    }
    publish_with_retries(&mut state.stream, new).await?;
    Ok((skipped, new.len()))
}

/// Publishes `events`; after a refusal, carries on after what the stream holds, pausing
/// longer each time, at most [`PUBLISH_ATTEMPTS`] times.
async fn publish_with_retries(stream: &mut SiteStream, mut events: &[Outgoing]) -> Result<(), BusError> {
    let mut pause = RETRY_PAUSE;
    for attempt in 1..=PUBLISH_ATTEMPTS {
        let before = stream.last();
        let error = match stream.publish(events).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let stored = stream.stored_of(before, events).await?;
        events = events.get(stored..).unwrap_or_default();
        if events.is_empty() {
            return Ok(());
        }
        if attempt == PUBLISH_ATTEMPTS {
            return Err(error);
        }
        tracing::warn!(site = stream.site(), %error, stored, left = events.len(), "publishing again in {pause:?}");
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    Ok(())
}

/// The events of each site as messages, in the order read.
fn group_by_site(events: &[FollowedEvent]) -> Vec<(String, Vec<Outgoing>)> {
    let mut sites: Vec<(String, Vec<Outgoing>)> = Vec::new();
    for followed in events {
        let site = followed.event.site.as_str();
        let index = match sites.iter().position(|(name, _)| name == site) {
            Some(index) => index,
            None => {
                sites.push((site.to_string(), Vec::new()));
                sites.len() - 1
            }
        };
        let mut line = Vec::with_capacity(512);
        // Writing into a Vec cannot fail.
        let _ = write_json_line(&mut line, &followed.event);
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let outgoing = Outgoing {
            id: message_id(&followed.fingerprint, followed.end_offset),
            payload: Bytes::from(line),
        };
        if let Some((_, messages)) = sites.get_mut(index) {
            messages.push(outgoing);
        }
    }
    sites
}
