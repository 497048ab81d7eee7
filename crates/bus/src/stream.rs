//! One site's stream: made when first needed, published to in the site's log order, and read
//! message by message.
//!
//! Publishing is pipelined (up to [`crate::BusOptions::in_flight`] acknowledgements awaited at
//! once) without giving up the order: message `n` of a call to [`SiteStream::publish`] states
//! that the stream must end at `last + n` before it (`Nats-Expected-Last-Sequence`) and, after
//! the first, that the stream's last message is message `n - 1` (`Nats-Expected-Last-Msg-Id`).
//! JetStream refuses it otherwise. So once one message is refused every later one of the call
//! is too: a refused message never leaves a gap that later ones fill out of order, and a
//! publisher whose idea of the stream is stale (a second collector of the same site) lands
//! nothing, whether the stream is behind it or ahead.

use std::collections::VecDeque;

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, DiscardPolicy, StorageType, Stream};
use bytes::Bytes;

use crate::names::SiteToken;
use crate::{Bus, BusError};

/// One event to publish: its message id and its JSON line (without the newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: String,
    pub payload: Bytes,
}

/// A site's stream, and the sequence it ends at as far as this publisher knows.
pub struct SiteStream {
    bus: Bus,
    site: String,
    token: SiteToken,
    stream: Stream,
    last: u64,
}

impl SiteStream {
    /// The stream of `site`, made if it does not exist yet, with the sequence it ends at.
    pub async fn open(bus: &Bus, site: &str) -> Result<SiteStream, BusError> {
        let token = SiteToken::new(site);
        let options = bus.options();
        let config = Config {
            name: token.stream(&options.prefix),
            subjects: vec![token.subject(&options.prefix)],
            storage: StorageType::File,
            discard: DiscardPolicy::Old,
            duplicate_window: options.duplicate_window,
            max_age: options.max_age.unwrap_or_default(),
            description: Some(format!("callstitch: the T-Library events of site {site}")),
            ..Config::default()
        };
        let refused = |action, error: &dyn std::fmt::Display| BusError::Stream {
            site: site.to_string(),
            action,
            message: error.to_string(),
        };
        let mut stream = bus
            .jetstream()
            .get_or_create_stream(config)
            .await
            .map_err(|error| refused("make the stream", &error))?;
        let last =
            stream.info().await.map_err(|error| refused("describe the stream", &error))?.state.last_sequence;
        Ok(SiteStream { bus: bus.clone(), site: site.to_string(), token, stream, last })
    }

    pub fn site(&self) -> &str {
        &self.site
    }

    /// The sequence of the site's last stored event (0: none).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Reads the sequence the stream ends at again (after a refused publish).
    pub async fn refresh(&mut self) -> Result<u64, BusError> {
        let info = self.stream.info().await.map_err(|error| BusError::Stream {
            site: self.site.clone(),
            action: "describe the stream",
            message: error.to_string(),
        })?;
        self.last = info.state.last_sequence;
        Ok(self.last)
    }

    /// The JSON line stored at `seq`.
    pub async fn message(&self, seq: u64) -> Result<Bytes, BusError> {
        let message = self.stream.get_raw_message(seq).await.map_err(|error| BusError::Stream {
            site: self.site.clone(),
            action: "read a message",
            message: format!("sequence {seq}: {error}"),
        })?;
        Ok(message.payload)
    }

    /// Publishes `events` in order after the stream's last message; on success the stream
    /// ends `events.len()` further. On failure some leading part may be stored: call
    /// [`SiteStream::refresh`] and carry on from there.
    pub async fn publish(&mut self, events: &[Outgoing]) -> Result<(), BusError> {
        let subject = self.token.subject(&self.bus.options().prefix);
        let window = self.bus.options().in_flight.max(1);
        let mut pending: VecDeque<(u64, PublishAckFuture)> = VecDeque::with_capacity(window);
        let mut first_error = None;
        for (index, event) in events.iter().enumerate() {
            if pending.len() == window {
                if let Some(error) = self.settle_front(&mut pending).await {
                    first_error = Some(error);
                    break;
                }
            }
            let expected_before = self.last + index as u64;
            let mut message = PublishMessage::build()
                .payload(event.payload.clone())
                .message_id(&event.id)
                .expected_last_sequence(expected_before);
            if let Some(previous) = index.checked_sub(1).and_then(|index| events.get(index)) {
                message = message.expected_last_message_id(&previous.id);
            }
            match self.bus.jetstream().send_publish(subject.clone(), message).await {
                Ok(ack) => pending.push_back((expected_before + 1, ack)),
                Err(error) => {
                    first_error = Some(self.refused("publish", &error));
                    break;
                }
            }
        }
        // Every acknowledgement is awaited, failed ones too: none is left behind to land later.
        while !pending.is_empty() {
            if let Some(error) = self.settle_front(&mut pending).await {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            None => {
                self.last += events.len() as u64;
                Ok(())
            }
            Some(error) => Err(error),
        }
    }

    /// After a failed [`SiteStream::publish`] of `events` begun when the stream ended at
    /// `before`: how many of them it holds. They are a leading part (see the module
    /// documentation); the last one is checked against the stream, so that another
    /// publisher's messages are not taken for ours.
    pub async fn stored_of(&mut self, before: u64, events: &[Outgoing]) -> Result<usize, BusError> {
        let last = self.refresh().await?;
        let stored = last.checked_sub(before).and_then(|stored| usize::try_from(stored).ok());
        let stored = match stored {
            Some(stored) if stored <= events.len() => stored,
            _ => return Err(BusError::OutOfStep { site: self.site.clone(), expected: before, got: last }),
        };
        let Some(newest) = stored.checked_sub(1).and_then(|index| events.get(index)) else { return Ok(0) };
        if self.message(last).await? != newest.payload {
            return Err(BusError::Diverged { site: self.site.clone(), seq: last });
        }
        Ok(stored)
    }

    /// Awaits the oldest acknowledgement; an error when it is missing or not the sequence
    /// that message had to get.
    async fn settle_front(&self, pending: &mut VecDeque<(u64, PublishAckFuture)>) -> Option<BusError> {
        let (expected, ack) = pending.pop_front()?;
        match ack.await {
            Ok(ack) if ack.sequence == expected && !ack.duplicate => None,
            Ok(ack) => Some(BusError::OutOfStep { site: self.site.clone(), expected, got: ack.sequence }),
            Err(error) => Some(self.refused("store an event", &error)),
        }
    }

    fn refused(&self, action: &'static str, error: &dyn std::fmt::Display) -> BusError {
        BusError::Stream { site: self.site.clone(), action, message: error.to_string() }
    }
}
