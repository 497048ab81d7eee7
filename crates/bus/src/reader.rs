//! Reads a site's stream back, in order, from any sequence: each message as a typed event, or
//! as a problem with its sequence when it is not one (a peer published something else). A bad
//! message never stops the site: the reader goes on with the next.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::consumer::DeliverPolicy;
use callstitch_tlib::json::{event_from_json, EventJsonError};
use callstitch_tlib::Event;
use tokio_stream::StreamExt;

use crate::names::SiteToken;
use crate::{Bus, BusError};

/// One message of a site's stream.
#[derive(Debug)]
pub enum BusItem {
    Event { seq: u64, event: Box<Event> },
    Problem { seq: u64, problem: BadMessage },
}

/// Why a message is not an event.
#[derive(Debug, thiserror::Error)]
pub enum BadMessage {
    #[error("the message is not UTF-8 text")]
    NotText,
    #[error("the message is not an event's JSON line (docs/event-json.md)")]
    NotAnEvent(#[source] EventJsonError),
}

/// See the module documentation.
pub struct SiteReader {
    site: String,
    messages: Ordered,
    /// Messages the stream held beyond the last one read, as of that one.
    pending: u64,
}

impl SiteReader {
    /// Reads `site`'s stream from the message after `after` (0: from its first).
    pub async fn open(bus: &Bus, site: &str, after: u64) -> Result<SiteReader, BusError> {
        let token = SiteToken::new(site);
        let refused = |action, error: &dyn std::fmt::Display| BusError::Stream {
            site: site.to_string(),
            action,
            message: error.to_string(),
        };
        let stream = bus
            .jetstream()
            .get_stream(token.stream(&bus.options().prefix))
            .await
            .map_err(|error| refused("find the stream", &error))?;
        let config = OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: after + 1 },
            ..OrderedConfig::default()
        };
        let consumer =
            stream.create_consumer(config).await.map_err(|error| refused("make a reader", &error))?;
        let messages = consumer.messages().await.map_err(|error| refused("read", &error))?;
        Ok(SiteReader { site: site.to_string(), messages, pending: 0 })
    }

    /// The next message, waiting at most `wait` for one (`None`: none came).
    pub async fn next(&mut self, wait: Duration) -> Result<Option<BusItem>, BusError> {
        let message = match tokio::time::timeout(wait, self.messages.next()).await {
            Err(_) | Ok(None) => return Ok(None),
            Ok(Some(message)) => message.map_err(|error| BusError::Stream {
                site: self.site.clone(),
                action: "read",
                message: error.to_string(),
            })?,
        };
        let (seq, pending) =
            message.info().map(|info| (info.stream_sequence, info.pending)).map_err(|error| {
                BusError::Stream {
                    site: self.site.clone(),
                    action: "read a message's sequence",
                    message: error.to_string(),
                }
            })?;
        self.pending = pending;
        Ok(Some(item(seq, &message.payload)))
    }

    /// How many messages the stream held beyond the last one read, when it was read: more
    /// than 0 while the reader is behind (a backlog).
    pub fn pending(&self) -> u64 {
        self.pending
    }
}

/// What [`follow_site`] hands what it reads to.
pub trait TakesReads: Send {
    /// A message with how many the stream held beyond it, or `None`: nothing new came for a
    /// while. False: stop reading.
    fn take(&mut self, read: Option<(BusItem, u64)>) -> impl std::future::Future<Output = bool> + Send;
}

/// How long a failed reader waits before it is opened again.
const REOPEN: Duration = Duration::from_secs(1);

/// Reads `site`'s stream from the message after `after` for as long as `hand` takes what
/// it reads ([`TakesReads`]): each message with how many the stream held beyond it, or `None`
/// each time `wait` passed with nothing new (the reader has caught up). A reader
/// that fails (or cannot be opened) is opened again after a pause, from the last message
/// handed over: nothing is skipped, nothing handed over twice.
pub async fn follow_site(bus: &Bus, site: &str, mut after: u64, wait: Duration, hand: &mut impl TakesReads) {
    loop {
        let mut reader = match SiteReader::open(bus, site, after).await {
            Ok(reader) => reader,
            Err(error) => {
                tracing::warn!(%error, "cannot read the site's stream; trying again");
                tokio::time::sleep(REOPEN).await;
                continue;
            }
        };
        loop {
            match reader.next(wait).await {
                Ok(None) => {
                    if !hand.take(None).await {
                        return;
                    }
                }
                Ok(Some(item)) => {
                    let seq = match &item {
                        BusItem::Event { seq, .. } | BusItem::Problem { seq, .. } => *seq,
                    };
                    if !hand.take(Some((item, reader.pending()))).await {
                        return;
                    }
                    after = seq;
                }
                Err(error) => {
                    tracing::warn!(%error, "the site's stream reader failed; reading on from sequence {after}");
                    tokio::time::sleep(REOPEN).await;
                    break;
                }
            }
        }
    }
}

/// A message's payload as an event, or the problem with it.
pub fn item(seq: u64, payload: &[u8]) -> BusItem {
    let Ok(text) = std::str::from_utf8(payload) else {
        return BusItem::Problem { seq, problem: BadMessage::NotText };
    };
    match event_from_json(text) {
        Ok(event) => BusItem::Event { seq, event: Box::new(event) },
        Err(error) => BusItem::Problem { seq, problem: BadMessage::NotAnEvent(error) },
    }
}
